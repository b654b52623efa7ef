//! Certify, Re-certify and Validate: certificates issued and checked by the server.

use super::ProtectionStorageMasks;
use crate::attributes::Attributes;
use crate::enums::{CertificateRequestType, ValidityIndicator};
use crate::objects::Certificate;
use crate::typed::{kmip_struct, Ctx, DateTime, FromTtlv, Interval, ToTtlv};
use crate::{Bytes, Error, ItemType, Tag, Ttlv, Value};

/// The bytes of a certificate request: 1.x `Certificate Request` (a Byte
/// String), 2.x `Certificate Request Value` (the 2.x `Certificate Request` is
/// the managed object).
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct CertificateRequestValue(pub Bytes);

impl FromTtlv for CertificateRequestValue {
    fn from_ttlv(item: Ttlv, _ctx: &Ctx) -> Result<Self, Error> {
        match item.value {
            Value::ByteString(b) => Ok(CertificateRequestValue(b)),
            other => Err(Error::wrong_type(item.tag, ItemType::ByteString, &other)),
        }
    }

    fn alt_tag(tag: Tag, _ctx: &Ctx) -> Option<Tag> {
        match tag {
            Tag::CERTIFICATE_REQUEST_VALUE => Some(Tag::CERTIFICATE_REQUEST),
            Tag::CERTIFICATE_REQUEST => Some(Tag::CERTIFICATE_REQUEST_VALUE),
            _ => None,
        }
    }
}

impl ToTtlv for CertificateRequestValue {
    fn to_ttlv(self, _tag: Tag, ctx: &Ctx) -> Ttlv {
        let tag = if ctx.is_v2() {
            Tag::CERTIFICATE_REQUEST_VALUE
        } else {
            Tag::CERTIFICATE_REQUEST
        };
        Ttlv::new(tag, Value::ByteString(self.0))
    }
}

kmip_struct! {
    /// Certify request: a certificate for a public key.
    pub struct CertifyRequest {
        /// The public key (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// CRMF, PKCS#10, PEM…
        pub certificate_request_type: Option<CertificateRequestType> = CERTIFICATE_REQUEST_TYPE,
        /// The request.
        pub certificate_request_value: Option<CertificateRequestValue> = CERTIFICATE_REQUEST_VALUE,
        /// Attributes of the certificate.
        pub attributes: Option<Attributes> = ATTRIBUTES,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Certify response.
    pub struct CertifyResponse {
        /// The certificate.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Re-certify request: a renewed certificate.
    pub struct ReCertifyRequest {
        /// The existing certificate (absent: the ID placeholder).
        pub unique_identifier: Option<String> = UNIQUE_IDENTIFIER,
        /// A Certificate Request object holding the request (2.x).
        pub certificate_request_unique_identifier: Option<String> = CERTIFICATE_REQUEST_UNIQUE_IDENTIFIER,
        /// CRMF, PKCS#10, PEM…
        pub certificate_request_type: Option<CertificateRequestType> = CERTIFICATE_REQUEST_TYPE,
        /// The request.
        pub certificate_request_value: Option<CertificateRequestValue> = CERTIFICATE_REQUEST_VALUE,
        /// Time from the new certificate's Initialization Date to its Activation Date.
        pub offset: Option<Interval> = OFFSET,
        /// Attributes of the new certificate.
        pub attributes: Option<Attributes> = ATTRIBUTES,
        /// Where it may be stored (2.x).
        pub protection_storage_masks: Option<ProtectionStorageMasks> = PROTECTION_STORAGE_MASKS,
    }
}

kmip_struct! {
    /// Re-certify response.
    pub struct ReCertifyResponse {
        /// The new certificate.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Attributes the server set implicitly (1.x only).
        pub attributes: Option<Attributes> = ATTRIBUTES,
    }
}

kmip_struct! {
    /// Validate request: is this certificate chain valid?
    pub struct ValidateRequest {
        /// Certificates of the chain, supplied inline.
        pub certificate: Vec<Certificate> = CERTIFICATE,
        /// Certificates of the chain, by identifier.
        pub unique_identifier: Vec<String> = UNIQUE_IDENTIFIER,
        /// The date to validate at (absent: now).
        pub validity_date: Option<DateTime> = VALIDITY_DATE,
    }
}

kmip_struct! {
    /// Validate response.
    pub struct ValidateResponse {
        /// Valid, invalid or unknown.
        pub validity_indicator: ValidityIndicator = VALIDITY_INDICATOR,
    }
}
