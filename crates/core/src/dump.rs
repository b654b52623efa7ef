//! The logical content of a store, table by table, as backup and restore move
//! it ([`crate::store::Store::export_rows`], [`crate::store::Store::import_rows`]).
//!
//! Both backends hold the same logical schema (PostgreSQL version 1 is SQLite
//! version 6 with PostgreSQL's types), so one description of its tables serves
//! both: each backend reads and writes these columns with its own types, and a
//! row exported from one imports into the other. What is derived is left out
//! and rebuilt on import (the object search columns and `object_attrs`); what
//! is not data is left out (sessions: a restore signs everyone out; the schema
//! version: the target store has its own). Every secret in these rows is
//! already sealed under the root or an account key, or a hash.

use crate::store::StoreError;

/// The type of a column, as both backends can hold it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// A 64-bit integer (identifiers of enumerations, timestamps, counters).
    Int,
    /// A flag (SQLite keeps it as 0 or 1).
    Bool,
    /// UTF-8 text.
    Text,
    /// Bytes (identifiers, hashes, sealed blobs, DER).
    Bytes,
}

/// One column of a table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Its name in both schemas.
    pub name: &'static str,
    /// Its type.
    pub kind: Kind,
    /// Whether it may be NULL.
    pub nullable: bool,
}

/// One table of the logical model.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Table {
    /// Its name in both schemas.
    pub name: &'static str,
    /// The columns a backup keeps, in order.
    pub columns: &'static [Column],
    /// The `ORDER BY` of an export (its primary key: a stable, indexed order),
    /// or empty for the order rows were inserted in (SQLite's rowid,
    /// PostgreSQL's `ord`), where readers list rows in that order.
    pub order_by: &'static str,
}

impl Table {
    /// The comma-separated column names.
    pub fn column_list(&self) -> String {
        self.columns
            .iter()
            .map(|c| c.name)
            .collect::<Vec<_>>()
            .join(", ")
    }
}

const fn col(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: false,
    }
}

const fn opt(name: &'static str, kind: Kind) -> Column {
    Column {
        name,
        kind,
        nullable: true,
    }
}

use Kind::{Bool, Bytes, Int, Text};

/// The name of the objects table: its import rebuilds the search index.
pub const OBJECTS: &str = "objects";

/// Every table a backup holds, in dependency order (a row's references come
/// in an earlier table, or earlier in its own).
pub const TABLES: &[Table] = &[
    // The root of trust check: the first row restored, so that a store
    // restored under another root is refused as one made under it would be.
    Table {
        name: "root_check",
        columns: &[col("id", Int), col("value", Bytes)],
        order_by: "id",
    },
    Table {
        name: "server_identity",
        columns: &[
            col("id", Int),
            col("version", Int),
            col("ca_cert", Text),
            col("ca_key", Text),
            col("server_chain", Text),
            col("server_key", Text),
            opt("rsa_chain", Text),
            opt("rsa_key", Text),
        ],
        order_by: "id",
    },
    Table {
        name: "accounts",
        columns: &[
            col("id", Bytes),
            col("name", Text),
            col("enabled", Bool),
            col("created", Int),
            col("wrapped_key", Bytes),
        ],
        order_by: "id",
    },
    Table {
        name: "groups",
        columns: &[
            col("id", Bytes),
            col("account", Bytes),
            col("name", Text),
            col("description", Text),
            col("created", Int),
        ],
        order_by: "id",
    },
    Table {
        name: "apps",
        columns: &[
            col("id", Bytes),
            col("account", Bytes),
            col("name", Text),
            col("description", Text),
            col("kmip", Bool),
            col("rest", Bool),
            col("auth_method", Text),
            col("default_group", Bytes),
            col("enabled", Bool),
            col("secret_hash", Text),
            col("created", Int),
            col("sealed_secret", Bytes),
        ],
        order_by: "id",
    },
    Table {
        name: "app_groups",
        columns: &[
            col("app", Bytes),
            col("position", Int),
            col("account", Bytes),
            col("grp", Bytes),
        ],
        order_by: "app, position",
    },
    Table {
        name: "app_pinned_certs",
        columns: &[
            col("app", Bytes),
            col("position", Int),
            col("sha256", Bytes),
        ],
        order_by: "app, position",
    },
    Table {
        name: "app_trusted_cas",
        columns: &[col("app", Bytes), col("position", Int), col("der", Bytes)],
        order_by: "app, position",
    },
    Table {
        name: "users",
        columns: &[
            col("id", Bytes),
            opt("account", Bytes),
            col("name", Text),
            col("role", Text),
            col("password_hash", Text),
            col("enabled", Bool),
            col("created", Int),
            col("must_change_password", Bool),
            col("failed_logins", Int),
            opt("locked_until", Int),
        ],
        order_by: "id",
    },
    Table {
        name: "user_group_roles",
        columns: &[
            col("user_id", Bytes),
            col("account", Bytes),
            col("grp", Bytes),
            col("role", Text),
        ],
        order_by: "user_id, grp",
    },
    Table {
        name: "account_cas",
        columns: &[
            col("account", Bytes),
            col("cert_der", Bytes),
            col("sealed_key", Bytes),
            col("created", Int),
        ],
        order_by: "account",
    },
    Table {
        name: "app_certs",
        columns: &[
            col("app", Bytes),
            col("account", Bytes),
            col("sha256", Bytes),
            col("der", Bytes),
            col("origin", Text),
            col("added", Int),
        ],
        // kept certificates are listed oldest first, ties in insertion order
        order_by: "",
    },
    Table {
        name: OBJECTS,
        columns: &[
            col("id", Bytes),
            col("account", Bytes),
            col("group_id", Bytes),
            col("object_type", Int),
            col("state", Int),
            col("attributes", Bytes),
            opt("sealed", Bytes),
            col("created", Int),
            col("updated", Int),
            opt("creator", Bytes),
        ],
        order_by: "id",
    },
    Table {
        name: "audit",
        columns: &[
            col("chain", Bytes),
            col("seq", Int),
            col("time_ms", Int),
            col("actor_kind", Text),
            col("actor", Text),
            col("source", Text),
            col("operation", Text),
            opt("object", Text),
            col("result", Text),
            opt("reason", Text),
            opt("message", Text),
            col("prev_hash", Bytes),
            col("hash", Bytes),
        ],
        order_by: "chain, seq",
    },
    Table {
        name: "audit_heads",
        columns: &[col("chain", Bytes), col("seq", Int), col("hash", Bytes)],
        order_by: "chain",
    },
];

/// The table named `name`.
pub fn table(name: &str) -> Option<&'static Table> {
    TABLES.iter().find(|t| t.name == name)
}

/// One value of a row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cell {
    /// NULL.
    Null,
    /// An integer.
    Int(i64),
    /// A flag.
    Bool(bool),
    /// Text.
    Text(String),
    /// Bytes.
    Bytes(Vec<u8>),
}

/// One row of one table, its cells in the order of [`Table::columns`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DumpRow {
    /// The table.
    pub table: &'static Table,
    /// The values.
    pub cells: Vec<Cell>,
}

impl DumpRow {
    /// A row of `table`, checked against its columns: as many cells as
    /// columns, each of its column's kind (or NULL where allowed).
    pub fn new(table: &'static Table, cells: Vec<Cell>) -> Result<Self, StoreError> {
        if cells.len() != table.columns.len() {
            return Err(StoreError::Corrupt(format!(
                "a row of {} has {} values, the table has {} columns",
                table.name,
                cells.len(),
                table.columns.len()
            )));
        }
        for (c, v) in table.columns.iter().zip(&cells) {
            let fits = matches!(
                (c.kind, v),
                (Kind::Int, Cell::Int(_))
                    | (Kind::Bool, Cell::Bool(_))
                    | (Kind::Text, Cell::Text(_))
                    | (Kind::Bytes, Cell::Bytes(_))
            ) || (c.nullable && *v == Cell::Null);
            if !fits {
                return Err(StoreError::Corrupt(format!(
                    "{}.{}: a value of the wrong type",
                    table.name, c.name
                )));
            }
        }
        Ok(DumpRow { table, cells })
    }
}

/// What an export saw when its snapshot began.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Snapshot {
    /// The backend (`sqlite`, `postgresql`).
    pub backend: &'static str,
    /// Its schema version.
    pub schema_version: i64,
    /// How many rows each table holds, in [`TABLES`] order.
    pub counts: Vec<(&'static str, u64)>,
    /// The store's root of trust check ([`crate::store::RootCheck`]), if one is recorded.
    pub root_check: Option<Vec<u8>>,
}

/// Where an export puts what it reads.
pub trait DumpSink {
    /// The snapshot has begun: what it holds, before any row.
    fn begin(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;
    /// The next row, tables in [`TABLES`] order.
    fn row(&mut self, row: DumpRow) -> Result<(), StoreError>;
}

/// Where an import takes its rows from, tables in [`TABLES`] order.
pub trait DumpSource {
    /// The next row, `None` at the end.
    fn next_row(&mut self) -> Result<Option<DumpRow>, StoreError>;
}

/// Checks that `row` may follow a row of table index `last` (tables come in
/// [`TABLES`] order) and returns its table's index.
pub fn check_order(last: usize, row: &DumpRow) -> Result<usize, StoreError> {
    let i = TABLES
        .iter()
        .position(|t| t.name == row.table.name)
        .ok_or_else(|| StoreError::Corrupt(format!("unknown table {}", row.table.name)))?;
    if i < last {
        return Err(StoreError::Corrupt(format!(
            "a row of {} after the rows of {}: tables out of order",
            row.table.name, TABLES[last].name
        )));
    }
    Ok(i)
}

/// The error of an import into a store that already holds `what`.
pub fn not_empty(what: &[(&'static str, u64)]) -> StoreError {
    let held: Vec<String> = what
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(t, n)| format!("{n} {t}"))
        .collect();
    StoreError::Conflict(format!(
        "the store is not empty (it holds {}): restore only into an empty store",
        held.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_checked_against_their_table() {
        let t = table("audit_heads").unwrap();
        assert!(DumpRow::new(
            t,
            vec![
                Cell::Bytes(vec![0; 16]),
                Cell::Int(1),
                Cell::Bytes(vec![0; 32])
            ]
        )
        .is_ok());
        assert!(DumpRow::new(t, vec![Cell::Bytes(vec![0; 16])]).is_err());
        assert!(DumpRow::new(
            t,
            vec![
                Cell::Bytes(vec![0; 16]),
                Cell::Null,
                Cell::Bytes(vec![0; 32])
            ]
        )
        .is_err());
        let names: Vec<_> = TABLES.iter().map(|t| t.name).collect();
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(names.len(), unique.len());
        assert!(!names.contains(&"sessions"), "a restore signs everyone out");
    }
}
