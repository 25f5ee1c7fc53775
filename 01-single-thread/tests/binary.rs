//! The `01-single-thread` binary as a user runs it: flags, signals, the
//! exit status and the final counters line.

conformance::binary_tests!(
    env!("CARGO_BIN_EXE_01-single-thread"),
    registry::SINGLE_THREAD
);
