//! 02-thread-pool: the blocking server of 01, served by many threads.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the thread pool (`Worker`s,
//!   `Job`s, a bounded channel, shutdown through `Drop`), the
//!   thread-per-connection mode it is compared with, and the accept loop.
//!   The conversation with one client is 01's `serve_connection`, unchanged.
//! - `main.rs`: flags, logging, signals, then [`run`].

pub mod server;

pub use server::{Config, Mode, ThreadPool, run};

/// `--threads`' default: the pool serves this many clients at once (the
/// registry says so too, and a test holds the two together).
pub const DEFAULT_THREADS: std::num::NonZeroUsize = match std::num::NonZeroUsize::new(128) {
    Some(threads) => threads,
    None => std::num::NonZeroUsize::MIN,
};

/// `--queue`'s default: connections that may wait for a free worker.
pub const DEFAULT_QUEUE: usize = 128;

/// Runs 02 in `mode` on a new thread, for tests and benchmarks.
pub fn spawn(
    listener: std::net::TcpListener,
    args: &common::CommonArgs,
    mode: Mode,
) -> std::io::Result<common::Background> {
    let addr = listener.local_addr()?;
    let state = protocol::ServerState::new(args.session_config());
    let config = Config::new(args.serve_config(common::limits::raise_fd_limit()), mode);
    let shutdown = common::Shutdown::new();
    let trigger = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name("02-thread-pool".into())
        .spawn(move || {
            if let Err(error) = run(listener, state, config, &shutdown) {
                tracing::error!(%error, "02-thread-pool cannot start its worker threads");
            }
        })?;
    Ok(common::Background::new(
        addr,
        move || trigger.trigger(),
        thread,
    ))
}
