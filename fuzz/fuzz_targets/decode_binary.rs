//! Fuzzes the bounded binary TTLV decoder and what reads its output: any input
//! either fails with an error or decodes to a tree that encodes and decodes
//! back to the same tree; the tree survives the JSON (and, where XML can carry
//! its text, the XML) encoding; typed request and response reading never
//! panics and a typed message written back reads as the same message; the
//! tree printer handles whatever the decoder accepts.
#![no_main]

use kmip::binary::{decode, encode, frame_len, Limits};
use kmip::messages::{RequestMessage, ResponseMessage};
use libfuzzer_sys::fuzz_target;

/// Small limits so that the fuzzer explores the limit checks as well.
const LIMITS: Limits = Limits {
    max_message_size: 64 * 1024,
    max_depth: 8,
};

fuzz_target!(|data: &[u8]| {
    let Ok(item) = decode(data, &LIMITS) else {
        return;
    };
    // A decoded message is exactly one frame.
    assert_eq!(frame_len(data), Some(data.len()));
    // decode -> encode -> decode gives the same tree ...
    let bytes = encode(&item);
    assert_eq!(bytes.len(), data.len(), "re-encoding changed the size");
    let again = decode(&bytes, &LIMITS).expect("a re-encoded message decodes");
    assert_eq!(again, item);
    // ... and the encoding is canonical from then on.
    assert_eq!(encode(&again), bytes);
    let tree = kmip::text::to_tree(&item);
    assert!(tree.lines().count() >= 1);

    // JSON carries every tree; XML 1.0 cannot carry some control characters,
    // so it may refuse, but never return a different tree.
    let json = kmip::json::to_string(&item);
    assert_eq!(
        kmip::json::from_str(&json, &LIMITS).as_ref(),
        Ok(&item),
        "{json}"
    );
    let xml = kmip::xml::to_string(&item);
    if let Ok(back) = kmip::xml::from_str(&xml, &LIMITS) {
        assert_eq!(back, item, "{xml}");
    }

    // Typed reading: a message read and written back reads the same.
    if let Ok(m) = RequestMessage::from_ttlv(item.clone()) {
        let written = m.clone().to_ttlv();
        assert_eq!(RequestMessage::from_ttlv(written).as_ref(), Ok(&m));
    }
    if let Ok(m) = ResponseMessage::from_ttlv(item) {
        let written = m.clone().to_ttlv();
        assert_eq!(ResponseMessage::from_ttlv(written).as_ref(), Ok(&m));
    }
});
