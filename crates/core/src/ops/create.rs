//! Create (a symmetric key the server generates) and Register (an object the
//! client supplies): both store the object's value sealed under the account key.

use super::object::{self, invalid, is_server_only, new_object};
use super::{Caller, Context, OpError};
use crate::ids::GroupId;
use crate::model::ManagedObject;
use aws_lc_rs::digest;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use kmip::attributes::{Attribute, Attributes};
use kmip::enums::{
    CryptographicAlgorithm, DRBGAlgorithm, HashingAlgorithm, KeyFormatType, ObjectType,
    RNGAlgorithm, ResultReason,
};
use kmip::objects::{KeyBlock, KeyMaterial, KeyValue, Object, PlainKeyValue, SymmetricKey};
use kmip::payloads::{CreateRequest, CreateResponse, RegisterRequest, RegisterResponse};
use kmip::typed::Ctx;
use kmip::{Bytes, Tag, Ttlv, Value};
use zeroize::Zeroizing;

/// Checks a symmetric key's algorithm and length; returns the length in bytes.
pub(super) fn key_size(
    alg: Option<CryptographicAlgorithm>,
    len: Option<i32>,
) -> Result<usize, OpError> {
    let alg = alg
        .ok_or_else(|| invalid("Cryptographic Algorithm is required to create a symmetric key"))?;
    let len =
        len.ok_or_else(|| invalid("Cryptographic Length is required to create a symmetric key"))?;
    let ok = match alg {
        CryptographicAlgorithm::AES => matches!(len, 128 | 192 | 256),
        // Two- and three-key Triple DES: 16 or 24 bytes with parity bits.
        CryptographicAlgorithm::DES3 => {
            return match len {
                112 => Ok(16),
                168 => Ok(24),
                _ => Err(invalid(format!(
                    "Cryptographic Length {len} is not valid for Triple DES (112 or 168)"
                ))),
            }
        }
        CryptographicAlgorithm::HMAC_SHA256
        | CryptographicAlgorithm::HMAC_SHA384
        | CryptographicAlgorithm::HMAC_SHA512 => (128..=1024).contains(&len) && len % 8 == 0,
        other => {
            return Err(invalid(format!(
                "Cryptographic Algorithm {other} is not supported for symmetric keys \
                 (AES, Triple DES, HMAC-SHA256, HMAC-SHA384, HMAC-SHA512)"
            )))
        }
    };
    if !ok {
        return Err(invalid(format!(
            "Cryptographic Length {len} is not valid for {alg} \
             (AES: 128, 192 or 256; HMAC: 128 to 1024, a multiple of 8)"
        )));
    }
    Ok(len as usize / 8)
}

/// Rejects client attributes that only the server sets (except those `allowed`)
/// and 1.x template references.
fn check_client_attributes(attrs: &Attributes, allowed: &[Tag]) -> Result<(), OpError> {
    if !attrs.template_names.is_empty() {
        return Err(OpError::new(
            ResultReason::ITEM_NOT_FOUND,
            "templates are not supported: give the attributes themselves",
        ));
    }
    for a in &attrs.items {
        let permitted =
            matches!(a.name, kmip::attributes::AttributeName::Standard(t) if allowed.contains(&t));
        if is_server_only(&a.name) && !permitted {
            return Err(invalid(format!("{} is set by the server only", a.name)));
        }
        if a.index.is_some_and(|i| i != 0) && !object::is_multi_valued(&a.name) {
            return Err(invalid(format!("{} has only one instance", a.name)));
        }
    }
    Ok(())
}

/// Drops the 1.x index of every attribute (the store keeps instances in order).
fn strip_indexes(attrs: &mut Attributes) {
    for a in &mut attrs.items {
        a.index = None;
    }
}

/// The attributes a freshly generated key carries: its digest and how it was made.
fn generated_key_attributes(attrs: &mut Attributes, raw: &[u8], v: &Ctx) {
    let d = digest::digest(&digest::SHA256, raw);
    attrs.set(Attribute::new(
        Tag::DIGEST,
        Value::Structure(vec![
            Ttlv::new(
                Tag::HASHING_ALGORITHM,
                Value::Enumeration(HashingAlgorithm::SHA_256.0),
            ),
            Ttlv::new(
                Tag::DIGEST_VALUE,
                Value::ByteString(Bytes::from(d.as_ref())),
            ),
            Ttlv::new(
                Tag::KEY_FORMAT_TYPE,
                Value::Enumeration(KeyFormatType::RAW.0),
            ),
        ]),
    ));
    // aws-lc's generator is a CTR-DRBG on AES-256 (NIST SP 800-90A).
    attrs.set(Attribute::new(
        Tag::RANDOM_NUMBER_GENERATOR,
        Value::Structure(vec![
            Ttlv::new(Tag::RNG_ALGORITHM, Value::Enumeration(RNGAlgorithm::DRBG.0)),
            Ttlv::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            Ttlv::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
            Ttlv::new(
                Tag::DRBG_ALGORITHM,
                Value::Enumeration(DRBGAlgorithm::CTR.0),
            ),
        ]),
    ));
    let flag = |attrs: &Attributes, tag: Tag, default: bool| match attrs.get_std(tag) {
        Some(Value::Boolean(b)) => *b,
        _ => default,
    };
    let sensitive = flag(attrs, Tag::SENSITIVE, false);
    let extractable = flag(attrs, Tag::EXTRACTABLE, true);
    for (tag, value) in [
        (Tag::FRESH, true),
        (Tag::SENSITIVE, sensitive),
        (Tag::ALWAYS_SENSITIVE, sensitive),
        (Tag::EXTRACTABLE, extractable),
        (Tag::NEVER_EXTRACTABLE, !extractable),
    ] {
        attrs.set(Attribute::new(tag, Value::Boolean(value)));
    }
    let _ = v;
}

/// Generates a symmetric key of `alg` and `len` bits with its attributes: the
/// object to store in `group` (not yet written). Shared by Create and Re-key.
pub(super) fn generate_symmetric(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    group: GroupId,
    mut attrs: Attributes,
) -> Result<ManagedObject, OpError> {
    let alg = attrs.cryptographic_algorithm();
    let size = key_size(alg, attrs.cryptographic_length())?;
    let alg = alg.unwrap_or_default();
    let attrs_len = attrs.cryptographic_length();
    let mut raw = Zeroizing::new(vec![0u8; size]);
    SystemRandom::new().fill(&mut raw).map_err(|_| {
        OpError::new(
            ResultReason::CRYPTOGRAPHIC_FAILURE,
            "the random generator failed",
        )
    })?;
    if alg == CryptographicAlgorithm::DES3 {
        // DES keys carry odd parity in the low bit of each byte.
        for b in raw.iter_mut() {
            *b = (*b & 0xFE) | u8::from((*b >> 1).count_ones() % 2 == 0);
        }
    }
    strip_indexes(&mut attrs);
    generated_key_attributes(&mut attrs, &raw, v);
    let mut obj = new_object(caller, group, ObjectType::SYMMETRIC_KEY, attrs, ctx.now);
    let key = Object::SymmetricKey(SymmetricKey {
        key_block: KeyBlock {
            key_format_type: KeyFormatType::RAW,
            key_compression_type: None,
            key_value: Some(KeyValue::Plain(PlainKeyValue {
                key_material: KeyMaterial::Bytes(Bytes::from(&raw[..])),
                attributes: Default::default(),
            })),
            cryptographic_algorithm: Some(alg),
            cryptographic_length: attrs_len,
            key_wrapping_data: None,
        },
    });
    obj.sealed = Some(object::seal(ctx, caller, obj.id, key)?);
    Ok(obj)
}

/// Create: a new symmetric key from the client's attributes.
pub fn create(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: CreateRequest,
) -> Result<CreateResponse, OpError> {
    if req.object_type != ObjectType::SYMMETRIC_KEY {
        return Err(invalid(format!(
            "Create makes symmetric keys only, not {}",
            req.object_type
        )));
    }
    check_client_attributes(
        &req.attributes,
        &[Tag::CRYPTOGRAPHIC_ALGORITHM, Tag::CRYPTOGRAPHIC_LENGTH],
    )?;
    let group = object::target_group(ctx, caller)?;
    let obj = generate_symmetric(ctx, caller, v, group, req.attributes)?;
    ctx.store.insert_object(&obj)?;
    Ok(CreateResponse {
        object_type: ObjectType::SYMMETRIC_KEY,
        unique_identifier: obj.id.to_string(),
        attributes: None,
    })
}

/// The object types Register accepts.
pub const REGISTERABLE: &[ObjectType] = &[
    ObjectType::SYMMETRIC_KEY,
    ObjectType::PUBLIC_KEY,
    ObjectType::PRIVATE_KEY,
    ObjectType::SECRET_DATA,
    ObjectType::CERTIFICATE,
    ObjectType::OPAQUE_OBJECT,
];

/// Register: stores the client's object as given (sealed) with its attributes.
pub fn register(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: RegisterRequest,
) -> Result<RegisterResponse, OpError> {
    let object_type = req.object.object_type();
    if object_type != req.object_type {
        return Err(invalid(format!(
            "Object Type {} does not match the object given ({object_type})",
            req.object_type
        )));
    }
    if !REGISTERABLE.contains(&object_type) {
        return Err(invalid(format!(
            "{object_type} objects cannot be registered"
        )));
    }
    // A client may state the algorithm and length of the key it registers.
    check_client_attributes(
        &req.attributes,
        &[Tag::CRYPTOGRAPHIC_ALGORITHM, Tag::CRYPTOGRAPHIC_LENGTH],
    )?;
    let mut attrs = req.attributes;
    strip_indexes(&mut attrs);
    if let Some(kb) = req.object.key_block() {
        if let Some(a) = kb.cryptographic_algorithm {
            attrs.set(Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(a.0),
            ));
        }
        if let Some(l) = kb.cryptographic_length {
            attrs.set(Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(l)));
        }
        if kb.key_format_type == KeyFormatType::RAW {
            if let Some(b) = kb.key_bytes() {
                let d = digest::digest(&digest::SHA256, b.as_slice());
                attrs.set(Attribute::new(
                    Tag::DIGEST,
                    Value::Structure(vec![
                        Ttlv::new(
                            Tag::HASHING_ALGORITHM,
                            Value::Enumeration(HashingAlgorithm::SHA_256.0),
                        ),
                        Ttlv::new(
                            Tag::DIGEST_VALUE,
                            Value::ByteString(Bytes::from(d.as_ref())),
                        ),
                        Ttlv::new(
                            Tag::KEY_FORMAT_TYPE,
                            Value::Enumeration(KeyFormatType::RAW.0),
                        ),
                    ]),
                ));
            }
        }
    }
    if let Object::Certificate(c) = &req.object {
        attrs.set(Attribute::new(
            Tag::CERTIFICATE_TYPE,
            Value::Enumeration(c.certificate_type.0),
        ));
        attrs.set(Attribute::new(
            Tag::CERTIFICATE_LENGTH,
            Value::Integer(c.certificate_value.len() as i32),
        ));
    }
    let group = object::target_group(ctx, caller)?;
    let mut obj = new_object(caller, group, object_type, attrs, ctx.now);
    obj.sealed = Some(object::seal(ctx, caller, obj.id, req.object)?);
    ctx.store.insert_object(&obj)?;
    let _ = v;
    Ok(RegisterResponse {
        unique_identifier: obj.id.to_string(),
        attributes: None,
    })
}
