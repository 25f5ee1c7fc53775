//! Exercise 5: the Tokio accept loop, with a `Semaphore` as the connection
//! limit.
//!
//! `03-async-tokio/src/server.rs`, `accept_loop`: accept, spawn a task per
//! connection, and hold a permit for each connection served; with no
//! permit left, spawn the `ERR busy` answer instead (never wait for one).
//! Builds on exercise 1. Its tests stop the server without waiting for the
//! graceful shutdown, which is exercise 6: until that is written, its
//! `todo!()` panics after each test, and the test still passes.
//!
//! ```text
//! cargo test -p exercises --test ex05_accept_semaphore
//! ```

conformance::cases_for!(exercises::AsyncTokioAcceptOnly<2>;
    handshake_completes,
    connections_are_served_concurrently,
    // The limit: the third of two gets `ERR busy`, and a freed permit
    // lets the next one in.
    over_the_limit_gets_busy,
    a_flood_over_the_limit_is_turned_away_and_counted,
    counters_add_up_under_concurrent_clients,
);
