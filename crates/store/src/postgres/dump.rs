//! Backup and restore on PostgreSQL ([`skms_core::dump`]): an export reads
//! every table inside one REPEATABLE READ READ ONLY transaction (one snapshot
//! for all its queries, which neither blocks nor waits for the writers of
//! any node), each table through a portal a thousand rows at a time; an
//! import writes inside one transaction, so a failed import leaves the
//! database as it was (empty).

use super::db::{Db, Params};
use super::error::backend;
use super::rows;
use super::PgStore;
use crate::dumped::StoredObject;
use postgres::types::ToSql;
use postgres::{GenericClient, IsolationLevel, Row};
use skms_core::dump::{
    check_order, not_empty, Cell, Column, DumpRow, DumpSink, DumpSource, Kind, Snapshot, Table,
    OBJECTS, TABLES,
};
use skms_core::store::StoreError;

/// Rows fetched per round trip of an export.
const FETCH: i32 = 1000;

/// The `ORDER BY` of `t` on PostgreSQL.
fn order_of(t: &Table) -> &'static str {
    if t.order_by.is_empty() {
        "ord"
    } else {
        t.order_by
    }
}

/// How many rows each table holds (and the sessions, which a backup leaves out).
fn counts<C: GenericClient>(c: &mut C) -> Result<Vec<(&'static str, u64)>, StoreError> {
    TABLES
        .iter()
        .map(|t| t.name)
        .chain(["sessions"])
        .map(|name| {
            let n: i64 = c
                .query_one(&format!("SELECT COUNT(*) FROM {name}"), &[])
                .and_then(|r| r.try_get(0))
                .map_err(|e| backend(&format!("count {name}"), e))?;
            Ok((name, n as u64))
        })
        .collect()
}

/// The cell of column `i` of `r`.
fn cell(r: &Row, i: usize, table: &Table, col: &Column) -> Result<Cell, StoreError> {
    let what = format!("{}.{}", table.name, col.name);
    let v = match col.kind {
        Kind::Int => r.try_get::<_, Option<i64>>(i).map(|v| v.map(Cell::Int)),
        Kind::Bool => r.try_get::<_, Option<bool>>(i).map(|v| v.map(Cell::Bool)),
        Kind::Text => r.try_get::<_, Option<String>>(i).map(|v| v.map(Cell::Text)),
        Kind::Bytes => r
            .try_get::<_, Option<Vec<u8>>>(i)
            .map(|v| v.map(Cell::Bytes)),
    };
    Ok(v.map_err(|e| backend(&what, e))?.unwrap_or(Cell::Null))
}

/// The parameter of a cell of column `col` (a NULL typed as its column).
fn param(col: &Column, c: &Cell) -> Result<Box<dyn ToSql + Sync + Send>, StoreError> {
    Ok(match (col.kind, c) {
        (Kind::Int, Cell::Null) => Box::new(None::<i64>),
        (Kind::Bool, Cell::Null) => Box::new(None::<bool>),
        (Kind::Text, Cell::Null) => Box::new(None::<String>),
        (Kind::Bytes, Cell::Null) => Box::new(None::<Vec<u8>>),
        (_, Cell::Int(n)) => Box::new(*n),
        (_, Cell::Bool(b)) => Box::new(*b),
        (_, Cell::Text(t)) => Box::new(t.clone()),
        (_, Cell::Bytes(b)) => Box::new(b.clone()),
    })
}

impl PgStore {
    /// [`skms_core::store::Store::export_rows`].
    pub(super) fn dump_export(&self, sink: &mut dyn DumpSink) -> Result<(), StoreError> {
        let mut lease = self.pool.get()?;
        let conn = lease.conn();
        let mut tx = conn
            .client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .map_err(|e| backend("begin the backup's read", e))?;
        // The first query fixes the snapshot every later one of this transaction sees.
        let mut counts = counts(&mut tx)?;
        counts.retain(|(t, _)| *t != "sessions");
        let schema_version: i64 = tx
            .query_one("SELECT MAX(version)::BIGINT FROM schema_version", &[])
            .and_then(|r| r.try_get(0))
            .map_err(|e| backend("read the schema version", e))?;
        let root_check: Option<Vec<u8>> = tx
            .query_opt("SELECT value FROM root_check WHERE id = 1", &[])
            .and_then(|r| r.map(|r| r.try_get(0)).transpose())
            .map_err(|e| backend("read the root check", e))?;
        sink.begin(&Snapshot {
            backend: "postgresql",
            schema_version,
            counts,
            root_check,
        })?;
        for t in TABLES {
            let what = format!("read {}", t.name);
            let sql = format!(
                "SELECT {} FROM {} ORDER BY {}",
                t.column_list(),
                t.name,
                order_of(t)
            );
            let portal = tx.bind(sql.as_str(), &[]).map_err(|e| backend(&what, e))?;
            loop {
                let page = tx
                    .query_portal(&portal, FETCH)
                    .map_err(|e| backend(&what, e))?;
                if page.is_empty() {
                    break;
                }
                for r in &page {
                    let cells = t
                        .columns
                        .iter()
                        .enumerate()
                        .map(|(i, c)| cell(r, i, t, c))
                        .collect::<Result<Vec<_>, _>>()?;
                    sink.row(DumpRow::new(t, cells)?)?;
                }
            }
        }
        tx.commit().map_err(|e| backend("end the backup's read", e))
    }

    /// [`skms_core::store::Store::import_rows`].
    pub(super) fn dump_import(
        &self,
        source: &mut dyn DumpSource,
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        let mut lease = self.pool.get()?;
        let conn = lease.conn();
        let mut tx = conn
            .client
            .transaction()
            .map_err(|e| backend("begin the restore", e))?;
        // Two restores into one database at once: the second waits, then finds it full.
        tx.batch_execute("LOCK TABLE accounts IN EXCLUSIVE MODE")
            .map_err(|e| backend("lock the database to restore into", e))?;
        let held = counts(&mut tx)?;
        if held.iter().any(|(_, n)| *n > 0) {
            return Err(not_empty(&held));
        }
        let mut done: Vec<(&'static str, u64)> = TABLES.iter().map(|t| (t.name, 0)).collect();
        let mut last = 0;
        let mut db = Db {
            c: &mut tx,
            cache: &mut conn.cache,
        };
        while let Some(row) = source.next_row()? {
            last = check_order(last, &row)?;
            let t = row.table;
            if t.name == OBJECTS {
                let object = rows::ObjectRow::from_stored(StoredObject::of(&row.cells)?);
                rows::insert_object(&mut db, &object)?;
            } else {
                let marks: Vec<String> = (1..=t.columns.len()).map(|i| format!("${i}")).collect();
                let sql = format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.name,
                    t.column_list(),
                    marks.join(", ")
                );
                let params: Params = t
                    .columns
                    .iter()
                    .zip(&row.cells)
                    .map(|(c, v)| param(c, v))
                    .collect::<Result<_, _>>()?;
                db.query_dyn(&sql, &params)
                    .map_err(|e| backend(&format!("restore a row of {}", t.name), e))?;
            }
            done[last].1 += 1;
        }
        tx.commit().map_err(|e| backend("commit the restore", e))?;
        Ok(done)
    }
}
