//! 05-event-loop: the event loop by hand, with mio.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the loop (poll, dispatch on
//!   token, deadlines, shutdown), one connection's slab entry and how it
//!   advances, and the pool that runs `WORK` and `SLEEP`.
//! - `main.rs`: the flags, signals and logging, then [`run`] on one
//!   listener per loop.

pub mod server;

pub use server::{Config, Stop, run};

/// Runs 05 on a new thread, one event loop per listener (bind them with
/// `SO_REUSEPORT` to share a port), for tests and benchmarks.
pub fn spawn(
    listeners: Vec<std::net::TcpListener>,
    args: &common::CommonArgs,
    pool_threads: usize,
) -> std::io::Result<common::Background> {
    let addr = listeners
        .first()
        .ok_or_else(|| std::io::Error::other("05-event-loop needs at least one listener"))?
        .local_addr()?;
    let state = protocol::ServerState::new(args.session_config());
    let config = Config {
        serve: args.serve_config(common::limits::raise_fd_limit()),
        pool_threads,
    };
    let stop = Stop::new();
    let trigger = std::sync::Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("05-event-loop".into())
        .spawn(move || {
            if let Err(error) = run(listeners, state, config, &stop) {
                tracing::error!(%error, "05-event-loop could not start");
            }
        })?;
    Ok(common::Background::new(
        addr,
        move || trigger.request(),
        thread,
    ))
}
