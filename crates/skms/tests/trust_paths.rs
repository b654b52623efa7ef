//! vCenter's four ways to make the KMS trust it ("Make KMS trust vCenter"),
//! end to end against a real `skms serve` over real TLS, each set up through
//! the REST API as the account's admin and then proven by a KMIP Create and
//! Get as the app, authenticated by its client certificate alone:
//!
//! 1. "vCenter Certificate": a self-signed certificate made by
//!    `openssl req -x509` with an arbitrary CN, pinned to the app;
//! 2. "vCenter Root CA Certificate": a CA made by openssl, trusted for the
//!    app; a client certificate it issues with CN = the app's UUID;
//! 3. "KMS certificate and private key": a certificate and key the server
//!    issues as PKCS#12, turned into PEM by `openssl pkcs12 -nodes`;
//! 4. "New Certificate Signing Request": a CSR made by `openssl req -new` with
//!    a vCenter-like subject, signed by the server; the key never leaves the
//!    client.
//!
//! PyKMIP (a real KMIP client) walks paths 1, 3 and 4; our rustls client all
//! four. Then the refusals: an expired certificate is neither pinned nor
//! trusted, a CSR whose signature is broken or that is not PEM is refused with
//! the reason, another account's admin finds no such app; none changes the app.

mod common;

use common::{openssl, Login, Server};
use reqwest::blocking::Client;
use reqwest::StatusCode;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

/// The REST API as one login.
struct Rest {
    client: Client,
    base: String,
    login: Login,
}

/// An answer: status, Content-Type and body.
struct Answer {
    status: StatusCode,
    content_type: String,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }

    /// Requires `status`; the JSON body.
    fn expect(&self, status: StatusCode, what: &str) -> Value {
        assert_eq!(
            self.status,
            status,
            "{what}: {}",
            String::from_utf8_lossy(&self.body)
        );
        if self.content_type.starts_with("application/json") {
            self.json()
        } else {
            Value::Null
        }
    }

    /// Requires an error answer with `status` and `code`; its message.
    fn refused(&self, status: StatusCode, code: &str, what: &str) -> String {
        let v = self.expect(status, what);
        assert_eq!(v["code"], code, "{what}: {v}");
        v["message"].as_str().unwrap().to_string()
    }
}

impl Rest {
    fn new(server: &Server, login: &Login) -> Self {
        let pem = std::fs::read(server.dir.join("ca.crt")).unwrap();
        Rest {
            client: Client::builder()
                .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
                .build()
                .unwrap(),
            base: format!("https://127.0.0.1:{}", server.https_port),
            login: login.clone(),
        }
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder) -> Answer {
        let resp = req
            .basic_auth(&self.login.user, Some(&self.login.password))
            .send()
            .unwrap();
        Answer {
            status: resp.status(),
            content_type: resp
                .headers()
                .get("content-type")
                .map(|v| v.to_str().unwrap().to_string())
                .unwrap_or_default(),
            headers: resp.headers().clone(),
            body: resp.bytes().unwrap().to_vec(),
        }
    }

    fn get(&self, path: &str) -> Answer {
        self.send(self.client.get(format!("{}{path}", self.base)))
    }

    fn post(&self, path: &str, body: Value) -> Answer {
        self.send(self.client.post(format!("{}{path}", self.base)).json(&body))
    }

    fn post_pem(&self, path: &str, pem: &str) -> Answer {
        self.send(
            self.client
                .post(format!("{}{path}", self.base))
                .header("content-type", "application/x-pem-file")
                .body(pem.to_string()),
        )
    }

    /// Creates app `name` (KMIP only, API key); its id.
    fn new_app(&self, name: &str) -> String {
        let v = self
            .post("/v1/apps", json!({ "name": name }))
            .expect(StatusCode::CREATED, "create app");
        v["app"]["id"].as_str().unwrap().to_string()
    }

    fn app(&self, id: &str) -> Value {
        self.get(&format!("/v1/apps/{id}"))
            .expect(StatusCode::OK, "show app")
    }
}

/// A self-signed certificate `NAME.crt` (and `NAME.key`) that expired in
/// 2020, made with `openssl ca` (OpenSSL 3.0's `req` cannot back-date); a CA
/// certificate when `ca`.
fn expired(dir: &Path, name: &str, ca: bool) {
    let db = dir.join(format!("{name}-db"));
    std::fs::create_dir_all(&db).unwrap();
    std::fs::write(db.join("index.txt"), "").unwrap();
    let ext = if ca {
        "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n"
    } else {
        "basicConstraints=CA:FALSE\n"
    };
    std::fs::write(
        dir.join(format!("{name}.cnf")),
        format!(
            "[ca]\ndefault_ca = x\n[x]\ndatabase = {name}-db/index.txt\nnew_certs_dir = {name}-db\n\
             serial = {name}-db/serial\ndefault_md = sha256\npolicy = any\nunique_subject = no\n\
             x509_extensions = ext\n[any]\ncommonName = supplied\n[ext]\n{ext}"
        ),
    )
    .unwrap();
    common::csr_p256(
        dir,
        &format!("{name}.key"),
        &format!("{name}.csr"),
        &format!("/CN={name}"),
    );
    openssl(
        dir,
        &[
            "ca",
            "-batch",
            "-config",
            &format!("{name}.cnf"),
            "-selfsign",
            "-keyfile",
            &format!("{name}.key"),
            "-in",
            &format!("{name}.csr"),
            "-out",
            &format!("{name}.crt"),
            "-startdate",
            "20200101000000Z",
            "-enddate",
            "20200201000000Z",
            "-create_serial",
            "-notext",
        ],
    );
}

/// vCenter's CSR: an RSA-2048 key it keeps (`NAME.key`) and `NAME.csr` with
/// a subject of its own.
const VCENTER_SUBJECT: &str =
    "/C=US/ST=California/L=Palo Alto/O=VMware, Inc./OU=vSphere/CN=vcenter01.example.com";

fn vcenter_csr(dir: &Path, name: &str) {
    openssl(
        dir,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            &format!("{name}.key"),
            "-out",
            &format!("{name}.csr"),
            "-subj",
            VCENTER_SUBJECT,
        ],
    );
}

/// KMIP Create and Get over our rustls client, authenticated by `cert` and `key`.
fn kmip_by_certificate(server: &Server, cert: &Path, key: &Path) -> String {
    let mut s = common::kmip_connect_with_cert(server.port, &server.dir.join("ca.crt"), cert, key);
    common::kmip_create_get_by_certificate(&mut s)
}

/// PyKMIP's lifecycle (Create, Get, …) at KMIP 1.2, authenticated by `cert` and `key`.
fn pykmip_by_certificate(server: &Server, cert: &Path, key: &Path, what: &str) {
    let (ok, out) = common::pykmip_cert_client(server, cert, key, "1.2");
    assert!(ok, "{what}: PyKMIP failed: {out}");
    let line = out.lines().find(|l| l.starts_with('{')).unwrap_or_default();
    let r: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{what}: {e}: {out}"));
    assert_eq!(r["create"].as_str().map(str::len), Some(36), "{what}: {r}");
    assert_eq!(r["get_len"], 32, "{what}: {r}");
}

/// A KMIP connection with `cert` and `key` that must not authenticate: the
/// handshake fails or the Create is refused.
fn kmip_refused(server: &Server, cert: &Path, key: &Path, what: &str) {
    use std::io::{Read, Write};
    let mut s = common::kmip_connect_with_cert(server.port, &server.dir.join("ca.crt"), cert, key);
    let request = common::kmip_request_anonymous(common::create_aes_256()).encode();
    let mut head = [0u8; 8];
    if s.write_all(&request).is_err() || s.read_exact(&mut head).is_err() {
        return; // the server refused the handshake or closed
    }
    let mut body = vec![0u8; kmip::binary::frame_len(&head).unwrap() - 8];
    s.read_exact(&mut body).unwrap();
    let r = kmip::messages::ResponseMessage::decode(
        &[&head[..], &body].concat(),
        &kmip::binary::Limits::default(),
    )
    .unwrap();
    assert_ne!(
        r.batch_items[0].result_status,
        kmip::enums::ResultStatus::SUCCESS,
        "{what}"
    );
}

fn work_dir(dir: &Path) -> PathBuf {
    let w = dir.join("client-certs");
    std::fs::create_dir_all(&w).unwrap();
    w
}

#[test]
fn vcenters_four_trust_paths_each_end_in_a_kmip_create_and_get() {
    let dir = common::temp_dir("trust-paths");
    let server = common::serve(&dir);
    let tenant = server.tenant("Acme", "vcenter-pinned");
    let admin = Rest::new(&server, &tenant.admin);
    let w = work_dir(&dir);
    let p = |f: &str| w.join(f);

    // "Make vCenter trust KMS": the chain the server presents is the one served.
    let chain = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(
            &std::fs::read(dir.join("ca.crt")).unwrap(),
        )
        .unwrap()])
        .build()
        .unwrap()
        .get(format!(
            "https://127.0.0.1:{}/v1/server-certificate",
            server.https_port
        ))
        .send()
        .unwrap();
    assert_eq!(chain.status(), StatusCode::OK);
    assert_eq!(chain.headers()["content-type"], "application/x-pem-file");
    let chain: Vec<CertificateDer> = CertificateDer::pem_slice_iter(&chain.bytes().unwrap())
        .map(|c| c.unwrap())
        .collect();
    assert_eq!(chain.len(), 2, "the server certificate, then the CA");
    let ca: Vec<CertificateDer> = CertificateDer::pem_file_iter(dir.join("ca.crt"))
        .unwrap()
        .map(|c| c.unwrap())
        .collect();
    assert_eq!(chain[1], ca[0]);
    let mut s = common::kmip_connect(server.port, &dir.join("ca.crt"));
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock).unwrap();
    }
    assert_eq!(
        s.conn.peer_certificates().unwrap()[0],
        chain[0],
        "KMIP presents the served server certificate"
    );
    drop(s);

    // 1. A pinned self-signed certificate with an arbitrary CN.
    let app1 = tenant.username.clone();
    common::self_signed_p256(&w, "self", "/CN=kmipClient20161127094708", &[]);
    let v = admin
        .post_pem(
            &format!("/v1/apps/{app1}/pinned-certificates"),
            &std::fs::read_to_string(p("self.crt")).unwrap(),
        )
        .expect(StatusCode::OK, "pin");
    assert_eq!(v["app"]["auth_method"], "certificate", "{v}");
    kmip_by_certificate(&server, &p("self.crt"), &p("self.key"));
    pykmip_by_certificate(
        &server,
        &p("self.crt"),
        &p("self.key"),
        "pinned self-signed",
    );

    // 2. A CA made by openssl, trusted for the app; a certificate it issues, CN = the app's UUID.
    let app2 = admin.new_app("vcenter-vmca");
    common::self_signed_p256(
        &w,
        "vmca",
        "/CN=vCenter Root CA",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    common::csr_p256(
        &w,
        "vmca-client.key",
        "vmca-client.csr",
        &format!("/CN={app2}"),
    );
    std::fs::write(
        p("client.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    openssl(
        &w,
        &[
            "x509",
            "-req",
            "-in",
            "vmca-client.csr",
            "-CA",
            "vmca.crt",
            "-CAkey",
            "vmca.key",
            "-CAcreateserial",
            "-out",
            "vmca-client.crt",
            "-days",
            "30",
            "-extfile",
            "client.ext",
        ],
    );
    let v = admin
        .post_pem(
            &format!("/v1/apps/{app2}/trusted-cas"),
            &std::fs::read_to_string(p("vmca.crt")).unwrap(),
        )
        .expect(StatusCode::OK, "trust CA");
    assert_eq!(v["trusted"][0], "CN=vCenter Root CA", "{v}");
    kmip_by_certificate(&server, &p("vmca-client.crt"), &p("vmca-client.key"));
    // A certificate of the same CA whose CN is not the app's UUID is nobody.
    openssl(
        &w,
        &[
            "x509",
            "-req",
            "-in",
            "vmca-client.csr",
            "-CA",
            "vmca.crt",
            "-CAkey",
            "vmca.key",
            "-CAcreateserial",
            "-out",
            "vmca-other.crt",
            "-days",
            "30",
            "-extfile",
            "client.ext",
            "-subj",
            "/CN=someone-else",
        ],
    );
    kmip_refused(
        &server,
        &p("vmca-other.crt"),
        &p("vmca-client.key"),
        "the trusted CA's certificate for another CN",
    );

    // 3. The server issues a certificate and key as PKCS#12; openssl turns it into PEM.
    let app3 = admin.new_app("vcenter-kms-issued");
    let a = admin.post(
        &format!("/v1/apps/{app3}/certificates"),
        json!({ "validity_days": 30, "format": "pkcs12", "password": "correct horse battery" }),
    );
    assert_eq!(
        a.status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&a.body)
    );
    assert_eq!(a.content_type, "application/x-pkcs12");
    assert_eq!(a.headers["cache-control"], "no-store");
    std::fs::write(p("issued.p12"), &a.body).unwrap();
    std::fs::write(p("issued.pass"), "correct horse battery\n").unwrap();
    openssl(
        &w,
        &[
            "pkcs12",
            "-in",
            "issued.p12",
            "-passin",
            "file:issued.pass",
            "-nodes",
            "-out",
            "issued-all.pem",
        ],
    );
    let all = std::fs::read_to_string(p("issued-all.pem")).unwrap();
    assert!(all.contains("BEGIN PRIVATE KEY"), "{all}");
    assert_eq!(all.matches("BEGIN CERTIFICATE").count(), 2, "{all}");
    openssl(
        &w,
        &[
            "pkcs12",
            "-in",
            "issued.p12",
            "-passin",
            "file:issued.pass",
            "-nokeys",
            "-clcerts",
            "-out",
            "issued.crt",
        ],
    );
    let subject = openssl(&w, &["x509", "-in", "issued.crt", "-noout", "-subject"]);
    assert!(subject.contains(&format!("CN = {app3}")), "{subject}");
    // It chains to the account CA.
    let account_ca = admin.get("/v1/account-ca");
    assert_eq!(account_ca.status, StatusCode::OK);
    assert_eq!(account_ca.content_type, "application/x-pem-file");
    std::fs::write(p("account-ca.pem"), &account_ca.body).unwrap();
    let verified = openssl(
        &w,
        &[
            "verify",
            "-purpose",
            "sslclient",
            "-CAfile",
            "account-ca.pem",
            "issued.crt",
        ],
    );
    assert!(verified.contains("OK"), "{verified}");
    kmip_by_certificate(&server, &p("issued.crt"), &p("issued-all.pem"));
    pykmip_by_certificate(
        &server,
        &p("issued.crt"),
        &p("issued-all.pem"),
        "server-issued PKCS#12",
    );
    assert_eq!(admin.app(&app3)["auth_method"], "certificate");

    // 4. A CSR with vCenter's subject, signed by the server; the key stays with the client.
    let app4 = admin.new_app("vcenter-csr");
    vcenter_csr(&w, "vcenter");
    let v = admin
        .post(
            &format!("/v1/apps/{app4}/csr"),
            json!({
                "csr_pem": std::fs::read_to_string(p("vcenter.csr")).unwrap(),
                "validity_days": 60,
            }),
        )
        .expect(StatusCode::CREATED, "sign CSR");
    std::fs::write(p("vcenter.crt"), v["certificate_pem"].as_str().unwrap()).unwrap();
    assert_eq!(
        v["ca_chain_pem"].as_str().unwrap().as_bytes(),
        &account_ca.body[..],
        "the chain is the account CA"
    );
    let subject = openssl(
        &w,
        &[
            "x509",
            "-in",
            "vcenter.crt",
            "-noout",
            "-subject",
            "-nameopt",
            "compat",
        ],
    );
    assert!(subject.contains(VCENTER_SUBJECT), "{subject}");
    assert_eq!(
        admin.app(&app4)["pinned_certificates"][0],
        v["sha256"],
        "the signed certificate is pinned to the app"
    );
    kmip_by_certificate(&server, &p("vcenter.crt"), &p("vcenter.key"));
    pykmip_by_certificate(&server, &p("vcenter.crt"), &p("vcenter.key"), "signed CSR");

    // Each app is its own: app 1's certificate is not app 4's.
    let listed = admin
        .get("/v1/certificates")
        .expect(StatusCode::OK, "list certificates");
    let rows = listed.as_array().unwrap();
    let role_of = |app: &str| -> Vec<String> {
        rows.iter()
            .filter(|r| r["app"] == app)
            .map(|r| format!("{}/{}", text(&r["role"]), text(&r["origin"])))
            .collect()
    };
    assert_eq!(role_of(&app1), ["pinned/uploaded"], "{listed}");
    assert_eq!(role_of(&app2), ["trusted-ca/"], "{listed}");
    assert!(
        role_of(&app3).contains(&"issued/issued".to_string()),
        "{listed}"
    );
    assert_eq!(role_of(&app4), ["pinned/signed"], "{listed}");
    assert!(rows.iter().any(|r| r["role"] == "account-ca"), "{listed}");
    let days: Vec<i64> = rows
        .iter()
        .map(|r| r["days_left"].as_i64().unwrap())
        .collect();
    assert!(days.windows(2).all(|w| w[0] <= w[1]), "sorted: {days:?}");
    assert!(rows
        .iter()
        .all(|r| r["sha256"].as_str().unwrap().len() == 64 && r["not_after"].is_i64()));

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

#[test]
fn refused_certificates_and_csrs_leave_the_app_as_it_was() {
    let dir = common::temp_dir("trust-refusals");
    let server = common::serve(&dir);
    let tenant = server.tenant("Acme", "vcenter");
    let other = server.tenant("Other", "other-app");
    let admin = Rest::new(&server, &tenant.admin);
    let stranger = Rest::new(&server, &other.admin);
    let app = tenant.username.clone();
    let w = work_dir(&dir);
    let p = |f: &str| w.join(f);
    let read = |f: &str| std::fs::read_to_string(w.join(f)).unwrap();
    let before = admin.app(&app);
    assert_eq!(before["auth_method"], "api-key");

    // An expired certificate is not pinned; one expired among good ones pins none.
    expired(&w, "expired", false);
    let m = admin
        .post_pem(
            &format!("/v1/apps/{app}/pinned-certificates"),
            &read("expired.crt"),
        )
        .refused(StatusCode::BAD_REQUEST, "invalid_request", "pin expired");
    assert!(m.contains("expired"), "{m}");
    common::self_signed_p256(&w, "good", "/CN=good", &[]);
    let both = read("good.crt") + &read("expired.crt");
    let m = admin
        .post_pem(&format!("/v1/apps/{app}/pinned-certificates"), &both)
        .refused(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "pin good+expired",
        );
    assert!(m.contains("expired"), "{m}");
    // An expired CA is not trusted.
    expired(&w, "expired-ca", true);
    let m = admin
        .post_pem(
            &format!("/v1/apps/{app}/trusted-cas"),
            &read("expired-ca.crt"),
        )
        .refused(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "trust expired CA",
        );
    assert!(m.contains("expired"), "{m}");

    // A CSR whose signature is broken: its subject altered after signing.
    vcenter_csr(&w, "vcenter");
    openssl(
        &w,
        &[
            "req",
            "-in",
            "vcenter.csr",
            "-outform",
            "DER",
            "-out",
            "vcenter.der",
        ],
    );
    let mut der = std::fs::read(p("vcenter.der")).unwrap();
    let at = der
        .windows(9)
        .position(|x| x == b"vcenter01")
        .expect("the CN in the DER");
    der[at] = b'x';
    std::fs::write(p("broken.der"), &der).unwrap();
    let b64 = openssl(&w, &["base64", "-in", "broken.der"]);
    let broken =
        format!("-----BEGIN CERTIFICATE REQUEST-----\n{b64}-----END CERTIFICATE REQUEST-----\n");
    let m = admin
        .post(
            &format!("/v1/apps/{app}/csr"),
            json!({ "csr_pem": broken, "validity_days": 30 }),
        )
        .refused(StatusCode::BAD_REQUEST, "invalid_request", "broken CSR");
    assert!(m.contains("signature does not verify"), "{m}");
    let junk = [
        ("not a CSR at all".to_string(), "PEM"),
        (
            "-----BEGIN CERTIFICATE REQUEST-----\n!!!!\n-----END CERTIFICATE REQUEST-----\n"
                .to_string(),
            "",
        ),
        (read("good.crt"), "CERTIFICATE"),
    ];
    for (junk, reason) in &junk {
        let m = admin
            .post(
                &format!("/v1/apps/{app}/csr"),
                json!({ "csr_pem": junk, "validity_days": 30 }),
            )
            .refused(StatusCode::BAD_REQUEST, "invalid_request", junk);
        assert!(m.contains(reason), "{junk}: {m}");
    }

    // Bad issuing requests are refused before anything is issued.
    let path = format!("/v1/apps/{app}/certificates");
    for (body, reason) in [
        (
            json!({ "validity_days": 30, "format": "pkcs12" }),
            "password",
        ),
        (
            json!({ "validity_days": 30, "format": "pkcs12", "password": "short" }),
            "at least 8",
        ),
        (
            json!({ "validity_days": 30, "format": "pem", "password": "long enough" }),
            "pkcs12",
        ),
        (json!({ "validity_days": 0, "format": "pem" }), "validity"),
        (
            json!({ "validity_days": 9999, "format": "pem" }),
            "validity",
        ),
        (json!({ "validity_days": 30, "format": "der" }), "format"),
    ] {
        let m = admin.post(&path, body.clone()).refused(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            &body.to_string(),
        );
        assert!(m.contains(reason), "{body}: {m}");
    }

    // Another account's admin finds no such app, for every certificate route.
    let csr = read("vcenter.csr");
    let no = |a: Answer, what: &str| {
        a.refused(StatusCode::NOT_FOUND, "not_found", what);
    };
    no(
        stranger.post(&path, json!({ "validity_days": 30, "format": "pem" })),
        "issue for another account's app",
    );
    no(
        stranger.post(
            &format!("/v1/apps/{app}/csr"),
            json!({ "csr_pem": csr, "validity_days": 30 }),
        ),
        "sign for another account's app",
    );
    no(
        stranger.post_pem(
            &format!("/v1/apps/{app}/pinned-certificates"),
            &read("good.crt"),
        ),
        "pin to another account's app",
    );
    // Nor does the sysadmin issue anything.
    Rest::new(&server, &server.sysadmin())
        .post(&path, json!({ "validity_days": 30, "format": "pem" }))
        .refused(StatusCode::FORBIDDEN, "forbidden", "sysadmin issues");
    // And the other account's certificates list has none of this app's.
    let theirs = stranger
        .get("/v1/certificates")
        .expect(StatusCode::OK, "other account's list");
    assert_eq!(theirs.as_array().unwrap().len(), 1, "its CA only: {theirs}");

    // Nothing of the above changed the app, nor left a certificate behind.
    assert_eq!(admin.app(&app), before);
    let mine = admin.get("/v1/certificates").expect(StatusCode::OK, "list");
    assert_eq!(
        mine.as_array().unwrap().len(),
        1,
        "the account CA only: {mine}"
    );
    assert_eq!(mine[0]["role"], "account-ca");
    // The app still authenticates with its secret; the refused certificates authenticate nobody.
    let mut s = common::kmip_connect(server.port, &dir.join("ca.crt"));
    common::kmip_create_aes_256(&mut s, &tenant.username, &tenant.password);
    kmip_refused(
        &server,
        &p("good.crt"),
        &p("good.key"),
        "an unpinned certificate",
    );

    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
