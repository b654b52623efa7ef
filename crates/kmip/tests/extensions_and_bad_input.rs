//! Unknown tags: kept where the specification allows extensions (2.x
//! Attributes, custom attributes of any type, Message Extension, vendor-defined
//! Server Information), an error naming the tag everywhere else. Typed errors
//! for wrong types and missing fields name the structure and the tag.

use kmip::attributes::AttributeName;
use kmip::binary::{self, Limits};
use kmip::enums::*;
use kmip::messages::*;
use kmip::payloads::*;
use kmip::{Error, Tag, Ttlv, Value};

fn header(major: i32, minor: i32, count: i32) -> Ttlv {
    Ttlv::structure(
        Tag::REQUEST_HEADER,
        vec![
            Ttlv::structure(
                Tag::PROTOCOL_VERSION,
                vec![
                    Ttlv::new(Tag::PROTOCOL_VERSION_MAJOR, Value::Integer(major)),
                    Ttlv::new(Tag::PROTOCOL_VERSION_MINOR, Value::Integer(minor)),
                ],
            ),
            Ttlv::new(Tag::BATCH_COUNT, Value::Integer(count)),
        ],
    )
}

fn request(major: i32, minor: i32, op: Operation, payload: Vec<Ttlv>, extra: Vec<Ttlv>) -> Ttlv {
    let mut item = vec![
        Ttlv::new(Tag::OPERATION, Value::Enumeration(op.0)),
        Ttlv::structure(Tag::REQUEST_PAYLOAD, payload),
    ];
    item.extend(extra);
    Ttlv::structure(
        Tag::REQUEST_MESSAGE,
        vec![
            header(major, minor, 1),
            Ttlv::structure(Tag::BATCH_ITEM, item),
        ],
    )
}

fn round_trip(tree: &Ttlv) -> RequestMessage {
    let bytes = binary::encode(tree);
    let m = RequestMessage::decode(&bytes, &Limits::default()).expect("decodes");
    assert_eq!(m.clone().encode(), bytes, "re-encodes byte for byte");
    m
}

#[test]
fn extension_attributes_in_2x_attributes_are_kept() {
    let tree = request(
        2,
        1,
        Operation::CREATE,
        vec![
            Ttlv::new(
                Tag::OBJECT_TYPE,
                Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
            ),
            Ttlv::structure(
                Tag::ATTRIBUTES,
                vec![
                    Ttlv::new(Tag::CRYPTOGRAPHIC_ALGORITHM, Value::Enumeration(3)),
                    Ttlv::new(Tag(0x540001), Value::LongInteger(42)),
                    Ttlv::structure(
                        Tag::ATTRIBUTE,
                        vec![
                            Ttlv::new(Tag::VENDOR_IDENTIFICATION, Value::TextString("acme".into())),
                            Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString("rack".into())),
                            Ttlv::structure(
                                Tag::ATTRIBUTE_VALUE,
                                vec![Ttlv::new(Tag(0x540002), Value::TextString("r1".into()))],
                            ),
                        ],
                    ),
                ],
            ),
        ],
        vec![],
    );
    let m = round_trip(&tree);
    let RequestPayload::Create(c) = &m.batch_items[0].payload else {
        panic!()
    };
    assert_eq!(
        c.attributes.get_std(Tag(0x540001)),
        Some(&Value::LongInteger(42))
    );
    let vendor = AttributeName::Vendor {
        vendor: "acme".into(),
        name: "rack".into(),
    };
    assert!(matches!(
        c.attributes.get(&vendor),
        Some(Value::Structure(_))
    ));
}

#[test]
fn custom_1x_attributes_of_any_type_are_kept() {
    for value in [
        Value::Integer(-5),
        Value::LongInteger(1 << 40),
        Value::Boolean(true),
        Value::ByteString(vec![1, 2, 3].into()),
        Value::DateTime(1_700_000_000),
        Value::Interval(60),
        Value::Enumeration(0x8000_0001),
        Value::Structure(vec![Ttlv::new(
            Tag(0x540003),
            Value::TextString("deep".into()),
        )]),
    ] {
        let attr = Ttlv::structure(
            Tag::ATTRIBUTE,
            vec![
                Ttlv::new(Tag::ATTRIBUTE_NAME, Value::TextString("y-Anything".into())),
                Ttlv::new(Tag::ATTRIBUTE_VALUE, value.clone()),
            ],
        );
        let tree = request(
            1,
            1,
            Operation::ADD_ATTRIBUTE,
            vec![
                Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::TextString("1".into())),
                attr,
            ],
            vec![],
        );
        let m = round_trip(&tree);
        let RequestPayload::AddAttribute(a) = &m.batch_items[0].payload else {
            panic!()
        };
        assert_eq!(a.attribute.0.value, value);
        assert_eq!(
            a.attribute.0.name,
            AttributeName::Vendor {
                vendor: "y".into(),
                name: "Anything".into()
            }
        );
    }
}

#[test]
fn message_extension_is_kept() {
    let ext = Ttlv::structure(
        Tag::MESSAGE_EXTENSION,
        vec![
            Ttlv::new(Tag::VENDOR_IDENTIFICATION, Value::TextString("acme".into())),
            Ttlv::new(Tag::CRITICALITY_INDICATOR, Value::Boolean(false)),
            Ttlv::structure(
                Tag::VENDOR_EXTENSION,
                vec![Ttlv::new(Tag(0x540010), Value::Integer(7))],
            ),
        ],
    );
    let tree = request(1, 4, Operation::DISCOVER_VERSIONS, vec![], vec![ext]);
    let m = round_trip(&tree);
    let e = m.batch_items[0].message_extension.as_ref().expect("kept");
    assert_eq!(e.vendor_identification, "acme");
    assert_eq!(e.vendor_extension.children()[0].tag, Tag(0x540010));
}

#[test]
fn unknown_operation_keeps_its_payload() {
    let tree = request(
        2,
        1,
        Operation(0x8000_0010),
        vec![Ttlv::new(Tag(0x540001), Value::Integer(1))],
        vec![],
    );
    let m = round_trip(&tree);
    assert!(matches!(m.batch_items[0].payload, RequestPayload::Other(_)));
}

#[test]
fn unknown_tag_elsewhere_is_named() {
    let tree = request(
        1,
        1,
        Operation::GET,
        vec![
            Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::TextString("1".into())),
            Ttlv::new(Tag(0x540001), Value::Integer(1)),
        ],
        vec![],
    );
    let e = RequestMessage::from_ttlv(tree).unwrap_err();
    assert_eq!(
        e,
        Error::Unexpected {
            parent: Tag::REQUEST_PAYLOAD,
            tag: Tag(0x540001)
        }
    );
    assert_eq!(
        e.to_string(),
        "Request Payload (0x420079): unexpected 0x540001"
    );

    // an unknown tag in the header
    let mut tree = request(1, 1, Operation::DISCOVER_VERSIONS, vec![], vec![]);
    if let Value::Structure(c) = &mut tree.value {
        if let Value::Structure(h) = &mut c[0].value {
            h.push(Ttlv::new(Tag(0x420999), Value::Integer(1)));
        }
    }
    let e = RequestMessage::from_ttlv(tree).unwrap_err();
    assert_eq!(e.tag(), Some(Tag(0x420999)));
}

#[test]
fn typed_errors_name_structure_and_tag() {
    // Unique Identifier as an Integer
    let tree = request(
        1,
        1,
        Operation::GET,
        vec![Ttlv::new(Tag::UNIQUE_IDENTIFIER, Value::Integer(1))],
        vec![],
    );
    let e = RequestMessage::from_ttlv(tree).unwrap_err();
    assert_eq!(
        e.to_string(),
        "Unique Identifier (0x420094): expected TextString, found Integer"
    );
    // Create without its Object Type
    let tree = request(1, 1, Operation::CREATE, vec![], vec![]);
    let e = RequestMessage::from_ttlv(tree).unwrap_err();
    assert_eq!(
        e,
        Error::Missing {
            parent: Tag::REQUEST_PAYLOAD,
            tag: Tag::OBJECT_TYPE
        }
    );
    // A response where a request is expected
    let tree = Ttlv::structure(Tag::RESPONSE_MESSAGE, vec![]);
    assert!(RequestMessage::from_ttlv(tree).is_err());
    // A message without header
    let tree = Ttlv::structure(Tag::REQUEST_MESSAGE, vec![]);
    assert_eq!(
        RequestMessage::from_ttlv(tree).unwrap_err(),
        Error::Missing {
            parent: Tag::REQUEST_MESSAGE,
            tag: Tag::REQUEST_HEADER
        }
    );
}

#[test]
fn a_length_of_4_gib_allocates_nothing_and_is_reported() {
    // Request Message claiming 0xFFFFFFFF bytes, followed by 8 bytes.
    let bytes = hex::decode("42007801FFFFFFFF0000000000000000").unwrap();
    let e = RequestMessage::decode(&bytes, &Limits::default()).unwrap_err();
    assert!(
        e.to_string()
            .starts_with("at offset 0, tag Request Message (0x420078): truncated"),
        "{e}"
    );
}

/// The fuzzer's seeds that once broke an invariant of the `decode_binary`
/// target (name, bytes); a new one is added here and to fuzz/corpus.
const FUZZ_REGRESSIONS: &[(&str, &[u8])] = &[(
    "regression-attribute-reference-wider-than-a-tag",
    include_bytes!(
        "../../../fuzz/corpus/decode_binary/regression-attribute-reference-wider-than-a-tag.bin"
    ),
)];

/// Whatever typed reading accepts of those seeds, written back, reads the same.
#[test]
fn fuzz_regressions_keep_the_typed_round_trip() {
    for (name, bytes) in FUZZ_REGRESSIONS {
        let tree = binary::decode(bytes, &Limits::default()).expect(name);
        if let Ok(m) = RequestMessage::from_ttlv(tree) {
            let back = RequestMessage::from_ttlv(m.clone().to_ttlv());
            assert_eq!(back.as_ref(), Ok(&m), "{name}");
        }
    }
}
