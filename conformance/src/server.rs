//! Starting and stopping a model: in-process (the Rust models), or as a
//! process of its own (any server binary, the peers included: the suite's
//! *binary mode*).

use std::net::{SocketAddr, TcpListener};
use std::thread;
use std::time::Duration;

use common::{Background, CommonArgs};

use crate::process::{Launcher, ServerProcess};

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

/// A server running on a thread of the test process, or as a process.
#[derive(Debug)]
pub struct RunningServer {
    host: Host,
    /// Whether [`RunningServer::stop`] waits for a clean return.
    stop_is_checked: bool,
}

/// Where the server runs.
#[derive(Debug)]
enum Host {
    /// `run` on a thread; stopping it is what SIGTERM does to the binary.
    Thread(Background),
    /// A process; stopping it is SIGTERM.
    Process {
        process: ServerProcess,
        stopped: bool,
    },
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
            host: Host::Thread(background),
            stop_is_checked: true,
        }
    }

    /// Starts `launcher` as a process listening where `listener` was, with
    /// `args` as flags. (The listener is closed first so that the process
    /// can bind its address; nothing else takes a fresh loopback port in
    /// that instant.)
    pub fn process(launcher: &Launcher, listener: TcpListener, args: &CommonArgs) -> RunningServer {
        let addr = listener.local_addr().expect("listener address");
        drop(listener);
        let flags = args.to_flags();
        let flags: Vec<&str> = flags.iter().map(String::as_str).collect();
        RunningServer {
            host: Host::Process {
                process: ServerProcess::start_on(launcher, addr, &flags),
                stopped: false,
            },
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
        match &self.host {
            Host::Thread(background) => background.addr(),
            Host::Process { process, .. } => process.addr(),
        }
    }

    /// Starts the shutdown (once).
    pub fn begin_stop(&mut self) {
        match &mut self.host {
            Host::Thread(background) => background.begin_stop(),
            Host::Process { process, stopped } => {
                if !*stopped {
                    process.signal(libc::SIGTERM);
                    *stopped = true;
                }
            }
        }
    }

    /// Whether the server has returned, waiting at most `limit`.
    pub fn finished_within(&mut self, limit: Duration) -> bool {
        match &mut self.host {
            Host::Thread(background) => background.finished_within(limit),
            Host::Process { process, .. } => process.exited_within(limit).is_some(),
        }
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
    pub fn assert_returned_cleanly(mut self) {
        assert!(
            self.finished_within(STOP_LIMIT),
            "the server did not return within {STOP_LIMIT:?} of its shutdown"
        );
        match self.host {
            Host::Thread(background) => {
                assert!(background.join().is_ok(), "the server thread panicked")
            }
            Host::Process { mut process, .. } => {
                let status = process.exited_within(Duration::ZERO);
                assert!(
                    status.is_some_and(|s| s.success()),
                    "the server process exited with {status:?}"
                );
            }
        }
    }
}

/// Binds port 0 on loopback and starts `M` with `args`.
pub fn start<M: Model>(args: CommonArgs) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    M::start(listener, args)
}
