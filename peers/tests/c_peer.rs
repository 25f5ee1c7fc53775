//! The C peer (the floor) against the shared conformance suite, run as a
//! process. It serves the whole protocol, so every case applies: every rule,
//! the concurrency and reliability cases, the binary's flags, signals and
//! exit, and running out of file descriptors. (It sits out the suite's WORK
//! and SLEEP measurements because it computes WORK on its one loop, not
//! because it lacks them.)

// A test's panics are its failures.
#![allow(clippy::expect_used, clippy::unwrap_used)]

#[cfg(has_cc)]
mod common;

#[cfg(has_cc)]
mod c {
    use std::net::TcpListener;

    use common::CommonArgs;
    use conformance::{Model, RunningServer};

    fn launcher() -> conformance::process::Launcher {
        peers::c_peer().expect("the build script compiled the C peer")
    }

    struct CPeer;

    impl Model for CPeer {
        const NAME: &'static str = registry::C_PEER.name;

        fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
            RunningServer::process(&launcher(), listener, &args)
        }
    }

    conformance::conformance_tests!(CPeer);
    conformance::concurrency_tests!(CPeer);
    conformance::reliability_tests!(CPeer);
    conformance::binary_tests!(launcher(), registry::C_PEER);
    conformance::accept_recovery_tests!(launcher());
    conformance::shutdown_under_load_tests!(launcher());

    #[test]
    fn work_reproduces_the_protocol_test_vectors() {
        crate::common::work_reproduces_the_test_vectors::<CPeer>();
    }
}

#[cfg(not(has_cc))]
#[test]
fn cc_is_not_installed_so_the_c_peer_is_not_checked() {
    println!("skipped: `cc` was not on PATH when this package was built");
}
