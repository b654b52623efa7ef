//! Nodes of one PostgreSQL database seen by clients through failures: a client
//! that knows every node's KMIP address (as vCenter does) and moves to the
//! next on a connection failure sees no failure when a node is killed (and the
//! node restarted serves every key); nodes whose database stops answer KMIP
//! with a failure result (not a hang, not an exit), say not-ready, and serve
//! again once the database is back, without a restart.
//!
//! pg.rs has no stop/start of a running cluster: [`Postmaster`] below finds
//! the cluster's postmaster by its port (its command line in /proc) and runs
//! the same `pg_ctl stop`/`start` that pg.rs runs, as the same user.

mod common;
#[path = "../../store/tests/common/pg.rs"]
mod pg;

use common::{kmip_request, Server, Tenant};
use kmip::enums::ResultStatus;
use kmip::payloads::{GetRequest, RequestPayload, ResponsePayload};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Starts a node on `dir` and the database `url` (free ports).
fn node(dir: &Path, url: &str) -> Server {
    common::serve_with_args(
        dir,
        &["--storage-url", url],
        Some(&dir.with_extension("log")),
    )
}

/// Starts a node on `dir` and `url` on the given KMIP and HTTPS ports (a restart
/// where the node was); waits (60 s at most) until it listens.
fn node_on(dir: &Path, url: &str, port: u16, https_port: u16) -> Server {
    common::serve_on(
        dir,
        &["--storage-url", url],
        Some(&dir.with_extension("log")),
        port,
        https_port,
    )
}

/// Copies `root.key` of `from` into the new data directory `to`.
fn copy_root_key(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    std::fs::copy(from.join("root.key"), to.join("root.key")).unwrap();
}

type Stream = rustls::StreamOwned<rustls::ClientConnection, std::net::TcpStream>;

/// A TLS client configuration trusting only the PEM file `ca`.
fn tls_config(ca: &Path) -> Arc<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(ca).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    Arc::new(
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::aws_lc_rs::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth(),
    )
}

/// A KMIP connection to 127.0.0.1:`port` with `timeout` on connect, reads and
/// writes; the handshake is completed here, so that its failure is a connect failure.
fn connect(
    port: u16,
    config: &Arc<rustls::ClientConfig>,
    timeout: Duration,
) -> std::io::Result<Stream> {
    let tcp = std::net::TcpStream::connect_timeout(&([127, 0, 0, 1], port).into(), timeout)?;
    tcp.set_read_timeout(Some(timeout))?;
    tcp.set_write_timeout(Some(timeout))?;
    let conn = rustls::ClientConnection::new(config.clone(), "localhost".try_into().unwrap())
        .map_err(std::io::Error::other)?;
    let mut s = rustls::StreamOwned::new(conn, tcp);
    while s.conn.is_handshaking() {
        s.conn.complete_io(&mut s.sock)?;
    }
    Ok(s)
}

/// How far an exchange got before it failed.
#[derive(Debug)]
enum Failure {
    /// The request was not (entirely) sent: the server cannot have acted on it.
    Unsent(std::io::Error),
    /// Sent, but no (whole) response came: the server may have acted on it.
    NoResponse(std::io::Error),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unsent(e) => write!(f, "not sent: {e}"),
            Failure::NoResponse(e) => write!(f, "sent, no response: {e}"),
        }
    }
}

/// Sends one request and reads one response.
fn exchange(
    s: &mut Stream,
    request: kmip::messages::RequestMessage,
) -> Result<kmip::messages::ResponseMessage, Failure> {
    s.write_all(&request.encode()).map_err(Failure::Unsent)?;
    s.flush().map_err(Failure::Unsent)?;
    let mut head = [0u8; 8];
    s.read_exact(&mut head).map_err(Failure::NoResponse)?;
    let len = kmip::binary::frame_len(&head)
        .ok_or_else(|| Failure::NoResponse(std::io::Error::other("not a KMIP frame")))?;
    let mut body = vec![0u8; len - 8];
    s.read_exact(&mut body).map_err(Failure::NoResponse)?;
    kmip::messages::ResponseMessage::decode(
        &[&head[..], &body].concat(),
        &kmip::binary::Limits::default(),
    )
    .map_err(|e| Failure::NoResponse(std::io::Error::other(format!("{e:?}"))))
}

fn get_payload(uid: &str) -> RequestPayload {
    GetRequest {
        unique_identifier: Some(uid.to_string()),
        ..Default::default()
    }
    .into()
}

/// The raw bytes of the symmetric key in a Get response item's payload.
fn key_of(payload: &Option<ResponsePayload>) -> Option<Vec<u8>> {
    let Some(ResponsePayload::Get(g)) = payload else {
        return None;
    };
    let kmip::objects::Object::SymmetricKey(k) = &g.object else {
        return None;
    };
    Some(k.key_block.key_bytes()?.as_slice().to_vec())
}

/// What the failing-over client did.
#[derive(Default, Debug)]
struct Tally {
    /// Acknowledged Creates and the key each Get returned.
    keys: Vec<(String, Vec<u8>)>,
    /// Attempts repeated after a connection failure.
    retries: u32,
    /// Moves to the next address.
    failovers: u32,
    /// Creates sent without a response, then retried: perhaps applied twice.
    maybe_twice: u32,
    /// Answers that were not Success, or actions that never succeeded.
    failures: Vec<String>,
    /// The addresses (ports) used, in order, with each switch.
    path: Vec<u16>,
}

/// A client that knows every node's KMIP port and moves to the next on a
/// connection failure, retrying the same action.
struct Client {
    ports: Vec<u16>,
    at: usize,
    config: Arc<rustls::ClientConfig>,
    stream: Option<Stream>,
    tenant: Tenant,
    tally: Tally,
}

impl Client {
    /// Runs `payload` until a response arrives (at most 60 s of attempts);
    /// `idempotent` says whether a sent request without a response may simply be repeated.
    fn act(
        &mut self,
        payload: RequestPayload,
        idempotent: bool,
    ) -> Option<kmip::messages::ResponseBatchItem> {
        let started = Instant::now();
        let mut attempt = 0u32;
        loop {
            if started.elapsed() > Duration::from_secs(60) {
                self.tally
                    .failures
                    .push(format!("{payload:?}: no node answered within 60 s"));
                return None;
            }
            attempt += 1;
            if attempt > 1 {
                self.tally.retries += 1;
            }
            let port = self.ports[self.at];
            let failure = match self.stream.take().map(Ok).unwrap_or_else(|| {
                connect(port, &self.config, Duration::from_secs(10)).map_err(Failure::Unsent)
            }) {
                Err(e) => e,
                Ok(mut s) => {
                    let request = kmip_request(
                        &self.tenant.username,
                        &self.tenant.password,
                        payload.clone(),
                    );
                    match exchange(&mut s, request) {
                        Ok(mut r) => {
                            self.stream = Some(s);
                            return Some(r.batch_items.remove(0));
                        }
                        Err(e) => e,
                    }
                }
            };
            if let (Failure::NoResponse(_), false) = (&failure, idempotent) {
                self.tally.maybe_twice += 1;
            }
            eprintln!("client: port {port}: {failure}; failing over");
            self.at = (self.at + 1) % self.ports.len();
            self.tally.failovers += 1;
            self.tally.path.push(self.ports[self.at]);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Create, then Get of the new key; records an acknowledged key or a failure.
    fn create_and_get(&mut self) {
        let Some(item) = self.act(common::create_aes_256(), false) else {
            return;
        };
        let uid = match (&item.result_status, &item.payload) {
            (&ResultStatus::SUCCESS, Some(ResponsePayload::Create(c))) => {
                c.unique_identifier.clone()
            }
            _ => {
                self.tally.failures.push(format!(
                    "Create on {}: {:?} {:?}",
                    self.ports[self.at], item.result_status, item.result_message
                ));
                self.stream = None;
                return;
            }
        };
        let Some(item) = self.act(get_payload(&uid), true) else {
            return;
        };
        match (item.result_status, key_of(&item.payload)) {
            (ResultStatus::SUCCESS, Some(key)) if key.len() == 32 => {
                self.tally.keys.push((uid, key))
            }
            (status, _) => {
                self.tally.failures.push(format!(
                    "Get {uid} on {}: {status:?} {:?}",
                    self.ports[self.at], item.result_message
                ));
                self.stream = None;
            }
        }
    }
}

/// One Get of `uid` on `port` over `s`: the key bytes, or why not.
fn get_key(s: &mut Stream, t: &Tenant, uid: &str) -> Result<Vec<u8>, String> {
    let r = exchange(s, kmip_request(&t.username, &t.password, get_payload(uid)))
        .map_err(|e| e.to_string())?;
    let item = &r.batch_items[0];
    if item.result_status != ResultStatus::SUCCESS {
        return Err(format!(
            "{:?} {:?}",
            item.result_status, item.result_message
        ));
    }
    key_of(&item.payload).ok_or_else(|| format!("{item:?}"))
}

/// `GET /v1/audit/verify` on `server` as `login`: the verdict.
fn audit_verdict(server: &Server, login: &common::Login) -> serde_json::Value {
    let (client, base) = common::rest_client(server);
    let resp = client
        .get(format!("{base}/v1/audit/verify"))
        .basic_auth(&login.user, Some(&login.password))
        .send()
        .unwrap();
    let status = resp.status();
    let body: serde_json::Value = resp.json().unwrap_or_default();
    assert!(status.is_success(), "{status}: {body}");
    body
}

#[test]
fn a_client_that_fails_over_sees_no_failure_when_a_node_is_killed() {
    let cluster = pg::PgCluster::start();
    let url = cluster.fresh_database();
    let mut scratch = Scratch(Vec::new());
    let a_dir = scratch.dir("failover-a");
    let b_dir = scratch.dir("failover-b");
    let c_dir = scratch.dir("failover-c");

    let a = node(&a_dir, &url);
    copy_root_key(&a_dir, &b_dir);
    copy_root_key(&a_dir, &c_dir);
    let b = node(&b_dir, &url);
    let c = node(&c_dir, &url);
    let ca = a_dir.join("ca.crt");
    let tenant = a.tenant("acme", "vcenter");
    let (b_port, b_https) = (b.port, b.https_port);

    // The client starts on B (the node to be killed), then C, then A.
    let mut client = Client {
        ports: vec![b.port, c.port, a.port],
        at: 0,
        config: tls_config(&ca),
        stream: None,
        tenant: tenant.clone(),
        tally: Tally::default(),
    };
    client.tally.path.push(b.port);
    let started = Instant::now();
    let runner = std::thread::spawn(move || {
        let mut actions = 0u32;
        while started.elapsed() < Duration::from_secs(8) {
            client.create_and_get();
            actions += 1;
        }
        (client.tally, actions)
    });

    std::thread::sleep(Duration::from_secs(2));
    let mut b = b;
    common::send_signal(b.child.0.id(), "KILL");
    let status = b.child.0.wait().unwrap();
    eprintln!("B killed at {:?} ({status})", started.elapsed());
    drop(b);
    std::thread::sleep(Duration::from_secs(5).saturating_sub(started.elapsed()));
    let restarting = Instant::now();
    let b = node_on(&b_dir, &url, b_port, b_https);
    eprintln!(
        "B restarted on the same ports at {:?} (took {:?})",
        started.elapsed(),
        restarting.elapsed()
    );

    let (tally, actions) = runner.join().unwrap();
    eprintln!(
        "client: {actions} Create+Get actions in {:?}, {} acknowledged creates, {} retries, \
         {} failovers, {} creates perhaps applied twice, ports used {:?}",
        started.elapsed(),
        tally.keys.len(),
        tally.retries,
        tally.failovers,
        tally.maybe_twice,
        tally.path
    );
    assert!(
        tally.failures.is_empty(),
        "the client saw failures: {:#?}",
        tally.failures
    );
    assert!(
        tally.failovers >= 1,
        "the client never failed over: {tally:?}"
    );
    assert!(!tally.keys.is_empty());

    // Every acknowledged key reads the same from each node.
    let config = tls_config(&ca);
    for (name, server) in [("A", &a), ("B (restarted)", &b), ("C", &c)] {
        let took = Instant::now();
        let mut s = connect(server.port, &config, Duration::from_secs(10)).unwrap();
        for (uid, key) in &tally.keys {
            let got =
                get_key(&mut s, &tenant, uid).unwrap_or_else(|e| panic!("{name}: {uid}: {e}"));
            assert_eq!(&got, key, "{name}: {uid}");
        }
        eprintln!(
            "{name} serves all {} keys ({:?})",
            tally.keys.len(),
            took.elapsed()
        );
    }

    // The audit chain holds on every node.
    for (name, server) in [("A", &a), ("B", &b), ("C", &c)] {
        let verdict = audit_verdict(server, &tenant.admin);
        assert_eq!(verdict["intact"], true, "{name}: {verdict}");
        eprintln!("audit on {name}: {verdict}");
    }
    // And read straight from the database, every chain (the operator's check).
    let out = common::skms(&["audit", "verify", "--storage-url", &url]);
    assert!(
        out.contains("provider: ") && !out.contains("BROKEN"),
        "{out}"
    );
    assert!(
        out.lines().filter(|l| l.ends_with("chain intact")).count() >= 2,
        "{out}"
    );
    a.terminate();
    b.terminate();
    c.terminate();
}

/// The postmaster of a pg.rs cluster, found by its port: stopped and started
/// again with the same data directory and options.
struct Postmaster {
    /// `pg_ctl`'s directory.
    bin: PathBuf,
    /// The data directory (`-D`).
    data: String,
    /// The options after `-D <data>` on the postmaster's command line.
    opts: String,
}

impl Postmaster {
    fn of_port(port: u16) -> Postmaster {
        let port = port.to_string();
        for entry in std::fs::read_dir("/proc").unwrap().flatten() {
            let Ok(raw) = std::fs::read(entry.path().join("cmdline")) else {
                continue;
            };
            let args: Vec<String> = raw
                .split(|b| *b == 0)
                .filter(|a| !a.is_empty())
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect();
            let is_ours = args.first().is_some_and(|p| p.ends_with("/postgres"))
                && args.windows(2).any(|w| w[0] == "-p" && w[1] == port);
            let Some(d) = args.iter().position(|a| a == "-D").filter(|_| is_ours) else {
                continue;
            };
            return Postmaster {
                bin: Path::new(&args[0]).parent().unwrap().to_path_buf(),
                data: args[d + 1].clone(),
                opts: args[d + 2..].join(" "),
            };
        }
        panic!("no postmaster on port {port}");
    }

    fn pg_ctl(&self, args: &[&str]) {
        let exe = self.bin.join("pg_ctl");
        let mut c = if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        };
        let data = Path::new(&self.data);
        let out = c
            .args(args)
            .stdin(Stdio::null())
            .current_dir(data.parent().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "pg_ctl {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn stop(&self) {
        self.pg_ctl(&["-D", &self.data, "-m", "fast", "-w", "stop"]);
    }

    fn start(&self) {
        let log = Path::new(&self.data)
            .parent()
            .unwrap()
            .join("server.log")
            .display()
            .to_string();
        self.pg_ctl(&[
            "-D", &self.data, "-l", &log, "-w", "-t", "60", "-o", &self.opts, "start",
        ]);
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// One request as the tenant's app on a new connection to `port`, with a
/// 10 s timeout: the response item, or the I/O failure; and how long it took.
fn one_request(
    port: u16,
    config: &Arc<rustls::ClientConfig>,
    t: &Tenant,
    payload: RequestPayload,
) -> (Result<kmip::messages::ResponseBatchItem, String>, Duration) {
    let took = Instant::now();
    let r = connect(port, config, Duration::from_secs(10))
        .map_err(|e| format!("connect: {e}"))
        .and_then(|mut s| {
            exchange(&mut s, kmip_request(&t.username, &t.password, payload))
                .map_err(|e| e.to_string())
        })
        .map(|mut r| r.batch_items.remove(0));
    (r, took.elapsed())
}

/// The new key's uid from a Create's outcome, or why none.
fn created_uid(r: Result<kmip::messages::ResponseBatchItem, String>) -> Result<String, String> {
    let item = r?;
    match (&item.result_status, &item.payload) {
        (&ResultStatus::SUCCESS, Some(ResponsePayload::Create(c))) => {
            Ok(c.unique_identifier.clone())
        }
        _ => Err(format!(
            "{:?} {:?}",
            item.result_status, item.result_message
        )),
    }
}

/// `GET path` on `server` (10 s timeout): the status code and body.
fn call(server: &Server, path: &str) -> (u16, String) {
    let pem = std::fs::read(server.dir.join("ca.crt")).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    match client
        .get(format!("https://127.0.0.1:{}{path}", server.https_port))
        .send()
    {
        Ok(r) => (r.status().as_u16(), r.text().unwrap_or_default()),
        Err(e) => (0, e.to_string()),
    }
}

/// `GET /v1/ready` on `server` (10 s timeout): the status code and body.
fn ready(server: &Server) -> (u16, String) {
    call(server, "/v1/ready")
}

/// The body of `GET path` on `server` (or why none).
fn get(server: &Server, path: &str) -> String {
    call(server, path).1
}

#[test]
fn nodes_answer_and_recover_when_postgresql_stops() {
    let cluster = pg::PgCluster::start();
    let url = cluster.fresh_database();
    let postmaster = Postmaster::of_port(cluster.port());
    let mut scratch = Scratch(Vec::new());
    let a_dir = scratch.dir("pgstop-a");
    let b_dir = scratch.dir("pgstop-b");
    let a = node(&a_dir, &url);
    copy_root_key(&a_dir, &b_dir);
    let mut b = node(&b_dir, &url);
    let ca = a_dir.join("ca.crt");
    let config = tls_config(&ca);
    let tenant = a.tenant("acme", "vcenter");
    let mut a = a;
    let uid = {
        let (r, _) = one_request(a.port, &config, &tenant, common::create_aes_256());
        let item = r.unwrap();
        assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
        let Some(ResponsePayload::Create(c)) = item.payload else {
            panic!("{item:?}")
        };
        c.unique_identifier
    };
    for s in [&a, &b] {
        let (r, _) = one_request(s.port, &config, &tenant, get_payload(&uid));
        assert!(key_of(&r.unwrap().payload).is_some());
        assert_eq!(ready(s).0, 200);
    }

    let stopping = Instant::now();
    postmaster.stop();
    eprintln!("PostgreSQL stopped ({:?})", stopping.elapsed());

    let mut problems = Vec::new();
    for (name, s) in [("A", &mut a), ("B", &mut b)] {
        for (what, payload) in [
            ("Get", get_payload(&uid)),
            ("Create", common::create_aes_256()),
        ] {
            let (r, took) = one_request(s.port, &config, &tenant, payload);
            eprintln!(
                "{name} {what} with PostgreSQL down, after {took:?}: {:?}",
                r.as_ref()
                    .map(|i| (i.result_status, i.result_reason, i.result_message.clone()))
            );
            // A failure of the server (General Failure), never a wrong
            // credential: vCenter must retry or fail over, not re-prompt.
            match &r {
                Ok(item)
                    if item.result_status != ResultStatus::SUCCESS
                        && item.result_reason
                            == Some(kmip::enums::ResultReason::GENERAL_FAILURE)
                        && took < Duration::from_secs(5) => {}
                _ => problems.push(format!("{name} {what}: after {took:?}: {r:?}")),
            }
        }
        let (code, body) = ready(s);
        eprintln!("{name} /v1/ready with PostgreSQL down: {code} {body}");
        if code != 503 {
            problems.push(format!("{name} /v1/ready: {code} {body}"));
        }
        // The body says which check failed, and Prometheus sees it too.
        match serde_json::from_str::<serde_json::Value>(&body) {
            Ok(v)
                if v["checks"]["store"]["ok"] == false
                    && v["checks"]["store"]["backend"] == "postgresql"
                    && v["checks"]["root_of_trust"]["ok"] == true
                    && !body.contains(&url)
                    && !body.contains("postgres://") => {}
            _ => problems.push(format!("{name} /v1/ready body: {body}")),
        }
        let metrics = get(s, "/metrics");
        if !metrics.contains("\nskms_store_up 0\n") {
            problems.push(format!("{name} /metrics with PostgreSQL down: {metrics}"));
        }
        if let Some(status) = s.child.0.try_wait().unwrap() {
            problems.push(format!("{name} exited: {status}"));
        }
    }

    let starting = Instant::now();
    postmaster.start();
    eprintln!("PostgreSQL started again ({:?})", starting.elapsed());
    let back = Instant::now();
    for (name, s) in [("A", &a), ("B", &b)] {
        let mut last: String;
        loop {
            let (created, _) = one_request(s.port, &config, &tenant, common::create_aes_256());
            let ok = match created_uid(created) {
                Ok(new) => {
                    let (got, _) = one_request(s.port, &config, &tenant, get_payload(&new));
                    let (old, _) = one_request(s.port, &config, &tenant, get_payload(&uid));
                    match (got, old) {
                        (Ok(g), Ok(o))
                            if key_of(&g.payload).is_some() && key_of(&o.payload).is_some() =>
                        {
                            let (code, body) = ready(s);
                            let metrics = get(s, "/metrics");
                            last = format!("ready {code} {body}\n{metrics}");
                            code == 200 && metrics.contains("\nskms_store_up 1\n")
                        }
                        (g, o) => {
                            last = format!("get new {g:?} / get old {o:?}");
                            false
                        }
                    }
                }
                other => {
                    last = format!("create {other:?}");
                    false
                }
            };
            if ok {
                eprintln!(
                    "{name} serves again {:?} after PostgreSQL started",
                    back.elapsed()
                );
                break;
            }
            if back.elapsed() > Duration::from_secs(15) {
                problems.push(format!(
                    "{name} not serving 15 s after PostgreSQL started: {last}"
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    a.terminate();
    b.terminate();
}
