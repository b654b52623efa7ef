//! People who manage: users and their roles, signing in (password → short-lived
//! session tokens), lockout after repeated failures, password changes, and
//! the sysadmin's side of accounts (disable, delete, usage counts). Who may do
//! what is asked of [`crate::access`], never decided here.

use super::{spend_like_a_check, TenancyError};
use crate::access::{allowed, Action, Principal};
use crate::ids::{AccountId, GroupId, UserId};
use crate::model::{
    AccountUsage, GroupRole, Lockout, Role, SessionFamily, StoredSession, Timestamp, User,
};
use crate::secrets::{hash_secret, verify_secret, AppSecret};
use crate::store::{Store, StoreError};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use std::collections::HashMap;
use std::fmt;
use std::sync::{Mutex, OnceLock};
use zeroize::Zeroizing;

/// The login name of the first sysadmin.
pub const FIRST_SYSADMIN: &str = "sysadmin";

/// How long an access token works, seconds.
pub const ACCESS_TOKEN_LIFETIME: i64 = 15 * 60;

/// How long a sign-in lasts, seconds: its refresh tokens work until then and
/// refreshing does not extend it; then the password is asked again.
pub const REFRESH_TOKEN_LIFETIME: i64 = 12 * 3600;

/// Brute-force lockout: after 5 consecutive failures, locked 1 s, doubling per
/// further failure, at most 15 min.
pub const LOCKOUT: Lockout = Lockout {
    threshold: 5,
    first_secs: 1,
    max_secs: 15 * 60,
};

/// The shortest password a user may choose, in characters.
pub const MIN_PASSWORD_CHARS: usize = 12;

/// The longest password a user may choose, in bytes.
pub const MAX_PASSWORD_BYTES: usize = 1024;

fn check_login(name: &str) -> Result<(), TenancyError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '@'));
    if ok {
        Ok(())
    } else {
        Err(TenancyError::Invalid(
            "a login name is 1 to 64 characters among letters, digits, - _ . @".into(),
        ))
    }
}

// ---- creating users ----

/// Creates a user with a generated password (64 hex digits), returned once
/// (stored as an argon2id hash). A sysadmin has no account;
/// every other user belongs to `account`. Checks no right: for bootstrapping
/// (the first sysadmin, an account's first admin made with the account); a
/// request on behalf of someone goes through [`create_user_as`].
pub fn create_user(
    store: &dyn Store,
    account: Option<AccountId>,
    name: &str,
    role: Role,
    now: Timestamp,
) -> Result<(User, AppSecret), TenancyError> {
    insert_user(store, account, name, role, now, false)
}

/// Creates a user; `one_time`: its generated password must be changed at first sign-in.
fn insert_user(
    store: &dyn Store,
    account: Option<AccountId>,
    name: &str,
    role: Role,
    now: Timestamp,
    one_time: bool,
) -> Result<(User, AppSecret), TenancyError> {
    check_login(name)?;
    if (role == Role::Sysadmin) != account.is_none() {
        return Err(TenancyError::Invalid(
            "a sysadmin has no account; every other user belongs to one".into(),
        ));
    }
    if let Some(a) = account {
        if store.account(a)?.is_none() {
            return Err(TenancyError::Invalid(format!("no account {a}")));
        }
    }
    let password = AppSecret::generate().map_err(TenancyError::Crypto)?;
    let user = User {
        id: UserId::new(),
        account,
        name: name.to_string(),
        role,
        password_hash: password.hash().map_err(TenancyError::Crypto)?,
        enabled: true,
        created: now,
        must_change_password: one_time,
        failed_logins: 0,
        locked_until: None,
    };
    store.create_user(&user)?;
    Ok((user, password))
}

/// [`create_user`] on behalf of `actor`, who must be allowed to manage the
/// users of `account` (an account admin: its own account only; a sysadmin:
/// the sysadmins, `account` = `None`).
pub fn create_user_as(
    store: &dyn Store,
    actor: &Principal,
    account: Option<AccountId>,
    name: &str,
    role: Role,
    now: Timestamp,
) -> Result<(User, AppSecret), TenancyError> {
    if !allowed(actor, account, Action::ManageUsers, None) {
        return Err(TenancyError::Forbidden(match account {
            Some(_) => "only an admin of this account may create its users".into(),
            None => "only a sysadmin may create sysadmins".into(),
        }));
    }
    insert_user(store, account, name, role, now, true)
}

/// On a server with no sysadmin yet, creates [`FIRST_SYSADMIN`] and returns its
/// password (to print once); `None` when one exists.
pub fn ensure_sysadmin(
    store: &dyn Store,
    now: Timestamp,
) -> Result<Option<(User, AppSecret)>, TenancyError> {
    if !store.users(None)?.is_empty() {
        return Ok(None);
    }
    match create_user(store, None, FIRST_SYSADMIN, Role::Sysadmin, now) {
        // Another node of a cluster, starting at the same time, created it first.
        Err(TenancyError::Conflict(_) | TenancyError::Store(StoreError::Conflict(_)))
            if !store.users(None)?.is_empty() =>
        {
            Ok(None)
        }
        made => made.map(Some),
    }
}

/// Gives the user `name` a new generated one-time password (returned once),
/// lifts its lock and ends its sessions: how an operator with access to the
/// data directory recovers a lost sysadmin login.
pub fn reset_user_password(
    store: &dyn Store,
    name: &str,
) -> Result<(User, AppSecret), TenancyError> {
    let mut user = store
        .user_by_name(name)?
        .ok_or_else(|| TenancyError::Invalid(format!("no user named {name:?}")))?;
    let password = AppSecret::generate().map_err(TenancyError::Crypto)?;
    user.password_hash = password.hash().map_err(TenancyError::Crypto)?;
    // The operator on the server's machine gets a strong random password to
    // use at once (as at first start), not a one-time one.
    user.must_change_password = false;
    store.update_user(&user)?;
    store.record_login_success(user.id)?;
    store.delete_user_sessions(user.id, None)?;
    user.failed_logins = 0;
    user.locked_until = None;
    Ok((user, password))
}

// ---- managing users ----

/// The user `id` if `actor` may manage the users of its account; another
/// account's user is `NotFound`, as a missing one, so that its existence does
/// not leak.
fn managed_user(store: &dyn Store, actor: &Principal, id: UserId) -> Result<User, TenancyError> {
    let missing = || TenancyError::NotFound(format!("user {id}"));
    let user = store.user(id)?.ok_or_else(missing)?;
    if allowed(actor, user.account, Action::ManageUsers, None) {
        Ok(user)
    } else if actor.account() == user.account && actor.account().is_some() {
        Err(TenancyError::Forbidden(
            "only an admin of this account may manage its users".into(),
        ))
    } else {
        Err(missing())
    }
}

/// Refuses an actor acting on itself (it would lock itself out).
fn not_self(actor: &Principal, id: UserId, what: &str) -> Result<(), TenancyError> {
    match actor {
        Principal::User { id: me, .. } if *me == id => {
            Err(TenancyError::Invalid(format!("you cannot {what} yourself")))
        }
        _ => Ok(()),
    }
}

fn set_enabled(
    store: &dyn Store,
    actor: &Principal,
    id: UserId,
    enabled: bool,
) -> Result<User, TenancyError> {
    let mut user = managed_user(store, actor, id)?;
    if !enabled {
        not_self(actor, id, "disable")?;
    }
    if user.enabled != enabled {
        user.enabled = enabled;
        store.update_user(&user)?;
    }
    if !enabled {
        store.delete_user_sessions(id, None)?;
    }
    Ok(user)
}

/// Disables a user: it cannot sign in and its sessions end at once.
pub fn disable_user(
    store: &dyn Store,
    actor: &Principal,
    id: UserId,
) -> Result<User, TenancyError> {
    set_enabled(store, actor, id, false)
}

/// Enables a disabled user again.
pub fn enable_user(store: &dyn Store, actor: &Principal, id: UserId) -> Result<User, TenancyError> {
    set_enabled(store, actor, id, true)
}

/// Deletes a user with its sessions and group roles; audit records keep its name.
pub fn delete_user(store: &dyn Store, actor: &Principal, id: UserId) -> Result<(), TenancyError> {
    managed_user(store, actor, id)?;
    not_self(actor, id, "delete")?;
    Ok(store.delete_user(id)?)
}

/// Changes a user's role inside its account (a sysadmin stays a sysadmin, an
/// account user cannot become one).
pub fn set_user_role(
    store: &dyn Store,
    actor: &Principal,
    id: UserId,
    role: Role,
) -> Result<User, TenancyError> {
    let mut user = managed_user(store, actor, id)?;
    if (role == Role::Sysadmin) != (user.role == Role::Sysadmin) {
        return Err(TenancyError::Invalid(
            "a sysadmin cannot become an account user, nor an account user a sysadmin".into(),
        ));
    }
    if user.role != role {
        not_self(actor, id, "change the role of")?;
        user.role = role;
        store.update_user(&user)?;
    }
    Ok(user)
}

/// Replaces the roles a user holds on groups of its account (one role per group).
pub fn set_group_roles(
    store: &dyn Store,
    actor: &Principal,
    id: UserId,
    roles: &[(GroupId, GroupRole)],
) -> Result<(), TenancyError> {
    let user = managed_user(store, actor, id)?;
    let Some(account) = user.account else {
        return Err(TenancyError::Invalid(
            "a sysadmin belongs to no account, so holds no group role".into(),
        ));
    };
    let mut seen = Vec::with_capacity(roles.len());
    for (g, _) in roles {
        if seen.contains(g) {
            return Err(TenancyError::Invalid(format!(
                "group {g} is given two roles"
            )));
        }
        seen.push(*g);
        if store.group(account, *g)?.is_none() {
            return Err(TenancyError::Invalid(format!(
                "group {g} is not a group of this account"
            )));
        }
    }
    Ok(store.set_user_group_roles(id, roles)?)
}

/// The roles user `id` holds on groups, for `actor` (who may manage it).
pub fn group_roles(
    store: &dyn Store,
    actor: &Principal,
    id: UserId,
) -> Result<Vec<(GroupId, GroupRole)>, TenancyError> {
    managed_user(store, actor, id)?;
    Ok(store.user_group_roles(id)?)
}

// ---- passwords and lockout ----

/// Why signing in (or refreshing a session) failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// Wrong name or password, a disabled user or account, an unknown or
    /// expired token: one answer for all.
    #[error("wrong name or password")]
    Refused,
    /// Too many consecutive failures: no password is checked before this many
    /// seconds. An unknown name locks alike, so this tells nothing about it.
    #[error("too many failed sign-ins: retry after {retry_after} s")]
    Locked {
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A spent refresh token was presented again (stolen, or replayed): the
    /// whole session is revoked.
    #[error("this refresh token was already used: the session is revoked")]
    RefreshReused,
    /// The store or the random generator failed.
    #[error(transparent)]
    Tenancy(#[from] TenancyError),
}

impl From<StoreError> for LoginError {
    fn from(e: StoreError) -> Self {
        LoginError::Tenancy(e.into())
    }
}

/// Failed sign-ins and lock of each unknown name tried.
type Phantoms = HashMap<String, (u32, Option<Timestamp>)>;

/// Lockout counters of names that are no user's, so that an unknown name locks
/// exactly as a known one does and a caller cannot tell them apart. Kept in
/// memory (bounded), per node.
fn phantoms() -> &'static Mutex<Phantoms> {
    static P: OnceLock<Mutex<Phantoms>> = OnceLock::new();
    P.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The most unknown names tracked at once.
const MAX_PHANTOMS: usize = 10_000;

fn phantom_locked(name: &str, now: Timestamp) -> Option<Timestamp> {
    let p = phantoms().lock().unwrap_or_else(|e| e.into_inner());
    p.get(name)
        .and_then(|(_, until)| *until)
        .filter(|&u| u > now)
}

fn phantom_failure(name: &str, now: Timestamp) {
    if check_login(name).is_err() {
        // No user can have such a name: nothing to hide.
        return;
    }
    let mut p = phantoms().lock().unwrap_or_else(|e| e.into_inner());
    if p.len() >= MAX_PHANTOMS && !p.contains_key(name) {
        p.retain(|_, (_, until)| until.is_some_and(|u| u > now));
        if p.len() >= MAX_PHANTOMS {
            p.clear();
        }
    }
    let entry = p.entry(name.to_string()).or_insert((0, None));
    entry.0 = entry.0.saturating_add(1);
    entry.1 = LOCKOUT.locked_until(entry.0, now);
}

fn locked(until: Timestamp, now: Timestamp) -> LoginError {
    LoginError::Locked {
        retry_after: u64::try_from(until.saturating_sub(now)).unwrap_or(0).max(1),
    }
}

/// The user `name` if `password` is its password and it and its account are
/// enabled; counts failures and enforces the lock. Every failure costs one
/// argon2id verification, whether the name exists or not.
fn check_credentials(
    store: &dyn Store,
    name: &str,
    password: &str,
    now: Timestamp,
) -> Result<User, LoginError> {
    let Some(mut user) = store.user_by_name(name)? else {
        spend_like_a_check(password);
        if let Some(until) = phantom_locked(name, now) {
            return Err(locked(until, now));
        }
        phantom_failure(name, now);
        // The same round trip through the store as a known user's failure.
        store.record_login_failure(UserId::new(), now, &LOCKOUT)?;
        return Err(LoginError::Refused);
    };
    if let Some(until) = user.locked_until.filter(|&u| u > now) {
        // Locked: the password is not even looked at (a right one is refused too).
        spend_like_a_check(password);
        return Err(locked(until, now));
    }
    let right = verify_secret(password, &user.password_hash);
    let account_enabled = match user.account {
        Some(a) => store.account(a)?.is_some_and(|a| a.enabled),
        None => true,
    };
    if !(right && user.enabled && account_enabled) {
        store.record_login_failure(user.id, now, &LOCKOUT)?;
        return Err(LoginError::Refused);
    }
    if user.failed_logins != 0 || user.locked_until.is_some() {
        store.record_login_success(user.id)?;
        user.failed_logins = 0;
        user.locked_until = None;
    }
    Ok(user)
}

/// The enabled user `name` whose password is `password` (and whose account, if
/// any, is enabled), for HTTP Basic on each request. `None` for every failure
/// alike, in the same time; failures count towards the lockout and a locked
/// user is refused, as by [`login`].
pub fn authenticate_user(
    store: &dyn Store,
    name: &str,
    password: &str,
) -> Result<Option<User>, TenancyError> {
    match check_credentials(store, name, password, unix_now()) {
        Ok(user) => Ok(Some(user)),
        Err(LoginError::Refused | LoginError::Locked { .. } | LoginError::RefreshReused) => {
            Ok(None)
        }
        Err(LoginError::Tenancy(e)) => Err(e),
    }
}

fn unix_now() -> Timestamp {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Checks a password a user chooses.
fn check_new_password(name: &str, old: &str, new: &str) -> Result<(), TenancyError> {
    if new.chars().count() < MIN_PASSWORD_CHARS {
        return Err(TenancyError::Invalid(format!(
            "a password has at least {MIN_PASSWORD_CHARS} characters"
        )));
    }
    if new.len() > MAX_PASSWORD_BYTES {
        return Err(TenancyError::Invalid(format!(
            "a password has at most {MAX_PASSWORD_BYTES} bytes"
        )));
    }
    if new.trim().eq_ignore_ascii_case(name) {
        return Err(TenancyError::Invalid(
            "the password cannot be the login name".into(),
        ));
    }
    if new == old {
        return Err(TenancyError::Invalid(
            "the new password must differ from the current one".into(),
        ));
    }
    Ok(())
}

/// Changes the password of user `id`: `old` must be its current password
/// (a wrong one counts towards the lockout, and a locked user is refused);
/// `new` has at least [`MIN_PASSWORD_CHARS`] characters and is neither the
/// name nor the old password. Every session of the user ends, except those of
/// family `keep` (the session the change was made from, if the caller wants).
pub fn change_password(
    store: &dyn Store,
    id: UserId,
    old: &str,
    new: &str,
    keep: Option<SessionFamily>,
    now: Timestamp,
) -> Result<User, TenancyError> {
    let mut user = store
        .user(id)?
        .ok_or_else(|| TenancyError::NotFound(format!("user {id}")))?;
    if let Some(until) = user.locked_until.filter(|&u| u > now) {
        spend_like_a_check(old);
        return Err(TenancyError::Forbidden(format!(
            "too many failed attempts: retry after {} s",
            (until - now).max(1)
        )));
    }
    if !verify_secret(old, &user.password_hash) {
        store.record_login_failure(id, now, &LOCKOUT)?;
        return Err(TenancyError::Forbidden(
            "the current password is wrong".into(),
        ));
    }
    check_new_password(&user.name, old, new)?;
    user.password_hash = hash_secret(new).map_err(TenancyError::Crypto)?;
    user.must_change_password = false;
    store.update_user(&user)?;
    if user.failed_logins != 0 || user.locked_until.is_some() {
        store.record_login_success(id)?;
        user.failed_logins = 0;
        user.locked_until = None;
    }
    store.delete_user_sessions(id, keep)?;
    Ok(user)
}

// ---- sessions ----

/// A bearer token (access or refresh): 32 random bytes, base64url without
/// padding (43 characters). Wiped on drop, never printed by `Debug`; the store
/// keeps only its SHA-256.
pub struct Token(Zeroizing<String>);

impl Token {
    /// A new random token and the SHA-256 the store keeps of it.
    fn generate() -> Result<(Token, [u8; 32]), TenancyError> {
        let mut raw = Zeroizing::new([0u8; 32]);
        SystemRandom::new()
            .fill(&mut raw[..])
            .map_err(|_| TenancyError::Crypto("random generator failed"))?;
        let token = Token(Zeroizing::new(base64url(&raw[..])));
        Ok((token, sha256(&raw[..])))
    }

    /// The token text (to hand to its holder once; never to log or store).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

const B64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/// `bytes` in base64url without padding.
fn base64url(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..=chunk.len() {
            out.push(B64URL[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// The SHA-256 of the 32 bytes a well-formed token encodes; `None` for
/// anything else (wrong length, another alphabet, a non-canonical last character).
fn token_hash(token: &str) -> Option<[u8; 32]> {
    let text = token.trim().as_bytes();
    if text.len() != 43 {
        return None;
    }
    let mut raw = Zeroizing::new([0u8; 32]);
    let mut acc: u32 = 0;
    let mut bits = 0;
    let mut at = 0;
    for &c in text {
        let v = B64URL.iter().position(|&a| a == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            raw[at] = (acc >> bits) as u8;
            at += 1;
            acc &= (1 << bits) - 1;
        }
    }
    // 43 characters carry 258 bits: the 2 left over must be zero.
    if acc != 0 || at != 32 {
        return None;
    }
    Some(sha256(&raw[..]))
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, bytes);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

fn new_family() -> Result<SessionFamily, TenancyError> {
    let mut f = [0u8; 16];
    SystemRandom::new()
        .fill(&mut f)
        .map_err(|_| TenancyError::Crypto("random generator failed"))?;
    Ok(SessionFamily(f))
}

/// A signed-in user's tokens, to hand to it once.
#[derive(Debug)]
pub struct Session {
    /// Sent as `Authorization: Bearer …` on each request.
    pub access_token: Token,
    /// Exchanged for a new pair by [`refresh`]; works once.
    pub refresh_token: Token,
    /// The access token works until then.
    pub expires_at: Timestamp,
    /// The refresh token works until then (the end of the sign-in).
    pub refresh_expires_at: Timestamp,
    /// Who signed in.
    pub user: User,
    /// Its roles on groups.
    pub group_roles: Vec<(GroupId, GroupRole)>,
    /// The sign-in this pair belongs to (to keep it on a password change).
    pub family: SessionFamily,
}

impl Session {
    /// Who acts, for [`crate::access::allowed`].
    pub fn principal(&self) -> Principal {
        Principal::user(&self.user, &self.group_roles)
    }
}

/// The user an access token signs in, as it is now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedIn {
    /// The user (enabled, its account enabled).
    pub user: User,
    /// Its roles on groups.
    pub group_roles: Vec<(GroupId, GroupRole)>,
    /// The session the token belongs to.
    pub family: SessionFamily,
    /// The token works until then.
    pub expires_at: Timestamp,
}

impl SignedIn {
    /// Who acts, for [`crate::access::allowed`].
    pub fn principal(&self) -> Principal {
        Principal::user(&self.user, &self.group_roles)
    }
}

/// Issues a token pair for `user` in `family`, ending at `refresh_expires_at`.
fn issue(
    user: &User,
    family: SessionFamily,
    now: Timestamp,
    refresh_expires_at: Timestamp,
) -> Result<(StoredSession, Token, Token), TenancyError> {
    let (access, access_hash) = Token::generate()?;
    let (refresh, refresh_hash) = Token::generate()?;
    let stored = StoredSession {
        family,
        user: user.id,
        access_hash,
        refresh_hash,
        created: now,
        expires_at: now
            .saturating_add(ACCESS_TOKEN_LIFETIME)
            .min(refresh_expires_at),
        refresh_expires_at,
        rotated: false,
    };
    Ok((stored, access, refresh))
}

/// Signs a user in with its password: a session of an access token
/// ([`ACCESS_TOKEN_LIFETIME`]) and a refresh token (until
/// [`REFRESH_TOKEN_LIFETIME`] after now). Refused alike for an unknown name, a
/// wrong password, a disabled user or account; locked after repeated failures
/// ([`LOCKOUT`]). Expired sessions are pruned on the way.
pub fn login(
    store: &dyn Store,
    name: &str,
    password: &str,
    now: Timestamp,
) -> Result<Session, LoginError> {
    let user = check_credentials(store, name, password, now)?;
    store.prune_sessions(now)?;
    let family = new_family()?;
    let (stored, access_token, refresh_token) = issue(
        &user,
        family,
        now,
        now.saturating_add(REFRESH_TOKEN_LIFETIME),
    )?;
    store.create_session(&stored)?;
    let group_roles = store.user_group_roles(user.id)?;
    Ok(Session {
        access_token,
        refresh_token,
        expires_at: stored.expires_at,
        refresh_expires_at: stored.refresh_expires_at,
        user,
        group_roles,
        family,
    })
}

/// The user `id` if it and its account are enabled now.
fn active_user(store: &dyn Store, id: UserId) -> Result<Option<User>, StoreError> {
    let Some(user) = store.user(id)? else {
        return Ok(None);
    };
    if !user.enabled {
        return Ok(None);
    }
    if let Some(a) = user.account {
        if !store.account(a)?.is_some_and(|a| a.enabled) {
            return Ok(None);
        }
    }
    Ok(Some(user))
}

/// The user an access token signs in, with its group roles, as they are now;
/// `None` for an unknown, expired, rotated or malformed token, and for a
/// disabled or deleted user or a disabled account.
pub fn authenticate_token(
    store: &dyn Store,
    token: &str,
    now: Timestamp,
) -> Result<Option<SignedIn>, TenancyError> {
    let Some(hash) = token_hash(token) else {
        return Ok(None);
    };
    let Some(s) = store.session_by_access(&hash)? else {
        return Ok(None);
    };
    if s.rotated || s.expires_at <= now {
        return Ok(None);
    }
    let Some(user) = active_user(store, s.user)? else {
        return Ok(None);
    };
    let group_roles = store.user_group_roles(user.id)?;
    Ok(Some(SignedIn {
        user,
        group_roles,
        family: s.family,
        expires_at: s.expires_at,
    }))
}

/// Exchanges a refresh token for a new pair; the old refresh and access tokens
/// stop working. A refresh token presented a second time means it leaked: the
/// whole session (every pair of its sign-in) is revoked. The sign-in's end does
/// not move.
pub fn refresh(
    store: &dyn Store,
    refresh_token: &str,
    now: Timestamp,
) -> Result<Session, LoginError> {
    let hash = token_hash(refresh_token).ok_or(LoginError::Refused)?;
    let old = store
        .session_by_refresh(&hash)?
        .ok_or(LoginError::Refused)?;
    if old.rotated {
        store.delete_session_family(old.family)?;
        return Err(LoginError::RefreshReused);
    }
    if old.refresh_expires_at <= now {
        return Err(LoginError::Refused);
    }
    let Some(user) = active_user(store, old.user)? else {
        store.delete_session_family(old.family)?;
        return Err(LoginError::Refused);
    };
    let (next, access_token, refresh_token) =
        issue(&user, old.family, now, old.refresh_expires_at)?;
    if !store.rotate_session(&hash, &next)? {
        // Another refresh spent it first: two holders of one token.
        store.delete_session_family(old.family)?;
        return Err(LoginError::RefreshReused);
    }
    let group_roles = store.user_group_roles(user.id)?;
    Ok(Session {
        access_token,
        refresh_token,
        expires_at: next.expires_at,
        refresh_expires_at: next.refresh_expires_at,
        user,
        group_roles,
        family: old.family,
    })
}

/// Ends the session of `access_token` (its refresh token too). An unknown or
/// already rotated token changes nothing.
pub fn logout(store: &dyn Store, access_token: &str) -> Result<(), TenancyError> {
    let Some(hash) = token_hash(access_token) else {
        return Ok(());
    };
    match store.session_by_access(&hash)? {
        Some(s) if !s.rotated => Ok(store.delete_session_family(s.family)?),
        _ => Ok(()),
    }
}

// ---- accounts, from the provider's side ----

/// What `account` holds, counted (apps, users, groups, objects by state; never
/// a value), for whoever may view the account.
pub fn account_usage(
    store: &dyn Store,
    actor: &Principal,
    account: AccountId,
) -> Result<AccountUsage, TenancyError> {
    if !allowed(actor, Some(account), Action::ViewAccounts, None) {
        return Err(TenancyError::NotFound(format!("account {account}")));
    }
    store.account_usage(account).map_err(not_found_as_such)
}

fn not_found_as_such(e: StoreError) -> TenancyError {
    match e {
        StoreError::NotFound(m) => TenancyError::NotFound(m),
        other => other.into(),
    }
}

fn manage_account(actor: &Principal, account: AccountId) -> Result<(), TenancyError> {
    if allowed(actor, Some(account), Action::ManageAccounts, None) {
        Ok(())
    } else {
        Err(TenancyError::Forbidden(
            "only a sysadmin may enable, disable or delete an account".into(),
        ))
    }
}

/// Disables an account: its apps and users cannot authenticate, its users'
/// sessions end. Its objects stay.
pub fn disable_account(
    store: &dyn Store,
    actor: &Principal,
    account: AccountId,
) -> Result<(), TenancyError> {
    manage_account(actor, account)?;
    store
        .set_account_enabled(account, false)
        .map_err(not_found_as_such)?;
    for user in store.users(Some(account))? {
        store.delete_user_sessions(user.id, None)?;
    }
    Ok(())
}

/// Enables a disabled account again.
pub fn enable_account(
    store: &dyn Store,
    actor: &Principal,
    account: AccountId,
) -> Result<(), TenancyError> {
    manage_account(actor, account)?;
    store
        .set_account_enabled(account, true)
        .map_err(not_found_as_such)
}

/// Deletes an account with its groups, apps, users and CA once it holds no
/// object that is not destroyed (`Conflict` otherwise); its audit chain stays.
/// The caller also forgets the account key it may have cached
/// ([`super::Keyring::forget`]).
pub fn delete_account(
    store: &dyn Store,
    actor: &Principal,
    account: AccountId,
) -> Result<(), TenancyError> {
    manage_account(actor, account)?;
    store.delete_account(account).map_err(|e| match e {
        StoreError::Conflict(m) => TenancyError::Conflict(m),
        other => not_found_as_such(other),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_43_base64url_characters_and_hash_back() {
        let (t, h) = Token::generate().unwrap();
        assert_eq!(t.expose().len(), 43);
        assert!(t
            .expose()
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_'));
        assert_eq!(token_hash(t.expose()), Some(h));
        assert_eq!(format!("{t:?}"), "Token(<redacted>)");
        let (t2, h2) = Token::generate().unwrap();
        assert_ne!(t.expose(), t2.expose());
        assert_ne!(h, h2);
        // Known vectors: RFC 4648 section 10 (base64url differs only in 62 and 63).
        assert_eq!(base64url(b""), "");
        assert_eq!(base64url(b"f"), "Zg");
        assert_eq!(base64url(b"fo"), "Zm8");
        assert_eq!(base64url(b"foo"), "Zm9v");
        assert_eq!(base64url(b"foob"), "Zm9vYg");
        assert_eq!(base64url(&[0xfb, 0xff]), "-_8");
        let zeros = base64url(&[0u8; 32]);
        assert_eq!(zeros, "A".repeat(43));
        assert_eq!(token_hash(&zeros), Some(sha256(&[0u8; 32])));
        let ones = base64url(&[0xff; 32]);
        assert_eq!(token_hash(&ones), Some(sha256(&[0xff; 32])));
    }

    #[test]
    fn malformed_tokens_are_refused_before_any_lookup() {
        let (t, _) = Token::generate().unwrap();
        let s = t.expose();
        for bad in [
            "",
            &s[..42],
            &format!("{s}A"),
            &format!("{}=", &s[..42]),
            &format!("{}+", &s[..42]),
            // the last character carries 4 bits: one with the low 2 bits set is not canonical
            &format!("{}B", &"A".repeat(42)),
        ] {
            assert_eq!(token_hash(bad), None, "{bad:?}");
        }
        assert!(token_hash(&format!("{}E", &"A".repeat(42))).is_some());
    }

    #[test]
    fn lockout_doubles_from_the_fifth_failure_up_to_fifteen_minutes() {
        let at = |n| LOCKOUT.locked_until(n, 1000).map(|u| u - 1000);
        assert_eq!(at(0), None);
        assert_eq!(at(4), None);
        assert_eq!(at(5), Some(1));
        assert_eq!(at(6), Some(2));
        assert_eq!(at(7), Some(4));
        assert_eq!(at(14), Some(512));
        assert_eq!(at(15), Some(900));
        assert_eq!(at(u32::MAX), Some(900));
    }

    #[test]
    fn new_passwords_are_long_and_neither_the_name_nor_the_old_one() {
        assert!(check_new_password("alice", "old-password-1", "short").is_err());
        assert!(check_new_password("alice", "old-password-1", "elevenchars").is_err());
        assert!(check_new_password("alice", "old-password-1", "twelve chars").is_ok());
        assert!(check_new_password("alice.long.name", "x", "ALICE.LONG.NAME").is_err());
        assert!(check_new_password("bob", "same-password-1", "same-password-1").is_err());
        assert!(check_new_password("bob", "x", &"é".repeat(12)).is_ok());
        assert!(check_new_password("bob", "x", &"a".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }
}
