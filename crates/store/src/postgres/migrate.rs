//! Versioned schema migrations for PostgreSQL, in code. All pending ones run
//! in one transaction (PostgreSQL's DDL is transactional), under a
//! transaction-scoped advisory lock: when several nodes start at once, one
//! migrates and the others wait for it, then find nothing left to do. A
//! database from a newer binary is refused rather than guessed at.
//!
//! The versions count on their own: PostgreSQL version 1 is the logical
//! schema of SQLite version 6 (the same tables, columns and indexes), with
//! PostgreSQL's types: BYTEA for identifiers and blobs, BIGINT for every
//! integer and timestamp (so values compare as SQLite's do), BOOLEAN for
//! flags, and names in the "C" collation (byte order, SQLite's BINARY).

use super::db::Db;
use super::error::backend;
use postgres::Client;
use skms_core::store::StoreError;

/// The key of the advisory lock migrations hold (an arbitrary constant: "skms" + "schema").
const LOCK_KEY: i64 = 0x736b_6d73_5343_4845;

/// The migrations, version `i + 1` at index `i`. Append only: never edit one that has shipped.
const MIGRATIONS: &[&str] = &[
    // 1: everything SQLite versions 1 to 6 hold. See sqlite/migrate.rs for why each part exists.
    r#"
CREATE TABLE accounts (
    id          BYTEA PRIMARY KEY CHECK (length(id) = 16),
    name        TEXT COLLATE "C" NOT NULL UNIQUE,
    enabled     BOOLEAN NOT NULL,
    created     BIGINT NOT NULL,
    wrapped_key BYTEA NOT NULL
);

CREATE TABLE groups (
    id          BYTEA PRIMARY KEY CHECK (length(id) = 16),
    account     BYTEA NOT NULL REFERENCES accounts (id),
    name        TEXT COLLATE "C" NOT NULL,
    description TEXT NOT NULL,
    created     BIGINT NOT NULL,
    UNIQUE (account, name),
    -- the target of the (account, group) foreign keys below: a row can only
    -- name a group of its own account
    UNIQUE (account, id)
);

CREATE TABLE apps (
    id            BYTEA PRIMARY KEY CHECK (length(id) = 16),
    account       BYTEA NOT NULL REFERENCES accounts (id),
    name          TEXT COLLATE "C" NOT NULL,
    description   TEXT NOT NULL,
    kmip          BOOLEAN NOT NULL,
    rest          BOOLEAN NOT NULL,
    auth_method   TEXT NOT NULL,
    default_group BYTEA NOT NULL,
    enabled       BOOLEAN NOT NULL,
    secret_hash   TEXT NOT NULL,
    created       BIGINT NOT NULL,
    sealed_secret BYTEA NOT NULL DEFAULT '\x',
    UNIQUE (account, name),
    FOREIGN KEY (account, default_group) REFERENCES groups (account, id)
);

CREATE TABLE app_groups (
    app      BYTEA NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    account  BYTEA NOT NULL,
    grp      BYTEA NOT NULL,
    PRIMARY KEY (app, position),
    FOREIGN KEY (account, grp) REFERENCES groups (account, id)
);
CREATE INDEX app_groups_by_group ON app_groups (grp);

CREATE TABLE app_pinned_certs (
    app      BYTEA NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    sha256   BYTEA NOT NULL CHECK (length(sha256) = 32),
    PRIMARY KEY (app, position)
);
CREATE INDEX app_pinned_certs_by_sha256 ON app_pinned_certs (sha256);

CREATE TABLE app_trusted_cas (
    app      BYTEA NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    position BIGINT NOT NULL,
    der      BYTEA NOT NULL,
    PRIMARY KEY (app, position)
);

-- sort_name is the first Name's UTF-8 bytes: BYTEA orders as SQLite's BINARY
-- text does and holds any text the client sent.
CREATE TABLE objects (
    id            BYTEA PRIMARY KEY CHECK (length(id) = 16),
    account       BYTEA NOT NULL REFERENCES accounts (id),
    group_id      BYTEA NOT NULL,
    object_type   BIGINT NOT NULL,
    state         BIGINT NOT NULL,
    attributes    BYTEA NOT NULL,
    sealed        BYTEA,
    created       BIGINT NOT NULL,
    updated       BIGINT NOT NULL,
    algorithm     BIGINT,
    crypto_length BIGINT,
    creator       BYTEA,
    sort_name     BYTEA NOT NULL DEFAULT '\x',
    activation    BIGINT,
    deactivation  BIGINT,
    FOREIGN KEY (account, group_id) REFERENCES groups (account, id)
);
CREATE INDEX objects_locate ON objects (account, object_type, state, created, id);
CREATE INDEX objects_by_group ON objects (account, group_id, created, id);
CREATE INDEX objects_by_created ON objects (account, created, id);
CREATE INDEX objects_by_updated ON objects (account, updated, id);
CREATE INDEX objects_by_name ON objects (account, sort_name, id);
CREATE INDEX objects_by_creator ON objects (account, creator, created, id);
CREATE INDEX objects_by_algorithm ON objects (account, algorithm, crypto_length, created, id);

-- one row per indexed attribute instance; name is the index key's UTF-8
-- bytes, value a tagged encoding ('t' + UTF-8 text, or 'i' + 8 bytes
-- big-endian) so that the text '7' and the integer 7 stay apart, as in SQLite
CREATE TABLE object_attrs (
    account BYTEA NOT NULL,
    name    BYTEA NOT NULL,
    value   BYTEA NOT NULL,
    object  BYTEA NOT NULL REFERENCES objects (id),
    PRIMARY KEY (account, name, value, object)
);
-- by object: the rows an update replaces, and the probe of each further
-- condition of a search (object first, so a probe is one lookup)
CREATE INDEX object_attrs_by_object ON object_attrs (object, name, value);

CREATE TABLE users (
    id                   BYTEA PRIMARY KEY CHECK (length(id) = 16),
    account              BYTEA REFERENCES accounts (id),
    name                 TEXT COLLATE "C" NOT NULL UNIQUE,
    role                 TEXT NOT NULL
                         CHECK (role IN ('sysadmin', 'account-admin', 'member', 'auditor')),
    password_hash        TEXT NOT NULL,
    enabled              BOOLEAN NOT NULL,
    created              BIGINT NOT NULL,
    must_change_password BOOLEAN NOT NULL DEFAULT FALSE,
    failed_logins        BIGINT NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until         BIGINT,
    CHECK ((role = 'sysadmin') = (account IS NULL)),
    UNIQUE (id, account)
);
CREATE INDEX users_by_account ON users (account, name);

CREATE TABLE user_group_roles (
    user_id BYTEA NOT NULL,
    account BYTEA NOT NULL,
    grp     BYTEA NOT NULL,
    role    TEXT NOT NULL CHECK (role IN ('admin', 'member', 'auditor')),
    PRIMARY KEY (user_id, grp),
    FOREIGN KEY (user_id, account) REFERENCES users (id, account) ON DELETE CASCADE,
    FOREIGN KEY (account, grp) REFERENCES groups (account, id) ON DELETE CASCADE
);
CREATE INDEX user_group_roles_by_group ON user_group_roles (account, grp);

CREATE TABLE sessions (
    refresh_hash       BYTEA PRIMARY KEY CHECK (length(refresh_hash) = 32),
    access_hash        BYTEA NOT NULL UNIQUE CHECK (length(access_hash) = 32),
    family             BYTEA NOT NULL CHECK (length(family) = 16),
    user_id            BYTEA NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created            BIGINT NOT NULL,
    expires_at         BIGINT NOT NULL,
    refresh_expires_at BIGINT NOT NULL,
    rotated            BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX sessions_by_family ON sessions (family);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (refresh_expires_at);

-- the audit log: one hash chain per account (chain = the account id) and one
-- for the provider (16 zero bytes); a writer locks its chain's row of
-- audit_heads (SELECT ... FOR UPDATE) to extend it, so concurrent writers on
-- any number of nodes extend one chain one after the other
CREATE TABLE audit (
    chain      BYTEA NOT NULL CHECK (length(chain) = 16),
    seq        BIGINT NOT NULL CHECK (seq >= 1),
    time_ms    BIGINT NOT NULL,
    actor_kind TEXT NOT NULL,
    actor      TEXT NOT NULL,
    source     TEXT NOT NULL,
    operation  TEXT NOT NULL,
    object     TEXT,
    result     TEXT NOT NULL,
    reason     TEXT,
    message    TEXT,
    prev_hash  BYTEA NOT NULL CHECK (length(prev_hash) = 32),
    hash       BYTEA NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (chain, seq)
);
CREATE INDEX audit_by_time ON audit (chain, time_ms, seq);
CREATE INDEX audit_by_actor ON audit (chain, actor, seq);
CREATE INDEX audit_by_object ON audit (chain, object, seq);
CREATE INDEX audit_by_operation ON audit (chain, operation, seq);

-- seq 0: a chain whose first record is being written (never committed so)
CREATE TABLE audit_heads (
    chain BYTEA PRIMARY KEY CHECK (length(chain) = 16),
    seq   BIGINT NOT NULL,
    hash  BYTEA NOT NULL CHECK (length(hash) = 32)
);

CREATE TABLE account_cas (
    account    BYTEA PRIMARY KEY CHECK (length(account) = 16) REFERENCES accounts (id),
    cert_der   BYTEA NOT NULL,
    sealed_key BYTEA NOT NULL,
    created    BIGINT NOT NULL
);

-- ord: the insertion order SQLite's rowid gives
CREATE TABLE app_certs (
    app     BYTEA NOT NULL REFERENCES apps (id) ON DELETE CASCADE,
    account BYTEA NOT NULL REFERENCES accounts (id),
    sha256  BYTEA NOT NULL CHECK (length(sha256) = 32),
    der     BYTEA NOT NULL,
    origin  TEXT NOT NULL CHECK (origin IN ('uploaded', 'issued', 'signed')),
    added   BIGINT NOT NULL,
    ord     BIGSERIAL NOT NULL,
    PRIMARY KEY (app, sha256)
);
CREATE INDEX app_certs_by_account ON app_certs (account, added, ord);
"#,
    // 2: a cluster of nodes on one database. root_check: what the first
    // node recorded of its root of trust (a zero key wrapped by it), so that a
    // node under another root refuses to start. server_identity: the server CA
    // and server certificates with their keys (sealed under the root, as in the
    // data directory's files), one row, replaced by version (compare-and-set).
    r#"
CREATE TABLE root_check (
    id    BIGINT PRIMARY KEY CHECK (id = 1),
    value BYTEA NOT NULL
);

CREATE TABLE server_identity (
    id           BIGINT PRIMARY KEY CHECK (id = 1),
    version      BIGINT NOT NULL CHECK (version >= 1),
    ca_cert      TEXT NOT NULL,
    ca_key       TEXT NOT NULL,
    server_chain TEXT NOT NULL,
    server_key   TEXT NOT NULL,
    rsa_chain    TEXT,
    rsa_key      TEXT
);
"#,
    // 3: the change feed (SQLite version 8 says why). A trigger also sends a
    // NOTIFY on the channel skms_changes (sent at commit, one per
    // transaction), so that listening nodes poll at once instead of at their
    // next interval.
    r#"
CREATE TABLE changes (
    seq    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity TEXT NOT NULL,
    id     BYTEA NOT NULL,
    at     BIGINT NOT NULL
);
CREATE INDEX changes_by_at ON changes (at);

CREATE FUNCTION skms_note_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO changes (entity, id, at)
        VALUES (TG_ARGV[0], OLD.id, extract(epoch FROM now())::bigint);
    ELSE
        INSERT INTO changes (entity, id, at)
        VALUES (TG_ARGV[0], NEW.id, extract(epoch FROM now())::bigint);
    END IF;
    PERFORM pg_notify('skms_changes', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER accounts_changed AFTER UPDATE OR DELETE ON accounts
    FOR EACH ROW EXECUTE FUNCTION skms_note_change('account');
CREATE TRIGGER apps_changed AFTER INSERT OR UPDATE OR DELETE ON apps
    FOR EACH ROW EXECUTE FUNCTION skms_note_change('app');
CREATE TRIGGER objects_changed AFTER UPDATE OR DELETE ON objects
    FOR EACH ROW EXECUTE FUNCTION skms_note_change('object');
"#,
];

/// The schema version this binary writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the schema to [`LATEST`]; refuses a database of a newer version or
/// one whose encoding is not UTF-8.
pub fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let encoding: String = client
        .query_one("SHOW server_encoding", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| backend("read the database encoding", e))?;
    if !encoding.eq_ignore_ascii_case("UTF8") {
        return Err(StoreError::Backend(format!(
            "the database's encoding is {encoding}: skms needs UTF8 \
             (CREATE DATABASE … ENCODING 'UTF8')"
        )));
    }
    let mut tx = client
        .transaction()
        .map_err(|e| backend("begin migration", e))?;
    // Before anything else: two nodes creating schema_version at once would
    // collide in the catalog; the second waits here until the first commits.
    tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_KEY])
        .map_err(|e| backend("take the migration lock", e))?;
    tx.batch_execute(
        "CREATE TABLE IF NOT EXISTS schema_version (
             version BIGINT PRIMARY KEY,
             applied BIGINT NOT NULL
         )",
    )
    .map_err(|e| backend("create schema_version", e))?;
    let current: i64 = tx
        .query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| backend("read schema_version", e))?;
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
        tx.batch_execute(sql)
            .map_err(|e| backend(&format!("migration {version}"), e))?;
        tx.execute(
            "INSERT INTO schema_version (version, applied) VALUES ($1, $2)",
            &[&version, &now],
        )
        .map_err(|e| backend(&format!("record migration {version}"), e))?;
    }
    tx.commit().map_err(|e| backend("commit migration", e))
}

/// The version recorded in the database (0 before any migration).
pub fn version<C: postgres::GenericClient>(db: &mut Db<'_, C>) -> Result<i64, StoreError> {
    db.query_one("SELECT COALESCE(MAX(version), 0) FROM schema_version", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| backend("read schema_version", e))
}
