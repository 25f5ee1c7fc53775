//! The `03-async-tokio` binary as a user runs it: flags, signals, the exit
//! status, the final counters line, and running out of file descriptors.

conformance::binary_tests!(
    env!("CARGO_BIN_EXE_03-async-tokio"),
    "03-async-tokio",
    "127.0.0.1:7803"
);
conformance::accept_recovery_tests!(env!("CARGO_BIN_EXE_03-async-tokio"));
conformance::shutdown_under_load_tests!(env!("CARGO_BIN_EXE_03-async-tokio"));
