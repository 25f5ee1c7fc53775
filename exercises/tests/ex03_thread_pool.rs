//! Exercise 3: a thread pool with std only: `Worker`, `Job`, shutdown
//! through `Drop`.
//!
//! `02-thread-pool/src/server.rs`: `ThreadPool::new` (a bounded channel and
//! the workers that share its receiver), `Worker::start` (a thread that
//! takes jobs until the channel closes), `ThreadPool::execute` (queue a
//! job without ever blocking) and `impl Drop for ThreadPool` (close the
//! channel, join every worker). Builds on exercises 1 and 2:
//! each job is 01's conversation with one client.
//!
//! ```text
//! cargo test -p exercises --test ex03_thread_pool
//! ```

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::thread;
use std::time::Duration;

use common::CommonArgs;
use conformance::TestClient;
use conformance::server::start;
use exercises::Pool;

mod two_workers {
    // Two clients talk at once: two workers take jobs, and neither holds
    // the receiver's lock while it serves.
    conformance::cases_for!(exercises::Pool<2, 2>; connections_are_served_concurrently);
}

mod eight_workers {
    // Everyone connected gets `BYE` at shutdown, and the server returns
    // without a panic: `Drop` closes the channel and joins the workers.
    conformance::cases_for!(exercises::Pool<8, 8>;
        shutdown_says_bye_to_every_connection,
        shutdown_while_sleep_runs_answers_then_says_bye,
    );
}

#[test]
fn a_worker_goes_back_for_the_next_job() {
    let server = start::<Pool<1, 4>>(CommonArgs::default());
    let mut first = TestClient::handshaked(server.addr(), 1);
    let mut second = TestClient::connect(server.addr());
    second.send("HELLO 5\n");
    // The one worker is busy with `first`: `second` waits in the queue.
    first.exchange("ECHO first", "ECHO first");
    first.exchange("QUIT", "BYE");
    drop(first);
    // The same worker, done with `first`, takes `second` from the queue.
    second.expect("HELLO 6");
    second.send("HELLO 7\n");
    second.exchange("ECHO second", "ECHO second");
    server.stop();
}

#[test]
fn dropping_the_pool_waits_for_the_workers_to_finish() {
    let mut server = start::<Pool<2, 2>>(CommonArgs::default());
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.send("SLEEP 800\n");
    thread::sleep(Duration::from_millis(100));
    server.begin_stop();
    assert!(
        server.finished_within(conformance::server::STOP_LIMIT),
        "the server did not return"
    );
    // The server returns only after the pool is dropped, and the pool is
    // dropped only after its workers have finished: so the answer and the
    // BYE are already here.
    assert!(
        client.has_line_waiting(),
        "the server returned while a worker was still serving: \
         `Drop` must join the workers"
    );
    client.expect("SLEPT 800");
    client.expect_final("BYE");
    server.assert_returned_cleanly();
}
