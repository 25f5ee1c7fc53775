//! What the suite measures, and with how much load: the staircase's
//! connection counts, the windows, the rates and the mixes of each step.

use std::net::SocketAddr;
use std::time::Duration;

use registry::{Server, Step};
use serde::{Deserialize, Serialize};

use crate::spec::{Length, LoadSpec, Mix, Stall};

/// The shape of a suite run. Stored with the results (`suite.json`), so
/// that the views read the schedule that ran, not today's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    /// Connection counts of the staircase.
    pub steps: Vec<usize>,
    /// How long each staircase step sends requests.
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
    /// Connections of the closed-loop throughput step.
    pub throughput_connections: usize,
    /// How long the throughput step runs.
    pub throughput_window: Duration,
    /// Requests in flight per connection in the pipelined step.
    pub pipeline: usize,
    /// The stalled step's pause, and how long it runs.
    pub stall: Stall,
    /// How long the stalled step runs.
    pub stall_window: Duration,
    /// The capacity sweeps' connection counts (a server sweeps only those
    /// it serves at once).
    pub capacity_connections: Vec<usize>,
    /// The offered ECHO rates of a capacity sweep, in order.
    pub capacity_rates: Vec<f64>,
    /// The offered rates of the sweep with 10% `WORK`.
    pub capacity_mixed_rates: Vec<f64>,
    /// How long each rate of a sweep is offered.
    pub capacity_window: Duration,
    /// 03's worker counts in the workers step.
    pub worker_counts: Vec<usize>,
    /// Connections of the CPU batch, one `WORK` each, all at once.
    pub cpu_batch_connections: usize,
    /// The size of each of the batch's `WORK`s.
    pub cpu_batch_work_units: u64,
    /// How many times each comparison is measured, the servers taking
    /// turns (every step but the staircase and the million, which are
    /// measured once).
    pub rounds: usize,
    /// The opt-in million step: connections, the pace they are opened at,
    /// then the ECHO rate and for how long.
    #[serde(default)]
    pub million: MillionLoad,
}

/// The million step's load (`--steps million`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MillionLoad {
    /// Connections, all held at once.
    pub connections: usize,
    /// Connections opened per second.
    pub connect_rate: f64,
    /// Total ECHO rate once every connection is up, open loop.
    pub rate: f64,
    /// How long the ECHO rate is offered.
    pub window: Duration,
}

/// A capacity sweep stops at the first rate whose ECHO p99 passes this
/// bound (µs), or that has an error, or that the tester could not offer.
pub const CAPACITY_P99_BOUND_US: u64 = 10_000;

/// One run's load: a step of the schedule, for one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Which step.
    pub step: Step,
    /// What the tester sends, as `loadtest run` would: its target and the
    /// server's pids are filled in when the server has started.
    pub load: LoadSpec,
    /// Flags for the server beyond the registry's (03's `--workers`).
    pub server_flags: Vec<String>,
    /// Whether the server and the tester run on cores of their own (the
    /// suite's `--cores`), so that the scheduler does not decide which of
    /// them gets a core.
    pub pinned: bool,
}

impl Measurement {
    /// A measurement with this step's defaults for everything but the
    /// load itself.
    fn new(step: Step, connections: usize, rate: Option<f64>, window: Duration, mix: Mix) -> Self {
        let mut load = LoadSpec::new(SocketAddr::from(([127, 0, 0, 1], 0)), connections);
        load.length = Length::Duration(window);
        load.rate = rate;
        load.mix = mix;
        // A suite run waits less for an answer than `loadtest run`: a
        // server five seconds late has failed the step anyway.
        load.timeout = Duration::from_secs(5);
        Measurement {
            step,
            load,
            server_flags: Vec::new(),
            pinned: Self::PINNED.contains(&step),
        }
    }

    /// The steps that compare the servers' cost of ECHO under load: pinned,
    /// one core each. The others need both cores for what they show (the
    /// mixed loads' `WORK` beside ECHO, 03's worker counts, the CPU batch)
    /// or measure connections rather than speed (the staircase).
    pub const PINNED: [Step; 3] = [Step::Throughput, Step::Pipelined, Step::Capacity];

    /// How many rounds this measurement gets: the staircase and the
    /// million are measured once (their large steps take minutes each);
    /// every comparison `rounds` times.
    pub fn rounds(&self, schedule: &Schedule) -> usize {
        if matches!(self.step, Step::Staircase | Step::Million) {
            1
        } else {
            schedule.rounds.max(1)
        }
    }

    /// Connections.
    pub fn connections(&self) -> usize {
        self.load.connections
    }

    /// Total request rate; `None`: closed loop.
    pub fn rate(&self) -> Option<f64> {
        self.load.rate
    }

    /// Whether this is one rate of a sweep, which stops at the first rate
    /// over the bound.
    pub fn is_sweep(&self) -> bool {
        matches!(
            self.step,
            Step::Capacity | Step::CapacityMixed | Step::Workers
        )
    }

    /// The sweep this measurement belongs to: the rates of one step, one
    /// connection count and one set of server flags.
    pub fn same_sweep(&self, other: &Measurement) -> bool {
        self.is_sweep()
            && self.step == other.step
            && self.connections() == other.connections()
            && self.server_flags == other.server_flags
    }
}

/// 90% ECHO and 10% `WORK`.
const TENTH_WORK: Mix = Mix {
    echo: 90,
    work: 10,
    sleep: 0,
};

impl Schedule {
    /// The full suite, or the quick one for CI.
    pub fn new(quick: bool) -> Schedule {
        if quick {
            Schedule {
                steps: vec![1, 10, 100],
                window: Duration::from_secs(1),
                staircase_rate: 20_000.0,
                mixed_connections: 20,
                mixed_rate: 1_000.0,
                mixed_window: Duration::from_secs(2),
                throughput_connections: 16,
                throughput_window: Duration::from_secs(1),
                pipeline: 16,
                stall: Stall {
                    after: Duration::from_millis(500),
                    length: Duration::from_millis(300),
                },
                stall_window: Duration::from_secs(2),
                capacity_connections: vec![100],
                capacity_rates: vec![1_000.0, 4_000.0],
                capacity_mixed_rates: vec![500.0, 1_000.0],
                capacity_window: Duration::from_secs(1),
                worker_counts: vec![1, 2],
                cpu_batch_connections: 10,
                cpu_batch_work_units: 2_000,
                rounds: 2,
                million: MillionLoad {
                    connections: 2_000,
                    connect_rate: 2_000.0,
                    rate: 200.0,
                    window: Duration::from_secs(2),
                },
            }
        } else {
            Schedule {
                steps: vec![1, 10, 100, 1_000, 10_000, 100_000],
                window: Duration::from_secs(5),
                staircase_rate: 20_000.0,
                mixed_connections: 100,
                mixed_rate: 2_000.0,
                mixed_window: Duration::from_secs(6),
                throughput_connections: 64,
                throughput_window: Duration::from_secs(4),
                pipeline: 16,
                stall: Stall {
                    after: Duration::from_secs(2),
                    length: Duration::from_secs(1),
                },
                stall_window: Duration::from_secs(6),
                capacity_connections: vec![100, 10_000],
                capacity_rates: vec![
                    5_000.0, 10_000.0, 20_000.0, 40_000.0, 60_000.0, 80_000.0, 100_000.0,
                    130_000.0, 160_000.0, 200_000.0,
                ],
                // Fine steps where WORK starts to fill two cores.
                capacity_mixed_rates: vec![
                    2_000.0, 4_000.0, 6_000.0, 8_000.0, 9_000.0, 10_000.0, 11_000.0, 12_000.0,
                    13_000.0, 14_000.0, 15_000.0, 17_000.0, 20_000.0,
                ],
                capacity_window: Duration::from_secs(2),
                worker_counts: vec![1, 2, 4, 8],
                cpu_batch_connections: 100,
                cpu_batch_work_units: 20_000,
                rounds: 3,
                // What `scripts/million/million.py` runs, so that the two
                // measure the same load.
                million: MillionLoad {
                    connections: 1_000_000,
                    connect_rate: 10_000.0,
                    rate: 10_000.0,
                    window: Duration::from_secs(10),
                },
            }
        }
    }

    /// The staircase's rate at `connections`.
    pub fn rate_at(&self, connections: usize) -> f64 {
        self.staircase_rate.min(200.0 * connections as f64)
    }

    /// The largest staircase step.
    pub fn top(&self) -> usize {
        self.steps.last().copied().unwrap_or(0)
    }

    /// Every measurement of `step` (the staircase has one per connection
    /// count).
    pub fn measurements(&self, step: Step) -> Vec<Measurement> {
        match step {
            Step::Staircase => self
                .steps
                .iter()
                .map(|&connections| {
                    let rate = Some(self.rate_at(connections));
                    Measurement::new(step, connections, rate, self.window, Mix::ECHO_ONLY)
                })
                .collect(),
            Step::MixedWork | Step::MixedSleep => {
                let mix = if step == Step::MixedWork {
                    TENTH_WORK
                } else {
                    Mix {
                        echo: 95,
                        work: 0,
                        sleep: 5,
                    }
                };
                let rate = Some(self.mixed_rate);
                vec![Measurement::new(
                    step,
                    self.mixed_connections,
                    rate,
                    self.mixed_window,
                    mix,
                )]
            }
            Step::Throughput | Step::Pipelined => {
                let mut one = Measurement::new(
                    step,
                    self.throughput_connections,
                    None,
                    self.throughput_window,
                    Mix::ECHO_ONLY,
                );
                if step == Step::Pipelined {
                    one.load.pipeline = self.pipeline;
                    return vec![one];
                }
                // The same load unpinned too: what sharing two cores with
                // the tester does to the figures (the method chapter's).
                let unpinned = Measurement {
                    pinned: false,
                    ..one.clone()
                };
                vec![one, unpinned]
            }
            // The same stall, open loop then closed loop: the open loop
            // charges the stall to every request it held up, the closed
            // loop to one request per connection.
            Step::Stalled => [Some(self.mixed_rate), None]
                .into_iter()
                .map(|rate| {
                    let mut one = Measurement::new(
                        step,
                        self.mixed_connections,
                        rate,
                        self.stall_window,
                        Mix::ECHO_ONLY,
                    );
                    one.load.stall = Some(self.stall);
                    one
                })
                .collect(),
            Step::Capacity => self
                .capacity_connections
                .iter()
                .flat_map(|&connections| self.sweep(step, connections, &self.capacity_rates))
                .collect(),
            Step::CapacityMixed => {
                let mut sweep =
                    self.sweep(step, self.mixed_connections, &self.capacity_mixed_rates);
                for one in &mut sweep {
                    one.load.mix = TENTH_WORK;
                }
                sweep
            }
            Step::Workers => self
                .worker_counts
                .iter()
                .flat_map(|&workers| {
                    let mut sweep = self.sweep(step, self.mixed_connections, &self.capacity_rates);
                    for one in &mut sweep {
                        one.server_flags = vec!["--workers".into(), workers.to_string()];
                    }
                    sweep
                })
                .collect(),
            // Every connection sends one WORK at once and waits for it: the
            // run lasts until the last answer.
            Step::CpuBatch => {
                let mut batch = Measurement::new(
                    step,
                    self.cpu_batch_connections,
                    None,
                    Duration::ZERO,
                    Mix {
                        echo: 0,
                        work: 100,
                        sleep: 0,
                    },
                );
                batch.load.length = Length::RequestsPerConnection(1);
                batch.load.work_units = self.cpu_batch_work_units;
                vec![batch]
            }
            Step::Million => {
                let million = &self.million;
                let mut one = Measurement::new(
                    step,
                    million.connections,
                    Some(million.rate),
                    million.window,
                    Mix::ECHO_ONLY,
                );
                one.load.connect_rate = million.connect_rate;
                // Opening a million connections takes a hundred seconds or
                // more on two cores: a connect or handshake queued behind
                // the others may wait seconds, and is not a failure.
                one.load.timeout = Duration::from_secs(30);
                // A connection opened first waits idle for the last one,
                // by design: the servers' timeouts would close it.
                one.server_flags = ["--handshake-timeout", "0", "--idle-timeout", "0"]
                    .map(String::from)
                    .to_vec();
                vec![one]
            }
        }
    }

    /// One sweep: each rate in turn, at `connections`.
    fn sweep(&self, step: Step, connections: usize, rates: &[f64]) -> Vec<Measurement> {
        rates
            .iter()
            .map(|&rate| {
                Measurement::new(
                    step,
                    connections,
                    Some(rate),
                    self.capacity_window,
                    Mix::ECHO_ONLY,
                )
            })
            .collect()
    }

    /// Every measurement of `server`, in the order the suite runs them.
    pub fn for_server(&self, server: &Server, steps: &[Step]) -> Vec<Measurement> {
        steps
            .iter()
            .filter(|&&step| server.takes_part_in(step).is_ok())
            .flat_map(|&step| self.measurements(step))
            // A sweep at more connections than the server serves at once
            // would measure its refusals, which the staircase already shows.
            .filter(|m| !m.is_sweep() || server.serves(m.connections()))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_staircase_rate_is_capped_per_connection() {
        let schedule = Schedule::new(false);
        assert_eq!(schedule.rate_at(1), 200.0);
        assert_eq!(schedule.rate_at(10_000), 20_000.0);
        assert_eq!(schedule.top(), 100_000);
    }

    #[test]
    fn the_million_runs_once_with_the_servers_timeouts_off_and_only_when_asked() {
        let schedule = Schedule::new(false);
        let every: Vec<Step> = Step::every().collect();
        let million = schedule.for_server(&registry::EVENT_LOOP, &every);
        let million: Vec<_> = million.iter().filter(|m| m.step == Step::Million).collect();
        assert_eq!(million.len(), 1);
        let one = million[0];
        assert_eq!(one.connections(), 1_000_000);
        assert_eq!(one.rounds(&schedule), 1);
        assert_eq!(one.load.connect_rate, 10_000.0);
        assert!(
            one.server_flags
                .windows(2)
                .any(|f| f == ["--idle-timeout", "0"])
        );
        assert!(
            one.server_flags
                .windows(2)
                .any(|f| f == ["--handshake-timeout", "0"])
        );
        assert!(
            schedule
                .for_server(&registry::EVENT_LOOP, &Step::ALL)
                .iter()
                .all(|m| m.step != Step::Million),
            "not in the default run"
        );
        assert!(
            schedule
                .for_server(&registry::GO_PEER, &every)
                .iter()
                .all(|m| m.step != Step::Million)
        );
    }

    #[test]
    fn a_server_gets_only_the_steps_it_takes_part_in() {
        let schedule = Schedule::new(false);
        let single = schedule.for_server(&registry::SINGLE_THREAD, &Step::ALL);
        assert_eq!(single.len(), 6, "the staircase only");
        assert!(single.iter().all(|m| m.step == Step::Staircase));
        let old_steps = &Step::ALL[..6];
        let tokio = schedule.for_server(&registry::ASYNC_TOKIO, old_steps);
        assert_eq!(tokio.len(), 6 + 5 + 2, "throughput pinned and unpinned");
        let stalled: Vec<_> = tokio.iter().filter(|m| m.step == Step::Stalled).collect();
        assert_eq!(stalled.len(), 2);
        assert!(stalled[0].rate().is_some() && stalled[1].rate().is_none());
        assert!(stalled.iter().all(|m| m.load.stall.is_some()));
        assert!(
            schedule
                .for_server(&registry::HYBRID_BLOCKING, old_steps)
                .iter()
                .all(|m| m.step != Step::Stalled)
        );
        let tokio: Vec<_> = tokio
            .into_iter()
            .filter(|m| m.step != Step::Stalled)
            .collect();
        let throughput = &tokio[tokio.len() - 3];
        assert_eq!((throughput.connections(), throughput.rate()), (64, None));
        assert_eq!(throughput.load.pipeline, 1);
        assert!(throughput.pinned && !tokio[tokio.len() - 2].pinned);
        assert!(!tokio[0].pinned, "the staircase runs unpinned");
        assert_eq!(tokio[0].rounds(&schedule), 1);
        assert_eq!(throughput.rounds(&schedule), 3);
        let pipelined = tokio.last().unwrap();
        assert_eq!(
            (pipelined.step, pipelined.load.pipeline),
            (Step::Pipelined, 16)
        );
        let sleep = schedule.measurements(Step::MixedSleep);
        assert_eq!(sleep[0].load.mix.to_string(), "echo=95,work=0,sleep=5");
    }

    #[test]
    fn sweeps_cover_the_rates_where_the_server_serves_everyone() {
        let schedule = Schedule::new(false);
        let rates = schedule.capacity_rates.len();
        let capacity = |server| {
            schedule
                .for_server(server, &[Step::Capacity])
                .iter()
                .map(Measurement::connections)
                .collect::<Vec<_>>()
        };
        assert_eq!(capacity(&registry::ASYNC_TOKIO).len(), 2 * rates);
        assert_eq!(
            capacity(&registry::THREAD_POOL),
            vec![100; rates],
            "02's pool serves 128 at once: no sweep at 10k"
        );
        let workers = schedule.for_server(&registry::ASYNC_TOKIO, &[Step::Workers]);
        assert_eq!(workers.len(), 4 * rates);
        assert_eq!(workers[0].server_flags, ["--workers", "1"]);
        assert!(workers[0].same_sweep(&workers[1]));
        assert!(
            !workers[0].same_sweep(&workers[rates]),
            "another worker count"
        );
        assert!(
            schedule
                .for_server(&registry::HYBRID_BLOCKING, &[Step::Workers])
                .is_empty()
        );
        let batch = &schedule.measurements(Step::CpuBatch)[0];
        assert_eq!(batch.load.length, Length::RequestsPerConnection(1));
        assert_eq!(batch.load.mix.to_string(), "echo=0,work=100,sleep=0");
        assert!(!batch.is_sweep());
    }
}
