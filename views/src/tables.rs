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
use crate::spread::Spread;

/// The line under every table: where, when and by which command.
pub fn footer(results: &Results) -> String {
    let command = format!(
        "`cargo run --release --bin loadtest -- suite{}`",
        if results.quick { " --quick" } else { "" }
    );
    let parts = results.parts();
    let mut footer = if parts.len() <= 1 {
        format!(
            "\n*Measured {} on {} ({} cores, client and server on the same machine), commit `{}`, by {command}.*\n",
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
            "\n*Measured on {} ({} cores, client and server on the same machine) by {command}, in parts: {}.*\n",
            results.stamp.cpu,
            results.stamp.cores,
            list.join("; ")
        )
    };
    let _ = write!(footer, "{}", method_line(results));
    for missing in &results.missing {
        let _ = write!(
            footer,
            "\n*Not measured: {} ({}).*\n",
            missing.server, missing.reason
        );
    }
    footer
}

/// How the comparisons were measured: rounds, and who had which cores.
fn method_line(results: &Results) -> String {
    let pinned = results.runs.iter().find_map(|run| run.pinning.as_ref());
    // The steps that ran pinned, read from the runs.
    let pinned_steps: Vec<String> = Step::ALL
        .iter()
        .filter(|&&step| results.of(step).any(Run::pinned))
        .map(|step| {
            let unpinned_too = results.of(*step).any(|r| !r.pinned());
            format!(
                "{step}{}",
                if unpinned_too {
                    " (and again unpinned)"
                } else {
                    ""
                }
            )
        })
        .collect();
    let cores = match pinned {
        Some(p) => format!(
            "Pinned, server on CPU {} and tester on CPU {} (one core each): {}; \
             every other step shares all {} cores",
            p.server,
            p.tester,
            pinned_steps.join(", "),
            results.stamp.cores
        ),
        None => format!(
            "Every step: both sides share all {} cores",
            results.stamp.cores
        ),
    };
    format!(
        "\n*{cores}. Comparisons are the median of {} rounds (range in brackets), the servers taking turns; \
         the staircase is measured once.*\n",
        results.schedule.rounds
    )
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

/// The staircase in one row per server: the largest step where it served
/// every connection, what a request waited there and what a connection
/// cost, and what happened at the next step. The full table has every
/// step; this one has the steps where the models part.
pub fn staircase_steps(results: &Results) -> String {
    let mut table = String::from(
        "| server | every connection served up to | request p99 there | RSS + kernel per connection there | at the next step |\n\
         |---|---:|---:|---:|---|\n",
    );
    for server in results.servers() {
        let runs: Vec<&Run> = results
            .of(Step::Staircase)
            .filter(|r| r.server == server.name)
            .collect();
        let held = runs.iter().take_while(|r| r.all_served()).last();
        let next = runs.iter().find(|r| !r.all_served());
        let Some(held) = held else {
            continue;
        };
        let p99 = marked_p99(held);
        let memory = bytes_per_connection(held)
            .zip(kernel_bytes_per_connection(held))
            .map_or("–".to_owned(), |(user, kernel)| {
                format!("{user} + {kernel} = {} B", user + kernel)
            });
        let next = next.map_or("– (the last step)".to_owned(), |run| {
            format!("{}: {}{}", run.connections, outcome(run), tester_mark(run))
        });
        let _ = writeln!(
            table,
            "| {} | {} | {p99} | {memory} | {next} |",
            server.name, held.connections
        );
    }
    table
}

/// A million connections, worked out from each server's measured cost per
/// connection at the largest step where it served everyone: its RSS and
/// the kernel's part, times a million. Beside it, what stopped the server
/// at the staircase's top step, if anything did: memory is not always the
/// first limit.
pub fn million_arithmetic(results: &Results) -> String {
    const MILLION: f64 = 1e6;
    let mut table = String::from(
        "| server | measured at | RSS + kernel per connection | × a million | at the staircase's top step |\n\
         |---|---:|---:|---:|---|\n",
    );
    for server in results.servers() {
        let runs: Vec<&Run> = results
            .of(Step::Staircase)
            .filter(|r| r.server == server.name)
            .collect();
        let Some((held, user, kernel)) = runs
            .iter()
            .filter(|r| r.all_served())
            .filter_map(|r| {
                Some((
                    *r,
                    bytes_per_connection(r)?,
                    kernel_bytes_per_connection(r)?,
                ))
            })
            .next_back()
        else {
            continue;
        };
        let Some(top) = runs.iter().max_by_key(|r| r.connections) else {
            continue;
        };
        let whole = (user + kernel) as f64 * MILLION / f64::from(1u32 << 30);
        let limited = tester_mark(top);
        let stopped = if top.all_served() {
            format!("all served{limited}")
        } else {
            format!("{}: {}{limited}", top.connections, outcome(top))
        };
        let _ = writeln!(
            table,
            "| {} | {} | {user} + {kernel} = {} B | {whole:.1} GiB | {stopped} |",
            server.name,
            held.connections,
            user + kernel
        );
    }
    table
}

/// The suite's million step, a row per server: connections held, how long
/// connecting took, ECHO's p99 over the run and in its first and worst
/// other second, how late the tester sent, and the server's memory per
/// connection. Empty when the step has not run (it runs only when asked).
pub fn million_step(results: &Results) -> String {
    let runs: Vec<&Run> = results.of(Step::Million).collect();
    if runs.is_empty() {
        return "The suite's million step has not run here (`loadtest suite --steps million`).\n"
            .to_owned();
    }
    let mut table = String::from(
        "| server | connections held | connect phase | ECHO p99 | ECHO p99, first second / worst other | tester's send lag, p99 | RSS growth + kernel per connection |\n\
         |---|---:|---:|---:|---:|---:|---:|\n",
    );
    let bytes = |b: Option<u64>| b.map_or("–".to_owned(), |b| format!("{b}"));
    for run in runs {
        let report = &run.report;
        let seconds: Vec<u64> = report
            .intervals
            .iter()
            .filter(|i| i.complete)
            .map(|i| i.p99)
            .collect();
        let by_second = match seconds.split_first() {
            Some((first, rest)) => format!(
                "{} / {}",
                micros(*first),
                rest.iter().max().map_or("–".to_owned(), |&us| micros(us))
            ),
            None => "–".to_owned(),
        };
        let lag = report.tester.send_lag_p99_us.map_or("–".to_owned(), micros);
        let _ = writeln!(
            table,
            "| {} | {} of {} | {:.1} s | {} | {by_second} | {lag} | {} + {} B |",
            run.server,
            report.handshakes_ok,
            report.connections_requested,
            report.connect_phase_s,
            marked_p99(run),
            bytes(bytes_per_connection(run)),
            bytes(kernel_bytes_per_connection(run)),
        );
    }
    table
}

/// The mark after a figure read from a run the tester could not keep on
/// schedule (partly the tester's figure), the same in every table and
/// sentence.
pub fn tester_mark(run: &Run) -> &'static str {
    if run.report.tester_limit().is_some() {
        " (**tester-limited**)"
    } else {
        ""
    }
}

/// A run's request p99, marked when the tester could not keep on schedule.
fn marked_p99(run: &Run) -> String {
    format!(
        "{}{}",
        micros(run.report.latency_us.request.p99),
        tester_mark(run)
    )
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

/// The mixed workloads: each server's median round (by ECHO p99), with
/// the ECHO p99 of every round as a range.
pub fn mixed(results: &Results) -> String {
    let mut table = String::from(
        "| server | workload | where the WORK or SLEEP runs | connections | requests/s | what happened (median round) | ECHO p50 | ECHO p99, median (range) | ECHO p99.9 | WORK or SLEEP p99 | threads |\n\
         |---|---|---|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    for server in results.servers() {
        for step in [Step::MixedWork, Step::MixedSleep] {
            let rounds = results.rounds(server.name, step, None);
            let Some(run) = results.find(server.name, step, None) else {
                continue;
            };
            let report = &run.report;
            let echo = report.kind(Kind::Echo);
            let other = report.kind(if step == Step::MixedSleep {
                Kind::Sleep
            } else {
                Kind::Work
            });
            let echo_p99 = Spread::over(&rounds, |r| Some(r.report.kind(Kind::Echo)?.p99 as f64))
                .map_or("–".to_owned(), |s| s.show(|us| micros(us as u64)));
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} | {:.0} | {} | {} | {echo_p99} | {} | {} | {} |",
                run.server,
                run.step,
                where_slow_requests_run(&run.server, step),
                run.connections,
                report.throughput_rps,
                rounds_outcome(run, &rounds),
                percentile(echo, |p| p.p50),
                percentile(echo, |p| p.p999),
                percentile(other, |p| p.p99),
                report
                    .server
                    .as_ref()
                    .map_or("–".to_owned(), |s| s.threads.to_string()),
            );
        }
    }
    table
}

/// Where each server runs the slow request of a mixed workload, and
/// whether a `WORK` gives its core back between slices
/// (`protocol::work_yielding`): what its chapter and source say.
fn where_slow_requests_run(server: &str, step: Step) -> &'static str {
    let work = step == Step::MixedWork;
    match server {
        "01-single-thread" | "02-thread-pool" | "02-per-connection" if work => {
            "the connection's thread, in slices"
        }
        "01-single-thread" | "02-thread-pool" | "02-per-connection" => "the connection's thread",
        "03-async-tokio" => "inline, on a Tokio worker",
        "04-hybrid-blocking" if work => "rayon, in slices",
        "04-hybrid-blocking" => "Tokio's blocking pool",
        "05-event-loop" if work => "05's pool, in slices",
        "05-event-loop" => "05's pool",
        "go-peer" if work => "its goroutine, in one piece",
        "go-peer" => "its goroutine (parked)",
        "node-peer" => "inline, on the event loop",
        _ => "–",
    }
}

/// The median round's outcome, and how many rounds the tester limited.
fn rounds_outcome(median: &Run, rounds: &[&Run]) -> String {
    let limited = rounds
        .iter()
        .filter(|r| r.report.tester_limit().is_some())
        .count();
    let mut text = outcome(median);
    if limited > 0 {
        let _ = write!(
            text,
            "; **tester-limited** in {limited} of {} rounds",
            rounds.len()
        );
    }
    text
}

/// Requests per second, as a spread over rounds.
fn rps(spread: &Spread) -> String {
    spread.show(|r| format!("{:.0}k", r / 1000.0))
}

/// The cores a pinned run gave each side, in words.
pub fn cores_of(run: &Run) -> String {
    run.pinning.as_ref().map_or("shared".to_owned(), |p| {
        format!("server {} · tester {}", p.server, p.tester)
    })
}

/// The most requests each server answered, closed loop, one request in
/// flight per connection and then several: medians of the rounds with
/// their range, and what one request cost the server.
pub fn throughput(results: &Results) -> String {
    let mut table = String::from(
        "| server | in flight per connection | requests/s, median (range) | p50 | p99, median (range) | server CPU per request | server system calls per request | tester system calls per request | tester CPU (of its cores) |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for server in results.servers() {
        for step in [Step::Throughput, Step::Pipelined] {
            let rounds = results.rounds(server.name, step, None);
            let Some(run) = results.find(server.name, step, None) else {
                continue;
            };
            let Some(requests) = Spread::over(&rounds, |r| Some(r.report.throughput_rps)) else {
                continue;
            };
            let p99 = Spread::over(&rounds, |r| Some(r.report.latency_us.request.p99 as f64))
                .map_or("–".to_owned(), |s| s.show(|us| micros(us as u64)));
            let cost = Spread::over(&rounds, server_cpu_us)
                .map_or("–".to_owned(), |s| format!("{:.2} µs", s.median));
            let calls = Spread::over(&rounds, |r| r.report.server.as_ref()?.syscalls_per_request)
                .map_or("–".to_owned(), |s| format!("{:.2}", s.median));
            let tester_calls = Spread::over(&rounds, |r| r.report.tester.syscalls_per_request)
                .map_or("–".to_owned(), |s| format!("{:.2}", s.median));
            let tester = Spread::over(&rounds, |r| Some(r.report.tester.cpu_share))
                .map_or("–".to_owned(), |s| format!("{:.0}%", s.median * 100.0));
            let limited = rounds
                .iter()
                .filter(|r| r.report.tester_limit().is_some())
                .count();
            let limited = if limited > 0 {
                format!(" **tester-limited** ({limited} of {})", rounds.len())
            } else {
                String::new()
            };
            let _ = writeln!(
                table,
                "| {} | {} | {} | {} | {p99} | {cost} | {calls} | {tester_calls} | {tester}{limited} |",
                run.server,
                run.report.pipeline,
                rps(&requests),
                micros(run.report.latency_us.request.p50),
            );
        }
    }
    table
}

/// The server's CPU (user and kernel) per request of one run, in µs.
pub fn server_cpu_us(run: &Run) -> Option<f64> {
    let server = run.report.server.as_ref()?;
    Some(server.user_cpu_us_per_request? + server.kernel_cpu_us_per_request?)
}

/// The same closed loop pinned (one core each) and unpinned (both sides
/// share every core), rounds interleaved: what the scheduler's choice of
/// who runs where does to the figure and to its spread.
pub fn pinning(results: &Results) -> String {
    let mut table = String::from(
        "| server | pinned: requests/s, median (range) | spread | unpinned: requests/s, median (range) | spread | server CPU per request, pinned · unpinned |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    for server in results.servers() {
        let all: Vec<&Run> = results
            .of(Step::Throughput)
            .filter(|r| r.server == server.name)
            .collect();
        let (pinned, unpinned): (Vec<&Run>, Vec<&Run>) = all.iter().partition(|r| r.pinned());
        let figures = |runs: &[&Run]| {
            let requests = Spread::over(runs, |r| Some(r.report.throughput_rps))?;
            let cpu = Spread::over(runs, server_cpu_us)?;
            Some((requests, cpu))
        };
        let (Some((pinned, pinned_cpu)), Some((shared, shared_cpu))) =
            (figures(&pinned), figures(&unpinned))
        else {
            continue;
        };
        let width =
            |s: &Spread| format!("±{:.0}%", (s.max - s.min) / 2.0 / s.median.max(1.0) * 100.0);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} | {:.2} µs · {:.2} µs |",
            server.name,
            rps(&pinned),
            width(&pinned),
            rps(&shared),
            width(&shared),
            pinned_cpu.median,
            shared_cpu.median,
        );
    }
    table
}

/// What one request cost each server, closed loop ECHO, pinned: CPU in user
/// space and in the kernel, system calls and context switches, medians of
/// the rounds, the floor first and each total against the floor's; and
/// what it cost the tester.
pub fn cost(results: &Results) -> String {
    let costs = crate::cost::costs(results);
    let floor = crate::cost::floor(&costs);
    let mut table = String::from(
        "| server | user µs | kernel µs | total µs, median (range) | × the floor | system calls | context switches | tester: total µs | tester: system calls |\n\
         |---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    let median = |spread: &Option<Spread>, digits: usize| {
        spread
            .as_ref()
            .map_or("–".to_owned(), |s| format!("{:.digits$}", s.median))
    };
    for cost in &costs {
        let times = floor.map_or("–".to_owned(), |floor| {
            format!("{:.2}", cost.times(floor))
        });
        let _ = writeln!(
            table,
            "| {} | {:.2} | {:.2} | {} | {times} | {} | {} | {} | {} |",
            cost.server,
            cost.user_us.median,
            cost.kernel_us.median,
            cost.total_us.show(|us| format!("{us:.2}")),
            median(&cost.syscalls, 2),
            median(&cost.switches, 3),
            median(&cost.tester_total_us, 2),
            median(&cost.tester_syscalls, 2),
        );
    }
    table
}

/// What each step of the suite took, runs and minutes: the cost of the
/// rounds, for whoever reruns it.
pub fn timing(results: &Results) -> String {
    let mut table = String::from(
        "| step | runs | rounds (a sweep: most tries of one rate) | servers | minutes |\n|---|---:|---:|---:|---:|\n",
    );
    let mut total = 0.0;
    for step in Step::every() {
        let runs: Vec<&Run> = results.of(step).collect();
        if runs.is_empty() {
            continue;
        }
        let seconds: f64 = runs.iter().map(|r| r.took_s).sum();
        total += seconds;
        let mut servers: Vec<&str> = runs.iter().map(|r| r.server.as_str()).collect();
        servers.sort_unstable();
        servers.dedup();
        let rounds = runs.iter().map(|r| r.round).max().unwrap_or(1);
        let _ = writeln!(
            table,
            "| {step} | {} | {} | {} | {:.1} |",
            runs.len(),
            rounds,
            servers.len(),
            seconds / 60.0
        );
    }
    let _ = writeln!(
        table,
        "| **all** | {} | | | **{:.1}** |",
        results.runs.len(),
        total / 60.0
    );
    table
}

/// How far apart two figures of the same code may be before the page calls
/// it noise to explain.
pub const SAME_CODE_TOLERANCE: f64 = 0.10;

/// One figure of [`sanity`]: its name, 03's and 04's, and how to write it.
/// The last field says what may explain a gap, when the results show it.
type SanityRow = (
    String,
    Option<Spread>,
    Option<Spread>,
    fn(f64) -> String,
    String,
);

/// 03 and 04 run the same code for ECHO: their ECHO-only figures should
/// agree. Each pair is compared on medians; a pair more than
/// [`SAME_CODE_TOLERANCE`] apart is flagged as noise to be explained.
pub fn sanity(results: &Results) -> String {
    let (a, b) = (registry::ASYNC_TOKIO.name, registry::HYBRID_BLOCKING.name);
    let mut table = format!(
        "| ECHO-only figure (same code in {a} and {b}) | {a} | {b} | apart | verdict |\n|---|---:|---:|---:|---|\n"
    );
    let mut rows: Vec<SanityRow> = Vec::new();
    let all_limited = |step| {
        [a, b].iter().all(|name| {
            let rounds = results.rounds(name, step, None);
            !rounds.is_empty() && rounds.iter().all(|r| r.report.tester_limit().is_some())
        })
    };
    for step in [Step::Throughput, Step::Pipelined] {
        let requests = |name| {
            Spread::over(&results.rounds(name, step, None), |r| {
                Some(r.report.throughput_rps)
            })
        };
        let why = if all_limited(step) {
            "every round of both was tester-limited: the pace is the tester's".to_owned()
        } else {
            String::new()
        };
        rows.push((
            format!("{step}: requests/s"),
            requests(a),
            requests(b),
            |v| format!("{:.0}k", v / 1000.0),
            why,
        ));
    }
    let cpu = |name| Spread::over(&results.rounds(name, Step::Throughput, None), server_cpu_us);
    rows.push((
        "throughput: server CPU µs per request".into(),
        cpu(a),
        cpu(b),
        |v| format!("{v:.2}"),
        String::new(),
    ));
    let sweeps = capacities(results, Step::Capacity);
    let rates = &results.schedule.capacity_rates;
    for size in results.schedule.capacity_connections.clone() {
        let found = |name: &str| {
            sweeps
                .iter()
                .find(|c| c.server == name && c.connections == size)
        };
        let capacity = |name: &str| Spread::of([found(name)?.sustained?.rate?]);
        let lower_bound = [a, b]
            .iter()
            .any(|name| found(name).is_some_and(|c| !c.is_servers()));
        // Where each sweep stopped, as an index into the rates.
        let stop = |name: &str| {
            let rate = found(name)?.stopped.as_ref()?.0.rate?;
            rates.iter().position(|&r| r == rate)
        };
        let why = match (stop(a), stop(b)) {
            _ if lower_bound => {
                "a lower bound (the tester ended a sweep): not a test of the servers".to_owned()
            }
            (Some(x), Some(y)) if x.abs_diff(y) == 1 => {
                "one rate of the sweep apart, where the rates step by up to 2×".to_owned()
            }
            _ => String::new(),
        };
        rows.push((
            format!("capacity at {size} connections: requests/s"),
            capacity(a),
            capacity(b),
            |v| format!("{v:.0}"),
            why,
        ));
    }
    for (name, first, second, show, why) in rows {
        let (Some(first), Some(second)) = (first, second) else {
            continue;
        };
        let apart = first.relative_gap(&second);
        let overlap = if first.rounds > 1 && first.overlaps(&second) {
            " (their ranges overlap)"
        } else {
            ""
        };
        let verdict = if why.starts_with("a lower bound") {
            format!("cannot be checked: {why}")
        } else if apart <= SAME_CODE_TOLERANCE {
            format!("agree{overlap}")
        } else {
            let why = match (why.is_empty(), overlap.is_empty()) {
                (true, _) => overlap.to_owned(),
                (false, true) => format!(" ({why})"),
                (false, false) => format!(" ({why}; their ranges overlap)"),
            };
            format!(
                "**{:.0}% apart: noise to be explained**{why}",
                apart * 100.0
            )
        };
        let _ = writeln!(
            table,
            "| {name} | {} | {} | {:.0}% | {verdict} |",
            first.show(show),
            second.show(show),
            apart * 100.0
        );
    }
    table
}

/// The stalled server, open and closed loop: the percentiles counted from
/// when each request was meant to go out, and from when it went out.
pub fn stalled(results: &Results) -> String {
    let mut table = String::from(
        "| server | loop | round | requests/s | p50 | p99 | p99.9 | max | p99 uncorrected | max uncorrected |\n\
         |---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in results.of(Step::Stalled) {
        let report = &run.report;
        let request = &report.latency_us.request;
        let uncorrected = report.latency_us.request_uncorrected.as_ref();
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            run.server,
            if run.rate.is_some() {
                "open, on schedule"
            } else {
                "closed, next after answer"
            },
            run.round,
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
        "| server | connections | capacity, requests/s (ECHO p99 ≤ {} ms) | ECHO p50 / p99 there | tester CPU there | next rate | why the sweep stopped at the next rate | the next rate's tries: ECHO p99 |\n\
         |---|---:|---:|---:|---:|---:|---|---|\n",
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
        let tries = sweep.stopped.as_ref().map_or("–".to_owned(), |(run, _)| {
            tries_text(results, step, &sweep, run.rate)
        });
        let _ = writeln!(
            table,
            "| {}{} | {} | {} | {latency} | {tester} | {next} | {why} | {tries} |",
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

/// Every try of one rate of a sweep, its ECHO p99 each (sorted; `T`
/// marks a try the tester limited, left out of the median): the spread
/// behind the verdict.
fn tries_text(
    results: &Results,
    step: Step,
    sweep: &capacity::Capacity,
    rate: Option<f64>,
) -> String {
    let mut tries: Vec<(u64, bool)> = results
        .of(step)
        .filter(|r| {
            r.server == sweep.server
                && r.connections == sweep.connections
                && r.server_flags.join(" ") == sweep.flags
                && r.rate == rate
        })
        .map(|r| (capacity::echo_p99(r), r.report.tester_limit().is_some()))
        .collect();
    tries.sort_unstable();
    let shown: Vec<String> = tries
        .iter()
        .map(|&(p99, limited)| format!("{}{}", micros(p99), if limited { " T" } else { "" }))
        .collect();
    shown.join(", ")
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
        "| server | WORKs at once (one per connection) | units each | all answered after, median (range) | WORK p50 / max (median round) | server threads |\n\
         |---|---:|---:|---:|---:|---:|\n",
    );
    let units = loadtest::suite::schedule::Schedule::new(results.quick).cpu_batch_work_units;
    for server in results.servers() {
        let rounds = results.rounds(server.name, Step::CpuBatch, None);
        let (Some(run), Some(took)) = (
            results.find(server.name, Step::CpuBatch, None),
            Spread::over(&rounds, |r| Some(r.report.duration_s)),
        ) else {
            continue;
        };
        let work = run.report.kind(Kind::Work);
        let _ = writeln!(
            table,
            "| {} | {} | {} | {} | {} / {} | {} |",
            run.server,
            run.connections,
            units,
            took.show(|s| format!("{s:.2} s")),
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
    fn the_mixed_table_says_where_each_slow_request_runs() {
        let results = results_with(&[
            ("03-async-tokio", Step::MixedWork, 100, 100),
            ("05-event-loop", Step::MixedWork, 100, 100),
            ("05-event-loop", Step::MixedSleep, 100, 100),
        ]);
        let table = mixed(&results);
        assert!(
            table.contains("| 03-async-tokio | mixed-work | inline, on a Tokio worker |"),
            "{table}"
        );
        assert!(
            table.contains("| 05-event-loop | mixed-work | 05's pool, in slices |"),
            "{table}"
        );
        assert!(
            table.contains("| 05-event-loop | mixed-sleep | 05's pool |"),
            "{table}"
        );
        assert_eq!(
            where_slow_requests_run("a-new-server", Step::MixedWork),
            "–"
        );
    }

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

    /// Three closed-loop rounds each of 03 and 04 at these requests/s.
    fn throughput_rounds(tokio: [f64; 3], hybrid: [f64; 3]) -> Results {
        let mut results = results_with(&[("03-async-tokio", Step::Throughput, 64, 64); 6]);
        for (i, (run, rps)) in results
            .runs
            .iter_mut()
            .zip(tokio.iter().chain(&hybrid))
            .enumerate()
        {
            if i >= 3 {
                run.server = "04-hybrid-blocking".into();
            }
            run.round = i % 3 + 1;
            run.report.mode = loadtest::report::Mode::Closed;
            run.report.throughput_rps = *rps;
        }
        results
    }

    #[test]
    fn throughput_shows_the_median_of_the_rounds_and_their_range() {
        let results = throughput_rounds([90_000.0, 110_000.0, 100_000.0], [1.0, 2.0, 3.0]);
        let table = throughput(&results);
        assert!(table.contains("| 100k (90k–110k) |"), "{table}");
        let median = results
            .find("03-async-tokio", Step::Throughput, None)
            .unwrap();
        assert_eq!(median.report.throughput_rps, 100_000.0, "the median round");
    }

    #[test]
    fn the_same_code_must_agree_or_be_flagged() {
        let agree = throughput_rounds([100e3, 104e3, 98e3], [101e3, 97e3, 106e3]);
        let table = sanity(&agree);
        assert!(
            table.contains("| agree (their ranges overlap) |"),
            "{table}"
        );
        assert!(!table.contains("noise"), "{table}");
        let apart = throughput_rounds([100e3, 104e3, 98e3], [80e3, 79e3, 85e3]);
        let table = sanity(&apart);
        assert!(
            table.contains("25% apart: noise to be explained** |"),
            "apart, and the ranges do not overlap: {table}"
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
        let table = throughput(&results);
        assert!(
            table.contains(
                "| 03-async-tokio | 1 | 1k | 90 µs | 1.5 ms | 5.00 µs | 3.00 | 0.50 | 20% |"
            ),
            "{table}"
        );
    }

    #[test]
    fn the_short_staircase_stops_at_the_last_step_all_were_served() {
        let mut results = results_with(&[
            ("02-thread-pool", Step::Staircase, 100, 100),
            ("02-thread-pool", Step::Staircase, 1000, 128),
            ("02-thread-pool", Step::Staircase, 10_000, 128),
            ("05-event-loop", Step::Staircase, 1000, 1000),
            ("05-event-loop", Step::Staircase, 10_000, 10_000),
            ("01-single-thread", Step::Staircase, 10, 1),
        ]);
        results.runs[1].report.tester.cpu_share = 1.0;
        let server = results.runs[4].report.server.as_mut().unwrap();
        server.bytes_per_connection = Some(203);
        server.kernel_slab_bytes = Some(10_000 * 2 * 3900);
        let table = staircase_steps(&results);
        assert!(
            table.contains("| 02-thread-pool | 100 |")
                && table.contains("| 1000: 128 of 1000 served")
                && table.contains("busy (**tester-limited**) |"),
            "{table}"
        );
        assert!(
            table.contains("| 05-event-loop | 10000 |")
                && table.contains("203 + 3900 = 4103 B")
                && table.contains("– (the last step)"),
            "{table}"
        );
        assert!(
            !table.contains("01-single-thread"),
            "01 never served all: {table}"
        );
    }

    #[test]
    fn the_million_step_has_a_row_per_server_and_says_when_it_has_not_run() {
        let mut results = results_with(&[("03-async-tokio", Step::Staircase, 10, 10)]);
        assert!(million_step(&results).contains("has not run here"));
        results = results_with(&[("05-event-loop", Step::Million, 1_000_000, 1_000_000)]);
        let run = &mut results.runs[0];
        run.report.tester.send_lag_p99_us = Some(63_600);
        run.report.latency_us.request.p99 = 27_400;
        let table = million_step(&results);
        assert!(
            table.contains("| 05-event-loop | 1000000 of 1000000 |")
                && table.contains("| 27 ms (**tester-limited**) |")
                && table.contains("| 64 ms |"),
            "{table}"
        );
    }

    #[test]
    fn a_million_is_worked_out_from_the_last_step_all_were_served() {
        let mut results = results_with(&[
            ("02-per-connection", Step::Staircase, 10_000, 10_000),
            ("02-per-connection", Step::Staircase, 100_000, 16_126),
            ("03-async-tokio", Step::Staircase, 1000, 1000),
        ]);
        for run in &mut results.runs {
            let server = run.report.server.as_mut().unwrap();
            server.bytes_per_connection = Some(14_000);
            server.kernel_slab_bytes = Some(run.report.handshakes_ok * 2 * 4000);
        }
        results.runs[1].report.tester.cpu_share = 1.0;
        let table = million_arithmetic(&results);
        // (14000 + 4000) × 10⁶ B = 16.8 GiB, from the 10000 step.
        assert!(
            table.contains("| 02-per-connection | 10000 | 14000 + 4000 = 18000 B | 16.8 GiB | 100000: 16126 of 100000 served")
                && table.contains("(**tester-limited**) |"),
            "{table}"
        );
        assert!(table.contains("| 03-async-tokio | 1000 |"), "{table}");
    }
}
