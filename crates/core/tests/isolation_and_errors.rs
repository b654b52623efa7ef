//! Tenant isolation (another account's object answers exactly like an
//! identifier that does not exist) and the error paths of the object operations.

mod common;

use kmip::attributes::{Attribute, AttributeReference, Attributes, InlineAttributes, Wrapped};
use kmip::enums::*;
use kmip::messages::*;
use kmip::payloads::*;
use kmip::{Tag, Value};
use skms_core::ops::Caller;
use skms_test_support::requests::{aes_attributes, message as msg};

fn one(
    server: &common::Server,
    who: &Caller,
    v: (i32, i32),
    p: RequestPayload,
) -> ResponseBatchItem {
    server.call(who, msg(v, vec![p])).batch_items.remove(0)
}

fn aes(len: i32) -> Attributes {
    Attributes::new(aes_attributes(len))
}

fn create(server: &common::Server, who: &Caller, v: (i32, i32)) -> String {
    let r = one(
        server,
        who,
        v,
        CreateRequest {
            object_type: ObjectType::SYMMETRIC_KEY,
            attributes: aes(256),
            protection_storage_masks: None,
        }
        .into(),
    );
    let Some(ResponsePayload::Create(c)) = r.payload else {
        panic!("{r:?}")
    };
    c.unique_identifier
}

fn x_attr(v: &str) -> Attribute {
    Attribute::custom("x-Tag", Value::TextString(v.into()))
}

/// Every object operation on `uid`.
fn probes(uid: &str) -> Vec<RequestPayload> {
    let u = Some(uid.to_string());
    vec![
        GetRequest {
            unique_identifier: u.clone(),
            ..Default::default()
        }
        .into(),
        GetAttributesRequest {
            unique_identifier: u.clone(),
            attribute_reference: vec![],
        }
        .into(),
        GetAttributeListRequest {
            unique_identifier: u.clone(),
        }
        .into(),
        AddAttributeRequest {
            unique_identifier: u.clone(),
            attribute: Wrapped(x_attr("a")),
        }
        .into(),
        ModifyAttributeRequest {
            unique_identifier: u.clone(),
            current_attribute: Default::default(),
            new_attribute: Wrapped(x_attr("b")),
        }
        .into(),
        DeleteAttributeRequest {
            unique_identifier: u.clone(),
            current_attribute: Default::default(),
            attribute_reference: Some(AttributeReference(x_attr("").name)),
            attribute_index: None,
        }
        .into(),
        ActivateRequest {
            unique_identifier: u.clone(),
        }
        .into(),
        RevokeRequest {
            unique_identifier: u.clone(),
            revocation_reason: RevocationReason {
                revocation_reason_code: RevocationReasonCode::KEY_COMPROMISE,
                revocation_message: None,
            },
            compromise_occurrence_date: None,
        }
        .into(),
        DestroyRequest {
            unique_identifier: u.clone(),
        }
        .into(),
        ReKeyRequest {
            unique_identifier: u,
            ..Default::default()
        }
        .into(),
    ]
}

#[test]
fn another_accounts_object_is_answered_like_a_missing_one() {
    let server = common::Server::new(1_700_000_000);
    let a = server.tenant("alpha");
    let b = server.tenant("beta");
    for v in [(1, 1), (1, 4), (2, 1)] {
        let theirs = create(&server, &b, v);
        let missing = uuid::Uuid::new_v4().to_string();
        for (p_theirs, p_missing) in probes(&theirs).into_iter().zip(probes(&missing)) {
            let op = p_theirs.operation();
            let r1 = one(&server, &a, v, p_theirs);
            let r2 = one(&server, &a, v, p_missing);
            assert_eq!(
                r1.result_status,
                ResultStatus::OPERATION_FAILED,
                "{op:?} {v:?}"
            );
            let want = if v.0 >= 2 {
                ResultReason::OBJECT_NOT_FOUND
            } else {
                ResultReason::ITEM_NOT_FOUND
            };
            assert_eq!(r1.result_reason, Some(want), "{op:?} {v:?}");
            assert_eq!(r1, r2, "{op:?} {v:?}: differs from a missing id");
        }
        // Locate never shows it.
        let r = one(
            &server,
            &a,
            v,
            LocateRequest {
                attributes: InlineAttributes(Some(Attributes::new(vec![Attribute::new(
                    Tag::UNIQUE_IDENTIFIER,
                    Value::TextString(theirs.clone()),
                )]))),
                ..Default::default()
            }
            .into(),
        );
        let Some(ResponsePayload::Locate(l)) = r.payload else {
            panic!("{r:?}")
        };
        assert!(l.unique_identifier.is_empty());
        // and the owner still has it, untouched.
        let r = one(
            &server,
            &b,
            v,
            GetAttributesRequest {
                unique_identifier: Some(theirs),
                attribute_reference: vec![AttributeReference(
                    kmip::attributes::AttributeName::Standard(Tag::STATE),
                )],
            }
            .into(),
        );
        let Some(ResponsePayload::GetAttributes(g)) = r.payload else {
            panic!("{r:?}")
        };
        assert_eq!(g.attributes.0.unwrap().state(), Some(State::PRE_ACTIVE));
    }
}

#[test]
fn error_paths_answer_the_reason_of_the_version() {
    let server = common::Server::new(1_700_000_000);
    let me = server.tenant("gamma");
    let create_with = |attrs: Attributes| {
        one(
            &server,
            &me,
            (1, 4),
            CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: attrs,
                protection_storage_masks: None,
            }
            .into(),
        )
    };
    // bad or missing algorithm and length
    for attrs in [
        aes(100),
        Attributes::new(vec![]),
        Attributes::new(vec![
            Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(CryptographicAlgorithm::RSA.0),
            ),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(2048)),
        ]),
    ] {
        let r = create_with(attrs);
        assert_eq!(r.result_reason, Some(ResultReason::INVALID_FIELD), "{r:?}");
        assert!(r.result_message.unwrap().contains("Cryptographic"));
    }
    // a client may not set server attributes
    let mut attrs = aes(128);
    attrs.push(Attribute::new(
        Tag::STATE,
        Value::Enumeration(State::ACTIVE.0),
    ));
    assert_eq!(
        create_with(attrs).result_reason,
        Some(ResultReason::INVALID_FIELD)
    );
    // an Activation Date already reached makes it Active at once
    let mut attrs = aes(128);
    attrs.push(Attribute::new(
        Tag::ACTIVATION_DATE,
        Value::DateTime(1_600_000_000),
    ));
    let r = create_with(attrs);
    let Some(ResponsePayload::Create(c)) = r.payload else {
        panic!()
    };
    let state = |uid: &str, v| {
        let r = one(
            &server,
            &me,
            v,
            GetAttributesRequest {
                unique_identifier: Some(uid.into()),
                attribute_reference: vec![AttributeReference(
                    kmip::attributes::AttributeName::Standard(Tag::STATE),
                )],
            }
            .into(),
        );
        let Some(ResponsePayload::GetAttributes(g)) = r.payload else {
            panic!("{r:?}")
        };
        g.attributes.0.unwrap().state().unwrap()
    };
    assert_eq!(state(&c.unique_identifier, (1, 4)), State::ACTIVE);

    for (v, wrong) in [
        ((1, 4), ResultReason::PERMISSION_DENIED),
        ((2, 1), ResultReason::WRONG_KEY_LIFECYCLE_STATE),
    ] {
        let uid = create(&server, &me, v);
        let u = Some(uid.clone());
        // unsupported format, wrapping
        let r = one(
            &server,
            &me,
            v,
            GetRequest {
                unique_identifier: u.clone(),
                key_format_type: Some(KeyFormatType::PKCS_8),
                ..Default::default()
            }
            .into(),
        );
        assert_eq!(
            r.result_reason,
            Some(ResultReason::KEY_FORMAT_TYPE_NOT_SUPPORTED)
        );
        let r = one(
            &server,
            &me,
            v,
            GetRequest {
                unique_identifier: u.clone(),
                key_format_type: Some(KeyFormatType::TRANSPARENT_SYMMETRIC_KEY),
                ..Default::default()
            }
            .into(),
        );
        assert_eq!(r.result_status, ResultStatus::SUCCESS, "{r:?}");
        // a second instance of a single-valued attribute
        let mask = Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(4));
        let r = one(
            &server,
            &me,
            v,
            AddAttributeRequest {
                unique_identifier: u.clone(),
                attribute: Wrapped(mask),
            }
            .into(),
        );
        let single = if v.0 >= 2 {
            ResultReason::ATTRIBUTE_SINGLE_VALUED
        } else {
            ResultReason::ILLEGAL_OPERATION
        };
        assert_eq!(r.result_reason, Some(single));
        // read-only attributes
        let r = one(
            &server,
            &me,
            v,
            AddAttributeRequest {
                unique_identifier: u.clone(),
                attribute: Wrapped(Attribute::new(Tag::DESTROY_DATE, Value::DateTime(1))),
            }
            .into(),
        );
        let ro = if v.0 >= 2 {
            ResultReason::ATTRIBUTE_READ_ONLY
        } else {
            ResultReason::PERMISSION_DENIED
        };
        assert_eq!(r.result_reason, Some(ro));
        // modify an attribute it lacks
        let r = one(
            &server,
            &me,
            v,
            ModifyAttributeRequest {
                unique_identifier: u.clone(),
                current_attribute: Default::default(),
                new_attribute: Wrapped(x_attr("z")),
            }
            .into(),
        );
        assert_eq!(r.result_status, ResultStatus::OPERATION_FAILED);
        // revoke (not compromise) while Pre-Active: no such transition
        let r = one(
            &server,
            &me,
            v,
            RevokeRequest {
                unique_identifier: u.clone(),
                revocation_reason: RevocationReason {
                    revocation_reason_code: RevocationReasonCode::SUPERSEDED,
                    revocation_message: None,
                },
                compromise_occurrence_date: None,
            }
            .into(),
        );
        assert_eq!(r.result_reason, Some(wrong));
        // activate, then destroy is refused while Active
        one(
            &server,
            &me,
            v,
            ActivateRequest {
                unique_identifier: u.clone(),
            }
            .into(),
        );
        let r = one(
            &server,
            &me,
            v,
            DestroyRequest {
                unique_identifier: u.clone(),
            }
            .into(),
        );
        assert_eq!(r.result_reason, Some(wrong));
        // re-key: the replacement links back, the old one forward
        let r = one(
            &server,
            &me,
            v,
            ReKeyRequest {
                unique_identifier: u.clone(),
                offset: Some(kmip::typed::Interval(60)),
                ..Default::default()
            }
            .into(),
        );
        let Some(ResponsePayload::ReKey(rk)) = r.payload else {
            panic!("{r:?}")
        };
        assert_ne!(rk.unique_identifier, uid);
        // revoke superseded → Deactivated; destroy → Destroyed; Get → destroyed
        one(
            &server,
            &me,
            v,
            RevokeRequest {
                unique_identifier: u.clone(),
                revocation_reason: RevocationReason {
                    revocation_reason_code: RevocationReasonCode::SUPERSEDED,
                    revocation_message: None,
                },
                compromise_occurrence_date: None,
            }
            .into(),
        );
        assert_eq!(state(&uid, v), State::DEACTIVATED);
        let r = one(
            &server,
            &me,
            v,
            DestroyRequest {
                unique_identifier: u.clone(),
            }
            .into(),
        );
        assert_eq!(r.result_status, ResultStatus::SUCCESS);
        assert_eq!(state(&uid, v), State::DESTROYED);
        let r = one(
            &server,
            &me,
            v,
            GetRequest {
                unique_identifier: u.clone(),
                ..Default::default()
            }
            .into(),
        );
        let gone = if v.0 >= 2 {
            ResultReason::OBJECT_DESTROYED
        } else {
            ResultReason::KEY_VALUE_NOT_PRESENT
        };
        assert_eq!(r.result_reason, Some(gone));
        // compromise after destruction → Destroyed Compromised
        one(
            &server,
            &me,
            v,
            RevokeRequest {
                unique_identifier: u.clone(),
                revocation_reason: RevocationReason {
                    revocation_reason_code: RevocationReasonCode::KEY_COMPROMISE,
                    revocation_message: None,
                },
                compromise_occurrence_date: None,
            }
            .into(),
        );
        assert_eq!(state(&uid, v), State::DESTROYED_COMPROMISED);
    }
}

#[test]
fn batch_semantics_placeholder_undo_and_response_size() {
    let server = common::Server::new(1_700_000_000);
    let me = server.tenant("delta");
    let create: RequestPayload = CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: aes(128),
        protection_storage_masks: None,
    }
    .into();
    // Create then Activate with the ID Placeholder.
    let resp = server.call(
        &me,
        msg(
            (1, 4),
            vec![
                create.clone(),
                ActivateRequest {
                    unique_identifier: None,
                }
                .into(),
            ],
        ),
    );
    assert!(
        resp.batch_items
            .iter()
            .all(|i| i.result_status == ResultStatus::SUCCESS),
        "{resp:?}"
    );
    // Stop: the first failure ends the batch.
    let bad: RequestPayload = ActivateRequest {
        unique_identifier: Some("nope".into()),
    }
    .into();
    let resp = server.call(&me, msg((1, 4), vec![bad.clone(), create.clone()]));
    assert_eq!(resp.batch_items.len(), 1);
    // Continue: the rest runs.
    let mut m = msg((1, 4), vec![bad.clone(), create.clone()]);
    m.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::CONTINUE);
    let resp = server.call(&me, m);
    assert_eq!(resp.batch_items.len(), 2);
    assert_eq!(resp.batch_items[1].result_status, ResultStatus::SUCCESS);
    // Undo of several items is refused before anything runs.
    let mut m = msg((1, 4), vec![create.clone(), bad]);
    m.header.batch_error_continuation_option = Some(BatchErrorContinuationOption::UNDO);
    let resp = server.call(&me, m);
    assert_eq!(
        resp.batch_items[0].result_reason,
        Some(ResultReason::FEATURE_NOT_SUPPORTED)
    );
    assert_eq!(resp.batch_items.len(), 1);
    // Maximum Response Size.
    let mut m = msg(
        (1, 4),
        vec![QueryRequest {
            query_function: vec![
                QueryFunction::QUERY_OPERATIONS,
                QueryFunction::QUERY_OBJECTS,
            ],
        }
        .into()],
    );
    m.header.maximum_response_size = Some(256);
    let resp = server.call(&me, m);
    assert_eq!(
        resp.batch_items[0].result_reason,
        Some(ResultReason::RESPONSE_TOO_LARGE)
    );
    assert_eq!(resp.batch_items[0].operation, Some(Operation::QUERY));
    // RNG Retrieve.
    let r = one(
        &server,
        &me,
        (1, 4),
        RngRetrieveRequest { data_length: 32 }.into(),
    );
    let Some(ResponsePayload::RngRetrieve(g)) = r.payload else {
        panic!("{r:?}")
    };
    assert_eq!(g.data.len(), 32);
    let r = one(
        &server,
        &me,
        (1, 4),
        RngRetrieveRequest { data_length: 0 }.into(),
    );
    assert_eq!(r.result_reason, Some(ResultReason::INVALID_FIELD));
}
