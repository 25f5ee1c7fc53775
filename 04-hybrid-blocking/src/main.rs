//! `04-hybrid-blocking`: the flags and the rayon pool, then
//! `hybrid_blocking::run`, hosted by `common::tokio_host` (signals, logging,
//! the runtime, the final line).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::CommonArgs;
use common::signals::block_shutdown_signals;
use common::tokio_host::{self, Startup};

/// Model 04: Tokio for I/O, rayon for WORK, spawn_blocking for SLEEP.
///
/// Serves the handshake/echo protocol (try it with `nc 127.0.0.1 7804`).
/// A Tokio task per connection as in 03, but WORK runs on a rayon pool and
/// SLEEP on Tokio's blocking pool, so the runtime's workers stay free for
/// I/O. Stop it with Ctrl-C: it answers what it has read, says BYE, and
/// prints its final counters.
#[derive(Debug, Parser)]
#[command(name = "04-hybrid-blocking", version)]
struct Args {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7804")]
    addr: SocketAddr,

    /// Tokio worker threads [default: one per core]
    #[arg(long, value_name = "N")]
    workers: Option<NonZeroUsize>,

    /// Threads of the rayon pool that runs WORK [default: one per core]
    #[arg(long, value_name = "N")]
    rayon_threads: Option<NonZeroUsize>,

    /// Let several processes listen on the same port (SO_REUSEPORT); the
    /// kernel spreads connections between them
    #[arg(long)]
    reuse_port: bool,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::cli::exit_on_error(|| serve(args))
}

/// Starts the rayon pool, then serves until a signal; never returns on
/// success.
fn serve(args: Args) -> anyhow::Result<ExitCode> {
    // Before any thread starts (rayon's included), so that only the signal
    // thread receives SIGINT and SIGTERM.
    block_shutdown_signals()?;
    let rayon_threads = args
        .rayon_threads
        .map_or_else(tokio_host::cores, NonZeroUsize::get);
    rayon::ThreadPoolBuilder::new()
        .num_threads(rayon_threads)
        .thread_name(|i| format!("rayon-work-{i}"))
        .build_global()
        .context("cannot start the rayon pool")?;
    let startup = Startup {
        model: "04-hybrid-blocking",
        addr: args.addr,
        reuse_port: args.reuse_port,
        workers: args.workers,
        how: format!(
            "a task per connection, WORK on rayon ({rayon_threads} threads), SLEEP on spawn_blocking"
        ),
    };
    tokio_host::serve(startup, &args.common, hybrid_blocking::run)
}
