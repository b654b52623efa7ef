//! The node cache ([`skms_server::cache`]) over real stores, as two nodes see
//! one database: warm reads do not reach the store; a change made through
//! one node is seen by the other within the cache's bound (PostgreSQL's
//! NOTIFY, or SQLite's polling of the change feed); a node's own change at once.

#[path = "../../store/tests/common/mod.rs"]
mod fixtures;

use kmip::enums::State;
use skms_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use skms_core::ca::{AccountCa, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::model::{Account, App, Group, ManagedObject, SecretHash, User};
use skms_core::store::{ObjectFilter, Store, StoreError};
use skms_server::cache::{CachedStore, DEFAULT_MAX_OBJECTS, POLL};
use skms_store::{PgStore, SqliteStore};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A store that counts the calls of each method it passes on.
struct Counting {
    inner: Arc<dyn Store>,
    calls: Mutex<HashMap<&'static str, usize>>,
    /// While set, every call fails as a lost database would.
    broken: std::sync::atomic::AtomicBool,
}

impl Counting {
    fn new(inner: Arc<dyn Store>) -> Arc<Self> {
        Arc::new(Counting {
            inner,
            calls: Mutex::new(HashMap::new()),
            broken: Default::default(),
        })
    }

    fn calls(&self, method: &str) -> usize {
        self.calls.lock().unwrap().get(method).copied().unwrap_or(0)
    }
}

macro_rules! counting {
    ($(fn $name:ident(&self $(, $arg:ident: $ty:ty)*) -> $ret:ty;)*) => {
        impl Store for Counting {
            $(
                fn $name(&self $(, $arg: $ty)*) -> $ret {
                    *self.calls.lock().unwrap().entry(stringify!($name)).or_default() += 1;
                    if self.broken.load(std::sync::atomic::Ordering::SeqCst) {
                        return Err(StoreError::Backend("the database is gone".into()));
                    }
                    self.inner.$name($($arg),*)
                }
            )*
        }
    };
}

skms_server::for_each_store_method!(counting);

/// A node: its cache over its own connection to the database.
struct Node {
    db: Arc<Counting>,
    cache: Arc<CachedStore>,
}

impl Node {
    fn on(store: Arc<dyn Store>) -> Node {
        let db = Counting::new(store);
        let cache = Arc::new(CachedStore::new(
            db.clone(),
            DEFAULT_MAX_OBJECTS,
            Arc::new(skms_server::metrics::Metrics::new()),
        ));
        CachedStore::follow(&cache).unwrap();
        until("the cache follows the feed", || cache.is_live());
        Node { db, cache }
    }
}

/// Waits (10 s at most) for `ok`.
fn until(what: &str, ok: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{what}: not within 10 s"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    start.elapsed()
}

/// An account with a group, an app and an object, stored through `node`.
fn tenant(node: &Node) -> (skms_core::model::App, skms_core::model::ManagedObject) {
    let a = fixtures::account(&fixtures::unique("acme"));
    node.cache.create_account(&a).unwrap();
    let g = fixtures::group(a.id, "g");
    node.cache.create_group(&g).unwrap();
    let app = fixtures::app(a.id, "vcenter", &[g.id]);
    node.cache.create_app(&app).unwrap();
    let o = fixtures::object(a.id, g.id, 1_700_000_300);
    node.cache.insert_object(&o).unwrap();
    (app, o)
}

fn two_nodes(a: Node, b: Node) {
    let (mut app, mut o) = tenant(&a);
    // The node that stored the object keeps it: reading it back asks the
    // database nothing.
    assert_eq!(a.cache.object(o.account, o.id).unwrap().as_ref(), Some(&o));
    assert_eq!(a.db.calls("object"), 0);

    // Warm: once node b has heard of node a's writes (the new app is a
    // change) and read each row once, reads do not reach the database.
    let warm = || {
        b.cache.app(app.id).unwrap();
        b.cache.account(app.account).unwrap();
        b.cache.object(o.account, o.id).unwrap();
        b.cache.app_by_pinned_cert(&[7; 32]).unwrap();
    };
    warm();
    std::thread::sleep(POLL * 3);
    warm();
    let methods = ["app", "account", "object", "app_by_pinned_cert"];
    let before = methods.map(|m| b.db.calls(m));
    for _ in 0..100 {
        assert_eq!(b.cache.app(app.id).unwrap().as_ref(), Some(&app));
        assert_eq!(
            b.cache.account(app.account).unwrap().unwrap().id,
            app.account
        );
        assert_eq!(b.cache.object(o.account, o.id).unwrap().as_ref(), Some(&o));
        assert_eq!(b.cache.app_by_pinned_cert(&[7; 32]).unwrap(), None);
    }
    assert_eq!(methods.map(|m| b.db.calls(m)), before, "{methods:?}");
    assert!(before.iter().all(|n| *n <= 2), "{before:?}");
    // Another account never gets the object from the cache.
    assert_eq!(
        b.cache
            .object(skms_core::ids::AccountId::new(), o.id)
            .unwrap(),
        None
    );

    // A secret reset on node a: node b stops accepting the old hash within the bound.
    app.secret_hash = SecretHash("$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3".into());
    a.cache.update_app(&app).unwrap();
    assert_eq!(
        a.cache.app(app.id).unwrap().unwrap().secret_hash,
        app.secret_hash,
        "own change at once"
    );
    let took = until("node b sees the new secret", || {
        b.cache.app(app.id).unwrap().unwrap().secret_hash == app.secret_hash
    });
    eprintln!("a secret reset reached the other node in {took:?}");

    // A pin added on node a: a lookup node b remembered as "no app" is forgotten.
    app.pinned_certs = vec![[7; 32]];
    app.auth_method = skms_core::model::AuthMethod::Certificate;
    a.cache.update_app(&app).unwrap();
    until("node b finds the pinned certificate", || {
        b.cache.app_by_pinned_cert(&[7; 32]).unwrap().map(|x| x.id) == Some(app.id)
    });

    // An object revoked on node a; then the account disabled.
    o.state = State::DEACTIVATED;
    a.cache.update_object(&o).unwrap();
    until("node b sees the object's new state", || {
        b.cache.object(o.account, o.id).unwrap().unwrap().state == State::DEACTIVATED
    });
    a.cache.set_account_enabled(app.account, false).unwrap();
    until("node b sees the account disabled", || {
        !b.cache.account(app.account).unwrap().unwrap().enabled
    });

    // A change made around the cache (another process, a restore): seen too.
    o.state = State::COMPROMISED;
    a.db.update_object(&o).unwrap();
    until(
        "node a sees a change it did not make through its cache",
        || a.cache.object(o.account, o.id).unwrap().unwrap().state == State::COMPROMISED,
    );
}

#[test]
fn two_nodes_on_sqlite_follow_each_other() {
    let dir = fixtures::TempDir::new("cache");
    let path = dir.join("skms.db");
    let a = Node::on(Arc::new(SqliteStore::open(&path).unwrap()));
    let b = Node::on(Arc::new(SqliteStore::open(&path).unwrap()));
    two_nodes(a, b);
}

#[test]
fn two_nodes_on_postgresql_follow_each_other() {
    let url = fixtures::pg::fresh_database_url();
    let a = Node::on(Arc::new(PgStore::open(&url).unwrap()));
    let b = Node::on(Arc::new(PgStore::open(&url).unwrap()));
    two_nodes(a, b);
}

/// A node that cannot read the change feed stops trusting its cache at once:
/// reads go to the database (and fail while it is gone); once the feed reads
/// again, the cache fills again.
#[test]
fn a_node_that_loses_the_feed_empties_its_cache() {
    let dir = fixtures::TempDir::new("cache-lost");
    let node = Node::on(Arc::new(SqliteStore::open(&dir.join("skms.db")).unwrap()));
    let (app, _) = tenant(&node);
    node.cache.app(app.id).unwrap();
    node.cache.app(app.id).unwrap();
    assert_eq!(node.db.calls("app"), 1);

    node.db
        .broken
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let took = until("the cache gives up", || !node.cache.is_live());
    assert!(took <= POLL * 4, "at the next read of the feed: {took:?}");
    assert!(
        node.cache.app(app.id).is_err(),
        "a read goes to the (lost) database"
    );

    node.db
        .broken
        .store(false, std::sync::atomic::Ordering::SeqCst);
    until("the cache follows the feed again", || node.cache.is_live());
    let before = node.db.calls("app");
    node.cache.app(app.id).unwrap();
    node.cache.app(app.id).unwrap();
    assert_eq!(node.db.calls("app"), before + 1);
}
