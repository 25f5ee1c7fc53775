//! `loadtest`: the command line.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use common::parse_duration;
use loadtest::args::RunArgs;
use loadtest::doctor::{self, Machine};

/// The shared load tester: up to 100k connections to one of this
/// repository's servers, honest latency, and the server's memory per
/// connection.
#[derive(Debug, Parser)]
#[command(name = "loadtest", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Open connections, handshake, send requests, and report latency,
    /// failures and (with --server-pid) the server's memory
    Run(RunArgs),
    /// Measure every server of the registry (staircase of connections,
    /// mixed workloads, throughput) and write the book's results; needs
    /// `cargo build --release` first, and `cargo xtask peers` for the Go peer
    Suite(loadtest::suite::SuiteArgs),
    /// Check what stands between this machine and N connections
    Doctor {
        /// Connections planned
        #[arg(long, short = 'c', value_name = "N", default_value_t = 100_000)]
        connections: usize,
        /// The server that will be loaded
        #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7803")]
        target: SocketAddr,
    },
    /// One connection, one of each request, the transcript printed and every
    /// answer checked
    Probe {
        /// The server to probe
        #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7803")]
        target: SocketAddr,
        /// Longest wait for each answer
        #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = parse_duration)]
        timeout: Duration,
    },
    /// (internal) a client process of `run`, briefed on standard input
    #[command(hide = true)]
    Worker,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(args) => run(&args),
        Command::Suite(args) => loadtest::suite::suite(&args).map(|out| {
            if let Some(out) = out {
                println!("results written to {}", out.display());
            }
            ExitCode::SUCCESS
        }),
        Command::Doctor {
            connections,
            target,
        } => Ok(doctor(target, connections)),
        Command::Probe { target, timeout } => {
            loadtest::probe::probe(target, timeout).map(|()| ExitCode::SUCCESS)
        }
        Command::Worker => loadtest::runner::worker_main().map(|()| ExitCode::SUCCESS),
    };
    common::cli::exit_on_error(|| outcome)
}

fn run(args: &RunArgs) -> anyhow::Result<ExitCode> {
    let report = loadtest::runner::run(&args.spec())?;
    if args.json {
        eprint!("{report}");
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{report}");
    }
    Ok(ExitCode::SUCCESS)
}

fn doctor(target: SocketAddr, connections: usize) -> ExitCode {
    let findings = doctor::examine(&Machine::read(), target, connections);
    println!("loadtest doctor: {connections} connections to {target}");
    for finding in &findings {
        println!("{finding}");
    }
    if findings.iter().any(|f| f.blocking) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
