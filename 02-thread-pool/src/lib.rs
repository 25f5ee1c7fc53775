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
