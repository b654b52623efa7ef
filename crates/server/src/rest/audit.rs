//! The audit log over REST: an account's records for its admins (the
//! provider's chain for a sysadmin), filtered and paged, exported as JSON
//! lines, and its chain verified. Never another account's records.

use super::error::ErrorBody;
use super::extract::ApiQuery;
use super::{blocking, ApiError, ApiResult, Principal, RestState};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use skms_core::audit::{self, AuditQuery, AuditRecord};
use skms_core::ids::AccountId;
use skms_core::model::{Role, User};
use std::sync::Arc;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The routes of this module.
pub(super) fn routes() -> OpenApiRouter<Arc<RestState>> {
    OpenApiRouter::new()
        .routes(routes!(list_audit))
        .routes(routes!(export_audit))
        .routes(routes!(verify_audit))
}

/// The chain a user reads: its account's, or the provider's for a sysadmin.
fn chain_of(principal: &Principal) -> ApiResult<Option<AccountId>> {
    match principal {
        Principal::User(User {
            role: Role::Sysadmin,
            ..
        }) => Ok(None),
        Principal::User(User {
            account: Some(_), ..
        }) => Ok(Some(principal.may(skms_core::access::Action::ReadAudit)?)),
        _ => Err(ApiError::forbidden(
            "only an account's admins and auditors (or the provider's sysadmin, for its own log) read an audit log",
        )),
    }
}

/// Which records: every condition given must hold.
#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct Filter {
    /// From this time (milliseconds since the epoch, inclusive).
    from: Option<i64>,
    /// Until this time (milliseconds since the epoch, exclusive).
    to: Option<i64>,
    /// This actor: an app's UUID or a user's login.
    actor: Option<String>,
    /// This object (a KMIP Unique Identifier, an app id…).
    object: Option<String>,
    /// This operation (`kmip.Create`, `auth.kmip.password`, `rest.POST /v1/apps`…).
    operation: Option<String>,
    /// Only records older than this sequence number: the `next_before` of the previous page.
    before: Option<u64>,
    /// At most this many (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

impl Filter {
    fn query(self, max: usize) -> ApiResult<AuditQuery> {
        let limit = self.limit.unwrap_or(100);
        if limit == 0 || limit > max {
            return Err(ApiError::bad(format!("limit must be between 1 and {max}")));
        }
        Ok(AuditQuery {
            from_ms: self.from,
            to_ms: self.to,
            actor: self.actor,
            object: self.object,
            operation: self.operation,
            before_seq: self.before,
            limit,
        })
    }
}

/// One audit record.
#[derive(Serialize, ToSchema)]
struct RecordView {
    /// Position in its chain, from 1.
    seq: u64,
    /// When, in milliseconds since the epoch.
    time_ms: i64,
    /// `app`, `user` or `anonymous`.
    actor_kind: String,
    /// The app's UUID, the user's login, or the name tried.
    actor: String,
    /// The client's address.
    source: String,
    /// What was done.
    operation: String,
    /// The object acted on.
    object: Option<String>,
    /// `success` or `failure`.
    result: String,
    /// Why it failed.
    reason: Option<String>,
    /// More words.
    message: Option<String>,
    /// The previous record's hash (hex).
    prev_hash: String,
    /// This record's hash (hex): SHA-256 over its fields, chain, position and `prev_hash`.
    hash: String,
}

impl From<&AuditRecord> for RecordView {
    fn from(r: &AuditRecord) -> Self {
        let e = &r.event;
        RecordView {
            seq: r.seq,
            time_ms: e.time_ms,
            actor_kind: e.actor_kind.as_str().into(),
            actor: e.actor.clone(),
            source: e.source.clone(),
            operation: e.operation.clone(),
            object: e.object.clone(),
            result: e.outcome.as_str().into(),
            reason: e.reason.clone(),
            message: e.message.clone(),
            prev_hash: hex::encode(r.prev_hash),
            hash: hex::encode(r.hash),
        }
    }
}

/// A page of records, newest first.
#[derive(Serialize, ToSchema)]
struct RecordPage {
    /// The records.
    records: Vec<RecordView>,
    /// Give this as `before` for the next page; absent on the last one.
    next_before: Option<u64>,
}

/// Read the audit log: newest first, filtered, one page at a time.
#[utoipa::path(
    get,
    path = "/v1/audit",
    tag = "audit",
    security(("basic" = [])),
    params(Filter),
    responses(
        (status = 200, description = "A page of records", body = RecordPage),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed to read an audit log", body = ErrorBody),
    )
)]
async fn list_audit(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiQuery(filter): ApiQuery<Filter>,
) -> ApiResult<Json<RecordPage>> {
    let chain = chain_of(&principal)?;
    let query = filter.query(1000)?;
    let limit = query.limit;
    let records = blocking(move || Ok(state.shared.store.audit_query(chain, &query)?)).await?;
    let next_before = (records.len() == limit)
        .then(|| records.last().map(|r| r.seq))
        .flatten();
    Ok(Json(RecordPage {
        records: records.iter().map(RecordView::from).collect(),
        next_before,
    }))
}

/// Export the audit log as JSON lines (one record per line, newest first),
/// up to `limit` records (default 100, at most 100000).
#[utoipa::path(
    get,
    path = "/v1/audit/export",
    tag = "audit",
    security(("basic" = [])),
    params(Filter),
    responses(
        (status = 200, description = "One JSON record per line", body = String, content_type = "application/x-ndjson"),
        (status = 400, description = "A bad filter", body = ErrorBody),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed to read an audit log", body = ErrorBody),
    )
)]
async fn export_audit(
    principal: Principal,
    State(state): State<Arc<RestState>>,
    ApiQuery(filter): ApiQuery<Filter>,
) -> ApiResult<Response> {
    let chain = chain_of(&principal)?;
    let mut query = filter.query(100_000)?;
    let body = blocking(move || {
        let mut out = String::new();
        let mut left = query.limit;
        while left > 0 {
            query.limit = left.min(1000);
            let page = state.shared.store.audit_query(chain, &query)?;
            for r in &page {
                out.push_str(
                    &serde_json::to_string(&RecordView::from(r)).map_err(ApiError::internal)?,
                );
                out.push('\n');
            }
            left -= page.len();
            match page.last() {
                Some(last) if page.len() == query.limit => query.before_seq = Some(last.seq),
                _ => break,
            }
        }
        Ok(out)
    })
    .await?;
    Ok(([(header::CONTENT_TYPE, "application/x-ndjson")], body).into_response())
}

/// The outcome of a verification.
#[derive(Serialize, ToSchema)]
struct Verification {
    /// Whether the chain is intact.
    intact: bool,
    /// How many records were checked (when intact).
    records: u64,
    /// Where it breaks: the first changed, removed, reordered or missing record.
    problem: Option<String>,
}

/// Verify the audit chain: every record's hash and link, from the first to the head.
#[utoipa::path(
    get,
    path = "/v1/audit/verify",
    tag = "audit",
    security(("basic" = [])),
    responses(
        (status = 200, description = "The verdict", body = Verification),
        (status = 401, description = "Not signed in", body = ErrorBody),
        (status = 403, description = "Not allowed to read an audit log", body = ErrorBody),
    )
)]
async fn verify_audit(
    principal: Principal,
    State(state): State<Arc<RestState>>,
) -> ApiResult<Json<Verification>> {
    let chain = chain_of(&principal)?;
    let verdict = blocking(move || Ok(audit::verify_chain(&*state.shared.store, chain))).await?;
    Ok(Json(match verdict {
        Ok(records) => Verification {
            intact: true,
            records,
            problem: None,
        },
        Err(e) => Verification {
            intact: false,
            records: 0,
            problem: Some(e.to_string()),
        },
    }))
}
