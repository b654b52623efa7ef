//! Re-key: a replacement symmetric key with the existing key's attributes,
//! linked both ways, its dates copied or moved with the Offset (KMIP 1.4
//! section 4.4, errors section 11.5; 2.1 section 6.1.46).

use super::create::generate_symmetric;
use super::object::{self, date, is_destroyed, is_server_only, uid};
use super::{Caller, Context, OpError};
use crate::access::Action;
use kmip::attributes::{Attribute, AttributeName, Attributes};
use kmip::enums::{LinkType, ObjectType, ResultReason};
use kmip::objects::Link;
use kmip::payloads::{ReKeyRequest, ReKeyResponse};
use kmip::typed::{Ctx, ToTtlv};
use kmip::{Tag, Value};

/// The dates that move with the Activation Date when an Offset is given.
const DATES: [Tag; 3] = [
    Tag::PROCESS_START_DATE,
    Tag::PROTECT_STOP_DATE,
    Tag::DEACTIVATION_DATE,
];

/// A Link attribute.
fn link(kind: LinkType, to: &str, v: &Ctx) -> Attribute {
    let l = Link {
        link_type: kind,
        linked_object_identifier: to.to_string(),
    };
    Attribute::new(Tag::LINK, l.to_ttlv(Tag::LINK, v).value)
}

/// True for an attribute the replacement takes from the existing key: all but
/// those the server sets anew (its algorithm and length excepted) and the Links.
fn copied(name: &AttributeName) -> bool {
    matches!(
        name,
        AttributeName::Standard(Tag::CRYPTOGRAPHIC_ALGORITHM | Tag::CRYPTOGRAPHIC_LENGTH)
    ) || !(is_server_only(name) || *name == AttributeName::Standard(Tag::LINK))
}

/// Usage Limits of the replacement: "The Total value is copied from the
/// existing key, and the Count value [...] is set to the Total value."
fn fresh_usage_limits(value: &Value) -> Value {
    let Value::Structure(fields) = value else {
        return value.clone();
    };
    let total = fields.iter().find_map(|f| match f.value {
        Value::LongInteger(n) if f.tag == Tag::USAGE_LIMITS_TOTAL => Some(n),
        _ => None,
    });
    let mut fields = fields.clone();
    if let Some(total) = total {
        for f in &mut fields {
            if f.tag == Tag::USAGE_LIMITS_COUNT {
                f.value = Value::LongInteger(total);
            }
        }
    }
    Value::Structure(fields)
}

/// Re-key.
pub fn rekey(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: ReKeyRequest,
) -> Result<ReKeyResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut old = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    if old.object_type != ObjectType::SYMMETRIC_KEY {
        let reason = if v.is_v2() {
            ResultReason::INVALID_OBJECT_TYPE
        } else {
            ResultReason::PERMISSION_DENIED
        };
        return Err(OpError::new(reason, "only symmetric keys can be re-keyed"));
    }
    if is_destroyed(old.state) || old.sealed.is_none() {
        return Err(OpError::new(
            ResultReason::KEY_VALUE_NOT_PRESENT,
            "a destroyed key cannot be re-keyed",
        ));
    }
    let given = req.attributes.unwrap_or_default();
    if req.offset.is_some()
        && given.items.iter().any(|a| {
            a.name == AttributeName::Standard(Tag::ACTIVATION_DATE)
                || DATES.iter().any(|t| a.name == AttributeName::Standard(*t))
        })
    {
        return Err(OpError::new(
            ResultReason::INVALID_MESSAGE,
            "Offset cannot be given together with an Activation Date, Process Start Date, \
             Protect Stop Date or Deactivation Date",
        ));
    }
    // The replacement carries the existing key's attributes (its dates
    // included: copied when no Offset is given), then the request's.
    let mut attrs = Attributes::default();
    for a in old.attributes.items.iter().filter(|a| copied(&a.name)) {
        let value = if a.name == AttributeName::Standard(Tag::USAGE_LIMITS) {
            fresh_usage_limits(&a.value)
        } else {
            a.value.clone()
        };
        attrs.push(Attribute {
            index: None,
            value,
            ..a.clone()
        });
    }
    for a in &given.items {
        if is_server_only(&a.name) {
            return Err(object::invalid(format!(
                "{} is set by the server only",
                a.name
            )));
        }
        attrs.remove(&a.name);
    }
    for a in given.items {
        attrs.push(Attribute { index: None, ..a });
    }
    if let Some(offset) = req.offset {
        // AT2 = IT2 + Offset, where IT2 (the replacement's Initial Date) is now;
        // CT2, TT2, DT2 = CT1, TT1, DT1 + (AT2 - AT1).
        let act = ctx.now + i64::from(offset.0);
        let moved: Vec<(Tag, i64)> = DATES
            .iter()
            .filter_map(|&t| Some((t, date(&old.attributes, t)?)))
            .collect();
        match date(&old.attributes, Tag::ACTIVATION_DATE) {
            Some(old_act) => {
                for (t, d) in moved {
                    attrs.set(Attribute::new(t, Value::DateTime(d + (act - old_act))));
                }
            }
            None if !moved.is_empty() => {
                let reason = if v.is_v2() {
                    ResultReason::INVALID_FIELD
                } else {
                    ResultReason::ILLEGAL_OPERATION
                };
                return Err(OpError::new(
                    reason,
                    "an Offset cannot move the Process Start, Protect Stop or Deactivation \
                     Date: the existing key has no Activation Date",
                ));
            }
            None => {}
        }
        attrs.set(Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(act)));
    }
    // The replacement stays in the group of the key it replaces.
    let mut new = generate_symmetric(ctx, caller, v, old.group, attrs)?;
    new.attributes
        .push(link(LinkType::REPLACED_OBJECT_LINK, &uid, v));
    // The names move to the replacement (KMIP 1.4 section 4.4).
    old.attributes.remove(&AttributeName::Standard(Tag::NAME));
    old.attributes.push(link(
        LinkType::REPLACEMENT_OBJECT_LINK,
        &new.id.to_string(),
        v,
    ));
    ctx.store.insert_object(&new)?;
    object::save(ctx, &mut old)?;
    Ok(ReKeyResponse {
        unique_identifier: new.id.to_string(),
        attributes: None,
    })
}
