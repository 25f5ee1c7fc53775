//! The shared conformance suite, run against 02-thread-pool in-process, in
//! both of its modes.

use std::net::TcpListener;

use common::{CommonArgs, Shutdown};
use conformance::{Model, RunningServer};
use protocol::ServerState;
use thread_pool::{Config, Mode};

/// Starts 02 in `mode` with the suite's flags.
fn start(listener: TcpListener, args: CommonArgs, mode: Mode) -> RunningServer {
    let state = ServerState::new(args.session_config());
    let config = Config {
        serve: args.serve_config(1024),
        mode,
    };
    let shutdown = Shutdown::new();
    let trigger = shutdown.clone();
    RunningServer::spawn(
        listener,
        move || trigger.trigger(),
        move |listener| thread_pool::run(listener, state, config, &shutdown),
    )
}

struct Pool;

impl Model for Pool {
    const NAME: &'static str = "02-thread-pool";

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        start(
            listener,
            args,
            Mode::Pool {
                threads: 16,
                queue: 16,
            },
        )
    }
}

struct PerConnection;

impl Model for PerConnection {
    const NAME: &'static str = "02-thread-pool --per-connection";

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        start(listener, args, Mode::ThreadPerConnection)
    }
}

mod pool {
    conformance::conformance_tests!(super::Pool);
    conformance::concurrency_tests!(super::Pool);
}

mod per_connection {
    conformance::conformance_tests!(super::PerConnection);
    conformance::concurrency_tests!(super::PerConnection);
}
