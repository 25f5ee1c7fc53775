//! The `04-hybrid-blocking` binary as a user runs it: flags, signals, the exit
//! status, the final counters line, and running out of file descriptors.

conformance::binary_tests!(
    env!("CARGO_BIN_EXE_04-hybrid-blocking"),
    registry::HYBRID_BLOCKING
);
conformance::accept_recovery_tests!(env!("CARGO_BIN_EXE_04-hybrid-blocking"));
conformance::shutdown_under_load_tests!(env!("CARGO_BIN_EXE_04-hybrid-blocking"));
