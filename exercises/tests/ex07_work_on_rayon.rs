//! Exercise 7: move `WORK` to rayon and send the answer back over a oneshot.
//!
//! `04-hybrid-blocking/src/server.rs`, `work_on_rayon`: run `work(units)`
//! on the rayon pool, and await its digest from a `tokio::sync::oneshot`
//! channel, so the runtime's thread serves other connections meanwhile.
//! Builds on exercise 1.
//!
//! ```text
//! cargo test -p exercises --test ex07_work_on_rayon
//! ```

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use common::CommonArgs;
use conformance::TestClient;
use conformance::server::start;
use exercises::Hybrid;
use protocol::work;

conformance::cases_for!(Hybrid<1>;
    work_returns_the_digest,
    work_and_sleep_limits,
);

#[test]
fn echo_is_answered_while_work_runs_on_rayon() {
    let args = CommonArgs {
        max_work: 10_000_000,
        ..CommonArgs::default()
    };
    // One runtime thread: if `WORK` ran on it, the `ECHO` would wait.
    let server = start::<Hybrid<1>>(args);
    let mut worker = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    // About two seconds of CPU (a tenth of that in an optimised build).
    worker.send("WORK 2000000\n");
    thread::sleep(Duration::from_millis(100));
    echoer.exchange("ECHO free", "ECHO free");
    assert!(
        !worker.has_line_waiting(),
        "the WORK finished first: the ECHO waited for it"
    );
    worker.expect(&format!("DONE 2000000 {:016x}", work(2_000_000)));
    server.stop();
}
