//! What the suite measured, as stored in `suite.json` and read back by
//! `--render`: typed all the way down, so a field that was renamed or is
//! missing is an error when reading, never a zero printed into the book.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use anyhow::Context as _;
use fingerprint::Inputs;
use serde::{Deserialize, Serialize};

use crate::affinity::Pinning;
use crate::report::{Mode, Report};
use crate::suite::schedule::{Measurement, Schedule};
use crate::suite::stamp::Stamp;

/// Which suite measurement a run belongs to (the registry's steps, as
/// stored).
pub use registry::Step;

/// One measured run.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The server's name in the registry.
    pub server: String,
    /// Which measurement.
    #[serde(with = "step_name")]
    pub step: Step,
    /// Connections asked for.
    pub connections: usize,
    /// Total request rate asked for; `None`: closed loop.
    pub rate: Option<f64>,
    /// Server processes on the port.
    pub server_processes: usize,
    /// `loadtest run`'s report.
    pub report: Report,
    /// Whether every server process exited 0 after SIGTERM.
    pub exited_cleanly: bool,
    /// The servers' final counters lines.
    pub final_lines: Vec<String>,
    /// Flags given to the server beyond the registry's (`--workers 4`).
    pub server_flags: Vec<String>,
    /// Where, when and at which commit this run was measured: a partial
    /// rerun (`--only`, `--steps`) leaves the other runs' stamps as they
    /// were.
    pub stamp: Stamp,
    /// The digest of what it measured: its key in [`Results::inputs`].
    pub fingerprint: String,
    /// How long the run took, the server's start and stop included (what
    /// `cargo xtask results plan` adds up).
    pub took_s: f64,
    /// Which round of its comparison (1 for the first; the servers take
    /// turns round after round). A sweep's rate tried again counts on.
    pub round: usize,
    /// The cores the server and the tester were pinned to; `None`: both
    /// shared every core.
    #[serde(deserialize_with = "Option::deserialize")]
    pub pinning: Option<Pinning>,
}

/// A server the suite could not start on this machine, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Missing {
    /// The server's name in the registry.
    pub server: String,
    /// Why (e.g. its toolchain is not installed).
    pub reason: String,
}

/// Everything the suite measured, with the stamp of the latest part.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Results {
    /// Machine, date and commit.
    pub stamp: Stamp,
    /// Whether this was `--quick`.
    pub quick: bool,
    /// The schedule the runs followed (the views read it from here).
    pub schedule: Schedule,
    /// Every run, in order.
    pub runs: Vec<Run>,
    /// What the runs measured, by digest (the `fingerprint` crate).
    pub inputs: BTreeMap<String, Inputs>,
    /// Servers that could not be measured here.
    pub missing: Vec<Missing>,
}

impl Results {
    /// The results stored at `path` (a `suite.json`).
    pub fn read(path: &Path) -> anyhow::Result<Results> {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a suite result of this version: run the whole suite once to rewrite it",
                path.display()
            )
        })
    }

    /// The runs of one step.
    pub fn of(&self, step: Step) -> impl Iterator<Item = &Run> {
        self.runs.iter().filter(move |run| run.step == step)
    }

    /// The median round of `server` at `step` with `connections` (or its
    /// largest): the round whose headline figure ([`Run::headline`]) is
    /// the median of the rounds', so that every figure quoted from it
    /// comes from one run.
    pub fn find(&self, server: &str, step: Step, connections: Option<usize>) -> Option<&Run> {
        let mut rounds = self.rounds(server, step, connections);
        rounds.sort_by(|a, b| a.headline().total_cmp(&b.headline()));
        rounds.get(rounds.len().saturating_sub(1) / 2).copied()
    }

    /// Every round of `server` at `step` with `connections` (or its
    /// largest), in the step's main setting: pinned where the step is
    /// pinned and pinned runs exist, else unpinned.
    pub fn rounds(&self, server: &str, step: Step, connections: Option<usize>) -> Vec<&Run> {
        let of_server: Vec<&Run> = self.of(step).filter(|run| run.server == server).collect();
        let Some(size) = connections.or_else(|| of_server.iter().map(|r| r.connections).max())
        else {
            return Vec::new();
        };
        let pinned = Measurement::PINNED.contains(&step) && of_server.iter().any(|r| r.pinned());
        of_server
            .into_iter()
            .filter(|run| run.connections == size && run.pinned() == pinned)
            .collect()
    }

    /// `part` measured again the runs of `servers` at `steps`: those runs
    /// are replaced, every other run keeps its figures and its stamp.
    /// Refused when the runs kept were measured on another machine.
    pub fn merge(
        mut self,
        part: Results,
        servers: &[&str],
        steps: &[Step],
    ) -> anyhow::Result<Results> {
        let remeasured =
            |server: &str, step: Step| servers.contains(&server) && steps.contains(&step);
        self.runs.retain(|run| !remeasured(&run.server, run.step));
        let here = part.stamp.machine();
        for kept in &self.runs {
            here.refuse_mixing(&kept.stamp.machine())?;
        }
        if self.schedule != part.schedule && !self.runs.is_empty() {
            anyhow::bail!(
                "refusing to merge: the stored runs followed another schedule; rerun the whole suite"
            );
        }
        self.runs.extend(part.runs);
        self.inputs.extend(part.inputs);
        let used: std::collections::BTreeSet<&String> =
            self.runs.iter().map(|run| &run.fingerprint).collect();
        self.inputs.retain(|digest, _| used.contains(digest));
        // Keep the suite's order: registry order, then step order.
        self.runs.sort_by_key(|run| {
            (
                registry::SERVERS.iter().position(|s| s.name == run.server),
                Step::every().position(|s| s == run.step),
            )
        });
        self.missing
            .retain(|m| !servers.contains(&m.server.as_str()));
        self.missing.extend(part.missing);
        Ok(Results {
            stamp: part.stamp,
            quick: part.quick,
            schedule: part.schedule,
            runs: self.runs,
            inputs: self.inputs,
            missing: self.missing,
        })
    }

    /// The distinct stamps of the runs (one unless parts were rerun), each
    /// with the servers measured under it, oldest first.
    pub fn parts(&self) -> Vec<(&Stamp, Vec<&str>)> {
        let mut parts: Vec<(&Stamp, Vec<&str>)> = Vec::new();
        for run in &self.runs {
            match parts
                .iter_mut()
                .find(|(stamp, _)| stamp.commit == run.stamp.commit && stamp.date == run.stamp.date)
            {
                Some((_, servers)) if servers.contains(&run.server.as_str()) => {}
                Some((_, servers)) => servers.push(&run.server),
                None => parts.push((&run.stamp, vec![&run.server])),
            }
        }
        parts.sort_by(|a, b| a.0.date.cmp(&b.0.date));
        parts
    }

    /// The registry's servers that have runs, in registry order.
    pub fn servers(&self) -> impl Iterator<Item = &'static registry::Server> {
        registry::SERVERS
            .iter()
            .filter(|server| self.runs.iter().any(|run| run.server == server.name))
    }
}

impl Run {
    /// Whether every connection asked for completed its handshake.
    pub fn all_served(&self) -> bool {
        self.report.handshakes_ok == self.report.connections_requested
    }

    /// Whether the server and the tester ran on cores of their own.
    pub fn pinned(&self) -> bool {
        self.pinning.is_some()
    }

    /// The figure its step is about, by which rounds are ordered: the
    /// requests per second of a closed loop, the batch's length, else the
    /// ECHO p99 (µs) of an open loop.
    pub fn headline(&self) -> f64 {
        match (self.step, self.report.mode) {
            (Step::CpuBatch, _) => self.report.duration_s,
            (_, Mode::Closed) => self.report.throughput_rps,
            (_, Mode::Open) => {
                self.report
                    .kind(crate::metrics::Kind::Echo)
                    .map_or(self.report.latency_us.request.p99, |p| p.p99) as f64
            }
        }
    }
}

/// Steps are stored by their names (`mixed-work`), as in file names.
mod step_name {
    use serde::{Deserialize, Deserializer, Serializer, de::Error as _};

    use super::Step;

    pub fn serialize<S: Serializer>(step: &Step, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(step.name())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Step, D::Error> {
        let name = String::deserialize(deserializer)?;
        Step::named(&name).ok_or_else(|| D::Error::custom(format!("unknown suite step {name:?}")))
    }
}

/// Made-up results for the tests of what reads them (here and in the
/// views crate, which turns on the `fixtures` feature for its tests).
#[cfg(any(test, feature = "fixtures"))]
#[allow(clippy::unwrap_used, missing_docs)]
pub mod fixtures {
    use std::collections::BTreeMap;

    use super::*;
    use crate::metrics::{Failure, Kind, Percentiles};
    use crate::report::{LatencyReport, Mode, ServerReport, TesterReport};

    fn percentiles(p50: u64, p99: u64) -> Percentiles {
        Percentiles {
            count: 1000,
            p50,
            p90: p99,
            p99,
            p999: p99 * 10,
            max: p99 * 20,
        }
    }

    /// A run of `server` at `step` where `handshakes` of `connections`
    /// were served and the rest were turned away busy.
    pub fn run(server: &str, step: Step, connections: usize, handshakes: u64) -> Run {
        let busy = connections as u64 - handshakes;
        let report = Report {
            model: Some(server.to_owned()),
            target: "127.0.0.1:7903".into(),
            mode: Mode::Open,
            mix: "echo=100,work=0,sleep=0".into(),
            pipeline: 1,
            connections_requested: connections as u64,
            connections_reached: connections as u64,
            handshakes_ok: handshakes,
            requests_ok: 5000,
            errors: Failure::ALL
                .into_iter()
                .map(|f| (f, if f == Failure::Busy { busy } else { 0 }))
                .collect(),
            closed_by_server: BTreeMap::new(),
            request_errors: BTreeMap::new(),
            io_errors: BTreeMap::new(),
            unanswered: 0,
            duration_s: 5.0,
            connect_phase_s: 0.1,
            throughput_rps: 999.0,
            latency_us: LatencyReport {
                connect: percentiles(50, 200),
                handshake: percentiles(60, 300),
                request: percentiles(90, 1500),
                request_uncorrected: Some(percentiles(90, 1400)),
            },
            by_request: BTreeMap::from([(Kind::Echo, percentiles(90, 1500))]),
            intervals: Vec::new(),
            server_exited_after_s: None,
            server: Some(ServerReport {
                rss_bytes_before: 2 << 20,
                rss_bytes_loaded: 3 << 20,
                rss_bytes_peak: 3 << 20,
                vm_bytes_before: 100 << 20,
                vm_bytes_loaded: 100 << 20,
                threads_before: 4,
                threads_loaded: 4,
                threads: 4,
                context_switches: 10_000,
                bytes_per_connection: Some(1500),
                kernel_slab_bytes: Some(0),
                processes: 1,
                user_cpu_us_per_request: Some(1.0),
                kernel_cpu_us_per_request: Some(4.0),
                syscalls_per_request: Some(3.0),
                context_switches_per_request: Some(0.1),
            }),
            listen_overflows: Some(0),
            tester: TesterReport {
                processes: 1,
                cpu_s: 1.0,
                request_phase_cpu_s: 0.9,
                cpu_us_per_request: Some(5.0),
                cpu_share: 0.2,
                send_lag_p99_us: Some(100),
                cores: crate::affinity::Cores(vec![0]),
                user_cpu_us_per_request: Some(1.0),
                kernel_cpu_us_per_request: Some(4.0),
                syscalls_per_request: Some(0.5),
                context_switches_per_request: Some(0.01),
            },
            warnings: Vec::new(),
        };
        Run {
            server: server.to_owned(),
            step,
            connections,
            rate: Some(1000.0),
            server_processes: 1,
            report,
            exited_cleanly: true,
            final_lines: Vec::new(),
            server_flags: Vec::new(),
            stamp: Stamp::read(20_000),
            fingerprint: "0123456789abcdef".into(),
            took_s: 5.0,
            round: 1,
            pinning: None,
        }
    }

    /// Results holding one [`run`] per entry.
    pub fn results_with(runs: &[(&str, Step, usize, u64)]) -> Results {
        Results {
            stamp: Stamp::read(20_000),
            quick: false,
            schedule: Schedule::new(false),
            runs: runs
                .iter()
                .map(|&(server, step, connections, handshakes)| {
                    run(server, step, connections, handshakes)
                })
                .collect(),
            inputs: BTreeMap::new(),
            missing: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::results_with;
    use super::*;

    #[test]
    fn a_partial_rerun_replaces_only_what_it_measured() {
        let stored = results_with(&[
            ("03-async-tokio", Step::Staircase, 10, 10),
            ("03-async-tokio", Step::Throughput, 64, 64),
            ("go-peer", Step::Staircase, 10, 10),
        ]);
        let mut part = results_with(&[("03-async-tokio", Step::Staircase, 10, 10)]);
        part.runs[0].report.throughput_rps = 123.0;
        part.runs[0].stamp.commit = "newer".into();
        part.runs[0].stamp.date = "2099-01-01 00:00 UTC".into();
        let merged = stored
            .merge(part, &["03-async-tokio"], &[Step::Staircase])
            .unwrap();
        assert_eq!(merged.runs.len(), 3);
        let staircase = merged
            .find("03-async-tokio", Step::Staircase, None)
            .unwrap();
        assert_eq!(staircase.report.throughput_rps, 123.0);
        assert_eq!(
            merged
                .find("03-async-tokio", Step::Throughput, None)
                .unwrap()
                .report
                .throughput_rps,
            999.0,
            "the step not rerun keeps its figure"
        );
        let mut elsewhere = results_with(&[("03-async-tokio", Step::Staircase, 10, 10)]);
        elsewhere.stamp.cores = 64;
        let refused = merged
            .clone()
            .merge(elsewhere, &["03-async-tokio"], &[Step::Staircase])
            .unwrap_err();
        assert!(
            refused.to_string().contains("refusing to merge"),
            "{refused}"
        );
        let parts = merged.parts();
        assert_eq!(parts.len(), 2, "{parts:?}");
        assert_eq!(parts[1].0.commit, "newer");
        assert_eq!(parts[1].1, ["03-async-tokio"]);
    }

    #[test]
    fn results_read_back_as_written() {
        let results = results_with(&[("03-async-tokio", Step::MixedSleep, 100, 100)]);
        let text = serde_json::to_string(&results).unwrap();
        let back: Results = serde_json::from_str(&text).unwrap();
        assert_eq!(back.runs[0].step, Step::MixedSleep);
        assert!(text.contains("\"step\":\"mixed-sleep\""));
        assert_eq!(
            back.runs[0]
                .report
                .server
                .as_ref()
                .unwrap()
                .bytes_per_connection,
            Some(1500)
        );
    }

    #[test]
    fn a_renamed_or_missing_field_is_an_error_not_a_zero() {
        let results = results_with(&[("03-async-tokio", Step::Staircase, 10, 10)]);
        let text = serde_json::to_string(&results).unwrap();
        for (from, to) in [
            ("\"bytes_per_connection\"", "\"bytes_per_conn\""),
            ("\"handshakes_ok\"", "\"handshakes\""),
            (",\"send_lag_p99_us\":100", ""),
            ("\"bytes_per_connection\":1500,", ""),
        ] {
            assert!(text.contains(from), "{from}");
            let changed = text.replacen(from, to, 1);
            let error = serde_json::from_str::<Results>(&changed).unwrap_err();
            assert!(
                error.to_string().contains("field"),
                "{from} -> {to:?}: {error}"
            );
        }
        let unknown_step = text.replacen("\"staircase\"", "\"stairs\"", 1);
        assert!(serde_json::from_str::<Results>(&unknown_step).is_err());
    }
}
