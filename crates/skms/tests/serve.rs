//! `skms serve` as a process: first start on an empty data directory, the
//! files it creates (private keys never in the clear), then a KMIP exchange.

mod common;

use std::io::{Read, Write};
use std::sync::Arc;
use std::time::Duration;

/// vsphere-kmip.md A1: Discover Versions, no batch id, empty payload.
const DV: &str = "42007801000000604200770100000038420069010000002042006a0200000004000000010000000042006b0200000004000000010000000042000d0200000004000000010000000042000f010000001842005c05000000040000001e000000004200790100000000";

#[test]
fn first_start_creates_the_data_dir_and_serves_kmip() {
    let dir = common::temp_dir("serve");
    let server = common::serve(&dir);
    let port = server.port;
    let text = server.stdout.clone();
    for what in [
        "database",
        "root key",
        "server CA",
        "server certificate",
        "CA certificate",
    ] {
        assert!(text.contains(what), "stdout names {what}: {text}");
    }
    assert!(text.contains(&format!("127.0.0.1:{port}")), "{text}");
    let ca_path = dir.join("ca.crt");
    assert!(text.contains(&ca_path.display().to_string()), "{text}");

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for f in ["root.key", "ca.key.sealed", "server.key.sealed"] {
            let mode = std::fs::metadata(dir.join(f)).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{f}");
        }
    }
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let bytes = std::fs::read(&p).unwrap();
        assert!(
            !bytes.windows(11).any(|w| w == b"PRIVATE KEY"),
            "{} holds a private key in the clear",
            p.display()
        );
    }

    // Discover Versions over TLS, trusting the generated CA.
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    for c in rustls::pki_types::CertificateDer::pem_file_iter(&ca_path).unwrap() {
        roots.add(c.unwrap()).unwrap();
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::aws_lc_rs::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_root_certificates(roots)
    .with_no_client_auth();
    let conn =
        rustls::ClientConnection::new(Arc::new(config), "localhost".try_into().unwrap()).unwrap();
    let tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut tls = rustls::StreamOwned::new(conn, tcp);
    tls.write_all(&hex::decode(DV).unwrap()).unwrap();
    let mut head = [0u8; 8];
    tls.read_exact(&mut head).unwrap();
    let mut body = vec![0u8; kmip::binary::frame_len(&head).unwrap() - 8];
    tls.read_exact(&mut body).unwrap();
    let response = kmip::messages::ResponseMessage::decode(
        &[&head[..], &body].concat(),
        &kmip::binary::Limits::default(),
    )
    .unwrap();
    assert_eq!(
        response.batch_items[0].result_status,
        kmip::enums::ResultStatus::SUCCESS
    );
    drop(tls);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
