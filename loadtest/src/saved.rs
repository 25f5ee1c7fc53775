//! A run kept whole, for several load hosts: `loadtest run --save FILE`
//! writes one, and `loadtest merge FILE…` combines the runs of several
//! hosts into one report.
//!
//! The file holds what the report is computed from, not the report: the
//! load, every count, and every latency histogram in HdrHistogram's
//! serialized form. Percentiles cannot be averaged, but histograms add up
//! exactly, so the merged p99 is the p99 of every request of every host.

use std::fs;
use std::path::Path;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::metrics::Measured;
use crate::report::{Report, ServerReport, TesterReport};
use crate::spec::LoadSpec;

/// What a file says it is: the tester's version and the file's layout.
/// Files of another version are refused, not half read.
pub const FORMAT: &str = concat!("loadtest ", env!("CARGO_PKG_VERSION"), " saved run 1");

/// Everything a report is computed from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// [`FORMAT`] of the tester that wrote it.
    pub format: String,
    /// The load this host sent.
    pub spec: LoadSpec,
    /// When the request phase started (seconds since the Unix epoch).
    pub started_at: f64,
    /// Counts and histograms.
    pub measured: Measured,
    /// Length of the request phase.
    pub duration_s: f64,
    /// How long opening the connections took.
    pub connect_phase_s: f64,
    /// The server's side, when this host sampled it (`--server-pid`).
    #[serde(deserialize_with = "Option::deserialize")]
    pub server: Option<ServerReport>,
    /// When the server's process ended, counted from the start of the
    /// request phase (`--server-pid`; it may end under load, on SIGTERM).
    #[serde(deserialize_with = "Option::deserialize")]
    pub server_exited_after_s: Option<f64>,
    /// What the tester cost.
    pub tester: TesterReport,
    /// Listen-queue overflows during the run, on this host.
    #[serde(deserialize_with = "Option::deserialize")]
    pub listen_overflows: Option<u64>,
}

/// Just the format, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: String,
}

impl Saved {
    /// The report of this run.
    pub fn report(&self) -> Report {
        Report::new(self)
    }

    /// Writes the run to `path`.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        let text = serde_json::to_string(self).context("cannot encode the run")?;
        fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
    }

    /// Reads a run written by [`Saved::write`] of this version.
    pub fn read(path: &Path) -> anyhow::Result<Saved> {
        let text =
            fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
        let header: Header = serde_json::from_str(&text).map_err(|error| {
            anyhow::anyhow!(
                "{} is not a run saved by `loadtest run --save`, or it is truncated ({error})",
                path.display()
            )
        })?;
        if header.format != FORMAT {
            bail!(
                "{} was saved by {:?}, and this is {FORMAT:?}: merge runs of one version",
                path.display(),
                header.format
            );
        }
        serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged or truncated", path.display()))
    }

    /// Combines the runs of several load hosts against one server: counts
    /// and histograms add up, the connections and the rate are the sums,
    /// the request phase is the longest, and the server's side comes from
    /// the first run that sampled it.
    pub fn merge(runs: Vec<Saved>) -> anyhow::Result<Saved> {
        let mut runs = runs.into_iter();
        let Some(mut merged) = runs.next() else {
            bail!("nothing to merge: name at least one saved run");
        };
        for run in runs {
            if run.spec.target != merged.spec.target {
                bail!(
                    "these runs loaded different servers ({} and {}): merge runs against one",
                    merged.spec.target,
                    run.spec.target
                );
            }
            merged.spec.connections += run.spec.connections;
            merged.spec.rate = match (merged.spec.rate, run.spec.rate) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            merged.spec.model = merged.spec.model.or(run.spec.model);
            merged.started_at = merged.started_at.min(run.started_at);
            merged.measured.merge(&run.measured);
            merged.duration_s = merged.duration_s.max(run.duration_s);
            merged.connect_phase_s = merged.connect_phase_s.max(run.connect_phase_s);
            if merged.server.is_none() {
                merged.server = run.server;
                merged.server_exited_after_s = run.server_exited_after_s;
                merged.spec.server_pids = run.spec.server_pids;
            }
            merged.listen_overflows = match (merged.listen_overflows, run.listen_overflows) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            merged.tester.processes += run.tester.processes;
            merged.tester.cpu_s += run.tester.cpu_s;
            merged.tester.request_phase_cpu_s += run.tester.request_phase_cpu_s;
        }
        merged.tester = TesterReport::new(
            merged.tester.processes,
            merged.tester.cpu_s,
            merged.tester.request_phase_cpu_s,
            std::time::Duration::from_secs_f64(merged.duration_s.max(0.0)),
            &merged.measured,
            merged.spec.open_loop(),
        );
        Ok(merged)
    }
}
