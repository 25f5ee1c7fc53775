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

    /// Whether a second try at the same rate could say otherwise: the
    /// server's own failures can be a passing stall; a tester that fell
    /// behind would only fall behind again.
    pub fn worth_a_retry(&self) -> bool {
        matches!(self, Point::OverBound(_) | Point::Errors(_))
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
        assert!(Point::OverBound(1).worth_a_retry());
        assert!(!Point::TesterLimited(String::new()).worth_a_retry());
    }
}
