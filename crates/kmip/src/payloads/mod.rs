//! Typed request and response payloads, one file per family of operations.
//! A new operation is its payload types and one line in `operations!` below.

use crate::enums::Operation;
use crate::typed::{Ctx, FromTtlv, ToTtlv};
use crate::{Error, Tag, Ttlv};

mod attributes;
mod discovery;
mod lifecycle;
mod objects;

pub use attributes::*;
pub use discovery::*;
pub use lifecycle::*;
pub use objects::*;

/// Declares the payload enums and their dispatch on the Operation.
macro_rules! operations {
    ($( $(#[$m:meta])* $variant:ident = $op:ident : $req:ty, $resp:ty; )*) => {
        /// A request payload, typed by its operation.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum RequestPayload {
            $( $(#[$m])* $variant($req), )*
            /// An operation this crate does not model: the payload as sent.
            Other(Ttlv),
        }

        /// A response payload, typed by its operation.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum ResponsePayload {
            $( $(#[$m])* $variant($resp), )*
            /// An operation this crate does not model: the payload as sent.
            Other(Ttlv),
        }

        impl RequestPayload {
            /// Reads the payload of `op`.
            pub fn read(op: Operation, item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
                Ok(match op {
                    $( Operation::$op => RequestPayload::$variant(<$req>::from_ttlv(item, ctx)?), )*
                    _ => RequestPayload::Other(item),
                })
            }
            /// Writes the payload as a Request Payload structure.
            pub fn write(self, ctx: &Ctx) -> Ttlv {
                match self {
                    $( RequestPayload::$variant(p) => p.to_ttlv(Tag::REQUEST_PAYLOAD, ctx), )*
                    RequestPayload::Other(t) => t,
                }
            }
            /// The operation of a typed payload.
            pub fn operation(&self) -> Option<Operation> {
                match self {
                    $( RequestPayload::$variant(_) => Some(Operation::$op), )*
                    RequestPayload::Other(_) => None,
                }
            }
        }

        impl ResponsePayload {
            /// Reads the payload of `op`.
            pub fn read(op: Operation, item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
                Ok(match op {
                    $( Operation::$op => ResponsePayload::$variant(<$resp>::from_ttlv(item, ctx)?), )*
                    _ => ResponsePayload::Other(item),
                })
            }
            /// Writes the payload as a Response Payload structure.
            pub fn write(self, ctx: &Ctx) -> Ttlv {
                match self {
                    $( ResponsePayload::$variant(p) => p.to_ttlv(Tag::RESPONSE_PAYLOAD, ctx), )*
                    ResponsePayload::Other(t) => t,
                }
            }
            /// The operation of a typed payload.
            pub fn operation(&self) -> Option<Operation> {
                match self {
                    $( ResponsePayload::$variant(_) => Some(Operation::$op), )*
                    ResponsePayload::Other(_) => None,
                }
            }
        }
    };
}

operations! {
    /// Discover Versions.
    DiscoverVersions = DISCOVER_VERSIONS: DiscoverVersionsRequest, DiscoverVersionsResponse;
    /// Query.
    Query = QUERY: QueryRequest, QueryResponse;
    /// Create.
    Create = CREATE: CreateRequest, CreateResponse;
    /// Get.
    Get = GET: GetRequest, GetResponse;
    /// Get Attributes.
    GetAttributes = GET_ATTRIBUTES: GetAttributesRequest, GetAttributesResponse;
    /// Add Attribute.
    AddAttribute = ADD_ATTRIBUTE: AddAttributeRequest, AddAttributeResponse;
    /// Activate.
    Activate = ACTIVATE: ActivateRequest, ActivateResponse;
}
