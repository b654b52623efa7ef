//! Discover Versions and Query: what a client asks before anything else, answered without identity.

use super::Context;
use kmip::enums::{ObjectType, Operation, QueryFunction};
use kmip::messages::ProtocolVersion;
use kmip::payloads::{
    DiscoverVersionsRequest, DiscoverVersionsResponse, QueryRequest, QueryResponse,
};
use kmip::typed::Ctx;

/// The versions both sides support, in the server's order of preference
/// (all of the server's when the client lists none).
pub fn discover_versions(ctx: &Context, req: DiscoverVersionsRequest) -> DiscoverVersionsResponse {
    let ours = ctx
        .server
        .versions
        .iter()
        .map(|&(a, b)| ProtocolVersion::new(a, b));
    let protocol_version = if req.protocol_version.is_empty() {
        ours.collect()
    } else {
        ours.filter(|v| req.protocol_version.contains(v)).collect()
    };
    DiscoverVersionsResponse { protocol_version }
}

/// The operations the server performs (those whose payloads reach a handler).
pub const OPERATIONS: &[Operation] = &[
    Operation::CREATE,
    Operation::REGISTER,
    Operation::RE_KEY,
    Operation::LOCATE,
    Operation::CHECK,
    Operation::GET,
    Operation::GET_ATTRIBUTES,
    Operation::GET_ATTRIBUTE_LIST,
    Operation::ADD_ATTRIBUTE,
    Operation::MODIFY_ATTRIBUTE,
    Operation::DELETE_ATTRIBUTE,
    Operation::ACTIVATE,
    Operation::REVOKE,
    Operation::DESTROY,
    Operation::QUERY,
    Operation::DISCOVER_VERSIONS,
    Operation::RNG_RETRIEVE,
];

/// Operations only KMIP 2.x defines, reported to 2.x clients only.
pub const OPERATIONS_V2: &[Operation] = &[Operation::SET_ATTRIBUTE];

/// The object types the server manages.
pub const OBJECT_TYPES: &[ObjectType] = super::create::REGISTERABLE;

/// Answers Query: operations, object types and server information, as asked.
pub fn query(ctx: &Context, v: &Ctx, req: QueryRequest) -> QueryResponse {
    let mut resp = QueryResponse::default();
    for f in req.query_function {
        match f {
            QueryFunction::QUERY_OPERATIONS => {
                resp.operation = OPERATIONS.to_vec();
                if v.is_v2() {
                    resp.operation.extend_from_slice(OPERATIONS_V2);
                }
            }
            QueryFunction::QUERY_OBJECTS => resp.object_type = OBJECT_TYPES.to_vec(),
            QueryFunction::QUERY_SERVER_INFORMATION => {
                resp.vendor_identification = Some(ctx.server.vendor.clone())
            }
            _ => {}
        }
    }
    let _ = v;
    resp
}
