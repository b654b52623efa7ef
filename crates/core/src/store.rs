//! The storage interface. Every object operation is scoped by account: a store
//! never returns an object of another account, so tenant isolation does not
//! depend on each caller remembering to check.

use crate::audit::{AuditEvent, AuditQuery, AuditRecord};
use crate::ca::{AccountCa, KeptCertificate};
use crate::ids::{AccountId, AppId, GroupId, ObjectId, UserId};
use crate::model::{
    Account, AccountUsage, App, Group, GroupRole, Lockout, ManagedObject, SessionFamily,
    StoredSession, Timestamp, User,
};
use kmip::attributes::{AttributeName, Attributes};
use kmip::enums::{CryptographicAlgorithm, ObjectType, State};
use kmip::{Tag, Value};

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique name or identifier is already taken.
    #[error("already exists: {0}")]
    Conflict(String),
    /// The thing to change does not exist (in this account).
    #[error("not found: {0}")]
    NotFound(String),
    /// The database failed or is unreachable.
    #[error("storage failure: {0}")]
    Backend(String),
    /// Stored data that cannot be read back (corruption or a newer schema).
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

thread_local! {
    /// `Some(waited)` while [`memory_only`] runs on this thread.
    static MEMORY_ONLY: std::cell::Cell<Option<bool>> = const { std::cell::Cell::new(None) };
}

/// Runs `f` allowing only what never waits: a store wrapper that holds the
/// answer in memory gives it, and everything that would wait (a database
/// read or write, the root of trust) is refused instead (see
/// [`must_not_wait`]). `None` when `f` was refused anything: its result is
/// then worthless and it must run again where it may wait. A server answers
/// reads this way on its async threads, skipping the hop to a blocking
/// thread when its cache holds what they need.
pub fn memory_only<T>(f: impl FnOnce() -> T) -> Option<T> {
    /// Puts back the outer state, also when `f` panics.
    struct Restore(Option<bool>);
    impl Drop for Restore {
        fn drop(&mut self) {
            MEMORY_ONLY.set(self.0);
        }
    }
    let restore = Restore(MEMORY_ONLY.replace(Some(false)));
    let out = f();
    let waited = MEMORY_ONLY.get() == Some(true);
    drop(restore);
    (!waited).then_some(out)
}

/// Inside [`memory_only`]: notes that the caller would have to wait and
/// gives the error to return instead; `None` elsewhere (go ahead and wait).
pub fn must_not_wait() -> Option<StoreError> {
    MEMORY_ONLY.with(|c| {
        c.get().map(|_| {
            c.set(Some(true));
            StoreError::Backend("not answered from memory".into())
        })
    })
}

/// What Locate and the object lists look for inside one account; every
/// condition given must hold. Every condition is answered by the store from
/// columns and the object index it maintains on each write (see
/// [`SearchFields`]), so a selective condition costs what its matches cost,
/// not what the account holds.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectFilter {
    /// Only objects in these groups (empty: any group the caller may see).
    pub groups: Vec<GroupId>,
    /// Object type.
    pub object_type: Option<ObjectType>,
    /// The stored state. (The state an operation sees also follows the
    /// Activation and Deactivation Dates, [`crate::ops::object::apply_dates`];
    /// Locate asks for the stored states that can become the one wanted, with `states`.)
    pub state: Option<State>,
    /// Any of these stored states (empty: any state).
    pub states: Vec<State>,
    /// Only this object.
    pub id: Option<ObjectId>,
    /// A Name whose Name Value is exactly this text.
    pub name: Option<String>,
    /// Attribute instances that must be present, each an (attribute, value) pair
    /// among those the index keeps ([`indexed_value`]): Name, Object Group, and
    /// custom or vendor attributes (`x-Name`, `x-Component`, `x-Identifier`…)
    /// of a text, integer or enumeration value. Another attribute matches nothing.
    pub attributes: Vec<(AttributeName, IndexedValue)>,
    /// Cryptographic Algorithm.
    pub algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length.
    pub length: Option<i32>,
    /// The app that created the object.
    pub creator: Option<AppId>,
    /// When the record was created ([`ManagedObject::created`]), inclusive.
    pub created: DateRange,
    /// When the record last changed ([`ManagedObject::updated`]), inclusive.
    pub updated: DateRange,
    /// The Activation Date attribute, inclusive (an object without one never matches a bounded range).
    pub activation: DateRange,
    /// The Deactivation Date attribute, inclusive (as `activation`).
    pub deactivation: DateRange,
    /// The order of the answer (default: oldest first).
    pub sort: ObjectSort,
    /// Keyset paging: only objects after this one in `sort` order (the last
    /// id of the previous page); `NotFound` if it is not an object of the account.
    pub after: Option<ObjectId>,
    /// Skip this many matches (Offset Items), after `after`.
    pub offset: usize,
    /// Return at most this many (Maximum Items).
    pub limit: Option<usize>,
}

/// An inclusive range of timestamps; an open end is unbounded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DateRange {
    /// The earliest matching time.
    pub from: Option<Timestamp>,
    /// The latest matching time.
    pub to: Option<Timestamp>,
}

impl DateRange {
    /// The range of exactly `t`.
    pub fn at(t: Timestamp) -> Self {
        DateRange {
            from: Some(t),
            to: Some(t),
        }
    }

    /// True when the range does not restrict (both ends open).
    pub fn is_any(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// True when `t` lies in the range (`None`, no value, lies only in an unbounded range).
    pub fn contains(&self, t: Option<Timestamp>) -> bool {
        match t {
            None => self.is_any(),
            Some(t) => self.from.is_none_or(|f| f <= t) && self.to.is_none_or(|x| t <= x),
        }
    }
}

/// What objects are ordered by; ties are broken by object id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SortKey {
    /// When the record was created.
    #[default]
    Created,
    /// When the record last changed.
    Updated,
    /// The first Name's Name Value (objects without a name sort as the empty text).
    Name,
}

/// The order of an object listing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ObjectSort {
    /// The key.
    pub key: SortKey,
    /// Largest first.
    pub descending: bool,
}

/// A value the object index keeps for one attribute instance.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IndexedValue {
    /// A Text String (for a Name, its Name Value).
    Text(String),
    /// An Integer, Long Integer or Enumeration (the index does not tell them apart).
    Int(i64),
}

/// The value the object index keeps for an instance of attribute `name`
/// holding `value`; `None` when the index keeps no such instance. The index
/// keeps Name (its Name Value), Object Group (text), and custom and vendor
/// attributes whose value is a text, an integer or an enumeration.
pub fn indexed_value(name: &AttributeName, value: &Value) -> Option<IndexedValue> {
    match (name, value) {
        (AttributeName::Standard(Tag::NAME), Value::Structure(fields)) => fields
            .iter()
            .find(|f| f.tag == Tag::NAME_VALUE)
            .and_then(|f| match &f.value {
                Value::TextString(t) => Some(IndexedValue::Text(t.clone())),
                _ => None,
            }),
        (AttributeName::Standard(Tag::OBJECT_GROUP), Value::TextString(t))
        | (AttributeName::Vendor { .. }, Value::TextString(t)) => {
            Some(IndexedValue::Text(t.clone()))
        }
        (AttributeName::Vendor { .. }, Value::Integer(i)) => Some(IndexedValue::Int(i64::from(*i))),
        (AttributeName::Vendor { .. }, Value::LongInteger(i)) => Some(IndexedValue::Int(*i)),
        (AttributeName::Vendor { .. }, Value::Enumeration(e)) => {
            Some(IndexedValue::Int(i64::from(*e)))
        }
        _ => None,
    }
}

/// The name under which the index keeps attribute `name`: its KMIP 1.x name
/// (`Name`, `Object Group`, `x-Name`), except for a vendor identification
/// holding a `-`, whose 1.x name would read as another vendor's attribute.
pub fn index_key(name: &AttributeName) -> String {
    match name {
        AttributeName::Standard(_) => name.to_v1(),
        AttributeName::Vendor { vendor, name } if !vendor.contains('-') => {
            format!("{vendor}-{name}")
        }
        AttributeName::Vendor { vendor, name } => format!("#{}#{vendor}-{name}", vendor.len()),
    }
}

/// What a store keeps searchable of an object beside its record, derived
/// from its attributes on every insert and update (and by the migration that
/// introduced it for the objects stored before): one rule for every backend.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SearchFields {
    /// Cryptographic Algorithm.
    pub algorithm: Option<CryptographicAlgorithm>,
    /// Cryptographic Length.
    pub length: Option<i32>,
    /// The first Name's Name Value, or the empty text: the key of [`SortKey::Name`].
    pub sort_name: String,
    /// Activation Date.
    pub activation: Option<Timestamp>,
    /// Deactivation Date.
    pub deactivation: Option<Timestamp>,
    /// The indexed attribute instances, each once, as ([`index_key`], value), sorted.
    pub entries: Vec<(String, IndexedValue)>,
}

impl SearchFields {
    /// The searchable fields of an object with `attributes`.
    pub fn of(attributes: &Attributes) -> Self {
        let date = |tag| match attributes.get_std(tag) {
            Some(Value::DateTime(d)) => Some(*d),
            _ => None,
        };
        let mut entries: Vec<(String, IndexedValue)> = attributes
            .items
            .iter()
            .filter_map(|a| Some((index_key(&a.name), indexed_value(&a.name, &a.value)?)))
            .collect();
        entries.sort();
        entries.dedup();
        let sort_name = attributes
            .get_all(&AttributeName::Standard(Tag::NAME))
            .find_map(|a| match indexed_value(&a.name, &a.value) {
                Some(IndexedValue::Text(t)) => Some(t),
                _ => None,
            })
            .unwrap_or_default();
        SearchFields {
            algorithm: attributes.cryptographic_algorithm(),
            length: attributes.cryptographic_length(),
            sort_name,
            activation: date(Tag::ACTIVATION_DATE),
            deactivation: date(Tag::DEACTIVATION_DATE),
            entries,
        }
    }
}

/// Storage of accounts, groups, apps and security objects.
pub trait Store: Send + Sync {
    /// Adds an account.
    fn create_account(&self, account: &Account) -> Result<(), StoreError>;
    /// An account by id.
    fn account(&self, id: AccountId) -> Result<Option<Account>, StoreError>;
    /// Every account, by name.
    fn accounts(&self) -> Result<Vec<Account>, StoreError>;

    /// Adds a group to its account.
    fn create_group(&self, group: &Group) -> Result<(), StoreError>;
    /// A group of `account`.
    fn group(&self, account: AccountId, id: GroupId) -> Result<Option<Group>, StoreError>;
    /// The groups of `account`, by name.
    fn groups(&self, account: AccountId) -> Result<Vec<Group>, StoreError>;

    /// Adds an app to its account.
    fn create_app(&self, app: &App) -> Result<(), StoreError>;
    /// Replaces an app (secret, method, groups, certificates, enabled…).
    fn update_app(&self, app: &App) -> Result<(), StoreError>;
    /// An app by id, whatever its account (authentication starts from the app id).
    fn app(&self, id: AppId) -> Result<Option<App>, StoreError>;
    /// The apps of `account`, by name.
    fn apps(&self, account: AccountId) -> Result<Vec<App>, StoreError>;
    /// The app that pinned the client certificate whose SHA-256 fingerprint is
    /// `sha256`, whatever its account (certificate authentication starts from it).
    fn app_by_pinned_cert(&self, sha256: &[u8; 32]) -> Result<Option<App>, StoreError>;

    /// Adds a user (its login name is unique on the server).
    fn create_user(&self, user: &User) -> Result<(), StoreError>;
    /// Replaces a user's name, role, password hash, `must_change_password` and
    /// enabled flag (its account stays; its lockout counters are the store's own:
    /// see [`Store::record_login_failure`]).
    fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// A user by login name, whatever its account (sign-in starts from the name).
    fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// The users of `account` (`None`: the sysadmins), by name.
    fn users(&self, account: Option<AccountId>) -> Result<Vec<User>, StoreError>;
    /// A user by id, whatever its account (a session names its user by id).
    fn user(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// Deletes a user with its sessions and group roles (audit records keep its
    /// name); `NotFound` if there is no such user.
    fn delete_user(&self, id: UserId) -> Result<(), StoreError>;
    /// Counts one more failed sign-in of `user` at `now` and locks it as
    /// `lockout` says, atomically (concurrent failures all count); returns the
    /// user as it now is, `None` if there is no such user.
    fn record_login_failure(
        &self,
        user: UserId,
        now: Timestamp,
        lockout: &Lockout,
    ) -> Result<Option<User>, StoreError>;
    /// Clears `user`'s failed sign-ins and lock (a successful sign-in).
    fn record_login_success(&self, user: UserId) -> Result<(), StoreError>;
    /// The roles `user` holds on groups of its account, by group id.
    fn user_group_roles(&self, user: UserId) -> Result<Vec<(GroupId, GroupRole)>, StoreError>;
    /// Replaces the roles `user` holds on groups; every group must be a group
    /// of the user's account (`NotFound` otherwise, and nothing changes).
    fn set_user_group_roles(
        &self,
        user: UserId,
        roles: &[(GroupId, GroupRole)],
    ) -> Result<(), StoreError>;

    /// Adds a session (a new sign-in or a refresh); the user must exist.
    fn create_session(&self, session: &StoredSession) -> Result<(), StoreError>;
    /// The session whose access token hashes to `access_hash`.
    fn session_by_access(
        &self,
        access_hash: &[u8; 32],
    ) -> Result<Option<StoredSession>, StoreError>;
    /// The session whose refresh token hashes to `refresh_hash`.
    fn session_by_refresh(
        &self,
        refresh_hash: &[u8; 32],
    ) -> Result<Option<StoredSession>, StoreError>;
    /// Spends the refresh token `old_refresh_hash` and adds `next`, atomically:
    /// `false` (and nothing added) if that token was already spent or is gone,
    /// so of two concurrent refreshes with one token only one succeeds.
    fn rotate_session(
        &self,
        old_refresh_hash: &[u8; 32],
        next: &StoredSession,
    ) -> Result<bool, StoreError>;
    /// Deletes every session of a family (logout; reuse of a spent refresh token).
    fn delete_session_family(&self, family: SessionFamily) -> Result<(), StoreError>;
    /// Deletes every session of `user` except those of family `keep`.
    fn delete_user_sessions(
        &self,
        user: UserId,
        keep: Option<SessionFamily>,
    ) -> Result<(), StoreError>;
    /// Deletes the sessions whose refresh token expired at or before `now`; returns how many.
    fn prune_sessions(&self, now: Timestamp) -> Result<u64, StoreError>;

    /// Enables or disables an account; `NotFound` if there is no such account.
    fn set_account_enabled(&self, id: AccountId, enabled: bool) -> Result<(), StoreError>;
    /// Deletes an account with its groups, apps, users, CA and destroyed
    /// objects (its audit chain stays), atomically; `Conflict` while it holds
    /// an object that is not destroyed, `NotFound` if there is no such account.
    fn delete_account(&self, id: AccountId) -> Result<(), StoreError>;
    /// What `account` holds, counted (no value is read); `NotFound` if there is no such account.
    fn account_usage(&self, account: AccountId) -> Result<AccountUsage, StoreError>;

    /// Appends events to their chains (each to its account's, or the
    /// provider's): assigns each the next sequence number of its chain and its
    /// hashes ([`crate::audit::chain_next`]) in one atomic write, durable when
    /// this returns; returns the stored records in the order given.
    fn append_audit(&self, events: &[AuditEvent]) -> Result<Vec<AuditRecord>, StoreError>;
    /// The records of a chain with a sequence number above `after_seq`, in
    /// order, at most `limit` (for verification and export).
    fn audit_chain_page(
        &self,
        account: Option<AccountId>,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<AuditRecord>, StoreError>;
    /// A chain's last record: its sequence number and hash.
    fn audit_head(&self, account: Option<AccountId>)
        -> Result<Option<(u64, [u8; 32])>, StoreError>;
    /// The records of a chain that match `query`, newest first.
    fn audit_query(
        &self,
        account: Option<AccountId>,
        query: &AuditQuery,
    ) -> Result<Vec<AuditRecord>, StoreError>;

    /// Adds an object; durable when this returns.
    fn insert_object(&self, object: &ManagedObject) -> Result<(), StoreError>;
    /// Replaces an object of `object.account` (state, attributes, sealed material); durable when this returns.
    fn update_object(&self, object: &ManagedObject) -> Result<(), StoreError>;
    /// An object of `account`; `None` for an id that does not exist or belongs to another account.
    fn object(&self, account: AccountId, id: ObjectId)
        -> Result<Option<ManagedObject>, StoreError>;
    /// The ids of `account`'s objects that match `filter`, in its order
    /// (oldest first by default), paged by its `after`, `offset` and `limit`.
    fn locate(
        &self,
        account: AccountId,
        filter: &ObjectFilter,
    ) -> Result<Vec<ObjectId>, StoreError>;
    /// How many of `account`'s objects match `filter` (its order and paging ignored).
    fn count_objects(&self, account: AccountId, filter: &ObjectFilter) -> Result<u64, StoreError>;
    /// Adds objects in one write, all or none (imports, fixtures, benchmarks);
    /// durable when this returns.
    fn insert_objects(&self, objects: &[ManagedObject]) -> Result<(), StoreError>;

    /// Adds an account together with its CA: both or neither.
    fn create_account_with_ca(&self, account: &Account, ca: &AccountCa) -> Result<(), StoreError>;
    /// Adds the CA of an account that has none (one created before account
    /// CAs existed); `Conflict` if it has one, `NotFound` if there is no such account.
    fn add_account_ca(&self, ca: &AccountCa) -> Result<(), StoreError>;
    /// The CA of `account`, if it has one.
    fn account_ca(&self, account: AccountId) -> Result<Option<AccountCa>, StoreError>;
    /// Replaces an app as [`Store::update_app`] does and keeps `cert` for it,
    /// both or neither; a certificate the app already keeps stays as it was.
    fn update_app_keeping_certificate(
        &self,
        app: &App,
        cert: &KeptCertificate,
    ) -> Result<(), StoreError>;
    /// The certificates kept for the apps of `account`, each with its app, oldest first.
    fn kept_certificates(
        &self,
        account: AccountId,
    ) -> Result<Vec<(AppId, KeptCertificate)>, StoreError>;

    // ---- A cluster of nodes: the root of trust check and the shared server identity ----

    /// The root of trust check value of the store ([`RootCheck`]): records
    /// `candidate` when none is recorded yet (the first node to start), atomically,
    /// and returns the one recorded, `candidate` or an earlier node's.
    fn root_check(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError>;
    /// The server identity every node serves, if a node stored one.
    fn server_identity(&self) -> Result<Option<StoredServerIdentity>, StoreError>;
    /// The version of the stored server identity (0: none): a cheap read for nodes to poll.
    fn server_identity_version(&self) -> Result<u64, StoreError>;
    /// Stores `identity` if the stored version is `identity.version - 1` (0:
    /// none stored, so version 1 is an insert-if-absent), atomically: `false`,
    /// and nothing changed, when another node stored another version first.
    fn put_server_identity(&self, identity: &StoredServerIdentity) -> Result<bool, StoreError>;

    // ---- Backup and restore: the whole logical content, table by table ([`crate::dump`]) ----

    /// Reads every table of [`crate::dump::TABLES`] from one consistent
    /// snapshot (one read transaction), streaming: `sink` gets the snapshot's
    /// row counts first, then each row, tables in dependency order.
    fn export_rows(&self, sink: &mut dyn crate::dump::DumpSink) -> Result<(), StoreError>;
    /// Writes the rows of `source` (in [`crate::dump::TABLES`] order) into
    /// this store, which must be empty (`Conflict` otherwise), in one
    /// transaction: all of them or none. Every id, timestamp and hash is kept;
    /// the object search index is rebuilt. Returns how many rows each table got.
    fn import_rows(
        &self,
        source: &mut dyn crate::dump::DumpSource,
    ) -> Result<Vec<(&'static str, u64)>, StoreError>;

    // ---- The change feed: what other nodes changed, for the nodes' caches ----

    /// The changes after `after` (a [`Change::seq`]), oldest first, at most
    /// `limit`, read in one snapshot with what [`ChangeBatch`] tells about it.
    /// The database records a change in the transaction of every update or
    /// deletion of an account, an app or an object, and of every new app
    /// (triggers of the schema, so that no write path can forget one).
    fn changes_since(&self, after: u64, limit: usize) -> Result<ChangeBatch, StoreError>;
    /// Forgets the changes recorded before `before` (seconds since the epoch),
    /// except the latest (so that [`ChangeBatch::latest`] never goes back); returns how many.
    fn prune_changes(&self, before: Timestamp) -> Result<u64, StoreError>;
    /// Waits at most `timeout` for a sign that a change was committed
    /// (PostgreSQL's LISTEN/NOTIFY), true if one came. A store without such
    /// signals waits the whole `timeout` and says false: callers poll
    /// [`Store::changes_since`] after it either way.
    fn wait_for_changes(&self, timeout: std::time::Duration) -> Result<bool, StoreError>;
}

/// What a [`Change`] is about: a row that nodes keep in their caches.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Changed {
    /// An account (enabled, disabled, deleted).
    Account(AccountId),
    /// An app (created, changed: secret, certificates, groups; deleted).
    App(AppId),
    /// An object (state, attributes, group; deleted).
    Object(ObjectId),
}

impl Changed {
    /// The `entity` column's text and the row's id, as the database records them.
    pub fn from_row(entity: &str, id: &[u8]) -> Result<Self, StoreError> {
        let id: [u8; 16] = id.try_into().map_err(|_| {
            StoreError::Corrupt(format!("change of {entity}: id of {} bytes", id.len()))
        })?;
        match entity {
            "account" => Ok(Changed::Account(AccountId::from_bytes(id))),
            "app" => Ok(Changed::App(AppId::from_bytes(id))),
            "object" => Ok(Changed::Object(ObjectId::from_bytes(id))),
            other => Err(StoreError::Corrupt(format!(
                "change of an unknown kind {other:?}"
            ))),
        }
    }
}

/// A read of the change feed ([`Store::changes_since`]).
///
/// Sequence numbers grow but may leave gaps: on PostgreSQL a transaction
/// takes its number before it commits, so a lower number can appear after a
/// higher one, and a rolled-back transaction leaves its number unused. A
/// reader settles a gap it saw in batch `b` once a later batch `c` has
/// `c.finished_before >= b.started_before`: every transaction that could have
/// taken the missing number has ended by then, so it never will appear.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ChangeBatch {
    /// The changes asked for.
    pub changes: Vec<Change>,
    /// The highest sequence number committed when the batch was read (0: none).
    pub latest: u64,
    /// Every transaction that may yet commit a change had begun before this
    /// mark, in the store's own order of transactions (PostgreSQL: the
    /// snapshot's xmax; a store whose commits follow their numbers: 0).
    pub started_before: u64,
    /// Every transaction that began before this mark had ended (PostgreSQL:
    /// the snapshot's xmin; a store whose commits follow their numbers: `u64::MAX`).
    pub finished_before: u64,
}

/// One committed change in the store's change feed ([`Store::changes_since`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Change {
    /// Its place in the feed.
    pub seq: u64,
    /// What changed.
    pub what: Changed,
}

/// What a store records of the root of trust it was made under: an all-zero
/// key wrapped by the root with the context [`RootCheck::CONTEXT`]. Only the
/// same root unwraps it, and it reveals nothing about the root's key.
pub struct RootCheck;

impl RootCheck {
    /// The wrapping context of the check value.
    pub const CONTEXT: &'static [u8] = b"skms/root-check/v1";
}

/// The server's TLS identity as the store keeps it for every node of a
/// cluster: the texts of the data directory files of the same names (keys
/// sealed under the root of trust, as in the files).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredServerIdentity {
    /// 1 for the first identity stored, one more at each change.
    pub version: u64,
    /// `ca.crt`: the server CA certificate (PEM).
    pub ca_cert: String,
    /// `ca.key.sealed`: its private key, sealed.
    pub ca_key: String,
    /// `server.crt`: the server certificate chain (PEM, leaf first).
    pub server_chain: String,
    /// `server.key.sealed`: its private key, sealed.
    pub server_key: String,
    /// `server-rsa.crt` (with `kmip_legacy_cipher_suites`): the RSA certificate chain.
    pub rsa_chain: Option<String>,
    /// `server-rsa.key.sealed`: its private key, sealed.
    pub rsa_key: Option<String>,
}

impl StoredServerIdentity {
    /// True when `other` holds the same certificates and keys (whatever the versions).
    pub fn same_content(&self, other: &StoredServerIdentity) -> bool {
        StoredServerIdentity {
            version: other.version,
            ..self.clone()
        } == *other
    }
}

#[cfg(test)]
mod memory_only_tests {
    use super::*;

    #[test]
    fn a_refusal_voids_the_result_and_nothing_leaks_out() {
        assert!(must_not_wait().is_none(), "outside: wait as usual");
        assert_eq!(memory_only(|| 7), Some(7));
        assert_eq!(memory_only(|| must_not_wait().map(|_| 1)), None);
        // Nested: the inner refusal voids the inner run only.
        let outer = memory_only(|| (memory_only(must_not_wait).is_none(), 2));
        assert_eq!(outer, Some((true, 2)));
        // A panic inside puts the thread back as it was.
        let _ = std::panic::catch_unwind(|| memory_only(|| panic!("boom")));
        assert!(must_not_wait().is_none());
    }
}

#[cfg(test)]
mod search_tests {
    use super::*;
    use kmip::attributes::Attribute;
    use kmip::Ttlv;

    fn name(text: &str, kind: u32) -> Attribute {
        Attribute::new(
            Tag::NAME,
            Value::Structure(vec![
                Ttlv::new(Tag::NAME_VALUE, Value::TextString(text.into())),
                Ttlv::new(Tag::NAME_TYPE, Value::Enumeration(kind)),
            ]),
        )
    }

    #[test]
    fn index_keys_never_collide() {
        let vendor = |v: &str, n: &str| AttributeName::Vendor {
            vendor: v.into(),
            name: n.into(),
        };
        let keys = [
            index_key(&AttributeName::Standard(Tag::NAME)),
            index_key(&AttributeName::Standard(Tag::OBJECT_GROUP)),
            index_key(&AttributeName::from_v1("x-Name")),
            index_key(&vendor("x", "y-z")),
            index_key(&vendor("x-y", "z")),
            index_key(&vendor("", "Name")),
        ];
        assert_eq!(keys[0], "Name");
        assert_eq!(keys[2], "x-Name", "1.x and 2.x spellings of x-Name agree");
        assert_eq!(keys[2], index_key(&vendor("x", "Name")));
        for (i, a) in keys.iter().enumerate() {
            for b in &keys[i + 1..] {
                assert_ne!(a, b);
            }
        }
    }

    #[test]
    fn what_the_index_keeps() {
        let x = |n: &str| AttributeName::from_v1(n);
        assert_eq!(
            indexed_value(&x("x-Name"), &Value::TextString("vm".into())),
            Some(IndexedValue::Text("vm".into()))
        );
        assert_eq!(
            indexed_value(&x("x-N"), &Value::Integer(-3)),
            Some(IndexedValue::Int(-3))
        );
        assert_eq!(
            indexed_value(&x("x-N"), &Value::LongInteger(1 << 40)),
            Some(IndexedValue::Int(1 << 40))
        );
        assert_eq!(
            indexed_value(&x("y-N"), &Value::Enumeration(7)),
            Some(IndexedValue::Int(7))
        );
        for v in [
            Value::Boolean(true),
            Value::DateTime(5),
            Value::ByteString(vec![1].into()),
        ] {
            assert_eq!(indexed_value(&x("x-N"), &v), None);
        }
        // Standard attributes: Name and Object Group only.
        assert_eq!(
            indexed_value(
                &AttributeName::Standard(Tag::OBJECT_GROUP),
                &Value::TextString("g".into())
            ),
            Some(IndexedValue::Text("g".into()))
        );
        assert_eq!(
            indexed_value(
                &AttributeName::Standard(Tag::CONTACT_INFORMATION),
                &Value::TextString("c".into())
            ),
            None
        );
        let n = name("key-1", 1);
        assert_eq!(
            indexed_value(&n.name, &n.value),
            Some(IndexedValue::Text("key-1".into()))
        );
    }

    #[test]
    fn search_fields_of_attributes() {
        let attrs = Attributes::new(vec![
            Attribute::new(Tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(3)),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
            name("second-is-not-the-sort-key", 1),
            name("alias", 2),
            name("alias", 1),
            Attribute::custom("x-Name", Value::TextString("vm".into())),
            Attribute::custom("x-Name", Value::TextString("vm".into())),
            Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(10)),
            Attribute::new(Tag::DEACTIVATION_DATE, Value::DateTime(20)),
        ]);
        let s = SearchFields::of(&attrs);
        assert_eq!(s.algorithm, Some(CryptographicAlgorithm(3)));
        assert_eq!(s.length, Some(256));
        assert_eq!(s.sort_name, "second-is-not-the-sort-key");
        assert_eq!((s.activation, s.deactivation), (Some(10), Some(20)));
        let text = |k: &str, v: &str| (k.to_string(), IndexedValue::Text(v.into()));
        assert_eq!(
            s.entries,
            vec![
                text("Name", "alias"),
                text("Name", "second-is-not-the-sort-key"),
                text("x-Name", "vm"),
            ],
            "each instance once, sorted"
        );
        assert_eq!(
            SearchFields::of(&Attributes::default()),
            SearchFields::default()
        );
    }

    #[test]
    fn date_ranges_are_inclusive() {
        let r = DateRange {
            from: Some(5),
            to: Some(7),
        };
        assert!(r.contains(Some(5)) && r.contains(Some(7)));
        assert!(!r.contains(Some(4)) && !r.contains(Some(8)) && !r.contains(None));
        assert!(DateRange::default().contains(None));
        assert!(DateRange::at(3).contains(Some(3)));
    }
}
