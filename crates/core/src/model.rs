//! Tenancy and security objects as the store keeps them.

use crate::ids::{AccountId, AppId, GroupId, ObjectId, UserId};
use kmip::attributes::Attributes;
use kmip::enums::{ObjectType, State};
use std::fmt;

/// Seconds since the epoch, UTC (the KMIP Date-Time unit).
pub type Timestamp = i64;

/// A tenant: a customer of the provider. Its key is wrapped by the root of trust.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    /// Identifier.
    pub id: AccountId,
    /// Unique, human-chosen name.
    pub name: String,
    /// A disabled account's apps cannot authenticate.
    pub enabled: bool,
    /// When it was created.
    pub created: Timestamp,
    /// The account key, wrapped by the root of trust (bound to the account id).
    pub wrapped_key: Vec<u8>,
}

/// A container of security objects inside an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// Identifier.
    pub id: GroupId,
    /// Owner.
    pub account: AccountId,
    /// Name, unique inside the account.
    pub name: String,
    /// Free text.
    pub description: String,
    /// When it was created.
    pub created: Timestamp,
}

/// How an app proves who it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// Username (the app UUID) and password (its secret): KMIP Credential or HTTP Basic.
    ApiKey,
    /// A TLS client certificate, pinned or issued by a trusted CA.
    Certificate,
}

impl AuthMethod {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ApiKey => "api-key",
            AuthMethod::Certificate => "certificate",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "api-key" => Some(AuthMethod::ApiKey),
            "certificate" => Some(AuthMethod::Certificate),
            _ => None,
        }
    }
}

/// A slow, salted hash of an app secret (argon2id, PHC string form); never the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretHash(pub String);

impl fmt::Debug for SecretHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretHash(<redacted>)")
    }
}

/// A machine identity (vCenter, a database, a backup system) inside an account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// Identifier; also the username of API-key authentication.
    pub id: AppId,
    /// Owner.
    pub account: AccountId,
    /// Name, unique inside the account.
    pub name: String,
    /// Free text.
    pub description: String,
    /// May use KMIP.
    pub kmip: bool,
    /// May use the REST API.
    pub rest: bool,
    /// How it authenticates.
    pub auth_method: AuthMethod,
    /// Groups it may use; never empty; contains `default_group`.
    pub groups: Vec<GroupId>,
    /// Where its new objects go.
    pub default_group: GroupId,
    /// A disabled app cannot authenticate.
    pub enabled: bool,
    /// The hash of its secret (API key), checked at authentication.
    pub secret_hash: SecretHash,
    /// The secret itself sealed under the account key (bound to the app), so an
    /// account admin can view the credentials again, as vCenter's set-up needs.
    pub sealed_secret: Vec<u8>,
    /// SHA-256 fingerprints of client certificates pinned to it.
    pub pinned_certs: Vec<[u8; 32]>,
    /// DER certificates of CAs trusted to issue its client certificates.
    pub trusted_cas: Vec<Vec<u8>>,
    /// When it was created.
    pub created: Timestamp,
}

/// A security object: its metadata in the clear, its key material sealed under the account key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManagedObject {
    /// Identifier (the KMIP Unique Identifier).
    pub id: ObjectId,
    /// Owner.
    pub account: AccountId,
    /// Container.
    pub group: GroupId,
    /// Symmetric key, secret data, certificate…
    pub object_type: ObjectType,
    /// Lifecycle state.
    pub state: State,
    /// Every attribute (standard and custom) except the material itself.
    pub attributes: Attributes,
    /// The object's value (its KMIP object structure) sealed under the account key;
    /// `None` once destroyed (metadata stays for the audit trail).
    pub sealed: Option<Vec<u8>>,
    /// When it was created.
    pub created: Timestamp,
    /// When it last changed.
    pub updated: Timestamp,
    /// The app that created (or registered) it; `None` for an object stored
    /// before the creating app was recorded.
    pub creator: Option<AppId>,
}

/// What a user may do in its account (or, for a sysadmin, on the provider).
/// The rules live in one place, [`crate::access`]; only apps use keys.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Role {
    /// The provider's operator: accounts and server health, never an account's objects.
    Sysadmin,
    /// Manages one account: its users, groups, apps, certificates and objects.
    AccountAdmin,
    /// Views an account's groups and apps, views and manages objects in every group.
    Member,
    /// Reads an account's objects' metadata and audit log; changes nothing.
    Auditor,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 4] = [
        Role::Sysadmin,
        Role::AccountAdmin,
        Role::Member,
        Role::Auditor,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sysadmin => "sysadmin",
            Role::AccountAdmin => "account-admin",
            Role::Member => "member",
            Role::Auditor => "auditor",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A role a user of an account holds on one group of that account, on top of
/// its account role: it raises the user's rights on that group only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GroupRole {
    /// Views the group and its objects' metadata.
    Auditor,
    /// Also manages the group's objects.
    Member,
    /// Also manages the group itself.
    Admin,
}

impl GroupRole {
    /// Every group role, weakest first.
    pub const ALL: [GroupRole; 3] = [GroupRole::Auditor, GroupRole::Member, GroupRole::Admin];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            GroupRole::Auditor => "auditor",
            GroupRole::Member => "member",
            GroupRole::Admin => "admin",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        GroupRole::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// A person who signs in to manage: a sysadmin (no account) or a user of one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// The account managed; `None` for the provider's sysadmins.
    pub account: Option<AccountId>,
    /// Login name, unique on the server.
    pub name: String,
    /// What the user may do in its account (see also its group roles).
    pub role: Role,
    /// argon2id hash of the password.
    pub password_hash: SecretHash,
    /// A disabled user cannot sign in, and its sessions stop working.
    pub enabled: bool,
    /// When it was created.
    pub created: Timestamp,
    /// The password was generated by the server (a one-time password shown to
    /// whoever created or reset the user): the user must choose its own.
    pub must_change_password: bool,
    /// Consecutive failed sign-ins (kept by the store, reset by a success).
    pub failed_logins: u32,
    /// Sign-in refused until then, whatever the password (kept by the store).
    pub locked_until: Option<Timestamp>,
}

/// Brute-force lockout: after `threshold` consecutive failures a user is
/// locked for `first_secs`, doubling with each further failure up to `max_secs`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lockout {
    /// Failures before the first lock.
    pub threshold: u32,
    /// Length of the first lock, seconds.
    pub first_secs: i64,
    /// Longest lock, seconds.
    pub max_secs: i64,
}

impl Lockout {
    /// When a user with `failures` consecutive failures, the last at `now`, may try again
    /// (`None`: not locked).
    pub fn locked_until(&self, failures: u32, now: Timestamp) -> Option<Timestamp> {
        let beyond = failures.checked_sub(self.threshold)?;
        let secs = self
            .first_secs
            .saturating_mul(1i64 << beyond.min(40))
            .min(self.max_secs);
        Some(now.saturating_add(secs))
    }
}

/// The random identifier shared by every session a sign-in and its refreshes made.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionFamily(pub [u8; 16]);

impl fmt::Debug for SessionFamily {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionFamily({})", hex::encode(self.0))
    }
}

/// One access/refresh token pair of a signed-in user, as the store keeps it:
/// only the SHA-256 of each token, so a copy of the database gives no usable token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredSession {
    /// The sign-in it descends from (all revoked together).
    pub family: SessionFamily,
    /// Who signed in.
    pub user: UserId,
    /// SHA-256 of the access token.
    pub access_hash: [u8; 32],
    /// SHA-256 of the refresh token.
    pub refresh_hash: [u8; 32],
    /// When this pair was issued.
    pub created: Timestamp,
    /// The access token works until then.
    pub expires_at: Timestamp,
    /// The refresh token works until then (the family's end).
    pub refresh_expires_at: Timestamp,
    /// Its refresh token was spent: presenting it again revokes the family.
    pub rotated: bool,
}

/// What an account holds, counted (for the sysadmin: never a value).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountUsage {
    /// Apps.
    pub apps: u64,
    /// Users.
    pub users: u64,
    /// Groups.
    pub groups: u64,
    /// Security objects per state, by state value; states without objects are left out.
    pub objects_by_state: Vec<(State, u64)>,
}
