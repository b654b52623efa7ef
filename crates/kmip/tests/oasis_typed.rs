//! Every message of the OASIS KMIP 1.4 profile test cases (XML encoding) reads
//! into a typed `RequestMessage` / `ResponseMessage` and writes back to the very
//! same TTLV tree; no operation this crate models falls back to an untyped payload.

use kmip::binary::Limits;
use kmip::enums::Operation;
use kmip::messages::{RequestMessage, ResponseMessage};
use kmip::payloads::{RequestPayload, ResponsePayload};
use kmip::{xml, Tag};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const TESTCASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../../shared/kmip-testcases"
);

/// The fixed time `$NOW` stands for.
const NOW: i64 = 1_700_000_000;

fn xml_files() -> Vec<PathBuf> {
    let root = Path::new(TESTCASES).join("1.4");
    assert!(
        root.is_dir(),
        "the OASIS KMIP test cases are missing at {}",
        root.display()
    );
    let mut out = Vec::new();
    for sub in ["mandatory", "optional"] {
        let dir = root.join(sub);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("read {}: {e}", dir.display()))
            .map(|e| e.expect("directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "xml"))
            .collect();
        files.sort();
        out.extend(files);
    }
    out
}

/// Replaces the placeholders by fixed values of their types: `$NOW[±n]` (Date-Time),
/// `$UNIQUE_IDENTIFIER_n` (Text String); all others stand in Byte Strings.
fn substitute(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let len = after
            .find(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
            .unwrap_or(after.len());
        let name = &after[..len];
        let mut consumed = 1 + len;
        if name == "NOW" {
            let tail = &after[len..];
            let mut offset = 0i64;
            if let Some(sign @ ('+' | '-')) = tail.chars().next() {
                let digits = tail[1..]
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(tail.len() - 1);
                let n: i64 = tail[1..1 + digits].parse().expect("offset");
                offset = if sign == '+' { n } else { -n };
                consumed += 1 + digits;
            }
            out.push_str(&kmip::format_date_time(NOW + offset));
        } else if let Some(n) = name.strip_prefix("UNIQUE_IDENTIFIER_") {
            out.push_str("uid-");
            out.push_str(n);
        } else {
            assert!(!name.is_empty(), "a lone `$`");
            out.push_str("00112233445566778899aabbccddeeff");
        }
        rest = &rest[i + consumed..];
    }
    out.push_str(rest);
    out
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
    let files = xml_files();
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
