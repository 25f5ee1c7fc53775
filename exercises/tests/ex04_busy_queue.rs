//! Exercise 4: `ERR busy` at the bound of the pool's queue.
//!
//! `02-thread-pool/src/server.rs`, `Rejecter::turn_away`: when the queue is
//! full (`execute`, exercise 3, gives the connection back), answer `ERR busy`
//! at once and close gracefully, without ever making the acceptor wait.
//! Builds on exercise 3.
//!
//! ```text
//! cargo test -p exercises --test ex04_busy_queue
//! ```

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use common::CommonArgs;
use conformance::TestClient;
use conformance::server::start;
use exercises::Pool;

#[test]
fn a_full_queue_answers_busy_and_a_queued_client_is_served_later() {
    let server = start::<Pool<1, 1>>(CommonArgs::default());
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
fn every_client_past_the_queue_is_turned_away_and_the_acceptor_keeps_going() {
    let server = start::<Pool<1, 2>>(CommonArgs::default());
    let mut served = TestClient::handshaked(server.addr(), 1);
    let _queued: Vec<TestClient> = (0..2).map(|_| TestClient::connect(server.addr())).collect();
    // The acceptor must never block on a full queue: each of these is
    // answered at once, one after another.
    for _ in 0..5 {
        TestClient::connect(server.addr()).expect_final("ERR busy");
    }
    let stats = served.stats();
    assert_eq!((stats.accepted, stats.rejected, stats.errors), (8, 5, 0));
    server.stop();
}
