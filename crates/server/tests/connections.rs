//! What the KMIP listener promises about connections, over real TLS on
//! loopback: at most `max_connections` are served at once (more wait in the
//! accept queue and are served when a slot frees), a connection silent for
//! `idle_timeout` is closed, thousands of short-lived or broken connections
//! leave it serving, and `require_client_auth_eku` decides whether a client
//! certificate without the clientAuth extended key usage identifies its app.

mod common;

use common::{
    assert_discover_versions, client_config, connect, connect_with, exchange, pin, request_bytes,
    ClientCert, Fixture, TempDir,
};
use kmip::enums::{ResultReason, ResultStatus};
use kmip::messages::ResponseMessage;
use rcgen::{BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair};
use rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
use skms_core::tenancy;
use skms_server::config::Config;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;

/// The idle timeout of these tests' servers unless a test sets its own.
const IDLE: Duration = Duration::from_secs(30);

/// Starts a server on loopback (KMIP and HTTPS on free ports) with `tune`
/// applied to the test defaults (5 s handshake limit, 30 s idle), and creates
/// account "acme" with KMIP app "vcenter".
async fn start_with(name: &str, tune: impl FnOnce(&mut Config)) -> Fixture {
    common::start_with(name, IDLE, tune).await
}

/// Discover Versions (vsphere-kmip.md A1) on `s`: the server answers Success and offers KMIP 1.1.
async fn discover_versions(s: &mut TlsStream<TcpStream>) {
    let r = exchange(s, &request_bytes("A1.")).await;
    assert_discover_versions(&r);
}

/// TLS handshake then Discover Versions, from scratch.
async fn connect_and_discover(config: std::sync::Arc<rustls::ClientConfig>, addr: SocketAddr) {
    let mut s = connect_with(config, addr).await;
    discover_versions(&mut s).await;
}

/// Waits at most `limit` for the peer to close `s` (EOF or an error); how long it took.
async fn closed_within<S: AsyncReadExt + Unpin>(s: &mut S, limit: Duration) -> Option<Duration> {
    let started = Instant::now();
    let mut buf = [0u8; 1024];
    tokio::time::timeout(limit, async {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => {}
            // Session tickets and the like are not application data on a
            // TLS stream, so any byte here would be a protocol surprise.
            Ok(n) => panic!("unexpected {n} bytes from the server"),
        }
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

/// Stops the server, failing (instead of hanging) if it takes more than 10 s.
async fn stop(f: Fixture) {
    tokio::time::timeout(Duration::from_secs(10), f.server.stop())
        .await
        .expect("the server stops within 10 s");
}

#[tokio::test(flavor = "multi_thread")]
async fn at_most_max_connections_are_served_and_the_rest_wait_their_turn() {
    let f = start_with("limit", |c| c.max_connections = 2).await;
    let addr = f.server.kmip_addr;
    let config = client_config(&f, None);

    let mut a = connect(&f, None).await;
    discover_versions(&mut a).await;
    let mut b = connect(&f, None).await;
    discover_versions(&mut b).await;

    // A third client: TCP connects (the kernel's accept queue takes it), but
    // the listener does not accept it, so its handshake and request wait.
    let (tcp_up, tcp_up_rx) = tokio::sync::oneshot::channel();
    let third_config = config.clone();
    let mut third = tokio::spawn(async move {
        let tcp = TcpStream::connect(addr).await.unwrap();
        let _ = tcp_up.send(());
        let mut s = tokio_rustls::TlsConnector::from(third_config)
            .connect(
                rustls::pki_types::ServerName::try_from("localhost").unwrap(),
                tcp,
            )
            .await
            .expect("the waiting connection completes its handshake once served");
        discover_versions(&mut s).await;
        s
    });
    tokio::time::timeout(Duration::from_secs(5), tcp_up_rx)
        .await
        .expect("the third TCP connection is not refused: it waits in the accept queue")
        .unwrap();
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut third)
            .await
            .is_err(),
        "a third connection was served while max_connections = 2 were open"
    );
    // The two admitted connections are still served meanwhile.
    discover_versions(&mut a).await;
    discover_versions(&mut b).await;
    assert!(!third.is_finished(), "still waiting");

    // One of the two closes: the waiting one is served promptly.
    let closed = Instant::now();
    drop(a);
    let mut c = tokio::time::timeout(Duration::from_secs(3), &mut third)
        .await
        .expect("the waiting connection is served within 3 s of a slot freeing")
        .unwrap();
    eprintln!(
        "the waiting connection was served {:?} after a slot freed",
        closed.elapsed()
    );
    discover_versions(&mut c).await;

    // Slots are given back every time: b and c are held, so a fourth waits…
    let fourth_config = config.clone();
    let mut fourth = tokio::spawn(connect_and_discover(fourth_config, addr));
    assert!(
        tokio::time::timeout(Duration::from_secs(1), &mut fourth)
            .await
            .is_err(),
        "a fourth connection was served while two were open"
    );
    // …until c ends with a close_notify this time (not just a dropped socket).
    c.shutdown().await.unwrap();
    drop(c);
    tokio::time::timeout(Duration::from_secs(3), &mut fourth)
        .await
        .expect("the fourth is served once c closes")
        .unwrap();

    // Once all are closed, two at once are served again without waiting.
    drop(b);
    let started = Instant::now();
    let (x, y) = tokio::join!(
        tokio::time::timeout(
            Duration::from_secs(5),
            connect_and_discover(config.clone(), addr)
        ),
        tokio::time::timeout(
            Duration::from_secs(5),
            connect_and_discover(config.clone(), addr)
        ),
    );
    x.expect("served");
    y.expect("served");
    assert!(started.elapsed() < Duration::from_secs(5));
    stop(f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn silent_connections_are_closed_after_the_idle_timeout_and_busy_ones_stay() {
    let f = start_with("idle", |c| {
        c.idle_timeout = Duration::from_secs(1);
        c.handshake_timeout = Duration::from_secs(1);
    })
    .await;
    let addr = f.server.kmip_addr;

    // Silent from the start: closed after about a second.
    let mut silent = connect(&f, None).await;
    let took = closed_within(&mut silent, Duration::from_secs(5))
        .await
        .expect("a silent connection is closed by the server within 5 s (idle_timeout = 1 s)");
    assert!(
        took >= Duration::from_millis(800),
        "closed after {took:?}, before the idle timeout"
    );

    // Silent after a request: the timeout counts from the last response.
    let mut after_one = connect(&f, None).await;
    discover_versions(&mut after_one).await;
    closed_within(&mut after_one, Duration::from_secs(5))
        .await
        .expect("silent after a request: closed within 5 s");

    // A request every 0.5 s keeps a connection open well past the timeout.
    let mut busy = connect(&f, None).await;
    let started = Instant::now();
    while started.elapsed() < Duration::from_millis(2500) {
        discover_versions(&mut busy).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    discover_versions(&mut busy).await;
    // …and once it falls silent, it is closed too.
    closed_within(&mut busy, Duration::from_secs(5))
        .await
        .expect("closed once silent");

    // Half a message and then silence (a slow-loris) is no way around it.
    let mut partial = connect(&f, None).await;
    partial
        .write_all(&request_bytes("A1.")[..12])
        .await
        .unwrap();
    partial.flush().await.unwrap();
    closed_within(&mut partial, Duration::from_secs(5))
        .await
        .expect("a connection stalled inside a message is closed within 5 s");

    // Neither is a TCP connection that never starts its handshake (handshake_timeout = 1 s).
    let mut raw = TcpStream::connect(addr).await.unwrap();
    closed_within(&mut raw, Duration::from_secs(5))
        .await
        .expect("a connection without a ClientHello is closed within 5 s");

    // The listener still serves.
    let mut s = connect(&f, None).await;
    discover_versions(&mut s).await;
    drop(s);
    stop(f).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn many_short_connections_probes_and_garbage_leave_the_listener_serving() {
    // A small limit, so that a connection slot leaked by any of these paths
    // would show as a listener that stops serving.
    const LIMIT: usize = 16;
    let f = start_with("many", |c| {
        c.max_connections = LIMIT;
        c.handshake_timeout = Duration::from_secs(2);
    })
    .await;
    let addr = f.server.kmip_addr;
    let config = client_config(&f, None);
    let started = Instant::now();

    // 16 tasks × 13 connections: handshake, Discover Versions, close.
    let mut served = Vec::new();
    for _ in 0..16 {
        let config = config.clone();
        served.push(tokio::spawn(async move {
            for _ in 0..13 {
                let mut s = connect_with(config.clone(), addr).await;
                discover_versions(&mut s).await;
                s.shutdown().await.unwrap();
            }
        }));
    }
    // 100 health-check probes: handshake, then close without a message.
    let mut probes = Vec::new();
    for _ in 0..100 {
        let config = config.clone();
        probes.push(tokio::spawn(async move {
            let mut s = connect_with(config, addr).await;
            let _ = s.shutdown().await;
        }));
    }
    // 100 connections that send garbage instead of a ClientHello: the server closes them.
    let mut garbage = Vec::new();
    for i in 0..100u32 {
        garbage.push(tokio::spawn(async move {
            let mut tcp = TcpStream::connect(addr).await.unwrap();
            let junk: Vec<u8> = (0..300u32).map(|j| (i * 31 + j * 7) as u8).collect();
            let _ = tcp.write_all(&junk).await;
            let mut sink = Vec::new();
            // Closed (EOF, or reset after an alert) rather than left hanging.
            tokio::time::timeout(Duration::from_secs(30), tcp.read_to_end(&mut sink))
                .await
                .expect("a connection that sent garbage is closed by the server")
        }));
    }
    let all = async {
        for t in served {
            t.await.unwrap();
        }
        for t in probes {
            t.await.unwrap();
        }
        for t in garbage {
            let _ = t.await.unwrap();
        }
    };
    tokio::time::timeout(Duration::from_secs(120), all)
        .await
        .expect("400 connections end within 120 s");
    eprintln!("400 connections in {:?}", started.elapsed());

    // Every slot was given back: LIMIT connections held at once are all served, promptly.
    let started = Instant::now();
    let mut held = Vec::new();
    for _ in 0..LIMIT {
        let mut s =
            tokio::time::timeout(Duration::from_secs(5), connect_with(config.clone(), addr))
                .await
                .expect("a free slot for each of max_connections connections");
        tokio::time::timeout(Duration::from_secs(5), discover_versions(&mut s))
            .await
            .expect("served");
        held.push(s);
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    drop(held);
    stop(f).await;
}

/// A key pair and a certificate `params` makes for it, signed by itself or by `issuer`.
fn cert(mut params: CertificateParams, issuer: Option<&rcgen::Issuer<'_, &KeyPair>>) -> ClientCert {
    let key = KeyPair::generate().unwrap();
    params.key_usages = vec![rcgen::KeyUsagePurpose::DigitalSignature];
    let c = match issuer {
        Some(i) => params.signed_by(&key, i).unwrap(),
        None => params.self_signed(&key).unwrap(),
    };
    ClientCert {
        der: c.der().clone(),
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

/// Certificate parameters with subject CN `cn` and extended key usages `eku` (none: no extension).
fn params(cn: &str, eku: &[ExtendedKeyUsagePurpose]) -> CertificateParams {
    let mut p = CertificateParams::new(vec![]).unwrap();
    p.distinguished_name.push(DnType::CommonName, cn);
    p.extended_key_usages = eku.to_vec();
    p
}

/// Trusts `ca` (DER) for the fixture's app.
async fn trust(f: &Fixture, ca: Vec<u8>) {
    let store = f.server.store.clone();
    let id = f.app.id;
    tokio::task::spawn_blocking(move || {
        let mut app = skms_core::store::Store::app(&*store, id).unwrap().unwrap();
        tenancy::trust_ca(&*store, &mut app, &ca).unwrap();
    })
    .await
    .unwrap();
}

/// Whether a Create over a connection presenting `cert` (and no credential) is
/// served as the app; panics on anything but "authenticated" or "Authentication
/// Not Successful".
async fn authenticates(f: &Fixture, cert: &ClientCert) -> bool {
    let mut s = connect(f, Some(cert)).await;
    discover_versions(&mut s).await;
    let r: ResponseMessage = exchange(&mut s, &request_bytes("A4.")).await;
    let item = &r.batch_items[0];
    if item.result_reason == Some(ResultReason::AUTHENTICATION_NOT_SUCCESSFUL) {
        assert_eq!(item.result_status, ResultStatus::OPERATION_FAILED);
        return false;
    }
    // Create answers Operation Not Supported until the operations land, then
    // Success; either way it was served as an authenticated app.
    assert!(
        item.result_status == ResultStatus::SUCCESS
            || item.result_reason == Some(ResultReason::OPERATION_NOT_SUPPORTED),
        "{item:?}"
    );
    true
}

#[tokio::test(flavor = "multi_thread")]
async fn require_client_auth_eku_decides_whether_a_certificate_without_client_auth_identifies() {
    use ExtendedKeyUsagePurpose::{ClientAuth, ServerAuth};
    let pinned_no_eku = cert(params("kmipClient-no-eku", &[]), None);
    let pinned_server_auth = cert(params("kmipClient-serverAuth", &[ServerAuth]), None);
    let pinned_client_auth = cert(params("kmipClient-clientAuth", &[ClientAuth]), None);
    let pinned_both = cert(params("kmipClient-both", &[ServerAuth, ClientAuth]), None);
    let unknown_client_auth = cert(params("kmipClient-unknown", &[ClientAuth]), None);

    for require in [false, true] {
        let f = start_with(&format!("eku-{require}"), |c| {
            c.require_client_auth_eku = require
        })
        .await;
        // An app CA and certificates it issues to CN = the app id, with and without clientAuth.
        let ca_key = KeyPair::generate().unwrap();
        let mut ca_params = params("vCenter VMCA", &[]);
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_der = ca_params.self_signed(&ca_key).unwrap().der().to_vec();
        let issuer = rcgen::Issuer::new(ca_params, &ca_key);
        let app_id = f.app.id.to_string();
        let issued_server_auth = cert(params(&app_id, &[ServerAuth]), Some(&issuer));
        let issued_no_eku = cert(params(&app_id, &[]), Some(&issuer));
        let issued_client_auth = cert(params(&app_id, &[ClientAuth]), Some(&issuer));
        trust(&f, ca_der).await;
        for c in [
            &pinned_no_eku,
            &pinned_server_auth,
            &pinned_client_auth,
            &pinned_both,
        ] {
            pin(&f, c).await;
        }

        for (what, c, with_eku) in [
            ("pinned, no EKU extension", &pinned_no_eku, false),
            ("pinned, serverAuth only", &pinned_server_auth, false),
            ("pinned, clientAuth", &pinned_client_auth, true),
            ("pinned, serverAuth and clientAuth", &pinned_both, true),
            ("issued by the app's CA, no EKU", &issued_no_eku, false),
            (
                "issued by the app's CA, serverAuth only",
                &issued_server_auth,
                false,
            ),
            (
                "issued by the app's CA, clientAuth",
                &issued_client_auth,
                true,
            ),
        ] {
            let expected = with_eku || !require;
            assert_eq!(
                authenticates(&f, c).await,
                expected,
                "{what} with require_client_auth_eku = {require}"
            );
            eprintln!("require_client_auth_eku = {require}: {what}: ok");
        }
        // A certificate nobody pinned identifies nobody, clientAuth or not.
        assert!(!authenticates(&f, &unknown_client_auth).await);

        stop(f).await;
    }
}

/// A TLS connection whose socket buffers are small, so that a peer that
/// stops reading fills them quickly.
async fn connect_small_buffers(f: &Fixture) -> TlsStream<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    socket.set_send_buffer_size(4096).unwrap();
    let tcp = socket.connect(f.server.kmip_addr).await.unwrap();
    tokio_rustls::TlsConnector::from(client_config(f, None))
        .connect(
            rustls::pki_types::ServerName::try_from("localhost").unwrap(),
            tcp,
        )
        .await
        .unwrap()
}

// SUSPECTED BUG (crates/server/src/kmip_listener.rs, `serve_connection`): the
// idle timeout and the shutdown broadcast only guard the *read* of a request;
// writing the response (`conn.respond(..)`) has no time limit and is not
// raced against shutdown. A client that sends requests and never reads the
// responses leaves its connection task blocked in `write_all` for ever: it
// holds one of the `max_connections` slots for good (enough such clients stop
// the listener serving anyone) and `Running::stop` never returns.
// This test asserts the behaviour we expect (the stalled connection is given up
// after about the idle timeout); it fails until the listener bounds its writes.
#[tokio::test(flavor = "multi_thread")]
async fn a_client_that_never_reads_its_responses_does_not_hold_a_slot_for_ever() {
    let f = start_with("no-reader", |c| {
        c.max_connections = 1;
        c.idle_timeout = Duration::from_secs(1);
    })
    .await;
    let config = client_config(&f, None);
    let addr = f.server.kmip_addr;

    // Pipeline Discover Versions without reading a single response, until the
    // server stops reading because its own writes are blocked.
    let mut s = connect_small_buffers(&f).await;
    let burst = request_bytes("A1.").repeat(100);
    let mut sent = 0usize;
    let started = Instant::now();
    loop {
        match tokio::time::timeout(Duration::from_secs(2), s.write_all(&burst)).await {
            Ok(Ok(())) => sent += 100,
            Ok(Err(_)) => break, // the server gave up on us: fine
            Err(_) => break,     // our writes stalled: the server no longer reads
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "still writing after 60 s ({sent} requests): the server never stalled"
        );
    }
    eprintln!(
        "{sent} requests sent before writes stalled ({:?})",
        started.elapsed()
    );

    // The only slot should come free once the stalled connection is given up.
    let served =
        tokio::time::timeout(Duration::from_secs(6), connect_and_discover(config, addr)).await;
    assert!(
        served.is_ok(),
        "a client that never reads held the only connection slot for 6 s (idle_timeout = 1 s)"
    );
    let stopped = tokio::time::timeout(Duration::from_secs(5), f.server.stop()).await;
    assert!(
        stopped.is_ok(),
        "the server did not stop within 5 s while a client was not reading"
    );
    drop(s);
}

// REVEALS A BUG (crates/server/src/kmip_listener.rs, `KmipListener::run`, its
// first line `let mut stop = shutdown.subscribe();`; the REST listener
// `rest::serve` in crates/server/src/rest.rs does the same): the listener
// subscribes to the shutdown broadcast only when its spawned task first runs.
// A tokio broadcast receiver sees only messages sent after it subscribed, so a
// shutdown sent before that first poll is lost and the listener never stops:
// `Running::stop` (and `skms serve` after an early SIGTERM) waits for ever.
// On a current-thread runtime the spawned tasks cannot run before `stop`
// sends, so this is deterministic here; on the multi-thread runtime of
// `skms serve` it is a race (seen in crates/skms/tests/signals.rs).
// Expected: a stop right after start stops. (Subscribe before spawning and
// hand the receiver to the task, or use a level-triggered signal such as a
// `watch` channel or a cancellation token.)
#[tokio::test(flavor = "current_thread")]
async fn a_stop_right_after_start_stops() {
    let dir = TempDir::new("early-stop");
    let config = Config {
        data_dir: dir.0.join("data"),
        kmip_addr: "127.0.0.1:0".parse().unwrap(),
        https_addr: "127.0.0.1:0".parse().unwrap(),
        ..Config::default()
    };
    // Nothing awaited between start and stop (as when a signal comes at once).
    let server = skms_server::start(&config).await.unwrap();
    let addr = server.kmip_addr;
    tokio::time::timeout(Duration::from_secs(5), server.stop())
        .await
        .expect("the server stops within 5 s when stopped right after it started");
    // And it no longer serves.
    let tcp = TcpStream::connect(addr).await;
    assert!(tcp.is_err(), "still accepting connections after stop");
}
