//! The domain of Sovereign KMS: tenancy (accounts, groups, apps), security
//! objects and their lifecycle, the key hierarchy (root of trust → account key
//! → object material) and the `Store` trait that SQLite and PostgreSQL implement.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod access;
pub mod audit;
pub mod ca;
pub mod certs;
pub mod dump;
pub mod ids;
pub mod keys;
pub mod model;
pub mod ops;
pub mod secrets;
pub mod store;
pub mod tenancy;
