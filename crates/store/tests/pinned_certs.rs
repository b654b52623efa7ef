//! `app_by_pinned_cert`: certificate authentication finds the app that pinned a fingerprint.

mod common;

use common::TempDir;
use skms_core::store::Store;
use skms_store::SqliteStore;

#[test]
fn an_app_is_found_by_a_pinned_fingerprint_in_any_account() {
    let dir = TempDir::new("pinned");
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    let mut apps = Vec::new();
    for (name, pins) in [
        ("acme", vec![[1u8; 32], [2; 32]]),
        ("globex", vec![[3u8; 32]]),
    ] {
        let a = common::account(name);
        let g = common::group(a.id, "default");
        store.create_account(&a).unwrap();
        store.create_group(&g).unwrap();
        let mut app = common::app(a.id, "vcenter", &[g.id]);
        app.pinned_certs = pins;
        store.create_app(&app).unwrap();
        apps.push(app);
    }
    assert_eq!(
        store.app_by_pinned_cert(&[2; 32]).unwrap(),
        Some(apps[0].clone())
    );
    assert_eq!(
        store.app_by_pinned_cert(&[1; 32]).unwrap(),
        Some(apps[0].clone())
    );
    assert_eq!(
        store.app_by_pinned_cert(&[3; 32]).unwrap(),
        Some(apps[1].clone())
    );
    assert_eq!(store.app_by_pinned_cert(&[4; 32]).unwrap(), None);

    // unpinning takes effect
    let mut app = apps[1].clone();
    app.pinned_certs.clear();
    store.update_app(&app).unwrap();
    assert_eq!(store.app_by_pinned_cert(&[3; 32]).unwrap(), None);
}
