//! One mapping from PostgreSQL errors to [`StoreError`], the same partition
//! the SQLite store makes, so that callers see one behaviour whatever the backend.

use postgres::error::SqlState;
use skms_core::store::StoreError;

/// Maps an error of `what`: a taken unique key is `Conflict`, a reference to a
/// missing (or another account's) row is `NotFound`, unreadable stored data
/// is `Corrupt`, anything else `Backend`. Only the server's message and code
/// are kept, never its DETAIL (which may quote the values of a row).
pub fn backend(what: &str, e: postgres::Error) -> StoreError {
    if let Some(db) = e.as_db_error() {
        let detail = format!("{} ({})", db.message(), db.code().code());
        return match *db.code() {
            SqlState::UNIQUE_VIOLATION => StoreError::Conflict(format!("{what}: {detail}")),
            SqlState::FOREIGN_KEY_VIOLATION => StoreError::NotFound(format!(
                "{what}: a referenced account or group does not exist in this account"
            )),
            SqlState::DATA_CORRUPTED | SqlState::INDEX_CORRUPTED => {
                StoreError::Corrupt(format!("{what}: {detail}"))
            }
            _ => StoreError::Backend(format!("{what}: {detail}")),
        };
    }
    let text = e.to_string();
    // A stored value that does not convert to its model type (see postgres::Error's kinds).
    if text.starts_with("error deserializing") {
        StoreError::Corrupt(format!("{what}: {text}"))
    } else {
        StoreError::Backend(format!("{what}: {text}"))
    }
}

/// A stored value that does not fit its model type.
pub fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_string())
}

/// True when `e` came from [`backend`] on an error that [`retryable`] accepts
/// (its message ends with the SQLSTATE code).
pub fn is_retryable(e: &StoreError) -> bool {
    matches!(e, StoreError::Backend(m) if m.ends_with("(40P01)") || m.ends_with("(40001)"))
}
