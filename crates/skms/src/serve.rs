//! `skms serve`, `skms account …` and `skms app …`: the server and, until the
//! REST API exists, direct administration of a local data directory.

use skms_core::model::AuthMethod;
use skms_core::store::Store;
use skms_core::tenancy::{self, NewApp};
use skms_server::config::{Config, ServeFlags, DEFAULT_DATA_DIR};
use std::path::PathBuf;
use std::process::ExitCode;

/// Runs the server until SIGINT or SIGTERM.
pub fn serve(flags: ServeFlags) -> ExitCode {
    let config = match Config::load(&flags) {
        Ok(c) => c,
        Err(e) => return fail(e),
    };
    skms_server::init_logging();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    rt.block_on(async move {
        let running = match skms_server::start(&config).await {
            Ok(r) => r,
            Err(e) => return fail(e),
        };
        for line in &running.created {
            println!("{line}");
        }
        println!("data directory: {}", running.data_dir.display());
        println!(
            "CA certificate: {} (give it to vCenter: \"Make vCenter trust KMS\" / \"Upload KMS certificate\")",
            running.ca_cert_path.display()
        );
        println!("HTTPS address reserved for the REST API (not served yet): {}", config.https_addr);
        println!("KMIP over TLS listening on {}", running.kmip_addr);
        let stop = running.shutdown_handle();
        tokio::spawn(async move {
            skms_server::shutdown_signal().await;
            tracing::info!("shutting down");
            let _ = stop.send(());
        });
        running.wait().await;
        println!("stopped");
        ExitCode::SUCCESS
    })
}

/// Where the admin commands find the data directory.
#[derive(clap::Args)]
pub struct DataDirArg {
    /// Data directory of the server [env SKMS_DATA_DIR; default ./skms-data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
}

impl DataDirArg {
    fn path(&self) -> PathBuf {
        self.data_dir.clone().unwrap_or_else(|| {
            std::env::var_os("SKMS_DATA_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR))
        })
    }
}

/// `skms account …`.
#[derive(clap::Subcommand)]
pub enum AccountCommand {
    /// Create an account (a tenant) with its key and its default group.
    Create {
        /// Unique name of the account.
        name: String,
        #[command(flatten)]
        dir: DataDirArg,
    },
}

/// `skms app …`.
#[derive(clap::Subcommand)]
pub enum AppCommand {
    /// Create an app (a KMIP client such as vCenter) and print its id and secret once.
    Create {
        /// Name of the account the app belongs to.
        #[arg(long)]
        account: String,
        /// Name of the app, unique in the account.
        #[arg(long)]
        name: String,
        /// Free text.
        #[arg(long, default_value = "")]
        description: String,
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// Pin a client certificate (PEM; self-signed allowed, any CN) to an app:
    /// a TLS client presenting it authenticates as the app.
    PinCert {
        #[command(flatten)]
        which: WhichApp,
        /// The certificate, PEM (every CERTIFICATE block in the file is pinned).
        #[arg(long, value_name = "FILE")]
        pem: PathBuf,
        #[command(flatten)]
        dir: DataDirArg,
    },
    /// Trust a CA (PEM) for an app: certificates it issues whose CN is the app's
    /// UUID authenticate as the app.
    TrustCa {
        #[command(flatten)]
        which: WhichApp,
        /// The CA certificate, PEM.
        #[arg(long, value_name = "FILE")]
        pem: PathBuf,
        #[command(flatten)]
        dir: DataDirArg,
    },
}

/// Which app an admin command is about.
#[derive(clap::Args)]
pub struct WhichApp {
    /// Name of the account.
    #[arg(long)]
    account: String,
    /// Name of the app in that account.
    #[arg(long)]
    app: String,
}

/// Finds an app by account and app name.
fn find_app(
    store: &dyn skms_core::store::Store,
    which: &WhichApp,
) -> Result<skms_core::model::App, String> {
    let account = store
        .accounts()
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|a| a.name == which.account.trim())
        .ok_or_else(|| format!("no account named {:?}", which.account))?;
    store
        .apps(account.id)
        .map_err(|e| e.to_string())?
        .into_iter()
        .find(|a| a.name == which.app.trim())
        .ok_or_else(|| {
            format!(
                "no app named {:?} in account {:?}",
                which.app, which.account
            )
        })
}

/// The certificates of a PEM file.
fn read_pem(path: &std::path::Path) -> Result<Vec<Vec<u8>>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    skms_core::certs::from_pem(&text).map_err(|e| format!("{}: {e}", path.display()))
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn fail(e: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {e}");
    ExitCode::FAILURE
}

/// Runs an account command.
pub fn account(cmd: AccountCommand) -> ExitCode {
    match cmd {
        AccountCommand::Create { name, dir } => {
            let basics = match skms_server::init::open_basics(&dir.path()) {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            for line in &basics.created {
                println!("{line}");
            }
            match tenancy::create_account(&*basics.store, &*basics.root, &name, now()) {
                Ok((account, group)) => {
                    println!("account {} created: id {}", account.name, account.id);
                    println!("default group {}: id {}", group.name, group.id);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
    }
}

/// Which of the two certificate commands runs.
enum Kind {
    Pin,
    Trust,
}

/// Runs an app command.
pub fn app(cmd: AppCommand) -> ExitCode {
    let cmd_kind = if matches!(cmd, AppCommand::PinCert { .. }) {
        Kind::Pin
    } else {
        Kind::Trust
    };
    match cmd {
        AppCommand::Create {
            account,
            name,
            description,
            dir,
        } => {
            let basics = match skms_server::init::open_basics(&dir.path()) {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            let found = match basics.store.accounts() {
                Ok(all) => all.into_iter().find(|a| a.name == account.trim()),
                Err(e) => return fail(e),
            };
            let Some(found) = found else {
                return fail(format!("no account named {account:?}"));
            };
            let new = NewApp {
                name,
                description,
                kmip: true,
                rest: false,
                auth_method: AuthMethod::ApiKey,
                groups: Vec::new(),
                default_group: None,
            };
            match tenancy::create_app(
                &*basics.store,
                &tenancy::Keyring::new(basics.root.clone()),
                found.id,
                new,
                now(),
            ) {
                Ok((app, secret)) => {
                    println!("app {} created in account {}", app.name, found.name);
                    println!("app id (KMIP username): {}", app.id);
                    println!("secret (KMIP password, shown once): {}", secret.expose());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(e),
            }
        }
        AppCommand::PinCert { which, pem, dir } | AppCommand::TrustCa { which, pem, dir } => {
            let basics = match skms_server::init::open_basics(&dir.path()) {
                Ok(b) => b,
                Err(e) => return fail(e),
            };
            let (mut app, certs) =
                match find_app(&*basics.store, &which).and_then(|a| Ok((a, read_pem(&pem)?))) {
                    Ok(found) => found,
                    Err(e) => return fail(e),
                };
            let pin = matches!(cmd_kind, Kind::Pin);
            for der in &certs {
                let done = if pin {
                    tenancy::pin_certificate(&*basics.store, &mut app, der).map(|fp| {
                        format!(
                            "pinned certificate SHA-256 {} to app {}",
                            hex::encode(fp),
                            app.name
                        )
                    })
                } else {
                    tenancy::trust_ca(&*basics.store, &mut app, der)
                        .map(|info| format!("app {} now trusts CA {}", app.name, info.subject))
                };
                match done {
                    Ok(line) => println!("{line}"),
                    Err(e) => return fail(e),
                }
            }
            ExitCode::SUCCESS
        }
    }
}
