//! The stored form of object attributes: the binary TTLV of a KMIP 2.1
//! `Attributes` structure. One byte form for every backend, decoded with the
//! same bounded decoder that reads the network.
//!
//! The 2.1 shape has no place for the KMIP 1.x template names nor for
//! attribute indexes (an instance's position is its index), so those two
//! 1.x message artefacts are not kept.

use kmip::attributes::Attributes;
use kmip::binary::{decode, encode, Limits};
use kmip::typed::{Ctx, FromTtlv, ToTtlv};
use kmip::Tag;
use skms_core::store::StoreError;

/// Decoding bounds for stored attributes: our own data, but still bounded in
/// depth so that a corrupted row cannot recurse without end.
const STORED: Limits = Limits {
    max_message_size: usize::MAX,
    max_depth: 64,
};

/// The stored bytes of `attributes`.
pub fn encode_attributes(attributes: &Attributes) -> Vec<u8> {
    encode(&attributes.clone().to_ttlv(Tag::ATTRIBUTES, &Ctx::V2_1))
}

/// Reads back what [`encode_attributes`] wrote; unreadable bytes are [`StoreError::Corrupt`].
pub fn decode_attributes(bytes: &[u8]) -> Result<Attributes, StoreError> {
    let item = decode(bytes, &STORED)
        .map_err(|e| StoreError::Corrupt(format!("stored attributes: {e}")))?;
    if item.tag != Tag::ATTRIBUTES {
        return Err(StoreError::Corrupt(format!(
            "stored attributes: top-level tag {:?} is not Attributes",
            item.tag
        )));
    }
    Attributes::from_ttlv(item, &Ctx::V2_1)
        .map_err(|e| StoreError::Corrupt(format!("stored attributes: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kmip::attributes::Attribute;
    use kmip::Value;

    #[test]
    fn attributes_round_trip_and_garbage_is_corrupt() {
        let a = Attributes::new(vec![
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
            Attribute::custom("x-Name", Value::TextString("vm-01".into())),
            Attribute::custom("x-Count", Value::LongInteger(-5)),
            Attribute::custom("y-Flag", Value::Boolean(true)),
        ]);
        let bytes = encode_attributes(&a);
        assert_eq!(decode_attributes(&bytes).unwrap(), a);
        let empty = Attributes::default();
        assert_eq!(
            decode_attributes(&encode_attributes(&empty)).unwrap(),
            empty
        );
        assert!(matches!(
            decode_attributes(&bytes[..bytes.len() - 1]),
            Err(StoreError::Corrupt(_))
        ));
        assert!(matches!(
            decode_attributes(b"nonsense"),
            Err(StoreError::Corrupt(_))
        ));
    }
}
