//! The rows a cluster of nodes shares besides tenancy (migration 7): the root
//! of trust check value and the server identity.

use super::error::{backend, corrupt};
use rusqlite::{Connection, OptionalExtension};
use skms_core::store::{Change, ChangeBatch, Changed, StoreError, StoredServerIdentity};

/// Records `candidate` as the root check unless one is recorded; the one recorded.
pub fn root_check(c: &Connection, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
    c.execute(
        "INSERT INTO root_check (id, value) VALUES (1, ?1) ON CONFLICT (id) DO NOTHING",
        [candidate],
    )
    .map_err(|e| backend("record the root check", e))?;
    c.query_row("SELECT value FROM root_check WHERE id = 1", [], |r| {
        r.get(0)
    })
    .map_err(|e| backend("read the root check", e))
}

/// The stored server identity.
pub fn server_identity(c: &Connection) -> Result<Option<StoredServerIdentity>, StoreError> {
    let row = c
        .query_row(
            "SELECT version, ca_cert, ca_key, server_chain, server_key, rsa_chain, rsa_key
             FROM server_identity WHERE id = 1",
            [],
            |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    StoredServerIdentity {
                        version: 0,
                        ca_cert: r.get(1)?,
                        ca_key: r.get(2)?,
                        server_chain: r.get(3)?,
                        server_key: r.get(4)?,
                        rsa_chain: r.get(5)?,
                        rsa_key: r.get(6)?,
                    },
                ))
            },
        )
        .optional()
        .map_err(|e| backend("read the server identity", e))?;
    row.map(|(v, id)| {
        Ok(StoredServerIdentity {
            version: u64::try_from(v).map_err(|_| corrupt("server identity version"))?,
            ..id
        })
    })
    .transpose()
}

/// The stored server identity's version (0: none).
pub fn server_identity_version(c: &Connection) -> Result<u64, StoreError> {
    let v: Option<i64> = c
        .query_row(
            "SELECT version FROM server_identity WHERE id = 1",
            [],
            |r| r.get(0),
        )
        .optional()
        .map_err(|e| backend("read the server identity version", e))?;
    u64::try_from(v.unwrap_or(0)).map_err(|_| corrupt("server identity version"))
}

/// Stores `id` over version `id.version - 1` (or none for version 1).
pub fn put_server_identity(c: &Connection, id: &StoredServerIdentity) -> Result<bool, StoreError> {
    let version = i64::try_from(id.version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| StoreError::Backend(format!("server identity version {}", id.version)))?;
    let changed = c
        .execute(
            "INSERT INTO server_identity
                 (id, version, ca_cert, ca_key, server_chain, server_key, rsa_chain, rsa_key)
             VALUES (1, ?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (id) DO UPDATE SET
                 version = excluded.version, ca_cert = excluded.ca_cert,
                 ca_key = excluded.ca_key, server_chain = excluded.server_chain,
                 server_key = excluded.server_key, rsa_chain = excluded.rsa_chain,
                 rsa_key = excluded.rsa_key
             WHERE server_identity.version = excluded.version - 1",
            rusqlite::params![
                version,
                id.ca_cert,
                id.ca_key,
                id.server_chain,
                id.server_key,
                id.rsa_chain,
                id.rsa_key
            ],
        )
        .map_err(|e| backend("store the server identity", e))?;
    Ok(changed == 1)
}

/// The change feed (migration 8) after `after`. One writer commits the
/// changes in the order of their numbers, so a number missing below the
/// latest never appears later: every gap is settled at once.
pub fn changes_since(c: &Connection, after: u64, limit: usize) -> Result<ChangeBatch, StoreError> {
    let read = |e| backend("read the change feed", e);
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let tx = c.unchecked_transaction().map_err(read)?;
    let latest: i64 = tx
        .query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
            r.get(0)
        })
        .map_err(read)?;
    let mut stmt = tx
        .prepare_cached("SELECT seq, entity, id FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2")
        .map_err(read)?;
    let rows = stmt
        .query_map((after, limit), |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Vec<u8>>(2)?,
            ))
        })
        .map_err(read)?;
    let mut changes = Vec::new();
    for row in rows {
        let (seq, entity, id) = row.map_err(read)?;
        changes.push(Change {
            seq: u64::try_from(seq).map_err(|_| corrupt("change sequence number"))?,
            what: Changed::from_row(&entity, &id)?,
        });
    }
    drop(stmt);
    tx.finish().map_err(read)?;
    Ok(ChangeBatch {
        changes,
        latest: u64::try_from(latest).map_err(|_| corrupt("change sequence number"))?,
        started_before: 0,
        finished_before: u64::MAX,
    })
}

/// Forgets the changes recorded before `before` (seconds).
pub fn prune_changes(c: &Connection, before: i64) -> Result<u64, StoreError> {
    c.execute(
        "DELETE FROM changes WHERE at < ?1 AND seq < (SELECT MAX(seq) FROM changes)",
        [before],
    )
    .map(|n| n as u64)
    .map_err(|e| backend("prune the change feed", e))
}
