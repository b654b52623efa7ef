//! Loopback ports for the servers that tests start.

use std::collections::HashSet;
use std::sync::Mutex;

/// A port on 127.0.0.1 that nothing listens on, for a server a test starts.
///
/// It is taken below the range the system picks the local ports of outgoing
/// connections from (`net.ipv4.ip_local_port_range`): a port the system
/// handed out a moment ago (binding port 0) is soon the local end of some
/// other test's outgoing connection, and the server then cannot listen on it
/// (a failure seen in CI). It was free when checked, and it is never handed
/// out twice by one test process.
pub fn free_port() -> u16 {
    static GIVEN: Mutex<Option<HashSet<u16>>> = Mutex::new(None);
    let low = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse::<u32>().ok())
        .filter(|low| *low > 12_000)
        .unwrap_or(32_768);
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    let given = given.get_or_insert_with(HashSet::new);
    // A different start in each process (tests run as several processes).
    let mut seed = std::process::id().wrapping_mul(2_654_435_761)
        ^ std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
    for _ in 0..1000 {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let port = (10_000 + seed % (low - 10_000)) as u16;
        if given.contains(&port) {
            continue;
        }
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            given.insert(port);
            return port;
        }
    }
    panic!("no free port on 127.0.0.1 below {low}");
}
