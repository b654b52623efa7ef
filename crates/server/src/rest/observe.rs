//! What every REST request leaves behind: its metrics (route template, status,
//! duration) and its audit record, in the chain of the account of whoever it
//! turned out to act as. A change is answered only once its record is
//! committed. Requests that prove nobody (the public endpoints, a missing
//! login) leave no record; a failed login is recorded by the extractor.

use super::{Peer, RestState};
use crate::audit::now_ms;
use axum::extract::{MatchedPath, Request, State};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::Response;
use skms_core::audit::{ActorKind, AuditEvent, Outcome};
use skms_core::ids::AccountId;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tracing::error;

/// An actor: its account (none: the provider), kind and name.
type Actor = (Option<AccountId>, ActorKind, String);

/// Who a request acts as, set by the `Principal` extractor once proven, and
/// the object it made, set by a handler that makes one (the path names none).
#[derive(Clone, Default)]
pub(crate) struct Acting(Arc<Mutex<(Option<Actor>, Option<String>)>>);

impl Acting {
    /// Records that the request acts as this actor.
    pub(crate) fn set(&self, account: Option<AccountId>, kind: ActorKind, name: String) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).0 = Some((account, kind, name));
    }

    /// Records the object the request made.
    pub(crate) fn set_object(&self, id: String) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).1 = Some(id);
    }

    fn get(&self) -> (Option<Actor>, Option<String>) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
}

/// The value of the first `{parameter}` of `template` in `path`: the object a
/// request is about (`/v1/apps/{app}/secret` → the app's id).
fn object_of(template: &str, path: &str) -> Option<String> {
    template
        .split('/')
        .zip(path.split('/'))
        .find(|(t, _)| t.starts_with('{'))
        .map(|(_, v)| v.chars().filter(|c| !c.is_control()).take(128).collect())
}

/// The middleware.
pub(crate) async fn layer(
    State(state): State<Arc<RestState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let source = req.extensions().get::<Peer>().map(|p| p.0.ip());
    let acting = Acting::default();
    req.extensions_mut().insert(acting.clone());
    let response = next.run(req).await;
    let status = response.status();
    let metrics_route = route.as_deref().unwrap_or("unmatched");
    state
        .shared
        .metrics
        .observe_http(metrics_route, status.as_u16(), started.elapsed());
    // KMIP over HTTPS records each batch item itself.
    let (actor, made) = acting.get();
    let (Some(route), Some((account, actor_kind, actor))) = (route, actor) else {
        return response;
    };
    if route == "/kmip" {
        return response;
    }
    let ok = status.is_success() || status.is_redirection();
    let event = AuditEvent {
        account,
        time_ms: now_ms(),
        actor_kind,
        actor,
        source: source.map(|s| s.to_string()).unwrap_or_default(),
        operation: format!("rest.{method} {route}"),
        object: made.or_else(|| object_of(&route, &path)),
        outcome: if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        },
        reason: (!ok).then(|| {
            format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("")
            )
            .trim()
            .to_string()
        }),
        message: None,
    };
    let audit = state.shared.audit.clone();
    if method == Method::GET || method == Method::HEAD {
        audit.record(event);
    } else {
        // A change is answered only once its record is committed.
        let stored = tokio::task::spawn_blocking(move || audit.record_durable(vec![event])).await;
        if !matches!(stored, Ok(Ok(()))) {
            error!(%route, "a REST change's audit record was not stored");
        }
    }
    response
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_object_is_the_first_path_parameter() {
        use super::object_of;
        assert_eq!(
            object_of("/v1/apps/{app}/secret", "/v1/apps/1b4e/secret").as_deref(),
            Some("1b4e")
        );
        assert_eq!(object_of("/v1/apps", "/v1/apps"), None);
    }
}
