//! `cargo bench`: the Rust models of the registry side by side, one
//! criterion group per question, each started in-process on port 0 (the Go
//! and Node peers are measured by `loadtest suite`, not here: criterion
//! times only what runs in this process's reach).
//!
//! - `handshake/<model>`: connect, the three-way handshake and `QUIT`, one
//!   connection at a time.
//! - `echo/64/<model>`, `echo/1024/<model>`: one ECHO round trip on each of
//!   64 or 1024 open connections per iteration (throughput: requests/s).
//!   A server that sits out the registry's throughput step (01 serves one
//!   connection at a time) sits these out too, with the registry's reason;
//!   02 runs with a pool as large as the connection count.
//! - `echo_under_work/<model>`: one ECHO round trip while two other
//!   connections keep sending `WORK` of about a millisecond: where 04 must
//!   beat 03, whose runtime threads run the `WORK` inline.
//! - `protocol/*`: the session's framing and parsing (bytes/s) and `work()`
//!   (units/s: 1e6 units/s is the "1 µs per unit" calibration).
//!
//! Budget: the whole run must stay within 10 minutes on two cores, so every
//! group uses 20 samples, 0.5 s of warm-up and 2 s of measurement (criterion's
//! defaults, 100 samples and 5 s, would take about five times as long).
//! `cargo bench -- --list` lists every id.

// Benchmarks panic on setup failure, like tests.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Background, CommonArgs};
use criterion::{
    BenchmarkGroup, Criterion, Throughput, criterion_group, criterion_main, measurement::WallTime,
};
use protocol::{ServerState, SessionConfig, work};
use registry::{Server, Step};

/// The registry's Rust models: the ones this process can start.
fn models() -> impl Iterator<Item = &'static Server> {
    registry::SERVERS.iter().filter(|s| s.is_rust_model())
}

/// The models that take part in `step`; the others are named with the
/// registry's reason.
fn models_in(group: &str, step: Step) -> Vec<&'static Server> {
    models()
        .filter(|model| match model.takes_part_in(step) {
            Ok(()) => true,
            Err(why) => {
                eprintln!("{group}: {} is left out: it {why}", model.name);
                false
            }
        })
        .collect()
}

/// Starts `model` on port 0; `connections` sizes 02's pool (a pool
/// smaller than the connections would measure its queue, not the model).
fn start(model: &Server, connections: usize) -> Background {
    let sizes = launch::Sizes {
        pool: connections.max(8),
        ..launch::Sizes::default()
    };
    launch::start(
        model,
        TcpListener::bind("127.0.0.1:0").unwrap(),
        &CommonArgs::default(),
        sizes,
    )
    .unwrap()
}

/// A handshaked client connection that knows the length of its answers.
struct Client {
    stream: TcpStream,
    reader: BufReader<TcpStream>,
}

impl Client {
    fn connect(addr: SocketAddr, x: u64) -> Client {
        let stream = TcpStream::connect(addr).unwrap();
        stream.set_nodelay(true).unwrap();
        let mut client = Client {
            reader: BufReader::new(stream.try_clone().unwrap()),
            stream,
        };
        client.send(format!("HELLO {x}\n").as_bytes());
        assert_eq!(client.line(), format!("HELLO {}\n", x + 1));
        client.send(format!("HELLO {}\n", x + 2).as_bytes());
        client
    }

    fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).unwrap();
    }

    fn line(&mut self) -> String {
        let mut line = String::new();
        self.reader.read_line(&mut line).unwrap();
        line
    }

    /// Reads exactly `buf.len()` bytes: an answer whose length is known.
    fn answer(&mut self, buf: &mut [u8]) {
        self.reader.read_exact(buf).unwrap();
    }
}

const ECHO: &[u8] = b"ECHO benchmark payload\n";

fn handshake(c: &mut Criterion) {
    let mut group = configured(c, "handshake");
    for model in models() {
        let server = start(model, 1);
        group.bench_function(model.name, |b| {
            b.iter(|| {
                let mut client = Client::connect(server.addr(), 41);
                client.send(b"QUIT\n");
                assert_eq!(client.line(), "BYE\n");
            });
        });
    }
    group.finish();
}

fn echo(c: &mut Criterion, connections: usize) {
    let mut group = configured(c, &format!("echo/{connections}"));
    group.throughput(Throughput::Elements(connections as u64));
    for model in models_in(&format!("echo/{connections}"), Step::Throughput) {
        let server = start(model, connections);
        let mut clients: Vec<Client> = (0..connections)
            .map(|i| Client::connect(server.addr(), i as u64))
            .collect();
        let mut answer = vec![0u8; ECHO.len()];
        group.bench_function(model.name, |b| {
            b.iter(|| {
                // One request on every connection, then every answer: the
                // server has all of them in flight at once.
                for client in &mut clients {
                    client.send(ECHO);
                }
                for client in &mut clients {
                    client.answer(&mut answer);
                }
            });
        });
        drop(clients);
    }
    group.finish();
}

fn echo_64(c: &mut Criterion) {
    echo(c, 64);
}

fn echo_1024(c: &mut Criterion) {
    common::limits::raise_fd_limit();
    echo(c, 1024);
}

/// Two connections that send `WORK 1000` back to back until dropped.
struct Workers {
    stop: Arc<AtomicBool>,
    threads: Vec<thread::JoinHandle<()>>,
}

impl Workers {
    fn start(addr: SocketAddr) -> Workers {
        let stop = Arc::new(AtomicBool::new(false));
        let done = format!("DONE 1000 {:016x}\n", work(1000));
        let threads = (0..2)
            .map(|i| {
                let stop = Arc::clone(&stop);
                let done = done.clone();
                let mut client = Client::connect(addr, 1000 + i);
                thread::spawn(move || {
                    let mut answer = vec![0u8; done.len()];
                    while !stop.load(Ordering::Relaxed) {
                        client.send(b"WORK 1000\n");
                        client.answer(&mut answer);
                    }
                })
            })
            .collect();
        Workers { stop, threads }
    }
}

impl Drop for Workers {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

fn echo_under_work(c: &mut Criterion) {
    let mut group = configured(c, "echo_under_work");
    for model in models_in("echo_under_work", Step::MixedWork) {
        let server = start(model, 8);
        let _workers = Workers::start(server.addr());
        let mut client = Client::connect(server.addr(), 7);
        let mut answer = vec![0u8; ECHO.len()];
        group.bench_function(model.name, |b| {
            b.iter(|| {
                client.send(ECHO);
                client.answer(&mut answer);
            });
        });
    }
    group.finish();
}

fn protocol_micro(c: &mut Criterion) {
    let mut group = configured(c, "protocol");
    // A pipelined stream of requests, fed through a session in 4 KiB reads.
    let mut stream = b"HELLO 1\nHELLO 3\n".to_vec();
    while stream.len() < 64 * 1024 {
        stream.extend_from_slice(b"ECHO some text to frame\r\nSTATS\nWORK 0\nbogus\n");
    }
    group.throughput(Throughput::Bytes(stream.len() as u64));
    let state = ServerState::new(SessionConfig::default());
    group.bench_function("session_framing_and_parsing", |b| {
        b.iter(|| {
            let mut session = state.admit(Instant::now());
            let mut actions = 0usize;
            for chunk in stream.chunks(4096) {
                session.receive(chunk);
                while session.next_action().is_some() {
                    actions += 1;
                }
            }
            actions
        });
    });
    group.throughput(Throughput::Elements(1000));
    group.bench_function("work_1000_units", |b| b.iter(|| work(1000)));
    group.finish();
}

/// A group with the budget described in the module docs.
fn configured<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut group = c.benchmark_group(name);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    group
}

criterion_group!(
    benches,
    handshake,
    echo_64,
    echo_1024,
    echo_under_work,
    protocol_micro
);
criterion_main!(benches);
