//! The lesson of this model: a blocking call moved to `spawn_blocking` (and
//! CPU work moved to rayon) no longer holds the runtime's worker thread.
//!
//! With one worker thread, a client's `ECHO` is answered while another
//! client's `SLEEP` or `WORK` is still running. (Model 03's test of the same
//! scene shows the opposite.)

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::time::Duration;

use common::CommonArgs;
use conformance::{RunningServer, TestClient};
use protocol::work;

fn start_with_one_worker() -> RunningServer {
    let args = CommonArgs {
        max_work: 10_000_000,
        max_sleep: 5000,
        ..CommonArgs::default()
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    hybrid_blocking::spawn(listener, &args, 1).into()
}

#[test]
fn echo_is_answered_while_a_sleep_runs_on_the_blocking_pool() {
    let server = start_with_one_worker();
    let mut sleeper = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    sleeper.send("SLEEP 2000\n");
    std::thread::sleep(Duration::from_millis(100));
    echoer.exchange("ECHO free", "ECHO free");
    assert!(
        !sleeper.has_line_waiting(),
        "the SLEEP finished first: the ECHO waited for it"
    );
    sleeper.expect("SLEPT 2000");
    server.stop();
}

#[test]
fn echo_is_answered_while_work_runs_on_rayon() {
    let server = start_with_one_worker();
    let mut worker = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    // About two seconds of CPU on rayon.
    worker.send("WORK 2000000\n");
    std::thread::sleep(Duration::from_millis(100));
    echoer.exchange("ECHO free", "ECHO free");
    assert!(
        !worker.has_line_waiting(),
        "the WORK finished first: the ECHO waited for it"
    );
    worker.expect(&format!("DONE 2000000 {:016x}", work(2_000_000)));
    server.stop();
}
