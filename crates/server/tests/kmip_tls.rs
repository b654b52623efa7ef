//! The KMIP listener end to end, over real TLS on loopback: vCenter's opening
//! messages, password and certificate authentication, and robustness against
//! the traffic vCenter and the Internet send (probes, garbage, huge lengths).

use kmip::binary::Limits;
use kmip::enums::{ResultReason, ResultStatus};
use kmip::messages::{ProtocolVersion, ResponseMessage};
use kmip::payloads::ResponsePayload;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

mod common;

use common::{
    assert_discover_versions, assert_failed, client_config, connect, connect_with, request,
    request_bytes, self_signed, ClientCert, Fixture,
};

/// A server with account "acme" and app "vcenter" (10 s idle timeout).
async fn start(name: &str) -> Fixture {
    common::start(name, Duration::from_secs(10)).await
}

async fn read_response<S: AsyncReadExt + Unpin>(s: &mut S) -> ResponseMessage {
    let bytes = common::read_frame(s).await.unwrap();
    ResponseMessage::decode(&bytes, &Limits::default()).unwrap()
}

async fn exchange(s: &mut TlsStream<TcpStream>, request: Vec<u8>) -> ResponseMessage {
    common::exchange(s, &request).await
}

/// The captured request of section `title` (vsphere-kmip.md, "A4.") with a
/// Username and Password credential added.
fn with_password(title: &str, username: &str, password: &str) -> Vec<u8> {
    common::with_password(request(title), username, password).encode()
}

fn reason(r: &ResponseMessage) -> Option<ResultReason> {
    assert_eq!(r.batch_items.len(), 1);
    r.batch_items[0].result_reason
}

/// Create answers Operation Not Supported until the operations land, then Success;
/// either way it was served as an authenticated app.
fn assert_authenticated(r: &ResponseMessage) {
    let item = &r.batch_items[0];
    assert_ne!(
        item.result_reason,
        Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL),
        "{item:?}"
    );
    assert!(
        item.result_status == ResultStatus::SUCCESS
            || item.result_reason == Some(ResultReason::OPERATION_NOT_SUPPORTED),
        "{item:?}"
    );
}

fn assert_unauthenticated(r: &ResponseMessage) {
    assert_eq!(r.batch_items.len(), 1);
    assert_failed(
        &r.batch_items[0],
        ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
    );
}

/// Discover Versions (A1): 1.1 echoed, no batch ID asked and none echoed, 1.1 offered.
async fn discover_versions(s: &mut TlsStream<TcpStream>) {
    let r = exchange(s, request_bytes("A1.")).await;
    assert_eq!(r.header.protocol_version, ProtocolVersion::new(1, 1));
    let item = &r.batch_items[0];
    assert_eq!(item.unique_batch_item_id, None, "no id asked, none echoed");
    assert_discover_versions(&r);
}

#[tokio::test(flavor = "multi_thread")]
async fn vcenter_opening_then_password_authentication() {
    let f = start("password").await;
    let mut s = connect(&f, None).await;
    discover_versions(&mut s).await;
    let r = exchange(&mut s, request_bytes("A3.")).await;
    let item = &r.batch_items[0];
    assert_eq!(item.result_status, ResultStatus::SUCCESS);
    assert_eq!(
        item.unique_batch_item_id.as_ref().map(|b| b.as_ref()),
        Some(&b"QLKC\x01\0\0\0"[..])
    );
    match &item.payload {
        Some(ResponsePayload::Query(q)) => {
            assert!(q
                .vendor_identification
                .as_deref()
                .unwrap()
                .contains("Sovereign KMS"))
        }
        other => panic!("{other:?}"),
    }

    // The credential authenticates this request…
    let user = f.app.id.to_string();
    let r = exchange(&mut s, with_password("A4.", &user, &f.secret)).await;
    assert_authenticated(&r);
    // …and the connection: a later request without one is the same app.
    let r = exchange(&mut s, request_bytes("A4.")).await;
    assert_authenticated(&r);
    drop(s);

    // A new connection starts with nobody.
    let mut s = connect(&f, None).await;
    discover_versions(&mut s).await;
    let r = exchange(&mut s, request_bytes("A4.")).await;
    assert_unauthenticated(&r);
    // A wrong password, or an unknown app, is refused.
    let r = exchange(&mut s, with_password("A4.", &user, "wrong")).await;
    assert_unauthenticated(&r);
    let other = skms_core::ids::AppId::new().to_string();
    let r = exchange(&mut s, with_password("A4.", &other, &f.secret)).await;
    assert_unauthenticated(&r);
    // The right one still works after failures (slowed, not locked out).
    let r = exchange(&mut s, with_password("A4.", &user, &f.secret)).await;
    assert_authenticated(&r);
    // A failed credential ends what the earlier one established on the connection.
    let r = exchange(&mut s, with_password("A4.", &user, "wrong")).await;
    assert_unauthenticated(&r);
    let r = exchange(&mut s, request_bytes("A4.")).await;
    assert_unauthenticated(&r);
    assert_eq!(f.account.name, "acme");
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn client_certificates_pinned_or_issued_by_a_trusted_ca() {
    let f = start("certs").await;
    let store = f.server.store.clone();

    // vCenter's self-signed client certificate, pinned by fingerprint.
    let pinned = self_signed("kmipClient20161127094708");
    let unpinned = self_signed("kmipClient20161127094709");
    // An app CA and a certificate it issued to CN = the app id.
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(vec![]).unwrap();
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "vCenter VMCA");
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, &ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let mut leaf_params = CertificateParams::new(vec![]).unwrap();
    leaf_params
        .distinguished_name
        .push(DnType::CommonName, f.app.id.to_string());
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let issued = ClientCert {
        der: leaf.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der())),
    };
    // The same CN from an unknown CA.
    let rogue_key = KeyPair::generate().unwrap();
    let rogue = {
        let mut p = CertificateParams::new(vec![]).unwrap();
        p.distinguished_name
            .push(DnType::CommonName, f.app.id.to_string());
        let c = p.self_signed(&rogue_key).unwrap();
        ClientCert {
            der: c.der().clone(),
            key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(rogue_key.serialize_der())),
        }
    };

    let mut app = f.app.clone();
    app.pinned_certs = vec![skms_server::tls::fingerprint(&pinned.der)];
    app.trusted_cas = vec![ca_cert.der().to_vec()];
    app.auth_method = skms_core::model::AuthMethod::Certificate;
    let update = |app: skms_core::model::App| {
        let store = store.clone();
        tokio::task::spawn_blocking(move || store.update_app(&app).unwrap())
    };
    update(app.clone()).await.unwrap();

    for (what, cert, ok) in [
        ("pinned self-signed", &pinned, true),
        ("unpinned self-signed", &unpinned, false),
        ("CN = app id, issued by a trusted CA", &issued, true),
        ("CN = app id, self-signed", &rogue, false),
        // Its chain is now remembered as verified…
        ("CN = app id, issued by a trusted CA, again", &issued, true),
    ] {
        let mut s = connect(&f, Some(cert)).await;
        discover_versions(&mut s).await;
        let r = exchange(&mut s, request_bytes("A4.")).await;
        if ok {
            assert_authenticated(&r);
        } else {
            assert_unauthenticated(&r);
        }
        eprintln!("{what}: ok");
    }
    // …for the CAs it was verified against only: once the app stops trusting
    // its CA, the same certificate identifies nobody, at once.
    let mut distrusting = app.clone();
    distrusting.trusted_cas = vec![rogue.der.to_vec()];
    update(distrusting).await.unwrap();
    let mut s = connect(&f, Some(&issued)).await;
    let r = exchange(&mut s, request_bytes("A4.")).await;
    assert_unauthenticated(&r);
    update(app).await.unwrap();
    let mut s = connect(&f, Some(&issued)).await;
    let r = exchange(&mut s, request_bytes("A4.")).await;
    assert_authenticated(&r);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn survives_probes_garbage_huge_and_truncated_messages() {
    let f = start("robust").await;
    let addr = f.server.kmip_addr;

    // 50 health-check probes: TLS completes, then close without a message.
    let config = client_config(&f, None);
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let config = config.clone();
        tasks.push(tokio::spawn(async move {
            let mut s = connect_with(config, addr).await;
            let _ = s.shutdown().await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // 50 connections that send garbage instead of a ClientHello.
    let mut tasks = Vec::new();
    for i in 0..50u8 {
        tasks.push(tokio::spawn(async move {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let _ = tcp.write_all(&[i; 300]).await;
            let mut sink = Vec::new();
            let _ = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut sink)).await;
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }

    // A message declaring 100 MiB: an error response, then the connection closes.
    let mut s = connect(&f, None).await;
    s.write_all(&[0x42, 0x00, 0x78, 0x01, 0x06, 0x40, 0x00, 0x00])
        .await
        .unwrap();
    let r = tokio::time::timeout(Duration::from_secs(5), read_response(&mut s))
        .await
        .unwrap();
    assert_eq!(reason(&r), Some(ResultReason::INVALID_MESSAGE));
    let msg = r.batch_items[0].result_message.clone().unwrap();
    assert!(msg.contains("exceeds the limit"), "{msg}");
    let mut rest = Vec::new();
    let n = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap_or(0);
    assert_eq!(n, 0, "closed after the error");

    // A well-framed message that is not a valid request: error, connection kept.
    let mut s = connect(&f, None).await;
    let mut bad = request_bytes("A1.");
    bad[0x1b] = 0x07; // the Protocol Version Major item claims to be a Text String
    let r = exchange(&mut s, bad).await;
    assert_eq!(reason(&r), Some(ResultReason::INVALID_MESSAGE));
    discover_versions(&mut s).await;

    // A truncated frame, then close.
    let mut s = connect(&f, None).await;
    s.write_all(&request_bytes("A1.")[..40]).await.unwrap();
    let _ = s.shutdown().await;
    drop(s);

    // Still serving, promptly.
    let started = std::time::Instant::now();
    let mut s = connect(&f, None).await;
    discover_versions(&mut s).await;
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn openssl_s_client_completes_a_tls12_handshake() {
    let f = start("openssl").await;
    let port = f.server.kmip_addr.port();
    let ca = f.server.ca_cert_path.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new("timeout")
            .args(["20", "openssl", "s_client", "-connect"])
            .arg(format!("127.0.0.1:{port}"))
            .args(["-tls1_2", "-CAfile"])
            .arg(&ca)
            .stdin(std::process::Stdio::piped())
            .output()
            .expect("openssl is installed (apt-get install openssl)")
    })
    .await
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("Protocol  : TLSv1.2") || text.contains("TLSv1.2"),
        "{text}"
    );
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    assert!(!text.contains("Cipher is (NONE)"), "{text}");
    // and the server is fine afterwards
    let mut s = connect(&f, None).await;
    discover_versions(&mut s).await;
    f.server.stop().await;
}

#[tokio::test]
async fn a_pinned_certificate_stops_identifying_its_app_when_it_expires() {
    use rcgen::{CertificateParams, DnType, KeyPair};
    use rustls_pki_types::{CertificateDer, UnixTime};
    let f = start("pin-expiry").await;
    let key = KeyPair::generate().unwrap();
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CommonName, "vcenter");
    let now = time::OffsetDateTime::now_utc();
    p.not_before = now - time::Duration::days(1);
    p.not_after = now + time::Duration::days(1);
    let der: CertificateDer<'static> = p.self_signed(&key).unwrap().der().clone();
    let cert = common::ClientCert {
        der: der.clone(),
        key: rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    };
    common::pin(&f, &cert).await;
    let store = f.server.store.clone();
    let at = |secs: u64| {
        let store = store.clone();
        let chain = vec![der.clone()];
        move || {
            skms_server::tls::identify(
                &*store,
                &skms_server::tls::VerifiedChains::new(10),
                &chain,
                false,
                UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs)),
            )
            .map(|(c, _)| c.creator().expect("an app"))
        }
    };
    let today = now.unix_timestamp() as u64;
    let id = tokio::task::spawn_blocking(at(today))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(id, f.app.id, "valid today");
    let later = tokio::task::spawn_blocking(at(today + 3 * 86_400))
        .await
        .unwrap();
    assert!(
        matches!(later, Err(skms_server::tls::CertRejected::Expired)),
        "expired in three days: {later:?}"
    );
}
