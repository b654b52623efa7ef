//! What the listeners record in the audit log ([`skms_core::audit`]): one
//! record per KMIP batch item (over TLS or HTTPS), per authentication and per
//! REST request, each in the chain of the account it concerns (the provider's
//! when there is none). Builders here, so that KMIP over TLS and over HTTPS
//! record alike.

use kmip::enums::{Operation, ResultStatus};
use kmip::messages::{RequestMessage, ResponseMessage};
use skms_core::audit::{ActorKind, AuditEvent, AuditLog, Outcome};
use skms_core::ids::{AccountId, AppId};
use skms_core::ops::{self, Caller};
use skms_core::store::Store;
use std::net::IpAddr;

/// Milliseconds since the epoch.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A name a client gave, made safe to keep: control characters dropped, at most 128 characters.
pub fn claimed(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(128).collect()
}

/// The account, kind and name of whoever acts as `caller`.
pub fn actor(caller: Option<&Caller>) -> (Option<AccountId>, ActorKind, String) {
    match caller {
        Some(c) => {
            let (kind, name) = c.audit_actor();
            (Some(c.account.id), kind, name)
        }
        None => (None, ActorKind::Anonymous, String::new()),
    }
}

/// Operations that change nothing: recorded without waiting for the commit.
fn is_read(op: Operation) -> bool {
    matches!(
        op,
        Operation::DISCOVER_VERSIONS
            | Operation::QUERY
            | Operation::GET
            | Operation::GET_ATTRIBUTES
            | Operation::GET_ATTRIBUTE_LIST
            | Operation::LOCATE
            | Operation::CHECK
            | Operation::RNG_RETRIEVE
    )
}

/// What each batch item of `request` is about, taken before the request is served.
pub struct KmipPlan(Vec<(Operation, Option<String>)>);

impl KmipPlan {
    /// The operation and the named object of each batch item.
    pub fn of(request: &RequestMessage) -> Self {
        KmipPlan(
            request
                .batch_items
                .iter()
                .map(|i| (i.operation, ops::object_of(&i.payload)))
                .collect(),
        )
    }

    /// One event per answered batch item, and whether any changed something
    /// (then the records must be committed before the answer goes out).
    pub fn events(
        self,
        caller: Option<&Caller>,
        source: IpAddr,
        via: &str,
        response: &ResponseMessage,
    ) -> (Vec<AuditEvent>, bool) {
        let (account, actor_kind, actor) = actor(caller);
        let time_ms = now_ms();
        let mut changes = false;
        let events = self
            .0
            .into_iter()
            .zip(&response.batch_items)
            .map(|((op, object), item)| {
                let ok = item.result_status == ResultStatus::SUCCESS;
                changes |= ok && !is_read(op);
                AuditEvent {
                    account,
                    time_ms,
                    actor_kind,
                    actor: actor.clone(),
                    source: source.to_string(),
                    operation: format!("{via}.{}", op.name().unwrap_or("Unknown")),
                    object: object.or_else(|| item.payload.as_ref().and_then(ops::placeholder_of)),
                    outcome: if ok {
                        Outcome::Success
                    } else {
                        Outcome::Failure
                    },
                    reason: (!ok).then(|| {
                        item.result_reason
                            .and_then(|r| r.name())
                            .or_else(|| item.result_status.name())
                            .unwrap_or("Failed")
                            .to_string()
                    }),
                    message: None,
                }
            })
            .collect();
        (events, changes)
    }
}

/// Records `events`: waits for the commit when `durable`. A failure to commit
/// a durable record is returned (the caller then does not report success).
pub fn record(log: &AuditLog, events: Vec<AuditEvent>, durable: bool) -> Result<(), String> {
    if durable {
        log.record_durable(events)
    } else {
        for e in events {
            log.record(e);
        }
        Ok(())
    }
}

/// An authentication by `method` (`kmip.password`, `rest.password`,
/// `kmip.certificate`…): success in the app's account; failure in the account
/// of the app the name designates if it exists (its auditors see who tries
/// their app), else in the provider's.
pub fn authentication(
    store: &dyn Store,
    method: &str,
    source: IpAddr,
    tried: &str,
    found: Option<&Caller>,
    reason: Option<String>,
) -> AuditEvent {
    let (account, actor_kind, actor) = match found {
        Some(c) => {
            let (kind, name) = c.audit_actor();
            (Some(c.account.id), kind, name)
        }
        None => {
            let account = tried
                .trim()
                .parse::<AppId>()
                .ok()
                .and_then(|id| store.app(id).ok().flatten())
                .map(|a| a.account);
            (account, ActorKind::Anonymous, claimed(tried))
        }
    };
    AuditEvent {
        account,
        time_ms: now_ms(),
        actor_kind,
        actor,
        source: source.to_string(),
        operation: format!("auth.{method}"),
        object: None,
        outcome: if found.is_some() {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        reason: if found.is_some() {
            None
        } else {
            Some(reason.unwrap_or_else(|| "Authentication Not Successful".into()))
        },
        message: None,
    }
}
