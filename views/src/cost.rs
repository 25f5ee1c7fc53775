//! What one ECHO request costs each server, read once from the throughput
//! step's rounds, for the cost table, its chart and its sentences.
//!
//! Every figure is the median of the rounds with its range, and the floor
//! (`c-peer`: one epoll loop that adds almost nothing to the kernel's work)
//! comes first, because every other row reads as "the floor, plus what the
//! model adds".

use loadtest::report::ServerReport;
use loadtest::suite::data::{Results, Run};
use registry::Step;

use crate::spread::Spread;

/// The server every other one is compared with.
pub const FLOOR: &str = registry::C_PEER.name;

/// One server's cost per request, server side, and the tester's beside it.
#[derive(Debug, Clone)]
pub struct Cost {
    pub server: &'static str,
    pub user_us: Spread,
    pub kernel_us: Spread,
    /// User plus kernel, per round (so its range is a range of totals).
    pub total_us: Spread,
    /// `None` where perf could not count them.
    pub syscalls: Option<Spread>,
    pub switches: Option<Spread>,
    pub tester_total_us: Option<Spread>,
    pub tester_syscalls: Option<Spread>,
}

impl Cost {
    /// This server's total against `floor`'s, as a ratio of medians.
    pub fn times(&self, floor: &Cost) -> f64 {
        self.total_us.median / floor.total_us.median.max(f64::EPSILON)
    }
}

/// Every measured server's cost, the floor first, then the registry's
/// order.
pub fn costs(results: &Results) -> Vec<Cost> {
    let mut costs: Vec<Cost> = results
        .servers()
        .filter_map(|server| cost_of(results, server.name))
        .collect();
    costs.sort_by_key(|cost| cost.server != FLOOR);
    costs
}

/// The floor's cost, when it was measured.
pub fn floor(costs: &[Cost]) -> Option<&Cost> {
    costs.iter().find(|cost| cost.server == FLOOR)
}

fn cost_of(results: &Results, server: &'static str) -> Option<Cost> {
    let rounds = results.rounds(server, Step::Throughput, None);
    let side = |pick: fn(&ServerReport) -> Option<f64>| {
        Spread::over(&rounds, |run: &Run| pick(run.report.server.as_ref()?))
    };
    Some(Cost {
        server,
        user_us: side(|s| s.user_cpu_us_per_request)?,
        kernel_us: side(|s| s.kernel_cpu_us_per_request)?,
        total_us: side(|s| Some(s.user_cpu_us_per_request? + s.kernel_cpu_us_per_request?))?,
        syscalls: side(|s| s.syscalls_per_request),
        switches: side(|s| s.context_switches_per_request),
        tester_total_us: Spread::over(&rounds, |run| {
            let tester = &run.report.tester;
            Some(tester.user_cpu_us_per_request? + tester.kernel_cpu_us_per_request?)
        }),
        tester_syscalls: Spread::over(&rounds, |run| run.report.tester.syscalls_per_request),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    #[test]
    fn the_floor_comes_first_and_every_total_is_read_against_it() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::Throughput, 64, 64),
            ("c-peer", Step::Throughput, 64, 64),
        ]);
        for run in &mut results.runs {
            let server = run.report.server.as_mut().unwrap();
            let (user, kernel) = if run.server == FLOOR {
                (0.5, 3.5)
            } else {
                (1.0, 5.0)
            };
            server.user_cpu_us_per_request = Some(user);
            server.kernel_cpu_us_per_request = Some(kernel);
        }
        let costs = costs(&results);
        assert_eq!(costs[0].server, FLOOR);
        assert_eq!(costs[1].server, "03-async-tokio");
        let floor = floor(&costs).unwrap();
        assert_eq!(costs[1].total_us.median, 6.0);
        assert!((costs[1].times(floor) - 1.5).abs() < 1e-9);
    }
}
