//! The shared conformance suite, run against 02-thread-pool in-process, in
//! both of its modes.

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};
use thread_pool::Mode;

struct Pool;

impl Model for Pool {
    const NAME: &'static str = registry::THREAD_POOL.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        let mode = Mode::Pool {
            threads: 16,
            queue: 16,
        };
        thread_pool::spawn(listener, &args, mode).into()
    }
}

struct PerConnection;

impl Model for PerConnection {
    const NAME: &'static str = registry::THREAD_PER_CONNECTION.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        thread_pool::spawn(listener, &args, Mode::ThreadPerConnection).into()
    }
}

/// A pool larger than the reliability cases' stalled clients: a pool
/// smaller than a slow-client attack is exhausted until the handshake
/// timeout frees it. The queue is as large too: the workers take jobs from
/// one `Mutex<Receiver>` one after another, so a burst of connections fills
/// a short queue faster than idle workers empty it.
struct LargePool;

impl Model for LargePool {
    const NAME: &'static str = "02-thread-pool --threads 512 --queue 512";

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        let mode = Mode::Pool {
            threads: 512,
            queue: 512,
        };
        thread_pool::spawn(listener, &args, mode).into()
    }
}

mod large_pool {
    conformance::reliability_tests!(super::LargePool);
}

mod pool {
    conformance::conformance_tests!(super::Pool);
    conformance::concurrency_tests!(super::Pool);
}

mod per_connection {
    conformance::conformance_tests!(super::PerConnection);
    conformance::concurrency_tests!(super::PerConnection);
    conformance::reliability_tests!(super::PerConnection);
}
