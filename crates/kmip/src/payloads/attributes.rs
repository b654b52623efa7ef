//! Get Attributes and Add Attribute: reading and tagging an object's attributes.

use crate::attributes::{AttributeReference, InlineAttributes, NewAttribute};
use crate::typed::kmip_struct;

kmip_struct! {
    /// Get Attributes request (1.x by Attribute Name, 2.x by Attribute Reference).
    pub struct GetAttributesRequest {
        /// The object.
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Which attributes (none: all).
        pub attribute_reference: Vec<AttributeReference> = ATTRIBUTE_REFERENCE,
    }
}

kmip_struct! {
    /// Get Attributes response (absent attributes are simply not listed).
    pub struct GetAttributesResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The attributes found.
        pub attributes: InlineAttributes = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Add Attribute request.
    pub struct AddAttributeRequest {
        /// The object.
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// The attribute to add (1.x Attribute, 2.x New Attribute).
        pub attribute: NewAttribute = NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Add Attribute response (1.x echoes the attribute; 2.x does not).
    pub struct AddAttributeResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The added attribute (1.x only).
        pub attribute: Option<NewAttribute> = NEW_ATTRIBUTE,
    }
}
