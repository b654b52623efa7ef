//! Versioned schema migrations, in code. Each migration runs once, in order;
//! all pending ones run in one transaction, so a crash mid-way leaves the
//! previous version intact. A database from a newer binary is refused rather
//! than guessed at.

use super::error::backend;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use skms_core::store::StoreError;

/// The migrations, version `i + 1` at index `i`. Append only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: tenancy and security objects.
    r#"
CREATE TABLE accounts (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    name        TEXT NOT NULL UNIQUE,
    enabled     INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    wrapped_key BLOB NOT NULL
);

CREATE TABLE groups (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    account     BLOB NOT NULL REFERENCES accounts (id),
    name        TEXT NOT NULL,
    description TEXT NOT NULL,
    created     INTEGER NOT NULL,
    UNIQUE (account, name),
    -- the target of the (account, group) foreign keys below: a row can only
    -- name a group of its own account
    UNIQUE (account, id)
);

CREATE TABLE apps (
    id            BLOB PRIMARY KEY CHECK (length(id) = 16),
    account       BLOB NOT NULL REFERENCES accounts (id),
    name          TEXT NOT NULL,
    description   TEXT NOT NULL,
    kmip          INTEGER NOT NULL,
    rest          INTEGER NOT NULL,
    auth_method   TEXT NOT NULL,
    default_group BLOB NOT NULL,
    enabled       INTEGER NOT NULL,
    secret_hash   TEXT NOT NULL,
    created       INTEGER NOT NULL,
    UNIQUE (account, name),
    FOREIGN KEY (account, default_group) REFERENCES groups (account, id)
);

-- position keeps the order of the app's lists, so an app reads back equal
CREATE TABLE app_groups (
    app      BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    account  BLOB NOT NULL,
    grp      BLOB NOT NULL,
    PRIMARY KEY (app, position),
    FOREIGN KEY (account, grp) REFERENCES groups (account, id)
);
CREATE INDEX app_groups_by_group ON app_groups (grp);

CREATE TABLE app_pinned_certs (
    app      BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    sha256   BLOB NOT NULL CHECK (length(sha256) = 32),
    PRIMARY KEY (app, position)
);
CREATE INDEX app_pinned_certs_by_sha256 ON app_pinned_certs (sha256);

CREATE TABLE app_trusted_cas (
    app      BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position INTEGER NOT NULL,
    der      BLOB NOT NULL,
    PRIMARY KEY (app, position)
);

CREATE TABLE objects (
    id          BLOB PRIMARY KEY CHECK (length(id) = 16),
    account     BLOB NOT NULL REFERENCES accounts (id),
    group_id    BLOB NOT NULL,
    object_type INTEGER NOT NULL,
    state       INTEGER NOT NULL,
    attributes  BLOB NOT NULL,
    sealed      BLOB,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    FOREIGN KEY (account, group_id) REFERENCES groups (account, id)
);
-- Locate: by account, type and state, then oldest first
CREATE INDEX objects_locate ON objects (account, object_type, state, created, id);
CREATE INDEX objects_by_group ON objects (account, group_id, created, id);
"#,
    // 2: people who manage (sysadmins, account admins); app secrets kept sealed
    // under the account key so that an admin can view them again.
    r#"
CREATE TABLE users (
    id            BLOB PRIMARY KEY CHECK (length(id) = 16),
    account       BLOB REFERENCES accounts (id),
    name          TEXT NOT NULL UNIQUE,
    role          TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    enabled       INTEGER NOT NULL,
    created       INTEGER NOT NULL,
    -- a sysadmin has no account; everyone else has one
    CHECK ((role = 'sysadmin') = (account IS NULL))
);
CREATE INDEX users_by_account ON users (account, name);

ALTER TABLE apps ADD COLUMN sealed_secret BLOB NOT NULL DEFAULT x'';
"#,
    // 3: the audit log: one hash chain per account (chain = the account id) and
    // one for the provider (chain = 16 zero bytes); `audit_heads` holds each
    // chain's last record, the row a writer locks to extend it.
    r#"
CREATE TABLE audit (
    chain      BLOB NOT NULL CHECK (length(chain) = 16),
    seq        INTEGER NOT NULL CHECK (seq >= 1),
    time_ms    INTEGER NOT NULL,
    actor_kind TEXT NOT NULL,
    actor      TEXT NOT NULL,
    source     TEXT NOT NULL,
    operation  TEXT NOT NULL,
    object     TEXT,
    result     TEXT NOT NULL,
    reason     TEXT,
    message    TEXT,
    prev_hash  BLOB NOT NULL CHECK (length(prev_hash) = 32),
    hash       BLOB NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (chain, seq)
) WITHOUT ROWID;
CREATE INDEX audit_by_time ON audit (chain, time_ms, seq);
CREATE INDEX audit_by_actor ON audit (chain, actor, seq);
CREATE INDEX audit_by_object ON audit (chain, object, seq);
CREATE INDEX audit_by_operation ON audit (chain, operation, seq);

CREATE TABLE audit_heads (
    chain BLOB PRIMARY KEY CHECK (length(chain) = 16),
    seq   INTEGER NOT NULL,
    hash  BLOB NOT NULL CHECK (length(hash) = 32)
) WITHOUT ROWID;
"#,
    // 4: each account's CA (its certificate, and its PKCS#8 private key sealed
    // under the account key); and the certificates an app holds kept whole
    // (app_pinned_certs keeps only the fingerprint authentication looks up), so
    // that their subject and expiry can be shown. Accounts created before this
    // migration get their CA on first use.
    r#"
CREATE TABLE account_cas (
    account    BLOB PRIMARY KEY CHECK (length(account) = 16) REFERENCES accounts (id),
    cert_der   BLOB NOT NULL,
    sealed_key BLOB NOT NULL,
    created    INTEGER NOT NULL
);

CREATE TABLE app_certs (
    app     BLOB NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    account BLOB NOT NULL REFERENCES accounts (id),
    sha256  BLOB NOT NULL CHECK (length(sha256) = 32),
    der     BLOB NOT NULL,
    origin  TEXT NOT NULL CHECK (origin IN ('uploaded', 'issued', 'signed')),
    added   INTEGER NOT NULL,
    PRIMARY KEY (app, sha256)
);
CREATE INDEX app_certs_by_account ON app_certs (account, added);
"#,
];

/// The schema version this binary writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the schema to [`LATEST`]; refuses a database of a newer version.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    // IMMEDIATE: two processes opening the same fresh file do not both migrate it.
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(|e| backend("begin migration", e))?;
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version INTEGER PRIMARY KEY,
             applied INTEGER NOT NULL
         )",
    )
    .map_err(|e| backend("create schema_version", e))?;
    let current: i64 = tx
        .query_row("SELECT MAX(version) FROM schema_version", [], |r| {
            r.get::<_, Option<i64>>(0)
        })
        .optional()
        .map_err(|e| backend("read schema_version", e))?
        .flatten()
        .unwrap_or(0);
    if current > LATEST {
        return Err(StoreError::Corrupt(format!(
            "the database schema is version {current}, newer than the version {LATEST} \
             this binary knows: run a newer skms (or restore a matching backup)"
        )));
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let version = i as i64 + 1;
        tx.execute_batch(sql)
            .map_err(|e| backend(&format!("migration {version}"), e))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied) VALUES (?1, ?2)",
            (version, now),
        )
        .map_err(|e| backend(&format!("record migration {version}"), e))?;
    }
    tx.commit().map_err(|e| backend("commit migration", e))
}

/// The version recorded in the database.
#[cfg(test)]
pub fn version(conn: &Connection) -> i64 {
    conn.query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
        .unwrap()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrating_twice_is_a_no_op_and_newer_is_refused() {
        let mut c = Connection::open_in_memory().unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c), LATEST);
        migrate(&mut c).unwrap();
        assert_eq!(version(&c), LATEST);
        let rows: i64 = c
            .query_row("SELECT COUNT(*) FROM schema_version", [], |r| r.get(0))
            .unwrap();
        assert_eq!(rows, LATEST);
        c.execute(
            "INSERT INTO schema_version (version, applied) VALUES (?1, 0)",
            [LATEST + 1],
        )
        .unwrap();
        let e = migrate(&mut c).unwrap_err();
        assert!(matches!(e, StoreError::Corrupt(_)), "{e}");
        assert!(e.to_string().contains("newer"), "{e}");
    }
}
