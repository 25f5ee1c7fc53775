//! Starting and stopping a model in-process.

use std::net::{SocketAddr, TcpListener};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use common::CommonArgs;

/// How long any server gets to finish after being stopped before the test
/// calls it hung. Generous: the suite checks behaviour, not speed.
pub const STOP_LIMIT: Duration = Duration::from_secs(20);

/// A server model the suite can run.
pub trait Model {
    /// The binary's name, for messages.
    const NAME: &'static str;

    /// Starts serving on `listener` with these flags (`--max-connections`
    /// included) and returns at once.
    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer;
}

/// A server running on a thread of the test process.
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<Box<dyn FnOnce() + Send>>,
    finished: mpsc::Receiver<()>,
}

impl std::fmt::Debug for RunningServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningServer")
            .field("addr", &self.addr)
            .field("stopping", &self.stop.is_none())
            .finish_non_exhaustive()
    }
}

impl RunningServer {
    /// Runs `serve(listener)` on a new thread; `stop` starts its shutdown
    /// (what SIGTERM does to the binary), after which `serve` must return.
    pub fn spawn(
        listener: TcpListener,
        stop: impl FnOnce() + Send + 'static,
        serve: impl FnOnce(TcpListener) + Send + 'static,
    ) -> RunningServer {
        let addr = listener.local_addr().expect("listener address");
        let (done, finished) = mpsc::channel();
        thread::spawn(move || {
            serve(listener);
            let _ = done.send(());
        });
        RunningServer {
            addr,
            stop: Some(Box::new(stop)),
            finished,
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

    /// Whether the server has returned, waiting at most `limit`.
    pub fn finished_within(&self, limit: Duration) -> bool {
        !matches!(
            self.finished.recv_timeout(limit),
            Err(mpsc::RecvTimeoutError::Timeout)
        )
    }

    /// Stops the server and asserts that it returns.
    pub fn stop(mut self) {
        self.begin_stop();
        assert!(
            self.finished_within(STOP_LIMIT),
            "the server did not return within {STOP_LIMIT:?} of its shutdown"
        );
    }
}

impl Drop for RunningServer {
    /// A failed test still stops its server.
    fn drop(&mut self) {
        self.begin_stop();
    }
}

/// Binds port 0 on loopback and starts `M` with `args`.
pub fn start<M: Model>(args: CommonArgs) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    M::start(listener, args)
}
