//! 04-hybrid-blocking: a Tokio task per connection, with `WORK` on rayon
//! and `SLEEP` on Tokio's blocking pool.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the accept loop with its
//!   connection limit, and one task's conversation with one client.
//! - `main.rs`: flags, logging, signals, the runtime and the rayon pool,
//!   then [`run`].

pub mod server;

pub use server::{run, serve_connection};

/// Runs 04-hybrid-blocking on a new thread with its own runtime of `workers` threads, for
/// tests and benchmarks.
pub fn spawn(
    listener: std::net::TcpListener,
    args: &common::CommonArgs,
    workers: usize,
) -> std::io::Result<common::Background> {
    let addr = listener.local_addr()?;
    listener.set_nonblocking(true)?;
    let state = protocol::ServerState::new(args.session_config());
    let config = args.serve_config(common::limits::raise_fd_limit());
    let stop = tokio_util::sync::CancellationToken::new();
    let trigger = stop.clone();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.max(1))
        .enable_all()
        .build()?;
    let thread = std::thread::Builder::new()
        .name("04-hybrid-blocking".into())
        .spawn(move || {
            runtime.block_on(async {
                match tokio::net::TcpListener::from_std(listener) {
                    Ok(listener) => run(listener, state, config, stop.cancelled_owned()).await,
                    Err(error) => tracing::error!(%error, "cannot register the listener"),
                }
            });
            // A worker may still be stuck in a SLEEP: do not wait for it.
            runtime.shutdown_background();
        })?;
    Ok(common::Background::new(
        addr,
        move || trigger.cancel(),
        thread,
    ))
}
