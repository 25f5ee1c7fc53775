//! The Node peer against the shared conformance suite, run as a process (the
//! suite's binary mode): every rule of the protocol, the concurrency and
//! reliability cases, and the binary's flags, signals and exit.

// A test's panics are its failures.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[cfg(has_node)]
mod common;

#[cfg(has_node)]
mod node {
    use std::net::TcpListener;

    use common::CommonArgs;
    use conformance::{Model, RunningServer};

    fn launcher() -> conformance::process::Launcher {
        peers::node_peer().expect("the build script found node")
    }

    struct NodePeer;

    impl Model for NodePeer {
        const NAME: &'static str = registry::NODE_PEER.name;

        fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
            RunningServer::process(&launcher(), listener, &args)
        }
    }

    conformance::conformance_tests!(NodePeer);
    conformance::concurrency_tests!(NodePeer);
    conformance::reliability_tests!(NodePeer);
    conformance::binary_tests!(launcher(), registry::NODE_PEER);
    // No `accept_recovery_tests!`: when Node (libuv) runs out of file
    // descriptors on accept, it frees a spare descriptor, accepts every
    // waiting connection and closes it at once (its "EMFILE trick"), and
    // tells JavaScript nothing. The waiting clients are lost rather than
    // served later, and Node 20 offers no way to pause accepting instead.
    // The peers chapter says so.
    conformance::shutdown_under_load_tests!(launcher());

    #[test]
    fn work_reproduces_the_protocol_test_vectors() {
        crate::common::work_reproduces_the_test_vectors::<NodePeer>();
    }
}

#[cfg(not(has_node))]
#[test]
fn node_is_not_installed_so_the_node_peer_is_not_checked() {
    println!("skipped: `node` was not on PATH when this package was built");
}
