//! What the servers (and the load tester) share that is not the protocol.
//!
//! The five servers must differ only in how they drive I/O and where work
//! runs, so everything else lives here once: the command-line flags they all
//! take, durations written `1m30s`, logging, raising the open-file limit,
//! and the shutdown plumbing of the blocking servers.
//!
//! # Layout
//!
//! - [`accept`]: what to do when `accept` fails.
//! - [`args`]: the flags every server takes, and their defaults.
//! - [`background`]: a server on a thread of this process, for tests and
//!   benchmarks.
//! - [`cli`]: how a binary reports a fatal error.
//! - [`duration`]: parsing `10s`, `500ms`, `1.5s`, `1m30s`.
//! - [`host`]: what every server binary does before and after its model
//!   runs (signals, logging, the open-file limit, the listeners, the
//!   startup line, the final counters), and `cores()`.
//! - [`limits`]: the open-file limit, and the connection limit it allows.
//! - [`listen`]: binding the listening socket.
//! - [`logging`]: `tracing` to standard error, level from `RUST_LOG`.
//! - [`procfs`]: a process's RSS, threads and context switches, and the
//!   kernel's socket memory, read from `/proc` (the load tester's and
//!   `anatomy`'s view of a server).
//! - [`shutdown`]: waking blocked threads when the server shuts down.
//! - [`signals`]: SIGINT/SIGTERM, the grace period, and the final line.
//! - `tokio_host` (feature `tokio`): the runtime, listener and shutdown
//!   around an async model's `run`, shared by 03 and 04.

pub mod accept;
pub mod args;
pub mod background;
pub mod cli;
pub mod duration;
pub mod host;
pub mod limits;
pub mod listen;
pub mod logging;
pub mod procfs;
pub mod shutdown;
pub mod signals;
#[cfg(feature = "tokio")]
pub mod tokio_host;

pub use args::{CommonArgs, ServeConfig};
pub use background::Background;
pub use duration::parse_duration;
pub use host::{Host, Listen, cores};
pub use shutdown::Shutdown;
