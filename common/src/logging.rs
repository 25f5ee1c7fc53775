//! Logging: `tracing` to standard error, filtered by `RUST_LOG`.
//!
//! Standard output is kept for what scripts read (the servers' final
//! counters line, the load tester's JSON), so logs never go there.

use std::io::IsTerminal as _;

use tracing_subscriber::EnvFilter;

/// Installs the log subscriber. The level comes from `RUST_LOG` (for
/// example `RUST_LOG=debug`), `info` when it is unset or invalid.
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // A second call (tests start many servers) keeps the first subscriber.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours for a person at a terminal, plain text for a pipe or file.
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();
}
