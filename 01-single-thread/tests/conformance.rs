//! The shared conformance suite, run against 01-single-thread in-process.
//!
//! 01 serves one connection at a time, so it runs the cases for a single
//! connection only; `concurrency_tests!` does not apply to it.

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};

struct SingleThread;

impl Model for SingleThread {
    const NAME: &'static str = registry::SINGLE_THREAD.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        single_thread::spawn(listener, &args).into()
    }
}

conformance::conformance_tests!(SingleThread);
