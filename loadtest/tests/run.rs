//! `loadtest` as a user runs it, against a real server in this process
//! (03-async-tokio on port 0), so the server's memory is this process's.

// A test's panics are its failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Output};
use std::thread;

use common::CommonArgs;
use conformance::RunningServer;
use serde_json::Value;

const LOADTEST: &str = env!("CARGO_BIN_EXE_loadtest");

/// 03-async-tokio on a thread of this process.
fn start_03(args: CommonArgs) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    launch::start(
        &registry::ASYNC_TOKIO,
        listener,
        &args,
        launch::Sizes::default(),
    )
    .unwrap()
    .into()
}

fn loadtest(args: &[&str]) -> Output {
    Command::new(LOADTEST)
        .args(args)
        .output()
        .expect("run loadtest")
}

/// Runs `loadtest run --json`, expecting success, and parses its standard
/// output.
fn run_json(target: &str, extra: &[&str]) -> Value {
    let (output, report) = run_json_any(target, extra);
    assert!(
        output.status.success(),
        "loadtest failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    report
}

/// Runs `loadtest run --json` whatever its exit status: the output (for the
/// status and standard error) and the report.
fn run_json_any(target: &str, extra: &[&str]) -> (Output, Value) {
    let mut args = vec!["run", "--target", target, "--json"];
    args.extend_from_slice(extra);
    let output = loadtest(&args);
    let report = serde_json::from_slice(&output.stdout).unwrap_or_else(|error| {
        panic!(
            "--json prints one JSON object ({error}): {}",
            String::from_utf8_lossy(&output.stderr)
        )
    });
    (output, report)
}

/// A stand-in server on threads of this process: `serve` runs on each
/// connection, on a thread of its own. Its address.
fn fake_server(serve: impl Fn(TcpStream) + Copy + Send + 'static) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let target = listener.local_addr().unwrap().to_string();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(stream) = stream else { return };
            thread::spawn(move || serve(stream));
        }
    });
    target
}

/// A server that answers every line with `answer` (`None`: accepts, reads,
/// and never says a word).
fn impostor(answer: Option<&'static str>) -> String {
    fake_server(move |stream| {
        let mut writer = stream.try_clone().unwrap();
        for _line in BufReader::new(stream).lines().map_while(Result::ok) {
            if let Some(answer) = answer {
                if writer.write_all(answer.as_bytes()).is_err() {
                    return;
                }
            }
        }
    })
}

fn errors(report: &Value, kind: &str) -> u64 {
    report["errors"][kind].as_u64().unwrap()
}

/// Whether `perf stat` can count system calls here (it needs the binary
/// and the permission to read tracepoints).
fn perf_works() -> bool {
    Command::new("perf")
        .args(["stat", "-x", ",", "-e", "raw_syscalls:sys_enter", "true"])
        .output()
        .is_ok_and(|out| out.status.success())
}

#[test]
fn a_closed_loop_run_reports_the_json_contract() {
    let server = start_03(CommonArgs::default());
    let target = server.addr().to_string();
    let me = std::process::id().to_string();
    let report = run_json(
        &target,
        &[
            "-c",
            "20",
            "--requests-per-connection",
            "10",
            "--mix",
            "echo=80,work=20",
            // Enough WORK for the server's CPU to show: /proc counts it in
            // clock ticks (10 ms), and 200 ECHOs alone can take less than one.
            "--work-units",
            "5000",
            "--server-pid",
            &me,
            "--model",
            "03-async-tokio",
        ],
    );
    assert_eq!(report["model"], "03-async-tokio");
    assert_eq!(report["mode"], "closed");
    for (field, want) in [
        ("connections_requested", 20),
        ("connections_reached", 20),
        ("handshakes_ok", 20),
        ("requests_ok", 200),
    ] {
        assert_eq!(report[field].as_u64(), Some(want), "{field}");
    }
    assert!(
        report["errors"]
            .as_object()
            .unwrap()
            .values()
            .all(|n| n == 0)
    );
    assert!(report["duration_s"].as_f64().unwrap() > 0.0);
    assert!(report["throughput_rps"].as_f64().unwrap() > 0.0);
    for latency in ["connect", "handshake", "request"] {
        let p = &report["latency_us"][latency];
        for field in ["p50", "p90", "p99", "p999", "max"] {
            assert!(p[field].is_u64(), "latency_us.{latency}.{field}");
        }
        assert!(p["p50"].as_u64() <= p["max"].as_u64());
    }
    assert_eq!(report["latency_us"]["request"]["count"], 200);
    let echo = report["by_request"]["echo"]["count"].as_u64().unwrap();
    let work = report["by_request"]["work"]["count"].as_u64().unwrap();
    assert_eq!(echo + work, 200);
    assert!(
        work > 0 && echo > work,
        "about 80/20: {echo} echo, {work} work"
    );
    assert!(
        report["by_request"].get("sleep").is_none(),
        "only kinds that ran"
    );
    let server_side = &report["server"];
    assert_eq!(server_side["processes"], 1);
    assert!(server_side["rss_bytes_loaded"].as_u64().unwrap() > 0);
    for field in [
        "rss_bytes_before",
        "rss_bytes_peak",
        "threads",
        "bytes_per_connection",
        "kernel_slab_bytes",
    ] {
        assert!(server_side.get(field).is_some(), "server.{field}");
    }
    assert_eq!(report["tester"]["processes"], 1);
    assert!(!report["tester"]["cores"].as_array().unwrap().is_empty());
    // What one request cost each side: CPU always; system calls when perf
    // can count them (else null, never a zero).
    let perf = perf_works();
    for side in ["server", "tester"] {
        let costs = &report[side];
        let cpu = costs["user_cpu_us_per_request"].as_f64().unwrap()
            + costs["kernel_cpu_us_per_request"].as_f64().unwrap();
        assert!(cpu > 0.0, "{side}: {costs}");
        assert!(costs["context_switches_per_request"].is_f64(), "{side}");
        let syscalls = &costs["syscalls_per_request"];
        if perf {
            assert!(syscalls.as_f64().unwrap() >= 1.0, "{side}: {syscalls}");
        } else {
            assert!(syscalls.is_null(), "{side}: {syscalls}");
        }
    }
    assert!(report["latency_us"].get("request_uncorrected").is_none());
    server.stop();
}

#[test]
fn an_open_loop_run_reports_the_uncorrected_latency_beside() {
    let server = start_03(CommonArgs::default());
    let report = run_json(
        &server.addr().to_string(),
        &["-c", "10", "--rate", "200", "-d", "1s"],
    );
    assert_eq!(report["mode"], "open");
    let requests = report["requests_ok"].as_u64().unwrap();
    assert!(
        (150..=210).contains(&requests),
        "200 requests/s for 1 s: {requests}"
    );
    assert!(report["latency_us"]["request_uncorrected"]["p99"].is_u64());
    assert!(report["tester"]["send_lag_p99_us"].is_u64());
    server.stop();
}

#[test]
fn several_processes_merge_exactly() {
    let server = start_03(CommonArgs::default());
    let report = run_json(
        &server.addr().to_string(),
        &[
            "-c",
            "9",
            "--processes",
            "3",
            "--requests-per-connection",
            "7",
        ],
    );
    assert_eq!(report["tester"]["processes"], 3);
    assert_eq!(report["handshakes_ok"], 9);
    assert_eq!(report["requests_ok"], 63);
    assert_eq!(report["latency_us"]["request"]["count"], 63);
    assert_eq!(report["latency_us"]["handshake"]["count"], 9);
    server.stop();
}

/// The million run's connecting logic at a small scale: several processes
/// and source addresses, and an open loop slower than one request per
/// connection, where only the first fifth of the connections have a turn
/// in the run (the rest hold their connection and never wait for the start).
#[test]
fn several_processes_and_sources_where_only_some_connections_send() {
    let server = start_03(CommonArgs::default());
    let report = run_json(
        &server.addr().to_string(),
        &[
            "-c",
            "2000",
            "--processes",
            "4",
            "--source",
            "127.0.0.1,127.0.0.2,127.0.0.3",
            "--rate",
            "200",
            "-d",
            "2s",
        ],
    );
    assert_eq!(report["tester"]["processes"], 4);
    assert_eq!(report["handshakes_ok"], 2000);
    // 0.1 requests/s per connection: connection i's only turn is at
    // 10 s × i / 2000, inside the 2 s run for the first 400.
    assert_eq!(report["requests_ok"], 400);
    assert_eq!(report["unanswered"], 0);
    for (kind, count) in report["errors"].as_object().unwrap() {
        assert_eq!(count, 0, "no {kind} errors");
    }
    server.stop();
}

#[test]
fn busy_and_refused_connections_are_counted_by_kind() {
    let server = start_03(CommonArgs {
        max_connections: Some(4),
        ..CommonArgs::default()
    });
    let target = server.addr().to_string();
    let report = run_json(
        &target,
        &[
            "-c",
            "10",
            "--requests-per-connection",
            "1",
            "--allow-partial",
        ],
    );
    assert_eq!(report["connections_reached"], 10);
    assert_eq!(report["handshakes_ok"], 4);
    assert_eq!(errors(&report, "busy"), 6);
    // Without --allow-partial the same run is a failure, said in one line.
    let (output, _) = run_json_any(&target, &["-c", "10", "--requests-per-connection", "1"]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("only 4 of 10 connections completed the handshake (6 busy)"),
        "{stderr}"
    );
    server.stop();

    // Nobody listening: the report still counts every refusal, and the exit
    // status and one line say that nothing was measured.
    let nobody = conformance::process::free_port().to_string();
    let output = loadtest(&[
        "run",
        "--target",
        &nobody,
        "--json",
        "-c",
        "5",
        "--requests-per-connection",
        "1",
    ]);
    assert!(!output.status.success());
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(report["connections_reached"], 0);
    assert_eq!(errors(&report, "refused"), 5);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        stderr.matches("error: no connection reached").count(),
        1,
        "{stderr}"
    );
    assert!(stderr.contains("5 refused"), "{stderr}");
    // The system's own words, beside the kind.
    assert!(stderr.contains("Connection refused (os error"), "{stderr}");
    assert_eq!(report["io_errors"].as_object().unwrap().len(), 1);
}

#[test]
fn a_run_where_nothing_was_answered_fails() {
    // A server of another protocol, and one that accepts and never answers:
    // the report counts what happened, and the exit status is 1.
    let http = impostor(Some("HTTP/1.1 400 Bad Request\r\n\r\n"));
    let silent = impostor(None);
    for (target, kind) in [(http, "wrong_answer"), (silent, "timeout")] {
        let (output, report) = run_json_any(
            &target,
            &[
                "-c",
                "4",
                "--requests-per-connection",
                "1",
                "--timeout",
                "1s",
            ],
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{kind}: {stderr}");
        assert_eq!(report["handshakes_ok"], 0);
        assert_eq!(errors(&report, kind), 4, "{report}");
        assert!(
            stderr.contains("error: no request was answered correctly"),
            "{stderr}"
        );
        assert!(stderr.contains(&format!("4 {kind}")), "{stderr}");
    }
}

#[test]
fn a_request_refused_with_err_is_counted_by_text_and_the_connection_kept() {
    let server = start_03(CommonArgs::default());
    // SLEEP over the server's --max-sleep, sent on purpose: each is
    // answered `ERR sleep too long`, and the ECHOs after it still are.
    let (output, report) = run_json_any(
        &server.addr().to_string(),
        &[
            "-c",
            "2",
            "--requests-per-connection",
            "20",
            "--mix",
            "echo=50,sleep=50",
            "--sleep-ms",
            "5000",
            "--allow-invalid",
        ],
    );
    server.stop();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let refused = report["request_errors"]["ERR sleep too long"]
        .as_u64()
        .unwrap();
    let answered = report["requests_ok"].as_u64().unwrap();
    assert!(refused > 0 && answered > 0, "{report}");
    assert_eq!(refused + answered, 40, "every request got an answer");
    assert_eq!(errors(&report, "other_err"), refused);
    assert_eq!(report["handshakes_ok"], 2);
    assert_eq!(report["unanswered"], 0);
    assert!(report["closed_by_server"].as_object().unwrap().is_empty());
    assert!(
        stderr.contains("× \"ERR sleep too long\" (connections kept)"),
        "{stderr}"
    );
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("answered with an error")),
        "{report}"
    );
}

#[test]
fn values_that_cannot_make_a_run_are_refused_before_it_starts() {
    for (flags, wanted) in [
        (
            &["--mix", "work=100", "--work-units", "9999999"][..],
            "--max-work",
        ),
        (&["--mix", "sleep=100", "--sleep-ms", "5000"], "--max-sleep"),
        (&["--payload", "5000"], "--max-line"),
        (&["-c", "0"], "measure nothing"),
        (&["--rate", "0"], "above 0"),
        (&["--mix", "echo=90,work=20"], "add up to 110"),
        (&["--mix", "echo=50,echo=50"], "named twice"),
    ] {
        // Nobody listens on port 1: a run that started would fail with rc 1.
        let mut args = vec!["run", "--target", "127.0.0.1:1"];
        args.extend_from_slice(flags);
        let output = loadtest(&args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{flags:?}: {stderr}");
        assert!(stderr.contains(wanted), "{flags:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{flags:?} ran and reported");
    }
}

#[test]
fn merge_refuses_to_count_one_run_twice() {
    let server = start_03(CommonArgs::default());
    let dir = std::env::temp_dir().join(format!("loadtest-twice-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (a, copy) = (dir.join("a.json"), dir.join("copy.json"));
    let target = server.addr().to_string();
    let save = |path: &std::path::Path| {
        let output = loadtest(&[
            "run",
            "--target",
            &target,
            "-c",
            "2",
            "--requests-per-connection",
            "3",
            "--save",
            path.to_str().unwrap(),
        ]);
        assert!(output.status.success());
    };
    save(&a);
    std::fs::copy(&a, &copy).unwrap();
    let b = dir.join("b.json");
    save(&b);
    server.stop();
    for pair in [[&a, &a], [&a, &copy]] {
        let output = loadtest(&[
            "merge",
            pair[0].to_str().unwrap(),
            pair[1].to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{pair:?}");
        assert!(stderr.contains("hold the same run"), "{stderr}");
    }
    let two = loadtest(&["merge", "--json", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert!(two.status.success());
    let merged: Value = serde_json::from_slice(&two.stdout).unwrap();
    assert_eq!(merged["requests_ok"], 12);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn wrong_answers_are_caught() {
    // A server that does the handshake right and then echoes in capitals.
    let target = fake_server(|stream| {
        let mut writer = stream.try_clone().unwrap();
        let mut lines = BufReader::new(stream).lines();
        let Some(Ok(hello)) = lines.next() else {
            return;
        };
        let x: u64 = hello[6..].parse().unwrap();
        writeln!(writer, "HELLO {}", x + 1).unwrap();
        let _third = lines.next();
        for line in lines.map_while(Result::ok) {
            if writeln!(writer, "{}", line.to_uppercase()).is_err() {
                return;
            }
        }
    });
    let (output, report) = run_json_any(&target, &["-c", "3", "--requests-per-connection", "5"]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(report["handshakes_ok"], 3);
    assert_eq!(report["requests_ok"], 0);
    assert_eq!(errors(&report, "wrong_answer"), 3);
}

#[test]
fn bad_input_gets_one_clear_line_and_a_failure() {
    let dir = std::env::temp_dir().join(format!("loadtest-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let truncated = dir.join("truncated.json");
    std::fs::write(
        &truncated,
        r#"{"format":"loadtest 0.1.0 saved run 2","spec":{"#,
    )
    .unwrap();
    let other_version = dir.join("other.json");
    std::fs::write(&other_version, r#"{"format":"loadtest 9.9.9 saved run 7"}"#).unwrap();
    let missing = dir.join("missing.json");
    for (args, wanted) in [
        (
            vec!["run", "--target", "127.0.0.1:1", "--mix", "echo=lots"],
            "whole number",
        ),
        (vec!["run", "--target", "no-port"], "HOST:PORT"),
        (vec!["merge", truncated.to_str().unwrap()], "truncated"),
        (
            vec!["merge", other_version.to_str().unwrap()],
            "loadtest 9.9.9",
        ),
        (vec!["merge", missing.to_str().unwrap()], "cannot read"),
    ] {
        let output = loadtest(&args);
        assert!(!output.status.success(), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(wanted), "{args:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn doctor_explains_what_a_hundred_thousand_connections_need() {
    let output = loadtest(&["doctor", "-c", "100000"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for needle in [
        "open files",
        "client processes",
        "ephemeral ports",
        "source address",
        "somaxconn",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    // A plan no machine here can hold is a problem before anything starts.
    let output = loadtest(&["doctor", "-c", "99999999999"]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{text}");
    for topic in ["open files", "memory"] {
        assert!(
            text.lines()
                .any(|line| line.contains("PROBLEM") && line.contains(topic)),
            "{topic}: {text}"
        );
    }
}

#[test]
fn probe_prints_a_checked_transcript() {
    let server = start_03(CommonArgs::default());
    let output = loadtest(&["probe", "--target", &server.addr().to_string()]);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{text}");
    for needle in [
        "C: HELLO 41",
        "S: HELLO 42",
        "S: DONE 1000 ",
        "S: SLEPT 10",
        "S: BYE",
        "every answer checked",
    ] {
        assert!(text.contains(needle), "{needle} missing from:\n{text}");
    }
    server.stop();
}
