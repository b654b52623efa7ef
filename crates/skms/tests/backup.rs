//! `skms backup` and `skms restore` end to end: a server on SQLite with two
//! accounts, apps (one with a pinned certificate made by openssl, one with an
//! issued certificate), users with group roles, keys with custom attributes in
//! every state, and their audit records; a backup taken while it runs,
//! restored into a fresh PostgreSQL database, served from there (every key's
//! bytes and attributes, the apps, users and certificates equal), backed up
//! again from PostgreSQL while that server runs and restored into a fresh
//! SQLite database. After each restore the whole logical content of the
//! store (every table a backup holds) equals the source's, row for row.
//! Then what must be refused: a changed, shortened or cut backup (nothing
//! written), a non-empty store, another root key.

mod common;
#[path = "../../store/tests/common/pg.rs"]
mod pg;

use common::{kmip_connect, kmip_exchange, kmip_request, openssl, serve_with_args, Server, Tenant};
use kmip::attributes::{Attribute, Attributes};
use kmip::enums::ResultStatus;
use kmip::payloads::{RequestPayload, ResponsePayload};
use kmip::Value;
use skms_core::dump::{Cell, DumpRow, DumpSink, Snapshot};
use skms_core::store::{Store, StoreError};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Every row of a store, by table.
#[derive(Default)]
struct Collect {
    rows: Vec<(String, Vec<Cell>)>,
}

impl DumpSink for Collect {
    fn begin(&mut self, _: &Snapshot) -> Result<(), StoreError> {
        Ok(())
    }
    fn row(&mut self, row: DumpRow) -> Result<(), StoreError> {
        self.rows.push((row.table.name.to_string(), row.cells));
        Ok(())
    }
}

fn content(store: &dyn Store) -> Vec<(String, Vec<Cell>)> {
    let mut c = Collect::default();
    store.export_rows(&mut c).unwrap();
    c.rows
}

fn sqlite_content(dir: &Path) -> Vec<(String, Vec<Cell>)> {
    content(&skms_store::SqliteStore::open(&dir.join("skms.db")).unwrap())
}

fn pg_content(url: &str) -> Vec<(String, Vec<Cell>)> {
    content(&skms_store::PgStore::open(url).unwrap())
}

fn count(rows: &[(String, Vec<Cell>)], table: &str) -> usize {
    rows.iter().filter(|(t, _)| t == table).count()
}

/// Runs `skms ARGS`: (success, stdout, stderr).
fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(args)
        .env_remove("SKMS_CONFIG")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn ok(args: &[&str]) -> String {
    let (ok, out, err) = run(args);
    assert!(ok, "skms {args:?}: {out}{err}");
    out
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A new data directory holding `from`'s files except its database (its root key, certificates).
fn copy_data_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with("skms.db") || !e.file_type().unwrap().is_file() {
            continue;
        }
        std::fs::copy(e.path(), to.join(&name)).unwrap();
    }
}

fn kmip(server: &Server, t: &Tenant, payload: RequestPayload) -> ResponsePayload {
    let mut conn = kmip_connect(server.port, &server.dir.join("ca.crt"));
    let r = kmip_exchange(&mut conn, kmip_request(&t.username, &t.password, payload));
    let item = &r.batch_items[0];
    assert_eq!(
        item.result_status,
        ResultStatus::SUCCESS,
        "{:?}",
        item.result_message
    );
    item.payload.clone().unwrap()
}

fn create_key(server: &Server, t: &Tenant, name: &str) -> String {
    let mut attrs = test_support_aes();
    attrs.push(Attribute::custom(
        "x-Backup-Test",
        Value::TextString(name.into()),
    ));
    attrs.push(Attribute::custom(
        "x-Number",
        Value::Integer(name.len() as i32),
    ));
    let req = kmip::payloads::CreateRequest {
        object_type: kmip::enums::ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(attrs),
        protection_storage_masks: None,
    };
    match kmip(server, t, req.into()) {
        ResponsePayload::Create(c) => c.unique_identifier,
        other => panic!("{other:?}"),
    }
}

fn test_support_aes() -> Vec<Attribute> {
    skms_test_support::requests::aes_attributes(256)
}

/// The key's value (Get) and its attributes (Get Attributes), as text to compare.
fn key_view(server: &Server, t: &Tenant, uid: &str) -> (String, String) {
    let get = kmip::payloads::GetRequest {
        unique_identifier: Some(uid.into()),
        ..Default::default()
    };
    let mut conn = kmip_connect(server.port, &server.dir.join("ca.crt"));
    let r = kmip_exchange(
        &mut conn,
        kmip_request(&t.username, &t.password, get.into()),
    );
    let value = format!(
        "{:?} {:?}",
        r.batch_items[0].result_status, r.batch_items[0].payload
    );
    let attrs = kmip(
        server,
        t,
        kmip::payloads::GetAttributesRequest {
            unique_identifier: Some(uid.into()),
            attribute_reference: vec![],
        }
        .into(),
    );
    (value, format!("{attrs:?}"))
}

/// What the REST API lists of an account, as JSON text.
fn listings(server: &Server, t: &Tenant) -> Vec<String> {
    [
        &["app", "list"][..],
        &["user", "list"][..],
        &["cert", "list"][..],
        &["group", "list"][..],
    ]
    .iter()
    .map(|args| {
        let mut a = args.to_vec();
        a.extend(["--output", "json"]);
        server.admin(&t.admin, &a)
    })
    .collect()
}

struct Fixture {
    tenants: Vec<Tenant>,
    keys: Vec<(usize, String)>,
}

fn populate(server: &Server, work: &Path) -> Fixture {
    let acme = server.tenant("acme", "vcenter");
    let globex = server.tenant("globex", "esxi");
    // A pinned self-signed certificate made by openssl, an issued one, a user with group roles.
    openssl(
        work,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            "pinned.key",
            "-out",
            "pinned.crt",
            "-days",
            "30",
            "-subj",
            "/CN=pinned",
        ],
    );
    server.admin(&acme.admin, &["app", "create", "--name", "pinned-app"]);
    server.admin(
        &acme.admin,
        &[
            "app",
            "pin-cert",
            "pinned-app",
            "--pem",
            s(&work.join("pinned.crt")),
        ],
    );
    server.admin(
        &globex.admin,
        &[
            "app",
            "issue-cert",
            "esxi",
            "--out-cert",
            s(&work.join("esxi.crt")),
            "--out-key",
            s(&work.join("esxi.key")),
        ],
    );
    server.admin(&acme.admin, &["group", "create", "hosts"]);
    server.admin(&acme.admin, &["user", "create", "bob", "--role", "member"]);
    server.admin(
        &acme.admin,
        &[
            "user",
            "group-roles",
            "bob",
            "--set",
            "hosts=admin",
            "--set",
            "default=member",
        ],
    );
    // Keys: many (so that the backup spans several chunks), in every state.
    let mut keys = Vec::new();
    for i in 0..120 {
        keys.push((0, create_key(server, &acme, &format!("acme-key-{i}"))));
    }
    // globex's app now authenticates by certificate: its keys come from acme's second app.
    let acme2 = Tenant {
        admin: acme.admin.clone(),
        ..server_app(server, &acme, "second")
    };
    for i in 0..5 {
        keys.push((2, create_key(server, &acme2, &format!("second-{i}"))));
    }
    let uid = |n: usize| keys[n].1.clone();
    kmip(
        server,
        &acme,
        kmip::payloads::ActivateRequest {
            unique_identifier: Some(uid(1)),
        }
        .into(),
    );
    kmip(
        server,
        &acme,
        kmip::payloads::ActivateRequest {
            unique_identifier: Some(uid(2)),
        }
        .into(),
    );
    kmip(
        server,
        &acme,
        kmip::payloads::RevokeRequest {
            unique_identifier: Some(uid(2)),
            revocation_reason: kmip::payloads::RevocationReason {
                revocation_reason_code: kmip::enums::RevocationReasonCode::CESSATION_OF_OPERATION,
                revocation_message: Some("retired".into()),
            },
            compromise_occurrence_date: None,
        }
        .into(),
    );
    kmip(
        server,
        &acme,
        kmip::payloads::DestroyRequest {
            unique_identifier: Some(uid(3)),
        }
        .into(),
    );
    Fixture {
        tenants: vec![acme, globex, acme2],
        keys,
    }
}

/// A second app of `t`'s account (api-key).
fn server_app(server: &Server, t: &Tenant, name: &str) -> Tenant {
    let created = server.admin(&t.admin, &["app", "create", "--name", name]);
    Tenant {
        admin: t.admin.clone(),
        username: common::after(&created, "KMIP username"),
        password: common::after(&created, "KMIP password"),
    }
}

/// Every key's value and attributes, the listings of each account.
fn observe(server: &Server, f: &Fixture) -> (Vec<(String, String)>, Vec<String>) {
    let keys = f
        .keys
        .iter()
        .map(|(t, uid)| key_view(server, &f.tenants[*t], uid))
        .collect();
    let lists = [0, 1]
        .iter()
        .flat_map(|t| listings(server, &f.tenants[*t]))
        .collect();
    (keys, lists)
}

fn audit_intact(server: &Server, t: &Tenant) {
    let out = server.admin(&t.admin, &["audit", "verify"]);
    assert!(out.contains("intact"), "{out}");
}

#[test]
fn backup_and_restore_across_sqlite_and_postgresql() {
    let t0 = Instant::now();
    let root = common::temp_dir("backup");
    let work = root.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let a = root.join("a");
    let log = root.join("server.log");

    // ---- A: SQLite, populated, backed up while it runs ----
    let server_a = common::serve_logging(&a, Some(&log));
    let sysadmin = server_a.sysadmin();
    let f = populate(&server_a, &work);
    let seen_a = observe(&server_a, &f);
    audit_intact(&server_a, &f.tenants[0]);
    let a_bak = work.join("a.bak");
    let out = ok(&["backup", "--data-dir", s(&a), "--out", s(&a_bak)]);
    assert!(out.contains("records"), "{out}");
    assert!(!work.join("a.bak.partial").exists());
    let rows_a = sqlite_content(&a);
    assert!(
        count(&rows_a, "objects") >= 125,
        "{}",
        count(&rows_a, "objects")
    );
    assert!(count(&rows_a, "audit") > 100);
    assert!(count(&rows_a, "app_pinned_certs") >= 1);
    assert!(count(&rows_a, "app_certs") >= 2);
    assert!(count(&rows_a, "user_group_roles") >= 2);
    assert!(count(&rows_a, "account_cas") == 2);
    let backup_a_took = t0.elapsed();

    // ---- the refusals, on A's backup ----
    refusals(&root, &a, &a_bak);

    // ---- B: restored into a fresh PostgreSQL database, then served from it ----
    let cluster = pg::PgCluster::start();
    let url = cluster.fresh_database();
    let b = root.join("b");
    copy_data_dir(&a, &b);
    let out = ok(&[
        "restore",
        "--data-dir",
        s(&b),
        "--storage-url",
        &url,
        "--in",
        s(&a_bak),
    ]);
    assert!(
        out.contains("chain intact") && !out.contains("BROKEN"),
        "{out}"
    );
    assert!(
        rows_a == pg_content(&url),
        "SQLite → PostgreSQL: every row came back"
    );
    let server_b = serve_with_args(&b, &["--storage-url", &url], Some(&log));
    let seen_b = observe(&server_b, &f);
    assert_eq!(seen_a.0, seen_b.0, "every key's bytes and attributes");
    assert_eq!(seen_a.1, seen_b.1, "apps, users, certificates, groups");
    audit_intact(&server_b, &f.tenants[0]);
    let out = server_b.admin(&sysadmin, &["account", "list"]);
    assert!(out.contains("acme") && out.contains("globex"), "{out}");

    // ---- from PostgreSQL while B runs, into a fresh SQLite (C) ----
    let b_bak = work.join("b.bak");
    ok(&[
        "backup",
        "--data-dir",
        s(&b),
        "--storage-url",
        &url,
        "--out",
        s(&b_bak),
    ]);
    let rows_b = pg_content(&url);
    assert!(
        count(&rows_b, "audit") > count(&rows_a, "audit"),
        "B's own records too"
    );
    server_b.terminate();
    let c = root.join("c");
    copy_data_dir(&a, &c);
    let out = ok(&["restore", "--data-dir", s(&c), "--in", s(&b_bak)]);
    assert!(
        out.contains("chain intact") && !out.contains("BROKEN"),
        "{out}"
    );
    assert!(
        rows_b == sqlite_content(&c),
        "PostgreSQL → SQLite: every row came back"
    );
    let out = ok(&["audit", "verify", "--data-dir", s(&c)]);
    assert!(!out.contains("BROKEN"), "{out}");
    server_a.terminate();
    let server_c = common::serve_logging(&c, Some(&log));
    let seen_c = observe(&server_c, &f);
    assert_eq!(seen_a.0, seen_c.0);
    assert_eq!(seen_a.1, seen_c.1);
    server_c.terminate();
    eprintln!(
        "backup test: populate + backup {:.1}s, total {:.1}s",
        backup_a_took.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );
    let _ = std::fs::remove_dir_all(&root);
}

/// The chunk boundaries of a backup file: (offset, length) of each chunk frame.
fn chunks(bytes: &[u8]) -> Vec<(usize, usize)> {
    let header = u32::from_be_bytes(bytes[10..14].try_into().unwrap()) as usize;
    let mut at = 14 + header;
    let mut out = Vec::new();
    while at < bytes.len() {
        let len = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
        out.push((at, 5 + len));
        at += 5 + len;
    }
    out
}

fn refusals(root: &Path, a: &Path, bak: &Path) {
    let bytes = std::fs::read(bak).unwrap();
    let frames = chunks(&bytes);
    assert!(
        frames.len() >= 2,
        "the backup spans several chunks: {}",
        frames.len()
    );
    let mut flipped = bytes.clone();
    let mid = frames[0].0 + frames[0].1 / 2;
    flipped[mid] ^= 1;
    let mut header_flipped = bytes.clone();
    header_flipped[20] ^= 1;
    let mut removed = bytes[..frames[0].0].to_vec();
    for (at, len) in &frames[1..] {
        removed.extend_from_slice(&bytes[*at..at + len]);
    }
    let cut = bytes[..frames.last().unwrap().0].to_vec();
    let short = bytes[..bytes.len() - 7].to_vec();
    let cases: [(&str, Vec<u8>); 5] = [
        ("flipped", flipped),
        ("header", header_flipped),
        ("removed", removed),
        ("cut", cut),
        ("short", short),
    ];
    for (name, data) in cases {
        let file = root.join(format!("{name}.bak"));
        std::fs::write(&file, data).unwrap();
        let d = root.join(format!("restore-{name}"));
        copy_data_dir(a, &d);
        let (ok, out, err) = run(&["restore", "--data-dir", s(&d), "--in", s(&file)]);
        assert!(!ok, "{name}: {out}");
        assert!(
            err.contains("damaged or was changed") || err.contains("another root key"),
            "{name}: {err}"
        );
        assert!(!d.join("skms.db").exists(), "{name}: nothing written");
    }
    // A non-empty store: A's own.
    let (ok, _, err) = run(&["restore", "--data-dir", s(a), "--in", s(bak)]);
    assert!(!ok && err.contains("not empty"), "{err}");
    // Another root key.
    let other = root.join("other-root");
    std::fs::create_dir_all(&other).unwrap();
    skms_core::keys::FileRoot::open_or_create(&other.join("root.key")).unwrap();
    let (ok, _, err) = run(&["restore", "--data-dir", s(&other), "--in", s(bak)]);
    assert!(!ok && err.contains("another root key"), "{err}");
    assert!(!other.join("skms.db").exists());
    // No root key at all.
    let none: PathBuf = root.join("no-root");
    std::fs::create_dir_all(&none).unwrap();
    let (ok, _, err) = run(&["restore", "--data-dir", s(&none), "--in", s(bak)]);
    assert!(!ok && err.contains("no root key"), "{err}");
}
