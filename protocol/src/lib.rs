//! The handshake/echo protocol of this repository, written once, *sans-IO*.
//!
//! Every server and the load tester speak the protocol specified in
//! `PROTOCOL.md` at the root of the repository (summarised in the book's
//! protocol chapter). This crate holds all of it that does not depend on
//! *how* bytes move: no sockets, no threads, no runtime. A server feeds the
//! bytes it read into a [`Session`] and gets back [`Action`]s: send this
//! line, send it and close, run `work`, sleep. That is why the five servers
//! can differ only in how they drive I/O and where `WORK` and `SLEEP` run:
//! the rules are here, and tested here, once.
//!
//! # Layout
//!
//! - [`framing`]: splits a byte stream into lines, with the length limit.
//! - [`number`]: what counts as a number on the wire.
//! - [`request`]: parsing a request line after the handshake.
//! - [`reply`]: every line a server sends, and the exact error texts.
//! - [`session`]: one connection's state machine (handshake, requests, timeouts).
//! - [`counters`]: the server-wide counters behind `STATS`.
//! - [`work`](mod@work): the deterministic CPU-bound function behind `WORK`.
//! - [`client`]: the client side, for the load tester and the tests.

pub mod client;
pub mod counters;
pub mod framing;
pub mod number;
pub mod reply;
pub mod request;
pub mod session;
pub mod work;

pub use counters::{CounterSnapshot, Counters};
pub use framing::LineFramer;
pub use reply::{ProtocolError, Reply};
pub use request::Request;
pub use session::{Action, ServerState, Session, SessionConfig};
pub use work::{work, work_yielding};

/// Default `--max-line`: the longest line, counting its `\r` and `\n`.
pub const DEFAULT_MAX_LINE: usize = 4096;
/// Default `--max-work`: the most `WORK` units one request may ask for.
pub const DEFAULT_MAX_WORK: u64 = 1_000_000;
/// Default `--max-sleep`, in milliseconds.
pub const DEFAULT_MAX_SLEEP_MS: u64 = 1000;
/// How long a server reads and discards after its final line before closing.
pub const CLOSE_DRAIN: std::time::Duration = std::time::Duration::from_millis(500);
