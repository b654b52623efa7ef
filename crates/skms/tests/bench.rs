//! `skms bench kmip` against a real `skms serve` on loopback: Get and Create
//! runs report operations and no errors; a non-loopback address is refused.

mod common;

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
