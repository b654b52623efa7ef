//! One mapping from SQLite errors to [`StoreError`], so every call site says
//! only what it was doing.

use rusqlite::ffi;
use rusqlite::ErrorCode;
use skms_core::store::StoreError;

/// Maps an error of `what`: a taken unique key is `Conflict`, a reference to a
/// missing (or another account's) row is `NotFound`, an unreadable file or
/// value is `Corrupt`, anything else `Backend`.
pub fn backend(what: &str, e: rusqlite::Error) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(f, msg) => {
            let detail = msg.clone().unwrap_or_else(|| f.to_string());
            match f.extended_code {
                ffi::SQLITE_CONSTRAINT_UNIQUE | ffi::SQLITE_CONSTRAINT_PRIMARYKEY => {
                    return StoreError::Conflict(format!("{what}: {detail}"))
                }
                ffi::SQLITE_CONSTRAINT_FOREIGNKEY => {
                    return StoreError::NotFound(format!(
                        "{what}: a referenced account or group does not exist in this account"
                    ))
                }
                _ => {}
            }
            match f.code {
                ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt => {
                    StoreError::Corrupt(format!("{what}: {detail}"))
                }
                _ => StoreError::Backend(format!("{what}: {detail}")),
            }
        }
        rusqlite::Error::FromSqlConversionFailure(..)
        | rusqlite::Error::IntegralValueOutOfRange(..)
        | rusqlite::Error::Utf8Error(..)
        | rusqlite::Error::InvalidColumnType(..) => StoreError::Corrupt(format!("{what}: {e}")),
        _ => StoreError::Backend(format!("{what}: {e}")),
    }
}

/// A stored value that does not fit its model type.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}
