//! The shared conformance suite, run against 04-hybrid-blocking in-process.

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};
use protocol::ServerState;
use tokio_util::sync::CancellationToken;

struct HybridBlocking;

impl Model for HybridBlocking {
    const NAME: &'static str = "04-hybrid-blocking";

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        let state = ServerState::new(args.session_config());
        let config = args.serve_config(1024);
        let stop = CancellationToken::new();
        let trigger = stop.clone();
        RunningServer::spawn(
            listener,
            move || trigger.cancel(),
            move |listener| {
                let runtime = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()
                    .unwrap();
                listener.set_nonblocking(true).unwrap();
                runtime.block_on(async {
                    let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                    hybrid_blocking::run(listener, state, config, stop.cancelled_owned()).await;
                });
                runtime.shutdown_background();
            },
        )
    }
}

conformance::conformance_tests!(HybridBlocking);
conformance::concurrency_tests!(HybridBlocking);
