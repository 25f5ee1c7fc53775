//! `03-async-tokio`: flags, logging, signals and the runtime, then
//! `async_tokio::run`.

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

/// Model 03: a Tokio task per connection.
///
/// Serves the handshake/echo protocol (try it with `nc 127.0.0.1 7803`).
/// Thousands of idle connections cost little; but WORK and SLEEP run
/// inline on the runtime's worker threads and stall every connection
/// sharing that thread. Stop it with Ctrl-C: it answers what it has read,
/// says BYE, and prints its final counters.
#[derive(Debug, Parser)]
#[command(name = "03-async-tokio", version)]
struct Args {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7803")]
    addr: SocketAddr,

    /// Tokio worker threads [default: one per core]
    #[arg(long, value_name = "N")]
    workers: Option<NonZeroUsize>,

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
    let workers = args
        .workers
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);
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
            model = "03-async-tokio",
            workers,
            max_connections = config.max_connections,
            reuse_port = args.reuse_port,
            fd_limit,
            "listening; a task per connection, WORK and SLEEP inline on the workers"
        );
        async_tokio::run(listener, state.clone(), config, stop.cancelled_owned()).await;
        anyhow::Ok(())
    })?;
    // Not dropping the runtime: a worker may still be stuck in a SLEEP,
    // and the process must not wait for it.
    exit_with_final_counters(&state.counters)
}
