//! A small in-memory back-off for sources that keep failing authentication:
//! each failure from an IP address doubles the wait before its next password
//! is checked (from 100 ms up to 5 s); a success or 15 quiet minutes forget it.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Failures are forgotten after this long without another.
const FORGET_AFTER: Duration = Duration::from_secs(15 * 60);
/// The longest wait.
const MAX_DELAY: Duration = Duration::from_secs(5);
/// The wait after the first failure.
const FIRST_DELAY: Duration = Duration::from_millis(100);
/// Above this many sources, quiet ones are pruned (bounds the memory an attacker can fill).
const MAX_SOURCES: usize = 10_000;

/// Failed authentications per source address.
#[derive(Default)]
pub struct Backoff {
    failures: Mutex<HashMap<IpAddr, (u32, Instant)>>,
}

impl Backoff {
    /// How long to wait before checking a credential from `ip`.
    pub fn delay(&self, ip: IpAddr) -> Duration {
        let map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        match map.get(&ip) {
            Some(&(n, last)) if n > 0 && last.elapsed() < FORGET_AFTER => {
                let factor = 1u32 << (n - 1).min(6);
                (FIRST_DELAY * factor).min(MAX_DELAY)
            }
            _ => Duration::ZERO,
        }
    }

    /// Records a failed authentication from `ip`.
    pub fn failure(&self, ip: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        if map.len() >= MAX_SOURCES {
            map.retain(|_, (_, last)| last.elapsed() < FORGET_AFTER);
            if map.len() >= MAX_SOURCES {
                map.clear();
            }
        }
        let e = map.entry(ip).or_insert((0, Instant::now()));
        if e.1.elapsed() >= FORGET_AFTER {
            e.0 = 0;
        }
        e.0 = e.0.saturating_add(1);
        e.1 = Instant::now();
    }

    /// Forgets the failures of `ip` after a success.
    pub fn success(&self, ip: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_double_the_wait_up_to_a_cap_and_success_resets() {
        let b = Backoff::default();
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let other: IpAddr = "192.0.2.2".parse().unwrap();
        assert_eq!(b.delay(ip), Duration::ZERO);
        b.failure(ip);
        assert_eq!(b.delay(ip), Duration::from_millis(100));
        b.failure(ip);
        assert_eq!(b.delay(ip), Duration::from_millis(200));
        for _ in 0..20 {
            b.failure(ip);
        }
        assert_eq!(b.delay(ip), MAX_DELAY);
        assert_eq!(b.delay(other), Duration::ZERO);
        b.success(ip);
        assert_eq!(b.delay(ip), Duration::ZERO);
    }
}
