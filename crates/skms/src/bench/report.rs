//! What `skms bench kmip` prints: throughput, latency percentiles (nearest
//! rank, per action), failures by kind, per server; as text or as one JSON
//! object.

use super::session::{Bad, Errors};
use super::workload::Action;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::net::SocketAddr;
use std::time::Duration;

/// What the connections to one server did.
#[derive(Clone, Copy, Default)]
pub struct ServerTally {
    pub connections: u32,
    pub actions: u64,
    pub errors: u64,
}

/// Latencies of one kind of action, in microseconds (sorted by [`Report::finish`]).
#[derive(Default)]
pub struct Latencies(pub Vec<u64>);

impl Latencies {
    /// The latency at quantile `q` (nearest rank), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        let n = self.0.len();
        if n == 0 {
            return 0.0;
        }
        let rank = ((q * n as f64).ceil() as usize).clamp(1, n);
        self.0[rank - 1] as f64 / 1000.0
    }
}

/// The quantiles printed, with their names.
const QUANTILES: [(&str, f64); 5] = [
    ("p50", 0.50),
    ("p90", 0.90),
    ("p99", 0.99),
    ("p99.9", 0.999),
    ("max", 1.0),
];

/// How the run was set up, for the report's header.
pub struct Setup {
    pub workload: &'static str,
    pub addrs: Vec<SocketAddr>,
    pub version: String,
    pub connections: String,
    pub auth: String,
    pub warmup: Duration,
}

/// The result of a run.
#[derive(Default)]
pub struct Report {
    /// Measured time (warm-up excluded; shorter when interrupted).
    pub measured: Duration,
    /// Latency of every measured successful action, by kind.
    pub by_action: BTreeMap<Action, Latencies>,
    /// Every measured latency, all kinds together.
    pub all: Latencies,
    /// Requests sent in the measured time (Discover Versions included).
    pub requests: u64,
    /// Failures (warm-up included).
    pub errors: Errors,
    /// Failures vCenter carries on after (they do not fail the action).
    pub tolerated: Errors,
    /// Connections reopened after a transport failure.
    pub reconnects: u64,
    /// TLS handshakes in the measured time of the loop workloads.
    pub handshakes: super::Handshakes,
    /// Ctrl-C stopped the run early.
    pub interrupted: bool,
    /// Per server (as the addresses given).
    pub per_server: Vec<ServerTally>,
    /// Set-up time before the measured run (creating the key pool), in seconds.
    pub setup_secs: f64,
}

impl Report {
    /// Sorts the latencies (once every connection's are in).
    pub fn finish(&mut self) {
        self.all.0 = self
            .by_action
            .values()
            .flat_map(|l| l.0.iter().copied())
            .collect();
        self.all.0.sort_unstable();
        for l in self.by_action.values_mut() {
            l.0.sort_unstable();
        }
    }

    /// Counts one finished action of `server` that took `took`: its latency
    /// when it succeeded, its failure otherwise.
    pub fn tally(
        &mut self,
        server: usize,
        action: Action,
        result: Result<(), Bad>,
        took: Duration,
    ) {
        match result {
            Ok(()) => {
                self.per_server[server].actions += 1;
                let us = u64::try_from(took.as_micros()).unwrap_or(u64::MAX);
                self.by_action.entry(action).or_default().0.push(us);
            }
            Err(bad) => {
                self.per_server[server].errors += 1;
                self.errors.add(bad);
            }
        }
    }

    /// Successful measured actions.
    pub fn actions(&self) -> u64 {
        self.all.0.len() as u64
    }

    fn rate(&self, n: u64) -> f64 {
        let secs = self.measured.as_secs_f64();
        if secs > 0.0 {
            n as f64 / secs
        } else {
            0.0
        }
    }

    /// Failures that count against the run (tolerated ones included).
    pub fn failures(&self) -> u64 {
        self.errors.total() + self.tolerated.total()
    }

    /// The report for a person.
    pub fn text(&self, setup: &Setup) -> String {
        let mut s = String::new();
        let list: Vec<String> = setup.addrs.iter().map(|a| a.to_string()).collect();
        let _ = writeln!(
            s,
            "skms bench kmip: {} against {} (KMIP {}, {})",
            setup.workload,
            list.join(", "),
            setup.version,
            setup.auth
        );
        let _ = writeln!(s, "workload:     {}", setup.workload);
        let _ = writeln!(
            s,
            "servers:      {}{}",
            setup.addrs.len(),
            if setup.addrs.len() > 1 {
                " (connections round-robin)"
            } else {
                ""
            }
        );
        for (addr, t) in setup.addrs.iter().zip(&self.per_server) {
            let _ = writeln!(
                s,
                "  {addr}: {} connections, {} actions, {} errors",
                t.connections, t.actions, t.errors
            );
        }
        let _ = writeln!(s, "connections:  {}", setup.connections);
        if self.setup_secs > 0.0 {
            let _ = writeln!(s, "set-up:       {:.1} s", self.setup_secs);
        }
        let _ = writeln!(s, "warm-up:      {:.1} s", setup.warmup.as_secs_f64());
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
        let _ = writeln!(s, "actions:      {}", self.actions());
        let _ = writeln!(s, "actions/s:    {:.1}", self.rate(self.actions()));
        let _ = writeln!(s, "requests:     {}", self.requests);
        // "ops/s" is the action rate, as in the single-request workloads
        // where an action is one request; requests/s counts every message.
        let _ = writeln!(s, "ops/s:        {:.1}", self.rate(self.actions()));
        let _ = writeln!(s, "requests/s:   {:.1}", self.rate(self.requests));
        for (name, q) in QUANTILES {
            let _ = writeln!(
                s,
                "latency {name}:{:pad$}{:.3} ms",
                "",
                self.all.quantile_ms(q),
                pad = 7 - name.len()
            );
        }
        if self.by_action.len() > 1 {
            let _ = writeln!(s, "by action:");
            for (action, l) in &self.by_action {
                let _ = writeln!(
                    s,
                    "  {:<22} {:>9} actions  p50 {:.3} ms  p99 {:.3} ms  max {:.3} ms",
                    action.name(),
                    l.0.len(),
                    l.quantile_ms(0.5),
                    l.quantile_ms(0.99),
                    l.quantile_ms(1.0)
                );
            }
        }
        let _ = writeln!(s, "errors:       {}", self.failures());
        for (kind, (n, detail)) in self.errors.0.iter().chain(&self.tolerated.0) {
            let _ = writeln!(s, "  {n} x {kind}: {detail}");
        }
        if self.reconnects > 0 {
            let _ = writeln!(s, "reconnects:   {}", self.reconnects);
        }
        if self.handshakes.total > 0 {
            let _ = writeln!(
                s,
                "handshakes:   {} ({} resumed)",
                self.handshakes.total, self.handshakes.resumed
            );
        }
        s
    }

    /// The report as one JSON object.
    pub fn json(&self, setup: &Setup) -> serde_json::Value {
        let latency = |l: &Latencies| {
            serde_json::Value::Object(
                QUANTILES
                    .iter()
                    .map(|(name, q)| (name.replace('.', "_"), l.quantile_ms(*q).into()))
                    .collect(),
            )
        };
        let errors: serde_json::Map<String, serde_json::Value> = self
            .errors
            .0
            .iter()
            .chain(&self.tolerated.0)
            .map(|(kind, (n, _))| (kind.clone(), (*n).into()))
            .collect();
        serde_json::json!({
            "workload": setup.workload,
            "servers": setup.addrs.iter().zip(&self.per_server).map(|(a, t)| serde_json::json!({
                "addr": a.to_string(),
                "connections": t.connections,
                "actions": t.actions,
                "errors": t.errors,
            })).collect::<Vec<_>>(),
            "kmip_version": setup.version,
            "connections": setup.connections,
            "setup_s": self.setup_secs,
            "warmup_s": setup.warmup.as_secs_f64(),
            "duration_s": self.measured.as_secs_f64(),
            "interrupted": self.interrupted,
            "actions": self.actions(),
            "ops": self.actions(),
            "requests": self.requests,
            "actions_per_s": self.rate(self.actions()),
            "ops_per_s": self.rate(self.actions()),
            "requests_per_s": self.rate(self.requests),
            "latency_ms": latency(&self.all),
            "by_action": self.by_action.iter().map(|(a, l)| (a.name().to_string(), serde_json::json!({
                "actions": l.0.len(),
                "latency_ms": latency(l),
            }))).collect::<serde_json::Map<_, _>>(),
            "errors": errors,
            "error_total": self.failures(),
            "reconnects": self.reconnects,
            "handshakes": self.handshakes.total,
            "handshakes_resumed": self.handshakes.resumed,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let l = Latencies((1..=1000).map(|i| i * 1000).collect());
        assert_eq!(l.quantile_ms(0.5), 500.0);
        assert_eq!(l.quantile_ms(0.99), 990.0);
        assert_eq!(l.quantile_ms(0.999), 999.0);
        assert_eq!(l.quantile_ms(1.0), 1000.0);
        assert_eq!(Latencies::default().quantile_ms(0.99), 0.0);
    }

    #[test]
    fn json_has_the_figures_and_every_error() {
        let mut r = Report {
            measured: Duration::from_secs(2),
            requests: 30,
            ..Report::default()
        };
        r.by_action
            .insert(Action::Get, Latencies(vec![3000, 1000, 2000]));
        r.by_action.insert(Action::Create, Latencies(vec![4000]));
        r.errors
            .add(super::super::session::Bad::new("Get: boom", "x"));
        r.finish();
        let setup = Setup {
            workload: "mix",
            addrs: vec!["127.0.0.1:5696".parse().unwrap()],
            version: "1.1".into(),
            connections: "4".into(),
            auth: "x".into(),
            warmup: Duration::ZERO,
        };
        let j = r.json(&setup);
        assert_eq!(j["actions"], 4);
        assert_eq!(j["actions_per_s"], 2.0);
        assert_eq!(j["requests_per_s"], 15.0);
        assert_eq!(j["latency_ms"]["max"], 4.0);
        assert_eq!(j["latency_ms"]["p50"], 2.0);
        assert_eq!(j["by_action"]["get"]["actions"], 3);
        assert_eq!(j["errors"]["Get: boom"], 1);
        assert_eq!(j["error_total"], 1);
        let text = r.text(&setup);
        assert!(text.contains("\nops/s:        2.0\n"), "{text}");
        assert!(text.contains("latency p99.9:"), "{text}");
        assert!(text.contains("1 x Get: boom: x"), "{text}");
    }
}
