//! `skms audit …`: read, export and verify the audit log. `list`, `export`
//! and `verify` without `--data-dir` go through the REST API (an account admin
//! reads its account's log, a sysadmin the provider's); `verify --data-dir`
//! checks every chain of a data directory itself (the provider's and each
//! account's) and names the first record changed, removed, reordered or cut off.

use crate::admin::{finish, s, table, utc, Api, Conn};
use reqwest::Method;
use skms_core::audit;
use skms_core::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Which records (every condition given must hold).
#[derive(clap::Args)]
pub struct Filter {
    /// From this time, milliseconds since the epoch (inclusive)
    #[arg(long, value_name = "MS")]
    from: Option<i64>,
    /// Until this time, milliseconds since the epoch (exclusive)
    #[arg(long, value_name = "MS")]
    to: Option<i64>,
    /// This actor: an app UUID or a user's login
    #[arg(long)]
    actor: Option<String>,
    /// This object (a KMIP Unique Identifier, an app id…)
    #[arg(long)]
    object: Option<String>,
    /// This operation (kmip.Create, auth.kmip.password, "rest.POST /v1/apps"…)
    #[arg(long)]
    operation: Option<String>,
    /// At most this many records [default 100]
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

impl Filter {
    fn query(&self) -> String {
        let mut q = format!("limit={}", self.limit);
        let pairs = [
            ("from", self.from.map(|v| v.to_string())),
            ("to", self.to.map(|v| v.to_string())),
            ("actor", self.actor.clone()),
            ("object", self.object.clone()),
            ("operation", self.operation.clone()),
        ];
        for (k, v) in pairs {
            if let Some(v) = v {
                q.push_str(&format!("&{k}={}", urlencode(&v)));
            }
        }
        q
    }
}

/// Percent-encodes a query value.
fn urlencode(v: &str) -> String {
    v.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `skms audit …`.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// List audit records, newest first (your account's; the provider's for a sysadmin).
    List {
        #[command(flatten)]
        filter: Filter,
        #[command(flatten)]
        conn: Conn,
    },
    /// Export audit records as JSON lines.
    Export {
        #[command(flatten)]
        filter: Filter,
        /// Write here instead of standard output
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        #[command(flatten)]
        conn: Conn,
    },
    /// Verify the audit hash chains: of a data directory's store with
    /// --data-dir, or of a PostgreSQL store with --storage-url (every chain;
    /// works while the servers run), else through the server (yours).
    Verify {
        /// Data directory of the server
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// The PostgreSQL store (postgres://…) of a cluster of nodes
        #[arg(long, value_name = "URL", conflicts_with = "data_dir")]
        storage_url: Option<String>,
        /// With --data-dir or --storage-url: only this account (name); default every chain
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
        #[command(flatten)]
        conn: Conn,
    },
}

/// Runs an audit command: exit 0 on success (every chain intact), 1 otherwise.
pub fn run(cmd: AuditCommand) -> ExitCode {
    match cmd {
        AuditCommand::List { filter, conn } => finish((|| {
            let api = Api::new(&conn)?;
            let v = api.get(&format!("/v1/audit?{}", filter.query()))?;
            api.show(&v, |v| {
                table(
                    &v["records"],
                    &[
                        ("SEQ", |r| r["seq"].to_string()),
                        ("TIME", |r| {
                            r["time_ms"]
                                .as_i64()
                                .map(|ms| utc(ms.div_euclid(1000)))
                                .unwrap_or_default()
                        }),
                        ("OPERATION", |r| s(&r["operation"]).into()),
                        ("ACTOR", |r| {
                            format!("{} {}", s(&r["actor_kind"]), s(&r["actor"]))
                        }),
                        ("SOURCE", |r| s(&r["source"]).into()),
                        ("OBJECT", |r| s(&r["object"]).into()),
                        ("RESULT", |r| match r["reason"].as_str() {
                            Some(why) => format!("{} ({why})", s(&r["result"])),
                            None => s(&r["result"]).into(),
                        }),
                    ],
                )
            });
            Ok(())
        })()),
        AuditCommand::Export { filter, out, conn } => finish((|| {
            let api = Api::new(&conn)?;
            let path = format!("/v1/audit/export?{}", filter.query());
            let text = api
                .execute(api.request(Method::GET, &path))?
                .text()
                .map_err(|e| format!("cannot read the server's answer: {e}"))?;
            match out {
                Some(p) => std::fs::write(&p, text)
                    .map_err(|e| format!("cannot write {}: {e}", p.display()))?,
                None => print!("{text}"),
            }
            Ok(())
        })()),
        AuditCommand::Verify {
            data_dir: None,
            storage_url: None,
            conn,
            ..
        } => {
            let mut intact = false;
            let code = finish((|| {
                let api = Api::new(&conn)?;
                let v = api.get("/v1/audit/verify")?;
                intact = v["intact"].as_bool() == Some(true);
                api.show(&v, |v| match v["problem"].as_str() {
                    None => format!("{} records, chain intact", v["records"]),
                    Some(p) => format!("BROKEN: {p}"),
                });
                Ok(())
            })());
            if intact {
                code
            } else {
                ExitCode::FAILURE
            }
        }
        AuditCommand::Verify {
            data_dir,
            storage_url,
            account,
            ..
        } => verify_store(data_dir, storage_url, account),
    }
}

/// Verifies every chain (or one account's) of a data directory's SQLite
/// database or of a PostgreSQL store.
fn verify_store(dir: Option<PathBuf>, url: Option<String>, account: Option<String>) -> ExitCode {
    let opened: Result<Box<dyn Store>, String> = match (dir, url) {
        (_, Some(url)) => skms_store::PgStore::open(&url)
            .map(|s| Box::new(s) as Box<dyn Store>)
            .map_err(|e| e.to_string()),
        (Some(dir), None) => {
            let db = dir.join(skms_server::init::DB_FILE);
            if db.is_file() {
                skms_store::SqliteStore::open(&db)
                    .map(|s| Box::new(s) as Box<dyn Store>)
                    .map_err(|e| e.to_string())
            } else {
                Err(format!("{} holds no server database", dir.display()))
            }
        }
        (None, None) => Err("give --data-dir or --storage-url".into()),
    };
    let store = match opened {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let accounts = match store.accounts() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut chains: Vec<(String, Option<skms_core::ids::AccountId>)> = Vec::new();
    match &account {
        Some(name) => match accounts.iter().find(|a| a.name == name.trim()) {
            Some(a) => chains.push((format!("account {} ({})", a.name, a.id), Some(a.id))),
            None => {
                eprintln!("error: no account named {name:?}");
                return ExitCode::FAILURE;
            }
        },
        None => {
            chains.push(("provider".into(), None));
            chains.extend(
                accounts
                    .iter()
                    .map(|a| (format!("account {} ({})", a.name, a.id), Some(a.id))),
            );
        }
    }
    let mut ok = true;
    for (label, id) in chains {
        match audit::verify_chain(&*store, id) {
            Ok(n) => println!("{label}: {n} records, chain intact"),
            Err(e) => {
                ok = false;
                println!("{label}: BROKEN: {e}");
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
