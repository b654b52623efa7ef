//! The admin commands as an operator types them, against a real `skms serve`:
//! the seed's set-up (an account, an app with interface KMIP and API-key
//! authentication, view its credentials, reset them, switch to certificate
//! authentication) and the errors a person gets when something is wrong.

mod common;

use common::Login;

#[test]
fn the_seed_walk_through_from_the_command_line() {
    let dir = common::temp_dir("admin-cli");
    let server = common::serve(&dir);
    let root = server.sysadmin();

    let made = server.admin(&root, &["account", "create", "Acme", "--admin", "alice"]);
    assert!(made.contains("account: Acme"), "{made}");
    let alice = Login {
        user: common::after(&made, "account admin login"),
        password: common::after(&made, "account admin password"),
    };
    assert_eq!(alice.user, "alice");
    let listed = server.admin(&root, &["account", "list"]);
    assert!(listed.starts_with("ID "), "a header row: {listed}");
    assert_eq!(common::table_cell(&listed, "Acme", "ENABLED"), "true");

    // Groups and an app in two of them, the second its default.
    let g = server.admin(
        &alice,
        &["group", "create", "hosts", "--description", "ESXi hosts"],
    );
    assert!(g.contains("group: hosts"), "{g}");
    let groups = server.admin(&alice, &["group", "list"]);
    assert!(
        groups.contains("default") && groups.contains("ESXi hosts"),
        "{groups}"
    );
    let created = server.admin(
        &alice,
        &[
            "app",
            "create",
            "--name",
            "vcenter",
            "--interface",
            "kmip",
            "--group",
            "hosts",
            "--group",
            "default",
        ],
    );
    let id = common::after(&created, "KMIP username");
    let secret = common::after(&created, "KMIP password");
    assert!(created.contains("authentication: api-key"), "{created}");

    // VIEW CREDENTIALS, by name and by UUID; then a reset gives a new secret.
    for which in ["vcenter", id.as_str()] {
        let shown = server.admin(&alice, &["app", "credentials", which]);
        assert_eq!(common::after(&shown, "KMIP password"), secret, "{shown}");
    }
    let reset = server.admin(&alice, &["app", "reset-secret", "vcenter"]);
    let new_secret = common::after(&reset, "KMIP password");
    assert_ne!(new_secret, secret);
    let shown = server.admin(&alice, &["app", "credentials", "vcenter"]);
    assert_eq!(common::after(&shown, "KMIP password"), new_secret);

    // The authentication method, and the JSON form for scripts.
    let set = server.admin(
        &alice,
        &["app", "set-auth-method", "vcenter", "certificate"],
    );
    assert!(set.contains("authentication: certificate"), "{set}");
    let json: serde_json::Value =
        serde_json::from_str(&server.admin(&alice, &["app", "show", "vcenter", "--json"])).unwrap();
    assert_eq!(json["auth_method"], "certificate");
    assert_eq!(json["interfaces"], serde_json::json!(["kmip"]));
    let apps = server.admin(&alice, &["app", "list"]);
    assert!(apps.contains(&id) && apps.contains("certificate"), "{apps}");

    // Update: interfaces, description, disable and enable again; bad groups refused.
    let updated = server.admin(
        &alice,
        &[
            "app",
            "update",
            "vcenter",
            "--interface",
            "kmip",
            "--interface",
            "rest",
            "--description",
            "site A",
            "--disable",
        ],
    );
    for want in [
        "interfaces: kmip, rest",
        "description: site A",
        "enabled: false",
    ] {
        assert!(updated.contains(want), "{want}: {updated}");
    }
    let updated = server.admin(
        &alice,
        &["app", "update", "vcenter", "--enable", "--group", "default"],
    );
    assert!(updated.contains("enabled: true"), "{updated}");
    let json: serde_json::Value =
        serde_json::from_str(&server.admin(&alice, &["app", "show", "vcenter", "--json"])).unwrap();
    assert_eq!(json["groups"].as_array().unwrap().len(), 1, "{json}");
    assert_eq!(
        json["groups"][0], json["default_group"],
        "the default follows the only group"
    );

    // What a person gets wrong gets a reason and a failure status.
    for (who, args, reason) in [
        (&alice, &["account", "list"][..], "only a sysadmin"),
        (&root, &["app", "list"][..], "your role may not view apps"),
        (
            &alice,
            &["app", "show", "nope"][..],
            "no app named \"nope\"",
        ),
        (
            &alice,
            &["app", "set-auth-method", "vcenter", "magic"][..],
            "unknown authentication method",
        ),
        (&alice, &["group", "create", "hosts"][..], "already taken"),
        (
            &alice,
            &["app", "update", "vcenter", "--group", "nope"][..],
            "no group \"nope\"",
        ),
        (
            &alice,
            &["app", "update", "vcenter", "--interface", "smtp"][..],
            "unknown interface",
        ),
        (
            &Login {
                user: "alice".into(),
                password: "wrong".into(),
            },
            &["group", "list"][..],
            "not signed in",
        ),
    ] {
        let (ok, out, err) = server.admin_try(who, args);
        assert!(!ok, "{args:?} succeeded: {out}");
        assert!(err.contains(reason), "{args:?}: {err}");
    }
    // A refusal by the server names its code and the request id (which its log has).
    for (who, args, code) in [
        (&alice, &["account", "list"][..], "[forbidden; request id "),
        (
            &alice,
            &["group", "create", "hosts"][..],
            "[conflict; request id ",
        ),
        (
            &Login {
                user: "alice".into(),
                password: "wrong".into(),
            },
            &["group", "list"][..],
            "[unauthorized; request id ",
        ),
    ] {
        let (_, _, err) = server.admin_try(who, args);
        let line = err
            .lines()
            .find(|l| l.starts_with("error: "))
            .unwrap_or_default();
        let id = line
            .split(code)
            .nth(1)
            .and_then(|rest| rest.strip_suffix(']'))
            .unwrap_or_else(|| panic!("{args:?}: {err}"));
        assert_eq!(id.len(), 36, "{args:?}: {err}");
    }

    // The CA certificate, first contact (fingerprint printed) and checked.
    let out = dir.join("downloaded-ca.pem");
    let (ok, _, err) = server.admin_try(
        &root,
        &[
            "ca-cert",
            "--insecure-download",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(ok, "{err}");
    assert!(err.contains("SHA-256 fingerprint"), "{err}");
    assert!(
        server
            .stdout
            .contains(err.lines().next().unwrap().rsplit(' ').next().unwrap()),
        "the fingerprint is the one serve printed: {err}\n{}",
        server.stdout
    );
    assert_eq!(
        std::fs::read(&out).unwrap(),
        std::fs::read(dir.join("ca.crt")).unwrap()
    );
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn users_and_account_lifecycle_from_the_command_line() {
    let dir = common::temp_dir("admin-cli-users");
    let server = common::serve(&dir);
    let root = server.sysadmin();
    let acme = server.tenant("Acme", "vcenter");
    let made = server.admin(&acme.admin, &["user", "create", "bob", "--role", "member"]);
    assert!(made.contains("bob") && made.contains("member"), "{made}");
    let one_time = common::after(&made, "first sign-in):");
    let bob = Login {
        user: "bob".into(),
        password: one_time.clone(),
    };
    // A one-time password opens only the password change.
    let (ok, _, err) = server.admin_try(&bob, &["group", "list"]);
    assert!(!ok && err.contains("one-time password"), "{err}");
    let new_file = dir.join("bob-new-password");
    std::fs::write(&new_file, "a long and fresh password\n").unwrap();
    let out = server.admin(
        &bob,
        &[
            "password",
            "change",
            "--new-password-file",
            new_file.to_str().unwrap(),
        ],
    );
    assert!(out.contains("password changed"), "{out}");
    let bob = Login {
        user: "bob".into(),
        password: "a long and fresh password".into(),
    };
    assert!(server.admin(&bob, &["group", "list"]).contains("default"));
    let (ok, _, err) = server.admin_try(&bob, &["user", "list"]);
    assert!(
        !ok && err.contains("forbidden"),
        "a member manages no users: {err}"
    );
    // The admin sets bob's group roles, then disables him: he can no longer sign in.
    server.admin(
        &acme.admin,
        &["user", "group-roles", "bob", "--set", "default=admin"],
    );
    let listed = server.admin(&acme.admin, &["user", "list"]);
    assert_eq!(common::table_cell(&listed, "bob", "ENABLED"), "true");
    assert_eq!(common::table_cell(&listed, "bob", "ROLE"), "member");
    let off = server.admin(&acme.admin, &["user", "update", "bob", "--disable"]);
    assert!(off.contains("enabled: false"), "{off}");
    let (ok, _, _) = server.admin_try(&bob, &["group", "list"]);
    assert!(!ok);
    server.admin(&acme.admin, &["user", "delete", "bob"]);
    assert!(!server.admin(&acme.admin, &["user", "list"]).contains("bob"));

    // The sysadmin: usage, disable, enable, delete an account.
    let usage = server.admin(&root, &["account", "usage", "Acme"]);
    assert!(
        usage.contains("apps: 1") && usage.contains("users: 1"),
        "{usage}"
    );
    server.tenant("Globex", "backup");
    assert!(server
        .admin(&root, &["account", "disable", "Globex"])
        .contains("disabled"));
    let listed = server.admin(&root, &["account", "list"]);
    assert_eq!(common::table_cell(&listed, "Globex", "ENABLED"), "false");
    assert!(server
        .admin(&root, &["account", "enable", "Globex"])
        .contains("enabled"));
    assert!(server
        .admin(&root, &["account", "delete", "Globex"])
        .contains("deleted"));
    assert!(!server.admin(&root, &["account", "list"]).contains("Globex"));
    let (ok, _, err) = server.admin_try(&root, &["account", "usage", "Nope"]);
    assert!(!ok && err.contains("no account \"Nope\""), "{err}");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
