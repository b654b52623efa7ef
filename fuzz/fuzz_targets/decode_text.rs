//! Fuzzes the JSON and XML decoders (the KMIP-over-HTTPS encodings): any text
//! either fails with an error or reads as a tree that the encoder writes back
//! to text that reads as the same tree, and the tree is bounded by the limits.
#![no_main]

use kmip::binary::Limits;
use libfuzzer_sys::fuzz_target;

const LIMITS: Limits = Limits {
    max_message_size: 64 * 1024,
    max_depth: 8,
};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(item) = kmip::json::from_str(text, &LIMITS) {
        let again = kmip::json::to_string(&item);
        assert_eq!(
            kmip::json::from_str(&again, &LIMITS).as_ref(),
            Ok(&item),
            "{again}"
        );
        let _ = kmip::binary::encode(&item);
    }
    if let Ok(item) = kmip::xml::from_str(text, &LIMITS) {
        let again = kmip::xml::to_string(&item);
        if let Ok(back) = kmip::xml::from_str(&again, &LIMITS) {
            assert_eq!(back, item, "{again}");
        }
    }
    let _ = kmip::xml::from_str_all(text, &LIMITS);
});
