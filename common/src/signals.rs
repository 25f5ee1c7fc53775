//! SIGINT/SIGTERM: start the shutdown, enforce the grace period, print the
//! final counters line, and exit 0.
//!
//! The servers' `main` calls [`block_shutdown_signals`] first thing, so
//! every thread it starts afterwards inherits a mask without SIGINT and
//! SIGTERM; then one thread, started by [`spawn_signal_handler`], receives
//! them with `sigwait`. This avoids async-signal-safety entirely: the
//! "handler" is an ordinary thread that may lock, log and print.
//!
//! PROTOCOL.md's hard edge lives here too: the process exits within the
//! grace period even if a thread is stuck in `SLEEP` or `WORK`, because the
//! handler thread stops waiting when the grace period ends and exits the
//! process itself. A second signal exits at once.

use std::io::Write as _;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use anyhow::Context as _;
use nix::sys::signal::{SigSet, Signal};
use protocol::{Counters, ServerState};

/// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread
/// it starts later). Call it before starting any thread or runtime.
pub fn block_shutdown_signals() -> anyhow::Result<()> {
    shutdown_signals()
        .thread_block()
        .context("blocking SIGINT and SIGTERM")
}

/// Starts the thread that waits for SIGINT or SIGTERM. On the first, it
/// calls `start_shutdown`, then gives the server `grace` to finish before
/// exiting the process with the final counters; on a second, it exits at
/// once. `main` exits the same way as soon as the server has finished.
pub fn spawn_signal_handler<F>(grace: Duration, state: Arc<ServerState>, start_shutdown: F)
where
    F: FnOnce() + Send + 'static,
{
    let spawned = thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let signals = shutdown_signals();
            let Ok(signal) = signals.wait() else { return };
            tracing::info!(?signal, ?grace, "shutting down");
            start_shutdown();
            let grace_state = Arc::clone(&state);
            thread::spawn(move || {
                thread::sleep(grace);
                tracing::warn!("grace period over: closing the connections still open");
                exit_with_final_counters(&grace_state.counters);
            });
            if signals.wait().is_ok() {
                exit_with_final_counters(&state.counters);
            }
        });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the signal thread: SIGINT and SIGTERM are ignored");
    }
}

/// Prints `final counters: …` as the last line on standard output and
/// exits with status 0. Safe to call from several threads: the first one
/// prints and exits, the others wait for it.
pub fn exit_with_final_counters(counters: &Counters) -> ! {
    static EXITING: Mutex<()> = Mutex::new(());
    // Never released: whoever takes it ends the process.
    let _exiting = EXITING.lock();
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{}", final_line(counters));
    let _ = stdout.flush();
    std::process::exit(0)
}

/// The last line a server prints.
pub fn final_line(counters: &Counters) -> String {
    format!("final counters: {}", counters.snapshot())
}

fn shutdown_signals() -> SigSet {
    let mut set = SigSet::empty();
    set.add(Signal::SIGINT);
    set.add(Signal::SIGTERM);
    set
}
