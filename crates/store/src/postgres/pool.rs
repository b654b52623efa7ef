//! A bounded pool of PostgreSQL connections, opened on demand. A connection
//! that broke (the server restarted, a failover, a network cut) is dropped
//! when it comes back instead of being handed out again, and one that sat
//! idle for a while is checked with a no-op query before it is used.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use postgres::Client;
use skms_core::store::StoreError;

use super::db::Cache;

/// A connection with its prepared statements.
pub struct Conn {
    /// The client.
    pub client: Client,
    /// Its prepared statements.
    pub cache: Cache,
    idle_since: Instant,
}

/// Opens one connection.
pub type Connect = Box<dyn Fn() -> Result<Client, StoreError> + Send + Sync>;

struct State {
    idle: Vec<Conn>,
    open: usize,
}

/// Up to `max` connections; a caller takes one and gives it back on drop.
pub struct Pool {
    state: Mutex<State>,
    returned: Condvar,
    max: usize,
    wait: Duration,
    connect: Connect,
}

/// An idle connection older than this is checked before it is used.
const CHECK_AFTER: Duration = Duration::from_secs(30);

impl Pool {
    /// A pool of at most `max` connections opened with `connect`; a caller
    /// waits at most `wait` for one.
    pub fn new(max: usize, wait: Duration, connect: Connect) -> Self {
        Pool {
            state: Mutex::new(State {
                idle: Vec::new(),
                open: 0,
            }),
            returned: Condvar::new(),
            max: max.max(1),
            wait,
            connect,
        }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A connection: an idle one, a new one while fewer than `max` are open,
    /// or the next one given back (a `Backend` error after the pool's wait).
    pub fn get(&self) -> Result<Lease<'_>, StoreError> {
        let deadline = Instant::now() + self.wait;
        let mut state = self.state();
        loop {
            if let Some(mut conn) = state.idle.pop() {
                drop(state);
                if conn.idle_since.elapsed() < CHECK_AFTER
                    || conn.client.is_valid(Duration::from_secs(5)).is_ok()
                {
                    return Ok(Lease {
                        pool: self,
                        conn: Some(conn),
                    });
                }
                drop(conn);
                state = self.state();
                state.open -= 1;
                continue;
            }
            if state.open < self.max {
                state.open += 1;
                drop(state);
                return match (self.connect)() {
                    Ok(client) => Ok(Lease {
                        pool: self,
                        conn: Some(Conn {
                            client,
                            cache: Cache::default(),
                            idle_since: Instant::now(),
                        }),
                    }),
                    Err(e) => {
                        self.state().open -= 1;
                        self.returned.notify_one();
                        Err(e)
                    }
                };
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(StoreError::Backend(format!(
                    "no PostgreSQL connection came free within {:?} (all {} in use)",
                    self.wait, self.max
                )));
            }
            state = self
                .returned
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

impl Pool {
    /// Takes every idle connection out of the pool (to close them elsewhere).
    pub fn drain(&self) -> Vec<Conn> {
        let mut state = self.state();
        let idle = std::mem::take(&mut state.idle);
        state.open -= idle.len();
        idle
    }
}

/// A connection taken from the pool.
pub struct Lease<'a> {
    pool: &'a Pool,
    conn: Option<Conn>,
}

impl Lease<'_> {
    /// The connection.
    pub fn conn(&mut self) -> &mut Conn {
        self.conn
            .as_mut()
            .expect("a lease holds its connection until dropped")
    }
}

impl Drop for Lease<'_> {
    fn drop(&mut self) {
        if let Some(mut conn) = self.conn.take() {
            let mut state = self.pool.state();
            if conn.client.is_closed() {
                state.open -= 1;
            } else {
                conn.idle_since = Instant::now();
                state.idle.push(conn);
            }
            drop(state);
            self.pool.returned.notify_one();
        }
    }
}
