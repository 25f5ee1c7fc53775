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
//! - [`capacity`]: whether a rate of a sweep was sustained.
//!
//! The views the book includes (tables, charts, sentences, claims) are not
//! here: the `views` crate reads `suite.json` and writes them. The suite
//! runs it when it is done (`target/release/views`), and `--render` runs
//! only it.

pub mod capacity;
pub mod data;
pub mod schedule;
pub mod servers;
pub mod stamp;

use std::collections::{BTreeMap, HashMap};
use std::fs;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use clap::Args;
use registry::{Server, Step};

use crate::affinity::Pinning;
use crate::report::Report;
use crate::spec::Length;
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

    /// A small staircase (1, 10, 100), short windows and two rounds, for
    /// CI: about five minutes
    #[arg(long)]
    pub quick: bool,

    /// Measure nothing: redraw the tables, charts and sentences from the
    /// suite.json already in the output folder (runs the `views` binary
    /// beside this one; after changing how they are drawn)
    #[arg(long, conflicts_with = "quick")]
    pub render: bool,

    /// Only these servers (e.g. --only 03-async-tokio,go-peer; the names
    /// are those of `loadtest suite --list`). Their new runs replace their
    /// old ones in the stored results; the other servers' runs stay, each
    /// with its own stamp
    #[arg(long, alias = "models", value_delimiter = ',', value_name = "NAMES")]
    pub only: Vec<String>,

    /// Only these steps (e.g. --steps staircase,capacity), merged into the
    /// stored results like --only: staircase, mixed-work, mixed-sleep,
    /// throughput, pipelined, stalled, capacity, capacity-mixed, workers,
    /// cpu-batch; and million, which runs only when named here (03, 04 and
    /// 05 at a million connections: minutes, and much of the memory)
    #[arg(long, value_delimiter = ',', value_name = "STEPS", value_parser = parse_step)]
    pub steps: Vec<Step>,

    /// A partial rerun (--only) also measures this server, interleaved
    /// with the chosen ones, so that the rerun compares them with a server
    /// measured beside them; its new runs replace its old ones too
    /// ("none": only the chosen servers)
    #[arg(long, value_name = "NAME", default_value = "03-async-tokio")]
    pub reference: String,

    /// The cores of the server and of the tester in the steps that pin
    /// them (throughput, pipelined, capacity), as SERVER:TESTER, e.g. 1:0
    /// [default: one core each, the server on the second core]
    #[arg(long, value_name = "SERVER:TESTER")]
    pub cores: Option<Pinning>,

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
        let out = stored_folder(args);
        render(&target, &out)?;
        return Ok(Some(out));
    }
    let chosen = with_reference(chosen_servers(&args.only)?, args)?;
    let steps: Vec<Step> = if args.steps.is_empty() {
        Step::ALL.to_vec()
    } else {
        args.steps.clone()
    };
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
    // A partial rerun merges into the stored results: read them before
    // measuring anything, so that a stored file of an older version fails
    // now rather than after the measurements.
    let partial = !args.only.is_empty() || !args.steps.is_empty();
    let stored = out.join("suite.json");
    let stored = if partial && !args.quick && stored.is_file() {
        Some(Results::read(&stored).context(
            "a partial rerun (--only, --steps) merges into the stored results; \
             run the whole suite once to rewrite them",
        )?)
    } else {
        None
    };
    let schedule = Schedule::new(args.quick);
    let fd_limit = common::limits::raise_fd_limit();
    // What each server's runs measure, read before measuring: the files
    // its binary and this tester compile, as they are now.
    let workspace = fingerprint::Workspace::read(&root)?;
    let mut inputs = BTreeMap::new();
    let mut fingerprints = HashMap::new();
    for server in &servers {
        let measured = workspace
            .inputs(&fingerprint::Unit::suite(server, &target))
            .with_context(|| format!("fingerprinting {}", server.name))?;
        fingerprints.insert(server.name, measured.digest());
        inputs.insert(measured.digest(), measured);
    }
    let mut results = Results {
        stamp: stamp::Stamp::read(fd_limit),
        quick: args.quick,
        schedule: schedule.clone(),
        runs: Vec::new(),
        inputs,
        missing,
    };
    let stamp = results.stamp.clone();
    let host = Host {
        target: &target,
        root: &root,
        fd_limit,
        stamp: &stamp,
        fingerprints: &fingerprints,
        pinning: args.cores.clone().or_else(Pinning::one_core_each),
    };
    let mut progress = Progress::new(&planned_work(&schedule, &servers, &steps));
    for &step in &steps {
        let takers: Vec<&Server> = servers
            .iter()
            .copied()
            .filter(|server| server.takes_part_in(step).is_ok())
            .collect();
        let runs = if schedule
            .measurements(step)
            .iter()
            .any(Measurement::is_sweep)
        {
            sweep(&host, &schedule, step, &takers, &mut progress)?
        } else {
            in_rounds(&host, &schedule, step, &takers, &mut progress)?
        };
        results.runs.extend(runs);
    }
    let results = match stored {
        Some(stored) => {
            let names: Vec<&str> = servers.iter().map(|s| s.name).collect();
            stored.merge(results, &names, &steps)?
        }
        None => results,
    };
    write(&out, &results)?;
    render(&target, &out)?;
    Ok(Some(out))
}

/// Every measurement the suite plans for `servers` at `steps`, one per
/// round (a sweep's rates measured again near the knee come on top).
fn planned_work<'a>(
    schedule: &Schedule,
    servers: &[&'a Server],
    steps: &[Step],
) -> Vec<(&'a Server, Measurement)> {
    servers
        .iter()
        .flat_map(|server| {
            schedule
                .for_server(server, steps)
                .into_iter()
                .flat_map(move |m| {
                    // A sweep's rate is measured once unless it is near
                    // the knee: those tries are added as they come.
                    let times = if m.is_sweep() { 1 } else { m.rounds(schedule) };
                    vec![(*server, m); times]
                })
        })
        .collect()
}

/// `servers` in turn, starting one further along each round: no server
/// always runs right after the same other one.
fn rotated<T: Copy>(servers: &[T], round: usize) -> Vec<T> {
    let shift = round % servers.len().max(1);
    servers[shift..]
        .iter()
        .chain(&servers[..shift])
        .copied()
        .collect()
}

/// A step that is not a sweep: each of its measurements, round after
/// round, the servers taking turns within each round, so that a noisy
/// minute of the shared machine falls on one round of several servers
/// rather than on every round of one.
fn in_rounds(
    host: &Host,
    schedule: &Schedule,
    step: Step,
    servers: &[&Server],
    progress: &mut Progress,
) -> anyhow::Result<Vec<Run>> {
    let mut runs = Vec::new();
    for measurement in schedule.measurements(step) {
        for round in 1..=measurement.rounds(schedule) {
            for server in rotated(servers, round - 1) {
                eprintln!("{}", progress.line(server, &measurement, round));
                runs.push(measure(host, server, &measurement, round)?);
                progress.done(&measurement);
            }
        }
    }
    Ok(runs)
}

/// One server's sweep (one connection count, one set of flags): its rates
/// in order, and whether it has stopped.
struct Lane<'a> {
    server: &'a Server,
    rates: Vec<Measurement>,
    stopped: bool,
}

/// Each server's sweeps of `step`, one lane per connection count and set
/// of server flags.
fn lanes_of<'a>(schedule: &Schedule, step: Step, servers: &[&'a Server]) -> Vec<Lane<'a>> {
    let mut lanes: Vec<Lane> = Vec::new();
    for server in servers {
        for measurement in schedule.for_server(server, &[step]) {
            match lanes.iter_mut().find(|lane| {
                lane.server.name == server.name && lane.rates[0].same_sweep(&measurement)
            }) {
                Some(lane) => lane.rates.push(measurement),
                None => lanes.push(Lane {
                    server,
                    rates: vec![measurement],
                    stopped: false,
                }),
            }
        }
    }
    lanes
}

/// The connection counts of the lanes, each once, in the schedule's order.
fn sizes_of(lanes: &[Lane]) -> Vec<usize> {
    let mut sizes: Vec<usize> = Vec::new();
    for lane in lanes {
        let size = lane.rates[0].connections();
        if !sizes.contains(&size) {
            sizes.push(size);
        }
    }
    sizes
}

/// A sweep step: the servers' sweeps at one connection count advance rate
/// by rate together, each server taking its turn at each rate. A rate one
/// run does not settle (near the knee, or the tester fell behind) is
/// measured again, interleaved with the other servers' retries, and judged
/// on the median ([`capacity::verdict`]). A server's sweep stops at its
/// first rate not sustained.
fn sweep(
    host: &Host,
    schedule: &Schedule,
    step: Step,
    servers: &[&Server],
    progress: &mut Progress,
) -> anyhow::Result<Vec<Run>> {
    let mut lanes = lanes_of(schedule, step, servers);
    let longest = lanes.iter().map(|lane| lane.rates.len()).max().unwrap_or(0);
    let sizes = sizes_of(&lanes);
    let mut runs = Vec::new();
    for size in sizes {
        for index in 0..longest {
            let active: Vec<usize> = (0..lanes.len())
                .filter(|&l| {
                    let lane = &lanes[l];
                    lane.rates[0].connections() == size && !lane.stopped && index < lane.rates.len()
                })
                .collect();
            let mut tries: Vec<Vec<Run>> = active.iter().map(|_| Vec::new()).collect();
            // Round after round, each lane still unsettled at this rate
            // measures it once more.
            for round in 1..=capacity::MOST_TRIES {
                let waiting: Vec<usize> = (0..active.len())
                    .filter(|&a| {
                        round == 1 || capacity::needs_another(&tries[a].iter().collect::<Vec<_>>())
                    })
                    .collect();
                for a in rotated(&waiting, index + round) {
                    let lane = &lanes[active[a]];
                    let measurement = &lane.rates[index];
                    if round > 1 {
                        progress.add(measurement);
                    }
                    eprintln!("{}", progress.line(lane.server, measurement, round));
                    tries[a].push(measure(host, lane.server, measurement, round)?);
                    progress.done(measurement);
                }
            }
            for (a, tried) in tries.into_iter().enumerate() {
                let sustained = capacity::verdict(&tried.iter().collect::<Vec<_>>())
                    .is_some_and(|(point, _)| point.sustained());
                let lane = &mut lanes[active[a]];
                if !sustained {
                    // The higher rates would only measure a server already
                    // past its capacity.
                    lane.stopped = true;
                    for skipped in &lane.rates[index + 1..] {
                        progress.skip(skipped);
                    }
                }
                runs.extend(tried);
            }
        }
    }
    Ok(runs)
}

/// The suite's progress line: where it is, and about how long is left.
struct Progress {
    started: Instant,
    total: usize,
    done: usize,
    /// Seconds of load still to offer, windows only.
    windows_left: f64,
    windows_done: f64,
}

impl Progress {
    /// A run that sends a fixed number of requests lasts about this long.
    const BATCH_GUESS_S: f64 = 3.0;
    /// Starting a server, connecting and stopping it, before any run says.
    const OVERHEAD_GUESS_S: f64 = 2.5;

    fn new(work: &[(&Server, Measurement)]) -> Progress {
        Progress {
            started: Instant::now(),
            total: work.len(),
            done: 0,
            windows_left: work.iter().map(|(_, m)| Self::window_s(m)).sum(),
            windows_done: 0.0,
        }
    }

    fn window_s(m: &Measurement) -> f64 {
        match m.load.length {
            Length::RequestsPerConnection(_) => Self::BATCH_GUESS_S,
            Length::Duration(window) => window.as_secs_f64(),
        }
    }

    fn done(&mut self, m: &Measurement) {
        self.done += 1;
        self.windows_left -= Self::window_s(m);
        self.windows_done += Self::window_s(m);
    }

    /// One more run than planned (a rate measured again).
    fn add(&mut self, m: &Measurement) {
        self.total += 1;
        self.windows_left += Self::window_s(m);
    }

    fn skip(&mut self, m: &Measurement) {
        self.total -= 1;
        self.windows_left -= Self::window_s(m);
    }

    /// At most this many seconds left: sweeps may stop early.
    fn left_s(&self) -> f64 {
        let elapsed = self.started.elapsed().as_secs_f64();
        let overhead = if self.done == 0 {
            Self::OVERHEAD_GUESS_S
        } else {
            ((elapsed - self.windows_done) / self.done as f64).max(0.0)
        };
        self.windows_left + overhead * (self.total - self.done) as f64
    }

    fn line(&self, server: &Server, m: &Measurement, round: usize) -> String {
        let load = m.rate().map_or(", closed loop".to_owned(), |r| {
            format!(" at {r} requests/s")
        });
        let flags = if m.server_flags.is_empty() {
            String::new()
        } else {
            format!(" ({})", m.server_flags.join(" "))
        };
        let pinned = if m.pinned { ", pinned" } else { "" };
        format!(
            "suite [{}/{}, {} so far, at most {} left]: {}{flags} {} with {} connections{load}{pinned}, round {round}",
            self.done + 1,
            self.total,
            minutes(self.started.elapsed().as_secs_f64()),
            minutes(self.left_s()),
            server.name,
            m.step,
            m.connections(),
        )
    }
}

/// Seconds as `4 min 05 s`.
fn minutes(seconds: f64) -> String {
    let whole = seconds.max(0.0).round() as u64;
    format!("{} min {:02} s", whole / 60, whole % 60)
}

fn parse_step(name: &str) -> Result<Step, String> {
    Step::named(name).ok_or_else(|| {
        let names: Vec<&str> = Step::every().map(|s| s.name()).collect();
        format!(
            "no step is called {name:?}; the steps are {}",
            names.join(", ")
        )
    })
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

/// A partial rerun's servers, with the reference server added (in registry
/// order) unless it is among them already or `--reference none`.
fn with_reference(
    mut chosen: Vec<&'static Server>,
    args: &SuiteArgs,
) -> anyhow::Result<Vec<&'static Server>> {
    if args.only.is_empty() || args.reference == "none" {
        return Ok(chosen);
    }
    let reference = registry::find(&args.reference)?;
    if !chosen.iter().any(|s| s.name == reference.name) {
        eprintln!(
            "suite: measuring {} beside them, as the reference they are compared with",
            reference.name
        );
        chosen.push(reference);
        chosen.sort_by_key(|s| registry::SERVERS.iter().position(|r| r.name == s.name));
    }
    Ok(chosen)
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
        for step in Step::every() {
            if let Err(why) = server.takes_part_in(step) {
                text.push_str(&format!("{:<20}   sits out {step}: {why}\n", ""));
            }
        }
    }
    text
}

/// Where the stored results are: `--out`, or the book's results folder.
fn stored_folder(args: &SuiteArgs) -> PathBuf {
    args.out
        .clone()
        .unwrap_or_else(|| registry::repository_root().join("book/src/results"))
}

/// Where the servers come from, the machine's limit, and the stamp every
/// run of this suite carries.
struct Host<'a> {
    target: &'a Path,
    root: &'a Path,
    fd_limit: u64,
    stamp: &'a stamp::Stamp,
    /// Each server's fingerprint digest.
    fingerprints: &'a HashMap<&'static str, String>,
    /// The cores of each side in the pinned steps; `None` on one core.
    pinning: Option<Pinning>,
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
fn measure(
    host: &Host,
    server: &Server,
    measurement: &Measurement,
    round: usize,
) -> anyhow::Result<Run> {
    let started = Instant::now();
    let processes = processes_for(server, measurement.connections(), host.fd_limit);
    let addr = SocketAddr::from(([127, 0, 0, 1], server.suite_port));
    let mut server_args = vec!["--addr".to_owned(), addr.to_string()];
    if processes > 1 {
        server_args.push("--reuse-port".into());
    }
    server_args.extend(measurement.server_flags.iter().cloned());
    let pinning = host.pinning.clone().filter(|_| measurement.pinned);
    let servers = ServerGroup::start(
        server,
        (host.target, host.root),
        &server_args,
        processes,
        pinning.as_ref().map(|p| &p.server),
    )?;
    let mut spec = measurement.load.clone();
    spec.tester_cores = pinning.as_ref().map(|p| p.tester.clone());
    spec.target = addr;
    spec.server_pids = servers.pids();
    spec.model = Some(server.name.to_owned());
    let report = crate::runner::run(&spec).map(|saved| Report::new(&saved));
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
        connections: measurement.connections(),
        rate: measurement.rate(),
        server_processes: processes,
        report,
        exited_cleanly: stopped.all_exited_zero,
        final_lines: stopped.final_lines,
        server_flags: measurement.server_flags.clone(),
        stamp: host.stamp.clone(),
        fingerprint: host
            .fingerprints
            .get(server.name)
            .cloned()
            .unwrap_or_default(),
        took_s: started.elapsed().as_secs_f64(),
        round,
        pinning,
    })
}

/// Writes everything into `out`: the measured data, then the views of it.
pub fn write(out: &Path, results: &Results) -> anyhow::Result<()> {
    write_file(out, "suite.json", &serde_json::to_string_pretty(results)?)?;
    // Every run's report, afresh: a file left from an older schedule (a
    // rate no longer swept) would be a figure nothing stands behind.
    let runs = out.join("runs");
    if runs.is_dir() {
        fs::remove_dir_all(&runs).with_context(|| format!("cannot clear {}", runs.display()))?;
    }
    let mut written = std::collections::HashSet::new();
    for run in &results.runs {
        let loop_kind = match (run.step, run.rate) {
            // The stalled step runs twice at one size: tell them apart.
            (Step::Stalled, None) => "-closed-loop",
            (Step::Stalled, Some(_)) => "-open-loop",
            _ => "",
        };
        // A sweep measures one size at several rates (and 03 at several
        // worker counts): each its own file.
        let rate = match run.step {
            Step::Capacity | Step::CapacityMixed | Step::Workers => {
                format!("-{:.0}rps", run.rate.unwrap_or(0.0))
            }
            _ => String::new(),
        };
        let flags: String = run
            .server_flags
            .iter()
            .map(|f| f.trim_start_matches('-'))
            .collect::<Vec<_>>()
            .join("");
        let flags = if flags.is_empty() {
            flags
        } else {
            format!("-{flags}")
        };
        let mut name = format!(
            "runs/{}-{}-{}{flags}{rate}{loop_kind}",
            run.server, run.step, run.connections
        );
        // A sweep's rate tried twice: the second try is `-again`.
        if !written.insert(name.clone()) {
            name.push_str("-again");
        }
        let name = format!("{name}.json");
        write_file(out, &name, &serde_json::to_string_pretty(&run.report)?)?;
    }
    Ok(())
}

/// Runs the `views` binary on `out`: the tables, charts and sentences
/// drawn from the `suite.json` there. Drawing is a separate program so
/// that the code that measures never links the code that draws.
fn render(target: &Path, out: &Path) -> anyhow::Result<()> {
    let views = target.join("release/views");
    let status = std::process::Command::new(&views)
        .arg("--results")
        .arg(out)
        .status()
        .with_context(|| {
            format!(
                "cannot run {} to draw the views (build it: `cargo build --release -p views`)",
                views.display()
            )
        })?;
    if !status.success() {
        bail!("{} failed ({status})", views.display());
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
    fn servers_take_turns_starting_one_further_along_each_round() {
        let servers = ["02", "03", "05"];
        let order: Vec<Vec<&str>> = (0..4).map(|round| rotated(&servers, round)).collect();
        assert_eq!(order[0], ["02", "03", "05"]);
        assert_eq!(order[1], ["03", "05", "02"]);
        assert_eq!(order[3], order[0]);
        assert!(rotated::<u8>(&[], 2).is_empty());
    }

    #[test]
    fn each_comparison_is_planned_once_a_round_and_a_sweep_rate_once() {
        let schedule = Schedule::new(false);
        let servers = [&registry::ASYNC_TOKIO];
        let planned = planned_work(&schedule, &servers, &[Step::Throughput, Step::Staircase]);
        let count = |pinned: bool, step| {
            planned
                .iter()
                .filter(|(_, m)| m.step == step && m.pinned == pinned)
                .count()
        };
        assert_eq!(count(true, Step::Throughput), schedule.rounds);
        assert_eq!(count(false, Step::Throughput), schedule.rounds);
        assert_eq!(count(false, Step::Staircase), schedule.steps.len());
        let sweep = planned_work(&schedule, &servers, &[Step::Capacity]);
        assert_eq!(sweep.len(), 2 * schedule.capacity_rates.len());
        assert!(sweep.iter().all(|(_, m)| m.pinned));
    }

    #[test]
    fn sweeps_run_each_connection_count_once_with_a_lane_per_server_and_flags() {
        let schedule = Schedule::new(false);
        let servers = [
            &registry::THREAD_POOL,
            &registry::ASYNC_TOKIO,
            &registry::EVENT_LOOP,
        ];
        let lanes = lanes_of(&schedule, Step::Capacity, &servers);
        assert_eq!(sizes_of(&lanes), [100, 10_000]);
        assert_eq!(lanes.len(), 1 + 2 + 2, "02's pool sweeps only 100");
        assert!(
            lanes
                .iter()
                .all(|lane| lane.rates.len() == schedule.capacity_rates.len())
        );
        let workers = lanes_of(&schedule, Step::Workers, &[&registry::ASYNC_TOKIO]);
        assert_eq!(workers.len(), schedule.worker_counts.len());
        assert_eq!(sizes_of(&workers), [schedule.mixed_connections]);
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
