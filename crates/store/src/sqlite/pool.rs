//! A small pool of read-only connections. In WAL mode readers never wait for
//! the writer nor for each other, so reads scale with the connections here.

use std::ops::Deref;
use std::sync::{Condvar, Mutex, MutexGuard};

use rusqlite::Connection;

/// Connections that serve reads; a caller takes one and gives it back on drop.
pub struct Pool {
    idle: Mutex<Vec<Connection>>,
    returned: Condvar,
}

impl Pool {
    /// A pool of these connections.
    pub fn new(conns: Vec<Connection>) -> Self {
        Pool {
            idle: Mutex::new(conns),
            returned: Condvar::new(),
        }
    }

    fn idle(&self) -> MutexGuard<'_, Vec<Connection>> {
        // A panic while holding the lock cannot leave the Vec half-changed.
        self.idle.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection, waiting for one to come back if all are in use.
    pub fn get(&self) -> Lease<'_> {
        let mut idle = self.idle();
        loop {
            if let Some(conn) = idle.pop() {
                return Lease {
                    pool: self,
                    conn: Some(conn),
                };
            }
            idle = self.returned.wait(idle).unwrap_or_else(|p| p.into_inner());
        }
    }
}

/// A connection taken from the pool.
pub struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Connection>,
}

impl Lease<'_> {
    /// The connection, mutable (to open a read transaction).
    pub fn conn_mut(&mut self) -> &mut Connection {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Deref for Lease<'_> {
    type Target = Connection;
    fn deref(&self) -> &Connection {
        self.conn
            .as_ref()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool.idle().push(conn);
            self.pool.returned.notify_one();
        }
    }
}
