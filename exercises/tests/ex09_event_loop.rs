//! Exercise 9: one connection in the event loop.
//!
//! `05-event-loop/src/server.rs`, `Connection::advance` and
//! `Connection::write_out`: everything a connection does when the loop
//! says its socket is ready. Read until `WouldBlock` (the kernel says
//! "ready" once per change: bytes left unread are never announced again),
//! write what the socket takes and keep the rest for when it says
//! "writable", and never wait. Builds on exercise 1.
//!
//! ```text
//! cargo test -p exercises --test ex09_event_loop
//! ```

conformance::cases_for!(exercises::EventLoop<2>;
    handshake_completes,
    a_session_sent_byte_by_byte,
    a_pipelined_batch_in_one_write,
    a_large_pipelined_write_is_answered_whole,
    a_client_that_does_not_read_holds_up_only_itself,
    sleep_answers_slept,
    quit_says_bye_and_closes,
    the_server_drains_after_its_final_line,
    idle_timeout_closes_idle_connections,
    answers_restart_the_idle_clock,
    half_close_gets_every_complete_line_answered,
    shutdown_answers_pipelined_lines_already_read,
    shutdown_says_bye_during_the_handshake,
    connections_are_served_concurrently,
);
