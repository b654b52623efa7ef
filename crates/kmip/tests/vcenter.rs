//! Every vCenter request and PyKMIP response captured in
//! `shared/interop/vsphere-kmip.md` (Appendix A) decodes to the expected typed
//! message and re-encodes byte for byte; Appendix B's vCenter 8 messages (with
//! credentials) survive typed round trips too.

use kmip::attributes::{AttributeName, AttributeReference};
use kmip::binary::{self, Limits};
use kmip::enums::*;
use kmip::messages::*;
use kmip::payloads::*;
use kmip::typed::{Ctx, DateTime};
use kmip::{Bytes, Tag, Value};
use skms_test_support::vcenter::{capture, captures, raw_aes_256_key};

fn req(bytes: &[u8]) -> RequestMessage {
    RequestMessage::decode(bytes, &Limits::default()).expect("request decodes")
}

fn resp(bytes: &[u8]) -> ResponseMessage {
    ResponseMessage::decode(bytes, &Limits::default()).expect("response decodes")
}

#[test]
fn every_capture_round_trips_byte_for_byte() {
    let all = captures();
    assert!(all.len() >= 20, "found only {} captures", all.len());
    for (title, kind, bytes) in &all {
        let limits = Limits::default();
        let tree = match binary::decode(bytes, &limits) {
            Ok(t) => t,
            Err(e) => panic!("{title} {kind}: {e}"),
        };
        assert_eq!(
            &binary::encode(&tree),
            bytes,
            "{title} {kind}: tree re-encodes"
        );
        let again = if *kind == "Request" {
            RequestMessage::from_ttlv(tree).map(|m| m.encode())
        } else {
            ResponseMessage::from_ttlv(tree).map(|m| m.encode())
        };
        match again {
            Ok(b) => assert_eq!(
                &b, bytes,
                "{title} {kind}: typed message re-encodes byte for byte"
            ),
            Err(e) => panic!("{title} {kind}: typed decode failed: {e}"),
        }
    }
}

#[test]
fn discover_versions_without_and_with_batch_id() {
    let m = req(&capture("A1.", "Request"));
    assert_eq!(m.header.protocol_version, ProtocolVersion::new(1, 1));
    assert_eq!(m.header.batch_count, 1);
    assert!(m.header.authentication.is_none());
    let item = &m.batch_items[0];
    assert_eq!(item.operation, Operation::DISCOVER_VERSIONS);
    assert_eq!(item.unique_batch_item_id, None);
    assert_eq!(
        item.payload,
        RequestPayload::from(DiscoverVersionsRequest::default())
    );

    let r = resp(&capture("A1.", "Response"));
    let Some(ResponsePayload::DiscoverVersions(dv)) = &r.batch_items[0].payload else {
        panic!("{r:?}")
    };
    assert!(dv.protocol_version.contains(&ProtocolVersion::new(1, 1)));
    assert_eq!(dv.protocol_version[0], ProtocolVersion::new(2, 0));

    let m = req(&capture("A2.", "Request"));
    assert_eq!(
        m.batch_items[0].unique_batch_item_id,
        Some(Bytes::from(&b"QLKC\x01\0\0\0"[..]))
    );
}

#[test]
fn query_server_information() {
    let m = req(&capture("A3.", "Request"));
    let RequestPayload::Query(q) = &m.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(
        q.query_function,
        vec![QueryFunction::QUERY_SERVER_INFORMATION]
    );
    let r = resp(&capture("A3.", "Response"));
    let Some(ResponsePayload::Query(q)) = &r.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(
        q.vendor_identification.as_deref(),
        Some("PyKMIP 0.11.0.dev1 Software Server")
    );
}

#[test]
fn create_aes_256() {
    let m = req(&capture("A4.", "Request"));
    let RequestPayload::Create(c) = &m.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(c.object_type, ObjectType::SYMMETRIC_KEY);
    assert_eq!(
        c.attributes.cryptographic_algorithm(),
        Some(CryptographicAlgorithm::AES)
    );
    assert_eq!(c.attributes.cryptographic_length(), Some(256));
    let mask = c.attributes.cryptographic_usage_mask().unwrap();
    assert!(mask.contains(CryptographicUsageMask::ENCRYPT | CryptographicUsageMask::DECRYPT));
    let r = resp(&capture("A4.", "Response"));
    assert_eq!(r.header.time_stamp, DateTime(0x67ee6147));
    let Some(ResponsePayload::Create(c)) = &r.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(c.unique_identifier, "1");
}

#[test]
fn get_attributes_of_custom_and_state() {
    let m = req(&capture("A5.", "Request"));
    let RequestPayload::GetAttributes(g) = &m.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(g.unique_identifier.as_deref(), Some("1"));
    assert_eq!(
        g.attribute_reference,
        vec![AttributeReference(AttributeName::Vendor {
            vendor: "x".into(),
            name: "Product_Version".into()
        })]
    );
    let r = resp(&capture("A5.", "Response"));
    let Some(ResponsePayload::GetAttributes(g)) = &r.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(
        g.attributes.0, None,
        "absent attribute: success with the UID only"
    );

    let r = resp(&capture("A10.", "Response"));
    let Some(ResponsePayload::GetAttributes(g)) = &r.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(
        g.attributes.0.as_ref().unwrap().state(),
        Some(State::PRE_ACTIVE)
    );
}

#[test]
fn add_attribute_batch_of_three() {
    for (section, expect) in [
        (
            "A8.",
            [
                ("x-Product_Version", "7.0.3 build-19480866"),
                ("x-Vendor", "VMware, Inc."),
                ("x-Product", "VMware vSphere"),
            ],
        ),
        (
            "A16.",
            [
                ("x-Identifier", "4226f566-3ed5-1c8f-cda3-b0b037b6dc97"),
                ("x-Component", "Virtual Machine"),
                ("x-Name", "test01"),
            ],
        ),
    ] {
        let m = req(&capture(section, "Request"));
        assert_eq!(m.header.batch_count, 3);
        for (i, (item, (name, value))) in m.batch_items.iter().zip(expect).enumerate() {
            assert_eq!(
                item.unique_batch_item_id.as_ref().unwrap().as_slice(),
                &[b'Q', b'L', b'K', b'C', i as u8 + 1, 0, 0, 0]
            );
            let RequestPayload::AddAttribute(a) = &item.payload else {
                panic!()
            };
            assert_eq!(a.attribute.0.name, AttributeName::from_v1(name));
            assert_eq!(a.attribute.0.value, Value::TextString(value.into()));
        }
    }
    // PyKMIP's failure answer: header downgraded to 1.0, no Operation, Invalid Message.
    let r = resp(&capture("A8.", "Response"));
    assert_eq!(r.header.protocol_version, ProtocolVersion::new(1, 0));
    let item = &r.batch_items[0];
    assert_eq!(item.operation, None);
    assert_eq!(item.result_status, ResultStatus::OPERATION_FAILED);
    assert_eq!(item.result_reason, Some(ResultReason::INVALID_MESSAGE));
}

#[test]
fn get_returns_raw_aes_key() {
    let r = resp(&capture("A9.", "Response"));
    let Some(ResponsePayload::Get(g)) = &r.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(g.unique_identifier, "2");
    raw_aes_256_key(g, "A9 response");
    assert!(
        !format!("{g:?}").contains("1c5d9de2"),
        "key material never in Debug output"
    );
}

#[test]
fn activate() {
    let m = req(&capture("A11.", "Request"));
    assert_eq!(
        m.batch_items[0].payload,
        RequestPayload::Activate(Box::new(ActivateRequest {
            unique_identifier: Some("2".into())
        }))
    );
}

/// Appendix B: vCenter 8.0.1 with password protection, rebuilt from the decoded transcript.
#[test]
fn vcenter8_credentials_and_shapes() {
    let ctx = Ctx::new(1, 1);
    let create = RequestMessage {
        header: RequestHeader {
            protocol_version: ProtocolVersion::new(1, 1),
            authentication: Some(Authentication {
                credential: vec![Credential::UsernameAndPassword(UsernameAndPassword {
                    username: "vSphere".into(),
                    password: Some(SecretString("password".into())),
                })],
            }),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem {
            operation: Operation::CREATE,
            ephemeral: None,
            unique_batch_item_id: Some(Bytes::from(hex::decode("514c4b4301000000").unwrap())),
            payload: RequestPayload::Create(Box::new(CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: kmip::attributes::Attributes::new(vec![
                    kmip::attributes::Attribute::new(
                        Tag::CRYPTOGRAPHIC_ALGORITHM,
                        Value::Enumeration(3),
                    ),
                    kmip::attributes::Attribute::new(
                        Tag::CRYPTOGRAPHIC_USAGE_MASK,
                        Value::Integer(12),
                    ),
                    kmip::attributes::Attribute::new(
                        Tag::CRYPTOGRAPHIC_LENGTH,
                        Value::Integer(256),
                    ),
                ]),
                protection_storage_masks: None,
            })),
            message_extension: None,
        }],
    };
    let bytes = create.clone().encode();
    // Lengths from the transcript: message 376, header 128, authentication 64, batch item 232.
    assert_eq!(bytes.len(), 376 + 8);
    let tree = binary::decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(
        binary::encode(tree.child(Tag::REQUEST_HEADER).unwrap()).len(),
        128 + 8
    );
    let back = RequestMessage::decode(&bytes, &Limits::default()).unwrap();
    assert_eq!(back, create);
    let cred = &back.header.authentication.as_ref().unwrap().credential[0];
    assert!(
        !format!("{cred:?}").contains("password\""),
        "password redacted in Debug: {cred:?}"
    );
    let _ = ctx;
}
