//! The `02-thread-pool` binary as a user runs it: flags, signals, the exit
//! status, the final counters line, and running out of file descriptors.

conformance::binary_tests!(env!("CARGO_BIN_EXE_02-thread-pool"), registry::THREAD_POOL);
conformance::accept_recovery_tests!(env!("CARGO_BIN_EXE_02-thread-pool"));
// A pool with a worker for every loaded connection (see the Reliability
// chapter for what a smaller pool does).
conformance::shutdown_under_load_tests!(
    env!("CARGO_BIN_EXE_02-thread-pool"),
    "--threads",
    "2048",
    "--queue",
    "2048"
);
