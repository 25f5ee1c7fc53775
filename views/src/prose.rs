//! Sentences and the claims table the book quotes: headline figures
//! computed from the results, so prose never carries a typed number.

use std::fmt::Write as _;

use registry::Step;

use crate::capacity::capacities;
use crate::format::{mib, micros, ratio};
use crate::spread::{Spread, compare};
use crate::tables::{bytes_per_connection, outcome, tester_mark};
use loadtest::metrics::Kind;
use loadtest::spec;
use loadtest::suite::data::Results;
use loadtest::suite::schedule::Schedule;

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
        let limited = tester_mark(run);
        let _ = writeln!(
            text,
            "- **{name}** held {} of {top} handshaked connections ({} failures) in {} server \
             process(es), at {} MiB of RSS in all, which grew by **{} bytes per connection** \
             (the kernel's part is beside it in the memory chart); request p99 {}{limited} at {:.0} requests/s.",
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
            "- At 10,000 connections and {:.0} requests/s, 03's ECHO p99 was **{}** (the staircase: one run, \
             server and tester sharing the cores).",
            run.rate.unwrap_or(0.0),
            micros(run.report.latency_us.request.p99)
        );
    }
    for server in [registry::THREAD_POOL, registry::SINGLE_THREAD] {
        if let Some(run) = results.find(server.name, Step::Staircase, Some(top)) {
            let _ = writeln!(
                text,
                "- **{}** at {top} connections: {}{}.",
                server.name,
                outcome(run),
                tester_mark(run)
            );
        }
    }
    for step in [Step::MixedWork, Step::MixedSleep] {
        let p99 = |name| {
            Spread::over(&results.rounds(name, step, None), |run| {
                Some(run.report.kind(Kind::Echo)?.p99 as f64)
            })
        };
        if let (Some(three), Some(four)) = (
            p99(registry::ASYNC_TOKIO.name),
            p99(registry::HYBRID_BLOCKING.name),
        ) {
            let us = |v: f64| micros(v as u64);
            let _ = writeln!(
                text,
                "- Under the {step} workload, ECHO p99 was {} on 03 and {} on 04 (median and range of \
                 the rounds): {}.",
                three.show(us),
                four.show(us),
                compare(("03", &three), ("04", &four), "higher", "lower"),
            );
        }
    }
    text
}

/// The arithmetic of each mixed workload, worked before its result: how
/// many of 03's worker threads (one per core) are inside a `WORK` or a
/// `SLEEP` at any moment, on average, so that the gap between 03 and 04 is
/// predicted before the table shows it.
pub fn mixed_arithmetic(results: &Results, schedule: &Schedule) -> String {
    let workers = results.stamp.cores.max(1);
    let mut text = String::new();
    for step in [Step::MixedWork, Step::MixedSleep] {
        let Some(measurement) = schedule.measurements(step).into_iter().next() else {
            continue;
        };
        let rate = measurement.rate().unwrap_or(0.0);
        let (share, kind, each_s, source) = if step == Step::MixedWork {
            // How long one WORK takes is measured, not assumed: 04's p50,
            // where it runs on rayon and nothing else waits in front of it.
            let Some(work) = results
                .find(registry::HYBRID_BLOCKING.name, step, None)
                .and_then(|run| run.report.kind(Kind::Work))
            else {
                continue;
            };
            (
                measurement.load.mix.work,
                "WORK",
                work.p50 as f64 / 1e6,
                format!("{} each (04's measured WORK p50)", micros(work.p50)),
            )
        } else {
            (
                measurement.load.mix.sleep,
                "SLEEP",
                spec::DEFAULT_SLEEP_MS as f64 / 1000.0,
                format!("{} ms each", spec::DEFAULT_SLEEP_MS),
            )
        };
        let per_second = f64::from(share) / 100.0 * rate;
        let busy = per_second * each_s;
        let _ = write!(
            text,
            "- **{step}**: {share}% of {rate:.0} requests/s are {kind}s, {per_second:.0} a second of {source}: \
             {busy:.2} s of {kind} every second, so on average **{busy:.2} of 03's {workers} worker threads** \
             are inside a {kind}. An ECHO whose task is on one of those waits; 04 moves the {kind} off them.",
        );
        if step == Step::MixedWork {
            // The same seconds of CPU, seen by the kernel's scheduler: the
            // share of each core that a WORK holds, and the wait of a thread
            // queued behind one (the comparison's "Finding a tail").
            let per_core = busy / workers as f64;
            let _ = write!(
                text,
                " Wherever it runs, a WORK holds a core: **{:.0}% of each of the {workers} cores'** time. \
                 A thread woken to handle an ECHO (the server's, or the tester's waiting for the answer) \
                 that the kernel queues on a core inside a WORK computed in one piece waits for the rest \
                 of it, up to {}; if more than 1 ECHO in 100 does, the ECHO p99 is of that order. \
                 Computed in slices of {} units that yield the core between them, the wait is at most \
                 a slice.",
                per_core * 100.0,
                micros(work_p50_us(each_s)),
                protocol::work::WORK_SLICE_UNITS,
            );
        }
        text.push('\n');
    }
    text
}

/// Seconds back to whole microseconds, for [`micros`].
fn work_p50_us(seconds: f64) -> u64 {
    (seconds * 1e6).round() as u64
}

/// The capacity sweeps in sentences: who took the most at each size, and
/// with 10% `WORK`, how far 02 and 04 get past 03.
pub fn capacity_summary(results: &Results) -> String {
    let mut text = String::new();
    let sweeps = capacities(results, Step::Capacity);
    let mut sizes: Vec<usize> = sweeps.iter().map(|c| c.connections).collect();
    sizes.sort_unstable();
    sizes.dedup();
    for size in sizes {
        let list: Vec<String> = sweeps
            .iter()
            .filter(|c| c.connections == size)
            .map(|c| format!("{} {}", c.server, c.figure()))
            .collect();
        let _ = writeln!(
            text,
            "- ECHO only, {size} connections, requests/s sustained with p99 ≤ 10 ms: {}.",
            list.join(", ")
        );
    }
    let mixed = capacities(results, Step::CapacityMixed);
    let of = |name: &str| mixed.iter().find(|c| c.server == name);
    if let Some(inline) = of(registry::ASYNC_TOKIO.name) {
        let list: Vec<String> = mixed
            .iter()
            .map(|c| format!("{} {}", c.server, c.figure()))
            .collect();
        let _ = write!(
            text,
            "- With 10% `WORK`, {} connections: {}.",
            inline.connections,
            list.join(", ")
        );
        for other in [registry::THREAD_POOL.name, registry::HYBRID_BLOCKING.name] {
            let (Some(other), Some(base)) = (of(other), inline.rate()) else {
                continue;
            };
            let Some(rate) = other.rate() else {
                continue;
            };
            // A ratio only against a limit 03 set itself; `at least` when
            // the other sweep stopped short of its own.
            if !inline.is_servers() {
                continue;
            }
            // Sweeps that stopped one rate apart are within the sweep's
            // step: a try either way could swap them.
            let rates = &results.schedule.capacity_mixed_rates;
            let index = |rate: f64| rates.iter().position(|&r| r == rate);
            if let (Some(x), Some(y)) = (index(rate), index(base)) {
                if x.abs_diff(y) <= 1 {
                    let _ = write!(
                        text,
                        " {} and 03 stopped within one rate of the sweep of each other: no order between them.",
                        other.server
                    );
                    continue;
                }
            }
            if other.is_servers() {
                let _ = write!(
                    text,
                    " {} took {:.1}× what 03 took.",
                    other.server,
                    rate / base.max(1.0)
                );
            } else {
                let _ = write!(
                    text,
                    " {} took at least {:.1}× what 03 took (a sweep that did not reach its server's limit gives a lower bound).",
                    other.server,
                    rate / base.max(1.0)
                );
            }
        }
        text.push('\n');
    }
    text
}

/// What a thread per connection cost, in sentences: at the largest step
/// where every connection was served.
pub fn threads_summary(results: &Results) -> String {
    let mut text = String::new();
    let name = registry::THREAD_PER_CONNECTION.name;
    let Some(run) = results
        .of(Step::Staircase)
        .filter(|run| run.server == name && run.all_served())
        .max_by_key(|run| run.connections)
    else {
        return text;
    };
    let Some(server) = &run.report.server else {
        return text;
    };
    if let (Some(resident), Some(reserved)) = (
        server.resident_bytes_per_thread(),
        server.virtual_bytes_per_thread(),
    ) {
        let _ = writeln!(
            text,
            "- **{name}** at {} connections ran {} threads. Each thread added reserved \
             **{:.1} MiB of address space** (its stack, mostly never touched) but kept only \
             **{:.1} KiB resident**: the \"2 MB per thread\" people quote is address space, \
             and the memory a thread really costs is about {:.0}× less.",
            run.connections,
            server.threads_loaded,
            reserved as f64 / (1024.0 * 1024.0),
            resident as f64 / 1024.0,
            reserved as f64 / resident.max(1) as f64,
        );
    }
    if run.report.requests_ok > 0 {
        let _ = writeln!(
            text,
            "- At that step it made {:.2} context switches per request ({} in all for {} answers).",
            server.context_switches as f64 / run.report.requests_ok as f64,
            server.context_switches,
            run.report.requests_ok,
        );
    }
    if let Some(beyond) = results
        .of(Step::Staircase)
        .filter(|r| r.server == name && !r.all_served())
        .min_by_key(|r| r.connections)
    {
        let _ = writeln!(
            text,
            "- At {} connections: {}.",
            beyond.connections,
            outcome(beyond),
        );
    }
    text
}

/// The peers beside the Rust models, in sentences.
pub fn peers_summary(results: &Results) -> String {
    let mut text = String::new();
    let throughput: Vec<String> = results
        .servers()
        .filter_map(|server| {
            let rounds = results.rounds(server.name, Step::Throughput, None);
            let requests = Spread::over(&rounds, |r| Some(r.report.throughput_rps))?;
            Some(format!(
                "{} {}",
                server.name,
                requests.show(|v| format!("{v:.0}"))
            ))
        })
        .collect();
    if let Some(run) = results.find(registry::ASYNC_TOKIO.name, Step::Throughput, None) {
        let _ = writeln!(
            text,
            "- Closed-loop ECHO on {} connections ({}), requests/s, median (range) of the rounds: {}.",
            run.connections,
            if run.pinned() {
                "server and tester on one core each"
            } else {
                "server and tester sharing the cores"
            },
            throughput.join(", ")
        );
    }
    let memory: Vec<String> = results
        .of(Step::Staircase)
        .filter(|run| run.connections == 10_000 && run.all_served())
        .filter_map(|run| {
            let bytes = run.report.server.as_ref()?.bytes_per_connection?;
            Some(format!("{} {bytes} B", run.server))
        })
        .collect();
    if !memory.is_empty() {
        let _ = writeln!(
            text,
            "- RSS per idle handshaked connection at 10,000 connections: {}.",
            memory.join(", ")
        );
    }
    for missing in &results.missing {
        let _ = writeln!(
            text,
            "- **{}** was not measured: {}.",
            missing.server, missing.reason
        );
    }
    text
}

/// What one request cost each server, in sentences: the kernel's share of
/// its CPU, and who switched threads per request.
pub fn cost_summary(results: &Results) -> String {
    let mut text = String::new();
    let mut shares = Vec::new();
    let mut switching = Vec::new();
    for server in results.servers() {
        let rounds = results.rounds(server.name, Step::Throughput, None);
        let figure = |pick: fn(&loadtest::report::ServerReport) -> Option<f64>| {
            Spread::over(&rounds, |r| pick(r.report.server.as_ref()?))
        };
        let (Some(user), Some(kernel), Some(switches)) = (
            figure(|s| s.user_cpu_us_per_request),
            figure(|s| s.kernel_cpu_us_per_request),
            figure(|s| s.context_switches_per_request),
        ) else {
            continue;
        };
        let share = kernel.median / (user.median + kernel.median).max(f64::EPSILON);
        shares.push(format!("{} {:.0}%", server.name, share * 100.0));
        if switches.median >= 0.5 {
            switching.push(format!("{} ({:.2})", server.name, switches.median));
        }
    }
    if shares.is_empty() {
        return text;
    }
    let _ = writeln!(
        text,
        "- The kernel's share of the server's CPU per request (medians of the rounds): {}.",
        shares.join(", ")
    );
    let _ = writeln!(
        text,
        "- Servers that switched threads about once a request or more: {}.",
        if switching.is_empty() {
            "none".to_owned()
        } else {
            switching.join(", ")
        }
    );
    text.push_str(&against_the_floor(&crate::cost::costs(results)));
    text
}

/// Each server's CPU per request as a multiple of the floor's, with the
/// order named only where the ranges are apart; then the span the Rust
/// models cover.
fn against_the_floor(costs: &[crate::cost::Cost]) -> String {
    let Some(floor) = crate::cost::floor(costs) else {
        return format!(
            "- The floor ({}) was not measured: nothing to read the other rows against.\n",
            crate::cost::FLOOR
        );
    };
    let others: Vec<&crate::cost::Cost> =
        costs.iter().filter(|c| c.server != floor.server).collect();
    if others.is_empty() {
        return String::new();
    }
    let read = |cost: &crate::cost::Cost| {
        let how = match crate::spread::order(&cost.total_us, &floor.total_us) {
            crate::spread::Order::WithinSpread => "within the spread: the ranges overlap",
            crate::spread::Order::Above => "more, the ranges apart",
            crate::spread::Order::Below => "less, the ranges apart",
        };
        format!("{} {} ({how})", cost.server, ratio(cost.times(floor)))
    };
    let mut text = format!(
        "- Against the floor ({}: {:.2} µs of CPU per request, range {:.2}–{:.2}): {}.\n",
        floor.server,
        floor.total_us.median,
        floor.total_us.min,
        floor.total_us.max,
        others
            .iter()
            .map(|c| read(c))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let rust: Vec<f64> = others
        .iter()
        .filter(|c| registry::find(c.server).is_ok_and(|s| s.is_rust_model()))
        .map(|c| c.times(floor))
        .collect();
    if let (Some(least), Some(most)) = (
        rust.iter().copied().reduce(f64::min),
        rust.iter().copied().reduce(f64::max),
    ) {
        let _ = writeln!(
            text,
            "- With ECHO alone, the Rust models cost from {} to {} the floor's CPU per request (medians).",
            ratio(least),
            ratio(most)
        );
    }
    text
}

/// Model 05's targets: RSS per idle connection at 10,000 connections at
/// most this many bytes…
pub const EVENT_LOOP_RSS_TARGET: u64 = 256;
/// …and closed-loop ECHO throughput at least this many times 03's.
pub const EVENT_LOOP_THROUGHPUT_TARGET: f64 = 1.15;
/// What the work on 05 set for 03's and 04's RSS per idle connection.
pub const TOKIO_RSS_TARGET: u64 = 1024;
/// 05's server CPU per ECHO request, at most this many times the floor's…
pub const EVENT_LOOP_FLOOR_CPU_TARGET: f64 = 1.05;
/// …and its system calls per request at most the floor's plus this.
pub const EVENT_LOOP_FLOOR_SYSCALLS_TARGET: f64 = 0.15;

/// Whether model 05 met its two targets in this run, in sentences.
pub fn event_loop_targets(results: &Results) -> String {
    let event_loop = registry::EVENT_LOOP.name;
    let tokio = registry::ASYNC_TOKIO.name;
    let mut text = String::new();
    let rss = |server| {
        results
            .find(server, Step::Staircase, Some(10_000))
            .filter(|run| run.all_served())
            .and_then(bytes_per_connection)
    };
    if let (Some(ours), Some(theirs)) = (rss(event_loop), rss(tokio)) {
        let verdict = if ours <= EVENT_LOOP_RSS_TARGET {
            "**met**".to_owned()
        } else {
            format!("**missed** by {} B", ours - EVENT_LOOP_RSS_TARGET)
        };
        let _ = writeln!(
            text,
            "- **Memory.** At 10,000 idle connections, {event_loop} grew by **{ours} B** of RSS \
             per connection ({tokio}: {theirs} B, {:.1}× more). The target was at most \
             {EVENT_LOOP_RSS_TARGET} B: {verdict}.",
            theirs as f64 / ours as f64
        );
    }
    let tokio_models = [tokio, registry::HYBRID_BLOCKING.name];
    let verdicts: Vec<String> = tokio_models
        .iter()
        .filter_map(|&server| {
            let bytes = rss(server)?;
            let verdict = if bytes <= TOKIO_RSS_TARGET {
                "**met**".to_owned()
            } else {
                format!("**missed** by {} B", bytes - TOKIO_RSS_TARGET)
            };
            Some(format!("{server} grew by **{bytes} B** ({verdict})"))
        })
        .collect();
    if !verdicts.is_empty() {
        let _ = writeln!(
            text,
            "- **03 and 04 made smaller.** At 10,000 idle connections, {}. The target was at \
             most {TOKIO_RSS_TARGET} B.",
            verdicts.join(", ")
        );
    }
    let throughput = |server| results.find(server, Step::Throughput, None);
    let spread = |server| {
        Spread::over(&results.rounds(server, Step::Throughput, None), |r| {
            Some(r.report.throughput_rps)
        })
    };
    if let (Some(ours), Some(theirs), Some(ours_spread), Some(theirs_spread)) = (
        throughput(event_loop),
        throughput(tokio),
        spread(event_loop),
        spread(tokio),
    ) {
        let ratio = ours_spread.median / theirs_spread.median.max(1.0);
        let verdict = if ratio >= EVENT_LOOP_THROUGHPUT_TARGET {
            "**met**".to_owned()
        } else {
            format!(
                "**missed** by {:.0}%",
                (1.0 - ratio / EVENT_LOOP_THROUGHPUT_TARGET) * 100.0
            )
        };
        let verdict = if ours_spread.overlaps(&theirs_spread) {
            format!("{verdict}, on medians whose ranges overlap (within the spread)")
        } else {
            verdict
        };
        let _ = write!(
            text,
            "- **Throughput.** Closed-loop ECHO on {} connections, median (range) of the rounds: \
             {event_loop} answered {} requests/s, {tokio} {}: **{ratio:.2}×**. The target was \
             {EVENT_LOOP_THROUGHPUT_TARGET:.2}×: {verdict}.",
            ours.connections,
            ours_spread.show(|v| format!("{v:.0}")),
            theirs_spread.show(|v| format!("{v:.0}")),
        );
        let limited: Vec<String> = [ours, theirs]
            .iter()
            .filter_map(|run| Some(format!("{} ({})", run.server, run.report.tester_limit()?)))
            .collect();
        if limited.is_empty() {
            let _ = writeln!(text);
        } else {
            let _ = writeln!(
                text,
                " The tester ({}) was the limit for {}: requests per second then say \
                 how fast the tester went as much as the server; the server's CPU per \
                 request is the steadier comparison.",
                if ours.pinned() {
                    "alone on its own core"
                } else {
                    "sharing the cores with the server"
                },
                limited.join(" and ")
            );
        }
    }
    text
}

/// 05 against the floor, measured in the same interleaved rounds: CPU per
/// request as a multiple of the floor's, system calls per request above
/// the floor's, each against its target.
pub fn event_loop_at_the_floor(costs: &[crate::cost::Cost]) -> String {
    let event_loop = registry::EVENT_LOOP.name;
    let (Some(floor), Some(ours)) = (
        crate::cost::floor(costs),
        costs.iter().find(|c| c.server == event_loop),
    ) else {
        return String::new();
    };
    let times = ours.times(floor);
    let cpu_verdict = if times <= EVENT_LOOP_FLOOR_CPU_TARGET {
        "**met**".to_owned()
    } else {
        format!(
            "**missed** by {:.0}% of the floor's CPU",
            (times - EVENT_LOOP_FLOOR_CPU_TARGET) * 100.0
        )
    };
    let overlap = if ours.total_us.overlaps(&floor.total_us) {
        " (the two ranges overlap: within the spread)"
    } else {
        " (the ranges do not overlap)"
    };
    let mut text = format!(
        "- **At the floor: CPU.** Closed-loop ECHO, pinned, median (range) of the rounds: \
         {event_loop} spent {} µs of CPU per request, {} {} µs: **{times:.2}×**{overlap}. \
         The target was at most {EVENT_LOOP_FLOOR_CPU_TARGET:.2}×: {cpu_verdict}.\n",
        ours.total_us.show(|us| format!("{us:.2}")),
        floor.server,
        floor.total_us.show(|us| format!("{us:.2}")),
    );
    if let (Some(our_calls), Some(floor_calls)) = (&ours.syscalls, &floor.syscalls) {
        let extra = our_calls.median - floor_calls.median;
        let verdict = if extra <= EVENT_LOOP_FLOOR_SYSCALLS_TARGET {
            "**met**".to_owned()
        } else {
            format!(
                "**missed** by {:.2}",
                extra - EVENT_LOOP_FLOOR_SYSCALLS_TARGET
            )
        };
        let _ = writeln!(
            text,
            "- **At the floor: system calls.** {event_loop} made {} system calls per request, \
             {} {}: **{extra:+.2}**. The target was at most +{EVENT_LOOP_FLOOR_SYSCALLS_TARGET:.2}: \
             {verdict}.",
            our_calls.show(|n| format!("{n:.2}")),
            floor.server,
            floor_calls.show(|n| format!("{n:.2}")),
        );
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    /// Three rounds of throughput for each server: (server, [CPU µs per
    /// request], system calls per request).
    fn costs_of(rows: &[(&str, [f64; 3], f64)]) -> Results {
        let entries: Vec<(&str, Step, usize, u64)> = rows
            .iter()
            .flat_map(|(server, _, _)| [(*server, Step::Throughput, 64, 64); 3])
            .collect();
        let mut results = results_with(&entries);
        let figures = rows
            .iter()
            .flat_map(|(_, totals, calls)| totals.iter().map(move |t| (*t, *calls)));
        for (run, (total, calls)) in results.runs.iter_mut().zip(figures) {
            let server = run.report.server.as_mut().unwrap();
            server.user_cpu_us_per_request = Some(0.0);
            server.kernel_cpu_us_per_request = Some(total);
            server.syscalls_per_request = Some(calls);
        }
        results
    }

    #[test]
    fn against_the_floor_an_order_is_named_only_where_the_ranges_are_apart() {
        let results = costs_of(&[
            ("c-peer", [4.0, 4.2, 4.4], 2.0),
            ("05-event-loop", [4.3, 4.6, 4.4], 2.5),
            ("02-thread-pool", [8.0, 8.4, 8.8], 3.0),
        ]);
        let text = cost_summary(&results);
        assert!(
            text.contains("05-event-loop 1.0× (within the spread: the ranges overlap)"),
            "{text}"
        );
        assert!(
            text.contains("02-thread-pool 2.0× (more, the ranges apart)"),
            "{text}"
        );
        assert!(
            text.contains("the Rust models cost from 1.0× to 2.0× the floor's"),
            "{text}"
        );
        let targets = event_loop_at_the_floor(&crate::cost::costs(&results));
        assert!(
            targets.contains("**1.05×** (the two ranges overlap"),
            "{targets}"
        );
        assert!(targets.contains("1.05×: **met**"), "{targets}");
        assert!(targets.contains("**+0.50**"), "{targets}");
        assert!(targets.contains("**missed** by 0.35"), "{targets}");
    }

    #[test]
    fn without_the_floor_the_cost_summary_says_so() {
        let results = costs_of(&[("03-async-tokio", [5.0, 5.0, 5.0], 3.0)]);
        let text = cost_summary(&results);
        assert!(
            text.contains("The floor (c-peer) was not measured"),
            "{text}"
        );
        assert!(event_loop_at_the_floor(&crate::cost::costs(&results)).is_empty());
    }

    #[test]
    fn the_threads_summary_tells_address_space_from_resident_memory() {
        let mut results = results_with(&[
            ("02-per-connection", Step::Staircase, 1000, 1000),
            ("02-per-connection", Step::Staircase, 100_000, 19_936),
        ]);
        let server = results.runs[0].report.server.as_mut().unwrap();
        server.threads_loaded = server.threads_before + 1000;
        server.rss_bytes_loaded = server.rss_bytes_before + 1000 * 16 * 1024;
        server.vm_bytes_loaded = server.vm_bytes_before + 1000 * 8 * 1024 * 1024;
        let text = threads_summary(&results);
        assert!(
            text.contains("at 1000 connections ran 1004 threads"),
            "{text}"
        );
        assert!(text.contains("**8.0 MiB of address space**"), "{text}");
        assert!(text.contains("**16.0 KiB resident**"), "{text}");
        assert!(text.contains("about 512× less"), "{text}");
        assert!(text.contains("2.00 context switches per request"), "{text}");
        assert!(
            text.contains("At 100000 connections: 19936 of 100000 served, 80064 busy."),
            "{text}"
        );
    }

    #[test]
    fn the_event_loop_targets_say_met_or_by_how_much_missed() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::Staircase, 10_000, 10_000),
            ("05-event-loop", Step::Staircase, 10_000, 10_000),
            ("03-async-tokio", Step::Throughput, 64, 64),
            ("05-event-loop", Step::Throughput, 64, 64),
        ]);
        for (run, bytes, rps) in [
            (0, 1400, 0.0),
            (1, 300, 0.0),
            (2, 0, 100_000.0),
            (3, 0, 110_000.0),
        ] {
            let report = &mut results.runs[run].report;
            report.server.as_mut().unwrap().bytes_per_connection = Some(bytes);
            report.throughput_rps = rps;
        }
        let text = event_loop_targets(&results);
        assert!(text.contains("grew by **300 B**"), "{text}");
        assert!(
            text.contains("03-async-tokio grew by **1400 B** (**missed** by 376 B)"),
            "{text}"
        );
        assert!(text.contains("**missed** by 44 B"), "{text}");
        assert!(text.contains("**1.10×**"), "{text}");
        assert!(text.contains("**missed** by 4%"), "{text}");
        results.runs[1]
            .report
            .server
            .as_mut()
            .unwrap()
            .bytes_per_connection = Some(200);
        results.runs[3].report.throughput_rps = 120_000.0;
        let text = event_loop_targets(&results);
        assert_eq!(text.matches("**met**").count(), 2, "{text}");
    }

    #[test]
    fn the_peers_summary_names_what_was_not_measured() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::Throughput, 64, 64),
            ("go-peer", Step::Throughput, 64, 64),
            ("go-peer", Step::Staircase, 10_000, 10_000),
        ]);
        results.missing.push(loadtest::suite::data::Missing {
            server: "node-peer".into(),
            reason: "`node` is not installed".into(),
        });
        let text = peers_summary(&results);
        assert!(
            text.contains(
                "on 64 connections (server and tester sharing the cores), requests/s, median (range) \
                 of the rounds: 03-async-tokio 999, go-peer 999."
            ),
            "{text}"
        );
        assert!(
            text.contains("10,000 connections: go-peer 1500 B."),
            "{text}"
        );
        assert!(
            text.contains("**node-peer** was not measured: `node` is not installed."),
            "{text}"
        );
    }

    #[test]
    fn the_capacity_summary_gives_a_ratio_only_between_server_limits() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::CapacityMixed, 100, 100),
            ("03-async-tokio", Step::CapacityMixed, 100, 100),
            ("04-hybrid-blocking", Step::CapacityMixed, 100, 100),
            ("04-hybrid-blocking", Step::CapacityMixed, 100, 100),
        ]);
        for (run, (rate, p99)) in results.runs.iter_mut().zip([
            (2000.0, 500),
            (4000.0, 50_000),
            (6000.0, 500),
            (8000.0, 50_000),
        ]) {
            run.rate = Some(rate);
            run.report.by_request.get_mut(&Kind::Echo).unwrap().p99 = p99;
        }
        let text = capacity_summary(&results);
        assert!(
            text.contains("03-async-tokio 2000, 04-hybrid-blocking 6000."),
            "{text}"
        );
        assert!(
            text.contains("04-hybrid-blocking took 3.0× what 03 took."),
            "{text}"
        );
        // One rate of the sweep apart (04 at 4000): no order between them.
        let mut close = results.clone();
        close.runs[2].rate = Some(4000.0);
        close.runs[3].rate = Some(6000.0);
        let text = capacity_summary(&close);
        assert!(
            text.contains("stopped within one rate of the sweep of each other: no order"),
            "{text}"
        );
        assert!(!text.contains('×'), "{text}");
        results.runs[3].report.tester.cpu_share = 0.99;
        let text = capacity_summary(&results);
        assert!(text.contains("took at least 3.0×"), "{text}");
        results.runs[1].report.tester.cpu_share = 0.99;
        let text = capacity_summary(&results);
        assert!(
            !text.contains(" took "),
            "03 gave only a lower bound: {text}"
        );
    }

    #[test]
    fn the_mixed_arithmetic_multiplies_share_rate_and_duration() {
        let mut results = results_with(&[
            ("04-hybrid-blocking", Step::MixedWork, 100, 100),
            ("04-hybrid-blocking", Step::MixedSleep, 100, 100),
        ]);
        results.stamp.cores = 2;
        let mut work = results.runs[0].report.by_request[&Kind::Echo];
        work.p50 = 1000;
        results.runs[0].report.by_request.insert(Kind::Work, work);
        let text = mixed_arithmetic(&results, &Schedule::new(false));
        // 10% of 2000/s × 1 ms = 0.2; 5% of 2000/s × 10 ms = 1.
        assert!(
            text.contains(
                "0.20 s of WORK every second, so on average **0.20 of 03's 2 worker threads**"
            ),
            "{text}"
        );
        assert!(text.contains("**1.00 of 03's 2 worker threads**"), "{text}");
        // The scheduler's view: 0.20 s a second over 2 cores is 10% of each.
        assert!(
            text.contains("**10% of each of the 2 cores'** time"),
            "{text}"
        );
        assert!(text.contains("up to 1.0 ms"), "{text}");
        assert!(text.contains("slices of 64 units"), "{text}");
        assert_eq!(
            text.matches("of each of the").count(),
            1,
            "only the WORK line: {text}"
        );
    }

    #[test]
    fn the_headline_marks_every_figure_the_tester_limited() {
        let top = Schedule::new(false).top();
        let mut results = results_with(&[
            ("03-async-tokio", Step::Staircase, top, top as u64),
            ("02-thread-pool", Step::Staircase, top, 128),
            ("01-single-thread", Step::Staircase, top, 1),
        ]);
        results.runs[0].report.tester.cpu_share = 1.0;
        results.runs[1].report.tester.cpu_share = 1.0;
        let text = summary(&results, &results.schedule);
        let line = |name: &str| {
            text.lines()
                .find(|l| l.contains(name))
                .unwrap_or_default()
                .to_owned()
        };
        assert!(
            line("03-async-tokio").contains(" (**tester-limited**) at "),
            "{text}"
        );
        assert!(
            line("02-thread-pool").ends_with(" (**tester-limited**)."),
            "{text}"
        );
        assert!(
            !line("01-single-thread").contains("tester-limited"),
            "{text}"
        );
    }
}
