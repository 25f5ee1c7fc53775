//! Capacity: the most load a server sustained inside a latency bound, read
//! back from the sweeps the suite stored.
//!
//! A sweep offers one rate after another (open loop, fresh server each
//! time) and stops at the first rate that is not *sustained*. Why it
//! stopped matters as much as where: a server whose p99 passed the bound
//! reached its capacity; a tester that could not offer the rate says
//! nothing about the server, and the capacity is then only a lower bound.

use registry::Step;

pub use loadtest::suite::capacity::{Point, echo_p99, judge, verdict};
use loadtest::suite::data::{Results, Run};
use loadtest::suite::schedule::CAPACITY_P99_BOUND_US;

use crate::format::micros;

/// Why a sweep stopped at this rate, in a few words.
pub fn why(point: &Point) -> String {
    match point {
        Point::Sustained => "every rate of the sweep sustained".to_owned(),
        Point::OverBound(p99) => format!(
            "ECHO p99 {} past {} ms",
            micros(*p99),
            CAPACITY_P99_BOUND_US / 1000
        ),
        Point::Errors(count) => format!("{count} failures"),
        Point::TesterLimited(why) => format!("**tester-limited** ({why})"),
    }
}

/// One sweep's outcome.
#[derive(Debug)]
pub struct Capacity<'a> {
    /// The server.
    pub server: &'a str,
    /// Connections of the sweep.
    pub connections: usize,
    /// Extra server flags (`--workers 4`), joined.
    pub flags: String,
    /// The highest rate sustained, if any.
    pub sustained: Option<&'a Run>,
    /// The rate where the sweep stopped, and why; `None`: it never did.
    pub stopped: Option<(&'a Run, Point)>,
}

impl Capacity<'_> {
    /// The capacity in requests/s, as a reader should take it: `≥` when
    /// the sweep did not find the server's limit.
    pub fn figure(&self) -> String {
        let Some(run) = self.sustained else {
            return "below the sweep's first rate".to_owned();
        };
        let rate = run.rate.unwrap_or(0.0);
        match &self.stopped {
            Some((_, Point::OverBound(_) | Point::Errors(_))) => format!("{rate:.0}"),
            _ => format!("≥ {rate:.0}"),
        }
    }

    /// Whether the server (not the tester or the sweep's top) set the limit.
    pub fn is_servers(&self) -> bool {
        matches!(
            self.stopped,
            Some((_, Point::OverBound(_) | Point::Errors(_)))
        ) && self.sustained.is_some()
    }

    /// The sustained rate, when the server set it.
    pub fn rate(&self) -> Option<f64> {
        self.sustained.and_then(|run| run.rate)
    }
}

/// Every sweep of `step` in the results, in the order they ran. Each
/// rate is judged on all its tries together ([`verdict`]: the median of
/// those the tester did not limit), the rates in ascending order.
pub fn capacities(results: &Results, step: Step) -> Vec<Capacity<'_>> {
    let mut sweeps: Vec<Capacity> = Vec::new();
    // Each sweep's runs, grouped by rate.
    let mut tries: Vec<Vec<(f64, Vec<&Run>)>> = Vec::new();
    for run in results.of(step) {
        let flags = run.server_flags.join(" ");
        let index = sweeps
            .iter()
            .position(|c| {
                c.server == run.server && c.connections == run.connections && c.flags == flags
            })
            .unwrap_or_else(|| {
                sweeps.push(Capacity {
                    server: &run.server,
                    connections: run.connections,
                    flags,
                    sustained: None,
                    stopped: None,
                });
                tries.push(Vec::new());
                sweeps.len() - 1
            });
        let rate = run.rate.unwrap_or(0.0);
        match tries[index].iter_mut().find(|(r, _)| *r == rate) {
            Some((_, runs)) => runs.push(run),
            None => tries[index].push((rate, vec![run])),
        }
    }
    for (sweep, mut rates) in sweeps.iter_mut().zip(tries) {
        rates.sort_by(|a, b| a.0.total_cmp(&b.0));
        for (_, runs) in rates {
            let Some((point, run)) = verdict(&runs) else {
                continue;
            };
            if point.sustained() {
                sweep.sustained = Some(run);
            } else {
                sweep.stopped = Some((run, point));
                break;
            }
        }
    }
    sweeps
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::metrics::Kind;
    use loadtest::suite::data::fixtures::results_with;

    fn sweep(p99s: &[u64]) -> Results {
        let mut results = results_with(
            &p99s
                .iter()
                .map(|_| ("03-async-tokio", Step::Capacity, 100, 100))
                .collect::<Vec<_>>(),
        );
        for (i, (run, &p99)) in results.runs.iter_mut().zip(p99s).enumerate() {
            run.rate = Some(1000.0 * (i + 1) as f64);
            run.report.by_request.get_mut(&Kind::Echo).unwrap().p99 = p99;
        }
        results
    }

    #[test]
    fn capacity_is_the_last_rate_inside_the_bound() {
        let results = sweep(&[500, 900, 25_000]);
        let found = capacities(&results, Step::Capacity);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].figure(), "2000");
        assert!(found[0].is_servers());
        assert_eq!(
            found[0].stopped.as_ref().unwrap().1,
            Point::OverBound(25_000)
        );
    }

    #[test]
    fn a_tester_that_fell_behind_makes_it_a_lower_bound() {
        let mut results = sweep(&[500, 900, 900]);
        results.runs[2].report.tester.cpu_share = 0.95;
        let found = capacities(&results, Step::Capacity);
        assert_eq!(found[0].figure(), "≥ 2000");
        assert!(!found[0].is_servers());
        assert!(why(&found[0].stopped.as_ref().unwrap().1).contains("tester-limited"));
        let all_fine = sweep(&[500, 900]);
        assert_eq!(capacities(&all_fine, Step::Capacity)[0].figure(), "≥ 2000");
    }

    #[test]
    fn a_rate_near_the_knee_is_judged_on_the_median_of_its_tries() {
        let mut results = sweep(&[500, 25_000, 900, 800, 25_000, 30_000, 900]);
        // 1000 once; 2000 three times (fails, passes, passes); 3000 three
        // times (fails, fails, passes).
        let rates = [1000.0, 2000.0, 2000.0, 2000.0, 3000.0, 3000.0, 3000.0];
        for (run, rate) in results.runs.iter_mut().zip(rates) {
            run.rate = Some(rate);
        }
        let found = capacities(&results, Step::Capacity);
        assert_eq!(found[0].figure(), "2000");
        assert_eq!(
            found[0].stopped.as_ref().unwrap().1,
            Point::OverBound(25_000),
            "the median of 900, 25 ms and 30 ms"
        );
    }

    #[test]
    fn errors_stop_a_sweep_and_worker_counts_are_separate_sweeps() {
        let mut results = sweep(&[500, 900]);
        results.runs[1].report.handshakes_ok = 90;
        assert_eq!(judge(&results.runs[1]), Point::Errors(10));
        let mut workers = sweep(&[500, 900]);
        for run in &mut workers.runs {
            run.step = Step::Workers;
        }
        workers.runs[1].server_flags = vec!["--workers".into(), "2".into()];
        assert_eq!(capacities(&workers, Step::Workers).len(), 2);
    }
}
