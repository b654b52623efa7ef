//! The SQL of users, their group roles and lockout counters, sign-in
//! sessions, and the lifecycle of accounts (disable, delete, usage counts).

use super::error::{backend, corrupt};
use super::rows::id16;
use kmip::enums::State;
use rusqlite::{params, Connection, OptionalExtension, Row};
use skms_core::ids::{AccountId, GroupId, UserId};
use skms_core::model::{
    AccountUsage, GroupRole, Lockout, Role, SecretHash, SessionFamily, StoredSession, Timestamp,
    User,
};
use skms_core::store::StoreError;

// ---- users ----

/// Adds a user.
pub fn create_user(c: &Connection, u: &User) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO users (id, account, name, role, password_hash, enabled, created,
                            must_change_password, failed_logins, locked_until)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )
    .and_then(|mut s| {
        s.execute(params![
            &u.id.as_bytes()[..],
            u.account.map(|a| a.as_bytes().to_vec()),
            u.name,
            u.role.as_str(),
            u.password_hash.0,
            u.enabled,
            u.created,
            u.must_change_password,
            u.failed_logins,
            u.locked_until
        ])
    })
    .map(drop)
    .map_err(|e| backend(&format!("create user {:?}", u.name), e))
}

/// Replaces a user's name, role, password, `must_change_password` and enabled
/// flag (its account and lockout counters stay).
pub fn update_user(c: &Connection, u: &User) -> Result<(), StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE users SET name = ?2, role = ?3, password_hash = ?4, enabled = ?5,
                              must_change_password = ?6
             WHERE id = ?1",
        )
        .and_then(|mut s| {
            s.execute(params![
                &u.id.as_bytes()[..],
                u.name,
                u.role.as_str(),
                u.password_hash.0,
                u.enabled,
                u.must_change_password
            ])
        })
        .map_err(|e| backend(&format!("update user {:?}", u.name), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {:?}", u.name)));
    }
    Ok(())
}

/// Deletes a user; its sessions and group roles go with it (ON DELETE CASCADE).
pub fn delete_user(c: &Connection, id: UserId) -> Result<(), StoreError> {
    let n = c
        .prepare_cached("DELETE FROM users WHERE id = ?1")
        .and_then(|mut s| s.execute([&id.as_bytes()[..]]))
        .map_err(|e| backend(&format!("delete user {id}"), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("user {id}")));
    }
    Ok(())
}

/// Counts a failed sign-in and sets the lock `lockout` gives; the writer runs
/// one write at a time, so reading then writing here is atomic.
pub fn record_login_failure(
    c: &Connection,
    id: UserId,
    now: Timestamp,
    lockout: &Lockout,
) -> Result<Option<User>, StoreError> {
    let what = "record a failed sign-in";
    let Some(mut user) = user(c, id)? else {
        return Ok(None);
    };
    user.failed_logins = user.failed_logins.saturating_add(1);
    user.locked_until = lockout.locked_until(user.failed_logins, now);
    c.prepare_cached("UPDATE users SET failed_logins = ?2, locked_until = ?3 WHERE id = ?1")
        .and_then(|mut s| {
            s.execute(params![
                &id.as_bytes()[..],
                user.failed_logins,
                user.locked_until
            ])
        })
        .map_err(|e| backend(what, e))?;
    Ok(Some(user))
}

/// Clears a user's failed sign-ins and lock.
pub fn record_login_success(c: &Connection, id: UserId) -> Result<(), StoreError> {
    c.prepare_cached("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = ?1")
        .and_then(|mut s| s.execute([&id.as_bytes()[..]]))
        .map(drop)
        .map_err(|e| backend("record a sign-in", e))
}

type UserRaw = (
    Vec<u8>,
    Option<Vec<u8>>,
    String,
    String,
    String,
    bool,
    i64,
    bool,
    u32,
    Option<i64>,
);

fn user_raw(r: &Row) -> rusqlite::Result<UserRaw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn user_from(raw: UserRaw) -> Result<User, StoreError> {
    Ok(User {
        id: UserId::from_bytes(id16(raw.0, "user")?),
        account: raw
            .1
            .map(|a| id16(a, "user").map(AccountId::from_bytes))
            .transpose()?,
        name: raw.2,
        role: Role::parse(&raw.3)
            .ok_or_else(|| corrupt(&format!("read user: unknown role {:?}", raw.3)))?,
        password_hash: SecretHash(raw.4),
        enabled: raw.5,
        created: raw.6,
        must_change_password: raw.7,
        failed_logins: raw.8,
        locked_until: raw.9,
    })
}

const USER_COLS: &str = "SELECT id, account, name, role, password_hash, enabled, created, \
                         must_change_password, failed_logins, locked_until FROM users";

/// A user by login name.
pub fn user_by_name(c: &Connection, name: &str) -> Result<Option<User>, StoreError> {
    c.prepare_cached(&format!("{USER_COLS} WHERE name = ?1"))
        .and_then(|mut s| s.query_row([name], user_raw).optional())
        .map_err(|e| backend("read user", e))?
        .map(user_from)
        .transpose()
}

/// A user by id.
pub fn user(c: &Connection, id: UserId) -> Result<Option<User>, StoreError> {
    c.prepare_cached(&format!("{USER_COLS} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([&id.as_bytes()[..]], user_raw).optional())
        .map_err(|e| backend("read user", e))?
        .map(user_from)
        .transpose()
}

/// The users of `account` (`None`: the sysadmins), by name.
pub fn users(c: &Connection, account: Option<AccountId>) -> Result<Vec<User>, StoreError> {
    let rows = match account {
        Some(a) => c
            .prepare_cached(&format!("{USER_COLS} WHERE account = ?1 ORDER BY name"))
            .and_then(|mut s| {
                s.query_map([&a.as_bytes()[..]], user_raw)?
                    .collect::<Result<Vec<_>, _>>()
            }),
        None => c
            .prepare_cached(&format!("{USER_COLS} WHERE account IS NULL ORDER BY name"))
            .and_then(|mut s| s.query_map([], user_raw)?.collect::<Result<Vec<_>, _>>()),
    };
    rows.map_err(|e| backend("list users", e))?
        .into_iter()
        .map(user_from)
        .collect()
}

// ---- group roles ----

/// The roles a user holds on groups, by group id.
pub fn user_group_roles(
    c: &Connection,
    id: UserId,
) -> Result<Vec<(GroupId, GroupRole)>, StoreError> {
    let what = "read group roles";
    c.prepare_cached("SELECT grp, role FROM user_group_roles WHERE user_id = ?1 ORDER BY grp")
        .and_then(|mut s| {
            s.query_map([&id.as_bytes()[..]], |r| {
                Ok((r.get::<_, Vec<u8>>(0)?, r.get::<_, String>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend(what, e))?
        .into_iter()
        .map(|(g, role)| {
            Ok((
                GroupId::from_bytes(id16(g, what)?),
                GroupRole::parse(&role)
                    .ok_or_else(|| corrupt(&format!("{what}: unknown role {role:?}")))?,
            ))
        })
        .collect()
}

/// Replaces a user's group roles. The rows name the user's own account, so the
/// foreign keys refuse a group of another account (and a sysadmin, who has none).
pub fn set_user_group_roles(
    c: &Connection,
    id: UserId,
    roles: &[(GroupId, GroupRole)],
) -> Result<(), StoreError> {
    let what = format!("set the group roles of user {id}");
    let account: Option<Vec<u8>> = c
        .prepare_cached("SELECT account FROM users WHERE id = ?1")
        .and_then(|mut s| {
            s.query_row([&id.as_bytes()[..]], |r| r.get::<_, Option<Vec<u8>>>(0))
                .optional()
        })
        .map_err(|e| backend(&what, e))?
        .ok_or_else(|| StoreError::NotFound(format!("user {id}")))?;
    let Some(account) = account else {
        if roles.is_empty() {
            return Ok(());
        }
        return Err(StoreError::NotFound(format!(
            "{what}: a sysadmin belongs to no account, so to no group"
        )));
    };
    c.prepare_cached("DELETE FROM user_group_roles WHERE user_id = ?1")
        .and_then(|mut s| s.execute([&id.as_bytes()[..]]))
        .map_err(|e| backend(&what, e))?;
    let mut insert = c
        .prepare_cached(
            "INSERT INTO user_group_roles (user_id, account, grp, role) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(|e| backend(&what, e))?;
    for (g, role) in roles {
        insert
            .execute(params![
                &id.as_bytes()[..],
                account,
                &g.as_bytes()[..],
                role.as_str()
            ])
            .map_err(|e| backend(&what, e))?;
    }
    Ok(())
}

// ---- sessions ----

/// Adds a session.
pub fn create_session(c: &Connection, s: &StoredSession) -> Result<(), StoreError> {
    c.prepare_cached(
        "INSERT INTO sessions (refresh_hash, access_hash, family, user_id, created, expires_at,
                               refresh_expires_at, rotated)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )
    .and_then(|mut st| {
        st.execute(params![
            &s.refresh_hash[..],
            &s.access_hash[..],
            &s.family.0[..],
            &s.user.as_bytes()[..],
            s.created,
            s.expires_at,
            s.refresh_expires_at,
            s.rotated
        ])
    })
    .map(drop)
    .map_err(|e| backend("create a session", e))
}

const SESSION_COLS: &str = "SELECT refresh_hash, access_hash, family, user_id, created, \
                            expires_at, refresh_expires_at, rotated FROM sessions";

type SessionRaw = (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>, i64, i64, i64, bool);

fn session_raw(r: &Row) -> rusqlite::Result<SessionRaw> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
    ))
}

fn session_from(raw: SessionRaw) -> Result<StoredSession, StoreError> {
    let what = "read session";
    let hash = |v: Vec<u8>| {
        <[u8; 32]>::try_from(v).map_err(|_| corrupt(&format!("{what}: a hash is not 32 bytes")))
    };
    Ok(StoredSession {
        refresh_hash: hash(raw.0)?,
        access_hash: hash(raw.1)?,
        family: SessionFamily(id16(raw.2, what)?),
        user: UserId::from_bytes(id16(raw.3, what)?),
        created: raw.4,
        expires_at: raw.5,
        refresh_expires_at: raw.6,
        rotated: raw.7,
    })
}

fn session_where(
    c: &Connection,
    column: &str,
    hash: &[u8; 32],
) -> Result<Option<StoredSession>, StoreError> {
    c.prepare_cached(&format!("{SESSION_COLS} WHERE {column} = ?1"))
        .and_then(|mut s| s.query_row([&hash[..]], session_raw).optional())
        .map_err(|e| backend("read session", e))?
        .map(session_from)
        .transpose()
}

/// The session of an access token's hash.
pub fn session_by_access(
    c: &Connection,
    hash: &[u8; 32],
) -> Result<Option<StoredSession>, StoreError> {
    session_where(c, "access_hash", hash)
}

/// The session of a refresh token's hash.
pub fn session_by_refresh(
    c: &Connection,
    hash: &[u8; 32],
) -> Result<Option<StoredSession>, StoreError> {
    session_where(c, "refresh_hash", hash)
}

/// Spends a refresh token (its access token dies with it) and adds `next`;
/// `false` when the token was already spent or is gone.
pub fn rotate_session(
    c: &Connection,
    old_refresh_hash: &[u8; 32],
    next: &StoredSession,
) -> Result<bool, StoreError> {
    let n = c
        .prepare_cached(
            "UPDATE sessions SET rotated = 1, expires_at = min(expires_at, ?2)
             WHERE refresh_hash = ?1 AND rotated = 0",
        )
        .and_then(|mut s| s.execute(params![&old_refresh_hash[..], next.created]))
        .map_err(|e| backend("rotate a session", e))?;
    if n == 0 {
        return Ok(false);
    }
    create_session(c, next)?;
    Ok(true)
}

/// Deletes a session family.
pub fn delete_session_family(c: &Connection, family: SessionFamily) -> Result<(), StoreError> {
    c.prepare_cached("DELETE FROM sessions WHERE family = ?1")
        .and_then(|mut s| s.execute([&family.0[..]]))
        .map(drop)
        .map_err(|e| backend("delete a session", e))
}

/// Deletes a user's sessions, except those of family `keep`.
pub fn delete_user_sessions(
    c: &Connection,
    id: UserId,
    keep: Option<SessionFamily>,
) -> Result<(), StoreError> {
    // A family of 16 bytes never equals the empty blob: `None` keeps nothing.
    let keep = keep.map(|f| f.0.to_vec()).unwrap_or_default();
    c.prepare_cached("DELETE FROM sessions WHERE user_id = ?1 AND family <> ?2")
        .and_then(|mut s| s.execute(params![&id.as_bytes()[..], keep]))
        .map(drop)
        .map_err(|e| backend("delete the sessions of a user", e))
}

/// Deletes the sessions whose refresh token expired; returns how many.
pub fn prune_sessions(c: &Connection, now: Timestamp) -> Result<u64, StoreError> {
    c.prepare_cached("DELETE FROM sessions WHERE refresh_expires_at <= ?1")
        .and_then(|mut s| s.execute([now]))
        .map(|n| n as u64)
        .map_err(|e| backend("prune sessions", e))
}

// ---- account lifecycle ----

/// Enables or disables an account.
pub fn set_account_enabled(c: &Connection, id: AccountId, enabled: bool) -> Result<(), StoreError> {
    let n = c
        .prepare_cached("UPDATE accounts SET enabled = ?2 WHERE id = ?1")
        .and_then(|mut s| s.execute(params![&id.as_bytes()[..], enabled]))
        .map_err(|e| backend(&format!("enable or disable account {id}"), e))?;
    if n == 0 {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    Ok(())
}

/// The stored states of an object whose key material is gone.
fn destroyed_states() -> [i64; 2] {
    [
        i64::from(State::DESTROYED.0),
        i64::from(State::DESTROYED_COMPROMISED.0),
    ]
}

/// Deletes an account and everything it holds but its audit chain; refused
/// while it holds an object that is not destroyed.
pub fn delete_account(c: &Connection, id: AccountId) -> Result<(), StoreError> {
    let what = format!("delete account {id}");
    let key = &id.as_bytes()[..];
    let exists = c
        .prepare_cached("SELECT 1 FROM accounts WHERE id = ?1")
        .and_then(|mut s| s.query_row([key], |_| Ok(())).optional())
        .map_err(|e| backend(&what, e))?;
    if exists.is_none() {
        return Err(StoreError::NotFound(format!("account {id}")));
    }
    let [d, dc] = destroyed_states();
    let live: i64 = c
        .prepare_cached("SELECT COUNT(*) FROM objects WHERE account = ?1 AND state NOT IN (?2, ?3)")
        .and_then(|mut s| s.query_row(params![key, d, dc], |r| r.get(0)))
        .map_err(|e| backend(&what, e))?;
    if live > 0 {
        return Err(StoreError::Conflict(format!(
            "account {id} still holds {live} security object(s) that are not destroyed: \
             destroy them before deleting the account"
        )));
    }
    // Children first: the foreign keys have no ON DELETE CASCADE towards
    // accounts. A table added later that names an account or its objects,
    // groups, apps or users joins this list.
    for sql in [
        "DELETE FROM app_certs WHERE account = ?1",
        "DELETE FROM apps WHERE account = ?1",
        "DELETE FROM users WHERE account = ?1",
        "DELETE FROM object_attrs WHERE account = ?1",
        "DELETE FROM objects WHERE account = ?1",
        "DELETE FROM user_group_roles WHERE account = ?1",
        "DELETE FROM groups WHERE account = ?1",
        "DELETE FROM account_cas WHERE account = ?1",
        "DELETE FROM accounts WHERE id = ?1",
    ] {
        c.prepare_cached(sql)
            .and_then(|mut s| s.execute([key]))
            .map_err(|e| backend(&what, e))?;
    }
    Ok(())
}

fn count(c: &Connection, sql: &str, account: AccountId) -> Result<u64, StoreError> {
    c.prepare_cached(sql)
        .and_then(|mut s| s.query_row([&account.as_bytes()[..]], |r| r.get::<_, i64>(0)))
        .map(|n| n.max(0) as u64)
        .map_err(|e| backend("count an account's contents", e))
}

/// What an account holds, counted; run inside one read transaction.
pub fn account_usage(c: &Connection, account: AccountId) -> Result<AccountUsage, StoreError> {
    let exists = count(c, "SELECT COUNT(*) FROM accounts WHERE id = ?1", account)?;
    if exists == 0 {
        return Err(StoreError::NotFound(format!("account {account}")));
    }
    let objects_by_state = c
        .prepare_cached(
            "SELECT state, COUNT(*) FROM objects WHERE account = ?1 GROUP BY state ORDER BY state",
        )
        .and_then(|mut s| {
            s.query_map([&account.as_bytes()[..]], |r| {
                Ok((r.get::<_, u32>(0)?, r.get::<_, i64>(1)?))
            })?
            .collect::<Result<Vec<_>, _>>()
        })
        .map_err(|e| backend("count an account's objects", e))?
        .into_iter()
        .map(|(state, n)| (State(state), n.max(0) as u64))
        .collect();
    Ok(AccountUsage {
        apps: count(c, "SELECT COUNT(*) FROM apps WHERE account = ?1", account)?,
        users: count(c, "SELECT COUNT(*) FROM users WHERE account = ?1", account)?,
        groups: count(c, "SELECT COUNT(*) FROM groups WHERE account = ?1", account)?,
        objects_by_state,
    })
}
