//! Check (KMIP 1.4 section 4.10, 2.1 section 6.1.7) and the dates, links,
//! names, usage limits and errors of Re-key (1.4 sections 4.4 and 11.5, 2.1
//! section 6.1.46), each in a 1.4 and a 2.1 request, through `handle_message`
//! and the binary encoding both ways.

mod common;

use kmip::attributes::{Attribute, AttributeName, Attributes, InlineAttributes};
use kmip::enums::*;
use kmip::messages::*;
use kmip::objects::{Object, OpaqueDataType, OpaqueObject};
use kmip::payloads::*;
use kmip::typed::Interval;
use kmip::{Bytes, Tag, Ttlv, Value};
use skms_core::ids::ObjectId;
use skms_core::ops::Caller;
use skms_core::store::Store;
use skms_test_support::requests::{aes_attributes, message as msg};

/// The time keys are created at.
const T0: i64 = 1_700_000_000;
/// The versions every case runs in.
const VERSIONS: [(i32, i32); 2] = [(1, 4), (2, 1)];

/// Usage mask bits (KMIP 1.4 section 9.1.3.3.1).
const SIGN: u32 = 0x1;
const ENCRYPT: u32 = 0x4;
const DECRYPT: u32 = 0x8;

/// Serves a batch as binary TTLV and reads the binary response back (so every
/// response is one the request's version encodes and decodes).
fn batch(
    server: &common::Server,
    who: &Caller,
    v: (i32, i32),
    payloads: Vec<RequestPayload>,
    continue_on_error: bool,
) -> Vec<ResponseBatchItem> {
    let mut m = msg(v, payloads);
    if continue_on_error {
        m.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::CONTINUE);
    }
    let resp = server.call_bytes(who, &m.encode());
    assert_eq!(resp.header.protocol_version, ProtocolVersion::new(v.0, v.1));
    resp.batch_items
}

fn one(
    server: &common::Server,
    who: &Caller,
    v: (i32, i32),
    p: RequestPayload,
) -> ResponseBatchItem {
    batch(server, who, v, vec![p], false).remove(0)
}

fn date(tag: Tag, d: i64) -> Attribute {
    Attribute::new(tag, Value::DateTime(d))
}

fn name(n: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        Value::Structure(vec![
            Ttlv::new(Tag::NAME_VALUE, Value::TextString(n.into())),
            Ttlv::new(
                Tag::NAME_TYPE,
                Value::Enumeration(NameType::UNINTERPRETED_TEXT_STRING.0),
            ),
        ]),
    )
}

fn usage_limits(total: i64, count: i64) -> Value {
    Value::Structure(vec![
        Ttlv::new(Tag::USAGE_LIMITS_TOTAL, Value::LongInteger(total)),
        Ttlv::new(Tag::USAGE_LIMITS_COUNT, Value::LongInteger(count)),
        Ttlv::new(
            Tag::USAGE_LIMITS_UNIT,
            Value::Enumeration(UsageLimitsUnit::OBJECT.0),
        ),
    ])
}

/// An AES-256 key for Encrypt and Decrypt with `extra` attributes.
fn create_request(extra: Vec<Attribute>) -> RequestPayload {
    let mut items = aes_attributes(256);
    items.extend(extra);
    CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(items),
        protection_storage_masks: None,
    }
    .into()
}

fn create(server: &common::Server, who: &Caller, v: (i32, i32), extra: Vec<Attribute>) -> String {
    let r = one(server, who, v, create_request(extra));
    let Some(ResponsePayload::Create(c)) = r.payload else {
        panic!("{r:?}")
    };
    c.unique_identifier
}

fn register_opaque(server: &common::Server, who: &Caller, v: (i32, i32)) -> String {
    let r = one(
        server,
        who,
        v,
        RegisterRequest {
            object_type: ObjectType::OPAQUE_OBJECT,
            attributes: Attributes::default(),
            object: Object::OpaqueObject(OpaqueObject {
                opaque_data_type: OpaqueDataType(0x8000_0001),
                opaque_data_value: Bytes::from(&b"opaque"[..]),
            }),
            protection_storage_masks: None,
        }
        .into(),
    );
    let Some(ResponsePayload::Register(c)) = r.payload else {
        panic!("{r:?}")
    };
    c.unique_identifier
}

/// Every attribute of `uid`, as a Get Attributes of version `v` answers.
fn attributes(server: &common::Server, who: &Caller, v: (i32, i32), uid: &str) -> Attributes {
    let r = one(
        server,
        who,
        v,
        GetAttributesRequest {
            unique_identifier: Some(uid.into()),
            attribute_reference: vec![],
        }
        .into(),
    );
    let Some(ResponsePayload::GetAttributes(g)) = r.payload else {
        panic!("{r:?}")
    };
    let InlineAttributes(Some(a)) = g.attributes else {
        panic!("no attributes")
    };
    a
}

fn date_of(a: &Attributes, tag: Tag) -> Option<i64> {
    match a.get_std(tag)? {
        Value::DateTime(d) => Some(*d),
        other => panic!("{tag:?} is {other:?}"),
    }
}

/// The (Link Type, Linked Object Identifier) of every Link.
fn links(a: &Attributes) -> Vec<(LinkType, String)> {
    a.get_all(&AttributeName::Standard(Tag::LINK))
        .map(|l| {
            let Value::Structure(c) = &l.value else {
                panic!("{l:?}")
            };
            let kind = c.iter().find_map(|f| match f.value {
                Value::Enumeration(e) if f.tag == Tag::LINK_TYPE => Some(LinkType(e)),
                _ => None,
            });
            let to = c.iter().find_map(|f| match &f.value {
                Value::TextString(s) if f.tag == Tag::LINKED_OBJECT_IDENTIFIER => Some(s.clone()),
                _ => None,
            });
            (kind.unwrap(), to.unwrap())
        })
        .collect()
}

fn name_values(a: &Attributes) -> Vec<String> {
    a.get_all(&AttributeName::Standard(Tag::NAME))
        .filter_map(|n| match &n.value {
            Value::Structure(c) => c.iter().find_map(|f| match &f.value {
                Value::TextString(s) if f.tag == Tag::NAME_VALUE => Some(s.clone()),
                _ => None,
            }),
            _ => None,
        })
        .collect()
}

fn usage_count(a: &Attributes) -> (i64, i64) {
    let Some(Value::Structure(c)) = a.get_std(Tag::USAGE_LIMITS) else {
        panic!("no Usage Limits")
    };
    let get = |t: Tag| {
        c.iter()
            .find_map(|f| match f.value {
                Value::LongInteger(n) if f.tag == t => Some(n),
                _ => None,
            })
            .unwrap()
    };
    (get(Tag::USAGE_LIMITS_TOTAL), get(Tag::USAGE_LIMITS_COUNT))
}

/// Sets an attribute only the server sets (Lease Time; a spent Usage Limits
/// Count) straight in the store, as Obtain Lease or Get Usage Allocation would.
fn server_sets(server: &common::Server, who: &Caller, uid: &str, a: Attribute) {
    let id: ObjectId = uid.parse().unwrap();
    let mut obj = server.store.object(who.account.id, id).unwrap().unwrap();
    obj.attributes.set(a);
    server.store.update_object(&obj).unwrap();
}

fn check(
    uid: Option<&str>,
    count: Option<i64>,
    mask: Option<u32>,
    lease: Option<u32>,
) -> RequestPayload {
    CheckRequest {
        unique_identifier: uid.map(str::to_string),
        usage_limits_count: count,
        cryptographic_usage_mask: mask.map(CryptographicUsageMask),
        lease_time: lease.map(Interval),
    }
    .into()
}

fn check_response(r: &ResponseBatchItem) -> CheckResponse {
    match &r.payload {
        Some(ResponsePayload::Check(c)) => (**c).clone(),
        _ => panic!("no Check payload: {r:?}"),
    }
}

#[test]
fn check_answers_the_identifier_or_only_the_fields_that_failed() {
    let mut server = common::Server::new(T0);
    let me = server.tenant("alpha");
    for v in VERSIONS {
        let v2 = v.0 >= 2;
        let uid = create(
            &server,
            &me,
            v,
            vec![Attribute::new(Tag::USAGE_LIMITS, usage_limits(100, 100))],
        );
        server_sets(
            &server,
            &me,
            &uid,
            Attribute::new(Tag::LEASE_TIME, Value::Interval(3600)),
        );
        let u = Some(uid.as_str());

        // Allowed: the identifier, nothing else.
        for p in [
            check(u, None, None, None),
            check(u, Some(100), Some(ENCRYPT), Some(3600)),
            check(u, Some(1), Some(ENCRYPT | DECRYPT), Some(60)),
        ] {
            let r = one(&server, &me, v, p);
            assert_eq!(r.result_status, ResultStatus::SUCCESS, "{v:?} {r:?}");
            assert_eq!(
                check_response(&r),
                CheckResponse {
                    unique_identifier: Some(uid.clone()),
                    ..Default::default()
                },
                "{v:?}"
            );
        }

        // Each field refused alone: only that field comes back, no identifier.
        let cases = [
            (
                check(u, Some(101), Some(ENCRYPT), Some(60)),
                CheckResponse {
                    usage_limits_count: Some(101),
                    ..Default::default()
                },
                if v2 {
                    ResultReason::USAGE_LIMIT_EXCEEDED
                } else {
                    ResultReason::PERMISSION_DENIED
                },
            ),
            (
                check(u, Some(1), Some(ENCRYPT | SIGN), Some(60)),
                CheckResponse {
                    cryptographic_usage_mask: Some(CryptographicUsageMask(ENCRYPT | SIGN)),
                    ..Default::default()
                },
                if v2 {
                    ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK
                } else {
                    ResultReason::PERMISSION_DENIED
                },
            ),
            (
                check(u, Some(1), Some(ENCRYPT), Some(3601)),
                CheckResponse {
                    lease_time: Some(Interval(3601)),
                    ..Default::default()
                },
                ResultReason::PERMISSION_DENIED,
            ),
            // All three refused: all three come back; the reason is the first's.
            (
                check(u, Some(500), Some(SIGN), Some(7200)),
                CheckResponse {
                    unique_identifier: None,
                    usage_limits_count: Some(500),
                    cryptographic_usage_mask: Some(CryptographicUsageMask(SIGN)),
                    lease_time: Some(Interval(7200)),
                },
                if v2 {
                    ResultReason::USAGE_LIMIT_EXCEEDED
                } else {
                    ResultReason::PERMISSION_DENIED
                },
            ),
        ];
        for (p, want, reason) in cases {
            let r = one(&server, &me, v, p);
            assert_eq!(r.result_status, ResultStatus::OPERATION_FAILED, "{v:?}");
            assert_eq!(r.result_reason, Some(reason), "{v:?} {r:?}");
            assert_eq!(check_response(&r), want, "{v:?}");
        }

        // A key without Usage Limits or Lease Time has no bound on them; one
        // without a Cryptographic Usage Mask allows no usage.
        let plain = create(&server, &me, v, vec![]);
        let r = one(
            &server,
            &me,
            v,
            check(Some(&plain), Some(1 << 40), None, Some(u32::MAX)),
        );
        assert_eq!(r.result_status, ResultStatus::SUCCESS, "{v:?} {r:?}");
        let bare = one(
            &server,
            &me,
            v,
            CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: Attributes::new(vec![
                    Attribute::new(
                        Tag::CRYPTOGRAPHIC_ALGORITHM,
                        Value::Enumeration(CryptographicAlgorithm::AES.0),
                    ),
                    Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(128)),
                ]),
                protection_storage_masks: None,
            }
            .into(),
        );
        let Some(ResponsePayload::Create(bare)) = bare.payload else {
            panic!()
        };
        let r = one(
            &server,
            &me,
            v,
            check(Some(&bare.unique_identifier), None, Some(ENCRYPT), None),
        );
        assert_eq!(r.result_status, ResultStatus::OPERATION_FAILED, "{v:?}");
        assert_eq!(
            check_response(&r).cryptographic_usage_mask,
            Some(CryptographicUsageMask(ENCRYPT))
        );

        // The ID Placeholder: Check takes it when it has no identifier…
        let items = batch(
            &server,
            &me,
            v,
            vec![
                create_request(vec![]),
                check(None, None, Some(ENCRYPT), None),
                GetRequest::default().into(),
            ],
            false,
        );
        assert!(
            items
                .iter()
                .all(|i| i.result_status == ResultStatus::SUCCESS),
            "{v:?} {items:?}"
        );
        let Some(ResponsePayload::Create(c)) = &items[0].payload else {
            panic!()
        };
        assert_eq!(
            check_response(&items[1]).unique_identifier.as_deref(),
            Some(c.unique_identifier.as_str())
        );
        // …and empties it when the check fails: the Get after it has no object.
        let items = batch(
            &server,
            &me,
            v,
            vec![
                create_request(vec![]),
                check(None, None, Some(SIGN), None),
                GetRequest::default().into(),
            ],
            true,
        );
        assert_eq!(items.len(), 3);
        assert_eq!(items[1].result_status, ResultStatus::OPERATION_FAILED);
        assert_eq!(items[2].result_status, ResultStatus::OPERATION_FAILED);
        assert_eq!(items[2].result_reason, Some(ResultReason::INVALID_MESSAGE));
        assert!(items[2].payload.is_none());

        // An Opaque Object: 1.x applies these attributes to cryptographic
        // objects only (Illegal Operation); 2.x to all objects.
        let opaque = register_opaque(&server, &me, v);
        let r = one(&server, &me, v, check(Some(&opaque), None, None, None));
        assert_eq!(r.result_status, ResultStatus::SUCCESS, "{v:?} {r:?}");
        let r = one(
            &server,
            &me,
            v,
            check(Some(&opaque), None, Some(ENCRYPT), None),
        );
        assert_eq!(r.result_status, ResultStatus::OPERATION_FAILED);
        if v2 {
            assert_eq!(
                r.result_reason,
                Some(ResultReason::INCOMPATIBLE_CRYPTOGRAPHIC_USAGE_MASK)
            );
        } else {
            assert_eq!(r.result_reason, Some(ResultReason::ILLEGAL_OPERATION));
            assert!(r.payload.is_none());
        }
        server.now += 1;
    }
}

#[test]
fn check_on_another_accounts_object_is_answered_like_a_missing_one() {
    let server = common::Server::new(T0);
    let a = server.tenant("alpha");
    let b = server.tenant("beta");
    for v in VERSIONS {
        let theirs = create(&server, &b, v, vec![]);
        let missing = uuid::Uuid::new_v4().to_string();
        for (mask, count) in [(None, None), (Some(ENCRYPT), Some(1)), (Some(SIGN), None)] {
            let r1 = one(&server, &a, v, check(Some(&theirs), count, mask, None));
            let r2 = one(&server, &a, v, check(Some(&missing), count, mask, None));
            let want = if v.0 >= 2 {
                ResultReason::OBJECT_NOT_FOUND
            } else {
                ResultReason::ITEM_NOT_FOUND
            };
            assert_eq!(r1.result_reason, Some(want), "{v:?}");
            assert!(r1.payload.is_none(), "{v:?} {r1:?}");
            assert_eq!(r1, r2, "{v:?}");
        }
        // The owner can.
        let r = one(
            &server,
            &b,
            v,
            check(Some(&theirs), None, Some(ENCRYPT), None),
        );
        assert_eq!(r.result_status, ResultStatus::SUCCESS);
    }
}

#[test]
fn query_lists_check() {
    let server = common::Server::new(T0);
    let me = server.tenant("alpha");
    for v in VERSIONS {
        let r = one(
            &server,
            &me,
            v,
            QueryRequest {
                query_function: vec![QueryFunction::QUERY_OPERATIONS],
            }
            .into(),
        );
        let Some(ResponsePayload::Query(q)) = r.payload else {
            panic!("{r:?}")
        };
        assert!(q.operation.contains(&Operation::CHECK), "{v:?}");
        assert!(q.operation.contains(&Operation::RE_KEY), "{v:?}");
    }
}

/// Dates of the existing keys: Activation in the past, the others after the re-key.
const AT1: i64 = T0 + 500;
const CT1: i64 = T0 + 600;
const TT1: i64 = T0 + 5_000;
const DT1: i64 = T0 + 10_000;
/// When the re-key happens.
const T1: i64 = T0 + 1_000;

fn dated_key(server: &common::Server, me: &Caller, v: (i32, i32), n: &str) -> String {
    create(
        server,
        me,
        v,
        vec![
            name(n),
            date(Tag::ACTIVATION_DATE, AT1),
            date(Tag::PROCESS_START_DATE, CT1),
            date(Tag::PROTECT_STOP_DATE, TT1),
            date(Tag::DEACTIVATION_DATE, DT1),
            Attribute::new(Tag::USAGE_LIMITS, usage_limits(100, 100)),
            Attribute::new(Tag::SENSITIVE, Value::Boolean(true)),
        ],
    )
}

fn rekey(
    server: &common::Server,
    me: &Caller,
    v: (i32, i32),
    uid: &str,
    offset: Option<u32>,
) -> String {
    let r = one(
        server,
        me,
        v,
        ReKeyRequest {
            unique_identifier: Some(uid.into()),
            offset: offset.map(Interval),
            ..Default::default()
        }
        .into(),
    );
    let Some(ResponsePayload::ReKey(k)) = r.payload else {
        panic!("{v:?} {r:?}")
    };
    k.unique_identifier
}

/// What Table 173 (1.4) / 304 (2.1) says of every re-key, whatever the Offset.
fn assert_replacement(
    server: &common::Server,
    me: &Caller,
    v: (i32, i32),
    old: &str,
    new: &str,
    n: &str,
) -> (Attributes, Attributes) {
    assert_ne!(old, new);
    let o = attributes(server, me, v, old);
    let a = attributes(server, me, v, new);
    assert_eq!(
        a.get_std(Tag::UNIQUE_IDENTIFIER),
        Some(&Value::TextString(new.into()))
    );
    assert_eq!(date_of(&a, Tag::INITIAL_DATE), Some(T1), "{v:?} IT2");
    assert_eq!(date_of(&a, Tag::LAST_CHANGE_DATE), Some(T1), "{v:?}");
    for t in [
        Tag::DESTROY_DATE,
        Tag::COMPROMISE_OCCURRENCE_DATE,
        Tag::COMPROMISE_DATE,
        Tag::REVOCATION_REASON,
    ] {
        assert!(a.get_std(t).is_none(), "{v:?} {t:?} is set");
    }
    // Links both ways, and only the replaced-key link on the replacement.
    assert_eq!(
        links(&a),
        vec![(LinkType::REPLACED_OBJECT_LINK, old.to_string())],
        "{v:?}"
    );
    assert_eq!(
        links(&o),
        vec![(LinkType::REPLACEMENT_OBJECT_LINK, new.to_string())],
        "{v:?}"
    );
    // The name moves.
    assert_eq!(name_values(&a), vec![n.to_string()], "{v:?}");
    assert!(name_values(&o).is_empty(), "{v:?}");
    // Usage Limits: Total copied, Count set to the Total (the old key had spent 60).
    assert_eq!(usage_count(&a), (100, 100), "{v:?}");
    assert_eq!(usage_count(&o), (100, 40), "{v:?}");
    // Copied from the existing key.
    assert_eq!(
        a.cryptographic_algorithm(),
        Some(CryptographicAlgorithm::AES)
    );
    assert_eq!(a.cryptographic_length(), Some(256));
    assert_eq!(
        a.cryptographic_usage_mask(),
        Some(CryptographicUsageMask(ENCRYPT | DECRYPT))
    );
    assert_eq!(a.get_std(Tag::SENSITIVE), Some(&Value::Boolean(true)));
    assert_eq!(
        a.get_std(Tag::ALWAYS_SENSITIVE),
        Some(&Value::Boolean(true))
    );
    (o, a)
}

#[test]
fn rekey_without_offset_copies_the_dates_of_the_existing_key() {
    let mut server = common::Server::new(T0);
    let me = server.tenant("alpha");
    for v in VERSIONS {
        server.now = T0;
        let old = dated_key(&server, &me, v, "no-offset");
        server_sets(
            &server,
            &me,
            &old,
            Attribute::new(Tag::USAGE_LIMITS, usage_limits(100, 40)),
        );
        server.now = T1;
        let new = rekey(&server, &me, v, &old, None);
        let (o, a) = assert_replacement(&server, &me, v, &old, &new, "no-offset");
        // "If no Offset is specified, the Activation Date, Process Start Date,
        // Protect Stop Date and Deactivation Date values are copied from the
        // existing key."
        for (t, want) in [
            (Tag::ACTIVATION_DATE, AT1),
            (Tag::PROCESS_START_DATE, CT1),
            (Tag::PROTECT_STOP_DATE, TT1),
            (Tag::DEACTIVATION_DATE, DT1),
        ] {
            assert_eq!(date_of(&a, t), Some(want), "{v:?} {t:?}");
            assert_eq!(date_of(&o, t), Some(want), "{v:?} old {t:?}");
        }
        // State from the dates: activated in the past, deactivated in the future.
        assert_eq!(a.state(), Some(State::ACTIVE), "{v:?}");
        assert_eq!(o.state(), Some(State::ACTIVE), "{v:?}");
    }
}

#[test]
fn rekey_with_offset_moves_the_dates_by_the_new_activation() {
    let mut server = common::Server::new(T0);
    let me = server.tenant("alpha");
    for (v, offset) in [((1, 4), 3_600u32), ((2, 1), 0)] {
        server.now = T0;
        let old = dated_key(&server, &me, v, "offset");
        server_sets(
            &server,
            &me,
            &old,
            Attribute::new(Tag::USAGE_LIMITS, usage_limits(100, 40)),
        );
        server.now = T1;
        let new = rekey(&server, &me, v, &old, Some(offset));
        let (o, a) = assert_replacement(&server, &me, v, &old, &new, "offset");
        // AT2 = IT2 + Offset; CT2, TT2, DT2 = CT1, TT1, DT1 + (AT2 - AT1).
        let at2 = T1 + i64::from(offset);
        let shift = at2 - AT1;
        for (t, want) in [
            (Tag::ACTIVATION_DATE, at2),
            (Tag::PROCESS_START_DATE, CT1 + shift),
            (Tag::PROTECT_STOP_DATE, TT1 + shift),
            (Tag::DEACTIVATION_DATE, DT1 + shift),
        ] {
            assert_eq!(date_of(&a, t), Some(want), "{v:?} {t:?}");
        }
        // The existing key's dates are left as they were.
        assert_eq!(date_of(&o, Tag::ACTIVATION_DATE), Some(AT1));
        assert_eq!(date_of(&o, Tag::DEACTIVATION_DATE), Some(DT1));
        // Pre-Active until AT2; an Offset of 0 activates at once.
        let want = if offset > 0 {
            State::PRE_ACTIVE
        } else {
            State::ACTIVE
        };
        assert_eq!(a.state(), Some(want), "{v:?}");
    }
}

#[test]
fn rekey_of_a_key_without_dates() {
    let mut server = common::Server::new(T0);
    let me = server.tenant("alpha");
    for v in VERSIONS {
        server.now = T0;
        let old = create(&server, &me, v, vec![name("a")]);
        server.now = T1;
        // No Offset: nothing to copy, the replacement stays Pre-Active.
        let new = rekey(&server, &me, v, &old, None);
        let a = attributes(&server, &me, v, &new);
        for t in [
            Tag::ACTIVATION_DATE,
            Tag::PROCESS_START_DATE,
            Tag::PROTECT_STOP_DATE,
            Tag::DEACTIVATION_DATE,
        ] {
            assert!(a.get_std(t).is_none(), "{v:?} {t:?}");
        }
        assert_eq!(a.state(), Some(State::PRE_ACTIVE));
        // An Offset with no other date to move: AT2 = IT2 + Offset.
        let old = create(&server, &me, v, vec![]);
        let new = rekey(&server, &me, v, &old, Some(60));
        let a = attributes(&server, &me, v, &new);
        assert_eq!(date_of(&a, Tag::ACTIVATION_DATE), Some(T1 + 60));
        assert!(a.get_std(Tag::DEACTIVATION_DATE).is_none());
        assert_eq!(a.state(), Some(State::PRE_ACTIVE));
        // Several names given in the request all reach the replacement.
        let r = one(
            &server,
            &me,
            v,
            ReKeyRequest {
                unique_identifier: Some(old.clone()),
                attributes: Some(Attributes::new(vec![name("n1"), name("n2")])),
                ..Default::default()
            }
            .into(),
        );
        let Some(ResponsePayload::ReKey(k)) = r.payload else {
            panic!("{r:?}")
        };
        let a = attributes(&server, &me, v, &k.unique_identifier);
        assert_eq!(name_values(&a), vec!["n1".to_string(), "n2".to_string()]);
    }
}

#[test]
fn rekey_errors_are_those_of_the_specification() {
    let mut server = common::Server::new(T0);
    let me = server.tenant("alpha");
    let other = server.tenant("beta");
    for v in VERSIONS {
        let v2 = v.0 >= 2;
        server.now = T0;
        let dated = dated_key(&server, &me, v, "e");
        // Offset together with any of the four dates: Invalid Message.
        for t in [
            Tag::ACTIVATION_DATE,
            Tag::PROCESS_START_DATE,
            Tag::PROTECT_STOP_DATE,
            Tag::DEACTIVATION_DATE,
        ] {
            let r = one(
                &server,
                &me,
                v,
                ReKeyRequest {
                    unique_identifier: Some(dated.clone()),
                    offset: Some(Interval(10)),
                    attributes: Some(Attributes::new(vec![date(t, T0 + 50)])),
                    ..Default::default()
                }
                .into(),
            );
            assert_eq!(
                r.result_reason,
                Some(ResultReason::INVALID_MESSAGE),
                "{v:?} {t:?}"
            );
        }
        // Without an Offset the dates may be given: they win over the copies.
        let r = one(
            &server,
            &me,
            v,
            ReKeyRequest {
                unique_identifier: Some(dated.clone()),
                attributes: Some(Attributes::new(vec![date(
                    Tag::DEACTIVATION_DATE,
                    T0 + 20_000,
                )])),
                ..Default::default()
            }
            .into(),
        );
        let Some(ResponsePayload::ReKey(k)) = r.payload else {
            panic!("{r:?}")
        };
        let a = attributes(&server, &me, v, &k.unique_identifier);
        assert_eq!(date_of(&a, Tag::DEACTIVATION_DATE), Some(T0 + 20_000));
        assert_eq!(date_of(&a, Tag::ACTIVATION_DATE), Some(AT1));
        // An Offset cannot move a Deactivation Date without an Activation Date.
        let undated = create(&server, &me, v, vec![date(Tag::DEACTIVATION_DATE, DT1)]);
        let r = one(
            &server,
            &me,
            v,
            ReKeyRequest {
                unique_identifier: Some(undated.clone()),
                offset: Some(Interval(10)),
                ..Default::default()
            }
            .into(),
        );
        let want = if v2 {
            ResultReason::INVALID_FIELD
        } else {
            ResultReason::ILLEGAL_OPERATION
        };
        assert_eq!(r.result_reason, Some(want), "{v:?}");
        // Not a symmetric key.
        let opaque = register_opaque(&server, &me, v);
        let r = one(
            &server,
            &me,
            v,
            ReKeyRequest {
                unique_identifier: Some(opaque),
                ..Default::default()
            }
            .into(),
        );
        let want = if v2 {
            ResultReason::INVALID_OBJECT_TYPE
        } else {
            ResultReason::PERMISSION_DENIED
        };
        assert_eq!(r.result_reason, Some(want), "{v:?}");
        // A destroyed key has no value.
        let gone = create(&server, &me, v, vec![]);
        let r = one(
            &server,
            &me,
            v,
            DestroyRequest {
                unique_identifier: Some(gone.clone()),
            }
            .into(),
        );
        assert_eq!(r.result_status, ResultStatus::SUCCESS);
        let r = one(
            &server,
            &me,
            v,
            ReKeyRequest {
                unique_identifier: Some(gone),
                ..Default::default()
            }
            .into(),
        );
        assert_eq!(
            r.result_reason,
            Some(ResultReason::KEY_VALUE_NOT_PRESENT),
            "{v:?}"
        );
        // Another account's key: as if it did not exist, and untouched.
        let theirs = dated_key(&server, &other, v, "theirs");
        let missing = uuid::Uuid::new_v4().to_string();
        let req = |u: &str| -> RequestPayload {
            ReKeyRequest {
                unique_identifier: Some(u.into()),
                offset: Some(Interval(10)),
                ..Default::default()
            }
            .into()
        };
        let r1 = one(&server, &me, v, req(&theirs));
        let r2 = one(&server, &me, v, req(&missing));
        assert_eq!(r1, r2, "{v:?}");
        assert_eq!(
            r1.result_reason,
            Some(if v2 {
                ResultReason::OBJECT_NOT_FOUND
            } else {
                ResultReason::ITEM_NOT_FOUND
            })
        );
        assert!(links(&attributes(&server, &other, v, &theirs)).is_empty());
    }
}
