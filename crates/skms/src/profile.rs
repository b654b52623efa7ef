//! `skms login` and `skms logout`, and the login profiles they save: per
//! profile name, the server's address, its CA certificate, the login name and
//! the session's tokens, so that every REST command works without a password.
//!
//! The profiles live in `profiles.json` in `$SKMS_CONFIG_DIR`, else
//! `$XDG_CONFIG_HOME/skms`, else `~/.config/skms` (the directory 0700, the
//! file 0600, replaced whole by a rename so that a reader never sees half of
//! it). The tokens are secrets: they go to that file and the server only,
//! never to the screen or a log. How a command uses and refreshes them is
//! [`crate::admin::Api`]'s.

use crate::admin::{self, env, fields, finish, utc, Api, Conn, Endpoint};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use zeroize::Zeroizing;

/// The file of the profiles in the configuration directory.
const FILE: &str = "profiles.json";

/// A saved login profile (no `Debug`: it holds the tokens).
#[derive(Clone)]
pub(crate) struct Profile {
    /// Base address of the REST API.
    pub(crate) server: String,
    /// The server's CA certificate (an absolute path).
    pub(crate) ca_cert: Option<PathBuf>,
    /// Login name.
    pub(crate) user: Option<String>,
    /// The session, until `skms logout` or its end.
    pub(crate) session: Option<Tokens>,
}

/// A session's tokens, as `POST /v1/session` and its refresh give them.
#[derive(Clone)]
pub(crate) struct Tokens {
    /// Sent as `Authorization: Bearer …`.
    pub(crate) access_token: Zeroizing<String>,
    /// When the access token ends (seconds since the epoch).
    pub(crate) expires_at: i64,
    /// Exchanged once for a new pair.
    pub(crate) refresh_token: Zeroizing<String>,
    /// When the session ends.
    pub(crate) refresh_expires_at: i64,
}

/// Seconds since the epoch.
fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl Tokens {
    /// The tokens of the server's answer to a sign-in or a refresh.
    pub(crate) fn from_answer(v: &Value) -> Result<Tokens, String> {
        let text = |k: &str| {
            v[k].as_str()
                .map(|t| Zeroizing::new(t.to_string()))
                .ok_or_else(|| format!("the server's answer has no {k}"))
        };
        let time = |k: &str| {
            v[k].as_i64()
                .ok_or_else(|| format!("the server's answer has no {k}"))
        };
        Ok(Tokens {
            access_token: text("access_token")?,
            expires_at: time("expires_at")?,
            refresh_token: text("refresh_token")?,
            refresh_expires_at: time("refresh_expires_at")?,
        })
    }

    /// Whether the access token has ended (or will within 10 s, the time a request may take).
    pub(crate) fn expired(&self) -> bool {
        self.expires_at <= now() + 10
    }
}

impl Profile {
    fn to_json(&self) -> Value {
        let mut v = json!({ "server": self.server });
        if let Some(ca) = &self.ca_cert {
            v["ca_cert"] = json!(ca.display().to_string());
        }
        if let Some(user) = &self.user {
            v["user"] = json!(user);
        }
        if let Some(t) = &self.session {
            v["access_token"] = json!(t.access_token.as_str());
            v["expires_at"] = json!(t.expires_at);
            v["refresh_token"] = json!(t.refresh_token.as_str());
            v["refresh_expires_at"] = json!(t.refresh_expires_at);
        }
        v
    }

    fn from_json(v: &Value) -> Option<Profile> {
        Some(Profile {
            server: v["server"].as_str()?.to_string(),
            ca_cert: v["ca_cert"].as_str().map(PathBuf::from),
            user: v["user"].as_str().map(str::to_string),
            // No tokens (signed out) or broken ones: no session.
            session: Tokens::from_answer(v).ok(),
        })
    }
}

/// The directory of the profiles.
fn dir() -> Result<PathBuf, String> {
    if let Some(d) = env("SKMS_CONFIG_DIR") {
        return Ok(PathBuf::from(d));
    }
    if let Some(d) = env("XDG_CONFIG_HOME") {
        return Ok(PathBuf::from(d).join("skms"));
    }
    env("HOME")
        .map(|h| PathBuf::from(h).join(".config").join("skms"))
        .ok_or_else(|| "no place for login profiles: set SKMS_CONFIG_DIR (or HOME)".into())
}

/// Every profile, by name: the file's `profiles` object (empty if there is no file).
fn read_all(path: &Path) -> Result<serde_json::Map<String, Value>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => Zeroizing::new(t),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    let all: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not a profile file: {e}", path.display()))?;
    Ok(all["profiles"].as_object().cloned().unwrap_or_default())
}

/// The profile `name`, if saved.
pub(crate) fn load(name: &str) -> Result<Option<Profile>, String> {
    let all = read_all(&dir()?.join(FILE))?;
    Ok(all.get(name).and_then(Profile::from_json))
}

/// Saves `profile` as `name` (the other profiles stay).
pub(crate) fn save(name: &str, profile: &Profile) -> Result<(), String> {
    let dir = dir()?;
    let path = dir.join(FILE);
    let mut all = read_all(&path)?;
    all.insert(name.to_string(), profile.to_json());
    let text = Zeroizing::new(
        serde_json::to_string_pretty(&json!({ "profiles": all })).map_err(|e| e.to_string())?,
    );
    write_private(&dir, &path, text.as_bytes())
}

/// Writes `data` to `path` in `dir` (made 0700 if missing) as a 0600 file:
/// a new file beside it, then renamed over it.
fn write_private(dir: &Path, path: &Path, data: &[u8]) -> Result<(), String> {
    let fail = |p: &Path, e: std::io::Error| format!("cannot write {}: {e}", p.display());
    let mut mkdir = std::fs::DirBuilder::new();
    mkdir.recursive(true);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
        mkdir.mode(0o700);
        options.mode(0o600);
    }
    mkdir.create(dir).map_err(|e| fail(dir, e))?;
    let tmp = dir.join(format!(".{FILE}.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = options.open(&tmp).and_then(|mut f| {
        f.write_all(data)?;
        f.sync_all()
    });
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(fail(path, e));
    }
    Ok(())
}

/// Asks for the password on the terminal, without echo.
fn prompt_password(user: &str, base: &str) -> Result<Zeroizing<String>, String> {
    use std::io::IsTerminal;
    use std::process::Command;
    let give = "give the password with --password-file FILE or SKMS_PASSWORD";
    if !std::io::stdin().is_terminal() {
        return Err(format!("no terminal to ask for the password on: {give}"));
    }
    eprint!("password of {user} at {base}: ");
    let quiet = Command::new("stty")
        .arg("-echo")
        .status()
        .is_ok_and(|s| s.success());
    if !quiet {
        eprintln!();
        return Err(format!("cannot turn off the terminal's echo: {give}"));
    }
    let mut line = Zeroizing::new(String::new());
    let read = std::io::stdin().read_line(&mut line);
    let _ = Command::new("stty").arg("echo").status();
    eprintln!();
    read.map_err(|e| format!("cannot read the password: {e}"))?;
    Ok(Zeroizing::new(
        line.trim_end_matches(['\r', '\n']).to_string(),
    ))
}

/// The profile `--profile` names (SKMS_PROFILE, else "default"), if saved
/// for the server asked for: a profile is for its own server only, so that
/// another `--server` never gets its tokens.
pub(crate) fn for_server(conn: &Conn) -> Result<(String, Option<Profile>), String> {
    let name = conn.profile_name();
    let saved = load(&name)?.filter(|p| conn.server().is_none_or(|s| s == p.server));
    Ok((name, saved))
}

/// `text` as a JSON string, wiped when dropped.
fn quoted(text: &str) -> Result<Zeroizing<String>, String> {
    serde_json::to_string(text)
        .map(Zeroizing::new)
        .map_err(|e| e.to_string())
}

/// Runs `skms login`: signs in with a password and saves the session in the profile.
pub fn login(conn: Conn) -> ExitCode {
    finish((|| {
        let output = conn.output()?;
        let (name, saved) = for_server(&conn)?;
        let endpoint = Endpoint::new(&conn, saved.as_ref())?;
        let user = conn
            .user()
            .or_else(|| saved.and_then(|p| p.user))
            .ok_or("give your login name with --user (or SKMS_USER)")?;
        let password = match conn.password()? {
            Some(p) => p,
            None => prompt_password(&user, &endpoint.base)?,
        };
        // Written by hand so that every copy of the password here is wiped.
        let body = Zeroizing::new(format!(
            r#"{{"username":{},"password":{}}}"#,
            quoted(&user)?.as_str(),
            quoted(&password)?.as_str()
        ));
        let resp = endpoint
            .client
            .request(Method::POST, endpoint.url("/v1/session"))
            .header("content-type", "application/json")
            .body(body.as_bytes().to_vec())
            .send()
            .map_err(|e| endpoint.unreachable(&e))?;
        let status = resp.status();
        let answer: Value = resp.json().unwrap_or(Value::Null);
        if status == StatusCode::UNAUTHORIZED {
            return Err(format!(
                "{} refused the sign-in of {user}: {}",
                endpoint.base,
                admin::server_says(&answer)
            ));
        }
        if !status.is_success() {
            return Err(admin::refusal(status, &answer));
        }
        let tokens = Tokens::from_answer(&answer)?;
        let ends = tokens.refresh_expires_at;
        let ca_cert = std::path::absolute(&endpoint.ca)
            .map_err(|e| format!("{}: {e}", endpoint.ca.display()))?;
        let profile = Profile {
            server: endpoint.base.clone(),
            ca_cert: Some(ca_cert),
            user: Some(user.clone()),
            session: Some(tokens),
        };
        save(&name, &profile)?;
        // What was saved, never the tokens.
        let shown = json!({
            "profile": name,
            "server": profile.server,
            "user": answer["user"],
            "expires_at": answer["expires_at"],
            "refresh_expires_at": ends,
        });
        output.show(&shown, |v| {
            let mut text = fields(&[
                ("signed in to", profile.server.clone()),
                ("as", format!("{user} ({})", admin::s(&v["user"]["role"]))),
                ("profile", name.clone()),
                ("session ends", utc(ends)),
            ]);
            if v["user"]["must_change_password"] == true {
                text.push_str(
                    "first change your one-time password: skms password change \
                     --password-file CURRENT --new-password-file NEW\n",
                );
            }
            text
        });
        Ok(())
    })())
}

/// Runs `skms logout`: ends the profile's session at the server and deletes its tokens.
pub fn logout(conn: Conn) -> ExitCode {
    finish((|| {
        let output = conn.output()?;
        let (name, saved) = for_server(&conn)?;
        let Some(mut profile) = saved else {
            return Err(format!("no saved login profile {name:?} for that server"));
        };
        if profile.session.is_some() {
            // The server forgets the session (refreshed first if need be), then
            // this file does whatever the server said: one that ended is fine.
            let api = Api::session(&conn, &name, profile.clone())?;
            let told = api.execute(api.request(Method::DELETE, "/v1/session"));
            profile.session = None;
            save(&name, &profile)?;
            if let Some(e) = told.err().filter(|e| *e != api.ended()) {
                eprintln!("note: {e}; the saved tokens are deleted all the same");
            }
        }
        let shown = json!({ "profile": name, "server": profile.server, "signed_in": false });
        output.show(&shown, |_| {
            format!("signed out of {} (profile {name})", profile.server)
        });
        Ok(())
    })())
}
