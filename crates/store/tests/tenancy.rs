//! Tenancy over the real SQLite store and a real file root of trust: accounts
//! get wrapped keys that only their own context unwraps, apps authenticate by
//! secret (and every failure looks alike), and an app's groups stay in its account.

use skms_core::keys::{FileRoot, Key256, RootOfTrust};
use skms_core::model::AuthMethod;
use skms_core::store::Store;
use skms_core::tenancy::{self, Keyring, NewApp, TenancyError, DEFAULT_GROUP};
use skms_store::SqliteStore;
use std::path::PathBuf;
use std::sync::Arc;

fn dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("skms-tenancy-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn app(name: &str) -> NewApp {
    NewApp {
        name: name.into(),
        description: "vCenter of site A".into(),
        kmip: true,
        rest: false,
        auth_method: AuthMethod::ApiKey,
        groups: vec![],
        default_group: None,
    }
}

#[test]
fn accounts_apps_and_secrets() {
    let d = dir("main");
    let store = SqliteStore::open(&d.join("skms.db")).unwrap();
    let (root, created) = FileRoot::open_or_create(&d.join("root.key")).unwrap();
    assert!(created);
    let root: Arc<dyn RootOfTrust> = Arc::new(root);

    let (acme, default) = tenancy::create_account(&store, &*root, "Acme", 1).unwrap();
    assert_eq!(default.name, DEFAULT_GROUP);
    assert_eq!(store.groups(acme.id).unwrap(), vec![default.clone()]);
    let (other, _) = tenancy::create_account(&store, &*root, "Other", 1).unwrap();
    assert!(
        tenancy::create_account(&store, &*root, "Acme", 2).is_err(),
        "account names are unique"
    );
    assert!(matches!(
        tenancy::create_account(&store, &*root, " ", 2),
        Err(TenancyError::Invalid(_))
    ));

    // The account key unwraps under its own account only.
    let keyring = Keyring::new(root.clone());
    let k1 = keyring.account_key(&acme).unwrap();
    let k2 = keyring.account_key(&other).unwrap();
    assert_ne!(k1.expose(), k2.expose());
    let mut swapped = other.clone();
    swapped.wrapped_key = acme.wrapped_key.clone();
    assert!(
        Keyring::new(root.clone()).account_key(&swapped).is_err(),
        "a wrapped key moved to another account does not open"
    );

    // An app: its secret verifies, nothing else does, and failures look alike.
    let (vcenter, secret) =
        tenancy::create_app(&store, &keyring, acme.id, app("vcenter"), 3).unwrap();
    // The admin can view the credentials again: the secret comes back unsealed.
    assert_eq!(
        tenancy::app_secret(&store, &keyring, &vcenter)
            .unwrap()
            .expose(),
        secret.expose()
    );
    // Sealed for this app only: moved to another app, it does not open.
    let mut moved = vcenter.clone();
    moved.id = skms_core::ids::AppId::new();
    assert!(tenancy::app_secret(&store, &keyring, &moved).is_err());
    assert_eq!(vcenter.groups, vec![default.id]);
    assert_eq!(vcenter.default_group, default.id);
    let user = vcenter.id.to_string();
    let ok = tenancy::authenticate_secret(&store, &user, secret.expose()).unwrap();
    assert_eq!(ok.map(|a| a.id), Some(vcenter.id));
    assert!(tenancy::authenticate_secret(&store, &user, "wrong")
        .unwrap()
        .is_none());
    assert!(
        tenancy::authenticate_secret(&store, "not-a-uuid", secret.expose())
            .unwrap()
            .is_none()
    );
    let stranger = skms_core::ids::AppId::new().to_string();
    assert!(
        tenancy::authenticate_secret(&store, &stranger, secret.expose())
            .unwrap()
            .is_none()
    );

    // A reset secret replaces the old one.
    let mut again = store.app(vcenter.id).unwrap().unwrap();
    let new_secret = tenancy::reset_secret(&store, &keyring, &mut again).unwrap();
    assert_eq!(
        tenancy::app_secret(&store, &keyring, &again)
            .unwrap()
            .expose(),
        new_secret.expose()
    );
    assert!(tenancy::authenticate_secret(&store, &user, secret.expose())
        .unwrap()
        .is_none());
    assert!(
        tenancy::authenticate_secret(&store, &user, new_secret.expose())
            .unwrap()
            .is_some()
    );

    // An app switched to certificate authentication no longer takes its secret.
    tenancy::set_auth_method(&store, &mut again, AuthMethod::Certificate).unwrap();
    assert!(
        tenancy::authenticate_secret(&store, &user, new_secret.expose())
            .unwrap()
            .is_none()
    );
    tenancy::set_auth_method(&store, &mut again, AuthMethod::ApiKey).unwrap();
    assert!(
        tenancy::authenticate_secret(&store, &user, new_secret.expose())
            .unwrap()
            .is_some()
    );

    // A disabled app does not authenticate.
    again.enabled = false;
    store.update_app(&again).unwrap();
    assert!(
        tenancy::authenticate_secret(&store, &user, new_secret.expose())
            .unwrap()
            .is_none()
    );

    // An app cannot be given another account's group; an app needs an interface.
    let foreign = store.groups(other.id).unwrap()[0].id;
    let mut bad = app("intruder");
    bad.groups = vec![foreign];
    assert!(matches!(
        tenancy::create_app(&store, &keyring, acme.id, bad, 4),
        Err(TenancyError::Invalid(_))
    ));
    let mut none = app("mute");
    none.kmip = false;
    assert!(matches!(
        tenancy::create_app(&store, &keyring, acme.id, none, 4),
        Err(TenancyError::Invalid(_))
    ));

    // The store never holds the secret or the account key in the clear.
    drop(store);
    let mut raw = std::fs::read(d.join("skms.db")).unwrap();
    raw.extend(std::fs::read(d.join("skms.db-wal")).unwrap_or_default());
    for needle in [
        new_secret.expose().as_bytes(),
        secret.expose().as_bytes(),
        &k1.expose()[..],
        &k2.expose()[..],
    ] {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "a secret is in the database file"
        );
    }
    let _ = Key256::generate();
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn verified_secrets_cache_never_outlives_a_change() {
    use skms_core::tenancy::VerifiedSecrets;
    use std::time::Duration;
    let d = dir("cache");
    let store = SqliteStore::open(&d.join("skms.db")).unwrap();
    let (root, _) = FileRoot::open_or_create(&d.join("root.key")).unwrap();
    let root: Arc<dyn RootOfTrust> = Arc::new(root);
    let keyring = Keyring::new(root.clone());
    let (acme, _) = tenancy::create_account(&store, &*root, "Acme", 1).unwrap();
    let (app, secret) = tenancy::create_app(&store, &keyring, acme.id, app("vcenter"), 2).unwrap();
    let user = app.id.to_string();
    let cache = VerifiedSecrets::new(Duration::from_secs(60), 10).unwrap();

    // Verified once, then answered from the cache; a wrong secret is never cached into success.
    for _ in 0..3 {
        assert!(cache
            .authenticate(&store, &user, secret.expose())
            .unwrap()
            .is_some());
        assert!(cache
            .authenticate(&store, &user, "wrong")
            .unwrap()
            .is_none());
    }
    // A reset secret invalidates the cached one at once.
    let mut current = store.app(app.id).unwrap().unwrap();
    let new_secret = tenancy::reset_secret(&store, &keyring, &mut current).unwrap();
    assert!(cache
        .authenticate(&store, &user, secret.expose())
        .unwrap()
        .is_none());
    assert!(cache
        .authenticate(&store, &user, new_secret.expose())
        .unwrap()
        .is_some());
    // So does switching the app to certificate authentication.
    tenancy::set_auth_method(&store, &mut current, AuthMethod::Certificate).unwrap();
    assert!(cache
        .authenticate(&store, &user, new_secret.expose())
        .unwrap()
        .is_none());
    tenancy::set_auth_method(&store, &mut current, AuthMethod::ApiKey).unwrap();
    // So does disabling the app.
    current.enabled = false;
    store.update_app(&current).unwrap();
    assert!(cache
        .authenticate(&store, &user, new_secret.expose())
        .unwrap()
        .is_none());
    current.enabled = true;
    store.update_app(&current).unwrap();
    assert!(cache
        .authenticate(&store, &user, new_secret.expose())
        .unwrap()
        .is_some());

    // Expiry: with a zero lifetime every request takes the full check, and still succeeds.
    let short = VerifiedSecrets::new(Duration::ZERO, 1).unwrap();
    for _ in 0..2 {
        assert!(short
            .authenticate(&store, &user, new_secret.expose())
            .unwrap()
            .is_some());
    }
    drop(store);
    std::fs::remove_dir_all(&d).unwrap();
}

#[test]
fn sysadmin_and_account_admins_sign_in_with_their_passwords() {
    use skms_core::model::Role;
    let d = dir("users");
    let store = SqliteStore::open(&d.join("skms.db")).unwrap();
    let (root, _) = FileRoot::open_or_create(&d.join("root.key")).unwrap();

    // The first start creates one sysadmin; later starts create none.
    let (root_user, password) = tenancy::ensure_sysadmin(&store, 1).unwrap().unwrap();
    assert_eq!(root_user.name, tenancy::FIRST_SYSADMIN);
    assert_eq!(root_user.role, Role::Sysadmin);
    assert!(tenancy::ensure_sysadmin(&store, 2).unwrap().is_none());
    let signed_in = tenancy::authenticate_user(&store, "sysadmin", password.expose()).unwrap();
    assert_eq!(signed_in, Some(root_user.clone()));
    assert!(tenancy::authenticate_user(&store, "sysadmin", "wrong")
        .unwrap()
        .is_none());
    assert!(
        tenancy::authenticate_user(&store, "nobody", password.expose())
            .unwrap()
            .is_none()
    );

    // An account admin belongs to its account and stops signing in when it is disabled.
    let (acme, _) = tenancy::create_account(&store, &root, "Acme", 1).unwrap();
    let (alice, alice_pw) =
        tenancy::create_user(&store, Some(acme.id), "alice", Role::AccountAdmin, 3).unwrap();
    assert_eq!(alice.account, Some(acme.id));
    assert!(
        tenancy::authenticate_user(&store, "alice", alice_pw.expose())
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        tenancy::create_user(&store, None, "bob", Role::AccountAdmin, 3),
        Err(TenancyError::Invalid(_))
    ));
    assert!(matches!(
        tenancy::create_user(&store, Some(acme.id), "bad name!", Role::AccountAdmin, 3),
        Err(TenancyError::Invalid(_))
    ));
    assert!(
        tenancy::create_user(&store, Some(acme.id), "alice", Role::AccountAdmin, 3).is_err(),
        "login names are unique"
    );
    let mut off = alice.clone();
    off.enabled = false;
    store.update_user(&off).unwrap();
    assert!(
        tenancy::authenticate_user(&store, "alice", alice_pw.expose())
            .unwrap()
            .is_none()
    );

    // A lost password is replaced from the data directory; the old one stops working.
    let (_, new_pw) = tenancy::reset_user_password(&store, "sysadmin").unwrap();
    assert!(
        tenancy::authenticate_user(&store, "sysadmin", password.expose())
            .unwrap()
            .is_none()
    );
    assert!(
        tenancy::authenticate_user(&store, "sysadmin", new_pw.expose())
            .unwrap()
            .is_some()
    );

    // No password is in the database file.
    drop(store);
    let mut raw = std::fs::read(d.join("skms.db")).unwrap();
    raw.extend(std::fs::read(d.join("skms.db-wal")).unwrap_or_default());
    for needle in [password.expose(), new_pw.expose(), alice_pw.expose()] {
        assert!(!raw.windows(needle.len()).any(|w| w == needle.as_bytes()));
    }
    std::fs::remove_dir_all(&d).unwrap();
}
