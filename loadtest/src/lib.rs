//! The shared load tester: `loadtest run`, `suite`, `doctor` and `probe`.
//!
//! It drives any of the servers (or several processes of one) up to
//! 100k connections from this one machine, measures connect, handshake and
//! request latency honestly (open-loop latency counts from the intended send
//! time, so a stalled server cannot hide behind a waiting client), checks
//! every answer, and reads the server's memory per connection from `/proc`.
//!
//! # Layout
//!
//! - [`args`]: the flags of `run` and the `--mix` syntax.
//! - [`affinity`]: pinning the tester and the server to their own cores.
//! - [`cost`]: what one request cost each side (CPU, system calls,
//!   context switches).
//! - [`spec`]: what a run does, as plain data (built from the flags, or by
//!   the suite).
//! - [`plan`]: dividing the connections over processes and source addresses.
//! - [`client`]: one client process's connections and request loops.
//! - [`metrics`]: histograms and failure counts, and merging them.
//! - [`doctor`]: what stands in the way of N connections, and the fix.
//! - [`runner`]: the parent process: workers, sampling, progress.
//! - [`report`]: the table and the JSON.
//! - [`saved`]: a run kept whole (`--save`) and runs of several load hosts
//!   combined (`loadtest merge`); [`hlog`]: the HdrHistogram interval log.
//! - [`probe`]: one connection, every request, the transcript.
//! - [`suite`]: every server in the registry measured the same way, for
//!   the book (its own module tree: schedule, server processes, stamp,
//!   stored data, tables, charts, prose). It uses the modules above; none of
//!   them uses it.

pub mod affinity;
pub mod args;
pub mod client;
pub mod cost;
pub mod doctor;
pub mod hlog;
pub mod metrics;
pub mod plan;
pub mod probe;
pub mod report;
pub mod runner;
pub mod saved;
pub mod spec;
pub mod suite;
