//! `skms bench kmip`: a KMIP load generator over TLS, for our server or any
//! other. N connections run a workload in a closed loop (one action in flight
//! each), persistent or a new TLS connection per action as vCenter does
//! (Discover Versions first); for a duration or an operation count, after a
//! warm-up; every answer is checked. It shows progress on standard error and
//! prints actions/s, latency percentiles and failures by kind, as text or
//! JSON. Loopback addresses only, unless `--allow-remote`.
//!
//! Several servers (the nodes of one PostgreSQL database) can be loaded at
//! once: `--addr` given more than once, or a comma-separated list. Connection
//! i goes to server i mod n (round-robin, as vCenter's multi-server key
//! provider spreads its clients) and keeps it for the whole run.

mod report;
mod session;
mod workload;

use clap::{Args, Subcommand};
use kmip::messages::ProtocolVersion;
use report::{Latencies, Report, ServerTally, Setup};
use rustls::pki_types::ServerName;
use session::{Bad, Errors, Session, Target};
use std::net::{SocketAddr, ToSocketAddrs};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio_rustls::TlsConnector;
use workload::{Action, Cursor, Plan, Pool, Workload};

/// `skms bench …`: load generators against a running server.
#[derive(Subcommand)]
pub enum BenchCommand {
    /// KMIP over TLS: N connections, each running a workload in a closed loop.
    Kmip(KmipArgs),
}

/// Flags of `skms bench kmip`.
#[derive(Args)]
#[command(args_override_self = true)]
#[command(after_help = "\
Workloads: get, locate and get-attributes work on --keys AES-256 keys that the run creates \
first (each with a Name, skms-bench-<run>-<n>); create creates AES-256 keys; vcenter repeats \
vCenter's sequence as three actions (Create; Get Attributes of x-Product_Version, x-Vendor, \
x-Product then Add Attribute x3 in one batch; Get, Get Attributes(State), Activate), and \
counts a failed Add Attribute as an error that does not fail its action (vCenter carries \
on); boot-storm opens --hosts new connections at once, each Discover Versions + Get of one \
shared key, and reports when the last host had its key; mix interleaves get, \
get-attributes, locate and create by --mix; idle opens --connections connections (each \
with Discover Versions), holds them without traffic for --duration, then checks that \
each still answers (read the server's memory while it holds them).

Latency is per action, from its first byte sent (or, with --new-connection-per-action, \
from the TCP connect) to its last answer read. actions/s (printed as ops/s too) counts \
the successful actions that ended in the measured time; requests/s every KMIP message \
they sent.

Several servers (nodes sharing one PostgreSQL database): give --addr more than once, or a \
comma-separated list (--addr 127.0.0.1:5696,127.0.0.1:5697). Connections are spread \
round-robin over the addresses in the order given (connection i to address i mod n) and \
keep their server for the whole run; the pre-created keys are fetched once on every \
address before the run (so servers that do not share a store are refused).

Authentication: --cert/--key (a client certificate, as vCenter), --username/--password \
(the KMIP Username and Password credential, on every request unless --credential-once), \
or both.

Load is allowed on loopback addresses only (127.0.0.0/8, ::1): any other address is \
refused before connecting unless --allow-remote is given. Exit status: 0 when every \
answer was a success, 1 when any request failed (or the run could not start), 2 on \
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
    /// CA certificate (PEM) to trust for the server: `ca.crt` of skms's data directory.
    #[arg(long, value_name = "FILE")]
    ca: PathBuf,
    /// TLS server name (SNI) asked for and verified.
    #[arg(long, value_name = "NAME", default_value = "localhost")]
    server_name: String,
    /// Client certificate chain (PEM) presented to the server.
    #[arg(long, value_name = "FILE", requires = "key")]
    cert: Option<PathBuf>,
    /// Private key (PEM, PKCS#8, SEC1 or PKCS#1) of --cert.
    #[arg(long, value_name = "FILE", requires = "cert")]
    key: Option<PathBuf>,
    /// KMIP username: the app's UUID (`skms app create` prints it).
    #[arg(long, requires = "password")]
    username: Option<String>,
    /// KMIP password: the app's secret (visible to other local users in the process list).
    #[arg(long, requires = "username")]
    password: Option<String>,
    /// The workload.
    #[arg(long, visible_alias = "op", value_enum)]
    workload: Workload,
    /// Number of connections, each with one action in flight.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    connections: u32,
    /// Measured time in seconds (after the warm-up); default 10 unless --count.
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds, conflicts_with = "count")]
    duration: Option<Duration>,
    /// Stop after this many measured successful actions instead of a duration.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    count: Option<u64>,
    /// Warm-up in seconds: actions run but are not measured.
    #[arg(long, value_name = "SECONDS", default_value = "2", value_parser = seconds)]
    warmup: Duration,
    /// Open a new TLS connection for every action, send Discover Versions,
    /// then the action's requests, and close, as vCenter does.
    #[arg(long)]
    new_connection_per_action: bool,
    /// Never resume a TLS session: every new connection makes a full
    /// handshake (certificates, signatures). By default sessions are resumed
    /// when the server allows, as most TLS clients do; the report says how
    /// many handshakes resumed.
    #[arg(long)]
    no_resumption: bool,
    /// Keys created before the run for get, locate, get-attributes and mix.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..=10_000_000))]
    keys: u32,
    /// boot-storm: connections opened at once, one per host.
    #[arg(long, value_name = "M", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    hosts: u32,
    /// mix: the weight of each action.
    #[arg(
        long,
        value_name = "ACTION=WEIGHT,…",
        default_value = "get=70,get-attributes=10,locate=10,create=10",
        value_parser = workload::parse_mix
    )]
    mix: workload::Mix,
    /// KMIP protocol version of the requests (1.0 to 2.1).
    #[arg(long, value_name = "MAJOR.MINOR", default_value = "1.1", value_parser = protocol_version)]
    version: ProtocolVersion,
    /// Send the credential only until a request of the connection succeeded
    /// (the connection stays authenticated); default: on every request, as vCenter does.
    #[arg(long)]
    credential_once: bool,
    /// Print the report as one JSON object.
    #[arg(long)]
    json: bool,
    /// No progress lines on standard error.
    #[arg(long, short)]
    quiet: bool,
    /// Allow an address that is not loopback (not allowed at our workplace without clearance).
    #[arg(long)]
    allow_remote: bool,
    /// Seconds a connection or a request may take before it counts as failed.
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
    if args.cert.is_none() && args.username.is_none() {
        return Err(Failure::Refused(
            "no authentication: give --cert and --key, or --username and --password".into(),
        ));
    }
    match args.workload {
        Workload::BootStorm => check_open_files(args.hosts)?,
        Workload::Idle => check_open_files(args.connections)?,
        _ => {}
    }
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
        version: args.version.clone(),
        credential: args.username.clone().zip(args.password.clone()),
        credential_once: args.credential_once,
    };
    let report = rt.block_on(bench(&args, target))?;
    let setup = Setup {
        workload: args.workload.name(),
        addrs,
        version: format!(
            "{}.{}",
            args.version.protocol_version_major, args.version.protocol_version_minor
        ),
        connections: match args.workload {
            Workload::BootStorm => format!("{} hosts at once, a new connection each", args.hosts),
            Workload::Idle => format!("{} held open without traffic", args.connections),
            _ if args.new_connection_per_action => format!(
                "{} (a new TLS connection per action, Discover Versions first)",
                args.connections
            ),
            _ => format!("{} (persistent)", args.connections),
        },
        auth: match (&args.cert, &args.username, args.credential_once) {
            (Some(_), None, _) => "client certificate".into(),
            (cert, Some(_), once) => format!(
                "{}credential on {}",
                if cert.is_some() {
                    "client certificate, "
                } else {
                    ""
                },
                if once {
                    "the first requests of each connection"
                } else {
                    "every request"
                }
            ),
            (None, None, _) => unreachable!("refused above"),
        },
        warmup: args.warmup,
    };
    if args.json {
        println!("{}", report.json(&setup));
    } else {
        print!("{}", report.text(&setup));
    }
    Ok(
        if report.failures() > 0 || (report.actions() == 0 && !report.interrupted) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        },
    )
}

/// Refuses a boot storm or idle run that this process cannot hold open
/// (each connection is one open file); the limit is read from /proc where there is one.
fn check_open_files(connections: u32) -> Result<(), Failure> {
    let Ok(limits) = std::fs::read_to_string("/proc/self/limits") else {
        return Ok(());
    };
    let soft = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .and_then(|l| l.split_whitespace().nth(3))
        .and_then(|v| v.parse::<u64>().ok());
    match soft {
        Some(soft) if u64::from(connections) + 64 > soft => Err(Failure::Refused(format!(
            "{connections} connections: this process may open {soft} files and needs one per \
             connection and some more; raise it first (ulimit -n {})",
            u64::from(connections) + 256
        ))),
        _ => Ok(()),
    }
}

/// A TLS client configuration trusting the certificates of `--ca` only,
/// presenting `--cert` when given.
fn client_config(args: &KmipArgs) -> Result<Arc<rustls::ClientConfig>, Failure> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::PrivateKeyDer;
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
    let builder = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| Failure::Run(format!("TLS: {e}")))?
    .with_root_certificates(roots);
    let mut config = match (&args.cert, &args.key) {
        (Some(cert), Some(key)) => {
            let chain = skms_server::init::read_cert_pem(cert)
                .map_err(|e| Failure::Run(format!("--cert: {e}")))?;
            if chain.is_empty() {
                return Err(Failure::Run(format!(
                    "--cert {}: no certificate in the file",
                    cert.display()
                )));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| Failure::Run(format!("--key {}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| Failure::Run(format!("--cert and --key: {e}")))?
        }
        _ => builder.with_no_client_auth(),
    };
    if args.no_resumption {
        config.resumption = rustls::client::Resumption::disabled();
    }
    Ok(Arc::new(config))
}

/// What every connection of a run shares.
struct Run {
    target: Arc<Target>,
    plan: Plan,
    pool: Option<Arc<Pool>>,
    /// A new connection (with Discover Versions) per action.
    fresh: bool,
    /// Actions that end at or after this instant are measured.
    measure_from: Instant,
    /// Stop after this many measured actions.
    count: Option<u64>,
    /// Measured successful actions so far (for `count`).
    measured: AtomicU64,
    /// Stops every connection (set by the last counted action too).
    stop: watch::Sender<bool>,
    progress: Progress,
}

/// Counters the progress lines read.
#[derive(Default)]
struct Progress {
    actions: AtomicU64,
    errors: AtomicU64,
}

impl Progress {
    /// Prints a line on standard error every second until `stop` turns true:
    /// `what` done so far, the rate of the last second, and failures.
    async fn show(&self, what: &str, total: Option<u64>, mut stop: watch::Receiver<bool>) {
        let started = Instant::now();
        let mut last = (0u64, Instant::now());
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.tick().await;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = stop.changed() => return,
            }
            let done = self.actions.load(Ordering::Relaxed);
            let now = Instant::now();
            let rate = (done - last.0) as f64 / now.duration_since(last.1).as_secs_f64();
            last = (done, now);
            let of = total.map(|t| format!("/{t}")).unwrap_or_default();
            eprintln!(
                "progress: {:>6.1} s  {done}{of} {what}  {rate:.0}/s  {} errors",
                started.elapsed().as_secs_f64(),
                self.errors.load(Ordering::Relaxed)
            );
        }
    }
}

/// What one connection did.
#[derive(Default)]
struct Outcome {
    server: usize,
    latencies: std::collections::BTreeMap<Action, Latencies>,
    requests: u64,
    errors: Errors,
    tolerated: Errors,
    reconnects: u64,
    handshakes: Handshakes,
}

/// TLS handshakes made in the measured time, and how many resumed a session.
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshakes {
    pub total: u64,
    pub resumed: u64,
}

impl Handshakes {
    fn add(&mut self, other: Handshakes) {
        self.total += other.total;
        self.resumed += other.resumed;
    }
}

/// One action on `session` (opened first when there is none, and closed
/// after when each action has its own connection); the requests it sent and
/// the handshake it made.
async fn one_action(
    run: &Run,
    index: usize,
    server: usize,
    action: Action,
    session: &mut Option<Session>,
    cursor: &mut Cursor,
    tolerated: &mut Errors,
) -> (u64, Handshakes, Result<(), Bad>) {
    let mut handshake = Handshakes::default();
    let mut s = match session.take() {
        Some(s) => s,
        None => match Session::open(&run.target, server, run.fresh).await {
            Ok(s) => {
                handshake.total = 1;
                handshake.resumed = u64::from(s.resumed);
                s
            }
            Err(bad) => return (0, handshake, Err(bad)),
        },
    };
    let before = if run.fresh { 0 } else { s.requests };
    let result = workload::run(
        action,
        &mut s,
        &run.target,
        &run.pool,
        index,
        cursor,
        tolerated,
    )
    .await;
    let sent = s.requests - before;
    if run.fresh {
        s.close().await;
    } else if !matches!(&result, Err(bad) if bad.broken) {
        *session = Some(s);
    }
    (sent, handshake, result)
}

/// Connection `index`'s closed loop until the run stops. `session` is open
/// (persistent connections) or absent (a new connection per action).
async fn worker(run: Arc<Run>, index: usize, mut session: Option<Session>) -> Outcome {
    let server = index % run.target.addrs.len();
    let mut stop = run.stop.subscribe();
    let mut out = Outcome {
        server,
        ..Outcome::default()
    };
    let mut cursor = Cursor::default();
    loop {
        if *stop.borrow() {
            break;
        }
        let reconnect = session.is_none() && !run.fresh;
        let action = run.plan.next(index, &cursor);
        let started = Instant::now();
        let (sent, handshake, result) = tokio::select! {
            biased;
            _ = stop.changed() => break,
            r = one_action(&run, index, server, action, &mut session, &mut cursor, &mut out.tolerated) => r,
        };
        // Counted when it ends in the measured time (so a slow server's
        // actions that straddle the warm-up's end are not lost).
        let measured = Instant::now() >= run.measure_from;
        if reconnect && session.is_some() {
            out.reconnects += 1;
        }
        if measured {
            out.handshakes.add(handshake);
        }
        match result {
            Ok(()) => {
                run.progress.actions.fetch_add(1, Ordering::Relaxed);
                if !measured {
                    continue;
                }
                if let Some(count) = run.count {
                    let n = run.measured.fetch_add(1, Ordering::Relaxed) + 1;
                    if n > count {
                        break;
                    }
                    if n == count {
                        let _ = run.stop.send(true);
                    }
                }
                // Only what is counted: an action past --count is not.
                out.requests += sent;
                let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                out.latencies.entry(action).or_default().0.push(us);
            }
            Err(bad) => {
                if measured {
                    out.requests += sent;
                }
                run.progress.errors.fetch_add(1, Ordering::Relaxed);
                let broken = bad.broken;
                out.errors.add(bad);
                if broken && !run.fresh {
                    // Not a tight loop against a server that is down.
                    tokio::select! {
                        _ = stop.changed() => break,
                        _ = tokio::time::sleep(Duration::from_millis(50)) => {}
                    }
                }
            }
        }
    }
    out
}

/// Creates the run's pool of named keys over up to 32 connections, with
/// progress; then fetches the first one from every server (which must share
/// one store).
async fn make_pool(args: &KmipArgs, target: &Arc<Target>, keys: u32) -> Result<Pool, Failure> {
    let run_id = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default()
            .as_micros()
    );
    let progress = Arc::new(Progress::default());
    let (done_tx, done_rx) = watch::channel(false);
    let shower = (!args.quiet && keys > 1000).then(|| {
        let p = progress.clone();
        tokio::spawn(async move { p.show("keys created", Some(u64::from(keys)), done_rx).await })
    });
    let lanes = keys.min(32).min(args.connections.max(1));
    let mut tasks = tokio::task::JoinSet::new();
    for lane in 0..lanes {
        let target = target.clone();
        let progress = progress.clone();
        let run_id = run_id.clone();
        tasks.spawn(async move {
            let server = lane as usize % target.addrs.len();
            let mut s = Session::open(&target, server, false).await?;
            let mut made = Vec::new();
            for i in (lane..keys).step_by(lanes as usize) {
                let name = format!("skms-bench-{run_id}-{i}");
                let uid = workload::create_key(&mut s, &target, Some(&name)).await?;
                made.push((i, uid, name));
                progress.actions.fetch_add(1, Ordering::Relaxed);
            }
            s.close().await;
            Ok::<_, Bad>(made)
        });
    }
    let mut all = Vec::with_capacity(keys as usize);
    while let Some(r) = tasks.join_next().await {
        let made = r
            .map_err(|e| Failure::Run(format!("creating the keys: {e}")))?
            .map_err(|b| Failure::Run(format!("creating the keys: {}: {}", b.kind, b.detail)))?;
        all.extend(made);
    }
    let _ = done_tx.send(true);
    if let Some(s) = shower {
        let _ = s.await;
    }
    all.sort_by_key(|(i, _, _)| *i);
    let pool = Pool {
        keys: all.into_iter().map(|(_, uid, name)| (uid, name)).collect(),
    };
    let uid = &pool.keys[0].0;
    for server in 0..target.addrs.len() {
        let mut s = Session::open(target, server, false)
            .await
            .map_err(|b| Failure::Run(format!("{}: {}", b.kind, b.detail)))?;
        workload::get_key(&mut s, target, uid).await.map_err(|b| {
            Failure::Run(format!(
                "first Get of {uid} on {}: {}: {}",
                target.addrs[server], b.kind, b.detail
            ))
        })?;
        s.close().await;
    }
    Ok(pool)
}

/// Resolves on Ctrl-C (SIGINT) or SIGTERM.
async fn interrupted() {
    skms_server::shutdown_signal().await
}

async fn bench(args: &KmipArgs, target: Target) -> Result<Report, Failure> {
    let target = Arc::new(target);
    let setup_started = Instant::now();
    let pool = if args.workload.needs_pool() {
        let keys = if args.workload == Workload::BootStorm {
            1
        } else {
            args.keys
        };
        Some(Arc::new(make_pool(args, &target, keys).await?))
    } else {
        None
    };
    if args.workload == Workload::BootStorm {
        let pool = pool.expect("boot-storm has its key");
        let mut report = boot_storm(args, &target, &pool.keys[0].0).await;
        report.setup_secs = setup_started.elapsed().as_secs_f64();
        return Ok(report);
    }
    if args.workload == Workload::Idle {
        let mut report = idle(args, &target).await?;
        report.setup_secs = setup_started.elapsed().as_secs_f64();
        return Ok(report);
    }
    let fresh = args.new_connection_per_action;

    // Persistent connections open before the clock starts: connection i to
    // server i mod n.
    let servers = target.addrs.len();
    let mut per_server = vec![ServerTally::default(); servers];
    let mut sessions: Vec<Option<Session>> = Vec::new();
    for i in 0..args.connections as usize {
        per_server[i % servers].connections += 1;
    }
    if !fresh {
        let mut opening = tokio::task::JoinSet::new();
        for i in 0..args.connections as usize {
            let target = target.clone();
            opening.spawn(async move { (i, Session::open(&target, i % servers, false).await) });
        }
        sessions.resize_with(args.connections as usize, || None);
        while let Some(r) = opening.join_next().await {
            let (i, s) = r.map_err(|e| Failure::Run(format!("connecting: {e}")))?;
            let s = s.map_err(|b| Failure::Run(format!("{}: {}", b.kind, b.detail)))?;
            sessions[i] = Some(s);
        }
    } else {
        sessions.resize_with(args.connections as usize, || None);
    }
    let setup_secs = setup_started.elapsed().as_secs_f64();

    let (stop, stop_rx) = watch::channel(false);
    let start = Instant::now();
    let run = Arc::new(Run {
        target,
        plan: Plan::new(args.workload, &args.mix.0),
        pool,
        fresh,
        measure_from: start + args.warmup,
        count: args.count,
        measured: AtomicU64::new(0),
        stop,
        progress: Progress::default(),
    });
    let mut workers = tokio::task::JoinSet::new();
    for (i, s) in sessions.into_iter().enumerate() {
        workers.spawn(worker(run.clone(), i, s));
    }
    let shower = (!args.quiet).then(|| {
        let run = run.clone();
        let rx = stop_rx.clone();
        tokio::spawn(async move { run.progress.show("actions", None, rx).await })
    });
    let mut finished = stop_rx.clone();
    let deadline = args
        .count
        .is_none()
        .then(|| args.warmup + args.duration.unwrap_or(Duration::from_secs(10)));
    let interrupted = tokio::select! {
        _ = async { match deadline {
            Some(d) => tokio::time::sleep(d).await,
            None => { let _ = finished.wait_for(|s| *s).await; }
        } } => false,
        _ = interrupted() => true,
    };
    let stopped = Instant::now();
    let _ = run.stop.send(true);

    let mut report = Report {
        measured: stopped.saturating_duration_since(run.measure_from),
        interrupted,
        per_server,
        setup_secs,
        ..Report::default()
    };
    while let Some(r) = workers.join_next().await {
        match r {
            Ok(out) => {
                let tally = &mut report.per_server[out.server];
                tally.actions += out
                    .latencies
                    .values()
                    .map(|l| l.0.len() as u64)
                    .sum::<u64>();
                tally.errors += out.errors.total() + out.tolerated.total();
                for (action, l) in out.latencies {
                    report.by_action.entry(action).or_default().0.extend(l.0);
                }
                report.requests += out.requests;
                report.errors.merge(out.errors);
                report.tolerated.merge(out.tolerated);
                report.reconnects += out.reconnects;
                report.handshakes.add(out.handshakes);
            }
            Err(e) => report
                .errors
                .add(Bad::new("a connection task failed", e.to_string())),
        }
    }
    if let Some(s) = shower {
        let _ = s.await;
    }
    report.finish();
    Ok(report)
}

/// `--connections` connections opened (at most 256 handshakes at a time),
/// each with Discover Versions, held without traffic for the duration, then
/// each asked Discover Versions again (the latency measured) and closed.
async fn idle(args: &KmipArgs, target: &Arc<Target>) -> Result<Report, Failure> {
    let servers = target.addrs.len();
    let progress = Arc::new(Progress::default());
    let (done_tx, done_rx) = watch::channel(false);
    let shower = (!args.quiet).then(|| {
        let p = progress.clone();
        let total = u64::from(args.connections);
        tokio::spawn(async move { p.show("connections open", Some(total), done_rx).await })
    });
    let handshakes = Arc::new(tokio::sync::Semaphore::new(256));
    let mut opening = tokio::task::JoinSet::new();
    for i in 0..args.connections as usize {
        let (target, handshakes, progress) = (target.clone(), handshakes.clone(), progress.clone());
        opening.spawn(async move {
            let _permit = handshakes.acquire_owned().await;
            let s = Session::open(&target, i % servers, true).await;
            if s.is_ok() {
                progress.actions.fetch_add(1, Ordering::Relaxed);
            }
            (i % servers, s)
        });
    }
    let mut report = Report {
        per_server: vec![ServerTally::default(); servers],
        ..Report::default()
    };
    let mut open = Vec::new();
    while let Some(r) = opening.join_next().await {
        let (server, s) = r.map_err(|e| Failure::Run(format!("connecting: {e}")))?;
        report.per_server[server].connections += 1;
        match s {
            Ok(s) => open.push((server, s)),
            Err(bad) => {
                report.per_server[server].errors += 1;
                report.errors.add(bad);
            }
        }
    }
    let _ = done_tx.send(true);
    if let Some(s) = shower {
        let _ = s.await;
    }
    let hold = args.duration.unwrap_or(Duration::from_secs(10));
    if !args.quiet {
        eprintln!(
            "holding {} connections for {:.1} s",
            open.len(),
            hold.as_secs_f64()
        );
    }
    report.interrupted = tokio::select! {
        _ = tokio::time::sleep(hold) => false,
        _ = interrupted() => true,
    };
    report.measured = hold;
    let mut asking = tokio::task::JoinSet::new();
    for (server, mut s) in open {
        let target = target.clone();
        asking.spawn(async move {
            let started = Instant::now();
            let mut cursor = Cursor::default();
            let r = workload::run(
                Action::Discover,
                &mut s,
                &target,
                &None,
                0,
                &mut cursor,
                &mut Errors::default(),
            )
            .await;
            let took = started.elapsed();
            s.close().await;
            (server, r, took)
        });
    }
    while let Some(r) = asking.join_next().await {
        let (server, r, took) = r.map_err(|e| Failure::Run(format!("asking: {e}")))?;
        report.requests += 1;
        report.tally(server, Action::Discover, r, took);
    }
    report.finish();
    Ok(report)
}

/// `--hosts` connections opened at the same instant, each: Discover
/// Versions, Get of `uid`, close. A host's latency runs from that instant to
/// its key; the measured time is when the last host had its key.
async fn boot_storm(args: &KmipArgs, target: &Arc<Target>, uid: &str) -> Report {
    let servers = target.addrs.len();
    let mut per_server = vec![ServerTally::default(); servers];
    let (go_tx, go_rx) = watch::channel(None::<Instant>);
    let progress = Arc::new(Progress::default());
    let mut hosts = tokio::task::JoinSet::new();
    for i in 0..args.hosts as usize {
        let server = i % servers;
        per_server[server].connections += 1;
        let (target, mut go, uid, progress) = (
            target.clone(),
            go_rx.clone(),
            uid.to_string(),
            progress.clone(),
        );
        hosts.spawn(async move {
            let Ok(start) = go.wait_for(|g| g.is_some()).await.map(|g| g.expect("set")) else {
                return (server, 0, Err(Bad::new("not started", "")), Duration::ZERO);
            };
            let result = async {
                let mut s = Session::open(&target, server, true).await?;
                workload::get_key(&mut s, &target, &uid).await?;
                let sent = s.requests;
                s.close().await;
                Ok::<_, Bad>(sent)
            }
            .await;
            let took = start.elapsed();
            match &result {
                Ok(_) => progress.actions.fetch_add(1, Ordering::Relaxed),
                Err(_) => progress.errors.fetch_add(1, Ordering::Relaxed),
            };
            let (sent, result) = match result {
                Ok(n) => (n, Ok(())),
                Err(b) => (0, Err(b)),
            };
            (server, sent, result, took)
        });
    }
    // Every host task is waiting: go.
    tokio::task::yield_now().await;
    let (done_tx, done_rx) = watch::channel(false);
    let shower = (!args.quiet).then(|| {
        let p = progress.clone();
        let total = u64::from(args.hosts);
        tokio::spawn(async move { p.show("hosts with their key", Some(total), done_rx).await })
    });
    let _ = go_tx.send(Some(Instant::now()));
    let mut report = Report {
        per_server,
        ..Report::default()
    };
    let mut last = Duration::ZERO;
    while let Some(r) = hosts.join_next().await {
        match r {
            Ok((server, sent, result, took)) => {
                report.requests += sent;
                if result.is_ok() {
                    last = last.max(took);
                }
                report.tally(server, Action::Get, result, took);
            }
            Err(e) => report
                .errors
                .add(Bad::new("a host task failed", e.to_string())),
        }
    }
    let _ = done_tx.send(true);
    if let Some(s) = shower {
        let _ = s.await;
    }
    report.measured = last;
    report.finish();
    report
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
}
