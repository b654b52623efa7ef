//! Check: may the caller use an object for this many Usage Limits Units, these
//! cryptographic usages and this lease? (KMIP 1.4 section 4.10; 2.1 section 6.1.7)
//! A denial answers only the fields that were refused, without the Unique
//! Identifier, and the batch's ID Placeholder is emptied (see `handle_message`).

use super::object::{self, uid};
use super::{Caller, Context, OpError};
use crate::access::Action;
use kmip::attributes::Attributes;
use kmip::enums::{ObjectType, ResultReason};
use kmip::payloads::{CheckRequest, CheckResponse};
use kmip::typed::Ctx;
use kmip::{Tag, Value};

/// The remaining Usage Limits Count of the object (`None`: it has no limit).
fn usage_limits_count(attrs: &Attributes) -> Option<i64> {
    match attrs.get_std(Tag::USAGE_LIMITS)? {
        Value::Structure(fields) => fields.iter().find_map(|f| match f.value {
            Value::LongInteger(n) if f.tag == Tag::USAGE_LIMITS_COUNT => Some(n),
            _ => None,
        }),
        _ => None,
    }
}

/// The longest lease the object may be used under (`None`: no lease bounds its use).
fn lease_time(attrs: &Attributes) -> Option<u32> {
    match attrs.get_std(Tag::LEASE_TIME)? {
        Value::Interval(t) => Some(*t),
        _ => None,
    }
}

/// Check.
pub fn check(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: CheckRequest,
) -> Result<CheckResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let obj = object::load(ctx, caller, v, &uid, Action::UseKeys)?;
    let asks = req.usage_limits_count.is_some()
        || req.cryptographic_usage_mask.is_some()
        || req.lease_time.is_some();
    // In 1.x these attributes apply to Managed Cryptographic Objects only; in
    // 2.x to every object (KMIP 1.4 sections 3.19-3.21; 2.1 sections 4.17, 4.30, 4.59).
    if asks && !v.is_v2() && obj.object_type == ObjectType::OPAQUE_OBJECT {
        return Err(OpError::new(
            ResultReason::ILLEGAL_OPERATION,
            "an Opaque Object has no usage limits, usage mask or lease to check",
        ));
    }
    let policy = |v2_reason: ResultReason| {
        if v.is_v2() {
            v2_reason
        } else {
            ResultReason::PERMISSION_DENIED
        }
    };
    let mut denied = CheckResponse::default();
    let mut why: Vec<&str> = Vec::new();
    let mut reason = None;
    if let Some(n) = req.usage_limits_count {
        if usage_limits_count(&obj.attributes).is_some_and(|left| n > left) {
            denied.usage_limits_count = Some(n);
            why.push("the Usage Limits Count exceeds what the object has left");
            reason.get_or_insert(policy(ResultReason::USAGE_LIMIT_EXCEEDED));
        }
    }
    if let Some(m) = req.cryptographic_usage_mask {
        // An object without a mask allows no usage (as Locate treats it).
        let allowed = obj
            .attributes
            .cryptographic_usage_mask()
            .unwrap_or_default();
        if !allowed.contains(m) {
            denied.cryptographic_usage_mask = Some(m);
            why.push("the object's Cryptographic Usage Mask does not allow these usages");
            reason.get_or_insert(policy(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK));
        }
    }
    if let Some(t) = req.lease_time {
        if lease_time(&obj.attributes).is_some_and(|max| t.0 > max) {
            denied.lease_time = Some(t);
            why.push("the Lease Time is longer than the object's");
            reason.get_or_insert(ResultReason::PERMISSION_DENIED);
        }
    }
    match reason {
        None => Ok(CheckResponse {
            unique_identifier: Some(uid),
            ..Default::default()
        }),
        Some(reason) => Err(OpError::new(reason, why.join("; ")).with_payload(denied)),
    }
}
