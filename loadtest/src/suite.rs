//! `loadtest suite`: measure all four models the same way and write the
//! book's results.
//!
//! For each model it starts the release binary (fresh for every step, so
//! "RSS before" is a clean start), runs a staircase of connection counts at
//! a fixed request rate, then the mixed workloads, stops the server with
//! SIGTERM and checks that it exited 0. Where one process's open-file limit
//! is below a step, 03 and 04 run as several processes on one port
//! (`--reuse-port`) and the results say so. 01 and 02 are run at every step
//! too, and what they did (served one at a time, `ERR busy`, timed out) is
//! in the results, never skipped.
//!
//! Everything is written to one folder: `runs/*.json` (each run's report),
//! `suite.json` (all of it), Markdown tables, SVG charts and `machine.md`.

use std::fmt::Write as _;
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use clap::Args;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::args::{Mix, RunArgs};
use crate::servers::{ServerGroup, binary};

/// `loadtest suite`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    /// Where the release binaries are [default: beside this loadtest binary]
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,

    /// Where to write the results [default: book/src/results, or a temporary
    /// folder with --quick]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// A small staircase (1, 10, 100) and short windows, for CI: under two
    /// minutes
    #[arg(long)]
    pub quick: bool,

    /// Measure nothing: rewrite the tables and charts from the suite.json
    /// already in the output folder (after changing how they are drawn)
    #[arg(long, conflicts_with = "quick")]
    pub render: bool,

    /// Only these models (e.g. --models 03-async-tokio,04-hybrid-blocking)
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub models: Vec<String>,
}

/// A server model and how the suite runs it.
#[derive(Debug, Clone, Copy)]
pub struct Model {
    /// The binary's name.
    pub name: &'static str,
    /// The port the suite uses (the default port plus 100, so that a server
    /// a reader left running does not get in the way).
    pub port: u16,
    /// Whether it can run as several processes on one port.
    pub reuse_port: bool,
}

/// The four models.
pub const MODELS: [Model; 4] = [
    Model {
        name: "01-single-thread",
        port: 7901,
        reuse_port: false,
    },
    Model {
        name: "02-thread-pool",
        port: 7902,
        reuse_port: false,
    },
    Model {
        name: "03-async-tokio",
        port: 7903,
        reuse_port: true,
    },
    Model {
        name: "04-hybrid-blocking",
        port: 7904,
        reuse_port: true,
    },
];

/// The mixed workloads, run on 02, 03 and 04.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Workload {
    /// Connections held idle-ish at a fixed rate of ECHO.
    Staircase,
    /// 90% ECHO, 10% WORK of about a millisecond.
    MixedWork,
    /// 95% ECHO, 5% SLEEP of 10 ms.
    MixedSleep,
}

impl Workload {
    /// The name used in files and tables.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Staircase => "staircase",
            Workload::MixedWork => "mixed-work",
            Workload::MixedSleep => "mixed-sleep",
        }
    }
}

/// The shape of the suite.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Connection counts of the staircase.
    pub steps: Vec<usize>,
    /// How long each step sends requests.
    pub window: Duration,
    /// The staircase's total request rate: this, or 200 per connection when
    /// that is less.
    pub staircase_rate: f64,
    /// Connections of the mixed workloads.
    pub mixed_connections: usize,
    /// Total request rate of the mixed workloads.
    pub mixed_rate: f64,
    /// How long each mixed workload runs.
    pub mixed_window: Duration,
}

impl Plan {
    /// The full suite, or the quick one for CI.
    pub fn new(quick: bool) -> Plan {
        if quick {
            Plan {
                steps: vec![1, 10, 100],
                window: Duration::from_secs(1),
                staircase_rate: 20_000.0,
                mixed_connections: 20,
                mixed_rate: 1_000.0,
                mixed_window: Duration::from_secs(2),
            }
        } else {
            Plan {
                steps: vec![1, 10, 100, 1_000, 10_000, 100_000],
                window: Duration::from_secs(5),
                staircase_rate: 20_000.0,
                mixed_connections: 100,
                mixed_rate: 2_000.0,
                mixed_window: Duration::from_secs(10),
            }
        }
    }

    /// The staircase's rate at `connections`.
    pub fn rate_at(&self, connections: usize) -> f64 {
        self.staircase_rate.min(200.0 * connections as f64)
    }
}

/// One measured run, as stored in `suite.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Run {
    /// The model's binary name.
    pub model: String,
    /// Which workload.
    pub workload: Workload,
    /// Connections asked for.
    pub connections: usize,
    /// Total request rate asked for.
    pub rate: f64,
    /// Server processes on the port.
    pub server_processes: usize,
    /// `loadtest run`'s JSON report.
    pub report: Value,
    /// Whether every server process exited 0 after SIGTERM.
    pub exited_cleanly: bool,
    /// The servers' final counters lines.
    pub final_lines: Vec<String>,
}

/// Everything the suite measured, with the stamp of where and when.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Results {
    /// Machine, date and commit.
    pub stamp: crate::stamp::Stamp,
    /// Whether this was `--quick`.
    pub quick: bool,
    /// Every run, in order.
    pub runs: Vec<Run>,
}

/// Runs the suite and writes the results.
pub fn suite(args: &SuiteArgs) -> anyhow::Result<PathBuf> {
    if args.render {
        let out = args
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("book/src/results"));
        let path = out.join("suite.json");
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let results: Results = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a suite result", path.display()))?;
        crate::results::write_views(&out, &results, &Plan::new(results.quick))?;
        return Ok(out);
    }
    let bin_dir = match &args.bin_dir {
        Some(dir) => dir.clone(),
        None => std::env::current_exe()
            .context("cannot find this binary's folder")?
            .parent()
            .context("this binary has no folder")?
            .to_path_buf(),
    };
    let models: Vec<Model> = MODELS
        .into_iter()
        .filter(|m| args.models.is_empty() || args.models.iter().any(|n| n == m.name))
        .collect();
    if models.is_empty() {
        bail!("no model matches --models {:?}", args.models);
    }
    for model in &models {
        binary(&bin_dir, model.name)?;
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None if args.quick => {
            std::env::temp_dir().join(format!("loadtest-suite-{}", std::process::id()))
        }
        None => PathBuf::from("book/src/results"),
    };
    let plan = Plan::new(args.quick);
    let fd_limit = common::limits::raise_fd_limit();
    let mut results = Results {
        stamp: crate::stamp::Stamp::read(fd_limit),
        quick: args.quick,
        runs: Vec::new(),
    };

    for model in &models {
        for &connections in &plan.steps {
            let rate = plan.rate_at(connections);
            let load = Load {
                workload: Workload::Staircase,
                connections,
                rate,
                window: plan.window,
                mix: "echo=100",
            };
            results
                .runs
                .push(measure(&bin_dir, model, &load, fd_limit)?);
        }
    }
    for model in models.iter().filter(|m| m.name != "01-single-thread") {
        for (workload, mix) in [
            (Workload::MixedWork, "echo=90,work=10"),
            (Workload::MixedSleep, "echo=95,sleep=5"),
        ] {
            let load = Load {
                workload,
                connections: plan.mixed_connections,
                rate: plan.mixed_rate,
                window: plan.mixed_window,
                mix,
            };
            results
                .runs
                .push(measure(&bin_dir, model, &load, fd_limit)?);
        }
    }
    crate::results::write(&out, &results, &plan)?;
    Ok(out)
}

/// One run's load.
struct Load {
    workload: Workload,
    connections: usize,
    rate: f64,
    window: Duration,
    mix: &'static str,
}

/// Starts the model's servers, runs one load against them, stops them.
fn measure(bin_dir: &Path, model: &Model, load: &Load, fd_limit: u64) -> anyhow::Result<Run> {
    let per_process = fd_limit.saturating_sub(common::limits::FD_RESERVE).max(1) as f64;
    // SO_REUSEPORT spreads connections by hash, not evenly: a quarter spare.
    let processes = if model.reuse_port {
        ((load.connections as f64 * 1.25) / per_process)
            .ceil()
            .max(1.0) as usize
    } else {
        1
    };
    let addr: SocketAddr = SocketAddr::from(([127, 0, 0, 1], model.port));
    let mut server_args = vec!["--addr".to_owned(), addr.to_string()];
    if processes > 1 {
        server_args.push("--reuse-port".into());
    }
    if load.workload == Workload::MixedSleep {
        server_args.extend(["--max-sleep".into(), "1000".into()]);
    }
    eprintln!(
        "suite: {} {} with {} connections at {} requests/s ({} server process{})",
        model.name,
        load.workload.name(),
        load.connections,
        load.rate,
        processes,
        if processes == 1 { "" } else { "es" }
    );
    let servers = ServerGroup::start(&binary(bin_dir, model.name)?, &server_args, processes)?;
    let run_args = RunArgs {
        target: addr,
        connections: load.connections,
        connect_rate: 10_000.0,
        duration: load.window,
        requests_per_connection: None,
        mix: load.mix.parse::<Mix>().map_err(anyhow::Error::msg)?,
        payload: 16,
        work_units: 1000,
        sleep_ms: 10,
        rate: Some(load.rate),
        timeout: Duration::from_secs(5),
        server_pids: servers.pids(),
        processes: 1,
        model: Some(model.name.to_owned()),
        json: true,
    };
    let report = crate::runner::run(&run_args);
    let stopped = servers.stop(Duration::from_secs(15))?;
    let report =
        report.with_context(|| format!("running {} {}", model.name, load.workload.name()))?;
    if !stopped.all_exited_zero {
        eprintln!(
            "suite: {} did not exit 0 after SIGTERM: {:?}",
            model.name, stopped.statuses
        );
    }
    Ok(Run {
        model: model.name.to_owned(),
        workload: load.workload,
        connections: load.connections,
        rate: load.rate,
        server_processes: processes,
        report: serde_json::to_value(&report)?,
        exited_cleanly: stopped.all_exited_zero,
        final_lines: stopped.final_lines,
    })
}

/// Writes `text` to `dir/name`, creating the folder.
pub fn write_file(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// A one-line summary of what a model did at one step, for tables.
pub fn outcome(run: &Run) -> String {
    let report = &run.report;
    let requested = report["connections_requested"].as_u64().unwrap_or(0);
    let handshaked = report["handshakes_ok"].as_u64().unwrap_or(0);
    let mut text = String::new();
    if handshaked == requested {
        text.push_str("all served");
    } else {
        let _ = write!(text, "{handshaked} of {requested} served");
    }
    if let Some(errors) = report["errors"].as_object() {
        for (kind, count) in errors {
            let count = count.as_u64().unwrap_or(0);
            if count > 0 {
                let _ = write!(text, ", {count} {}", kind.replace('_', " "));
            }
        }
    }
    text
}
