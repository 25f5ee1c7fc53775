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
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde::{Deserialize, Serialize};

use crate::affinity::Cores;
use crate::cost::PerRequest;
use crate::metrics::Measured;
use crate::spec::LoadSpec;
use common::procfs::ProcSample;

/// What a file says it is: the tester's version and the file's layout.
/// Files of another version are refused, not half read.
pub const FORMAT: &str = concat!("loadtest ", env!("CARGO_PKG_VERSION"), " saved run 2");

/// Everything a report is computed from.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Saved {
    /// [`FORMAT`] of the tester that wrote it.
    pub format: String,
    /// This run's own id, random: `loadtest merge` refuses to count one run
    /// twice (the same file named twice, or a copy of it).
    pub run_id: String,
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

/// A fresh run id: 64 random bits (std's hasher is seeded at random in each
/// process), in hex.
pub fn new_run_id() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |since| since.as_nanos()),
    );
    format!("{:016x}", hasher.finish())
}

impl Saved {
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
        let cost = merged_tester_cost(&runs);
        let cores = Cores(
            runs.iter()
                .flat_map(|run| run.tester.cores.0.iter().copied())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect(),
        );
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
        merged.tester.cores = cores;
        merged.tester.set_cost(cost);
        Ok(merged)
    }
}

/// The tester's cost per request over several runs: each run's figure
/// weighted by the requests it answered; `None` if a run lacks one (a
/// system call count is kept only if every run has one).
fn merged_tester_cost(runs: &[Saved]) -> Option<PerRequest> {
    let requests: f64 = runs.iter().map(|r| r.measured.requests_ok as f64).sum();
    let weighted = |pick: fn(&TesterReport) -> Option<f64>| -> Option<f64> {
        let mut sum = 0.0;
        for run in runs {
            sum += pick(&run.tester)? * run.measured.requests_ok as f64;
        }
        (requests > 0.0).then(|| sum / requests)
    };
    Some(PerRequest {
        user_cpu_us: weighted(|t| t.user_cpu_us_per_request)?,
        kernel_cpu_us: weighted(|t| t.kernel_cpu_us_per_request)?,
        syscalls: weighted(|t| t.syscalls_per_request),
        context_switches: weighted(|t| t.context_switches_per_request)?,
    })
}

/// The server's side.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerReport {
    /// RSS before any connection.
    pub rss_bytes_before: u64,
    /// RSS with every connection open and handshaked, before requests.
    pub rss_bytes_loaded: u64,
    /// The highest RSS of the run (`VmHWM`).
    pub rss_bytes_peak: u64,
    /// Virtual memory before any connection (`VmSize`): address space
    /// reserved, mostly never touched (a thread's stack, for one).
    pub vm_bytes_before: u64,
    /// Virtual memory with every connection open and handshaked.
    pub vm_bytes_loaded: u64,
    /// Threads before any connection.
    pub threads_before: u64,
    /// Threads with every connection open, before requests.
    pub threads_loaded: u64,
    /// The most threads seen during the request phase (sampled every
    /// 100 ms: 04's `spawn_blocking` threads appear only then).
    pub threads: u64,
    /// Context switches of every thread during the request phase (the
    /// most seen by samples 100 ms apart: threads that exit take theirs
    /// along).
    pub context_switches: u64,
    /// (RSS loaded − RSS before) / handshaked connections.
    #[serde(deserialize_with = "Option::deserialize")]
    pub bytes_per_connection: Option<u64>,
    /// Growth of the kernel's socket slabs with the connections
    /// (`/proc/slabinfo`, [`common::procfs::SOCKET_SLABS`]): whole
    /// machine, both ends of each connection, in no process's RSS.
    #[serde(deserialize_with = "Option::deserialize")]
    pub kernel_slab_bytes: Option<u64>,
    /// Server processes sampled (summed).
    pub processes: u64,
    /// Request phase: CPU in user space per answered request (µs).
    #[serde(deserialize_with = "Option::deserialize")]
    pub user_cpu_us_per_request: Option<f64>,
    /// Request phase: CPU in the kernel per answered request (µs).
    #[serde(deserialize_with = "Option::deserialize")]
    pub kernel_cpu_us_per_request: Option<f64>,
    /// Request phase: system calls per answered request, counted by
    /// `perf stat`; `null` where perf is missing or not allowed.
    #[serde(deserialize_with = "Option::deserialize")]
    pub syscalls_per_request: Option<f64>,
    /// Request phase: context switches per answered request.
    #[serde(deserialize_with = "Option::deserialize")]
    pub context_switches_per_request: Option<f64>,
}

/// Samples of the server at the moments the report compares.
#[derive(Debug, Clone, Copy)]
pub struct ServerSamples {
    /// Before any connection.
    pub before: ProcSample,
    /// Every connection open and handshaked, before requests.
    pub loaded: ProcSample,
    /// When the requests started.
    pub requests_start: ProcSample,
    /// When the requests ended.
    pub requests_end: ProcSample,
    /// The most threads and context switches seen while requests ran.
    pub most_seen: ProcSample,
}

impl ServerReport {
    /// Builds the server's side from its samples.
    pub fn new(
        samples: &ServerSamples,
        connections: u64,
        kernel_slab_bytes: Option<u64>,
    ) -> ServerReport {
        let ServerSamples {
            before,
            loaded,
            requests_start,
            requests_end,
            most_seen,
        } = *samples;
        let grown = loaded.rss_bytes.saturating_sub(before.rss_bytes);
        ServerReport {
            rss_bytes_before: before.rss_bytes,
            rss_bytes_loaded: loaded.rss_bytes,
            rss_bytes_peak: requests_end.peak_rss_bytes.max(loaded.rss_bytes),
            vm_bytes_before: before.vm_bytes,
            vm_bytes_loaded: loaded.vm_bytes,
            threads_before: before.threads,
            threads_loaded: loaded.threads,
            threads: most_seen.threads.max(requests_start.threads),
            context_switches: requests_end
                .context_switches
                .max(most_seen.context_switches)
                .saturating_sub(requests_start.context_switches),
            bytes_per_connection: (connections > 0).then(|| grown / connections),
            kernel_slab_bytes,
            processes: loaded.processes,
            user_cpu_us_per_request: None,
            kernel_cpu_us_per_request: None,
            syscalls_per_request: None,
            context_switches_per_request: None,
        }
    }

    /// Sets what one request cost the server.
    pub fn set_cost(&mut self, cost: Option<PerRequest>) {
        let Some(cost) = cost else { return };
        self.user_cpu_us_per_request = Some(cost.user_cpu_us);
        self.kernel_cpu_us_per_request = Some(cost.kernel_cpu_us);
        self.syscalls_per_request = cost.syscalls;
        self.context_switches_per_request = Some(cost.context_switches);
    }

    /// The kernel's memory for the server's end of one connection: half
    /// the socket slabs' growth, since the tester's end of a loopback
    /// connection is made of the same objects (an epoll entry aside: a
    /// server that blocks in `read` has none, so for it this is ~2% high).
    pub fn kernel_bytes_per_connection(&self, connections: u64) -> Option<u64> {
        let slab = self.kernel_slab_bytes?;
        (connections > 0).then(|| slab / connections / 2)
    }

    /// Threads added with the connections (02 per connection: one each).
    pub fn threads_added(&self) -> u64 {
        self.threads_loaded.saturating_sub(self.threads_before)
    }

    /// Address space reserved per thread added (`VmSize` growth): the
    /// figure behind "a thread costs 2 MB of stack".
    pub fn virtual_bytes_per_thread(&self) -> Option<u64> {
        let added = self.threads_added();
        (added > 0).then(|| self.vm_bytes_loaded.saturating_sub(self.vm_bytes_before) / added)
    }

    /// Resident memory per thread added (RSS growth): what a thread costs.
    pub fn resident_bytes_per_thread(&self) -> Option<u64> {
        let added = self.threads_added();
        (added > 0).then(|| self.rss_bytes_loaded.saturating_sub(self.rss_bytes_before) / added)
    }
}

/// What the tester cost, and whether it kept up.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TesterReport {
    /// Client processes.
    pub processes: usize,
    /// CPU seconds the client processes used in all (connecting included).
    pub cpu_s: f64,
    /// CPU seconds they used while sending requests.
    pub request_phase_cpu_s: f64,
    /// Client CPU per correct answer during the request phase, in µs.
    #[serde(deserialize_with = "Option::deserialize")]
    pub cpu_us_per_request: Option<f64>,
    /// Share of the client processes' CPU capacity used during the request
    /// phase (1.0: every client process busy all the time).
    pub cpu_share: f64,
    /// Open loop: 99th percentile of how late requests were sent.
    #[serde(deserialize_with = "Option::deserialize")]
    pub send_lag_p99_us: Option<u64>,
    /// The CPUs the client processes could run on (pinned with
    /// `--tester-cores`, else all this process may use): `cpu_share` is of
    /// these, or of one per process when there are fewer processes.
    pub cores: Cores,
    /// Request phase: CPU in user space per answered request (µs).
    #[serde(deserialize_with = "Option::deserialize")]
    pub user_cpu_us_per_request: Option<f64>,
    /// Request phase: CPU in the kernel per answered request (µs).
    #[serde(deserialize_with = "Option::deserialize")]
    pub kernel_cpu_us_per_request: Option<f64>,
    /// Request phase: system calls per answered request, counted by
    /// `perf stat`; `null` where perf is missing or not allowed.
    #[serde(deserialize_with = "Option::deserialize")]
    pub syscalls_per_request: Option<f64>,
    /// Request phase: context switches per answered request.
    #[serde(deserialize_with = "Option::deserialize")]
    pub context_switches_per_request: Option<f64>,
}

impl TesterReport {
    /// Builds the tester's own figures.
    pub fn new(
        processes: usize,
        cpu_s: f64,
        request_phase_cpu_s: f64,
        request_phase: Duration,
        measured: &Measured,
        open_loop: bool,
    ) -> TesterReport {
        let requests = measured.requests_ok as f64;
        TesterReport {
            processes,
            cpu_s,
            request_phase_cpu_s,
            cpu_us_per_request: (requests > 0.0).then(|| request_phase_cpu_s * 1e6 / requests),
            cpu_share: request_phase_cpu_s
                / (request_phase.as_secs_f64() * processes as f64).max(1e-9),
            send_lag_p99_us: open_loop.then(|| measured.send_lag.summary().p99),
            cores: Cores(Vec::new()),
            user_cpu_us_per_request: None,
            kernel_cpu_us_per_request: None,
            syscalls_per_request: None,
            context_switches_per_request: None,
        }
    }

    /// Sets what one request cost the tester, and its CPU share as a share
    /// of the cores it could use (a process uses one core at most).
    pub fn set_cost(&mut self, cost: Option<PerRequest>) {
        let usable = self.cores.0.len().clamp(1, self.processes.max(1));
        self.cpu_share *= self.processes.max(1) as f64 / usable as f64;
        let Some(cost) = cost else { return };
        self.user_cpu_us_per_request = Some(cost.user_cpu_us);
        self.kernel_cpu_us_per_request = Some(cost.kernel_cpu_us);
        self.syscalls_per_request = cost.syscalls;
        self.context_switches_per_request = Some(cost.context_switches);
    }
}
