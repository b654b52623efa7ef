//! Discover Versions and Query: what a client asks before anything else.

use crate::enums::*;
use crate::messages::ProtocolVersion;
use crate::typed::kmip_struct;
use crate::Ttlv;

kmip_struct! {
    /// Discover Versions request: the client's versions (none: "tell me all of yours").
    pub struct DiscoverVersionsRequest {
        /// Versions the client supports, most preferred first.
        pub protocol_version: Vec<ProtocolVersion> = PROTOCOL_VERSION,
    }
}

kmip_struct! {
    /// Discover Versions response: the versions both sides support, server's preference first.
    pub struct DiscoverVersionsResponse {
        /// Versions.
        pub protocol_version: Vec<ProtocolVersion> = PROTOCOL_VERSION,
    }
}

kmip_struct! {
    /// Query request.
    pub struct QueryRequest {
        /// What to report.
        pub query_function: Vec<QueryFunction> = QUERY_FUNCTION,
    }
}

kmip_struct! {
    /// Extension Information (Query Extension List / Map).
    pub struct ExtensionInformation {
        /// Extension name.
        pub extension_name: String = EXTENSION_NAME,
        /// Extension tag.
        pub extension_tag: Option<i32> = EXTENSION_TAG,
        /// Extension item type.
        pub extension_type: Option<i32> = EXTENSION_TYPE,
        /// Enumeration (2.x).
        pub extension_enumeration: Option<i32> = EXTENSION_ENUMERATION,
        /// Is it an attribute (2.x).
        pub extension_attribute: Option<bool> = EXTENSION_ATTRIBUTE,
        /// Parent structure tag (2.x).
        pub extension_parent_structure_tag: Option<i32> = EXTENSION_PARENT_STRUCTURE_TAG,
        /// Description (2.x).
        pub extension_description: Option<String> = EXTENSION_DESCRIPTION,
    }
}

kmip_struct! {
    /// Query response. Structures whose content this crate does not need to
    /// interpret (server information, profiles, capabilities) are kept as sent.
    pub struct QueryResponse {
        /// Supported operations.
        pub operation: Vec<Operation> = OPERATION,
        /// Supported object types.
        pub object_type: Vec<ObjectType> = OBJECT_TYPE,
        /// Vendor Identification.
        pub vendor_identification: Option<String> = VENDOR_IDENTIFICATION,
        /// Server Information (vendor-defined in 1.x).
        pub server_information: Option<Ttlv> = SERVER_INFORMATION,
        /// Application namespaces.
        pub application_namespace: Vec<String> = APPLICATION_NAMESPACE,
        /// Extensions (1.1+).
        pub extension_information: Vec<ExtensionInformation> = EXTENSION_INFORMATION,
        /// Attestation types (1.2+).
        pub attestation_type: Vec<AttestationType> = ATTESTATION_TYPE,
        /// RNG parameters (1.3+).
        pub rng_parameters: Vec<Ttlv> = RNG_PARAMETERS,
        /// Profiles (1.3+).
        pub profile_information: Vec<Ttlv> = PROFILE_INFORMATION,
        /// Validations (1.3+).
        pub validation_information: Vec<Ttlv> = VALIDATION_INFORMATION,
        /// Capabilities (1.3+).
        pub capability_information: Vec<Ttlv> = CAPABILITY_INFORMATION,
        /// Client registration methods (1.3+).
        pub client_registration_method: Vec<ClientRegistrationMethod> = CLIENT_REGISTRATION_METHOD,
        /// Defaults (2.x).
        pub defaults_information: Option<Ttlv> = DEFAULTS_INFORMATION,
        /// Protection storage masks (2.x).
        pub protection_storage_masks: Vec<Ttlv> = PROTECTION_STORAGE_MASKS,
    }
}
