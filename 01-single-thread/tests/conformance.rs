//! The shared conformance suite, run against 01-single-thread in-process.
//!
//! 01 serves one connection at a time, so it runs the cases for a single
//! connection only; `concurrency_tests!` does not apply to it.

use std::net::TcpListener;

use common::{CommonArgs, Shutdown};
use conformance::{Model, RunningServer};
use protocol::ServerState;

struct SingleThread;

impl Model for SingleThread {
    const NAME: &'static str = "01-single-thread";

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        let state = ServerState::new(args.session_config());
        let shutdown = Shutdown::new();
        let trigger = shutdown.clone();
        RunningServer::spawn(
            listener,
            move || trigger.trigger(),
            move |listener| single_thread::run(listener, state, &shutdown),
        )
    }
}

conformance::conformance_tests!(SingleThread);
