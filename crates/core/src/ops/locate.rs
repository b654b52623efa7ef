//! Locate: the caller's objects whose attributes match every attribute given.
//! The store narrows by type and state; the attributes are matched here.

use super::object::is_destroyed;
use super::{Caller, Context, OpError};
use crate::model::ManagedObject;
use crate::store::ObjectFilter;
use kmip::attributes::{Attribute, AttributeName};
use kmip::enums::{ObjectType, State, StorageStatusMask};
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

/// Locate.
pub fn locate(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: LocateRequest,
) -> Result<LocateResponse, OpError> {
    let wanted: Vec<Attribute> = req.attributes.0.map(|a| a.items).unwrap_or_default();
    let object_type = match wanted
        .iter()
        .find(|a| a.name == AttributeName::Standard(Tag::OBJECT_TYPE))
        .map(|a| &a.value)
    {
        Some(Value::Enumeration(t)) => Some(ObjectType(*t)),
        _ => None,
    };
    let state = match wanted
        .iter()
        .find(|a| a.name == AttributeName::Standard(Tag::STATE))
        .map(|a| &a.value)
    {
        Some(Value::Enumeration(s)) => Some(State(*s)),
        _ => None,
    };
    if req.maximum_items.is_some_and(|m| m < 0) || req.offset_items.is_some_and(|o| o < 0) {
        return Err(super::object::invalid(
            "Maximum Items and Offset Items cannot be negative",
        ));
    }
    let mask = req
        .storage_status_mask
        .unwrap_or(StorageStatusMask::ON_LINE_STORAGE);
    let filter = ObjectFilter {
        groups: caller.app.groups.clone(),
        object_type,
        state,
        offset: 0,
        limit: None,
    };
    let mut found = Vec::new();
    for id in ctx.store.locate(caller.account.id, &filter)? {
        let Some(mut obj) = ctx.store.object(caller.account.id, id)? else {
            continue;
        };
        if !caller.app.groups.contains(&obj.group) {
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
    let offset = req.offset_items.unwrap_or(0) as usize;
    let ids: Vec<String> = found
        .into_iter()
        .skip(offset)
        .take(req.maximum_items.map_or(usize::MAX, |m| m as usize))
        .collect();
    // Located Items (1.3+) says how many matched when the client pages.
    let paged = req.maximum_items.is_some() || req.offset_items.is_some();
    let located_items = (paged && (v.is_v2() || v.minor >= 3)).then_some(total as i32);
    Ok(LocateResponse {
        located_items,
        unique_identifier: ids,
    })
}
