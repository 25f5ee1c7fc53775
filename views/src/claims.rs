//! The posts' claims, each held against a measurement: the claims table
//! the book's "Claims checked" chapter includes.
//!
//! Every verdict here is computed from the results, never typed, so that
//! a rerun that changes a figure also changes the verdict it supports.
//! Where the suite cannot measure a claim (it names an API that does not
//! exist, or a figure without saying what it measured), the row says so
//! and why, and points to what can be checked instead.

use std::fmt::Write as _;

use registry::Step;

use crate::capacity::capacities;
use crate::format::{mib, micros};
use crate::tables::kernel_bytes_per_connection;
use loadtest::suite::data::{Results, Run};
use loadtest::suite::schedule::Schedule;

/// What a measurement says of a claim.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The measurement agrees with the claim.
    Holds,
    /// The measurement contradicts it.
    DoesNotHold,
    /// Nothing here can check it, for this reason.
    CannotCheck(String),
}

impl Verdict {
    /// `Holds` when `agrees`, else `DoesNotHold`.
    fn from(agrees: bool) -> Verdict {
        if agrees {
            Verdict::Holds
        } else {
            Verdict::DoesNotHold
        }
    }

    fn text(&self) -> String {
        match self {
            Verdict::Holds => "**holds**".to_owned(),
            Verdict::DoesNotHold => "**does not hold**".to_owned(),
            Verdict::CannotCheck(why) => format!("**cannot be checked here**: {why}"),
        }
    }
}

/// One row of the table.
struct Claim {
    post: &'static str,
    claim: &'static str,
    verdict: Verdict,
    measured: String,
    command: &'static str,
}

/// The suite's command for some servers and steps.
const STAIRCASE_03: &str = "`loadtest suite --only 03-async-tokio --steps staircase`";

/// The claims table, a row per claim, in the order of the posts.
pub fn claims(results: &Results, schedule: &Schedule) -> String {
    let mut rows = Vec::new();
    rows.extend(hundred_k(results, schedule));
    rows.extend(stacks(results, schedule));
    rows.extend(workers(results, schedule));
    rows.extend(runtime_options());
    rows.extend(stack_and_task(results));
    rows.extend(pool_vs_async(results));
    rows.extend(cpu_batch(results));
    rows.extend(blocking_call(results));
    rows.extend(pipelining(results));
    rows.push(shutdown_pattern());
    let mut table = String::from(
        "| post | claim | verdict | measured here (client and server on one 2-core machine) | rerun |\n\
         |---|---|---|---|---|\n",
    );
    for row in rows {
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} |",
            row.post,
            row.claim,
            row.verdict.text(),
            row.measured,
            row.command
        );
    }
    table
}

/// The verdict `agrees` gives, unless the tester fell behind in `run`:
/// then the figure is the pair's, and the claim cannot be checked here.
/// One rule for every row measured on a run.
fn judged_unless_tester_limited(run: &Run, agrees: bool) -> Verdict {
    match run.report.tester_limit() {
        Some(why) => Verdict::CannotCheck(format!(
            "the tester fell behind in that run ({why}): the figure is the pair's, not the server's"
        )),
        None => Verdict::from(agrees),
    }
}

/// Whether a measured figure bears out a figure a post states as what it
/// measured (not as a ceiling): within 1.5× of it, either way.
fn as_figure(measured: f64, claimed: f64) -> bool {
    let ratio = measured / claimed.max(f64::EPSILON);
    (1.0 / 1.5..=1.5).contains(&ratio)
}

/// What `run` cost the machine: the servers' RSS plus the kernel's part
/// of each connection, in bytes.
fn whole_cost(run: &Run) -> Option<(u64, u64)> {
    let server = run.report.server.as_ref()?;
    let kernel = kernel_bytes_per_connection(run).unwrap_or(0) * run.report.handshakes_ok;
    Some((server.rss_bytes_loaded, kernel))
}

/// Post 000's headline: 100k connections, their memory, p99, throughput.
fn hundred_k(results: &Results, schedule: &Schedule) -> Vec<Claim> {
    const POST: &str = "000";
    let top = schedule.top();
    let Some(run) = results.find(registry::ASYNC_TOKIO.name, Step::Staircase, Some(top)) else {
        return Vec::new();
    };
    let mut rows = Vec::new();
    if let Some((rss, kernel)) = whole_cost(run) {
        let total = rss + kernel;
        rows.push(Claim {
            post: POST,
            claim: "100k connections on a 2-core 4 GB VM \"with 3.2GB RAM usage\"",
            verdict: Verdict::from(run.all_served() && total as f64 <= 3.2e9),
            measured: format!(
                "03 held {} of {top}: {} MiB of RSS in {} process(es) + {} MiB of kernel socket memory = {} MiB",
                run.report.handshakes_ok,
                mib(rss),
                run.server_processes,
                mib(kernel),
                mib(total)
            ),
            command: STAIRCASE_03,
        });
    }
    let p99 = run.report.latency_us.request.p99;
    let tester = run.report.tester_limit().map_or(String::new(), |why| {
        format!(" (the tester fell behind: {why})")
    });
    rows.push(Claim {
        post: POST,
        claim: "p99 of 87 ms at 100k connections (\"<100ms p99 latency\")",
        verdict: judged_unless_tester_limited(run, run.all_served() && p99 <= 87_000),
        measured: format!(
            "03's p99 {} at {top} connections and {:.0} requests/s answered{tester}",
            micros(p99),
            run.report.throughput_rps
        ),
        command: STAIRCASE_03,
    });
    let claimed = 142_000.0;
    let sweep = capacities(results, Step::Capacity)
        .into_iter()
        .filter(|c| c.server == registry::ASYNC_TOKIO.name)
        .max_by_key(|c| c.connections);
    if let Some(sweep) = sweep {
        let rate = sweep.sustained.and_then(|r| r.rate).unwrap_or(0.0);
        let verdict = if rate >= claimed {
            Verdict::Holds
        } else if sweep.is_servers() {
            Verdict::DoesNotHold
        } else {
            Verdict::CannotCheck(
                "the tester, on the same two cores, ran out before the server did".to_owned(),
            )
        };
        rows.push(Claim {
            post: POST,
            claim: "142k requests/s at 100k connections",
            verdict,
            measured: format!(
                "03's capacity at {} connections (ECHO p99 ≤ 10 ms): {} requests/s",
                sweep.connections,
                sweep.figure()
            ),
            command: "`loadtest suite --only 03-async-tokio --steps capacity`",
        });
    }
    rows
}

/// Post 000's table of stacks at 100k connections: Go and Node against
/// their peers here.
fn stacks(results: &Results, schedule: &Schedule) -> Vec<Claim> {
    let top = schedule.top();
    let mut rows = Vec::new();
    for (server, claim, claimed_bytes, claimed_p99_us) in [
        (
            registry::GO_PEER.name,
            "Go at 100k connections: 4.7GB, p99 156 ms",
            4.7e9,
            156_000.0,
        ),
        (
            registry::NODE_PEER.name,
            "Node.js at 100k connections: 5.8GB, p99 312 ms",
            5.8e9,
            312_000.0,
        ),
    ] {
        let Some(run) = results.find(server, Step::Staircase, Some(top)) else {
            continue;
        };
        let Some((rss, kernel)) = whole_cost(run) else {
            continue;
        };
        let served = run.report.handshakes_ok;
        let total = rss + kernel;
        let (verdict, measured) = if run.all_served() {
            let p99 = run.report.latency_us.request.p99;
            let memory_agrees = as_figure(total as f64, claimed_bytes);
            // Both parts of the claim, the memory and the p99; the p99 only
            // where the tester kept up.
            let verdict = match run.report.tester_limit() {
                Some(why) if memory_agrees => Verdict::CannotCheck(format!(
                    "the memory agrees, but the p99 was measured while the tester fell behind ({why})"
                )),
                _ if !memory_agrees => Verdict::DoesNotHold,
                _ => Verdict::from(as_figure(p99 as f64, claimed_p99_us)),
            };
            (
                verdict,
                format!(
                    "{server}: all {top} served in {} process(es), {} MiB RSS + {} MiB kernel = {} MiB \
                     (the post's is {} that); p99 {} (the post's is {} that)",
                    run.server_processes,
                    mib(rss),
                    mib(kernel),
                    mib(total),
                    crate::format::ratio(claimed_bytes / (total as f64).max(1.0)),
                    micros(p99),
                    crate::format::ratio(claimed_p99_us / (p99 as f64).max(1.0)),
                ),
            )
        } else {
            // One process holds only what its open-file limit allows. The
            // cost per connection leaves out what the process held before
            // any connection, which 100k connections would not multiply.
            let baseline = run.report.server.as_ref().map_or(0, |s| s.rss_bytes_before);
            let per_connection = total.saturating_sub(baseline) as f64 / served.max(1) as f64;
            (
                Verdict::CannotCheck(format!(
                    "{server} runs as one process here, and one process holds {served} connections at most"
                )),
                format!(
                    "{served} of {top} served, {} MiB in all, {} MiB of it before any connection; at that cost per connection, 100k would take about {:.0} MiB (**extrapolated**, not measured)",
                    mib(total),
                    mib(baseline),
                    (baseline as f64 + per_connection * top as f64) / (1024.0 * 1024.0)
                ),
            )
        };
        rows.push(Claim {
            post: "000",
            claim,
            verdict,
            measured,
            command: "`loadtest suite --only go-peer,node-peer --steps staircase`",
        });
    }
    rows
}

/// Post 000 on worker threads: how many, and what each costs.
fn workers(results: &Results, schedule: &Schedule) -> Vec<Claim> {
    let sweeps = capacities(results, Step::Workers);
    if sweeps.is_empty() {
        return Vec::new();
    }
    let count =
        |flags: &str| -> usize { flags.trim_start_matches("--workers ").parse().unwrap_or(0) };
    let figures: Vec<String> = sweeps
        .iter()
        .map(|s| format!("{}: {}", count(&s.flags), s.figure()))
        .collect();
    // Where each capacity sits in the sweep's rates: one step apart is
    // within what a rerun moves, so only a gap of two steps or more says
    // that more workers took more.
    let step_of = |sweep: &&crate::capacity::Capacity| {
        let rate = sweep.rate()?;
        schedule.capacity_rates.iter().position(|&r| r == rate)
    };
    let judged: Vec<_> = sweeps.iter().filter(|s| s.is_servers()).collect();
    let at_cores = judged
        .iter()
        .find(|s| count(&s.flags) == results.stamp.cores)
        .and_then(step_of);
    let beyond = judged
        .iter()
        .filter(|s| count(&s.flags) > results.stamp.cores)
        .filter_map(step_of)
        .max();
    let verdict = match (at_cores, beyond) {
        (Some(at_cores), Some(beyond)) => Verdict::from(beyond >= at_cores + 2),
        _ => Verdict::CannotCheck(
            "the sweeps at one worker per core and at more did not both reach the server's own limit"
                .to_owned(),
        ),
    };
    let mut rows = vec![Claim {
        post: "000",
        claim: "\"4 worker threads per 2 CPU cores\"; \"2-4 threads per core is optimal\" for I/O",
        verdict,
        measured: format!(
            "03's capacity (requests/s, ECHO p99 ≤ 10 ms) by worker threads, {} (on {} cores; one step of the sweep apart is within a rerun's noise)",
            figures.join("; "),
            results.stamp.cores
        ),
        command: "`loadtest suite --only 03-async-tokio --steps workers`",
    }];
    // RSS before any connection, at the fewest and the most workers.
    let idle = |flags: &str| {
        results
            .of(Step::Workers)
            .find(|r| r.server_flags.join(" ") == flags)
            .and_then(|r| r.report.server.as_ref())
            .map(|s| (s.rss_bytes_before, s.vm_bytes_before))
    };
    let (fewest, most) = (sweeps.first(), sweeps.last());
    if let (Some(fewest), Some(most)) = (fewest, most) {
        let added = count(&most.flags).saturating_sub(count(&fewest.flags));
        if let (Some(low), Some(high), true) = (idle(&fewest.flags), idle(&most.flags), added > 0) {
            let resident = high.0.saturating_sub(low.0) / added as u64;
            let reserved = high.1.saturating_sub(low.1) / added as u64;
            rows.push(Claim {
                post: "000",
                claim: "\"each extra thread adds ~20MB of stack memory\"",
                verdict: Verdict::from(resident as f64 >= 10e6),
                measured: format!(
                    "each worker added {} KiB resident and {} KiB of address space (03 idle, {} vs {} workers)",
                    resident / 1024,
                    reserved / 1024,
                    count(&most.flags),
                    count(&fewest.flags)
                ),
                command: "`loadtest suite --only 03-async-tokio --steps workers`",
            });
        }
    }
    rows
}

/// Post 000's runtime tuning, against Tokio's documented Builder.
fn runtime_options() -> Vec<Claim> {
    vec![
        Claim {
            post: "000",
            claim: "Tokio 1.40 tuning: `steal_tick_interval`, a per-worker task queue size",
            verdict: Verdict::DoesNotHold,
            measured: "no such options in Tokio 1.x: the `runtime::Builder` of the Tokio locked \
                       here, a later 1.x than the post's (stable methods are not removed within \
                       1.x), has neither; its scheduler settings include `global_queue_interval` \
                       and `event_interval`, and, unstable, `disable_lifo_slot` among others. The \
                       post's Listing 3 does not compile"
                .to_owned(),
            command: "`cargo doc -p tokio --open`, `runtime::Builder`",
        },
        Claim {
            post: "000",
            claim: "async fn in traits cuts \"per-task memory overhead from ~120 bytes to ~80 bytes\"",
            verdict: Verdict::CannotCheck(
                "no post code to compare, and a task's size is its future's, however the trait \
                 is written"
                    .to_owned(),
            ),
            measured: "an idle 03 task is one allocation: its future and Tokio's header and \
                       trailer, aligned to 128 bytes; the table in 05's chapter (where the bytes \
                       go) takes it apart, and 03's RSS per connection in the staircase is the \
                       whole cost"
                .to_owned(),
            command: "`cargo run --release -p anatomy`",
        },
    ]
}

/// Post 002's "2 MB per thread" and "2 KB per task".
fn stack_and_task(results: &Results) -> Vec<Claim> {
    let mut rows = Vec::new();
    let thread_rows = results
        .of(Step::Staircase)
        .filter(|r| r.server == registry::THREAD_PER_CONNECTION.name)
        .filter_map(|r| Some((r, r.report.server.as_ref()?)))
        .filter(|(_, s)| s.threads_added() >= 1000)
        .max_by_key(|(r, _)| r.connections);
    if let Some((_, server)) = thread_rows {
        if let (Some(resident), Some(reserved)) = (
            server.resident_bytes_per_thread(),
            server.virtual_bytes_per_thread(),
        ) {
            rows.push(Claim {
                post: "002",
                claim: "each thread \"consumed stack space (2MB+ per worker)\"",
                verdict: Verdict::from(resident as f64 >= 1e6),
                measured: format!(
                    "02 with a thread per connection, {} threads: {} KiB of address space reserved but {} KiB resident per thread",
                    server.threads_added(),
                    reserved / 1024,
                    resident / 1024
                ),
                command: "`loadtest suite --only 02-per-connection --steps staircase`",
            });
        }
    }
    if let Some(run) = results.find(registry::ASYNC_TOKIO.name, Step::Staircase, Some(10_000)) {
        if let Some(per) = run
            .report
            .server
            .as_ref()
            .and_then(|s| s.bytes_per_connection)
        {
            rows.push(Claim {
                post: "002",
                claim: "async \"task overhead (~2KB per task)\"",
                verdict: Verdict::from(per <= 2048),
                measured: format!("03 at 10,000 idle connections: {per} B of RSS each"),
                command: STAIRCASE_03,
            });
        }
    }
    // The smallest step: one server process, as a reader would start it.
    let smallest = results
        .of(Step::Staircase)
        .filter(|r| r.server == registry::ASYNC_TOKIO.name && r.server_processes == 1)
        .min_by_key(|r| r.connections);
    if let Some(run) = smallest {
        if let Some(server) = &run.report.server {
            rows.push(Claim {
                post: "002",
                claim: "\"Async tasks share a single thread by default\"",
                verdict: Verdict::from(server.threads_before <= 2),
                measured: format!(
                    "the multi-thread runtime (what `#[tokio::main]` builds) has a worker per core: 03 runs {} threads before any connection on {} cores",
                    server.threads_before, results.stamp.cores
                ),
                command: STAIRCASE_03,
            });
        }
    }
    rows
}

/// Post 002's table: a pool of 8 at 1,500 connections in 468 MB, async at
/// 15,000 in 234 MB. Each against the staircase step nearest below its
/// count, scaled to it.
fn pool_vs_async(results: &Results) -> Vec<Claim> {
    let claims = [
        (
            registry::THREAD_PER_CONNECTION.name,
            "threads: 1,500 connections in 468MB",
            (1_500.0, 468e6),
            1_000,
            "02 with a thread per connection",
        ),
        (
            registry::ASYNC_TOKIO.name,
            "async: 15,000 connections in 234MB",
            (15_000.0, 234e6),
            10_000,
            "03",
        ),
    ];
    let mut rows = Vec::new();
    for (server, claim, (claimed_connections, claimed_bytes), step, who) in claims {
        let Some(run) = results.find(server, Step::Staircase, Some(step)) else {
            continue;
        };
        let Some(bytes) = run.report.server.as_ref().map(|s| s.rss_bytes_loaded) else {
            continue;
        };
        let claimed_here = claimed_bytes * step as f64 / claimed_connections;
        rows.push(Claim {
            post: "002",
            claim,
            verdict: Verdict::from(bytes as f64 >= claimed_here),
            measured: format!(
                "{who} held {} connections in {} MiB",
                run.report.handshakes_ok,
                mib(bytes)
            ),
            command: if server == registry::ASYNC_TOKIO.name {
                STAIRCASE_03
            } else {
                "`loadtest suite --only 02-per-connection --steps staircase`"
            },
        });
    }
    rows
}

/// Post 002's CPU-bound table: 100 CPU tasks, a pool 8.5 s, async 42.3 s.
fn cpu_batch(results: &Results) -> Vec<Claim> {
    let time = |server: &str| {
        results
            .find(server, Step::CpuBatch, None)
            .map(|r| r.report.duration_s)
    };
    let (Some(pool), Some(tokio), Some(hybrid)) = (
        time(registry::THREAD_POOL.name),
        time(registry::ASYNC_TOKIO.name),
        time(registry::HYBRID_BLOCKING.name),
    ) else {
        return Vec::new();
    };
    vec![Claim {
        post: "002",
        claim: "100 concurrent CPU tasks: thread pool 8.5 s, async 42.3 s (5× slower)",
        verdict: Verdict::from(tokio >= 3.0 * pool),
        measured: format!(
            "the same batch of WORKs, all answered after: 02 {pool:.2} s, 03 {tokio:.2} s, 04 {hybrid:.2} s"
        ),
        command: "`loadtest suite --only 02-thread-pool,03-async-tokio,04-hybrid-blocking --steps cpu-batch`",
    }]
}

/// Post 002's "a blocking call cut performance by 90%": the post does not
/// say what it measured, so the row shows what a blocking call does here.
fn blocking_call(results: &Results) -> Option<Claim> {
    let echo_p99 = |server: &str| {
        results
            .find(server, Step::MixedSleep, None)?
            .report
            .kind(loadtest::metrics::Kind::Echo)
            .map(|p| p.p99)
    };
    let inline = echo_p99(registry::ASYNC_TOKIO.name)?;
    let moved = echo_p99(registry::HYBRID_BLOCKING.name)?;
    Some(Claim {
        post: "002",
        claim: "a blocking call in async code: \"my server's performance dropped by 90%\"",
        verdict: Verdict::CannotCheck(
            "the post does not say what \"performance\" measured (the request rate here is \
             fixed, open loop)"
                .to_owned(),
        ),
        measured: format!(
            "with 5% of requests a blocking 10 ms SLEEP, ECHO's p99 was {} on 03 (inline) and {} on 04 (`spawn_blocking`): {:.0}× worse inline",
            micros(inline),
            micros(moved),
            inline as f64 / moved.max(1) as f64
        ),
        command: "`loadtest suite --only 03-async-tokio,04-hybrid-blocking --steps mixed-sleep`",
    })
}

/// Post 001's two throughput figures, against this tester and 03.
fn pipelining(results: &Results) -> Vec<Claim> {
    let mut rows = Vec::new();
    for (claim, step, claimed) in [
        (
            "a simple async client sends \"over 20,000 requests per second to a local host\"",
            Step::Throughput,
            20_000.0,
        ),
        (
            "bundling requests into one write: \"over a million requests per second\"",
            Step::Pipelined,
            1_000_000.0,
        ),
    ] {
        let Some(run) = results.find(registry::ASYNC_TOKIO.name, step, None) else {
            continue;
        };
        let rate = run.report.throughput_rps;
        // A rate reached holds even if the tester was the limit; a rate
        // missed while the tester was the limit says nothing of the server.
        let verdict = if rate >= claimed {
            Verdict::Holds
        } else {
            judged_unless_tester_limited(run, false)
        };
        rows.push(Claim {
            post: "001",
            claim,
            verdict,
            measured: format!(
                "{rate:.0} requests/s from `loadtest run` to 03, {} connections, {} in flight each{}",
                run.connections,
                run.report.pipeline,
                run.report.tester_limit().map_or(String::new(), |why| format!(
                    " (**tester-limited**: {why}; CPUs: {})",
                    crate::tables::cores_of(run)
                ))
            ),
            command: "`loadtest suite --only 03-async-tokio --steps throughput,pipelined`",
        });
    }
    rows
}

/// Post 003's shutdown: a `select!` between `accept` and a channel send.
/// Not a figure: a test reproduces the pattern and shows what it does.
fn shutdown_pattern() -> Claim {
    Claim {
        post: "003",
        claim: "a `select!` racing `accept()` with `shutdown_tx.send(())` gives a graceful shutdown that drains requests",
        verdict: Verdict::DoesNotHold,
        measured: "the send completes at once (the channel has room), so the loop can end \
                   before the first connection, and nothing waits for the tasks already \
                   spawned; the test runs the pattern and counts"
            .to_owned(),
        command: "`cargo test -p async-tokio --test post_003_shutdown`",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    #[test]
    fn the_memory_claim_counts_the_kernel_and_holds_only_when_all_were_served() {
        let mut results = results_with(&[("03-async-tokio", Step::Staircase, 100_000, 100_000)]);
        let server = results.runs[0].report.server.as_mut().unwrap();
        server.rss_bytes_loaded = 200 << 20;
        server.kernel_slab_bytes = Some(100_000 * 2 * 3000);
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("3.2GB RAM usage\" | **holds** | 03 held 100000 of 100000: 200.0 MiB of RSS in 1 process(es) + 286.1 MiB"),
            "{table}"
        );
        results.runs[0].report.handshakes_ok = 90_000;
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("3.2GB RAM usage\" | **does not hold**"),
            "{table}"
        );
    }

    #[test]
    fn a_peer_that_cannot_hold_100k_gets_an_extrapolation_labelled_as_such() {
        let results = results_with(&[("node-peer", Step::Staircase, 100_000, 20_000)]);
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("**cannot be checked here**: node-peer runs as one process"),
            "{table}"
        );
        assert!(table.contains("**extrapolated**, not measured"), "{table}");
    }

    #[test]
    fn a_figure_measured_while_the_tester_fell_behind_cannot_be_checked() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::Staircase, 100_000, 100_000),
            ("03-async-tokio", Step::Pipelined, 64, 64),
        ]);
        for run in &mut results.runs {
            run.report.latency_us.request.p99 = 20_000;
            run.report.throughput_rps = 500_000.0;
        }
        let table = claims(&results, &Schedule::new(false));
        assert!(table.contains("p99 latency\") | **holds**"), "{table}");
        assert!(
            table.contains("million requests per second\" | **does not hold**"),
            "{table}"
        );
        for run in &mut results.runs {
            run.report.tester.cpu_share = 0.99;
        }
        let table = claims(&results, &Schedule::new(false));
        for claim in ["p99 latency\")", "million requests per second\""] {
            assert!(
                table.contains(&format!("{claim} | **cannot be checked here**: the tester")),
                "{claim}: {table}"
            );
        }
    }

    #[test]
    fn a_stated_figure_is_compared_as_a_figure_memory_and_p99_both() {
        let mut results = results_with(&[("go-peer", Step::Staircase, 100_000, 100_000)]);
        let set = |results: &mut Results, rss: u64, p99: u64| {
            let run = &mut results.runs[0];
            let server = run.report.server.as_mut().unwrap();
            server.rss_bytes_loaded = rss;
            server.kernel_slab_bytes = Some(0);
            run.report.latency_us.request.p99 = p99;
        };
        // A quarter of the post's 4.7 GB: less is not "holds" for a figure.
        set(&mut results, 1_200_000_000, 150_000);
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("4.7GB, p99 156 ms | **does not hold**"),
            "{table}"
        );
        assert!(table.contains("(the post's is 3.9× that)"), "{table}");
        // Memory near the figure, p99 far from it: still does not hold.
        set(&mut results, 4_500_000_000, 10_000);
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("4.7GB, p99 156 ms | **does not hold**"),
            "{table}"
        );
        set(&mut results, 4_500_000_000, 150_000);
        let table = claims(&results, &Schedule::new(false));
        assert!(table.contains("4.7GB, p99 156 ms | **holds**"), "{table}");
    }

    #[test]
    fn the_extrapolation_does_not_multiply_what_the_process_held_before() {
        let mut results = results_with(&[("node-peer", Step::Staircase, 100_000, 20_000)]);
        let server = results.runs[0].report.server.as_mut().unwrap();
        server.rss_bytes_before = 50 << 20;
        server.rss_bytes_loaded = 250 << 20;
        server.kernel_slab_bytes = Some(0);
        let table = claims(&results, &Schedule::new(false));
        // 200 MiB for 20,000 connections: 1000 MiB for 100k, plus the 50 before.
        assert!(
            table.contains("about 1050 MiB (**extrapolated**"),
            "{table}"
        );
    }

    #[test]
    fn the_cpu_batch_verdict_compares_async_with_the_pool() {
        let mut results = results_with(&[
            ("02-thread-pool", Step::CpuBatch, 100, 100),
            ("03-async-tokio", Step::CpuBatch, 100, 100),
            ("04-hybrid-blocking", Step::CpuBatch, 100, 100),
        ]);
        for (run, seconds) in results.runs.iter_mut().zip([2.6, 2.7, 2.6]) {
            run.report.duration_s = seconds;
        }
        let table = claims(&results, &Schedule::new(false));
        assert!(table.contains("42.3 s (5× slower) | **does not hold** | the same batch of WORKs, all answered after: 02 2.60 s, 03 2.70 s"), "{table}");
        results.runs[1].report.duration_s = 9.0;
        assert!(claims(&results, &Schedule::new(false)).contains("5× slower) | **holds**"));
    }

    #[test]
    fn more_workers_count_only_two_sweep_steps_above_one_per_core() {
        let schedule = Schedule::new(false);
        let rates = &schedule.capacity_rates;
        let mut results = Results {
            runs: Vec::new(),
            ..results_with(&[])
        };
        results.stamp.cores = 2;
        // Each worker count: its capacity at rates[i], then a rate over.
        for (workers, i) in [("2", 5), ("8", 6)] {
            for (rate, p99) in [(rates[i], 500), (rates[i + 1], 50_000)] {
                let mut run =
                    loadtest::suite::data::fixtures::run("03-async-tokio", Step::Workers, 100, 100);
                run.server_flags = vec!["--workers".into(), workers.into()];
                run.rate = Some(rate);
                run.report
                    .by_request
                    .get_mut(&loadtest::metrics::Kind::Echo)
                    .unwrap()
                    .p99 = p99;
                results.runs.push(run);
            }
        }
        let table = claims(&results, &schedule);
        assert!(
            table.contains("2-4 threads per core is optimal\" for I/O | **does not hold**"),
            "{table}"
        );
        results.runs[2].rate = Some(rates[7]);
        results.runs[3].rate = Some(rates[8]);
        let table = claims(&results, &schedule);
        assert!(
            table.contains("2-4 threads per core is optimal\" for I/O | **holds**"),
            "{table}"
        );
    }

    #[test]
    fn worker_counts_need_two_server_limited_sweeps() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::Workers, 100, 100),
            ("03-async-tokio", Step::Workers, 100, 100),
        ]);
        for (run, workers) in results.runs.iter_mut().zip(["1", "8"]) {
            run.server_flags = vec!["--workers".into(), workers.into()];
        }
        results.runs[1]
            .report
            .server
            .as_mut()
            .unwrap()
            .rss_bytes_before += 7 * 100 * 1024;
        let table = claims(&results, &Schedule::new(false));
        assert!(
            table.contains("did not both reach the server's own limit"),
            "{table}"
        );
        assert!(
            table.contains("each worker added 100 KiB resident"),
            "{table}"
        );
        assert!(
            table.contains("~20MB of stack memory\" | **does not hold**"),
            "{table}"
        );
    }
}
