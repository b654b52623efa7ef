//! The seed's walk-through in the web console, end to end, in Debian's
//! Chromium (driven by playwright-core: `tests/console/walkthrough.mjs`):
//! an account admin signs in, creates the app vCenter uses (KMIP, API key)
//! and views its credentials; PyKMIP, with those credentials, creates a key
//! over KMIP/TLS and vCenter's captured Add Attribute ×3 tags it with its VM;
//! the key then shows under Security Objects with its VM's name, its detail
//! and audit trail; the app switches to certificate authentication with a
//! pinned certificate made by openssl; the audit log verifies. An auditor
//! sees no action button, another account's admin does not see the key, the
//! sysadmin sees the accounts. Screenshots of each page are written to
//! `target/console-screenshots/`.

mod common;

use common::{after, Login};
use kmip::enums::ResultStatus;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Debian's Chromium and playwright-core, made ready by tools/console-e2e-setup.
fn chromium() -> PathBuf {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tools/console-e2e-setup");
    let out = Command::new(script)
        .output()
        .expect("run tools/console-e2e-setup");
    assert!(
        out.status.success(),
        "the browser is not available: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// Runs one phase of the walk-through with `env`; fails with its output.
fn walkthrough(phase: &str, env: &[(&str, String)]) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/console");
    let out = Command::new("node")
        .current_dir(dir)
        .arg("walkthrough.mjs")
        .arg(phase)
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .expect("node runs");
    assert!(
        out.status.success(),
        "the console walk-through ({phase}) failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A new account's admin login, made by the sysadmin with the CLI.
fn account(server: &common::Server, name: &str) -> Login {
    let made = server.admin(&server.sysadmin(), &["account", "create", name]);
    Login {
        user: after(&made, "account admin login"),
        password: after(&made, "account admin password"),
    }
}

/// PyKMIP creates an AES-256 key as the app; its Unique Identifier.
fn pykmip_create(server: &common::Server, ca: &Path, username: &str, password: &str) -> String {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pykmip/create_key.py");
    let out = Command::new(common::pykmip_python())
        .arg(script)
        .args(["127.0.0.1", &server.port.to_string()])
        .arg(ca)
        .args([username, password, "vm-test01-key"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "PyKMIP: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_seed_walk_through_in_chromium() {
    let chromium = chromium();
    let dir = common::temp_dir("console-e2e");
    let server = common::serve(&dir);
    let ca = dir.join("ca.crt");
    let sysadmin = server.sysadmin();
    let admin = account(&server, "acme");
    let other = account(&server, "globex");
    let (client, base) = common::rest_client(&server);
    let (_, auditor) = common::rest_usable_user(
        &client,
        &base,
        &admin,
        "acme-auditor",
        "auditor",
        "auditor-Passw0rd-long",
    );
    common::self_signed_p256(&dir, "vcenter", "/CN=vcenter.example", &[]);
    let shots = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../target/console-screenshots"
    ));
    let _ = std::fs::remove_dir_all(&shots);
    let out = dir.join("walkthrough.json");
    let mut env = vec![
        ("SKMS_URL", base.clone()),
        ("CHROMIUM", chromium.display().to_string()),
        ("SHOTS", shots.display().to_string()),
        (
            "STATE",
            dir.join("browser-state.json").display().to_string(),
        ),
        ("OUT", out.display().to_string()),
        ("ADMIN_USER", admin.user.clone()),
        ("ADMIN_PASSWORD", admin.password.clone()),
        ("AUDITOR_USER", auditor.user.clone()),
        ("AUDITOR_PASSWORD", auditor.password.clone()),
        ("OTHER_USER", other.user.clone()),
        ("OTHER_PASSWORD", other.password.clone()),
        ("SYSADMIN_USER", sysadmin.user.clone()),
        ("SYSADMIN_PASSWORD", sysadmin.password.clone()),
        ("PIN_PEM", dir.join("vcenter.crt").display().to_string()),
        ("P12_OUT", dir.join("vcenter.p12").display().to_string()),
        ("P12_PASSWORD", "p12-Passw0rd".to_string()),
    ];
    walkthrough("setup", &env);

    // vCenter's part, with the credentials the console showed.
    let creds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    let (username, password) = (
        creds["username"].as_str().unwrap(),
        creds["password"].as_str().unwrap(),
    );
    let key = pykmip_create(&server, &ca, username, password);
    let mut kmip = common::kmip_connect(server.port, &ca);
    let tag = skms_test_support::requests::with_password(
        skms_test_support::vcenter::with_uid(skms_test_support::vcenter::request("A16."), &key),
        username,
        password,
    );
    let r = common::kmip_exchange(&mut kmip, tag);
    assert!(
        r.batch_items
            .iter()
            .all(|i| i.result_status == ResultStatus::SUCCESS),
        "{r:?}"
    );

    env.push(("KEY_ID", key));
    walkthrough("verify", &env);

    // The PKCS#12 file the console downloaded opens with openssl: a client
    // certificate for the app (CN = its id) and its key.
    let p12 = common::openssl(
        &dir,
        &[
            "pkcs12",
            "-in",
            "vcenter.p12",
            "-passin",
            "pass:p12-Passw0rd",
            "-nodes",
        ],
    );
    assert!(p12.contains("PRIVATE KEY"), "the key is in the file");
    assert!(
        p12.contains(&format!("CN = {username}")) || p12.contains(&format!("CN={username}")),
        "{p12}"
    );
    println!("screenshots: {}", shots.display());
    server.terminate();
}
