//! `05-event-loop`: flags, logging and signals, then `event_loop::run` on
//! one listener per loop.

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::CommonArgs;
use common::signals::{block_shutdown_signals, exit_with_final_counters, spawn_signal_handler};
use event_loop::{Config, Stop};
use protocol::ServerState;

/// Model 05: the event loop by hand (mio), no async runtime.
///
/// Serves the handshake/echo protocol (try it with `nc 127.0.0.1 7805`).
/// Each loop thread asks the kernel which sockets are ready and does what
/// can be done without waiting; WORK and SLEEP go to a small pool of
/// threads. Stop it with Ctrl-C: it answers what it has read, says BYE, and
/// prints its final counters.
#[derive(Debug, Parser)]
#[command(name = "05-event-loop", version)]
struct Args {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7805")]
    addr: SocketAddr,

    /// Event loops, one thread and one listener each, sharing the port
    /// through SO_REUSEPORT [default: one per core]
    #[arg(long, value_name = "N")]
    loops: Option<NonZeroUsize>,

    /// Threads that run WORK and SLEEP for every loop. SLEEP holds a
    /// thread for its whole duration, so this is more than the cores
    #[arg(long, value_name = "N", default_value = "16")]
    pool_threads: NonZeroUsize,

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
    // Before any thread exists, so that only the signal thread gets them.
    block_shutdown_signals()?;
    common::logging::init();
    let fd_limit = common::limits::raise_fd_limit();
    let loops = args.loops.map_or_else(cores, NonZeroUsize::get);
    // Several loops share the port the way several processes do.
    let reuse_port = args.reuse_port || loops > 1;
    let listeners = bind_listeners(args.addr, loops, reuse_port)
        .with_context(|| format!("cannot listen on {}", args.addr))?;
    let addr = listeners[0].local_addr()?;

    let state = ServerState::new(args.common.session_config());
    let config = Config {
        serve: args.common.serve_config(fd_limit),
        pool_threads: args.pool_threads.get(),
    };
    let stop = Stop::new();
    spawn_signal_handler(args.common.shutdown_grace, state.clone(), {
        let stop = stop.clone();
        move || stop.request()
    });
    tracing::info!(
        %addr,
        model = "05-event-loop",
        loops,
        pool_threads = config.pool_threads,
        max_connections = config.serve.max_connections,
        reuse_port,
        fd_limit,
        "listening; {loops} event loops, WORK and SLEEP on a pool of {} threads",
        config.pool_threads
    );
    event_loop::run(listeners, state.clone(), config, &stop).context("cannot start the loops")?;
    exit_with_final_counters(&state.counters)
}

/// The number of cores this process may use (1 if unknown).
fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// One listener per loop, all on the port the first one got (which
/// `--addr 127.0.0.1:0` leaves to the kernel).
fn bind_listeners(
    addr: SocketAddr,
    loops: usize,
    reuse_port: bool,
) -> std::io::Result<Vec<std::net::TcpListener>> {
    let first = common::listen::bind(addr, reuse_port)?;
    let port = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..loops {
        listeners.push(common::listen::bind(port, reuse_port)?);
    }
    Ok(listeners)
}
