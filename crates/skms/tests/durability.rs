//! The key hierarchy and durability as a user meets them: Creates that the
//! server acknowledged survive `kill -9` of `skms serve`, and the key bytes a
//! client fetched appear nowhere on disk — not in the database, its WAL, nor
//! the server's debug log.

mod common;

use kmip::objects::Object;

#[test]
fn acknowledged_creates_survive_kill_9_and_key_bytes_never_reach_disk_or_logs() {
    let dir = common::temp_dir("durability");
    let log = dir.join("server.log");
    let (user, pass);
    let ca = dir.join("ca.crt");

    // Create keys; every acknowledged one is recorded; then kill -9 right after an acknowledgement.
    let mut acked = Vec::new();
    {
        let mut server = common::serve_logging(&dir, Some(&log));
        let tenant = server.tenant("Acme", "vcenter");
        (user, pass) = (tenant.username, tenant.password);
        let mut s = common::kmip_connect(server.port, &ca);
        for _ in 0..40 {
            acked.push(common::kmip_create_aes_256(&mut s, &user, &pass));
        }
        server.child.0.kill().unwrap(); // SIGKILL: no shutdown, no flush
        server.child.0.wait().unwrap();
    }

    // Restarted, the server has every acknowledged key; collect their bytes.
    let server = common::serve_logging(&dir, Some(&log));
    let mut s = common::kmip_connect(server.port, &ca);
    let mut keys = Vec::new();
    for uid in &acked {
        let g = common::kmip_get(&mut s, &user, &pass, uid);
        let Object::SymmetricKey(k) = &g.object else {
            panic!("{g:?}")
        };
        let bytes = k
            .key_block
            .key_bytes()
            .expect("raw key")
            .as_slice()
            .to_vec();
        assert_eq!(bytes.len(), 32);
        keys.push(bytes);
    }
    drop(s);
    drop(server);

    // Nowhere on disk: every file of the data dir (database, WAL, sealed keys, log).
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        if !p.is_file() {
            continue;
        }
        files += 1;
        let bytes = std::fs::read(&p).unwrap();
        let text = String::from_utf8_lossy(&bytes).to_lowercase();
        for k in &keys {
            assert!(
                !bytes.windows(32).any(|w| w == k.as_slice()),
                "key bytes in {}",
                p.display()
            );
            assert!(
                !text.contains(&hex::encode(k)),
                "key hex in {}",
                p.display()
            );
        }
        assert!(!text.contains(&pass), "the app secret in {}", p.display());
    }
    assert!(files >= 3, "the data dir and the log were scanned");
    assert!(
        std::fs::metadata(&log).unwrap().len() > 0,
        "the server logged at debug level"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
