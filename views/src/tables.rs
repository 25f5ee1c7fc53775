//! The suite's Markdown tables, which the book includes. Nothing in the
//! book is typed by hand: every figure in it comes from a file written here
//! or beside it ([`crate::prose`], [`crate::charts`]).

use std::fmt::Write as _;

use registry::Step;

use crate::capacity::{self, Point, capacities};
use loadtest::metrics::{Failure, Kind, Percentiles};
use loadtest::suite::data::{Results, Run};
use loadtest::suite::schedule::CAPACITY_P99_BOUND_US;

use crate::format::{mib, micros};

/// The line under every table: where, when and by which command.
pub fn footer(results: &Results) -> String {
    let command = format!(
        "`cargo run --release --bin loadtest -- suite{}`",
        if results.quick { " --quick" } else { "" }
    );
    let parts = results.parts();
    let mut footer = if parts.len() <= 1 {
        format!(
            "\n*Measured {} on {} ({} cores shared by client and server), commit `{}`, by {command}.*\n",
            results.stamp.date, results.stamp.cpu, results.stamp.cores, results.stamp.commit,
        )
    } else {
        // A partial rerun: say which servers each commit measured.
        let list: Vec<String> = parts
            .iter()
            .map(|(stamp, servers)| {
                format!(
                    "commit `{}` on {} ({})",
                    stamp.commit,
                    stamp.date,
                    servers.join(", ")
                )
            })
            .collect();
        format!(
            "\n*Measured on {} ({} cores shared by client and server) by {command}, in parts: {}.*\n",
            results.stamp.cpu,
            results.stamp.cores,
            list.join("; ")
        )
    };
    for missing in &results.missing {
        let _ = write!(
            footer,
            "\n*Not measured: {} ({}).*\n",
            missing.server, missing.reason
        );
    }
    footer
}

/// A percentile of a kind that may not have run: "–" when it did not.
fn percentile(p: Option<&Percentiles>, pick: fn(&Percentiles) -> u64) -> String {
    p.map_or("–".to_owned(), |p| micros(pick(p)))
}

/// What a server did at one measurement, in words, for tables.
pub fn outcome(run: &Run) -> String {
    let report = &run.report;
    let mut text = if run.all_served() {
        "all served".to_owned()
    } else {
        format!(
            "{} of {} served",
            report.handshakes_ok, report.connections_requested
        )
    };
    for kind in Failure::ALL {
        let count = report.failed(kind);
        if count > 0 {
            let _ = write!(text, ", {count} {}", kind.name().replace('_', " "));
        }
    }
    if !run.exited_cleanly {
        text.push_str("; **did not exit 0 on SIGTERM**");
    }
    text
}

/// Below this many connections (or threads) the growth of a process's
/// memory is lost in the allocator's and the kernel's page-sized steps and
/// reservations: no per-connection figure is shown.
pub const FEWEST_FOR_A_FIGURE: u64 = 1000;

/// RSS per connection where it means something: over at least
/// [`FEWEST_FOR_A_FIGURE`] connections actually held (01 holds one, 02's
/// pool 128, however many were asked for).
pub fn bytes_per_connection(run: &Run) -> Option<u64> {
    let server = run.report.server.as_ref()?;
    server
        .bytes_per_connection
        .filter(|_| run.report.handshakes_ok >= FEWEST_FOR_A_FIGURE)
}

/// The staircase, for one server or all: what each connection got, then
/// what it cost. Two tables rather than one wide one, so that a page
/// 1280 px wide shows every column.
pub fn staircase(results: &Results, only: Option<&str>) -> String {
    let runs: Vec<&Run> = results
        .of(Step::Staircase)
        .filter(|r| only.is_none_or(|name| name == r.server))
        .collect();
    format!("{}\n{}", staircase_latency(&runs), staircase_memory(&runs))
}

/// [`outcome`], and a mark when the tester, not the server, set the pace.
fn outcome_and_limit(run: &Run) -> String {
    match run.report.tester_limit() {
        Some(why) => format!("{}; **tester-limited** ({why})", outcome(run)),
        None => outcome(run),
    }
}

/// Who set the pace of a run: "server", or **tester-limited** and why.
pub fn limited_by(run: &Run) -> String {
    let report = &run.report;
    let load = format!(
        "CPU {:.0}%{}",
        report.tester.cpu_share * 100.0,
        report
            .tester
            .send_lag_p99_us
            .map_or(String::new(), |lag| format!(", lag {}", micros(lag)))
    );
    match report.tester_limit() {
        Some(why) => format!("**tester-limited** ({why})"),
        None => format!("server (tester {load})"),
    }
}

fn staircase_latency(runs: &[&Run]) -> String {
    let mut table = String::from(
        "| server | connections | requests/s | what happened | p50 | p99 | p99 uncorrected | p99.9 | samples | limited by |\n\
         |---|---:|---:|---|---:|---:|---:|---:|---:|---|\n",
    );
    for run in runs {
        let report = &run.report;
        let request = &report.latency_us.request;
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} | {} |",
            run.server,
            run.connections,
            report.throughput_rps,
            outcome(run),
            micros(request.p50),
            micros(request.p99),
            percentile(report.latency_us.request_uncorrected.as_ref(), |p| p.p99),
            micros(request.p999),
            request.count,
            limited_by(run),
        );
    }
    table
}

/// The kernel's part of a connection, where enough of them were held for
/// the slabs' page-sized steps to average out.
pub fn kernel_bytes_per_connection(run: &Run) -> Option<u64> {
    let server = run.report.server.as_ref()?;
    server
        .kernel_bytes_per_connection(run.report.handshakes_ok)
        .filter(|_| run.report.handshakes_ok >= FEWEST_FOR_A_FIGURE)
}

fn staircase_memory(runs: &[&Run]) -> String {
    let mut table = String::from(
        "| server | connections | server processes | RSS loaded | RSS per connection | kernel per connection | together | threads |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let bytes = |b: Option<u64>| b.map_or("–".to_owned(), |b| format!("{b} B"));
    for run in runs {
        let server = run.report.server.as_ref();
        let user = bytes_per_connection(run);
        let kernel = kernel_bytes_per_connection(run);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            run.server,
            run.connections,
            run.server_processes,
            server.map_or("–".to_owned(), |s| format!(
                "{} MiB",
                mib(s.rss_bytes_loaded)
            )),
            bytes(user),
            bytes(kernel),
            bytes(user.zip(kernel).map(|(u, k)| u + k)),
            server.map_or("–".to_owned(), |s| s.threads.to_string()),
        );
    }
    table
}

/// The mixed workloads.
pub fn mixed(results: &Results) -> String {
    let mut table = String::from(
        "| server | workload | connections | requests/s | what happened | ECHO p50 | ECHO p99 | ECHO p99.9 | WORK or SLEEP p99 | threads |\n\
         |---|---|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    for run in results
        .runs
        .iter()
        .filter(|r| matches!(r.step, Step::MixedWork | Step::MixedSleep))
    {
        let report = &run.report;
        let echo = report.kind(Kind::Echo);
        let other = report.kind(if run.step == Step::MixedSleep {
            Kind::Sleep
        } else {
            Kind::Work
        });
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            run.server,
            run.step,
            run.connections,
            report.throughput_rps,
            outcome_and_limit(run),
            percentile(echo, |p| p.p50),
            percentile(echo, |p| p.p99),
            percentile(echo, |p| p.p999),
            percentile(other, |p| p.p99),
            report
                .server
                .as_ref()
                .map_or("–".to_owned(), |s| s.threads.to_string()),
        );
    }
    table
}

/// The most requests each server answered, closed loop, one request in
/// flight per connection and then several.
pub fn throughput(results: &Results) -> String {
    let mut table = String::from(
        "| server | connections | in flight per connection | requests/s | p50 | p99 | tester CPU (of its processes) | tester processes | server threads |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let mut runs: Vec<&Run> = results
        .runs
        .iter()
        .filter(|r| matches!(r.step, Step::Throughput | Step::Pipelined))
        .collect();
    // Each server's two rows together.
    runs.sort_by_key(|run| registry::SERVERS.iter().position(|s| s.name == run.server));
    for run in runs {
        let report = &run.report;
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.0} | {} | {} | {:.0}%{} | {} | {} |",
            run.server,
            run.connections,
            report.pipeline,
            report.throughput_rps,
            micros(report.latency_us.request.p50),
            micros(report.latency_us.request.p99),
            report.tester.cpu_share * 100.0,
            if report.tester_limit().is_some() {
                " **tester-limited**"
            } else {
                ""
            },
            report.tester.processes,
            report
                .server
                .as_ref()
                .map_or("–".to_owned(), |s| s.threads.to_string()),
        );
    }
    table
}

/// The stalled server, open and closed loop: the percentiles counted from
/// when each request was meant to go out, and from when it went out.
pub fn stalled(results: &Results) -> String {
    let mut table = String::from(
        "| server | loop | requests/s | p50 | p99 | p99.9 | max | p99 uncorrected | max uncorrected |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in results.of(Step::Stalled) {
        let report = &run.report;
        let request = &report.latency_us.request;
        let uncorrected = report.latency_us.request_uncorrected.as_ref();
        let _ = writeln!(
            table,
            "| {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            run.server,
            if run.rate.is_some() {
                "open, on schedule"
            } else {
                "closed, next after answer"
            },
            report.throughput_rps,
            micros(request.p50),
            micros(request.p99),
            micros(request.p999),
            micros(request.max),
            percentile(uncorrected, |p| p.p99),
            percentile(uncorrected, |p| p.max),
        );
    }
    table
}

/// The capacity sweeps of `step`: each server's highest sustained rate,
/// what its latency was there, and why the sweep stopped.
pub fn capacity(results: &Results, step: Step) -> String {
    let mut table = format!(
        "| server | connections | capacity, requests/s (ECHO p99 ≤ {} ms) | ECHO p50 / p99 there | tester CPU there | next rate | why the sweep stopped there |\n\
         |---|---:|---:|---:|---:|---:|---|\n",
        CAPACITY_P99_BOUND_US / 1000
    );
    for sweep in capacities(results, step) {
        let (latency, tester) =
            sweep
                .sustained
                .map_or(("–".to_owned(), "–".to_owned()), |run| {
                    let echo = run.report.kind(Kind::Echo);
                    (
                        format!(
                            "{} / {}",
                            percentile(echo, |p| p.p50),
                            percentile(echo, |p| p.p99)
                        ),
                        format!("{:.0}%", run.report.tester.cpu_share * 100.0),
                    )
                });
        let (next, why) = sweep.stopped.as_ref().map_or(
            ("–".to_owned(), capacity::why(&Point::Sustained)),
            |(run, point)| {
                (
                    format!("{:.0}", run.rate.unwrap_or(0.0)),
                    capacity::why(point),
                )
            },
        );
        let _ = writeln!(
            table,
            "| {}{} | {} | {} | {latency} | {tester} | {next} | {why} |",
            sweep.server,
            if sweep.flags.is_empty() {
                String::new()
            } else {
                format!(" `{}`", sweep.flags)
            },
            sweep.connections,
            sweep.figure(),
        );
    }
    table
}

/// 03 at each worker count: its capacity and its idle memory, for the
/// claims about how many worker threads to run.
pub fn workers(results: &Results) -> String {
    let mut table = String::from(
        "| 03's worker threads | capacity, requests/s | ECHO p99 there | why the sweep stopped | threads in all | RSS before any connection |\n\
         |---:|---:|---:|---|---:|---:|\n",
    );
    for sweep in capacities(results, Step::Workers) {
        let first = results
            .of(Step::Workers)
            .find(|r| r.server_flags.join(" ") == sweep.flags);
        let server = first.and_then(|r| r.report.server.as_ref());
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} |",
            sweep.flags.trim_start_matches("--workers "),
            sweep.figure(),
            sweep
                .sustained
                .map_or("–".to_owned(), |run| micros(capacity::echo_p99(run))),
            sweep
                .stopped
                .as_ref()
                .map_or(
                    capacity::why(&Point::Sustained),
                    |(_, point)| capacity::why(point)
                ),
            server.map_or("–".to_owned(), |s| s.threads_before.to_string()),
            server.map_or("–".to_owned(), |s| format!(
                "{} MiB",
                mib(s.rss_bytes_before)
            )),
        );
    }
    table
}

/// Post 002's CPU-bound test, rerun: a batch of `WORK`s at once, timed
/// until the last answer.
pub fn cpu_batch(results: &Results) -> String {
    let mut table = String::from(
        "| server | WORKs at once (one per connection) | units each | all answered after | WORK p50 / max | server threads |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let units = loadtest::suite::schedule::Schedule::new(results.quick).cpu_batch_work_units;
    for run in results.of(Step::CpuBatch) {
        let work = run.report.kind(Kind::Work);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.2} s | {} / {} | {} |",
            run.server,
            run.connections,
            units,
            run.report.duration_s,
            percentile(work, |p| p.p50),
            percentile(work, |p| p.max),
            run.report
                .server
                .as_ref()
                .map_or("–".to_owned(), |s| s.threads.to_string()),
        );
    }
    table
}

/// What a thread per connection costs: the thread-per-connection server at
/// every step, and every other server at 10k connections for contrast.
pub fn threads(results: &Results) -> String {
    let mut table = String::from(
        "| server | connections | threads, connections open | RSS per connection | resident per thread added | address space per thread added | context switches per request |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let rows = results.of(Step::Staircase).filter(|run| {
        run.server == registry::THREAD_PER_CONNECTION.name
            || (run.connections == 10_000 && run.all_served())
    });
    for run in rows {
        let Some(server) = run.report.server.as_ref() else {
            continue;
        };
        let per_thread = |bytes: Option<u64>| {
            bytes
                .filter(|_| server.threads_added() >= FEWEST_FOR_A_FIGURE)
                .map_or("–".to_owned(), |b| format!("{} KiB", b / 1024))
        };
        let switches = if run.report.requests_ok > 0 {
            format!(
                "{:.2}",
                server.context_switches as f64 / run.report.requests_ok as f64
            )
        } else {
            "–".to_owned()
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {} | {} |",
            run.server,
            run.connections,
            server.threads_loaded,
            bytes_per_connection(run).map_or("–".to_owned(), |b| format!("{b} B")),
            per_thread(server.resident_bytes_per_thread()),
            per_thread(server.virtual_bytes_per_thread()),
            switches,
        );
    }
    table
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    #[test]
    fn tables_say_what_happened_and_hide_noise() {
        let results = results_with(&[
            ("03-async-tokio", Step::Staircase, 10, 10),
            ("03-async-tokio", Step::Staircase, 100_000, 100_000),
            ("02-thread-pool", Step::Staircase, 1000, 256),
        ]);
        let table = staircase(&results, None);
        assert!(
            table.contains(
                "| 03-async-tokio | 10 | 999 | all served | 90 µs | 1.5 ms | 1.4 ms | 15 ms | 1000 | server (tester CPU 20%, lag 100 µs) |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| 03-async-tokio | 10 | 1 | 3.0 MiB | – | – | – | 4 |"),
            "{table}"
        );
        assert!(table.contains("| 1500 B |"), "{table}");
        assert!(table.contains("256 of 1000 served, 744 busy"), "{table}");
        assert!(!staircase(&results, Some("02-thread-pool")).contains("03-async-tokio"));
    }

    #[test]
    fn a_run_whose_tester_fell_behind_says_so_and_kernel_bytes_are_the_servers_half() {
        let mut results = results_with(&[("03-async-tokio", Step::Staircase, 10_000, 10_000)]);
        let run = &mut results.runs[0];
        run.report.tester.send_lag_p99_us = Some(62_000);
        let server = run.report.server.as_mut().unwrap();
        server.kernel_slab_bytes = Some(10_000 * 2 * 3000);
        let table = staircase(&results, None);
        assert!(
            table.contains("| **tester-limited** (sent 1% over 62 ms late) |"),
            "{table}"
        );
        assert!(
            table.contains("| 1500 B | 3000 B | 4500 B | 4 |"),
            "{table}"
        );
        results.runs[0].report.tester.send_lag_p99_us = Some(9_000);
        results.runs[0].report.tester.cpu_share = 0.9;
        assert!(
            staircase(&results, None).contains("**tester-limited** (CPU 90% busy)"),
            "CPU alone is enough"
        );
    }

    #[test]
    fn the_threads_table_divides_by_the_threads_added() {
        let mut results = results_with(&[
            ("02-per-connection", Step::Staircase, 1000, 1000),
            ("03-async-tokio", Step::Staircase, 10_000, 10_000),
            ("03-async-tokio", Step::Staircase, 1000, 1000),
        ]);
        let server = results.runs[0].report.server.as_mut().unwrap();
        server.threads_loaded = server.threads_before + 1000;
        server.rss_bytes_loaded = server.rss_bytes_before + 1000 * 14 * 1024;
        server.vm_bytes_loaded = server.vm_bytes_before + 1000 * 8200 * 1024;
        let table = threads(&results);
        assert!(
            table.contains(
                "| 02-per-connection | 1000 | 1004 | 1500 B | 14 KiB | 8200 KiB | 2.00 |"
            ),
            "{table}"
        );
        assert!(
            table.contains("| 03-async-tokio | 10000 | 4 | 1500 B | – | – |"),
            "{table}"
        );
        assert_eq!(table.matches("03-async-tokio").count(), 1, "10k only");
    }

    #[test]
    fn a_server_that_could_not_run_is_named_under_every_table() {
        let mut results = results_with(&[("03-async-tokio", Step::Throughput, 64, 64)]);
        results.missing.push(loadtest::suite::data::Missing {
            server: "go-peer".into(),
            reason: "`go` is not installed".into(),
        });
        assert!(footer(&results).contains("Not measured: go-peer (`go` is not installed)"));
        assert!(
            throughput(&results)
                .contains("| 03-async-tokio | 64 | 1 | 999 | 90 µs | 1.5 ms | 20% | 1 | 4 |")
        );
    }
}
