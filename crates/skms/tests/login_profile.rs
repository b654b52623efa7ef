//! `skms login|logout` against a real `skms serve`: the login profile is
//! saved privately (0600, no password, tokens never printed), every command
//! then works with it alone, an ended access token is refreshed on the way,
//! a refused refresh or a sign-out says to sign in again; `--output
//! table|json`; and the errors a person gets for a wrong password, a server
//! that is not there or not trusted.

mod common;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Runs `skms ARGS` in `dir` with the login profiles in `dir/config` and
/// nothing else that signs in (no SKMS_USER, SKMS_PASSWORD, SKMS_SERVER…):
/// (success, stdout, stderr).
fn run(dir: &Path, args: &[&str]) -> (bool, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_skms"));
    for var in [
        "SKMS_CONFIG",
        "SKMS_SERVER",
        "SKMS_CA_CERT",
        "SKMS_USER",
        "SKMS_PASSWORD",
        "SKMS_PROFILE",
        "SKMS_OUTPUT",
    ] {
        cmd.env_remove(var);
    }
    let out = cmd
        .args(args)
        .current_dir(dir)
        .env("SKMS_CONFIG_DIR", config(dir))
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Like [`run`], requiring success; stdout.
fn ok(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = run(dir, args);
    assert!(ok, "skms {args:?} failed: {out}{err}");
    out
}

/// Like [`run`], requiring failure; stderr.
fn fails(dir: &Path, args: &[&str]) -> String {
    let (ok, out, err) = run(dir, args);
    assert!(!ok, "skms {args:?} succeeded: {out}");
    err
}

fn config(dir: &Path) -> PathBuf {
    dir.join("config")
}

fn profiles_file(dir: &Path) -> PathBuf {
    config(dir).join("profiles.json")
}

/// The saved profile `name`.
fn saved(dir: &Path, name: &str) -> Value {
    let all: Value =
        serde_json::from_str(&std::fs::read_to_string(profiles_file(dir)).unwrap()).unwrap();
    all["profiles"][name].clone()
}

/// Changes the saved profile `name` with `edit`.
fn edit_saved(dir: &Path, name: &str, edit: impl FnOnce(&mut Value)) {
    let path = profiles_file(dir);
    let mut all: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut all["profiles"][name]);
    std::fs::write(&path, all.to_string()).unwrap();
}

fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A file in `dir` whose first line is `text`; its path.
fn secret_file(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, format!("{text}\n")).unwrap();
    path.to_str().unwrap().to_string()
}

struct Setup {
    dir: PathBuf,
    server: common::Server,
    url: String,
    ca: String,
    tenant: common::Tenant,
}

fn setup(name: &str) -> Setup {
    let dir = common::temp_dir(name);
    std::fs::create_dir_all(&dir).unwrap();
    let server = common::serve(&dir.join("data"));
    let tenant = server.tenant("Acme", "vcenter");
    Setup {
        url: format!("https://127.0.0.1:{}", server.https_port),
        ca: dir.join("data/ca.crt").to_str().unwrap().to_string(),
        dir,
        server,
        tenant,
    }
}

impl Setup {
    /// `skms login` of the account admin as profile `profile`; its output.
    fn login(&self, profile: &str) -> String {
        let pw = secret_file(&self.dir, "admin-password", &self.tenant.admin.password);
        let user = self.tenant.admin.user.as_str();
        let args = [
            "login",
            "--server",
            &self.url,
            "--ca-cert",
            &self.ca,
            "--user",
            user,
            "--password-file",
            &pw,
            "--profile",
            profile,
        ];
        ok(&self.dir, &args)
    }
}

#[test]
fn login_saves_a_private_profile_that_every_command_then_uses() {
    let t = setup("login-profile");
    let dir = t.dir.as_path();
    let admin = &t.tenant.admin;

    // A wrong password: a clear refusal, and nothing saved.
    let bad = secret_file(dir, "bad", "not the password");
    let user = admin.user.as_str();
    let err = fails(
        dir,
        &[
            "login",
            "--server",
            &t.url,
            "--ca-cert",
            &t.ca,
            "--user",
            user,
            "--password-file",
            &bad,
        ],
    );
    assert!(
        err.contains(&format!("{} refused the sign-in of {user}", t.url))
            && err.contains("wrong name or password")
            && err.contains("request id "),
        "{err}"
    );
    assert!(!profiles_file(dir).exists(), "a failed login saves nothing");

    // Signed in: the profile is the owner's alone, holds the tokens, not the password.
    let out = t.login("default");
    assert!(out.contains(&format!("signed in to: {}", t.url)), "{out}");
    assert!(
        out.contains(&format!("as: {user} (account-admin)")),
        "{out}"
    );
    assert_eq!(mode(&profiles_file(dir)), 0o600);
    assert_eq!(mode(&config(dir)), 0o700);
    let text = std::fs::read_to_string(profiles_file(dir)).unwrap();
    assert!(!text.contains(&admin.password), "a password in {text}");
    let profile = saved(dir, "default");
    assert_eq!(profile["server"], t.url.as_str());
    assert_eq!(profile["user"], user);
    assert!(Path::new(profile["ca_cert"].as_str().unwrap()).is_absolute());
    let (access, refresh) = (
        profile["access_token"].as_str().unwrap().to_string(),
        profile["refresh_token"].as_str().unwrap().to_string(),
    );
    assert!(profile["expires_at"].as_i64().unwrap() > 0);
    assert!(!out.contains(&access) && !out.contains(&refresh));

    // Every command now works with the profile alone: a table for people …
    let groups = ok(dir, &["group", "list"]);
    assert!(groups.starts_with("ID "), "a header row: {groups}");
    assert_eq!(common::table_cell(&groups, "default", "NAME"), "default");
    let apps = ok(dir, &["app", "list"]);
    let header = apps.lines().next().unwrap();
    for column in ["ID", "NAME", "INTERFACES", "AUTHENTICATION", "ENABLED"] {
        assert!(header.contains(column), "{apps}");
    }
    assert_eq!(
        common::table_cell(&apps, "vcenter", "AUTHENTICATION"),
        "api-key"
    );
    let shown = ok(dir, &["app", "show", "vcenter"]);
    assert!(shown.contains("authentication: api-key"), "{shown}");
    // … and the server's JSON for scripts (also as the old --json).
    for flag in [&["--output", "json"][..], &["--json"][..]] {
        let json = ok(dir, &[&["group", "list"][..], flag].concat());
        let v: Value = serde_json::from_str(&json).unwrap();
        assert!(
            v.as_array().unwrap().iter().any(|g| g["name"] == "default"),
            "{v}"
        );
    }
    let audit = ok(dir, &["audit", "list", "--limit", "5"]);
    assert!(audit.starts_with("SEQ "), "{audit}");
    let made = ok(dir, &["group", "create", "hosts", "--output", "json"]);
    assert_eq!(
        serde_json::from_str::<Value>(&made).unwrap()["name"],
        "hosts"
    );
    assert!(fails(dir, &["group", "list", "--output", "yaml"]).contains("invalid value"));

    // The server's refusals carry its message and the request id.
    let err = fails(dir, &["account", "list"]);
    assert!(
        err.contains("only a sysadmin") && err.contains("[forbidden; request id "),
        "{err}"
    );
    let err = fails(dir, &["app", "show", "nope"]);
    assert!(err.contains("no app named \"nope\""), "{err}");

    // A password given signs in instead (Basic), here as the sysadmin.
    let root = t.server.sysadmin();
    let root_pw = secret_file(dir, "root-password", &root.password);
    let accounts = ok(
        dir,
        &[
            "account",
            "list",
            "--user",
            "sysadmin",
            "--password-file",
            &root_pw,
        ],
    );
    assert_eq!(common::table_cell(&accounts, "Acme", "ENABLED"), "true");
    // Another --server gets neither the profile's tokens nor its CA.
    let elsewhere = format!("https://127.0.0.1:{}", common::free_port());
    let err = fails(dir, &["group", "list", "--server", &elsewhere]);
    assert!(
        err.contains(&format!("not signed in to {elsewhere}")) && err.contains("skms login"),
        "{err}"
    );
    // A server that is not there, or not trusted: what to do about it.
    let err = fails(
        dir,
        &[
            "group",
            "list",
            "--server",
            &elsewhere,
            "--ca-cert",
            &t.ca,
            "--user",
            "sysadmin",
            "--password-file",
            &root_pw,
        ],
    );
    assert!(
        err.contains(&format!(
            "cannot reach the server at {elsewhere}: connection refused"
        )) && err.contains("--server"),
        "{err}"
    );
    common::self_signed_p256(dir, "stranger", "/CN=stranger", &[]);
    let err = fails(dir, &["group", "list", "--ca-cert", "stranger.crt"]);
    assert!(
        err.contains(&format!("the server at {} is not trusted", t.url))
            && err.contains("skms ca-cert"),
        "{err}"
    );

    // Two profiles side by side: the sysadmin's beside the admin's.
    let out = ok(
        dir,
        &[
            "login",
            "--profile",
            "root",
            "--server",
            &t.url,
            "--ca-cert",
            &t.ca,
            "--user",
            "sysadmin",
            "--password-file",
            &root_pw,
        ],
    );
    assert!(out.contains("profile: root"), "{out}");
    assert!(ok(dir, &["account", "list", "--profile", "root"]).contains("Acme"));
    assert!(ok(dir, &["group", "list"]).contains("hosts"));
    assert_eq!(saved(dir, "default")["user"], user);
    for line in std::fs::read_dir(config(dir)).unwrap() {
        let name = line.unwrap().file_name();
        assert_eq!(name, "profiles.json", "no temporary file left behind");
    }
    drop(t.server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn an_ended_token_is_refreshed_and_logout_ends_the_session() {
    let t = setup("login-refresh");
    let dir = t.dir.as_path();
    t.login("default");
    let before = saved(dir, "default");

    // The server no longer knows the access token (as when it has expired):
    // the command refreshes the session once and saves the new pair.
    edit_saved(dir, "default", |p| p["access_token"] = "ended".into());
    let groups = ok(dir, &["group", "list"]);
    assert!(groups.contains("default"), "{groups}");
    let after = saved(dir, "default");
    assert_ne!(after["access_token"], "ended");
    assert_ne!(after["refresh_token"], before["refresh_token"], "rotated");
    assert_eq!(mode(&profiles_file(dir)), 0o600);
    // An access token past its end is refreshed before it is sent.
    edit_saved(dir, "default", |p| p["expires_at"] = 1.into());
    ok(dir, &["app", "list"]);
    let again = saved(dir, "default");
    assert_ne!(again["refresh_token"], after["refresh_token"]);
    assert!(again["expires_at"].as_i64().unwrap() > 1);

    // Sign-out: the server forgets the session, the file its tokens, and the
    // next command says what to do.
    let access = again["access_token"].as_str().unwrap().to_string();
    let out = ok(dir, &["logout"]);
    assert!(out.contains(&format!("signed out of {}", t.url)), "{out}");
    let left = saved(dir, "default");
    assert!(left.get("access_token").is_none() && left.get("refresh_token").is_none());
    assert_eq!(
        left["server"],
        t.url.as_str(),
        "the server is kept for the next login"
    );
    let pem = std::fs::read(&t.ca).unwrap();
    let client = reqwest::blocking::Client::builder()
        .tls_certs_only([reqwest::Certificate::from_pem(&pem).unwrap()])
        .build()
        .unwrap();
    let status = client
        .get(format!("{}/v1/groups", t.url))
        .bearer_auth(&access)
        .send()
        .unwrap()
        .status();
    assert_eq!(
        status,
        reqwest::StatusCode::UNAUTHORIZED,
        "the token is revoked"
    );
    let ended = format!("your session for {} has ended: run `skms login`", t.url);
    let err = fails(dir, &["group", "list"]);
    assert!(err.contains(&ended), "{err}");

    // A refresh the server refuses ends the session the same way, and the
    // dead tokens are deleted.
    t.login("default");
    edit_saved(dir, "default", |p| {
        p["access_token"] = "ended".into();
        p["refresh_token"] = "spent".into();
    });
    let err = fails(dir, &["group", "list"]);
    assert!(err.contains(&ended), "{err}");
    assert!(saved(dir, "default").get("refresh_token").is_none());
    let err = fails(dir, &["group", "list", "--profile", "other"]);
    assert!(
        err.contains("not signed in") && err.contains("skms login"),
        "{err}"
    );
    drop(t.server);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_one_time_password_is_changed_with_the_saved_login() {
    let t = setup("login-one-time");
    let dir = t.dir.as_path();
    t.login("default");
    let made = ok(dir, &["user", "create", "bob", "--role", "member"]);
    let one_time = common::after(&made, "first sign-in):");
    let one_time = secret_file(dir, "bob-one-time", &one_time);
    let new = secret_file(dir, "bob-new", "a long and fresh password");
    let out = ok(
        dir,
        &[
            "login",
            "--profile",
            "bob",
            "--server",
            &t.url,
            "--ca-cert",
            &t.ca,
            "--user",
            "bob",
            "--password-file",
            &one_time,
        ],
    );
    assert!(out.contains("one-time password"), "{out}");
    let err = fails(dir, &["group", "list", "--profile", "bob"]);
    assert!(err.contains("one-time password"), "{err}");
    // The saved session does not know the password: the change asks for it.
    let err = fails(
        dir,
        &[
            "password",
            "change",
            "--profile",
            "bob",
            "--new-password-file",
            &new,
        ],
    );
    assert!(err.contains("--password-file"), "{err}");
    let out = ok(
        dir,
        &[
            "password",
            "change",
            "--profile",
            "bob",
            "--password-file",
            &one_time,
            "--new-password-file",
            &new,
        ],
    );
    assert!(out.contains("password changed"), "{out}");
    // Every session of bob ended with the change; a new login works.
    let err = fails(dir, &["group", "list", "--profile", "bob"]);
    assert!(err.contains("run `skms login --profile bob`"), "{err}");
    ok(dir, &["login", "--profile", "bob", "--password-file", &new]);
    assert!(ok(dir, &["group", "list", "--profile", "bob"]).contains("default"));
    drop(t.server);
    let _ = std::fs::remove_dir_all(dir);
}
