//! `skms bench kmip` against a real `skms serve` on loopback: Get and Create
//! runs report operations and no errors; a non-loopback address is refused;
//! with two addresses (two nodes of one PostgreSQL database) both nodes serve
//! the load.

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
        assert!(report.contains(&format!("operation:    {op}")), "{report}");
        assert_eq!(figure(&report, "connections:"), 4.0, "{report}");
        assert_eq!(figure(&report, "servers:"), 1.0, "{report}");
        assert!(
            report.contains(&format!("  {addr}: 4 connections, ")),
            "{report}"
        );
        let ops = figure(&report, "total ops:");
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
                .and_then(|p| p.strip_suffix(" ops"))
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
