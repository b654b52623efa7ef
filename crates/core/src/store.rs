//! The storage interface. Every object operation is scoped by account: a store
//! never returns an object of another account, so tenant isolation does not
//! depend on each caller remembering to check.

use crate::audit::{AuditEvent, AuditQuery, AuditRecord};
use crate::ca::{AccountCa, KeptCertificate};
use crate::ids::{AccountId, AppId, GroupId, ObjectId};
use crate::model::{Account, App, Group, ManagedObject, User};
use kmip::enums::{ObjectType, State};

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

/// What Locate looks for inside one account; every condition given must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectFilter {
    /// Only objects in these groups (empty: any group the caller may see).
    pub groups: Vec<GroupId>,
    /// Object type.
    pub object_type: Option<ObjectType>,
    /// State.
    pub state: Option<State>,
    /// Skip this many matches (Offset Items).
    pub offset: usize,
    /// Return at most this many (Maximum Items).
    pub limit: Option<usize>,
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
    /// Replaces a user (password, enabled…).
    fn update_user(&self, user: &User) -> Result<(), StoreError>;
    /// A user by login name, whatever its account (sign-in starts from the name).
    fn user_by_name(&self, name: &str) -> Result<Option<User>, StoreError>;
    /// The users of `account` (`None`: the sysadmins), by name.
    fn users(&self, account: Option<AccountId>) -> Result<Vec<User>, StoreError>;

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
    /// The ids of `account`'s objects that match `filter`, oldest first.
    fn locate(
        &self,
        account: AccountId,
        filter: &ObjectFilter,
    ) -> Result<Vec<ObjectId>, StoreError>;

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
}
