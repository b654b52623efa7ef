//! Property tests: decode(encode(m)) == m for random TTLV trees and random
//! typed messages, in the binary, JSON and XML encodings, across KMIP 1.x and
//! 2.x attribute shapes.

use kmip::attributes::{Attribute, AttributeName, AttributeReference, Attributes, Wrapped};
use kmip::binary::{self, Limits};
use kmip::enums::*;
use kmip::messages::*;
use kmip::payloads::*;
use kmip::typed::{Ctx, DateTime};
use kmip::{json, xml, Bytes, Tag, Ttlv, Value};
use proptest::prelude::*;

fn limits() -> Limits {
    Limits {
        max_message_size: 1 << 20,
        max_depth: 16,
    }
}

/// Tags: specification tags (some with enumerations or masks) and extension tags.
fn tag() -> impl Strategy<Value = Tag> {
    prop_oneof![
        Just(Tag::UNIQUE_IDENTIFIER),
        Just(Tag::CRYPTOGRAPHIC_ALGORITHM),
        Just(Tag::CRYPTOGRAPHIC_USAGE_MASK),
        Just(Tag::OBJECT_TYPE),
        Just(Tag::STATE),
        Just(Tag::KEY_MATERIAL),
        Just(Tag::NAME_VALUE),
        Just(Tag::ACTIVATION_DATE),
        (0x540000u32..0x540010).prop_map(Tag),
        (0x420001u32..0x420160).prop_map(Tag),
    ]
}

fn primitive() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i32>().prop_map(Value::Integer),
        any::<i64>().prop_map(Value::LongInteger),
        proptest::collection::vec(any::<u8>(), 1..4)
            .prop_map(|v| Value::BigInteger(Bytes::new(v.into_iter().cycle().take(16).collect()))),
        any::<u32>().prop_map(Value::Enumeration),
        any::<bool>().prop_map(Value::Boolean),
        // XML 1.0 cannot carry control characters, so the shared property uses printable text.
        "\\PC{0,20}".prop_map(Value::TextString),
        proptest::collection::vec(any::<u8>(), 0..40)
            .prop_map(|v| Value::ByteString(Bytes::new(v))),
        any::<i64>().prop_map(Value::DateTime),
        any::<u32>().prop_map(Value::Interval),
        any::<i64>().prop_map(Value::DateTimeExtended),
    ]
}

fn tree() -> impl Strategy<Value = Ttlv> {
    let leaf = (tag(), primitive()).prop_map(|(t, v)| Ttlv::new(t, v));
    leaf.prop_recursive(4, 40, 6, |inner| {
        (tag(), proptest::collection::vec(inner, 0..6)).prop_map(|(t, c)| Ttlv::structure(t, c))
    })
}

fn all_encodings(item: &Ttlv) {
    let bytes = binary::encode(item);
    assert_eq!(&binary::decode(&bytes, &limits()).expect("binary"), item);
    let j = json::to_string(item);
    assert_eq!(
        &json::from_str(&j, &limits()).unwrap_or_else(|e| panic!("{e}\n{j}")),
        item,
        "JSON\n{j}"
    );
    let x = xml::to_string(item);
    assert_eq!(
        &xml::from_str(&x, &limits()).unwrap_or_else(|e| panic!("{e}\n{x}")),
        item,
        "XML\n{x}"
    );
}

fn version() -> impl Strategy<Value = Ctx> {
    prop_oneof![
        (0i32..=4).prop_map(|m| Ctx::new(1, m)),
        (0i32..=1).prop_map(|m| Ctx::new(2, m))
    ]
}

fn standard_attribute() -> impl Strategy<Value = Attribute> {
    prop_oneof![
        any::<u32>()
            .prop_map(|v| Attribute::new(Tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(v))),
        any::<i32>().prop_map(|v| Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(v))),
        any::<i32>().prop_map(|v| Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(v))),
        any::<i64>().prop_map(|v| Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(v))),
        "[a-z0-9 ]{0,12}".prop_map(|n| Attribute::new(
            Tag::NAME,
            Value::Structure(vec![
                Ttlv::new(Tag::NAME_VALUE, Value::TextString(n)),
                Ttlv::new(Tag::NAME_TYPE, Value::Enumeration(1)),
            ])
        )),
        "[a-z]{1,8}".prop_map(|g| Attribute::new(Tag::OBJECT_GROUP, Value::TextString(g))),
    ]
}

fn custom_attribute() -> impl Strategy<Value = Attribute> {
    (
        prop_oneof![Just("x"), Just("y")],
        "[A-Za-z_]{1,12}",
        primitive(),
    )
        .prop_map(|(v, n, value)| Attribute {
            name: AttributeName::Vendor {
                vendor: v.into(),
                name: n,
            },
            index: None,
            value,
        })
}

fn attributes() -> impl Strategy<Value = Attributes> {
    proptest::collection::vec(prop_oneof![standard_attribute(), custom_attribute()], 0..6)
        .prop_map(Attributes::new)
}

fn payload() -> impl Strategy<Value = (Operation, RequestPayload)> {
    prop_oneof![
        Just((
            Operation::DISCOVER_VERSIONS,
            RequestPayload::DiscoverVersions(Box::new(DiscoverVersionsRequest {
                protocol_version: vec![ProtocolVersion::new(1, 1)]
            }))
        )),
        attributes().prop_map(|a| (
            Operation::CREATE,
            RequestPayload::Create(Box::new(CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: a,
                protection_storage_masks: None,
            }))
        )),
        (
            proptest::option::of("[0-9a-f-]{1,36}"),
            proptest::collection::vec(custom_attribute(), 0..3)
        )
            .prop_map(|(uid, refs)| (
                Operation::GET_ATTRIBUTES,
                RequestPayload::GetAttributes(Box::new(GetAttributesRequest {
                    unique_identifier: uid,
                    attribute_reference: refs
                        .into_iter()
                        .map(|a| AttributeReference(a.name))
                        .chain([AttributeReference(AttributeName::Standard(Tag::STATE))])
                        .collect(),
                }))
            )),
        ("[0-9]{1,4}", custom_attribute()).prop_map(|(uid, a)| (
            Operation::ADD_ATTRIBUTE,
            RequestPayload::AddAttribute(Box::new(AddAttributeRequest {
                unique_identifier: Some(uid),
                attribute: Wrapped(a)
            }))
        )),
        proptest::option::of("[0-9]{1,4}").prop_map(|u| (
            Operation::ACTIVATE,
            RequestPayload::Activate(Box::new(ActivateRequest {
                unique_identifier: u
            }))
        )),
    ]
}

fn request() -> impl Strategy<Value = RequestMessage> {
    (
        version(),
        proptest::option::of(("[a-z0-9-]{1,36}", "\\PC{0,16}")),
        proptest::option::of(any::<i32>()),
        proptest::option::of(any::<i64>()),
        proptest::collection::vec(
            (
                payload(),
                proptest::option::of(proptest::collection::vec(any::<u8>(), 1..9)),
            ),
            1..4,
        ),
    )
        .prop_map(|(ctx, cred, max, ts, items)| RequestMessage {
            header: RequestHeader {
                protocol_version: ProtocolVersion::new(ctx.major, ctx.minor),
                maximum_response_size: max,
                authentication: cred.map(|(u, p)| Authentication {
                    credential: vec![Credential::UsernameAndPassword(UsernameAndPassword {
                        username: u,
                        password: Some(SecretString(p)),
                    })],
                }),
                time_stamp: ts.map(DateTime),
                batch_count: items.len() as i32,
                ..Default::default()
            },
            batch_items: items
                .into_iter()
                .map(|((op, payload), id)| RequestBatchItem {
                    operation: op,
                    ephemeral: None,
                    unique_batch_item_id: id.map(Bytes::new),
                    payload,
                    message_extension: None,
                })
                .collect(),
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn any_tree_survives_every_encoding(t in tree()) {
        all_encodings(&t);
    }

    #[test]
    fn typed_requests_survive_every_encoding(m in request()) {
        let tree = m.clone().to_ttlv();
        // The attributes are written in the shape of the message's version.
        let is_v2 = m.header.protocol_version.protocol_version_major >= 2;
        for item in tree.children().iter().filter(|c| c.tag == Tag::BATCH_ITEM) {
            let payload = item.child(Tag::REQUEST_PAYLOAD).unwrap();
            let wrong_shape = if is_v2 { Tag::TEMPLATE_ATTRIBUTE } else { Tag::ATTRIBUTES };
            prop_assert!(payload.child(wrong_shape).is_none(), "{:?} in a {}.x message", wrong_shape, if is_v2 { 2 } else { 1 });
        }
        all_encodings(&tree);
        prop_assert_eq!(RequestMessage::from_ttlv(tree.clone()).unwrap(), m.clone());
        let bytes = m.clone().encode();
        prop_assert_eq!(RequestMessage::decode(&bytes, &limits()).unwrap(), m.clone());
        let j = json::to_string(&tree);
        prop_assert_eq!(RequestMessage::from_ttlv(json::from_str(&j, &limits()).unwrap()).unwrap(), m.clone());
        let x = xml::to_string(&tree);
        prop_assert_eq!(RequestMessage::from_ttlv(xml::from_str(&x, &limits()).unwrap()).unwrap(), m);
    }

    #[test]
    fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = binary::decode(&b, &limits()).map(|t| {
            let _ = RequestMessage::from_ttlv(t.clone());
            let _ = ResponseMessage::from_ttlv(t);
        });
    }
}
