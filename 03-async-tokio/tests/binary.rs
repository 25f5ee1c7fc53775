//! The `03-async-tokio` binary as a user runs it: flags, signals, the exit
//! status, the final counters line, and running out of file descriptors.

conformance::binary_tests!(env!("CARGO_BIN_EXE_03-async-tokio"), registry::ASYNC_TOKIO);
conformance::accept_recovery_tests!(env!("CARGO_BIN_EXE_03-async-tokio"));
conformance::shutdown_under_load_tests!(env!("CARGO_BIN_EXE_03-async-tokio"));
