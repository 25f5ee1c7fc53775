//! The shared conformance suite, run against 03-async-tokio in-process.

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};

struct AsyncTokio;

impl Model for AsyncTokio {
    const NAME: &'static str = registry::ASYNC_TOKIO.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        async_tokio::spawn(listener, &args, 2).into()
    }
}

conformance::conformance_tests!(AsyncTokio);
conformance::concurrency_tests!(AsyncTokio);
conformance::reliability_tests!(AsyncTokio);
