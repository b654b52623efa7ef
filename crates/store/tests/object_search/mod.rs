//! Conformance checks of object search: every condition of `ObjectFilter`,
//! each sort and both kinds of paging, checked against a brute-force oracle
//! over the objects the check wrote; tenant isolation; and an index that
//! follows updates, destruction and failed writes.

use crate::common::{self, unique};
use kmip::attributes::{Attribute, AttributeName, Attributes};
use kmip::enums::{CryptographicAlgorithm, NameType, ObjectType, State};
use kmip::{Tag, Ttlv, Value};
use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
use skms_core::model::ManagedObject;
use skms_core::store::{
    index_key, DateRange, IndexedValue, ObjectFilter, ObjectSort, SearchFields, SortKey, Store,
    StoreError,
};

/// A Name attribute (uninterpreted text).
pub fn name(text: &str) -> Attribute {
    Attribute::new(
        Tag::NAME,
        Value::Structure(vec![
            Ttlv::new(Tag::NAME_VALUE, Value::TextString(text.into())),
            Ttlv::new(
                Tag::NAME_TYPE,
                Value::Enumeration(NameType::UNINTERPRETED_TEXT_STRING.0),
            ),
        ]),
    )
}

fn text(v1_name: &str, value: &str) -> Attribute {
    Attribute::custom(v1_name, Value::TextString(value.into()))
}

fn custom(v1_name: &str) -> AttributeName {
    AttributeName::from_v1(v1_name)
}

fn t(s: &str) -> IndexedValue {
    IndexedValue::Text(s.into())
}

fn setup(store: &dyn Store) -> (AccountId, GroupId, GroupId) {
    let a = common::account(&unique("search"));
    store.create_account(&a).unwrap();
    let g1 = common::group(a.id, "one");
    let g2 = common::group(a.id, "two");
    store.create_group(&g1).unwrap();
    store.create_group(&g2).unwrap();
    (a.id, g1.id, g2.id)
}

/// An object of `account` in `group` with exactly `attributes`.
fn object(
    account: AccountId,
    group: GroupId,
    created: i64,
    attrs: Vec<Attribute>,
) -> ManagedObject {
    let mut o = common::object(account, group, created);
    o.attributes = Attributes::new(attrs);
    o
}

/// The sort key of an object as the store orders it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Int(i64),
    Text(String),
}

fn key_of(o: &ManagedObject, key: SortKey) -> Key {
    match key {
        SortKey::Created => Key::Int(o.created),
        SortKey::Updated => Key::Int(o.updated),
        SortKey::Name => Key::Text(SearchFields::of(&o.attributes).sort_name),
    }
}

/// What `filter` selects among `all`, by the definition of each field.
fn selects(o: &ManagedObject, f: &ObjectFilter) -> bool {
    let s = SearchFields::of(&o.attributes);
    let has = |n: &AttributeName, v: &IndexedValue| s.entries.contains(&(index_key(n), v.clone()));
    (f.groups.is_empty() || f.groups.contains(&o.group))
        && f.object_type.is_none_or(|t| t == o.object_type)
        && f.state.is_none_or(|x| x == o.state)
        && (f.states.is_empty() || f.states.contains(&o.state))
        && f.id.is_none_or(|id| id == o.id)
        && f.name
            .as_ref()
            .is_none_or(|n| has(&AttributeName::Standard(Tag::NAME), &t(n)))
        && f.attributes.iter().all(|(n, v)| has(n, v))
        && f.algorithm.is_none_or(|a| s.algorithm == Some(a))
        && f.length.is_none_or(|l| s.length == Some(l))
        && f.creator.is_none_or(|c| o.creator == Some(c))
        && f.created.contains(Some(o.created))
        && f.updated.contains(Some(o.updated))
        && f.activation.contains(s.activation)
        && f.deactivation.contains(s.deactivation)
}

/// The oracle: what `locate` must answer on `all` (the account's objects).
fn oracle(all: &[ManagedObject], f: &ObjectFilter) -> Result<Vec<ObjectId>, ()> {
    let order = |o: &ManagedObject| (key_of(o, f.sort.key), o.id);
    let mut hits: Vec<&ManagedObject> = all.iter().filter(|o| selects(o, f)).collect();
    hits.sort_by_key(|o| order(o));
    if f.sort.descending {
        hits.reverse();
    }
    if let Some(after) = f.after {
        let cursor = all.iter().find(|o| o.id == after).ok_or(())?;
        let c = order(cursor);
        hits.retain(|o| {
            if f.sort.descending {
                order(o) < c
            } else {
                order(o) > c
            }
        });
    }
    Ok(hits
        .into_iter()
        .skip(f.offset)
        .take(f.limit.unwrap_or(usize::MAX))
        .map(|o| o.id)
        .collect())
}

/// `locate` and `count_objects` answer as the oracle, in every sort, paged
/// by offset and walked by keyset; and never an object of another account.
fn agrees(store: &dyn Store, account: AccountId, all: &[ManagedObject], base: &ObjectFilter) {
    let sorts = [SortKey::Created, SortKey::Updated, SortKey::Name];
    let everything = oracle(all, base).unwrap();
    assert_eq!(
        store.count_objects(account, base).unwrap(),
        oracle(
            all,
            &ObjectFilter {
                offset: 0,
                limit: None,
                after: None,
                ..base.clone()
            }
        )
        .unwrap()
        .len() as u64,
        "count {base:?}"
    );
    assert_eq!(store.locate(account, base).unwrap(), everything, "{base:?}");
    for key in sorts {
        for descending in [false, true] {
            let f = ObjectFilter {
                sort: ObjectSort { key, descending },
                ..base.clone()
            };
            let full = oracle(all, &f).unwrap();
            assert_eq!(store.locate(account, &f).unwrap(), full, "{f:?}");
            for (offset, limit) in [(0, Some(3)), (2, Some(5)), (4, None), (1_000, Some(1))] {
                let paged = ObjectFilter {
                    offset,
                    limit,
                    ..f.clone()
                };
                assert_eq!(
                    store.locate(account, &paged).unwrap(),
                    oracle(all, &paged).unwrap(),
                    "{paged:?}"
                );
            }
            // Keyset: pages of 4, each after the last id of the one before.
            let mut walked = Vec::new();
            let mut after = None;
            loop {
                let page = store
                    .locate(
                        account,
                        &ObjectFilter {
                            after,
                            limit: Some(4),
                            ..f.clone()
                        },
                    )
                    .unwrap();
                walked.extend(page.iter().copied());
                if page.len() < 4 {
                    break;
                }
                after = page.last().copied();
            }
            assert_eq!(walked, full, "keyset walk of {f:?}");
        }
    }
}

/// Every condition alone and with others, in every sort and paging, against
/// the oracle; the same names in another account never show; text and
/// integer values stay apart; unknown cursors are `NotFound`.
pub fn filters_sorts_and_pages(store: &dyn Store) {
    let (a, g1, g2) = setup(store);
    let (b, gb, _) = setup(store);
    let apps = [Some(AppId::new()), Some(AppId::new()), None];
    let mut all = Vec::new();
    let mut batch = Vec::new();
    for i in 0..36i64 {
        let mut attrs = vec![
            name(&format!("key-{:02}", 35 - i)),
            text("x-Name", &format!("vm-{}", i % 6)),
            text("x-Component", if i % 2 == 0 { "vm-home" } else { "disk-1" }),
            text("x-Identifier", &format!("{i}")),
            Attribute::custom("x-Count", Value::Integer((i % 4) as i32)),
            Attribute::new(
                Tag::OBJECT_GROUP,
                Value::TextString(format!("og-{}", i % 3)),
            ),
            Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(if i % 4 == 0 {
                    CryptographicAlgorithm::HMAC_SHA256.0
                } else {
                    CryptographicAlgorithm::AES.0
                }),
            ),
            Attribute::new(
                Tag::CRYPTOGRAPHIC_LENGTH,
                Value::Integer(if i % 3 == 0 { 128 } else { 256 }),
            ),
        ];
        if i % 9 == 0 {
            attrs.push(name(&format!("alias-{}", i / 9)));
        }
        if i % 2 == 0 {
            attrs.push(Attribute::new(
                Tag::ACTIVATION_DATE,
                Value::DateTime(5_000 + i),
            ));
        }
        if i % 5 == 0 {
            attrs.push(Attribute::new(
                Tag::DEACTIVATION_DATE,
                Value::DateTime(9_000 + i),
            ));
        }
        if i == 7 {
            // a 2.x vendor attribute, and one whose vendor holds a dash
            attrs.push(Attribute {
                name: AttributeName::Vendor {
                    vendor: "acme".into(),
                    name: "Tier".into(),
                },
                index: None,
                value: Value::Enumeration(3),
            });
            attrs.push(Attribute {
                name: AttributeName::Vendor {
                    vendor: "x-y".into(),
                    name: "z".into(),
                },
                index: None,
                value: Value::TextString("dash".into()),
            });
        }
        let mut o = object(a, if i % 2 == 0 { g1 } else { g2 }, 1_000 + i / 3, attrs);
        o.updated = 2_000 + (i * 7) % 36;
        o.creator = apps[(i % 3) as usize];
        o.object_type = if i % 6 == 5 {
            ObjectType::SECRET_DATA
        } else {
            ObjectType::SYMMETRIC_KEY
        };
        o.state = [State::PRE_ACTIVE, State::ACTIVE, State::DESTROYED][(i % 3) as usize];
        // half one at a time, half in one batch
        if i % 2 == 0 {
            store.insert_object(&o).unwrap();
        } else {
            batch.push(o.clone());
        }
        all.push(o);
    }
    store.insert_objects(&batch).unwrap();
    // An object without any name or indexed attribute.
    let bare = object(a, g1, 1_020, vec![]);
    store.insert_object(&bare).unwrap();
    all.push(bare.clone());
    // The other account: same names, same custom attributes.
    let theirs: Vec<ManagedObject> = all
        .iter()
        .map(|o| {
            let mut t = object(b, gb, o.created, o.attributes.items.clone());
            t.creator = o.creator;
            t
        })
        .collect();
    store.insert_objects(&theirs).unwrap();

    let conditions: Vec<ObjectFilter> = vec![
        ObjectFilter::default(),
        ObjectFilter {
            name: Some("key-03".into()),
            ..Default::default()
        },
        ObjectFilter {
            name: Some("alias-2".into()),
            ..Default::default()
        },
        ObjectFilter {
            name: Some("no-such-key".into()),
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![(custom("x-Name"), t("vm-2"))],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![
                (custom("x-Name"), t("vm-2")),
                (custom("x-Component"), t("vm-home")),
            ],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![
                (custom("x-Component"), t("disk-1")),
                (custom("x-Identifier"), t("13")),
            ],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![(custom("x-Count"), IndexedValue::Int(2))],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![(AttributeName::Standard(Tag::OBJECT_GROUP), t("og-1"))],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![(
                AttributeName::Vendor {
                    vendor: "acme".into(),
                    name: "Tier".into(),
                },
                IndexedValue::Int(3),
            )],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![(AttributeName::Standard(Tag::NAME), t("key-10"))],
            ..Default::default()
        },
        ObjectFilter {
            object_type: Some(ObjectType::SECRET_DATA),
            ..Default::default()
        },
        ObjectFilter {
            state: Some(State::ACTIVE),
            ..Default::default()
        },
        ObjectFilter {
            states: vec![State::PRE_ACTIVE, State::DESTROYED],
            ..Default::default()
        },
        ObjectFilter {
            groups: vec![g2],
            ..Default::default()
        },
        ObjectFilter {
            algorithm: Some(CryptographicAlgorithm::HMAC_SHA256),
            ..Default::default()
        },
        ObjectFilter {
            algorithm: Some(CryptographicAlgorithm::AES),
            length: Some(256),
            ..Default::default()
        },
        ObjectFilter {
            creator: apps[1],
            ..Default::default()
        },
        ObjectFilter {
            created: DateRange {
                from: Some(1_003),
                to: Some(1_006),
            },
            ..Default::default()
        },
        ObjectFilter {
            updated: DateRange {
                from: Some(2_030),
                to: None,
            },
            ..Default::default()
        },
        ObjectFilter {
            activation: DateRange {
                from: None,
                to: Some(5_010),
            },
            ..Default::default()
        },
        ObjectFilter {
            deactivation: DateRange::at(9_010),
            ..Default::default()
        },
        ObjectFilter {
            id: Some(all[4].id),
            ..Default::default()
        },
        ObjectFilter {
            id: Some(all[4].id),
            attributes: vec![(custom("x-Name"), t("vm-4"))],
            ..Default::default()
        },
        ObjectFilter {
            id: Some(all[4].id),
            attributes: vec![(custom("x-Name"), t("vm-5"))],
            ..Default::default()
        },
    ];
    for c in &conditions {
        agrees(store, a, &all, c);
    }
    // Pairs of conditions: every field combines with every other.
    for (i, x) in conditions.iter().enumerate() {
        for y in &conditions[i + 1..] {
            let mut f = x.clone();
            f.name = f.name.or(y.name.clone());
            f.attributes.extend(y.attributes.iter().cloned());
            f.object_type = f.object_type.or(y.object_type);
            f.state = f.state.or(y.state);
            f.states = if f.states.is_empty() {
                y.states.clone()
            } else {
                f.states
            };
            f.groups = if f.groups.is_empty() {
                y.groups.clone()
            } else {
                f.groups
            };
            f.algorithm = f.algorithm.or(y.algorithm);
            f.length = f.length.or(y.length);
            f.creator = f.creator.or(y.creator);
            f.id = f.id.or(y.id);
            for (mine, theirs) in [
                (&mut f.created, y.created),
                (&mut f.updated, y.updated),
                (&mut f.activation, y.activation),
                (&mut f.deactivation, y.deactivation),
            ] {
                if mine.is_any() {
                    *mine = theirs;
                }
            }
            let want = oracle(&all, &f).unwrap();
            assert_eq!(store.locate(a, &f).unwrap(), want, "{f:?}");
            assert_eq!(store.count_objects(a, &f).unwrap(), want.len() as u64);
        }
    }
    // Some answers by hand, so the oracle itself is checked.
    let by_name = |n: &str| {
        store
            .locate(
                a,
                &ObjectFilter {
                    name: Some(n.into()),
                    ..Default::default()
                },
            )
            .unwrap()
    };
    assert_eq!(by_name("key-35"), vec![all[0].id]);
    assert_eq!(by_name("alias-3"), vec![all[27].id]);
    let ids_of = |f: ObjectFilter| store.locate(a, &f).unwrap();
    assert_eq!(
        ids_of(ObjectFilter {
            attributes: vec![
                (custom("x-Name"), t("vm-1")),
                (custom("x-Component"), t("disk-1")),
            ],
            ..Default::default()
        }),
        vec![all[1].id, all[7].id, all[13].id, all[19].id, all[25].id, all[31].id]
    );
    assert_eq!(
        ids_of(ObjectFilter {
            attributes: vec![(
                AttributeName::Vendor {
                    vendor: "x-y".into(),
                    name: "z".into(),
                },
                t("dash"),
            )],
            ..Default::default()
        }),
        vec![all[7].id]
    );
    // "x-y-z" read as KMIP 1.x is vendor x, name y-z: another attribute.
    assert_eq!(
        ids_of(ObjectFilter {
            attributes: vec![(custom("x-y-z"), t("dash"))],
            ..Default::default()
        }),
        vec![]
    );
    let names_sorted: Vec<ObjectId> = ids_of(ObjectFilter {
        sort: ObjectSort {
            key: SortKey::Name,
            descending: false,
        },
        limit: Some(3),
        ..Default::default()
    });
    // No name sorts first (the empty text), then by the first Name: key-00, key-01
    // (an alias, a second Name, does not count).
    assert_eq!(names_sorted, vec![bare.id, all[35].id, all[34].id]);
    // Text and integer values stay apart.
    assert_eq!(
        ids_of(ObjectFilter {
            attributes: vec![(custom("x-Identifier"), IndexedValue::Int(13))],
            ..Default::default()
        }),
        vec![]
    );
    assert_eq!(
        ids_of(ObjectFilter {
            attributes: vec![(custom("x-Count"), t("2"))],
            ..Default::default()
        }),
        vec![]
    );
    // Another account's objects: never, whatever the condition.
    let mine: Vec<ObjectId> = all.iter().map(|o| o.id).collect();
    for c in &conditions {
        for id in store.locate(b, c).unwrap() {
            assert!(!mine.contains(&id), "account b sees a's object with {c:?}");
        }
        for id in store.locate(a, c).unwrap() {
            assert!(mine.contains(&id), "account a sees b's object with {c:?}");
        }
    }
    assert_eq!(
        store
            .locate(
                b,
                &ObjectFilter {
                    name: Some("key-35".into()),
                    ..Default::default()
                }
            )
            .unwrap(),
        vec![theirs[0].id]
    );
    assert_eq!(
        store
            .locate(
                a,
                &ObjectFilter {
                    groups: vec![gb],
                    ..Default::default()
                }
            )
            .unwrap(),
        vec![]
    );
    // A cursor that is not an object of the account.
    for after in [ObjectId::new(), theirs[0].id] {
        assert!(matches!(
            store.locate(
                a,
                &ObjectFilter {
                    after: Some(after),
                    ..Default::default()
                }
            ),
            Err(StoreError::NotFound(_))
        ));
    }
}

/// The index follows every change: an attribute added, modified or deleted
/// through `update_object` is found by its new value and no longer by the
/// old; so are the fixed fields; a destroyed object keeps its index (for
/// Locate of destroyed objects) under its new state; a failed write leaves
/// no index rows.
pub fn index_follows_changes(store: &dyn Store) {
    let (a, g1, g2) = setup(store);
    let (b, gb, _) = setup(store);
    let find = |account: AccountId, f: ObjectFilter| store.locate(account, &f).unwrap();
    let by_name = |n: &str| ObjectFilter {
        name: Some(n.into()),
        ..Default::default()
    };
    let by = |n: &str, v: &str| ObjectFilter {
        attributes: vec![(custom(n), t(v))],
        ..Default::default()
    };
    let mut o = object(
        a,
        g1,
        10,
        vec![
            name("old-name"),
            text("x-Name", "vm-old"),
            text("x-Component", "c1"),
            Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(128)),
        ],
    );
    let other = object(a, g1, 11, vec![name("other"), text("x-Name", "vm-old")]);
    store.insert_object(&o).unwrap();
    store.insert_object(&other).unwrap();
    assert_eq!(find(a, by_name("old-name")), vec![o.id]);
    assert_eq!(find(a, by("x-Name", "vm-old")), vec![o.id, other.id]);

    // Modify x-Name and the Name, delete x-Component, add x-Identifier, and
    // change the group and the fixed fields.
    o.attributes = Attributes::new(vec![
        name("new-name"),
        text("x-Name", "vm-new"),
        text("x-Identifier", "id-1"),
        Attribute::new(
            Tag::CRYPTOGRAPHIC_ALGORITHM,
            Value::Enumeration(CryptographicAlgorithm::AES.0),
        ),
        Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
        Attribute::new(Tag::ACTIVATION_DATE, Value::DateTime(77)),
    ]);
    o.group = g2;
    o.updated = 20;
    store.update_object(&o).unwrap();
    assert_eq!(find(a, by_name("old-name")), vec![]);
    assert_eq!(find(a, by_name("new-name")), vec![o.id]);
    assert_eq!(find(a, by("x-Name", "vm-old")), vec![other.id]);
    assert_eq!(find(a, by("x-Name", "vm-new")), vec![o.id]);
    assert_eq!(find(a, by("x-Component", "c1")), vec![]);
    assert_eq!(find(a, by("x-Identifier", "id-1")), vec![o.id]);
    let fixed = |length, group: GroupId| ObjectFilter {
        length: Some(length),
        groups: vec![group],
        activation: DateRange::at(77),
        ..Default::default()
    };
    assert_eq!(find(a, fixed(128, g2)), vec![]);
    assert_eq!(find(a, fixed(256, g1)), vec![]);
    assert_eq!(find(a, fixed(256, g2)), vec![o.id]);
    assert_eq!(
        find(
            a,
            ObjectFilter {
                updated: DateRange::at(20),
                ..Default::default()
            }
        ),
        vec![o.id]
    );
    assert_eq!(store.count_objects(a, &by("x-Name", "vm-new")).unwrap(), 1);

    // Every Name removed: not found by any, sorted as nameless.
    o.attributes.remove(&AttributeName::Standard(Tag::NAME));
    store.update_object(&o).unwrap();
    assert_eq!(find(a, by_name("new-name")), vec![]);
    assert_eq!(
        find(
            a,
            ObjectFilter {
                sort: ObjectSort {
                    key: SortKey::Name,
                    descending: false
                },
                ..Default::default()
            }
        ),
        vec![o.id, other.id]
    );
    o.attributes.push(name("new-name"));
    store.update_object(&o).unwrap();

    // Destroyed: its record and index stay, under the destroyed state.
    o.state = State::DESTROYED;
    o.sealed = None;
    store.update_object(&o).unwrap();
    let on_line = |f: ObjectFilter| ObjectFilter {
        states: vec![
            State::PRE_ACTIVE,
            State::ACTIVE,
            State::DEACTIVATED,
            State::COMPROMISED,
        ],
        ..f
    };
    assert_eq!(find(a, on_line(by_name("new-name"))), vec![]);
    assert_eq!(
        find(
            a,
            ObjectFilter {
                states: vec![State::DESTROYED, State::DESTROYED_COMPROMISED],
                ..by_name("new-name")
            }
        ),
        vec![o.id]
    );
    assert_eq!(find(a, by_name("new-name")), vec![o.id]);

    // Another account cannot change a's object, nor its index, by naming it.
    let mut stolen = o.clone();
    stolen.account = b;
    stolen.group = gb;
    stolen.attributes = Attributes::new(vec![name("stolen")]);
    assert!(matches!(
        store.update_object(&stolen),
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(find(a, by_name("stolen")), vec![]);
    assert_eq!(find(b, by_name("stolen")), vec![]);
    assert_eq!(find(a, by_name("new-name")), vec![o.id]);
    assert_eq!(find(b, by_name("new-name")), vec![]);

    // A batch with one bad object: none of them, nor their index rows.
    let good = object(a, g1, 30, vec![name("batch-good")]);
    let dup = object(a, g1, 31, vec![name("batch-dup")]);
    let mut dup2 = object(a, g1, 32, vec![name("batch-dup-2")]);
    dup2.id = dup.id;
    assert!(store
        .insert_objects(&[good.clone(), dup.clone(), dup2])
        .is_err());
    assert_eq!(store.object(a, good.id).unwrap(), None);
    assert_eq!(store.object(a, dup.id).unwrap(), None);
    for n in ["batch-good", "batch-dup", "batch-dup-2"] {
        assert_eq!(find(a, by_name(n)), vec![]);
    }
    // A single failed insert (an id taken) leaves the first one's index alone.
    let mut clash = object(a, g1, 33, vec![name("clash")]);
    clash.id = other.id;
    assert!(store.insert_object(&clash).is_err());
    assert_eq!(find(a, by_name("clash")), vec![]);
    assert_eq!(find(a, by_name("other")), vec![other.id]);
    store.insert_objects(&[]).unwrap();
}

/// Conditions that match thousands of objects: a short page walks the
/// objects in its order and probes the conditions, a long one or a count
/// reads the index; both answer as the oracle, in every sort and paging.
pub fn many_matches(store: &dyn Store) {
    let (a, g1, g2) = setup(store);
    let (b, gb, _) = setup(store);
    let all: Vec<ManagedObject> = (0..2_300i64)
        .map(|i| {
            let mut attrs = vec![
                name(&format!("n-{:05}", (i * 7_919) % 2_300)),
                text("x-Name", &format!("vm-{}", i % 7)),
            ];
            if i % 23 != 0 {
                attrs.push(text("x-Component", "common"));
            }
            let mut o = object(a, if i % 3 == 0 { g2 } else { g1 }, 100 + i / 5, attrs);
            o.updated = 10_000 - i;
            o.state = if i % 4 == 0 {
                State::ACTIVE
            } else {
                State::PRE_ACTIVE
            };
            o
        })
        .collect();
    store.insert_objects(&all).unwrap();
    let theirs: Vec<ManagedObject> = (0..2_100)
        .map(|i| object(b, gb, 100 + i, vec![text("x-Component", "common")]))
        .collect();
    store.insert_objects(&theirs).unwrap();
    let common = (custom("x-Component"), t("common"));
    for f in [
        ObjectFilter {
            attributes: vec![common.clone()],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![common.clone(), (custom("x-Name"), t("vm-3"))],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![common.clone()],
            groups: vec![g2],
            states: vec![State::ACTIVE],
            ..Default::default()
        },
        ObjectFilter {
            attributes: vec![(custom("x-Name"), t("vm-3"))],
            name: Some("n-00042".into()),
            ..Default::default()
        },
    ] {
        agrees(store, a, &all, &f);
        for (offset, limit) in [
            (0, Some(50)),
            (950, Some(50)),
            (990, Some(20)),
            (1_500, Some(50)),
        ] {
            for key in [SortKey::Created, SortKey::Updated, SortKey::Name] {
                for descending in [false, true] {
                    let paged = ObjectFilter {
                        offset,
                        limit,
                        sort: ObjectSort { key, descending },
                        ..f.clone()
                    };
                    assert_eq!(
                        store.locate(a, &paged).unwrap(),
                        oracle(&all, &paged).unwrap(),
                        "{paged:?}"
                    );
                }
            }
        }
    }
    assert_eq!(
        store
            .count_objects(
                a,
                &ObjectFilter {
                    attributes: vec![common.clone()],
                    ..Default::default()
                }
            )
            .unwrap(),
        2_300 - 100
    );
    assert_eq!(
        store
            .count_objects(
                b,
                &ObjectFilter {
                    attributes: vec![common],
                    ..Default::default()
                }
            )
            .unwrap(),
        2_100
    );
}
