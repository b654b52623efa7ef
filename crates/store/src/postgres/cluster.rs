//! The rows a cluster of nodes shares besides tenancy (migration 2): the root
//! of trust check value and the server identity. Both are written with an
//! insert-if-absent or a compare-and-set on the version, so nodes starting
//! or rotating at once agree on one.

use super::db::Db;
use super::error::{backend, corrupt};
use postgres::GenericClient;
use skms_core::store::{Change, ChangeBatch, Changed, StoreError, StoredServerIdentity};

/// Records `candidate` as the root check unless one is recorded; the one recorded.
pub fn root_check<C: GenericClient>(
    db: &mut Db<'_, C>,
    candidate: &[u8],
) -> Result<Vec<u8>, StoreError> {
    db.execute(
        "INSERT INTO root_check (id, value) VALUES (1, $1) ON CONFLICT (id) DO NOTHING",
        &[&candidate],
    )
    .map_err(|e| backend("record the root check", e))?;
    db.query_one("SELECT value FROM root_check WHERE id = 1", &[])
        .and_then(|r| r.try_get(0))
        .map_err(|e| backend("read the root check", e))
}

fn version_of(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| corrupt("server identity version"))
}

/// The stored server identity.
pub fn server_identity<C: GenericClient>(
    db: &mut Db<'_, C>,
) -> Result<Option<StoredServerIdentity>, StoreError> {
    let row = db
        .query_opt(
            "SELECT version, ca_cert, ca_key, server_chain, server_key, rsa_chain, rsa_key
             FROM server_identity WHERE id = 1",
            &[],
        )
        .map_err(|e| backend("read the server identity", e))?;
    let Some(r) = row else { return Ok(None) };
    let read = |e| backend("read the server identity", e);
    Ok(Some(StoredServerIdentity {
        version: version_of(r.try_get(0).map_err(read)?)?,
        ca_cert: r.try_get(1).map_err(read)?,
        ca_key: r.try_get(2).map_err(read)?,
        server_chain: r.try_get(3).map_err(read)?,
        server_key: r.try_get(4).map_err(read)?,
        rsa_chain: r.try_get(5).map_err(read)?,
        rsa_key: r.try_get(6).map_err(read)?,
    }))
}

/// The stored server identity's version (0: none).
pub fn server_identity_version<C: GenericClient>(db: &mut Db<'_, C>) -> Result<u64, StoreError> {
    let v: i64 = db
        .query_one(
            "SELECT COALESCE((SELECT version FROM server_identity WHERE id = 1), 0)",
            &[],
        )
        .and_then(|r| r.try_get(0))
        .map_err(|e| backend("read the server identity version", e))?;
    version_of(v)
}

/// Stores `id` over version `id.version - 1` (or none for version 1).
pub fn put_server_identity<C: GenericClient>(
    db: &mut Db<'_, C>,
    id: &StoredServerIdentity,
) -> Result<bool, StoreError> {
    let version = i64::try_from(id.version)
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| StoreError::Backend(format!("server identity version {}", id.version)))?;
    let changed = db
        .execute(
            "INSERT INTO server_identity
                 (id, version, ca_cert, ca_key, server_chain, server_key, rsa_chain, rsa_key)
             VALUES (1, $1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET
                 version = excluded.version, ca_cert = excluded.ca_cert,
                 ca_key = excluded.ca_key, server_chain = excluded.server_chain,
                 server_key = excluded.server_key, rsa_chain = excluded.rsa_chain,
                 rsa_key = excluded.rsa_key
             WHERE server_identity.version = excluded.version - 1",
            &[
                &version,
                &id.ca_cert,
                &id.ca_key,
                &id.server_chain,
                &id.server_key,
                &id.rsa_chain,
                &id.rsa_key,
            ],
        )
        .map_err(|e| backend("store the server identity", e))?;
    Ok(changed == 1)
}

/// The change feed (migration 3) after `after`, with the snapshot's
/// transaction horizon (xmin, xmax) that settles its gaps ([`ChangeBatch`]).
/// Run it in one REPEATABLE READ transaction: both queries see one snapshot.
pub fn changes_since<C: GenericClient>(
    db: &mut Db<'_, C>,
    after: u64,
    limit: usize,
) -> Result<ChangeBatch, StoreError> {
    let read = |e| backend("read the change feed", e);
    let after = i64::try_from(after).unwrap_or(i64::MAX);
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let head = db
        .query_one(
            "SELECT COALESCE((SELECT MAX(seq) FROM changes), 0),
                    pg_snapshot_xmin(pg_current_snapshot())::text::bigint,
                    pg_snapshot_xmax(pg_current_snapshot())::text::bigint",
            &[],
        )
        .map_err(read)?;
    let number = |v: i64| u64::try_from(v).map_err(|_| corrupt("change sequence number"));
    let latest = number(head.try_get(0).map_err(read)?)?;
    let finished_before = number(head.try_get(1).map_err(read)?)?;
    let started_before = number(head.try_get(2).map_err(read)?)?;
    let rows = db
        .query(
            "SELECT seq, entity, id FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2",
            &[&after, &limit],
        )
        .map_err(read)?;
    let mut changes = Vec::with_capacity(rows.len());
    for r in rows {
        let entity: &str = r.try_get(1).map_err(read)?;
        let id: &[u8] = r.try_get(2).map_err(read)?;
        changes.push(Change {
            seq: number(r.try_get(0).map_err(read)?)?,
            what: Changed::from_row(entity, id)?,
        });
    }
    Ok(ChangeBatch {
        changes,
        latest,
        started_before,
        finished_before,
    })
}

/// Forgets the changes recorded before `before` (seconds).
pub fn prune_changes<C: GenericClient>(db: &mut Db<'_, C>, before: i64) -> Result<u64, StoreError> {
    db.execute(
        "DELETE FROM changes WHERE at < $1 AND seq < (SELECT MAX(seq) FROM changes)",
        &[&before],
    )
    .map_err(|e| backend("prune the change feed", e))
}
