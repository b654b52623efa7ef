//! What only the PostgreSQL store promises: several nodes (several
//! `PgStore`s on one database) write at once without breaking an audit
//! chain, migrate an empty database once between them, and a database of a
//! newer schema is refused. The behaviour both stores share is checked by
//! the conformance suite (conformance.rs), on both.

mod common;

use common::pg::fresh_database_url;
use skms_core::audit::{self, ActorKind, AuditEvent, Outcome};
use skms_core::ids::AccountId;
use skms_core::store::{ObjectFilter, Store, StoreError};
use skms_store::{PgStore, PG_SCHEMA_VERSION};

fn event(account: Option<AccountId>, node: usize, thread: usize, i: usize) -> AuditEvent {
    AuditEvent {
        account,
        time_ms: 1_700_000_000_000 + i as i64,
        actor_kind: ActorKind::App,
        actor: format!("node-{node}-thread-{thread}"),
        source: "127.0.0.1".into(),
        operation: "kmip.Get".into(),
        object: Some(format!("key-{i}")),
        outcome: Outcome::Success,
        reason: None,
        message: None,
    }
}

/// Two nodes, four threads each, append to the same account's chain (and,
/// in batches that span two chains, to the provider's) at once: every record
/// is there once, and each chain verifies from its first record to its head.
#[test]
fn concurrent_appends_from_two_nodes_keep_one_chain_per_account() {
    let url = fresh_database_url();
    let nodes = [PgStore::open(&url).unwrap(), PgStore::open(&url).unwrap()];
    let a = common::account(&common::unique("audit"));
    nodes[0].create_account(&a).unwrap();
    const THREADS: usize = 4;
    const ROUNDS: usize = 25;
    std::thread::scope(|s| {
        for (n, node) in nodes.iter().enumerate() {
            for t in 0..THREADS {
                s.spawn(move || {
                    for i in 0..ROUNDS {
                        let batch = if i % 5 == 0 {
                            // Two chains in one write, in either order.
                            if t % 2 == 0 {
                                vec![event(Some(a.id), n, t, i), event(None, n, t, i)]
                            } else {
                                vec![event(None, n, t, i), event(Some(a.id), n, t, i)]
                            }
                        } else {
                            vec![event(Some(a.id), n, t, i), event(Some(a.id), n, t, i)]
                        };
                        let records = node.append_audit(&batch).unwrap();
                        assert_eq!(records.len(), batch.len());
                    }
                });
            }
        }
    });
    let writers = 2 * THREADS;
    let expected = (writers * ROUNDS * 2 - writers * ROUNDS / 5) as u64;
    for node in &nodes {
        assert_eq!(audit::verify_chain(node, Some(a.id)), Ok(expected));
        assert_eq!(
            audit::verify_chain(node, None),
            Ok((writers * ROUNDS / 5) as u64)
        );
        assert_eq!(node.audit_head(Some(a.id)).unwrap().unwrap().0, expected);
    }
    // Each writer's records are all there.
    let page = nodes[1].audit_chain_page(Some(a.id), 0, 10_000).unwrap();
    for n in 0..2 {
        for t in 0..THREADS {
            let actor = format!("node-{n}-thread-{t}");
            let mine = page.iter().filter(|r| r.event.actor == actor).count();
            assert_eq!(mine, ROUNDS * 2 - ROUNDS / 5, "{actor}");
        }
    }
}

/// Two nodes open an empty database at the same moment: one migrates, the
/// other waits and finds the schema done; both then serve, and opening
/// again changes nothing.
#[test]
fn two_nodes_migrate_an_empty_database_once() {
    let url = fresh_database_url();
    let barrier = std::sync::Barrier::new(2);
    let (x, y) = std::thread::scope(|s| {
        let open = || {
            barrier.wait();
            PgStore::open(&url)
        };
        let x = s.spawn(open);
        let y = s.spawn(open);
        (x.join().unwrap(), y.join().unwrap())
    });
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.schema_version().unwrap(), PG_SCHEMA_VERSION);
    let a = common::account("acme");
    x.create_account(&a).unwrap();
    assert_eq!(y.account(a.id).unwrap(), Some(a.clone()));
    let g = common::group(a.id, "keys");
    y.create_group(&g).unwrap();
    let o = common::object(a.id, g.id, 5);
    x.insert_object(&o).unwrap();
    assert_eq!(y.object(a.id, o.id).unwrap(), Some(o.clone()));
    drop((x, y));
    let again = PgStore::open(&url).unwrap();
    assert_eq!(again.schema_version().unwrap(), PG_SCHEMA_VERSION);
    assert_eq!(
        again.locate(a.id, &ObjectFilter::default()).unwrap(),
        vec![o.id]
    );
}

/// A database that a newer binary migrated is refused, not guessed at.
#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let url = fresh_database_url();
    drop(PgStore::open(&url).unwrap());
    let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    c.execute(
        "INSERT INTO schema_version (version, applied) VALUES ($1, 0)",
        &[&(PG_SCHEMA_VERSION + 1)],
    )
    .unwrap();
    let e = PgStore::open(&url).expect_err("a newer schema must be refused");
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    assert!(e.to_string().contains("newer"), "{e}");
}

/// An unreachable server is a `Backend` error that names no password.
#[test]
fn an_unreachable_server_is_a_backend_error() {
    let port = skms_test_support::free_port();
    let e = PgStore::open(&format!(
        "postgres://skms:hunter2@127.0.0.1:{port}/db?connect_timeout=2"
    ))
    .expect_err("nothing listens there");
    assert!(matches!(e, StoreError::Backend(_)), "{e:?}");
    assert!(!e.to_string().contains("hunter2"), "{e}");
}

/// A write whose connection was cut by the server (a restart, a failover)
/// fails or succeeds, and the next call gets a working connection.
#[test]
fn a_connection_killed_by_the_server_is_replaced() {
    let url = fresh_database_url();
    let store = PgStore::open_with(
        &url,
        &skms_store::PgOptions {
            max_connections: 1,
            ..Default::default()
        },
    )
    .unwrap();
    let a = common::account("acme");
    store.create_account(&a).unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .execute(
            // Wait (up to 5 s) for each backend to be gone: without a timeout
            // the function only signals it, and a read may still be answered.
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity
             WHERE datname = current_database() AND pid <> pg_backend_pid()",
            &[],
        )
        .unwrap();
    // A read on the cut connection is repeated on a new one.
    assert_eq!(store.account(a.id).unwrap(), Some(a));
}

/// A node waiting for changes is woken by another node's commit (NOTIFY),
/// not only at the end of its wait.
#[test]
fn a_commit_on_one_node_wakes_a_node_listening() {
    let url = fresh_database_url();
    let (a, b) = (PgStore::open(&url).unwrap(), PgStore::open(&url).unwrap());
    let acct = common::account("acme");
    a.create_account(&acct).unwrap();
    // The first wait starts listening; nothing changed since.
    assert!(!b
        .wait_for_changes(std::time::Duration::from_millis(10))
        .unwrap());
    let started = std::time::Instant::now();
    std::thread::scope(|s| {
        s.spawn(|| {
            std::thread::sleep(std::time::Duration::from_millis(300));
            a.set_account_enabled(acct.id, false).unwrap();
        });
        assert!(b
            .wait_for_changes(std::time::Duration::from_secs(20))
            .unwrap());
    });
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Several commits signalled meanwhile make one wake-up, then quiet.
    a.set_account_enabled(acct.id, true).unwrap();
    a.set_account_enabled(acct.id, false).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(b
        .wait_for_changes(std::time::Duration::from_secs(5))
        .unwrap());
    assert!(!b
        .wait_for_changes(std::time::Duration::from_millis(200))
        .unwrap());
}

/// A change whose transaction took its number first but commits last shows
/// up after a higher number was read: the batch's transaction horizon says
/// the gap is still open, and settles it only once that transaction ended.
#[test]
fn a_gap_in_the_feed_stays_open_while_its_transaction_runs() {
    use skms_core::store::Changed;
    let url = fresh_database_url();
    let store = PgStore::open(&url).unwrap();
    let (x, y) = (common::account("x"), common::account("y"));
    store.create_account(&x).unwrap();
    store.create_account(&y).unwrap();
    let start = store.changes_since(u64::MAX, 0).unwrap().latest;

    let mut slow = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let mut tx = slow.transaction().unwrap();
    tx.execute(
        "UPDATE accounts SET enabled = false WHERE id = $1",
        &[&&x.id.as_bytes()[..]],
    )
    .unwrap();
    store.set_account_enabled(y.id, false).unwrap();

    let seen = store.changes_since(start, 100).unwrap();
    assert_eq!(seen.changes.len(), 1, "{seen:?}");
    assert_eq!(seen.changes[0].what, Changed::Account(y.id));
    assert!(
        seen.changes[0].seq > start + 1,
        "a number below was taken: {seen:?}"
    );
    assert!(
        seen.finished_before < seen.started_before,
        "a transaction is running: {seen:?}"
    );
    let again = store.changes_since(start, 100).unwrap();
    assert!(
        again.finished_before < seen.started_before,
        "still open: {again:?}"
    );

    tx.commit().unwrap();
    let later = store.changes_since(start, 100).unwrap();
    assert_eq!(
        later.changes.iter().map(|c| c.what).collect::<Vec<_>>(),
        [Changed::Account(x.id), Changed::Account(y.id)],
        "the lower number appears once committed"
    );
    // The horizon is the cluster's: a transaction of a test running beside
    // this one (in another database of the same cluster) may hold it back a
    // little longer; it settles once those end too.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    let mut later = later;
    while later.finished_before < seen.started_before {
        assert!(
            std::time::Instant::now() < deadline,
            "never settled: {later:?}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        later = store.changes_since(start, 100).unwrap();
    }
}
