//! Backup and restore on SQLite ([`skms_core::dump`]): an export reads every
//! table inside one read transaction on a reader connection (in WAL mode, a
//! snapshot that the writer does not disturb and does not wait for); an
//! import writes on a connection of its own inside one `BEGIN IMMEDIATE`
//! transaction, so a failed import leaves the store as it was (empty).

use super::error::{backend, corrupt};
use super::rows::{self, ObjectRow};
use super::SqliteStore;
use crate::dumped::StoredObject;
use rusqlite::types::{Value as Sql, ValueRef};
use rusqlite::{
    params_from_iter, Connection, OpenFlags, OptionalExtension, Row, TransactionBehavior,
};
use skms_core::dump::{
    check_order, not_empty, Cell, Column, DumpRow, DumpSink, DumpSource, Kind, Snapshot, Table,
    OBJECTS, TABLES,
};
use skms_core::store::StoreError;

/// The `ORDER BY` of `t` on SQLite.
fn order_of(t: &Table) -> &'static str {
    if t.order_by.is_empty() {
        "rowid"
    } else {
        t.order_by
    }
}

/// How many rows each table holds (and the sessions, which a backup leaves out).
fn counts(c: &Connection) -> Result<Vec<(&'static str, u64)>, StoreError> {
    TABLES
        .iter()
        .map(|t| t.name)
        .chain(["sessions"])
        .map(|name| {
            let n: i64 = c
                .query_row(&format!("SELECT COUNT(*) FROM {name}"), [], |r| r.get(0))
                .map_err(|e| backend(&format!("count {name}"), e))?;
            Ok((name, n as u64))
        })
        .collect()
}

/// The cell of column `i` of `r`.
fn cell(r: &Row, i: usize, table: &Table, col: &Column) -> Result<Cell, StoreError> {
    let what = || format!("{}.{}", table.name, col.name);
    let v = r.get_ref(i).map_err(|e| backend(&what(), e))?;
    Ok(match (col.kind, v) {
        (_, ValueRef::Null) => Cell::Null,
        (Kind::Int, ValueRef::Integer(n)) => Cell::Int(n),
        (Kind::Bool, ValueRef::Integer(n)) => Cell::Bool(n != 0),
        (Kind::Text, ValueRef::Text(t)) => Cell::Text(
            String::from_utf8(t.to_vec())
                .map_err(|_| corrupt(&format!("{}: text that is not UTF-8", what())))?,
        ),
        (Kind::Bytes, ValueRef::Blob(b)) => Cell::Bytes(b.to_vec()),
        _ => return Err(corrupt(&format!("{}: a value of another type", what()))),
    })
}

/// The SQL value of a cell.
fn sql(c: &Cell) -> Sql {
    match c {
        Cell::Null => Sql::Null,
        Cell::Int(n) => Sql::Integer(*n),
        Cell::Bool(b) => Sql::Integer(i64::from(*b)),
        Cell::Text(t) => Sql::Text(t.clone()),
        Cell::Bytes(b) => Sql::Blob(b.clone()),
    }
}

impl SqliteStore {
    /// [`skms_core::store::Store::export_rows`].
    pub(super) fn dump_export(&self, sink: &mut dyn DumpSink) -> Result<(), StoreError> {
        let mut lease = self.readers.get();
        let tx = lease
            .conn_mut()
            .transaction()
            .map_err(|e| backend("begin the backup's read", e))?;
        // The first read fixes the snapshot every later read of this transaction sees.
        let mut counts = counts(&tx)?;
        counts.retain(|(t, _)| *t != "sessions");
        let schema_version: i64 = tx
            .query_row("SELECT MAX(version) FROM schema_version", [], |r| r.get(0))
            .map_err(|e| backend("read the schema version", e))?;
        let root_check: Option<Vec<u8>> = tx
            .query_row("SELECT value FROM root_check WHERE id = 1", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| backend("read the root check", e))?;
        sink.begin(&Snapshot {
            backend: "sqlite",
            schema_version,
            counts,
            root_check,
        })?;
        for t in TABLES {
            let what = format!("read {}", t.name);
            let mut st = tx
                .prepare(&format!(
                    "SELECT {} FROM {} ORDER BY {}",
                    t.column_list(),
                    t.name,
                    order_of(t)
                ))
                .map_err(|e| backend(&what, e))?;
            let mut rs = st.query([]).map_err(|e| backend(&what, e))?;
            while let Some(r) = rs.next().map_err(|e| backend(&what, e))? {
                let cells = t
                    .columns
                    .iter()
                    .enumerate()
                    .map(|(i, c)| cell(r, i, t, c))
                    .collect::<Result<Vec<_>, _>>()?;
                sink.row(DumpRow::new(t, cells)?)?;
            }
        }
        tx.commit().map_err(|e| backend("end the backup's read", e))
    }

    /// [`skms_core::store::Store::import_rows`].
    pub(super) fn dump_import(
        &self,
        source: &mut dyn DumpSource,
    ) -> Result<Vec<(&'static str, u64)>, StoreError> {
        // A connection of its own: one long transaction that the writer
        // thread's group commit must not split (the store is not in use).
        let mut conn = Connection::open_with_flags(
            &self.path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| backend("open the database to restore into", e))?;
        super::configure(&conn).map_err(|e| backend("configure the restore's connection", e))?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(|e| backend("begin the restore", e))?;
        let held = counts(&tx)?;
        if held.iter().any(|(_, n)| *n > 0) {
            return Err(not_empty(&held));
        }
        let mut done: Vec<(&'static str, u64)> = TABLES.iter().map(|t| (t.name, 0)).collect();
        let mut last = 0;
        while let Some(row) = source.next_row()? {
            last = check_order(last, &row)?;
            let t = row.table;
            if t.name == OBJECTS {
                rows::insert_object(&tx, &ObjectRow::from_stored(StoredObject::of(&row.cells)?))?;
            } else {
                let marks: Vec<String> = (1..=t.columns.len()).map(|i| format!("?{i}")).collect();
                tx.prepare_cached(&format!(
                    "INSERT INTO {} ({}) VALUES ({})",
                    t.name,
                    t.column_list(),
                    marks.join(", ")
                ))
                .and_then(|mut st| st.execute(params_from_iter(row.cells.iter().map(sql))))
                .map_err(|e| backend(&format!("restore a row of {}", t.name), e))?;
            }
            done[last].1 += 1;
        }
        tx.commit().map_err(|e| backend("commit the restore", e))?;
        Ok(done)
    }
}
