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
