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

/// The value after `label` on the line that has it (`app id (KMIP username): …`).
fn after(text: &str, label: &str) -> String {
    let line = text
        .lines()
        .find(|l| l.contains(label))
        .unwrap_or_else(|| panic!("no `{label}` in {text}"));
    line.rsplit(' ').next().unwrap().to_string()
}

#[test]
fn pykmip_walks_the_object_lifecycle_with_a_password() {
    let dir = common::temp_dir("pykmip");
    let d = dir.to_str().unwrap();
    common::skms(&["account", "create", "Acme", "--data-dir", d]);
    let created = common::skms(&[
        "app",
        "create",
        "--account",
        "Acme",
        "--name",
        "vcenter",
        "--data-dir",
        d,
    ]);
    let username = after(&created, "KMIP username");
    let password = after(&created, "KMIP password");
    assert_eq!(username.len(), 36, "{created}");
    assert_eq!(password.len(), 64, "{created}");
    let server = common::serve(&dir);
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
