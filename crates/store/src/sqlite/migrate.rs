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
    // 5: users of an account with roles (account-admin, member, auditor) and
    // roles on groups; one-time passwords; lockout counters; sign-in sessions.
    // SQLite cannot alter a CHECK, so `users` is rebuilt with its rows (no
    // table referenced it before this migration). Sessions keep only SHA-256
    // digests of their tokens.
    r#"
CREATE TABLE users_v5 (
    id                   BLOB PRIMARY KEY CHECK (length(id) = 16),
    account              BLOB REFERENCES accounts (id),
    name                 TEXT NOT NULL UNIQUE,
    role                 TEXT NOT NULL
                         CHECK (role IN ('sysadmin', 'account-admin', 'member', 'auditor')),
    password_hash        TEXT NOT NULL,
    enabled              INTEGER NOT NULL,
    created              INTEGER NOT NULL,
    must_change_password INTEGER NOT NULL DEFAULT 0,
    failed_logins        INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until         INTEGER,
    -- a sysadmin has no account; everyone else has one
    CHECK ((role = 'sysadmin') = (account IS NULL)),
    -- the target of user_group_roles' (user_id, account) foreign key
    UNIQUE (id, account)
);
INSERT INTO users_v5 (id, account, name, role, password_hash, enabled, created)
    SELECT id, account, name, role, password_hash, enabled, created FROM users;
DROP TABLE users;
ALTER TABLE users_v5 RENAME TO users;
CREATE INDEX users_by_account ON users (account, name);

-- a user's roles on groups of its own account (both foreign keys name the account)
CREATE TABLE user_group_roles (
    user_id BLOB NOT NULL,
    account BLOB NOT NULL,
    grp     BLOB NOT NULL,
    role    TEXT NOT NULL CHECK (role IN ('admin', 'member', 'auditor')),
    PRIMARY KEY (user_id, grp),
    FOREIGN KEY (user_id, account) REFERENCES users (id, account) ON DELETE CASCADE,
    FOREIGN KEY (account, grp) REFERENCES groups (account, id) ON DELETE CASCADE
) WITHOUT ROWID;
CREATE INDEX user_group_roles_by_group ON user_group_roles (account, grp);

-- one row per access/refresh token pair; a sign-in and its refreshes share a family
CREATE TABLE sessions (
    refresh_hash       BLOB PRIMARY KEY CHECK (length(refresh_hash) = 32),
    access_hash        BLOB NOT NULL UNIQUE CHECK (length(access_hash) = 32),
    family             BLOB NOT NULL CHECK (length(family) = 16),
    user_id            BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created            INTEGER NOT NULL,
    expires_at         INTEGER NOT NULL,
    refresh_expires_at INTEGER NOT NULL,
    rotated            INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
CREATE INDEX sessions_by_family ON sessions (family);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_expiry ON sessions (refresh_expires_at);
"#,
    // 6: what Locate and the object lists search by. Columns of `objects`
    // for the fixed fields (Cryptographic Algorithm and Length, the creating
    // app, the first Name as a sort key, Activation and Deactivation Dates),
    // and `object_attrs`: one row per indexed attribute instance (Name values,
    // Object Group, custom and vendor attributes of a text, integer or
    // enumeration value; `skms_core::store::SearchFields`), keyed by
    // (account, attribute, value) so that a lookup costs its matches. `value`
    // has no type, hence no affinity: the text '7' and the integer 7 stay
    // apart. The store rewrites both on every insert and update of an object,
    // in the same transaction; the objects already stored are indexed by the
    // Rust step of this migration (`rows::backfill_search`), in this
    // transaction too. The creating app of those objects is unknown (NULL).
    r#"
ALTER TABLE objects ADD COLUMN algorithm INTEGER;
ALTER TABLE objects ADD COLUMN crypto_length INTEGER;
ALTER TABLE objects ADD COLUMN creator BLOB;
ALTER TABLE objects ADD COLUMN sort_name TEXT NOT NULL DEFAULT '';
ALTER TABLE objects ADD COLUMN activation INTEGER;
ALTER TABLE objects ADD COLUMN deactivation INTEGER;
CREATE INDEX objects_by_created ON objects (account, created, id);
CREATE INDEX objects_by_updated ON objects (account, updated, id);
CREATE INDEX objects_by_name ON objects (account, sort_name, id);
CREATE INDEX objects_by_creator ON objects (account, creator, created, id);

CREATE TABLE object_attrs (
    account BLOB NOT NULL,
    name    TEXT NOT NULL,
    value   NOT NULL,
    object  BLOB NOT NULL REFERENCES objects (id),
    PRIMARY KEY (account, name, value, object)
) WITHOUT ROWID;
CREATE INDEX object_attrs_by_object ON object_attrs (object);
"#,
    // 7: a cluster of nodes on one database. root_check: what the first
    // node recorded of its root of trust (a zero key wrapped by it), so that a
    // node under another root refuses to start. server_identity: the server CA
    // and server certificates with their keys (sealed under the root, as in the
    // data directory's files), one row, replaced by version (compare-and-set).
    r#"
CREATE TABLE root_check (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BLOB NOT NULL
);

CREATE TABLE server_identity (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    version      INTEGER NOT NULL CHECK (version >= 1),
    ca_cert      TEXT NOT NULL,
    ca_key       TEXT NOT NULL,
    server_chain TEXT NOT NULL,
    server_key   TEXT NOT NULL,
    rsa_chain    TEXT,
    rsa_key      TEXT
);
"#,
    // 8: the change feed that tells every node's cache what changed
    // (Store::changes_since). Triggers, not the write paths, record a change,
    // in the writing transaction: no path (a restore, a cascade, a future
    // write) can forget one. New objects and accounts need no change (a cache
    // keeps no "not found" of them); a new app does (a certificate that
    // matched no app may now match it). `at` (seconds) lets old changes be pruned.
    r#"
CREATE TABLE changes (
    seq    INTEGER PRIMARY KEY AUTOINCREMENT,
    entity TEXT NOT NULL,
    id     BLOB NOT NULL,
    at     INTEGER NOT NULL
);
CREATE INDEX changes_by_at ON changes (at);

CREATE TRIGGER accounts_updated AFTER UPDATE ON accounts BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('account', NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER accounts_deleted AFTER DELETE ON accounts BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('account', OLD.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER apps_inserted AFTER INSERT ON apps BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('app', NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER apps_updated AFTER UPDATE ON apps BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('app', NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER apps_deleted AFTER DELETE ON apps BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('app', OLD.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER objects_updated AFTER UPDATE ON objects BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('object', NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
CREATE TRIGGER objects_deleted AFTER DELETE ON objects BEGIN
    INSERT INTO changes (entity, id, at) VALUES ('object', OLD.id, CAST(strftime('%s', 'now') AS INTEGER));
END;
"#,
];

/// A step in Rust that a migration runs after its SQL, in the same
/// transaction (what SQL alone cannot do, such as decoding stored attributes).
type RustStep = fn(&Connection) -> Result<(), StoreError>;

/// The Rust step of migration `version`, if it has one.
fn rust_step(version: i64) -> Option<RustStep> {
    match version {
        6 => Some(super::rows::backfill_search),
        _ => None,
    }
}

/// The schema version this binary writes.
pub const LATEST: i64 = MIGRATIONS.len() as i64;

/// Brings the schema to [`LATEST`]; refuses a database of a newer version.
pub fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    migrate_to(conn, LATEST)
}

/// Brings the schema to version `target` (tests build older databases with it).
fn migrate_to(conn: &mut Connection, target: i64) -> Result<(), StoreError> {
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
    let pending = MIGRATIONS
        .iter()
        .enumerate()
        .skip(current as usize)
        .take(target.saturating_sub(current).max(0) as usize);
    for (i, sql) in pending {
        let version = i as i64 + 1;
        tx.execute_batch(sql)
            .map_err(|e| backend(&format!("migration {version}"), e))?;
        if let Some(step) = rust_step(version) {
            step(&tx)?;
        }
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

    /// Migration 5 rebuilds `users` (a CHECK cannot be altered): every row of
    /// a version-4 database comes through, with the new columns' defaults, and
    /// the new roles and group roles are accepted (only those).
    #[test]
    fn migration_5_keeps_the_users_of_a_version_4_database() {
        let mut c = Connection::open_in_memory().unwrap();
        c.pragma_update(None, "foreign_keys", true).unwrap();
        c.execute_batch(
            "CREATE TABLE schema_version (version INTEGER PRIMARY KEY, applied INTEGER NOT NULL)",
        )
        .unwrap();
        for (i, sql) in MIGRATIONS[..4].iter().enumerate() {
            c.execute_batch(sql).unwrap();
            c.execute(
                "INSERT INTO schema_version (version, applied) VALUES (?1, 0)",
                [i as i64 + 1],
            )
            .unwrap();
        }
        c.execute_batch(
            "INSERT INTO accounts VALUES (x'01010101010101010101010101010101', 'acme', 1, 5, x'00');
             INSERT INTO groups VALUES (x'02020202020202020202020202020202',
                 x'01010101010101010101010101010101', 'default', '', 5);
             INSERT INTO users VALUES (x'0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a', NULL, 'sysadmin',
                 'sysadmin', '$argon2id$a', 1, 7);
             INSERT INTO users VALUES (x'0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b',
                 x'01010101010101010101010101010101', 'alice', 'account-admin', '$argon2id$b', 0, 8);",
        )
        .unwrap();
        migrate(&mut c).unwrap();
        assert_eq!(version(&c), LATEST);
        type UserRow = (
            String,
            Option<Vec<u8>>,
            String,
            String,
            bool,
            i64,
            bool,
            i64,
            Option<i64>,
        );
        let rows: Vec<UserRow> = c
            .prepare(
                "SELECT name, account, role, password_hash, enabled, created,
                        must_change_password, failed_logins, locked_until
                 FROM users ORDER BY name",
            )
            .unwrap()
            .query_map([], |r| {
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
                ))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            rows,
            vec![
                (
                    "alice".into(),
                    Some(vec![1; 16]),
                    "account-admin".into(),
                    "$argon2id$b".into(),
                    false,
                    8,
                    false,
                    0,
                    None
                ),
                (
                    "sysadmin".into(),
                    None,
                    "sysadmin".into(),
                    "$argon2id$a".into(),
                    true,
                    7,
                    false,
                    0,
                    None
                ),
            ]
        );
        let add = |id: u8, account: &str, role: &str| {
            c.execute_batch(&format!(
                "INSERT INTO users (id, account, name, role, password_hash, enabled, created)
                 VALUES (x'{}', {account}, 'u{id}', '{role}', 'h', 1, 9)",
                format!("{id:02x}").repeat(16)
            ))
        };
        let acme = "x'01010101010101010101010101010101'";
        add(0x10, acme, "member").unwrap();
        add(0x11, acme, "auditor").unwrap();
        assert!(add(0x12, acme, "owner").is_err(), "an unknown role");
        assert!(
            add(0x13, "NULL", "member").is_err(),
            "a member needs an account"
        );
        assert!(add(0x14, acme, "sysadmin").is_err(), "a sysadmin has none");
        let grant = |user: &str, account: &str, role: &str| {
            c.execute_batch(&format!(
                "INSERT INTO user_group_roles (user_id, account, grp, role)
                 VALUES (x'{user}', {account}, x'02020202020202020202020202020202', '{role}')"
            ))
        };
        grant(&"10".repeat(16), acme, "admin").unwrap();
        assert!(
            grant(&"11".repeat(16), acme, "owner").is_err(),
            "an unknown group role"
        );
        // the group's account must be the user's: the sysadmin has none
        assert!(grant(&"0a".repeat(16), acme, "member").is_err());
        // deleting a user takes its group roles along
        c.execute_batch("DELETE FROM users WHERE name = 'u16'")
            .unwrap();
        let left: i64 = c
            .query_row("SELECT COUNT(*) FROM user_group_roles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(left, 0);
    }

    /// Migration 6 indexes the objects stored before it, in Rust, in the
    /// migration's transaction: a version-5 database with objects opens with
    /// every object searchable by Name, custom attribute, algorithm and length;
    /// a row whose attributes cannot be read stays unindexed without failing it.
    #[test]
    fn migration_6_indexes_the_objects_already_stored() {
        use crate::codec::encode_attributes;
        use kmip::attributes::{Attribute, AttributeName, Attributes};
        use kmip::enums::{CryptographicAlgorithm, ObjectType, State};
        use kmip::{Tag, Ttlv, Value};
        use skms_core::ids::{AccountId, GroupId, ObjectId};
        use skms_core::store::{IndexedValue, ObjectFilter, Store};

        let dir = std::env::temp_dir().join(format!(
            "skms-store-migrate6-{}-{}",
            std::process::id(),
            ObjectId::new()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("v5.db");
        let (account, group) = (AccountId::new(), GroupId::new());
        let mut ids = Vec::new();
        {
            let mut c = Connection::open(&path).unwrap();
            migrate_to(&mut c, 5).unwrap();
            assert_eq!(version(&c), 5);
            c.execute(
                "INSERT INTO accounts (id, name, enabled, created, wrapped_key)
                 VALUES (?1, 'old', 1, 0, x'00')",
                [&account.as_bytes()[..]],
            )
            .unwrap();
            c.execute(
                "INSERT INTO groups (id, account, name, description, created)
                 VALUES (?1, ?2, 'default', '', 0)",
                [&group.as_bytes()[..], &account.as_bytes()[..]],
            )
            .unwrap();
            for i in 0..2_500i64 {
                let attrs = Attributes::new(vec![
                    Attribute::new(
                        Tag::CRYPTOGRAPHIC_ALGORITHM,
                        Value::Enumeration(CryptographicAlgorithm::AES.0),
                    ),
                    Attribute::new(
                        Tag::CRYPTOGRAPHIC_LENGTH,
                        Value::Integer(if i % 2 == 0 { 256 } else { 128 }),
                    ),
                    Attribute::new(
                        Tag::NAME,
                        Value::Structure(vec![
                            Ttlv::new(Tag::NAME_VALUE, Value::TextString(format!("old-{i}"))),
                            Ttlv::new(Tag::NAME_TYPE, Value::Enumeration(1)),
                        ]),
                    ),
                    Attribute::custom("x-Name", Value::TextString(format!("vm-{}", i % 10))),
                    Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(1_000 + i)),
                ]);
                let id = ObjectId::new();
                let bytes = if i == 7 {
                    b"not attributes".to_vec()
                } else {
                    encode_attributes(&attrs)
                };
                c.execute(
                    "INSERT INTO objects (id, account, group_id, object_type, state, attributes,
                                          sealed, created, updated)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, ?7, ?7)",
                    rusqlite::params![
                        &id.as_bytes()[..],
                        &account.as_bytes()[..],
                        &group.as_bytes()[..],
                        ObjectType::SYMMETRIC_KEY.0,
                        State::ACTIVE.0,
                        bytes,
                        i
                    ],
                )
                .unwrap();
                ids.push(id);
            }
        }
        let store = super::super::SqliteStore::open(&path).unwrap();
        assert_eq!(version(&store.readers.get()), LATEST);
        let find = |f: ObjectFilter| store.locate(account, &f).unwrap();
        assert_eq!(
            find(ObjectFilter {
                name: Some("old-2042".into()),
                ..Default::default()
            }),
            vec![ids[2042]]
        );
        let vm3 = find(ObjectFilter {
            attributes: vec![(
                AttributeName::from_v1("x-Name"),
                IndexedValue::Text("vm-3".into()),
            )],
            ..Default::default()
        });
        assert_eq!(vm3.len(), 250);
        assert_eq!(vm3[0], ids[3]);
        assert_eq!(
            store
                .count_objects(
                    account,
                    &ObjectFilter {
                        algorithm: Some(CryptographicAlgorithm::AES),
                        length: Some(128),
                        ..Default::default()
                    }
                )
                .unwrap(),
            1_249,
            "every odd key but the unreadable one"
        );
        assert_eq!(
            find(ObjectFilter {
                activation: skms_core::store::DateRange::at(1_000 + 2_499),
                ..Default::default()
            }),
            vec![ids[2_499]]
        );
        // The unreadable row: still listed, not indexed, still unreadable.
        assert_eq!(
            find(ObjectFilter {
                name: Some("old-7".into()),
                ..Default::default()
            }),
            vec![]
        );
        assert_eq!(find(ObjectFilter::default()).len(), 2_500);
        assert!(store.object(account, ids[7]).is_err());
        let old = store.object(account, ids[8]).unwrap().unwrap();
        assert_eq!(old.creator, None, "unknown for objects stored before");
        drop(store);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
