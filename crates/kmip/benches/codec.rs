//! The hot path of a vCenter key fetch: decode its Get request (binary TTLV to
//! a typed message) and encode the Get response (typed message to bytes).
//! Target: both together under 2 µs on a 2-core machine.

use criterion::{criterion_group, criterion_main, Criterion};
use kmip::binary::Limits;
use kmip::enums::*;
use kmip::messages::*;
use kmip::objects::{KeyBlock, KeyMaterial, KeyValue, Object, PlainKeyValue, SymmetricKey};
use kmip::payloads::{GetResponse, RequestPayload};
use kmip::typed::DateTime;
use kmip::Bytes;
use std::hint::black_box;

/// vCenter 7.0.3's Get request (shared/interop/vsphere-kmip.md, A9).
const GET_REQUEST: &str = "42007801000000804200770100000038420069010000002042006a0200000004000000010000000042006b0200000004000000010000000042000d0200000004000000010000000042000f010000003842005c05000000040000000a000000004200930800000008514c4b4301000000420079010000001042009407000000013200000000000000";

fn response(uid: String, id: Option<Bytes>, key: &[u8]) -> ResponseMessage {
    let key_block = KeyBlock {
        key_format_type: KeyFormatType::RAW,
        key_value: Some(KeyValue::Plain(PlainKeyValue {
            key_material: KeyMaterial::Bytes(Bytes::from(key)),
            attributes: Default::default(),
        })),
        cryptographic_algorithm: Some(CryptographicAlgorithm::AES),
        cryptographic_length: Some(256),
        ..Default::default()
    };
    ResponseMessage {
        header: ResponseHeader {
            protocol_version: ProtocolVersion::new(1, 1),
            time_stamp: DateTime(0x67ee6148),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![ResponseBatchItem::success(
            Operation::GET,
            id,
            GetResponse {
                object_type: ObjectType::SYMMETRIC_KEY,
                unique_identifier: uid,
                object: Object::SymmetricKey(SymmetricKey { key_block }),
            }
            .into(),
        )],
    }
}

fn bench(c: &mut Criterion) {
    let request = hex::decode(GET_REQUEST).expect("hex");
    let limits = Limits::default();
    let key = [0x1cu8; 32];

    c.bench_function("decode vCenter Get request", |b| {
        b.iter(|| RequestMessage::decode(black_box(&request), &limits).expect("decodes"))
    });
    c.bench_function("encode Get response", |b| {
        b.iter(|| {
            response(
                "2".into(),
                Some(Bytes::from(&b"QLKC\x01\0\0\0"[..])),
                black_box(&key),
            )
            .encode()
        })
    });
    c.bench_function("decode Get request + encode Get response", |b| {
        b.iter(|| {
            let m = RequestMessage::decode(black_box(&request), &limits).expect("decodes");
            let item = m.batch_items.into_iter().next().expect("one item");
            let RequestPayload::Get(get) = item.payload else {
                panic!("not a Get")
            };
            let uid = get.unique_identifier.unwrap_or_default();
            response(uid, item.unique_batch_item_id, black_box(&key)).encode()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
