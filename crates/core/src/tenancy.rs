//! Accounts, groups and apps: creating them with their keys and secrets, and
//! authenticating an app by its secret. One implementation for the REST API,
//! the CLI and (later) the web console.

use crate::ids::{AccountId, AppId, GroupId};
use crate::keys::{Key256, KeyError, RootOfTrust};
use crate::model::{Account, App, AuthMethod, Group, Timestamp};
use crate::secrets::{verify_secret, AppSecret};
use crate::store::{Store, StoreError};
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

mod users;

pub use users::{
    account_usage, authenticate_token, authenticate_user, change_password, create_user,
    create_user_as, delete_account, delete_user, disable_account, disable_user, enable_account,
    enable_user, ensure_sysadmin, group_roles, login, logout, refresh, reset_user_password,
    set_group_roles, set_user_role, LoginError, Session, SignedIn, Token, ACCESS_TOKEN_LIFETIME,
    FIRST_SYSADMIN, LOCKOUT, MAX_PASSWORD_BYTES, MIN_PASSWORD_CHARS, REFRESH_TOKEN_LIFETIME,
};

/// Why a tenancy operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TenancyError {
    /// Bad input from the caller (an empty name, an unknown group…).
    #[error("{0}")]
    Invalid(String),
    /// The store failed or refused.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A key could not be made, wrapped or unwrapped.
    #[error(transparent)]
    Key(#[from] KeyError),
    /// The random generator or the password hash failed.
    #[error("{0}")]
    Crypto(&'static str),
    /// The caller may not do this ([`crate::access::allowed`] said no).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The thing to act on does not exist (or is in an account the caller cannot see).
    #[error("not found: {0}")]
    NotFound(String),
    /// The thing's state prevents it (an account that still holds live objects…).
    #[error("{0}")]
    Conflict(String),
}

/// The name of the group every new account starts with.
pub const DEFAULT_GROUP: &str = "default";

/// The context that binds an account key to its account when wrapped by the root.
pub fn account_key_context(account: AccountId) -> Vec<u8> {
    account.as_bytes().to_vec()
}

/// A description: free text of at most 2,000 bytes, lines and tabs allowed,
/// no other control character (NUL included: no store keeps it the same way).
fn check_description(what: &str, text: &str) -> Result<(), TenancyError> {
    let ok = text.len() <= 2000
        && !text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r');
    if ok {
        Ok(())
    } else {
        Err(TenancyError::Invalid(format!(
            "{what} description must be at most 2000 bytes without control characters"
        )))
    }
}

fn check_name(what: &str, name: &str) -> Result<(), TenancyError> {
    let ok = !name.trim().is_empty() && name.len() <= 200 && !name.chars().any(char::is_control);
    if ok {
        Ok(())
    } else {
        Err(TenancyError::Invalid(format!(
            "{what} name must be 1 to 200 characters without control characters"
        )))
    }
}

/// Creates an account with a fresh account key (wrapped by `root`), its CA
/// (see [`crate::ca`]) and its default group.
pub fn create_account(
    store: &dyn Store,
    root: &dyn RootOfTrust,
    name: &str,
    now: Timestamp,
) -> Result<(Account, Group), TenancyError> {
    check_name("account", name)?;
    let id = AccountId::new();
    let key = Key256::generate()?;
    let account = Account {
        id,
        name: name.trim().to_string(),
        enabled: true,
        created: now,
        wrapped_key: root.wrap(&key, &account_key_context(id))?,
    };
    // The CA is made before anything is stored and stored with the account in
    // one write: no account exists without its CA.
    let ca = crate::ca::new_account_ca(&account, &key, now)?;
    store.create_account_with_ca(&account, &ca)?;
    let group = create_group(store, id, DEFAULT_GROUP, "Created with the account", now)?;
    Ok((account, group))
}

/// Creates a group in `account`.
pub fn create_group(
    store: &dyn Store,
    account: AccountId,
    name: &str,
    description: &str,
    now: Timestamp,
) -> Result<Group, TenancyError> {
    check_name("group", name)?;
    check_description("group", description)?;
    let group = Group {
        id: GroupId::new(),
        account,
        name: name.trim().into(),
        description: description.into(),
        created: now,
    };
    store.create_group(&group)?;
    Ok(group)
}

/// What an admin chooses when creating an app.
#[derive(Clone, Debug)]
pub struct NewApp {
    /// Name, unique in the account.
    pub name: String,
    /// Free text.
    pub description: String,
    /// May use KMIP.
    pub kmip: bool,
    /// May use REST.
    pub rest: bool,
    /// API key or certificate.
    pub auth_method: AuthMethod,
    /// Groups it may use (empty: the account's default group).
    pub groups: Vec<GroupId>,
    /// Where its new objects go (absent: the first of `groups`).
    pub default_group: Option<GroupId>,
}

/// The associated data that binds an app's sealed secret to the app and its account.
fn secret_aad(app: &App) -> Vec<u8> {
    let mut aad = b"skms app secret\0".to_vec();
    aad.extend_from_slice(app.account.as_bytes());
    aad.extend_from_slice(app.id.as_bytes());
    aad
}

/// The key of `account`, which must exist.
fn account_key(
    store: &dyn Store,
    keyring: &Keyring,
    account: AccountId,
) -> Result<Arc<Key256>, TenancyError> {
    let found = store
        .account(account)?
        .ok_or_else(|| TenancyError::Invalid(format!("no account {account}")))?;
    Ok(keyring.account_key(&found)?)
}

/// Gives `app` the new secret `secret`: its argon2id hash (to verify) and the
/// secret sealed under the account key (to show the admin again).
fn set_secret(
    store: &dyn Store,
    keyring: &Keyring,
    app: &mut App,
    secret: &AppSecret,
) -> Result<(), TenancyError> {
    app.secret_hash = secret.hash().map_err(TenancyError::Crypto)?;
    let key = account_key(store, keyring, app.account)?;
    app.sealed_secret = key.seal(secret.expose().as_bytes(), &secret_aad(app))?;
    Ok(())
}

/// The secret of `app`, unsealed: for an account admin's "view credentials".
pub fn app_secret(
    store: &dyn Store,
    keyring: &Keyring,
    app: &App,
) -> Result<AppSecret, TenancyError> {
    let key = account_key(store, keyring, app.account)?;
    let plain = key.open(&app.sealed_secret, &secret_aad(app))?;
    let text = std::str::from_utf8(&plain)
        .map_err(|_| TenancyError::Invalid("the stored secret is not text".into()))?;
    Ok(AppSecret::from_text(text))
}

/// Creates an app and its secret (returned to show once; stored as a hash and
/// sealed under the account key).
pub fn create_app(
    store: &dyn Store,
    keyring: &Keyring,
    account: AccountId,
    new: NewApp,
    now: Timestamp,
) -> Result<(App, AppSecret), TenancyError> {
    check_name("app", &new.name)?;
    check_description("app", &new.description)?;
    check_interfaces(new.kmip, new.rest)?;
    let (groups, default_group) =
        check_groups(store, account, new.groups.clone(), new.default_group)?;
    let secret = AppSecret::generate().map_err(TenancyError::Crypto)?;
    let mut app = App {
        id: AppId::new(),
        account,
        name: new.name.trim().into(),
        description: new.description,
        kmip: new.kmip,
        rest: new.rest,
        auth_method: new.auth_method,
        groups,
        default_group,
        enabled: true,
        secret_hash: crate::model::SecretHash(String::new()),
        sealed_secret: Vec::new(),
        pinned_certs: Vec::new(),
        trusted_cas: Vec::new(),
        created: now,
    };
    set_secret(store, keyring, &mut app, &secret)?;
    store.create_app(&app)?;
    Ok((app, secret))
}

fn check_interfaces(kmip: bool, rest: bool) -> Result<(), TenancyError> {
    if kmip || rest {
        Ok(())
    } else {
        Err(TenancyError::Invalid(
            "an app needs at least one interface: KMIP or REST".into(),
        ))
    }
}

/// An app's groups (empty: the account's default group) and default group
/// (absent: the first), checked to be groups of `account`.
fn check_groups(
    store: &dyn Store,
    account: AccountId,
    mut groups: Vec<GroupId>,
    default_group: Option<GroupId>,
) -> Result<(Vec<GroupId>, GroupId), TenancyError> {
    let account_groups = store.groups(account)?;
    if groups.is_empty() {
        let default = account_groups
            .iter()
            .find(|g| g.name == DEFAULT_GROUP)
            .or(account_groups.first());
        groups.push(
            default
                .ok_or_else(|| TenancyError::Invalid("the account has no group".into()))?
                .id,
        );
    }
    let mut seen = Vec::with_capacity(groups.len());
    groups.retain(|g| {
        let new = !seen.contains(g);
        seen.push(*g);
        new
    });
    for g in &groups {
        if !account_groups.iter().any(|ag| ag.id == *g) {
            return Err(TenancyError::Invalid(format!(
                "group {g} is not a group of this account"
            )));
        }
    }
    let default_group = default_group.unwrap_or(groups[0]);
    if !groups.contains(&default_group) {
        return Err(TenancyError::Invalid(
            "the default group must be one of the app's groups".into(),
        ));
    }
    Ok((groups, default_group))
}

/// What an admin may change on an existing app; `None` keeps the current value.
#[derive(Clone, Debug, Default)]
pub struct AppChanges {
    /// Free text.
    pub description: Option<String>,
    /// May use KMIP.
    pub kmip: Option<bool>,
    /// May use REST.
    pub rest: Option<bool>,
    /// Groups it may use (its objects stay where they are).
    pub groups: Option<Vec<GroupId>>,
    /// Where its new objects go.
    pub default_group: Option<GroupId>,
    /// A disabled app cannot authenticate.
    pub enabled: Option<bool>,
}

/// Applies `changes` to `app`, checked as at creation.
pub fn update_app(
    store: &dyn Store,
    app: &mut App,
    changes: AppChanges,
) -> Result<(), TenancyError> {
    let mut next = app.clone();
    if let Some(d) = changes.description {
        check_description("app", &d)?;
        next.description = d;
    }
    next.kmip = changes.kmip.unwrap_or(next.kmip);
    next.rest = changes.rest.unwrap_or(next.rest);
    check_interfaces(next.kmip, next.rest)?;
    let groups = changes.groups.unwrap_or_else(|| next.groups.clone());
    let default = changes
        .default_group
        .or(Some(next.default_group).filter(|d| groups.contains(d)));
    (next.groups, next.default_group) = check_groups(store, app.account, groups, default)?;
    next.enabled = changes.enabled.unwrap_or(next.enabled);
    if next != *app {
        store.update_app(&next)?;
        *app = next;
    }
    Ok(())
}

/// Replaces an app's secret; the old one stops working at once.
pub fn reset_secret(
    store: &dyn Store,
    keyring: &Keyring,
    app: &mut App,
) -> Result<AppSecret, TenancyError> {
    let secret = AppSecret::generate().map_err(TenancyError::Crypto)?;
    set_secret(store, keyring, app, &secret)?;
    store.update_app(app)?;
    Ok(secret)
}

/// Sets how `app` authenticates: its secret (API key) or a client certificate.
/// Only that method is accepted afterwards.
pub fn set_auth_method(
    store: &dyn Store,
    app: &mut App,
    method: AuthMethod,
) -> Result<(), TenancyError> {
    if app.auth_method != method {
        app.auth_method = method;
        store.update_app(app)?;
    }
    Ok(())
}

/// Pins a client certificate (any, self-signed included: vCenter's own has an
/// arbitrary CN) to `app` by its SHA-256 fingerprint and switches the app to
/// certificate authentication (the seed's "change the authentication method to
/// certificate and upload it" step); returns the fingerprint.
pub fn pin_certificate(
    store: &dyn Store,
    app: &mut App,
    der: &[u8],
) -> Result<[u8; 32], TenancyError> {
    crate::certs::inspect(der).map_err(TenancyError::Invalid)?;
    let fp = crate::certs::fingerprint(der);
    if !app.pinned_certs.contains(&fp) || app.auth_method != AuthMethod::Certificate {
        if !app.pinned_certs.contains(&fp) {
            app.pinned_certs.push(fp);
        }
        app.auth_method = AuthMethod::Certificate;
        store.update_app(app)?;
    }
    Ok(fp)
}

/// Trusts a CA for `app`: client certificates it issues whose CN is the app's
/// UUID authenticate as the app (vCenter's "root CA certificate" option). The
/// app switches to certificate authentication.
pub fn trust_ca(
    store: &dyn Store,
    app: &mut App,
    der: &[u8],
) -> Result<crate::certs::CertInfo, TenancyError> {
    let info = crate::certs::inspect(der).map_err(TenancyError::Invalid)?;
    if !info.is_ca {
        return Err(TenancyError::Invalid(format!(
            "{} is not a CA certificate (Basic Constraints CA is not set): pin it instead",
            info.subject
        )));
    }
    let known = app.trusted_cas.iter().any(|c| c == der);
    if !known || app.auth_method != AuthMethod::Certificate {
        if !known {
            app.trusted_cas.push(der.to_vec());
        }
        app.auth_method = AuthMethod::Certificate;
        store.update_app(app)?;
    }
    Ok(info)
}

/// Spends the time of one argon2id verification, so that a failure that needs
/// none (unknown name) takes as long as a wrong password.
fn spend_like_a_check(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<crate::model::SecretHash>> =
        std::sync::OnceLock::new();
    if let Some(h) = DUMMY.get_or_init(|| crate::secrets::hash_secret("dummy").ok()) {
        let _ = verify_secret(password, h);
    }
}

/// The app whose id is `username` and whose secret is `password`, if it uses
/// API-key authentication and it and its account are enabled. `None` for every
/// failure alike (unknown app, wrong secret, disabled, certificate-only), so a
/// caller cannot tell which.
pub fn authenticate_secret(
    store: &dyn Store,
    username: &str,
    password: &str,
) -> Result<Option<App>, TenancyError> {
    // An unknown app costs the same hash as a known one: the time taken tells nothing.
    let Ok(id) = username.trim().parse::<AppId>() else {
        spend_like_a_check(password);
        return Ok(None);
    };
    let Some(app) = store.app(id)? else {
        spend_like_a_check(password);
        return Ok(None);
    };
    if !verify_secret(password, &app.secret_hash)
        || !app.enabled
        || app.auth_method != AuthMethod::ApiKey
    {
        return Ok(None);
    }
    match store.account(app.account)? {
        Some(account) if account.enabled => Ok(Some(app)),
        _ => Ok(None),
    }
}

/// Recently verified app secrets, so that a client that sends its password on
/// every request (vCenter does) pays the argon2id cost once per `ttl`, not per
/// request. An entry holds an HMAC of the password under a key drawn at start
/// (never the password, nor a digest reusable elsewhere) and the stored hash it
/// was verified against: a reset secret, a disabled app or account, and expiry
/// all send the next request back to the full check.
pub struct VerifiedSecrets {
    key: aws_lc_rs::hmac::Key,
    ttl: std::time::Duration,
    max: usize,
    entries: std::sync::Mutex<HashMap<(AppId, [u8; 32]), Verified>>,
}

/// The stored hash a secret was verified against, and when.
type Verified = (String, std::time::Instant);

impl VerifiedSecrets {
    /// A cache whose entries live `ttl` and of which at most `max` are kept.
    pub fn new(ttl: std::time::Duration, max: usize) -> Result<Self, TenancyError> {
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let key = aws_lc_rs::hmac::Key::generate(aws_lc_rs::hmac::HMAC_SHA256, &rng)
            .map_err(|_| TenancyError::Crypto("random generator failed"))?;
        Ok(VerifiedSecrets {
            key,
            ttl,
            max,
            entries: std::sync::Mutex::new(HashMap::new()),
        })
    }

    fn tag(&self, password: &str) -> [u8; 32] {
        let t = aws_lc_rs::hmac::sign(&self.key, password.as_bytes());
        let mut out = [0u8; 32];
        out.copy_from_slice(t.as_ref());
        out
    }

    /// [`authenticate_secret`], answered from the cache when this exact secret
    /// was verified for this app within `ttl` and nothing about the app changed.
    pub fn authenticate(
        &self,
        store: &dyn Store,
        username: &str,
        password: &str,
    ) -> Result<Option<App>, TenancyError> {
        let Ok(id) = username.trim().parse::<AppId>() else {
            return authenticate_secret(store, username, password);
        };
        let key = (id, self.tag(password));
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries
                .get(&key)
                .filter(|(_, at)| at.elapsed() < self.ttl)
                .map(|(hash, _)| hash.clone())
        };
        if let Some(hash) = cached {
            if let Some(app) = store.app(id)? {
                let account_ok = store.account(app.account)?.is_some_and(|a| a.enabled);
                if app.enabled
                    && account_ok
                    && app.auth_method == AuthMethod::ApiKey
                    && app.secret_hash.0 == hash
                {
                    return Ok(Some(app));
                }
            }
            self.entries
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&key);
        }
        let found = authenticate_secret(store, username, password)?;
        if let Some(app) = &found {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            if entries.len() >= self.max {
                let ttl = self.ttl;
                entries.retain(|_, (_, at)| at.elapsed() < ttl);
                if entries.len() >= self.max {
                    entries.clear();
                }
            }
            entries.insert(key, (app.secret_hash.0.clone(), std::time::Instant::now()));
        }
        Ok(found)
    }
}

/// Unwrapped account keys, cached: the root of trust (an HSM later) is asked
/// once per account, not once per request.
pub struct Keyring {
    root: Arc<dyn RootOfTrust>,
    cache: RwLock<HashMap<AccountId, Arc<Key256>>>,
}

impl Keyring {
    /// A keyring over `root`.
    pub fn new(root: Arc<dyn RootOfTrust>) -> Self {
        Keyring {
            root,
            cache: RwLock::new(HashMap::new()),
        }
    }

    /// The root of trust.
    pub fn root(&self) -> &dyn RootOfTrust {
        &*self.root
    }

    /// The key of `account`.
    pub fn account_key(&self, account: &Account) -> Result<Arc<Key256>, KeyError> {
        if let Some(k) = self
            .cache
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(&account.id)
        {
            return Ok(k.clone());
        }
        if crate::store::must_not_wait().is_some() {
            return Err(KeyError::Crypto(
                "the root of trust is not asked from memory",
            ));
        }
        let key = Arc::new(
            self.root
                .unwrap(&account.wrapped_key, &account_key_context(account.id))?,
        );
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(account.id, key.clone());
        Ok(key)
    }

    /// Forgets a cached key (after the account key is rotated or the account deleted).
    pub fn forget(&self, account: AccountId) {
        self.cache
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account);
    }
}

#[cfg(test)]
mod description_tests {
    use super::check_description;

    #[test]
    fn descriptions_are_text_without_control_characters() {
        assert!(check_description("app", "").is_ok());
        assert!(check_description("app", "vCenter prod\nsecond line\ttab").is_ok());
        assert!(check_description("app", "nul\0").is_err());
        assert!(check_description("app", "bell\u{7}").is_err());
        assert!(check_description("app", &"x".repeat(2001)).is_err());
    }
}
