//! Exercise 8: `spawn_blocking` for `SLEEP`.
//!
//! `04-hybrid-blocking/src/server.rs`, `sleep_on_blocking_pool`: run the
//! blocking sleep on Tokio's blocking pool and await it, so the runtime's
//! thread serves other connections meanwhile. Builds on exercise 1.
//!
//! ```text
//! cargo test -p exercises --test ex08_spawn_blocking
//! ```

conformance::cases_for!(exercises::Hybrid<1>;
    sleep_answers_slept,
    shutdown_while_sleep_runs_answers_then_says_bye,
);

#[test]
fn echo_is_answered_while_a_sleep_runs_on_the_blocking_pool() {
    exercises::echo_is_answered_while("SLEEP 2000", "SLEPT 2000");
}
