//! What the tester does beyond one plain run: a server shutting down under
//! load, pipelining, latency over time (`intervals`, `--hlog`), and the runs
//! of several load hosts saved and merged. Every server here runs in this
//! process on loopback.

// A test's panics are its failures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::thread;
use std::time::Duration;

use conformance::RunningServer;
use hdrhistogram::serialization::Deserializer;
use hdrhistogram::serialization::interval_log::{IntervalLogIterator, LogEntry};
use loadtest::metrics::Latency;
use serde_json::Value;

const LOADTEST: &str = env!("CARGO_BIN_EXE_loadtest");

fn start(model: &str) -> RunningServer {
    launch::start_named(model, launch::Sizes::default())
        .unwrap()
        .into()
}

fn loadtest(args: &[&str]) -> Output {
    Command::new(LOADTEST).args(args).output().unwrap()
}

/// `loadtest run --json` against `target`, which must succeed.
fn run_json(target: &str, extra: &[&str]) -> Value {
    let mut args = vec!["run", "--target", target, "--json"];
    args.extend_from_slice(extra);
    json_of(&loadtest(&args))
}

fn json_of(output: &Output) -> Value {
    assert!(
        output.status.success(),
        "loadtest failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("--json prints one JSON object")
}

fn count(report: &Value, path: &[&str]) -> u64 {
    let mut value = report;
    for key in path {
        value = &value[*key];
    }
    value
        .as_u64()
        .unwrap_or_else(|| panic!("{path:?} in {report}"))
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("loadtest-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_server_shutting_down_under_load_is_closed_by_server_not_wrong_answers() {
    for model in [
        "01-single-thread",
        "02-thread-pool",
        "03-async-tokio",
        "04-hybrid-blocking",
        "05-event-loop",
    ] {
        let mut server = start(model);
        // The server runs in this process, so a stand-in process plays its
        // pid: it ends when the server is stopped, as a server's process
        // ends on SIGTERM.
        let mut stand_in = Command::new("sleep").arg("60").spawn().unwrap();
        // 01 serves one connection at a time: the others would wait in its
        // backlog until the shutdown, and never be "under load".
        let connections = if model == "01-single-thread" {
            "1"
        } else {
            "6"
        };
        let run = Command::new(LOADTEST)
            .args(["run", "--target", &server.addr().to_string(), "--json"])
            .args(["-c", connections, "--rate", "600", "-d", "6s"])
            .args(["--server-pid", &stand_in.id().to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Connected, settled, and sending requests.
        thread::sleep(Duration::from_millis(2000));
        server.begin_stop(); // what SIGTERM does: answer, BYE, close
        stand_in.kill().unwrap();
        stand_in.wait().unwrap();
        let report = json_of(&run.wait_with_output().unwrap());
        server.assert_returned_cleanly();

        assert_eq!(count(&report, &["errors", "wrong_answer"]), 0, "{model}");
        let byes = count(&report, &["closed_by_server", "BYE"]);
        assert!(byes >= 1, "{model}: no BYE counted: {report}");
        let by_text: u64 = report["closed_by_server"]
            .as_object()
            .unwrap()
            .values()
            .map(|n| n.as_u64().unwrap())
            .sum();
        assert_eq!(
            count(&report, &["errors", "closed_by_server"]),
            by_text,
            "{model}"
        );
        assert!(report["unanswered"].is_u64(), "{model}");
        let exited = report["server_exited_after_s"].as_f64();
        assert!(
            exited.is_some_and(|s| s >= 0.0),
            "{model}: the server's exit is not reported: {report}"
        );
        assert!(count(&report, &["requests_ok"]) > 0, "{model}: no load ran");
    }
}

/// A server that answers nothing until `batch` requests have arrived, then
/// answers them all in one write (and echoes everything after): only a
/// client that pipelines gets past the first batch. Returns its address and
/// how many complete lines each of its reads after the handshake held.
fn batch_server(batch: usize) -> (String, std::sync::mpsc::Receiver<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let (reads, told) = std::sync::mpsc::channel();
    thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        let mut writer = stream.try_clone().unwrap();
        let mut reader = BufReader::new(stream);
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let x: u64 = line.trim()[6..].parse().unwrap();
        writeln!(writer, "HELLO {}", x + 1).unwrap();
        line.clear();
        reader.read_line(&mut line).unwrap(); // HELLO x+2
        let mut pending = Vec::new();
        loop {
            let mut chunk = [0u8; 4096];
            let n = match reader.get_mut().read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            pending.extend_from_slice(&chunk[..n]);
            let complete = pending.iter().filter(|&&b| b == b'\n').count();
            let _ = reads.send(complete);
            if complete >= batch {
                // Echo every complete line back, in order.
                let end = pending.iter().rposition(|&b| b == b'\n').unwrap() + 1;
                writer.write_all(&pending[..end]).unwrap();
                pending.drain(..end);
            }
        }
    });
    (addr, told)
}

#[test]
fn pipelined_requests_go_out_together_and_every_answer_is_matched() {
    let (target, reads) = batch_server(8);
    let report = run_json(
        &target,
        &[
            "-c",
            "1",
            "--pipeline",
            "8",
            "--requests-per-connection",
            "40",
            "--timeout",
            "5s",
        ],
    );
    assert_eq!(count(&report, &["requests_ok"]), 40, "{report}");
    assert_eq!(count(&report, &["pipeline"]), 8);
    let lines: Vec<usize> = reads.try_iter().collect();
    assert!(
        lines[0] >= 2,
        "the first read held {} request(s): not pipelined",
        lines[0]
    );
    // The server answers each batch in one write, so the tester reads the
    // batch's answers at once; it must refill the window in one write too,
    // not a request per answer (which the server would read as eight).
    assert!(
        lines.len() <= 40 / 8 + 1,
        "the server's reads held {lines:?} requests: the window was refilled piecemeal"
    );
}

#[test]
fn without_pipelining_the_batch_server_never_answers() {
    let (target, _) = batch_server(8);
    let output = loadtest(&[
        "run",
        "--target",
        &target,
        "--json",
        "-c",
        "1",
        "--requests-per-connection",
        "4",
        "--timeout",
        "500ms",
    ]);
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(count(&report, &["requests_ok"]), 0);
    assert_eq!(count(&report, &["errors", "timeout"]), 1);
    assert_eq!(count(&report, &["unanswered"]), 1);
}

#[test]
fn pipelined_answers_of_different_kinds_are_checked_in_order() {
    let server = start("03-async-tokio");
    let report = run_json(
        &server.addr().to_string(),
        &[
            "-c",
            "4",
            "--pipeline",
            "16",
            "--mix",
            "echo=50,work=50",
            "--work-units",
            "20",
            "--requests-per-connection",
            "200",
        ],
    );
    // An answer matched to the wrong request would be a wrong answer: a
    // DONE is not an ECHO.
    assert_eq!(count(&report, &["requests_ok"]), 800, "{report}");
    assert_eq!(count(&report, &["errors", "wrong_answer"]), 0);
    assert!(count(&report, &["by_request", "work", "count"]) > 0);
    assert!(count(&report, &["by_request", "echo", "count"]) > 0);
    server.stop();
}

/// The request histogram of a saved run, decoded by hand.
fn saved_request_histogram(path: &Path) -> Latency {
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    Latency::decode(saved["measured"]["request"].as_str().unwrap()).unwrap()
}

#[test]
fn saved_runs_merge_into_the_sums_and_the_exact_percentiles() {
    let server = start("03-async-tokio");
    let target = server.addr().to_string();
    let dir = scratch("merge");
    let (a, b) = (dir.join("a.json"), dir.join("b.json"));
    let first = run_json(
        &target,
        &[
            "-c",
            "3",
            "--requests-per-connection",
            "50",
            "--save",
            a.to_str().unwrap(),
        ],
    );
    let second = run_json(
        &target,
        &[
            "-c",
            "5",
            "--requests-per-connection",
            "20",
            "--mix",
            "echo=80,work=20",
            "--work-units",
            "200",
            "--save",
            b.to_str().unwrap(),
        ],
    );
    server.stop();
    let merged = json_of(&loadtest(&[
        "merge",
        "--json",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]));
    for field in ["connections_requested", "handshakes_ok", "requests_ok"] {
        assert_eq!(
            count(&merged, &[field]),
            count(&first, &[field]) + count(&second, &[field]),
            "{field}"
        );
    }
    assert_eq!(count(&merged, &["requests_ok"]), 250);
    let mut by_hand = saved_request_histogram(&a);
    by_hand.merge(&saved_request_histogram(&b));
    let want = by_hand.summary();
    let request = &merged["latency_us"]["request"];
    for (field, value) in [
        ("count", want.count),
        ("p50", want.p50),
        ("p99", want.p99),
        ("p999", want.p999),
        ("max", want.max),
    ] {
        assert_eq!(request[field].as_u64(), Some(value), "merged {field}");
    }
    assert!(count(&merged, &["by_request", "work", "count"]) > 0);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn latency_over_time_is_in_the_json_and_an_hdrhistogram_interval_log() {
    let server = start("03-async-tokio");
    let dir = scratch("hlog");
    let log = dir.join("run.hlog");
    let report = run_json(
        &server.addr().to_string(),
        &[
            "-c",
            "4",
            "--rate",
            "400",
            "-d",
            "2s",
            "--interval",
            "500ms",
            "--hlog",
            log.to_str().unwrap(),
        ],
    );
    server.stop();
    let intervals = report["intervals"].as_array().unwrap();
    assert!(intervals.len() >= 3, "{intervals:?}");
    let answered: f64 = intervals
        .iter()
        .map(|i| i["throughput_rps"].as_f64().unwrap() * 0.5)
        .sum();
    assert_eq!(answered.round() as u64, count(&report, &["requests_ok"]));
    assert_eq!(intervals[1]["start_s"].as_f64(), Some(0.5));
    assert!(intervals[1]["complete"].as_bool().unwrap());
    assert_eq!(
        intervals[1]["by_request"]["echo"]["count"].as_f64(),
        Some(intervals[1]["throughput_rps"].as_f64().unwrap() * 0.5),
        "ECHO alone ran"
    );

    // HdrHistogram's own reader accepts the log, and its histograms hold
    // every answer.
    let bytes = std::fs::read(&log).unwrap();
    let mut histograms = 0;
    let mut samples = 0;
    for entry in IntervalLogIterator::new(&bytes) {
        if let LogEntry::Interval(interval) = entry.expect("a well-formed interval log") {
            assert_eq!(interval.duration(), Duration::from_millis(500));
            let encoded = base64::Engine::decode(
                &base64::engine::general_purpose::STANDARD,
                interval.encoded_histogram(),
            )
            .unwrap();
            let histogram: hdrhistogram::Histogram<u64> = Deserializer::new()
                .deserialize(&mut std::io::Cursor::new(encoded))
                .unwrap();
            samples += histogram.len();
            histograms += 1;
        }
    }
    assert_eq!(histograms, intervals.len());
    assert_eq!(samples, count(&report, &["requests_ok"]));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_start_time_already_past_starts_at_once_and_says_so() {
    let server = start("03-async-tokio");
    let output = loadtest(&[
        "run",
        "--target",
        &server.addr().to_string(),
        "-c",
        "2",
        "--requests-per-connection",
        "5",
        "--start-at",
        "1",
    ]);
    server.stop();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--start-at was"), "{stderr}");
    assert!(String::from_utf8_lossy(&output.stdout).contains("10 ok"));
}
