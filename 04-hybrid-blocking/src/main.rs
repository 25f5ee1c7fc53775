//! `04-hybrid-blocking`: flags, logging, signals, the runtime and the rayon
//! pool, then `hybrid_blocking::run`.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::CommonArgs;
use common::signals::{block_shutdown_signals, exit_with_final_counters, spawn_signal_handler};
use protocol::ServerState;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

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

/// Sets everything up and serves until a signal; never returns on success.
fn serve(args: Args) -> anyhow::Result<ExitCode> {
    // Before the runtime starts its threads, so that only the signal
    // thread receives SIGINT and SIGTERM.
    block_shutdown_signals()?;
    common::logging::init();
    let fd_limit = common::limits::raise_fd_limit();
    let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    let workers = args.workers.map_or(cores, NonZeroUsize::get);
    let rayon_threads = args.rayon_threads.map_or(cores, NonZeroUsize::get);
    rayon::ThreadPoolBuilder::new()
        .num_threads(rayon_threads)
        .thread_name(|i| format!("rayon-work-{i}"))
        .build_global()
        .context("cannot start the rayon pool")?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;

    let listener = common::listen::bind(args.addr, args.reuse_port)
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    listener.set_nonblocking(true)?;
    let state = ServerState::new(args.common.session_config());
    let config = args.common.serve_config(fd_limit);
    let stop = CancellationToken::new();
    spawn_signal_handler(args.common.shutdown_grace, state.clone(), {
        let stop = stop.clone();
        move || stop.cancel()
    });

    runtime.block_on(async {
        let listener = TcpListener::from_std(listener)?;
        tracing::info!(
            addr = %listener.local_addr()?,
            model = "04-hybrid-blocking",
            workers,
            rayon_threads,
            max_connections = config.max_connections,
            reuse_port = args.reuse_port,
            fd_limit,
            "listening; a task per connection, WORK on rayon, SLEEP on spawn_blocking"
        );
        hybrid_blocking::run(listener, state.clone(), config, stop.cancelled_owned()).await;
        anyhow::Ok(())
    })?;
    // Not dropping the runtime: a blocking thread may still be in a SLEEP,
    // and the process must not wait for it.
    exit_with_final_counters(&state.counters)
}
