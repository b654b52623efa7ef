//! The audit log: every authentication, administrative action and operation,
//! as records that form one hash chain per account (and one for the provider).
//!
//! Each record carries the SHA-256 of the previous record of its chain and its
//! own hash over a canonical encoding of every field, its chain and its
//! sequence number. Recomputing the chain from the first record names the
//! first record that was changed, removed or moved; anyone holding an export
//! can check it (no key needed). The store assigns sequence numbers and hashes
//! atomically when it appends ([`crate::store::Store::append_audit`]).
//!
//! [`AuditLog`] is how the server records: events are queued to one thread
//! that appends them in batches (one transaction per batch) and then hands the
//! stored records to the forwarders (syslog). [`AuditLog::record`] returns at
//! once (reads are recorded without slowing them); [`AuditLog::record_durable`]
//! returns once the record is committed (for changes, which are acknowledged
//! only when their record is on disk).

use crate::ids::AccountId;
use crate::store::{Store, StoreError};
use std::fmt;
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

/// Who acted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ActorKind {
    /// A machine identity (its UUID is the actor).
    App,
    /// A person (the login name is the actor).
    User,
    /// Nobody proven (a failed authentication: the actor is the name tried, if any).
    Anonymous,
}

impl ActorKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::App => "app",
            ActorKind::User => "user",
            ActorKind::Anonymous => "anonymous",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "app" => Some(ActorKind::App),
            "user" => Some(ActorKind::User),
            "anonymous" => Some(ActorKind::Anonymous),
            _ => None,
        }
    }
}

/// How it ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Done.
    Success,
    /// Refused or failed (the reason says why).
    Failure,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    /// Parses the stored name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// What happened, as a caller records it (the store adds chain, sequence and hashes).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// The account whose chain it joins; `None`: the provider's chain (sysadmin
    /// actions, failed authentications that name no account).
    pub account: Option<AccountId>,
    /// When, in milliseconds since the epoch (UTC).
    pub time_ms: i64,
    /// App, user or nobody.
    pub actor_kind: ActorKind,
    /// The app's UUID, the user's login name, or the name that was tried.
    pub actor: String,
    /// The client's address.
    pub source: String,
    /// What was done: `kmip.Create`, `rest.create_app`, `auth.kmip.password`…
    pub operation: String,
    /// The object acted on (a KMIP Unique Identifier, an app or group id…).
    pub object: Option<String>,
    /// Success or failure.
    pub outcome: Outcome,
    /// Why it failed (a KMIP Result Reason name, an HTTP error code…).
    pub reason: Option<String>,
    /// More words for a person, never secrets or key material.
    pub message: Option<String>,
}

impl AuditEvent {
    /// The event with every NUL of its text replaced by U+FFFD.
    pub fn without_nul(mut self) -> Self {
        let fix = |t: &mut String| {
            if t.contains('\0') {
                *t = t.replace('\0', "\u{FFFD}");
            }
        };
        fix(&mut self.actor);
        fix(&mut self.source);
        fix(&mut self.operation);
        for t in [&mut self.object, &mut self.reason, &mut self.message]
            .into_iter()
            .flatten()
        {
            fix(t);
        }
        self
    }
}

/// A stored record: the event, its place in its chain and the chain's hashes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// The event.
    pub event: AuditEvent,
    /// Position in its chain, from 1, without gaps.
    pub seq: u64,
    /// The hash of the previous record of the chain (zeros for the first).
    pub prev_hash: [u8; 32],
    /// This record's hash ([`record_hash`]).
    pub hash: [u8; 32],
}

/// The chain an account's records form (the provider's is all zeros).
pub fn chain_id(account: Option<AccountId>) -> [u8; 16] {
    account.map(|a| *a.as_bytes()).unwrap_or([0; 16])
}

/// SHA-256 over a canonical encoding of the record: a version label, the chain,
/// the sequence number, every field (each length-prefixed, absent ones marked)
/// and the previous hash. Any change to any of them changes the hash.
pub fn record_hash(event: &AuditEvent, seq: u64, prev_hash: &[u8; 32]) -> [u8; 32] {
    fn text(out: &mut Vec<u8>, s: Option<&str>) {
        match s {
            None => out.push(0),
            Some(s) => {
                out.push(1);
                out.extend_from_slice(&(s.len() as u64).to_be_bytes());
                out.extend_from_slice(s.as_bytes());
            }
        }
    }
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(b"skms-audit-v1\0");
    buf.extend_from_slice(&chain_id(event.account));
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(&event.time_ms.to_be_bytes());
    text(&mut buf, Some(event.actor_kind.as_str()));
    text(&mut buf, Some(&event.actor));
    text(&mut buf, Some(&event.source));
    text(&mut buf, Some(&event.operation));
    text(&mut buf, event.object.as_deref());
    text(&mut buf, Some(event.outcome.as_str()));
    text(&mut buf, event.reason.as_deref());
    text(&mut buf, event.message.as_deref());
    buf.extend_from_slice(prev_hash);
    let d = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &buf);
    let mut out = [0u8; 32];
    out.copy_from_slice(d.as_ref());
    out
}

/// The next record after `head` (the chain's last `(seq, hash)`, if any).
pub fn chain_next(event: AuditEvent, head: Option<(u64, [u8; 32])>) -> AuditRecord {
    let (seq, prev_hash) = match head {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, [0; 32]),
    };
    let hash = record_hash(&event, seq, &prev_hash);
    AuditRecord {
        event,
        seq,
        prev_hash,
        hash,
    }
}

/// Where a chain stops being valid.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    /// The record's fields do not give its stored hash: it was changed.
    #[error("record {seq} was changed: its content does not match its hash")]
    Changed {
        /// The record.
        seq: u64,
    },
    /// The record does not follow the one before it: records were removed,
    /// inserted or moved just before it.
    #[error("record {seq} does not follow record {previous}: records before it were removed, inserted or reordered")]
    Broken {
        /// The record.
        seq: u64,
        /// The record read just before it (0: none).
        previous: u64,
    },
    /// The chain ends before its recorded head: its last records were removed.
    #[error(
        "the chain ends at record {last} but its head says {head}: the last records were removed"
    )]
    Truncated {
        /// The last record found.
        last: u64,
        /// The head's sequence number.
        head: u64,
    },
    /// The store could not be read.
    #[error("cannot read the audit log: {0}")]
    Store(String),
}

/// Checks records of one chain, in stored order, incrementally (a chain can be
/// far larger than memory): feed them with [`ChainVerifier::next`], then call
/// [`ChainVerifier::finish`] with the chain's head.
#[derive(Default)]
pub struct ChainVerifier {
    last: Option<(u64, [u8; 32])>,
    count: u64,
}

impl ChainVerifier {
    /// Checks the next record.
    pub fn next(&mut self, r: &AuditRecord) -> Result<(), ChainBreak> {
        if record_hash(&r.event, r.seq, &r.prev_hash) != r.hash {
            return Err(ChainBreak::Changed { seq: r.seq });
        }
        let (want_seq, want_prev) = match self.last {
            Some((seq, hash)) => (seq + 1, hash),
            None => (1, [0; 32]),
        };
        if r.seq != want_seq || r.prev_hash != want_prev {
            return Err(ChainBreak::Broken {
                seq: r.seq,
                previous: self.last.map(|l| l.0).unwrap_or(0),
            });
        }
        self.last = Some((r.seq, r.hash));
        self.count += 1;
        Ok(())
    }

    /// Ends the check against the chain's head; returns how many records were checked.
    pub fn finish(self, head: Option<(u64, [u8; 32])>) -> Result<u64, ChainBreak> {
        match (self.last, head) {
            (None, None) => Ok(0),
            (Some(l), Some(h)) if l == h => Ok(self.count),
            (Some(l), Some(h)) if l.0 < h.0 => Err(ChainBreak::Truncated {
                last: l.0,
                head: h.0,
            }),
            (None, Some(h)) => Err(ChainBreak::Truncated { last: 0, head: h.0 }),
            (Some(l), _) => Err(ChainBreak::Broken {
                seq: l.0,
                previous: l.0.saturating_sub(1),
            }),
        }
    }
}

/// Verifies the whole chain of `account` in the store, page by page.
pub fn verify_chain(store: &dyn Store, account: Option<AccountId>) -> Result<u64, ChainBreak> {
    let mut v = ChainVerifier::default();
    let mut after = 0u64;
    let store_err = |e: StoreError| ChainBreak::Store(e.to_string());
    loop {
        let page = store
            .audit_chain_page(account, after, 1000)
            .map_err(store_err)?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            v.next(r)?;
        }
    }
    v.finish(store.audit_head(account).map_err(store_err)?)
}

/// What an audit query asks; every condition given must hold. Results come
/// newest first; page with `before_seq` (the smallest seq of the last page).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// From this time (ms, inclusive).
    pub from_ms: Option<i64>,
    /// Until this time (ms, exclusive).
    pub to_ms: Option<i64>,
    /// This actor (app UUID or login).
    pub actor: Option<String>,
    /// This object.
    pub object: Option<String>,
    /// This operation.
    pub operation: Option<String>,
    /// Only records older than this sequence number (paging).
    pub before_seq: Option<u64>,
    /// At most this many (bounded by the store).
    pub limit: usize,
}

/// Where stored records go next (syslog); called on the audit thread, after commit.
pub trait AuditSink: Send {
    /// Takes the records just committed.
    fn forward(&mut self, records: &[AuditRecord]);
}

enum Msg {
    Events(Vec<AuditEvent>, Option<SyncSender<Result<(), String>>>),
    Flush(SyncSender<()>),
}

/// The server's recorder: one thread appends queued events in batches.
pub struct AuditLog {
    queue: Option<SyncSender<Msg>>,
    thread: Option<JoinHandle<()>>,
}

/// The most events appended in one transaction.
const MAX_BATCH: usize = 1024;

impl AuditLog {
    /// Starts the audit thread over `store`, forwarding committed records to `sinks`.
    /// At most `queue` events wait; beyond that, recording waits (never drops).
    pub fn start(
        store: Arc<dyn Store>,
        sinks: Vec<Box<dyn AuditSink>>,
        queue: usize,
    ) -> std::io::Result<Self> {
        let (tx, rx) = mpsc::sync_channel(queue.max(1));
        let thread = std::thread::Builder::new()
            .name("skms-audit".into())
            .spawn(move || run(store, sinks, rx))?;
        Ok(AuditLog {
            queue: Some(tx),
            thread: Some(thread),
        })
    }

    /// Queues `event`; returns at once.
    pub fn record(&self, event: AuditEvent) {
        if let Some(q) = &self.queue {
            let _ = q.send(Msg::Events(vec![event], None));
        }
    }

    /// Queues `events` and waits until they are committed, in one
    /// transaction (the items of one KMIP batch wait for one commit, not one each).
    pub fn record_durable(&self, events: Vec<AuditEvent>) -> Result<(), String> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.queue
            .as_ref()
            .ok_or("the audit log is stopped")?
            .send(Msg::Events(events, Some(tx)))
            .map_err(|_| "the audit log is stopped".to_string())?;
        rx.recv().map_err(|_| "the audit log stopped".to_string())?
    }

    /// Waits until every event queued before this call is committed.
    pub fn flush(&self) {
        let (tx, rx) = mpsc::sync_channel(1);
        if let Some(q) = &self.queue {
            if q.send(Msg::Flush(tx)).is_ok() {
                let _ = rx.recv();
            }
        }
    }
}

impl Drop for AuditLog {
    /// Commits what is queued, then stops the thread.
    fn drop(&mut self) {
        drop(self.queue.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AuditLog")
    }
}

/// How long a batch of records nobody waits for (reads) may wait for more
/// before it is stored. Each transaction writes the last page of the table
/// and of each of its indexes again: a Get workload stored record by record
/// spent more than a third of the server's CPU there. A change (whose caller
/// waits for its record) or a flush ends the wait at once.
const LINGER: std::time::Duration = std::time::Duration::from_millis(20);

fn run(store: Arc<dyn Store>, mut sinks: Vec<Box<dyn AuditSink>>, rx: Receiver<Msg>) {
    while let Ok(first) = rx.recv() {
        let mut events = Vec::new();
        let mut waiters = Vec::new();
        let mut flushes = Vec::new();
        let until = std::time::Instant::now() + LINGER;
        let mut next = Some(first);
        while let Some(m) = next.take() {
            match m {
                Msg::Events(e, w) => {
                    events.extend(e);
                    waiters.extend(w);
                }
                Msg::Flush(f) => flushes.push(f),
            }
            if events.len() >= MAX_BATCH {
                break;
            }
            next = rx.try_recv().ok();
            if next.is_none() && waiters.is_empty() && flushes.is_empty() {
                let left = until.saturating_duration_since(std::time::Instant::now());
                if !left.is_zero() {
                    next = rx.recv_timeout(left).ok();
                }
            }
        }
        let result = if events.is_empty() {
            Ok(Vec::new())
        } else {
            append_retrying(&*store, events)
        };
        let answer = result.as_ref().map(drop).map_err(|e| e.to_string());
        if let Err(e) = &answer {
            tracing::error!(error = %e, "audit records could not be stored");
        }
        for w in waiters {
            let _ = w.send(answer.clone());
        }
        if let Some(records) = result.as_ref().ok().filter(|r| !r.is_empty()) {
            for s in &mut sinks {
                s.forward(records);
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
    }
}

/// Appends, retrying a failing store a few times (a busy or briefly absent
/// database) before giving up on the batch.
fn append_retrying(
    store: &dyn Store,
    events: Vec<AuditEvent>,
) -> Result<Vec<AuditRecord>, StoreError> {
    let mut delay = std::time::Duration::from_millis(50);
    let mut last = None;
    // Text from outside (a login name tried, a client's message) may hold NUL,
    // which one store keeps and another refuses: every chain gets U+FFFD instead.
    let events: Vec<AuditEvent> = events.into_iter().map(AuditEvent::without_nul).collect();
    for _ in 0..5 {
        match store.append_audit(&events) {
            Ok(r) => return Ok(r),
            Err(e) => {
                last = Some(e);
                std::thread::sleep(delay);
                delay *= 2;
            }
        }
    }
    Err(last.unwrap_or_else(|| StoreError::Backend("audit append failed".into())))
}

#[cfg(test)]
mod nul_tests {
    use super::*;

    #[test]
    fn nul_never_reaches_a_store() {
        let e = AuditEvent {
            account: None,
            time_ms: 1,
            actor_kind: ActorKind::Anonymous,
            actor: "ev\0il".into(),
            source: "127.0.0.1".into(),
            operation: "auth.kmip.password".into(),
            object: Some("a\0".into()),
            outcome: Outcome::Failure,
            reason: None,
            message: Some("\0".into()),
        }
        .without_nul();
        assert_eq!(e.actor, "ev\u{FFFD}il");
        assert_eq!(e.object.as_deref(), Some("a\u{FFFD}"));
        assert_eq!(e.message.as_deref(), Some("\u{FFFD}"));
        assert_eq!(e.reason, None);
    }
}
