//! What the pool adds to 01: queued clients are not forgotten at shutdown;
//! and how far a thread per connection is allowed to go.
//!
//! The pool's other behaviours are tested by the workshop exercises that
//! rebuild it: `exercises/tests/ex03_thread_pool.rs` (several clients at
//! once, `Drop` joins the workers) and `ex04_busy_queue.rs` (a full queue
//! answers `ERR busy`).

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{RunningServer, TestClient};
use thread_pool::Mode;

fn start_pool(threads: usize, queue: usize) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    thread_pool::spawn(
        listener,
        &CommonArgs::default(),
        Mode::Pool { threads, queue },
    )
    .into()
}

#[test]
fn queued_clients_get_bye_at_shutdown() {
    let mut server = start_pool(1, 4);
    let mut served = TestClient::handshaked(server.addr(), 1);
    served.exchange("ECHO up", "ECHO up");
    let mut queued = TestClient::connect(server.addr());
    queued.send("HELLO 1\n");
    // Make sure the acceptor has queued it before stopping.
    served.stats_until(|stats| stats.accepted == 2);
    server.begin_stop();
    served.expect_final("BYE");
    // The queued one had its HELLO read by nobody: it gets BYE unanswered
    // or answered, but it gets BYE and the server returns.
    let first = queued.line();
    if first != "BYE" {
        assert_eq!(first, "HELLO 2");
        queued.expect("BYE");
    }
    queued.expect_closed();
    server.assert_returned_cleanly();
}

#[test]
fn a_thread_per_connection_is_held_to_what_the_map_count_allows() {
    use common::ServeConfig;
    use thread_pool::Config;
    let serve = ServeConfig {
        max_connections: 10_000_000,
        shutdown_grace: std::time::Duration::from_secs(1),
    };
    let allowed = common::limits::threads_the_map_count_allows().unwrap();
    let per_connection = Config::new(serve, Mode::ThreadPerConnection);
    assert_eq!(per_connection.serve.max_connections, allowed);
    let pool = Config::new(
        serve,
        Mode::Pool {
            threads: 8,
            queue: 8,
        },
    );
    assert_eq!(
        pool.serve.max_connections, 10_000_000,
        "a pool starts its threads once"
    );
    let small = ServeConfig {
        max_connections: 5,
        ..serve
    };
    let asked = Config::new(small, Mode::ThreadPerConnection);
    assert_eq!(asked.serve.max_connections, 5);
}
