//! The vCenter 7.0.3 ↔ PyKMIP captures of `shared/interop/vsphere-kmip.md`
//! Appendix A: every hex block, by section, the requests typed, and the
//! checks of what vCenter expects back.

use kmip::binary::Limits;
use kmip::enums::{CryptographicAlgorithm, KeyFormatType, ObjectType};
use kmip::messages::RequestMessage;
use kmip::objects::{KeyMaterial, KeyValue, Object};
use kmip::payloads::{GetResponse, RequestPayload};

/// The interoperability notes, `shared/interop/vsphere-kmip.md`.
pub fn interop_doc() -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/interop/vsphere-kmip.md"
    );
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {path}: {e}"))
}

/// (section title, "Request" or "Response", bytes) for every hex block of Appendix A.
pub fn captures() -> Vec<(String, &'static str, Vec<u8>)> {
    let doc = interop_doc();
    let appendix = &doc[doc.find("## Appendix A").expect("Appendix A")..];
    let end = appendix.find("## Appendix B").unwrap_or(appendix.len());
    let mut out = Vec::new();
    let (mut title, mut kind) = (String::new(), "Request");
    let mut lines = appendix[..end].lines();
    while let Some(line) = lines.next() {
        if let Some(t) = line.strip_prefix("### ") {
            title = t.to_string();
        } else if line.starts_with("Request:") {
            kind = "Request";
        } else if line.ends_with("response:") {
            kind = "Response";
        } else if line.starts_with("```") {
            let body = lines.next().unwrap_or_default().trim();
            lines.next(); // the closing fence
            if !body.is_empty() && body.bytes().all(|b| b.is_ascii_hexdigit()) {
                out.push((title.clone(), kind, hex::decode(body).expect("hex")));
            }
        }
    }
    out
}

/// The bytes of the `kind` ("Request" or "Response") of the section whose
/// title starts with `title` ("A4.").
pub fn capture(title: &str, kind: &str) -> Vec<u8> {
    captures()
        .into_iter()
        .find(|(t, k, _)| t.starts_with(title) && *k == kind)
        .unwrap_or_else(|| panic!("no {kind} in {title}"))
        .2
}

/// The request bytes of the section whose title starts with `title` ("A4.").
pub fn request_bytes(title: &str) -> Vec<u8> {
    capture(title, "Request")
}

/// The typed request of section `title`.
pub fn request(title: &str) -> RequestMessage {
    RequestMessage::decode(&request_bytes(title), &Limits::default()).expect("decodes")
}

/// The Unique Identifier slot of a request payload that vCenter sends with one.
fn uid_slot(payload: &mut RequestPayload) -> &mut Option<String> {
    match payload {
        RequestPayload::GetAttributes(p) => &mut p.unique_identifier,
        RequestPayload::AddAttribute(p) => &mut p.unique_identifier,
        RequestPayload::Get(p) => &mut p.unique_identifier,
        RequestPayload::Activate(p) => &mut p.unique_identifier,
        other => panic!("unexpected payload {other:?}"),
    }
}

/// Puts the server's identifiers where vCenter named PyKMIP's: each Unique
/// Identifier "1" or "2" becomes `map("1")` / `map("2")`.
pub fn map_uids(mut m: RequestMessage, map: &dyn Fn(&str) -> String) -> RequestMessage {
    for item in &mut m.batch_items {
        if let Some(uid) = uid_slot(&mut item.payload).as_mut() {
            *uid = map(uid);
        }
    }
    m
}

/// Sets the Unique Identifier of every batch item of the request to `uid`
/// (also where vCenter sent none).
pub fn with_uid(mut m: RequestMessage, uid: &str) -> RequestMessage {
    for item in &mut m.batch_items {
        *uid_slot(&mut item.payload) = Some(uid.to_string());
    }
    m
}

/// The key material of a Get response as vCenter asks for it (A9): a
/// symmetric key in Raw format, AES, 256 bits, 32 bytes in the clear. `what`
/// names the response in failure messages.
pub fn raw_aes_256_key<'a>(g: &'a GetResponse, what: &str) -> &'a [u8] {
    assert_eq!(g.object_type, ObjectType::SYMMETRIC_KEY, "{what}");
    let Object::SymmetricKey(k) = &g.object else {
        panic!("{what}: {:?}", g.object)
    };
    assert_eq!(k.key_block.key_format_type, KeyFormatType::RAW, "{what}");
    assert_eq!(
        k.key_block.cryptographic_algorithm,
        Some(CryptographicAlgorithm::AES),
        "{what}"
    );
    assert_eq!(k.key_block.cryptographic_length, Some(256), "{what}");
    let Some(KeyValue::Plain(p)) = &k.key_block.key_value else {
        panic!("{what}")
    };
    let KeyMaterial::Bytes(b) = &p.key_material else {
        panic!("{what}")
    };
    assert_eq!(b.len(), 32, "{what}");
    b.as_slice()
}
