//! Create, Create Key Pair, Register, Re-key, Re-key Key Pair, Derive Key,
//! Create Split Key, Join Split Key, Get, Import and Export: making, replacing
//! and fetching managed objects.

use crate::attributes::{Attributes, InlineAttributes};
use crate::enums::*;
use crate::objects::{CryptographicParameters, KeyWrappingSpecification, Object};
use crate::typed::{kmip_struct, BigInt, Interval};
use crate::Bytes;

kmip_struct! {
    /// Protection Storage Masks (2.x): the acceptable protections, any one of which suffices.
    pub struct ProtectionStorageMasks {
        /// The masks.
        pub protection_storage_mask: Vec<ProtectionStorageMask> = PROTECTION_STORAGE_MASK,
    }
}

kmip_struct! {
    /// Create request: a new symmetric key (or secret) from attributes.
    pub struct CreateRequest {
        /// What to create.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// Its attributes (1.x Template-Attribute, 2.x Attributes).
        pub attributes: Attributes = ATTRIBUTES,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
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

kmip_struct! {
    /// Create Key Pair request.
    pub struct CreateKeyPairRequest {
        /// Attributes for both keys (1.x Common Template-Attribute, 2.x Common Attributes).
        pub common_attributes: Option<Attributes> = COMMON_ATTRIBUTES,
        /// Attributes for the private key.
        pub private_key_attributes: Option<Attributes> = PRIVATE_KEY_ATTRIBUTES,
        /// Attributes for the public key.
        pub public_key_attributes: Option<Attributes> = PUBLIC_KEY_ATTRIBUTES,
        /// Storage protections for both keys (2.x).
        pub common_protection_storage_masks: Option<ProtectionStorageMasks> = COMMON_PROTECTION_STORAGE_MASKS,
        /// Storage protections for the private key (2.x).
        pub private_protection_storage_masks: Option<ProtectionStorageMasks> = PRIVATE_PROTECTION_STORAGE_MASKS,
        /// Storage protections for the public key (2.x).
        pub public_protection_storage_masks: Option<ProtectionStorageMasks> = PUBLIC_PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Create Key Pair response.
    pub struct CreateKeyPairResponse {
        /// The private key.
        pub private_key_unique_identifier: String = PRIVATE_KEY_UNIQUE_IDENTIFIER,
        /// The public key.
        pub public_key_unique_identifier: String = PUBLIC_KEY_UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly on the private key (1.x only).
        pub private_key_attributes: Option<Attributes> = PRIVATE_KEY_ATTRIBUTES,
        /// Attributes the server set implicitly on the public key (1.x only).
        pub public_key_attributes: Option<Attributes> = PUBLIC_KEY_ATTRIBUTES,
    }
}

kmip_struct! {
    /// Register request: an object the client supplies.
    pub struct RegisterRequest {
        /// Its type.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// Its attributes (1.x Template-Attribute, 2.x Attributes).
        pub attributes: Attributes = ATTRIBUTES,
        /// The object.
        pub object: Object = SYMMETRIC_KEY,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Register response.
    pub struct RegisterResponse {
        /// Its identifier.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Re-key request: a replacement for a symmetric key.
    pub struct ReKeyRequest {
        /// The existing key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Time from the replacement's Initialization Date to its Activation Date.
        pub offset: Option<Interval> = OFFSET,
        /// Attributes for the replacement.
        pub attributes: Option<Attributes> = ATTRIBUTES,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Re-key response.
    pub struct ReKeyResponse {
        /// The replacement key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Re-key Key Pair request: a replacement for a key pair.
    pub struct ReKeyKeyPairRequest {
        /// The existing private key (absent: the ID placeholder).
        pub private_key_unique_identifier: Option<String> = PRIVATE_KEY_UNIQUE_IDENTIFIER,
        /// Time from the replacement's Initialization Date to its Activation Date.
        pub offset: Option<Interval> = OFFSET,
        /// Attributes for both keys.
        pub common_attributes: Option<Attributes> = COMMON_ATTRIBUTES,
        /// Attributes for the private key.
        pub private_key_attributes: Option<Attributes> = PRIVATE_KEY_ATTRIBUTES,
        /// Attributes for the public key.
        pub public_key_attributes: Option<Attributes> = PUBLIC_KEY_ATTRIBUTES,
        /// Storage protections for both keys (2.x).
        pub common_protection_storage_masks: Option<ProtectionStorageMasks> = COMMON_PROTECTION_STORAGE_MASKS,
        /// Storage protections for the private key (2.x).
        pub private_protection_storage_masks: Option<ProtectionStorageMasks> = PRIVATE_PROTECTION_STORAGE_MASKS,
        /// Storage protections for the public key (2.x).
        pub public_protection_storage_masks: Option<ProtectionStorageMasks> = PUBLIC_PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Re-key Key Pair response.
    pub struct ReKeyKeyPairResponse {
        /// The replacement private key.
        pub private_key_unique_identifier: String = PRIVATE_KEY_UNIQUE_IDENTIFIER,
        /// The replacement public key.
        pub public_key_unique_identifier: String = PUBLIC_KEY_UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly on the private key (1.x only).
        pub private_key_attributes: Option<Attributes> = PRIVATE_KEY_ATTRIBUTES,
        /// Attributes the server set implicitly on the public key (1.x only).
        pub public_key_attributes: Option<Attributes> = PUBLIC_KEY_ATTRIBUTES,
    }
}

kmip_struct! {
    /// Derivation Parameters of Derive Key.
    pub struct DerivationParameters {
        /// The PRF or its mode.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// Initialization vector.
        pub initialization_vector: Option<Bytes> = INITIALIZATION_VECTOR,
        /// The data to derive from (may be repeated in 2.x).
        pub derivation_data: Vec<Bytes> = DERIVATION_DATA,
        /// PBKDF2 salt.
        pub salt: Option<Bytes> = SALT,
        /// PBKDF2 iteration count.
        pub iteration_count: Option<i32> = ITERATION_COUNT,
    }
}

kmip_struct! {
    /// Derive Key request.
    pub struct DeriveKeyRequest {
        /// Type of the derived object.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// The base object(s).
        pub unique_identifier: Vec<String> = UNIQUE_IDENTIFIER,
        /// How to derive.
        pub derivation_method: DerivationMethod = DERIVATION_METHOD,
        /// Parameters of the derivation.
        pub derivation_parameters: DerivationParameters = DERIVATION_PARAMETERS,
        /// Attributes of the derived object.
        pub attributes: Attributes = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Derive Key response.
    pub struct DeriveKeyResponse {
        /// The derived object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Create Split Key request.
    pub struct CreateSplitKeyRequest {
        /// Type of the object to split.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// An existing object to split (absent: the server creates one).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Number of parts.
        pub split_key_parts: i32 = SPLIT_KEY_PARTS,
        /// Parts needed to rebuild.
        pub split_key_threshold: i32 = SPLIT_KEY_THRESHOLD,
        /// Splitting method.
        pub split_key_method: SplitKeyMethod = SPLIT_KEY_METHOD,
        /// Prime field size for polynomial sharing.
        pub prime_field_size: Option<BigInt> = PRIME_FIELD_SIZE,
        /// Attributes of the parts.
        pub attributes: Attributes = ATTRIBUTES,
        /// Where they may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Create Split Key response.
    pub struct CreateSplitKeyResponse {
        /// The parts.
        pub unique_identifier: Vec<String> = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Join Split Key request.
    pub struct JoinSplitKeyRequest {
        /// Type of the rebuilt object.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// The parts.
        pub unique_identifier: Vec<String> = UNIQUE_IDENTIFIER,
        /// Kind of secret, when rebuilding Secret Data.
        pub secret_data_type: Option<SecretDataType> = SECRET_DATA_TYPE,
        /// Attributes of the rebuilt object.
        pub attributes: Option<Attributes> = ATTRIBUTES,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Join Split Key response.
    pub struct JoinSplitKeyResponse {
        /// The rebuilt object.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Export request (1.4, 2.x): an object with all its attributes.
    pub struct ExportRequest {
        /// The object (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Format wanted.
        pub key_format_type: Option<KeyFormatType> = KEY_FORMAT_TYPE,
        /// Wrapped as stored or unwrapped.
        pub key_wrap_type: Option<KeyWrapType> = KEY_WRAP_TYPE,
        /// EC compression wanted.
        pub key_compression_type: Option<KeyCompressionType> = KEY_COMPRESSION_TYPE,
        /// How to wrap the returned key.
        pub key_wrapping_specification: Option<KeyWrappingSpecification> = KEY_WRAPPING_SPECIFICATION,
    }
}

kmip_struct! {
    /// Export response (1.4 `Attribute` list, 2.x `Attributes`).
    pub struct ExportResponse {
        /// The object's type.
        pub object_type: ObjectType = OBJECT_TYPE,
        /// Its identifier.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// All its attributes.
        pub attributes: InlineAttributes = ATTRIBUTES,
        /// The object.
        pub object: Object = SYMMETRIC_KEY,
    }
}

kmip_struct! {
    /// Import request (1.4, 2.x): an object with all its attributes, under the
    /// identifier it had where it was exported.
    pub struct ImportRequest {
        /// The identifier to keep.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The object's type (2.x).
        pub object_type: Option<ObjectType> = OBJECT_TYPE,
        /// Replace an existing object with this identifier.
        pub replace_existing: Option<bool> = REPLACE_EXISTING,
        /// Whether the key is stored wrapped (if and only if it is wrapped).
        pub key_wrap_type: Option<KeyWrapType> = KEY_WRAP_TYPE,
        /// All its attributes (1.4 `Attribute` list, 2.x `Attributes`).
        pub attributes: InlineAttributes = ATTRIBUTES,
        /// The object.
        pub object: Object = SYMMETRIC_KEY,
    }
}

kmip_struct! {
    /// Import response.
    pub struct ImportResponse {
        /// The identifier.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
    }
}
