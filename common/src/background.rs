//! A server running on a thread of this process, for tests and benchmarks.
//!
//! Each server crate has a `spawn` that starts its `run` on a new thread
//! (with its own runtime, for the async ones) and returns a [`Background`]:
//! where it listens, how to start its shutdown (what SIGTERM does to the
//! binary), and the thread to wait for.

use std::fmt;
use std::net::SocketAddr;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A server on a background thread.
pub struct Background {
    addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
    thread: Option<JoinHandle<()>>,
}

impl Background {
    /// Wraps a server thread and the function that starts its shutdown.
    pub fn new(
        addr: SocketAddr,
        stop: impl FnOnce() + Send + 'static,
        thread: JoinHandle<()>,
    ) -> Background {
        Background {
            addr,
            stop: Some(Box::new(stop)),
            thread: Some(thread),
        }
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Starts the shutdown (once).
    pub fn begin_stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            stop();
        }
    }

    /// Whether the server thread has returned, waiting at most `limit`.
    pub fn finished_within(&self, limit: Duration) -> bool {
        let deadline = Instant::now() + limit;
        loop {
            if self.thread.as_ref().is_none_or(JoinHandle::is_finished) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// Waits for the server thread to return and says whether it panicked.
    /// Call it after [`Background::begin_stop`], or it waits for ever.
    pub fn join(mut self) -> std::thread::Result<()> {
        self.thread.take().map_or(Ok(()), JoinHandle::join)
    }
}

impl fmt::Debug for Background {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Background")
            .field("addr", &self.addr)
            .field("stopping", &self.stop.is_none())
            .finish_non_exhaustive()
    }
}

impl Drop for Background {
    /// Starts the shutdown; does not wait (a failed test must not hang).
    fn drop(&mut self) {
        self.begin_stop();
    }
}
