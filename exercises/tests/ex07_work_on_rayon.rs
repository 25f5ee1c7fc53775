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

use protocol::work;

conformance::cases_for!(exercises::Hybrid<1>; work_returns_the_digest);

#[test]
fn pipelined_work_is_answered_in_order() {
    let server = conformance::server::start::<exercises::Hybrid<2>>(common::CommonArgs::default());
    let mut client = conformance::TestClient::handshaked(server.addr(), 1);
    // One write: the answers must come back in the order of the requests,
    // the quick ECHO between two WORKs included.
    client.send("WORK 3000\nECHO between\nWORK 1\n");
    client.expect(&format!("DONE 3000 {:016x}", work(3000)));
    client.expect("ECHO between");
    client.expect(&format!("DONE 1 {:016x}", work(1)));
    server.stop();
}

#[test]
fn echo_is_answered_while_work_runs_on_rayon() {
    // About two seconds of CPU: `work` is optimised even in test builds.
    let digest = work(2_000_000);
    exercises::echo_is_answered_while("WORK 2000000", &format!("DONE 2000000 {digest:016x}"));
}
