//! Every message of the OASIS KMIP 1.4 profile test cases (XML encoding) survives
//! XML → TTLV → binary → TTLV → XML → TTLV and TTLV → JSON → TTLV unchanged, and
//! reads into a typed `RequestMessage` / `ResponseMessage` that writes back to the
//! very same tree, with no modelled operation left as an untyped payload.

use kmip::binary::{self, Limits};
use kmip::enums::Operation;
use kmip::messages::{RequestMessage, ResponseMessage};
use kmip::payloads::{RequestPayload, ResponsePayload};
use kmip::{json, xml, Tag, Ttlv, Value};
use skms_test_support::oasis::{self, strip_comments, NOW, TESTCASES};
use std::collections::BTreeMap;

/// The placeholders replaced with fixed values, `$NOW` being [`NOW`].
fn substitute(text: &str) -> String {
    oasis::substitute(text, NOW)
}

fn count(text: &str, needle: &str) -> usize {
    text.matches(needle).count()
}

#[test]
fn placeholders_are_substituted_with_typed_values() {
    let s = substitute(
        r#"<A type="DateTime" value="$NOW"/><B type="DateTime" value="$NOW-3600"/><C type="TextString" value="$UNIQUE_IDENTIFIER_12"/><D type="ByteString" value="$KEY_MATERIAL_0"/> $NOW+3600"#,
    );
    assert_eq!(
        s,
        r#"<A type="DateTime" value="2023-11-14T22:13:20+00:00"/><B type="DateTime" value="2023-11-14T21:13:20+00:00"/><C type="TextString" value="uid-12"/><D type="ByteString" value="00112233445566778899aabbccddeeff"/> 2023-11-14T23:13:20+00:00"#
    );
}

#[test]
fn every_oasis_message_round_trips_through_every_encoding() {
    let limits = Limits::default();
    let files = oasis::all_files();
    assert!(!files.is_empty(), "no test-case files under {TESTCASES}");
    let mut messages = 0;
    for file in &files {
        let name = file.display().to_string();
        let raw = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Unsubstituted, the placeholders are clear errors, never panics.
        if raw.contains("value=\"$NOW\"") {
            let err = xml::from_str_all(&raw, &limits).unwrap_err();
            assert!(err.to_string().contains("placeholder"), "{name}: {err}");
        }
        let text = substitute(&raw);
        let items = xml::from_str_all(&text, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
        // Every message element of the file was read.
        let live = strip_comments(&raw);
        let expected = count(&live, "<RequestMessage>") + count(&live, "<ResponseMessage>");
        assert_eq!(items.len(), expected, "{name}");
        for (i, item) in items.iter().enumerate() {
            let at = format!("{name}, message {i}");
            assert!(
                item.tag == Tag::REQUEST_MESSAGE || item.tag == Tag::RESPONSE_MESSAGE,
                "{at}: top-level {:?}",
                item.tag
            );
            // XML → TTLV → binary → TTLV
            let bytes = binary::encode(item);
            let back = binary::decode(&bytes, &limits).unwrap_or_else(|e| panic!("{at}: {e}"));
            assert_eq!(&back, item, "{at}: binary round trip");
            // → XML → TTLV
            let x = xml::to_string(&back);
            let again = xml::from_str(&x, &limits).unwrap_or_else(|e| panic!("{at}: {e}\n{x}"));
            assert_eq!(&again, item, "{at}: XML round trip\n{x}");
            // Every tag of the test cases is known: no element falls back to <TTLV>.
            assert!(!x.contains("<TTLV"), "{at}: unnamed tag in\n{x}");
            // → JSON → TTLV
            let j = json::to_string(item);
            let again = json::from_str(&j, &limits).unwrap_or_else(|e| panic!("{at}: {e}\n{j}"));
            assert_eq!(&again, item, "{at}: JSON round trip\n{j}");
            messages += 1;
        }
    }
    println!("{} files, {messages} messages", files.len());
    assert!(files.len() >= 75, "only {} test-case files", files.len());
    assert!(messages > 0);
}

/// The MSGENC-XML and MSGENC-JSON cases describe the encodings themselves: check
/// what they say item by item, not only that they round-trip.
#[test]
fn message_encoding_test_cases_read_as_the_specification_describes() {
    let limits = Limits::default();
    let dir = oasis::dir().join("mandatory");
    for case in ["MSGENC-XML-M-1-14.xml", "MSGENC-JSON-M-1-14.xml"] {
        let raw = std::fs::read_to_string(dir.join(case)).expect(case);
        let items = xml::from_str_all(&substitute(&raw), &limits).expect(case);
        assert_eq!(items.len(), 4, "{case}");
        let request = &items[0];
        let header = request.child(Tag::REQUEST_HEADER).expect("header");
        let version = header.child(Tag::PROTOCOL_VERSION).expect("version");
        assert_eq!(
            version.child(Tag::PROTOCOL_VERSION_MINOR).unwrap().value,
            Value::Integer(4)
        );
        assert_eq!(
            header.child(Tag::MAXIMUM_RESPONSE_SIZE).unwrap().value,
            Value::Integer(256)
        );
        let batch = request.child(Tag::BATCH_ITEM).expect("batch item");
        assert_eq!(
            batch.child(Tag::OPERATION).unwrap().value,
            Value::Enumeration(0x18)
        ); // Query
        let payload = batch.child(Tag::REQUEST_PAYLOAD).expect("payload");
        let functions: Vec<&Value> = payload.children().iter().map(|c| &c.value).collect();
        // Query Operations, Query Objects
        assert_eq!(functions, [&Value::Enumeration(1), &Value::Enumeration(2)]);

        let response = &items[1];
        let header = response.child(Tag::RESPONSE_HEADER).expect("header");
        assert_eq!(
            header.child(Tag::TIME_STAMP).unwrap().value,
            Value::DateTime(NOW)
        );
        let batch = response.child(Tag::BATCH_ITEM).expect("batch item");
        assert_eq!(
            batch.child(Tag::RESULT_STATUS).unwrap().value,
            Value::Enumeration(1)
        ); // Operation Failed
        assert_eq!(
            batch.child(Tag::RESULT_REASON).unwrap().value,
            Value::Enumeration(2)
        ); // Response Too Large
        assert_eq!(
            batch.child(Tag::RESULT_MESSAGE).unwrap().value,
            Value::TextString("TOO_LARGE".into())
        );

        let ok = &items[3];
        let payload = ok
            .child(Tag::BATCH_ITEM)
            .and_then(|b| b.child(Tag::RESPONSE_PAYLOAD))
            .expect("payload");
        let operations = payload
            .children()
            .iter()
            .filter(|c| c.tag == Tag::OPERATION)
            .count();
        let objects = payload
            .children()
            .iter()
            .filter(|c| c.tag == Tag::OBJECT_TYPE)
            .count();
        assert_eq!((operations, objects), (39, 9), "{case}");

        // The JSON form of the same messages, as the JSON profile writes them.
        let j = json::to_string(&items[1]);
        assert!(
            j.contains(
                r#"{"tag": "ResultStatus", "type": "Enumeration", "value": "OperationFailed"}"#
            ),
            "{j}"
        );
        assert!(
            j.contains(
                r#"{"tag": "TimeStamp", "type": "DateTime", "value": "2023-11-14T22:13:20+00:00"}"#
            ),
            "{j}"
        );
        assert!(
            j.contains(r#"{"tag": "ProtocolVersionMajor", "type": "Integer", "value": 1}"#),
            "{j}"
        );
        for item in &items {
            assert_eq!(
                &json::from_str(&json::to_string(item), &limits).unwrap(),
                item
            );
        }
    }
}

/// The XML writer reproduces the test cases' own text, line for line, except where
/// the files use a spelling the writer normalizes (mask bit order, upper-case hex,
/// an empty structure on two lines).
#[test]
fn xml_output_matches_the_test_case_text() {
    let limits = Limits::default();
    let files = oasis::all_files();
    let mut compared = 0;
    for file in &files {
        let text = substitute(&std::fs::read_to_string(file).unwrap());
        let items: Vec<Ttlv> = xml::from_str_all(&text, &limits).unwrap();
        // The written lines of every message, without indentation.
        let written: Vec<String> = items
            .iter()
            .flat_map(|i| {
                xml::to_string(i)
                    .lines()
                    .map(|l| l.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        // The file's element lines, without indentation, comments or the <KMIP> root.
        let original: Vec<String> = strip_comments(&text)
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with('<') && !l.contains("KMIP>"))
            .map(str::to_string)
            .collect();
        // An empty structure written as `<X>` and `</X>` on two lines is `<X/>`.
        let mut original_joined: Vec<String> = Vec::with_capacity(original.len());
        for line in original {
            let empty_end = line.strip_prefix("</").and_then(|n| n.strip_suffix('>'));
            match (empty_end, original_joined.last_mut()) {
                (Some(n), Some(prev)) if *prev == format!("<{n}>") => *prev = format!("<{n}/>"),
                _ => original_joined.push(line),
            }
        }
        let original = original_joined;
        assert_eq!(
            original.len(),
            written.len(),
            "{}: element count",
            file.display()
        );
        for (o, w) in original.iter().zip(&written) {
            // Byte strings are written in lower case; a few files use upper case.
            if o != w && !(o.contains("type=\"ByteString\"") && o.eq_ignore_ascii_case(w)) {
                // Masks are written in bit order ("Encrypt Decrypt" for "Decrypt Encrypt").
                let mask_reordered = o.contains("type=\"Integer\"") && {
                    let mut a: Vec<&str> = o.split(['"', ' ']).collect();
                    let mut b: Vec<&str> = w.split(['"', ' ']).collect();
                    a.sort_unstable();
                    b.sort_unstable();
                    a == b
                };
                assert!(
                    mask_reordered,
                    "{}:\n  file:    {o}\n  written: {w}",
                    file.display()
                );
            }
        }
        compared += 1;
    }
    assert_eq!(compared, files.len());
}

/// The operations this crate gives typed payloads: none of them may stay `Other`.
fn modelled(op: Operation) -> bool {
    RequestPayload::read(
        op,
        kmip::Ttlv::structure(Tag::REQUEST_PAYLOAD, vec![]),
        &Default::default(),
    )
    .map(|p| p.operation().is_some())
    .unwrap_or(true)
}

#[test]
fn every_oasis_message_reads_typed_and_writes_back_exactly() {
    let files = oasis::all_files();
    assert!(
        files.len() >= 70,
        "found only {} test case files",
        files.len()
    );
    let limits = Limits::default();
    let (mut requests, mut responses) = (0usize, 0usize);
    let mut typed: BTreeMap<String, usize> = BTreeMap::new();
    let mut untyped: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = substitute(&std::fs::read_to_string(path).expect("read test case"));
        let messages =
            xml::from_str_all(&text, &limits).unwrap_or_else(|e| panic!("{name}: XML: {e}"));
        assert!(!messages.is_empty(), "{name}: no messages");
        for (i, tree) in messages.into_iter().enumerate() {
            let tag = tree.tag;
            let mut ops: Vec<(Operation, bool)> = Vec::new();
            let back = match tag {
                Tag::REQUEST_MESSAGE => {
                    requests += 1;
                    RequestMessage::from_ttlv(tree.clone()).map(|m| {
                        for b in &m.batch_items {
                            ops.push((b.operation, matches!(b.payload, RequestPayload::Other(_))));
                        }
                        m.to_ttlv()
                    })
                }
                Tag::RESPONSE_MESSAGE => {
                    responses += 1;
                    ResponseMessage::from_ttlv(tree.clone()).map(|m| {
                        for b in &m.batch_items {
                            if let (Some(op), Some(p)) = (b.operation, &b.payload) {
                                ops.push((op, matches!(p, ResponsePayload::Other(_))));
                            }
                        }
                        m.to_ttlv()
                    })
                }
                other => panic!("{name} message {i}: top-level tag {other:?}"),
            };
            match back {
                Err(e) => failures.push(format!(
                    "{name} message {i} ({tag:?}): typed read failed: {e}"
                )),
                Ok(t) if t != tree => failures.push(format!(
                    "{name} message {i} ({tag:?}): typed round trip differs:\n{}\n---\n{}",
                    xml::to_string(&tree),
                    xml::to_string(&t)
                )),
                Ok(_) => {}
            }
            let kind = if tag == Tag::REQUEST_MESSAGE {
                "request"
            } else {
                "response"
            };
            for (op, other) in ops {
                let key = format!("{op:?} {kind}");
                if other {
                    *untyped.entry(key).or_default() += 1;
                    if modelled(op) {
                        failures.push(format!("{name} message {i}: {op:?} {kind} stayed untyped"));
                    }
                } else {
                    *typed.entry(key).or_default() += 1;
                }
            }
        }
    }
    println!(
        "{} files, {requests} requests, {responses} responses",
        files.len()
    );
    println!("typed payloads: {typed:?}");
    println!("payloads left untyped (Other): {untyped:?}");
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        requests >= 400 && requests == responses,
        "{requests} requests, {responses} responses"
    );
}
