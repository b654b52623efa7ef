//! A cluster of `skms serve` nodes on one PostgreSQL database (a throwaway
//! cluster on loopback, crates/store/tests/common/pg.rs), each with its own
//! data directory. A node whose directory got only `root.key` of the first
//! serves the same server certificate and CA (the identity is in the
//! database), and the keys the first made; a node under another root key
//! refuses to start; a node's extra server name and a rotation on one node
//! reach the others within the poll bound; two nodes starting at once on an
//! empty database agree on one identity. Every server is killed when its test ends.

mod common;
#[path = "../../store/tests/common/pg.rs"]
mod pg;

use common::{kmip_connect, kmip_create_aes_256, kmip_get, serve_with_args, Server};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::CertificateDer;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long a change stored by one node may take to be served by another:
/// the poll interval (`skms_server::IDENTITY_POLL`, 10 s) and a margin.
const PROPAGATION: Duration = Duration::from_secs(25);

/// Directories (and their logs) removed when dropped, even when a test fails.
struct Scratch(Vec<PathBuf>);

impl Scratch {
    fn dir(&mut self, name: &str) -> PathBuf {
        let d = common::temp_dir(name);
        self.0.push(d.clone());
        d
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir_all(d);
            let _ = std::fs::remove_file(d.with_extension("log"));
        }
    }
}

/// Starts a node on `dir` and the database `url`, with `extra` arguments.
fn node(dir: &Path, url: &str, extra: &[&str]) -> Server {
    let mut args = vec!["--storage-url", url];
    args.extend_from_slice(extra);
    serve_with_args(dir, &args, Some(&dir.with_extension("log")))
}

/// Copies `root.key` of `from` into the new data directory `to` (mode 0600 kept).
fn copy_root_key(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("root.key"), to.join("root.key")).unwrap();
}

/// The SHA-256 fingerprint of the leaf presented on 127.0.0.1:`port` to a
/// rustls client that trusts only the PEM file `roots` and checks the name
/// `localhost`; an error when the handshake fails. A new client each time.
fn presented(port: u16, roots: &Path) -> Result<String, String> {
    let mut store = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(roots).unwrap() {
        store.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(store)
    .with_no_client_auth();
    let mut conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
    tcp.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    while conn.is_handshaking() {
        conn.complete_io(&mut tcp).map_err(|e| e.to_string())?;
    }
    let leaf = &conn.peer_certificates().expect("a server certificate")[0];
    Ok(hex::encode(skms_core::certs::fingerprint(leaf)))
}

/// Waits (at most [`PROPAGATION`]) until `port` presents the leaf `want`.
fn wait_presented(port: u16, roots: &Path, want: &str) -> Duration {
    let started = Instant::now();
    loop {
        let got = presented(port, roots);
        if got.as_deref() == Ok(want) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < PROPAGATION,
            "port {port} still presents {got:?}, not {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// The key bytes of the symmetric key `uid`, fetched over KMIP from `port`.
fn key_bytes(port: u16, ca: &Path, t: &common::Tenant, uid: &str) -> Vec<u8> {
    let mut s = kmip_connect(port, ca);
    let got = kmip_get(&mut s, &t.username, &t.password, uid);
    let kmip::objects::Object::SymmetricKey(k) = &got.object else {
        panic!("{got:?}")
    };
    k.key_block
        .key_bytes()
        .expect("raw key")
        .as_slice()
        .to_vec()
}

/// The names (SANs) of the server certificate `server` serves, from its REST API.
fn served_names(server: &Server, login: &common::Login) -> Vec<String> {
    let (client, base) = common::rest_client(server);
    let shown: serde_json::Value = client
        .get(format!("{base}/v1/server/certificate"))
        .basic_auth(&login.user, Some(&login.password))
        .send()
        .unwrap()
        .json()
        .unwrap();
    shown["certificate"]["names"]
        .as_array()
        .unwrap_or_else(|| panic!("{shown}"))
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect()
}

#[test]
fn nodes_share_the_root_the_identity_and_the_keys_and_follow_a_rotation() {
    let cluster = pg::PgCluster::start();
    let url = cluster.fresh_database();
    let mut scratch = Scratch(Vec::new());
    let a_dir = scratch.dir("cluster-a");
    let b_dir = scratch.dir("cluster-b");
    let c_dir = scratch.dir("cluster-c");

    let a = node(&a_dir, &url, &["--server-name", "kms.example.test"]);
    let a_ca = a_dir.join("ca.crt");
    let sysadmin = a.sysadmin();

    // B got only A's root key: it takes the CA and certificate from the database.
    copy_root_key(&a_dir, &b_dir);
    let b = node(&b_dir, &url, &["--server-name", "kms.example.test"]);
    assert!(
        b.stdout
            .contains("took the server identity stored in the database"),
        "{}",
        b.stdout
    );
    let b_ca = b_dir.join("ca.crt");
    assert_eq!(
        std::fs::read(&b_ca).unwrap(),
        std::fs::read(&a_ca).unwrap(),
        "one server CA"
    );
    let on_a = presented(a.port, &a_ca).unwrap();
    assert_eq!(presented(b.port, &b_ca).unwrap(), on_a, "one certificate");
    assert_eq!(presented(b.https_port, &b_ca).unwrap(), on_a);

    // A key made over KMIP on A (by an app made through A's REST API) reads the same on B.
    let tenant = a.tenant("acme", "vcenter");
    let uid = {
        let mut s = kmip_connect(a.port, &a_ca);
        kmip_create_aes_256(&mut s, &tenant.username, &tenant.password)
    };
    let from_a = key_bytes(a.port, &a_ca, &tenant, &uid);
    assert_eq!(key_bytes(b.port, &b_ca, &tenant, &uid), from_a);

    // C has a root key of its own: it refuses to start, saying what to do.
    let out = Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["serve", "--data-dir"])
        .arg(&c_dir)
        .args([
            "--kmip-addr",
            "127.0.0.1:0",
            "--https-addr",
            "127.0.0.1:0",
            "--storage-url",
            &url,
        ])
        .env_remove("SKMS_CONFIG")
        .env_remove("SKMS_STORAGE_URL")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "C started: {err}");
    assert!(
        err.contains("this database was created under another root key: copy root.key of an existing node into")
            && err.contains(&c_dir.display().to_string()),
        "{err}"
    );
    assert!(!c_dir.join("ca.crt").exists(), "nothing of C's is kept");

    // A node that needs another name adds it to the one certificate, which every node then serves.
    b.terminate();
    let b = node(
        &b_dir,
        &url,
        &[
            "--server-name",
            "kms.example.test",
            "--server-name",
            "node-b.example.test",
        ],
    );
    let with_b = presented(b.port, &b_ca).unwrap();
    assert_ne!(with_b, on_a, "reissued with B's name");
    let took = wait_presented(a.port, &a_ca, &with_b);
    eprintln!("A took B's certificate after {took:?}");
    let names = served_names(&a, &sysadmin);
    for n in ["kms.example.test", "node-b.example.test", "localhost"] {
        assert!(names.iter().any(|x| x == n), "{n} in {names:?}");
    }

    // The sysadmin rotates on A: B serves the new certificate within the bound.
    let (client, base) = common::rest_client(&a);
    let resp = client
        .post(format!("{base}/v1/server/certificate/rotate"))
        .basic_auth(&sysadmin.user, Some(&sysadmin.password))
        .send()
        .unwrap();
    let status = resp.status();
    let rotated: serde_json::Value = resp.json().unwrap_or_default();
    assert!(status.is_success(), "{status}: {rotated}");
    let new = rotated["certificate"]["sha256"]
        .as_str()
        .unwrap()
        .to_string();
    assert_ne!(new, with_b);
    assert_eq!(presented(a.port, &a_ca).unwrap(), new);
    let took = wait_presented(b.port, &b_ca, &new);
    eprintln!("B took the rotated certificate after {took:?}");
    wait_presented(b.https_port, &b_ca, &new);
    // B's directory holds it too (for a restart without the database's answer first).
    let b_chain = std::fs::read_to_string(b_dir.join("server.crt")).unwrap();
    let leaf = skms_core::certs::from_pem(&b_chain).unwrap().remove(0);
    assert_eq!(hex::encode(skms_core::certs::fingerprint(&leaf)), new);
    assert!(
        served_names(&b, &sysadmin)
            .iter()
            .any(|n| n == "node-b.example.test"),
        "a rotation keeps every node's names"
    );
    // And B still reads A's key, after the rotation, over the new certificate.
    assert_eq!(key_bytes(b.port, &b_ca, &tenant, &uid), from_a);

    a.terminate();
    b.terminate();
}

#[test]
fn two_nodes_starting_at_once_on_an_empty_database_agree_on_one_identity() {
    let cluster = pg::PgCluster::start();
    let url = cluster.fresh_database();
    let mut scratch = Scratch(Vec::new());
    let a_dir = scratch.dir("cluster-race-a");
    let b_dir = scratch.dir("cluster-race-b");
    // One root key in both directories before either starts.
    let mut key = [0u8; 32];
    std::io::Read::read_exact(&mut std::fs::File::open("/dev/urandom").unwrap(), &mut key).unwrap();
    for d in [&a_dir, &b_dir] {
        std::fs::create_dir_all(d).unwrap();
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(d.join("root.key"))
            .unwrap();
        std::io::Write::write_all(&mut f, &key).unwrap();
    }

    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(|| node(&a_dir, &url, &[]));
        let b = s.spawn(|| node(&b_dir, &url, &[]));
        (a.join().unwrap(), b.join().unwrap())
    });
    let (a_ca, b_ca) = (a_dir.join("ca.crt"), b_dir.join("ca.crt"));
    assert_eq!(
        std::fs::read(&a_ca).unwrap(),
        std::fs::read(&b_ca).unwrap(),
        "one server CA"
    );
    let on_a = presented(a.port, &a_ca).unwrap();
    assert_eq!(presented(b.port, &b_ca).unwrap(), on_a, "one certificate");
    for f in ["server.crt", "server.key.sealed", "ca.key.sealed"] {
        assert_eq!(
            std::fs::read(a_dir.join(f)).unwrap(),
            std::fs::read(b_dir.join(f)).unwrap(),
            "{f}"
        );
    }
    a.terminate();
    b.terminate();
}
