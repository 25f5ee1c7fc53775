//! `01-single-thread`: the flags, then `single_thread::run` between the
//! host's prologue and epilogue (`common::host`).

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::Parser;
use common::{CommonArgs, Host, Listen, Shutdown};

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
    let mut host = Host::start(
        "01-single-thread",
        &args.common,
        Listen::one(args.addr, false),
    )?;
    let listener = host.take_listener()?;
    let shutdown = Shutdown::new();
    host.on_shutdown_signal({
        let shutdown = shutdown.clone();
        move || shutdown.trigger()
    });
    host.announce(
        "1",
        "one connection at a time, the rest wait in the backlog",
    );
    single_thread::run(listener, host.state.clone(), &shutdown);
    host.exit()
}
