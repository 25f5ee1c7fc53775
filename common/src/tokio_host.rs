//! The host of the two async models: the runtime, the listener and the
//! shutdown token around their `run`, for the binaries and for tests.
//!
//! 03 and 04 differ only in their `server.rs` (and 04's rayon pool, which
//! its `main` starts before calling [`serve`]), so what surrounds `run` is
//! written once, here. Behind the `tokio` feature: 01 and 02 do not use
//! Tokio and do not compile it.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::num::NonZeroUsize;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use protocol::ServerState;
use tokio::net::TcpListener;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};

use crate::signals::{block_shutdown_signals, exit_with_final_counters, spawn_signal_handler};
use crate::{Background, CommonArgs, ServeConfig};

/// Completes when the server must shut down: what an async `run` is given.
pub type ShutdownSignal = WaitForCancellationFutureOwned;

/// What a binary needs to start, and says in its startup line.
#[derive(Debug)]
pub struct Startup {
    /// The binary's name, e.g. `03-async-tokio`.
    pub model: &'static str,
    /// Where to listen.
    pub addr: SocketAddr,
    /// `--reuse-port`: several processes may listen on the same port.
    pub reuse_port: bool,
    /// Tokio worker threads; one per core if `None`.
    pub workers: Option<NonZeroUsize>,
    /// The end of the startup line: where connections, `WORK` and `SLEEP`
    /// run (and the model's other thread counts).
    pub how: String,
}

/// The number of cores this process may use (1 if unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Runs an async model's binary: signals, logging, the open-file limit, the
/// runtime and the listener, then `run` until SIGINT or SIGTERM, then the
/// final counters and `exit`. Returns only if setting up fails.
pub fn serve<R, F>(startup: Startup, args: &CommonArgs, run: R) -> anyhow::Result<ExitCode>
where
    R: FnOnce(TcpListener, Arc<ServerState>, ServeConfig, ShutdownSignal) -> F,
    F: Future<Output = ()>,
{
    // Before the runtime starts its threads, so that only the signal
    // thread receives SIGINT and SIGTERM.
    block_shutdown_signals()?;
    crate::logging::init();
    let fd_limit = crate::limits::raise_fd_limit();
    let workers = startup.workers.map_or_else(cores, NonZeroUsize::get);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .context("cannot start the Tokio runtime")?;

    let listener = crate::listen::bind(startup.addr, startup.reuse_port)
        .with_context(|| format!("cannot listen on {}", startup.addr))?;
    listener.set_nonblocking(true)?;
    let state = ServerState::new(args.session_config());
    let config = args.serve_config(fd_limit);
    let stop = CancellationToken::new();
    spawn_signal_handler(args.shutdown_grace, state.clone(), {
        let stop = stop.clone();
        move || stop.cancel()
    });

    runtime.block_on(async {
        let listener = TcpListener::from_std(listener)?;
        tracing::info!(
            addr = %listener.local_addr()?,
            model = startup.model,
            workers,
            max_connections = config.max_connections,
            reuse_port = startup.reuse_port,
            fd_limit,
            "listening; {}",
            startup.how
        );
        run(listener, state.clone(), config, stop.cancelled_owned()).await;
        anyhow::Ok(())
    })?;
    // Not dropping the runtime: a thread may still be stuck in a SLEEP,
    // and the process must not wait for it.
    exit_with_final_counters(&state.counters)
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
