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
}

/// What a user may do. The provider's sysadmins manage accounts; an account's
/// admins manage its groups, apps and certificates. Only apps use keys.
/// (Members, auditors and per-group roles come with the management plane.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The provider's operator: accounts and server health, never an account's objects.
    Sysadmin,
    /// Manages one account.
    AccountAdmin,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Sysadmin => "sysadmin",
            Role::AccountAdmin => "account-admin",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "sysadmin" => Some(Role::Sysadmin),
            "account-admin" => Some(Role::AccountAdmin),
            _ => None,
        }
    }
}

/// A person who signs in to manage: a sysadmin (no account) or a member of one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Identifier.
    pub id: UserId,
    /// The account managed; `None` for the provider's sysadmins.
    pub account: Option<AccountId>,
    /// Login name, unique on the server.
    pub name: String,
    /// What the user may do.
    pub role: Role,
    /// argon2id hash of the password.
    pub password_hash: SecretHash,
    /// A disabled user cannot sign in.
    pub enabled: bool,
    /// When it was created.
    pub created: Timestamp,
}
