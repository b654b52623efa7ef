//! [`SqliteStore`]: the embedded store of a single node.
//!
//! One SQLite file in WAL mode. Writes go through one writer thread that
//! commits queued writes together ([`writer`]); reads use a small pool of
//! read-only connections ([`pool`]) that WAL lets run beside the writer.

mod checkpoint;
mod cluster;
mod dump;
mod error;
mod migrate;
mod pool;
mod rows;
mod tenancy;
mod writer;

use std::path::{Path, PathBuf};
use std::time::Duration;

use error::backend;
use pool::Pool;
use rows::ObjectRow;
use rusqlite::{Connection, OpenFlags};
use skms_core::audit::{AuditEvent, AuditQuery, AuditRecord};
use skms_core::ca::{AccountCa, KeptCertificate};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId, UserId};
use skms_core::model::{
    Account, AccountUsage, App, Group, GroupRole, Lockout, ManagedObject, SessionFamily,
    StoredSession, Timestamp, User,
};
use skms_core::store::{ChangeBatch, ObjectFilter, Store, StoreError, StoredServerIdentity};
use writer::Writer;

/// The schema version this binary writes (rows in the `schema_version` table).
pub use migrate::LATEST as SCHEMA_VERSION;

/// Read connections: reads of a KMIP server are short, so a few serve many clients.
const READERS: usize = 4;

/// How long a connection waits for a lock held by another process (a backup, the CLI).
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How the read connections use memory.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SqliteOptions {
    /// The page cache of each read connection, in MiB (SQLite's own default is 2).
    pub reader_cache_mib: u32,
    /// How much of the database file each read connection maps into memory,
    /// in MiB (0: none, SQLite's default; SQLite caps it at 2 GiB). Mapped
    /// pages are read without a system call, which keeps lookups in a large
    /// database nearly as fast as in a small one (`examples/locate_scale.rs`);
    /// they count in the resident size (as shared, reclaimable file pages),
    /// and an I/O error on the file reaches the process as a signal instead
    /// of an error (see <https://sqlite.org/mmap.html>).
    pub mmap_mib: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            reader_cache_mib: 16,
            mmap_mib: 0,
        }
    }
}

/// The Store on one SQLite file: durable, concurrent reads, group-committed writes.
pub struct SqliteStore {
    path: PathBuf,
    // Stopped first when the store is dropped.
    _checkpointer: checkpoint::Checkpointer,
    readers: Pool,
    writer: Writer,
}

impl SqliteStore {
    /// Opens the database at `path`, creating it if missing, and brings its
    /// schema up to date. A database of a newer schema is refused (`Corrupt`).
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::open_with(path, &SqliteOptions::default())
    }

    /// [`SqliteStore::open`] with `options`.
    pub fn open_with(path: &Path, options: &SqliteOptions) -> Result<Self, StoreError> {
        let what = |step: &str| format!("{step} {}", path.display());
        let mut conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend(&what("open"), e))?;
        configure(&conn).map_err(|e| backend(&what("configure"), e))?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))
            .map_err(|e| backend(&what("set WAL mode on"), e))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "{}: journal mode is {mode:?}, WAL is required",
                path.display()
            )));
        }
        migrate::migrate(&mut conn)?;
        conn.pragma_update(None, "wal_autocheckpoint", checkpoint::WRITER_BACKSTOP)
            .map_err(|e| backend(&what("configure"), e))?;
        let checkpoints = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend(&what("open the checkpoint connection on"), e))?;
        configure(&checkpoints).map_err(|e| backend(&what("configure"), e))?;
        let mut readers = Vec::with_capacity(READERS);
        for _ in 0..READERS {
            let r = Connection::open_with_flags(
                path,
                OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            )
            .map_err(|e| backend(&what("open a reader on"), e))?;
            configure(&r).map_err(|e| backend(&what("configure a reader on"), e))?;
            // Readers never write: the single writer is what makes group commit safe.
            r.pragma_update(None, "query_only", true)
                .map_err(|e| backend(&what("configure a reader on"), e))?;
            // Searches descend several indexes: a bigger cache keeps their
            // inner pages, so a lookup reads little more than its leaves.
            r.pragma_update(
                None,
                "cache_size",
                -(i64::from(options.reader_cache_mib) * 1024),
            )
            .and_then(|()| r.pragma_update(None, "mmap_size", i64::from(options.mmap_mib) << 20))
            .map_err(|e| backend(&what("configure a reader on"), e))?;
            readers.push(r);
        }
        Ok(SqliteStore {
            path: path.to_path_buf(),
            _checkpointer: checkpoint::Checkpointer::start(checkpoints)?,
            readers: Pool::new(readers),
            writer: Writer::start(conn)?,
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` as one write (see [`Writer::write`]) and returns what it returned.
    fn write_returning<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let slot = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = slot.clone();
        self.writer.write(move |c| {
            let value = f(c)?;
            *out.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
            Ok(())
        })?;
        let value = slot.lock().unwrap_or_else(|e| e.into_inner()).take();
        value.ok_or_else(|| StoreError::Backend("a write returned no value".into()))
    }

    /// Runs `f` on a reader inside one read transaction: a consistent snapshot across queries.
    fn snapshot<T>(
        &self,
        f: impl FnOnce(&Connection) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut lease = self.readers.get();
        let tx = lease
            .conn_mut()
            .transaction()
            .map_err(|e| backend("begin a read", e))?;
        let out = f(&tx)?;
        tx.commit().map_err(|e| backend("end a read", e))?;
        Ok(out)
    }
}

/// Settings every connection needs (they are per connection, not per file).
fn configure(c: &Connection) -> rusqlite::Result<()> {
    c.busy_timeout(BUSY_TIMEOUT)?;
    c.pragma_update(None, "foreign_keys", true)?;
    // FULL: in WAL mode the log is synced at every commit, so an acknowledged
    // write survives a crash of the process and a loss of power.
    c.pragma_update(None, "synchronous", "FULL")?;
    Ok(())
}

impl Store for SqliteStore {
    fn create_account(&self, account: &Account) -> Result<(), StoreError> {
        let a = account.clone();
        self.writer.write(move |c| rows::create_account(c, &a))
    }

    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError> {
        rows::account(&self.readers.get(), id)
    }

    fn accounts(&self) -> Result<Vec<Account>, StoreError> {
        rows::accounts(&self.readers.get())
    }

    fn create_group(&self, group: &Group) -> Result<(), StoreError> {
        let g = group.clone();
        self.writer.write(move |c| rows::create_group(c, &g))
    }

    fn group(&self, account: AccountId, id: GroupId) -> Result<Option<Group>, StoreError> {
        rows::group(&self.readers.get(), account, id)
    }

    fn groups(&self, account: AccountId) -> Result<Vec<Group>, StoreError> {
        rows::groups(&self.readers.get(), account)
    }

    fn create_app(&self, app: &App) -> Result<(), StoreError> {
        let a = app.clone();
        self.writer.write(move |c| rows::create_app(c, &a))
    }

    fn update_app(&self, app: &App) -> Result<(), StoreError> {
        let a = app.clone();
        self.writer.write(move |c| rows::update_app(c, &a))
    }

    fn app(&self, id: AppId) -> Result<Option<App>, StoreError> {
        self.snapshot(|c| rows::app(c, id))
    }

    fn apps(&self, account: AccountId) -> Result<Vec<App>, StoreError> {
        self.snapshot(|c| rows::apps(c, account))
    }

    fn app_by_pinned_cert(&self, sha256: &[u8; 32]) -> Result<Option<App>, StoreError> {
        self.snapshot(|c| match rows::app_id_by_pinned_cert(c, sha256)? {
            Some(id) => rows::app(c, id),
            None => Ok(None),
        })
    }

    fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let u = user.clone();
        self.writer.write(move |c| tenancy::create_user(c, &u))
    }

    fn update_user(&self, user: &User) -> Result<(), StoreError> {
        let u = user.clone();
        self.writer.write(move |c| tenancy::update_user(c, &u))
    }

    fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError> {
        tenancy::user_by_name(&self.readers.get(), name)
    }

    fn users(&self, account: Option<AccountId>) -> Result<Vec<User>, StoreError> {
        tenancy::users(&self.readers.get(), account)
    }

    fn user(&self, id: UserId) -> Result<Option<User>, StoreError> {
        tenancy::user(&self.readers.get(), id)
    }

    fn delete_user(&self, id: UserId) -> Result<(), StoreError> {
        self.writer.write(move |c| tenancy::delete_user(c, id))
    }

    fn record_login_failure(
        &self,
        user: UserId,
        now: Timestamp,
        lockout: &Lockout,
    ) -> Result<Option<User>, StoreError> {
        let lockout = *lockout;
        self.write_returning(move |c| tenancy::record_login_failure(c, user, now, &lockout))
    }

    fn record_login_success(&self, user: UserId) -> Result<(), StoreError> {
        self.writer
            .write(move |c| tenancy::record_login_success(c, user))
    }

    fn user_group_roles(&self, user: UserId) -> Result<Vec<(GroupId, GroupRole)>, StoreError> {
        tenancy::user_group_roles(&self.readers.get(), user)
    }

    fn set_user_group_roles(
        &self,
        user: UserId,
        roles: &[(GroupId, GroupRole)],
    ) -> Result<(), StoreError> {
        let roles = roles.to_vec();
        self.writer
            .write(move |c| tenancy::set_user_group_roles(c, user, &roles))
    }

    fn create_session(&self, session: &StoredSession) -> Result<(), StoreError> {
        let s = session.clone();
        self.writer.write(move |c| tenancy::create_session(c, &s))
    }

    fn session_by_access(
        &self,
        access_hash: &[u8; 32],
    ) -> Result<Option<StoredSession>, StoreError> {
        tenancy::session_by_access(&self.readers.get(), access_hash)
    }

    fn session_by_refresh(
        &self,
        refresh_hash: &[u8; 32],
    ) -> Result<Option<StoredSession>, StoreError> {
        tenancy::session_by_refresh(&self.readers.get(), refresh_hash)
    }

    fn rotate_session(
        &self,
        old_refresh_hash: &[u8; 32],
        next: &StoredSession,
    ) -> Result<bool, StoreError> {
        let (old, next) = (*old_refresh_hash, next.clone());
        self.write_returning(move |c| tenancy::rotate_session(c, &old, &next))
    }

    fn delete_session_family(&self, family: SessionFamily) -> Result<(), StoreError> {
        self.writer
            .write(move |c| tenancy::delete_session_family(c, family))
    }

    fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionFamily>,
    ) -> Result<(), StoreError> {
        self.writer
            .write(move |c| tenancy::delete_user_sessions(c, user, keep))
    }

    fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write_returning(move |c| tenancy::prune_sessions(c, now))
    }

    fn set_account_enabled(&self, id: AccountId, enabled: bool) -> Result<(), StoreError> {
        self.writer
            .write(move |c| tenancy::set_account_enabled(c, id, enabled))
    }

    fn delete_account(&self, id: AccountId) -> Result<(), StoreError> {
        self.writer.write(move |c| tenancy::delete_account(c, id))
    }

    fn account_usage(&self, account: AccountId) -> Result<AccountUsage, StoreError> {
        self.snapshot(|c| tenancy::account_usage(c, account))
    }

    fn append_audit(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, StoreError> {
        let events = events.to_vec();
        let out = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let slot = out.clone();
        self.writer.write(move |c| {
            let records = rows::append_audit(c, &events)?;
            *slot.lock().unwrap_or_else(|e| e.into_inner()) = records;
            Ok(())
        })?;
        let records = std::mem::take(&mut *out.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(records)
    }

    fn audit_chain_page(
        &self,
        account: Option<AccountId>,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        rows::audit_chain_page(&self.readers.get(), account, after_seq, limit)
    }

    fn audit_head(
        &self,
        account: Option<AccountId>,
    ) -> Result<Option<(u64, [u8; 32])>, StoreError> {
        rows::audit_head(&self.readers.get(), account)
    }

    fn audit_query(
        &self,
        account: Option<AccountId>,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError> {
        rows::audit_query(&self.readers.get(), account, query)
    }

    fn insert_object(&self, object: &ManagedObject) -> Result<(), StoreError> {
        let row = ObjectRow::new(object);
        self.writer.write(move |c| rows::insert_object(c, &row))
    }

    fn update_object(&self, object: &ManagedObject) -> Result<(), StoreError> {
        let row = ObjectRow::new(object);
        self.writer.write(move |c| rows::update_object(c, &row))
    }

    fn object(
        &self,
        account: AccountId,
        id: ObjectId,
    ) -> Result<Option<ManagedObject>, StoreError> {
        rows::object(&self.readers.get(), account, id)
    }

    fn locate(
        &self,
        account: AccountId,
        filter: &ObjectFilter,
    ) -> Result<Vec<ObjectId>, StoreError> {
        if filter.after.is_some() {
            // The cursor's sort key and the page from one snapshot.
            self.snapshot(|c| rows::locate(c, account, filter))
        } else {
            rows::locate(&self.readers.get(), account, filter)
        }
    }

    fn count_objects(&self, account: AccountId, filter: &ObjectFilter) -> Result<u64, StoreError> {
        rows::count_objects(&self.readers.get(), account, filter)
    }

    fn insert_objects(&self, objects: &[ManagedObject]) -> Result<(), StoreError> {
        let rows: Vec<ObjectRow> = objects.iter().map(ObjectRow::new).collect();
        // One write, one savepoint: all of them or none.
        self.writer.write(move |c| {
            for row in &rows {
                rows::insert_object(c, row)?;
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
        let (a, ca) = (account.clone(), ca.clone());
        // One write, one savepoint: both rows or neither.
        self.writer.write(move |c| {
            rows::create_account(c, &a)?;
            rows::add_account_ca(c, &ca)
        })
    }

    fn add_account_ca(&self, ca: &AccountCa) -> Result<(), StoreError> {
        let ca = ca.clone();
        self.writer.write(move |c| rows::add_account_ca(c, &ca))
    }

    fn account_ca(&self, account: AccountId) -> Result<Option<AccountCa>, StoreError> {
        rows::account_ca(&self.readers.get(), account)
    }

    fn update_app_keeping_certificate(
        &self,
        app: &App,
        cert: &KeptCertificate,
    ) -> Result<(), StoreError> {
        let (a, cert) = (app.clone(), cert.clone());
        self.writer.write(move |c| {
            rows::update_app(c, &a)?;
            rows::keep_certificate(c, &a, &cert)
        })
    }

    fn kept_certificates(
        &self,
        account: AccountId,
    ) -> Result<Vec<(AppId, KeptCertificate)>, StoreError> {
        rows::kept_certificates(&self.readers.get(), account)
    }

    // ---- A cluster of nodes: the root of trust check and the shared server identity ----

    fn root_check(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        let candidate = candidate.to_vec();
        self.write_returning(move |c| cluster::root_check(c, &candidate))
    }

    fn server_identity(&self) -> Result<Option<StoredServerIdentity>, StoreError> {
        cluster::server_identity(&self.readers.get())
    }

    fn server_identity_version(&self) -> Result<u64, StoreError> {
        cluster::server_identity_version(&self.readers.get())
    }

    fn put_server_identity(&self, identity: &StoredServerIdentity) -> Result<bool, StoreError> {
        let identity = identity.clone();
        self.write_returning(move |c| cluster::put_server_identity(c, &identity))
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
        cluster::changes_since(&self.readers.get(), after, limit)
    }

    fn prune_changes(&self, before: Timestamp) -> Result<u64, StoreError> {
        self.write_returning(move |c| cluster::prune_changes(c, before))
    }

    /// SQLite sends no signal: every caller polls.
    fn wait_for_changes(&self, timeout: Duration) -> Result<bool, StoreError> {
        std::thread::sleep(timeout);
        Ok(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_sets_wal_full_sync_and_foreign_keys() {
        let dir = std::env::temp_dir().join(format!("skms-store-unit-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("pragmas.db");
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        let r = store.readers.get();
        let mode: String = r
            .pragma_query_value(None, "journal_mode", |x| x.get(0))
            .unwrap();
        assert_eq!(mode, "wal");
        let sync: i64 = r
            .pragma_query_value(None, "synchronous", |x| x.get(0))
            .unwrap();
        assert_eq!(sync, 2, "FULL");
        let fk: bool = r
            .pragma_query_value(None, "foreign_keys", |x| x.get(0))
            .unwrap();
        assert!(fk);
        assert!(
            r.execute_batch("CREATE TABLE nope (x)").is_err(),
            "readers are query-only"
        );
        drop(r);
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_log_is_copied_back_by_the_checkpoint_thread() {
        let dir = std::env::temp_dir().join(format!("skms-store-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ckpt.db");
        let _ = std::fs::remove_file(&path);
        let store = SqliteStore::open(&path).unwrap();
        std::thread::sleep(checkpoint::INTERVAL * 3);
        let before = std::fs::metadata(&path).unwrap().len();
        // Far fewer log pages than the writer's own threshold: only the
        // checkpoint thread copies them into the database file.
        for i in 0..300 {
            let account = Account {
                id: AccountId::new(),
                name: format!("account {i}"),
                enabled: true,
                created: 0,
                wrapped_key: vec![7; 60],
            };
            store.create_account(&account).unwrap();
        }
        let wal = std::fs::metadata(dir.join("ckpt.db-wal")).unwrap().len();
        assert!(wal < checkpoint::WRITER_BACKSTOP as u64 * 4096, "{wal}");
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while std::fs::metadata(&path).unwrap().len() <= before {
            assert!(
                std::time::Instant::now() < deadline,
                "the database file stayed at {before} bytes"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
