//! PyKMIP's `ProxyKmipClient`, a real KMIP client, against `skms serve`: an
//! account and an app made with the admin commands, then the object lifecycle
//! (create, get, get attributes, attribute list, register, locate, activate,
//! revoke, destroy) at KMIP 1.1, 1.2 (PyKMIP's default), 1.4 and 2.0, with the
//! app's UUID and secret as the KMIP username and password.

mod common;

use serde_json::Value as Json;
use std::path::PathBuf;
use std::process::Command;

/// A Python with PyKMIP 0.11.0 (found or bootstrapped by tools/pykmip-python).
fn python() -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/pykmip-python");
    let out = Command::new(script)
        .output()
        .expect("run tools/pykmip-python");
    assert!(
        out.status.success(),
        "PyKMIP is not available: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

#[test]
fn pykmip_walks_the_object_lifecycle_with_a_password() {
    let dir = common::temp_dir("pykmip");
    let server = common::serve(&dir);
    let common::Tenant {
        username, password, ..
    } = server.tenant("Acme", "vcenter");
    let ca = dir.join("ca.crt");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pykmip/client.py");
    let py = python();

    for version in ["1.2", "1.1", "1.4", "2.0"] {
        let out = Command::new(&py)
            .arg(script)
            .args(["127.0.0.1", &server.port.to_string()])
            .arg(&ca)
            .args(["-", "-", version, &username, &password])
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "PyKMIP {version}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let r: Json = serde_json::from_str(stdout.trim())
            .unwrap_or_else(|e| panic!("{version}: {e}: {stdout}"));
        let uid = r["create"].as_str().unwrap();
        assert_eq!(uid.len(), 36, "{version}: a UUID: {r}");
        assert_eq!(r["get_len"], 32, "{version}: {r}");
        assert_eq!(r["get_alg"], "AES", "{version}: {r}");
        assert_eq!(
            r["attributes"]["State"], "State.PRE_ACTIVE",
            "{version}: {r}"
        );
        assert_eq!(
            r["attributes"]["Cryptographic Length"], "256",
            "{version}: {r}"
        );
        let list: Vec<&str> = r["attribute_list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        for name in [
            "Unique Identifier",
            "Object Type",
            "Cryptographic Algorithm",
            "State",
            "Name",
        ] {
            assert!(list.contains(&name), "{version}: {name} in {list:?}");
        }
        if version == "1.1" {
            assert!(
                !list.contains(&"Original Creation Date"),
                "a 1.2 attribute never reaches a 1.1 client: {list:?}"
            );
        }
        assert_eq!(r["get_secret"], "01".repeat(16), "{version}: {r}");
        let located: Vec<&str> = r["locate"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        assert!(
            located.contains(&uid) && located.contains(&r["register"].as_str().unwrap()),
            "{version}: {r}"
        );
        assert_eq!(r["state_after_activate"], "State.ACTIVE", "{version}: {r}");
        let gone = r["get_after_destroy"].as_str().unwrap();
        let expected = if version == "2.0" {
            "OBJECT_DESTROYED"
        } else {
            "KEY_VALUE_NOT_PRESENT"
        };
        assert!(
            gone.contains(expected),
            "{version}: Get after Destroy: {gone}"
        );
    }

    // A wrong password is refused, as PyKMIP sees it.
    let out = Command::new(&py)
        .arg(script)
        .args(["127.0.0.1", &server.port.to_string()])
        .arg(&ca)
        .args(["-", "-", "1.2", &username, "not-the-secret"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("AUTHENTICATION_NOT_SUCCESSFUL"), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs the PyKMIP client with a client certificate and no password.
fn pykmip_with_cert(
    server: &common::Server,
    ca: &std::path::Path,
    cert: &str,
    key: &str,
    version: &str,
) -> (bool, String) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pykmip/client.py");
    let out = Command::new(python())
        .arg(script)
        .args(["127.0.0.1", &server.port.to_string()])
        .arg(ca)
        .args([cert, key, version])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn pykmip_authenticates_with_pinned_and_ca_issued_certificates() {
    let dir = common::temp_dir("pykmip-cert");
    let server = common::serve(&dir);
    let tenant = server.tenant("Acme", "vcenter");
    let app_id = tenant.username.clone();
    let certs = dir.join("client-certs");
    std::fs::create_dir_all(&certs).unwrap();
    let c = |f: &str| certs.join(f).to_str().unwrap().to_string();

    // vCenter's "vCenter Certificate" option: its own self-signed certificate with an arbitrary CN.
    common::self_signed_p256(&certs, "self", "/CN=kmipClient20161127094708", &[]);
    // Another self-signed certificate that nobody pins.
    common::self_signed_p256(&certs, "stranger", "/CN=stranger", &[]);
    // The "vCenter Root CA Certificate" option: a CA, and a client certificate it issues with CN = app UUID.
    common::self_signed_p256(
        &certs,
        "ca",
        "/CN=vCenter Root CA",
        &[
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ],
    );
    common::csr_p256(&certs, "issued.key", "issued.csr", &format!("/CN={app_id}"));
    // X.509 v3 with the extensions a CA such as vCenter's VMCA puts in client certificates.
    std::fs::write(
        certs.join("client.ext"),
        "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
    )
    .unwrap();
    common::openssl(
        &certs,
        &[
            "x509",
            "-req",
            "-in",
            "issued.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "issued.crt",
            "-days",
            "30",
            "-extfile",
            "client.ext",
        ],
    );

    let pinned = server.admin(
        &tenant.admin,
        &["app", "pin-cert", "vcenter", "--pem", &c("self.crt")],
    );
    assert!(pinned.contains("pinned certificate SHA-256"), "{pinned}");
    let trusted = server.admin(
        &tenant.admin,
        &["app", "trust-ca", "vcenter", "--pem", &c("ca.crt")],
    );
    assert!(trusted.contains("vCenter Root CA"), "{trusted}");
    // A leaf (no Basic Constraints CA) is not a CA: trusting it is refused with a reason.
    let (ok, _, err) = server.admin_try(
        &tenant.admin,
        &["app", "trust-ca", "vcenter", "--pem", &c("issued.crt")],
    );
    assert!(!ok);
    assert!(err.contains("not a CA certificate"), "{err}");
    // The app now authenticates by certificate only: its secret no longer works.
    let shown = server.admin(&tenant.admin, &["app", "show", "vcenter"]);
    assert!(shown.contains("authentication: certificate"), "{shown}");

    let ca = dir.join("ca.crt");
    for version in ["1.2", "2.0"] {
        let (ok, out) = pykmip_with_cert(&server, &ca, &c("self.crt"), &c("self.key"), version);
        assert!(ok, "pinned self-signed certificate, KMIP {version}: {out}");
        let (ok, out) = pykmip_with_cert(&server, &ca, &c("issued.crt"), &c("issued.key"), version);
        assert!(
            ok,
            "certificate issued by the app's trusted CA, KMIP {version}: {out}"
        );
    }
    let (ok, out) = pykmip_with_cert(&server, &ca, &c("stranger.crt"), &c("stranger.key"), "1.2");
    assert!(
        !ok && out.contains("AUTHENTICATION_NOT_SUCCESSFUL"),
        "an unknown certificate authenticates nobody: {out}"
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
