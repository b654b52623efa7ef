//! The vCenter conversations of `shared/interop/vsphere-kmip.md` replayed over
//! real TLS in vCenter's connection pattern: every connection opens with a
//! Discover Versions without a batch ID, carries 1–4 requests and closes.
//!
//! * vCenter 7.0.3 (Appendix A) with mutual TLS: a self-signed client
//!   certificate pinned to the app, no credential in any request.
//! * vCenter 8.0.1 (Appendix B) with password protection and no client
//!   certificate: the credential only on Create, Get, Get Attributes(State)
//!   and Activate, none on Discover Versions and the `x-` requests.

mod common;

use common::*;
use kmip::attributes::AttributeReference;
use kmip::enums::*;
use kmip::messages::*;
use kmip::payloads::*;
use std::collections::HashMap;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

type Tls = TlsStream<TcpStream>;

const QLKC1: &[u8] = b"QLKC\x01\0\0\0";

/// Header checks every response must pass: version 1.1 echoed, a time stamp
/// of now, the batch count matching the items.
fn check_header(r: &ResponseMessage, what: &str) {
    assert_eq!(
        r.header.protocol_version,
        ProtocolVersion::new(1, 1),
        "{what}: version 1.1 echoed"
    );
    assert_eq!(
        r.header.batch_count as usize,
        r.batch_items.len(),
        "{what}: batch count"
    );
    let now = unix_now();
    assert!(
        (r.header.time_stamp.0 - now).abs() < 60,
        "{what}: time stamp {} is not now ({now})",
        r.header.time_stamp.0
    );
}

/// The single item of a successful response, with its checks: operation,
/// batch ID echoed (or absent when absent).
fn single_ok<'a>(
    r: &'a ResponseMessage,
    op: Operation,
    id: Option<&[u8]>,
    what: &str,
) -> &'a ResponsePayload {
    check_header(r, what);
    assert_eq!(r.batch_items.len(), 1, "{what}");
    let item = &r.batch_items[0];
    assert_eq!(
        item.result_status,
        ResultStatus::SUCCESS,
        "{what}: {item:?}"
    );
    assert_eq!(item.result_reason, None, "{what}");
    assert_eq!(item.operation, Some(op), "{what}");
    assert_eq!(
        item.unique_batch_item_id.as_ref().map(|b| b.as_slice()),
        id,
        "{what}: batch ID"
    );
    item.payload.as_ref().expect("payload")
}

/// The opening Discover Versions (A1): no batch ID asked, none echoed; 1.1 offered.
async fn opening_dv(s: &mut Tls) {
    let r = exchange(s, &request_bytes("A1.")).await;
    match single_ok(&r, Operation::DISCOVER_VERSIONS, None, "A1 DV") {
        ResponsePayload::DiscoverVersions(p) => {
            assert!(
                p.protocol_version.contains(&ProtocolVersion::new(1, 1)),
                "{p:?}"
            )
        }
        other => panic!("{other:?}"),
    }
}

async fn create(s: &mut Tls, req: RequestMessage, what: &str) -> String {
    let r = exchange(s, &req.encode()).await;
    let ResponsePayload::Create(c) = single_ok(&r, Operation::CREATE, Some(QLKC1), what) else {
        panic!("{what}: {r:?}")
    };
    assert_eq!(c.object_type, ObjectType::SYMMETRIC_KEY, "{what}");
    assert_eq!(c.attributes, None, "{what}");
    assert!(
        is_uuid(&c.unique_identifier),
        "{what}: {}",
        c.unique_identifier
    );
    c.unique_identifier.clone()
}

/// A Get Attributes of one absent `x-` attribute: Success with only the UID,
/// and no Attribute item at all on the wire.
async fn absent_x(s: &mut Tls, req: RequestMessage, uid: &str, what: &str) {
    let (bytes, r) = exchange_raw(s, &req.encode()).await;
    let ResponsePayload::GetAttributes(g) =
        single_ok(&r, Operation::GET_ATTRIBUTES, Some(QLKC1), what)
    else {
        panic!("{what}")
    };
    assert_eq!(g.unique_identifier, uid, "{what}");
    assert!(
        g.attributes.0.as_ref().is_none_or(|a| a.items.is_empty()),
        "{what}: {g:?}"
    );
    assert!(
        !bytes.windows(3).any(|w| w == [0x42, 0x00, 0x08]),
        "{what}: an Attribute item was sent"
    );
}

/// A batch of three Add Attribute: three Successes, IDs QLKC01..03 echoed,
/// the attribute echoed (KMIP 1.x).
async fn add_three(s: &mut Tls, req: RequestMessage, uid: &str, what: &str) {
    let sent: Vec<_> = req
        .batch_items
        .iter()
        .map(|i| (i.unique_batch_item_id.clone(), i.payload.clone()))
        .collect();
    assert_eq!(sent.len(), 3);
    let r = exchange(s, &req.encode()).await;
    check_header(&r, what);
    assert_eq!(r.header.batch_count, 3, "{what}");
    assert_eq!(r.batch_items.len(), 3, "{what}");
    for (n, (item, (id, payload))) in r.batch_items.iter().zip(&sent).enumerate() {
        assert_eq!(
            item.result_status,
            ResultStatus::SUCCESS,
            "{what}: {item:?}"
        );
        assert_eq!(item.operation, Some(Operation::ADD_ATTRIBUTE), "{what}");
        assert_eq!(
            item.unique_batch_item_id.as_ref().map(|b| b.as_slice()),
            Some(&[b'Q', b'L', b'K', b'C', n as u8 + 1, 0, 0, 0][..]),
            "{what}"
        );
        assert_eq!(&item.unique_batch_item_id, id, "{what}");
        let (Some(ResponsePayload::AddAttribute(a)), RequestPayload::AddAttribute(q)) =
            (&item.payload, payload)
        else {
            panic!("{what}: {item:?}")
        };
        assert_eq!(a.unique_identifier, uid, "{what}");
        assert_eq!(
            a.attribute.as_ref().map(|a| &a.0),
            Some(&q.attribute.0),
            "{what}: 1.x echoes the attribute"
        );
    }
}

/// Get (A9): a Raw AES-256 key of 32 bytes, allowed while Pre-Active.
async fn get_key(s: &mut Tls, req: RequestMessage, uid: &str, what: &str) -> Vec<u8> {
    let r = exchange(s, &req.encode()).await;
    let ResponsePayload::Get(g) = single_ok(&r, Operation::GET, Some(QLKC1), what) else {
        panic!("{what}")
    };
    assert_eq!(g.unique_identifier, uid);
    raw_aes_256_key(g, what).to_vec()
}

async fn state(s: &mut Tls, req: RequestMessage, uid: &str, what: &str) -> State {
    let r = exchange(s, &req.encode()).await;
    let ResponsePayload::GetAttributes(g) =
        single_ok(&r, Operation::GET_ATTRIBUTES, Some(QLKC1), what)
    else {
        panic!("{what}")
    };
    assert_eq!(g.unique_identifier, uid);
    let attrs = g.attributes.0.as_ref().expect("attributes");
    assert_eq!(attrs.items.len(), 1, "{what}");
    attrs.state().expect("State")
}

async fn activate(s: &mut Tls, req: RequestMessage, uid: &str, what: &str) {
    let r = exchange(s, &req.encode()).await;
    let ResponsePayload::Activate(a) = single_ok(&r, Operation::ACTIVATE, Some(QLKC1), what) else {
        panic!("{what}")
    };
    assert_eq!(a.unique_identifier, uid);
}

/// One Get Attributes naming the six `x-` attributes at once.
fn six_x_request(uid: &str) -> RequestMessage {
    let mut m = with_uid(request("A5."), uid);
    let mut refs: Vec<AttributeReference> = Vec::new();
    for t in ["A5.", "A6.", "A7.", "A12.", "A13.", "A14."] {
        let RequestPayload::GetAttributes(p) = &request(t).batch_items[0].payload else {
            panic!()
        };
        refs.extend(p.attribute_reference.iter().cloned());
    }
    let RequestPayload::GetAttributes(p) = &mut m.batch_items[0].payload else {
        panic!()
    };
    p.attribute_reference = refs;
    m
}

/// The six `x-` values of a key.
async fn x_values(s: &mut Tls, req: RequestMessage, uid: &str) -> HashMap<String, String> {
    let r = exchange(s, &req.encode()).await;
    let ResponsePayload::GetAttributes(g) =
        single_ok(&r, Operation::GET_ATTRIBUTES, Some(QLKC1), "x- values")
    else {
        panic!()
    };
    assert_eq!(g.unique_identifier, uid);
    let attrs = g.attributes.0.as_ref().expect("attributes");
    let mut out = HashMap::new();
    for n in [
        "x-Product_Version",
        "x-Vendor",
        "x-Product",
        "x-Identifier",
        "x-Component",
        "x-Name",
    ] {
        if let Some(v) = attrs.custom_text(n) {
            out.insert(n.to_string(), v.to_string());
        }
    }
    assert_eq!(
        attrs.items.len(),
        out.len(),
        "only the six x- attributes: {attrs:?}"
    );
    out
}

fn expected_x(
    version: Option<&str>,
    identifier: &str,
    component: &str,
    name: &str,
) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = [
        ("x-Identifier", identifier),
        ("x-Component", component),
        ("x-Name", name),
    ]
    .into_iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    if let Some(version) = version {
        for (a, b) in [
            ("x-Product_Version", version),
            ("x-Vendor", "VMware, Inc."),
            ("x-Product", "VMware vSphere"),
        ] {
            out.insert(a.to_string(), b.to_string());
        }
    }
    out
}

const HOST_UUID: &str = "8c164d56-7f1c-5960-63e6-4451c6181844";
const VM_UUID: &str = "4226f566-3ed5-1c8f-cda3-b0b037b6dc97";

async fn close(mut s: Tls) {
    let _ = s.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vcenter_7_conversation_over_mutual_tls_with_a_pinned_certificate() {
    let f = start("vc7", Duration::from_secs(10)).await;
    let cert = self_signed("kmipClient20231012094708");
    pin(&f, &cert).await;
    let config = client_config(&f, Some(&cert));
    let addr = f.server.kmip_addr;

    // Health check: a TLS connection that closes without a message, then DV (no ID) + DV (QLKC01).
    let s = connect_with(config.clone(), addr).await;
    close(s).await;
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let r = exchange(&mut s, &request_bytes("A2.")).await;
    single_ok(&r, Operation::DISCOVER_VERSIONS, Some(QLKC1), "A2 DV");
    close(s).await;

    // Connection 1: DV + Query (Server Information).
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let r = exchange(&mut s, &request_bytes("A3.")).await;
    match single_ok(&r, Operation::QUERY, Some(QLKC1), "A3 Query") {
        ResponsePayload::Query(q) => {
            assert!(
                q.vendor_identification
                    .as_deref()
                    .unwrap_or_default()
                    .contains("Sovereign KMS"),
                "{q:?}"
            )
        }
        other => panic!("{other:?}"),
    }
    close(s).await;

    // Connection 2: DV + Create ×2 (VM key = PyKMIP's "1", host key = "2").
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let vm = create(&mut s, request("A4."), "A4 Create (VM key)").await;
    let host = create(&mut s, request("A4."), "A4 Create (host key)").await;
    assert_ne!(vm, host);
    close(s).await;
    let (vm2, host2) = (vm.clone(), host.clone());
    let map = move |u: &str| match u {
        "1" => vm2.clone(),
        "2" => host2.clone(),
        other => panic!("unexpected PyKMIP id {other}"),
    };

    // Connection 3: DV + 3 × Get Attributes (x-Product_Version, x-Vendor, x-Product) + Add Attribute ×3.
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    for t in ["A5.", "A6.", "A7."] {
        absent_x(&mut s, map_uids(request(t), &map), &vm, t).await;
    }
    add_three(&mut s, map_uids(request("A8."), &map), &vm, "A8").await;
    close(s).await;

    // Connection 4: DV + Get + Get Attributes(State) + Activate (host key "2").
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let key = get_key(&mut s, map_uids(request("A9."), &map), &host, "A9 Get").await;
    assert_eq!(
        state(&mut s, map_uids(request("A10."), &map), &host, "A10").await,
        State::PRE_ACTIVE
    );
    activate(
        &mut s,
        map_uids(request("A11."), &map),
        &host,
        "A11 Activate",
    )
    .await;
    close(s).await;

    // Connection 5: DV + x-Identifier/x-Component/x-Name + Add Attribute ×3 (host key).
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    for t in ["A12.", "A13.", "A14."] {
        absent_x(&mut s, map_uids(request(t), &map), &host, t).await;
    }
    add_three(&mut s, map_uids(request("A15."), &map), &host, "A15").await;
    close(s).await;

    // Connection 6: the same for the VM key (A12-A14 aimed at "1") + A16.
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    for t in ["A12.", "A13.", "A14."] {
        absent_x(&mut s, with_uid(request(t), &vm), &vm, t).await;
    }
    add_three(&mut s, map_uids(request("A16."), &map), &vm, "A16").await;
    close(s).await;

    // Afterwards: the six x- values, the host key Active and unchanged, the VM key still Pre-Active.
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    assert_eq!(
        x_values(&mut s, six_x_request(&host), &host).await,
        expected_x(
            None, // vCenter tags the product on the VM key only
            HOST_UUID,
            "ESXi Server",
            "172.16.220.132"
        )
    );
    assert_eq!(
        x_values(&mut s, six_x_request(&vm), &vm).await,
        expected_x(
            Some("7.0.3 build-19480866"),
            VM_UUID,
            "Virtual Machine",
            "test01"
        )
    );
    assert_eq!(
        state(&mut s, with_uid(request("A10."), &host), &host, "state").await,
        State::ACTIVE
    );
    assert_eq!(
        state(&mut s, with_uid(request("A10."), &vm), &vm, "state").await,
        State::PRE_ACTIVE
    );
    assert_eq!(
        get_key(&mut s, with_uid(request("A9."), &host), &host, "Get again").await,
        key
    );
    close(s).await;

    // Without the pinned certificate the same key is out of reach.
    let mut s = connect(&f, None).await;
    opening_dv(&mut s).await;
    let r = exchange(&mut s, &with_uid(request("A9."), &host).encode()).await;
    assert_eq!(
        r.batch_items[0].result_reason,
        Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL)
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn vcenter_8_password_credential_only_on_some_requests() {
    let f = start("vc8", Duration::from_secs(10)).await;
    let (user, pw) = (f.user(), f.secret.clone());
    let cred = |m: RequestMessage| with_password(m, &user, &pw);
    // vCenter 8.0.1's product version in the A8 batch.
    let a8_801 = |uid: &str| {
        let mut m = with_uid(request("A8."), uid);
        let RequestPayload::AddAttribute(p) = &mut m.batch_items[0].payload else {
            panic!()
        };
        p.attribute.0.value = kmip::Value::TextString("8.0.1 build-21560480".into());
        m
    };
    let addr = f.server.kmip_addr;
    let config = client_config(&f, None);

    // Health check, no credential anywhere: served anonymously.
    let s = connect_with(config.clone(), addr).await;
    close(s).await;
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let r = exchange(&mut s, &request_bytes("A2.")).await;
    single_ok(&r, Operation::DISCOVER_VERSIONS, Some(QLKC1), "A2 DV");
    close(s).await;

    // DV (no credential) + Create ×2 (credential), then the product tags without one:
    // served as the app the Create's credential established on this connection.
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let vm = create(&mut s, cred(request("A4.")), "Create (VM key)").await;
    let host = create(&mut s, cred(request("A4.")), "Create (host key)").await;
    for t in ["A5.", "A6.", "A7."] {
        absent_x(&mut s, with_uid(request(t), &vm), &vm, t).await;
    }
    add_three(&mut s, a8_801(&vm), &vm, "A8 (8.0.1)").await;
    close(s).await;

    // DV + Get, Get Attributes(State), Activate (credential each) + usage tags (none).
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let key = get_key(&mut s, cred(with_uid(request("A9."), &host)), &host, "Get").await;
    assert_eq!(
        state(
            &mut s,
            cred(with_uid(request("A10."), &host)),
            &host,
            "State"
        )
        .await,
        State::PRE_ACTIVE
    );
    activate(
        &mut s,
        cred(with_uid(request("A11."), &host)),
        &host,
        "Activate",
    )
    .await;
    for t in ["A12.", "A13.", "A14."] {
        absent_x(&mut s, with_uid(request(t), &host), &host, t).await;
    }
    add_three(&mut s, with_uid(request("A15."), &host), &host, "A15").await;
    close(s).await;

    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    get_key(
        &mut s,
        cred(with_uid(request("A9."), &vm)),
        &vm,
        "Get VM key",
    )
    .await;
    for t in ["A12.", "A13.", "A14."] {
        absent_x(&mut s, with_uid(request(t), &vm), &vm, t).await;
    }
    add_three(&mut s, with_uid(request("A16."), &vm), &vm, "A16").await;
    close(s).await;

    // A connection whose requests carry no credential at all: DV works, the x- requests do not.
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let r = exchange(&mut s, &with_uid(request("A12."), &vm).encode()).await;
    check_header(&r, "anonymous x-");
    let item = &r.batch_items[0];
    assert_failed(item, ResultReason::AUTHENTICATION_NOT_SUCCESSFUL);
    assert_eq!(
        item.unique_batch_item_id.as_ref().map(|b| b.as_slice()),
        Some(QLKC1)
    );
    let r = exchange(&mut s, &with_uid(request("A16."), &vm).encode()).await;
    check_header(&r, "anonymous Add Attribute");
    // Batch Error Continuation Option defaults to Stop: the first failure ends the batch.
    assert!((1..=3).contains(&r.batch_items.len()), "{r:?}");
    assert_eq!(
        r.batch_items[0]
            .unique_batch_item_id
            .as_ref()
            .map(|b| b.as_slice()),
        Some(QLKC1)
    );
    for item in &r.batch_items {
        assert_failed(item, ResultReason::AUTHENTICATION_NOT_SUCCESSFUL);
    }
    // The connection is still usable: a credential now makes it the app.
    assert_eq!(
        state(
            &mut s,
            cred(with_uid(request("A10."), &host)),
            &host,
            "State"
        )
        .await,
        State::ACTIVE
    );
    absent_x(
        &mut s,
        with_uid(request("A5."), &host),
        &host,
        "A5 after auth",
    )
    .await;
    close(s).await;

    // Another tenant's credential on a connection: the x- requests that follow are that
    // tenant's, and do not see our keys.
    let (other, other_pw) = other_tenant(&f, "globex").await;
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    let theirs = create(
        &mut s,
        with_password(request("A4."), &other.id.to_string(), &other_pw),
        "their Create",
    )
    .await;
    let r = exchange(&mut s, &with_uid(request("A12."), &vm).encode()).await;
    let item = &r.batch_items[0];
    assert_failed(item, ResultReason::ITEM_NOT_FOUND);
    absent_x(
        &mut s,
        with_uid(request("A12."), &theirs),
        &theirs,
        "their x-",
    )
    .await;
    close(s).await;

    // Afterwards, the six x- values (8.0.1 product version), the host key Active.
    let mut s = connect_with(config.clone(), addr).await;
    opening_dv(&mut s).await;
    assert_eq!(
        x_values(&mut s, cred(six_x_request(&host)), &host).await,
        expected_x(
            None, // vCenter tags the product on the VM key only
            HOST_UUID,
            "ESXi Server",
            "172.16.220.132"
        )
    );
    assert_eq!(
        x_values(&mut s, six_x_request(&vm), &vm).await,
        expected_x(
            Some("8.0.1 build-21560480"),
            VM_UUID,
            "Virtual Machine",
            "test01"
        )
    );
    assert_eq!(
        get_key(&mut s, with_uid(request("A9."), &host), &host, "Get again").await,
        key
    );
    close(s).await;
    f.server.stop().await;
}
