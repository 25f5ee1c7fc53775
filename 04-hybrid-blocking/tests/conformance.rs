//! The shared conformance suite, run against 04-hybrid-blocking in-process.

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};

struct HybridBlocking;

impl Model for HybridBlocking {
    const NAME: &'static str = registry::HYBRID_BLOCKING.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        hybrid_blocking::spawn(listener, &args, 2).into()
    }
}

conformance::conformance_tests!(HybridBlocking);
conformance::concurrency_tests!(HybridBlocking);
conformance::reliability_tests!(HybridBlocking);
