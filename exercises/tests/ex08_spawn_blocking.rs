//! Exercise 8: `spawn_blocking` for `SLEEP`.
//!
//! `04-hybrid-blocking/src/server.rs`, `sleep_on_blocking_pool`: run the
//! blocking sleep on Tokio's blocking pool and await it, so the runtime's
//! thread serves other connections meanwhile. Builds on exercise 1.
//!
//! ```text
//! cargo test -p exercises --test ex08_spawn_blocking
//! ```

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use common::CommonArgs;
use conformance::TestClient;
use conformance::server::start;
use exercises::Hybrid;

conformance::cases_for!(Hybrid<1>;
    sleep_answers_slept,
    shutdown_while_sleep_runs_answers_then_says_bye,
);

#[test]
fn echo_is_answered_while_a_sleep_runs_on_the_blocking_pool() {
    let args = CommonArgs {
        max_sleep: 5000,
        ..CommonArgs::default()
    };
    // One runtime thread: if `SLEEP` blocked it, the `ECHO` would wait.
    let server = start::<Hybrid<1>>(args);
    let mut sleeper = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    sleeper.send("SLEEP 2000\n");
    thread::sleep(Duration::from_millis(100));
    echoer.exchange("ECHO free", "ECHO free");
    assert!(
        !sleeper.has_line_waiting(),
        "the SLEEP finished first: the ECHO waited for it"
    );
    sleeper.expect("SLEPT 2000");
    server.stop();
}
