//! `loadtest`: the command line.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{CommandFactory as _, Parser, Subcommand};
use common::parse_duration;
use loadtest::args::{RunArgs, beyond_protocol_limits, parse_target};
use loadtest::doctor::{self, Machine};
use loadtest::report::Report;
use loadtest::saved::Saved;

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
    /// failures and (with --server-pid) the server's memory. Exit status: 0
    /// when requests were answered and every connection handshook, 1 when
    /// no request was answered correctly or a connection did not handshake
    /// (unless --allow-partial), 2 for bad flags
    Run(Box<RunArgs>),
    /// Measure every server of the registry (staircase of connections,
    /// mixed workloads, throughput) and write the book's results; needs
    /// `cargo build --release` first, and `cargo xtask peers` for the Go peer
    Suite(loadtest::suite::SuiteArgs),
    /// Combine the runs of several load hosts (`run --save FILE` on each)
    /// into one report: counts added, histograms merged exactly (each run
    /// once: the same run named twice is refused)
    Merge {
        /// The saved runs
        #[arg(value_name = "FILE", required = true)]
        files: Vec<PathBuf>,
        /// Print the combined result as one JSON object on standard output
        #[arg(long)]
        json: bool,
        /// Also write the combined intervals as an HdrHistogram interval log
        #[arg(long, value_name = "FILE")]
        hlog: Option<PathBuf>,
    },
    /// Check what stands between this machine and N connections
    Doctor {
        /// Connections planned
        #[arg(long, short = 'c', value_name = "N", default_value_t = 100_000)]
        connections: usize,
        /// The server that will be loaded
        #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:7803", value_parser = parse_target)]
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
    if let Command::Run(args) = &cli.command {
        if let Some(problem) = beyond_protocol_limits(args) {
            // A usage error, like clap's own: one line and exit status 2.
            Cli::command()
                .error(clap::error::ErrorKind::ValueValidation, problem)
                .exit();
        }
    }
    let outcome = match cli.command {
        Command::Run(args) => run(&args),
        Command::Suite(args) => loadtest::suite::suite(&args).map(|out| {
            if let Some(out) = out {
                println!("results written to {}", out.display());
            }
            ExitCode::SUCCESS
        }),
        Command::Merge { files, json, hlog } => merge(&files, json, hlog.as_deref()),
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
    let saved = loadtest::runner::run(&args.spec())?;
    if let Some(path) = &args.save {
        saved.write(path)?;
        eprintln!("saved the run to {} (for `loadtest merge`)", path.display());
    }
    if let Some(path) = &args.hlog {
        loadtest::hlog::write(path, &saved)?;
    }
    let report = Report::new(&saved);
    print_report(&report, args.json)?;
    // The report above says what happened; the exit status tells a script
    // whether it measured what was asked.
    match verdict(&report, args) {
        Some(problem) => {
            eprintln!("error: {problem}");
            Ok(ExitCode::FAILURE)
        }
        None => Ok(ExitCode::SUCCESS),
    }
}

/// Why this run failed, in one line; `None` when it measured what was asked:
/// at least one request answered correctly and every connection handshaked.
fn verdict(report: &Report, args: &RunArgs) -> Option<String> {
    if report.connections_reached == 0 {
        return Some(format!(
            "no connection reached {} ({}): is the server running, and is this its address?",
            report.target,
            failures_in_words(report)
        ));
    }
    // With --allow-invalid, an ERR answer to a request sent on purpose is
    // the answer that was asked for.
    let errors_asked_for = if args.allow_invalid {
        report.request_errors.values().sum()
    } else {
        0
    };
    if report.requests_ok + errors_asked_for == 0 {
        return Some(format!(
            "no request was answered correctly by {} ({}{}): is it a server of this protocol?",
            report.target,
            failures_in_words(report),
            if report.handshakes_ok == 0 {
                "; no connection completed the handshake"
            } else {
                ""
            }
        ));
    }
    if report.handshakes_ok < report.connections_requested && !args.allow_partial {
        return Some(format!(
            "only {} of {} connections completed the handshake ({}); pass --allow-partial \
             when that is expected (a run past the server's --max-connections)",
            report.handshakes_ok,
            report.connections_requested,
            failures_in_words(report)
        ));
    }
    None
}

/// The failures by kind, with the reasons the system gave for I/O errors.
fn failures_in_words(report: &Report) -> String {
    let kinds: Vec<String> = report
        .errors
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(kind, n)| format!("{n} {kind}"))
        .collect();
    let reasons: Vec<&str> = report.io_errors.keys().map(String::as_str).collect();
    match (kinds.is_empty(), reasons.is_empty()) {
        (true, _) => "no failure counted".to_owned(),
        (false, true) => kinds.join(", "),
        (false, false) => format!(
            "{}; the system said: {}",
            kinds.join(", "),
            reasons.join("; ")
        ),
    }
}

fn merge(
    files: &[PathBuf],
    json: bool,
    hlog: Option<&std::path::Path>,
) -> anyhow::Result<ExitCode> {
    let runs = files
        .iter()
        .map(|path| Saved::read(path))
        .collect::<anyhow::Result<Vec<_>>>()?;
    refuse_repeats(files, &runs)?;
    let merged = Saved::merge(runs)?;
    if let Some(path) = hlog {
        loadtest::hlog::write(path, &merged)?;
    }
    print_report(&Report::new(&merged), json)?;
    Ok(ExitCode::SUCCESS)
}

/// Counting one run twice would double its requests and skew its
/// percentiles: each run carries an id, and a repeated one is refused.
fn refuse_repeats(files: &[PathBuf], runs: &[Saved]) -> anyhow::Result<()> {
    for (later, run) in runs.iter().enumerate() {
        if let Some(earlier) = runs[..later].iter().position(|r| r.run_id == run.run_id) {
            anyhow::bail!(
                "{} and {} hold the same run: name each run once",
                files[earlier].display(),
                files[later].display()
            );
        }
    }
    Ok(())
}

/// The table, or with `json` the JSON on standard output and the table on
/// standard error.
fn print_report(report: &Report, json: bool) -> anyhow::Result<()> {
    if json {
        eprint!("{report}");
        println!("{}", serde_json::to_string_pretty(report)?);
    } else {
        print!("{report}");
    }
    Ok(())
}

fn doctor(target: SocketAddr, connections: usize) -> ExitCode {
    let findings = doctor::examine(&Machine::read(), target, connections, 0);
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
