//! Account CAs over the real SQLite store, checked with the `openssl` command
//! line (certificates, CSRs and PKCS#12 files made or read by OpenSSL, not
//! only by our code) and with the path validation the KMIP listener runs.

use skms_core::ca::{self, CertOrigin, CertRole};
use skms_core::keys::{FileRoot, RootOfTrust};
use skms_core::model::{App, AuthMethod};
use skms_core::store::Store;
use skms_core::tenancy::{self, Keyring, NewApp, TenancyError};
use skms_store::SqliteStore;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

struct Env {
    dir: PathBuf,
    store: SqliteStore,
    root: Arc<dyn RootOfTrust>,
    keyring: Keyring,
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn env(name: &str) -> Env {
    let dir = std::env::temp_dir().join(format!("skms-ca-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    let (root, _) = FileRoot::open_or_create(&dir.join("root.key")).unwrap();
    let root: Arc<dyn RootOfTrust> = Arc::new(root);
    Env {
        dir,
        store,
        keyring: Keyring::new(root.clone()),
        root,
    }
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn new_app(e: &Env, account: skms_core::ids::AccountId, name: &str) -> App {
    let new = NewApp {
        name: name.into(),
        description: String::new(),
        kmip: true,
        rest: false,
        auth_method: AuthMethod::ApiKey,
        groups: vec![],
        default_group: None,
    };
    tenancy::create_app(&e.store, &e.keyring, account, new, now())
        .unwrap()
        .0
}

/// Runs `openssl args…` in `dir`; its stdout and stderr, and whether it succeeded.
fn openssl(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the openssl command line is installed");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `openssl args…` that must succeed; its stdout.
fn openssl_ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = openssl(dir, args);
    assert!(ok, "openssl {args:?} failed:\n{out}\n{err}");
    out
}

fn write(dir: &Path, file: &str, data: impl AsRef<[u8]>) {
    std::fs::write(dir.join(file), data).unwrap();
}

fn invalid(r: Result<impl std::fmt::Debug, TenancyError>) -> String {
    match r {
        Err(TenancyError::Invalid(m)) => m,
        other => panic!("expected a clear refusal, got {other:?}"),
    }
}

#[test]
fn an_issued_certificate_verifies_names_the_app_and_exports_to_pkcs12() {
    let e = env("issue");
    let t = now();
    let (acme, _) = tenancy::create_account(&e.store, &*e.root, "Acme", t).unwrap();
    // The CA is made with the account.
    let stored = e.store.account_ca(acme.id).unwrap().expect("a CA");
    let the_ca = ca::account_ca(&e.store, &e.keyring, acme.id, t).unwrap();
    assert_eq!(stored, the_ca);
    let info = the_ca.info().unwrap();
    assert!(info.is_ca);
    assert_eq!(info.subject, info.issuer, "self-signed");
    assert!(info.subject.contains("Acme CA"), "{}", info.subject);
    assert!(info.subject.contains(&acme.id.to_string()));
    assert!((info.not_after - t - 3650 * 86_400).abs() <= 1);
    write(&e.dir, "ca.pem", the_ca.cert_pem());
    let text = openssl_ok(&e.dir, &["x509", "-in", "ca.pem", "-noout", "-text"]);
    assert!(text.contains("CA:TRUE"), "{text}");
    assert!(text.contains("Certificate Sign"), "{text}");
    assert!(text.contains("prime256v1"), "{text}");
    assert!(text.contains("ecdsa-with-SHA256"), "{text}");

    let mut app = new_app(&e, acme.id, "vcenter");
    let before = app.clone();
    // Out-of-range validity: a clear error, nothing changes.
    for days in [0, 3651] {
        let m = invalid(ca::issue_client_certificate(
            &e.store, &e.keyring, &mut app, days, t,
        ));
        assert!(m.contains("1 to 3650 days"), "{m}");
    }
    assert_eq!(app, before);
    assert_eq!(e.store.app(app.id).unwrap().unwrap(), before);

    let issued = ca::issue_client_certificate(&e.store, &e.keyring, &mut app, 365, t).unwrap();
    assert!(
        !format!("{issued:?}").contains("PRIVATE"),
        "Debug hides the key"
    );
    assert_eq!(issued.cert.ca_der, the_ca.cert_der);
    write(&e.dir, "cert.pem", issued.cert.pem());
    write(&e.dir, "key.pem", issued.key_pem.as_bytes());
    write(&e.dir, "chain.pem", issued.cert.chain_pem());
    let verified = openssl_ok(
        &e.dir,
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-purpose",
            "sslclient",
            "-x509_strict",
            "cert.pem",
        ],
    );
    assert_eq!(verified.trim(), "cert.pem: OK");
    let text = openssl_ok(&e.dir, &["x509", "-in", "cert.pem", "-noout", "-text"]);
    assert!(
        text.contains(&format!("Subject: CN = {}", app.id)),
        "CN is the app id:\n{text}"
    );
    assert!(text.contains("TLS Web Client Authentication"), "{text}");
    assert!(text.contains("Digital Signature"), "{text}");
    assert!(text.contains("CA:FALSE"), "{text}");
    // The key is the certificate's, and a P-256 key.
    let cert_pub = openssl_ok(&e.dir, &["x509", "-in", "cert.pem", "-noout", "-pubkey"]);
    let key_pub = openssl_ok(&e.dir, &["pkey", "-in", "key.pem", "-pubout"]);
    assert_eq!(cert_pub, key_pub);
    let key_text = openssl_ok(&e.dir, &["pkey", "-in", "key.pem", "-noout", "-text"]);
    assert!(key_text.contains("P-256"), "{key_text}");
    // Valid for the 365 days chosen.
    openssl_ok(
        &e.dir,
        &["x509", "-in", "cert.pem", "-noout", "-checkend", "31535000"],
    );
    let (still_valid, _, _) = openssl(
        &e.dir,
        &["x509", "-in", "cert.pem", "-noout", "-checkend", "31550000"],
    );
    assert!(!still_valid, "expires after 365 days");
    assert_eq!(issued.cert.not_after, t + 365 * 86_400);

    // Bound to the app: it trusts the account CA and authenticates by certificate.
    assert_eq!(app.auth_method, AuthMethod::Certificate);
    assert_eq!(app.trusted_cas, vec![the_ca.cert_der.clone()]);
    assert_eq!(e.store.app(app.id).unwrap().unwrap(), app);

    // The same path validation the KMIP listener runs (tls::identify): the
    // app's trusted CAs as anchors, clientAuth required.
    let anchors: Vec<_> = app
        .trusted_cas
        .iter()
        .map(|d| {
            webpki::anchor_from_trusted_cert(&rustls_pki_types::CertificateDer::from(d.as_slice()))
                .unwrap()
                .to_owned()
        })
        .collect();
    let leaf = rustls_pki_types::CertificateDer::from(issued.cert.der.as_slice());
    let ee = webpki::EndEntityCert::try_from(&leaf).unwrap();
    let algs = webpki::ALL_VERIFICATION_ALGS;
    let at = |secs: i64| {
        rustls_pki_types::UnixTime::since_unix_epoch(std::time::Duration::from_secs(secs as u64))
    };
    const CLIENT_AUTH: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02];
    ee.verify_for_usage(
        algs,
        &anchors,
        &[],
        at(t + 60),
        webpki::KeyUsage::required(CLIENT_AUTH),
        None,
        None,
    )
    .expect("the listener accepts the issued certificate");
    assert!(
        ee.verify_for_usage(
            algs,
            &anchors,
            &[],
            at(t + 366 * 86_400),
            webpki::KeyUsage::required(CLIENT_AUTH),
            None,
            None,
        )
        .is_err(),
        "and refuses it once it has expired"
    );

    // PKCS#12: opens with the openssl command line, AES-256-CBC and PBKDF2, no RC2 or 3DES.
    let m = invalid(ca::to_pkcs12(&issued, ""));
    assert!(m.contains("password"), "{m}");
    let p12 = ca::to_pkcs12(&issued, "s3cret pass").unwrap();
    write(&e.dir, "f.p12", &p12);
    let opened = openssl_ok(
        &e.dir,
        &[
            "pkcs12",
            "-in",
            "f.p12",
            "-passin",
            "pass:s3cret pass",
            "-nodes",
        ],
    );
    assert!(opened.contains("-----BEGIN PRIVATE KEY-----"), "{opened}");
    assert_eq!(opened.matches("-----BEGIN CERTIFICATE-----").count(), 2);
    assert!(
        opened.contains(&format!("subject=CN = {}", app.id)),
        "{opened}"
    );
    let (_, _, info) = openssl(
        &e.dir,
        &[
            "pkcs12",
            "-in",
            "f.p12",
            "-passin",
            "pass:s3cret pass",
            "-info",
            "-noout",
        ],
    );
    assert!(info.contains("PBES2, PBKDF2, AES-256-CBC"), "{info}");
    assert!(info.contains("MAC: sha256"), "{info}");
    assert!(!info.contains("RC2") && !info.contains("3DES"), "{info}");
    let (wrong, _, _) = openssl(
        &e.dir,
        &["pkcs12", "-in", "f.p12", "-passin", "pass:wrong", "-nodes"],
    );
    assert!(!wrong, "a wrong password does not open it");

    // Expiry tracking: the account CA, the app's trusted CA (the account CA)
    // and the certificate issued to it.
    let held = ca::certificates(&e.store, &e.keyring, acme.id, t).unwrap();
    let roles: Vec<_> = held.iter().map(|h| (h.role, h.app)).collect();
    assert_eq!(
        roles,
        vec![
            (CertRole::AccountCa, None),
            (CertRole::TrustedCa, Some(app.id)),
            (CertRole::Issued, Some(app.id)),
        ]
    );
    assert_eq!(held[0].days_left, Some(3650));
    assert_eq!(held[2].days_left, Some(365));
    assert_eq!(held[2].origin, Some(CertOrigin::Issued));
    assert_eq!(held[2].sha256, issued.cert.sha256);
    let issued_info = held[2].info.as_ref().unwrap();
    assert_eq!(issued_info.subject, format!("CN={}", app.id));
    assert_eq!(issued_info.issuer, info_subject(&the_ca));
    // A second certificate for the same app: the CA is trusted once.
    ca::issue_client_certificate(&e.store, &e.keyring, &mut app, 30, t).unwrap();
    assert_eq!(app.trusted_cas.len(), 1);
    let held = ca::certificates(&e.store, &e.keyring, acme.id, t + 86_400).unwrap();
    assert_eq!(held.len(), 4);
    assert_eq!(held[3].days_left, Some(29));
}

fn info_subject(ca: &ca::AccountCa) -> String {
    ca.info().unwrap().subject
}

/// Makes a key and a CSR with the openssl command line; returns the CSR's PEM.
fn openssl_csr(dir: &Path, name: &str, newkey: &[&str], subject: &str) -> String {
    let key = format!("{name}.key");
    let csr = format!("{name}.csr");
    let mut args = vec!["req", "-new", "-nodes", "-keyout", &key, "-out", &csr];
    args.extend_from_slice(newkey);
    args.extend_from_slice(&["-subj", subject]);
    openssl_ok(dir, &args);
    std::fs::read_to_string(dir.join(&csr)).unwrap()
}

#[test]
fn csrs_made_by_openssl_are_signed_with_their_subject_and_pinned() {
    let e = env("csr");
    let t = now();
    let (acme, _) = tenancy::create_account(&e.store, &*e.root, "Acme", t).unwrap();
    write(
        &e.dir,
        "ca.pem",
        ca::account_ca(&e.store, &e.keyring, acme.id, t)
            .unwrap()
            .cert_pem(),
    );
    let vcenter_subject =
        "/C=US/ST=California/L=Palo Alto/O=VMware/OU=vSphere/CN=vcenter.example.com";
    let cases: &[(&str, &[&str], &str)] = &[
        ("rsa2048", &["-newkey", "rsa:2048"], vcenter_subject),
        (
            "rsa4096",
            &["-newkey", "rsa:4096"],
            "/CN=vcenter.example.com/O=VMware",
        ),
        (
            "p256",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            vcenter_subject,
        ),
        (
            "p384",
            &[
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-384",
                "-sha384",
            ],
            "/O=VMware/CN=vcenter.example.com",
        ),
        // Repeated attribute types and a multi-valued RDN survive byte for byte.
        (
            "odd",
            &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            "/DC=com/DC=example/OU=a+OU=b/CN=vcenter.example.com/emailAddress=admin@example.com",
        ),
    ];
    let mut app = new_app(&e, acme.id, "vcenter");
    for (i, (name, newkey, subject)) in cases.iter().enumerate() {
        let csr = openssl_csr(&e.dir, name, newkey, subject);
        let cert = ca::sign_csr(&e.store, &e.keyring, &mut app, &csr, 730, t).unwrap();
        let file = format!("{name}.pem");
        write(&e.dir, &file, cert.pem());
        let verified = openssl_ok(
            &e.dir,
            &[
                "verify",
                "-CAfile",
                "ca.pem",
                "-purpose",
                "sslclient",
                &file,
            ],
        );
        assert_eq!(verified.trim(), format!("{file}: OK"));
        // The CSR's subject and key, unchanged.
        let csr_file = format!("{name}.csr");
        let want = openssl_ok(
            &e.dir,
            &[
                "req", "-in", &csr_file, "-noout", "-subject", "-nameopt", "RFC2253",
            ],
        );
        let got = openssl_ok(
            &e.dir,
            &[
                "x509", "-in", &file, "-noout", "-subject", "-nameopt", "RFC2253",
            ],
        );
        assert_eq!(got, want, "{name}");
        let csr_der = openssl_ok(&e.dir, &["req", "-in", &csr_file, "-noout", "-pubkey"]);
        let cert_pub = openssl_ok(&e.dir, &["x509", "-in", &file, "-noout", "-pubkey"]);
        assert_eq!(cert_pub, csr_der, "{name}");
        let text = openssl_ok(&e.dir, &["x509", "-in", &file, "-noout", "-text"]);
        assert!(text.contains("TLS Web Client Authentication"), "{text}");
        // Pinned to the app, which now authenticates by certificate.
        assert_eq!(app.pinned_certs.len(), i + 1);
        assert_eq!(app.pinned_certs[i], cert.sha256);
        assert_eq!(app.auth_method, AuthMethod::Certificate);
        assert_eq!(
            e.store
                .app_by_pinned_cert(&cert.sha256)
                .unwrap()
                .map(|a| a.id),
            Some(app.id)
        );
    }
    let held = ca::certificates(&e.store, &e.keyring, acme.id, t).unwrap();
    assert_eq!(held.len(), 1 + cases.len());
    for h in &held[1..] {
        assert_eq!(h.role, CertRole::Pinned);
        assert_eq!(h.origin, Some(CertOrigin::Signed));
        assert_eq!(h.days_left, Some(730));
        assert!(h
            .info
            .as_ref()
            .unwrap()
            .subject
            .contains("vcenter.example.com"));
    }
    // The CSR's CN may be the app's own id.
    let own = openssl_csr(
        &e.dir,
        "own",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &format!("/CN={}", app.id),
    );
    ca::sign_csr(&e.store, &e.keyring, &mut app, &own, 30, t).unwrap();
}

#[test]
fn bad_input_is_refused_clearly_and_nothing_is_half_done() {
    let e = env("bad");
    let t = now();
    let (acme, _) = tenancy::create_account(&e.store, &*e.root, "Acme", t).unwrap();
    let mut app = new_app(&e, acme.id, "vcenter");
    let other = new_app(&e, acme.id, "backup");
    let before = app.clone();
    let good = openssl_csr(
        &e.dir,
        "good",
        &["-newkey", "rsa:2048"],
        "/O=VMware/CN=vcenter.example.com",
    );
    let sign = |app: &mut App, pem: &str| ca::sign_csr(&e.store, &e.keyring, app, pem, 365, t);

    // Not PEM at all, a broken PEM, a PEM of something else.
    let m = invalid(sign(&mut app, "hello, I am not a CSR"));
    assert!(m.contains("PEM"), "{m}");
    let broken = good.replace(&good[40..60], "!!!!");
    let m = invalid(sign(&mut app, &broken));
    assert!(m.contains("PEM"), "{m}");
    let ca_pem = ca::account_ca(&e.store, &e.keyring, acme.id, t)
        .unwrap()
        .cert_pem();
    let m = invalid(sign(&mut app, &ca_pem));
    assert!(m.contains("CERTIFICATE REQUEST"), "{m}");
    let m = invalid(sign(&mut app, &format!("{good}{good}")));
    assert!(m.contains("2 CSRs"), "{m}");
    let garbage = "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n";
    let m = invalid(sign(&mut app, garbage));
    assert!(m.contains("not a certificate signing request"), "{m}");

    // A CSR whose signature does not verify: its signature altered, or its subject.
    openssl_ok(
        &e.dir,
        &[
            "req", "-in", "good.csr", "-outform", "DER", "-out", "good.der",
        ],
    );
    let der = std::fs::read(e.dir.join("good.der")).unwrap();
    let mut bad_sig = der.clone();
    *bad_sig.last_mut().unwrap() ^= 0x01;
    let at = der
        .windows(7)
        .position(|w| w == b"vcenter")
        .expect("the subject is in the CSR");
    let mut bad_subject = der.clone();
    bad_subject[at] = b'V';
    for bad in [bad_sig, bad_subject] {
        write(&e.dir, "bad.der", &bad);
        openssl_ok(
            &e.dir,
            &["req", "-inform", "DER", "-in", "bad.der", "-out", "bad.csr"],
        );
        // OpenSSL 3.0 reports the failure but exits 0: read what it says.
        let (_, out, err) = openssl(&e.dir, &["req", "-in", "bad.csr", "-noout", "-verify"]);
        assert!(
            format!("{out}{err}").contains("verify failure"),
            "openssl agrees the signature is bad: {out}{err}"
        );
        let pem = std::fs::read_to_string(e.dir.join("bad.csr")).unwrap();
        let m = invalid(sign(&mut app, &pem));
        assert!(m.contains("signature does not verify"), "{m}");
    }

    // A weak key; a CN that names another app; a validity out of range.
    let weak = openssl_csr(&e.dir, "weak", &["-newkey", "rsa:1024"], "/CN=weak");
    let m = invalid(sign(&mut app, &weak));
    assert!(m.contains("1024 bits"), "{m}");
    let impostor = openssl_csr(
        &e.dir,
        "impostor",
        &["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
        &format!("/CN={}", other.id),
    );
    let m = invalid(sign(&mut app, &impostor));
    assert!(m.contains("another app"), "{m}");
    let m = invalid(ca::sign_csr(&e.store, &e.keyring, &mut app, &good, 0, t));
    assert!(m.contains("1 to 3650 days"), "{m}");

    // Nothing changed: not the app, no certificate kept.
    assert_eq!(app, before);
    assert_eq!(e.store.app(app.id).unwrap().unwrap(), before);
    assert!(e.store.kept_certificates(acme.id).unwrap().is_empty());

    // Expired certificates are refused for pinning and trusting; current ones pass.
    let expired_leaf = self_signed(t - 400 * 86_400, t - 86_400, false);
    let expired_ca = self_signed(t - 400 * 86_400, t - 86_400, true);
    let m = invalid(ca::pin_certificate(&e.store, &mut app, &expired_leaf, t));
    assert!(m.contains("expired on"), "{m}");
    let m = invalid(ca::trust_ca(&e.store, &mut app, &expired_ca, t));
    assert!(m.contains("expired on"), "{m}");
    let m = invalid(ca::pin_certificate(&e.store, &mut app, b"not DER", t));
    assert!(m.contains("not an X.509 certificate"), "{m}");
    assert_eq!(e.store.app(app.id).unwrap().unwrap(), before);

    // vCenter's own self-signed certificate, made by openssl: pinned and tracked.
    openssl_ok(
        &e.dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "vc.key",
            "-out",
            "vc.pem",
            "-days",
            "20",
            "-subj",
            "/O=VMware/CN=vcenter.example.com",
        ],
    );
    let vc = skms_core::certs::from_pem(&std::fs::read_to_string(e.dir.join("vc.pem")).unwrap())
        .unwrap()
        .remove(0);
    let fp = ca::pin_certificate(&e.store, &mut app, &vc, t).unwrap();
    assert_eq!(app.pinned_certs, vec![fp]);
    assert_eq!(app.auth_method, AuthMethod::Certificate);
    // Pinning it again changes nothing and keeps one copy.
    ca::pin_certificate(&e.store, &mut app, &vc, t + 5).unwrap();
    assert_eq!(app.pinned_certs, vec![fp]);
    // vCenter's root CA, made by openssl: trusted.
    openssl_ok(
        &e.dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "root.key",
            "-out",
            "root.pem",
            "-days",
            "3650",
            "-subj",
            "/O=VMware/CN=VMCA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ],
    );
    let root =
        skms_core::certs::from_pem(&std::fs::read_to_string(e.dir.join("root.pem")).unwrap())
            .unwrap()
            .remove(0);
    ca::trust_ca(&e.store, &mut app, &root, t).unwrap();
    assert_eq!(e.store.app(app.id).unwrap().unwrap(), app);

    let held = ca::certificates(&e.store, &e.keyring, acme.id, t).unwrap();
    let vc_held = held.iter().find(|h| h.role == CertRole::Pinned).unwrap();
    assert_eq!(vc_held.origin, Some(CertOrigin::Uploaded));
    assert_eq!(vc_held.days_left, Some(20), "{vc_held:?}");
    assert!(vc_held.days_left.unwrap() < ca::EXPIRY_WARNING_DAYS);
    assert_eq!(
        vc_held.info.as_ref().unwrap().subject,
        "O=VMware, CN=vcenter.example.com"
    );
    let root_held = held.iter().find(|h| h.role == CertRole::TrustedCa).unwrap();
    assert_eq!(root_held.days_left, Some(3650));
    assert_eq!(e.store.kept_certificates(acme.id).unwrap().len(), 1);
}

/// A self-signed certificate valid from `not_before` to `not_after` (an expired one, say).
fn self_signed(not_before: i64, not_after: i64, is_ca: bool) -> Vec<u8> {
    use openssl::asn1::Asn1Time;
    use openssl::ec::{EcGroup, EcKey};
    use openssl::hash::MessageDigest;
    use openssl::nid::Nid;
    use openssl::pkey::PKey;
    use openssl::x509::extension::BasicConstraints;
    use openssl::x509::{X509Builder, X509NameBuilder};
    let group = EcGroup::from_curve_name(Nid::X9_62_PRIME256V1).unwrap();
    let key = PKey::from_ec_key(EcKey::generate(&group).unwrap()).unwrap();
    let mut name = X509NameBuilder::new().unwrap();
    name.append_entry_by_nid(Nid::COMMONNAME, "old").unwrap();
    let name = name.build();
    let mut b = X509Builder::new().unwrap();
    b.set_version(2).unwrap();
    b.set_subject_name(&name).unwrap();
    b.set_issuer_name(&name).unwrap();
    b.set_pubkey(&key).unwrap();
    b.set_not_before(&Asn1Time::from_unix(not_before).unwrap())
        .unwrap();
    b.set_not_after(&Asn1Time::from_unix(not_after).unwrap())
        .unwrap();
    let mut bc = BasicConstraints::new();
    if is_ca {
        bc.ca();
    }
    b.append_extension(bc.critical().build().unwrap()).unwrap();
    b.sign(&key, MessageDigest::sha256()).unwrap();
    b.build().to_der().unwrap()
}

#[test]
fn an_account_from_before_account_cas_gets_one_on_first_use() {
    use skms_core::model::Account;
    let e = env("lazy");
    let t = now();
    // As an account created before migration 4: no CA row.
    let id = skms_core::ids::AccountId::new();
    let key = skms_core::keys::Key256::generate().unwrap();
    let old = Account {
        id,
        name: "Old".into(),
        enabled: true,
        created: t - 1000,
        wrapped_key: e
            .root
            .wrap(&key, &tenancy::account_key_context(id))
            .unwrap(),
    };
    e.store.create_account(&old).unwrap();
    tenancy::create_group(&e.store, id, tenancy::DEFAULT_GROUP, "", t).unwrap();
    assert!(e.store.account_ca(id).unwrap().is_none());
    let mut app = new_app(&e, id, "vcenter");
    // Issuing makes the CA, once.
    let issued = ca::issue_client_certificate(&e.store, &e.keyring, &mut app, 10, t).unwrap();
    let made = e.store.account_ca(id).unwrap().expect("made on first use");
    assert_eq!(issued.cert.ca_der, made.cert_der);
    assert_eq!(
        ca::account_ca(&e.store, &e.keyring, id, t + 9).unwrap(),
        made
    );
    assert_eq!(
        ca::certificates(&e.store, &e.keyring, id, t).unwrap()[0].sha256,
        skms_core::certs::fingerprint(&made.cert_der)
    );
    // Made under this account's key, bound to this account: unsealed under
    // the key with the account's context.
    let plain = key.open(&made.sealed_key, &ca::ca_key_aad(id)).unwrap();
    assert!(openssl::pkey::PKey::private_key_from_pkcs8(&plain).is_ok());
    assert!(key
        .open(
            &made.sealed_key,
            &ca::ca_key_aad(skms_core::ids::AccountId::new())
        )
        .is_err());
}

#[test]
fn a_ca_key_moved_to_another_account_does_not_open() {
    let e = env("moved");
    let t = now();
    let (acme, _) = tenancy::create_account(&e.store, &*e.root, "Acme", t).unwrap();
    let acme_ca = e.store.account_ca(acme.id).unwrap().unwrap();
    // An account without a CA, then given Acme's CA row (a tampered database).
    let id = skms_core::ids::AccountId::new();
    let key = skms_core::keys::Key256::generate().unwrap();
    let victim = skms_core::model::Account {
        id,
        name: "Victim".into(),
        enabled: true,
        created: t,
        wrapped_key: e
            .root
            .wrap(&key, &tenancy::account_key_context(id))
            .unwrap(),
    };
    e.store.create_account(&victim).unwrap();
    tenancy::create_group(&e.store, id, tenancy::DEFAULT_GROUP, "", t).unwrap();
    let mut moved = acme_ca.clone();
    moved.account = id;
    e.store.add_account_ca(&moved).unwrap();
    let mut app = new_app(&e, id, "vcenter");
    let before = app.clone();
    assert!(matches!(
        ca::issue_client_certificate(&e.store, &e.keyring, &mut app, 10, t),
        Err(TenancyError::Key(_))
    ));
    assert_eq!(app, before);
    // Nor does a second CA replace the first.
    let again = ca::new_account_ca(&victim, &key, t).unwrap();
    assert!(e.store.add_account_ca(&again).is_err());
}
