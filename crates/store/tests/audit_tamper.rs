//! The audit chain against someone with write access to the database file:
//! a changed, removed, reordered or cut-off record is found and named.

mod common;

use common::TempDir;
use rusqlite::Connection;
use skms_core::audit::{self, ActorKind, AuditEvent, ChainBreak, Outcome};
use skms_core::store::Store;
use skms_store::SqliteStore;
use std::path::Path;

fn events(account: skms_core::ids::AccountId, n: i64) -> Vec<AuditEvent> {
    (1..=n)
        .map(|i| AuditEvent {
            account: Some(account),
            time_ms: 1_700_000_000_000 + i * 1000,
            actor_kind: ActorKind::App,
            actor: "5f0c6a3e-0a4b-4a53-9a43-0c2d6f1e8b11".into(),
            source: "192.0.2.7".into(),
            operation: "kmip.Get".into(),
            object: Some(format!("key-{i}")),
            outcome: Outcome::Success,
            reason: None,
            message: None,
        })
        .collect()
}

/// A fresh store with 20 records in account "acme"'s chain; the store is closed.
fn setup(dir: &Path) -> skms_core::ids::AccountId {
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    let a = common::account("acme");
    store.create_account(&a).unwrap();
    store.append_audit(&events(a.id, 20)).unwrap();
    assert_eq!(audit::verify_chain(&store, Some(a.id)), Ok(20));
    a.id
}

/// Runs `sql` on the database file behind the server's back.
fn tamper(dir: &Path, sql: &str) {
    let c = Connection::open(dir.join("skms.db")).unwrap();
    c.execute_batch(sql).unwrap();
}

fn verify(dir: &Path, a: skms_core::ids::AccountId) -> Result<u64, ChainBreak> {
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    audit::verify_chain(&store, Some(a))
}

#[test]
fn a_changed_record_is_named() {
    let tmp = TempDir::new("audit-changed");
    let dir = tmp.join("");
    let a = setup(&dir);
    tamper(&dir, "UPDATE audit SET object = 'key-999' WHERE seq = 7");
    assert_eq!(verify(&dir, a), Err(ChainBreak::Changed { seq: 7 }));
    // Changing the outcome, the time or the actor is found the same way.
    tamper(&dir, "UPDATE audit SET object = 'key-7' WHERE seq = 7");
    assert_eq!(verify(&dir, a), Ok(20));
    for sql in [
        "UPDATE audit SET result = 'failure' WHERE seq = 12",
        "UPDATE audit SET time_ms = time_ms + 1 WHERE seq = 12",
        "UPDATE audit SET actor = 'someone-else' WHERE seq = 12",
    ] {
        let tmp = TempDir::new("audit-changed-field");
        let dir = tmp.join("");
        let a = setup(&dir);
        tamper(&dir, sql);
        assert_eq!(
            verify(&dir, a),
            Err(ChainBreak::Changed { seq: 12 }),
            "{sql}"
        );
    }
}

#[test]
fn a_removed_record_is_named() {
    let tmp = TempDir::new("audit-removed");
    let dir = tmp.join("");
    let a = setup(&dir);
    tamper(&dir, "DELETE FROM audit WHERE seq = 5");
    assert_eq!(
        verify(&dir, a),
        Err(ChainBreak::Broken {
            seq: 6,
            previous: 4
        })
    );
}

#[test]
fn reordered_records_are_named() {
    let tmp = TempDir::new("audit-reordered");
    let dir = tmp.join("");
    let a = setup(&dir);
    // Swap records 9 and 10 (their positions), keeping each one's own hash.
    tamper(
        &dir,
        "UPDATE audit SET seq = 1000 WHERE seq = 9;
         UPDATE audit SET seq = 9 WHERE seq = 10;
         UPDATE audit SET seq = 10 WHERE seq = 1000;",
    );
    assert_eq!(verify(&dir, a), Err(ChainBreak::Changed { seq: 9 }));
}

#[test]
fn a_rewritten_record_with_a_fresh_hash_breaks_the_next_link() {
    // An attacker who recomputes the changed record's own hash still breaks
    // the link from the record after it.
    let tmp = TempDir::new("audit-rehashed");
    let dir = tmp.join("");
    let a = setup(&dir);
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    let mut r = store.audit_chain_page(Some(a), 7, 1).unwrap().remove(0);
    drop(store);
    r.event.object = Some("key-forged".into());
    let forged = audit::record_hash(&r.event, r.seq, &r.prev_hash);
    tamper(
        &dir,
        &format!(
            "UPDATE audit SET object = 'key-forged', hash = x'{}' WHERE seq = 8",
            hex::encode(forged)
        ),
    );
    assert_eq!(
        verify(&dir, a),
        Err(ChainBreak::Broken {
            seq: 9,
            previous: 8
        })
    );
}

#[test]
fn cutting_off_the_last_records_is_found() {
    let tmp = TempDir::new("audit-truncated");
    let dir = tmp.join("");
    let a = setup(&dir);
    tamper(&dir, "DELETE FROM audit WHERE seq > 17");
    assert_eq!(
        verify(&dir, a),
        Err(ChainBreak::Truncated { last: 17, head: 20 })
    );
}

/// Counts the committed appends the audit log forwards (one per transaction).
struct Appends(std::sync::Arc<std::sync::Mutex<Vec<usize>>>);

impl audit::AuditSink for Appends {
    fn forward(&mut self, records: &[audit::AuditRecord]) {
        self.0.lock().unwrap().push(records.len());
    }
}

#[test]
fn the_durable_records_of_one_request_share_one_commit() {
    let tmp = TempDir::new("audit-durable-batch");
    let store = std::sync::Arc::new(SqliteStore::open(&tmp.join("skms.db")).unwrap());
    let a = common::account("acme");
    store.create_account(&a).unwrap();
    let appends = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log = audit::AuditLog::start(store.clone(), vec![Box::new(Appends(appends.clone()))], 64)
        .unwrap();
    // Three changes of one KMIP batch (vCenter's Add Attribute ×3): one
    // transaction, answered once it is committed.
    log.record_durable(events(a.id, 3)).unwrap();
    log.flush(); // the sinks hear of a commit after its waiters
    assert_eq!(*appends.lock().unwrap(), [3]);
    assert_eq!(audit::verify_chain(&*store, Some(a.id)), Ok(3));
    log.record_durable(events(a.id, 1)).unwrap();
    log.flush();
    assert_eq!(*appends.lock().unwrap(), [3, 1]);
    drop(log);
    assert_eq!(audit::verify_chain(&*store, Some(a.id)), Ok(4));
}
