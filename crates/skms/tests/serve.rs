//! `skms serve` as a process: first start on an empty data directory, the
//! files it creates (private keys never in the clear), then a KMIP exchange.

mod common;

use std::time::Duration;

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
    let mut tls = common::kmip_connect(port, &ca_path);
    tls.get_ref()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    // vsphere-kmip.md A1: Discover Versions, no batch id, empty payload.
    let dv = skms_test_support::vcenter::request("A1.");
    let response = common::kmip_exchange(&mut tls, dv);
    assert_eq!(
        response.batch_items[0].result_status,
        kmip::enums::ResultStatus::SUCCESS
    );
    drop(tls);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
