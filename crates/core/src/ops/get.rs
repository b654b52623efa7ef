//! Get: an object's value, in the format asked for (Raw or Transparent
//! Symmetric Key for symmetric keys; the registered format otherwise).

use super::object::{self, is_destroyed, uid};
use super::{Caller, Context, OpError};
use crate::access::Action;
use kmip::enums::{KeyFormatType, ResultReason};
use kmip::objects::{KeyMaterial, KeyValue, Object, PlainKeyValue};
use kmip::payloads::{GetRequest, GetResponse};
use kmip::typed::Ctx;
use kmip::{Tag, Ttlv, Value};

/// Converts a symmetric key between Raw and Transparent Symmetric Key.
fn convert(object: &mut Object, want: KeyFormatType) -> Result<(), OpError> {
    let unsupported = || {
        OpError::new(
            ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED,
            format!("the object cannot be given as Key Format Type {want}"),
        )
    };
    let Object::SymmetricKey(k) = object else {
        return match object.key_block() {
            Some(kb) if kb.key_format_type == want => Ok(()),
            _ => Err(unsupported()),
        };
    };
    let kb = &mut k.key_block;
    if kb.key_format_type == want {
        return Ok(());
    }
    let Some(KeyValue::Plain(PlainKeyValue { key_material, .. })) = &mut kb.key_value else {
        return Err(unsupported()); // a wrapped key is given only as stored
    };
    let new = match (kb.key_format_type, want, &*key_material) {
        (KeyFormatType::RAW, KeyFormatType::TRANSPARENT_SYMMETRIC_KEY, KeyMaterial::Bytes(b)) => {
            KeyMaterial::Transparent(vec![Ttlv::new(Tag::KEY, Value::ByteString(b.clone()))])
        }
        (
            KeyFormatType::TRANSPARENT_SYMMETRIC_KEY,
            KeyFormatType::RAW,
            KeyMaterial::Transparent(c),
        ) => match c.iter().find(|t| t.tag == Tag::KEY).map(|t| &t.value) {
            Some(Value::ByteString(b)) => KeyMaterial::Bytes(b.clone()),
            _ => return Err(unsupported()),
        },
        _ => return Err(unsupported()),
    };
    *key_material = new;
    kb.key_format_type = want;
    Ok(())
}

/// Get: allowed in every state but the destroyed ones (vCenter gets a key before activating it).
pub fn get(
    ctx: &Context,
    caller: &Caller,
    v: &Ctx,
    req: GetRequest,
) -> Result<GetResponse, OpError> {
    let uid = uid(v, req.unique_identifier)?;
    let obj = object::load(ctx, caller, v, &uid, Action::ReadKeyMaterial)?;
    if is_destroyed(obj.state) || obj.sealed.is_none() {
        let reason = if v.is_v2() {
            ResultReason::OBJECT_DESTROYED
        } else {
            ResultReason::KEY_VALUE_NOT_PRESENT
        };
        return Err(OpError::new(
            reason,
            "the object is destroyed: its value is gone",
        ));
    }
    if req.key_wrapping_specification.is_some() {
        return Err(OpError::new(
            ResultReason::FEATURE_NOT_SUPPORTED,
            "returning a key wrapped by another key (Key Wrapping Specification) is not supported yet",
        ));
    }
    if req.key_compression_type.is_some() {
        return Err(OpError::new(
            ResultReason::KEY_COMPRESSION_TYPE_NOT_SUPPORTED,
            "Key Compression Type applies to elliptic-curve keys only",
        ));
    }
    if let Some(Value::Boolean(true)) = obj.attributes.get_std(Tag::SENSITIVE) {
        return Err(OpError::new(
            ResultReason::SENSITIVE,
            "the object is Sensitive",
        ));
    }
    if let Some(Value::Boolean(false)) = obj.attributes.get_std(Tag::EXTRACTABLE) {
        return Err(OpError::new(
            ResultReason::NOT_EXTRACTABLE,
            "the object is not Extractable",
        ));
    }
    let mut value = object::open(ctx, caller, &obj)?;
    let want = match (&value, req.key_format_type) {
        (_, Some(f)) => Some(f),
        // Raw is the default for symmetric keys (KMIP 1.4 section 4.11).
        (Object::SymmetricKey(_), None) => Some(KeyFormatType::RAW),
        _ => None,
    };
    if let Some(f) = want {
        let wrapped = matches!(
            value.key_block().and_then(|kb| kb.key_value.as_ref()),
            Some(KeyValue::Wrapped(_))
        );
        if !(wrapped && req.key_format_type.is_none()) {
            convert(&mut value, f)?;
        }
    }
    Ok(GetResponse {
        object_type: obj.object_type,
        unique_identifier: uid,
        object: value,
    })
}
