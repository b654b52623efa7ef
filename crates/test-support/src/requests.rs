//! Building KMIP requests in tests: a message around payloads, a credential,
//! the attributes of an AES key.

use kmip::attributes::Attribute;
use kmip::enums::CryptographicAlgorithm;
use kmip::messages::{
    Authentication, Credential, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage,
    SecretString, UsernameAndPassword,
};
use kmip::payloads::RequestPayload;
use kmip::{Tag, Value};

/// A request of KMIP version `v` with one batch item per payload (no batch
/// item ids, no credential).
pub fn message(v: (i32, i32), payloads: Vec<RequestPayload>) -> RequestMessage {
    RequestMessage {
        header: RequestHeader {
            protocol_version: ProtocolVersion::new(v.0, v.1),
            batch_count: payloads.len() as i32,
            ..Default::default()
        },
        batch_items: payloads
            .into_iter()
            .map(|p| RequestBatchItem {
                operation: p.operation().expect("a typed payload"),
                ephemeral: None,
                unique_batch_item_id: None,
                payload: p,
                message_extension: None,
            })
            .collect(),
    }
}

/// The request with a Username and Password credential in its header.
pub fn with_password(mut r: RequestMessage, username: &str, password: &str) -> RequestMessage {
    r.header.authentication = Some(Authentication {
        credential: vec![Credential::UsernameAndPassword(UsernameAndPassword {
            username: username.into(),
            password: Some(SecretString(password.into())),
        })],
    });
    r
}

/// The attributes of an AES key of `len` bits for Encrypt and Decrypt (usage mask 12).
pub fn aes_attributes(len: i32) -> Vec<Attribute> {
    vec![
        Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        ),
        Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(len)),
        Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
    ]
}
