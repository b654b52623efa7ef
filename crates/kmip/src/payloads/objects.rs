//! Create, Get: making and fetching managed objects.

use crate::attributes::Attributes;
use crate::enums::*;
use crate::objects::{KeyWrappingSpecification, Object};
use crate::typed::kmip_struct;
use crate::Ttlv;

kmip_struct! {
    /// Create request: a new symmetric key (or secret) from attributes.
    pub struct CreateRequest {
        /// What to create.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// Its attributes (1.x Template-Attribute, 2.x Attributes).
        pub attributes: Attributes = ATTRIBUTES,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<Ttlv> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Create response.
    pub struct CreateResponse {
        /// What was created.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// Its identifier.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Get request.
    pub struct GetRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Format wanted.
        pub key_format_type: Option<KeyFormatType> = KEY_FORMAT_TYPE,
        /// Wrapped as stored or unwrapped (1.4+).
        pub key_wrap_type: Option<KeyWrapType> = KEY_WRAP_TYPE,
        /// EC compression wanted.
        pub key_compression_type: Option<KeyCompressionType> = KEY_COMPRESSION_TYPE,
        /// How to wrap the returned key.
        pub key_wrapping_specification: Option<KeyWrappingSpecification> = KEY_WRAPPING_SPECIFICATION,
    }
}

kmip_struct! {
    /// Get response.
    pub struct GetResponse {
        /// The object's type.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// Its identifier.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The object.
        pub object: Object = SYMMETRIC_KEY,
    }
}
