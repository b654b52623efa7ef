//! What both backends share of a restore: an `objects` row of a backup read
//! back into its fields ([`skms_core::dump::TABLES`] gives its columns).

use skms_core::dump::Cell;
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::store::StoreError;

/// The stored columns of an object, as a backup holds them.
pub struct StoredObject {
    /// `id`.
    pub id: ObjectId,
    /// `account`.
    pub account: AccountId,
    /// `group_id`.
    pub group: GroupId,
    /// `object_type`.
    pub object_type: i64,
    /// `state`.
    pub state: i64,
    /// `attributes`: the stored bytes, verbatim.
    pub attributes: Vec<u8>,
    /// `sealed`.
    pub sealed: Option<Vec<u8>>,
    /// `created`.
    pub created: i64,
    /// `updated`.
    pub updated: i64,
    /// `creator`.
    pub creator: Option<AppId>,
}

impl StoredObject {
    /// The object of a backup's `objects` row.
    pub fn of(cells: &[Cell]) -> Result<Self, StoreError> {
        let bad = || StoreError::Corrupt("a backup's objects row: a value of another type".into());
        let bytes = |i: usize| match cells.get(i) {
            Some(Cell::Bytes(b)) => Ok(b.clone()),
            _ => Err(bad()),
        };
        let opt_bytes = |i: usize| match cells.get(i) {
            Some(Cell::Null) => Ok(None),
            _ => bytes(i).map(Some),
        };
        let int = |i: usize| match cells.get(i) {
            Some(Cell::Int(n)) => Ok(*n),
            _ => Err(bad()),
        };
        let id = |v: Vec<u8>| -> Result<[u8; 16], StoreError> {
            v.try_into().map_err(|_| {
                StoreError::Corrupt("a backup's objects row: an identifier is not 16 bytes".into())
            })
        };
        Ok(StoredObject {
            id: ObjectId::from_bytes(id(bytes(0)?)?),
            account: AccountId::from_bytes(id(bytes(1)?)?),
            group: GroupId::from_bytes(id(bytes(2)?)?),
            object_type: int(3)?,
            state: int(4)?,
            attributes: bytes(5)?,
            sealed: opt_bytes(6)?,
            created: int(7)?,
            updated: int(8)?,
            creator: opt_bytes(9)?
                .map(|v| id(v).map(AppId::from_bytes))
                .transpose()?,
        })
    }
}
