//! Typed request and response payloads, one file per family of operations.
//! A new operation is its payload types and one line in `operations!` below.

use crate::enums::Operation;
use crate::typed::{Ctx, FromTtlv, ToTtlv};
use crate::{Error, Tag, Ttlv};

mod asynchronous;
mod attributes;
mod certificates;
mod crypto;
mod discovery;
mod lifecycle;
mod locate;
mod objects;
mod server;

pub use asynchronous::*;
pub use attributes::*;
pub use certificates::*;
pub use crypto::*;
pub use discovery::*;
pub use lifecycle::*;
pub use locate::*;
pub use objects::*;
pub use server::*;

/// Declares the payload enums and their dispatch on the Operation.
macro_rules! operations {
    ($( $(#[$m:meta])* $variant:ident = $op:ident : $req:ty, $resp:ty; )*) => {
        /// A request payload, typed by its operation. Payloads are boxed: they
        /// differ widely in size (Register carries a whole object), and a batch
        /// item should cost what its own payload costs.
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum RequestPayload {
            $( $(#[$m])* $variant(Box<$req>), )*
            /// An operation this crate does not model: the payload as sent.
            Other(Ttlv),
        }

        /// A response payload, typed by its operation (boxed, as requests are).
        #[derive(Clone, Debug, PartialEq, Eq)]
        pub enum ResponsePayload {
            $( $(#[$m])* $variant(Box<$resp>), )*
            /// An operation this crate does not model: the payload as sent.
            Other(Ttlv),
        }

        $(
            impl From<$req> for RequestPayload {
                fn from(p: $req) -> Self {
                    RequestPayload::$variant(Box::new(p))
                }
            }
            impl From<$resp> for ResponsePayload {
                fn from(p: $resp) -> Self {
                    ResponsePayload::$variant(Box::new(p))
                }
            }
        )*

        impl RequestPayload {
            /// Reads the payload of `op`.
            pub fn read(op: Operation, item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
                Ok(match op {
                    $( Operation::$op => RequestPayload::$variant(Box::new(<$req>::from_ttlv(item, ctx)?)), )*
                    _ => RequestPayload::Other(item),
                })
            }
            /// Writes the payload as a Request Payload structure.
            pub fn write(self, ctx: &Ctx) -> Ttlv {
                match self {
                    $( RequestPayload::$variant(p) => (*p).to_ttlv(Tag::REQUEST_PAYLOAD, ctx), )*
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
                    $( Operation::$op => ResponsePayload::$variant(Box::new(<$resp>::from_ttlv(item, ctx)?)), )*
                    _ => ResponsePayload::Other(item),
                })
            }
            /// Writes the payload as a Response Payload structure.
            pub fn write(self, ctx: &Ctx) -> Ttlv {
                match self {
                    $( ResponsePayload::$variant(p) => (*p).to_ttlv(Tag::RESPONSE_PAYLOAD, ctx), )*
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
    /// Create Key Pair.
    CreateKeyPair = CREATE_KEY_PAIR: CreateKeyPairRequest, CreateKeyPairResponse;
    /// Register.
    Register = REGISTER: RegisterRequest, RegisterResponse;
    /// Re-key.
    ReKey = RE_KEY: ReKeyRequest, ReKeyResponse;
    /// Re-key Key Pair.
    ReKeyKeyPair = RE_KEY_KEY_PAIR: ReKeyKeyPairRequest, ReKeyKeyPairResponse;
    /// Derive Key.
    DeriveKey = DERIVE_KEY: DeriveKeyRequest, DeriveKeyResponse;
    /// Certify.
    Certify = CERTIFY: CertifyRequest, CertifyResponse;
    /// Re-certify.
    ReCertify = RE_CERTIFY: ReCertifyRequest, ReCertifyResponse;
    /// Locate.
    Locate = LOCATE: LocateRequest, LocateResponse;
    /// Check.
    Check = CHECK: CheckRequest, CheckResponse;
    /// Get Attribute List.
    GetAttributeList = GET_ATTRIBUTE_LIST: GetAttributeListRequest, GetAttributeListResponse;
    /// Modify Attribute.
    ModifyAttribute = MODIFY_ATTRIBUTE: ModifyAttributeRequest, ModifyAttributeResponse;
    /// Delete Attribute.
    DeleteAttribute = DELETE_ATTRIBUTE: DeleteAttributeRequest, DeleteAttributeResponse;
    /// Set Attribute (2.x).
    SetAttribute = SET_ATTRIBUTE: SetAttributeRequest, SetAttributeResponse;
    /// Obtain Lease.
    ObtainLease = OBTAIN_LEASE: ObtainLeaseRequest, ObtainLeaseResponse;
    /// Get Usage Allocation.
    GetUsageAllocation = GET_USAGE_ALLOCATION: GetUsageAllocationRequest, GetUsageAllocationResponse;
    /// Revoke.
    Revoke = REVOKE: RevokeRequest, RevokeResponse;
    /// Destroy.
    Destroy = DESTROY: DestroyRequest, DestroyResponse;
    /// Archive.
    Archive = ARCHIVE: ArchiveRequest, ArchiveResponse;
    /// Recover.
    Recover = RECOVER: RecoverRequest, RecoverResponse;
    /// Validate.
    Validate = VALIDATE: ValidateRequest, ValidateResponse;
    /// Cancel.
    Cancel = CANCEL: CancelRequest, CancelResponse;
    /// Poll: the response is the polled operation's payload, kept as sent.
    Poll = POLL: PollRequest, Ttlv;
    /// Encrypt.
    Encrypt = ENCRYPT: EncryptRequest, EncryptResponse;
    /// Decrypt.
    Decrypt = DECRYPT: DecryptRequest, DecryptResponse;
    /// Sign.
    Sign = SIGN: SignRequest, SignResponse;
    /// Signature Verify.
    SignatureVerify = SIGNATURE_VERIFY: SignatureVerifyRequest, SignatureVerifyResponse;
    /// MAC.
    Mac = MAC: MacRequest, MacResponse;
    /// MAC Verify.
    MacVerify = MAC_VERIFY: MacVerifyRequest, MacVerifyResponse;
    /// Hash.
    Hash = HASH: HashRequest, HashResponse;
    /// RNG Retrieve.
    RngRetrieve = RNG_RETRIEVE: RngRetrieveRequest, RngRetrieveResponse;
    /// RNG Seed.
    RngSeed = RNG_SEED: RngSeedRequest, RngSeedResponse;
    /// Create Split Key.
    CreateSplitKey = CREATE_SPLIT_KEY: CreateSplitKeyRequest, CreateSplitKeyResponse;
    /// Join Split Key.
    JoinSplitKey = JOIN_SPLIT_KEY: JoinSplitKeyRequest, JoinSplitKeyResponse;
    /// Import (1.4, 2.x).
    Import = IMPORT: ImportRequest, ImportResponse;
    /// Export (1.4, 2.x).
    Export = EXPORT: ExportRequest, ExportResponse;
    /// Notify (1.x, server to client).
    Notify = NOTIFY: NotifyRequest, NotifyResponse;
    /// Put (1.x, server to client).
    Put = PUT: PutRequest, PutResponse;
}
