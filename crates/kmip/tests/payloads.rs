//! Every typed payload, with its fields filled, survives typed → TTLV → binary
//! → TTLV → typed under KMIP 1.4 and 2.1, and is written in the shape of the
//! version (1.x `Attribute` / `Template-Attribute` / `Attribute Name`, 2.x
//! `Attributes` / `New Attribute` / `Current Attribute` / `Attribute Reference`).

use kmip::attributes::{
    Attribute, AttributeName, AttributeReference, Attributes, InlineAttributes, Wrapped,
};
use kmip::binary::{self, Limits};
use kmip::enums::*;
use kmip::objects::*;
use kmip::payloads::*;
use kmip::typed::{BigInt, Ctx, DateTime, Interval};
use kmip::{Bytes, Tag, Ttlv, Value};

const V1: Ctx = Ctx::V1_4;
const V2: Ctx = Ctx::V2_1;

fn b(s: &str) -> Bytes {
    Bytes::from(s.as_bytes())
}

fn uid(s: &str) -> Option<String> {
    Some(s.to_string())
}

/// A set of attributes valid in both shapes (1.x template names only in 1.x).
fn attrs(ctx: &Ctx) -> Attributes {
    let mut a = Attributes::new(vec![
        Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        ),
        Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
        Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
        Attribute::typed(
            Tag::NAME,
            Name {
                name_value: "k1".into(),
                name_type: NameType::UNINTERPRETED_TEXT_STRING,
            },
            ctx,
        ),
        Attribute::custom("x-Product", Value::TextString("vSphere".into())),
    ]);
    if !ctx.is_v2() {
        a.template_names.push(Name {
            name_value: "tmpl".into(),
            name_type: NameType::UNINTERPRETED_TEXT_STRING,
        });
    }
    a
}

/// Attributes for the inline shapes (no template names there).
fn inline(ctx: &Ctx) -> InlineAttributes {
    let mut a = attrs(ctx);
    a.template_names.clear();
    InlineAttributes(Some(a))
}

/// One attribute instance; the Attribute Index exists only in 1.x.
fn one_attr(ctx: &Ctx, tag: Tag, value: Value) -> Attribute {
    let mut a = Attribute::new(tag, value);
    if !ctx.is_v2() {
        a.index = Some(0);
    }
    a
}

fn psm(ctx: &Ctx) -> Option<ProtectionStorageMasks> {
    ctx.is_v2().then(|| ProtectionStorageMasks {
        protection_storage_mask: vec![
            ProtectionStorageMask::SOFTWARE | ProtectionStorageMask::HARDWARE,
            ProtectionStorageMask::ON_PREMISES,
        ],
    })
}

/// A 1.x-only implicit attribute echo (responses): absent in 2.x.
fn v1_attrs(ctx: &Ctx) -> Option<Attributes> {
    (!ctx.is_v2()).then(|| attrs(ctx))
}

fn params() -> CryptographicParameters {
    CryptographicParameters {
        block_cipher_mode: Some(BlockCipherMode::GCM),
        cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
        tag_length: Some(16),
        random_iv: Some(true),
        ..Default::default()
    }
}

fn key() -> Object {
    Object::SymmetricKey(SymmetricKey {
        key_block: KeyBlock {
            key_format_type: KeyFormatType::RAW,
            key_value: Some(KeyValue::Plain(PlainKeyValue {
                key_material: KeyMaterial::Bytes(Bytes::from(vec![7u8; 32])),
                attributes: InlineAttributes(None),
            })),
            cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
            cryptographic_length: Some(256),
            ..Default::default()
        },
    })
}

fn wrapping() -> KeyWrappingSpecification {
    KeyWrappingSpecification {
        wrapping_method: WrappingMethod::ENCRYPT,
        encryption_key_information: Some(EncryptionKeyInformation {
            unique_identifier: "kek".into(),
            cryptographic_parameters: Some(CryptographicParameters {
                block_cipher_mode: Some(BlockCipherMode::NIST_KEY_WRAP),
                ..Default::default()
            }),
        }),
        encoding_option: Some(EncodingOption::NO_ENCODING),
        ..Default::default()
    }
}

/// Every payload added for the operations below, filled for `ctx`.
fn samples(ctx: &Ctx) -> Vec<(Operation, RequestPayload, ResponsePayload)> {
    let v2 = ctx.is_v2();
    use RequestPayload as Q;
    use ResponsePayload as R;
    vec![
        (
            Operation::CREATE_KEY_PAIR,
            Q::CreateKeyPair(Box::new(CreateKeyPairRequest {
                common_attributes: Some(attrs(ctx)),
                private_key_attributes: Some(Attributes::new(vec![Attribute::new(
                    Tag::CRYPTOGRAPHIC_USAGE_MASK,
                    Value::Integer(1),
                )])),
                public_key_attributes: Some(Attributes::new(vec![Attribute::new(
                    Tag::CRYPTOGRAPHIC_USAGE_MASK,
                    Value::Integer(2),
                )])),
                common_protection_storage_masks: psm(ctx),
                private_protection_storage_masks: psm(ctx),
                public_protection_storage_masks: psm(ctx),
            })),
            R::CreateKeyPair(Box::new(CreateKeyPairResponse {
                private_key_unique_identifier: "priv".into(),
                public_key_unique_identifier: "pub".into(),
                private_key_attributes: v1_attrs(ctx),
                public_key_attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::REGISTER,
            Q::Register(Box::new(RegisterRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: attrs(ctx),
                object: key(),
                protection_storage_masks: psm(ctx),
            })),
            R::Register(Box::new(RegisterResponse {
                unique_identifier: "1".into(),
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::RE_KEY,
            Q::ReKey(Box::new(ReKeyRequest {
                unique_identifier: uid("1"),
                offset: Some(Interval(3600)),
                attributes: Some(attrs(ctx)),
                protection_storage_masks: psm(ctx),
            })),
            R::ReKey(Box::new(ReKeyResponse {
                unique_identifier: "2".into(),
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::RE_KEY_KEY_PAIR,
            Q::ReKeyKeyPair(Box::new(ReKeyKeyPairRequest {
                private_key_unique_identifier: uid("priv"),
                offset: Some(Interval(60)),
                common_attributes: Some(attrs(ctx)),
                private_key_attributes: Some(attrs(ctx)),
                public_key_attributes: Some(attrs(ctx)),
                common_protection_storage_masks: psm(ctx),
                private_protection_storage_masks: psm(ctx),
                public_protection_storage_masks: psm(ctx),
            })),
            R::ReKeyKeyPair(Box::new(ReKeyKeyPairResponse {
                private_key_unique_identifier: "priv2".into(),
                public_key_unique_identifier: "pub2".into(),
                private_key_attributes: v1_attrs(ctx),
                public_key_attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::DERIVE_KEY,
            Q::DeriveKey(Box::new(DeriveKeyRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: vec!["base1".into(), "base2".into()],
                derivation_method: DerivationMethod::PBKDF2,
                derivation_parameters: DerivationParameters {
                    cryptographic_parameters: Some(CryptographicParameters {
                        hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                        ..Default::default()
                    }),
                    initialization_vector: Some(b("iv")),
                    derivation_data: vec![b("data")],
                    salt: Some(b("salt")),
                    iteration_count: Some(10000),
                },
                attributes: attrs(ctx),
            })),
            R::DeriveKey(Box::new(DeriveKeyResponse {
                unique_identifier: "3".into(),
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::CERTIFY,
            Q::Certify(Box::new(CertifyRequest {
                unique_identifier: uid("pub"),
                certificate_request_type: Some(CertificateRequestType::PKCS_10),
                certificate_request_value: Some(CertificateRequestValue(b("csr"))),
                attributes: Some(attrs(ctx)),
                protection_storage_masks: psm(ctx),
            })),
            R::Certify(Box::new(CertifyResponse {
                unique_identifier: "cert".into(),
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::RE_CERTIFY,
            Q::ReCertify(Box::new(ReCertifyRequest {
                unique_identifier: uid("cert"),
                certificate_request_unique_identifier: if v2 { uid("csr-object") } else { None },
                certificate_request_type: Some(CertificateRequestType::PEM),
                certificate_request_value: Some(CertificateRequestValue(b("csr"))),
                offset: Some(Interval(5)),
                attributes: Some(attrs(ctx)),
                protection_storage_masks: psm(ctx),
            })),
            R::ReCertify(Box::new(ReCertifyResponse {
                unique_identifier: "cert2".into(),
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::VALIDATE,
            Q::Validate(Box::new(ValidateRequest {
                certificate: vec![Certificate {
                    certificate_type: CertificateType::X_509,
                    certificate_value: b("der"),
                }],
                unique_identifier: vec!["ca".into()],
                validity_date: Some(DateTime(1_700_000_000)),
            })),
            R::Validate(Box::new(ValidateResponse {
                validity_indicator: ValidityIndicator::VALID,
            })),
        ),
        (
            Operation::LOCATE,
            Q::Locate(Box::new(LocateRequest {
                maximum_items: Some(10),
                offset_items: Some(2),
                storage_status_mask: Some(
                    StorageStatusMask::ON_LINE_STORAGE | StorageStatusMask::ARCHIVAL_STORAGE,
                ),
                object_group_member: Some(ObjectGroupMember::GROUP_MEMBER_DEFAULT),
                attributes: inline(ctx),
            })),
            R::Locate(Box::new(LocateResponse {
                located_items: Some(12),
                unique_identifier: vec!["1".into(), "2".into()],
            })),
        ),
        (
            Operation::CHECK,
            Q::Check(Box::new(CheckRequest {
                unique_identifier: uid("1"),
                usage_limits_count: Some(500),
                cryptographic_usage_mask: Some(CryptographicUsageMask::ENCRYPT),
                lease_time: Some(Interval(86400)),
            })),
            R::Check(Box::new(CheckResponse {
                unique_identifier: uid("1"),
                usage_limits_count: Some(500),
                cryptographic_usage_mask: Some(CryptographicUsageMask::ENCRYPT),
                lease_time: Some(Interval(86400)),
            })),
        ),
        (
            Operation::GET_ATTRIBUTE_LIST,
            Q::GetAttributeList(Box::new(GetAttributeListRequest {
                unique_identifier: uid("1"),
            })),
            R::GetAttributeList(Box::new(GetAttributeListResponse {
                unique_identifier: "1".into(),
                attribute_reference: vec![
                    AttributeReference(AttributeName::Standard(Tag::STATE)),
                    AttributeReference(AttributeName::Standard(Tag::CRYPTOGRAPHIC_ALGORITHM)),
                    AttributeReference(AttributeName::from_v1("x-Product")),
                ],
            })),
        ),
        (
            Operation::MODIFY_ATTRIBUTE,
            Q::ModifyAttribute(Box::new(ModifyAttributeRequest {
                unique_identifier: uid("1"),
                current_attribute: V2Only(v2.then(|| {
                    Wrapped(one_attr(
                        ctx,
                        Tag::CONTACT_INFORMATION,
                        Value::TextString("old".into()),
                    ))
                })),
                new_attribute: Wrapped(one_attr(
                    ctx,
                    Tag::CONTACT_INFORMATION,
                    Value::TextString("new".into()),
                )),
            })),
            R::ModifyAttribute(Box::new(ModifyAttributeResponse {
                unique_identifier: "1".into(),
                attribute: (!v2).then(|| {
                    Wrapped(one_attr(
                        ctx,
                        Tag::CONTACT_INFORMATION,
                        Value::TextString("new".into()),
                    ))
                }),
            })),
        ),
        (
            Operation::DELETE_ATTRIBUTE,
            Q::DeleteAttribute(Box::new(DeleteAttributeRequest {
                unique_identifier: uid("1"),
                current_attribute: V2Only(
                    v2.then(|| Wrapped(one_attr(ctx, Tag::NAME, Value::TextString("n".into())))),
                ),
                attribute_reference: Some(AttributeReference(AttributeName::from_v1("x-Product"))),
                attribute_index: (!v2).then_some(1),
            })),
            R::DeleteAttribute(Box::new(DeleteAttributeResponse {
                unique_identifier: "1".into(),
                attribute: (!v2).then(|| {
                    Wrapped(Attribute::custom(
                        "x-Product",
                        Value::TextString("vSphere".into()),
                    ))
                }),
            })),
        ),
        (
            Operation::SET_ATTRIBUTE,
            Q::SetAttribute(Box::new(SetAttributeRequest {
                unique_identifier: uid("1"),
                new_attribute: Wrapped(Attribute::new(
                    Tag::CRYPTOGRAPHIC_LENGTH,
                    Value::Integer(128),
                )),
            })),
            R::SetAttribute(Box::new(SetAttributeResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::OBTAIN_LEASE,
            Q::ObtainLease(Box::new(ObtainLeaseRequest {
                unique_identifier: uid("1"),
            })),
            R::ObtainLease(Box::new(ObtainLeaseResponse {
                unique_identifier: "1".into(),
                lease_time: Interval(3600),
                last_change_date: DateTime(1_700_000_000),
            })),
        ),
        (
            Operation::GET_USAGE_ALLOCATION,
            Q::GetUsageAllocation(Box::new(GetUsageAllocationRequest {
                unique_identifier: uid("1"),
                usage_limits_count: 1000,
            })),
            R::GetUsageAllocation(Box::new(GetUsageAllocationResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::REVOKE,
            Q::Revoke(Box::new(RevokeRequest {
                unique_identifier: uid("1"),
                revocation_reason: RevocationReason {
                    revocation_reason_code: RevocationReasonCode::KEY_COMPROMISE,
                    revocation_message: Some("lost laptop".into()),
                },
                compromise_occurrence_date: Some(DateTime(1_600_000_000)),
            })),
            R::Revoke(Box::new(RevokeResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::DESTROY,
            Q::Destroy(Box::new(DestroyRequest {
                unique_identifier: uid("1"),
            })),
            R::Destroy(Box::new(DestroyResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::ARCHIVE,
            Q::Archive(Box::new(ArchiveRequest {
                unique_identifier: uid("1"),
            })),
            R::Archive(Box::new(ArchiveResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::RECOVER,
            Q::Recover(Box::new(RecoverRequest {
                unique_identifier: uid("1"),
            })),
            R::Recover(Box::new(RecoverResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::CANCEL,
            Q::Cancel(Box::new(CancelRequest {
                asynchronous_correlation_value: b("acv"),
            })),
            R::Cancel(Box::new(CancelResponse {
                asynchronous_correlation_value: b("acv"),
                cancellation_result: CancellationResult::CANCELED,
            })),
        ),
        (
            Operation::POLL,
            Q::Poll(Box::new(PollRequest {
                asynchronous_correlation_value: b("acv"),
            })),
            R::Poll(Box::new(Ttlv::structure(
                Tag::RESPONSE_PAYLOAD,
                vec![Ttlv::new(
                    Tag::UNIQUE_IDENTIFIER,
                    Value::TextString("1".into()),
                )],
            ))),
        ),
        (
            Operation::ENCRYPT,
            Q::Encrypt(Box::new(EncryptRequest {
                unique_identifier: uid("1"),
                cryptographic_parameters: Some(params()),
                data: Some(b("plain")),
                iv_counter_nonce: Some(b("nonce")),
                correlation_value: Some(b("corr")),
                init_indicator: Some(true),
                final_indicator: Some(false),
                authenticated_encryption_additional_data: Some(b("aad")),
            })),
            R::Encrypt(Box::new(EncryptResponse {
                unique_identifier: "1".into(),
                data: Some(b("cipher")),
                iv_counter_nonce: Some(b("nonce")),
                correlation_value: Some(b("corr")),
                authenticated_encryption_tag: Some(b("tag")),
            })),
        ),
        (
            Operation::DECRYPT,
            Q::Decrypt(Box::new(DecryptRequest {
                unique_identifier: uid("1"),
                cryptographic_parameters: Some(params()),
                data: Some(b("cipher")),
                iv_counter_nonce: Some(b("nonce")),
                correlation_value: Some(b("corr")),
                init_indicator: Some(false),
                final_indicator: Some(true),
                authenticated_encryption_additional_data: Some(b("aad")),
                authenticated_encryption_tag: Some(b("tag")),
            })),
            R::Decrypt(Box::new(DecryptResponse {
                unique_identifier: "1".into(),
                data: Some(b("plain")),
                correlation_value: Some(b("c")),
            })),
        ),
        (
            Operation::SIGN,
            Q::Sign(Box::new(SignRequest {
                unique_identifier: uid("priv"),
                cryptographic_parameters: Some(CryptographicParameters {
                    digital_signature_algorithm: Some(DigitalSignatureAlgorithm::RSASSA_PSS),
                    ..Default::default()
                }),
                data: Some(b("msg")),
                digested_data: Some(b("digest")),
                correlation_value: Some(b("c")),
                init_indicator: Some(true),
                final_indicator: Some(true),
            })),
            R::Sign(Box::new(SignResponse {
                unique_identifier: "priv".into(),
                signature_data: Some(b("sig")),
                correlation_value: Some(b("c")),
            })),
        ),
        (
            Operation::SIGNATURE_VERIFY,
            Q::SignatureVerify(Box::new(SignatureVerifyRequest {
                unique_identifier: uid("pub"),
                cryptographic_parameters: Some(params()),
                data: Some(b("msg")),
                digested_data: Some(b("digest")),
                signature_data: Some(b("sig")),
                correlation_value: Some(b("c")),
                init_indicator: Some(true),
                final_indicator: Some(true),
            })),
            R::SignatureVerify(Box::new(SignatureVerifyResponse {
                unique_identifier: "pub".into(),
                validity_indicator: Some(ValidityIndicator::INVALID),
                data: Some(b("recovered")),
                correlation_value: Some(b("c")),
            })),
        ),
        (
            Operation::MAC,
            Q::Mac(Box::new(MacRequest {
                unique_identifier: uid("hmac"),
                cryptographic_parameters: Some(CryptographicParameters {
                    cryptographic_algorithm: Some(CryptographicAlgorithm::HMAC_SHA256),
                    ..Default::default()
                }),
                data: Some(b("msg")),
                correlation_value: Some(b("c")),
                init_indicator: Some(true),
                final_indicator: Some(false),
            })),
            R::Mac(Box::new(MacResponse {
                unique_identifier: "hmac".into(),
                mac_data: Some(b("mac")),
                correlation_value: Some(b("c")),
            })),
        ),
        (
            Operation::MAC_VERIFY,
            Q::MacVerify(Box::new(MacVerifyRequest {
                unique_identifier: uid("hmac"),
                cryptographic_parameters: Some(params()),
                data: Some(b("msg")),
                mac_data: Some(b("mac")),
                correlation_value: Some(b("c")),
                init_indicator: Some(false),
                final_indicator: Some(true),
            })),
            R::MacVerify(Box::new(MacVerifyResponse {
                unique_identifier: "hmac".into(),
                validity_indicator: Some(ValidityIndicator::VALID),
                correlation_value: Some(b("c")),
            })),
        ),
        (
            Operation::HASH,
            Q::Hash(Box::new(HashRequest {
                cryptographic_parameters: CryptographicParameters {
                    hashing_algorithm: Some(HashingAlgorithm::SHA_256),
                    ..Default::default()
                },
                data: Some(b("msg")),
                correlation_value: Some(b("c")),
                init_indicator: Some(true),
                final_indicator: Some(true),
            })),
            R::Hash(Box::new(HashResponse {
                data: Some(b("digest")),
                correlation_value: Some(b("c")),
            })),
        ),
        (
            Operation::RNG_RETRIEVE,
            Q::RngRetrieve(Box::new(RngRetrieveRequest { data_length: 32 })),
            R::RngRetrieve(Box::new(RngRetrieveResponse {
                data: Bytes::from(vec![9u8; 32]),
            })),
        ),
        (
            Operation::RNG_SEED,
            Q::RngSeed(Box::new(RngSeedRequest { data: b("seed") })),
            R::RngSeed(Box::new(RngSeedResponse { data_length: 4 })),
        ),
        (
            Operation::CREATE_SPLIT_KEY,
            Q::CreateSplitKey(Box::new(CreateSplitKeyRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: uid("1"),
                split_key_parts: 5,
                split_key_threshold: 3,
                split_key_method: SplitKeyMethod::POLYNOMIAL_SHARING_PRIME_FIELD,
                prime_field_size: Some(BigInt(Bytes::from(vec![0u8, 0, 0, 0, 0, 0, 1, 1]))),
                attributes: attrs(ctx),
                protection_storage_masks: psm(ctx),
            })),
            R::CreateSplitKey(Box::new(CreateSplitKeyResponse {
                unique_identifier: vec!["p1".into(), "p2".into()],
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::JOIN_SPLIT_KEY,
            Q::JoinSplitKey(Box::new(JoinSplitKeyRequest {
                object_type: ObjectType::SECRET_DATA,
                unique_identifier: vec!["p1".into(), "p2".into(), "p3".into()],
                secret_data_type: Some(SecretDataType::SEED),
                attributes: Some(attrs(ctx)),
                protection_storage_masks: psm(ctx),
            })),
            R::JoinSplitKey(Box::new(JoinSplitKeyResponse {
                unique_identifier: "joined".into(),
                attributes: v1_attrs(ctx),
            })),
        ),
        (
            Operation::EXPORT,
            Q::Export(Box::new(ExportRequest {
                unique_identifier: uid("1"),
                key_format_type: Some(KeyFormatType::RAW),
                key_wrap_type: Some(KeyWrapType::AS_REGISTERED),
                key_compression_type: None,
                key_wrapping_specification: Some(wrapping()),
            })),
            R::Export(Box::new(ExportResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: "1".into(),
                attributes: inline(ctx),
                object: key(),
            })),
        ),
        (
            Operation::IMPORT,
            Q::Import(Box::new(ImportRequest {
                unique_identifier: "1".into(),
                object_type: Some(ObjectType::SYMMETRIC_KEY),
                replace_existing: Some(true),
                key_wrap_type: Some(KeyWrapType::NOT_WRAPPED),
                attributes: inline(ctx),
                object: key(),
            })),
            R::Import(Box::new(ImportResponse {
                unique_identifier: "1".into(),
            })),
        ),
        (
            Operation::NOTIFY,
            Q::Notify(Box::new(NotifyRequest {
                unique_identifier: "1".into(),
                attribute: vec![Ttlv::structure(
                    Tag::ATTRIBUTE,
                    vec![Ttlv::new(
                        Tag::ATTRIBUTE_NAME,
                        Value::TextString("Contact Information".into()),
                    )],
                )],
            })),
            R::Notify(Box::new(NotifyResponse {})),
        ),
        (
            Operation::PUT,
            Q::Put(Box::new(PutRequest {
                unique_identifier: "1".into(),
                put_function: PutFunction::REPLACE,
                replaced_unique_identifier: uid("0"),
                object: key(),
                attributes: inline(ctx),
            })),
            R::Put(Box::new(PutResponse {})),
        ),
    ]
}

/// typed → TTLV → binary → TTLV → typed; returns the TTLV tree.
fn round_trip_request(op: Operation, p: &RequestPayload, ctx: &Ctx) -> Ttlv {
    let tree = p.clone().write(ctx);
    let bytes = binary::encode(&tree);
    let decoded = binary::decode(&bytes, &Limits::default()).expect("binary decodes");
    assert_eq!(decoded, tree);
    let back = RequestPayload::read(op, decoded, ctx)
        .unwrap_or_else(|e| panic!("{op:?} request {ctx:?}: {e}"));
    assert_eq!(&back, p, "{op:?} request under {ctx:?}");
    assert_eq!(back.operation(), Some(op));
    tree
}

fn round_trip_response(op: Operation, p: &ResponsePayload, ctx: &Ctx) -> Ttlv {
    let tree = p.clone().write(ctx);
    let bytes = binary::encode(&tree);
    let decoded = binary::decode(&bytes, &Limits::default()).expect("binary decodes");
    assert_eq!(decoded, tree);
    let back = ResponsePayload::read(op, decoded, ctx)
        .unwrap_or_else(|e| panic!("{op:?} response {ctx:?}: {e}"));
    assert_eq!(&back, p, "{op:?} response under {ctx:?}");
    assert_eq!(back.operation(), Some(op));
    tree
}

fn tags(t: &Ttlv) -> Vec<Tag> {
    t.children().iter().map(|c| c.tag).collect()
}

#[test]
fn every_payload_round_trips_in_both_versions() {
    for ctx in [Ctx::new(1, 4), V2] {
        let all = samples(&ctx);
        assert!(all.len() >= 36);
        for (op, q, r) in &all {
            round_trip_request(*op, q, &ctx);
            round_trip_response(*op, r, &ctx);
        }
    }
}

/// The whole message path too: a batch of every request inside a Request Message.
#[test]
fn every_payload_round_trips_in_a_message() {
    use kmip::messages::*;
    for ctx in [V1, V2] {
        let items: Vec<RequestBatchItem> = samples(&ctx)
            .into_iter()
            .map(|(op, q, _)| RequestBatchItem {
                operation: op,
                ephemeral: None,
                unique_batch_item_id: None,
                payload: q,
                message_extension: None,
            })
            .collect();
        let m = RequestMessage {
            header: RequestHeader {
                protocol_version: ProtocolVersion::new(ctx.major, ctx.minor),
                batch_count: items.len() as i32,
                ..Default::default()
            },
            batch_items: items,
        };
        let back =
            RequestMessage::decode(&m.clone().encode(), &Limits::default()).expect("decodes");
        assert_eq!(back, m);
    }
}

fn find(ctx: &Ctx, op: Operation) -> (Ttlv, Ttlv) {
    let (_, q, r) = samples(ctx)
        .into_iter()
        .find(|(o, _, _)| *o == op)
        .expect("sample");
    (
        round_trip_request(op, &q, ctx),
        round_trip_response(op, &r, ctx),
    )
}

#[test]
fn locate_shapes() {
    let (q1, _) = find(&V1, Operation::LOCATE);
    assert_eq!(
        tags(&q1),
        [
            vec![
                Tag::MAXIMUM_ITEMS,
                Tag::OFFSET_ITEMS,
                Tag::STORAGE_STATUS_MASK,
                Tag::OBJECT_GROUP_MEMBER
            ],
            vec![Tag::ATTRIBUTE; 5]
        ]
        .concat()
    );
    let (q2, r2) = find(&V2, Operation::LOCATE);
    assert_eq!(tags(&q2)[4..], [Tag::ATTRIBUTES]);
    assert_eq!(
        q2.child(Tag::ATTRIBUTES)
            .unwrap()
            .child(Tag::CRYPTOGRAPHIC_LENGTH)
            .unwrap()
            .value,
        Value::Integer(256)
    );
    assert_eq!(
        tags(&r2),
        [
            Tag::LOCATED_ITEMS,
            Tag::UNIQUE_IDENTIFIER,
            Tag::UNIQUE_IDENTIFIER
        ]
    );
}

#[test]
fn template_attribute_shapes() {
    let (q1, r1) = find(&V1, Operation::CREATE_KEY_PAIR);
    assert_eq!(
        tags(&q1),
        [
            Tag::COMMON_TEMPLATE_ATTRIBUTE,
            Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
            Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE
        ]
    );
    assert_eq!(
        q1.children()[0].children()[0].tag,
        Tag::NAME,
        "1.x template name first"
    );
    assert_eq!(
        tags(&r1),
        [
            Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER,
            Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER,
            Tag::PRIVATE_KEY_TEMPLATE_ATTRIBUTE,
            Tag::PUBLIC_KEY_TEMPLATE_ATTRIBUTE
        ]
    );
    let (q2, r2) = find(&V2, Operation::CREATE_KEY_PAIR);
    assert_eq!(
        tags(&q2),
        [
            Tag::COMMON_ATTRIBUTES,
            Tag::PRIVATE_KEY_ATTRIBUTES,
            Tag::PUBLIC_KEY_ATTRIBUTES,
            Tag::COMMON_PROTECTION_STORAGE_MASKS,
            Tag::PRIVATE_PROTECTION_STORAGE_MASKS,
            Tag::PUBLIC_PROTECTION_STORAGE_MASKS
        ]
    );
    assert_eq!(
        tags(&r2),
        [
            Tag::PRIVATE_KEY_UNIQUE_IDENTIFIER,
            Tag::PUBLIC_KEY_UNIQUE_IDENTIFIER
        ]
    );

    let (q1, _) = find(&V1, Operation::REGISTER);
    assert_eq!(
        tags(&q1),
        [
            Tag::OBJECT_TYPE,
            Tag::TEMPLATE_ATTRIBUTE,
            Tag::SYMMETRIC_KEY
        ]
    );
    let (q2, _) = find(&V2, Operation::REGISTER);
    assert_eq!(
        tags(&q2),
        [
            Tag::OBJECT_TYPE,
            Tag::ATTRIBUTES,
            Tag::SYMMETRIC_KEY,
            Tag::PROTECTION_STORAGE_MASKS
        ]
    );
    // a 1.x custom attribute is a 2.x vendor attribute
    let vendor = q2
        .child(Tag::ATTRIBUTES)
        .unwrap()
        .child(Tag::ATTRIBUTE)
        .unwrap();
    assert_eq!(
        vendor.child(Tag::VENDOR_IDENTIFICATION).unwrap().value,
        Value::TextString("x".into())
    );
}

#[test]
fn attribute_operation_shapes() {
    // Modify Attribute: 1.x one Attribute; 2.x Current and New Attribute.
    let (q1, r1) = find(&V1, Operation::MODIFY_ATTRIBUTE);
    assert_eq!(tags(&q1), [Tag::UNIQUE_IDENTIFIER, Tag::ATTRIBUTE]);
    assert_eq!(
        tags(&q1.children()[1]),
        [
            Tag::ATTRIBUTE_NAME,
            Tag::ATTRIBUTE_INDEX,
            Tag::ATTRIBUTE_VALUE
        ]
    );
    assert_eq!(tags(&r1), [Tag::UNIQUE_IDENTIFIER, Tag::ATTRIBUTE]);
    let (q2, r2) = find(&V2, Operation::MODIFY_ATTRIBUTE);
    assert_eq!(
        tags(&q2),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::CURRENT_ATTRIBUTE,
            Tag::NEW_ATTRIBUTE
        ]
    );
    assert_eq!(tags(&q2.children()[2]), [Tag::CONTACT_INFORMATION]);
    assert_eq!(tags(&r2), [Tag::UNIQUE_IDENTIFIER]);

    // Delete Attribute: 1.x Attribute Name + Index; 2.x Current Attribute / Attribute Reference.
    let (q1, r1) = find(&V1, Operation::DELETE_ATTRIBUTE);
    assert_eq!(
        tags(&q1),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::ATTRIBUTE_NAME,
            Tag::ATTRIBUTE_INDEX
        ]
    );
    assert_eq!(
        q1.children()[1].value,
        Value::TextString("x-Product".into())
    );
    assert_eq!(tags(&r1), [Tag::UNIQUE_IDENTIFIER, Tag::ATTRIBUTE]);
    let (q2, r2) = find(&V2, Operation::DELETE_ATTRIBUTE);
    assert_eq!(
        tags(&q2),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::CURRENT_ATTRIBUTE,
            Tag::ATTRIBUTE_REFERENCE
        ]
    );
    assert_eq!(
        tags(&q2.children()[2]),
        [Tag::VENDOR_IDENTIFICATION, Tag::ATTRIBUTE_NAME]
    );
    assert_eq!(tags(&r2), [Tag::UNIQUE_IDENTIFIER]);

    // Get Attribute List: 1.x Attribute Name texts; 2.x Attribute Reference enumerations.
    let (_, r1) = find(&V1, Operation::GET_ATTRIBUTE_LIST);
    assert_eq!(
        r1.children()[1],
        Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString("State".into()))
    );
    let (_, r2) = find(&V2, Operation::GET_ATTRIBUTE_LIST);
    assert_eq!(
        r2.children()[1],
        Ttlv::new(Tag::ATTRIBUTE_REFERENCE, Value::Enumeration(Tag::STATE.0))
    );

    // Set Attribute (2.x)
    let (q2, _) = find(&V2, Operation::SET_ATTRIBUTE);
    assert_eq!(tags(&q2), [Tag::UNIQUE_IDENTIFIER, Tag::NEW_ATTRIBUTE]);
}

#[test]
fn modify_attribute_in_1x_is_the_new_value() {
    let tree = Ttlv::structure(
        Tag::REQUEST_PAYLOAD,
        vec![Ttlv::structure(
            Tag::ATTRIBUTE,
            vec![
                Ttlv::new(
                    Tag::ATTRIBUTE_NAME,
                    Value::TextString("x-attribute1".into()),
                ),
                Ttlv::new(Tag::ATTRIBUTE_VALUE, Value::TextString("value2".into())),
            ],
        )],
    );
    let RequestPayload::ModifyAttribute(m) =
        RequestPayload::read(Operation::MODIFY_ATTRIBUTE, tree, &V1).unwrap()
    else {
        panic!()
    };
    assert_eq!(m.unique_identifier, None);
    assert_eq!(m.current_attribute, V2Only(None));
    assert_eq!(
        m.new_attribute.0,
        Attribute::custom("x-attribute1", Value::TextString("value2".into()))
    );
}

#[test]
fn certificate_request_and_inline_attribute_shapes() {
    let (q1, _) = find(&V1, Operation::CERTIFY);
    assert_eq!(
        tags(&q1),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::CERTIFICATE_REQUEST_TYPE,
            Tag::CERTIFICATE_REQUEST,
            Tag::TEMPLATE_ATTRIBUTE
        ]
    );
    let (q2, _) = find(&V2, Operation::CERTIFY);
    assert_eq!(
        tags(&q2),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::CERTIFICATE_REQUEST_TYPE,
            Tag::CERTIFICATE_REQUEST_VALUE,
            Tag::ATTRIBUTES,
            Tag::PROTECTION_STORAGE_MASKS
        ]
    );

    let (_, r1) = find(&V1, Operation::EXPORT);
    assert_eq!(
        tags(&r1),
        [
            vec![Tag::OBJECT_TYPE, Tag::UNIQUE_IDENTIFIER],
            vec![Tag::ATTRIBUTE; 5],
            vec![Tag::SYMMETRIC_KEY]
        ]
        .concat()
    );
    let (_, r2) = find(&V2, Operation::EXPORT);
    assert_eq!(
        tags(&r2),
        [
            Tag::OBJECT_TYPE,
            Tag::UNIQUE_IDENTIFIER,
            Tag::ATTRIBUTES,
            Tag::SYMMETRIC_KEY
        ]
    );
}

#[test]
fn crypto_payloads_follow_the_specification_order() {
    let (q, r) = find(&V2, Operation::ENCRYPT);
    assert_eq!(
        tags(&q),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::CRYPTOGRAPHIC_PARAMETERS,
            Tag::DATA,
            Tag::IV_COUNTER_NONCE,
            Tag::CORRELATION_VALUE,
            Tag::INIT_INDICATOR,
            Tag::FINAL_INDICATOR,
            Tag::AUTHENTICATED_ENCRYPTION_ADDITIONAL_DATA
        ]
    );
    assert_eq!(
        tags(&r),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::DATA,
            Tag::IV_COUNTER_NONCE,
            Tag::CORRELATION_VALUE,
            Tag::AUTHENTICATED_ENCRYPTION_TAG
        ]
    );
    let (q, _) = find(&V1, Operation::REVOKE);
    assert_eq!(
        tags(&q),
        [
            Tag::UNIQUE_IDENTIFIER,
            Tag::REVOCATION_REASON,
            Tag::COMPROMISE_OCCURRENCE_DATE
        ]
    );
    assert_eq!(
        tags(&q.children()[1]),
        [Tag::REVOCATION_REASON_CODE, Tag::REVOCATION_MESSAGE]
    );
    let (q, _) = find(&V1, Operation::DERIVE_KEY);
    assert_eq!(
        tags(&q),
        [
            Tag::OBJECT_TYPE,
            Tag::UNIQUE_IDENTIFIER,
            Tag::UNIQUE_IDENTIFIER,
            Tag::DERIVATION_METHOD,
            Tag::DERIVATION_PARAMETERS,
            Tag::TEMPLATE_ATTRIBUTE
        ]
    );
}

#[test]
fn missing_required_fields_are_errors() {
    let empty = || Ttlv::structure(Tag::REQUEST_PAYLOAD, vec![]);
    for op in [
        Operation::REVOKE,
        Operation::REGISTER,
        Operation::HASH,
        Operation::RNG_RETRIEVE,
        Operation::CANCEL,
    ] {
        assert!(RequestPayload::read(op, empty(), &V2).is_err(), "{op:?}");
    }
    // all-optional requests accept an empty payload (ID placeholder)
    for op in [
        Operation::DESTROY,
        Operation::ENCRYPT,
        Operation::LOCATE,
        Operation::GET_ATTRIBUTE_LIST,
    ] {
        assert!(RequestPayload::read(op, empty(), &V1).is_ok(), "{op:?}");
    }
}
