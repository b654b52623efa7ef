//! Managed objects (keys, certificates, secret data, opaque objects…) and the
//! structures they are made of (Key Block, Key Value, Key Wrapping Data…).

use crate::attributes::InlineAttributes;
use crate::enums::*;
use crate::typed::{kmip_struct, BigInt, Ctx, Field, FromTtlv, StructReader, ToTtlv};
use crate::{Bytes, Error, ItemType, Tag, Ttlv, Value};

kmip_struct! {
    /// Name attribute (and 1.x template reference).
    pub struct Name {
        /// The name.
        pub name_value: String = NAME_VALUE,
        /// Uninterpreted text or URI.
        pub name_type: NameType = NAME_TYPE,
    }
}

kmip_struct! {
    /// Link attribute: a typed reference to another object.
    pub struct Link {
        /// The relation.
        pub link_type: LinkType = LINK_TYPE,
        /// The linked object's Unique Identifier.
        pub linked_object_identifier: String = LINKED_OBJECT_IDENTIFIER,
    }
}

kmip_struct! {
    /// Cryptographic Parameters (attribute and operation parameter).
    pub struct CryptographicParameters {
        /// Block cipher mode.
        pub block_cipher_mode: Option<BlockCipherMode> = BLOCK_CIPHER_MODE,
        /// Padding method.
        pub padding_method: Option<PaddingMethod> = PADDING_METHOD,
        /// Hashing algorithm.
        pub hashing_algorithm: Option<HashingAlgorithm> = HASHING_ALGORITHM,
        /// Key role type.
        pub key_role_type: Option<KeyRoleType> = KEY_ROLE_TYPE,
        /// Digital signature algorithm (1.2+).
        pub digital_signature_algorithm: Option<DigitalSignatureAlgorithm> = DIGITAL_SIGNATURE_ALGORITHM,
        /// Cryptographic algorithm (1.2+).
        pub cryptographic_algorithm: Option<CryptographicAlgorithm> = CRYPTOGRAPHIC_ALGORITHM,
        /// Whether the server generates the IV (1.2+).
        pub random_iv: Option<bool> = RANDOM_IV,
        /// IV length in bits (1.2+).
        pub iv_length: Option<i32> = IV_LENGTH,
        /// Authentication tag length in bytes (1.2+).
        pub tag_length: Option<i32> = TAG_LENGTH,
        /// Fixed field length (1.2+).
        pub fixed_field_length: Option<i32> = FIXED_FIELD_LENGTH,
        /// Invocation field length (1.2+).
        pub invocation_field_length: Option<i32> = INVOCATION_FIELD_LENGTH,
        /// Counter length (1.2+).
        pub counter_length: Option<i32> = COUNTER_LENGTH,
        /// Initial counter value (1.2+).
        pub initial_counter_value: Option<i32> = INITIAL_COUNTER_VALUE,
        /// Salt length (1.4+).
        pub salt_length: Option<i32> = SALT_LENGTH,
        /// Mask generator (1.4+).
        pub mask_generator: Option<MaskGenerator> = MASK_GENERATOR,
        /// Mask generator hashing algorithm (1.4+).
        pub mask_generator_hashing_algorithm: Option<HashingAlgorithm> = MASK_GENERATOR_HASHING_ALGORITHM,
        /// OAEP P source (1.4+).
        pub p_source: Option<Bytes> = P_SOURCE,
        /// Trailer field (1.4+).
        pub trailer_field: Option<i32> = TRAILER_FIELD,
    }
}

kmip_struct! {
    /// Cryptographic Domain Parameters attribute.
    pub struct CryptographicDomainParameters {
        /// Qlength.
        pub qlength: Option<i32> = QLENGTH,
        /// Recommended curve.
        pub recommended_curve: Option<RecommendedCurve> = RECOMMENDED_CURVE,
    }
}

kmip_struct! {
    /// Which key encrypts (wraps) and how.
    pub struct EncryptionKeyInformation {
        /// The wrapping key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Its parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
    }
}

kmip_struct! {
    /// Which key MACs or signs a wrapped key and how.
    pub struct MacSignatureKeyInformation {
        /// The MAC or signing key.
        pub unique_identifier: String = UNIQUE_IDENTIFIER,
        /// Its parameters.
        pub cryptographic_parameters: Option<CryptographicParameters> = CRYPTOGRAPHIC_PARAMETERS,
    }
}

kmip_struct! {
    /// How a key in a Key Block is wrapped.
    pub struct KeyWrappingData {
        /// Encrypt, MAC/sign, or both.
        pub wrapping_method: WrappingMethod = WRAPPING_METHOD,
        /// The encryption key.
        pub encryption_key_information: Option<EncryptionKeyInformation> = ENCRYPTION_KEY_INFORMATION,
        /// The MAC or signing key.
        pub mac_signature_key_information: Option<MacSignatureKeyInformation> = MAC_SIGNATURE_KEY_INFORMATION,
        /// The MAC or signature.
        pub mac_signature: Option<Bytes> = MAC_SIGNATURE,
        /// IV, counter or nonce.
        pub iv_counter_nonce: Option<Bytes> = IV_COUNTER_NONCE,
        /// Encoding of the wrapped key (1.1+).
        pub encoding_option: Option<EncodingOption> = ENCODING_OPTION,
    }
}

kmip_struct! {
    /// How the client asks the server to wrap a returned key.
    pub struct KeyWrappingSpecification {
        /// Encrypt, MAC/sign, or both.
        pub wrapping_method: WrappingMethod = WRAPPING_METHOD,
        /// The encryption key.
        pub encryption_key_information: Option<EncryptionKeyInformation> = ENCRYPTION_KEY_INFORMATION,
        /// The MAC or signing key.
        pub mac_signature_key_information: Option<MacSignatureKeyInformation> = MAC_SIGNATURE_KEY_INFORMATION,
        /// Attributes to wrap with the key.
        pub attribute_name: Vec<String> = ATTRIBUTE_NAME,
        /// Encoding of the wrapped key (1.1+).
        pub encoding_option: Option<EncodingOption> = ENCODING_OPTION,
    }
}

/// Key Material: bytes (Raw, Opaque, PKCS#1, PKCS#8, X.509…) or a transparent structure.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    /// Encoded key bytes; wiped on drop.
    Bytes(Bytes),
    /// A transparent key structure (its key parts are Big Integers or Byte Strings, wiped on drop).
    Transparent(Vec<Ttlv>),
}

impl Default for KeyMaterial {
    fn default() -> Self {
        KeyMaterial::Bytes(Bytes::default())
    }
}

impl FromTtlv for KeyMaterial {
    fn from_ttlv(item: Ttlv, _ctx: &Ctx) -> Result<Self, Error> {
        match item.value {
            Value::ByteString(b) => Ok(KeyMaterial::Bytes(b)),
            Value::Structure(c) => Ok(KeyMaterial::Transparent(c)),
            other => Err(Error::wrong_type(item.tag, ItemType::ByteString, &other)),
        }
    }
}

impl ToTtlv for KeyMaterial {
    fn to_ttlv(self, tag: Tag, _ctx: &Ctx) -> Ttlv {
        match self {
            KeyMaterial::Bytes(b) => Ttlv::new(tag, Value::ByteString(b)),
            KeyMaterial::Transparent(c) => Ttlv::structure(tag, c),
        }
    }
}

kmip_struct! {
    /// A plain (unwrapped) Key Value: the key material and attributes bound to it.
    pub struct PlainKeyValue {
        /// The key material.
        pub key_material: KeyMaterial = KEY_MATERIAL,
        /// Attributes bound to the key (1.x `Attribute` list, 2.x `Attributes`).
        pub attributes: InlineAttributes = ATTRIBUTES,
    }
}

/// Key Value: plain, or a Byte String holding the wrapped encoding.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyValue {
    /// Unwrapped key material.
    Plain(PlainKeyValue),
    /// The wrapped key (when Key Wrapping Data is present).
    Wrapped(Bytes),
}

impl Default for KeyValue {
    fn default() -> Self {
        KeyValue::Plain(PlainKeyValue::default())
    }
}

impl FromTtlv for KeyValue {
    fn from_ttlv(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        match item.value {
            Value::ByteString(b) => Ok(KeyValue::Wrapped(b)),
            _ => PlainKeyValue::from_ttlv(item, ctx).map(KeyValue::Plain),
        }
    }
}

impl ToTtlv for KeyValue {
    fn to_ttlv(self, tag: Tag, ctx: &Ctx) -> Ttlv {
        match self {
            KeyValue::Plain(p) => p.to_ttlv(tag, ctx),
            KeyValue::Wrapped(b) => Ttlv::new(tag, Value::ByteString(b)),
        }
    }
}

kmip_struct! {
    /// Key Block: a key's format, value and (when wrapped) wrapping data.
    pub struct KeyBlock {
        /// The key's format.
        pub key_format_type: KeyFormatType = KEY_FORMAT_TYPE,
        /// EC point compression.
        pub key_compression_type: Option<KeyCompressionType> = KEY_COMPRESSION_TYPE,
        /// The key value (absent only in some 2.x Key Value Location cases).
        pub key_value: Option<KeyValue> = KEY_VALUE,
        /// Algorithm of the key.
        pub cryptographic_algorithm: Option<CryptographicAlgorithm> = CRYPTOGRAPHIC_ALGORITHM,
        /// Length of the key in bits.
        pub cryptographic_length: Option<i32> = CRYPTOGRAPHIC_LENGTH,
        /// How the key is wrapped.
        pub key_wrapping_data: Option<KeyWrappingData> = KEY_WRAPPING_DATA,
    }
}

impl KeyBlock {
    /// The raw key bytes of an unwrapped byte-string key.
    pub fn key_bytes(&self) -> Option<&Bytes> {
        match &self.key_value {
            Some(KeyValue::Plain(PlainKeyValue {
                key_material: KeyMaterial::Bytes(b),
                ..
            })) => Some(b),
            _ => None,
        }
    }
}

kmip_struct! {
    /// Symmetric Key object.
    pub struct SymmetricKey {
        /// The key.
        pub key_block: KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Public Key object.
    pub struct PublicKey {
        /// The key.
        pub key_block: KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Private Key object.
    pub struct PrivateKey {
        /// The key.
        pub key_block: KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Secret Data object (passwords, seeds).
    pub struct SecretData {
        /// Kind of secret.
        pub secret_data_type: SecretDataType = SECRET_DATA_TYPE,
        /// The secret.
        pub key_block: KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Certificate object.
    pub struct Certificate {
        /// X.509 or PGP.
        pub certificate_type: CertificateType = CERTIFICATE_TYPE,
        /// The DER (or PGP) bytes.
        pub certificate_value: Bytes = CERTIFICATE_VALUE,
    }
}

kmip_struct! {
    /// Opaque Object.
    pub struct OpaqueObject {
        /// Vendor-defined kind.
        pub opaque_data_type: OpaqueDataType = OPAQUE_DATA_TYPE,
        /// The bytes.
        pub opaque_data_value: Bytes = OPAQUE_DATA_VALUE,
    }
}

kmip_struct! {
    /// Split Key object.
    pub struct SplitKey {
        /// Number of parts.
        pub split_key_parts: i32 = SPLIT_KEY_PARTS,
        /// This part's identifier.
        pub key_part_identifier: i32 = KEY_PART_IDENTIFIER,
        /// Parts needed to rebuild.
        pub split_key_threshold: i32 = SPLIT_KEY_THRESHOLD,
        /// Splitting method.
        pub split_key_method: SplitKeyMethod = SPLIT_KEY_METHOD,
        /// Prime field size for polynomial sharing.
        pub prime_field_size: Option<BigInt> = PRIME_FIELD_SIZE,
        /// The part.
        pub key_block: KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// PGP Key object (1.2+).
    pub struct PgpKey {
        /// PGP key version.
        pub pgp_key_version: i32 = PGP_KEY_VERSION,
        /// The key.
        pub key_block: KeyBlock = KEY_BLOCK,
    }
}

kmip_struct! {
    /// Certificate Request object (2.x).
    pub struct CertificateRequestObject {
        /// CRMF, PKCS#10, PEM…
        pub certificate_request_type: CertificateRequestType = CERTIFICATE_REQUEST_TYPE,
        /// The request bytes.
        pub certificate_request_value: Bytes = CERTIFICATE_REQUEST_VALUE,
    }
}

/// Opaque Data Type: vendor-defined values only, so a plain number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct OpaqueDataType(pub u32);

impl FromTtlv for OpaqueDataType {
    fn from_ttlv(item: Ttlv, _ctx: &Ctx) -> Result<Self, Error> {
        match item.value {
            Value::Enumeration(v) => Ok(OpaqueDataType(v)),
            other => Err(Error::wrong_type(item.tag, ItemType::Enumeration, &other)),
        }
    }
}

impl ToTtlv for OpaqueDataType {
    fn to_ttlv(self, tag: Tag, _ctx: &Ctx) -> Ttlv {
        Ttlv::new(tag, Value::Enumeration(self.0))
    }
}

/// A managed object as carried in Register, Get, Import and Export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Object {
    /// Symmetric Key.
    SymmetricKey(SymmetricKey),
    /// Public Key.
    PublicKey(PublicKey),
    /// Private Key.
    PrivateKey(PrivateKey),
    /// Secret Data.
    SecretData(SecretData),
    /// Certificate.
    Certificate(Certificate),
    /// Opaque Object.
    OpaqueObject(OpaqueObject),
    /// Split Key.
    SplitKey(SplitKey),
    /// PGP Key.
    PgpKey(PgpKey),
    /// Certificate Request (2.x).
    CertificateRequest(CertificateRequestObject),
    /// 1.x Template (deprecated): kept as its raw structure.
    Template(Ttlv),
}

/// The tags that carry a managed object.
const OBJECT_TAGS: [Tag; 10] = [
    Tag::SYMMETRIC_KEY,
    Tag::PUBLIC_KEY,
    Tag::PRIVATE_KEY,
    Tag::SECRET_DATA,
    Tag::CERTIFICATE,
    Tag::OPAQUE_OBJECT,
    Tag::SPLIT_KEY,
    Tag::PGP_KEY,
    Tag::CERTIFICATE_REQUEST,
    Tag::TEMPLATE,
];

impl Default for Object {
    /// An empty symmetric key (a placeholder while building a message).
    fn default() -> Self {
        Object::SymmetricKey(SymmetricKey::default())
    }
}

impl Object {
    /// The Object Type of this object.
    pub fn object_type(&self) -> ObjectType {
        match self {
            Object::SymmetricKey(_) => ObjectType::SYMMETRIC_KEY,
            Object::PublicKey(_) => ObjectType::PUBLIC_KEY,
            Object::PrivateKey(_) => ObjectType::PRIVATE_KEY,
            Object::SecretData(_) => ObjectType::SECRET_DATA,
            Object::Certificate(_) => ObjectType::CERTIFICATE,
            Object::OpaqueObject(_) => ObjectType::OPAQUE_OBJECT,
            Object::SplitKey(_) => ObjectType::SPLIT_KEY,
            Object::PgpKey(_) => ObjectType::PGP_KEY,
            Object::CertificateRequest(_) => ObjectType::CERTIFICATE_REQUEST,
            Object::Template(_) => ObjectType::TEMPLATE,
        }
    }

    /// The key block, for the object types that have one.
    pub fn key_block(&self) -> Option<&KeyBlock> {
        match self {
            Object::SymmetricKey(k) => Some(&k.key_block),
            Object::PublicKey(k) => Some(&k.key_block),
            Object::PrivateKey(k) => Some(&k.key_block),
            Object::SecretData(k) => Some(&k.key_block),
            Object::SplitKey(k) => Some(&k.key_block),
            Object::PgpKey(k) => Some(&k.key_block),
            _ => None,
        }
    }

    fn read(item: Ttlv, ctx: &Ctx) -> Result<Self, Error> {
        Ok(match item.tag {
            Tag::SYMMETRIC_KEY => Object::SymmetricKey(FromTtlv::from_ttlv(item, ctx)?),
            Tag::PUBLIC_KEY => Object::PublicKey(FromTtlv::from_ttlv(item, ctx)?),
            Tag::PRIVATE_KEY => Object::PrivateKey(FromTtlv::from_ttlv(item, ctx)?),
            Tag::SECRET_DATA => Object::SecretData(FromTtlv::from_ttlv(item, ctx)?),
            Tag::CERTIFICATE => Object::Certificate(FromTtlv::from_ttlv(item, ctx)?),
            Tag::OPAQUE_OBJECT => Object::OpaqueObject(FromTtlv::from_ttlv(item, ctx)?),
            Tag::SPLIT_KEY => Object::SplitKey(FromTtlv::from_ttlv(item, ctx)?),
            Tag::PGP_KEY => Object::PgpKey(FromTtlv::from_ttlv(item, ctx)?),
            Tag::CERTIFICATE_REQUEST => Object::CertificateRequest(FromTtlv::from_ttlv(item, ctx)?),
            _ => Object::Template(item),
        })
    }

    fn write(self, ctx: &Ctx) -> Ttlv {
        match self {
            Object::SymmetricKey(o) => o.to_ttlv(Tag::SYMMETRIC_KEY, ctx),
            Object::PublicKey(o) => o.to_ttlv(Tag::PUBLIC_KEY, ctx),
            Object::PrivateKey(o) => o.to_ttlv(Tag::PRIVATE_KEY, ctx),
            Object::SecretData(o) => o.to_ttlv(Tag::SECRET_DATA, ctx),
            Object::Certificate(o) => o.to_ttlv(Tag::CERTIFICATE, ctx),
            Object::OpaqueObject(o) => o.to_ttlv(Tag::OPAQUE_OBJECT, ctx),
            Object::SplitKey(o) => o.to_ttlv(Tag::SPLIT_KEY, ctx),
            Object::PgpKey(o) => o.to_ttlv(Tag::PGP_KEY, ctx),
            Object::CertificateRequest(o) => o.to_ttlv(Tag::CERTIFICATE_REQUEST, ctx),
            Object::Template(t) => t,
        }
    }
}

/// In a payload, the object is the one item whose tag is an object tag (the
/// field's own tag is ignored).
impl Field for Object {
    fn take(r: &mut StructReader, _tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        match <Option<Object> as Field>::take(r, _tag, ctx)? {
            Some(o) => Ok(o),
            None => Err(Error::Missing {
                parent: r.parent(),
                tag: Tag::SYMMETRIC_KEY,
            }),
        }
    }
    fn put(self, _tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        out.push(self.write(ctx));
    }
}

impl Field for Option<Object> {
    fn take(r: &mut StructReader, _tag: Tag, ctx: &Ctx) -> Result<Self, Error> {
        for t in OBJECT_TAGS {
            if let Some(item) = r.take_one(t) {
                return Object::read(item, ctx).map(Some);
            }
        }
        Ok(None)
    }
    fn put(self, tag: Tag, out: &mut Vec<Ttlv>, ctx: &Ctx) {
        if let Some(o) = self {
            o.put(tag, out, ctx);
        }
    }
}
