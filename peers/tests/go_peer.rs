//! The Go peer against the shared conformance suite, run as a process (the
//! suite's binary mode): every rule of the protocol, the concurrency and
//! reliability cases, and the binary's flags, signals and exit.

// A test's panics are its failures.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[cfg(has_go)]
mod common;

#[cfg(has_go)]
mod go {
    use std::net::TcpListener;

    use common::CommonArgs;
    use conformance::{Model, RunningServer};

    fn launcher() -> conformance::process::Launcher {
        peers::go_peer().expect("the build script built the Go peer")
    }

    struct GoPeer;

    impl Model for GoPeer {
        const NAME: &'static str = registry::GO_PEER.name;

        fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
            RunningServer::process(&launcher(), listener, &args)
        }
    }

    conformance::conformance_tests!(GoPeer);
    conformance::concurrency_tests!(GoPeer);
    conformance::reliability_tests!(GoPeer);
    conformance::binary_tests!(launcher(), registry::GO_PEER);
    conformance::accept_recovery_tests!(launcher());
    conformance::shutdown_under_load_tests!(launcher());

    #[test]
    fn work_reproduces_the_protocol_test_vectors() {
        crate::common::work_reproduces_the_test_vectors::<GoPeer>();
    }
}

#[cfg(not(has_go))]
#[test]
fn go_is_not_installed_so_the_go_peer_is_not_checked() {
    println!("skipped: `go` was not on PATH when this package was built");
}
