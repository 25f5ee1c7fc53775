//! Starting and stopping a model in-process.

use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use common::{Background, CommonArgs};

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
#[derive(Debug)]
pub struct RunningServer {
    background: Background,
    /// Whether [`RunningServer::stop`] waits for a clean return.
    stop_is_checked: bool,
}

impl From<Background> for RunningServer {
    fn from(background: Background) -> RunningServer {
        RunningServer::checked(background)
    }
}

impl From<std::io::Result<Background>> for RunningServer {
    fn from(started: std::io::Result<Background>) -> RunningServer {
        RunningServer::checked(started.expect("start the server"))
    }
}

impl RunningServer {
    fn checked(background: Background) -> RunningServer {
        RunningServer {
            background,
            stop_is_checked: true,
        }
    }

    /// Makes [`RunningServer::stop`] only start the shutdown, without
    /// waiting for it: for cases about something else, run against a server
    /// whose shutdown is not written yet (the workshop's exercise 5, the
    /// accept loop, comes before exercise 6 writes the shutdown). Explicit
    /// [`RunningServer::assert_returned_cleanly`] calls still check.
    pub fn without_stop_check(mut self) -> RunningServer {
        self.stop_is_checked = false;
        self
    }
    /// Runs `serve(listener)` on a new thread; `stop` starts its shutdown
    /// (what SIGTERM does to the binary), after which `serve` must return.
    pub fn spawn(
        listener: TcpListener,
        stop: impl FnOnce() + Send + 'static,
        serve: impl FnOnce(TcpListener) + Send + 'static,
    ) -> RunningServer {
        let addr = listener.local_addr().expect("listener address");
        let thread = thread::spawn(move || serve(listener));
        RunningServer::checked(Background::new(addr, stop, thread))
    }

    /// Where the server listens.
    pub fn addr(&self) -> SocketAddr {
        self.background.addr()
    }

    /// Starts the shutdown (once).
    pub fn begin_stop(&mut self) {
        self.background.begin_stop();
    }

    /// Whether the server has returned, waiting at most `limit`.
    pub fn finished_within(&self, limit: Duration) -> bool {
        self.background.finished_within(limit)
    }

    /// Stops the server and asserts that it returns, without a panic.
    pub fn stop(mut self) {
        self.begin_stop();
        if self.stop_is_checked {
            self.assert_returned_cleanly();
        }
    }

    /// Asserts that the server returns within [`STOP_LIMIT`] (once its
    /// shutdown has begun) and that its thread did not panic: a panic while
    /// shutting down can look like a clean stop from the clients' side.
    pub fn assert_returned_cleanly(self) {
        assert!(
            self.finished_within(STOP_LIMIT),
            "the server did not return within {STOP_LIMIT:?} of its shutdown"
        );
        assert!(self.background.join().is_ok(), "the server thread panicked");
    }
}

/// Binds port 0 on loopback and starts `M` with `args`.
pub fn start<M: Model>(args: CommonArgs) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    M::start(listener, args)
}
