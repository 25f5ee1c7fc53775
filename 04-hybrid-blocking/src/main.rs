//! `04-hybrid-blocking`: the flags, the host's prologue (`common::host`),
//! the rayon pool, then `hybrid_blocking::run` on a Tokio runtime
//! (`common::tokio_host`).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::tokio_host;
use common::{CommonArgs, Host, Listen};

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
    let listen = Listen::one(args.addr, args.reuse_port);
    // First: it blocks SIGINT and SIGTERM before rayon starts its threads.
    let host = Host::start("04-hybrid-blocking", &args.common, listen)?;
    let rayon_threads = args
        .rayon_threads
        .map_or_else(common::cores, NonZeroUsize::get);
    rayon::ThreadPoolBuilder::new()
        .num_threads(rayon_threads)
        .thread_name(|i| format!("rayon-work-{i}"))
        .build_global()
        .context("cannot start the rayon pool")?;
    let workers = args.workers.map_or_else(common::cores, NonZeroUsize::get);
    let how = format!(
        "a task per connection, WORK on rayon ({rayon_threads} threads), SLEEP on spawn_blocking"
    );
    tokio_host::serve(host, workers, &how, hybrid_blocking::run)
}
