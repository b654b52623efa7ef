//! The vCenter 7.0.3 conversation of `shared/interop/vsphere-kmip.md`
//! Appendix A, replayed request by request through `handle_message` as an app,
//! with our identifiers in place of PyKMIP's "1" and "2".

mod common;

use kmip::attributes::AttributeName;
use kmip::enums::*;
use kmip::messages::*;
use kmip::payloads::*;
use kmip::typed::Ctx;
use kmip::Value;
use skms_test_support::vcenter::{raw_aes_256_key, request, with_uid};

fn ok(resp: &ResponseMessage) -> &ResponsePayload {
    assert_eq!(resp.header.protocol_version, ProtocolVersion::new(1, 1));
    assert_eq!(resp.batch_items.len(), 1);
    let item = &resp.batch_items[0];
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    item.payload.as_ref().expect("payload")
}

fn create(server: &common::Server, app: &skms_core::ops::Caller) -> String {
    let resp = server.call(app, request("A4."));
    let ResponsePayload::Create(c) = ok(&resp) else {
        panic!("{resp:?}")
    };
    assert_eq!(c.object_type, ObjectType::SYMMETRIC_KEY);
    assert_eq!(c.attributes, None);
    assert!(
        c.unique_identifier.parse::<uuid::Uuid>().is_ok(),
        "{}",
        c.unique_identifier
    );
    c.unique_identifier.clone()
}

fn state_of(server: &common::Server, app: &skms_core::ops::Caller, uid: &str) -> State {
    let resp = server.call(app, with_uid(request("A10."), uid));
    let ResponsePayload::GetAttributes(g) = ok(&resp) else {
        panic!()
    };
    let attrs = g.attributes.0.as_ref().expect("attributes");
    assert_eq!(attrs.items.len(), 1);
    attrs.state().expect("State")
}

#[test]
fn vcenter_7_conversation_succeeds_step_by_step() {
    let server = common::Server::new(1_700_000_000);
    let app = server.tenant("vsphere");

    // A1-A3: anonymous discovery works, and as the app too.
    for t in ["A1.", "A2.", "A3."] {
        let resp = server.call(&app, request(t));
        assert_eq!(
            resp.batch_items[0].result_status,
            ResultStatus::SUCCESS,
            "{t}"
        );
    }

    // A4: Create → a UUID. Two keys: the host key ("1") and the VM key ("2").
    let host = create(&server, &app);
    let vm = create(&server, &app);
    assert_ne!(host, vm);

    // A5-A7: absent x- attributes → Success with the UID only.
    for t in ["A5.", "A6.", "A7.", "A12.", "A13.", "A14."] {
        let resp = server.call(&app, with_uid(request(t), &host));
        let ResponsePayload::GetAttributes(g) = ok(&resp) else {
            panic!("{t}")
        };
        assert_eq!(g.unique_identifier, host, "{t}");
        assert!(
            g.attributes.0.as_ref().is_none_or(|a| a.items.is_empty()),
            "{t}: {g:?}"
        );
        // and it is the bytes vCenter expects: no Attribute item at all
        let bytes = resp.clone().encode();
        assert!(
            !bytes.windows(3).any(|w| w == [0x42, 0x00, 0x08]),
            "{t}: an Attribute item was sent"
        );
    }

    // A8, A15, A16: batches of three Add Attribute → three successes with echoed batch IDs.
    for (t, uid) in [("A8.", &host), ("A15.", &host), ("A16.", &vm)] {
        let req = with_uid(request(t), uid);
        let sent: Vec<_> = req
            .batch_items
            .iter()
            .map(|i| (i.unique_batch_item_id.clone(), i.payload.clone()))
            .collect();
        let resp = server.call(&app, req);
        assert_eq!(
            resp.header.protocol_version,
            ProtocolVersion::new(1, 1),
            "{t}"
        );
        assert_eq!(resp.header.batch_count, 3, "{t}");
        for (item, (id, payload)) in resp.batch_items.iter().zip(&sent) {
            assert_eq!(item.result_status, ResultStatus::SUCCESS, "{t}: {item:?}");
            assert_eq!(item.operation, Some(Operation::ADD_ATTRIBUTE));
            assert_eq!(&item.unique_batch_item_id, id, "{t}");
            assert!(id.is_some());
            let (Some(ResponsePayload::AddAttribute(r)), RequestPayload::AddAttribute(q)) =
                (&item.payload, payload)
            else {
                panic!("{t}")
            };
            assert_eq!(&r.unique_identifier, uid);
            assert_eq!(
                r.attribute.as_ref().map(|a| &a.0),
                Some(&q.attribute.0),
                "{t}: 1.x echoes the attribute"
            );
        }
    }
    // The tags are now there.
    let resp = server.call(&app, with_uid(request("A14."), &vm));
    let ResponsePayload::GetAttributes(g) = ok(&resp) else {
        panic!()
    };
    assert_eq!(
        g.attributes.0.as_ref().unwrap().custom_text("x-Name"),
        Some("test01")
    );
    assert!(matches!(
        g.attributes.0.as_ref().unwrap().items[0].name,
        AttributeName::Vendor { .. }
    ));

    // A9: Get → Raw AES-256, 32 bytes; allowed while Pre-Active.
    let resp = server.call(&app, with_uid(request("A9."), &vm));
    let ResponsePayload::Get(g) = ok(&resp) else {
        panic!()
    };
    assert_eq!(g.unique_identifier, vm);
    raw_aes_256_key(g, "A9");

    // A10: State → Pre-Active; A11: Activate → then Active.
    assert_eq!(state_of(&server, &app, &vm), State::PRE_ACTIVE);
    let resp = server.call(&app, with_uid(request("A11."), &vm));
    let ResponsePayload::Activate(a) = ok(&resp) else {
        panic!()
    };
    assert_eq!(a.unique_identifier, vm);
    assert_eq!(state_of(&server, &app, &vm), State::ACTIVE);
    // Activating twice is refused as 1.x says (Permission Denied).
    let resp = server.call(&app, with_uid(request("A11."), &vm));
    assert_eq!(
        resp.batch_items[0].result_reason,
        Some(ResultReason::PERMISSION_DENIED)
    );
    // The same key, fetched again, is the same key.
    let again = server.call(&app, with_uid(request("A9."), &vm));
    let ResponsePayload::Get(g2) = ok(&again) else {
        panic!()
    };
    assert_eq!(g2.object, g.object);
    let _ = (Value::Integer(0), Ctx::new(1, 1));
}
