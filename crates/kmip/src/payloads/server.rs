//! Notify and Put (1.x): messages a server sends to a client. The client
//! answers with no payload.

use crate::attributes::InlineAttributes;
use crate::enums::PutFunction;
use crate::objects::Object;
use crate::typed::kmip_struct;
use crate::Ttlv;

kmip_struct! {
    /// Notify message: an object's attributes changed.
    pub struct NotifyRequest {
        /// The object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The changed attributes, kept as sent: a deleted attribute is an
        /// `Attribute` without an Attribute Value.
        pub attribute: Vec<Ttlv> = ATTRIBUTE,
    }
}

kmip_struct! {
    /// Put message: an object pushed to the client.
    pub struct PutRequest {
        /// The object's identifier.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// New or replacement.
        pub put_function: PutFunction = PUT_FUNCTION,
        /// The object this one replaces.
        pub replaced_unique_identifier: Option<String> = REPLACED_UNIQUE_IDENTIFIER,
        /// The object.
        pub object: Object = SYMMETRIC_KEY,
        /// Attributes sent with it.
        pub attributes: InlineAttributes = ATTRIBUTES,
    }
}

kmip_struct! {
    /// The client's (empty) answer to Notify.
    pub struct NotifyResponse {}
}

kmip_struct! {
    /// The client's (empty) answer to Put.
    pub struct PutResponse {}
}
