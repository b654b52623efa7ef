//! The one writer: a thread that owns the only read-write connection and
//! commits whatever writes are queued together in one transaction (group
//! commit), one savepoint per write, then answers each caller. A caller blocks
//! until the transaction holding its write is committed (and, with
//! `synchronous=FULL`, synced), so a write is durable when its call returns,
//! while N concurrent writers share one fsync instead of paying N.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::thread::JoinHandle;

use super::error::backend;
use rusqlite::Connection;
use skms_core::store::StoreError;

/// One write, run on the writer's connection inside the batch transaction.
pub type Op = Box<dyn FnOnce(&Connection) -> Result<(), StoreError> + Send>;

struct Job {
    op: Op,
    reply: SyncSender<Result<(), StoreError>>,
}

/// The most writes committed in one transaction: bounds the latency of the first.
const MAX_BATCH: usize = 512;

/// The handle to the writer thread; dropping it lets the queued writes finish, then joins the thread.
pub struct Writer {
    queue: Option<Sender<Job>>,
    thread: Option<JoinHandle<()>>,
}

impl Writer {
    /// Starts the writer thread on `conn`.
    pub fn start(conn: Connection) -> Result<Self, StoreError> {
        let (queue, rx) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("skms-sqlite-writer".into())
            .spawn(move || run(conn, rx))
            .map_err(|e| StoreError::Backend(format!("cannot start the writer thread: {e}")))?;
        Ok(Writer {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Runs `op` in the next batch; returns once that batch is committed.
    pub fn write<F>(&self, op: F) -> Result<(), StoreError>
    where
        F: FnOnce(&Connection) -> Result<(), StoreError> + Send + 'static,
    {
        let (reply, answer) = mpsc::sync_channel(1);
        let stopped = || StoreError::Backend("the SQLite writer thread has stopped".into());
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(Job {
                op: Box::new(op),
                reply,
            })
            .map_err(|_| stopped())?;
        answer.recv().map_err(|_| stopped())?
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the queue ends the thread's loop once the queued jobs are done.
        drop(self.queue.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(conn: Connection, rx: Receiver<Job>) {
    while let Ok(first) = rx.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        let (ops, replies): (Vec<Op>, Vec<_>) = batch.into_iter().map(|j| (j.op, j.reply)).unzip();
        for (result, reply) in commit_batch(&conn, ops).into_iter().zip(replies) {
            // A caller that went away no longer needs its answer.
            let _ = reply.send(result);
        }
    }
}

/// Runs `ops` in one transaction, each in its own savepoint, and commits;
/// returns each op's result once the commit is done.
pub fn commit_batch(conn: &Connection, ops: Vec<Op>) -> Vec<Result<(), StoreError>> {
    let n = ops.len();
    if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
        let msg = backend("begin a write transaction", e).to_string();
        return (0..n)
            .map(|_| Err(StoreError::Backend(msg.clone())))
            .collect();
    }
    let mut results: Vec<Result<(), StoreError>> = Vec::with_capacity(n);
    let mut ops = ops.into_iter();
    while let Some(op) = ops.next() {
        if let Err(e) = exec(conn, "SAVEPOINT w") {
            results.push(Err(backend("open a savepoint", e)));
            continue;
        }
        let r = catch_unwind(AssertUnwindSafe(|| op(conn)))
            .unwrap_or_else(|_| Err(StoreError::Backend("a write panicked".into())));
        match r {
            Ok(()) => {
                results.push(exec(conn, "RELEASE w").map_err(|e| backend("release a savepoint", e)))
            }
            Err(e) if conn.is_autocommit() => {
                // A severe error (disk full, I/O) made SQLite roll back the
                // whole transaction: the writes before this one are lost, the
                // ones after it get a transaction of their own.
                let why = format!("rolled back with another write of its batch that failed: {e}");
                for r in results.iter_mut().filter(|r| r.is_ok()) {
                    *r = Err(StoreError::Backend(why.clone()));
                }
                results.push(Err(e));
                results.extend(commit_batch(conn, ops.collect()));
                return results;
            }
            Err(e) => {
                // Undo this write alone; the others of the batch stand.
                let _ = exec(conn, "ROLLBACK TO w");
                let _ = exec(conn, "RELEASE w");
                results.push(Err(e));
            }
        }
    }
    if let Err(e) = exec(conn, "COMMIT") {
        let msg = backend("commit", e).to_string();
        if !conn.is_autocommit() {
            let _ = exec(conn, "ROLLBACK");
        }
        for r in results.iter_mut().filter(|r| r.is_ok()) {
            *r = Err(StoreError::Backend(msg.clone()));
        }
    }
    results
}

fn exec(conn: &Connection, sql: &str) -> rusqlite::Result<()> {
    conn.prepare_cached(sql)?.execute([]).map(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(sql: &'static str) -> Op {
        Box::new(move |c: &Connection| {
            c.execute(sql, [])
                .map(drop)
                .map_err(|e| backend("test write", e))
        })
    }

    #[test]
    fn a_failed_write_does_not_fail_its_batch() {
        let c = Connection::open_in_memory().unwrap();
        c.execute_batch("CREATE TABLE t (name TEXT PRIMARY KEY)")
            .unwrap();
        let results = commit_batch(
            &c,
            vec![
                op("INSERT INTO t VALUES ('a')"),
                op("INSERT INTO t VALUES ('b')"),
                // a conflict in the middle of the batch: its own savepoint is undone, no more
                op("INSERT INTO t VALUES ('a')"),
                Box::new(|c: &Connection| {
                    c.execute("INSERT INTO t VALUES ('half')", []).unwrap();
                    Err(StoreError::Backend("fails after a change".into()))
                }),
                Box::new(|_: &Connection| panic!("a bug in one write")),
                op("INSERT INTO t VALUES ('c')"),
            ],
        );
        assert!(results[0].is_ok() && results[1].is_ok() && results[5].is_ok());
        assert!(
            matches!(results[2], Err(StoreError::Conflict(_))),
            "{:?}",
            results[2]
        );
        assert!(matches!(results[3], Err(StoreError::Backend(_))));
        assert!(matches!(results[4], Err(StoreError::Backend(_))));
        let names: Vec<String> = c
            .prepare("SELECT name FROM t ORDER BY name")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(names, ["a", "b", "c"]);
        assert!(c.is_autocommit(), "the batch transaction is closed");
    }
}
