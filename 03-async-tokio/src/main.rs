//! `03-async-tokio`: the flags, the host's prologue (`common::host`), then
//! `async_tokio::run` on a Tokio runtime (`common::tokio_host`).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use clap::Parser;
use common::tokio_host;
use common::{CommonArgs, Host, Listen};

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
    let listen = Listen::one(args.addr, args.reuse_port);
    let host = Host::start("03-async-tokio", &args.common, listen)?;
    let workers = args.workers.map_or_else(common::cores, NonZeroUsize::get);
    let how = "a task per connection, WORK and SLEEP inline on the workers";
    tokio_host::serve(host, workers, how, async_tokio::run)
}
