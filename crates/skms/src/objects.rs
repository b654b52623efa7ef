//! `skms object …`: security objects through the REST API, as an account's
//! user (admin or member to change them; an auditor only looks) or an app:
//! list with filters and paging, show, create, import (bring your own key),
//! activate, revoke, destroy, rotate, move to another group.

use crate::admin::{fields, finish, s, table, utc, Api, Conn};
use base64::Engine as _;
use reqwest::Method;
use serde_json::{json, Map, Value};
use std::path::PathBuf;
use std::process::ExitCode;
use zeroize::Zeroizing;

/// The subcommands.
#[derive(clap::Subcommand)]
pub enum ObjectCommand {
    /// List the objects you may see (one page, or every page with --all).
    List {
        #[command(flatten)]
        filter: Filter,
        /// Order by: created (default), updated or name.
        #[arg(long, value_name = "KEY")]
        sort: Option<String>,
        /// Largest (newest, last) first.
        #[arg(long)]
        desc: bool,
        /// Objects per page (1 to 1000; default 50).
        #[arg(long)]
        limit: Option<usize>,
        /// Start after this object (the `next` a page printed).
        #[arg(long, value_name = "ID")]
        after: Option<String>,
        /// Every page, not only the first.
        #[arg(long)]
        all: bool,
    },
    /// One object with every attribute (never its value).
    Show {
        /// Its Unique Identifier.
        id: String,
    },
    /// Create a key in a group (KMIP Create).
    Create {
        /// The group (name or id; an app may leave it out: its default group).
        #[arg(long)]
        group: Option<String>,
        /// Its name.
        #[arg(long)]
        name: Option<String>,
        /// KMIP algorithm name.
        #[arg(long, default_value = "AES")]
        algorithm: String,
        /// Length in bits.
        #[arg(long, default_value_t = 256)]
        length: i32,
        /// KMIP usage mask names, comma-separated (default Encrypt,Decrypt).
        #[arg(long, value_delimiter = ',')]
        usage: Vec<String>,
        /// A custom attribute, `x-Name=value` (repeatable).
        #[arg(long = "attr", value_name = "x-NAME=VALUE")]
        attributes: Vec<String>,
    },
    /// Import your own key or secret (bring your own key; KMIP Register).
    Import {
        /// symmetric-key or secret-data.
        #[arg(long = "type", value_name = "TYPE", default_value = "symmetric-key")]
        object_type: String,
        /// The group (name or id; an app may leave it out).
        #[arg(long)]
        group: Option<String>,
        /// Its name.
        #[arg(long)]
        name: Option<String>,
        /// KMIP algorithm name of a symmetric key.
        #[arg(long, default_value = "AES")]
        algorithm: String,
        /// The file holding the raw key or secret bytes.
        #[arg(long, value_name = "FILE")]
        material_file: PathBuf,
        /// A custom attribute, `x-Name=value` (repeatable).
        #[arg(long = "attr", value_name = "x-NAME=VALUE")]
        attributes: Vec<String>,
    },
    /// Activate an object (KMIP Activate).
    Activate {
        /// Its Unique Identifier.
        id: String,
    },
    /// Revoke an object (KMIP Revoke).
    Revoke {
        /// Its Unique Identifier.
        id: String,
        /// KMIP revocation reason: Unspecified, KeyCompromise, CACompromise,
        /// AffiliationChanged, Superseded, CessationOfOperation, PrivilegeWithdrawn.
        #[arg(long)]
        reason: String,
        /// A message for people.
        #[arg(long)]
        message: Option<String>,
    },
    /// Destroy an object's value (KMIP Destroy; its metadata stays).
    Destroy {
        /// Its Unique Identifier.
        id: String,
    },
    /// Replace a key with a new one in the same group (KMIP Re-key).
    Rotate {
        /// Its Unique Identifier.
        id: String,
    },
    /// Move an object to another group of your account.
    Move {
        /// Its Unique Identifier.
        id: String,
        /// The group (name or id).
        #[arg(long)]
        group: String,
    },
}

/// The filters of `skms object list`.
#[derive(clap::Args)]
pub struct Filter {
    /// Objects with exactly this name.
    #[arg(long)]
    name: Option<String>,
    /// KMIP object type name (SymmetricKey, SecretData…).
    #[arg(long = "type", value_name = "TYPE")]
    object_type: Option<String>,
    /// KMIP algorithm name (AES…).
    #[arg(long)]
    algorithm: Option<String>,
    /// Length in bits.
    #[arg(long)]
    length: Option<i32>,
    /// KMIP state name (PreActive, Active, Deactivated, Compromised, Destroyed…).
    #[arg(long)]
    state: Option<String>,
    /// Only this group (name or id).
    #[arg(long)]
    group: Option<String>,
    /// Only objects this app created (its id).
    #[arg(long, value_name = "APP")]
    creator: Option<String>,
    /// Objects with this custom attribute value, `x-Name=test01` (repeatable):
    /// vCenter tags its keys with the VM or host they belong to.
    #[arg(long = "attr", value_name = "x-NAME=VALUE")]
    attributes: Vec<String>,
}

/// `x-Name=value` as a pair.
fn attribute(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((k, v)) if k.starts_with("x-") && k.len() > 2 => Ok((k.to_string(), v.to_string())),
        _ => Err(format!(
            "--attr {text:?}: write a custom attribute as x-NAME=VALUE"
        )),
    }
}

/// The id of group `which` of the caller's account (a UUID is taken as is).
fn group_id(api: &Api, which: &str) -> Result<String, String> {
    let which = which.trim();
    if which.len() == 36 && which.chars().filter(|c| *c == '-').count() == 4 {
        return Ok(which.to_lowercase());
    }
    api.get("/v1/groups")?
        .as_array()
        .into_iter()
        .flatten()
        .find(|g| g["name"].as_str() == Some(which))
        .and_then(|g| g["id"].as_str().map(str::to_string))
        .ok_or_else(|| format!("no group named {which:?} in your account"))
}

/// A custom-attribute map of `--attr` values.
fn attribute_map(attributes: &[String]) -> Result<Map<String, Value>, String> {
    attributes
        .iter()
        .map(|a| attribute(a).map(|(k, v)| (k, Value::String(v))))
        .collect()
}

/// The objects table for people.
fn objects_table(v: &Value) -> String {
    table(
        v,
        &[
            ("ID", |o| s(&o["id"]).into()),
            ("NAME", |o| s(&o["name"]).into()),
            ("TYPE", |o| s(&o["object_type"]).into()),
            ("KEY", |o| {
                match (o["algorithm"].as_str(), o["length"].as_i64()) {
                    (Some(a), Some(l)) => format!("{a}-{l}"),
                    _ => String::new(),
                }
            }),
            ("STATE", |o| s(&o["state"]).into()),
            ("CREATED", |o| utc(o["created"].as_i64().unwrap_or(0))),
            ("X-NAME", |o| s(&o["tags"]["x-Name"]).into()),
            ("X-COMPONENT", |o| s(&o["tags"]["x-Component"]).into()),
        ],
    )
}

/// One object for people.
fn object_text(o: &Value) -> String {
    let date = |v: &Value| v.as_i64().map(utc).unwrap_or_default();
    let mut pairs = vec![
        ("id", s(&o["id"]).to_string()),
        ("name", s(&o["name"]).to_string()),
        ("type", s(&o["object_type"]).to_string()),
        ("algorithm", s(&o["algorithm"]).to_string()),
        (
            "length",
            o["length"]
                .as_i64()
                .map(|l| l.to_string())
                .unwrap_or_default(),
        ),
        ("state", s(&o["state"]).to_string()),
        ("group", s(&o["group"]).to_string()),
        ("creator", s(&o["creator"]).to_string()),
        ("created", date(&o["created"])),
        ("updated", date(&o["updated"])),
        ("activation date", date(&o["activation_date"])),
        ("deactivation date", date(&o["deactivation_date"])),
    ];
    let tags: Vec<(&str, String)> = o["tags"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| (k.as_str(), s(v).to_string()))
        .collect();
    pairs.extend(tags);
    fields(&pairs)
}

/// Runs an object command.
pub fn object(cmd: ObjectCommand, conn: Conn) -> ExitCode {
    finish((|| {
        let api = Api::new(&conn)?;
        match cmd {
            ObjectCommand::List {
                filter,
                sort,
                desc,
                limit,
                after,
                all,
            } => {
                let mut query: Vec<(String, String)> = Vec::new();
                let mut put = |k: &str, v: Option<String>| {
                    if let Some(v) = v {
                        query.push((k.to_string(), v));
                    }
                };
                put("name", filter.name);
                put("type", filter.object_type);
                put("algorithm", filter.algorithm);
                put("length", filter.length.map(|l| l.to_string()));
                put("state", filter.state);
                put("creator", filter.creator);
                put("sort", sort);
                put("order", desc.then(|| "desc".to_string()));
                put("limit", limit.map(|l| l.to_string()));
                if let Some(g) = &filter.group {
                    query.push(("group".into(), group_id(&api, g)?));
                }
                for a in &filter.attributes {
                    query.push(attribute(a)?);
                }
                let mut after = after;
                let mut objects = Vec::new();
                let mut page;
                loop {
                    let mut q = query.clone();
                    if let Some(a) = &after {
                        q.push(("after".into(), a.clone()));
                    }
                    page = api.send(api.request(Method::GET, "/v1/objects").query(&q))?;
                    objects.extend(page["objects"].as_array().cloned().unwrap_or_default());
                    after = page["next"].as_str().map(str::to_string);
                    if !all || after.is_none() {
                        break;
                    }
                }
                let total = page["total"].as_u64().unwrap_or(0);
                let shown = objects.len();
                let answer = json!({ "objects": objects, "total": total, "next": after });
                api.show(&answer, |v| objects_table(&v["objects"]));
                if let (Some(next), false) = (&after, all) {
                    eprintln!("{shown} of {total} shown; the next page: --after {next} (or --all)");
                }
            }
            ObjectCommand::Show { id } => {
                let v = api.get(&format!("/v1/objects/{}", id.trim()))?;
                api.show(&v, |v| {
                    let mut text = object_text(&v["object"]);
                    text.push_str("\nattributes:\n");
                    for a in v["attributes"].as_array().into_iter().flatten() {
                        let value = match &a["value"] {
                            Value::String(t) => t.clone(),
                            other => other.to_string(),
                        };
                        text.push_str(&format!("  {}: {value}\n", s(&a["name"])));
                    }
                    text
                });
            }
            ObjectCommand::Create {
                group,
                name,
                algorithm,
                length,
                usage,
                attributes,
            } => {
                let mut body = json!({
                    "name": name,
                    "algorithm": algorithm,
                    "length": length,
                    "attributes": attribute_map(&attributes)?,
                });
                if let Some(g) = group {
                    body["group"] = group_id(&api, &g)?.into();
                }
                if !usage.is_empty() {
                    body["usage"] = json!(usage);
                }
                let v = api.post("/v1/objects", body)?;
                api.show(&v, object_text);
            }
            ObjectCommand::Import {
                object_type,
                group,
                name,
                algorithm,
                material_file,
                attributes,
            } => {
                let bytes = Zeroizing::new(
                    std::fs::read(&material_file)
                        .map_err(|e| format!("cannot read {}: {e}", material_file.display()))?,
                );
                let material = Zeroizing::new(
                    base64::engine::general_purpose::STANDARD.encode(bytes.as_slice()),
                );
                let mut body = json!({
                    "name": name,
                    "material": material.as_str(),
                    "attributes": attribute_map(&attributes)?,
                });
                match object_type.as_str() {
                    "symmetric-key" => {
                        body["type"] = "SymmetricKey".into();
                        body["algorithm"] = algorithm.into();
                    }
                    "secret-data" => body["type"] = "SecretData".into(),
                    other => return Err(format!("--type {other:?}: symmetric-key or secret-data")),
                }
                if let Some(g) = group {
                    body["group"] = group_id(&api, &g)?.into();
                }
                let v = api.post("/v1/objects/import", body)?;
                api.show(&v, object_text);
            }
            ObjectCommand::Activate { id } => {
                let v = api.post(&format!("/v1/objects/{}/activate", id.trim()), json!({}))?;
                api.show(&v, object_text);
            }
            ObjectCommand::Revoke {
                id,
                reason,
                message,
            } => {
                let v = api.post(
                    &format!("/v1/objects/{}/revoke", id.trim()),
                    json!({ "reason": reason, "message": message }),
                )?;
                api.show(&v, object_text);
            }
            ObjectCommand::Destroy { id } => {
                let v = api.post(&format!("/v1/objects/{}/destroy", id.trim()), json!({}))?;
                api.show(&v, object_text);
            }
            ObjectCommand::Rotate { id } => {
                let v = api.post(&format!("/v1/objects/{}/rotate", id.trim()), json!({}))?;
                api.show(&v, object_text);
            }
            ObjectCommand::Move { id, group } => {
                let group = group_id(&api, &group)?;
                let v = api.send(
                    api.request(Method::PUT, &format!("/v1/objects/{}/group", id.trim()))
                        .json(&json!({ "group": group })),
                )?;
                api.show(&v, object_text);
            }
        }
        Ok(())
    })())
}
