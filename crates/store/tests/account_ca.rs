//! Account CAs in the SQLite file: never a private key in the clear, there
//! after reopening, and made on first use for accounts of a database created
//! before migration 4.

mod common;

use common::TempDir;
use skms_core::ca;
use skms_core::keys::{FileRoot, RootOfTrust};
use skms_core::model::AuthMethod;
use skms_core::store::Store;
use skms_core::tenancy::{self, Keyring, NewApp};
use skms_store::{SqliteStore, SCHEMA_VERSION};
use std::sync::Arc;

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

fn app(name: &str) -> NewApp {
    NewApp {
        name: name.into(),
        description: String::new(),
        kmip: true,
        rest: false,
        auth_method: AuthMethod::ApiKey,
        groups: vec![],
        default_group: None,
    }
}

/// The 32-byte private scalar inside an EC PKCS#8 key (its ECPrivateKey:
/// `INTEGER 1, OCTET STRING (32 bytes)`).
fn ec_scalar(pkcs8: &[u8]) -> Vec<u8> {
    let at = pkcs8
        .windows(5)
        .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
        .expect("an EC private key");
    pkcs8[at + 5..at + 37].to_vec()
}

fn file_bytes(dir: &TempDir) -> Vec<u8> {
    let mut raw = std::fs::read(dir.join("skms.db")).unwrap();
    raw.extend(std::fs::read(dir.join("skms.db-wal")).unwrap_or_default());
    raw
}

#[test]
fn no_ca_key_in_the_clear_and_everything_there_after_reopening() {
    let dir = TempDir::new("account-ca");
    let (root, _) = FileRoot::open_or_create(&dir.join("root.key")).unwrap();
    let root: Arc<dyn RootOfTrust> = Arc::new(root);
    let keyring = Keyring::new(root.clone());
    let t = now();
    let (acme, vcenter, issued, the_ca, held) = {
        let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
        let (acme, _) = tenancy::create_account(&store, &*root, "Acme", t).unwrap();
        let (mut vcenter, _) =
            tenancy::create_app(&store, &keyring, acme.id, app("vcenter"), t).unwrap();
        let issued = ca::issue_client_certificate(&store, &keyring, &mut vcenter, 90, t).unwrap();
        let the_ca = store.account_ca(acme.id).unwrap().unwrap();
        let held = ca::certificates(&store, &keyring, acme.id, t).unwrap();
        (acme, vcenter, issued, the_ca, held)
    };

    // The CA's private key (PKCS#8 and its bare scalar) and the issued
    // certificate's key are nowhere in the file; the certificates are.
    let key = keyring.account_key(&acme).unwrap();
    let pkcs8 = key
        .open(&the_ca.sealed_key, &ca::ca_key_aad(acme.id))
        .unwrap();
    let raw = file_bytes(&dir);
    let found = |needle: &[u8]| raw.windows(needle.len()).any(|w| w == needle);
    assert!(
        !found(&pkcs8),
        "the CA's PKCS#8 key is in the database file"
    );
    assert!(
        !found(&ec_scalar(&pkcs8)),
        "the CA's private key is in the database file"
    );
    // certs::from_pem decodes the blocks labelled CERTIFICATE: relabel the key's.
    let client_key =
        skms_core::certs::from_pem(&issued.key_pem.replace("PRIVATE KEY", "CERTIFICATE"))
            .unwrap()
            .remove(0);
    assert!(
        !found(&ec_scalar(&client_key)),
        "an issued key is in the database file"
    );
    assert!(found(&the_ca.cert_der) && found(&issued.cert.der));

    // Reopened (twice: migrations are idempotent), everything reads back the same.
    for _ in 0..2 {
        let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
        assert_eq!(store.account_ca(acme.id).unwrap(), Some(the_ca.clone()));
        assert_eq!(store.app(vcenter.id).unwrap(), Some(vcenter.clone()));
        let keyring = Keyring::new(root.clone());
        assert_eq!(
            ca::account_ca(&store, &keyring, acme.id, t + 5).unwrap(),
            the_ca
        );
        // (the second time, with the certificate issued below the first time)
        assert!(ca::certificates(&store, &keyring, acme.id, t)
            .unwrap()
            .starts_with(&held));
        // The stored CA still signs.
        let mut again = store.app(vcenter.id).unwrap().unwrap();
        let next = ca::issue_client_certificate(&store, &keyring, &mut again, 1, t).unwrap();
        assert_eq!(next.cert.ca_der, the_ca.cert_der);
    }
}

#[test]
fn accounts_of_a_database_from_before_account_cas_get_one_on_first_use() {
    let dir = TempDir::new("upgrade");
    let path = dir.join("skms.db");
    let (root, _) = FileRoot::open_or_create(&dir.join("root.key")).unwrap();
    let root: Arc<dyn RootOfTrust> = Arc::new(root);
    let t = now();
    let (acme, vcenter) = {
        let store = SqliteStore::open(&path).unwrap();
        let keyring = Keyring::new(root.clone());
        let (acme, _) = tenancy::create_account(&store, &*root, "Acme", t).unwrap();
        let (mut vcenter, _) =
            tenancy::create_app(&store, &keyring, acme.id, app("vcenter"), t).unwrap();
        // Pinned the old way: by fingerprint only (any certificate will do).
        let old_ca = store.account_ca(acme.id).unwrap().unwrap();
        tenancy::pin_certificate(&store, &mut vcenter, &old_ca.cert_der).unwrap();
        (acme, vcenter)
    };
    // As a database written before account CAs existed is once migration 4
    // has run: its tables there, empty (no CA, pinned certificates known by
    // fingerprint only). Emptying them, rather than rolling the version back
    // to 3, keeps the later migrations from running a second time.
    {
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch("DELETE FROM app_certs; DELETE FROM account_cas;")
            .unwrap();
    }
    let made = {
        let store = SqliteStore::open(&path).unwrap();
        let keyring = Keyring::new(root.clone());
        const { assert!(SCHEMA_VERSION >= 4) };
        assert_eq!(store.account(acme.id).unwrap(), Some(acme.clone()));
        assert_eq!(
            store.account_ca(acme.id).unwrap(),
            None,
            "migrated, no CA yet"
        );
        // The first use makes it.
        let mut app = store.app(vcenter.id).unwrap().unwrap();
        let issued = ca::issue_client_certificate(&store, &keyring, &mut app, 30, t).unwrap();
        let made = store.account_ca(acme.id).unwrap().unwrap();
        assert_eq!(issued.cert.ca_der, made.cert_der);
        // The certificate pinned before is listed by fingerprint, its details unknown.
        let held = ca::certificates(&store, &keyring, acme.id, t).unwrap();
        let pinned: Vec<_> = held
            .iter()
            .filter(|h| h.role == ca::CertRole::Pinned)
            .collect();
        assert_eq!(pinned.len(), 1);
        assert_eq!(pinned[0].sha256, vcenter.pinned_certs[0]);
        assert_eq!((&pinned[0].info, pinned[0].days_left), (&None, None));
        made
    };
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.account_ca(acme.id).unwrap(), Some(made));
}
