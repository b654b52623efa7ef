//! KMIP operations: one function per operation, one dispatch table, and the
//! batch semantics of a request message. The same handlers will serve KMIP over
//! TLS, KMIP over HTTPS and the REST API.

mod discovery;

use crate::keys::KeyError;
use crate::model::{Account, App, Timestamp};
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

/// The authenticated app a request is served as.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The app.
    pub app: App,
    /// Its account.
    pub account: Account,
}

/// A failed operation: the Result Reason and a message for a person.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpError {
    /// Why, as KMIP says it.
    pub reason: ResultReason,
    /// Details (never key material, never whether another account's object exists).
    pub message: String,
}

impl OpError {
    /// A failure with `reason`.
    pub fn new(reason: ResultReason, message: impl Into<String>) -> Self {
        OpError {
            reason,
            message: message.into(),
        }
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

/// Runs one operation: the dispatch table.
fn execute(
    ctx: &Context,
    caller: Option<&Caller>,
    v: &Ctx,
    payload: RequestPayload,
) -> Result<ResponsePayload, OpError> {
    match payload {
        RequestPayload::DiscoverVersions(p) => Ok(discovery::discover_versions(ctx, *p).into()),
        RequestPayload::Query(p) => Ok(discovery::query(ctx, v, *p).into()),
        other => {
            let _ = caller;
            Err(OpError::new(
                ResultReason::OPERATION_NOT_SUPPORTED,
                format!(
                    "{:?} is not supported",
                    other.operation().unwrap_or_default()
                ),
            ))
        }
    }
}

/// Serves a whole request message as `caller` (`None`: no identity established):
/// each batch item in order, its Unique Batch Item ID echoed, the response in
/// the request's protocol version. Batch Error Continuation Option Stop (the
/// default) ends the batch at the first failure; Continue goes on.
pub fn handle_message(
    ctx: &Context,
    caller: Option<&Caller>,
    request: RequestMessage,
) -> ResponseMessage {
    let v = request.ctx();
    let stop_on_error = request.header.batch_error_continuation_option
        != Some(BatchErrorContinuationOption::CONTINUE);
    let mut items = Vec::with_capacity(request.batch_items.len());
    for RequestBatchItem {
        operation,
        unique_batch_item_id: id,
        payload,
        ..
    } in request.batch_items
    {
        let result = if caller.is_none() && !is_anonymous(operation) {
            Err(OpError::new(
                ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
                "no valid credential or client certificate",
            ))
        } else {
            execute(ctx, caller, &v, payload)
        };
        let failed = result.is_err();
        items.push(match result {
            Ok(p) => ResponseBatchItem::success(operation, id, p),
            Err(e) => ResponseBatchItem::failure(Some(operation), id, e.reason, e.message),
        });
        if failed && stop_on_error {
            break;
        }
    }
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: request.header.protocol_version,
            time_stamp: DateTime(ctx.now),
            batch_count: items.len() as i32,
            ..Default::default()
        },
        batch_items: items,
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
