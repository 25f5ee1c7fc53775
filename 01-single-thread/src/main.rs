//! `01-single-thread`: flags, logging and signals, then `single_thread::run`.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::signals::{block_shutdown_signals, exit_with_final_counters, spawn_signal_handler};
use common::{CommonArgs, Shutdown};
use protocol::ServerState;

/// Model 01: one thread, blocking I/O, one connection at a time.
///
/// Serves the handshake/echo protocol (try it with `nc 127.0.0.1 7801`).
/// While one client is served, the others wait in the kernel's listen
/// backlog. Stop it with Ctrl-C: it answers what it has read, says BYE, and
/// prints its final counters.
#[derive(Debug, Parser)]
#[command(name = "01-single-thread", version)]
struct Args {
    /// Address to listen on
    #[arg(long, value_name = "IP:PORT", default_value = "127.0.0.1:7801")]
    addr: SocketAddr,

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
    let shutdown = Shutdown::new();
    spawn_signal_handler(args.common.shutdown_grace, state.clone(), {
        let shutdown = shutdown.clone();
        move || shutdown.trigger()
    });

    tracing::info!(
        addr = %listener.local_addr()?,
        model = "01-single-thread",
        threads = 1,
        fd_limit,
        "listening; one connection at a time, the rest wait in the backlog"
    );
    single_thread::run(listener, state.clone(), &shutdown);
    exit_with_final_counters(&state.counters)
}
