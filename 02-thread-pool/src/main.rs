//! `02-thread-pool`: the flags, then `thread_pool::run` between the host's
//! prologue and epilogue (`common::host`).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Parser;
use common::{CommonArgs, Host, Listen, Shutdown};
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
    #[arg(long, value_name = "N", default_value_t = thread_pool::DEFAULT_THREADS)]
    threads: NonZeroUsize,

    /// Connections that may wait for a free worker; one more gets ERR busy
    #[arg(long, value_name = "N", default_value_t = thread_pool::DEFAULT_QUEUE)]
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
    let mut host = Host::start(
        "02-thread-pool",
        &args.common,
        Listen::one(args.addr, false),
    )?;
    let listener = host.take_listener()?;
    let mode = if args.per_connection {
        Mode::ThreadPerConnection
    } else {
        Mode::Pool {
            threads: args.threads.get(),
            queue: args.queue,
        }
    };
    let shutdown = Shutdown::new();
    host.on_shutdown_signal({
        let shutdown = shutdown.clone();
        move || shutdown.trigger()
    });
    let threads = match mode {
        Mode::Pool { threads, queue } => format!("a pool of {threads}, {queue} may wait"),
        Mode::ThreadPerConnection => "one per connection".to_owned(),
    };
    host.announce(&threads, "each thread serves one connection at a time");
    let config = Config::new(host.config, mode);
    thread_pool::run(listener, host.state.clone(), config, &shutdown)
        .context("cannot start the worker threads")?;
    host.exit()
}
