//! The KMIP listener with `kmip_legacy_cipher_suites` on (served by OpenSSL):
//! `openssl s_client` limited to the KMIP profile suites AES128-SHA256 and
//! AES256-SHA256 (as vCenter 7 negotiates) completes a KMIP exchange; a modern
//! rustls client still gets TLS 1.3 and is identified by its pinned
//! certificate; with the switch off, those suites are refused. Loopback only;
//! every `openssl` run is bounded by `timeout`.

mod common;

use common::{
    assert_discover_versions, assert_failed, connect, kmip_app, pin_to, request, request_bytes,
    self_signed, self_signed_pem, start_with, with_password, ClientCert, Fixture,
};
use kmip::binary::{frame_len, Limits};
use kmip::enums::{ObjectType, ResultReason, ResultStatus};
use kmip::messages::ResponseMessage;
use kmip::payloads::ResponsePayload;
use skms_core::model::{App, AuthMethod};
use skms_core::tenancy;
use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Where the servers' other listeners bind: loopback, a free port.
const LOOPBACK_ANY_PORT: &str = "127.0.0.1:0";

/// A server with the legacy suites on, account "acme" and app "vcenter".
async fn start_legacy(name: &str) -> Fixture {
    let f = start_with(name, Duration::from_secs(10), |c| {
        c.kmip_legacy_cipher_suites = true;
        c.https_addr = LOOPBACK_ANY_PORT.parse().unwrap();
    })
    .await;
    assert!(
        f.server
            .created
            .iter()
            .any(|l| l.contains("RSA server certificate")),
        "{:?}",
        f.server.created
    );
    f
}

/// `openssl s_client` to the server with TLS 1.2 and only `cipher`, checking
/// the server certificate against the server CA and for 127.0.0.1. Bounded by
/// `timeout 20`.
fn s_client(f: &Fixture, cipher: &str, extra: &[String]) -> Command {
    let mut c = Command::new("timeout");
    c.args(["20", "openssl", "s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", f.server.kmip_addr.port()))
        .args(["-tls1_2", "-cipher", cipher, "-CAfile"])
        .arg(&f.server.ca_cert_path)
        .args(["-verify_return_error", "-verify_ip", "127.0.0.1"])
        .args(extra);
    c
}

/// What `s_client` prints about a handshake with only `cipher` (stdin closed at
/// once): (exit success, stdout and stderr).
async fn handshake_report(f: &Fixture, cipher: &str) -> (bool, String) {
    let mut cmd = s_client(f, cipher, &[]);
    let out = tokio::task::spawn_blocking(move || {
        cmd.stdin(Stdio::null())
            .output()
            .expect("openssl is installed (apt-get install openssl)")
    })
    .await
    .unwrap();
    let text = format!(
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Sends `requests` one by one through `s_client -quiet` with only `cipher`
/// and reads each response frame from its stdout; then closes its stdin, so it
/// closes the connection and exits.
async fn kmip_through_s_client(
    f: &Fixture,
    cipher: &str,
    extra: &[String],
    requests: Vec<Vec<u8>>,
) -> Vec<ResponseMessage> {
    // -quiet prints only the peer's data; -no_ign_eof (after it) ends at stdin's end;
    // -nocommands: a request starting with Q, R or K must not be read as a command.
    let mut args: Vec<String> = ["-quiet", "-no_ign_eof", "-nocommands"]
        .map(String::from)
        .to_vec();
    args.extend_from_slice(extra);
    let mut cmd = s_client(f, cipher, &args);
    tokio::task::spawn_blocking(move || {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("openssl is installed (apt-get install openssl)");
        let mut stdin = child.stdin.take().unwrap();
        let mut stdout = child.stdout.take().unwrap();
        let mut responses = Vec::new();
        for r in &requests {
            stdin.write_all(r).unwrap();
            stdin.flush().unwrap();
            let mut head = [0u8; 8];
            if let Err(e) = stdout.read_exact(&mut head) {
                let mut err = String::new();
                let _ = child.stderr.take().unwrap().read_to_string(&mut err);
                let _ = child.wait();
                panic!("no response from s_client ({e}): {err}");
            }
            let len = frame_len(&head).expect("a response frame");
            assert!(len < 1 << 20, "response of {len} bytes");
            let mut buf = vec![0u8; len];
            buf[..8].copy_from_slice(&head);
            stdout.read_exact(&mut buf[8..]).unwrap();
            responses.push(ResponseMessage::decode(&buf, &Limits::default()).unwrap());
        }
        drop(stdin);
        let status = child.wait().unwrap();
        assert!(status.success(), "s_client ended with {status}");
        responses
    })
    .await
    .unwrap()
}

/// Discover Versions then a Create with the app's username and password.
fn discover_then_create(f: &Fixture) -> Vec<Vec<u8>> {
    vec![
        request_bytes("A1."),
        with_password(request("A4."), &f.user(), &f.secret).encode(),
    ]
}

fn assert_created(r: &ResponseMessage) {
    let item = &r.batch_items[0];
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    let Some(ResponsePayload::Create(c)) = &item.payload else {
        panic!("{item:?}")
    };
    assert_eq!(c.object_type, ObjectType::SYMMETRIC_KEY);
    assert!(!c.unique_identifier.is_empty());
}

fn assert_unauthenticated(r: &ResponseMessage) {
    assert_failed(
        &r.batch_items[0],
        ResultReason::AUTHENTICATION_NOT_SUCCESSFUL,
    );
}

/// A legacy suite negotiates (with the RSA server certificate, which verifies
/// against the server CA) and carries a full KMIP exchange.
async fn legacy_suite_serves_kmip(name: &str, cipher: &str) {
    let f = start_legacy(name).await;
    let (ok, text) = handshake_report(&f, cipher).await;
    assert!(ok, "{text}");
    assert!(text.contains(&format!("Cipher is {cipher}")), "{text}");
    assert!(text.contains("Verify return code: 0 (ok)"), "{text}");
    assert!(text.contains("Server public key is 3072 bit"), "{text}");
    let r = kmip_through_s_client(&f, cipher, &[], discover_then_create(&f)).await;
    assert_discover_versions(&r[0]);
    assert_created(&r[1]);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aes128_sha256_serves_a_full_kmip_exchange() {
    legacy_suite_serves_kmip("aes128", "AES128-SHA256").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn aes256_sha256_serves_a_full_kmip_exchange() {
    legacy_suite_serves_kmip("aes256", "AES256-SHA256").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_the_switch_aes128_sha256_is_refused() {
    let f = start_with("off", Duration::from_secs(10), |c| {
        c.https_addr = LOOPBACK_ANY_PORT.parse().unwrap();
    })
    .await;
    assert!(
        !f.server.created.iter().any(|l| l.contains("RSA")),
        "{:?}",
        f.server.created
    );
    let (ok, text) = handshake_report(&f, "AES128-SHA256").await;
    assert!(!ok, "{text}");
    assert!(!text.contains("Cipher is AES128-SHA256"), "{text}");
    assert!(text.contains("handshake failure"), "{text}");
    // and the listener is fine afterwards
    let mut s = connect(&f, None).await;
    let r = common::exchange(&mut s, &request_bytes("A1.")).await;
    assert_discover_versions(&r);
    f.server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn weak_suites_are_refused_by_the_openssl_listener() {
    let f = start_legacy("weak").await;
    for cipher in [
        "AES128-SHA",
        "AES256-SHA",
        "ECDHE-RSA-AES128-SHA",
        "ECDHE-RSA-AES128-SHA256",
        "DHE-RSA-AES128-GCM-SHA256",
        "ADH-AES128-SHA256",
        "NULL-SHA256",
    ] {
        // SECLEVEL=0: the client offers it; the server must be the one that refuses.
        let (ok, text) = handshake_report(&f, &format!("{cipher}:@SECLEVEL=0")).await;
        assert!(!ok, "{cipher}: {text}");
        assert!(!text.contains(&format!("Cipher is {cipher}")), "{text}");
        assert!(text.contains("handshake failure"), "{cipher}: {text}");
    }
    f.server.stop().await;
}

/// An app of the fixture's account that authenticates by certificate.
async fn certificate_app(f: &Fixture) -> App {
    let store = f.server.store.clone();
    let keyring = tenancy::Keyring::new(f.server.root.clone());
    let account = f.account.id;
    tokio::task::spawn_blocking(move || {
        let new = kmip_app("vcenter-cert", AuthMethod::Certificate);
        tenancy::create_app(&*store, &keyring, account, new, 1)
            .unwrap()
            .0
    })
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rustls_client_with_a_pinned_certificate_gets_tls13_and_its_app() {
    let f = start_legacy("rustls").await;
    let cert = self_signed("vcenter.example.com");
    let app = certificate_app(&f).await;
    pin_to(&f, app.id, &cert).await;
    let mut s = connect(&f, Some(&cert)).await;
    assert_eq!(
        s.get_ref().1.protocol_version(),
        Some(rustls::ProtocolVersion::TLSv1_3)
    );
    let r = common::exchange(&mut s, &request_bytes("A1.")).await;
    assert_discover_versions(&r);
    // No credential: the certificate alone identifies the app.
    let r = common::exchange(&mut s, &request("A4.").encode()).await;
    assert_created(&r);
    drop(s);
    // Without a certificate, the same request has no identity.
    let mut s = connect(&f, None).await;
    let r = common::exchange(&mut s, &request("A4.").encode()).await;
    assert_unauthenticated(&r);
    f.server.stop().await;
}

/// A self-signed client certificate named `cn`, also written as PEM files in
/// the test's own temporary directory for `s_client -cert -key` (test
/// material): (certificate, the `-cert -key` arguments).
fn client_cert_files(f: &Fixture, cn: &str) -> (ClientCert, Vec<String>) {
    let (cert, cert_pem, key_pem) = self_signed_pem(cn);
    let crt_path = f._dir.0.join(format!("{cn}.crt"));
    let key_path = f._dir.0.join(format!("{cn}.key"));
    std::fs::write(&crt_path, cert_pem).unwrap();
    std::fs::write(&key_path, key_pem).unwrap();
    (
        cert,
        vec![
            "-cert".into(),
            crt_path.display().to_string(),
            "-key".into(),
            key_path.display().to_string(),
        ],
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_client_certificate_over_aes128_sha256_identifies_its_app_as_with_rustls() {
    let f = start_legacy("clientcert").await;
    let (cert, extra) = client_cert_files(&f, "vcenter7.example.com");
    let app = certificate_app(&f).await;
    pin_to(&f, app.id, &cert).await;
    let requests = vec![request_bytes("A1."), request("A4.").encode()];
    let r = kmip_through_s_client(&f, "AES128-SHA256", &extra, requests).await;
    assert_discover_versions(&r[0]);
    assert_created(&r[1]);

    // A certificate pinned to an app that authenticates by password does not
    // identify it (the store is written directly, as pinning may switch the method).
    let (other, extra) = client_cert_files(&f, "password-app.example.com");
    let store = f.server.store.clone();
    let mut password_app = f.app.clone();
    assert_eq!(password_app.auth_method, AuthMethod::ApiKey);
    password_app
        .pinned_certs
        .push(skms_server::tls::fingerprint(&other.der));
    tokio::task::spawn_blocking(move || store.update_app(&password_app).unwrap())
        .await
        .unwrap();
    let r = kmip_through_s_client(&f, "AES128-SHA256", &extra, vec![request("A4.").encode()]).await;
    assert_unauthenticated(&r[0]);
    f.server.stop().await;
}
