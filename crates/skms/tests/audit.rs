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
