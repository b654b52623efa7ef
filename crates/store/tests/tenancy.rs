//! Tenancy over the real SQLite store and a real file root of trust: accounts
//! get wrapped keys that only their own context unwraps, apps authenticate by
//! secret (and every failure looks alike), and an app's groups stay in its
//! account. Users: sign-in sessions (rotation, reuse detection, expiry),
//! lockout with back-off (an unknown name locks alike), password changes,
//! account admins managing their own account's users only, and the sysadmin
//! disabling and deleting accounts while seeing only their counts.

use skms_core::keys::{FileRoot, Key256, RootOfTrust};
use skms_core::model::AuthMethod;
use skms_core::store::Store;
use skms_core::tenancy::{self, Keyring, NewApp, TenancyError, DEFAULT_GROUP};
use skms_store::SqliteStore;
use std::path::PathBuf;
use std::sync::Arc;

mod common;

use skms_core::access::{allowed, Action, Principal};
use skms_core::model::{GroupRole, Role, User};
use skms_core::tenancy::LoginError;

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

// ---- users, roles, sessions, lockout ----

/// A store and a root of trust in a fresh directory (removed on drop).
struct Fixture {
    store: SqliteStore,
    root: Arc<dyn RootOfTrust>,
    _dir: common::TempDir,
}

fn fixture(name: &str) -> Fixture {
    let dir = common::TempDir::new(name);
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    let (root, _) = FileRoot::open_or_create(&dir.join("root.key")).unwrap();
    Fixture {
        store,
        root: Arc::new(root),
        _dir: dir,
    }
}

/// A login name no other test uses (the lockout of unknown names is per process).
fn login_name(prefix: &str) -> String {
    format!(
        "{prefix}-{}",
        &skms_core::ids::ObjectId::new().to_string()[..8]
    )
}

const T0: i64 = 1_800_000_000;

fn principal(store: &dyn Store, user: &User) -> Principal {
    Principal::user(user, &store.user_group_roles(user.id).unwrap())
}

fn sysadmin(store: &dyn Store) -> Principal {
    let (root, _) =
        tenancy::create_user(store, None, &login_name("root"), Role::Sysadmin, 1).unwrap();
    principal(store, &root)
}

#[test]
fn login_refresh_rotation_and_reuse_detection() {
    let f = fixture("sessions");
    let store = &f.store;
    let (acme, _) = tenancy::create_account(store, &*f.root, "Acme", 1).unwrap();
    let name = login_name("alice");
    let (alice, password) =
        tenancy::create_user(store, Some(acme.id), &name, Role::AccountAdmin, 1).unwrap();
    assert!(
        !alice.must_change_password,
        "a bootstrap user's generated password (shown once) is used as is"
    );

    let s = tenancy::login(store, &name, password.expose(), T0).unwrap();
    assert_eq!(s.access_token.expose().len(), 43);
    assert_ne!(s.access_token.expose(), s.refresh_token.expose());
    assert_eq!(s.expires_at, T0 + tenancy::ACCESS_TOKEN_LIFETIME);
    assert_eq!(s.expires_at, T0 + 15 * 60);
    assert_eq!(s.refresh_expires_at, T0 + 12 * 3600);
    assert_eq!(s.user.id, alice.id);
    assert!(!s.user.must_change_password);
    assert!(!format!("{s:?}").contains(s.access_token.expose()));

    // The access token signs in until it expires.
    let who = tenancy::authenticate_token(store, s.access_token.expose(), T0 + 1)
        .unwrap()
        .unwrap();
    assert_eq!(who.user.id, alice.id);
    assert_eq!(who.family, s.family);
    assert!(allowed(
        &who.principal(),
        Some(acme.id),
        Action::ManageUsers,
        None
    ));
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), s.expires_at)
            .unwrap()
            .is_none()
    );
    // A refresh token is no access token, nor garbage.
    for bad in [s.refresh_token.expose(), "", "Bearer x", &"A".repeat(43)] {
        assert!(tenancy::authenticate_token(store, bad, T0 + 1)
            .unwrap()
            .is_none());
    }

    // Refresh: a new pair; both old tokens die; the sign-in's end stays.
    let s2 = tenancy::refresh(store, s.refresh_token.expose(), T0 + 600).unwrap();
    assert_eq!(s2.family, s.family);
    assert_eq!(s2.expires_at, T0 + 600 + 900);
    assert_eq!(s2.refresh_expires_at, s.refresh_expires_at);
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 601)
            .unwrap()
            .is_none()
    );
    assert!(
        tenancy::authenticate_token(store, s2.access_token.expose(), T0 + 601)
            .unwrap()
            .is_some()
    );
    let s3 = tenancy::refresh(store, s2.refresh_token.expose(), T0 + 1200).unwrap();

    // Replaying a spent refresh token revokes the whole family, the newest pair too.
    assert!(matches!(
        tenancy::refresh(store, s.refresh_token.expose(), T0 + 1300),
        Err(LoginError::RefreshReused)
    ));
    assert!(
        tenancy::authenticate_token(store, s3.access_token.expose(), T0 + 1301)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::refresh(store, s3.refresh_token.expose(), T0 + 1302),
        Err(LoginError::Refused)
    ));

    // Another sign-in is not affected by that one's revocation; it ends after 12 h.
    let other = tenancy::login(store, &name, password.expose(), T0).unwrap();
    let late = T0 + 12 * 3600;
    assert!(matches!(
        tenancy::refresh(store, other.refresh_token.expose(), late),
        Err(LoginError::Refused)
    ));
    // …and is pruned by the next sign-in after its end.
    let next = tenancy::login(store, &name, password.expose(), late).unwrap();
    let stale = tenancy::refresh(store, other.refresh_token.expose(), late - 1);
    assert!(matches!(stale, Err(LoginError::Refused)), "{stale:?}");

    // Logout ends the session: both tokens.
    tenancy::logout(store, next.access_token.expose()).unwrap();
    assert!(
        tenancy::authenticate_token(store, next.access_token.expose(), late + 1)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::refresh(store, next.refresh_token.expose(), late + 1),
        Err(LoginError::Refused)
    ));
    tenancy::logout(store, next.access_token.expose()).unwrap();
    tenancy::logout(store, "garbage").unwrap();

    // The database holds no token, only digests.
    let kept = tenancy::login(store, &name, password.expose(), late).unwrap();
    let path = store.path().to_path_buf();
    drop(f.store);
    let mut raw = std::fs::read(&path).unwrap();
    raw.extend(std::fs::read(path.with_extension("db-wal")).unwrap_or_default());
    for t in [&kept.access_token, &kept.refresh_token, &s3.refresh_token] {
        let needle = t.expose().as_bytes();
        assert!(!raw.windows(needle.len()).any(|w| w == needle));
    }
}

/// The answers of `n` sign-ins of `name` with `password`, at the given times.
fn attempts(
    store: &dyn Store,
    name: &str,
    password: &str,
    times: &[i64],
) -> Vec<Result<(), Option<u64>>> {
    times
        .iter()
        .map(|&t| match tenancy::login(store, name, password, t) {
            Ok(_) => Ok(()),
            Err(LoginError::Refused) => Err(None),
            Err(LoginError::Locked { retry_after }) => Err(Some(retry_after)),
            Err(e) => panic!("{e}"),
        })
        .collect()
}

#[test]
fn lockout_backs_off_and_an_unknown_name_behaves_the_same() {
    let f = fixture("lockout");
    let store = &f.store;
    let (acme, _) = tenancy::create_account(store, &*f.root, "Acme", 1).unwrap();
    let name = login_name("bob");
    let (bob, password) =
        tenancy::create_user(store, Some(acme.id), &name, Role::Member, 1).unwrap();
    let pw = password.expose();

    // Four failures: refused, not locked. The fifth locks for 1 s.
    let four = [T0, T0, T0, T0];
    assert_eq!(attempts(store, &name, "wrong", &four), vec![Err(None); 4]);
    assert_eq!(attempts(store, &name, "wrong", &[T0]), vec![Err(None)]);
    // During the lock even the right password is refused, and not counted.
    assert_eq!(attempts(store, &name, pw, &[T0]), vec![Err(Some(1))]);
    assert_eq!(store.user(bob.id).unwrap().unwrap().failed_logins, 5);
    // After it, a failure locks for 2 s, then 4 s…
    assert_eq!(attempts(store, &name, "wrong", &[T0 + 1]), vec![Err(None)]);
    assert_eq!(attempts(store, &name, pw, &[T0 + 2]), vec![Err(Some(1))]);
    assert_eq!(attempts(store, &name, "wrong", &[T0 + 3]), vec![Err(None)]);
    assert_eq!(attempts(store, &name, pw, &[T0 + 3]), vec![Err(Some(4))]);
    // A success after the lock resets the counter.
    assert_eq!(attempts(store, &name, pw, &[T0 + 7]), vec![Ok(())]);
    let u = store.user(bob.id).unwrap().unwrap();
    assert_eq!((u.failed_logins, u.locked_until), (0, None));
    assert_eq!(attempts(store, &name, "wrong", &four), vec![Err(None); 4]);
    assert_eq!(attempts(store, &name, pw, &[T0 + 8]), vec![Ok(())]);
    assert_eq!(store.user(bob.id).unwrap().unwrap().failed_logins, 0);

    // The back-off: 1 s doubling per failure, at most 15 min; the same
    // answers, at the same times, for a name that is nobody's.
    let ghost = login_name("ghost");
    let run = |who: &str, start: i64| {
        let mut out = attempts(store, who, "wrong", &[start; 4]);
        let mut t = start;
        for _ in 0..13 {
            out.extend(attempts(store, who, "wrong", &[t]));
            // the right password of a real user, refused while locked
            out.extend(attempts(store, who, pw, &[t]));
            let Some(Err(Some(wait))) = out.last().cloned() else {
                panic!("{who} not locked: {out:?}")
            };
            t += wait as i64;
        }
        out
    };
    let bob_answers = run(&name, T0 + 100);
    let ghost_answers = run(&ghost, T0 + 100);
    assert_eq!(bob_answers, ghost_answers, "an unknown name locks alike");
    let waits: Vec<u64> = bob_answers
        .iter()
        .filter_map(|a| match a {
            Err(Some(w)) => Some(*w),
            _ => None,
        })
        .collect();
    assert_eq!(
        waits,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900, 900]
    );

    // HTTP Basic (authenticate_user) counts failures and honours the lock too.
    let carol_name = login_name("carol");
    let (_, carol_pw) =
        tenancy::create_user(store, Some(acme.id), &carol_name, Role::Member, 1).unwrap();
    let future = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
        + 10_000;
    assert_eq!(
        attempts(store, &carol_name, "wrong", &[future; 5]),
        vec![Err(None); 5]
    );
    assert!(
        tenancy::authenticate_user(store, &carol_name, carol_pw.expose())
            .unwrap()
            .is_none(),
        "locked"
    );

    // A disabled user is refused with its right password, like a wrong one.
    let dan_name = login_name("dan");
    let (dan, dan_pw) =
        tenancy::create_user(store, Some(acme.id), &dan_name, Role::Member, 1).unwrap();
    let mut off = dan.clone();
    off.enabled = false;
    store.update_user(&off).unwrap();
    assert_eq!(
        attempts(store, &dan_name, dan_pw.expose(), &[T0]),
        vec![Err(None)]
    );
    assert_eq!(store.user(dan.id).unwrap().unwrap().failed_logins, 1);
}

#[test]
fn password_change_checks_the_old_one_and_ends_other_sessions() {
    let f = fixture("password");
    let store = &f.store;
    let (acme, _) = tenancy::create_account(store, &*f.root, "Acme", 1).unwrap();
    let name = login_name("erin");
    let (erin, first) =
        tenancy::create_user(store, Some(acme.id), &name, Role::Auditor, 1).unwrap();
    let here = tenancy::login(store, &name, first.expose(), T0).unwrap();
    let there = tenancy::login(store, &name, first.expose(), T0).unwrap();
    let new = "correct horse battery staple";

    let wrong = tenancy::change_password(store, erin.id, "wrong", new, None, T0);
    assert!(
        matches!(wrong, Err(TenancyError::Forbidden(_))),
        "{wrong:?}"
    );
    assert_eq!(store.user(erin.id).unwrap().unwrap().failed_logins, 1);
    for bad in ["short", name.as_str(), first.expose()] {
        assert!(matches!(
            tenancy::change_password(store, erin.id, first.expose(), bad, None, T0),
            Err(TenancyError::Invalid(_))
        ));
    }
    // Nothing changed so far: both sessions work.
    for s in [&here, &there] {
        assert!(
            tenancy::authenticate_token(store, s.access_token.expose(), T0 + 1)
                .unwrap()
                .is_some()
        );
    }

    let changed = tenancy::change_password(
        store,
        erin.id,
        first.expose(),
        new,
        Some(here.family),
        T0 + 1,
    )
    .unwrap();
    assert!(!changed.must_change_password);
    assert_eq!(changed.failed_logins, 0);
    assert!(
        tenancy::authenticate_token(store, here.access_token.expose(), T0 + 2)
            .unwrap()
            .is_some()
    );
    assert!(
        tenancy::authenticate_token(store, there.access_token.expose(), T0 + 2)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::refresh(store, there.refresh_token.expose(), T0 + 2),
        Err(LoginError::Refused)
    ));
    assert!(matches!(
        tenancy::login(store, &name, first.expose(), T0 + 3),
        Err(LoginError::Refused)
    ));
    let again = tenancy::login(store, &name, new, T0 + 3).unwrap();
    assert!(!again.user.must_change_password);

    // Without a session to keep, every session ends.
    tenancy::change_password(store, erin.id, new, "another long password", None, T0 + 4).unwrap();
    for s in [&here, &again] {
        assert!(
            tenancy::authenticate_token(store, s.access_token.expose(), T0 + 5)
                .unwrap()
                .is_none()
        );
    }
    // A reset by the operator (a strong password, used at once) ends the sessions.
    let s = tenancy::login(store, &name, "another long password", T0 + 6).unwrap();
    let (reset, _) = tenancy::reset_user_password(store, &name).unwrap();
    assert!(!reset.must_change_password);
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 7)
            .unwrap()
            .is_none()
    );
}

#[test]
fn account_admins_manage_users_of_their_own_account_only() {
    use skms_core::audit::{ActorKind, AuditEvent, AuditQuery, Outcome};
    let f = fixture("manage-users");
    let store = &f.store;
    let (acme, default) = tenancy::create_account(store, &*f.root, "Acme", 1).unwrap();
    let hosts = tenancy::create_group(store, acme.id, "hosts", "", 1).unwrap();
    let (other, other_group) = tenancy::create_account(store, &*f.root, "Other", 1).unwrap();
    let (alice, _) = tenancy::create_user(
        store,
        Some(acme.id),
        &login_name("alice"),
        Role::AccountAdmin,
        1,
    )
    .unwrap();
    let (oscar, _) = tenancy::create_user(
        store,
        Some(other.id),
        &login_name("oscar"),
        Role::AccountAdmin,
        1,
    )
    .unwrap();
    let admin = principal(store, &alice);
    let foreign_admin = principal(store, &oscar);
    let root = sysadmin(store);

    // An admin creates users of its own account, with a one-time password.
    let m_name = login_name("mallory");
    let (m, m_pw) =
        tenancy::create_user_as(store, &admin, Some(acme.id), &m_name, Role::Member, 2).unwrap();
    assert_eq!(m.account, Some(acme.id));
    assert!(m.must_change_password);
    for (actor, account, role) in [
        (&admin, Some(other.id), Role::Member),
        (&admin, None, Role::Sysadmin),
        (&foreign_admin, Some(acme.id), Role::AccountAdmin),
        // a sysadmin never reaches inside an account
        (&root, Some(acme.id), Role::AccountAdmin),
    ] {
        assert!(matches!(
            tenancy::create_user_as(store, actor, account, &login_name("x"), role, 2),
            Err(TenancyError::Forbidden(_))
        ));
    }
    let member = principal(store, &m);
    assert!(matches!(
        tenancy::create_user_as(
            store,
            &member,
            Some(acme.id),
            &login_name("y"),
            Role::Member,
            2
        ),
        Err(TenancyError::Forbidden(_))
    ));
    // …and a sysadmin creates sysadmins.
    tenancy::create_user_as(store, &root, None, &login_name("root2"), Role::Sysadmin, 2).unwrap();

    // Group roles: groups of the user's account only; they raise rights on that group.
    tenancy::set_group_roles(store, &admin, m.id, &[(hosts.id, GroupRole::Admin)]).unwrap();
    let raised = principal(store, &m);
    assert!(allowed(
        &raised,
        Some(acme.id),
        Action::ManageGroups,
        Some(hosts.id)
    ));
    assert!(!allowed(
        &raised,
        Some(acme.id),
        Action::ManageGroups,
        Some(default.id)
    ));
    assert!(matches!(
        tenancy::set_group_roles(store, &admin, m.id, &[(other_group.id, GroupRole::Admin)]),
        Err(TenancyError::Invalid(_))
    ));
    assert!(matches!(
        tenancy::set_group_roles(
            store,
            &admin,
            m.id,
            &[(hosts.id, GroupRole::Admin), (hosts.id, GroupRole::Member)]
        ),
        Err(TenancyError::Invalid(_))
    ));
    // Another account's admin does not even see the user.
    for r in [
        tenancy::set_group_roles(store, &foreign_admin, m.id, &[]),
        tenancy::disable_user(store, &foreign_admin, m.id).map(drop),
        tenancy::delete_user(store, &foreign_admin, m.id),
        tenancy::disable_user(store, &root, m.id).map(drop),
    ] {
        assert!(matches!(r, Err(TenancyError::NotFound(_))), "{r:?}");
    }
    assert!(matches!(
        tenancy::disable_user(store, &member, alice.id),
        Err(TenancyError::Forbidden(_))
    ));
    // Roles change inside the account only.
    let changed = tenancy::set_user_role(store, &admin, m.id, Role::Auditor).unwrap();
    assert_eq!(changed.role, Role::Auditor);
    assert!(tenancy::set_user_role(store, &admin, m.id, Role::Sysadmin).is_err());

    // Disabling ends the user's sessions at once; enabling lets it sign in again.
    let s = tenancy::login(store, &m_name, m_pw.expose(), T0).unwrap();
    tenancy::disable_user(store, &admin, m.id).unwrap();
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 1)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::login(store, &m_name, m_pw.expose(), T0 + 1),
        Err(LoginError::Refused)
    ));
    tenancy::enable_user(store, &admin, m.id).unwrap();
    let s = tenancy::login(store, &m_name, m_pw.expose(), T0 + 2).unwrap();
    // …even a session whose user is disabled behind tenancy's back stops at once.
    let mut off = store.user(m.id).unwrap().unwrap();
    off.enabled = false;
    store.update_user(&off).unwrap();
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 3)
            .unwrap()
            .is_none()
    );
    off.enabled = true;
    store.update_user(&off).unwrap();
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 3)
            .unwrap()
            .is_some()
    );
    assert!(matches!(
        tenancy::disable_user(store, &admin, alice.id),
        Err(TenancyError::Invalid(_))
    ));
    assert!(matches!(
        tenancy::delete_user(store, &admin, alice.id),
        Err(TenancyError::Invalid(_))
    ));

    // Deleting: sessions and group roles gone; the audit log keeps the name.
    store
        .append_audit(&[AuditEvent {
            account: Some(acme.id),
            time_ms: 1,
            actor_kind: ActorKind::User,
            actor: m_name.clone(),
            source: "test".into(),
            operation: "rest.login".into(),
            object: None,
            outcome: Outcome::Success,
            reason: None,
            message: None,
        }])
        .unwrap();
    tenancy::delete_user(store, &admin, m.id).unwrap();
    assert!(store.user(m.id).unwrap().is_none());
    assert!(store.user_group_roles(m.id).unwrap().is_empty());
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 4)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::login(store, &m_name, m_pw.expose(), T0 + 4),
        Err(LoginError::Refused)
    ));
    let q = AuditQuery {
        actor: Some(m_name.clone()),
        limit: 10,
        ..Default::default()
    };
    assert_eq!(store.audit_query(Some(acme.id), &q).unwrap().len(), 1);
    assert!(matches!(
        tenancy::delete_user(store, &admin, m.id),
        Err(TenancyError::NotFound(_))
    ));
}

#[test]
fn sysadmin_disables_and_deletes_accounts_and_sees_only_counts() {
    let f = fixture("accounts");
    let store = &f.store;
    let keyring = Keyring::new(f.root.clone());
    let (acme, default) = tenancy::create_account(store, &*f.root, "Acme", 1).unwrap();
    let (other, _) = tenancy::create_account(store, &*f.root, "Other", 1).unwrap();
    let a_name = login_name("alice");
    let (alice, a_pw) =
        tenancy::create_user(store, Some(acme.id), &a_name, Role::AccountAdmin, 1).unwrap();
    let admin = principal(store, &alice);
    let root = sysadmin(store);
    let (vcenter, secret) =
        tenancy::create_app(store, &keyring, acme.id, app("vcenter"), 2).unwrap();
    let app_user = vcenter.id.to_string();
    let mut key = common::object(acme.id, default.id, 3);
    key.state = kmip::enums::State::ACTIVE;
    store.insert_object(&key).unwrap();

    // Usage counts: the sysadmin and the account's own users see them; nobody else.
    let usage = tenancy::account_usage(store, &root, acme.id).unwrap();
    assert_eq!((usage.apps, usage.users, usage.groups), (1, 1, 1));
    assert_eq!(
        usage.objects_by_state,
        vec![(kmip::enums::State::ACTIVE, 1)]
    );
    assert_eq!(
        tenancy::account_usage(store, &admin, acme.id).unwrap(),
        usage
    );
    assert!(matches!(
        tenancy::account_usage(store, &admin, other.id),
        Err(TenancyError::NotFound(_))
    ));
    assert!(matches!(
        tenancy::account_usage(store, &root, skms_core::ids::AccountId::new()),
        Err(TenancyError::NotFound(_))
    ));
    // The sysadmin never reaches an account's objects, apps or keys.
    for action in [
        Action::ViewObjects,
        Action::ReadKeyMaterial,
        Action::UseKeys,
        Action::ViewAppCredentials,
        Action::ReadAudit,
    ] {
        assert!(!allowed(&root, Some(acme.id), action, None));
        assert!(!allowed(&root, Some(acme.id), action, Some(default.id)));
    }

    // Only a sysadmin disables an account; then neither its users nor its apps get in.
    let s = tenancy::login(store, &a_name, a_pw.expose(), T0).unwrap();
    let cache = tenancy::VerifiedSecrets::new(std::time::Duration::from_secs(60), 10).unwrap();
    assert!(cache
        .authenticate(store, &app_user, secret.expose())
        .unwrap()
        .is_some());
    assert!(matches!(
        tenancy::disable_account(store, &admin, acme.id),
        Err(TenancyError::Forbidden(_))
    ));
    tenancy::disable_account(store, &root, acme.id).unwrap();
    assert!(!store.account(acme.id).unwrap().unwrap().enabled);
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 1)
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::login(store, &a_name, a_pw.expose(), T0 + 1),
        Err(LoginError::Refused)
    ));
    assert!(
        tenancy::authenticate_secret(store, &app_user, secret.expose())
            .unwrap()
            .is_none()
    );
    assert!(cache
        .authenticate(store, &app_user, secret.expose())
        .unwrap()
        .is_none());
    tenancy::enable_account(store, &root, acme.id).unwrap();
    assert!(
        tenancy::authenticate_secret(store, &app_user, secret.expose())
            .unwrap()
            .is_some()
    );
    let s = tenancy::login(store, &a_name, a_pw.expose(), T0 + 2).unwrap();

    // Deleting: refused while an object is live, with a clear error; done once destroyed.
    assert!(matches!(
        tenancy::delete_account(store, &admin, acme.id),
        Err(TenancyError::Forbidden(_))
    ));
    let e = tenancy::delete_account(store, &root, acme.id).unwrap_err();
    assert!(matches!(e, TenancyError::Conflict(_)), "{e:?}");
    assert!(e.to_string().contains("not destroyed"), "{e}");
    assert!(store.account(acme.id).unwrap().is_some());
    key.state = kmip::enums::State::DESTROYED;
    key.sealed = None;
    store.update_object(&key).unwrap();
    tenancy::delete_account(store, &root, acme.id).unwrap();
    keyring.forget(acme.id);
    assert!(store.account(acme.id).unwrap().is_none());
    assert!(store.app(vcenter.id).unwrap().is_none());
    assert!(store.user(alice.id).unwrap().is_none());
    assert!(
        tenancy::authenticate_token(store, s.access_token.expose(), T0 + 3)
            .unwrap()
            .is_none()
    );
    assert!(
        tenancy::authenticate_secret(store, &app_user, secret.expose())
            .unwrap()
            .is_none()
    );
    assert!(matches!(
        tenancy::delete_account(store, &root, acme.id),
        Err(TenancyError::NotFound(_))
    ));
    assert!(store.account(other.id).unwrap().is_some());
}
