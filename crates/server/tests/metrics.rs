//! Metrics and readiness end to end: KMIP traffic over real TLS moves exactly
//! the counters and histograms it should, `render` is valid Prometheus text,
//! and readiness reports a broken database and a root that cannot unwrap.

use kmip::attributes::Attributes;
use kmip::enums::{ObjectType, ResultReason, ResultStatus};
use kmip::messages::RequestMessage;
use kmip::payloads::{CreateRequest, GetRequest, RequestPayload};
use skms_core::keys::{Key256, KeyError, RootOfTrust};
use skms_core::tenancy::Keyring;
use skms_server::kmip_listener::Shared;
use skms_server::metrics::{readiness, render};
use skms_test_support::requests::{aes_attributes, message};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

mod common;

use common::{assert_failed, connect, exchange, self_signed, with_password, Fixture};

/// One parsed exposition: sample (`name{labels}` as rendered) → value.
struct Exposition(HashMap<String, f64>);

impl Exposition {
    /// The value of `sample`, 0 when it is absent (a label set not seen yet).
    fn get(&self, sample: &str) -> f64 {
        self.0.get(sample).copied().unwrap_or(0.0)
    }
}

/// Parses the Prometheus text format (0.0.4) strictly enough to catch a
/// malformed exposition: every line is `# HELP`, `# TYPE` or
/// `name{label="value",…} value`; every sample belongs to a family with a
/// HELP and a TYPE given before it; a histogram's samples are `_bucket` (with
/// `le`), `_sum` and `_count`; no sample appears twice.
fn parse(text: &str) -> Exposition {
    fn is_name(s: &str) -> bool {
        let mut chars = s.chars();
        matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || c == ':')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
    }
    assert!(text.ends_with('\n'), "the exposition ends with a newline");
    let mut help = HashSet::new();
    let mut types: HashMap<String, String> = HashMap::new();
    let mut samples = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, doc) = rest.split_once(' ').expect("HELP name text");
            assert!(is_name(name) && !doc.is_empty(), "{line}");
            assert!(help.insert(name.to_string()), "second HELP: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name type");
            assert!(is_name(name), "{line}");
            assert!(
                ["counter", "gauge", "histogram", "summary", "untyped"].contains(&kind),
                "{line}"
            );
            assert!(help.contains(name), "TYPE before its HELP: {line}");
            assert!(
                types.insert(name.into(), kind.into()).is_none(),
                "second TYPE: {line}"
            );
            continue;
        }
        assert!(!line.starts_with('#'), "unexpected comment: {line}");
        let (series, value) = line.rsplit_once(' ').expect("sample: series value");
        let value: f64 = match value {
            "+Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            v => v.parse().unwrap_or_else(|_| panic!("bad value: {line}")),
        };
        let (name, labels) = match series.split_once('{') {
            None => (series, None),
            Some((n, l)) => (n, Some(l.strip_suffix('}').expect("labels end with }"))),
        };
        assert!(is_name(name), "{line}");
        let mut label_names = vec![];
        if let Some(mut l) = labels {
            while !l.is_empty() {
                let (key, rest) = l.split_once("=\"").expect("label=\"value\"");
                assert!(is_name(key), "{line}");
                // The value runs to the first quote not escaped by a backslash.
                let mut end = None;
                let mut escaped = false;
                for (i, c) in rest.char_indices() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => {
                            end = Some(i);
                            break;
                        }
                        _ => {}
                    }
                }
                let end = end.expect("closing quote");
                label_names.push(key.to_string());
                l = &rest[end + 1..];
                l = l.strip_prefix(',').unwrap_or(l);
            }
        }
        // Which family the sample belongs to, and whether its suffix fits the type.
        let family = if types.contains_key(name) {
            assert_ne!(types[name], "histogram", "bare histogram sample: {line}");
            name.to_string()
        } else {
            let (base, suffix) = ["_bucket", "_sum", "_count"]
                .iter()
                .find_map(|s| name.strip_suffix(s).map(|b| (b, *s)))
                .unwrap_or_else(|| panic!("sample of no declared family: {line}"));
            assert_eq!(
                types.get(base).map(String::as_str),
                Some("histogram"),
                "{line}"
            );
            assert_eq!(
                suffix == "_bucket",
                label_names.iter().any(|l| l == "le"),
                "le on buckets only: {line}"
            );
            base.to_string()
        };
        assert!(help.contains(&family), "no HELP for {family}");
        assert!(
            samples.insert(series.to_string(), value).is_none(),
            "duplicate sample: {line}"
        );
    }
    Exposition(samples)
}

/// The exposition of `f`'s server now.
fn scrape(f: &Fixture) -> Exposition {
    parse(&render(&f.server.metrics))
}

/// Waits (up to 5 s) until `sample` reaches `at_least` (the server counts
/// after the client already saw the outcome, e.g. a closed connection).
async fn wait_for(f: &Fixture, sample: &str, at_least: f64) -> Exposition {
    for _ in 0..100 {
        let m = scrape(f);
        if m.get(sample) >= at_least {
            return m;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "{sample} stayed below {at_least}:\n{}",
        render(&f.server.metrics)
    );
}

fn create_aes(f: &Fixture) -> RequestMessage {
    with_password(
        message(
            (1, 4),
            vec![RequestPayload::Create(Box::new(CreateRequest {
                object_type: ObjectType::SYMMETRIC_KEY,
                attributes: Attributes::new(aes_attributes(256)),
                protection_storage_masks: None,
            }))],
        ),
        &f.user(),
        &f.secret,
    )
}

fn get(id: &str, user: &str, password: &str) -> RequestMessage {
    with_password(
        message(
            (1, 4),
            vec![RequestPayload::Get(Box::new(GetRequest {
                unique_identifier: Some(id.into()),
                ..Default::default()
            }))],
        ),
        user,
        password,
    )
}

/// A root of trust that wraps but can no longer unwrap (a lost or replaced key).
struct BrokenRoot;

impl RootOfTrust for BrokenRoot {
    fn wrap(&self, _key: &Key256, _context: &[u8]) -> Result<Vec<u8>, KeyError> {
        Ok(vec![0; 60])
    }
    fn unwrap(&self, _wrapped: &[u8], _context: &[u8]) -> Result<Key256, KeyError> {
        Err(KeyError::Unseal)
    }
    fn describe(&self) -> String {
        "a root that cannot unwrap".into()
    }
}

#[tokio::test]
async fn kmip_traffic_moves_exactly_its_counters() {
    let f = common::start("metrics", Duration::from_secs(10)).await;
    let before = scrape(&f);
    assert_eq!(before.get("skms_kmip_connections_total"), 0.0);
    assert_eq!(before.get("skms_kmip_connections_open"), 0.0);

    let mut s = connect(&f, None).await;
    // A Create and a Get of an id that does not exist.
    let r = exchange(&mut s, &create_aes(&f).encode()).await;
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::SUCCESS,
        "{r:?}"
    );
    let missing = skms_core::ids::ObjectId::new().to_string();
    let r = exchange(&mut s, &get(&missing, &f.user(), &f.secret).encode()).await;
    assert_failed(&r.batch_items[0], ResultReason::ITEM_NOT_FOUND);
    let m = scrape(&f);
    assert_eq!(m.get("skms_kmip_connections_open"), 1.0);
    // A wrong password (last: it slows down this address).
    let r = exchange(&mut s, &get(&missing, &f.user(), "wrong").encode()).await;
    let refused = r.batch_items[0]
        .result_reason
        .and_then(|r| r.name())
        .expect("a named Result Reason");
    assert_ne!(refused, "ItemNotFound");
    drop(s);

    // A client certificate that no app pinned: served (as nobody), counted as a failure.
    let stranger = self_signed("stranger");
    let mut s = connect(&f, Some(&stranger)).await;
    let discover = message(
        (1, 1),
        vec![RequestPayload::DiscoverVersions(Box::default())],
    );
    let r = exchange(&mut s, &discover.encode()).await;
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::SUCCESS,
        "{r:?}"
    );
    drop(s);

    // Plain TCP garbage: a failed handshake, then the server closes.
    let mut tcp = TcpStream::connect(f.server.kmip_addr).await.unwrap();
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut sink = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut sink)).await;
    drop(tcp);

    let m = wait_for(
        &f,
        "skms_tls_handshake_failures_total{listener=\"kmip\"}",
        1.0,
    )
    .await;
    let op = |operation: &str, result: &str| {
        m.get(&format!(
            "skms_kmip_operations_total{{operation=\"{operation}\",result=\"{result}\"}}"
        ))
    };
    assert_eq!(op("Create", "success"), 1.0);
    assert_eq!(op("Get", "ItemNotFound"), 1.0);
    assert_eq!(op("Get", refused), 1.0);
    assert_eq!(op("Get", "success"), 0.0);
    assert_eq!(op("DiscoverVersions", "success"), 1.0);
    let total: f64 =
        m.0.iter()
            .filter(|(k, _)| k.starts_with("skms_kmip_operations_total{"))
            .map(|(_, v)| v)
            .sum();
    assert_eq!(total, 4.0, "four batch items in all");
    let duration_count = |operation: &str| {
        m.get(&format!(
            "skms_kmip_operation_duration_seconds_count{{operation=\"{operation}\"}}"
        ))
    };
    assert_eq!(duration_count("Create"), 1.0);
    assert_eq!(duration_count("Get"), 2.0);
    assert!(
        m.get("skms_kmip_operation_duration_seconds_sum{operation=\"Create\"}") > 0.0,
        "a Create takes time"
    );
    assert_eq!(
        m.get("skms_kmip_operation_duration_seconds_bucket{operation=\"Create\",le=\"+Inf\"}"),
        1.0
    );
    assert_eq!(
        m.get("skms_authentication_failures_total{interface=\"kmip\",method=\"password\"}"),
        1.0
    );
    assert_eq!(
        m.get("skms_authentication_failures_total{interface=\"kmip\",method=\"certificate\"}"),
        1.0
    );
    assert!(m.get("skms_tls_handshake_failures_total{listener=\"kmip\"}") >= 1.0);
    assert_eq!(m.get("skms_kmip_connections_total"), 3.0);
    // The store calls of the operations went through the timing wrapper.
    let store = |method: &str| {
        m.get(&format!(
            "skms_store_operation_duration_seconds_count{{operation=\"{method}\"}}"
        ))
    };
    assert!(store("insert_object") >= 1.0, "the Create stored its key");
    assert!(store("object") >= 1.0, "the Get looked its id up");
    assert_eq!(m.get("skms_store_errors_total"), 0.0);
    // Every connection closed: none open.
    for _ in 0..100 {
        if scrape(&f).get("skms_kmip_connections_open") == 0.0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(scrape(&f).get("skms_kmip_connections_open"), 0.0);
    f.server.stop().await;
}

#[tokio::test]
async fn readiness_reports_a_broken_database_and_a_root_that_cannot_unwrap() {
    let f = common::start("ready", Duration::from_secs(10)).await;
    let shared = f.server.shared.clone();
    // The start checked once: the gauges hold its outcome before anyone asks.
    let m = scrape(&f);
    assert_eq!(m.get("skms_store_up"), 1.0);
    assert_eq!(m.get("skms_root_of_trust_up"), 1.0);
    assert!(m.get("skms_store_probe_seconds") > 0.0);
    assert!(m.get("skms_root_of_trust_probe_seconds") > 0.0);
    let r = readiness(&shared).await;
    r.result().expect("a fresh server is ready");
    assert!(r.store.ok() && r.root_of_trust.ok(), "{r:?}");
    assert!(r.store.latency > Duration::ZERO && r.store.latency < Duration::from_secs(2));

    // A real database failure: the accounts table disappears under the server.
    let db = f.server.data_dir.join(skms_server::init::DB_FILE);
    let admin = rusqlite::Connection::open(&db).unwrap();
    admin.busy_timeout(Duration::from_secs(5)).unwrap();
    admin
        .execute_batch("ALTER TABLE accounts RENAME TO accounts_gone")
        .unwrap();
    // The background check sees it without anyone asking /v1/ready.
    let deadline = std::time::Instant::now() + 2 * skms_server::metrics::PROBE_INTERVAL;
    while scrape(&f).get("skms_store_up") != 0.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "skms_store_up still 1:\n{}",
            render(&f.server.metrics)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(scrape(&f).get("skms_root_of_trust_up"), 1.0);
    let r = readiness(&shared).await;
    let e = r.result().unwrap_err();
    assert!(e.starts_with("store: "), "{e}");
    assert!(e.contains("accounts"), "names what failed: {e}");
    assert!(!e.contains("root of trust"), "{e}");
    assert!(!r.store.ok() && r.root_of_trust.ok(), "{r:?}");
    assert!(scrape(&f).get("skms_store_errors_total") >= 1.0);
    admin
        .execute_batch("ALTER TABLE accounts_gone RENAME TO accounts")
        .unwrap();
    readiness(&shared)
        .await
        .result()
        .expect("ready again once repaired");
    assert_eq!(scrape(&f).get("skms_store_up"), 1.0);

    // A root of trust that cannot unwrap what it wrapped.
    let broken = Arc::new(
        Shared::new(
            &skms_server::config::Config::default(),
            shared.store.clone(),
            Arc::new(Keyring::new(Arc::new(BrokenRoot))),
        )
        .unwrap(),
    );
    let r = readiness(&broken).await;
    let e = r.result().unwrap_err();
    assert!(e.starts_with("root of trust: "), "{e}");
    assert!(e.contains("does not open"), "{e}");
    assert!(r.store.ok() && !r.root_of_trust.ok(), "{r:?}");
    let m = parse(&render(&broken.metrics));
    assert_eq!(m.get("skms_store_up"), 1.0);
    assert_eq!(m.get("skms_root_of_trust_up"), 0.0);
    f.server.stop().await;
}

#[tokio::test]
async fn openssl_listener_counts_failed_handshakes_and_connections() {
    let f = common::start_with("metrics-legacy", Duration::from_secs(10), |c| {
        c.kmip_legacy_cipher_suites = true;
    })
    .await;
    for _ in 0..2 {
        let mut tcp = TcpStream::connect(f.server.kmip_addr).await.unwrap();
        tcp.write_all(b"\x16\x03\x01\x00\x05hello").await.unwrap();
        let mut sink = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), tcp.read_to_end(&mut sink)).await;
    }
    let m = wait_for(
        &f,
        "skms_tls_handshake_failures_total{listener=\"kmip\"}",
        2.0,
    )
    .await;
    assert_eq!(
        m.get("skms_tls_handshake_failures_total{listener=\"kmip\"}"),
        2.0
    );
    assert_eq!(m.get("skms_kmip_connections_total"), 2.0);
    // A good handshake and request on the same listener is no failure.
    let mut s = connect(&f, None).await;
    let r = exchange(&mut s, &create_aes(&f).encode()).await;
    assert_eq!(
        r.batch_items[0].result_status,
        ResultStatus::SUCCESS,
        "{r:?}"
    );
    let m = scrape(&f);
    assert_eq!(
        m.get("skms_kmip_operations_total{operation=\"Create\",result=\"success\"}"),
        1.0
    );
    assert_eq!(
        m.get("skms_tls_handshake_failures_total{listener=\"kmip\"}"),
        2.0
    );
    f.server.stop().await;
}
