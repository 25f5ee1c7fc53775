//! `02-thread-pool`: flags, logging and signals, then `thread_pool::run`.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::signals::{block_shutdown_signals, exit_with_final_counters, spawn_signal_handler};
use common::{CommonArgs, Shutdown};
use protocol::ServerState;
use thread_pool::{Config, Mode};

/// Model 02: a thread pool written with std only.
///
/// Serves the handshake/echo protocol (try it with `nc 127.0.0.1 7802`).
/// Each worker thread serves one connection at a time, from the handshake
/// to the close; connections wait in a bounded queue for a free worker, and
/// get ERR busy when it is full. Stop it with Ctrl-C: it answers what it has
/// read, says BYE, and prints its final counters.
#[derive(Debug, Parser)]
#[command(name = "02-thread-pool", version)]
struct Args {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7802")]
    addr: SocketAddr,

    /// Worker threads in the pool: the number of clients served at once.
    /// Each holds its client until it leaves, so this is sized for
    /// connections, not cores; an idle worker costs about 10 KiB
    #[arg(long, value_name = "N", default_value = "128")]
    threads: NonZeroUsize,

    /// Connections that may wait for a free worker; one more gets ERR busy
    #[arg(long, value_name = "N", default_value_t = 128)]
    queue: usize,

    /// Start a thread for every connection instead of using the pool (up to
    /// --max-connections): the design pools exist to replace
    #[arg(long, conflicts_with_all = ["threads", "queue"])]
    per_connection: bool,

    #[command(flatten)]
    common: CommonArgs,
}

fn main() -> ExitCode {
    let args = Args::parse();
    common::cli::exit_on_error(|| serve(args))
}

/// Sets everything up and serves until a signal; never returns on success.
fn serve(args: Args) -> anyhow::Result<ExitCode> {
    // Before any thread exists, so that only the signal thread gets them.
    block_shutdown_signals()?;
    common::logging::init();
    let fd_limit = common::limits::raise_fd_limit();

    let listener = common::listen::bind(args.addr, false)
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let state = ServerState::new(args.common.session_config());
    let mode = if args.per_connection {
        Mode::ThreadPerConnection
    } else {
        Mode::Pool {
            threads: args.threads.get(),
            queue: args.queue,
        }
    };
    let config = Config::new(args.common.serve_config(fd_limit), mode);
    let shutdown = Shutdown::new();
    spawn_signal_handler(args.common.shutdown_grace, state.clone(), {
        let shutdown = shutdown.clone();
        move || shutdown.trigger()
    });

    tracing::info!(
        addr = %listener.local_addr()?,
        model = "02-thread-pool",
        ?mode,
        max_connections = config.serve.max_connections,
        fd_limit,
        "listening; each thread serves one connection at a time"
    );
    thread_pool::run(listener, state.clone(), config, &shutdown);
    exit_with_final_counters(&state.counters)
}
