//! The `05-event-loop` binary as a user runs it: flags, signals, the exit
//! status, the final counters line, and running out of file descriptors.

conformance::binary_tests!(env!("CARGO_BIN_EXE_05-event-loop"), registry::EVENT_LOOP);
conformance::accept_recovery_tests!(env!("CARGO_BIN_EXE_05-event-loop"));
conformance::shutdown_under_load_tests!(env!("CARGO_BIN_EXE_05-event-loop"));
