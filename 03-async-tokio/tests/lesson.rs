//! The trap this model exists to show: a blocking call inside a task holds
//! its worker thread, and every other connection on that thread waits.
//!
//! With one worker thread, a client's `ECHO` cannot be answered before
//! another client's `SLEEP` has finished: the `SLEPT` answer is always sent
//! first. (The same scene against model 04, in the workshop's exercises 7 and
//! 8, `exercises/tests/ex07_work_on_rayon.rs` and `ex08_spawn_blocking.rs`,
//! shows the opposite.)

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{RunningServer, TestClient};

fn start_with_one_worker() -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    async_tokio::spawn(listener, &CommonArgs::default(), 1).into()
}

#[test]
fn a_sleep_on_the_only_worker_stalls_every_other_connection() {
    let server = start_with_one_worker();
    let mut sleeper = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    echoer.exchange("ECHO warm", "ECHO warm");
    sleeper.send("SLEEP 500\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    echoer.exchange("ECHO blocked?", "ECHO blocked?");
    // By the time the ECHO was answered, the SLEEP had finished.
    assert!(
        sleeper.has_line_waiting(),
        "the ECHO was answered while the SLEEP still held the only worker"
    );
    sleeper.expect("SLEPT 500");
    server.stop();
}
