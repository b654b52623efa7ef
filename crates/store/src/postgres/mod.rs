//! [`PgStore`]: the store of a cluster of nodes, on PostgreSQL.
//!
//! Every node is stateless towards the database: each Store call takes a
//! pooled connection ([`pool`]) and runs as one transaction (a write) or one
//! statement or read-only snapshot (a read). What SQLite got from its single
//! writer, PostgreSQL gets from row locks: the audit chain's head row and a
//! user's lockout counters are locked (`SELECT … FOR UPDATE`) before they are
//! read and extended, so any number of nodes may write at once.

mod cluster;
mod db;
mod dump;
mod error;
mod migrate;
mod pool;
mod rows;
mod tenancy;
mod tls;

use std::time::Duration;

use db::Db;
use error::backend;
use pool::Pool;
use postgres::{Client, IsolationLevel, Transaction};
use rows::ObjectRow;
use skms_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use skms_core::ca::{AccountCa, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId, UserId};
use skms_core::model::{
    Account, AccountUsage, App, Group, GroupRole, Lockout, ManagedObject, SessionFamily,
    StoredSession, Timestamp, User,
};
use skms_core::store::{ChangeBatch, ObjectFilter, Store, StoreError, StoredServerIdentity};
use tls::Target;

/// The schema version this binary writes on PostgreSQL (rows in its `schema_version` table).
pub use migrate::LATEST as PG_SCHEMA_VERSION;

/// How a [`PgStore`] uses the database's connections.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PgOptions {
    /// The most connections this node opens (PostgreSQL's `max_connections`
    /// bounds the sum over every node).
    pub max_connections: usize,
    /// How long a call waits for a free connection before it fails.
    pub acquire_timeout: Duration,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(30),
        }
    }
}

/// How often a call is run: again after a write met a deadlock or a
/// serialization failure, or a read found its connection cut.
const ATTEMPTS: usize = 3;

/// The Store on a PostgreSQL database shared by any number of nodes.
pub struct PgStore {
    pool: Pool,
    tls: bool,
    target: Target,
    /// The connection that LISTENs for the change feed's NOTIFY (opened by
    /// the first [`Store::wait_for_changes`], again after it broke).
    listener: std::sync::Mutex<Option<Client>>,
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore").field("tls", &self.tls).finish()
    }
}

impl PgStore {
    /// Connects to the database of `url` (`postgres://user:password@host:port/db?sslmode=…`)
    /// and brings its schema up to date, waiting for a node that is migrating
    /// it at the same time. A database of a newer schema is refused (`Corrupt`).
    ///
    /// The driver runs a small runtime of its own per connection: call this
    /// (and every Store method) from a thread that is not running async tasks
    /// (`spawn_blocking`, or before the server's runtime starts).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, &PgOptions::default())
    }

    /// [`PgStore::open`] with `options`.
    pub fn open_with(url: &str, options: &PgOptions) -> Result<Self, StoreError> {
        let target = Target::parse(url)?;
        let mut first = target
            .connect()
            .map_err(|e| backend("connect to PostgreSQL", e))?;
        migrate::migrate(&mut first)?;
        drop(first);
        let tls = target.uses_tls();
        let listen_to = target.clone();
        let pool = Pool::new(
            options.max_connections,
            options.acquire_timeout,
            Box::new(move || {
                target
                    .connect()
                    .map_err(|e| backend("connect to PostgreSQL", e))
            }),
        );
        Ok(PgStore {
            pool,
            tls,
            target: listen_to,
            listener: std::sync::Mutex::new(None),
        })
    }

    /// True when the connections use TLS.
    pub fn uses_tls(&self) -> bool {
        self.tls
    }

    /// The schema version recorded in the database.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.read(migrate::version)
    }

    /// Runs `f` on a pooled connection, outside a transaction (one statement);
    /// once more on another connection when the server had cut this one (a
    /// restart, a failover, a terminated backend): a read is safe to repeat.
    fn read<T>(
        &self,
        f: impl Fn(&mut Db<'_, Client>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut lease = self.pool.get()?;
            let conn = lease.conn();
            let out = f(&mut Db {
                c: &mut conn.client,
                cache: &mut conn.cache,
            });
            if out.is_err() && conn.client.is_closed() && attempt < ATTEMPTS {
                continue;
            }
            return out;
        }
    }

    /// Runs `f` in one read-only REPEATABLE READ transaction: a consistent snapshot across queries.
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&mut Db<'_, Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut lease = self.pool.get()?;
        let conn = lease.conn();
        let mut tx = conn
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| backend("begin a read", e))?;
        let out = f(&mut Db {
            c: &mut tx,
            cache: &mut conn.cache,
        })?;
        tx.commit().map_err(|e| backend("end a read", e))?;
        Ok(out)
    }

    /// Runs `f` as one READ COMMITTED transaction, committed (durable) when
    /// this returns; run again when it met a deadlock or a serialization failure.
    fn write<T>(
        &self,
        f: impl Fn(&mut Db<'_, Transaction<'_>>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut lease = self.pool.get()?;
            let conn = lease.conn();
            let begun = match conn.client.transaction() {
                Ok(mut tx) => {
                    let out = f(&mut Db {
                        c: &mut tx,
                        cache: &mut conn.cache,
                    })
                    .and_then(|out| tx.commit().map(|()| out).map_err(|e| backend("commit", e)));
                    match out {
                        Err(e) if error::is_retryable(&e) && attempt < ATTEMPTS => continue,
                        out => return out,
                    }
                }
                Err(e) => backend("begin a write", e),
            };
            // A connection that broke while idle: nothing was sent, take another.
            if conn.client.is_closed() && attempt < ATTEMPTS {
                continue;
            }
            return Err(begun);
        }
    }
}

impl Drop for PgStore {
    fn drop(&mut self) {
        // Closing a connection blocks on its own small runtime, which tokio
        // forbids inside a runtime's thread (a server dropping its store while
        // shutting down): close them on a thread of their own.
        let idle = self.pool.drain();
        let listener = self
            .listener
            .get_mut()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if !idle.is_empty() || listener.is_some() {
            let _ = std::thread::Builder::new()
                .name("skms-pg-close".into())
                .spawn(move || drop((idle, listener)))
                .map(|t| t.join());
        }
    }
}

impl Store for PgStore {
    fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        self.write(|db| rows::create_account(db, account))
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        self.read(|db| rows::account(db, id))
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(rows::accounts)
    }

    fn create_group(&self, group: &Group) -> Result<(), StoreError> {
        self.write(|db| rows::create_group(db, group))
    }

    fn group(&self, account: AccountId, id: GroupId) -> Result<Option<Group>, StoreError> {
        self.read(|db| rows::group(db, account, id))
    }

    fn groups(&self, account: AccountId) -> Result<Vec<Group>, StoreError> {
        self.read(|db| rows::groups(db, account))
    }

    fn create_app(&self, app: &App) -> Result<(), StoreError> {
        self.write(|db| rows::create_app(db, app))
    }

    fn update_app(&self, app: &App) -> Result<(), StoreError> {
        self.write(|db| rows::update_app(db, app))
    }

    fn app(&self, id: AppId) -> Result<Option<App>, StoreError> {
        self.snapshot(|db| rows::app(db, id))
    }

    fn apps(&self, account: AccountId) -> Result<Vec<App>, StoreError> {
        self.snapshot(|db| rows::apps(db, account))
    }

    fn app_by_pinned_cert(&self, sha256: &[u8; 32]) -> Result<Option<App>, StoreError> {
        self.snapshot(|db| match rows::app_id_by_pinned_cert(db, sha256)? {
            Some(id) => rows::app(db, id),
            None => Ok(None),
        })
    }

    fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.write(|db| tenancy::create_user(db, user))
    }

    fn update_user(&self, user: &User) -> Result<(), StoreError> {
        self.write(|db| tenancy::update_user(db, user))
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        self.read(|db| tenancy::user_by_name(db, name))
    }

    fn users(&self, account: Option<AccountId>) -> Result<Vec<User>, StoreError> {
        self.read(|db| tenancy::users(db, account))
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.read(|db| tenancy::user(db, id))
    }

    fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        self.write(|db| tenancy::delete_user(db, id))
    }

    fn record_login_failure(
        &self,
        user: UserId,
        now: Timestamp,
        lockout: &Lockout,
    ) -> Result<Option<User>, StoreError> {
        self.write(|db| tenancy::record_login_failure(db, user, now, lockout))
    }

    fn record_login_success(&self, user: UserId) -> Result<(), StoreError> {
        self.write(|db| tenancy::record_login_success(db, user))
    }

    fn user_group_roles(&self, user: UserId) -> Result<Vec<(GroupId, GroupRole)>, StoreError> {
        self.read(|db| tenancy::user_group_roles(db, user))
    }

    fn set_user_group_roles(
        &self,
        user: UserId,
        roles: &[(GroupId, GroupRole)],
    ) -> Result<(), StoreError> {
        self.write(|db| tenancy::set_user_group_roles(db, user, roles))
    }

    fn create_session(&self, session: &StoredSession) -> Result<(), StoreError> {
        self.write(|db| tenancy::create_session(db, session))
    }

    fn session_by_access(
        &self,
        access_hash: &[u8; 32],
    ) -> Result<Option<StoredSession>, StoreError> {
        self.read(|db| tenancy::session_by_access(db, access_hash))
    }

    fn session_by_refresh(
        &self,
        refresh_hash: &[u8; 32],
    ) -> Result<Option<StoredSession>, StoreError> {
        self.read(|db| tenancy::session_by_refresh(db, refresh_hash))
    }

    fn rotate_session(
        &self,
        old_refresh_hash: &[u8; 32],
        next: &StoredSession,
    ) -> Result<bool, StoreError> {
        self.write(|db| tenancy::rotate_session(db, old_refresh_hash, next))
    }

    fn delete_session_family(&self, family: SessionFamily) -> Result<(), StoreError> {
        self.write(|db| tenancy::delete_session_family(db, family))
    }

    fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionFamily>,
    ) -> Result<(), StoreError> {
        self.write(|db| tenancy::delete_user_sessions(db, user, keep))
    }

    fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write(|db| tenancy::prune_sessions(db, now))
    }

    fn set_account_enabled(&self, id: AccountId, enabled: bool) -> Result<(), StoreError> {
        self.write(|db| tenancy::set_account_enabled(db, id, enabled))
    }

    fn delete_account(&self, id: AccountId) -> Result<(), StoreError> {
        self.write(|db| tenancy::delete_account(db, id))
    }

    fn account_usage(&self, account: AccountId) -> Result<AccountUsage, StoreError> {
        self.snapshot(|db| tenancy::account_usage(db, account))
    }

    fn append_audit(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, StoreError> {
        if events.is_empty() {
            return Ok(Vec::new());
        }
        self.write(|db| rows::append_audit(db, events))
    }

    fn audit_chain_page(
        &self,
        account: Option<AccountId>,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|db| rows::audit_chain_page(db, account, after_seq, limit))
    }

    fn audit_head(
        &self,
        account: Option<AccountId>,
    ) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        self.read(|db| rows::audit_head(db, account))
    }

    fn audit_query(
        &self,
        account: Option<AccountId>,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        self.read(|db| rows::audit_query(db, account, query))
    }

    fn insert_object(&self, object: &ManagedObject) -> Result<(), StoreError> {
        let row = ObjectRow::new(object);
        self.write(|db| rows::insert_object(db, &row))
    }

    fn update_object(&self, object: &ManagedObject) -> Result<(), StoreError> {
        let row = ObjectRow::new(object);
        self.write(|db| rows::update_object(db, &row))
    }

    fn object(
        &self,
        account: AccountId,
        id: ObjectId,
    ) -> Result<Option<ManagedObject>, StoreError> {
        self.read(|db| rows::object(db, account, id))
    }

    fn locate(
        &self,
        account: AccountId,
        filter: &ObjectFilter,
    ) -> Result<Vec<ObjectId>, StoreError> {
        if filter.after.is_some() {
            // The cursor's sort key and the page from one snapshot.
            self.snapshot(|db| rows::locate(db, account, filter))
        } else {
            self.read(|db| rows::locate(db, account, filter))
        }
    }

    fn count_objects(&self, account: AccountId, filter: &ObjectFilter) -> Result<u64, StoreError> {
        self.read(|db| rows::count_objects(db, account, filter))
    }

    fn insert_objects(&self, objects: &[ManagedObject]) -> Result<(), StoreError> {
        let rows: Vec<ObjectRow> = objects.iter().map(ObjectRow::new).collect();
        // One transaction: all of them or none.
        self.write(|db| {
            for row in &rows {
                rows::insert_object(db, row)?;
            }
            Ok(())
        })
    }

    fn create_account_with_ca(&self, account: &Account, ca: &AccountCa) -> Result<(), StoreError> {
        if ca.account != account.id {
            return Err(StoreError::Backend(format!(
                "the CA of account {} given with account {}",
                ca.account, account.id
            )));
        }
        self.write(|db| {
            rows::create_account(db, account)?;
            rows::add_account_ca(db, ca)
        })
    }

    fn add_account_ca(&self, ca: &AccountCa) -> Result<(), StoreError> {
        self.write(|db| rows::add_account_ca(db, ca))
    }

    fn account_ca(&self, account: AccountId) -> Result<Option<AccountCa>, StoreError> {
        self.read(|db| rows::account_ca(db, account))
    }

    fn update_app_keeping_certificate(
        &self,
        app: &App,
        cert: &KeptCertificate,
    ) -> Result<(), StoreError> {
        self.write(|db| {
            rows::update_app(db, app)?;
            rows::keep_certificate(db, app, cert)
        })
    }

    fn kept_certificates(
        &self,
        account: AccountId,
    ) -> Result<Vec<(AppId, KeptCertificate)>, StoreError> {
        self.read(|db| rows::kept_certificates(db, account))
    }

    // ---- A cluster of nodes: the root of trust check and the shared server identity ----

    fn root_check(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.write(|db| cluster::root_check(db, candidate))
    }

    fn server_identity(&self) -> Result<Option<StoredServerIdentity>, StoreError> {
        self.read(cluster::server_identity)
    }

    fn server_identity_version(&self) -> Result<u64, StoreError> {
        self.read(cluster::server_identity_version)
    }

    fn put_server_identity(&self, identity: &StoredServerIdentity) -> Result<bool, StoreError> {
        self.write(|db| cluster::put_server_identity(db, identity))
    }

    // ---- Backup and restore (dump.rs) ----

    fn export_rows(&self, sink: &mut dyn skms_core::dump::DumpSink) -> Result<(), StoreError> {
        self.dump_export(sink)
    }

    fn import_rows(
        &self,
        source: &mut dyn skms_core::dump::DumpSource,
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        self.dump_import(source)
    }

    // ---- The change feed (cluster.rs) ----

    fn changes_since(&self, after: u64, limit: usize) -> Result<ChangeBatch, StoreError> {
        self.snapshot(|db| cluster::changes_since(db, after, limit))
    }

    fn prune_changes(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.write(|db| cluster::prune_changes(db, before))
    }

    fn wait_for_changes(&self, timeout: Duration) -> Result<bool, StoreError> {
        use postgres::fallible_iterator::FallibleIterator;
        let mut slot = self.listener.lock().unwrap_or_else(|p| p.into_inner());
        if slot.is_none() {
            let mut c = self
                .target
                .connect()
                .map_err(|e| backend("connect to PostgreSQL to listen for changes", e))?;
            c.batch_execute("LISTEN skms_changes")
                .map_err(|e| backend("listen for changes", e))?;
            *slot = Some(c);
        }
        let waited = slot.as_mut().map(|client| {
            let got = {
                let mut notifications = client.notifications();
                let first = notifications.timeout_iter(timeout).next();
                if let Ok(Some(_)) = first {
                    // One wake-up for everything already signalled.
                    while let Ok(Some(_)) = notifications.iter().next() {}
                }
                first.map(|n| n.is_some())
            };
            (got, client.is_closed())
        });
        match waited {
            Some((Ok(true), _)) => Ok(true),
            Some((Ok(false), false)) => Ok(false),
            Some((Ok(false), true)) | None => {
                *slot = None;
                Err(StoreError::Backend(
                    "the connection listening for changes closed".into(),
                ))
            }
            Some((Err(e), _)) => {
                *slot = None;
                Err(backend("wait for changes", e))
            }
        }
    }
}
