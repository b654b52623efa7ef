//! Locate: the caller's objects whose attributes match every attribute given.
//!
//! Every condition the store can answer (its columns and attribute index:
//! type, state, storage, Name, Object Group, custom attributes, algorithm,
//! length, Activation and Deactivation Dates, Unique Identifier) goes to the
//! store as an [`ObjectFilter`]. When the store answers every condition
//! exactly, its answer is the result, paged by the store; otherwise the few
//! candidates it returns are loaded and [`matches`] decides, as it always has.

use super::object::is_destroyed;
use super::{Caller, Context, OpError};
use crate::ids::{GroupId, ObjectId};
use crate::model::ManagedObject;
use crate::store::{indexed_value, DateRange, IndexedValue, ObjectFilter};
use kmip::attributes::{Attribute, AttributeName};
use kmip::enums::{CryptographicAlgorithm, ObjectType, State, StorageStatusMask};
use kmip::payloads::{LocateRequest, LocateResponse};
use kmip::typed::Ctx;
use kmip::{Tag, Value};

/// True when the object has an instance of `want` that matches it.
fn matches_one(obj: &ManagedObject, want: &Attribute) -> bool {
    obj.attributes
        .get_all(&want.name)
        .any(|have| match (&want.name, &have.value, &want.value) {
            // A usage mask matches when the object allows at least the bits asked for.
            (
                AttributeName::Standard(Tag::CRYPTOGRAPHIC_USAGE_MASK),
                Value::Integer(h),
                Value::Integer(w),
            ) => h & w == *w,
            _ => have.value == want.value,
        })
}

/// True when the object matches every condition: two instances of one
/// Date-Time attribute are an inclusive range (KMIP 1.4 section 4.9).
pub fn matches(obj: &ManagedObject, wanted: &[Attribute]) -> bool {
    let mut done: Vec<&AttributeName> = Vec::new();
    for w in wanted {
        if done.contains(&&w.name) {
            continue;
        }
        done.push(&w.name);
        let same: Vec<&Attribute> = wanted.iter().filter(|a| a.name == w.name).collect();
        let range = match (same.as_slice(), same.len()) {
            ([a, b], 2) => match (&a.value, &b.value) {
                (Value::DateTime(x), Value::DateTime(y)) => Some((*x.min(y), *x.max(y))),
                _ => None,
            },
            _ => None,
        };
        let ok = match range {
            Some((lo, hi)) => obj
                .attributes
                .get_all(&w.name)
                .any(|h| matches!(h.value, Value::DateTime(d) if lo <= d && d <= hi)),
            None => same.iter().all(|a| matches_one(obj, a)),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// What the store is asked, and whether its answer needs no check here.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    /// The conditions the store answers.
    filter: ObjectFilter,
    /// True when the store's answer is exactly what [`matches`] (after the
    /// time-driven state changes) and the storage mask accept.
    exact: bool,
}

/// The stored states an object may have when Locate, at any time, sees it in
/// `state`: the Activation and Deactivation Dates move Pre-Active to Active
/// to Deactivated as they pass ([`super::object::apply_dates`]).
fn stored_states_seen_as(state: State) -> Vec<State> {
    match state {
        State::PRE_ACTIVE => vec![State::PRE_ACTIVE],
        State::ACTIVE => vec![State::PRE_ACTIVE, State::ACTIVE],
        State::DEACTIVATED => vec![State::PRE_ACTIVE, State::ACTIVE, State::DEACTIVATED],
        other => vec![other],
    }
}

/// `into` narrowed to `range` too.
fn narrow(into: &mut DateRange, range: DateRange) {
    into.from = match (into.from, range.from) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    };
    into.to = match (into.to, range.to) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
}

/// Narrows `plan` by one wanted instance; marks it inexact when the store
/// cannot answer it exactly. `false` when no object can match.
fn push_one(plan: &mut Plan, want: &Attribute) -> bool {
    let f = &mut plan.filter;
    let AttributeName::Standard(tag) = want.name else {
        // A custom or vendor attribute: the index answers text exactly; it
        // does not tell an Integer from a Long Integer or an Enumeration.
        match indexed_value(&want.name, &want.value) {
            Some(v) => {
                plan.exact &= matches!(v, IndexedValue::Text(_));
                f.attributes.push((want.name.clone(), v));
            }
            None => plan.exact = false,
        }
        return true;
    };
    match (tag, &want.value) {
        (Tag::OBJECT_TYPE, Value::Enumeration(t)) => {
            if f.object_type.is_some_and(|have| have.0 != *t) {
                return false;
            }
            f.object_type = Some(ObjectType(*t));
        }
        (Tag::STATE, Value::Enumeration(s)) => {
            let seen = stored_states_seen_as(State(*s));
            // Pre-Active, Active and Deactivated also follow the dates: checked here.
            plan.exact &= seen.len() == 1 && seen[0] != State::PRE_ACTIVE;
            f.states.retain(|have| seen.contains(have));
            if f.states.is_empty() {
                return false;
            }
        }
        (Tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(a)) => {
            if f.algorithm.is_some_and(|have| have.0 != *a) {
                return false;
            }
            f.algorithm = Some(CryptographicAlgorithm(*a));
        }
        (Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(n)) => {
            if f.length.is_some_and(|have| have != *n) {
                return false;
            }
            f.length = Some(*n);
        }
        (Tag::ACTIVATION_DATE, Value::DateTime(d)) => narrow(&mut f.activation, DateRange::at(*d)),
        (Tag::DEACTIVATION_DATE, Value::DateTime(d)) => {
            narrow(&mut f.deactivation, DateRange::at(*d))
        }
        (Tag::UNIQUE_IDENTIFIER, Value::TextString(t)) => {
            // The attribute is the identifier's text; the text is compared here.
            plan.exact = false;
            match t.parse::<ObjectId>() {
                Ok(id) if f.id.is_some_and(|have| have != id) => return false,
                Ok(id) => f.id = Some(id),
                Err(_) => {}
            }
        }
        _ => match indexed_value(&want.name, &want.value) {
            Some(v) => {
                // Object Group is text, compared whole; a Name is a structure
                // of which the index keeps the Name Value only.
                plan.exact &= tag == Tag::OBJECT_GROUP;
                f.attributes.push((want.name.clone(), v));
            }
            None => plan.exact = false,
        },
    }
    true
}

/// What to ask the store for the objects of an app in `groups`, in the
/// storage `mask`, that match `wanted` as [`matches`] reads it; `None` when
/// no object can match.
fn plan(wanted: &[Attribute], mask: StorageStatusMask, groups: &[GroupId]) -> Option<Plan> {
    if groups.is_empty() {
        return None;
    }
    let on_line = mask.0 & StorageStatusMask::ON_LINE_STORAGE.0 != 0;
    let destroyed = mask.0 & StorageStatusMask::DESTROYED_STORAGE.0 != 0;
    let states = match (on_line, destroyed) {
        (false, false) => return None,
        (true, false) => vec![
            State::PRE_ACTIVE,
            State::ACTIVE,
            State::DEACTIVATED,
            State::COMPROMISED,
        ],
        (false, true) => vec![State::DESTROYED, State::DESTROYED_COMPROMISED],
        (true, true) => vec![
            State::PRE_ACTIVE,
            State::ACTIVE,
            State::DEACTIVATED,
            State::COMPROMISED,
            State::DESTROYED,
            State::DESTROYED_COMPROMISED,
        ],
    };
    let mut plan = Plan {
        filter: ObjectFilter {
            groups: groups.to_vec(),
            states,
            ..Default::default()
        },
        exact: true,
    };
    // The same grouping as `matches`: two Date-Time instances of one attribute are a range.
    let mut done: Vec<&AttributeName> = Vec::new();
    for w in wanted {
        if done.contains(&&w.name) {
            continue;
        }
        done.push(&w.name);
        let same: Vec<&Attribute> = wanted.iter().filter(|a| a.name == w.name).collect();
        if let [a, b] = same.as_slice() {
            if let (Value::DateTime(x), Value::DateTime(y)) = (&a.value, &b.value) {
                let range = DateRange {
                    from: Some(*x.min(y)),
                    to: Some(*x.max(y)),
                };
                match w.name {
                    AttributeName::Standard(Tag::ACTIVATION_DATE) => {
                        narrow(&mut plan.filter.activation, range)
                    }
                    AttributeName::Standard(Tag::DEACTIVATION_DATE) => {
                        narrow(&mut plan.filter.deactivation, range)
                    }
                    _ => plan.exact = false,
                }
                continue;
            }
        }
        for a in same {
            if !push_one(&mut plan, a) {
                return None;
            }
        }
    }
    Some(plan)
}

/// Locate.
pub fn locate(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: LocateRequest,
) -> Result<LocateResponse, OpError> {
    let wanted: Vec<Attribute> = req.attributes.0.map(|a| a.items).unwrap_or_default();
    if req.maximum_items.is_some_and(|m| m < 0) || req.offset_items.is_some_and(|o| o < 0) {
        return Err(super::object::invalid(
            "Maximum Items and Offset Items cannot be negative",
        ));
    }
    let mask = req
        .storage_status_mask
        .unwrap_or(StorageStatusMask::ON_LINE_STORAGE);
    let offset = req.offset_items.unwrap_or(0) as usize;
    let limit = req.maximum_items.map(|m| m as usize);
    // Located Items (1.3+) says how many matched when the client pages.
    let paged = req.maximum_items.is_some() || req.offset_items.is_some();
    let counted = paged && (v.is_v2() || v.minor >= 3);
    let account = caller.account.id;
    let groups = caller.viewable_groups(ctx.store)?;
    let (ids, total) = match plan(&wanted, mask, &groups) {
        None => (Vec::new(), 0),
        Some(Plan {
            filter,
            exact: true,
        }) => {
            let page = ObjectFilter {
                offset,
                limit,
                ..filter.clone()
            };
            let ids: Vec<String> = ctx
                .store
                .locate(account, &page)?
                .into_iter()
                .map(|id| id.to_string())
                .collect();
            let total = match (counted, limit) {
                (false, _) => 0,
                // A short page tells the total without counting.
                (true, Some(l)) if ids.len() < l && (!ids.is_empty() || offset == 0) => {
                    offset + ids.len()
                }
                (true, None) if !ids.is_empty() || offset == 0 => offset + ids.len(),
                (true, _) => ctx.store.count_objects(account, &filter)? as usize,
            };
            (ids, total)
        }
        Some(Plan {
            filter,
            exact: false,
        }) => {
            let mut found = Vec::new();
            for id in ctx.store.locate(account, &filter)? {
                let Some(mut obj) = ctx.store.object(account, id)? else {
                    continue;
                };
                if !groups.contains(&obj.group) {
                    continue;
                }
                super::object::apply_dates(&mut obj, ctx.now);
                let stored = if is_destroyed(obj.state) {
                    StorageStatusMask::DESTROYED_STORAGE
                } else {
                    StorageStatusMask::ON_LINE_STORAGE
                };
                if mask.0 & stored.0 == 0 || !matches(&obj, &wanted) {
                    continue;
                }
                found.push(obj.id.to_string());
            }
            let total = found.len();
            let ids = found
                .into_iter()
                .skip(offset)
                .take(limit.unwrap_or(usize::MAX))
                .collect();
            (ids, total)
        }
    };
    let located_items = counted.then_some(i32::try_from(total).unwrap_or(i32::MAX));
    Ok(LocateResponse {
        located_items,
        unique_identifier: ids,
    })
}
