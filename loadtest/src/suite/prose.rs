//! Sentences and the claims table the book quotes: headline figures
//! computed from the results, so prose never carries a typed number.

use std::fmt::Write as _;

use registry::Step;

use crate::metrics::Kind;
use crate::suite::data::Results;
use crate::suite::schedule::Schedule;
use crate::suite::tables::{mib, micros, outcome};

/// Sentences with the headline figures.
pub fn summary(results: &Results, schedule: &Schedule) -> String {
    let mut text = String::new();
    let top = schedule.top();
    for name in [registry::ASYNC_TOKIO.name, registry::HYBRID_BLOCKING.name] {
        let Some(run) = results.find(name, Step::Staircase, Some(top)) else {
            continue;
        };
        let report = &run.report;
        let Some(server) = &report.server else {
            continue;
        };
        let _ = writeln!(
            text,
            "- **{name}** held {} of {top} handshaked connections ({} failures) in {} server \
             process(es), at {} MiB of RSS in all: **{} bytes per connection**; request p99 {} at {:.0} requests/s.",
            report.handshakes_ok,
            report.failures(),
            run.server_processes,
            mib(server.rss_bytes_loaded),
            server.bytes_per_connection.unwrap_or(0),
            micros(report.latency_us.request.p99),
            report.throughput_rps,
        );
    }
    if let Some(run) = results.find(registry::ASYNC_TOKIO.name, Step::Staircase, Some(10_000)) {
        let _ = writeln!(
            text,
            "- At 10,000 connections and {:.0} requests/s, 03's ECHO p99 was **{}**.",
            run.rate.unwrap_or(0.0),
            micros(run.report.latency_us.request.p99)
        );
    }
    for server in [registry::THREAD_POOL, registry::SINGLE_THREAD] {
        if let Some(run) = results.find(server.name, Step::Staircase, Some(top)) {
            let _ = writeln!(
                text,
                "- **{}** at {top} connections: {}.",
                server.name,
                outcome(run)
            );
        }
    }
    for step in [Step::MixedWork, Step::MixedSleep] {
        let p99 = |name| {
            results
                .find(name, step, None)
                .and_then(|run| run.report.kind(Kind::Echo))
                .map(|p| p.p99)
        };
        if let (Some(three), Some(four)) = (
            p99(registry::ASYNC_TOKIO.name),
            p99(registry::HYBRID_BLOCKING.name),
        ) {
            let _ = writeln!(
                text,
                "- Under the {step} workload, ECHO p99 was {} on 03 and {} on 04: 04's is {:.1}× lower.",
                micros(three),
                micros(four),
                three as f64 / four.max(1) as f64
            );
        }
    }
    text
}

/// Popular claims about memory per connection: what was claimed, and for
/// how many connections.
const MEMORY_CLAIMS: [(&str, u64, f64); 2] = [
    (
        "100k connections on a 2-core 4 GB VM, at 3.2 GB",
        100_000,
        3.2e9,
    ),
    ("15k connections in 234 MB", 15_000, 234e6),
];

/// The memory claims against the memory measured at the top step.
pub fn claims(results: &Results, schedule: &Schedule) -> String {
    let top = schedule.top();
    let measured = |name| {
        results
            .find(name, Step::Staircase, Some(top))
            .and_then(|run| run.report.server.as_ref()?.bytes_per_connection)
    };
    let mut table = format!(
        "| claim | bytes per connection claimed | 03 measured at {top} connections | 04 measured at {top} connections |\n\
         |---|---:|---:|---:|\n"
    );
    for (claim, connections, bytes) in MEMORY_CLAIMS {
        let claimed = bytes / connections as f64;
        let cell = |m: Option<u64>| {
            m.map_or("–".to_owned(), |b| {
                format!("{b} B ({:.0}× less)", claimed / b.max(1) as f64)
            })
        };
        let _ = writeln!(
            table,
            "| {claim} | {claimed:.0} B | {} | {} |",
            cell(measured(registry::ASYNC_TOKIO.name)),
            cell(measured(registry::HYBRID_BLOCKING.name))
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::data::tests::results_with;

    #[test]
    fn claims_are_held_against_the_top_step() {
        let results = results_with(&[("03-async-tokio", Step::Staircase, 100_000, 100_000)]);
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("| 32000 B | 1500 B (21× less) | – |"),
            "{table}"
        );
    }
}
