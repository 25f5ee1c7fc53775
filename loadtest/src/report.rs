//! The result of a run: a readable table, and the JSON object of the
//! `--json` contract (the README's "Measure it").
//!
//! [`Report`] is also what the suite stores and reads back, so it
//! deserializes strictly: an unknown field (a renamed one) or a missing one
//! is an error when the results are read, never a zero in the book.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::metrics::{Failure, Kind, Measured, Percentiles};
pub use crate::saved::{Saved, ServerReport, ServerSamples, TesterReport};
use crate::spec::LoadSpec;

/// Closed loop (next request when the answer is back) or open loop (on
/// schedule).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Each connection sends its next request when the answer is back.
    Closed,
    /// Requests go out on a schedule, answered or not.
    Open,
}

/// Above this 99th percentile of send lag (µs), an open-loop tester did
/// not offer the rate it was asked for: the run is tester-limited.
pub const TESTER_LAG_LIMIT_US: u64 = 10_000;

/// Above this share of its processes' CPU, the tester may be the
/// bottleneck (the cores are shared with the server).
pub const TESTER_BUSY_SHARE: f64 = 0.85;

/// Everything `loadtest run` reports. Field names are the JSON contract.
///
/// `Option` fields are read with `Option::deserialize` so that they too
/// must be present (as `null` when empty): serde would otherwise take a
/// missing one for `None`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// The server model, when given with `--model`.
    #[serde(deserialize_with = "Option::deserialize")]
    pub model: Option<String>,
    /// The server's address.
    pub target: String,
    /// `closed` or `open`.
    pub mode: Mode,
    /// The request mix.
    pub mix: String,
    /// Requests in flight per connection at most.
    pub pipeline: usize,
    /// Connections asked for.
    pub connections_requested: u64,
    /// Connections whose TCP connect succeeded.
    pub connections_reached: u64,
    /// Connections whose handshake completed.
    pub handshakes_ok: u64,
    /// Requests answered correctly.
    pub requests_ok: u64,
    /// Failures by kind (every kind, zeros included).
    pub errors: BTreeMap<Failure, u64>,
    /// The server's final lines (`BYE`, `ERR idle timeout`, …) by text:
    /// counted in `errors.closed_by_server`, never as wrong answers.
    pub closed_by_server: BTreeMap<String, u64>,
    /// `ERR` answers to requests, by text (`ERR sleep too long`, …): the
    /// connection stays open; each is counted in `errors.other_err` too.
    pub request_errors: BTreeMap<String, u64>,
    /// The system's reasons for I/O errors, by text (`No route to host (os
    /// error 113)`, …).
    pub io_errors: BTreeMap<String, u64>,
    /// Requests sent but never answered because the connection ended.
    pub unanswered: u64,
    /// Length of the request phase.
    pub duration_s: f64,
    /// How long opening every connection took.
    pub connect_phase_s: f64,
    /// Correct answers per second over the request phase.
    pub throughput_rps: f64,
    /// Latency in microseconds.
    pub latency_us: LatencyReport,
    /// Latency per request kind that ran.
    pub by_request: BTreeMap<Kind, Percentiles>,
    /// The request phase interval by interval (a second by default).
    pub intervals: Vec<IntervalReport>,
    /// The server's memory and threads, when `--server-pid` was given.
    #[serde(deserialize_with = "Option::deserialize")]
    pub server: Option<ServerReport>,
    /// When the server's process ended, in seconds from the start of the
    /// request phase, if it ended during the run (`--server-pid`).
    #[serde(deserialize_with = "Option::deserialize")]
    pub server_exited_after_s: Option<f64>,
    /// Connections dropped by full listen queues during the run (machine-wide).
    #[serde(deserialize_with = "Option::deserialize")]
    pub listen_overflows: Option<u64>,
    /// What the tester itself cost.
    pub tester: TesterReport,
    /// Reasons to doubt the figures.
    pub warnings: Vec<String>,
}

/// One interval of the request phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IntervalReport {
    /// Start of the interval, in seconds from the start of the request phase.
    pub start_s: f64,
    /// Correct answers per second in the interval.
    pub throughput_rps: f64,
    /// Failures in the interval.
    pub errors: u64,
    /// Median latency (µs) of the answers in the interval.
    pub p50: u64,
    /// 99th percentile (µs).
    pub p99: u64,
    /// The slowest answer (µs).
    pub max: u64,
    /// The same per request kind that was answered in the interval.
    pub by_request: BTreeMap<Kind, Percentiles>,
    /// Whether the interval lies wholly inside the request phase (the last
    /// one holds only the answers that came after the end).
    pub complete: bool,
}

impl IntervalReport {
    /// Every interval of `measured`, each `length` long, of a request phase
    /// `duration_s` long.
    pub fn all(measured: &Measured, length: Duration, duration_s: f64) -> Vec<IntervalReport> {
        let seconds = length.as_secs_f64().max(1e-3);
        measured
            .intervals
            .iter()
            .enumerate()
            .map(|(index, interval)| {
                let latency = interval.latency.summary();
                IntervalReport {
                    start_s: index as f64 * seconds,
                    throughput_rps: interval.requests_ok as f64 / seconds,
                    errors: interval.failures,
                    p50: latency.p50,
                    p99: latency.p99,
                    max: latency.max,
                    by_request: interval
                        .by_kind
                        .iter()
                        .map(|(&kind, latency)| (kind, latency.summary()))
                        .collect(),
                    complete: (index + 1) as f64 * seconds <= duration_s + 1e-3,
                }
            })
            .collect()
    }
}

/// Latency percentiles, in microseconds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LatencyReport {
    /// TCP connect.
    pub connect: Percentiles,
    /// `HELLO x` to `HELLO x+1`.
    pub handshake: Percentiles,
    /// Every request; in open loop, from its intended send time.
    pub request: Percentiles,
    /// Open loop only: from the actual send time (hides stalls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_uncorrected: Option<Percentiles>,
}

impl Report {
    /// The report of a run (or of several, merged).
    pub fn new(run: &Saved) -> Report {
        let args = &run.spec;
        let measured = &run.measured;
        let duration = run.duration_s;
        let open_loop = args.open_loop();
        let by_request = Kind::ALL
            .into_iter()
            .filter_map(|kind| Some((kind, measured.by_kind.get(&kind)?.summary())))
            .collect();
        let mut report = Report {
            model: args.model.clone(),
            target: args.target.to_string(),
            mode: if open_loop { Mode::Open } else { Mode::Closed },
            mix: args.mix.to_string(),
            pipeline: args.pipeline,
            connections_requested: args.connections as u64,
            connections_reached: measured.connected,
            handshakes_ok: measured.handshakes_ok,
            requests_ok: measured.requests_ok,
            errors: Failure::ALL
                .into_iter()
                .map(|f| (f, measured.failures.get(&f).copied().unwrap_or(0)))
                .collect(),
            closed_by_server: measured.closed_by_server.clone(),
            request_errors: measured.request_errors.clone(),
            io_errors: measured.io_errors.clone(),
            unanswered: measured.unanswered,
            duration_s: duration,
            connect_phase_s: run.connect_phase_s,
            throughput_rps: measured.requests_ok as f64 / duration.max(1e-9),
            latency_us: LatencyReport {
                connect: measured.connect.summary(),
                handshake: measured.handshake.summary(),
                request: measured.request.summary(),
                request_uncorrected: open_loop.then(|| measured.request_uncorrected.summary()),
            },
            by_request,
            intervals: IntervalReport::all(measured, args.interval, duration),
            server: run.server.clone(),
            server_exited_after_s: run.server_exited_after_s,
            listen_overflows: run.listen_overflows,
            tester: run.tester.clone(),
            warnings: Vec::new(),
        };
        report.warnings = report.doubts(args);
        report
    }

    /// Why this run may have measured the tester rather than the server,
    /// in a few words: it fell behind its open-loop schedule (the rate it
    /// reports was not offered on time) or used nearly all of its CPU.
    /// `None`: the server was the limit.
    pub fn tester_limit(&self) -> Option<String> {
        let mut reasons = Vec::new();
        if let Some(lag) = self
            .tester
            .send_lag_p99_us
            .filter(|&lag| lag > TESTER_LAG_LIMIT_US)
        {
            reasons.push(format!("sent 1% over {:.0} ms late", lag as f64 / 1000.0));
        }
        if self.tester.cpu_share > TESTER_BUSY_SHARE {
            reasons.push(format!("CPU {:.0}% busy", self.tester.cpu_share * 100.0));
        }
        (!reasons.is_empty()).then(|| reasons.join(", "))
    }

    /// Reasons a reader should doubt the figures, in words.
    fn doubts(&self, args: &LoadSpec) -> Vec<String> {
        let mut doubts = Vec::new();
        if self.handshakes_ok < self.connections_requested {
            doubts.push(format!(
                "only {} of {} connections completed the handshake",
                self.handshakes_ok, self.connections_requested
            ));
        }
        if !self.request_errors.is_empty() {
            doubts.push(format!(
                "{} requests were answered with an error ({}): the server refused them, so they are \
                 not in the latency figures",
                self.request_errors.values().sum::<u64>(),
                by_text(&self.request_errors)
            ));
        }
        if self.tester.cpu_share > TESTER_BUSY_SHARE {
            doubts.push(format!(
                "the tester used {:.0}% of its processes' CPU: it may be the bottleneck (try --processes)",
                self.tester.cpu_share * 100.0
            ));
        }
        if let (Some(lag), Some(rate)) = (self.tester.send_lag_p99_us, args.rate) {
            if lag > TESTER_LAG_LIMIT_US {
                doubts.push(format!(
                    "the tester fell behind its schedule of {rate} requests/s: 1% of requests went out \
                     more than {:.1} ms late (a request the server held up is timed from its \
                     intended send; a delay of the tester's own is not charged to the server)",
                    lag as f64 / 1000.0
                ));
            }
        }
        if let Some(after) = self.server_exited_after_s {
            doubts.push(format!(
                "the server's process ended {after:.1} s into the request phase: what follows it measures a server that was gone"
            ));
        }
        if self.listen_overflows.is_some_and(|n| n > 0) {
            doubts.push(format!(
                "{} connection attempts overflowed a listen queue during the run",
                self.listen_overflows.unwrap_or(0)
            ));
        }
        doubts
    }

    /// Whether nothing failed and every connection was reached.
    pub fn clean(&self) -> bool {
        self.handshakes_ok == self.connections_requested && self.failures() == 0
    }

    /// Failures of every kind, added up.
    pub fn failures(&self) -> u64 {
        self.errors.values().sum()
    }

    /// How many failed of one kind.
    pub fn failed(&self, kind: Failure) -> u64 {
        self.errors.get(&kind).copied().unwrap_or(0)
    }

    /// Percentiles of one request kind, if it ran.
    pub fn kind(&self, kind: Kind) -> Option<&Percentiles> {
        self.by_request.get(&kind)
    }
}

/// `3 × "ERR sleep too long", 1 × "ERR work too large"`.
fn by_text(counts: &BTreeMap<String, u64>) -> String {
    counts
        .iter()
        .map(|(text, n)| format!("{n} × {text:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One side's cost per request, in words; `None` when nothing was
/// answered.
fn cost_line(
    user_us: Option<f64>,
    kernel_us: Option<f64>,
    syscalls: Option<f64>,
    switches: Option<f64>,
) -> Option<String> {
    let (user_us, kernel_us) = user_us.zip(kernel_us)?;
    let syscalls = syscalls.map_or("system calls not counted (needs perf)".to_owned(), |n| {
        format!("{n:.2} system calls")
    });
    Some(format!(
        "{user_us:.2} µs user + {kernel_us:.2} µs kernel CPU, {syscalls}, {:.2} context switches",
        switches.unwrap_or(0.0)
    ))
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let model = self.model.as_deref().unwrap_or("server");
        writeln!(
            f,
            "{model} at {} — {} loop, mix {}{}",
            self.target,
            match self.mode {
                Mode::Open => "open",
                Mode::Closed => "closed",
            },
            self.mix,
            if self.pipeline > 1 {
                format!(
                    ", up to {} requests in flight per connection",
                    self.pipeline
                )
            } else {
                String::new()
            }
        )?;
        writeln!(
            f,
            "connections  requested {}  reached {}  handshaked {}  (connect phase {:.1} s)",
            self.connections_requested,
            self.connections_reached,
            self.handshakes_ok,
            self.connect_phase_s
        )?;
        writeln!(
            f,
            "requests     {} ok in {:.1} s = {:.0} requests/s",
            self.requests_ok, self.duration_s, self.throughput_rps
        )?;
        let failures: Vec<String> = self
            .errors
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(kind, n)| format!("{kind} {n}"))
            .collect();
        writeln!(
            f,
            "failures     {}",
            if failures.is_empty() {
                "none".to_owned()
            } else {
                failures.join(", ")
            }
        )?;
        if !self.request_errors.is_empty() {
            writeln!(
                f,
                "refused      {} (connections kept)",
                by_text(&self.request_errors)
            )?;
        }
        if !self.io_errors.is_empty() {
            writeln!(f, "system said  {}", by_text(&self.io_errors))?;
        }
        if !self.closed_by_server.is_empty() {
            writeln!(
                f,
                "closed       by the server: {}; {} requests left unanswered",
                by_text(&self.closed_by_server),
                self.unanswered
            )?;
        } else if self.unanswered > 0 {
            writeln!(f, "unanswered   {} requests", self.unanswered)?;
        }
        if let Some(after) = self.server_exited_after_s {
            writeln!(
                f,
                "server exit  its process ended {after:.2} s into the request phase"
            )?;
        }
        writeln!(f)?;
        writeln!(
            f,
            "latency (µs)          count      p50      p90      p99    p99.9      max"
        )?;
        let mut row = |name: &str, p: &Percentiles| {
            writeln!(
                f,
                "  {name:<18} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}",
                p.count, p.p50, p.p90, p.p99, p.p999, p.max
            )
        };
        row("connect", &self.latency_us.connect)?;
        row("handshake", &self.latency_us.handshake)?;
        row("request", &self.latency_us.request)?;
        if let Some(uncorrected) = &self.latency_us.request_uncorrected {
            row("  uncorrected", uncorrected)?;
        }
        for (kind, p) in &self.by_request {
            row(&format!("  {}", kind.name()), p)?;
        }
        if let Some(server) = &self.server {
            writeln!(f)?;
            let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
            writeln!(
                f,
                "server       RSS {:.1} MiB before, {:.1} MiB loaded, {:.1} MiB peak; {} threads at most; {} process(es)",
                mib(server.rss_bytes_before),
                mib(server.rss_bytes_loaded),
                mib(server.rss_bytes_peak),
                server.threads,
                server.processes
            )?;
            if let (Some(resident), Some(reserved)) = (
                server.resident_bytes_per_thread(),
                server.virtual_bytes_per_thread(),
            ) {
                writeln!(
                    f,
                    "             {} threads added: {resident} bytes resident and {reserved} bytes of address space each",
                    server.threads_added()
                )?;
            }
            if let Some(cost) = cost_line(
                server.user_cpu_us_per_request,
                server.kernel_cpu_us_per_request,
                server.syscalls_per_request,
                server.context_switches_per_request,
            ) {
                writeln!(f, "             per request: {cost}")?;
            }
            if let Some(per) = server.bytes_per_connection {
                writeln!(f, "             {per} bytes of RSS per connection")?;
            }
            if let Some(kernel) = server.kernel_slab_bytes {
                writeln!(
                    f,
                    "             kernel socket slabs +{:.1} MiB (both ends, not in RSS){}",
                    mib(kernel),
                    server
                        .kernel_bytes_per_connection(self.handshakes_ok)
                        .map_or(String::new(), |per| format!(
                            ": ~{per} bytes for the server's end of each connection"
                        ))
                )?;
            }
        }
        let mut tester = format!(
            "tester       {} process(es), {:.2} CPU s in all; while requesting {:.0}% of their capacity",
            self.tester.processes,
            self.tester.cpu_s,
            self.tester.cpu_share * 100.0
        );
        if let Some(per) = self.tester.cpu_us_per_request {
            let _ = write!(tester, ", {per:.1} µs CPU per request");
        }
        let _ = write!(tester, " (CPUs {})", self.tester.cores);
        writeln!(f)?;
        writeln!(f, "{tester}")?;
        if let Some(cost) = cost_line(
            self.tester.user_cpu_us_per_request,
            self.tester.kernel_cpu_us_per_request,
            self.tester.syscalls_per_request,
            self.tester.context_switches_per_request,
        ) {
            writeln!(f, "             per request: {cost}")?;
        }
        writeln!(
            f,
            "note         client and server share this machine's cores unless pinned apart"
        )?;
        for warning in &self.warnings {
            writeln!(f, "WARNING      {warning}")?;
        }
        Ok(())
    }
}
