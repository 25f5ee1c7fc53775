//! 03-async-tokio: a Tokio task per connection.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the accept loop with its
//!   connection limit, and one task's conversation with one client.
//! - `main.rs`: flags, logging, signals, the runtime, then [`run`].

pub mod server;

pub use server::{run, serve_connection};
