//! `skms bench kmip`: a simple closed-loop KMIP load client. It opens N
//! persistent TLS connections, runs one operation (Get of one AES-256 key, or
//! durable AES-256 Creates) back to back on each for a fixed time after a
//! warm-up, checks every response, and prints throughput, latency percentiles
//! and errors. Loopback addresses only, unless `--allow-remote`.
//!
//! Several servers (the nodes of one PostgreSQL database) can be loaded at
//! once: `--addr` given more than once, or a comma-separated list. Connection
//! i goes to server i mod n (round-robin, as vCenter's multi-server key
//! provider spreads its clients), stays there for the whole run (a reopened
//! connection goes back to the same server), and the report breaks the
//! operations down by server.

use clap::{Args, Subcommand, ValueEnum};
use kmip::attributes::{Attribute, Attributes};
use kmip::binary::{frame_len, Limits};
use kmip::enums::{CryptographicAlgorithm, ObjectType, Operation, ResultStatus};
use kmip::messages::{
    Authentication, Credential, ProtocolVersion, RequestBatchItem, RequestHeader, RequestMessage,
    ResponseMessage, SecretString, UsernameAndPassword,
};
use kmip::objects::Object;
use kmip::payloads::{CreateRequest, GetRequest, RequestPayload, ResponsePayload};
use kmip::{Tag, Value};
use rustls::pki_types::ServerName;
use std::collections::BTreeMap;
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// `skms bench …`: load generators against a running server.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// KMIP over TLS: N persistent connections, each running one operation in a closed loop.
    Kmip(KmipArgs),
}

/// The operation `skms bench kmip` runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Op {
    /// Get one AES-256 key (created once before the run) again and again.
    Get,
    /// Create AES-256 keys (each acknowledged Create is committed by the server).
    Create,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Get => "get",
            Op::Create => "create",
        }
    }
}

/// Flags of `skms bench kmip`.
#[derive(Args)]
#[command(after_help = "\
Several servers (nodes sharing one PostgreSQL database): give --addr more than once, or a \
comma-separated list (--addr 127.0.0.1:5696,127.0.0.1:5697). Connections are spread \
round-robin over the addresses in the order given (connection i to address i mod n) and \
keep their server for the whole run; for --op get the key is created on the first address \
and fetched once on every address before the run (so servers that do not share a store \
are refused). The report lists the servers used, with each one's connections and \
operations.

Load is allowed on loopback addresses only (127.0.0.0/8, ::1): any other address is \
refused before connecting unless --allow-remote is given. Exit status: 0 when every \
response was a success, 1 when any request failed (or the run could not start), 2 on \
usage errors and refused addresses.")]
pub struct KmipArgs {
    /// Address of a KMIP listener (loopback only unless --allow-remote); repeat
    /// it, or separate addresses with commas, to spread the connections over
    /// several servers.
    #[arg(
        long,
        visible_alias = "server",
        value_name = "HOST:PORT",
        default_value = "127.0.0.1:5696",
        value_delimiter = ',',
        action = clap::ArgAction::Append,
        required = false
    )]
    addr: Vec<String>,
    /// CA certificate (PEM) to trust: `ca.crt` of the server's data directory.
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
    /// TLS server name (SNI) asked for and verified.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    server_name: String,
    /// KMIP username: the app's UUID (`skms app create` prints it).
    #[arg(long)]
    username: String,
    /// KMIP password: the app's secret (visible to other local users in the process list).
    #[arg(long)]
    password: String,
    /// The operation to run.
    #[arg(long, value_enum)]
    op: Op,
    /// Number of persistent TLS connections, each with one request in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=4096))]
    connections: u32,
    /// Measured time in seconds (after the warm-up).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = positive_seconds)]
    duration: Duration,
    /// Warm-up in seconds: requests run but are not measured.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = seconds)]
    warmup: Duration,
    /// KMIP protocol version of the requests (1.0 to 2.1).
    #[arg(long, value_name = "MAJOR.MINOR", default_value = "1.1", value_parser = protocol_version)]
    version: ProtocolVersion,
    /// Send the credential only on the first request of each connection (the
    /// connection stays authenticated); default: on every request, as vCenter does.
    #[arg(long)]
    credential_once: bool,
    /// Allow an address that is not loopback (not allowed at our workplace without clearance).
    #[arg(long)]
    allow_remote: bool,
    /// Seconds a request may take before it counts as failed (and the connection is reopened).
    #[arg(long, value_name = "SECONDS", default_value = "10", value_parser = positive_seconds)]
    timeout: Duration,
}

/// Parses seconds (fractions allowed), from 0 to one day.
fn seconds(s: &str) -> Result<Duration, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("not a number of seconds: {s:?}"))?;
    if !(0.0..=86_400.0).contains(&v) {
        return Err(format!("{s} s is out of range (0 to 86400)"));
    }
    Ok(Duration::from_secs_f64(v))
}

/// Parses seconds, more than zero.
fn positive_seconds(s: &str) -> Result<Duration, String> {
    let d = seconds(s)?;
    if d.is_zero() {
        return Err("must be more than 0 seconds".into());
    }
    Ok(d)
}

/// Parses `MAJOR.MINOR` as a KMIP protocol version this tool speaks.
fn protocol_version(s: &str) -> Result<ProtocolVersion, String> {
    let bad = || format!("not a KMIP version: {s:?} (expected 1.0 to 1.4, 2.0 or 2.1)");
    let (major, minor) = s.trim().split_once('.').ok_or_else(bad)?;
    let (major, minor): (i32, i32) = (
        major.parse().map_err(|_| bad())?,
        minor.parse().map_err(|_| bad())?,
    );
    match (major, minor) {
        (1, 0..=4) | (2, 0..=1) => Ok(ProtocolVersion::new(major, minor)),
        _ => Err(bad()),
    }
}

/// Why the run could not start (exit 1), or was refused (exit 2).
enum Failure {
    /// Refused before doing anything (exit status 2).
    Refused(String),
    /// Could not run (exit status 1).
    Run(String),
}

/// Runs `skms bench …`.
pub fn run(cmd: BenchCommand) -> ExitCode {
    let BenchCommand::Kmip(args) = cmd;
    match run_kmip(args) {
        Ok(code) => code,
        Err(Failure::Refused(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(2)
        }
        Err(Failure::Run(e)) => {
            eprintln!("error: {e}");
            ExitCode::from(1)
        }
    }
}

/// The addresses to load, one per `--addr` in order (see [`target`]).
fn targets(addrs: &[String], allow_remote: bool) -> Result<Vec<SocketAddr>, Failure> {
    let addrs: Vec<&str> = addrs
        .iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .collect();
    if addrs.is_empty() {
        return Err(Failure::Refused("--addr: no address given".into()));
    }
    addrs.into_iter().map(|a| target(a, allow_remote)).collect()
}

/// The address to load: the first one `addr` resolves to, refused when it is
/// not loopback (any of them, for a name) and remote load was not allowed.
fn target(addr: &str, allow_remote: bool) -> Result<SocketAddr, Failure> {
    let addrs: Vec<SocketAddr> = match addr.parse::<SocketAddr>() {
        Ok(a) => vec![a],
        Err(_) => addr
            .to_socket_addrs()
            .map_err(|e| Failure::Refused(format!("cannot resolve --addr {addr:?}: {e}")))?
            .collect(),
    };
    let first = *addrs
        .first()
        .ok_or_else(|| Failure::Refused(format!("--addr {addr:?} resolves to no address")))?;
    if !allow_remote {
        if let Some(a) = addrs.iter().find(|a| !a.ip().to_canonical().is_loopback()) {
            return Err(Failure::Refused(format!(
                "refusing to load {addr} ({}): not a loopback address; load on other \
                 addresses needs --allow-remote (and clearance to use it)",
                a.ip()
            )));
        }
    }
    Ok(first)
}

/// Checks the flags, runs the load and prints the report.
fn run_kmip(args: KmipArgs) -> Result<ExitCode, Failure> {
    // Refuse a remote target before reading anything or connecting anywhere.
    let addrs = targets(&args.addr, args.allow_remote)?;
    let server_name = ServerName::try_from(args.server_name.clone())
        .map_err(|e| Failure::Refused(format!("--server-name {:?}: {e}", args.server_name)))?;
    let tls = client_config(&args)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Run(format!("cannot start the runtime: {e}")))?;
    let target = Target {
        addrs: addrs.clone(),
        server_name,
        connector: TlsConnector::from(tls),
        timeout: args.timeout,
    };
    let report = rt.block_on(bench(&args, target))?;
    print!("{}", report.text(&args, &addrs));
    Ok(
        if report.errors.total() > 0 || (report.ops() == 0 && !report.interrupted) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// A TLS client configuration trusting the certificates of `--ca` only.
fn client_config(args: &KmipArgs) -> Result<Arc<rustls::ClientConfig>, Failure> {
    let certs = skms_server::init::read_cert_pem(&args.ca)
        .map_err(|e| Failure::Run(format!("--ca: {e}")))?;
    let mut roots = rustls::RootCertStore::empty();
    for c in certs {
        roots
            .add(c)
            .map_err(|e| Failure::Run(format!("--ca {}: {e}", args.ca.display())))?;
    }
    if roots.is_empty() {
        return Err(Failure::Run(format!(
            "--ca {}: no certificate in the file",
            args.ca.display()
        )));
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Failure::Run(format!("TLS: {e}")))?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Where and how to connect.
struct Target {
    /// The servers, in the order given; connection i goes to `addrs[i % n]`.
    addrs: Vec<SocketAddr>,
    server_name: ServerName<'static>,
    connector: TlsConnector,
    timeout: Duration,
}

/// One client connection.
type Conn = TlsStream<TcpStream>;

impl Target {
    /// Opens one TLS connection to server `server` (an index into `addrs`;
    /// TCP_NODELAY: one small request at a time).
    async fn connect(&self, server: usize) -> Result<Conn, String> {
        let addr = self.addrs[server];
        let open = async {
            let tcp = TcpStream::connect(addr)
                .await
                .map_err(|e| format!("connect to {addr}: {e}"))?;
            tcp.set_nodelay(true)
                .map_err(|e| format!("TCP_NODELAY: {e}"))?;
            self.connector
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS handshake with {addr}: {e}"))
        };
        tokio::time::timeout(self.timeout, open)
            .await
            .map_err(|_| format!("connect to {addr}: timed out"))?
    }
}

/// Sends one request and reads one framed response.
async fn exchange(conn: &mut Conn, request: &[u8]) -> std::io::Result<Vec<u8>> {
    conn.write_all(request).await?;
    conn.flush().await?;
    let mut head = [0u8; 8];
    conn.read_exact(&mut head).await?;
    let len = frame_len(&head).unwrap_or(0);
    if len < head.len() || len > Limits::default().max_message_size {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("response frame of {len} bytes"),
        ));
    }
    let mut buf = vec![0u8; len];
    buf[..8].copy_from_slice(&head);
    conn.read_exact(&mut buf[8..]).await?;
    Ok(buf)
}

/// The two encodings of the one request a connection repeats.
struct Requests {
    /// With the Username and Password credential.
    with_credential: Vec<u8>,
    /// Without a credential (the connection is already authenticated).
    bare: Vec<u8>,
}

/// Encodes a one-item request, with the credential or without.
fn encode(args: &KmipArgs, operation: Operation, payload: RequestPayload, auth: bool) -> Vec<u8> {
    RequestMessage {
        header: RequestHeader {
            protocol_version: args.version.clone(),
            authentication: auth.then(|| Authentication {
                credential: vec![Credential::UsernameAndPassword(UsernameAndPassword {
                    username: args.username.clone(),
                    password: Some(SecretString(args.password.clone())),
                })],
            }),
            batch_count: 1,
            ..Default::default()
        },
        batch_items: vec![RequestBatchItem {
            operation,
            ephemeral: None,
            unique_batch_item_id: None,
            payload,
            message_extension: None,
        }],
    }
    .encode()
}

/// A Create of an AES-256 key (Encrypt | Decrypt).
fn create_payload() -> RequestPayload {
    CreateRequest {
        object_type: ObjectType::SYMMETRIC_KEY,
        attributes: Attributes::new(vec![
            Attribute::new(
                Tag::CRYPTOGRAPHIC_ALGORITHM,
                Value::Enumeration(CryptographicAlgorithm::AES.0),
            ),
            Attribute::new(Tag::CRYPTOGRAPHIC_LENGTH, Value::Integer(256)),
            // Encrypt | Decrypt, as vCenter asks.
            Attribute::new(Tag::CRYPTOGRAPHIC_USAGE_MASK, Value::Integer(12)),
        ]),
        protection_storage_masks: None,
    }
    .into()
}

/// A Get of `uid` in its stored format.
fn get_payload(uid: &str) -> RequestPayload {
    GetRequest {
        unique_identifier: Some(uid.to_string()),
        ..Default::default()
    }
    .into()
}

/// Encodes the request of `operation`, with and without the credential.
fn requests(args: &KmipArgs, operation: Operation, payload: RequestPayload) -> Requests {
    Requests {
        with_credential: encode(args, operation, payload.clone(), true),
        bare: encode(args, operation, payload, false),
    }
}

/// What a response must be.
#[derive(Clone)]
enum Expect {
    /// A Create of a symmetric key; yields its identifier.
    Create,
    /// A Get of this key, 32 bytes of key material.
    Get(String),
}

/// A failed check: a short category (aggregated) and the detail of the case.
struct Bad {
    kind: String,
    detail: String,
}

impl Bad {
    fn new(kind: impl Into<String>, detail: impl Into<String>) -> Self {
        Bad {
            kind: kind.into(),
            detail: detail.into(),
        }
    }
}

/// Checks one response; returns the object's identifier when it is a success.
fn check(bytes: &[u8], expect: &Expect) -> Result<String, Bad> {
    let response = ResponseMessage::decode(bytes, &Limits::default())
        .map_err(|e| Bad::new("undecodable response", e.to_string()))?;
    let [item] = response.batch_items.as_slice() else {
        return Err(Bad::new(
            "wrong number of batch items",
            format!("{} batch items", response.batch_items.len()),
        ));
    };
    if item.result_status != ResultStatus::SUCCESS {
        let reason = item
            .result_reason
            .map(|r| r.to_string())
            .unwrap_or_else(|| "no reason".into());
        return Err(Bad::new(
            format!("{} ({reason})", item.result_status),
            item.result_message.clone().unwrap_or_default(),
        ));
    }
    let want = match expect {
        Expect::Create => Operation::CREATE,
        Expect::Get(_) => Operation::GET,
    };
    if item.operation != Some(want) {
        return Err(Bad::new(
            "wrong operation in the response",
            format!("{:?}", item.operation),
        ));
    }
    match (expect, &item.payload) {
        (Expect::Create, Some(ResponsePayload::Create(c))) => {
            if c.object_type != ObjectType::SYMMETRIC_KEY || c.unique_identifier.is_empty() {
                return Err(Bad::new(
                    "unexpected Create response",
                    format!("{} {:?}", c.object_type, c.unique_identifier),
                ));
            }
            Ok(c.unique_identifier.clone())
        }
        (Expect::Get(uid), Some(ResponsePayload::Get(g))) => {
            if &g.unique_identifier != uid {
                return Err(Bad::new(
                    "Get returned another object",
                    format!("{} instead of {uid}", g.unique_identifier),
                ));
            }
            let len = match &g.object {
                Object::SymmetricKey(k) => k.key_block.key_bytes().map(|b| b.len()),
                _ => None,
            };
            if len != Some(32) {
                return Err(Bad::new(
                    "Get did not return 32 bytes of key",
                    format!("{}: {len:?} bytes", g.object.object_type()),
                ));
            }
            Ok(g.unique_identifier.clone())
        }
        (_, other) => Err(Bad::new(
            "missing or wrong response payload",
            format!("{:?}", other.as_ref().and_then(|p| p.operation())),
        )),
    }
}

/// Failures, by category, with the first detail of each.
#[derive(Default)]
struct Errors(BTreeMap<String, (u64, String)>);

impl Errors {
    fn add(&mut self, bad: Bad) {
        let e = self.0.entry(bad.kind).or_insert((0, bad.detail));
        e.0 += 1;
    }
    fn merge(&mut self, other: Errors) {
        for (kind, (n, detail)) in other.0 {
            self.0.entry(kind).or_insert((0, detail)).0 += n;
        }
    }
    fn total(&self) -> u64 {
        self.0.values().map(|(n, _)| n).sum()
    }
}

/// What one connection did.
#[derive(Default)]
struct Outcome {
    /// The server it used (an index into [`Target::addrs`]).
    server: usize,
    /// Latency of every successful operation sent after the warm-up, in microseconds.
    latencies_us: Vec<u64>,
    /// Every failure (warm-up included).
    errors: Errors,
    /// Connections reopened after a transport failure.
    reconnects: u64,
}

/// One connection's closed loop until `stop` turns true: `conn` is open to
/// server `server` (an index into [`Target::addrs`]), where it reconnects.
async fn worker(
    target: Arc<Target>,
    (server, mut conn): (usize, Conn),
    requests: Arc<Requests>,
    expect: Expect,
    credential_once: bool,
    measure_from: Instant,
    mut stop: watch::Receiver<bool>,
) -> Outcome {
    let mut out = Outcome {
        server,
        ..Outcome::default()
    };
    let mut authenticated = false;
    loop {
        if *stop.borrow() {
            break;
        }
        let request = if credential_once && authenticated {
            &requests.bare
        } else {
            &requests.with_credential
        };
        let sent = Instant::now();
        let result = tokio::select! {
            biased;
            _ = stop.changed() => break,
            r = tokio::time::timeout(target.timeout, exchange(&mut conn, request)) => r,
        };
        let latency = sent.elapsed();
        let failure = match result {
            Ok(Ok(bytes)) => match check(&bytes, &expect) {
                Ok(_) => {
                    authenticated = true;
                    if sent >= measure_from {
                        out.latencies_us
                            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
                    }
                    continue;
                }
                Err(bad) => {
                    out.errors.add(bad);
                    continue;
                }
            },
            Ok(Err(e)) => Bad::new("connection failed", e.to_string()),
            Err(_) => Bad::new("timed out", format!("no response in {:?}", target.timeout)),
        };
        out.errors.add(failure);
        // The stream is unusable (or out of step): open a new connection,
        // which must authenticate again.
        let reopened = tokio::select! {
            biased;
            _ = stop.changed() => break,
            c = target.connect(server) => c,
        };
        match reopened {
            Ok(c) => {
                conn = c;
                authenticated = false;
                out.reconnects += 1;
            }
            Err(e) => {
                out.errors
                    .add(Bad::new("reconnect failed (connection given up)", e));
                break;
            }
        }
    }
    out
}

/// The result of a run.
struct Report {
    /// Measured time (warm-up excluded; shorter when interrupted).
    measured: Duration,
    /// Every measured latency, sorted, in microseconds.
    latencies_us: Vec<u64>,
    /// Failures.
    errors: Errors,
    /// Connections reopened.
    reconnects: u64,
    /// Ctrl-C stopped the run early.
    interrupted: bool,
    /// Per server (as [`Target::addrs`]): connections, measured operations, failures.
    per_server: Vec<ServerTally>,
}

/// What the connections to one server did.
#[derive(Clone, Copy, Default)]
struct ServerTally {
    connections: u32,
    ops: u64,
    errors: u64,
}

impl Report {
    fn ops(&self) -> usize {
        self.latencies_us.len()
    }

    /// The latency at quantile `q` (nearest rank), in milliseconds.
    fn quantile_ms(&self, q: f64) -> f64 {
        let n = self.latencies_us.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.latencies_us[rank - 1] as f64 / 1000.0
    }

    fn text(&self, args: &KmipArgs, addrs: &[SocketAddr]) -> String {
        use std::fmt::Write;
        let v = &args.version;
        let mut s = String::new();
        let list: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            s,
            "skms bench kmip: {} against {} (KMIP {}.{}, credential {})",
            args.op.name(),
            list.join(", "),
            v.protocol_version_major,
            v.protocol_version_minor,
            if args.credential_once {
                "on the first request of each connection"
            } else {
                "on every request"
            }
        );
        let _ = writeln!(s, "operation:    {}", args.op.name());
        let _ = writeln!(
            s,
            "servers:      {}{}",
            addrs.len(),
            if addrs.len() > 1 {
                " (connections round-robin)"
            } else {
                ""
            }
        );
        for (addr, t) in addrs.iter().zip(&self.per_server) {
            let _ = writeln!(
                s,
                "  {addr}: {} connections, {} ops, {} errors",
                t.connections, t.ops, t.errors
            );
        }
        let _ = writeln!(s, "connections:  {}", args.connections);
        let _ = writeln!(s, "warm-up:      {:.1} s", args.warmup.as_secs_f64());
        let _ = writeln!(
            s,
            "duration:     {:.2} s{}",
            self.measured.as_secs_f64(),
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            }
        );
        let _ = writeln!(s, "total ops:    {}", self.ops());
        let secs = self.measured.as_secs_f64();
        let rate = if secs > 0.0 {
            self.ops() as f64 / secs
        } else {
            0.0
        };
        let _ = writeln!(s, "ops/s:        {rate:.1}");
        for (name, q) in [("p50", 0.50), ("p90", 0.90), ("p99", 0.99), ("max", 1.0)] {
            let _ = writeln!(s, "latency {name}:  {:.3} ms", self.quantile_ms(q));
        }
        let _ = writeln!(s, "errors:       {}", self.errors.total());
        for (kind, (n, detail)) in &self.errors.0 {
            let _ = writeln!(s, "  {n} x {kind}: {detail}");
        }
        if self.reconnects > 0 {
            let _ = writeln!(s, "reconnects:   {}", self.reconnects);
        }
        s
    }
}

/// One checked exchange outside the measured loop (the run's set-up).
async fn once(
    target: &Target,
    conn: &mut Conn,
    request: &[u8],
    expect: Expect,
) -> Result<String, String> {
    let bytes = tokio::time::timeout(target.timeout, exchange(conn, request))
        .await
        .map_err(|_| "timed out".to_string())?
        .map_err(|e| e.to_string())?;
    check(&bytes, &expect).map_err(|b| format!("{}: {}", b.kind, b.detail))
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn interrupted() {
    skms_server::shutdown_signal().await
}

async fn bench(args: &KmipArgs, target: Target) -> Result<Report, Failure> {
    let target = Arc::new(target);
    let create = requests(args, Operation::CREATE, create_payload());

    // For Get: one key, created (and fetched once) before the run.
    let (requests, expect) = match args.op {
        Op::Create => (create, Expect::Create),
        Op::Get => {
            let mut conn = target.connect(0).await.map_err(Failure::Run)?;
            let uid = once(&target, &mut conn, &create.with_credential, Expect::Create)
                .await
                .map_err(|e| {
                    Failure::Run(format!(
                        "creating the key to Get on {}: {e}",
                        target.addrs[0]
                    ))
                })?;
            let get = requests(args, Operation::GET, get_payload(&uid));
            // Every server must serve it (they share one store) before the run.
            for server in 0..target.addrs.len() {
                if server > 0 {
                    conn = target.connect(server).await.map_err(Failure::Run)?;
                }
                once(
                    &target,
                    &mut conn,
                    &get.with_credential,
                    Expect::Get(uid.clone()),
                )
                .await
                .map_err(|e| {
                    Failure::Run(format!(
                        "first Get of {uid} on {}: {e}",
                        target.addrs[server]
                    ))
                })?;
            }
            (get, Expect::Get(uid))
        }
    };
    let requests = Arc::new(requests);

    // Every connection opens before the clock starts: connection i to server
    // i mod n.
    let servers = target.addrs.len();
    let mut per_server = vec![ServerTally::default(); servers];
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..args.connections as usize {
        let target = target.clone();
        let server = i % servers;
        per_server[server].connections += 1;
        opening.spawn(async move { (server, target.connect(server).await) });
    }
    let mut conns = Vec::new();
    while let Some(r) = opening.join_next().await {
        let (server, conn) = r.map_err(|e| Failure::Run(format!("connecting: {e}")))?;
        conns.push((server, conn.map_err(Failure::Run)?));
    }

    let (stop_tx, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let measure_from = start + args.warmup;
    let mut workers = tokio::task::JoinSet::new();
    for conn in conns {
        workers.spawn(worker(
            target.clone(),
            conn,
            requests.clone(),
            expect.clone(),
            args.credential_once,
            measure_from,
            stop_rx.clone(),
        ));
    }
    let interrupted = tokio::select! {
        _ = tokio::time::sleep(args.warmup + args.duration) => false,
        _ = interrupted() => true,
    };
    let stopped = Instant::now();
    let _ = stop_tx.send(true);

    let mut report = Report {
        measured: stopped.saturating_duration_since(measure_from),
        latencies_us: Vec::new(),
        errors: Errors::default(),
        reconnects: 0,
        interrupted,
        per_server,
    };
    while let Some(r) = workers.join_next().await {
        match r {
            Ok(out) => {
                let tally = &mut report.per_server[out.server];
                tally.ops += out.latencies_us.len() as u64;
                tally.errors += out.errors.total();
                report.latencies_us.extend(out.latencies_us);
                report.errors.merge(out.errors);
                report.reconnects += out.reconnects;
            }
            Err(e) => report
                .errors
                .add(Bad::new("a connection task failed", e.to_string())),
        }
    }
    report.latencies_us.sort_unstable();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_only_unless_allowed() {
        assert!(target("127.0.0.1:5696", false).is_ok());
        assert!(target("127.1.2.3:5696", false).is_ok());
        assert!(target("[::1]:5696", false).is_ok());
        assert!(target("[::ffff:127.0.0.1]:5696", false).is_ok());
        for remote in ["10.0.0.1:5696", "0.0.0.0:5696", "[::]:5696", "192.0.2.1:1"] {
            assert!(
                matches!(target(remote, false), Err(Failure::Refused(_))),
                "{remote}"
            );
        }
        assert!(target("10.0.0.1:5696", true).is_ok());
    }

    #[test]
    fn several_servers_repeated_or_comma_separated() {
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            args: KmipArgs,
        }
        let parse = |extra: &[&str]| {
            let mut argv = vec![
                "bench",
                "--ca",
                "ca.crt",
                "--username",
                "u",
                "--password",
                "p",
                "--op",
                "get",
            ];
            argv.extend_from_slice(extra);
            <Cli as clap::Parser>::try_parse_from(argv).map(|c| c.args.addr)
        };
        assert_eq!(parse(&[]).unwrap(), ["127.0.0.1:5696"]);
        assert_eq!(
            parse(&["--addr", "127.0.0.1:1", "--addr", "127.0.0.1:2"]).unwrap(),
            ["127.0.0.1:1", "127.0.0.1:2"]
        );
        assert_eq!(
            parse(&["--server", "127.0.0.1:1,127.0.0.1:2", "--addr", "[::1]:3"]).unwrap(),
            ["127.0.0.1:1", "127.0.0.1:2", "[::1]:3"]
        );
        let addrs = targets(
            &parse(&["--addr", "127.0.0.1:1, 127.0.0.1:2"]).unwrap(),
            false,
        );
        assert_eq!(
            addrs.ok().unwrap(),
            [
                "127.0.0.1:1".parse::<SocketAddr>().unwrap(),
                "127.0.0.1:2".parse().unwrap()
            ]
        );
        // One remote address among loopback ones refuses the whole run.
        assert!(matches!(
            targets(&["127.0.0.1:1".into(), "10.0.0.1:2".into()], false),
            Err(Failure::Refused(_))
        ));
        assert!(matches!(
            targets(&[" ".into()], false),
            Err(Failure::Refused(_))
        ));
    }

    #[test]
    fn flags() {
        assert_eq!(seconds("0").unwrap(), Duration::ZERO);
        assert_eq!(seconds("1.5").unwrap(), Duration::from_millis(1500));
        assert!(positive_seconds("0").is_err());
        assert!(seconds("-1").is_err());
        assert!(seconds("nan").is_err());
        assert_eq!(protocol_version("2.1").unwrap(), ProtocolVersion::new(2, 1));
        assert!(protocol_version("3.0").is_err());
        assert!(protocol_version("1").is_err());
    }

    #[test]
    fn percentiles_by_nearest_rank() {
        let r = Report {
            measured: Duration::from_secs(1),
            latencies_us: (1..=100).map(|i| i * 1000).collect(),
            errors: Errors::default(),
            reconnects: 0,
            interrupted: false,
            per_server: Vec::new(),
        };
        assert_eq!(r.quantile_ms(0.5), 50.0);
        assert_eq!(r.quantile_ms(0.99), 99.0);
        assert_eq!(r.quantile_ms(1.0), 100.0);
    }
}
