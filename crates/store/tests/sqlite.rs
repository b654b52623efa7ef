//! What only the SQLite store promises: persistence across reopen, schema
//! versioning, durability against `kill -9`, and no key material in its files.

mod common;

use common::TempDir;
use skms_core::ids::{AccountId, GroupId, ObjectId};
use skms_core::keys::{object_aad, FileRoot, Key256, RootOfTrust};
use skms_core::store::{ObjectFilter, Store, StoreError};
use skms_store::{SqliteStore, SCHEMA_VERSION};
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

#[test]
fn everything_is_there_after_reopening() {
    let dir = TempDir::new("reopen");
    let path = dir.join("skms.db");
    let a = common::account("acme");
    let g = common::group(a.id, "keys");
    let mut app = common::app(a.id, "vcenter", &[g.id]);
    app.pinned_certs = vec![[5; 32]];
    app.trusted_cas = vec![vec![0x30, 1, 2, 3]];
    let mut objects: Vec<_> = (0..20).map(|i| common::object(a.id, g.id, i)).collect();
    objects[3].sealed = None;
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_account(&a).unwrap();
        store.create_group(&g).unwrap();
        store.create_app(&app).unwrap();
        for o in &objects {
            store.insert_object(o).unwrap();
        }
    }
    // open twice more: migrations are idempotent
    for _ in 0..2 {
        let store = SqliteStore::open(&path).unwrap();
        assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
        assert_eq!(store.groups(a.id).unwrap(), vec![g.clone()]);
        assert_eq!(store.app(app.id).unwrap(), Some(app.clone()));
        for o in &objects {
            assert_eq!(store.object(a.id, o.id).unwrap().as_ref(), Some(o));
        }
        let ids: Vec<ObjectId> = objects.iter().map(|o| o.id).collect();
        assert_eq!(store.locate(a.id, &ObjectFilter::default()).unwrap(), ids);
    }
}

#[test]
fn a_database_of_a_newer_schema_is_refused() {
    let dir = TempDir::new("newer");
    let path = dir.join("skms.db");
    drop(SqliteStore::open(&path).unwrap());
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute(
            "INSERT INTO schema_version (version, applied) VALUES (?1, 0)",
            [SCHEMA_VERSION + 1],
        )
        .unwrap();
    }
    let e = SqliteStore::open(&path)
        .err()
        .expect("a newer schema must be refused");
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("newer") && msg.contains(&(SCHEMA_VERSION + 1).to_string()),
        "{msg}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = TempDir::new("garbage");
    let path = dir.join("skms.db");
    std::fs::write(&path, vec![0x5A; 8192]).unwrap();
    let e = SqliteStore::open(&path)
        .err()
        .expect("garbage must be refused");
    assert!(matches!(e, StoreError::Corrupt(_)), "{e:?}");
}

/// The child mode of the `kill -9` test: inserts objects from 4 threads into
/// the database named by the environment, printing each id once its insert returned.
const CHILD_DB: &str = "SKMS_STORE_KILL_CHILD_DB";

#[test]
fn kill_child_inserter() {
    let Ok(path) = std::env::var(CHILD_DB) else {
        return; // an ordinary test run: nothing to do
    };
    let account: AccountId = std::env::var("SKMS_STORE_KILL_ACCOUNT")
        .unwrap()
        .parse()
        .unwrap();
    let group: GroupId = std::env::var("SKMS_STORE_KILL_GROUP")
        .unwrap()
        .parse()
        .unwrap();
    let store = SqliteStore::open(std::path::Path::new(&path)).unwrap();
    let out = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for i in 0.. {
                    let o = common::object(account, group, i);
                    store.insert_object(&o).unwrap();
                    use std::io::Write;
                    let mut out = out.lock().unwrap();
                    writeln!(out, "ACK {}", o.id).unwrap();
                    out.flush().unwrap();
                }
            });
        }
    });
}

#[test]
fn acknowledged_inserts_survive_kill_dash_nine() {
    if std::env::var(CHILD_DB).is_ok() {
        return;
    }
    let dir = TempDir::new("kill9");
    let path = dir.join("skms.db");
    let a = common::account("acme");
    let g = common::group(a.id, "keys");
    {
        let store = SqliteStore::open(&path).unwrap();
        store.create_account(&a).unwrap();
        store.create_group(&g).unwrap();
    }
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "kill_child_inserter",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .env("SKMS_STORE_KILL_ACCOUNT", a.id.to_string())
        .env("SKMS_STORE_KILL_GROUP", g.id.to_string())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut acked = Vec::new();
    while acked.len() < 500 {
        let line = lines.next().expect("the child stopped early").unwrap();
        if let Some(id) = line.strip_prefix("ACK ") {
            acked.push(id.parse::<ObjectId>().unwrap());
        }
    }
    child.kill().unwrap(); // SIGKILL: no destructor, no checkpoint, mid-write
                           // ids already in the pipe were acknowledged too
    for line in lines {
        if let Some(id) = line.unwrap().strip_prefix("ACK ") {
            acked.push(id.parse::<ObjectId>().unwrap());
        }
    }
    let status = child.wait().unwrap();
    assert!(!status.success(), "the child was killed: {status:?}");
    let store = SqliteStore::open(&path).unwrap();
    for id in &acked {
        assert!(
            store.object(a.id, *id).unwrap().is_some(),
            "acknowledged object {id} lost after kill -9"
        );
    }
    let stored = store.locate(a.id, &ObjectFilter::default()).unwrap().len();
    eprintln!("kill -9: {} acknowledged, {stored} stored", acked.len());
    assert!(stored >= acked.len());
}

#[test]
fn key_material_is_never_in_the_clear_on_disk() {
    let dir = TempDir::new("clear");
    let path = dir.join("skms.db");
    let (root, _) = FileRoot::open_or_create(&dir.join("root.key")).unwrap();
    let account_key = Key256::generate().unwrap();
    let mut a = common::account("acme");
    a.wrapped_key = root.wrap(&account_key, a.id.as_bytes()).unwrap();
    let g = common::group(a.id, "keys");
    let keys: Vec<Key256> = (0..50).map(|_| Key256::generate().unwrap()).collect();
    let store = SqliteStore::open(&path).unwrap();
    store.create_account(&a).unwrap();
    store.create_group(&g).unwrap();
    let mut ids = Vec::new();
    for (i, k) in keys.iter().enumerate() {
        let mut o = common::object(a.id, g.id, i as i64);
        o.sealed = Some(
            account_key
                .seal(k.expose(), &object_aad(a.id, o.id))
                .unwrap(),
        );
        store.insert_object(&o).unwrap();
        ids.push(o.id);
    }
    // the material is there, sealed: it opens with the account key unwrapped by the root
    let stored = store.account(a.id).unwrap().unwrap();
    let unwrapped = root.unwrap(&stored.wrapped_key, a.id.as_bytes()).unwrap();
    for (id, k) in ids.iter().zip(&keys) {
        let o = store.object(a.id, *id).unwrap().unwrap();
        let plain = unwrapped
            .open(o.sealed.as_ref().unwrap(), &object_aad(a.id, *id))
            .unwrap();
        assert_eq!(&plain[..], &k.expose()[..]);
    }

    let check = |what: &str| {
        let db = std::fs::read(&path).unwrap();
        let wal = std::fs::read(dir.join("skms.db-wal")).unwrap_or_default();
        assert!(
            db.len() + wal.len() > 8192,
            "{what}: the files hold the data"
        );
        for (name, bytes) in [("database", &db), ("WAL", &wal)] {
            let found = |needle: &[u8]| bytes.windows(needle.len()).any(|w| w == needle);
            for k in &keys {
                assert!(
                    !found(k.expose()),
                    "{what}: an object key is in the clear in the {name}"
                );
                // nor a large part of one
                assert!(
                    !found(&k.expose()[..12]),
                    "{what}: 12 key bytes in the {name}"
                );
            }
            assert!(
                !found(account_key.expose()),
                "{what}: the account key is in the {name}"
            );
        }
    };
    check("while open (data in the WAL)");
    assert!(
        std::fs::metadata(dir.join("skms.db-wal"))
            .map(|m| m.len())
            .unwrap_or(0)
            > 0
    );
    drop(store);
    check("after close (checkpointed into the database)");
}
