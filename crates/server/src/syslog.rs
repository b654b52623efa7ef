//! Forwarding audit records to a syslog collector: RFC 5424 messages over UDP
//! (one datagram each) or TCP (octet-counting framing, RFC 6587).
//!
//! Forwarding is best effort and never slows the server: records go to a
//! thread of their own through a bounded queue; when the collector is down or
//! slow and the queue is full, records are dropped from the forward (never from
//! the audit log, which stays the record) and the drop is logged. TCP
//! reconnects with back-off.

use skms_core::audit::{AuditRecord, AuditSink, Outcome};
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::time::Duration;
use tracing::warn;

/// Where to forward.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// `udp://host:port`.
    Udp(String),
    /// `tcp://host:port`.
    Tcp(String),
}

impl std::str::FromStr for Target {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let bad = || format!("{s:?}: expected udp://HOST:PORT or tcp://HOST:PORT");
        let (scheme, addr) = s.trim().split_once("://").ok_or_else(bad)?;
        if addr
            .rsplit_once(':')
            .is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err())
        {
            return Err(bad());
        }
        match scheme.to_ascii_lowercase().as_str() {
            "udp" => Ok(Target::Udp(addr.into())),
            "tcp" => Ok(Target::Tcp(addr.into())),
            _ => Err(bad()),
        }
    }
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Target::Udp(a) => write!(f, "udp://{a}"),
            Target::Tcp(a) => write!(f, "tcp://{a}"),
        }
    }
}

/// Records waiting to be forwarded, at most.
const QUEUE: usize = 10_000;
/// RFC 5424 facility 13: log audit.
const FACILITY: u8 = 13;
/// The structured-data id (the documentation enterprise number of RFC 5424 §7.2.2).
const SD_ID: &str = "skms@32473";

/// The audit sink that forwards to syslog.
pub struct SyslogSink {
    queue: SyncSender<String>,
    dropped: u64,
}

impl SyslogSink {
    /// Starts the forwarding thread towards `target`.
    pub fn start(target: Target) -> std::io::Result<Self> {
        let (queue, rx) = mpsc::sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("skms-syslog".into())
            .spawn(move || forward(target, rx))?;
        Ok(SyslogSink { queue, dropped: 0 })
    }
}

impl AuditSink for SyslogSink {
    fn forward(&mut self, records: &[AuditRecord]) {
        for r in records {
            match self
                .queue
                .try_send(format_5424(r, host(), std::process::id()))
            {
                Ok(()) => {}
                Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                    self.dropped += 1;
                    if self.dropped.is_power_of_two() {
                        warn!(dropped = self.dropped, "syslog forwarding is behind: records dropped from the forward (they stay in the audit log)");
                    }
                }
            }
        }
    }
}

fn host() -> &'static str {
    static HOST: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HOST.get_or_init(|| {
        std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty() && h.is_ascii() && !h.contains(' '))
            .unwrap_or_else(|| "-".into())
    })
}

/// An SD-PARAM value with `"`, `\` and `]` escaped (RFC 5424 §6.3.3).
fn sd_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '"' | '\\' | ']') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A header field: printable US-ASCII without spaces, at most `max`, else `-`.
fn header_field(s: &str, max: usize) -> String {
    let f: String = s
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if f.is_empty() {
        "-".into()
    } else {
        f
    }
}

/// The RFC 5424 message of a record: severity informational for a success,
/// warning for a failure; MSGID the operation; every field as structured data.
pub fn format_5424(r: &AuditRecord, hostname: &str, pid: u32) -> String {
    let e = &r.event;
    let severity = match e.outcome {
        Outcome::Success => 6,
        Outcome::Failure => 4,
    };
    let time = time::OffsetDateTime::from_unix_timestamp_nanos(e.time_ms as i128 * 1_000_000)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    let stamp = time
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| "-".into());
    let mut sd = format!("[{SD_ID}");
    let mut param = |k: &str, v: &str| sd.push_str(&format!(" {k}=\"{}\"", sd_escape(v)));
    param(
        "account",
        &e.account
            .map(|a| a.to_string())
            .unwrap_or_else(|| "provider".into()),
    );
    param("seq", &r.seq.to_string());
    param("actorKind", e.actor_kind.as_str());
    param("actor", &e.actor);
    param("source", &e.source);
    param("operation", &e.operation);
    if let Some(o) = &e.object {
        param("object", o);
    }
    param("result", e.outcome.as_str());
    if let Some(reason) = &e.reason {
        param("reason", reason);
    }
    param("hash", &hex::encode(r.hash));
    sd.push(']');
    let text = match (&e.reason, &e.message) {
        (_, Some(m)) => format!("{} {} by {}: {m}", e.operation, e.outcome.as_str(), e.actor),
        (Some(reason), None) => format!(
            "{} {} by {}: {reason}",
            e.operation,
            e.outcome.as_str(),
            e.actor
        ),
        (None, None) => format!("{} {} by {}", e.operation, e.outcome.as_str(), e.actor),
    };
    format!(
        "<{}>1 {stamp} {} skms {pid} {} {sd} {text}",
        FACILITY * 8 + severity,
        header_field(hostname, 255),
        header_field(&e.operation, 32),
    )
}

fn resolve(addr: &str) -> Option<SocketAddr> {
    addr.to_socket_addrs().ok()?.next()
}

fn forward(target: Target, rx: Receiver<String>) {
    match target {
        Target::Udp(addr) => {
            let mut socket: Option<(UdpSocket, SocketAddr)> = None;
            for msg in rx {
                if socket.is_none() {
                    socket = resolve(&addr).and_then(|to| {
                        let local = if to.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
                        UdpSocket::bind(local).ok().map(|s| (s, to))
                    });
                }
                if let Some((s, to)) = &socket {
                    // One message per datagram, within the size every receiver takes.
                    let bytes = &msg.as_bytes()[..msg.len().min(8192)];
                    if s.send_to(bytes, to).is_err() {
                        socket = None;
                    }
                }
            }
        }
        Target::Tcp(addr) => {
            let mut stream: Option<TcpStream> = None;
            let mut backoff = Duration::from_millis(200);
            for msg in rx {
                loop {
                    if stream.is_none() {
                        stream = resolve(&addr).and_then(|to| {
                            TcpStream::connect_timeout(&to, Duration::from_secs(3)).ok()
                        });
                        if let Some(s) = &stream {
                            let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                            backoff = Duration::from_millis(200);
                        }
                    }
                    let Some(s) = stream.as_mut() else {
                        warn!(target = %addr, "syslog collector unreachable; retrying");
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        // Keep the newest records: this one is dropped after a failed try.
                        break;
                    };
                    let framed = format!("{} {msg}", msg.len());
                    if s.write_all(framed.as_bytes()).is_ok() {
                        break;
                    }
                    stream = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use skms_core::audit::{chain_next, ActorKind, AuditEvent};

    #[test]
    fn messages_follow_rfc_5424() {
        let r = chain_next(
            AuditEvent {
                account: None,
                time_ms: 1_796_000_000_123,
                actor_kind: ActorKind::Anonymous,
                actor: "bad\"name]\\".into(),
                source: "192.0.2.1".into(),
                operation: "auth.kmip.password".into(),
                object: None,
                outcome: Outcome::Failure,
                reason: Some("Authentication Not Successful".into()),
                message: None,
            },
            None,
        );
        let m = format_5424(&r, "kms-1", 42);
        assert!(
            m.starts_with("<108>1 2026-11-30T") && m.contains(".123Z kms-1 skms 42 auth.kmip.password [skms@32473 account=\"provider\" seq=\"1\""),
            "{m}"
        );
        assert!(m.contains(r#"actor="bad\"name\]\\""#), "{m}");
        assert!(
            m.ends_with(
                "] auth.kmip.password failure by bad\"name]\\: Authentication Not Successful"
            ),
            "{m}"
        );
        assert_eq!(
            "udp://127.0.0.1:514".parse(),
            Ok(Target::Udp("127.0.0.1:514".into()))
        );
        assert_eq!(
            "TCP://[::1]:6514".parse(),
            Ok(Target::Tcp("[::1]:6514".into()))
        );
        for bad in [
            "127.0.0.1:514",
            "http://x:1",
            "udp://nohost",
            "udp://:5",
            "udp://h:99999",
        ] {
            assert!(bad.parse::<Target>().is_err(), "{bad}");
        }
    }
}
