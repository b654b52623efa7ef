//! `skms user …` and `skms password change`: people, through the REST API
//! (an account's admin manages its users; a sysadmin the sysadmins).

use crate::admin::{fields, finish, first_line, s, table, utc, Api, Conn};
use reqwest::Method;
use serde_json::{json, Value};
use std::path::PathBuf;
use std::process::ExitCode;

/// `skms user …`. USER is a login name or a user id.
#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// List the users you manage.
    List,
    /// Create a user with a one-time password (printed once; to change at first sign-in).
    Create {
        /// Login name (letters, digits, - _ . @).
        name: String,
        /// account-admin, member or auditor (sysadmin: for a sysadmin creating one)
        #[arg(long)]
        role: String,
    },
    /// Change a user: enable, disable, role.
    Update {
        /// The user's login name or id.
        #[arg(value_name = "USER")]
        login: String,
        /// A new role.
        #[arg(long)]
        role: Option<String>,
        /// Let it sign in again
        #[arg(long, conflicts_with = "disable")]
        enable: bool,
        /// Stop it signing in (its sessions end at once)
        #[arg(long)]
        disable: bool,
    },
    /// Delete a user (its sessions end; the audit log keeps its name).
    Delete {
        /// The user's login name or id.
        #[arg(value_name = "USER")]
        login: String,
    },
    /// Set the roles a user holds on groups (replaces them): GROUP=ROLE, role admin, member or auditor.
    GroupRoles {
        /// The user's login name or id.
        #[arg(value_name = "USER")]
        login: String,
        /// GROUP=ROLE (group name or id); repeatable; none clears them
        #[arg(long = "set", value_name = "GROUP=ROLE")]
        roles: Vec<String>,
    },
}

/// `skms password …`.
#[derive(clap::Subcommand)]
pub enum PasswordCommand {
    /// Change your own password (your other sessions end).
    Change {
        /// File whose first line is the new password (at least 12 characters)
        #[arg(long, value_name = "FILE")]
        new_password_file: PathBuf,
    },
}

/// The id of the user named `which` (an id is taken as is).
fn user_id(api: &Api, which: &str) -> Result<String, String> {
    let users = api.get("/v1/users")?;
    users
        .as_array()
        .into_iter()
        .flatten()
        .find(|u| {
            u["name"].as_str() == Some(which.trim()) || u["id"].as_str() == Some(which.trim())
        })
        .and_then(|u| u["id"].as_str().map(str::to_string))
        .ok_or_else(|| format!("no user {which:?} among the users you manage"))
}

fn user_text(u: &Value) -> String {
    fields(&[
        ("user", s(&u["name"]).into()),
        ("id", s(&u["id"]).into()),
        ("role", s(&u["role"]).into()),
        ("enabled", u["enabled"].to_string()),
        (
            "must change its password",
            u["must_change_password"].to_string(),
        ),
    ])
}

/// Runs a user command.
pub fn user(cmd: UserCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            UserCommand::List => {
                let v = api.get("/v1/users")?;
                api.show(&v, |v| {
                    table(
                        v,
                        &[
                            ("ID", |u| s(&u["id"]).into()),
                            ("NAME", |u| s(&u["name"]).into()),
                            ("ROLE", |u| s(&u["role"]).into()),
                            ("ENABLED", |u| u["enabled"].to_string()),
                            ("MUST CHANGE PASSWORD", |u| {
                                u["must_change_password"].to_string()
                            }),
                            ("CREATED", |u| {
                                u["created"].as_i64().map(utc).unwrap_or_default()
                            }),
                        ],
                    )
                });
            }
            UserCommand::Create { name, role } => {
                let v = api.post("/v1/users", json!({ "name": name, "role": role }))?;
                api.show(&v, |v| {
                    user_text(&v["user"])
                        + &fields(&[(
                            "one-time password (shown once; to change at first sign-in)",
                            s(&v["password"]).into(),
                        )])
                });
            }
            UserCommand::Update {
                login: user,
                role,
                enable,
                disable,
            } => {
                let mut body = json!({});
                if let Some(r) = role {
                    body["role"] = json!(r);
                }
                if enable || disable {
                    body["enabled"] = json!(enable);
                }
                let path = format!("/v1/users/{}", user_id(&api, &user)?);
                let v = api.send(api.request(Method::PATCH, &path).json(&body))?;
                api.show(&v, user_text);
            }
            UserCommand::Delete { login: user } => {
                let path = format!("/v1/users/{}", user_id(&api, &user)?);
                let v = api.send(api.request(Method::DELETE, &path))?;
                api.show(&v, |_| format!("user {user} deleted"));
            }
            UserCommand::GroupRoles { login: user, roles } => {
                let body = roles
                    .iter()
                    .map(|r| {
                        let (g, role) = r
                            .split_once('=')
                            .ok_or_else(|| format!("{r:?}: expected GROUP=ROLE"))?;
                        Ok(json!({ "group": g, "role": role }))
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                let path = format!("/v1/users/{}/group-roles", user_id(&api, &user)?);
                let v = api.send(api.request(Method::PUT, &path).json(&body))?;
                api.show(&v, |_| {
                    format!("group roles of {user} set ({} roles)", body.len())
                });
            }
        }
        Ok(())
    })())
}

/// Runs a password command: the current password is the one you signed in with.
pub fn password(cmd: PasswordCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        let PasswordCommand::Change { new_password_file } = cmd;
        let new = first_line(&new_password_file)?;
        let old = api.password().ok_or(
            "give your current password with --password-file (or SKMS_PASSWORD): \
             a saved session does not know it",
        )?;
        let v = api.send(
            api.request(Method::PUT, "/v1/me/password")
                .json(&json!({ "old_password": old, "new_password": new.as_str() })),
        )?;
        api.show(&v, |_| {
            "password changed; your other sessions ended (sign in again with `skms login`)".into()
        });
        Ok(())
    })())
}
