//! Storage for Sovereign KMS: the [`skms_core::store::Store`] trait on embedded
//! SQLite (the default of a single node) and on PostgreSQL (the shared store
//! of a cluster of nodes), each with versioned migrations.
//!
//! Security objects keep their attributes as the binary TTLV of a KMIP 2.1
//! `Attributes` structure ([`codec`]), so that every attribute, standard or
//! custom, survives a round trip without a column per attribute.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod codec;
mod dumped;
mod postgres;
mod sqlite;

pub use postgres::{PgOptions, PgStore, PG_SCHEMA_VERSION};
pub use sqlite::{SqliteOptions, SqliteStore, SCHEMA_VERSION};
