//! Locate: finding objects by their attributes.

use crate::attributes::InlineAttributes;
use crate::enums::{ObjectGroupMember, StorageStatusMask};
use crate::typed::kmip_struct;

kmip_struct! {
    /// Locate request: 1.x carries the attributes to match as `Attribute`
    /// items, 2.x as one `Attributes` structure.
    pub struct LocateRequest {
        /// At most this many identifiers.
        pub maximum_items: Option<i32> = MAXIMUM_ITEMS,
        /// Skip this many matches (1.3+).
        pub offset_items: Option<i32> = OFFSET_ITEMS,
        /// Which storage to search (on-line, archived, destroyed).
        pub storage_status_mask: Option<StorageStatusMask> = STORAGE_STATUS_MASK,
        /// Fresh or default members of a group.
        pub object_group_member: Option<ObjectGroupMember> = OBJECT_GROUP_MEMBER,
        /// The attributes to match.
        pub attributes: InlineAttributes = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Locate response.
    pub struct LocateResponse {
        /// Number of matches (1.3+).
        pub located_items: Option<i32> = LOCATED_ITEMS,
        /// The identifiers found.
        pub unique_identifier: Vec<String> = UNIQUE_IDENTIFIER,
    }
}
