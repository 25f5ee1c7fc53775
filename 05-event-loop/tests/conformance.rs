//! The shared conformance suite, run against 05-event-loop in-process.

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};

struct EventLoop;

impl Model for EventLoop {
    const NAME: &'static str = registry::EVENT_LOOP.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        event_loop::spawn(vec![listener], &args, 4).into()
    }
}

conformance::conformance_tests!(EventLoop);
conformance::concurrency_tests!(EventLoop);
conformance::reliability_tests!(EventLoop);
conformance::cases_for!(EventLoop; a_client_that_does_not_read_holds_up_only_itself);
