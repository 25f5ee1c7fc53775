//! What the pool adds to 01: several clients at once, and a bounded queue
//! that answers `ERR busy` instead of letting clients pile up unseen.

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
fn a_full_queue_answers_busy_and_a_queued_client_is_served_later() {
    let server = start_pool(1, 1);
    // The only worker serves the first client for as long as it stays.
    let mut served = TestClient::handshaked(server.addr(), 1);
    served.exchange("ECHO first", "ECHO first");
    // The second waits in the queue: accepted, not yet answered.
    let mut queued = TestClient::connect(server.addr());
    queued.send("HELLO 10\n");
    // The queue holds one: the third is turned away at once.
    let mut turned_away = TestClient::connect(server.addr());
    turned_away.expect_final("ERR busy");

    let stats = served.stats();
    assert_eq!(
        (stats.active, stats.accepted, stats.rejected),
        (2, 3, 1),
        "the queued connection is open and counts as active"
    );
    // When the worker is free, the queued client is served.
    served.exchange("QUIT", "BYE");
    drop(served);
    queued.expect("HELLO 11");
    queued.send("HELLO 12\n");
    queued.exchange("ECHO second", "ECHO second");
    server.stop();
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
    assert!(server.finished_within(conformance::server::STOP_LIMIT));
}
