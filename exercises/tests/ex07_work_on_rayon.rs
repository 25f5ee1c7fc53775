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

conformance::cases_for!(exercises::Hybrid<1>;
    work_returns_the_digest,
    work_and_sleep_limits,
);

#[test]
fn echo_is_answered_while_work_runs_on_rayon() {
    // About two seconds of CPU: `work` is optimised even in test builds.
    let digest = work(2_000_000);
    exercises::echo_is_answered_while("WORK 2000000", &format!("DONE 2000000 {digest:016x}"));
}
