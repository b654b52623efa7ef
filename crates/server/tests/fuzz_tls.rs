//! A bounded, deterministic fuzz run of the KMIP listener over real TLS:
//! for 15 s, 16 workers open connection after connection and send mutations
//! of vCenter's requests (`vsphere-kmip.md` Appendix A, most of them carrying
//! the app's valid Username and Password credential): bit flips, truncations,
//! changed length fields, changed item types, spliced messages and random
//! bytes. The server must answer every message with a decodable response or
//! close the connection, and never stay silent past its idle timeout (2 s
//! here, plus the authentication back-off of at most 5 s). Afterwards a
//! Discover Versions and an authenticated Create still succeed within 2 s.

mod common;

use common::*;
use kmip::binary::Limits;
use kmip::enums::{ObjectType, ResultStatus};
use kmip::messages::ResponseMessage;
use kmip::payloads::ResponsePayload;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;

const RUN: Duration = Duration::from_secs(15);
const WORKERS: u64 = 16;
const IDLE: Duration = Duration::from_secs(2);
/// Longest silence allowed: the idle timeout, the longest back-off, slack.
const PATIENCE: Duration = Duration::from_secs(2 + 5 + 3);
const SEED: u64 = 0x5EED_4B4D_4950_0001;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    messages: AtomicUsize,
    answered: AtomicUsize,
    success_items: AtomicUsize,
    closed: AtomicUsize,
    by_kind: Mutex<[usize; 8]>,
    failures: Mutex<Vec<String>>,
}

/// One mutated message and whether the client should close its write side after it.
fn mutate(rng: &mut Rng, corpus: &[Vec<u8>]) -> (usize, Vec<u8>, bool) {
    let mut m = corpus[rng.below(corpus.len())].clone();
    let kind = rng.below(8);
    let mut close_after = false;
    match kind {
        // bit flips
        0 => {
            for _ in 0..1 + rng.below(8) {
                let i = rng.below(m.len());
                m[i] ^= 1 << rng.below(8);
            }
        }
        // truncation (the client then closes, or just waits)
        1 => {
            m.truncate(rng.below(m.len()));
            close_after = rng.below(2) == 0;
        }
        // a length field changed (items start at multiples of 8; the length is at +4)
        2 => {
            let at = 8 * rng.below(m.len() / 8);
            let old = u32::from_be_bytes(m[at + 4..at + 8].try_into().unwrap());
            let new = match rng.below(6) {
                0 => 0,
                1 => old.wrapping_add(8),
                2 => old.wrapping_sub(8),
                3 => old.wrapping_add(1 + rng.below(7) as u32),
                4 => 0xFFFF_FFF0,
                _ => rng.next() as u32,
            };
            m[at + 4..at + 8].copy_from_slice(&new.to_be_bytes());
        }
        // an item type changed
        3 => {
            let at = 8 * rng.below(m.len() / 8);
            m[at + 3] = rng.below(16) as u8;
        }
        // random bytes, with or without a plausible request header
        4 => {
            let n = rng.below(600);
            m = rng.bytes(n);
            if rng.below(2) == 0 {
                let mut h = vec![0x42, 0x00, 0x78, 0x01];
                h.extend_from_slice(&(n as u32).to_be_bytes());
                h.extend(m);
                m = h;
            }
        }
        // random bytes overwritten inside the message
        5 => {
            let at = rng.below(m.len());
            let n = 1 + rng.below(16);
            for i in at..(at + n).min(m.len()) {
                m[i] = rng.next() as u8;
            }
        }
        // two messages spliced: the head of one, the tail of another
        6 => {
            let other = &corpus[rng.below(corpus.len())];
            let cut = 8 * rng.below(m.len() / 8);
            let cut2 = 8 * rng.below(other.len() / 8);
            m.truncate(cut);
            m.extend_from_slice(&other[cut2..]);
            if m.len() >= 8 {
                let len = (m.len() - 8) as u32;
                m[4..8].copy_from_slice(&len.to_be_bytes());
            }
        }
        // unchanged (keeps connections alive and the store busy)
        _ => {}
    }
    (kind, m, close_after)
}

async fn worker(
    id: u64,
    f: Arc<Fixture>,
    corpus: Arc<Vec<Vec<u8>>>,
    stats: Arc<Stats>,
    deadline: Instant,
) {
    let mut rng = Rng(SEED ^ (id + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    let config = client_config(&f, None);
    while Instant::now() < deadline {
        stats.connections.fetch_add(1, Ordering::Relaxed);
        let mut s = match tokio::time::timeout(
            Duration::from_secs(10),
            tokio::net::TcpStream::connect(f.server.kmip_addr),
        )
        .await
        {
            Ok(Ok(tcp)) => {
                match tokio::time::timeout(
                    Duration::from_secs(10),
                    tokio_rustls::TlsConnector::from(config.clone()).connect(
                        rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                        tcp,
                    ),
                )
                .await
                {
                    Ok(Ok(s)) => s,
                    other => {
                        stats.failures.lock().unwrap().push(format!(
                            "worker {id}: TLS handshake failed: {:?}",
                            other.map(|r| r.err())
                        ));
                        continue;
                    }
                }
            }
            other => {
                stats.failures.lock().unwrap().push(format!(
                    "worker {id}: connect failed: {:?}",
                    other.map(|r| r.err())
                ));
                continue;
            }
        };
        for _ in 0..1 + rng.below(3) {
            let (kind, msg, close_after) = mutate(&mut rng, &corpus);
            stats.messages.fetch_add(1, Ordering::Relaxed);
            stats.by_kind.lock().unwrap()[kind] += 1;
            if s.write_all(&msg).await.is_err() || s.flush().await.is_err() {
                stats.closed.fetch_add(1, Ordering::Relaxed);
                break;
            }
            if close_after {
                let _ = s.shutdown().await;
            }
            let started = Instant::now();
            match tokio::time::timeout(PATIENCE, read_frame(&mut s)).await {
                Ok(Ok(bytes)) => match ResponseMessage::decode(&bytes, &Limits::default()) {
                    Ok(r) => {
                        stats.answered.fetch_add(1, Ordering::Relaxed);
                        let ok = r
                            .batch_items
                            .iter()
                            .filter(|i| i.result_status == ResultStatus::SUCCESS)
                            .count();
                        stats.success_items.fetch_add(ok, Ordering::Relaxed);
                        // An operation that panicked is answered, but is a server bug.
                        if r.batch_items.iter().any(|i| {
                            i.result_message.as_deref()
                                == Some("the server failed to process the request")
                        }) {
                            stats.failures.lock().unwrap().push(format!(
                                "kind {kind}: an operation panicked; request {}",
                                hex::encode(&msg)
                            ));
                        }
                    }
                    Err(e) => stats.failures.lock().unwrap().push(format!(
                        "kind {kind}: response does not decode ({e}); request {}",
                        hex::encode(&msg)
                    )),
                },
                Ok(Err(_)) => {
                    // closed (or reset): fine, but a new connection is needed
                    stats.closed.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                Err(_) => {
                    stats.failures.lock().unwrap().push(format!(
                        "kind {kind}: no answer and no close after {:?}; request {}",
                        started.elapsed(),
                        hex::encode(&msg)
                    ));
                    break;
                }
            }
            if close_after {
                break;
            }
        }
        let _ = tokio::time::timeout(Duration::from_secs(2), s.shutdown()).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fuzzed_messages_are_answered_or_closed_and_the_server_stays_healthy() {
    let f = Arc::new(start("fuzz", IDLE).await);
    // The corpus: every request of Appendix A, as captured and with the valid credential.
    let mut corpus = Vec::new();
    for (_, kind, bytes) in captures() {
        if kind != "Request" {
            continue;
        }
        let m = kmip::messages::RequestMessage::decode(&bytes, &Limits::default()).unwrap();
        corpus.push(with_password(m, &f.user(), &f.secret).encode());
        corpus.push(bytes);
    }
    assert_eq!(corpus.len(), 2 * 16);
    let corpus = Arc::new(corpus);
    let stats = Arc::new(Stats::default());
    let deadline = Instant::now() + RUN;
    let tasks: Vec<_> = (0..WORKERS)
        .map(|i| {
            tokio::spawn(worker(
                i,
                f.clone(),
                corpus.clone(),
                stats.clone(),
                deadline,
            ))
        })
        .collect();
    // Every worker ends by itself: the deadline plus at most one message's patience per step.
    for t in tasks {
        tokio::time::timeout(RUN + 4 * PATIENCE, t)
            .await
            .expect("a fuzz worker is stuck")
            .unwrap();
    }
    println!(
        "fuzz: seed {SEED:#x}, {} connections, {} messages ({:?} by kind: flip, truncate, length, type, random, overwrite, splice, intact), {} answered ({} successful items), {} closed",
        stats.connections.load(Ordering::Relaxed),
        stats.messages.load(Ordering::Relaxed),
        stats.by_kind.lock().unwrap(),
        stats.answered.load(Ordering::Relaxed),
        stats.success_items.load(Ordering::Relaxed),
        stats.closed.load(Ordering::Relaxed),
    );
    let failures = stats.failures.lock().unwrap().clone();
    for x in failures.iter().take(20) {
        println!("FAILURE {x}");
    }

    // Still serving, promptly: DV, then an authenticated Create (from the same source).
    let started = Instant::now();
    let mut s = connect(&f, None).await;
    let r = exchange(&mut s, &request_bytes("A1.")).await;
    assert_eq!(r.batch_items[0].result_status, ResultStatus::SUCCESS);
    let dv_took = started.elapsed();
    let started = Instant::now();
    let create = with_password(request("A4."), &f.user(), &f.secret).encode();
    let r = exchange(&mut s, &create).await;
    let create_took = started.elapsed();
    println!(
        "after the run: Discover Versions in {dv_took:?}, authenticated Create in {create_took:?}"
    );
    let item = &r.batch_items[0];
    assert_eq!(item.result_status, ResultStatus::SUCCESS, "{item:?}");
    let Some(ResponsePayload::Create(c)) = &item.payload else {
        panic!("{item:?}")
    };
    assert_eq!(c.object_type, ObjectType::SYMMETRIC_KEY);
    assert!(dv_took < Duration::from_secs(2), "{dv_took:?}");
    assert!(create_took < Duration::from_secs(2), "{create_took:?}");
    assert!(
        failures.is_empty(),
        "{} failure(s), first: {}",
        failures.len(),
        failures[0]
    );
    drop(s);
    match Arc::try_unwrap(f) {
        Ok(f) => f.server.stop().await,
        Err(_) => panic!("fixture still shared"),
    }
}
