//! Activate, Revoke and Destroy: the client-driven transitions of the KMIP
//! lifecycle (KMIP 1.4 section 3.22; 2.1 section 4.57).

use super::object::{self, is_destroyed, set_state, uid, wrong_state};
use super::{Caller, Context, OpError};
use crate::access::Action;
use kmip::attributes::Attribute;
use kmip::enums::{ResultReason, RevocationReasonCode, State};
use kmip::payloads::*;
use kmip::typed::{Ctx, ToTtlv};
use kmip::{Tag, Value};

/// The next state of a transition a client asks for, or why it is refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transition {
    /// Activate.
    Activate,
    /// Revoke with Key Compromise or CA Compromise.
    RevokeCompromised,
    /// Revoke with any other reason.
    RevokeOther,
    /// Destroy.
    Destroy,
}

/// The state machine: the state after `t` from `from`, or `None` when the
/// specification has no such transition.
pub fn next_state(from: State, t: Transition) -> Option<State> {
    use State as S;
    use Transition as T;
    Some(match (from, t) {
        (S::PRE_ACTIVE, T::Activate) => S::ACTIVE,
        (S::PRE_ACTIVE | S::ACTIVE | S::DEACTIVATED, T::RevokeCompromised) => S::COMPROMISED,
        (S::DESTROYED, T::RevokeCompromised) => S::DESTROYED_COMPROMISED,
        (S::ACTIVE, T::RevokeOther) => S::DEACTIVATED,
        (S::PRE_ACTIVE | S::DEACTIVATED, T::Destroy) => S::DESTROYED,
        (S::COMPROMISED, T::Destroy) => S::DESTROYED_COMPROMISED,
        _ => return None,
    })
}

/// Activate: Pre-Active → Active; the Activation Date is the time of the request.
pub fn activate(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: ActivateRequest,
) -> Result<ActivateResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    let next = next_state(obj.state, Transition::Activate).ok_or_else(|| {
        wrong_state(
            v,
            format!(
                "only a Pre-Active object can be activated; this one is {}",
                obj.state
            ),
        )
    })?;
    set_state(&mut obj, next);
    obj.attributes.set(Attribute::new(
        Tag::ACTIVATION_DATE,
        Value::DateTime(ctx.now),
    ));
    object::save(ctx, &mut obj)?;
    Ok(ActivateResponse {
        unique_identifier: uid,
    })
}

/// The revocation reasons KMIP defines.
const REASONS: &[RevocationReasonCode] = &[
    RevocationReasonCode::UNSPECIFIED,
    RevocationReasonCode::KEY_COMPROMISE,
    RevocationReasonCode::CA_COMPROMISE,
    RevocationReasonCode::AFFILIATION_CHANGED,
    RevocationReasonCode::SUPERSEDED,
    RevocationReasonCode::CESSATION_OF_OPERATION,
    RevocationReasonCode::PRIVILEGE_WITHDRAWN,
];

/// Revoke: compromise → Compromised (or Destroyed Compromised) with Compromise
/// Date; any other reason → Deactivated with Deactivation Date.
pub fn revoke(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: RevokeRequest,
) -> Result<RevokeResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    let code = req.revocation_reason.revocation_reason_code;
    if !REASONS.contains(&code) && code.0 < 0x8000_0000 {
        return Err(object::invalid(format!(
            "Revocation Reason Code {code} is not recognized"
        )));
    }
    let compromised =
        code == RevocationReasonCode::KEY_COMPROMISE || code == RevocationReasonCode::CA_COMPROMISE;
    let t = if compromised {
        Transition::RevokeCompromised
    } else {
        Transition::RevokeOther
    };
    let next = next_state(obj.state, t).ok_or_else(|| {
        wrong_state(
            v,
            format!(
                "a {} object cannot be revoked with reason {code}",
                obj.state
            ),
        )
    })?;
    set_state(&mut obj, next);
    if compromised {
        obj.attributes.set(Attribute::new(
            Tag::COMPROMISE_DATE,
            Value::DateTime(ctx.now),
        ));
        let occurred = req.compromise_occurrence_date.map_or(ctx.now, |d| d.0);
        obj.attributes.set(Attribute::new(
            Tag::COMPROMISE_OCCURRENCE_DATE,
            Value::DateTime(occurred),
        ));
    } else {
        obj.attributes.set(Attribute::new(
            Tag::DEACTIVATION_DATE,
            Value::DateTime(ctx.now),
        ));
    }
    let reason = req.revocation_reason.to_ttlv(Tag::REVOCATION_REASON, v);
    obj.attributes
        .set(Attribute::new(Tag::REVOCATION_REASON, reason.value));
    object::save(ctx, &mut obj)?;
    Ok(RevokeResponse {
        unique_identifier: uid,
    })
}

/// Destroy: the value is erased (metadata kept); never while Active.
pub fn destroy(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: DestroyRequest,
) -> Result<DestroyResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let mut obj = object::load(ctx, caller, v, &uid, Action::ManageObjects)?;
    if is_destroyed(obj.state) {
        let reason = if v.is_v2() {
            ResultReason::OBJECT_DESTROYED
        } else {
            ResultReason::PERMISSION_DENIED
        };
        return Err(OpError::new(reason, "the object is already destroyed"));
    }
    let next = next_state(obj.state, Transition::Destroy).ok_or_else(|| {
        wrong_state(
            v,
            format!(
                "a {} object cannot be destroyed: revoke it first",
                obj.state
            ),
        )
    })?;
    set_state(&mut obj, next);
    obj.sealed = None;
    obj.attributes
        .set(Attribute::new(Tag::DESTROY_DATE, Value::DateTime(ctx.now)));
    object::save(ctx, &mut obj)?;
    Ok(DestroyResponse {
        unique_identifier: uid,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_machine_follows_kmip_1_4_section_3_22() {
        use State as S;
        use Transition as T;
        let all = [
            S::PRE_ACTIVE,
            S::ACTIVE,
            S::DEACTIVATED,
            S::COMPROMISED,
            S::DESTROYED,
            S::DESTROYED_COMPROMISED,
        ];
        let allowed = [
            (S::PRE_ACTIVE, T::Activate, S::ACTIVE),
            (S::PRE_ACTIVE, T::RevokeCompromised, S::COMPROMISED),
            (S::PRE_ACTIVE, T::Destroy, S::DESTROYED),
            (S::ACTIVE, T::RevokeCompromised, S::COMPROMISED),
            (S::ACTIVE, T::RevokeOther, S::DEACTIVATED),
            (S::DEACTIVATED, T::RevokeCompromised, S::COMPROMISED),
            (S::DEACTIVATED, T::Destroy, S::DESTROYED),
            (S::COMPROMISED, T::Destroy, S::DESTROYED_COMPROMISED),
            (S::DESTROYED, T::RevokeCompromised, S::DESTROYED_COMPROMISED),
        ];
        for from in all {
            for t in [
                T::Activate,
                T::RevokeCompromised,
                T::RevokeOther,
                T::Destroy,
            ] {
                let want = allowed
                    .iter()
                    .find(|(f, tt, _)| *f == from && *tt == t)
                    .map(|x| x.2);
                assert_eq!(next_state(from, t), want, "{from:?} {t:?}");
            }
        }
    }
}
