//! The prologue and the epilogue every server binary shares, written once.
//!
//! Before a model can serve, its binary does the same things in the same
//! order, and the order matters: block SIGINT and SIGTERM *before* any
//! thread exists (so that only the signal thread receives them), start
//! logging, raise the open-file limit, bind the listener (one, or one per
//! event loop on a shared port), make the server's state and start the
//! signal thread; then it logs the startup line, runs the model, and prints
//! the final counters. [`Host`] does each step, so a model's `main.rs`
//! reads top to bottom in a screenful and differs from the others only in
//! its flags, its threads and the `run` it calls.

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use protocol::ServerState;

use crate::signals::{block_shutdown_signals, exit_with_final_counters, spawn_signal_handler};
use crate::{CommonArgs, ServeConfig};

/// The number of cores this process may use (1 if unknown): the default
/// of every "one per core" flag.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

/// Where a server listens.
#[derive(Debug, Clone, Copy)]
pub struct Listen {
    /// `--addr`.
    pub addr: SocketAddr,
    /// Listeners on that port: one per event loop for 05, else one.
    pub listeners: usize,
    /// `--reuse-port`: other processes may listen on the same port.
    pub reuse_port: bool,
}

impl Listen {
    /// One listener on `addr`.
    pub fn one(addr: SocketAddr, reuse_port: bool) -> Listen {
        Listen {
            addr,
            listeners: 1,
            reuse_port,
        }
    }
}

/// A server binary between its prologue and its epilogue.
#[derive(Debug)]
pub struct Host {
    /// The binary's name, for the startup line.
    pub model: &'static str,
    /// The counters and the session configuration every connection shares.
    pub state: Arc<ServerState>,
    /// Limits and timeouts of the serving loop.
    pub config: ServeConfig,
    /// The open-file limit after raising it.
    pub fd_limit: u64,
    /// The bound listeners (taken by the model's `run`).
    pub listeners: Vec<TcpListener>,
    addr: SocketAddr,
    reuse_port: bool,
    grace: Duration,
}

impl Host {
    /// The prologue up to the listeners: blocks SIGINT and SIGTERM, starts
    /// logging, raises the open-file limit, binds, and makes the state.
    /// Call it first thing in `main`, before any thread is started.
    pub fn start(model: &'static str, args: &CommonArgs, listen: Listen) -> anyhow::Result<Host> {
        block_shutdown_signals()?;
        crate::logging::init();
        let fd_limit = crate::limits::raise_fd_limit();
        // Several listeners of one process share the port as several
        // processes do.
        let reuse_port = listen.reuse_port || listen.listeners > 1;
        let listeners = bind(listen.addr, listen.listeners.max(1), reuse_port)
            .with_context(|| format!("cannot listen on {}", listen.addr))?;
        let addr = listeners[0].local_addr()?;
        Ok(Host {
            model,
            state: ServerState::new(args.session_config()),
            config: args.serve_config(fd_limit),
            fd_limit,
            listeners,
            addr,
            reuse_port,
            grace: args.shutdown_grace,
        })
    }

    /// Starts the signal thread: on SIGINT or SIGTERM it calls
    /// `start_shutdown`, then exits the process when the grace period ends
    /// if the server has not finished by then.
    pub fn on_shutdown_signal(&self, start_shutdown: impl FnOnce() + Send + 'static) {
        spawn_signal_handler(self.grace, self.state.clone(), start_shutdown);
    }

    /// The startup line: where, which model, its threads (`threads`), the
    /// limits, and in words how it serves (`how`).
    pub fn announce(&self, threads: &str, how: &str) {
        tracing::info!(
            addr = %self.addr,
            model = self.model,
            threads,
            max_connections = self.config.max_connections,
            reuse_port = self.reuse_port,
            fd_limit = self.fd_limit,
            "listening; {how}"
        );
    }

    /// The one listener of a model that has one.
    pub fn take_listener(&mut self) -> anyhow::Result<TcpListener> {
        self.listeners.pop().context("the host bound no listener")
    }

    /// The epilogue: the final counters as the last line, then exit 0.
    pub fn exit(&self) -> ! {
        exit_with_final_counters(&self.state.counters)
    }
}

/// `count` listeners, all on the port the first one got (which
/// `--addr 127.0.0.1:0` leaves to the kernel).
fn bind(addr: SocketAddr, count: usize, reuse_port: bool) -> std::io::Result<Vec<TcpListener>> {
    let first = crate::listen::bind(addr, reuse_port)?;
    let port = first.local_addr()?;
    let mut listeners = vec![first];
    for _ in 1..count {
        listeners.push(crate::listen::bind(port, reuse_port)?);
    }
    Ok(listeners)
}
