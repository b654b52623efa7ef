//! `skms audit verify`: checks every audit chain of a data directory (the
//! provider's and each account's) and names the first record that was changed,
//! removed, reordered or cut off.

use skms_core::audit;
use skms_core::store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// `skms audit …`.
#[derive(clap::Subcommand)]
pub enum AuditCommand {
    /// Verify the audit hash chains in a data directory (works while the server runs).
    Verify {
        /// Data directory of the server [env SKMS_DATA_DIR; default ./skms-data]
        #[arg(long, value_name = "DIR")]
        data_dir: Option<PathBuf>,
        /// Only this account (name); default: the provider's chain and every account's
        #[arg(long, value_name = "NAME")]
        account: Option<String>,
    },
}

/// Runs an audit command: exit 0 when every chain verifies, 1 when one does not
/// (or the data directory cannot be read).
pub fn run(cmd: AuditCommand) -> ExitCode {
    let AuditCommand::Verify { data_dir, account } = cmd;
    let dir = data_dir
        .or_else(|| {
            std::env::var_os("SKMS_DATA_DIR")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        })
        .unwrap_or_else(|| PathBuf::from(skms_server::config::DEFAULT_DATA_DIR));
    let db = dir.join(skms_server::init::DB_FILE);
    if !db.is_file() {
        eprintln!("error: {} holds no server database", dir.display());
        return ExitCode::FAILURE;
    }
    let store = match skms_store::SqliteStore::open(&db) {
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
        match audit::verify_chain(&store, id) {
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
