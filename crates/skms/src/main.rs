//! `skms`: the one binary of Sovereign KMS (the server, its administration and its tools).
#![forbid(unsafe_code)]

mod admin;
mod audit;
mod backup;
mod bench;
mod certs;
mod objects;
mod profile;
mod serve;
mod ttlv;
mod users;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Command line of `skms`.
#[derive(Parser)]
#[command(
    name = "skms",
    version,
    about = "Sovereign KMS: a KMIP key management server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Subcommand)]
enum Command {
    /// Read and write KMIP TTLV messages by hand: decode binary TTLV to a tree, JSON or XML, and back.
    Ttlv(ttlv::TtlvArgs),
    /// Run the server: KMIP over TLS (port 5696); creates the data directory, root key and certificates on first start.
    Serve(skms_server::config::ServeFlags),
    /// Sign in to the REST API and save the session in a login profile, which
    /// the other commands then use (no password needed until it ends).
    Login {
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// End the login profile's session (at the server) and delete its saved tokens.
    Logout {
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Accounts (tenants), as the provider's sysadmin, through the REST API.
    Account {
        #[command(subcommand)]
        cmd: admin::AccountCommand,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Groups of your account, as its admin, through the REST API.
    Group {
        #[command(subcommand)]
        cmd: admin::GroupCommand,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Apps of your account (credentials, authentication, certificates), as its admin, through the REST API.
    App {
        #[command(subcommand)]
        cmd: certs::AppCommands,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Users of your account (a sysadmin: the sysadmins), through the REST API.
    User {
        #[command(subcommand)]
        cmd: users::UserCommand,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Your own password, through the REST API.
    Password {
        #[command(subcommand)]
        cmd: users::PasswordCommand,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Security objects (keys, secrets) of your account: list, show, create, import, activate,
    /// revoke, destroy, rotate, move, through the REST API.
    Object {
        #[command(subcommand)]
        cmd: objects::ObjectCommand,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Download the server's CA certificate (to give to vCenter: "Make vCenter trust KMS").
    CaCert(admin::CaCertArgs),
    /// Certificates of your account with their expiry, as its admin, through the REST API.
    Cert {
        #[command(subcommand)]
        cmd: certs::CertCommand,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Download your account's CA certificate (the CA of the certificates `skms app issue-cert|sign-csr` make).
    AccountCa {
        #[command(flatten)]
        args: certs::AccountCaArgs,
        #[command(flatten)]
        conn: admin::Conn,
    },
    /// Print the shell completion script: `skms completion bash > /etc/bash_completion.d/skms`
    /// (or zsh, fish, elvish, powershell).
    Completion {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// The audit log: verify its hash chains in a data directory.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
    /// Recovery on the server's machine: a new password for a lost sysadmin login.
    #[command(subcommand)]
    Sysadmin(admin::SysadminCommand),
    /// Load a running server (loopback only unless --allow-remote) and report throughput and latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
    /// Write an encrypted backup of the whole store (while the server runs); it opens only with the data directory's root key.
    Backup(backup::BackupArgs),
    /// Restore a backup into an empty store (SQLite in the data directory, or PostgreSQL), then verify the audit chains.
    Restore(backup::RestoreArgs),
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 (clap's convention), like bad input.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ttlv(args) => ttlv::run(args),
        Command::Serve(flags) => return serve::serve(flags),
        Command::Login { conn } => return profile::login(conn),
        Command::Logout { conn } => return profile::logout(conn),
        Command::Account { cmd, conn } => return admin::account(cmd, conn),
        Command::Group { cmd, conn } => return admin::group(cmd, conn),
        Command::User { cmd, conn } => return users::user(cmd, conn),
        Command::Password { cmd, conn } => return users::password(cmd, conn),
        Command::App { cmd, conn } => match cmd {
            certs::AppCommands::Admin(cmd) => return admin::app(cmd, conn),
            certs::AppCommands::Certs(cmd) => return certs::app(cmd, conn),
        },
        Command::Object { cmd, conn } => return objects::object(cmd, conn),
        Command::CaCert(args) => return admin::ca_cert(args),
        Command::Cert { cmd, conn } => return certs::cert(cmd, conn),
        Command::AccountCa { args, conn } => return certs::account_ca(args, conn),
        Command::Sysadmin(cmd) => return admin::sysadmin(cmd),
        Command::Audit(cmd) => return audit::run(cmd),
        Command::Completion { shell } => {
            use clap::CommandFactory;
            use std::io::Write;
            // Into memory first: the generator panics on a write error (a closed pipe).
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "skms", &mut script);
            return match std::io::stdout().write_all(&script) {
                Ok(()) => ExitCode::SUCCESS,
                Err(_) => ExitCode::FAILURE,
            };
        }
        Command::Bench(cmd) => return bench::run(cmd),
        Command::Backup(args) => return backup::backup(args),
        Command::Restore(args) => return backup::restore(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
