//! The audit log of a real `skms serve`: what KMIP clients do lands in the
//! chain of their account (failed logins included), is forwarded to syslog as
//! RFC 5424 messages, survives a stop, and `skms audit verify` names the record
//! someone changed in the database file.

mod common;

use skms_core::audit::{AuditQuery, Outcome};
use skms_core::store::Store;
use std::net::UdpSocket;
use std::time::{Duration, Instant};

#[test]
fn kmip_actions_are_chained_forwarded_and_verified() {
    let dir = common::temp_dir("audit");
    std::fs::create_dir_all(&dir).unwrap();
    let syslog = UdpSocket::bind("127.0.0.1:0").unwrap();
    syslog
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::fs::write(
        dir.join("skms.toml"),
        format!(
            "audit_syslog = \"udp://{}\"\n",
            syslog.local_addr().unwrap()
        ),
    )
    .unwrap();
    let server = common::serve(&dir);
    let tenant = server.tenant("Acme", "vcenter");
    let (user, pass) = (tenant.username.as_str(), tenant.password.as_str());

    // A Create and a Get by the app; a wrong password; a Get of a missing key.
    let mut s = common::kmip_connect(server.port, &dir.join("ca.crt"));
    let uid = common::kmip_create_aes_256(&mut s, user, pass);
    let _ = common::kmip_get(&mut s, user, pass, &uid);
    let mut s2 = common::kmip_connect(server.port, &dir.join("ca.crt"));
    let _ = common::kmip_exchange(
        &mut s2,
        common::kmip_request(user, "not-the-secret", common::create_aes_256()),
    );
    let missing = kmip::payloads::GetRequest {
        unique_identifier: Some("no-such-key".into()),
        ..Default::default()
    };
    let _ = common::kmip_exchange(&mut s, common::kmip_request(user, pass, missing.into()));
    drop((s, s2));

    // Forwarded to syslog (best effort, but on loopback all arrive).
    let mut messages = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 9000];
    while Instant::now() < deadline
        && !messages
            .iter()
            .any(|m: &String| m.contains("kmip.Get") && m.contains("ItemNotFound"))
    {
        if let Ok(n) = syslog.recv(&mut buf) {
            messages.push(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    let create = messages
        .iter()
        .find(|m| m.contains(" kmip.Create ") && m.contains(&uid))
        .unwrap_or_else(|| panic!("no Create record among {messages:#?}"));
    assert!(
        create.starts_with("<110>1 "),
        "facility 13, informational: {create}"
    );
    assert!(create.contains(&format!("actor=\"{user}\"")), "{create}");
    assert!(
        messages.iter().any(|m| m.starts_with("<108>1 ")
            && m.contains("auth.kmip.password")
            && m.contains("failure")),
        "the failed login, as a warning: {messages:#?}"
    );

    // Stopped cleanly (every queued record committed), the chains verify.
    server.terminate();
    let out = common::skms(&["audit", "verify", "--data-dir", dir.to_str().unwrap()]);
    assert!(
        out.contains("provider:") && out.contains("account Acme"),
        "{out}"
    );
    assert!(!out.contains("BROKEN"), "{out}");

    // In the database: Acme's chain holds its app's actions and the failed login on its app.
    let store = skms_store::SqliteStore::open(&dir.join("skms.db")).unwrap();
    let acme = store
        .accounts()
        .unwrap()
        .into_iter()
        .find(|a| a.name == "Acme")
        .unwrap();
    let all = store
        .audit_query(
            Some(acme.id),
            &AuditQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    let find = |op: &str, outcome: Outcome| {
        all.iter()
            .find(|r| r.event.operation == op && r.event.outcome == outcome)
            .unwrap_or_else(|| panic!("no {op} {outcome:?} in {all:#?}"))
    };
    assert_eq!(
        find("kmip.Create", Outcome::Success)
            .event
            .object
            .as_deref(),
        Some(uid.as_str())
    );
    assert_eq!(find("kmip.Get", Outcome::Success).event.actor, user);
    assert_eq!(
        find("kmip.Get", Outcome::Failure).event.reason.as_deref(),
        Some("ItemNotFound")
    );
    assert_eq!(
        find("auth.kmip.password", Outcome::Failure).event.actor,
        user
    );
    assert_eq!(
        find("auth.kmip.password", Outcome::Success).event.source,
        "127.0.0.1"
    );
    // No record of Acme is in another chain, and no secret is in any record.
    let provider = store
        .audit_query(
            None,
            &AuditQuery {
                limit: 1000,
                ..Default::default()
            },
        )
        .unwrap();
    assert!(provider
        .iter()
        .all(|r| r.event.object.as_deref() != Some(uid.as_str())));
    for r in all.iter().chain(&provider) {
        assert!(!format!("{r:?}").contains(pass), "a secret in {r:?}");
    }
    let changed = all
        .iter()
        .find(|r| r.event.operation == "kmip.Create")
        .unwrap()
        .seq;
    drop(store);

    // Someone edits the Create's record in the file: verify names it and fails.
    let c = rusqlite::Connection::open(dir.join("skms.db")).unwrap();
    c.execute(
        "UPDATE audit SET result = 'failure' WHERE chain = ?1 AND seq = ?2",
        (&acme.id.as_bytes()[..], changed as i64),
    )
    .unwrap();
    drop(c);
    let verify = std::process::Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["audit", "verify", "--data-dir"])
        .arg(&dir)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&verify.stdout);
    assert!(!verify.status.success(), "{text}");
    assert!(
        text.contains(&format!(
            "account Acme ({}): BROKEN: record {changed} was changed",
            acme.id
        )),
        "{text}"
    );
    assert!(
        text.contains("provider:") && text.contains("chain intact"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn each_admin_reads_exports_and_verifies_its_own_log_over_rest() {
    let dir = common::temp_dir("audit-rest");
    let server = common::serve(&dir);
    let acme = server.tenant("Acme", "vcenter");
    let globex = server.tenant("Globex", "backup");
    let mut s = common::kmip_connect(server.port, &dir.join("ca.crt"));
    let uid = common::kmip_create_aes_256(&mut s, &acme.username, &acme.password);
    drop(s);

    // Acme's admin finds the Create (KMIP) and the app creation (REST) in Acme's log.
    let list = server.admin(&acme.admin, &["audit", "list", "--object", &uid, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&list).unwrap();
    let records = v["records"].as_array().unwrap();
    assert_eq!(records.len(), 1, "{v}");
    assert_eq!(records[0]["operation"], "kmip.Create");
    assert_eq!(records[0]["actor"], acme.username.as_str());
    let list = server.admin(
        &acme.admin,
        &["audit", "list", "--operation", "rest.POST /v1/apps"],
    );
    assert!(list.contains(&acme.admin.user), "{list}");
    // Globex's admin sees nothing of Acme: not the key, not Acme's admin.
    let theirs = server.admin(
        &globex.admin,
        &["audit", "list", "--object", &uid, "--json"],
    );
    let v: serde_json::Value = serde_json::from_str(&theirs).unwrap();
    assert_eq!(v["records"], serde_json::json!([]));
    let all = server.admin(&globex.admin, &["audit", "export"]);
    assert!(
        !all.contains(&acme.admin.user) && !all.contains(&uid),
        "{all}"
    );
    // The sysadmin's log is the provider's: account creations, no key operations.
    let root = server.admin(&server.sysadmin(), &["audit", "export", "--limit", "1000"]);
    let lines: Vec<serde_json::Value> = root
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(
        lines
            .iter()
            .any(|r| r["operation"] == "rest.POST /v1/accounts"),
        "{root}"
    );
    assert!(
        lines.iter().all(|r| r["operation"] != "kmip.Create"),
        "{root}"
    );
    // An app cannot read any log; the chains verify over REST.
    let out = server.admin(&acme.admin, &["audit", "verify"]);
    assert!(out.contains("chain intact"), "{out}");
    let out = server.admin(&server.sysadmin(), &["audit", "verify"]);
    assert!(out.contains("chain intact"), "{out}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
