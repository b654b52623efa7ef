//! KMIP operations: one function per operation, one dispatch table, and the
//! batch semantics of a request message. The same handlers will serve KMIP over
//! TLS, KMIP over HTTPS and the REST API.

mod attrs;
mod check;
mod create;
mod discovery;
mod get;
mod lifecycle;
mod locate;
pub mod manage;
pub mod object;
mod rekey;
mod rng;

pub use lifecycle::{next_state, Transition};

use crate::access::{self, Action};
use crate::audit::ActorKind;
use crate::ids::{AppId, GroupId};
use crate::keys::KeyError;
use crate::model::{Account, App, GroupRole, Timestamp, User};
use crate::store::{Store, StoreError};
use crate::tenancy::Keyring;
use kmip::enums::{BatchErrorContinuationOption, Operation, ResultReason, ResultStatus};
use kmip::messages::{
    RequestBatchItem, RequestMessage, ResponseBatchItem, ResponseHeader, ResponseMessage,
};
use kmip::payloads::{RequestPayload, ResponsePayload};
use kmip::typed::{Ctx, DateTime};

/// What every operation may use.
pub struct Context<'a> {
    /// The store.
    pub store: &'a dyn Store,
    /// Account keys.
    pub keyring: &'a Keyring,
    /// The time of the request.
    pub now: Timestamp,
    /// Vendor Identification and versions this server reports.
    pub server: &'a ServerInfo,
}

/// What the server says about itself in Discover Versions and Query.
#[derive(Clone, Debug)]
pub struct ServerInfo {
    /// Vendor Identification.
    pub vendor: String,
    /// Protocol versions, most preferred first.
    pub versions: Vec<(i32, i32)>,
}

impl Default for ServerInfo {
    fn default() -> Self {
        ServerInfo {
            vendor: format!("Sovereign KMS {}", env!("CARGO_PKG_VERSION")),
            versions: vec![(2, 1), (2, 0), (1, 4), (1, 3), (1, 2), (1, 1), (1, 0)],
        }
    }
}

/// Who a request is served as, inside its account: an app (KMIP, and the
/// REST API for apps allowed it) or a user (the REST API's object routes).
/// Every object operation asks [`Caller::may`], that is
/// [`access::allowed`], before it touches an object.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account.
    pub account: Account,
    /// The app or the user.
    pub actor: Actor,
    /// Where Create and Register put a new object: an app's default group,
    /// or the group a REST request names ([`Caller::in_group`]).
    pub target_group: Option<GroupId>,
    /// The access-control view of the actor.
    principal: access::Principal,
}

/// The identity behind a [`Caller`].
#[derive(Clone, Debug)]
pub enum Actor {
    /// A machine identity.
    App(App),
    /// A person.
    User(User),
}

impl Caller {
    /// `app` of `account`; its new objects go to its default group.
    pub fn app(app: App, account: Account) -> Self {
        Caller {
            principal: access::Principal::app(&app),
            target_group: Some(app.default_group),
            actor: Actor::App(app),
            account,
        }
    }

    /// `user` of `account` with its roles on groups; a new object needs a group ([`Caller::in_group`]).
    pub fn user(user: User, group_roles: &[(GroupId, GroupRole)], account: Account) -> Self {
        Caller {
            principal: access::Principal::user(&user, group_roles),
            target_group: None,
            actor: Actor::User(user),
            account,
        }
    }

    /// The same caller, putting new objects in `group`.
    pub fn in_group(mut self, group: GroupId) -> Self {
        self.target_group = Some(group);
        self
    }

    /// The app, if an app calls.
    pub fn as_app(&self) -> Option<&App> {
        match &self.actor {
            Actor::App(a) => Some(a),
            Actor::User(_) => None,
        }
    }

    /// The access-control view of the caller.
    pub fn principal(&self) -> &access::Principal {
        &self.principal
    }

    /// May the caller do `action` on `group` of its account ([`access::allowed`])?
    pub fn may(&self, action: Action, group: GroupId) -> bool {
        access::allowed(&self.principal, Some(self.account.id), action, Some(group))
    }

    /// The groups whose objects the caller may see.
    pub fn viewable_groups(&self, store: &dyn Store) -> Result<Vec<GroupId>, StoreError> {
        let candidates = match &self.actor {
            Actor::App(a) => a.groups.clone(),
            Actor::User(_) => store
                .groups(self.account.id)?
                .into_iter()
                .map(|g| g.id)
                .collect(),
        };
        Ok(candidates
            .into_iter()
            .filter(|g| self.may(Action::ViewObjects, *g))
            .collect())
    }

    /// How the audit log names the caller: its kind and its app UUID or login name.
    pub fn audit_actor(&self) -> (ActorKind, String) {
        match &self.actor {
            Actor::App(a) => (ActorKind::App, a.id.to_string()),
            Actor::User(u) => (ActorKind::User, u.name.clone()),
        }
    }

    /// The app recorded as an object's creator (none when a user creates it).
    pub fn creator(&self) -> Option<AppId> {
        self.as_app().map(|a| a.id)
    }
}

/// A failed operation: the Result Reason, a message for a person, and the
/// payload of an operation whose failure answers one (Check).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpError {
    /// Why, as KMIP says it.
    pub reason: ResultReason,
    /// Details (never key material, never whether another account's object exists).
    pub message: String,
    /// The Response Payload the failed item carries, if any.
    pub payload: Option<ResponsePayload>,
}

impl OpError {
    /// A failure with `reason`.
    pub fn new(reason: ResultReason, message: impl Into<String>) -> Self {
        OpError {
            reason,
            message: message.into(),
            payload: None,
        }
    }

    /// The same failure, answering `payload` too.
    pub fn with_payload(mut self, payload: impl Into<ResponsePayload>) -> Self {
        self.payload = Some(payload.into());
        self
    }
}

impl From<StoreError> for OpError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(m) => OpError::new(ResultReason::OBJECT_ALREADY_EXISTS, m),
            StoreError::NotFound(m) => OpError::new(ResultReason::ITEM_NOT_FOUND, m),
            StoreError::Backend(_) | StoreError::Corrupt(_) => OpError::new(
                ResultReason::GENERAL_FAILURE,
                "the key store is unavailable",
            ),
        }
    }
}

impl From<KeyError> for OpError {
    fn from(_: KeyError) -> Self {
        OpError::new(
            ResultReason::CRYPTOGRAPHIC_FAILURE,
            "a key of the hierarchy could not be used",
        )
    }
}

/// Operations that answer without an identity.
fn is_anonymous(op: Operation) -> bool {
    matches!(op, Operation::DISCOVER_VERSIONS | Operation::QUERY)
}

/// The caller of an operation that needs an identity.
fn who(caller: Option<&Caller>) -> Result<&Caller, OpError> {
    caller.ok_or_else(|| {
        OpError::new(
            ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
            "no valid credential or client certificate",
        )
    })
}

/// Runs one operation: the dispatch table.
fn execute(
    ctx: &Context,
    caller: Option<&Caller>,
    v: &Ctx,
    payload: RequestPayload,
) -> Result<ResponsePayload, OpError> {
    use RequestPayload as P;
    Ok(match payload {
        P::DiscoverVersions(p) => discovery::discover_versions(ctx, *p).into(),
        P::Query(p) => discovery::query(ctx, v, *p).into(),
        P::Create(p) => create::create(ctx, who(caller)?, v, *p)?.into(),
        P::Register(p) => create::register(ctx, who(caller)?, v, *p)?.into(),
        P::Get(p) => get::get(ctx, who(caller)?, v, *p)?.into(),
        P::GetAttributes(p) => attrs::get_attributes(ctx, who(caller)?, v, *p)?.into(),
        P::GetAttributeList(p) => attrs::get_attribute_list(ctx, who(caller)?, v, *p)?.into(),
        P::AddAttribute(p) => attrs::add_attribute(ctx, who(caller)?, v, *p)?.into(),
        P::ModifyAttribute(p) => attrs::modify_attribute(ctx, who(caller)?, v, *p)?.into(),
        P::DeleteAttribute(p) => attrs::delete_attribute(ctx, who(caller)?, v, *p)?.into(),
        P::SetAttribute(p) if v.is_v2() => attrs::set_attribute(ctx, who(caller)?, v, *p)?.into(),
        P::Locate(p) => locate::locate(ctx, who(caller)?, v, *p)?.into(),
        P::Activate(p) => lifecycle::activate(ctx, who(caller)?, v, *p)?.into(),
        P::Revoke(p) => lifecycle::revoke(ctx, who(caller)?, v, *p)?.into(),
        P::Destroy(p) => lifecycle::destroy(ctx, who(caller)?, v, *p)?.into(),
        P::ReKey(p) => rekey::rekey(ctx, who(caller)?, v, *p)?.into(),
        P::Check(p) => check::check(ctx, who(caller)?, v, *p)?.into(),
        P::RngRetrieve(p) => {
            who(caller)?;
            rng::rng_retrieve(ctx, *p)?.into()
        }
        other => {
            return Err(OpError::new(
                ResultReason::OPERATION_NOT_SUPPORTED,
                format!(
                    "{:?} is not supported",
                    other.operation().unwrap_or_default()
                ),
            ))
        }
    })
}

/// Runs one KMIP operation for a caller outside a KMIP message (the REST
/// API's object routes): the same handlers, in KMIP 2.1 terms.
pub fn run(
    ctx: &Context,
    caller: &Caller,
    payload: RequestPayload,
) -> Result<ResponsePayload, OpError> {
    execute(ctx, Some(caller), &Ctx::V2_1, payload)
}

/// Fills an absent Unique Identifier with the ID Placeholder (the identifier
/// an earlier item of the same batch produced; KMIP 1.4 section 3.1).
/// Runs `$body` with `$p` bound to the payload of every request that names
/// one object by Unique Identifier; `$otherwise` for the others. One list for
/// filling the ID placeholder and for naming the object in the audit log.
macro_rules! with_uid_payload {
    ($payload:expr, |$p:ident| $body:expr, $otherwise:expr) => {{
        use RequestPayload as P;
        match $payload {
            P::Get($p) => $body,
            P::GetAttributes($p) => $body,
            P::GetAttributeList($p) => $body,
            P::AddAttribute($p) => $body,
            P::ModifyAttribute($p) => $body,
            P::DeleteAttribute($p) => $body,
            P::SetAttribute($p) => $body,
            P::Activate($p) => $body,
            P::Revoke($p) => $body,
            P::Destroy($p) => $body,
            P::ReKey($p) => $body,
            P::Check($p) => $body,
            _ => $otherwise,
        }
    }};
}

fn fill_placeholder(payload: &mut RequestPayload, id: &str) {
    let slot = with_uid_payload!(payload, |p| &mut p.unique_identifier, return);
    if slot.is_none() {
        *slot = Some(id.to_string());
    }
}

/// The object a request item names by Unique Identifier, if any (what the
/// audit log records as the object acted on; see [`placeholder_of`] for the
/// one a response names).
pub fn object_of(request: &RequestPayload) -> Option<String> {
    with_uid_payload!(request, |p| p.unique_identifier.clone(), None)
}

/// The object a response names (a new object's identifier, the one acted on):
/// the next ID placeholder, and the audit log's object when the request named none.
pub fn placeholder_of(payload: &ResponsePayload) -> Option<String> {
    use ResponsePayload as P;
    Some(match payload {
        P::Create(p) => p.unique_identifier.clone(),
        P::Register(p) => p.unique_identifier.clone(),
        P::ReKey(p) => p.unique_identifier.clone(),
        P::Get(p) => p.unique_identifier.clone(),
        P::GetAttributes(p) => p.unique_identifier.clone(),
        P::GetAttributeList(p) => p.unique_identifier.clone(),
        P::AddAttribute(p) => p.unique_identifier.clone(),
        P::ModifyAttribute(p) => p.unique_identifier.clone(),
        P::DeleteAttribute(p) => p.unique_identifier.clone(),
        P::Activate(p) => p.unique_identifier.clone(),
        P::Revoke(p) => p.unique_identifier.clone(),
        P::Destroy(p) => p.unique_identifier.clone(),
        P::Check(p) => p.unique_identifier.clone()?,
        P::Locate(p) if p.unique_identifier.len() == 1 => p.unique_identifier[0].clone(),
        _ => return None,
    })
}

/// Serves a whole request message as `caller` (`None`: no identity established):
/// each batch item in order (also when Batch Order Option allows another order),
/// its Unique Batch Item ID echoed, the ID Placeholder carried from item to item,
/// the response in the request's protocol version. Batch Error Continuation
/// Option Stop (the default) ends the batch at the first failure, leaving the
/// rest unanswered; Continue goes on. Undo of a batch of several items is
/// refused before anything runs (Feature Not Supported): this server cannot
/// roll back an operation it has done. A response larger than the request's
/// Maximum Response Size is replaced by Response Too Large for every item.
pub fn handle_message(
    ctx: &Context,
    caller: Option<&Caller>,
    request: RequestMessage,
) -> ResponseMessage {
    let v = request.ctx();
    let option = request.header.batch_error_continuation_option;
    let stop_on_error = option != Some(BatchErrorContinuationOption::CONTINUE);
    let undo = option == Some(BatchErrorContinuationOption::UNDO) && request.batch_items.len() > 1;
    let max_size = request.header.maximum_response_size;
    let mut items = Vec::with_capacity(request.batch_items.len());
    let mut placeholder: Option<String> = None;
    for RequestBatchItem {
        operation,
        unique_batch_item_id: id,
        mut payload,
        ..
    } in request.batch_items
    {
        let result = if undo {
            Err(OpError::new(
                ResultReason::FEATURE_NOT_SUPPORTED,
                "Batch Error Continuation Option Undo is not supported: send Stop or Continue",
            ))
        } else if caller.is_none() && !is_anonymous(operation) {
            Err(OpError::new(
                ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
                "no valid credential or client certificate",
            ))
        } else {
            if let Some(p) = &placeholder {
                fill_placeholder(&mut payload, p);
            }
            execute(ctx, caller, &v, payload)
        };
        let failed = result.is_err();
        items.push(match result {
            Ok(p) => {
                if let Some(id) = placeholder_of(&p) {
                    placeholder = Some(id);
                }
                ResponseBatchItem::success(operation, id, p)
            }
            Err(e) => {
                // A failed Check empties the ID Placeholder (KMIP 1.4 section 4.10).
                if operation == Operation::CHECK {
                    placeholder = None;
                }
                ResponseBatchItem {
                    payload: e.payload,
                    ..ResponseBatchItem::failure(Some(operation), id, e.reason, e.message)
                }
            }
        });
        if failed && stop_on_error {
            break;
        }
    }
    let response = ResponseMessage {
        header: ResponseHeader {
            protocol_version: request.header.protocol_version,
            time_stamp: DateTime(ctx.now),
            batch_count: items.len() as i32,
            ..Default::default()
        },
        batch_items: items,
    };
    match max_size {
        Some(max) if response.clone().encode().len() > max.max(0) as usize => too_large(response),
        _ => response,
    }
}

/// The response that replaces one larger than the client accepts: every item
/// failed with Response Too Large (as the OASIS MSGENC test cases answer).
fn too_large(mut response: ResponseMessage) -> ResponseMessage {
    for item in &mut response.batch_items {
        *item = ResponseBatchItem::failure(
            item.operation,
            item.unique_batch_item_id.take(),
            ResultReason::RESPONSE_TOO_LARGE,
            "TOO_LARGE".into(),
        );
    }
    response
}

/// The response to a request this server cannot serve now (its store does
/// not answer while the caller is identified): every item failed with General
/// Failure, in the request's version, so that the client retries or fails
/// over rather than taking it for a wrong credential.
pub fn unavailable(now: Timestamp, request: &RequestMessage) -> ResponseMessage {
    let batch_items: Vec<ResponseBatchItem> = request
        .batch_items
        .iter()
        .map(|item| {
            ResponseBatchItem::failure(
                Some(item.operation),
                item.unique_batch_item_id.clone(),
                ResultReason::GENERAL_FAILURE,
                "the key store is unavailable: try again".into(),
            )
        })
        .collect();
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: request.header.protocol_version.clone(),
            time_stamp: DateTime(now),
            batch_count: batch_items.len() as i32,
            ..Default::default()
        },
        batch_items,
    }
}

/// The response to a message that could not be read as a request: one failed
/// item (Invalid Message), in `version` when the header was readable.
pub fn invalid_message(ctx: &Context, version: (i32, i32), message: String) -> ResponseMessage {
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: kmip::messages::ProtocolVersion::new(version.0, version.1),
            time_stamp: DateTime(ctx.now),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![ResponseBatchItem {
            result_status: ResultStatus::OPERATION_FAILED,
            ..ResponseBatchItem::failure(None, None, ResultReason::INVALID_MESSAGE, message)
        }],
    }
}
