//! Get Attributes, Get Attribute List, Add, Modify, Delete and Set Attribute:
//! reading and changing an object's attributes.

use crate::attributes::{AttributeReference, CurrentAttribute, InlineAttributes, NewAttribute};
use crate::typed::{kmip_struct, Ctx, Field, StructReader};
use crate::{Error, Tag, Ttlv};

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

/// A field only KMIP 2.x carries: absent (neither read nor written) in 1.x,
/// where the 1.x shape would confuse it with another field (the 2.x Current
/// Attribute of Modify Attribute against the 1.x `Attribute`).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct V2Only<T>(pub Option<T>);

impl<T> Field for V2Only<T>
where
    Option<T>: Field,
{
    fn take(r: &mut StructReader, tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        if ctx.is_v2() {
            <Option<T> as Field>::take(r, tag, ctx).map(V2Only)
        } else {
            Ok(V2Only(None))
        }
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        if ctx.is_v2() {
            self.0.put(tag, out, ctx)
        }
    }
}

kmip_struct! {
    /// Get Attribute List request.
    pub struct GetAttributeListRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
    }
}

kmip_struct! {
    /// Get Attribute List response: the names (1.x Attribute Name) or references
    /// (2.x Attribute Reference) of the object's attributes.
    pub struct GetAttributeListResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The attributes the object has.
        pub attribute_reference: Vec<AttributeReference> = ATTRIBUTE_REFERENCE,
    }
}

kmip_struct! {
    /// Modify Attribute request. 1.x: the `Attribute` with its new value
    /// (matched by name and index); 2.x: an optional Current Attribute and the
    /// New Attribute.
    pub struct ModifyAttributeRequest {
        /// The object.
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// The instance to change (2.x only).
        pub current_attribute: V2Only<CurrentAttribute> = CURRENT_ATTRIBUTE,
        /// The new value (1.x Attribute, 2.x New Attribute).
        pub new_attribute: NewAttribute = NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Modify Attribute response (1.x echoes the modified attribute; 2.x does not).
    pub struct ModifyAttributeResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The modified attribute (1.x only).
        pub attribute: Option<NewAttribute> = NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Delete Attribute request. 1.x: Attribute Name and Attribute Index; 2.x:
    /// a Current Attribute (one instance) or an Attribute Reference (all instances).
    pub struct DeleteAttributeRequest {
        /// The object.
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// The instance to delete (2.x only).
        pub current_attribute: V2Only<CurrentAttribute> = CURRENT_ATTRIBUTE,
        /// Which attribute (1.x Attribute Name, 2.x Attribute Reference).
        pub attribute_reference: Option<AttributeReference> = ATTRIBUTE_REFERENCE,
        /// Which instance (1.x only; absent: index 0).
        pub attribute_index: Option<i32> = ATTRIBUTE_INDEX,
    }
}

kmip_struct! {
    /// Delete Attribute response (1.x echoes the deleted attribute; 2.x does not).
    pub struct DeleteAttributeResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The deleted attribute (1.x only).
        pub attribute: Option<CurrentAttribute> = CURRENT_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Set Attribute request (2.x): set a single-instance attribute, adding or replacing it.
    pub struct SetAttributeRequest {
        /// The object.
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// The attribute and its value.
        pub new_attribute: NewAttribute = NEW_ATTRIBUTE,
    }
}

kmip_struct! {
    /// Set Attribute response (2.x).
    pub struct SetAttributeResponse {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
    }
}
