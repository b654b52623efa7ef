//! The `Store` conformance suite: every check is written once against
//! `&dyn Store`, so each backend (SQLite and PostgreSQL) runs the same
//! ones: a behaviour that differs between them is a bug. Checks create their own accounts with unique names, so they can share
//! one store and run in any order.

mod common;
mod object_search;

use common::TempDir;
use skms_store::{PgStore, SqliteStore};

/// The checks, backend-independent.
pub mod conformance {
    use crate::common::{self, unique};
    use kmip::attributes::Attribute;
    use kmip::enums::{ObjectType, State};
    use kmip::{Tag, Value};
    use skms_core::ids::{AccountId, AppId, GroupId, ObjectId};
    use skms_core::model::{AuthMethod, ManagedObject, SecretHash};
    use skms_core::store::{ObjectFilter, Store, StoreError};
    use std::collections::HashSet;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Instant;

    /// Every check, one after the other, on one store.
    pub fn run_all(store: &dyn Store) {
        tenancy_round_trips(store);
        name_conflicts(store);
        updates_of_missing_rows_are_not_found(store);
        objects_round_trip(store);
        tenant_isolation(store);
        locate_filters_offset_and_limit(store);
        concurrent_inserts_and_reads(store);
        failing_writes_do_not_fail_their_batch(store);
        users_round_trip(store);
        group_roles_and_lockout_counters(store);
        sessions_rotate_and_revoke(store);
        account_lifecycle_and_usage(store);
        audit_chains(store);
        account_cas_and_kept_certificates(store);
        crate::object_search::filters_sorts_and_pages(store);
        crate::object_search::index_follows_changes(store);
        crate::object_search::many_matches(store);
        root_check_and_server_identity(store);
        change_feed(store);
    }

    /// The change feed: one change per update or deletion of an account, app
    /// or object and per new app, committed with it, in order; none for a new
    /// account or object; paged; pruned except the latest.
    pub fn change_feed(store: &dyn Store) {
        use skms_core::store::Changed;
        let start = store.changes_since(u64::MAX, 10).unwrap();
        assert!(start.changes.is_empty());
        assert!(
            start.finished_before <= start.started_before || start.finished_before == u64::MAX,
            "{start:?}"
        );
        let since = |after: u64| -> Vec<Changed> {
            let b = store.changes_since(after, 1000).unwrap();
            let seqs: Vec<u64> = b.changes.iter().map(|c| c.seq).collect();
            assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
            assert!(seqs.iter().all(|s| *s > after && *s <= b.latest), "{b:?}");
            b.changes.iter().map(|c| c.what).collect()
        };

        let a = common::account(&unique("feed"));
        store.create_account(&a).unwrap();
        let g = common::group(a.id, "g");
        store.create_group(&g).unwrap();
        let mut o = common::object(a.id, g.id, 1_700_000_300);
        store.insert_object(&o).unwrap();
        assert_eq!(
            since(start.latest),
            [],
            "a new account, group or object changes no cache"
        );
        let mut app = common::app(a.id, "feed-app", &[g.id]);
        store.create_app(&app).unwrap();
        assert_eq!(since(start.latest), [Changed::App(app.id)], "a new app");

        let mark = store.changes_since(u64::MAX, 0).unwrap().latest;
        o.state = State::ACTIVE;
        store.update_object(&o).unwrap();
        app.enabled = false;
        store.update_app(&app).unwrap();
        store.set_account_enabled(a.id, false).unwrap();
        assert_eq!(
            since(mark),
            [
                Changed::Object(o.id),
                Changed::App(app.id),
                Changed::Account(a.id)
            ]
        );
        // Paged: one at a time, from any point.
        let page = store.changes_since(mark, 1).unwrap();
        assert_eq!(page.changes.len(), 1);
        assert_eq!(page.changes[0].what, Changed::Object(o.id));
        assert_eq!(
            since(page.changes[0].seq),
            [Changed::App(app.id), Changed::Account(a.id)]
        );
        // A failed write records nothing.
        let mut missing = common::app(a.id, "never-stored", &[g.id]);
        missing.enabled = false;
        assert!(store.update_app(&missing).is_err());
        let before_delete = store.changes_since(u64::MAX, 0).unwrap().latest;
        assert_eq!(since(before_delete), []);

        // Deleting the account deletes its apps and objects: each is a change.
        o.state = State::DESTROYED;
        store.update_object(&o).unwrap();
        let before_delete = store.changes_since(u64::MAX, 0).unwrap().latest;
        store.delete_account(a.id).unwrap();
        let deleted: HashSet<Changed> = since(before_delete).into_iter().collect();
        assert_eq!(
            deleted,
            HashSet::from([
                Changed::Account(a.id),
                Changed::App(app.id),
                Changed::Object(o.id)
            ])
        );

        // Pruning keeps the latest change, so the feed's head never goes back.
        let latest = store.changes_since(u64::MAX, 0).unwrap().latest;
        assert!(store.prune_changes(i64::MAX).unwrap() > 0);
        let after = store.changes_since(0, 1000).unwrap();
        assert_eq!(after.latest, latest);
        assert_eq!(after.changes.len(), 1);
        assert_eq!(after.changes[0].seq, latest);
    }

    /// Account CAs: stored with their account in one write (a refused account
    /// leaves no CA), added once to an account that has none, read back equal
    /// and per account. Kept certificates: stored with the app change in one
    /// write, never for another account's app, never replaced, listed per account.
    pub fn account_cas_and_kept_certificates(store: &dyn Store) {
        use skms_core::ca::{AccountCa, CertOrigin, KeptCertificate};
        let ca_of = |account: AccountId, seed: u8| AccountCa {
            account,
            cert_der: vec![0x30, seed, 1, 2, 3],
            sealed_key: vec![1, seed, 9, 9, 9],
            created: 1_700_000_400,
        };
        let a = common::account(&unique("ca"));
        let ca = ca_of(a.id, 1);
        store.create_account_with_ca(&a, &ca).unwrap();
        assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
        assert_eq!(store.account_ca(a.id).unwrap(), Some(ca.clone()));
        assert_eq!(store.account_ca(AccountId::new()).unwrap(), None);

        // A taken name: neither the account nor its CA.
        let mut dup = common::account(&a.name);
        dup.id = AccountId::new();
        assert!(matches!(
            store.create_account_with_ca(&dup, &ca_of(dup.id, 2)),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.account(dup.id).unwrap(), None);
        assert_eq!(store.account_ca(dup.id).unwrap(), None);
        // A CA of another account given with it: neither.
        let odd = common::account(&unique("odd"));
        assert!(store
            .create_account_with_ca(&odd, &ca_of(AccountId::new(), 3))
            .is_err());
        assert_eq!(store.account(odd.id).unwrap(), None);

        // One CA per account; an account without one (made before CAs) gets one.
        assert!(matches!(
            store.add_account_ca(&ca_of(a.id, 4)),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.account_ca(a.id).unwrap(), Some(ca.clone()));
        let (old, old_group) = setup(store);
        assert_eq!(store.account_ca(old).unwrap(), None);
        store.add_account_ca(&ca_of(old, 5)).unwrap();
        assert_eq!(store.account_ca(old).unwrap(), Some(ca_of(old, 5)));
        assert!(matches!(
            store.add_account_ca(&ca_of(AccountId::new(), 6)),
            Err(StoreError::NotFound(_))
        ));

        // Kept certificates ride with the app change.
        let mut app = common::app(old, &unique("vcenter"), &[old_group]);
        store.create_app(&app).unwrap();
        let cert = |seed: u8, origin, added| KeptCertificate {
            der: vec![0x30, 0x03, seed, seed, seed],
            origin,
            added,
        };
        let first = cert(1, CertOrigin::Uploaded, 10);
        app.pinned_certs.push(first.sha256());
        app.auth_method = AuthMethod::Certificate;
        store.update_app_keeping_certificate(&app, &first).unwrap();
        assert_eq!(store.app(app.id).unwrap(), Some(app.clone()));
        let second = cert(2, CertOrigin::Issued, 20);
        app.trusted_cas.push(vec![0x30, 0]);
        store.update_app_keeping_certificate(&app, &second).unwrap();
        // The same certificate again keeps its first record.
        let mut again = first.clone();
        again.origin = CertOrigin::Signed;
        again.added = 30;
        app.description = "changed".into();
        store.update_app_keeping_certificate(&app, &again).unwrap();
        assert_eq!(store.app(app.id).unwrap(), Some(app.clone()));
        assert_eq!(
            store.kept_certificates(old).unwrap(),
            vec![(app.id, first.clone()), (app.id, second.clone())]
        );
        assert_eq!(first.sha256(), skms_core::certs::fingerprint(&first.der));

        // Never for an app of another account, nor a missing one: nothing changes.
        let mut foreign = app.clone();
        foreign.account = a.id;
        foreign.description = "stolen".into();
        assert!(matches!(
            store.update_app_keeping_certificate(&foreign, &cert(3, CertOrigin::Signed, 40)),
            Err(StoreError::NotFound(_))
        ));
        let ghost = common::app(old, "ghost", &[old_group]);
        assert!(matches!(
            store.update_app_keeping_certificate(&ghost, &cert(4, CertOrigin::Signed, 40)),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.app(app.id).unwrap(), Some(app.clone()));
        assert_eq!(store.kept_certificates(old).unwrap().len(), 2);
        assert!(store.kept_certificates(a.id).unwrap().is_empty());
    }

    /// Audit records: one chain per account plus the provider's, sequence
    /// numbers without gaps across calls, hashes that verify, queries by each
    /// field with paging, and one account's records never in another's.
    pub fn audit_chains(store: &dyn Store) {
        use skms_core::audit::{self, ActorKind, AuditEvent, AuditQuery, Outcome};
        let (a, _) = setup(store);
        let (b, _) = setup(store);
        let event = |account, i: i64, op: &str| AuditEvent {
            account,
            time_ms: 1_700_000_000_000 + i,
            actor_kind: if i % 2 == 0 {
                ActorKind::App
            } else {
                ActorKind::User
            },
            actor: format!("actor-{}", i % 3),
            source: "127.0.0.1".into(),
            operation: op.into(),
            object: (i % 2 == 0).then(|| format!("object-{i}")),
            outcome: if i % 5 == 0 {
                Outcome::Failure
            } else {
                Outcome::Success
            },
            reason: (i % 5 == 0).then(|| "Item Not Found".to_string()),
            message: None,
        };
        let provider_before = store.audit_head(None).unwrap().map(|h| h.0).unwrap_or(0);
        // Interleaved accounts and the provider in one call, then more in another.
        let first: Vec<_> = (0..10)
            .map(|i| {
                event(
                    if i % 3 == 0 {
                        None
                    } else if i % 3 == 1 {
                        Some(a)
                    } else {
                        Some(b)
                    },
                    i,
                    "kmip.Get",
                )
            })
            .collect();
        let stored = store.append_audit(&first).unwrap();
        assert_eq!(stored.len(), 10);
        for (r, e) in stored.iter().zip(&first) {
            assert_eq!(&r.event, e);
            assert_eq!(r.hash, audit::record_hash(&r.event, r.seq, &r.prev_hash));
        }
        let more: Vec<_> = (10..25).map(|i| event(Some(a), i, "kmip.Create")).collect();
        store.append_audit(&more).unwrap();

        // a: records 1 and 4 and 7 of `first` (3), then 15: 18 records, seq 1..=18, chained.
        assert_eq!(audit::verify_chain(store, Some(a)), Ok(18));
        assert_eq!(audit::verify_chain(store, Some(b)), Ok(3));
        assert_eq!(
            audit::verify_chain(store, None),
            Ok(provider_before + 4),
            "the provider's chain continues"
        );
        let page = store.audit_chain_page(Some(a), 0, 1000).unwrap();
        assert_eq!(
            page.iter().map(|r| r.seq).collect::<Vec<_>>(),
            (1..=18).collect::<Vec<_>>()
        );
        assert_eq!(
            store.audit_head(Some(a)).unwrap(),
            Some((18, page[17].hash))
        );
        assert!(page.iter().all(|r| r.event.account == Some(a)));

        // Queries: newest first, each filter, paging by before_seq.
        let q = |f: &dyn Fn(&mut AuditQuery)| {
            let mut q = AuditQuery {
                limit: 100,
                ..Default::default()
            };
            f(&mut q);
            store.audit_query(Some(a), &q).unwrap()
        };
        let all = q(&|_| {});
        assert_eq!(all.len(), 18);
        assert!(all.windows(2).all(|w| w[0].seq > w[1].seq), "newest first");
        assert_eq!(q(&|q| q.operation = Some("kmip.Create".into())).len(), 15);
        assert!(q(&|q| q.actor = Some("actor-1".into()))
            .iter()
            .all(|r| r.event.actor == "actor-1"));
        let obj = q(&|q| q.object = Some("object-12".into()));
        assert_eq!(obj.len(), 1);
        assert_eq!(obj[0].event.object.as_deref(), Some("object-12"));
        let window = q(&|q| {
            q.from_ms = Some(1_700_000_000_012);
            q.to_ms = Some(1_700_000_000_015);
        });
        assert_eq!(
            window
                .iter()
                .map(|r| r.event.time_ms - 1_700_000_000_000)
                .collect::<Vec<_>>(),
            [14, 13, 12]
        );
        let p1 = q(&|q| q.limit = 5);
        let p2 = q(&|q| {
            q.limit = 5;
            q.before_seq = Some(p1[4].seq);
        });
        assert_eq!(p1.len() + p2.len(), 10);
        assert_eq!(p2[0].seq + 1, p1[4].seq, "pages follow each other");
        // Another account's filter never returns a's records.
        let theirs = store
            .audit_query(
                Some(b),
                &AuditQuery {
                    object: Some("object-12".into()),
                    limit: 100,
                    ..Default::default()
                },
            )
            .unwrap();
        assert!(theirs.is_empty());
    }

    /// 32 bytes no other check uses (a token hash).
    fn random32() -> [u8; 32] {
        let mut out = [0u8; 32];
        out[..16].copy_from_slice(ObjectId::new().as_bytes());
        out[16..].copy_from_slice(ObjectId::new().as_bytes());
        out
    }

    /// A user of `account` (`None`: a sysadmin), not yet stored.
    fn user(
        account: Option<AccountId>,
        name: &str,
        role: skms_core::model::Role,
    ) -> skms_core::model::User {
        skms_core::model::User {
            id: skms_core::ids::UserId::new(),
            account,
            name: name.into(),
            role,
            password_hash: SecretHash("$argon2id$hash".into()),
            enabled: true,
            created: 1_700_000_300,
            must_change_password: false,
            failed_logins: 0,
            locked_until: None,
        }
    }

    /// Users: sysadmins without an account, users of one account with a role;
    /// login names unique on the server; a role/account mismatch is refused.
    pub fn users_round_trip(store: &dyn Store) {
        use skms_core::ids::UserId;
        use skms_core::model::Role;
        let (a, _) = setup(store);
        let (b, _) = setup(store);
        let root = user(None, &unique("root"), Role::Sysadmin);
        let alice = user(Some(a), &unique("alice"), Role::AccountAdmin);
        let bob = user(Some(b), &unique("bob"), Role::AccountAdmin);
        let mut carol = user(Some(a), &unique("carol"), Role::Member);
        carol.must_change_password = true;
        let dave = user(Some(a), &unique("dave"), Role::Auditor);
        for u in [&root, &alice, &bob, &carol, &dave] {
            store.create_user(u).unwrap();
        }
        for u in [&root, &alice, &bob, &carol, &dave] {
            assert_eq!(store.user(u.id).unwrap().as_ref(), Some(u));
        }
        assert_eq!(store.user(UserId::new()).unwrap(), None);
        let mut of_a = vec![alice.clone(), carol.clone(), dave.clone()];
        of_a.sort_by(|x, y| x.name.cmp(&y.name));
        assert_eq!(store.users(Some(a)).unwrap(), of_a);
        assert_eq!(
            store.user_by_name(&alice.name).unwrap(),
            Some(alice.clone())
        );
        assert_eq!(store.user_by_name(&root.name).unwrap(), Some(root.clone()));
        assert_eq!(store.user_by_name("nobody-at-all").unwrap(), None);
        assert_eq!(store.users(Some(b)).unwrap(), vec![bob.clone()]);
        assert!(store.users(None).unwrap().contains(&root));
        assert!(!store.users(None).unwrap().contains(&alice));
        // a login name is unique across accounts
        assert!(matches!(
            store.create_user(&user(Some(b), &alice.name, Role::AccountAdmin)),
            Err(StoreError::Conflict(_))
        ));
        // a sysadmin has no account, an account admin has one
        assert!(store
            .create_user(&user(Some(a), &unique("odd"), Role::Sysadmin))
            .is_err());
        assert!(store
            .create_user(&user(None, &unique("odd"), Role::AccountAdmin))
            .is_err());
        // an account role outside the known ones never reaches the store, and
        // none of an account user's roles is allowed without an account
        for role in [Role::Member, Role::Auditor] {
            assert!(store
                .create_user(&user(None, &unique("odd"), role))
                .is_err());
        }
        let mut changed = alice.clone();
        changed.password_hash = SecretHash("$argon2id$other".into());
        changed.enabled = false;
        changed.role = Role::Auditor;
        changed.must_change_password = true;
        store.update_user(&changed).unwrap();
        assert_eq!(
            store.user_by_name(&alice.name).unwrap(),
            Some(changed.clone())
        );
        // the account stays whatever the update says; a role that needs no account is refused
        let mut moved = changed.clone();
        moved.account = Some(b);
        store.update_user(&moved).unwrap();
        assert_eq!(store.user(alice.id).unwrap(), Some(changed.clone()));
        let mut promoted = changed.clone();
        promoted.role = Role::Sysadmin;
        assert!(store.update_user(&promoted).is_err());
        assert_eq!(store.user(alice.id).unwrap(), Some(changed));
        assert!(matches!(
            store.update_user(&user(Some(a), "ghost", Role::AccountAdmin)),
            Err(StoreError::NotFound(_))
        ));
        // deleting: gone, its name free again; a missing user is NotFound
        store.delete_user(dave.id).unwrap();
        assert_eq!(store.user(dave.id).unwrap(), None);
        assert_eq!(store.user_by_name(&dave.name).unwrap(), None);
        assert!(matches!(
            store.delete_user(dave.id),
            Err(StoreError::NotFound(_))
        ));
        store
            .create_user(&user(Some(b), &dave.name, Role::Member))
            .unwrap();
    }

    /// Group roles: only on groups of the user's own account, replaced as a
    /// whole, gone with the user. Lockout counters: counted atomically under
    /// concurrent failures, the lock as [`Lockout`] gives it, cleared by a
    /// success, untouched by `update_user`.
    pub fn group_roles_and_lockout_counters(store: &dyn Store) {
        use skms_core::ids::UserId;
        use skms_core::model::{GroupRole, Lockout, Role};
        let (a, g1) = setup(store);
        let g2 = common::group(a, "hosts");
        store.create_group(&g2).unwrap();
        let (b, foreign) = setup(store);
        let carol = user(Some(a), &unique("carol"), Role::Member);
        let root = user(None, &unique("root"), Role::Sysadmin);
        store.create_user(&carol).unwrap();
        store.create_user(&root).unwrap();

        assert!(store.user_group_roles(carol.id).unwrap().is_empty());
        let mut roles = vec![(g1, GroupRole::Auditor), (g2.id, GroupRole::Admin)];
        store.set_user_group_roles(carol.id, &roles).unwrap();
        roles.sort_by_key(|(g, _)| *g);
        assert_eq!(store.user_group_roles(carol.id).unwrap(), roles);
        // a group of another account: refused, nothing changes
        assert!(matches!(
            store.set_user_group_roles(
                carol.id,
                &[(g1, GroupRole::Member), (foreign, GroupRole::Admin)]
            ),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.user_group_roles(carol.id).unwrap(), roles);
        assert!(store
            .set_user_group_roles(carol.id, &[(GroupId::new(), GroupRole::Member)])
            .is_err());
        // a sysadmin holds no group role; a missing user is NotFound
        assert!(store
            .set_user_group_roles(root.id, &[(g1, GroupRole::Member)])
            .is_err());
        store.set_user_group_roles(root.id, &[]).unwrap();
        assert!(matches!(
            store.set_user_group_roles(UserId::new(), &[]),
            Err(StoreError::NotFound(_))
        ));
        // replaced as a whole
        store
            .set_user_group_roles(carol.id, &[(g2.id, GroupRole::Member)])
            .unwrap();
        assert_eq!(
            store.user_group_roles(carol.id).unwrap(),
            vec![(g2.id, GroupRole::Member)]
        );
        let _ = b;

        // lockout counters
        let lockout = Lockout {
            threshold: 3,
            first_secs: 10,
            max_secs: 25,
        };
        let now = 1_800_000_000;
        assert_eq!(
            store
                .record_login_failure(UserId::new(), now, &lockout)
                .unwrap(),
            None
        );
        let u = store
            .record_login_failure(carol.id, now, &lockout)
            .unwrap()
            .unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (1, None));
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| store.record_login_failure(carol.id, now, &lockout).unwrap());
            }
        });
        let u = store.user(carol.id).unwrap().unwrap();
        assert_eq!(u.failed_logins, 5, "concurrent failures all count");
        assert_eq!(u.locked_until, lockout.locked_until(5, now));
        assert_eq!(u.locked_until, Some(now + 25), "capped");
        // update_user leaves the counters alone
        let mut renamed = u.clone();
        renamed.name = unique("carol2");
        renamed.failed_logins = 0;
        renamed.locked_until = None;
        store.update_user(&renamed).unwrap();
        let u = store.user(carol.id).unwrap().unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (5, Some(now + 25)));
        store.record_login_success(carol.id).unwrap();
        let u = store.user(carol.id).unwrap().unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (0, None));
        let u = store
            .record_login_failure(carol.id, now + 100, &lockout)
            .unwrap()
            .unwrap();
        assert_eq!((u.failed_logins, u.locked_until), (1, None));

        // deleting the user deletes its group roles
        store.delete_user(carol.id).unwrap();
        assert!(store.user_group_roles(carol.id).unwrap().is_empty());
    }

    /// Sessions: found by either hash; rotation spends a refresh token once
    /// (of many concurrent rotations exactly one wins) and ends its access
    /// token; families and a user's sessions are deleted together; expired
    /// ones pruned; a deleted user's sessions are gone.
    pub fn sessions_rotate_and_revoke(store: &dyn Store) {
        use skms_core::model::{Role, SessionFamily, StoredSession};
        use std::sync::atomic::AtomicUsize;
        let (a, _) = setup(store);
        let alice = user(Some(a), &unique("alice"), Role::AccountAdmin);
        let bob = user(Some(a), &unique("bob"), Role::Member);
        store.create_user(&alice).unwrap();
        store.create_user(&bob).unwrap();
        let now = 1_800_000_000;
        let fresh =
            |u: &skms_core::model::User, family: SessionFamily, created: i64| StoredSession {
                family,
                user: u.id,
                access_hash: random32(),
                refresh_hash: random32(),
                created,
                expires_at: created + 900,
                refresh_expires_at: now + 43_200,
                rotated: false,
            };
        let family = |_: u8| SessionFamily(*ObjectId::new().as_bytes());
        let f1 = family(1);
        let s1 = fresh(&alice, f1, now);
        store.create_session(&s1).unwrap();
        assert_eq!(
            store.session_by_access(&s1.access_hash).unwrap(),
            Some(s1.clone())
        );
        assert_eq!(
            store.session_by_refresh(&s1.refresh_hash).unwrap(),
            Some(s1.clone())
        );
        assert_eq!(store.session_by_access(&s1.refresh_hash).unwrap(), None);
        assert_eq!(store.session_by_refresh(&[7; 32]).unwrap(), None);
        // a token hash is unique; a session needs its user
        assert!(store.create_session(&s1).is_err());
        let mut orphan = fresh(&alice, family(2), now);
        orphan.user = skms_core::ids::UserId::new();
        assert!(store.create_session(&orphan).is_err());

        // rotation
        let s2 = fresh(&alice, f1, now + 60);
        assert!(store.rotate_session(&s1.refresh_hash, &s2).unwrap());
        let spent = store.session_by_refresh(&s1.refresh_hash).unwrap().unwrap();
        assert!(spent.rotated);
        assert_eq!(spent.expires_at, now + 60, "its access token ends with it");
        assert_eq!(
            store.session_by_access(&s2.access_hash).unwrap(),
            Some(s2.clone())
        );
        // spent: a second rotation fails and adds nothing
        let s3 = fresh(&alice, f1, now + 120);
        assert!(!store.rotate_session(&s1.refresh_hash, &s3).unwrap());
        assert_eq!(store.session_by_access(&s3.access_hash).unwrap(), None);
        assert!(!store.rotate_session(&[9; 32], &s3).unwrap());
        // concurrent rotations of one token: exactly one wins
        let wins = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| {
                    let next = fresh(&alice, f1, now + 180);
                    if store.rotate_session(&s2.refresh_hash, &next).unwrap() {
                        wins.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(wins.load(Ordering::SeqCst), 1);

        // families and users
        let other = fresh(&alice, family(3), now);
        let bobs = fresh(&bob, family(4), now);
        store.create_session(&other).unwrap();
        store.create_session(&bobs).unwrap();
        store.delete_session_family(f1).unwrap();
        assert_eq!(store.session_by_refresh(&s1.refresh_hash).unwrap(), None);
        assert_eq!(store.session_by_access(&s2.access_hash).unwrap(), None);
        assert!(store
            .session_by_access(&other.access_hash)
            .unwrap()
            .is_some());
        let kept = fresh(&alice, family(5), now);
        store.create_session(&kept).unwrap();
        store
            .delete_user_sessions(alice.id, Some(kept.family))
            .unwrap();
        assert_eq!(store.session_by_access(&other.access_hash).unwrap(), None);
        assert!(store
            .session_by_access(&kept.access_hash)
            .unwrap()
            .is_some());
        assert!(store
            .session_by_access(&bobs.access_hash)
            .unwrap()
            .is_some());
        store.delete_user_sessions(alice.id, None).unwrap();
        assert_eq!(store.session_by_access(&kept.access_hash).unwrap(), None);

        // pruning: the refresh expiry decides
        let mut old = fresh(&alice, family(6), now);
        old.refresh_expires_at = now + 10;
        store.create_session(&old).unwrap();
        let pruned = store.prune_sessions(now + 10).unwrap();
        assert!(pruned >= 1);
        assert_eq!(store.session_by_access(&old.access_hash).unwrap(), None);
        assert!(store
            .session_by_access(&bobs.access_hash)
            .unwrap()
            .is_some());

        // deleting a user deletes its sessions
        store.delete_user(bob.id).unwrap();
        assert_eq!(store.session_by_access(&bobs.access_hash).unwrap(), None);
    }

    /// Accounts: disabled and enabled; usage counted per account (objects by
    /// state); deleted with everything they hold once no object is live,
    /// refused (and nothing deleted) while one is; the audit chain stays.
    pub fn account_lifecycle_and_usage(store: &dyn Store) {
        use skms_core::audit::{ActorKind, AuditEvent, Outcome};
        use skms_core::model::{AccountUsage, Role};
        let (a, g) = setup(store);
        let (b, gb) = setup(store);
        assert!(matches!(
            store.set_account_enabled(AccountId::new(), false),
            Err(StoreError::NotFound(_))
        ));
        store.set_account_enabled(a, false).unwrap();
        assert!(!store.account(a).unwrap().unwrap().enabled);
        store.set_account_enabled(a, true).unwrap();
        assert!(store.account(a).unwrap().unwrap().enabled);

        let g2 = common::group(a, "hosts");
        store.create_group(&g2).unwrap();
        let app = common::app(a, &unique("vcenter"), &[g, g2.id]);
        store.create_app(&app).unwrap();
        let admin = user(Some(a), &unique("admin"), Role::AccountAdmin);
        store.create_user(&admin).unwrap();
        store
            .set_user_group_roles(admin.id, &[(g2.id, skms_core::model::GroupRole::Admin)])
            .unwrap();
        store
            .create_session(&skms_core::model::StoredSession {
                family: skms_core::model::SessionFamily(*ObjectId::new().as_bytes()),
                user: admin.id,
                access_hash: random32(),
                refresh_hash: random32(),
                created: 1,
                expires_at: 2,
                refresh_expires_at: i64::MAX,
                rotated: false,
            })
            .unwrap();
        let mut objects = Vec::new();
        for (i, state) in [
            State::ACTIVE,
            State::ACTIVE,
            State::PRE_ACTIVE,
            State::DESTROYED,
        ]
        .into_iter()
        .enumerate()
        {
            let mut o = common::object(a, if i % 2 == 0 { g } else { g2.id }, 10 + i as i64);
            o.state = state;
            if state == State::DESTROYED {
                o.sealed = None;
            }
            store.insert_object(&o).unwrap();
            objects.push(o);
        }
        store.insert_object(&common::object(b, gb, 10)).unwrap();
        let usage = store.account_usage(a).unwrap();
        let mut by_state = vec![
            (State::PRE_ACTIVE, 1),
            (State::ACTIVE, 2),
            (State::DESTROYED, 1),
        ];
        by_state.sort_by_key(|(s, _)| s.0);
        assert_eq!(
            usage,
            AccountUsage {
                apps: 1,
                users: 1,
                groups: 2,
                objects_by_state: by_state,
            }
        );
        assert!(matches!(
            store.account_usage(AccountId::new()),
            Err(StoreError::NotFound(_))
        ));
        store
            .append_audit(&[AuditEvent {
                account: Some(a),
                time_ms: 1,
                actor_kind: ActorKind::User,
                actor: admin.name.clone(),
                source: "test".into(),
                operation: "Create".into(),
                object: None,
                outcome: Outcome::Success,
                reason: None,
                message: None,
            }])
            .unwrap();

        // live objects: refused, nothing deleted
        let e = store.delete_account(a).unwrap_err();
        assert!(matches!(e, StoreError::Conflict(_)), "{e:?}");
        assert!(e.to_string().contains('3'), "{e}");
        assert_eq!(store.account_usage(a).unwrap(), usage);
        assert!(store.user(admin.id).unwrap().is_some());
        // all destroyed: deleted with everything but the audit chain
        for o in &mut objects {
            o.state = State::DESTROYED_COMPROMISED;
            o.sealed = None;
            store.update_object(o).unwrap();
        }
        store.delete_account(a).unwrap();
        assert_eq!(store.account(a).unwrap(), None);
        assert!(store.groups(a).unwrap().is_empty());
        assert_eq!(store.app(app.id).unwrap(), None);
        assert_eq!(store.user(admin.id).unwrap(), None);
        assert!(store.user_group_roles(admin.id).unwrap().is_empty());
        assert!(store.account_ca(a).unwrap().is_none());
        for o in &objects {
            assert_eq!(store.object(a, o.id).unwrap(), None);
        }
        assert!(
            store.audit_head(Some(a)).unwrap().is_some(),
            "the audit chain stays"
        );
        assert!(matches!(
            store.delete_account(a),
            Err(StoreError::NotFound(_))
        ));
        // the other account is untouched
        assert_eq!(
            store.account_usage(b).unwrap().objects_by_state,
            vec![(State::PRE_ACTIVE, 1)]
        );
    }

    fn setup(store: &dyn Store) -> (AccountId, GroupId) {
        let a = common::account(&unique("acct"));
        store.create_account(&a).unwrap();
        let g = common::group(a.id, "default");
        store.create_group(&g).unwrap();
        (a.id, g.id)
    }

    /// Accounts, groups and apps read back equal, lists sorted by name.
    pub fn tenancy_round_trips(store: &dyn Store) {
        let mut a = common::account(&unique("zeta"));
        let mut b = common::account(&unique("alpha"));
        b.enabled = false;
        a.wrapped_key = vec![9; 60];
        store.create_account(&a).unwrap();
        store.create_account(&b).unwrap();
        assert_eq!(store.account(a.id).unwrap(), Some(a.clone()));
        assert_eq!(store.account(b.id).unwrap(), Some(b.clone()));
        assert_eq!(store.account(AccountId::new()).unwrap(), None);
        let all = store.accounts().unwrap();
        assert!(all.contains(&a) && all.contains(&b));
        assert!(
            all.windows(2).all(|w| w[0].name <= w[1].name),
            "accounts by name"
        );

        let g2 = common::group(a.id, "b-group");
        let g1 = common::group(a.id, "a-group");
        store.create_group(&g2).unwrap();
        store.create_group(&g1).unwrap();
        assert_eq!(store.group(a.id, g1.id).unwrap(), Some(g1.clone()));
        assert_eq!(store.groups(a.id).unwrap(), vec![g1.clone(), g2.clone()]);
        assert_eq!(store.groups(b.id).unwrap(), vec![]);

        let mut cert_app = common::app(a.id, "vcenter", &[g2.id, g1.id]);
        cert_app.auth_method = AuthMethod::Certificate;
        cert_app.enabled = false;
        cert_app.rest = true;
        cert_app.kmip = false;
        cert_app.pinned_certs = vec![[7; 32], [3; 32]];
        cert_app.trusted_cas = vec![vec![0x30, 0x82, 1, 2], vec![0x30; 700]];
        let key_app = common::app(a.id, "backup", &[g1.id]);
        store.create_app(&cert_app).unwrap();
        store.create_app(&key_app).unwrap();
        assert_eq!(store.app(cert_app.id).unwrap(), Some(cert_app.clone()));
        assert_eq!(store.app(key_app.id).unwrap(), Some(key_app.clone()));
        assert_eq!(store.app(AppId::new()).unwrap(), None);
        assert_eq!(
            store.apps(a.id).unwrap(),
            vec![key_app.clone(), cert_app.clone()]
        );
        assert_eq!(store.apps(b.id).unwrap(), vec![]);

        // replace everything an update may change
        let mut changed = cert_app.clone();
        changed.name = "vcenter-2".into();
        changed.description = "moved".into();
        changed.enabled = true;
        changed.kmip = true;
        changed.auth_method = AuthMethod::ApiKey;
        changed.groups = vec![g1.id];
        changed.default_group = g1.id;
        changed.secret_hash = SecretHash("$argon2id$new".into());
        changed.pinned_certs = vec![[1; 32]];
        changed.trusted_cas = vec![];
        store.update_app(&changed).unwrap();
        assert_eq!(store.app(cert_app.id).unwrap(), Some(changed.clone()));
        assert_eq!(store.apps(a.id).unwrap(), vec![key_app, changed]);
    }

    /// Taken names and ids are `Conflict`; the same name in another account is fine.
    pub fn name_conflicts(store: &dyn Store) {
        let a = common::account(&unique("conflicts"));
        store.create_account(&a).unwrap();
        let mut same_name = common::account(&a.name);
        same_name.enabled = false;
        assert!(matches!(
            store.create_account(&same_name),
            Err(StoreError::Conflict(_))
        ));
        let mut same_id = common::account(&unique("other"));
        same_id.id = a.id;
        assert!(matches!(
            store.create_account(&same_id),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.account(a.id).unwrap(), Some(a.clone()), "unchanged");

        let b = common::account(&unique("conflicts-b"));
        store.create_account(&b).unwrap();
        let g = common::group(a.id, "keys");
        store.create_group(&g).unwrap();
        assert!(matches!(
            store.create_group(&common::group(a.id, "keys")),
            Err(StoreError::Conflict(_))
        ));
        let gb = common::group(b.id, "keys");
        store.create_group(&gb).unwrap();

        let app = common::app(a.id, "db", &[g.id]);
        store.create_app(&app).unwrap();
        let dup = common::app(a.id, "db", &[g.id]);
        assert!(matches!(
            store.create_app(&dup),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(
            store.app(dup.id).unwrap(),
            None,
            "a refused app leaves nothing"
        );
        store
            .create_app(&common::app(b.id, "db", &[gb.id]))
            .unwrap();
        // renaming onto a taken name
        let other = common::app(a.id, "db-2", &[g.id]);
        store.create_app(&other).unwrap();
        let mut renamed = other.clone();
        renamed.name = "db".into();
        assert!(matches!(
            store.update_app(&renamed),
            Err(StoreError::Conflict(_))
        ));
        assert_eq!(store.app(other.id).unwrap(), Some(other));

        let o = common::object(a.id, g.id, 10);
        store.insert_object(&o).unwrap();
        assert!(matches!(
            store.insert_object(&o),
            Err(StoreError::Conflict(_))
        ));
    }

    /// Updating what does not exist (in that account) is `NotFound`.
    pub fn updates_of_missing_rows_are_not_found(store: &dyn Store) {
        let (acct, group) = setup(store);
        let ghost_app = common::app(acct, "ghost", &[group]);
        assert!(matches!(
            store.update_app(&ghost_app),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.app(ghost_app.id).unwrap(), None);
        let ghost = common::object(acct, group, 1);
        assert!(matches!(
            store.update_object(&ghost),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(store.object(acct, ghost.id).unwrap(), None);
    }

    /// Objects round-trip with every kind of attribute and their sealed
    /// material; a destroyed object keeps its metadata.
    pub fn objects_round_trip(store: &dyn Store) {
        let (acct, group) = setup(store);
        let g2 = common::group(acct, "second");
        store.create_group(&g2).unwrap();
        let mut o = common::object(acct, group, 100);
        store.insert_object(&o).unwrap();
        assert_eq!(store.object(acct, o.id).unwrap(), Some(o.clone()));
        assert_eq!(store.object(acct, ObjectId::new()).unwrap(), None);

        o.state = State::ACTIVE;
        o.group = g2.id;
        o.updated = 200;
        o.attributes.set(Attribute::new(
            Tag::STATE,
            Value::Enumeration(State::ACTIVE.0),
        ));
        o.attributes.set(Attribute::custom(
            "x-Name",
            Value::TextString("renamed".into()),
        ));
        o.attributes.push(Attribute::custom(
            "x-Note",
            Value::TextString(String::new()),
        ));
        o.sealed = Some(vec![1, 2, 3, 4, 5]);
        store.update_object(&o).unwrap();
        assert_eq!(store.object(acct, o.id).unwrap(), Some(o.clone()));

        o.state = State::DESTROYED;
        o.sealed = None;
        o.updated = 300;
        store.update_object(&o).unwrap();
        let back = store.object(acct, o.id).unwrap().unwrap();
        assert_eq!(back, o);
        assert_eq!(back.sealed, None);
        assert_eq!(back.attributes.custom_text("x-Name"), Some("renamed"));

        // other object types and no attributes at all
        let mut bare = common::object(acct, group, 101);
        bare.object_type = ObjectType::SECRET_DATA;
        bare.attributes = Default::default();
        bare.sealed = Some(Vec::new());
        store.insert_object(&bare).unwrap();
        assert_eq!(store.object(acct, bare.id).unwrap(), Some(bare));
    }

    /// One account never sees, changes or lists another's objects, groups or apps.
    pub fn tenant_isolation(store: &dyn Store) {
        let (a, ga) = setup(store);
        let (b, gb) = setup(store);
        let objs_a: Vec<ManagedObject> = (0..5).map(|i| common::object(a, ga, i)).collect();
        for o in &objs_a {
            store.insert_object(o).unwrap();
        }
        let ob = common::object(b, gb, 0);
        store.insert_object(&ob).unwrap();

        for o in &objs_a {
            assert_eq!(store.object(b, o.id).unwrap(), None, "B reads A's object");
            assert!(store.object(a, o.id).unwrap().is_some());
        }
        assert_eq!(store.object(a, ob.id).unwrap(), None);
        assert_eq!(
            store.locate(b, &ObjectFilter::default()).unwrap(),
            vec![ob.id]
        );
        let only_a_group = ObjectFilter {
            groups: vec![ga],
            ..Default::default()
        };
        assert_eq!(store.locate(b, &only_a_group).unwrap(), vec![]);
        assert_eq!(store.locate(a, &ObjectFilter::default()).unwrap().len(), 5);

        // B cannot change A's object by naming it
        let mut stolen = objs_a[0].clone();
        stolen.account = b;
        stolen.group = gb;
        stolen.sealed = None;
        assert!(matches!(
            store.update_object(&stolen),
            Err(StoreError::NotFound(_))
        ));
        assert_eq!(
            store.object(a, objs_a[0].id).unwrap(),
            Some(objs_a[0].clone())
        );
        // nor insert a second copy under the same id
        assert!(store.insert_object(&stolen).is_err());
        assert_eq!(store.object(b, stolen.id).unwrap(), None);

        // an object or an app of B cannot live in a group of A
        let misplaced = common::object(b, ga, 0);
        assert!(store.insert_object(&misplaced).is_err());
        assert_eq!(store.object(b, misplaced.id).unwrap(), None);
        assert_eq!(store.object(a, misplaced.id).unwrap(), None);
        let mut moved = ob.clone();
        moved.group = ga;
        assert!(store.update_object(&moved).is_err());
        assert_eq!(store.object(b, ob.id).unwrap(), Some(ob.clone()));
        let sneaky = common::app(b, "sneaky", &[ga]);
        assert!(store.create_app(&sneaky).is_err());
        let sneaky2 = common::app(b, "sneaky2", &[gb, ga]);
        assert!(store.create_app(&sneaky2).is_err());
        assert_eq!(store.app(sneaky2.id).unwrap(), None);

        assert_eq!(store.group(b, ga).unwrap(), None);
        assert!(store.groups(b).unwrap().iter().all(|g| g.account == b));
        // an object of a missing account is refused
        let orphan = common::object(AccountId::new(), ga, 0);
        assert!(store.insert_object(&orphan).is_err());
    }

    /// Locate applies every condition, orders oldest first (then by id), and pages.
    pub fn locate_filters_offset_and_limit(store: &dyn Store) {
        let (acct, g1) = setup(store);
        let g2 = common::group(acct, "g2");
        store.create_group(&g2).unwrap();
        let g2 = g2.id;
        let g3 = common::group(acct, "g3");
        store.create_group(&g3).unwrap();
        let (other, other_g) = setup(store);
        store
            .insert_object(&common::object(other, other_g, 0))
            .unwrap();

        let types = [
            ObjectType::SYMMETRIC_KEY,
            ObjectType::SECRET_DATA,
            ObjectType::CERTIFICATE,
        ];
        let states = [State::PRE_ACTIVE, State::ACTIVE, State::DESTROYED];
        let mut all = Vec::new();
        // inserted newest first, with ties on `created`, so neither insertion
        // order nor rowid can pass for "oldest first"
        for i in (0..30i64).rev() {
            let mut o = common::object(acct, if i % 2 == 0 { g1 } else { g2 }, 1_000 + i / 3);
            o.object_type = types[(i % 3) as usize];
            o.state = states[((i / 2) % 3) as usize];
            store.insert_object(&o).unwrap();
            all.push(o);
        }
        all.sort_by_key(|o| (o.created, o.id));
        let expect = |f: &dyn Fn(&ManagedObject) -> bool| -> Vec<ObjectId> {
            all.iter().filter(|o| f(o)).map(|o| o.id).collect()
        };
        let locate = |f: ObjectFilter| store.locate(acct, &f).unwrap();

        assert_eq!(locate(ObjectFilter::default()), expect(&|_| true));
        assert_eq!(
            locate(ObjectFilter {
                object_type: Some(ObjectType::SECRET_DATA),
                ..Default::default()
            }),
            expect(&|o| o.object_type == ObjectType::SECRET_DATA)
        );
        assert_eq!(
            locate(ObjectFilter {
                state: Some(State::ACTIVE),
                ..Default::default()
            }),
            expect(&|o| o.state == State::ACTIVE)
        );
        let both =
            expect(&|o| o.state == State::DESTROYED && o.object_type == ObjectType::CERTIFICATE);
        assert!(!both.is_empty());
        assert_eq!(
            locate(ObjectFilter {
                object_type: Some(ObjectType::CERTIFICATE),
                state: Some(State::DESTROYED),
                ..Default::default()
            }),
            both
        );
        assert_eq!(
            locate(ObjectFilter {
                groups: vec![g2],
                ..Default::default()
            }),
            expect(&|o| o.group == g2)
        );
        assert_eq!(
            locate(ObjectFilter {
                groups: vec![g1, g2],
                ..Default::default()
            }),
            expect(&|_| true)
        );
        assert_eq!(
            locate(ObjectFilter {
                groups: vec![g3.id],
                ..Default::default()
            }),
            vec![]
        );
        assert_eq!(
            locate(ObjectFilter {
                groups: vec![g1],
                object_type: Some(ObjectType::SYMMETRIC_KEY),
                state: Some(State::PRE_ACTIVE),
                ..Default::default()
            }),
            expect(&|o| o.group == g1
                && o.object_type == ObjectType::SYMMETRIC_KEY
                && o.state == State::PRE_ACTIVE)
        );
        let every = expect(&|_| true);
        assert_eq!(
            locate(ObjectFilter {
                offset: 7,
                ..Default::default()
            }),
            every[7..]
        );
        assert_eq!(
            locate(ObjectFilter {
                limit: Some(4),
                ..Default::default()
            }),
            every[..4]
        );
        assert_eq!(
            locate(ObjectFilter {
                offset: 10,
                limit: Some(5),
                ..Default::default()
            }),
            every[10..15]
        );
        let active = expect(&|o| o.state == State::ACTIVE);
        assert_eq!(
            locate(ObjectFilter {
                state: Some(State::ACTIVE),
                offset: 2,
                limit: Some(3),
                ..Default::default()
            }),
            active[2..5]
        );
        assert_eq!(
            locate(ObjectFilter {
                offset: 30,
                ..Default::default()
            }),
            vec![]
        );
        assert_eq!(
            locate(ObjectFilter {
                limit: Some(0),
                ..Default::default()
            }),
            vec![]
        );
        assert_eq!(
            locate(ObjectFilter {
                offset: usize::MAX,
                limit: Some(usize::MAX),
                ..Default::default()
            }),
            vec![]
        );
        assert_eq!(
            locate(ObjectFilter {
                limit: Some(usize::MAX),
                ..Default::default()
            }),
            every
        );
    }

    const THREADS: usize = 8;
    const PER_THREAD: usize = 200;

    /// 8 threads insert 200 objects each while others read: every insert is
    /// visible to other connections as soon as it returns (it was committed),
    /// committed objects never vanish, and all are there at the end.
    pub fn concurrent_inserts_and_reads(store: &dyn Store) {
        let (acct, group) = setup(store);
        let done = AtomicBool::new(false);
        let started = Instant::now();
        let ids: Vec<ObjectId> = std::thread::scope(|s| {
            let readers: Vec<_> = (0..2)
                .map(|_| {
                    s.spawn(|| {
                        let mut last = 0;
                        let mut rounds = 0;
                        while !done.load(Ordering::Acquire) {
                            let n = store.locate(acct, &ObjectFilter::default()).unwrap().len();
                            assert!(n >= last, "committed objects vanished: {n} < {last}");
                            last = n;
                            rounds += 1;
                        }
                        rounds
                    })
                })
                .collect();
            let writers: Vec<_> = (0..THREADS)
                .map(|t| {
                    s.spawn(move || {
                        (0..PER_THREAD)
                            .map(|i| {
                                let o = common::object(acct, group, (t * PER_THREAD + i) as i64);
                                store.insert_object(&o).unwrap();
                                // acknowledged means committed: another connection sees it now
                                assert_eq!(store.object(acct, o.id).unwrap().as_ref(), Some(&o));
                                o.id
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            let ids = writers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect();
            done.store(true, Ordering::Release);
            for r in readers {
                assert!(r.join().unwrap() > 0);
            }
            ids
        });
        let elapsed = started.elapsed();
        let n = THREADS * PER_THREAD;
        eprintln!(
            "concurrent: {n} inserts (each read back) from {THREADS} threads in {elapsed:?}: {:.0} inserts/s",
            n as f64 / elapsed.as_secs_f64()
        );
        let located: HashSet<ObjectId> = store
            .locate(acct, &ObjectFilter::default())
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(located.len(), n);
        assert!(ids.iter().all(|id| located.contains(id)));
    }

    /// Conflicting and missing-row writes, sent while 8 threads insert (so they
    /// share transactions with good writes), fail alone.
    pub fn failing_writes_do_not_fail_their_batch(store: &dyn Store) {
        let (acct, group) = setup(store);
        let taken_account = store.account(acct).unwrap().unwrap();
        let first = common::object(acct, group, 0);
        store.insert_object(&first).unwrap();
        let per_thread = 100;
        let ids: Vec<ObjectId> = std::thread::scope(|s| {
            let bad = s.spawn(|| {
                let mut failures = 0;
                for i in 0..200 {
                    let r = match i % 4 {
                        0 => store.create_group(&common::group(acct, "default")),
                        1 => store.insert_object(&first),
                        2 => store.update_object(&common::object(acct, group, 0)),
                        _ => store.create_account(&common::account(&taken_account.name)),
                    };
                    match (i % 4, r) {
                        (2, Err(StoreError::NotFound(_))) => failures += 1,
                        (0 | 1 | 3, Err(StoreError::Conflict(_))) => failures += 1,
                        (_, other) => panic!("write {i}: expected a failure, got {other:?}"),
                    }
                }
                failures
            });
            let writers: Vec<_> = (0..THREADS)
                .map(|_| {
                    s.spawn(move || {
                        (0..per_thread)
                            .map(|i| {
                                let o = common::object(acct, group, i);
                                store.insert_object(&o).expect("a good write failed");
                                o.id
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            assert_eq!(bad.join().unwrap(), 200);
            writers
                .into_iter()
                .flat_map(|w| w.join().unwrap())
                .collect()
        });
        for id in &ids {
            assert!(store.object(acct, *id).unwrap().is_some());
        }
        assert_eq!(
            store.locate(acct, &ObjectFilter::default()).unwrap().len(),
            ids.len() + 1
        );
        assert_eq!(store.groups(acct).unwrap().len(), 1);
    }

    // ---- A cluster of nodes: the root of trust check and the shared server identity ----

    /// The root check is recorded once (the first candidate stays); the server
    /// identity is stored once at version 1 (of two nodes storing at once, one
    /// wins) and then replaced only over the version it replaces. Needs a store
    /// where neither was recorded yet.
    pub fn root_check_and_server_identity(store: &dyn Store) {
        use skms_core::store::StoredServerIdentity;
        assert_eq!(store.root_check(b"first").unwrap(), b"first");
        assert_eq!(
            store.root_check(b"second").unwrap(),
            b"first",
            "the first stays"
        );

        assert_eq!(store.server_identity().unwrap(), None);
        assert_eq!(store.server_identity_version().unwrap(), 0);
        let node = |n: u8| StoredServerIdentity {
            version: 1,
            ca_cert: format!("ca {n}"),
            ca_key: format!("ca key {n}"),
            server_chain: format!("chain {n}"),
            server_key: format!("key {n}"),
            rsa_chain: (n % 2 == 0).then(|| format!("rsa {n}")),
            rsa_key: (n % 2 == 0).then(|| format!("rsa key {n}")),
        };
        // Eight nodes store their first identity at once: exactly one is kept.
        let won: Vec<bool> = std::thread::scope(|s| {
            let tries: Vec<_> = (0..8u8)
                .map(|n| s.spawn(move || store.put_server_identity(&node(n)).unwrap()))
                .collect();
            tries.into_iter().map(|t| t.join().unwrap()).collect()
        });
        assert_eq!(won.iter().filter(|w| **w).count(), 1, "{won:?}");
        let winner = won.iter().position(|w| *w).unwrap() as u8;
        let stored = store.server_identity().unwrap().unwrap();
        assert_eq!(stored, node(winner));
        assert_eq!(store.server_identity_version().unwrap(), 1);

        // Version 2 over 1; a second version 2 (a node that read 1 too) is refused,
        // and neither a stale version nor a jump is taken.
        let mut next = node(100);
        next.version = 2;
        next.rsa_chain = None;
        next.rsa_key = None;
        assert!(store.put_server_identity(&next).unwrap());
        let mut late = node(7);
        late.version = 2;
        assert!(!store.put_server_identity(&late).unwrap());
        assert!(
            !store.put_server_identity(&node(9)).unwrap(),
            "version 1 again"
        );
        late.version = 4;
        assert!(!store.put_server_identity(&late).unwrap(), "a jump");
        assert_eq!(store.server_identity().unwrap(), Some(next.clone()));
        assert_eq!(store.server_identity_version().unwrap(), 2);
        assert!(next.same_content(&StoredServerIdentity {
            version: 9,
            ..next.clone()
        }));
        assert!(!next.same_content(&late));
    }
}

fn with_store(name: &str, check: fn(&dyn skms_core::store::Store)) {
    let dir = TempDir::new(name);
    let store = SqliteStore::open(&dir.join("skms.db")).unwrap();
    check(&store);
}

#[test]
fn sqlite_tenancy_round_trips() {
    with_store("tenancy", conformance::tenancy_round_trips);
}

#[test]
fn sqlite_name_conflicts() {
    with_store("conflicts", conformance::name_conflicts);
}

#[test]
fn sqlite_updates_of_missing_rows_are_not_found() {
    with_store(
        "missing",
        conformance::updates_of_missing_rows_are_not_found,
    );
}

#[test]
fn sqlite_objects_round_trip() {
    with_store("objects", conformance::objects_round_trip);
}

#[test]
fn sqlite_tenant_isolation() {
    with_store("isolation", conformance::tenant_isolation);
}

#[test]
fn sqlite_locate_filters_offset_and_limit() {
    with_store("locate", conformance::locate_filters_offset_and_limit);
}

#[test]
fn sqlite_concurrent_inserts_and_reads() {
    with_store("concurrent", conformance::concurrent_inserts_and_reads);
}

#[test]
fn sqlite_failing_writes_do_not_fail_their_batch() {
    with_store("batch", conformance::failing_writes_do_not_fail_their_batch);
}

#[test]
fn sqlite_run_all_on_one_store() {
    with_store("all", conformance::run_all);
}

#[test]
fn sqlite_account_cas_and_kept_certificates() {
    with_store("account-ca", conformance::account_cas_and_kept_certificates);
}

#[test]
fn sqlite_users_round_trip() {
    with_store("users", conformance::users_round_trip);
}

#[test]
fn sqlite_group_roles_and_lockout_counters() {
    with_store("group-roles", conformance::group_roles_and_lockout_counters);
}

#[test]
fn sqlite_sessions_rotate_and_revoke() {
    with_store("sessions", conformance::sessions_rotate_and_revoke);
}

#[test]
fn sqlite_account_lifecycle_and_usage() {
    with_store(
        "account-lifecycle",
        conformance::account_lifecycle_and_usage,
    );
}

#[test]
fn sqlite_root_check_and_server_identity() {
    with_store("cluster", conformance::root_check_and_server_identity);
}

#[test]
fn sqlite_change_feed() {
    with_store("changes", conformance::change_feed);
}

#[test]
fn sqlite_object_search_filters_sorts_and_pages() {
    with_store("search", object_search::filters_sorts_and_pages);
}

#[test]
fn sqlite_object_search_index_follows_changes() {
    with_store("search-changes", object_search::index_follows_changes);
}

#[test]
fn sqlite_object_search_many_matches() {
    with_store("search-many", object_search::many_matches);
}

// ---- the same checks on PostgreSQL: each on a fresh database of one
// throwaway cluster that this test process starts (common/pg.rs) ----

fn with_pg_store(check: fn(&dyn skms_core::store::Store)) {
    let url = common::pg::fresh_database_url();
    let store = PgStore::open(&url).unwrap();
    check(&store);
}

macro_rules! postgres_tests {
    ($($name:ident => $check:path),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                with_pg_store($check);
            }
        )*
    };
}

postgres_tests! {
    postgres_run_all_on_one_store => conformance::run_all,
    postgres_tenancy_round_trips => conformance::tenancy_round_trips,
    postgres_name_conflicts => conformance::name_conflicts,
    postgres_updates_of_missing_rows_are_not_found => conformance::updates_of_missing_rows_are_not_found,
    postgres_objects_round_trip => conformance::objects_round_trip,
    postgres_tenant_isolation => conformance::tenant_isolation,
    postgres_locate_filters_offset_and_limit => conformance::locate_filters_offset_and_limit,
    postgres_concurrent_inserts_and_reads => conformance::concurrent_inserts_and_reads,
    postgres_failing_writes_do_not_fail_their_batch => conformance::failing_writes_do_not_fail_their_batch,
    postgres_account_cas_and_kept_certificates => conformance::account_cas_and_kept_certificates,
    postgres_users_round_trip => conformance::users_round_trip,
    postgres_group_roles_and_lockout_counters => conformance::group_roles_and_lockout_counters,
    postgres_sessions_rotate_and_revoke => conformance::sessions_rotate_and_revoke,
    postgres_account_lifecycle_and_usage => conformance::account_lifecycle_and_usage,
    postgres_audit_chains => conformance::audit_chains,
    postgres_object_search_filters_sorts_and_pages => object_search::filters_sorts_and_pages,
    postgres_object_search_index_follows_changes => object_search::index_follows_changes,
    postgres_object_search_many_matches => object_search::many_matches,
    postgres_root_check_and_server_identity => conformance::root_check_and_server_identity,
    postgres_change_feed => conformance::change_feed,
}

// ---- backup and restore: the whole content of a store, SQLite → PostgreSQL → SQLite ----

mod dump_round_trip {
    use skms_core::dump::{DumpRow, DumpSink, DumpSource, Snapshot};
    use skms_core::store::{ObjectFilter, Store, StoreError};

    /// Every row an export gives, and its snapshot.
    #[derive(Default)]
    struct Rows(Vec<DumpRow>, Option<Snapshot>);

    impl DumpSink for Rows {
        fn begin(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
            self.1 = Some(snapshot.clone());
            Ok(())
        }
        fn row(&mut self, row: DumpRow) -> Result<(), StoreError> {
            self.0.push(row);
            Ok(())
        }
    }

    struct Source(std::vec::IntoIter<DumpRow>);

    impl DumpSource for Source {
        fn next_row(&mut self) -> Result<Option<DumpRow>, StoreError> {
            Ok(self.0.next())
        }
    }

    fn export(store: &dyn Store) -> Vec<DumpRow> {
        let mut rows = Rows::default();
        store.export_rows(&mut rows).unwrap();
        let snapshot = rows.1.unwrap();
        for (table, n) in &snapshot.counts {
            let got = rows.0.iter().filter(|r| r.table.name == *table).count();
            assert_eq!(
                got as u64, *n,
                "{table}: the counts are of the same snapshot"
            );
        }
        rows.0
    }

    fn source(rows: Vec<DumpRow>) -> Source {
        Source(rows.into_iter())
    }

    /// What the search index answers, per account.
    fn listed(store: &dyn Store) -> Vec<Vec<skms_core::ids::ObjectId>> {
        store
            .accounts()
            .unwrap()
            .iter()
            .map(|a| store.locate(a.id, &ObjectFilter::default()).unwrap())
            .collect()
    }

    #[test]
    fn every_row_round_trips_across_both_stores() {
        let dir = super::TempDir::new("dump-round-trip");
        let a = super::SqliteStore::open(&dir.join("a.db")).unwrap();
        super::conformance::run_all(&a);
        a.root_check(b"a root check").unwrap();
        let rows = export(&a);
        assert!(rows.iter().any(|r| r.table.name == "objects"));
        assert!(rows.iter().any(|r| r.table.name == "audit"));

        let b = super::PgStore::open(&super::common::pg::fresh_database_url()).unwrap();
        let counts = b.import_rows(&mut source(rows.clone())).unwrap();
        assert_eq!(
            counts.iter().map(|(_, n)| n).sum::<u64>(),
            rows.len() as u64
        );
        assert!(export(&b) == rows, "SQLite → PostgreSQL");
        assert_eq!(listed(&a), listed(&b), "the search index is rebuilt");
        let again = b.import_rows(&mut source(rows.clone())).unwrap_err();
        assert!(
            matches!(&again, StoreError::Conflict(m) if m.contains("not empty")),
            "{again}"
        );

        let c = super::SqliteStore::open(&dir.join("c.db")).unwrap();
        c.import_rows(&mut source(export(&b))).unwrap();
        assert!(export(&c) == rows, "PostgreSQL → SQLite");
        assert_eq!(listed(&a), listed(&c));

        // A source that fails half-way leaves nothing, on both backends.
        let mut bad = rows.clone();
        let first = bad.remove(0);
        bad.push(first);
        let d = super::SqliteStore::open(&dir.join("d.db")).unwrap();
        assert!(d.import_rows(&mut source(bad.clone())).is_err());
        assert!(export(&d).is_empty());
        let e = super::PgStore::open(&super::common::pg::fresh_database_url()).unwrap();
        assert!(e.import_rows(&mut source(bad)).is_err());
        assert!(export(&e).is_empty());
    }
}
