//! The `01-single-thread` binary as a user runs it: flags, signals, the
//! exit status and the final counters line.

use std::process::Command;
use std::time::Duration;

use conformance::TestClient;
use conformance::process::ServerProcess;
use protocol::CounterSnapshot;

const BINARY: &str = env!("CARGO_BIN_EXE_01-single-thread");

/// The counters in the `final counters: …` line, which must be the last.
fn final_counters(stdout: &str) -> CounterSnapshot {
    let last = stdout.lines().last().unwrap_or_default();
    let counters = last
        .strip_prefix("final counters: ")
        .unwrap_or_else(|| panic!("the last line is not the final counters: {last:?}"));
    CounterSnapshot::parse(counters).unwrap_or_else(|| panic!("bad counters: {last:?}"))
}

#[test]
fn sigterm_says_bye_and_prints_the_final_counters() {
    let server = ServerProcess::start(BINARY, &[]);
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("ECHO over the wire", "ECHO over the wire");
    let finished = std::thread::scope(|scope| {
        let reader = scope.spawn(move || {
            client.expect_final("BYE");
        });
        let finished = server.stop_with(libc::SIGTERM, Duration::from_secs(20));
        reader.join().expect("client");
        finished
    });
    assert!(finished.status.success(), "exit status {}", finished.status);
    assert_eq!(
        final_counters(&finished.stdout).to_string(),
        "active=0 accepted=1 handshakes=1 requests=1 errors=0 rejected=0"
    );
    assert_eq!(
        finished.stdout.lines().count(),
        1,
        "logs go to stderr, not stdout"
    );
}

#[test]
fn sigint_stops_an_idle_server_with_status_zero() {
    let server = ServerProcess::start(BINARY, &[]);
    let finished = server.stop_with(libc::SIGINT, Duration::from_secs(20));
    assert!(finished.status.success());
    assert_eq!(final_counters(&finished.stdout), CounterSnapshot::default());
}

#[test]
fn the_process_exits_within_the_grace_period_even_mid_sleep() {
    let server = ServerProcess::start(
        BINARY,
        &["--max-sleep", "60000", "--shutdown-grace", "300ms"],
    );
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.send("SLEEP 60000\n");
    std::thread::sleep(Duration::from_millis(200));
    // Far less than the minute the SLEEP would take.
    let finished = server.stop_with(libc::SIGTERM, Duration::from_secs(20));
    assert!(finished.status.success());
    let counters = final_counters(&finished.stdout);
    assert_eq!((counters.handshakes, counters.requests), (1, 1));
    assert!(finished.took < Duration::from_secs(20));
}

#[test]
fn the_startup_line_names_address_model_and_file_limit() {
    let server = ServerProcess::start(BINARY, &[]);
    let addr = server.addr();
    let finished = server.stop_with(libc::SIGTERM, Duration::from_secs(20));
    let startup = finished
        .stderr
        .lines()
        .find(|line| line.contains("listening"))
        .unwrap_or_else(|| panic!("no startup line in {:?}", finished.stderr));
    for part in [&addr.to_string(), "01-single-thread", "fd_limit="] {
        assert!(startup.contains(part), "{part:?} missing from {startup:?}");
    }
}

#[test]
fn help_lists_every_flag() {
    let output = Command::new(BINARY).arg("--help").output().unwrap();
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).unwrap();
    for flag in [
        "--addr",
        "--max-connections",
        "--max-line",
        "--handshake-timeout",
        "--idle-timeout",
        "--shutdown-grace",
        "--max-work",
        "--max-sleep",
        "127.0.0.1:7801",
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

#[test]
fn bad_flags_and_busy_ports_fail_with_a_clear_message() {
    let output = Command::new(BINARY)
        .args(["--idle-timeout", "soon"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--idle-timeout") && stderr.contains("10s"),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = Command::new(BINARY)
        .args(["--addr", &addr])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}
