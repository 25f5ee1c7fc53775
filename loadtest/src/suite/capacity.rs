//! Capacity: whether one rate of a sweep was sustained, as the suite
//! judges it while it measures (a sweep stops at its first failing rate).
//! The views read the sweeps back in `views::capacity`.
//!
//! A sweep offers one rate after another (open loop, fresh server each
//! time) and stops at the first rate that is not *sustained*. Why it
//! stopped matters as much as where: a server whose p99 passed the bound
//! reached its capacity; a tester that could not offer the rate says
//! nothing about the server, and the capacity is then only a lower bound.

use crate::metrics::Kind;
use crate::suite::data::Run;
use crate::suite::schedule::CAPACITY_P99_BOUND_US;

/// What one rate of a sweep showed.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// Every request answered, ECHO p99 inside the bound.
    Sustained,
    /// ECHO p99 (µs) past the bound: the server's queue grew.
    OverBound(u64),
    /// Requests or connections failed.
    Errors(u64),
    /// The tester fell behind or ran out of CPU (why): not the server's
    /// figure.
    TesterLimited(String),
}

impl Point {
    /// Whether the sweep goes on past this rate.
    pub fn sustained(&self) -> bool {
        *self == Point::Sustained
    }
}

/// A rate is measured this many times (not counting tries the tester
/// could not offer) when one run does not settle it.
pub const RUNS_NEAR_THE_KNEE: usize = 3;
/// At most this many tries of one rate, counting those the tester limited.
pub const MOST_TRIES: usize = 5;

/// Whether one run settles its rate at once: nothing failed and the ECHO
/// p99 stayed under half the bound, far from the knee. Anything else (a
/// failure, a p99 near or past the bound, a tester that fell behind) is
/// measured again before the sweep believes it.
pub fn settled_at_once(run: &Run) -> bool {
    judge(run).sustained() && echo_p99(run) <= CAPACITY_P99_BOUND_US / 2
}

/// Whether the runs of one rate so far leave it unsettled: one clear run
/// settles it; otherwise it wants [`RUNS_NEAR_THE_KNEE`] runs the tester
/// did not limit, within [`MOST_TRIES`] tries.
pub fn needs_another(runs: &[&Run]) -> bool {
    if let [only] = runs {
        if settled_at_once(only) {
            return false;
        }
    }
    let judged = runs.iter().filter(|run| report_is_servers(run)).count();
    judged < RUNS_NEAR_THE_KNEE && runs.len() < MOST_TRIES
}

fn report_is_servers(run: &Run) -> bool {
    run.report.tester_limit().is_none()
}

/// What the runs of one rate show together, and the run it is read from:
/// the median of the runs the tester did not limit, ordered from sustained
/// (lowest p99 first) to over the bound to failed. A rate is tester-limited
/// only when every try was.
pub fn verdict<'a>(runs: &[&'a Run]) -> Option<(Point, &'a Run)> {
    let mut judged: Vec<&Run> = runs
        .iter()
        .copied()
        .filter(|run| report_is_servers(run))
        .collect();
    if judged.is_empty() {
        let last = runs.last()?;
        return Some((judge(last), last));
    }
    judged.sort_by_key(|run| severity(&judge(run), run));
    // With an even count, the worse of the two middle runs.
    let median = judged[judged.len() / 2];
    Some((judge(median), median))
}

/// Orders points from best to worst.
fn severity(point: &Point, run: &Run) -> (u8, u64) {
    match point {
        Point::Sustained => (0, echo_p99(run)),
        Point::OverBound(p99) => (1, *p99),
        Point::Errors(count) => (2, *count),
        Point::TesterLimited(_) => (3, 0),
    }
}

/// ECHO's p99: under a mixed load, the fast requests' latency is the one a
/// bound on responsiveness is about.
pub fn echo_p99(run: &Run) -> u64 {
    run.report
        .kind(Kind::Echo)
        .map_or(run.report.latency_us.request.p99, |p| p.p99)
}

/// Judges one rate of a sweep. The tester comes first: when it fell
/// behind, the latency it measured is partly its own.
pub fn judge(run: &Run) -> Point {
    let report = &run.report;
    if let Some(why) = report.tester_limit() {
        return Point::TesterLimited(why);
    }
    let failures = report.failures() + report.connections_requested - report.handshakes_ok;
    if failures > 0 {
        return Point::Errors(failures);
    }
    let p99 = echo_p99(run);
    if p99 > CAPACITY_P99_BOUND_US {
        return Point::OverBound(p99);
    }
    Point::Sustained
}

#[cfg(test)]
mod tests {
    use registry::Step;

    use super::*;
    use crate::suite::data::fixtures::results_with;

    #[test]
    fn a_rate_is_judged_on_the_tester_first_then_failures_then_echo_p99() {
        let mut results = results_with(&[("03-async-tokio", Step::Capacity, 100, 100); 4]);
        results.runs[1].report.tester.cpu_share = 0.95;
        results.runs[1].report.handshakes_ok = 90;
        results.runs[2].report.handshakes_ok = 90;
        results.runs[3]
            .report
            .by_request
            .get_mut(&Kind::Echo)
            .unwrap()
            .p99 = 25_000;
        let points: Vec<Point> = results.runs.iter().map(judge).collect();
        assert_eq!(points[0], Point::Sustained);
        assert!(
            matches!(points[1], Point::TesterLimited(_)),
            "{:?}",
            points[1]
        );
        assert_eq!(points[2], Point::Errors(10));
        assert_eq!(points[3], Point::OverBound(25_000));
    }

    #[test]
    fn a_rate_near_the_knee_is_judged_on_the_median_of_three() {
        let mut results = results_with(&[("03-async-tokio", Step::Capacity, 100, 100); 6]);
        let p99s = [25_000, 2_000, 30_000, 1_000, 1_000, 1_000];
        for (run, p99) in results.runs.iter_mut().zip(p99s) {
            run.report.by_request.get_mut(&Kind::Echo).unwrap().p99 = p99;
        }
        results.runs[4].report.tester.cpu_share = 0.95;
        results.runs[5].report.tester.cpu_share = 0.95;
        let runs: Vec<&Run> = results.runs.iter().collect();
        assert!(needs_another(&runs[..1]), "one run over the bound");
        assert!(!needs_another(&runs[3..4]), "one clear run settles it");
        assert!(needs_another(&runs[..2]));
        assert!(!needs_another(&runs[..3]));
        let (point, median) = verdict(&runs[..3]).unwrap();
        assert_eq!(point, Point::OverBound(25_000), "two of three over");
        assert!(std::ptr::eq(median, runs[0]));
        let (point, _) = verdict(&[runs[1], runs[0], runs[3]]).unwrap();
        assert_eq!(point, Point::Sustained, "two of three under");
        // Tries the tester limited are retried and left out of the median.
        assert!(needs_another(&[runs[4], runs[5]]));
        let (point, _) = verdict(&[runs[4], runs[0], runs[5]]).unwrap();
        assert_eq!(point, Point::OverBound(25_000));
        let (point, _) = verdict(&[runs[4], runs[5]]).unwrap();
        assert!(
            matches!(point, Point::TesterLimited(_)),
            "only when every try was"
        );
    }
}
