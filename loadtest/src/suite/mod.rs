//! `loadtest suite`: measure every server in the registry the same way and
//! write the book's results.
//!
//! For each server it starts the program (fresh for every measurement, so
//! "RSS before" is a clean start), runs the staircase of connection counts
//! at a fixed request rate, the mixed workloads and the closed-loop
//! throughput step, stops the server with SIGTERM and checks that it exited
//! 0. Where one process's open-file limit is below a step, servers that take
//! `--reuse-port` run as several processes on one port and the results say
//! so; the others run at every step too, and what they did (served one at a
//! time, `ERR busy`, timed out) is in the results, never skipped. A server
//! that cannot run here (a peer whose toolchain is missing) is listed in the
//! results with the reason.
//!
//! # Layout
//!
//! - [`schedule`]: the steps, connection counts, rates and windows.
//! - [`servers`]: the server processes.
//! - [`stamp`]: the machine, the date and the commit.
//! - [`data`]: what is stored (`suite.json`) and read back.
//! - [`tables`], [`charts`], [`prose`]: the views the book includes.

pub mod charts;
pub mod data;
pub mod prose;
pub mod schedule;
pub mod servers;
pub mod stamp;
pub mod tables;

use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use registry::{Server, Step};

use crate::spec::{Length, LoadSpec};
use data::{Missing, Results, Run};
use schedule::{Measurement, Schedule};
use servers::ServerGroup;

/// `loadtest suite`'s flags.
#[derive(Debug, Clone, Args)]
pub struct SuiteArgs {
    /// Cargo's target folder, holding release/ and peers/ [default: the
    /// one this loadtest binary was built into]
    #[arg(long, value_name = "DIR")]
    pub target_dir: Option<PathBuf>,

    /// Where to write the results [default: book/src/results, or a temporary
    /// folder with --quick]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// A small staircase (1, 10, 100) and short windows, for CI: about two
    /// minutes
    #[arg(long)]
    pub quick: bool,

    /// Measure nothing: rewrite the tables and charts from the suite.json
    /// already in the output folder (after changing how they are drawn)
    #[arg(long, conflicts_with = "quick")]
    pub render: bool,

    /// Only these servers (e.g. --models 03-async-tokio,go-peer); the
    /// names are those of `loadtest suite --list`
    #[arg(long, value_delimiter = ',', value_name = "NAMES")]
    pub models: Vec<String>,

    /// Print the servers the suite knows, what each takes part in, and
    /// whether it can run here; measure nothing
    #[arg(long, conflicts_with_all = ["quick", "render"])]
    pub list: bool,
}

/// Runs the suite (or `--render`) and says where the results went; with
/// `--list`, prints the servers and writes nothing.
pub fn suite(args: &SuiteArgs) -> anyhow::Result<Option<PathBuf>> {
    let (target, root) = folders(args)?;
    if args.list {
        print!("{}", list(&target, &root));
        return Ok(None);
    }
    if args.render {
        return render(args).map(Some);
    }
    let chosen = chosen_servers(&args.models)?;
    let (servers, missing) = available(&chosen, &target, &root)?;
    if servers.is_empty() {
        bail!(
            "none of the chosen servers can run here: {}",
            missing
                .iter()
                .map(|m| format!("{}: {}", m.server, m.reason))
                .collect::<Vec<_>>()
                .join("; ")
        );
    }
    for gone in &missing {
        eprintln!("suite: {} is left out: {}", gone.server, gone.reason);
    }
    let out = match &args.out {
        Some(out) => out.clone(),
        None if args.quick => {
            std::env::temp_dir().join(format!("loadtest-suite-{}", std::process::id()))
        }
        None => root.join("book/src/results"),
    };
    let schedule = Schedule::new(args.quick);
    let fd_limit = common::limits::raise_fd_limit();
    let mut results = Results {
        stamp: stamp::Stamp::read(fd_limit),
        quick: args.quick,
        runs: Vec::new(),
        missing,
    };
    let work: Vec<(&Server, Measurement)> = servers
        .iter()
        .flat_map(|server| {
            schedule
                .for_server(server, &Step::ALL)
                .into_iter()
                .map(move |m| (*server, m))
        })
        .collect();
    let started = Instant::now();
    for (done, (server, measurement)) in work.iter().enumerate() {
        eprintln!(
            "suite [{}/{}, {:.0} s so far]: {} {} with {} connections{}",
            done + 1,
            work.len(),
            started.elapsed().as_secs_f64(),
            server.name,
            measurement.step,
            measurement.connections,
            measurement
                .rate
                .map_or(", closed loop".to_owned(), |r| format!(
                    " at {r} requests/s"
                )),
        );
        let host = Host {
            target: &target,
            root: &root,
            fd_limit,
        };
        results.runs.push(measure(&host, server, measurement)?);
    }
    write(&out, &results)?;
    Ok(Some(out))
}

/// Cargo's target folder and the repository's root.
fn folders(args: &SuiteArgs) -> anyhow::Result<(PathBuf, PathBuf)> {
    let target = match &args.target_dir {
        Some(dir) => dir.clone(),
        // This binary is target/release/loadtest.
        None => std::env::current_exe()
            .context("cannot find this binary's folder")?
            .parent()
            .and_then(Path::parent)
            .context("this binary is not inside a Cargo target folder")?
            .to_path_buf(),
    };
    Ok((target, registry::repository_root()))
}

/// The servers named by `--models` (all when none are), in registry order.
fn chosen_servers(names: &[String]) -> anyhow::Result<Vec<&'static Server>> {
    for name in names {
        registry::find(name)?;
    }
    Ok(registry::SERVERS
        .iter()
        .filter(|s| names.is_empty() || names.iter().any(|n| n == s.name))
        .collect())
}

/// Splits `chosen` into those that can start here and those that cannot (a
/// peer whose toolchain is missing). A missing Rust model is an error: it is
/// a build to do, not a machine without a toolchain.
fn available(
    chosen: &[&'static Server],
    target: &Path,
    root: &Path,
) -> anyhow::Result<(Vec<&'static Server>, Vec<Missing>)> {
    let mut ready = Vec::new();
    let mut missing = Vec::new();
    for server in chosen {
        match server.command(target, root) {
            Ok(_) => ready.push(*server),
            Err(why) if server.is_rust_model() => return Err(why.into()),
            Err(why) => missing.push(Missing {
                server: server.name.to_owned(),
                reason: why.to_string(),
            }),
        }
    }
    Ok((ready, missing))
}

/// `--list`: every server, its steps, and whether it can run here.
fn list(target: &Path, root: &Path) -> String {
    let mut text = String::new();
    for server in &registry::SERVERS {
        let state = match server.command(target, root) {
            Ok(_) => "ready".to_owned(),
            Err(why) => format!("cannot run here: {why}"),
        };
        text.push_str(&format!(
            "{:<20} {} ({state})\n",
            server.name, server.summary
        ));
        for step in Step::ALL {
            if let Err(why) = server.takes_part_in(step) {
                text.push_str(&format!("{:<20}   sits out {step}: {why}\n", ""));
            }
        }
    }
    text
}

/// `--render`: redraw the views from the stored results.
fn render(args: &SuiteArgs) -> anyhow::Result<PathBuf> {
    let out = args
        .out
        .clone()
        .unwrap_or_else(|| registry::repository_root().join("book/src/results"));
    let path = out.join("suite.json");
    let text =
        fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let results: Results = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a suite result of this version", path.display()))?;
    write_views(&out, &results)?;
    Ok(out)
}

/// Where the servers come from, and the machine's limit.
struct Host<'a> {
    target: &'a Path,
    root: &'a Path,
    fd_limit: u64,
}

/// Server processes a measurement needs: as many as the open-file limit
/// asks for, when the server can share a port.
fn processes_for(server: &Server, connections: usize, fd_limit: u64) -> usize {
    if !server.reuse_port {
        return 1;
    }
    let per_process = fd_limit.saturating_sub(common::limits::FD_RESERVE).max(1) as f64;
    // SO_REUSEPORT spreads connections by hash, not evenly: a quarter spare.
    ((connections as f64 * 1.25) / per_process).ceil().max(1.0) as usize
}

/// Starts the server, runs one measurement against it, stops it.
fn measure(host: &Host, server: &Server, measurement: &Measurement) -> anyhow::Result<Run> {
    let processes = processes_for(server, measurement.connections, host.fd_limit);
    let addr = SocketAddr::from(([127, 0, 0, 1], server.suite_port));
    let mut server_args = vec!["--addr".to_owned(), addr.to_string()];
    if processes > 1 {
        server_args.push("--reuse-port".into());
    }
    let servers = ServerGroup::start(server, (host.target, host.root), &server_args, processes)?;
    let mut spec = LoadSpec::new(addr, measurement.connections);
    spec.length = Length::Duration(measurement.window);
    spec.mix = measurement.mix;
    spec.rate = measurement.rate;
    spec.pipeline = measurement.pipeline;
    spec.stall = measurement.stall;
    spec.timeout = Duration::from_secs(5);
    spec.server_pids = servers.pids();
    spec.model = Some(server.name.to_owned());
    let report = crate::runner::run(&spec).map(|saved| saved.report());
    let stopped = servers.stop(Duration::from_secs(15))?;
    let report = report.with_context(|| format!("running {} {}", server.name, measurement.step))?;
    if !stopped.all_exited_zero {
        eprintln!(
            "suite: {} did not exit 0 after SIGTERM: {:?}",
            server.name, stopped.statuses
        );
    }
    Ok(Run {
        server: server.name.to_owned(),
        step: measurement.step,
        connections: measurement.connections,
        rate: measurement.rate,
        server_processes: processes,
        report,
        exited_cleanly: stopped.all_exited_zero,
        final_lines: stopped.final_lines,
    })
}

/// Writes everything into `out`: the measured data, then the views of it.
pub fn write(out: &Path, results: &Results) -> anyhow::Result<()> {
    write_file(out, "suite.json", &serde_json::to_string_pretty(results)?)?;
    for run in &results.runs {
        let loop_kind = match (run.step, run.rate) {
            // The stalled step runs twice at one size: tell them apart.
            (Step::Stalled, None) => "-closed-loop",
            (Step::Stalled, Some(_)) => "-open-loop",
            _ => "",
        };
        let name = format!(
            "runs/{}-{}-{}{loop_kind}.json",
            run.server, run.step, run.connections
        );
        write_file(out, &name, &serde_json::to_string_pretty(&run.report)?)?;
    }
    write_views(out, results)
}

/// Writes the tables, sentences and charts (not the data they come from).
pub fn write_views(out: &Path, results: &Results) -> anyhow::Result<()> {
    let schedule = Schedule::new(results.quick);
    write_file(out, "machine.md", &results.stamp.to_markdown())?;
    let footer = tables::footer(results);
    let page = |name: &str, text: String| write_file(out, name, &(text + &footer));
    page("staircase.md", tables::staircase(results, None))?;
    for server in results.servers() {
        page(
            &format!("{}.md", server.name),
            tables::staircase(results, Some(server.name)),
        )?;
    }
    page("mixed.md", tables::mixed(results))?;
    page("threads.md", tables::threads(results))?;
    page("throughput.md", tables::throughput(results))?;
    page("stalled.md", tables::stalled(results))?;
    page("summary.md", prose::summary(results, &schedule))?;
    page("threads-summary.md", prose::threads_summary(results))?;
    page("peers-summary.md", prose::peers_summary(results))?;
    page("claims.md", prose::claims(results, &schedule))?;
    page(
        "mixed-arithmetic.md",
        prose::mixed_arithmetic(results, &schedule),
    )?;
    page("claims-pipelining.md", prose::pipelining_claims(results))?;
    write_file(out, "latency.svg", &charts::latency(results)?)?;
    write_file(out, "memory.svg", &charts::memory(results)?)?;
    write_file(out, "mixed.svg", &charts::mixed(results)?)?;
    for step in [Step::MixedWork, Step::MixedSleep, Step::Stalled] {
        write_file(
            out,
            &format!("{step}-over-time.svg"),
            &charts::over_time(results, step)?,
        )?;
    }
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_servers_that_share_a_port_run_as_several_processes() {
        assert_eq!(processes_for(&registry::ASYNC_TOKIO, 100_000, 20_000), 7);
        assert_eq!(processes_for(&registry::ASYNC_TOKIO, 10_000, 20_000), 1);
        assert_eq!(processes_for(&registry::THREAD_POOL, 100_000, 20_000), 1);
    }

    #[test]
    fn a_typo_in_models_is_an_error_that_names_the_servers() {
        let error = chosen_servers(&["03-async".into()])
            .unwrap_err()
            .to_string();
        assert!(error.contains("03-async-tokio"), "{error}");
        let chosen = chosen_servers(&["go-peer".into(), "01-single-thread".into()]).unwrap();
        let names: Vec<_> = chosen.iter().map(|s| s.name).collect();
        assert_eq!(names, ["01-single-thread", "go-peer"], "registry order");
    }
}
