//! Exercise 6: graceful shutdown with a cancellation token.
//!
//! `03-async-tokio/src/server.rs`, `shut_down`: stop accepting, cancel the
//! token every connection task watches (each answers what it has read and
//! says `BYE`), and wait for the tasks, but no longer than the grace
//! period. Builds on exercises 1 and 5 (its tests need connections).
//!
//! ```text
//! cargo test -p exercises --test ex06_graceful_shutdown
//! ```

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::io::Write;
use std::thread;
use std::time::Duration;

use common::CommonArgs;
use conformance::TestClient;
use conformance::server::start;
use exercises::AsyncTokio;

conformance::cases_for!(AsyncTokio<2>;
    shutdown_says_bye_to_every_connection,
    shutdown_says_bye_during_the_handshake,
    shutdown_while_sleep_runs_answers_then_says_bye,
    shutdown_answers_pipelined_lines_already_read,
    shutdown_of_an_idle_server_returns,
);

#[test]
fn the_grace_period_bounds_the_wait_for_a_stuck_connection() {
    let args = CommonArgs {
        shutdown_grace: Duration::from_millis(300),
        ..CommonArgs::default()
    };
    let mut server = start::<AsyncTokio<2>>(args);
    let mut stuck = TestClient::handshaked(server.addr(), 1);
    stuck.exchange("ECHO ready", "ECHO ready");
    // A client that sends and never reads: the answers fill the socket
    // buffers, and the connection's task waits in a write that will never
    // complete, so it cannot say `BYE` and finish. Only the grace period
    // lets the server return.
    let flooder = flood_without_reading(&stuck);
    thread::sleep(Duration::from_millis(500));
    server.begin_stop();
    assert!(
        server.finished_within(Duration::from_secs(20)),
        "the server waited past its 300 ms grace period for a connection \
         that cannot finish: bound the wait with `tokio::time::timeout`"
    );
    server.assert_returned_cleanly();
    drop(stuck);
    flooder.join().unwrap();
}

/// Writes `ECHO` lines from a thread until 64 MiB are sent or the server
/// closes the connection, and never reads an answer.
fn flood_without_reading(client: &TestClient) -> thread::JoinHandle<()> {
    let mut writer = client.writer_clone();
    thread::spawn(move || {
        let line = format!("ECHO {}\n", "x".repeat(4000));
        for _ in 0..(64 << 20) / line.len() {
            if writer.write_all(line.as_bytes()).is_err() {
                return; // the server closed it: the test is over
            }
        }
    })
}
