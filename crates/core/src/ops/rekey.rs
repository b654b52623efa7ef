//! Re-key: a replacement symmetric key with the existing key's attributes,
//! linked both ways, its dates carried over with the Offset (KMIP 1.4 section 4.4).

use super::create::generate_symmetric;
use super::object::{self, date, is_destroyed, is_server_only, uid, wrong_state};
use super::{Caller, Context, OpError};
use kmip::attributes::{Attribute, AttributeName, Attributes};
use kmip::enums::{LinkType, ObjectType, ResultReason};
use kmip::objects::Link;
use kmip::payloads::{ReKeyRequest, ReKeyResponse};
use kmip::typed::{Ctx, ToTtlv};
use kmip::{Tag, Value};

/// The date attributes that move with the Offset.
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

/// Re-key.
pub fn rekey(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: ReKeyRequest,
) -> Result<ReKeyResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut old = object::load(ctx, caller, v, &uid)?;
    if old.object_type != ObjectType::SYMMETRIC_KEY {
        return Err(OpError::new(
            ResultReason::ILLEGAL_OPERATION,
            "only symmetric keys can be re-keyed",
        ));
    }
    if is_destroyed(old.state) {
        return Err(wrong_state(v, "a destroyed key cannot be re-keyed"));
    }
    let given = req.attributes.unwrap_or_default();
    if req.offset.is_some()
        && given.items.iter().any(|a| {
            matches!(
                a.name,
                AttributeName::Standard(Tag::ACTIVATION_DATE | Tag::DEACTIVATION_DATE)
            )
        })
    {
        return Err(OpError::new(
            ResultReason::INVALID_MESSAGE,
            "Offset cannot be given together with an Activation Date or Deactivation Date",
        ));
    }
    // The replacement carries the existing key's client attributes, then the request's.
    let mut attrs = Attributes::default();
    for a in &old.attributes.items {
        let keep = matches!(
            a.name,
            AttributeName::Standard(Tag::CRYPTOGRAPHIC_ALGORITHM | Tag::CRYPTOGRAPHIC_LENGTH)
        ) || !(is_server_only(&a.name)
            || matches!(
                a.name,
                AttributeName::Standard(
                    Tag::LINK | Tag::ACTIVATION_DATE | Tag::SENSITIVE | Tag::EXTRACTABLE
                )
            )
            || DATES.iter().any(|t| a.name == AttributeName::Standard(*t)));
        if keep {
            attrs.push(Attribute {
                index: None,
                ..a.clone()
            });
        }
    }
    for a in given.items {
        if is_server_only(&a.name) {
            return Err(object::invalid(format!(
                "{} is set by the server only",
                a.name
            )));
        }
        attrs.remove(&a.name);
        attrs.push(Attribute { index: None, ..a });
    }
    if let Some(offset) = req.offset {
        let Some(old_act) = date(&old.attributes, Tag::ACTIVATION_DATE) else {
            return Err(OpError::new(
                ResultReason::ILLEGAL_OPERATION,
                "an Offset needs an Activation Date on the existing key",
            ));
        };
        let act = ctx.now + i64::from(offset.0);
        attrs.set(Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(act)));
        for t in DATES {
            if let Some(d) = date(&old.attributes, t) {
                attrs.set(Attribute::new(t, Value::DateTime(act + (d - old_act))));
            }
        }
    }
    let mut new = generate_symmetric(ctx, caller, v, attrs)?;
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
