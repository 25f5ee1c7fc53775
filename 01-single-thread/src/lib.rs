//! 01-single-thread: the simplest server that speaks the protocol, and the
//! baseline the other three models are measured against.
//!
//! # Layout
//!
//! - [`server`]: the whole model, in one file: the accept loop and the
//!   blocking conversation with one client. 02-thread-pool reuses
//!   [`serve_connection`] and [`close_gracefully`] unchanged and only
//!   changes who calls them.
//! - `main.rs`: flags, logging, signals, then [`run`].

pub mod server;

pub use server::{close_gracefully, run, serve_connection};
