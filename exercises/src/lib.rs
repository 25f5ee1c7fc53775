//! The workshop's exercises, one test file each in `tests/`.
//!
//! An exercise rebuilds one key piece of a model: the code to write is cut
//! out of the real sources by `cargo xtask workshop` (the book's Workshop
//! chapter explains how), and the exercise's test file says when it works
//! again. The tests never look inside a server: they talk to it over
//! loopback, mostly with the shared conformance cases, so any correct
//! solution passes, not only the one in this repository.
//!
//! A learner runs one exercise with, for example:
//!
//! ```text
//! cargo test -p exercises --test ex01_line_framer
//! ```
//!
//! This library names the servers, in the configurations the exercises
//! need, for the conformance suite, and holds the one scene that exercises
//! 7 and 8 share.

use std::net::TcpListener;

use common::CommonArgs;
use conformance::{Model, RunningServer};

/// 01-single-thread.
#[derive(Debug)]
pub struct SingleThread;

impl Model for SingleThread {
    const NAME: &'static str = registry::SINGLE_THREAD.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        single_thread::spawn(listener, &args).into()
    }
}

/// 02-thread-pool with `THREADS` workers and room for `QUEUE` waiting
/// connections.
#[derive(Debug)]
pub struct Pool<const THREADS: usize, const QUEUE: usize>;

impl<const THREADS: usize, const QUEUE: usize> Model for Pool<THREADS, QUEUE> {
    const NAME: &'static str = registry::THREAD_POOL.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        let mode = thread_pool::Mode::Pool {
            threads: THREADS,
            queue: QUEUE,
        };
        thread_pool::spawn(listener, &args, mode).into()
    }
}

/// 03-async-tokio on a runtime of `WORKERS` threads.
#[derive(Debug)]
pub struct AsyncTokio<const WORKERS: usize>;

impl<const WORKERS: usize> Model for AsyncTokio<WORKERS> {
    const NAME: &'static str = registry::ASYNC_TOKIO.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        async_tokio::spawn(listener, &args, WORKERS).into()
    }
}

/// 03-async-tokio on a runtime of `WORKERS` threads, stopped without
/// waiting: exercise 5 (the accept loop) is checked before exercise 6
/// writes the shutdown, so its tests must not depend on it.
#[derive(Debug)]
pub struct AsyncTokioAcceptOnly<const WORKERS: usize>;

impl<const WORKERS: usize> Model for AsyncTokioAcceptOnly<WORKERS> {
    const NAME: &'static str = registry::ASYNC_TOKIO.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        RunningServer::from(async_tokio::spawn(listener, &args, WORKERS)).without_stop_check()
    }
}

/// 04-hybrid-blocking on a runtime of `WORKERS` threads.
#[derive(Debug)]
pub struct Hybrid<const WORKERS: usize>;

impl<const WORKERS: usize> Model for Hybrid<WORKERS> {
    const NAME: &'static str = registry::HYBRID_BLOCKING.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        hybrid_blocking::spawn(listener, &args, WORKERS).into()
    }
}

/// 05-event-loop: one loop, and `POOL` threads for `WORK` and `SLEEP`.
#[derive(Debug)]
pub struct EventLoop<const POOL: usize>;

impl<const POOL: usize> Model for EventLoop<POOL> {
    const NAME: &'static str = registry::EVENT_LOOP.name;

    fn start(listener: TcpListener, args: CommonArgs) -> RunningServer {
        event_loop::spawn(vec![listener], &args, POOL).into()
    }
}

/// The scene of model 04's lesson: on a runtime of *one* worker thread, a
/// client sends `slow` (a `WORK` or a `SLEEP` lasting about two seconds),
/// and another client's `ECHO` must be answered while it runs. If the slow
/// request held the worker thread, the `ECHO` would wait for it. Then the
/// slow request's own answer must be `answer`.
pub fn echo_is_answered_while(slow: &str, answer: &str) {
    let args = CommonArgs {
        max_work: 10_000_000,
        max_sleep: 5000,
        ..CommonArgs::default()
    };
    let server = conformance::server::start::<Hybrid<1>>(args);
    let mut slow_client = conformance::TestClient::handshaked(server.addr(), 1);
    let mut echoer = conformance::TestClient::handshaked(server.addr(), 2);
    slow_client.send(format!("{slow}\n"));
    std::thread::sleep(std::time::Duration::from_millis(100));
    echoer.exchange("ECHO free", "ECHO free");
    assert!(
        !slow_client.has_line_waiting(),
        "`{slow}` finished first: the ECHO waited for it"
    );
    slow_client.expect(answer);
    server.stop();
}
