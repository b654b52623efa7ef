//! Encrypt, Decrypt, Sign, Signature Verify, MAC, MAC Verify, Hash, RNG
//! Retrieve and RNG Seed: cryptographic operations with a managed key.
//! Multi-part operations carry a Correlation Value and Init/Final Indicators.

use crate::enums::ValidityIndicator;
use crate::objects::CryptographicParameters;
use crate::typed::kmip_struct;
use crate::Bytes;

kmip_struct! {
    /// Encrypt request.
    pub struct EncryptRequest {
        /// The key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Parameters overriding the key's.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// The plaintext (required for single-part).
        pub data: Option<Bytes> = DATA,
        /// IV, counter or nonce.
        pub iv_counter_nonce: Option<Bytes> = IV_COUNTER_NONCE,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
        /// AEAD additional data.
        pub authenticated_encryption_additional_data: Option<Bytes> = AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
    }
}

kmip_struct! {
    /// Encrypt response.
    pub struct EncryptResponse {
        /// The key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The ciphertext.
        pub data: Option<Bytes> = DATA,
        /// The IV, counter or nonce the server generated.
        pub iv_counter_nonce: Option<Bytes> = IV_COUNTER_NONCE,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// AEAD tag.
        pub authenticated_encryption_tag: Option<Bytes> = AUTHENTICATED_ENCRYPTION_TAG,
    }
}

kmip_struct! {
    /// Decrypt request.
    pub struct DecryptRequest {
        /// The key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Parameters overriding the key's.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// The ciphertext (required for single-part).
        pub data: Option<Bytes> = DATA,
        /// IV, counter or nonce.
        pub iv_counter_nonce: Option<Bytes> = IV_COUNTER_NONCE,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
        /// AEAD additional data.
        pub authenticated_encryption_additional_data: Option<Bytes> = AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA,
        /// AEAD tag.
        pub authenticated_encryption_tag: Option<Bytes> = AUTHENTICATED_ENCRYPTION_TAG,
    }
}

kmip_struct! {
    /// Decrypt response.
    pub struct DecryptResponse {
        /// The key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The plaintext.
        pub data: Option<Bytes> = DATA,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Sign request.
    pub struct SignRequest {
        /// The private key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Parameters overriding the key's.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// The data to sign.
        pub data: Option<Bytes> = DATA,
        /// The digest to sign instead of the data (1.4+).
        pub digested_data: Option<Bytes> = DIGESTED_DATA,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// Sign response.
    pub struct SignResponse {
        /// The key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The signature.
        pub signature_data: Option<Bytes> = SIGNATURE_DATA,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Signature Verify request.
    pub struct SignatureVerifyRequest {
        /// The public key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Parameters overriding the key's.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// The signed data.
        pub data: Option<Bytes> = DATA,
        /// The digest instead of the data (1.4+).
        pub digested_data: Option<Bytes> = DIGESTED_DATA,
        /// The signature.
        pub signature_data: Option<Bytes> = SIGNATURE_DATA,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// Signature Verify response.
    pub struct SignatureVerifyResponse {
        /// The key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Valid or invalid (required for single-part; in 2.x absent for multi-part).
        pub validity_indicator: Option<ValidityIndicator> = VALIDITY_INDICATOR,
        /// Data recovered from the signature.
        pub data: Option<Bytes> = DATA,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// MAC request.
    pub struct MacRequest {
        /// The key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Parameters overriding the key's.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// The data.
        pub data: Option<Bytes> = DATA,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// MAC response.
    pub struct MacResponse {
        /// The key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// The MAC.
        pub mac_data: Option<Bytes> = MAC_DATA,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// MAC Verify request.
    pub struct MacVerifyRequest {
        /// The key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// Parameters overriding the key's.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
        /// The data.
        pub data: Option<Bytes> = DATA,
        /// The MAC to verify.
        pub mac_data: Option<Bytes> = MAC_DATA,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// MAC Verify response.
    pub struct MacVerifyResponse {
        /// The key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Valid or invalid (required for single-part; in 2.x absent for multi-part).
        pub validity_indicator: Option<ValidityIndicator> = VALIDITY_INDICATOR,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// Hash request.
    pub struct HashRequest {
        /// The hashing algorithm.
        pub cryptographic_parameters: CryptographicParameters = CRYPTOGRAPHIC_PARAMETERS,
        /// The data.
        pub data: Option<Bytes> = DATA,
        /// Continues a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
        /// Starts a multi-part operation.
        pub init_indicator: Option<bool> = INIT_INDICATOR,
        /// Ends a multi-part operation.
        pub final_indicator: Option<bool> = FINAL_INDICATOR,
    }
}

kmip_struct! {
    /// Hash response.
    pub struct HashResponse {
        /// The digest.
        pub data: Option<Bytes> = DATA,
        /// To continue a multi-part operation.
        pub correlation_value: Option<Bytes> = CORRELATION_VALUE,
    }
}

kmip_struct! {
    /// RNG Retrieve request.
    pub struct RngRetrieveRequest {
        /// Number of random bytes wanted.
        pub data_length: i32 = DATA_LENGTH,
    }
}

kmip_struct! {
    /// RNG Retrieve response.
    pub struct RngRetrieveResponse {
        /// The random bytes.
        pub data: Bytes = DATA,
    }
}

kmip_struct! {
    /// RNG Seed request.
    pub struct RngSeedRequest {
        /// Seed material.
        pub data: Bytes = DATA,
    }
}

kmip_struct! {
    /// RNG Seed response.
    pub struct RngSeedResponse {
        /// How many bytes of the seed were used.
        pub data_length: i32 = DATA_LENGTH,
    }
}
