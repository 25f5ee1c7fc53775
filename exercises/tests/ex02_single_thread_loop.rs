//! Exercise 2: model 01's conversation loop, with its idle timeout.
//!
//! `01-single-thread/src/server.rs`: `converse` (answer every complete
//! line, then read more, until a final line is sent or the client leaves)
//! and `read_before` (a blocking read that gives up at a deadline, which is
//! how a blocking server times out an idle client). Builds on exercise 1.
//!
//! ```text
//! cargo test -p exercises --test ex02_single_thread_loop
//! ```

use exercises::SingleThread;

// Each test below is a case of the shared conformance suite (see
// `conformance/src/cases.rs` for what it sends and expects), run against 01.
conformance::cases_for!(SingleThread;
    // The loop: lines in, answers out, in order, however the bytes arrive.
    handshake_completes,
    a_session_sent_byte_by_byte,
    a_pipelined_batch_in_one_write,
    sleep_answers_slept,
    quit_says_bye_and_closes,
    a_line_over_the_limit_closes,
    half_close_gets_every_complete_line_answered,
    // The deadlines: `read_before` must give up in time, and an answer
    // must push the deadline back.
    handshake_timeout_closes_silent_clients,
    idle_timeout_closes_idle_connections,
    partial_lines_do_not_keep_a_connection_alive,
    answers_restart_the_idle_clock,
    // The shutdown: answer what was read, then `BYE`.
    shutdown_answers_pipelined_lines_already_read,
);
