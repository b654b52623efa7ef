//! The SQL of users, their group roles and lockout counters, sign-in
//! sessions, and the lifecycle of accounts, on PostgreSQL: the same
//! operations as `sqlite/tenancy.rs`, with row locks where SQLite's single
//! writer made a read-then-write atomic.

use super::db::Db;
use super::error::{backend, corrupt};
use super::rows::{get, id16, u32_of};
use kmip::enums::State;
use postgres::{GenericClient, Row};
use skms_core::ids::{AccountId, GroupId, UserId};
use skms_core::model::{
    AccountUsage, GroupRole, Lockout, Role, SecretHash, SessionFamily, StoredSession, Timestamp,
    User,
};
use skms_core::store::StoreError;

// ---- users ----

/// Adds a user.
pub fn create_user<C: GenericClient>(db: &mut Db<'_, C>, u: &User) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO users (id, account, name, role, password_hash, enabled, created,
                            must_change_password, failed_logins, locked_until)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &&u.id.as_bytes()[..],
            &u.account.map(|a| a.as_bytes().to_vec()),
            &u.name,
            &u.role.as_str(),
            &u.password_hash.0,
            &u.enabled,
            &u.created,
            &u.must_change_password,
            &i64::from(u.failed_logins),
            &u.locked_until,
        ],
    )
    .map(drop)
    .map_err(|e| backend(&format!("create user {:?}", u.name), e))
}

/// Replaces a user's name, role, password, `must_change_password` and enabled
/// flag (its account and lockout counters stay).
pub fn update_user<C: GenericClient>(db: &mut Db<'_, C>, u: &User) -> Result<(), StoreError> {
    let n = db
        .execute(
            "UPDATE users SET name = $2, role = $3, password_hash = $4, enabled = $5,
                              must_change_password = $6
             WHERE id = $1",
            &[
                &&u.id.as_bytes()[..],
                &u.name,
                &u.role.as_str(),
                &u.password_hash.0,
                &u.enabled,
                &u.must_change_password,
            ],
        )
        .map_err(|e| backend(&format!("update user {:?}", u.name), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {:?}", u.name)));
    }
    Ok(())
}

/// Deletes a user; its sessions and group roles go with it (ON DELETE CASCADE).
pub fn delete_user<C: GenericClient>(db: &mut Db<'_, C>, id: UserId) -> Result<(), StoreError> {
    let n = db
        .execute("DELETE FROM users WHERE id = $1", &[&&id.as_bytes()[..]])
        .map_err(|e| backend(&format!("delete user {id}"), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    Ok(())
}

/// Counts a failed sign-in and sets the lock `lockout` gives. The user's row
/// is locked (FOR UPDATE) before it is read, so concurrent failures, on this
/// node or another, all count.
pub fn record_login_failure<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: UserId,
    now: Timestamp,
    lockout: &Lockout,
) -> Result<Option<User>, StoreError> {
    let what = "record a failed sign-in";
    let Some(r) = db
        .query_opt(
            &format!("{USER_COLS} WHERE id = $1 FOR UPDATE"),
            &[&&id.as_bytes()[..]],
        )
        .map_err(|e| backend(what, e))?
    else {
        return Ok(None);
    };
    let mut user = user_from(&r)?;
    user.failed_logins = user.failed_logins.saturating_add(1);
    user.locked_until = lockout.locked_until(user.failed_logins, now);
    db.execute(
        "UPDATE users SET failed_logins = $2, locked_until = $3 WHERE id = $1",
        &[
            &&id.as_bytes()[..],
            &i64::from(user.failed_logins),
            &user.locked_until,
        ],
    )
    .map_err(|e| backend(what, e))?;
    Ok(Some(user))
}

/// Clears a user's failed sign-ins and lock.
pub fn record_login_success<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: UserId,
) -> Result<(), StoreError> {
    db.execute(
        "UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1",
        &[&&id.as_bytes()[..]],
    )
    .map(drop)
    .map_err(|e| backend("record a sign-in", e))
}

const USER_COLS: &str = "SELECT id, account, name, role, password_hash, enabled, created, \
                         must_change_password, failed_logins, locked_until FROM users";

fn user_from(r: &Row) -> Result<User, StoreError> {
    let w = "read user";
    let role: String = get(r, 3, w)?;
    let account: Option<Vec<u8>> = get(r, 1, w)?;
    Ok(User {
        id: UserId::from_bytes(id16(get(r, 0, w)?, w)?),
        account: account
            .map(|a| id16(a, w).map(AccountId::from_bytes))
            .transpose()?,
        name: get(r, 2, w)?,
        role: Role::parse(&role)
            .ok_or_else(|| corrupt(&format!("read user: unknown role {role:?}")))?,
        password_hash: SecretHash(get(r, 4, w)?),
        enabled: get(r, 5, w)?,
        created: get(r, 6, w)?,
        must_change_password: get(r, 7, w)?,
        failed_logins: u32_of(get(r, 8, w)?, w)?,
        locked_until: get(r, 9, w)?,
    })
}

/// A user by login name.
pub fn user_by_name<C: GenericClient>(
    db: &mut Db<'_, C>,
    name: &str,
) -> Result<Option<User>, StoreError> {
    db.query_opt(&format!("{USER_COLS} WHERE name = $1"), &[&name])
        .map_err(|e| backend("read user", e))?
        .as_ref()
        .map(user_from)
        .transpose()
}

/// A user by id.
pub fn user<C: GenericClient>(db: &mut Db<'_, C>, id: UserId) -> Result<Option<User>, StoreError> {
    db.query_opt(
        &format!("{USER_COLS} WHERE id = $1"),
        &[&&id.as_bytes()[..]],
    )
    .map_err(|e| backend("read user", e))?
    .as_ref()
    .map(user_from)
    .transpose()
}

/// The users of `account` (`None`: the sysadmins), by name.
pub fn users<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: Option<AccountId>,
) -> Result<Vec<User>, StoreError> {
    let rows = match account {
        Some(a) => db.query(
            &format!("{USER_COLS} WHERE account = $1 ORDER BY name"),
            &[&&a.as_bytes()[..]],
        ),
        None => db.query(
            &format!("{USER_COLS} WHERE account IS NULL ORDER BY name"),
            &[],
        ),
    };
    rows.map_err(|e| backend("list users", e))?
        .iter()
        .map(user_from)
        .collect()
}

// ---- group roles ----

/// The roles a user holds on groups, by group id.
pub fn user_group_roles<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: UserId,
) -> Result<Vec<(GroupId, GroupRole)>, StoreError> {
    let w = "read group roles";
    db.query(
        "SELECT grp, role FROM user_group_roles WHERE user_id = $1 ORDER BY grp",
        &[&&id.as_bytes()[..]],
    )
    .map_err(|e| backend(w, e))?
    .iter()
    .map(|r| {
        let role: String = get(r, 1, w)?;
        Ok((
            GroupId::from_bytes(id16(get(r, 0, w)?, w)?),
            GroupRole::parse(&role)
                .ok_or_else(|| corrupt(&format!("{w}: unknown role {role:?}")))?,
        ))
    })
    .collect()
}

/// Replaces a user's group roles. The rows name the user's own account, so the
/// foreign keys refuse a group of another account (and a sysadmin, who has none).
pub fn set_user_group_roles<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: UserId,
    roles: &[(GroupId, GroupRole)],
) -> Result<(), StoreError> {
    let what = format!("set the group roles of user {id}");
    let row = db
        .query_opt(
            "SELECT account FROM users WHERE id = $1 FOR UPDATE",
            &[&&id.as_bytes()[..]],
        )
        .map_err(|e| backend(&what, e))?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    let account: Option<Vec<u8>> = get(&row, 0, &what)?;
    let Some(account) = account else {
        if roles.is_empty() {
            return Ok(());
        }
        return Err(StoreError::NotFound(format!(
            "{what}: a sysadmin belongs to no account, so to no group"
        )));
    };
    db.execute(
        "DELETE FROM user_group_roles WHERE user_id = $1",
        &[&&id.as_bytes()[..]],
    )
    .map_err(|e| backend(&what, e))?;
    for (g, role) in roles {
        db.execute(
            "INSERT INTO user_group_roles (user_id, account, grp, role) VALUES ($1, $2, $3, $4)",
            &[
                &&id.as_bytes()[..],
                &account,
                &&g.as_bytes()[..],
                &role.as_str(),
            ],
        )
        .map_err(|e| backend(&what, e))?;
    }
    Ok(())
}

// ---- sessions ----

/// Adds a session.
pub fn create_session<C: GenericClient>(
    db: &mut Db<'_, C>,
    s: &StoredSession,
) -> Result<(), StoreError> {
    db.execute(
        "INSERT INTO sessions (refresh_hash, access_hash, family, user_id, created, expires_at,
                               refresh_expires_at, rotated)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        &[
            &&s.refresh_hash[..],
            &&s.access_hash[..],
            &&s.family.0[..],
            &&s.user.as_bytes()[..],
            &s.created,
            &s.expires_at,
            &s.refresh_expires_at,
            &s.rotated,
        ],
    )
    .map(drop)
    .map_err(|e| backend("create a session", e))
}

const SESSION_COLS: &str = "SELECT refresh_hash, access_hash, family, user_id, created, \
                            expires_at, refresh_expires_at, rotated FROM sessions";

fn session_from(r: &Row) -> Result<StoredSession, StoreError> {
    let w = "read session";
    let hash = |v: Vec<u8>| {
        <[u8; 32]>::try_from(v).map_err(|_| corrupt(&format!("{w}: a hash is not 32 bytes")))
    };
    Ok(StoredSession {
        refresh_hash: hash(get(r, 0, w)?)?,
        access_hash: hash(get(r, 1, w)?)?,
        family: SessionFamily(id16(get(r, 2, w)?, w)?),
        user: UserId::from_bytes(id16(get(r, 3, w)?, w)?),
        created: get(r, 4, w)?,
        expires_at: get(r, 5, w)?,
        refresh_expires_at: get(r, 6, w)?,
        rotated: get(r, 7, w)?,
    })
}

fn session_where<C: GenericClient>(
    db: &mut Db<'_, C>,
    column: &str,
    hash: &[u8; 32],
) -> Result<Option<StoredSession>, StoreError> {
    db.query_opt(
        &format!("{SESSION_COLS} WHERE {column} = $1"),
        &[&&hash[..]],
    )
    .map_err(|e| backend("read session", e))?
    .as_ref()
    .map(session_from)
    .transpose()
}

/// The session of an access token's hash.
pub fn session_by_access<C: GenericClient>(
    db: &mut Db<'_, C>,
    hash: &[u8; 32],
) -> Result<Option<StoredSession>, StoreError> {
    session_where(db, "access_hash", hash)
}

/// The session of a refresh token's hash.
pub fn session_by_refresh<C: GenericClient>(
    db: &mut Db<'_, C>,
    hash: &[u8; 32],
) -> Result<Option<StoredSession>, StoreError> {
    session_where(db, "refresh_hash", hash)
}

/// Spends a refresh token (its access token dies with it) and adds `next`;
/// `false` when the token was already spent or is gone. The UPDATE's
/// condition is checked again on the latest row after a concurrent
/// rotation commits, so of two rotations with one token one succeeds.
pub fn rotate_session<C: GenericClient>(
    db: &mut Db<'_, C>,
    old_refresh_hash: &[u8; 32],
    next: &StoredSession,
) -> Result<bool, StoreError> {
    let n = db
        .execute(
            "UPDATE sessions SET rotated = TRUE, expires_at = LEAST(expires_at, $2)
             WHERE refresh_hash = $1 AND NOT rotated",
            &[&&old_refresh_hash[..], &next.created],
        )
        .map_err(|e| backend("rotate a session", e))?;
    if n == 0 {
        return Ok(false);
    }
    create_session(db, next)?;
    Ok(true)
}

/// Deletes a session family.
pub fn delete_session_family<C: GenericClient>(
    db: &mut Db<'_, C>,
    family: SessionFamily,
) -> Result<(), StoreError> {
    db.execute("DELETE FROM sessions WHERE family = $1", &[&&family.0[..]])
        .map(drop)
        .map_err(|e| backend("delete a session", e))
}

/// Deletes a user's sessions, except those of family `keep`.
pub fn delete_user_sessions<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: UserId,
    keep: Option<SessionFamily>,
) -> Result<(), StoreError> {
    // A family of 16 bytes never equals the empty bytes: `None` keeps nothing.
    let keep = keep.map(|f| f.0.to_vec()).unwrap_or_default();
    db.execute(
        "DELETE FROM sessions WHERE user_id = $1 AND family <> $2",
        &[&&id.as_bytes()[..], &keep],
    )
    .map(drop)
    .map_err(|e| backend("delete the sessions of a user", e))
}

/// Deletes the sessions whose refresh token expired; returns how many.
pub fn prune_sessions<C: GenericClient>(
    db: &mut Db<'_, C>,
    now: Timestamp,
) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM sessions WHERE refresh_expires_at <= $1",
        &[&now],
    )
    .map_err(|e| backend("prune sessions", e))
}

// ---- account lifecycle ----

/// Enables or disables an account.
pub fn set_account_enabled<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: AccountId,
    enabled: bool,
) -> Result<(), StoreError> {
    let n = db
        .execute(
            "UPDATE accounts SET enabled = $2 WHERE id = $1",
            &[&&id.as_bytes()[..], &enabled],
        )
        .map_err(|e| backend(&format!("enable or disable account {id}"), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    Ok(())
}

/// Deletes an account and everything it holds but its audit chain; refused
/// while it holds an object that is not destroyed. The account's row is
/// locked first: an insert that names it (an object, an app…) waits for this
/// transaction, then fails on the foreign key.
pub fn delete_account<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: AccountId,
) -> Result<(), StoreError> {
    let what = format!("delete account {id}");
    let key = &id.as_bytes()[..];
    let exists = db
        .query_opt("SELECT 1 FROM accounts WHERE id = $1 FOR UPDATE", &[&key])
        .map_err(|e| backend(&what, e))?;
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    let destroyed = vec![
        i64::from(State::DESTROYED.0),
        i64::from(State::DESTROYED_COMPROMISED.0),
    ];
    let live: i64 = db
        .query_one(
            "SELECT COUNT(*) FROM objects WHERE account = $1 AND NOT (state = ANY($2))",
            &[&key, &destroyed],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| backend(&what, e))?;
    if live > 0 {
        return Err(StoreError::Conflict(format!(
            "account {id} still holds {live} security object(s) that are not destroyed: \
             destroy them before deleting the account"
        )));
    }
    // Children first, as in SQLite: the foreign keys towards accounts do not cascade.
    for sql in [
        "DELETE FROM app_certs WHERE account = $1",
        "DELETE FROM apps WHERE account = $1",
        "DELETE FROM users WHERE account = $1",
        "DELETE FROM object_attrs WHERE account = $1",
        "DELETE FROM objects WHERE account = $1",
        "DELETE FROM user_group_roles WHERE account = $1",
        "DELETE FROM groups WHERE account = $1",
        "DELETE FROM account_cas WHERE account = $1",
        "DELETE FROM accounts WHERE id = $1",
    ] {
        db.execute(sql, &[&key]).map_err(|e| backend(&what, e))?;
    }
    Ok(())
}

fn count<C: GenericClient>(
    db: &mut Db<'_, C>,
    sql: &str,
    account: AccountId,
) -> Result<u64, StoreError> {
    db.query_one(sql, &[&&account.as_bytes()[..]])
        .and_then(|r| r.try_get::<_, i64>(0))
        .map(|n| n.max(0) as u64)
        .map_err(|e| backend("count an account's contents", e))
}

/// What an account holds, counted; run inside one snapshot.
pub fn account_usage<C: GenericClient>(
    db: &mut Db<'_, C>,
    account: AccountId,
) -> Result<AccountUsage, StoreError> {
    let exists = count(db, "SELECT COUNT(*) FROM accounts WHERE id = $1", account)?;
    if exists == 0 {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let w = "count an account's objects";
    let objects_by_state = db
        .query(
            "SELECT state, COUNT(*) FROM objects WHERE account = $1 GROUP BY state ORDER BY state",
            &[&&account.as_bytes()[..]],
        )
        .map_err(|e| backend(w, e))?
        .iter()
        .map(|r| {
            let n: i64 = get(r, 1, w)?;
            Ok((State(u32_of(get(r, 0, w)?, w)?), n.max(0) as u64))
        })
        .collect::<Result<_, StoreError>>()?;
    Ok(AccountUsage {
        apps: count(db, "SELECT COUNT(*) FROM apps WHERE account = $1", account)?,
        users: count(db, "SELECT COUNT(*) FROM users WHERE account = $1", account)?,
        groups: count(
            db,
            "SELECT COUNT(*) FROM groups WHERE account = $1",
            account,
        )?,
        objects_by_state,
    })
}
