//! The server's own certificate changes without a restart, on a real `skms
//! serve`: the sysadmin rotates it over REST (a new key and certificate from
//! the server CA), SIGHUP reloads it from the data directory (here an
//! operator's certificate made with the `openssl` command line, from its own
//! CA). A KMIP connection opened before keeps working; every new KMIP and
//! HTTPS handshake presents the new certificate (a different SHA-256
//! fingerprint, read from the peer certificates of a rustls client, chaining
//! to the expected CA); a restart serves what the data directory then holds.
//! A bad pair (a key that is not the certificate's) is refused on SIGHUP: the
//! old certificate is still served and the server keeps serving. Only a
//! sysadmin may rotate. With `kmip_legacy_cipher_suites` (OpenSSL serves
//! KMIP), both the ECDSA and the RSA certificate rotate. Loopback only; every
//! server is killed when its test ends.

mod common;

use common::{kmip_connect, kmip_create_aes_256, kmip_get, Login, Server};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A directory removed when dropped (even when a test fails).
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        Scratch(common::temp_dir(name))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("log"));
    }
}

/// The SHA-256 fingerprint of a DER certificate, hex.
fn sha256(der: &[u8]) -> String {
    hex::encode(skms_core::certs::fingerprint(der))
}

/// The certificate chain a TLS handshake with 127.0.0.1:`port` presents, as
/// a rustls client that trusts only the certificates of the PEM file `roots`
/// and checks the name `localhost` sees it; an error when it does not chain
/// to them. A new client each time, so no session is resumed.
fn presented(port: u16, roots: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let mut store = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(roots).unwrap() {
        store.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(store)
    .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    Ok(conn
        .peer_certificates()
        .expect("a server certificate")
        .iter()
        .map(|c| c.clone().into_owned())
        .collect())
}

/// The fingerprint of the leaf presented on `port`, which must chain to `roots`.
fn leaf_sha256(port: u16, roots: &Path) -> String {
    let chain = presented(port, roots).unwrap_or_else(|e| {
        panic!(
            "port {port}: no handshake trusting {}: {e}",
            roots.display()
        )
    });
    sha256(&chain[0])
}

/// Waits (10 s at most) until the leaf presented on `port` has fingerprint `want`.
fn wait_presented(port: u16, roots: &Path, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let got = presented(port, roots).map(|c| sha256(&c[0]));
        if got.as_deref() == Ok(want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "port {port} still presents {got:?}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// An HTTPS client of the REST API that trusts the PEM file `roots`.
fn client(roots: &Path) -> Client {
    let pem = std::fs::read(roots).unwrap();
    Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap()
}

/// `METHOD /v1/server/certificate[/rotate]` as `who` (none: no login): the status and the JSON body.
fn call(
    client: &Client,
    server: &Server,
    method: reqwest::Method,
    path: &str,
    who: Option<&Login>,
) -> (StatusCode, Json) {
    let mut r = client.request(
        method,
        format!("https://127.0.0.1:{}{path}", server.https_port),
    );
    if let Some(l) = who {
        r = r.basic_auth(&l.user, Some(&l.password));
    }
    let resp = r.send().unwrap();
    let status = resp.status();
    (status, resp.json().unwrap_or(Json::Null))
}

/// The first certificate of the PEM file `path`, DER.
fn first_cert(path: &Path) -> Vec<u8> {
    let pem = std::fs::read_to_string(path).unwrap();
    skms_core::certs::from_pem(&pem).unwrap().remove(0)
}

/// The files of `dir` whose name ends in `.new` (an unfinished replacement).
fn leftovers(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "new"))
        .collect()
}

#[test]
fn rotation_keeps_open_kmip_connections_and_new_handshakes_present_the_new_certificate() {
    let scratch = Scratch::new("cert-rotate");
    let dir = &scratch.0;
    let server = common::serve(dir);
    let ca = dir.join("ca.crt");
    let t = server.tenant("acme", "vcenter");
    let sysadmin = server.sysadmin();
    let rest = client(&ca);

    // A KMIP connection opened before the rotation, with a key made on it.
    let mut before = kmip_connect(server.port, &ca);
    let uid = kmip_create_aes_256(&mut before, &t.username, &t.password);

    let old_kmip = leaf_sha256(server.port, &ca);
    let old_https = leaf_sha256(server.https_port, &ca);
    assert_eq!(
        old_kmip, old_https,
        "KMIP and HTTPS present one certificate"
    );
    let (status, shown) = call(
        &rest,
        &server,
        reqwest::Method::GET,
        "/v1/server/certificate",
        Some(&sysadmin),
    );
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["certificate"]["sha256"], old_kmip.as_str(), "{shown}");
    assert!(shown["rsa_certificate"].is_null(), "{shown}");
    let old_names = shown["certificate"]["names"].clone();
    assert!(
        old_names
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "127.0.0.1"),
        "{shown}"
    );
    let old_sealed_key = std::fs::read(dir.join("server.key.sealed")).unwrap();

    let (status, rotated) = call(
        &rest,
        &server,
        reqwest::Method::POST,
        "/v1/server/certificate/rotate",
        Some(&sysadmin),
    );
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new = rotated["certificate"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, old_kmip, "a new certificate");
    assert_ne!(
        rotated["certificate"]["serial"], shown["certificate"]["serial"],
        "{rotated}"
    );
    assert!(rotated["certificate"]["not_after"].as_i64().unwrap() > 0);
    assert_eq!(rotated["certificate"]["names"], old_names, "the same names");
    assert_eq!(
        rotated["certificate"]["issuer"], shown["certificate"]["issuer"],
        "the same CA"
    );

    // The connection opened before still works, on its old session.
    let got = kmip_get(&mut before, &t.username, &t.password, &uid);
    assert_eq!(got.unique_identifier, uid);

    // New handshakes, KMIP and HTTPS, present the new certificate, which
    // chains to the same server CA (the handshake checks it against ca.crt).
    assert_eq!(leaf_sha256(server.port, &ca), new);
    assert_eq!(leaf_sha256(server.https_port, &ca), new);
    let mut after = kmip_connect(server.port, &ca);
    let got = kmip_get(&mut after, &t.username, &t.password, &uid);
    assert_eq!(got.unique_identifier, uid);
    let (status, now) = call(
        &rest,
        &server,
        reqwest::Method::GET,
        "/v1/server/certificate",
        Some(&sysadmin),
    );
    assert_eq!(status, StatusCode::OK);
    assert_eq!(now["certificate"]["sha256"], new.as_str());
    // The public download ("Make vCenter trust KMS") is what is served now.
    let download = rest
        .get(format!(
            "https://127.0.0.1:{}/v1/server-certificate",
            server.https_port
        ))
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert_eq!(download, rotated["chain_pem"].as_str().unwrap());

    // Written to the data directory: the new pair, nothing left half-done.
    assert_eq!(sha256(&first_cert(&dir.join("server.crt"))), new);
    assert_ne!(
        std::fs::read(dir.join("server.key.sealed")).unwrap(),
        old_sealed_key,
        "a new key"
    );
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));

    // A restart serves the rotated certificate as it is (no reissue).
    server.terminate();
    let again = common::serve(dir);
    assert!(
        !again.stdout.contains("server certificate"),
        "{}",
        again.stdout
    );
    assert_eq!(leaf_sha256(again.port, &ca), new);
    assert_eq!(leaf_sha256(again.https_port, &ca), new);
    again.terminate();
}

#[test]
fn only_a_sysadmin_may_rotate_and_any_login_may_look() {
    let scratch = Scratch::new("cert-rotate-authz");
    let dir = &scratch.0;
    let server = common::serve(dir);
    let ca = dir.join("ca.crt");
    let t = server.tenant("acme", "vcenter");
    let rest = client(&ca);
    let before = leaf_sha256(server.https_port, &ca);

    let (status, body) = call(
        &rest,
        &server,
        reqwest::Method::POST,
        "/v1/server/certificate/rotate",
        Some(&t.admin),
    );
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["code"], "forbidden", "{body}");
    let (status, body) = call(
        &rest,
        &server,
        reqwest::Method::POST,
        "/v1/server/certificate/rotate",
        None,
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    let wrong = Login {
        user: "sysadmin".into(),
        password: "not-the-password".into(),
    };
    let (status, _) = call(
        &rest,
        &server,
        reqwest::Method::POST,
        "/v1/server/certificate/rotate",
        Some(&wrong),
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        leaf_sha256(server.https_port, &ca),
        before,
        "nothing rotated"
    );

    // Looking needs a login, any login.
    let (status, body) = call(
        &rest,
        &server,
        reqwest::Method::GET,
        "/v1/server/certificate",
        Some(&t.admin),
    );
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["certificate"]["sha256"], before.as_str());
    let (status, _) = call(
        &rest,
        &server,
        reqwest::Method::GET,
        "/v1/server/certificate",
        None,
    );
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

/// Makes, with the `openssl` command line in `work`, an operator's CA
/// (`opca.crt`, `opca.key`) and a server certificate it signs for localhost
/// and 127.0.0.1 (`leaf.crt`, `leaf.key`), ECDSA P-256, valid 30 days.
fn operator_pki(work: &Path) {
    std::fs::create_dir_all(work).unwrap();
    common::self_signed_p256(
        work,
        "opca",
        "/O=Operator/CN=Operator Test CA",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    std::fs::write(
        work.join("leaf.ext"),
        "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
         extendedKeyUsage=serverAuth\n\
         keyUsage=critical,digitalSignature\n\
         basicConstraints=critical,CA:FALSE\n",
    )
    .unwrap();
    common::csr_p256(
        work,
        "leaf.key",
        "leaf.csr",
        "/O=Operator/CN=kms.operator.test",
    );
    common::openssl(
        work,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "opca.crt",
            "-CAkey",
            "opca.key",
            "-CAcreateserial",
            "-out",
            "leaf.crt",
            "-days",
            "30",
            "-extfile",
            "leaf.ext",
        ],
    );
}

#[test]
fn sighup_serves_an_operator_certificate_made_with_openssl_and_a_restart_keeps_it() {
    let scratch = Scratch::new("cert-sighup");
    let dir = &scratch.0;
    let work = dir.with_extension("pki");
    let _work = Scratch(work.clone());
    let server = common::serve(dir);
    let ca = dir.join("ca.crt");
    let t = server.tenant("acme", "vcenter");
    let sysadmin = server.sysadmin();
    let mut before = kmip_connect(server.port, &ca);
    let uid = kmip_create_aes_256(&mut before, &t.username, &t.password);
    let old = leaf_sha256(server.port, &ca);

    // The operator replaces the files: its chain, its plaintext key.
    operator_pki(&work);
    let leaf = std::fs::read_to_string(work.join("leaf.crt")).unwrap();
    let op_ca = std::fs::read_to_string(work.join("opca.crt")).unwrap();
    std::fs::write(dir.join("server.crt"), format!("{leaf}{op_ca}")).unwrap();
    std::fs::copy(work.join("leaf.key"), dir.join("server.key")).unwrap();
    let want = sha256(&first_cert(&work.join("leaf.crt")));
    assert_ne!(want, old);
    server.signal("HUP");

    // Every new handshake presents it, chaining to the operator's CA.
    let op_roots = work.join("opca.crt");
    wait_presented(server.port, &op_roots, &want);
    assert_eq!(leaf_sha256(server.https_port, &op_roots), want);
    assert!(
        presented(server.port, &ca).is_err(),
        "no longer the server CA's"
    );
    // The connection opened before still works; a new one too.
    assert_eq!(
        kmip_get(&mut before, &t.username, &t.password, &uid).unique_identifier,
        uid
    );
    let mut after = kmip_connect(server.port, &op_roots);
    assert_eq!(
        kmip_get(&mut after, &t.username, &t.password, &uid).unique_identifier,
        uid
    );
    // The REST API says so (over HTTPS with the operator's certificate).
    let (status, shown) = call(
        &client(&op_roots),
        &server,
        reqwest::Method::GET,
        "/v1/server/certificate",
        Some(&sysadmin),
    );
    assert_eq!(status, StatusCode::OK, "{shown}");
    assert_eq!(shown["certificate"]["sha256"], want.as_str());
    assert!(
        shown["certificate"]["issuer"]
            .as_str()
            .unwrap()
            .contains("Operator Test CA"),
        "{shown}"
    );

    // The plaintext key is sealed, then gone; nothing half-done is left.
    assert!(!dir.join("server.key").exists(), "server.key is removed");
    let sealed = std::fs::read(dir.join("server.key.sealed")).unwrap();
    assert!(
        !sealed.windows(11).any(|w| w == b"PRIVATE KEY"),
        "the key is sealed"
    );
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));

    // A restart serves the operator's certificate as it is: never reissued by
    // the server, even though its names are not the configured ones.
    server.terminate();
    let again = common::serve(dir);
    assert!(!again.stdout.contains("reissuing"), "{}", again.stdout);
    assert_eq!(leaf_sha256(again.port, &op_roots), want);
    assert_eq!(leaf_sha256(again.https_port, &op_roots), want);

    // Rotating goes back to a certificate of the server CA.
    let (status, rotated) = call(
        &client(&op_roots),
        &again,
        reqwest::Method::POST,
        "/v1/server/certificate/rotate",
        Some(&sysadmin),
    );
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let back = rotated["certificate"]["sha256"].as_str().unwrap();
    assert_eq!(leaf_sha256(again.port, &ca), back);
    assert_eq!(leaf_sha256(again.https_port, &ca), back);
    again.terminate();
}

/// The log of `server` (started with [`common::serve_logging`] into `log`)
/// once it has a line with `needle` (10 s at most).
fn wait_log(log: &Path, needle: &str) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "no `{needle}` in the log:\n{text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The log lines of refused reloads, in order.
fn refusals(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| l.contains("NOT reloaded"))
        .map(str::to_string)
        .collect()
}

#[test]
fn sighup_with_a_key_that_is_not_the_certificates_keeps_the_old_certificate() {
    let scratch = Scratch::new("cert-sighup-bad");
    let dir = &scratch.0;
    let log = dir.with_extension("log");
    let work = dir.with_extension("pki");
    let _work = Scratch(work.clone());
    let mut server = common::serve_logging(dir, Some(&log));
    let ca = dir.join("ca.crt");
    let t = server.tenant("acme", "vcenter");
    let mut before = kmip_connect(server.port, &ca);
    let uid = kmip_create_aes_256(&mut before, &t.username, &t.password);
    let old = leaf_sha256(server.port, &ca);

    // The operator's certificate with another key than its own.
    operator_pki(&work);
    common::self_signed_p256(&work, "other", "/CN=other", &[]);
    std::fs::copy(work.join("leaf.crt"), dir.join("server.crt")).unwrap();
    std::fs::copy(work.join("other.key"), dir.join("server.key")).unwrap();
    server.signal("HUP");
    let text = wait_log(&log, "NOT reloaded");
    let refusal = refusals(&text).remove(0);
    assert!(
        refusal.contains("server.key does not match the certificate in"),
        "the log says why: {refusal}"
    );

    // Still the old certificate, on KMIP and HTTPS; the server still serves.
    assert!(
        server.child.0.try_wait().unwrap().is_none(),
        "still running"
    );
    assert_eq!(leaf_sha256(server.port, &ca), old);
    assert_eq!(leaf_sha256(server.https_port, &ca), old);
    assert_eq!(
        kmip_get(&mut before, &t.username, &t.password, &uid).unique_identifier,
        uid
    );
    let mut after = kmip_connect(server.port, &ca);
    assert_eq!(
        kmip_get(&mut after, &t.username, &t.password, &uid).unique_identifier,
        uid
    );
    // Nothing of the operator's files was sealed or removed.
    assert!(dir.join("server.key").exists());
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));

    // An expired certificate with its own key is refused the same way.
    common::openssl(
        &work,
        &[
            "x509",
            "-in",
            "leaf.crt",
            "-signkey",
            "leaf.key",
            "-days",
            "0",
            "-out",
            "expired.crt",
        ],
    );
    std::thread::sleep(Duration::from_millis(1100));
    std::fs::copy(work.join("expired.crt"), dir.join("server.crt")).unwrap();
    std::fs::copy(work.join("leaf.key"), dir.join("server.key")).unwrap();
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(10);
    let refusal = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Some(second) = refusals(&text).get(1) {
            break second.clone();
        }
        assert!(Instant::now() < deadline, "no second refusal:\n{text}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        refusal.contains("expired on"),
        "the log says why: {refusal}"
    );
    assert_eq!(leaf_sha256(server.port, &ca), old);
    assert!(server.wait_exit(Duration::from_millis(200)).is_none());
}

/// The certificate `openssl s_client` gets from the KMIP port of `server`
/// with TLS 1.2 and only the KMIP profile suite AES128-SHA256 (the RSA
/// certificate), checked against `ca`: its fingerprint. Bounded by `timeout 20`.
fn legacy_rsa_sha256(server: &Server, ca: &Path) -> String {
    let out = Command::new("timeout")
        .args(["20", "openssl", "s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", server.port))
        .args(["-tls1_2", "-cipher", "AES128-SHA256", "-CAfile"])
        .arg(ca)
        .args(["-verify_return_error", "-verify_ip", "127.0.0.1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success() && text.contains("Verify return code: 0 (ok)"),
        "s_client: {text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let der = skms_core::certs::from_pem(&text).unwrap().remove(0);
    sha256(&der)
}

#[test]
fn with_the_legacy_suites_rotation_renews_the_ecdsa_and_the_rsa_certificate() {
    let scratch = Scratch::new("cert-rotate-legacy");
    let dir = &scratch.0;
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("skms.toml"), "kmip_legacy_cipher_suites = true\n").unwrap();
    let server = common::serve(dir);
    assert!(
        server.stdout.contains("RSA server certificate"),
        "{}",
        server.stdout
    );
    let ca = dir.join("ca.crt");
    let t = server.tenant("acme", "vcenter");
    let rest = client(&ca);
    let sysadmin = server.sysadmin();
    let mut before = kmip_connect(server.port, &ca);
    let uid = kmip_create_aes_256(&mut before, &t.username, &t.password);
    let old_ecdsa = leaf_sha256(server.port, &ca);
    let old_rsa = legacy_rsa_sha256(&server, &ca);
    assert_ne!(old_ecdsa, old_rsa);

    let (status, rotated) = call(
        &rest,
        &server,
        reqwest::Method::POST,
        "/v1/server/certificate/rotate",
        Some(&sysadmin),
    );
    assert_eq!(status, StatusCode::OK, "{rotated}");
    let new_ecdsa = rotated["certificate"]["sha256"].as_str().unwrap();
    let new_rsa = rotated["rsa_certificate"]["sha256"].as_str().unwrap();
    assert_ne!(new_ecdsa, old_ecdsa);
    assert_ne!(new_rsa, old_rsa);

    // OpenSSL takes the new context for new connections: both certificates,
    // both chaining to the server CA; the connection opened before still works.
    assert_eq!(leaf_sha256(server.port, &ca), new_ecdsa);
    assert_eq!(legacy_rsa_sha256(&server, &ca), new_rsa);
    assert_eq!(leaf_sha256(server.https_port, &ca), new_ecdsa);
    assert_eq!(
        kmip_get(&mut before, &t.username, &t.password, &uid).unique_identifier,
        uid
    );
    assert_eq!(
        sha256(&first_cert(&dir.join("server-rsa.crt"))),
        new_rsa,
        "written to the data directory"
    );
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
}
