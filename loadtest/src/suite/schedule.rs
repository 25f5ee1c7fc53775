//! What the suite measures, and with how much load: the staircase's
//! connection counts, the windows, the rates and the mixes of each step.

use std::time::Duration;

use registry::{Server, Step};

use crate::args::Mix;
use crate::spec::Stall;

/// The shape of a suite run.
#[derive(Debug, Clone)]
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
}

/// One run's load: a step of the schedule, for one server.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Which step.
    pub step: Step,
    /// Connections.
    pub connections: usize,
    /// Total request rate; `None`: closed loop.
    pub rate: Option<f64>,
    /// How long requests are sent.
    pub window: Duration,
    /// The request mix.
    pub mix: Mix,
    /// Requests in flight per connection at most.
    pub pipeline: usize,
    /// The server frozen once during the run.
    pub stall: Option<Stall>,
}

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
            }
        } else {
            Schedule {
                steps: vec![1, 10, 100, 1_000, 10_000, 100_000],
                window: Duration::from_secs(5),
                staircase_rate: 20_000.0,
                mixed_connections: 100,
                mixed_rate: 2_000.0,
                mixed_window: Duration::from_secs(10),
                throughput_connections: 64,
                throughput_window: Duration::from_secs(5),
                pipeline: 16,
                stall: Stall {
                    after: Duration::from_secs(2),
                    length: Duration::from_secs(1),
                },
                stall_window: Duration::from_secs(6),
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
                .map(|&connections| Measurement {
                    step,
                    connections,
                    rate: Some(self.rate_at(connections)),
                    window: self.window,
                    mix: Mix::ECHO_ONLY,
                    pipeline: 1,
                    stall: None,
                })
                .collect(),
            Step::MixedWork | Step::MixedSleep => vec![Measurement {
                step,
                connections: self.mixed_connections,
                rate: Some(self.mixed_rate),
                window: self.mixed_window,
                mix: if step == Step::MixedWork {
                    Mix {
                        echo: 90,
                        work: 10,
                        sleep: 0,
                    }
                } else {
                    Mix {
                        echo: 95,
                        work: 0,
                        sleep: 5,
                    }
                },
                pipeline: 1,
                stall: None,
            }],
            Step::Throughput | Step::Pipelined => vec![Measurement {
                step,
                connections: self.throughput_connections,
                rate: None,
                window: self.throughput_window,
                mix: Mix::ECHO_ONLY,
                pipeline: if step == Step::Pipelined {
                    self.pipeline
                } else {
                    1
                },
                stall: None,
            }],
            // The same stall, open loop then closed loop: the open loop
            // charges the stall to every request it held up, the closed
            // loop to one request per connection.
            Step::Stalled => [Some(self.mixed_rate), None]
                .into_iter()
                .map(|rate| Measurement {
                    step,
                    connections: self.mixed_connections,
                    rate,
                    window: self.stall_window,
                    mix: Mix::ECHO_ONLY,
                    pipeline: 1,
                    stall: Some(self.stall),
                })
                .collect(),
        }
    }

    /// Every measurement of `server`, in the order the suite runs them.
    pub fn for_server(&self, server: &Server, steps: &[Step]) -> Vec<Measurement> {
        steps
            .iter()
            .filter(|&&step| server.takes_part_in(step).is_ok())
            .flat_map(|&step| self.measurements(step))
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
    fn a_server_gets_only_the_steps_it_takes_part_in() {
        let schedule = Schedule::new(false);
        let single = schedule.for_server(&registry::SINGLE_THREAD, &Step::ALL);
        assert_eq!(single.len(), 6, "the staircase only");
        assert!(single.iter().all(|m| m.step == Step::Staircase));
        let tokio = schedule.for_server(&registry::ASYNC_TOKIO, &Step::ALL);
        assert_eq!(tokio.len(), 6 + 4 + 2);
        let stalled: Vec<_> = tokio.iter().filter(|m| m.step == Step::Stalled).collect();
        assert_eq!(stalled.len(), 2);
        assert!(stalled[0].rate.is_some() && stalled[1].rate.is_none());
        assert!(stalled.iter().all(|m| m.stall.is_some()));
        assert!(
            schedule
                .for_server(&registry::HYBRID_BLOCKING, &Step::ALL)
                .iter()
                .all(|m| m.step != Step::Stalled)
        );
        let tokio: Vec<_> = tokio
            .into_iter()
            .filter(|m| m.step != Step::Stalled)
            .collect();
        let throughput = &tokio[tokio.len() - 2];
        assert_eq!((throughput.connections, throughput.rate), (64, None));
        assert_eq!(throughput.pipeline, 1);
        let pipelined = tokio.last().unwrap();
        assert_eq!((pipelined.step, pipelined.pipeline), (Step::Pipelined, 16));
        let sleep = schedule.measurements(Step::MixedSleep);
        assert_eq!(sleep[0].mix.to_string(), "echo=95,work=0,sleep=5");
    }
}
