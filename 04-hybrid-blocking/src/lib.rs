//! 04-hybrid-blocking: a Tokio task per connection, with `WORK` on rayon
//! and `SLEEP` on Tokio's blocking pool.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the accept loop with its
//!   connection limit, and one task's conversation with one client.
//! - `main.rs`: the flags and the rayon pool, then [`run`] hosted by
//!   `common::tokio_host` (signals, logging, the runtime).

pub mod server;

pub use server::{run, serve_connection};

/// Runs 04-hybrid-blocking on a new thread with its own runtime of `workers`
/// threads, for tests and benchmarks.
pub fn spawn(
    listener: std::net::TcpListener,
    args: &common::CommonArgs,
    workers: usize,
) -> std::io::Result<common::Background> {
    common::tokio_host::spawn("04-hybrid-blocking", listener, args, workers, run)
}
