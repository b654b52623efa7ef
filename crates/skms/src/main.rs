//! `skms`: the one binary of Sovereign KMS (the server, its administration and its tools).
#![forbid(unsafe_code)]

mod bench;
mod serve;
mod ttlv;

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
    /// Manage accounts directly in a local data directory (until the REST API replaces direct data-dir access).
    #[command(subcommand)]
    Account(serve::AccountCommand),
    /// Manage apps directly in a local data directory (until the REST API replaces direct data-dir access).
    #[command(subcommand)]
    App(serve::AppCommand),
    /// Load a running server (loopback only unless --allow-remote) and report throughput and latency.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 (clap's convention), like bad input.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ttlv(args) => ttlv::run(args),
        Command::Serve(flags) => return serve::serve(flags),
        Command::Account(cmd) => return serve::account(cmd),
        Command::App(cmd) => return serve::app(cmd),
        Command::Bench(cmd) => return bench::run(cmd),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
