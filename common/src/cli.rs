//! How a binary reports a fatal error: one line a person reads, with each
//! cause after a colon, and exit status 1.
//!
//! Returning `anyhow::Result` from `main` would print the error's debug
//! form, and with `RUST_BACKTRACE` set, a stack trace: noise for a user
//! whose port is taken.

use std::process::ExitCode;

/// Runs a binary's body and turns an error into `error: …` and status 1.
pub fn exit_on_error(body: impl FnOnce() -> anyhow::Result<ExitCode>) -> ExitCode {
    body().unwrap_or_else(|error| {
        eprintln!("error: {error:#}");
        ExitCode::FAILURE
    })
}
