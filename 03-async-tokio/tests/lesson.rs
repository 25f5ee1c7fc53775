//! The trap this model exists to show: a blocking call inside a task holds
//! its worker thread, and every other connection on that thread waits.
//!
//! With one worker thread, a client's `ECHO` cannot be answered before
//! another client's `SLEEP` has finished: the `SLEPT` answer is always sent
//! first. (Model 04's test of the same scene shows the opposite.)

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{RunningServer, TestClient};
use protocol::ServerState;
use tokio_util::sync::CancellationToken;

fn start_with_one_worker() -> RunningServer {
    let args = CommonArgs::default();
    let state = ServerState::new(args.session_config());
    let config = args.serve_config(1024);
    let stop = CancellationToken::new();
    let trigger = stop.clone();
    RunningServer::spawn(
        TcpListener::bind("127.0.0.1:0").unwrap(),
        move || trigger.cancel(),
        move |listener| {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .unwrap();
            listener.set_nonblocking(true).unwrap();
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                async_tokio::run(listener, state, config, stop.cancelled_owned()).await;
            });
            runtime.shutdown_background();
        },
    )
}

#[test]
fn a_sleep_on_the_only_worker_stalls_every_other_connection() {
    let server = start_with_one_worker();
    let mut sleeper = TestClient::handshaked(server.addr(), 1);
    let mut echoer = TestClient::handshaked(server.addr(), 2);
    echoer.exchange("ECHO warm", "ECHO warm");
    sleeper.send("SLEEP 500\n");
    std::thread::sleep(std::time::Duration::from_millis(100));
    echoer.exchange("ECHO blocked?", "ECHO blocked?");
    // By the time the ECHO was answered, the SLEEP had finished.
    assert!(
        sleeper.has_line_waiting(),
        "the ECHO was answered while the SLEEP still held the only worker"
    );
    sleeper.expect("SLEPT 500");
    server.stop();
}
