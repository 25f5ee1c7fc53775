//! 01-single-thread: the simplest server that speaks the protocol, and the
//! baseline the other three models are measured against.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the accept loop and the
//!   blocking conversation with one client. 02-thread-pool reuses
//!   [`serve_connection`] unchanged and only changes who calls it (and
//!   [`discard_until`] for the connections it turns away).
//! - `main.rs`: flags, logging, signals, then [`run`].

pub mod server;

pub use server::{discard_until, run, serve_connection};

/// Runs 01 on a new thread, for tests and benchmarks.
pub fn spawn(
    listener: std::net::TcpListener,
    args: &common::CommonArgs,
) -> std::io::Result<common::Background> {
    let addr = listener.local_addr()?;
    let state = protocol::ServerState::new(args.session_config());
    let shutdown = common::Shutdown::new();
    let trigger = shutdown.clone();
    let thread = std::thread::Builder::new()
        .name("01-single-thread".into())
        .spawn(move || run(listener, state, &shutdown))?;
    Ok(common::Background::new(
        addr,
        move || trigger.trigger(),
        thread,
    ))
}
