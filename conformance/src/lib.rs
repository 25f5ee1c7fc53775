//! The shared conformance suite: PROTOCOL.md checked over real sockets.
//!
//! The suite is written once and run against every model in-process, on
//! port 0, as that model's integration tests. A model implements [`Model`]
//! (start the server on a listener with these flags; stop it) and adds one
//! line to its `tests/`:
//!
//! ```text
//! conformance::conformance_tests!(MyModel);
//! ```
//!
//! Models that serve connections concurrently (all but 01) also add
//! `conformance::concurrency_tests!(MyModel);` for the rules that need two
//! connections open at once (`ERR busy`, `BYE` to everyone at shutdown), and
//! `conformance::reliability_tests!(MyModel);` for slow clients and floods.
//! Each binary's `tests/binary.rs` adds `binary_tests!` (signals, exit
//! status, flags), and for 02–04 `accept_recovery_tests!` (running out of
//! file descriptors) and `shutdown_under_load_tests!`.
//!
//! The cases talk raw protocol with a blocking std client and never look
//! inside the server: they check only what a client can observe. Every read
//! has a generous timeout, so a server that hangs fails the test instead of
//! hanging it; no case asserts how fast anything was.
//!
//! # Layout
//!
//! - [`client`]: the test client.
//! - [`server`]: the [`Model`] trait and a running server handle.
//! - [`binary`]: cases for a server binary (signals, exit, flags, EMFILE).
//! - [`process`]: a server binary run as a child process, for what only a
//!   process shows: signals, the exit status, the final line.
//! - [`cases`]: one function per rule.
//! - [`memory`]: the size of an async model's connection task, against a
//!   budget (`connection_task_budget!`, for 03 and 04).

// A test suite: a panic is how a case reports a failure.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod binary;
pub mod cases;
pub mod client;
pub mod memory;
pub mod process;
pub mod server;

pub use client::TestClient;
pub use server::{Model, RunningServer};

/// Generates one `#[test]` per conformance case for a [`Model`].
#[macro_export]
macro_rules! conformance_tests {
    ($model:ty) => {
        $crate::cases_for!($model;
            handshake_completes,
            handshake_from_zero_and_with_leading_zeros,
            handshake_at_the_u64_bounds,
            first_line_must_be_hello_with_a_number,
            third_line_must_be_exact,
            crlf_line_endings_are_accepted,
            a_session_sent_byte_by_byte,
            a_pipelined_batch_in_one_write,
            a_large_pipelined_write_is_answered_whole,
            requests_in_the_same_segment_as_the_third_line,
            a_line_over_the_limit_closes,
            too_many_bytes_without_newline_close_early,
            a_line_exactly_at_the_limit_is_served,
            invalid_utf8_closes,
            echo_returns_the_line_byte_for_byte,
            work_returns_the_digest,
            work_and_sleep_limits,
            sleep_answers_slept,
            request_errors_keep_the_connection_open,
            stats_counts_what_happened,
            quit_says_bye_and_closes,
            the_server_drains_after_its_final_line,
            handshake_timeout_closes_silent_clients,
            handshake_timeout_closes_slow_clients,
            idle_timeout_closes_idle_connections,
            partial_lines_do_not_keep_a_connection_alive,
            answers_restart_the_idle_clock,
            disabled_timeouts_wait,
            client_reset_mid_line_is_harmless,
            client_reset_mid_handshake_and_mid_work_is_harmless,
            half_close_gets_every_complete_line_answered,
            shutdown_while_sleep_runs_answers_then_says_bye,
            shutdown_answers_pipelined_lines_already_read,
            shutdown_says_bye_during_the_handshake,
            shutdown_of_an_idle_server_returns,
        );
    };
}

/// Generates the cases that need several connections served at once.
#[macro_export]
macro_rules! concurrency_tests {
    ($model:ty) => {
        $crate::cases_for!($model;
            connections_are_served_concurrently,
            over_the_limit_gets_busy,
            shutdown_says_bye_to_every_connection,
            counters_add_up_under_concurrent_clients,
        );
    };
}

/// Generates the reliability cases: slow clients and floods. A model whose
/// capacity is fixed (02's pool) must be configured larger than the
/// `CONFORMANCE_STALLED` clients (200 by default).
#[macro_export]
macro_rules! reliability_tests {
    ($model:ty) => {
        $crate::cases_for!($model;
            slow_clients_do_not_block_fresh_ones,
            a_flood_over_the_limit_is_turned_away_and_counted,
        );
    };
}

/// Generates one `#[test]` per named case, for a chosen set of cases (the
/// workshop's exercises pick the cases their piece of code decides):
///
/// ```text
/// conformance::cases_for!(MyModel; idle_timeout_closes_idle_connections);
/// ```
#[macro_export]
macro_rules! cases_for {
    ($model:ty; $($case:ident),* $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::cases::$case::<$model>();
            }
        )*
    };
}
