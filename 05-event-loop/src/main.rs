//! `05-event-loop`: the flags, then `event_loop::run` on one listener per
//! loop, between the host's prologue and epilogue (`common::host`).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::{CommonArgs, Host, Listen};
use event_loop::{Config, Stop};

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
    let loops = args.loops.map_or_else(common::cores, NonZeroUsize::get);
    // One listener per loop: several loops share the port the way several
    // processes do (SO_REUSEPORT).
    let listen = Listen {
        addr: args.addr,
        listeners: loops,
        reuse_port: args.reuse_port,
    };
    let mut host = Host::start("05-event-loop", &args.common, listen)?;
    let config = Config {
        serve: host.config,
        pool_threads: args.pool_threads.get(),
    };
    let stop = Stop::new();
    host.on_shutdown_signal({
        let stop = stop.clone();
        move || stop.request()
    });
    let threads = format!("{loops} loops, a pool of {}", config.pool_threads);
    host.announce(&threads, "WORK and SLEEP on the pool");
    let listeners = std::mem::take(&mut host.listeners);
    event_loop::run(listeners, host.state.clone(), config, &stop)
        .context("cannot start the loops")?;
    host.exit()
}
