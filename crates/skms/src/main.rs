//! `skms`: the one binary of Sovereign KMS (the server, its administration and its tools).
#![forbid(unsafe_code)]

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
}

fn main() -> ExitCode {
    // Usage errors exit with status 2 (clap's convention), like bad input.
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Ttlv(args) => ttlv::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}
