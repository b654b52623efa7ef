//! `skms serve --storage-url postgres://…`: the server keeps its store in
//! PostgreSQL (a throwaway cluster on loopback that this test starts, see
//! crates/store/tests/common/pg.rs) and serves as it does on SQLite: an
//! account, an app, a KMIP Create and Get (warm Gets read nothing from the
//! database), and `/v1/ready` is ready.

mod common;
#[path = "../../store/tests/common/pg.rs"]
mod pg;

use common::{kmip_connect, kmip_create_aes_256, kmip_get, rest_client, serve_with_args, temp_dir};
use std::time::Duration;

#[test]
fn serve_on_postgresql() {
    let cluster = pg::PgCluster::start();
    let url = cluster.fresh_database();
    let dir = temp_dir("postgres-serve");
    let log = dir.with_extension("log");
    let server = serve_with_args(&dir, &["--storage-url", &url], Some(&log));
    assert!(
        !dir.join("skms.db").exists(),
        "the store is in PostgreSQL, not in the data directory"
    );
    assert!(dir.join("root.key").exists() && dir.join("ca.crt").exists());

    let tenant = server.tenant("acme", "vcenter");
    let mut s = kmip_connect(server.port, &dir.join("ca.crt"));
    let uid = kmip_create_aes_256(&mut s, &tenant.username, &tenant.password);
    let got = kmip_get(&mut s, &tenant.username, &tenant.password, &uid);
    assert_eq!(got.unique_identifier, uid);

    // Warm: more Gets (each with the app's credential, as vCenter sends it)
    // read nothing from PostgreSQL; only the audit records are written.
    let reads = |what: &str| {
        common::metric(
            &server,
            &format!("skms_store_operation_duration_seconds_count{{operation=\"{what}\"}}"),
        )
    };
    let warm = ["object", "app", "account", "app_by_pinned_cert"].map(reads);
    for _ in 0..50 {
        let got = kmip_get(&mut s, &tenant.username, &tenant.password, &uid);
        assert_eq!(got.unique_identifier, uid);
    }
    assert_eq!(
        ["object", "app", "account", "app_by_pinned_cert"].map(reads),
        warm,
        "50 warm Gets asked PostgreSQL for nothing"
    );
    assert!(
        common::metric(
            &server,
            "skms_cache_lookups_total{kind=\"object\",result=\"hit\"}"
        ) >= 50
    );
    assert_eq!(common::metric(&server, "skms_cache_live"), 1);

    let (client, base) = rest_client(&server);
    let ready = client
        .get(format!("{base}/v1/ready"))
        .timeout(Duration::from_secs(30))
        .send()
        .unwrap();
    let status = ready.status();
    let body = ready.text().unwrap();
    assert!(status.is_success(), "{status}: {body}");
    assert!(body.contains("\"ready\""), "{body}");

    // A second start on the same database finds everything in place.
    server.terminate();
    let again = serve_with_args(&dir, &["--storage-url", &url], Some(&log));
    let mut s = kmip_connect(again.port, &dir.join("ca.crt"));
    let got = kmip_get(&mut s, &tenant.username, &tenant.password, &uid);
    assert_eq!(got.unique_identifier, uid);
    again.terminate();
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::remove_file(&log);
}
