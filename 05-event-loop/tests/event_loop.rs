//! What the hand-written loop must get right that a runtime does for you:
//! nothing blocks the loop, answers stay in order while their work is on
//! the pool, and several loops share one port. (A client that stops
//! reading holds up only itself: `tests/conformance.rs`.)

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use common::CommonArgs;
use conformance::{RunningServer, TestClient};

/// One loop (so every connection shares its thread) and `pool_threads`.
fn start_one_loop(pool_threads: usize) -> RunningServer {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    event_loop::spawn(vec![listener], &CommonArgs::default(), pool_threads).into()
}

#[test]
fn a_sleep_on_the_pool_does_not_stall_the_loop() {
    let server = start_one_loop(2);
    let mut sleeper = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    sleeper.send("SLEEP 500\n");
    thread::sleep(Duration::from_millis(100));
    echoer.exchange("ECHO not blocked", "ECHO not blocked");
    // The loop answered the ECHO while the SLEEP was still on the pool.
    assert!(
        !sleeper.has_line_waiting(),
        "the SLEEP was answered before the ECHO: it ran on the loop"
    );
    sleeper.expect("SLEPT 500");
    server.stop();
}

#[test]
fn pipelined_answers_stay_in_order_around_pool_work() {
    // Four pool threads: a later job could overtake an earlier one if the
    // connection handed both out at once.
    let server = start_one_loop(4);
    let mut client = TestClient::handshaked(server.addr(), 7);
    client.send("ECHO a\nSLEEP 200\nECHO b\nWORK 1\nSLEEP 0\nECHO c\n");
    for want in [
        "ECHO a",
        "SLEPT 200",
        "ECHO b",
        "DONE 1 9b9dffca778a5dde",
        "SLEPT 0",
        "ECHO c",
    ] {
        client.expect(want);
    }
    server.stop();
}

#[test]
fn several_loops_share_one_port() {
    let first = common::listen::bind("127.0.0.1:0".parse().unwrap(), true).unwrap();
    let addr = first.local_addr().unwrap();
    let second = common::listen::bind(addr, true).unwrap();
    let server: RunningServer =
        event_loop::spawn(vec![first, second], &CommonArgs::default(), 2).into();
    // The kernel spreads these between the two loops: a loop that does not
    // serve would leave some of them unanswered.
    let mut clients: Vec<TestClient> = (0..32)
        .map(|x| TestClient::handshaked(server.addr(), x))
        .collect();
    for (x, client) in clients.iter_mut().enumerate() {
        client.exchange(&format!("ECHO {x}"), &format!("ECHO {x}"));
    }
    let stats = clients[0].stats();
    assert_eq!(stats.active, 32, "both loops count in one set of counters");
    server.stop();
}
