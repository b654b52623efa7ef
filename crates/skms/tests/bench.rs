//! `skms bench kmip` against a real `skms serve` on loopback: Get and Create
//! runs report operations and no errors; every workload (locate,
//! get-attributes, vcenter with a connection per action, mix, boot-storm) by
//! client certificate, counted and as JSON, with the server's own counters
//! agreeing; a non-loopback address is refused; with two addresses (two
//! nodes of one PostgreSQL database) both nodes serve the load.

mod common;
#[path = "../../store/tests/common/pg.rs"]
mod pg;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The first number on the report line starting with `label`.
fn figure(report: &str, label: &str) -> f64 {
    let line = report
        .lines()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no `{label}` line in {report}"));
    line[label.len()..]
        .split_whitespace()
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no number on {line:?}"))
}

fn bench(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_skms"))
        .args(["bench", "kmip"])
        .args(args)
        .env_remove("SKMS_CONFIG")
        .output()
        .unwrap()
}

#[test]
fn get_and_create_runs_report_operations_and_no_errors() {
    let dir = common::temp_dir("bench");
    let server = common::serve(&dir);
    let common::Tenant {
        username, password, ..
    } = server.tenant("Acme", "bench");
    let addr = format!("127.0.0.1:{}", server.port);
    let ca = dir.join("ca.crt");
    let ca = ca.to_str().unwrap();

    for (op, extra) in [
        ("get", &[][..]),
        ("create", &[][..]),
        ("get", &["--credential-once", "--version", "2.1"][..]),
    ] {
        let mut args = vec![
            "--addr",
            &addr,
            "--ca",
            ca,
            "--username",
            &username,
            "--password",
            &password,
            "--op",
            op,
            "--connections",
            "4",
            "--duration",
            "2",
            "--warmup",
            "0",
        ];
        args.extend_from_slice(extra);
        let started = Instant::now();
        let out = bench(&args);
        let report = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{op} {extra:?}: {report}{stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bounded: {:?}",
            started.elapsed()
        );
        eprintln!("{report}");
        assert!(report.contains(&format!("workload:     {op}")), "{report}");
        assert_eq!(figure(&report, "connections:"), 4.0, "{report}");
        assert_eq!(figure(&report, "servers:"), 1.0, "{report}");
        assert!(
            report.contains(&format!("  {addr}: 4 connections, ")),
            "{report}"
        );
        let ops = figure(&report, "actions:");
        assert!(ops > 0.0, "{report}");
        assert!(figure(&report, "ops/s:") > 0.0, "{report}");
        assert_eq!(figure(&report, "errors:"), 0.0, "{report}");
        let duration = figure(&report, "duration:");
        assert!((1.9..5.0).contains(&duration), "{report}");
        let p50 = figure(&report, "latency p50:");
        let p90 = figure(&report, "latency p90:");
        let p99 = figure(&report, "latency p99:");
        let max = figure(&report, "latency max:");
        assert!(
            0.0 < p50 && p50 <= p90 && p90 <= p99 && p99 <= max,
            "{report}"
        );
    }

    // A wrong password: every request fails, the report says so, exit status 1.
    let out = bench(&[
        "--addr",
        &addr,
        "--ca",
        ca,
        "--username",
        &username,
        "--password",
        "wrong",
        "--op",
        "create",
        "--connections",
        "1",
        "--duration",
        "1",
        "--warmup",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

/// Runs `skms bench kmip --json` with `args`; the report, after checking
/// that the run succeeded.
fn bench_json(args: &[&str]) -> serde_json::Value {
    let started = Instant::now();
    let out = bench(&[args, &["--json", "--quiet"]].concat());
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stdout}{stderr}");
    assert!(stderr.is_empty(), "--quiet: {stderr}");
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "bounded: {:?}",
        started.elapsed()
    );
    let report: serde_json::Value = serde_json::from_str(&stdout)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON object ({e}): {stdout}"));
    eprintln!("{report}");
    assert_eq!(report["error_total"], 0, "{report}");
    let l = &report["latency_ms"];
    let q = |k: &str| l[k].as_f64().unwrap_or_else(|| panic!("{k} in {report}"));
    assert!(
        0.0 < q("p50")
            && q("p50") <= q("p90")
            && q("p90") <= q("p99")
            && q("p99") <= q("p99_9")
            && q("p99_9") <= q("max"),
        "{report}"
    );
    report
}

#[test]
fn every_workload_by_client_certificate_counted_and_as_json() {
    let dir = common::temp_dir("bench-workloads");
    let _scratch = Scratch(vec![dir.clone()]);
    let server = common::serve(&dir);
    let tenant = server.tenant("Acme", "vcenter");
    // A certificate and key issued to the app (which then authenticates by
    // certificate only, as vCenter's apps do).
    let files = dir.join("client");
    std::fs::create_dir_all(&files).unwrap();
    let (cert, key) = (files.join("app.crt"), files.join("app.key"));
    let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
    server.admin(
        &tenant.admin,
        &[
            "app",
            "issue-cert",
            "vcenter",
            "--out-cert",
            cert,
            "--out-key",
            key,
        ],
    );
    let addr = format!("127.0.0.1:{}", server.port);
    let ca = dir.join("ca.crt");
    let base = [
        "--addr",
        &addr,
        "--ca",
        ca.to_str().unwrap(),
        "--cert",
        cert,
        "--key",
        key,
        "--connections",
        "4",
        "--warmup",
        "0",
    ];
    fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
        [base, extra].concat()
    }

    // Locate by Name among 50 keys, exactly 200 actions.
    let r = bench_json(&with(
        &base,
        &["--workload", "locate", "--keys", "50", "--count", "200"],
    ));
    assert_eq!(
        (r["workload"].as_str(), r["actions"].as_u64()),
        (Some("locate"), Some(200)),
        "{r}"
    );
    assert_eq!(r["requests"], 200, "{r}");
    assert!(
        r["setup_s"].as_f64().unwrap() > 0.0,
        "the 50 keys were made first: {r}"
    );

    let r = bench_json(&with(
        &base,
        &[
            "--workload",
            "get-attributes",
            "--keys",
            "10",
            "--duration",
            "1",
        ],
    ));
    assert!(r["actions"].as_u64().unwrap() > 0, "{r}");

    // vCenter's sequence, a new connection per action: every connection
    // starts with Discover Versions (create 1+1 requests, tag 1+4, use 1+3).
    let before = |op: &str| {
        common::metric(
            &server,
            &format!("skms_kmip_operations_total{{operation=\"{op}\",result=\"success\"}}"),
        )
    };
    let (adds, activates, discovers) = (
        before("AddAttribute"),
        before("Activate"),
        before("DiscoverVersions"),
    );
    let r = bench_json(&with(
        &base,
        &[
            "--workload",
            "vcenter",
            "--new-connection-per-action",
            "--count",
            "60",
        ],
    ));
    assert_eq!(r["actions"], 60, "{r}");
    let by = &r["by_action"];
    for a in ["vcenter create", "vcenter tag", "vcenter get+activate"] {
        assert!(by[a]["actions"].as_u64().unwrap() >= 15, "{a}: {r}");
    }
    let requests = r["requests"].as_u64().unwrap();
    assert!((60 * 2..=60 * 5).contains(&requests), "{r}");
    assert!(
        before("AddAttribute") >= adds + 3 * 15,
        "three Add Attributes per tag action"
    );
    assert!(before("Activate") >= activates + 15);
    assert!(
        before("DiscoverVersions") >= discovers + 60,
        "one Discover Versions per connection"
    );
    // Most of those connections resumed a TLS session (the first of each
    // connection slot cannot); none does with --no-resumption.
    let handshakes = r["handshakes"].as_u64().unwrap();
    assert!(handshakes >= 60, "{r}");
    assert!(
        r["handshakes_resumed"].as_u64().unwrap() * 2 >= handshakes,
        "{r}"
    );
    let r = bench_json(&with(
        &base,
        &[
            "--workload",
            "get",
            "--keys",
            "5",
            "--new-connection-per-action",
            "--no-resumption",
            "--count",
            "20",
        ],
    ));
    assert!(r["handshakes"].as_u64().unwrap() >= 20, "{r}");
    assert_eq!(r["handshakes_resumed"], 0, "{r}");

    let r = bench_json(&with(
        &base,
        &[
            "--workload",
            "mix",
            "--keys",
            "20",
            "--count",
            "300",
            "--mix",
            "get=6,create=2,locate=1,get-attributes=1",
        ],
    ));
    assert_eq!(r["actions"], 300, "{r}");
    for a in ["get", "create", "locate", "get-attributes"] {
        assert!(
            r["by_action"][a]["actions"].as_u64().unwrap() > 0,
            "{a}: {r}"
        );
    }

    // 100 hosts at once, each a new connection with Discover Versions then Get.
    let r = bench_json(&with(
        &base,
        &["--workload", "boot-storm", "--hosts", "100"],
    ));
    assert_eq!(
        (r["actions"].as_u64(), r["requests"].as_u64()),
        (Some(100), Some(200)),
        "{r}"
    );
    assert_eq!(r["servers"][0]["connections"], 100, "{r}");

    // 30 connections held without traffic, each still answering after.
    let r = bench_json(&with(
        &base,
        &[
            "--workload",
            "idle",
            "--connections",
            "30",
            "--duration",
            "0.5",
        ],
    ));
    assert_eq!(
        (r["actions"].as_u64(), r["requests"].as_u64()),
        (Some(30), Some(30)),
        "{r}"
    );

    // Text, with progress on standard error.
    let out = bench(&with(&base, &["--workload", "get", "--duration", "1.5"]));
    let report = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{report}{stderr}");
    assert!(stderr.contains("progress:"), "{stderr}");
    assert!(
        report.contains("(KMIP 1.1, client certificate)"),
        "{report}"
    );
    assert!(figure(&report, "latency p99.9:") > 0.0, "{report}");

    // Usage errors: no authentication at all, half a credential, a bad mix,
    // a count and a duration.
    let to = ["--addr", &addr, "--ca", "x"];
    let by_cert = ["--cert", cert, "--key", key];
    for extra in [
        vec!["--workload", "get"],
        vec!["--username", "u", "--workload", "get"],
        vec!["--cert", cert, "--workload", "get"],
        [&by_cert[..], &["--workload", "mix", "--mix", "destroy=1"]].concat(),
        [
            &by_cert[..],
            &["--workload", "get", "--count", "5", "--duration", "1"],
        ]
        .concat(),
    ] {
        let args = with(&to, &extra);
        let out = bench(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {out:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
    drop(server);
}

#[test]
fn a_non_loopback_address_is_refused_without_connecting() {
    let started = Instant::now();
    // The CA file does not even exist: the address is refused before anything else.
    let out = bench(&[
        "--addr",
        "10.0.0.1:5696",
        "--ca",
        "/nonexistent/ca.crt",
        "--username",
        "u",
        "--password",
        "p",
        "--op",
        "get",
        "--connections",
        "4",
        "--duration",
        "2",
        "--warmup",
        "0",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("not a loopback address"), "{stderr}");
    assert!(stderr.contains("--allow-remote"), "{stderr}");
    assert!(out.stdout.is_empty(), "no report");
    assert!(started.elapsed() < Duration::from_secs(5));
}

/// Directories removed when dropped, even when the test fails.
struct Scratch(Vec<std::path::PathBuf>);

impl Drop for Scratch {
    fn drop(&mut self) {
        for d in &self.0 {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// The value of the `skms_kmip_operations_total` sample of `operation` with
/// result success in `server`'s `/metrics` (0 when absent).
fn successes(server: &common::Server, operation: &str) -> u64 {
    common::metric(
        server,
        &format!("skms_kmip_operations_total{{operation=\"{operation}\",result=\"success\"}}"),
    )
}

#[test]
fn connections_are_spread_over_several_servers() {
    let a_dir = common::temp_dir("bench-node-a");
    let b_dir = common::temp_dir("bench-node-b");
    let _scratch = Scratch(vec![a_dir.clone(), b_dir.clone()]);
    let url = pg::fresh_database_url();
    let a = common::serve_with_args(&a_dir, &["--storage-url", &url], None);
    // One root of trust: B gets A's root key before its first start.
    std::fs::create_dir_all(&b_dir).unwrap();
    std::fs::copy(a_dir.join("root.key"), b_dir.join("root.key")).unwrap();
    let b = common::serve_with_args(&b_dir, &["--storage-url", &url], None);
    let common::Tenant {
        username, password, ..
    } = a.tenant("Acme", "bench");
    let (a_addr, b_addr) = (
        format!("127.0.0.1:{}", a.port),
        format!("127.0.0.1:{}", b.port),
    );
    let both = format!("{a_addr},{b_addr}");
    let ca = a_dir.join("ca.crt");
    let ca = ca.to_str().unwrap();

    // Both spellings: a comma-separated list, and the flag repeated.
    for (op, operation, servers) in [
        ("get", "Get", &["--addr", &both][..]),
        (
            "create",
            "Create",
            &["--addr", &a_addr, "--server", &b_addr][..],
        ),
    ] {
        let before = (successes(&a, operation), successes(&b, operation));
        let mut args = servers.to_vec();
        args.extend_from_slice(&[
            "--ca",
            ca,
            "--username",
            &username,
            "--password",
            &password,
            "--op",
            op,
            "--connections",
            "4",
            "--duration",
            "1",
            "--warmup",
            "0",
        ]);
        let started = Instant::now();
        let out = bench(&args);
        let report = String::from_utf8_lossy(&out.stdout).to_string();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{op}: {report}{stderr}");
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "bounded: {:?}",
            started.elapsed()
        );
        eprintln!("{report}");
        assert!(
            report.contains(&format!("against {a_addr}, {b_addr} ")),
            "{report}"
        );
        assert_eq!(figure(&report, "servers:"), 2.0, "{report}");
        assert_eq!(figure(&report, "errors:"), 0.0, "{report}");
        // Two connections to each, and each did work.
        for addr in [&a_addr, &b_addr] {
            let line = report
                .lines()
                .find(|l| l.trim_start().starts_with(&format!("{addr}:")))
                .unwrap_or_else(|| panic!("no line for {addr} in {report}"));
            assert!(line.contains(": 2 connections, "), "{line}");
            let ops: u64 = line
                .split(", ")
                .nth(1)
                .and_then(|p| p.strip_suffix(" actions"))
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("no ops on {line:?}"));
            assert!(ops > 0, "{line}");
            assert!(line.ends_with(", 0 errors"), "{line}");
        }
        // The nodes say so too.
        let after = (successes(&a, operation), successes(&b, operation));
        assert!(after.0 > before.0, "{op} on A: {before:?} -> {after:?}");
        assert!(after.1 > before.1, "{op} on B: {before:?} -> {after:?}");
    }

    // Servers that do not share a store: the key to Get is not on the other
    // one, and the run says so before it starts (exit status 1).
    let c_dir = common::temp_dir("bench-node-c");
    let _scratch_c = Scratch(vec![c_dir.clone()]);
    let c = common::serve(&c_dir);
    let c_addr = format!("127.0.0.1:{}", c.port);
    let out = bench(&[
        "--addr",
        &format!("{a_addr},{c_addr}"),
        "--ca",
        ca,
        "--username",
        &username,
        "--password",
        &password,
        "--op",
        "get",
        "--connections",
        "2",
        "--duration",
        "1",
        "--warmup",
        "0",
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&c_addr), "{stderr}");
    assert!(out.stdout.is_empty(), "no report");
    drop((a, b, c));
}
