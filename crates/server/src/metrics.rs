//! Health and metrics: the Prometheus registry of the server ([`Metrics`],
//! rendered by [`render`] for `/metrics`), the store timing wrapper
//! ([`MeteredStore`]) and the readiness check ([`readiness`]) for `/v1/ready`.
//!
//! Readiness is one check in one place: [`readiness`] reads the store once and
//! wraps and unwraps a throwaway key with the root of trust, each within
//! [`READINESS_TIMEOUT`], and records the outcome in the gauges
//! `skms_store_up` / `skms_root_of_trust_up` (1 or 0) and
//! `skms_store_probe_seconds` / `skms_root_of_trust_probe_seconds` (how long
//! each took). `/v1/ready` calls it, and so does [`keep_probing`] every
//! [`PROBE_INTERVAL`], so that Prometheus sees a node lose its store even when
//! no load balancer asks. The store read goes through [`MeteredStore`], so it
//! also shows in `skms_store_operation_duration_seconds{operation="account"}`
//! (and a failure in `skms_store_errors_total`).
//!
//! Every label value comes from a closed set (KMIP enumeration names, the
//! store's method names, a few fixed words, routes up to [`MAX_ROUTES`]), never
//! from an id or user input, so the number of series stays bounded whatever
//! clients send.

use crate::kmip_listener::Shared;
use kmip::enums::ResultStatus;
use kmip::messages::ResponseMessage;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use skms_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use skms_core::ca::{AccountCa, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::keys::Key256;
use skms_core::model::{Account, App, Group, ManagedObject, User};
use skms_core::store::{ObjectFilter, Store, StoreError};
use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

/// The `Content-Type` of [`render`]'s output (Prometheus text format 0.0.4).
pub const CONTENT_TYPE: &str = prometheus_client::encoding::prometheus_text::CONTENT_TYPE;

/// How long [`readiness`] waits for the store and for the root of trust.
pub const READINESS_TIMEOUT: Duration = Duration::from_secs(2);

/// Distinct REST routes tracked; later new ones are counted as "other".
pub const MAX_ROUTES: usize = 128;

/// Latency buckets in seconds, 50 µs to 5 s: a cached Get takes tens of
/// microseconds, a durable write milliseconds, an argon2 check or a slow disk more.
const LATENCY_BUCKETS: [f64; 16] = [
    0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
    1.0, 2.5, 5.0,
];

/// The label of any value outside a metric's closed set.
const OTHER: &str = "other";

/// Which listener a TLS handshake failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Listener {
    /// KMIP over TLS (port 5696).
    Kmip,
    /// The REST API and KMIP over HTTPS (port 8443).
    Https,
}

impl Listener {
    fn label(self) -> &'static str {
        match self {
            Listener::Kmip => "kmip",
            Listener::Https => "https",
        }
    }
}

/// Which interface an authentication failed on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Interface {
    /// KMIP over TLS.
    Kmip,
    /// The REST API (and KMIP over HTTPS).
    Rest,
}

/// How a caller tried to prove who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// A name (app id or login) and a password (app secret or user password).
    Password,
    /// A client certificate that no app pinned or trusts.
    Certificate,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationResult {
    operation: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ListenerLabel {
    listener: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CacheLabels {
    kind: &'static str,
    result: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    interface: &'static str,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteStatus {
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: String,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

fn latency_histogram() -> Histogram {
    Histogram::new(LATENCY_BUCKETS)
}

/// The server's metrics: what KMIP, REST, TLS and the store did, for `/metrics`.
pub struct Metrics {
    registry: Registry,
    kmip_operations: Family<OperationResult, Counter>,
    kmip_operation_duration: Histograms<OperationLabel>,
    kmip_connections_open: Gauge,
    kmip_connections: Counter,
    tls_handshake_failures: Family<ListenerLabel, Counter>,
    authentication_failures: Family<AuthLabels, Counter>,
    store_operation_duration: Histograms<OperationLabel>,
    store_errors: Counter,
    http_requests: Family<RouteStatus, Counter>,
    http_request_duration: Histograms<RouteLabel>,
    /// The REST routes seen so far (at most [`MAX_ROUTES`]).
    routes: RwLock<HashSet<String>>,
    store_up: Gauge,
    store_probe_seconds: Gauge<f64, AtomicU64>,
    cache_lookups: Family<CacheLabels, Counter>,
    cache_live: Gauge,
    root_of_trust_up: Gauge,
    root_of_trust_probe_seconds: Gauge<f64, AtomicU64>,
    /// The readiness checks of the store / the root running now (a hung one is not stacked).
    probing_store: Probing,
    probing_root: Probing,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// A registry with every metric of the server, all at zero.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("skms");
        let kmip_operations = Family::<OperationResult, Counter>::default();
        registry.register(
            "kmip_operations",
            "KMIP batch items served, by operation and result (success or the Result Reason)",
            kmip_operations.clone(),
        );
        let kmip_operation_duration: Histograms<OperationLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "kmip_operation_duration_seconds",
            "Time to handle a KMIP request message (decode, authentication, operations), \
             observed once per batch item under its operation",
            kmip_operation_duration.clone(),
        );
        let kmip_connections_open = Gauge::default();
        registry.register(
            "kmip_connections_open",
            "KMIP connections open now (from TCP accept to close)",
            kmip_connections_open.clone(),
        );
        let kmip_connections = Counter::default();
        registry.register(
            "kmip_connections",
            "KMIP connections accepted",
            kmip_connections.clone(),
        );
        let tls_handshake_failures = Family::<ListenerLabel, Counter>::default();
        registry.register(
            "tls_handshake_failures",
            "TLS handshakes that failed or timed out, by listener (kmip, https)",
            tls_handshake_failures.clone(),
        );
        let authentication_failures = Family::<AuthLabels, Counter>::default();
        registry.register(
            "authentication_failures",
            "Failed authentications, by interface (kmip, rest) and method (password, certificate)",
            authentication_failures.clone(),
        );
        let store_operation_duration: Histograms<OperationLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "store_operation_duration_seconds",
            "Time of each store call, by store method",
            store_operation_duration.clone(),
        );
        let store_errors = Counter::default();
        registry.register(
            "store_errors",
            "Store calls that failed (backend failure or unreadable data; \
             not found and conflicts are answers, not failures)",
            store_errors.clone(),
        );
        let http_requests = Family::<RouteStatus, Counter>::default();
        registry.register(
            "http_requests",
            "REST requests answered, by route and HTTP status",
            http_requests.clone(),
        );
        let http_request_duration: Histograms<RouteLabel> =
            Family::new_with_constructor(latency_histogram);
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a REST request, by route",
            http_request_duration.clone(),
        );
        let cache_lookups = Family::<CacheLabels, Counter>::default();
        registry.register(
            "cache_lookups",
            "Reads the node's cache answered (hit) or passed to the store (miss), by kind \
             (account, app, pinned_certificate, object)",
            cache_lookups.clone(),
        );
        let cache_live = Gauge::default();
        registry.register(
            "cache_live",
            "1 while the node's cache follows the store's change feed (and keeps what it \
             reads), 0 while every read goes to the store",
            cache_live.clone(),
        );
        let store_up = Gauge::default();
        registry.register(
            "store_up",
            format!(
                "1 when the last readiness check of the store (a cheap read, by /v1/ready or the \
                 background check every {PROBE_INTERVAL:?}) passed within {READINESS_TIMEOUT:?}, \
                 else 0"
            ),
            store_up.clone(),
        );
        let store_probe_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "store_probe_seconds",
            "Time the last readiness check of the store took (for one that did not answer, \
             how long it had been running)",
            store_probe_seconds.clone(),
        );
        let root_of_trust_up = Gauge::default();
        registry.register(
            "root_of_trust_up",
            format!(
                "1 when the last readiness check of the root of trust (wrap and unwrap a \
                 throwaway key) passed within {READINESS_TIMEOUT:?}, else 0"
            ),
            root_of_trust_up.clone(),
        );
        let root_of_trust_probe_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "root_of_trust_probe_seconds",
            "Time the last readiness check of the root of trust took",
            root_of_trust_probe_seconds.clone(),
        );
        // The closed label sets start at zero, so that a first failure is a
        // visible increase (rate() and alerts need the series to exist before).
        for listener in [Listener::Kmip, Listener::Https] {
            let _ = tls_handshake_failures.get_or_create(&ListenerLabel {
                listener: listener.label(),
            });
        }
        for interface in [Interface::Kmip, Interface::Rest] {
            for method in [AuthMethod::Password, AuthMethod::Certificate] {
                let _ = authentication_failures.get_or_create(&auth_labels(interface, method));
            }
        }
        Metrics {
            registry,
            kmip_operations,
            kmip_operation_duration,
            kmip_connections_open,
            kmip_connections,
            tls_handshake_failures,
            authentication_failures,
            store_operation_duration,
            store_errors,
            http_requests,
            http_request_duration,
            routes: RwLock::new(HashSet::new()),
            store_up,
            cache_lookups,
            cache_live,
            store_probe_seconds,
            root_of_trust_up,
            root_of_trust_probe_seconds,
            probing_store: Probing::default(),
            probing_root: Probing::default(),
        }
    }

    /// Counts a KMIP response's batch items by operation and result and, for
    /// each, observes `elapsed` (the time to handle the whole message: one
    /// [`skms_core::ops::handle_message`] call serves every item of it).
    pub fn observe_kmip(&self, response: &ResponseMessage, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for item in &response.batch_items {
            let operation = operation_label(item.operation);
            self.kmip_operations
                .get_or_create(&OperationResult {
                    operation,
                    result: result_label(item.result_status, item.result_reason),
                })
                .inc();
            self.kmip_operation_duration
                .get_or_create(&OperationLabel { operation })
                .observe(seconds);
        }
    }

    /// Counts a KMIP response's batch items without timing them (a message
    /// refused before it was handled).
    pub fn count_kmip(&self, response: &ResponseMessage) {
        for item in &response.batch_items {
            self.kmip_operations
                .get_or_create(&OperationResult {
                    operation: operation_label(item.operation),
                    result: result_label(item.result_status, item.result_reason),
                })
                .inc();
        }
    }

    /// Counts an accepted KMIP connection; it stays open (in the gauge) until
    /// the returned guard is dropped.
    pub fn kmip_connection_opened(&self) -> OpenConnection {
        self.kmip_connections.inc();
        self.kmip_connections_open.inc();
        OpenConnection(self.kmip_connections_open.clone())
    }

    /// Counts a TLS handshake that failed or timed out on `listener`.
    pub fn tls_handshake_failed(&self, listener: Listener) {
        self.tls_handshake_failures
            .get_or_create(&ListenerLabel {
                listener: listener.label(),
            })
            .inc();
    }

    /// Counts a failed authentication.
    pub fn authentication_failed(&self, interface: Interface, method: AuthMethod) {
        self.authentication_failures
            .get_or_create(&auth_labels(interface, method))
            .inc();
    }

    /// Counts one read of the node's cache ([`crate::cache::CachedStore`]).
    pub fn cache_lookup(&self, kind: &'static str, hit: bool) {
        let result = if hit { "hit" } else { "miss" };
        self.cache_lookups
            .get_or_create(&CacheLabels { kind, result })
            .inc();
    }

    /// Whether the node's cache follows the change feed.
    pub fn cache_live(&self, live: bool) {
        self.cache_live.set(i64::from(live));
    }

    /// Observes one store call of method `method` ([`MeteredStore`] does).
    pub fn observe_store<T>(
        &self,
        method: &'static str,
        elapsed: Duration,
        result: &Result<T, StoreError>,
    ) {
        self.store_operation_duration
            .get_or_create(&OperationLabel { operation: method })
            .observe(elapsed.as_secs_f64());
        if matches!(result, Err(StoreError::Backend(_) | StoreError::Corrupt(_))) {
            self.store_errors.inc();
        }
    }

    /// Sets the readiness gauges from the checks of `readiness` ([`readiness`] does).
    pub fn observe_readiness(&self, readiness: &Readiness) {
        let up = |c: &Check| i64::from(c.ok());
        self.store_up.set(up(&readiness.store));
        self.store_probe_seconds
            .set(readiness.store.latency.as_secs_f64());
        self.root_of_trust_up.set(up(&readiness.root_of_trust));
        self.root_of_trust_probe_seconds
            .set(readiness.root_of_trust.latency.as_secs_f64());
    }

    /// Counts and times one REST request. `route` must be the route's
    /// template (axum's `MatchedPath`, e.g. `/v1/accounts/{id}`), never the
    /// request path (ids would make unbounded series); a request that matched
    /// no route should pass `"unmatched"`. Beyond [`MAX_ROUTES`] distinct
    /// routes, new ones are counted as `"other"`.
    pub fn observe_http(&self, route: &str, status: u16, elapsed: Duration) {
        let route = self.route_label(route);
        self.http_requests
            .get_or_create(&RouteStatus {
                route: route.clone(),
                status,
            })
            .inc();
        self.http_request_duration
            .get_or_create(&RouteLabel { route })
            .observe(elapsed.as_secs_f64());
    }

    fn route_label(&self, route: &str) -> String {
        let known = |routes: &HashSet<String>| routes.contains(route);
        if known(&self.routes.read().unwrap_or_else(|e| e.into_inner())) {
            return route.to_string();
        }
        let mut routes = self.routes.write().unwrap_or_else(|e| e.into_inner());
        if known(&routes) || routes.len() < MAX_ROUTES {
            routes.insert(route.to_string());
            route.to_string()
        } else {
            OTHER.to_string()
        }
    }

    /// The metrics in the Prometheus text format (version 0.0.4; [`CONTENT_TYPE`]).
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::prometheus_text::encode(&mut out, &self.registry);
        out
    }
}

/// The metrics of `metrics` in the Prometheus text format (version 0.0.4), for `/metrics`
/// (serve with `Content-Type: `[`CONTENT_TYPE`]).
pub fn render(metrics: &Metrics) -> String {
    metrics.render()
}

/// An open KMIP connection in the `kmip_connections_open` gauge: closing it
/// (dropping this, also on a panic) takes it out.
#[derive(Debug)]
pub struct OpenConnection(Gauge);

impl Drop for OpenConnection {
    fn drop(&mut self) {
        self.0.dec();
    }
}

fn auth_labels(interface: Interface, method: AuthMethod) -> AuthLabels {
    AuthLabels {
        interface: match interface {
            Interface::Kmip => "kmip",
            Interface::Rest => "rest",
        },
        method: match method {
            AuthMethod::Password => "password",
            AuthMethod::Certificate => "certificate",
        },
    }
}

/// The label of a KMIP operation: its specification name, "other" for an
/// extension value or none.
fn operation_label(operation: Option<kmip::enums::Operation>) -> &'static str {
    operation.and_then(|o| o.name()).unwrap_or(OTHER)
}

/// The label of a KMIP result: "success", else the Result Reason's name
/// (else the Result Status's name: a pending or undone item).
fn result_label(status: ResultStatus, reason: Option<kmip::enums::ResultReason>) -> &'static str {
    if status == ResultStatus::SUCCESS {
        return "success";
    }
    reason
        .and_then(|r| r.name())
        .or_else(|| status.name())
        .unwrap_or(OTHER)
}

/// Calls `$callback!` with every method of [`Store`], for the wrappers of
/// the store ([`MeteredStore`], [`crate::cache::CachedStore`], tests'): a
/// method added to the trait is added here once. The call site must have the
/// types the signatures name in scope.
#[macro_export]
macro_rules! for_each_store_method {
    ($callback:ident) => {
        $callback! {
            fn create_account(&self, account: &Account) -> Result<(), StoreError>;
            fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
            fn accounts(&self) -> Result<Vec<Account>, StoreError>;
            fn create_group(&self, group: &Group) -> Result<(), StoreError>;
            fn group(&self, account: AccountId, id: GroupId) -> Result<Option<Group>, StoreError>;
            fn groups(&self, account: AccountId) -> Result<Vec<Group>, StoreError>;
            fn create_app(&self, app: &App) -> Result<(), StoreError>;
            fn update_app(&self, app: &App) -> Result<(), StoreError>;
            fn app(&self, id: AppId) -> Result<Option<App>, StoreError>;
            fn apps(&self, account: AccountId) -> Result<Vec<App>, StoreError>;
            fn app_by_pinned_cert(&self, sha256: &[u8; 32]) -> Result<Option<App>, StoreError>;
            fn create_user(&self, user: &User) -> Result<(), StoreError>;
            fn update_user(&self, user: &User) -> Result<(), StoreError>;
            fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
            fn users(&self, account: Option<AccountId>) -> Result<Vec<User>, StoreError>;
            fn user(&self, id: skms_core::ids::UserId) -> Result<Option<User>, StoreError>;
            fn delete_user(&self, id: skms_core::ids::UserId) -> Result<(), StoreError>;
            fn record_login_failure(&self, user: skms_core::ids::UserId, now: i64, lockout: &skms_core::model::Lockout) -> Result<Option<User>, StoreError>;
            fn record_login_success(&self, user: skms_core::ids::UserId) -> Result<(), StoreError>;
            fn user_group_roles(&self, user: skms_core::ids::UserId) -> Result<Vec<(GroupId, skms_core::model::GroupRole)>, StoreError>;
            fn set_user_group_roles(&self, user: skms_core::ids::UserId, roles: &[(GroupId, skms_core::model::GroupRole)]) -> Result<(), StoreError>;
            fn create_session(&self, session: &skms_core::model::StoredSession) -> Result<(), StoreError>;
            fn session_by_access(&self, access_hash: &[u8; 32]) -> Result<Option<skms_core::model::StoredSession>, StoreError>;
            fn session_by_refresh(&self, refresh_hash: &[u8; 32]) -> Result<Option<skms_core::model::StoredSession>, StoreError>;
            fn rotate_session(&self, old_refresh_hash: &[u8; 32], next: &skms_core::model::StoredSession) -> Result<bool, StoreError>;
            fn delete_session_family(&self, family: skms_core::model::SessionFamily) -> Result<(), StoreError>;
            fn delete_user_sessions(&self, user: skms_core::ids::UserId, keep: Option<skms_core::model::SessionFamily>) -> Result<(), StoreError>;
            fn prune_sessions(&self, now: i64) -> Result<u64, StoreError>;
            fn set_account_enabled(&self, id: AccountId, enabled: bool) -> Result<(), StoreError>;
            fn delete_account(&self, id: AccountId) -> Result<(), StoreError>;
            fn account_usage(&self, account: AccountId) -> Result<skms_core::model::AccountUsage, StoreError>;
            fn append_audit(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, StoreError>;
            fn audit_chain_page(&self, account: Option<AccountId>, after_seq: u64, limit: usize) -> Result<Vec<AuditRecord>, StoreError>;
            fn audit_head(&self, account: Option<AccountId>) -> Result<Option<(u64, [u8; 32])>, StoreError>;
            fn audit_query(&self, account: Option<AccountId>, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
            fn insert_object(&self, object: &ManagedObject) -> Result<(), StoreError>;
            fn update_object(&self, object: &ManagedObject) -> Result<(), StoreError>;
            fn object(&self, account: AccountId, id: ObjectId) -> Result<Option<ManagedObject>, StoreError>;
            fn locate(&self, account: AccountId, filter: &ObjectFilter) -> Result<Vec<ObjectId>, StoreError>;
            fn count_objects(&self, account: AccountId, filter: &ObjectFilter) -> Result<u64, StoreError>;
            fn insert_objects(&self, objects: &[ManagedObject]) -> Result<(), StoreError>;
            fn create_account_with_ca(&self, account: &Account, ca: &AccountCa) -> Result<(), StoreError>;
            fn add_account_ca(&self, ca: &AccountCa) -> Result<(), StoreError>;
            fn account_ca(&self, account: AccountId) -> Result<Option<AccountCa>, StoreError>;
            fn update_app_keeping_certificate(&self, app: &App, cert: &KeptCertificate) -> Result<(), StoreError>;
            fn kept_certificates(&self, account: AccountId) -> Result<Vec<(AppId, KeptCertificate)>, StoreError>;
            // A cluster of nodes: the root of trust check and the shared server identity.
            fn root_check(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
            fn server_identity(&self) -> Result<Option<skms_core::store::StoredServerIdentity>, StoreError>;
            fn server_identity_version(&self) -> Result<u64, StoreError>;
            fn put_server_identity(&self, identity: &skms_core::store::StoredServerIdentity) -> Result<bool, StoreError>;
            // Backup and restore.
            fn export_rows(&self, sink: &mut dyn skms_core::dump::DumpSink) -> Result<(), StoreError>;
            fn import_rows(&self, source: &mut dyn skms_core::dump::DumpSource) -> Result<Vec<(&'static str, u64)>, StoreError>;
            // The change feed.
            fn changes_since(&self, after: u64, limit: usize) -> Result<skms_core::store::ChangeBatch, StoreError>;
            fn prune_changes(&self, before: i64) -> Result<u64, StoreError>;
            fn wait_for_changes(&self, timeout: std::time::Duration) -> Result<bool, StoreError>;
        }
    };
}

/// A [`Store`] that times every call of the store it wraps into
/// `skms_store_operation_duration_seconds{operation=<method>}` and counts its
/// failures; the server puts it between every user (KMIP, REST) and the database.
pub struct MeteredStore {
    inner: Arc<dyn Store>,
    metrics: Arc<Metrics>,
}

impl MeteredStore {
    /// `inner`, timed into `metrics`.
    pub fn new(inner: Arc<dyn Store>, metrics: Arc<Metrics>) -> Self {
        MeteredStore { inner, metrics }
    }
}

macro_rules! metered {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store for MeteredStore {
            $(
                fn $name(&self $(, $arg: $ty)*) -> $ret {
                    let start = Instant::now();
                    let result = self.inner.$name($($arg),*);
                    self.metrics.observe_store(stringify!($name), start.elapsed(), &result);
                    result
                }
            )*
        }
    };
}

for_each_store_method!(metered);

/// The outcome of one readiness check.
#[derive(Clone, Debug)]
pub struct Check {
    /// `Err` says why it failed, starting with what was checked (`store: …`,
    /// `root of trust: …`).
    pub result: Result<(), String>,
    /// How long the check took; for one that has not answered, how long it
    /// has been running.
    pub latency: Duration,
}

impl Check {
    /// Whether the check passed.
    pub fn ok(&self) -> bool {
        self.result.is_ok()
    }
}

/// What [`readiness`] found: the store and the root of trust, each checked.
#[derive(Clone, Debug)]
pub struct Readiness {
    /// A cheap read of the store.
    pub store: Check,
    /// A throwaway key wrapped and unwrapped by the root of trust.
    pub root_of_trust: Check,
}

impl Readiness {
    /// Whether every check passed.
    pub fn is_ready(&self) -> bool {
        self.store.ok() && self.root_of_trust.ok()
    }

    /// `Ok` when ready, else what failed (both, if both did, joined by `; `).
    pub fn result(&self) -> Result<(), String> {
        let failed: Vec<&str> = [&self.store, &self.root_of_trust]
            .into_iter()
            .filter_map(|c| c.result.as_ref().err().map(String::as_str))
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(failed.join("; "))
        }
    }
}

/// Whether the server can serve: the store answers a cheap read and the root
/// of trust wraps and unwraps a throwaway key, each within
/// [`READINESS_TIMEOUT`]. Every call (`/v1/ready`, [`keep_probing`]) sets the
/// `skms_store_up`, `skms_store_probe_seconds`, `skms_root_of_trust_up` and
/// `skms_root_of_trust_probe_seconds` gauges of `shared.metrics`.
pub async fn readiness(shared: &Arc<Shared>) -> Readiness {
    readiness_within(shared, READINESS_TIMEOUT).await
}

/// [`readiness`] with each check limited to `limit`.
pub async fn readiness_within(shared: &Arc<Shared>, limit: Duration) -> Readiness {
    let store = {
        let shared = shared.clone();
        let probing = shared.metrics.probing_store.clone();
        probe("store", probing, limit, move || {
            shared
                .store
                .account(AccountId::new())
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
    };
    let root = {
        let shared = shared.clone();
        let probing = shared.metrics.probing_root.clone();
        probe("root of trust", probing, limit, move || {
            let root = shared.keyring.root();
            let key = Key256::generate().map_err(|e| e.to_string())?;
            let context = b"skms readiness probe";
            let wrapped = root.wrap(&key, context).map_err(|e| e.to_string())?;
            let back = root.unwrap(&wrapped, context).map_err(|e| e.to_string())?;
            if back.expose() != key.expose() {
                return Err("unwrap does not give back the wrapped key".into());
            }
            Ok(())
        })
    };
    let (store, root_of_trust) = tokio::join!(store, root);
    let readiness = Readiness {
        store,
        root_of_trust,
    };
    shared.metrics.observe_readiness(&readiness);
    readiness
}

/// How often [`keep_probing`] checks readiness.
pub const PROBE_INTERVAL: Duration = Duration::from_secs(5);

/// Every [`PROBE_INTERVAL`] until `stop`: checks readiness ([`readiness`]),
/// so that the `skms_*_up` and `skms_*_probe_seconds` gauges follow the store
/// and the root of trust even when nobody asks `/v1/ready`. Logs when the
/// node stops being ready (with what failed) and when it is ready again;
/// `was_ready` is what the previous check found.
pub async fn keep_probing(
    shared: Arc<Shared>,
    mut was_ready: bool,
    mut stop: tokio::sync::broadcast::Receiver<()>,
) {
    let start = tokio::time::Instant::now() + PROBE_INTERVAL;
    let mut ticks = tokio::time::interval_at(start, PROBE_INTERVAL);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = stop.recv() => break,
            _ = ticks.tick() => {}
        }
        let now = readiness(&shared).await;
        match (was_ready, now.result()) {
            (true, Err(problem)) => {
                tracing::warn!(%problem, "not ready: /v1/ready answers 503 until this is repaired")
            }
            (false, Ok(())) => tracing::info!("ready again"),
            _ => {}
        }
        was_ready = now.is_ready();
    }
}

/// A check's outcome and how long it took.
type Outcome = (Result<(), String>, Duration);

/// The check of one thing running now, if any: when it started and where
/// its outcome will be sent. A caller that finds one running waits for its
/// outcome instead of starting another (a hung database is not asked again
/// and again, and a `/v1/ready` during [`keep_probing`]'s check shares it).
#[derive(Clone, Default)]
struct Probing(Arc<std::sync::Mutex<Option<InFlight>>>);

struct InFlight {
    started: Instant,
    outcome: tokio::sync::watch::Receiver<Option<Outcome>>,
}

impl Probing {
    fn slot(&self) -> std::sync::MutexGuard<'_, Option<InFlight>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Empties the slot when the check ends, also when it panics.
struct Done(Probing);

impl Drop for Done {
    fn drop(&mut self) {
        *self.0.slot() = None;
    }
}

/// Runs the blocking check `f` named `what` within `limit`, or, when a check
/// of the same thing is still running (started by an earlier call), waits
/// within `limit` for that one's outcome.
async fn probe(
    what: &'static str,
    probing: Probing,
    limit: Duration,
    f: impl FnOnce() -> Result<(), String> + Send + 'static,
) -> Check {
    let (started, mut outcome, fresh) = {
        let mut slot = probing.slot();
        match &*slot {
            Some(running) => (running.started, running.outcome.clone(), None),
            None => {
                let started = Instant::now();
                let (tx, rx) = tokio::sync::watch::channel(None);
                *slot = Some(InFlight {
                    started,
                    outcome: rx.clone(),
                });
                (started, rx, Some(tx))
            }
        }
    };
    let earlier = fresh.is_none();
    // Started outside the lock: the check empties the slot when it ends.
    if let Some(tx) = fresh {
        let done = Done(probing);
        tokio::task::spawn_blocking(move || {
            let result = f();
            let took = started.elapsed();
            drop(done);
            let _ = tx.send(Some((result, took)));
        });
    }
    let answered = tokio::time::timeout(limit, async {
        outcome
            .wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|o| o.clone())
    })
    .await;
    let (result, latency) = match answered {
        Ok(Some(o)) => o,
        // The check ended without an outcome: it panicked.
        Ok(None) => (Err("the check panicked".into()), started.elapsed()),
        Err(_) if earlier => (
            Err(format!(
                "an earlier check has not answered yet (running for {:?})",
                started.elapsed()
            )),
            started.elapsed(),
        ),
        Err(_) => (
            Err(format!("no answer within {limit:?}")),
            started.elapsed(),
        ),
    };
    Check {
        result: result.map_err(|e| format!("{what}: {e}")),
        latency,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip::enums::{Operation, ResultReason};
    use kmip::messages::ResponseBatchItem;

    /// A store whose every call waits `delay`, then fails.
    struct SlowStore {
        delay: Duration,
    }

    macro_rules! slow {
        ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
            impl Store for SlowStore {
                $(
                    fn $name(&self $(, $arg: $ty)*) -> $ret {
                        $(let _ = $arg;)*
                        std::thread::sleep(self.delay);
                        Err(StoreError::Backend("the database is gone".into()))
                    }
                )*
            }
        };
    }
    for_each_store_method!(slow);

    fn shared_with(store: Arc<dyn Store>) -> Arc<Shared> {
        let path = std::env::temp_dir().join(format!("skms-metrics-root-{}", ObjectId::new()));
        let root = skms_core::keys::FileRoot::open_or_create(&path).unwrap().0;
        let _ = std::fs::remove_file(&path);
        let keyring = Arc::new(skms_core::tenancy::Keyring::new(Arc::new(root)));
        Arc::new(Shared::new(&crate::config::Config::default(), store, keyring).unwrap())
    }

    fn item(
        operation: Option<Operation>,
        status: ResultStatus,
        reason: Option<ResultReason>,
    ) -> ResponseBatchItem {
        ResponseBatchItem {
            operation,
            unique_batch_item_id: None,
            result_status: status,
            result_reason: reason,
            result_message: None,
            asynchronous_correlation_value: None,
            payload: None,
            message_extension: None,
        }
    }

    #[test]
    fn labels_come_from_closed_sets() {
        assert_eq!(operation_label(Some(Operation::CREATE)), "Create");
        assert_eq!(operation_label(Some(Operation(0x8000_0042))), "other");
        assert_eq!(operation_label(None), "other");
        assert_eq!(result_label(ResultStatus::SUCCESS, None), "success");
        assert_eq!(
            result_label(
                ResultStatus::OPERATION_FAILED,
                Some(ResultReason::ITEM_NOT_FOUND)
            ),
            "ItemNotFound"
        );
        assert_eq!(
            result_label(
                ResultStatus::OPERATION_FAILED,
                Some(ResultReason(0x8000_0001))
            ),
            "OperationFailed"
        );
        assert_eq!(result_label(ResultStatus(0x7777), None), "other");
    }

    #[test]
    fn batch_items_are_counted_one_by_one() {
        let m = Metrics::new();
        let response = ResponseMessage {
            header: Default::default(),
            batch_items: vec![
                item(Some(Operation::GET), ResultStatus::SUCCESS, None),
                item(
                    Some(Operation::GET),
                    ResultStatus::OPERATION_FAILED,
                    Some(ResultReason::ITEM_NOT_FOUND),
                ),
            ],
        };
        m.observe_kmip(&response, Duration::from_millis(3));
        let text = m.render();
        assert!(
            text.contains("skms_kmip_operations_total{operation=\"Get\",result=\"success\"} 1\n"),
            "{text}"
        );
        assert!(text
            .contains("skms_kmip_operations_total{operation=\"Get\",result=\"ItemNotFound\"} 1\n"));
        assert!(text.contains("skms_kmip_operation_duration_seconds_count{operation=\"Get\"} 2\n"));
    }

    #[test]
    fn routes_are_bounded() {
        let m = Metrics::new();
        for i in 0..MAX_ROUTES + 10 {
            m.observe_http(&format!("/r{i}"), 200, Duration::from_millis(1));
        }
        m.observe_http("/r0", 404, Duration::from_millis(1));
        let text = m.render();
        assert!(text.contains("skms_http_requests_total{route=\"other\",status=\"200\"} 10\n"));
        assert!(text.contains("skms_http_requests_total{route=\"/r0\",status=\"404\"} 1\n"));
    }

    #[test]
    fn open_connections_go_down_when_dropped() {
        let m = Metrics::new();
        let a = m.kmip_connection_opened();
        let b = m.kmip_connection_opened();
        drop(a);
        let text = m.render();
        assert!(text.contains("skms_kmip_connections_open 1\n"), "{text}");
        assert!(text.contains("skms_kmip_connections_total 2\n"));
        drop(b);
        assert!(m.render().contains("skms_kmip_connections_open 0\n"));
    }

    #[tokio::test]
    async fn a_store_that_fails_or_hangs_is_not_ready() {
        let failing = shared_with(Arc::new(SlowStore {
            delay: Duration::ZERO,
        }));
        let r = readiness(&failing).await;
        let e = r.result().unwrap_err();
        assert!(e.starts_with("store: storage failure"), "{e}");
        assert!(!e.contains("root"), "{e}");
        assert!(!r.store.ok() && r.root_of_trust.ok(), "{r:?}");
        let text = failing.metrics.render();
        assert!(text.contains("\nskms_store_up 0\n"), "{text}");
        assert!(text.contains("\nskms_root_of_trust_up 1\n"), "{text}");

        let hung = shared_with(Arc::new(SlowStore {
            delay: Duration::from_millis(600),
        }));
        let r = readiness_within(&hung, Duration::from_millis(50)).await;
        let e = r.result().unwrap_err();
        assert!(e.contains("store: no answer within 50ms"), "{e}");
        assert!(r.store.latency >= Duration::from_millis(50), "{r:?}");
        assert!(hung.metrics.render().contains("\nskms_store_up 0\n"));
        // The first check still runs: a second one does not pile up behind it,
        // it waits for the first one's answer (which does not come in time).
        let r = readiness_within(&hung, Duration::from_millis(50)).await;
        let e = r.result().unwrap_err();
        assert!(e.contains("an earlier check has not answered yet"), "{e}");
        assert!(r.store.latency >= Duration::from_millis(100), "{r:?}");
        // A third one waits long enough: it gets the first one's answer.
        let r = readiness_within(&hung, Duration::from_secs(2)).await;
        let e = r.result().unwrap_err();
        assert!(e.starts_with("store: storage failure"), "{e}");
        assert!(r.store.latency >= Duration::from_millis(600), "{r:?}");
        // Then a new check runs.
        let r = readiness_within(&hung, Duration::from_secs(2)).await;
        assert!(r.store.latency >= Duration::from_millis(600), "{r:?}");
        let text = hung.metrics.render();
        let seconds: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("skms_store_probe_seconds "))
            .unwrap()
            .parse()
            .unwrap();
        assert!((0.6..2.0).contains(&seconds), "{text}");
    }

    #[tokio::test]
    async fn concurrent_checks_share_one_answer() {
        // A store slow enough that a second call finds the first one running.
        let slow = shared_with(Arc::new(SlowStore {
            delay: Duration::from_millis(200),
        }));
        let (a, b) = tokio::join!(readiness(&slow), async {
            tokio::time::sleep(Duration::from_millis(50)).await;
            readiness(&slow).await
        });
        // Both got the one check's answer (a failure of the store, not "not answered").
        for r in [&a, &b] {
            let e = r.result().unwrap_err();
            assert!(e.starts_with("store: storage failure"), "{e}");
        }
        assert_eq!(a.store.latency, b.store.latency);
    }
}
