//! Locate answers from the store's index exactly what it answered when it
//! loaded every object of the account and matched attributes in memory: a
//! copy of that earlier algorithm is the oracle here, run against many
//! requests (Name, custom attributes, type, state, dates, storage masks,
//! Maximum Items, Offset Items, versions) on objects created, changed,
//! activated, revoked and destroyed through the operations. Another account's
//! objects, and objects of groups the app may not use, never appear.

mod common;

use kmip::attributes::{
    Attribute, AttributeName, AttributeReference, Attributes, InlineAttributes, Wrapped,
};
use kmip::enums::*;
use kmip::messages::ResponseBatchItem;
use kmip::payloads::*;
use kmip::{Tag, Ttlv, Value};
use skms_core::access::Action;
use skms_core::model::{AuthMethod, ManagedObject};
use skms_core::ops::object::apply_dates;
use skms_core::ops::Caller;
use skms_core::store::ObjectFilter;
use skms_core::tenancy::{self, NewApp};
use skms_test_support::requests::{aes_attributes, message as msg};

const T0: i64 = 1_700_000_000;

fn one(
    server: &common::Server,
    who: &Caller,
    v: (i32, i32),
    p: RequestPayload,
) -> ResponseBatchItem {
    server.call(who, msg(v, vec![p])).batch_items.remove(0)
}

fn ok(r: ResponseBatchItem) -> ResponsePayload {
    assert_eq!(r.result_status, ResultStatus::SUCCESS, "{r:?}");
    r.payload.expect("a payload")
}

fn name(text: &str, kind: NameType) -> Attribute {
    Attribute::new(
        Tag::NAME,
        Value::Structure(vec![
            Ttlv::new(Tag::NAME_VALUE, Value::TextString(text.into())),
            Ttlv::new(Tag::NAME_TYPE, Value::Enumeration(kind.0)),
        ]),
    )
}

fn plain_name(text: &str) -> Attribute {
    name(text, NameType::UNINTERPRETED_TEXT_STRING)
}

fn x(n: &str, v: &str) -> Attribute {
    Attribute::custom(n, Value::TextString(v.into()))
}

fn create(server: &common::Server, who: &Caller, v: (i32, i32), extra: Vec<Attribute>) -> String {
    let len = if extra.len() % 2 == 0 { 256 } else { 128 };
    let mut attrs = aes_attributes(len);
    attrs.extend(extra);
    let p = ok(one(
        server,
        who,
        v,
        CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: Attributes::new(attrs),
            protection_storage_masks: None,
        }
        .into(),
    ));
    let ResponsePayload::Create(c) = p else {
        panic!("{p:?}")
    };
    c.unique_identifier
}

fn uid(u: &str) -> Option<String> {
    Some(u.to_string())
}

/// The earlier matching rule, unchanged: one wanted instance.
fn matches_one(obj: &ManagedObject, want: &Attribute) -> bool {
    obj.attributes
        .get_all(&want.name)
        .any(|have| match (&want.name, &have.value, &want.value) {
            (
                AttributeName::Standard(Tag::CRYPTOGRAPHIC_USAGE_MASK),
                Value::Integer(h),
                Value::Integer(w),
            ) => h & w == *w,
            _ => have.value == want.value,
        })
}

/// The earlier matching rule, unchanged: every condition, two Date-Time
/// instances of one attribute being a range.
fn matches(obj: &ManagedObject, wanted: &[Attribute]) -> bool {
    let mut done: Vec<&AttributeName> = Vec::new();
    for w in wanted {
        if done.contains(&&w.name) {
            continue;
        }
        done.push(&w.name);
        let same: Vec<&Attribute> = wanted.iter().filter(|a| a.name == w.name).collect();
        let range = match (same.as_slice(), same.len()) {
            ([a, b], 2) => match (&a.value, &b.value) {
                (Value::DateTime(x), Value::DateTime(y)) => Some((*x.min(y), *x.max(y))),
                _ => None,
            },
            _ => None,
        };
        let ok = match range {
            Some((lo, hi)) => obj
                .attributes
                .get_all(&w.name)
                .any(|h| matches!(h.value, Value::DateTime(d) if lo <= d && d <= hi)),
            None => same.iter().all(|a| matches_one(obj, a)),
        };
        if !ok {
            return false;
        }
    }
    true
}

/// The earlier Locate: every object of the account loaded, oldest first, and matched here.
fn oracle(
    server: &common::Server,
    who: &Caller,
    v: (i32, i32),
    req: &LocateRequest,
) -> LocateResponse {
    let store = &server.store as &dyn skms_core::store::Store;
    let wanted: Vec<Attribute> = req
        .attributes
        .0
        .clone()
        .map(|a| a.items)
        .unwrap_or_default();
    let mask = req
        .storage_status_mask
        .unwrap_or(StorageStatusMask::ON_LINE_STORAGE);
    let mut found = Vec::new();
    for id in store
        .locate(who.account.id, &ObjectFilter::default())
        .unwrap()
    {
        let mut obj = store.object(who.account.id, id).unwrap().unwrap();
        if !who.may(Action::ViewObjects, obj.group) {
            continue;
        }
        apply_dates(&mut obj, server.now);
        let stored = if matches!(obj.state, State::DESTROYED | State::DESTROYED_COMPROMISED) {
            StorageStatusMask::DESTROYED_STORAGE
        } else {
            StorageStatusMask::ON_LINE_STORAGE
        };
        if mask.0 & stored.0 == 0 || !matches(&obj, &wanted) {
            continue;
        }
        found.push(obj.id.to_string());
    }
    let total = found.len();
    let ids = found
        .into_iter()
        .skip(req.offset_items.unwrap_or(0) as usize)
        .take(req.maximum_items.map_or(usize::MAX, |m| m as usize))
        .collect();
    let paged = req.maximum_items.is_some() || req.offset_items.is_some();
    LocateResponse {
        located_items: (paged && (v.0 >= 2 || v.1 >= 3)).then_some(total as i32),
        unique_identifier: ids,
    }
}

fn locate(
    server: &common::Server,
    who: &Caller,
    v: (i32, i32),
    req: &LocateRequest,
) -> LocateResponse {
    match ok(one(server, who, v, req.clone().into())) {
        ResponsePayload::Locate(l) => *l,
        p => panic!("{p:?}"),
    }
}

fn request(attrs: Vec<Attribute>) -> LocateRequest {
    LocateRequest {
        attributes: InlineAttributes((!attrs.is_empty()).then(|| Attributes::new(attrs))),
        ..Default::default()
    }
}

/// Every request of the battery: each condition set, each storage mask, each page.
fn battery(conditions: &[Vec<Attribute>]) -> Vec<LocateRequest> {
    let masks = [
        None,
        Some(StorageStatusMask::DESTROYED_STORAGE),
        Some(StorageStatusMask(
            StorageStatusMask::ON_LINE_STORAGE.0 | StorageStatusMask::DESTROYED_STORAGE.0,
        )),
        Some(StorageStatusMask::ARCHIVAL_STORAGE),
    ];
    let pages = [
        (None, None),
        (Some(1), None),
        (Some(2), Some(1)),
        (None, Some(3)),
        (Some(0), None),
        (Some(5), Some(100)),
    ];
    let mut out = Vec::new();
    for c in conditions {
        for (i, mask) in masks.iter().enumerate() {
            for (j, (max, offset)) in pages.iter().enumerate() {
                // every page with the default mask; the first two pages with the others
                if i > 0 && j > 1 {
                    continue;
                }
                out.push(LocateRequest {
                    maximum_items: *max,
                    offset_items: *offset,
                    storage_status_mask: *mask,
                    ..request(c.clone())
                });
            }
        }
    }
    out
}

#[test]
fn locate_answers_as_the_full_scan_did() {
    let mut server = common::Server::new(T0);
    let a = server.tenant("acme");
    let b = server.tenant("other");
    // A second app of acme that may use another group only.
    let elsewhere =
        tenancy::create_group(&server.store, a.account.id, "elsewhere", "", T0).unwrap();
    let (app2, _) = tenancy::create_app(
        &server.store,
        &server.keyring,
        a.account.id,
        NewApp {
            name: "acme-second".into(),
            description: String::new(),
            kmip: true,
            rest: false,
            auth_method: AuthMethod::ApiKey,
            groups: vec![elsewhere.id],
            default_group: None,
        },
        T0,
    )
    .unwrap();
    let a2 = Caller::app(app2, a.account.clone());

    // acme: 24 keys named k-0…k-23, vCenter's custom attributes, some dates.
    let mut ids = Vec::new();
    for i in 0..24 {
        let v = if i % 2 == 0 { (1, 4) } else { (2, 1) };
        let mut extra = vec![
            plain_name(&format!("k-{i}")),
            x("x-Name", &format!("vm-{}", i % 5)),
            x("x-Component", if i % 3 == 0 { "disk" } else { "vm-home" }),
            x("x-Identifier", &format!("id-{i}")),
        ];
        if i % 4 == 1 {
            extra.push(name(&format!("uri-{i}"), NameType::URI));
        }
        if i % 6 == 2 {
            // due later: Pre-Active now, seen as Active once the server's clock passes it
            extra.push(Attribute::new(
                Tag::ACTIVATION_DATE,
                Value::DateTime(T0 + 100 + i as i64),
            ));
        }
        if i % 5 == 4 {
            extra.push(Attribute::new(
                Tag::OBJECT_GROUP,
                Value::TextString("og".into()),
            ));
        }
        if i % 7 == 3 {
            extra.push(Attribute::custom("x-Count", Value::Integer(3)));
        }
        if i == 11 {
            extra.push(Attribute::custom("x-Count", Value::LongInteger(3)));
        }
        server.now = T0 + i as i64 / 3;
        ids.push(create(&server, &a, v, extra));
    }
    // The same names in the other account and in the other group.
    let mut theirs = Vec::new();
    for i in 0..6 {
        theirs.push(create(
            &server,
            &b,
            (2, 1),
            vec![plain_name(&format!("k-{i}")), x("x-Name", "vm-0")],
        ));
        theirs.push(create(
            &server,
            &a2,
            (1, 4),
            vec![plain_name(&format!("k-{i}")), x("x-Name", "vm-0")],
        ));
    }
    server.now = T0 + 50;
    let v14 = (1, 4);
    // Through the operations: activate, revoke, destroy; add, modify, delete attributes.
    for i in [0, 1, 5, 6, 7] {
        ok(one(
            &server,
            &a,
            v14,
            ActivateRequest {
                unique_identifier: uid(&ids[i]),
            }
            .into(),
        ));
    }
    for (i, code) in [
        (5, RevocationReasonCode::KEY_COMPROMISE),
        (6, RevocationReasonCode::CESSATION_OF_OPERATION),
    ] {
        ok(one(
            &server,
            &a,
            v14,
            RevokeRequest {
                unique_identifier: uid(&ids[i]),
                revocation_reason: RevocationReason {
                    revocation_reason_code: code,
                    revocation_message: None,
                },
                compromise_occurrence_date: None,
            }
            .into(),
        ));
    }
    for i in [3, 6] {
        ok(one(
            &server,
            &a,
            v14,
            DestroyRequest {
                unique_identifier: uid(&ids[i]),
            }
            .into(),
        ));
    }
    ok(one(
        &server,
        &a,
        v14,
        AddAttributeRequest {
            unique_identifier: uid(&ids[9]),
            attribute: Wrapped(x("x-New", "added")),
        }
        .into(),
    ));
    ok(one(
        &server,
        &a,
        v14,
        ModifyAttributeRequest {
            unique_identifier: uid(&ids[10]),
            current_attribute: Default::default(),
            new_attribute: Wrapped(x("x-Name", "vm-renamed")),
        }
        .into(),
    ));
    ok(one(
        &server,
        &a,
        (2, 1),
        DeleteAttributeRequest {
            unique_identifier: uid(&ids[12]),
            current_attribute: Default::default(),
            attribute_reference: Some(AttributeReference(AttributeName::from_v1("x-Component"))),
            attribute_index: None,
        }
        .into(),
    ));
    ok(one(
        &server,
        &a,
        (2, 1),
        SetAttributeRequest {
            unique_identifier: uid(&ids[13]),
            new_attribute: Wrapped(x("x-Identifier", "id-set")),
        }
        .into(),
    ));
    // Time passes: the keys due at T0 + 102 and T0 + 108 are now seen as Active.
    server.now = T0 + 110;

    let range = |tag: Tag, lo: i64, hi: i64| {
        vec![
            Attribute::new(tag, Value::DateTime(lo)),
            Attribute::new(tag, Value::DateTime(hi)),
        ]
    };
    let state = |s: State| Attribute::new(Tag::STATE, Value::Enumeration(s.0));
    let mut conditions: Vec<Vec<Attribute>> = vec![
        vec![],
        vec![plain_name("k-4")],
        vec![plain_name("k-3")],
        vec![plain_name("k-99")],
        vec![name("k-4", NameType::URI)],
        vec![name("uri-5", NameType::URI)],
        vec![plain_name("k-5"), name("uri-5", NameType::URI)],
        vec![x("x-Name", "vm-0")],
        vec![x("x-Name", "vm-renamed")],
        vec![x("x-Name", "vm-0"), x("x-Component", "disk")],
        vec![x("x-Component", "vm-home")],
        vec![x("x-Identifier", "id-12")],
        vec![x("x-Identifier", "id-13")],
        vec![x("x-Identifier", "id-set")],
        vec![x("x-New", "added")],
        vec![x("x-Name", "vm-1"), x("x-Name", "vm-2")],
        vec![Attribute::custom("x-Count", Value::Integer(3))],
        vec![Attribute::custom("x-Count", Value::LongInteger(3))],
        vec![Attribute::new(
            Tag::OBJECT_GROUP,
            Value::TextString("og".into()),
        )],
        vec![Attribute::new(
            Tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::SYMMETRIC_KEY.0),
        )],
        vec![Attribute::new(
            Tag::OBJECT_TYPE,
            Value::Enumeration(ObjectType::SECRET_DATA.0),
        )],
        vec![Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        )],
        vec![
            Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(128)),
        ],
        vec![Attribute::new(
            Tag::CRYPTOGRAPHIC_USAGE_MASK,
            Value::Integer(4),
        )],
        range(Tag::ACTIVATION_DATE, T0 + 100, T0 + 105),
        range(Tag::ACTIVATION_DATE, T0, T0 + 1_000),
        vec![Attribute::new(
            Tag::ACTIVATION_DATE,
            Value::DateTime(T0 + 108),
        )],
        range(Tag::INITIAL_DATE, T0 + 2, T0 + 4),
        range(Tag::LAST_CHANGE_DATE, T0 + 50, T0 + 50),
        vec![Attribute::new(
            Tag::UNIQUE_IDENTIFIER,
            Value::TextString(ids[7].clone()),
        )],
        vec![Attribute::new(
            Tag::UNIQUE_IDENTIFIER,
            Value::TextString(theirs[0].clone()),
        )],
        vec![Attribute::new(
            Tag::UNIQUE_IDENTIFIER,
            Value::TextString(ids[7].to_uppercase()),
        )],
    ];
    for s in [
        State::PRE_ACTIVE,
        State::ACTIVE,
        State::DEACTIVATED,
        State::COMPROMISED,
        State::DESTROYED,
        State::DESTROYED_COMPROMISED,
    ] {
        conditions.push(vec![state(s)]);
        conditions.push(vec![state(s), x("x-Component", "disk")]);
    }
    conditions.push(vec![state(State::ACTIVE), state(State::PRE_ACTIVE)]);

    let mut checked = 0;
    for who in [&a, &b, &a2] {
        for v in [(1, 2), (1, 4), (2, 1)] {
            for req in battery(&conditions) {
                let got = locate(&server, who, v, &req);
                assert_eq!(got, oracle(&server, who, v, &req), "{v:?} {req:?}");
                checked += 1;
            }
        }
    }
    assert!(checked > 1_000, "{checked}");

    // And by hand, so that the oracle is checked too.
    let only = |who: &Caller, c: Vec<Attribute>| {
        locate(&server, who, (2, 1), &request(c)).unique_identifier
    };
    assert_eq!(only(&a, vec![plain_name("k-4")]), vec![ids[4].clone()]);
    assert_eq!(
        only(&a, vec![plain_name("k-3")]),
        Vec::<String>::new(),
        "destroyed"
    );
    assert_eq!(
        only(&a, vec![x("x-Name", "vm-renamed")]),
        vec![ids[10].clone()]
    );
    assert!(!only(&a, vec![x("x-Name", "vm-0")]).contains(&ids[10]));
    assert_eq!(
        only(&a, vec![x("x-Identifier", "id-13")]),
        Vec::<String>::new()
    );
    assert_eq!(
        only(&a, vec![x("x-Identifier", "id-set")]),
        vec![ids[13].clone()]
    );
    assert_eq!(only(&a, vec![x("x-New", "added")]), vec![ids[9].clone()]);
    assert!(!only(&a, vec![x("x-Component", "disk")]).contains(&ids[12]));
    // Pre-Active in the store, Active by date: found as Active, not as Pre-Active.
    let active = only(&a, vec![state(State::ACTIVE)]);
    assert!(
        active.contains(&ids[2]) && active.contains(&ids[8]),
        "{active:?}"
    );
    assert!(!only(&a, vec![state(State::PRE_ACTIVE)]).contains(&ids[2]));
    // Other tenants and groups: their own only.
    let mine = only(&b, vec![]);
    assert_eq!(mine.len(), 6);
    assert!(mine
        .iter()
        .all(|id| theirs.contains(id) && !ids.contains(id)));
    assert_eq!(only(&b, vec![plain_name("k-4")]), vec![theirs[8].clone()]);
    assert_eq!(only(&a2, vec![plain_name("k-4")]), vec![theirs[9].clone()]);
    let paged = locate(
        &server,
        &a,
        (1, 4),
        &LocateRequest {
            maximum_items: Some(2),
            offset_items: Some(1),
            ..request(vec![x("x-Name", "vm-1")])
        },
    );
    // vm-1: keys 1, 6 (destroyed), 11, 16, 21
    assert_eq!(paged.located_items, Some(4));
    assert_eq!(
        paged.unique_identifier,
        vec![ids[11].clone(), ids[16].clone()]
    );
}

#[test]
fn negative_paging_is_refused_before_the_store_is_asked() {
    let server = common::Server::new(T0);
    let a = server.tenant("acme");
    for (max, offset) in [(Some(-1), None), (None, Some(-1))] {
        let r = one(
            &server,
            &a,
            (1, 4),
            LocateRequest {
                maximum_items: max,
                offset_items: offset,
                ..Default::default()
            }
            .into(),
        );
        assert_eq!(r.result_status, ResultStatus::OPERATION_FAILED);
        assert_eq!(r.result_reason, Some(ResultReason::INVALID_FIELD));
    }
}
