//! The certificate commands of `skms` against a real server: `app
//! issue-cert` (PEM files, the key 0600 even over an existing file; PKCS#12
//! 0600), `app sign-csr` (to a file or standard output), `cert list` (every
//! certificate with its expiry, soonest first) and `account-ca`; the issued
//! certificate authenticates as the app over KMIP, and the server's log never
//! shows the key.

mod common;

use common::openssl;
use serde_json::Value;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn certificate_commands_write_their_files_and_list_expiry() {
    let dir = common::temp_dir("certs-cli");
    let log = dir.join("logs").join("server.log");
    let server = common::serve_logging(&dir, Some(&log));
    let tenant = server.tenant("Acme", "vcenter");
    let admin = &tenant.admin;
    let w = dir.join("files");
    std::fs::create_dir_all(&w).unwrap();
    let p = |f: &str| w.join(f);
    let arg = |f: &str| w.join(f).to_str().unwrap().to_string();

    // issue-cert, PEM: certificate, key (0600, even over a file that was
    // world-readable) and the CA; the key is not printed.
    std::fs::write(p("vcenter.key"), "old").unwrap();
    std::fs::set_permissions(p("vcenter.key"), std::fs::Permissions::from_mode(0o644)).unwrap();
    let out = server.admin(
        admin,
        &[
            "app",
            "issue-cert",
            "vcenter",
            "--days",
            "90",
            "--out-cert",
            &arg("vcenter.crt"),
            "--out-key",
            &arg("vcenter.key"),
            "--out-ca",
            &arg("account-ca-1.pem"),
        ],
    );
    assert!(out.contains("issued a client certificate"), "{out}");
    assert!(out.contains("valid until"), "{out}");
    assert!(!out.contains("PRIVATE KEY"), "{out}");
    assert_eq!(mode(&p("vcenter.key")), 0o600);
    let key = read(&p("vcenter.key"));
    assert!(key.starts_with("-----BEGIN PRIVATE KEY-----"), "{key}");
    let cert = read(&p("vcenter.crt"));
    assert_eq!(cert.matches("BEGIN CERTIFICATE").count(), 1, "{cert}");
    let subject = openssl(&w, &["x509", "-in", "vcenter.crt", "-noout", "-subject"]);
    assert!(
        subject.contains(&format!("CN = {}", tenant.username)),
        "{subject}"
    );
    let checked = openssl(
        &w,
        &["verify", "-CAfile", "account-ca-1.pem", "vcenter.crt"],
    );
    assert!(checked.contains("OK"), "{checked}");
    // It is the app over KMIP, by certificate alone.
    let mut s = common::kmip_connect_with_cert(
        server.port,
        &dir.join("ca.crt"),
        &p("vcenter.crt"),
        &p("vcenter.key"),
    );
    common::kmip_create_get_by_certificate(&mut s);
    drop(s);
    let shown = server.admin(admin, &["app", "show", "vcenter"]);
    assert!(shown.contains("authentication: certificate"), "{shown}");

    // issue-cert, PKCS#12: 0600, opened by its password.
    std::fs::write(p("p12.pass"), "a long password\n").unwrap();
    let out = server.admin(
        admin,
        &[
            "app",
            "issue-cert",
            &tenant.username,
            "--days",
            "200",
            "--pkcs12",
            &arg("vcenter.p12"),
            "--pkcs12-password-file",
            &arg("p12.pass"),
        ],
    );
    assert!(out.contains("PKCS#12"), "{out}");
    assert_eq!(mode(&p("vcenter.p12")), 0o600);
    let pem = openssl(
        &w,
        &[
            "pkcs12",
            "-in",
            "vcenter.p12",
            "-passin",
            "file:p12.pass",
            "-nodes",
        ],
    );
    assert!(pem.contains("BEGIN PRIVATE KEY"), "{pem}");
    // A short password is refused by the server, and no file is written.
    std::fs::write(p("short.pass"), "short\n").unwrap();
    let (ok, _, err) = server.admin_try(
        admin,
        &[
            "app",
            "issue-cert",
            "vcenter",
            "--pkcs12",
            &arg("short.p12"),
            "--pkcs12-password-file",
            &arg("short.pass"),
        ],
    );
    assert!(!ok);
    assert!(err.contains("at least 8"), "{err}");
    assert!(!p("short.p12").exists());
    // Neither output given: a usage error.
    let (ok, _, err) = server.admin_try(admin, &["app", "issue-cert", "vcenter"]);
    assert!(!ok);
    assert!(err.contains("--out-cert"), "{err}");

    // sign-csr: to a file with the CA, and to standard output.
    openssl(
        &w,
        &[
            "req",
            "-new",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "csr.key",
            "-out",
            "vc.csr",
            "-subj",
            "/O=VMware/CN=vcenter01.example.com",
        ],
    );
    let out = server.admin(
        admin,
        &[
            "app",
            "sign-csr",
            "vcenter",
            "--csr",
            &arg("vc.csr"),
            "--days",
            "10",
            "--out",
            &arg("signed.crt"),
            "--out-ca",
            &arg("account-ca-2.pem"),
        ],
    );
    assert!(out.contains("pinned"), "{out}");
    let subject = openssl(&w, &["x509", "-in", "signed.crt", "-noout", "-subject"]);
    assert!(subject.contains("CN = vcenter01.example.com"), "{subject}");
    assert_eq!(read(&p("account-ca-1.pem")), read(&p("account-ca-2.pem")));
    let printed = server.admin(
        admin,
        &["app", "sign-csr", "vcenter", "--csr", &arg("vc.csr")],
    );
    assert!(
        printed.starts_with("-----BEGIN CERTIFICATE-----"),
        "{printed}"
    );
    // A file that is no CSR: the server's reason.
    let (ok, _, err) = server.admin_try(
        admin,
        &["app", "sign-csr", "vcenter", "--csr", &arg("vcenter.crt")],
    );
    assert!(!ok);
    assert!(err.contains("CERTIFICATE REQUEST"), "{err}");

    // cert list: every certificate with its expiry, soonest first.
    let list = server.admin(admin, &["cert", "list"]);
    let (header, rows) = list.split_once('\n').unwrap();
    assert!(
        header.starts_with("EXPIRY") && header.contains("SUBJECT"),
        "{list}"
    );
    let rows: Vec<&str> = rows.lines().collect();
    assert_eq!(
        rows.len(),
        6,
        "CA, issued ×2, the trusted account CA, signed ×2: {list}"
    );
    assert!(
        rows[0].contains("expires soon") && rows[0].contains("pinned (signed)"),
        "{list}"
    );
    assert!(
        rows[0].contains("O=VMware, CN=vcenter01.example.com"),
        "{list}"
    );
    assert!(rows.iter().all(|r| r.contains("days left")), "{list}");
    assert!(common::table_cell(&list, "account-ca", "NOT AFTER").starts_with("20"));
    assert!(
        rows.iter()
            .any(|r| r.contains("issued (issued)") && r.contains("app vcenter")),
        "{list}"
    );
    assert!(list.contains("trusted-ca"), "{list}");
    let json: Value =
        serde_json::from_str(&server.admin(admin, &["cert", "list", "--json"])).unwrap();
    let days: Vec<i64> = json
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["days_left"].as_i64().unwrap())
        .collect();
    assert!(days.windows(2).all(|d| d[0] <= d[1]), "{days:?}");
    assert!(days[0] <= 10 && days[days.len() - 1] > 3000, "{days:?}");

    // account-ca: to standard output and to a file, the same CA.
    let ca = server.admin(admin, &["account-ca"]);
    assert_eq!(ca, read(&p("account-ca-1.pem")));
    server.admin(admin, &["account-ca", "--out", &arg("account-ca-3.pem")]);
    assert_eq!(read(&p("account-ca-3.pem")), ca);
    // The sysadmin has no account CA.
    let (ok, _, err) = server.admin_try(&server.sysadmin(), &["account-ca"]);
    assert!(!ok && err.contains("forbidden"), "{err}");

    // --json shows the server's answer without the key, which is in its file only.
    let out = server.admin(
        admin,
        &[
            "app",
            "issue-cert",
            "vcenter",
            "--json",
            "--out-cert",
            &arg("json.crt"),
            "--out-key",
            &arg("json.key"),
        ],
    );
    let v: Value = serde_json::from_str(&out).unwrap();
    assert!(v.get("private_key_pem").is_none(), "{v}");
    assert_eq!(v["private_key_file"], arg("json.key"));
    assert_eq!(v["certificate_pem"].as_str().unwrap(), read(&p("json.crt")));
    assert_eq!(mode(&p("json.key")), 0o600);

    // The server's log (debug level) never shows a key it made.
    drop(server);
    let logged = read(&log);
    assert!(logged.contains("client certificate issued"), "{logged}");
    assert!(!logged.contains("PRIVATE KEY"), "the log shows a key");
    for line in key.lines().filter(|l| !l.starts_with("-----")) {
        assert!(!logged.contains(line), "the log shows the key's {line}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
