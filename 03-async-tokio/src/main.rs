//! `03-async-tokio`: the flags, then `async_tokio::run`, hosted by
//! `common::tokio_host` (signals, logging, the runtime, the final line).

use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;

use clap::Parser;
use common::CommonArgs;
use common::tokio_host::{self, Startup};

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
    common::cli::exit_on_error(|| {
        let startup = Startup {
            model: "03-async-tokio",
            addr: args.addr,
            reuse_port: args.reuse_port,
            workers: args.workers,
            how: "a task per connection, WORK and SLEEP inline on the workers".into(),
        };
        tokio_host::serve(startup, &args.common, async_tokio::run)
    })
}
