//! The host of the two async models: the runtime, the listener and the
//! shutdown token around their `run`, for the binaries and for tests.
//!
//! 03 and 04 differ only in their `server.rs` (and 04's rayon pool, which
//! its `main` starts between [`Host::start`] and [`serve`]), so what
//! surrounds `run` is written once, here. Behind the `tokio` feature: 01 and 02 do not use
//! Tokio and do not compile it.

use std::future::Future;
use std::io;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use protocol::ServerState;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::{Background, CommonArgs, Host, ServeConfig};

/// Completes when the server must shut down: what an async `run` is given.
pub type ShutdownSignal = WaitForCancellationFutureOwned;

/// Runs an async model's binary after the host's prologue
/// ([`Host::start`], which blocked the signals before any thread):
/// the runtime of `workers` threads, the signal thread, the startup line
/// (`how` says where connections, `WORK` and `SLEEP` run), then `run` until
/// SIGINT or SIGTERM, then the final counters and `exit`. Returns only if
/// setting up fails.
pub fn serve<R, F>(mut host: Host, workers: usize, how: &str, run: R) -> anyhow::Result<ExitCode>
where
    R: FnOnce(TcpListener, Arc<ServerState>, ServeConfig, ShutdownSignal) -> F,
    F: Future<Output = ()>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;
    let listener = host.take_listener()?;
    listener.set_nonblocking(true)?;
    let stop = CancellationToken::new();
    host.on_shutdown_signal({
        let stop = stop.clone();
        move || stop.cancel()
    });
    runtime.block_on(async {
        let listener = TcpListener::from_std(listener)?;
        host.announce(&format!("{workers} workers"), how);
        run(
            listener,
            host.state.clone(),
            host.config,
            stop.cancelled_owned(),
        )
        .await;
        anyhow::Ok(())
    })?;
    // Not dropping the runtime: a thread may still be stuck in a SLEEP,
    // and the process must not wait for it.
    host.exit()
}

/// Runs an async model on a new thread with its own runtime of `workers`
/// threads, for tests and benchmarks.
pub fn spawn<R, F>(
    model: &'static str,
    listener: std::net::TcpListener,
    args: &CommonArgs,
    workers: usize,
    run: R,
) -> io::Result<Background>
where
    R: FnOnce(TcpListener, Arc<ServerState>, ServeConfig, ShutdownSignal) -> F + Send + 'static,
    F: Future<Output = ()>,
{
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let state = ServerState::new(args.session_config());
    let config = args.serve_config(crate::limits::raise_fd_limit());
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name(model.into())
        .spawn(move || {
            runtime.block_on(async {
                match TcpListener::from_std(listener) {
                    Ok(listener) => run(listener, state, config, stop.cancelled_owned()).await,
                    Err(error) => tracing::error!(%error, "cannot register the listener"),
                }
            });
            // A worker may still be stuck in a SLEEP: do not wait for it.
            runtime.shutdown_background();
        })?;
    Ok(Background::new(addr, move || trigger.cancel(), thread))
}
