//! Fuzzes the bounded binary TTLV decoder: any input either fails with an error
//! or decodes to a tree that encodes and decodes back to the same tree, and the
//! tree printer handles whatever the decoder accepts.
#![no_main]

use kmip::binary::{decode, encode, frame_len, Limits};
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
});
