//! One client process's share of the load: open its connections at the
//! paced rate, handshake, wait for the signal to start, send requests in a
//! closed or open loop, check every answer, and measure.
//!
//! A process runs on one thread (a current-thread Tokio runtime and a
//! `LocalSet`), so the measurements need no locks; parallelism comes from
//! running several processes, which the open-file limit requires anyway.
//! Each connection holds no read buffer while it waits, like the servers,
//! so 20k connections cost the tester little memory.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::rc::Rc;
use std::time::Duration;

use protocol::client::{AnswerError, Handshake, check_answer};
use protocol::{LineFramer, ProtocolError, Request, work};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};
use tokio::sync::watch;
use tokio::task::{LocalSet, spawn_local};
use tokio::time::{Instant, sleep, sleep_until, timeout};

use crate::metrics::{Failure, Kind, Measured};
use crate::plan::{Requests, Share};

/// Longest line the tester accepts from a server.
const MAX_ANSWER: usize = 1 << 16;
/// How often progress is reported.
const PROGRESS_EVERY: Duration = Duration::from_millis(250);

/// Counts the parent shows while the run goes on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Progress {
    /// Connections whose handshake completed.
    pub handshaked: u64,
    /// Connections finished connecting (handshaked or failed).
    pub settled: u64,
    /// Requests answered correctly.
    pub requests: u64,
    /// Failures so far.
    pub failures: u64,
}

/// Where the run is; every connection task watches it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Phase {
    /// Connecting and handshaking.
    Connecting,
    /// Send requests; the instant is when the request phase started.
    Requests(Instant),
    /// Close the connections.
    End,
}

/// State shared by the connection tasks of this process (one thread).
struct Shared {
    measured: RefCell<Measured>,
    progress: Cell<Progress>,
    /// Connections that have finished their requests (or failed).
    finished: Cell<usize>,
    phase: watch::Sender<Phase>,
    load: Requests,
    target: SocketAddr,
    total_connections: usize,
    /// The lines sent, built once.
    echo_line: String,
    /// `work(units)`, computed once: checking digests costs nothing later.
    digest: u64,
}

impl Shared {
    fn fail(&self, failure: Failure) {
        self.measured.borrow_mut().fail(failure);
        self.update(|p| p.failures += 1);
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        let mut progress = self.progress.get();
        change(&mut progress);
        self.progress.set(progress);
    }
}

/// Runs this process's share: connects, calls `ready` once every
/// connection has handshaked or failed, waits for `go`, runs the requests,
/// and returns what it measured. `report` gets progress every 250 ms.
pub async fn run_share(
    share: Share,
    report: impl Fn(Progress) + 'static,
    ready: impl FnOnce(Progress),
    go: impl Future<Output = ()>,
) -> Measured {
    LocalSet::new()
        .run_until(run_share_locally(share, report, ready, go))
        .await
}

async fn run_share_locally(
    share: Share,
    report: impl Fn(Progress) + 'static,
    ready: impl FnOnce(Progress),
    go: impl Future<Output = ()>,
) -> Measured {
    let (phase, _) = watch::channel(Phase::Connecting);
    let shared = Rc::new(Shared {
        measured: RefCell::new(Measured::default()),
        progress: Cell::new(Progress::default()),
        finished: Cell::new(0),
        phase,
        echo_line: format!("ECHO {}\n", payload(share.load.payload)),
        digest: work(share.load.work_units),
        load: share.load.clone(),
        target: share.target,
        total_connections: share.total_connections,
    });
    let report = Rc::new(report);
    let reporter = spawn_local({
        let shared = Rc::clone(&shared);
        let report = Rc::clone(&report);
        async move {
            loop {
                report(shared.progress.get());
                sleep(PROGRESS_EVERY).await;
            }
        }
    });

    let tasks = open_connections(&share, &shared).await;
    while (shared.progress.get().settled as usize) < share.connections {
        sleep(Duration::from_millis(10)).await;
    }
    ready(shared.progress.get());
    go.await;
    shared.phase.send_replace(Phase::Requests(Instant::now()));
    while shared.finished.get() < share.connections {
        sleep(Duration::from_millis(10)).await;
    }
    shared.phase.send_replace(Phase::End);
    for task in tasks {
        let _ = task.await;
    }
    reporter.abort();
    report(shared.progress.get());
    shared.measured.take()
}

/// Starts the connection tasks at the paced rate.
async fn open_connections(share: &Share, shared: &Rc<Shared>) -> Vec<tokio::task::JoinHandle<()>> {
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(share.connections);
    while tasks.len() < share.connections {
        let due = (started.elapsed().as_secs_f64() * share.connect_rate).ceil() as usize;
        let due = due.clamp(1, share.connections);
        while tasks.len() < due {
            let index = share.first + tasks.len();
            let source =
                (!share.sources.is_empty()).then(|| share.sources[index % share.sources.len()]);
            tasks.push(spawn_local(connection(index, source, Rc::clone(shared))));
        }
        sleep(Duration::from_millis(5)).await;
    }
    tasks
}

/// One connection's life: connect, handshake, requests, wait for the end.
async fn connection(index: usize, source: Option<IpAddr>, shared: Rc<Shared>) {
    let mut phase = shared.phase.subscribe();
    let conn = match connect_and_handshake(index, source, &shared).await {
        Ok(conn) => Some(conn),
        Err(failure) => {
            shared.fail(failure);
            None
        }
    };
    shared.update(|p| p.settled += 1);
    let Ok(start) = phase
        .wait_for(|p| matches!(p, Phase::Requests(_)))
        .await
        .map(|p| match *p {
            Phase::Requests(start) => start,
            _ => Instant::now(),
        })
    else {
        return;
    };
    let conn = match conn {
        Some(mut conn) => match send_requests(&mut conn, index, start, &shared).await {
            Ok(()) => Some(conn),
            Err(failure) => {
                shared.fail(failure);
                None
            }
        },
        None => None,
    };
    shared.finished.set(shared.finished.get() + 1);
    // Hold the connection until every connection is done, so the server's
    // memory is measured with all of them open.
    let _ = phase.wait_for(|p| *p == Phase::End).await;
    drop(conn);
}

async fn connect_and_handshake(
    index: usize,
    source: Option<IpAddr>,
    shared: &Shared,
) -> Result<Conn, Failure> {
    let limit = shared.load.timeout;
    let started = Instant::now();
    let stream = timeout(limit, connect(source, shared.target))
        .await
        .map_err(|_| Failure::Timeout)?
        .map_err(|error| Failure::from_io(&error))?;
    let _ = stream.set_nodelay(true);
    shared.measured.borrow_mut().connected += 1;
    shared
        .measured
        .borrow_mut()
        .connect
        .record(started.elapsed());

    let mut conn = Conn {
        stream,
        framer: LineFramer::new(MAX_ANSWER),
    };
    let handshake = Handshake::new(index as u64 * 3);
    let sent = Instant::now();
    conn.send(handshake.first_line().as_bytes()).await?;
    let answer = conn.answer(limit).await?;
    handshake.check_answer(&answer).map_err(classify)?;
    shared
        .measured
        .borrow_mut()
        .handshake
        .record(sent.elapsed());
    conn.send(handshake.third_line().as_bytes()).await?;
    shared.measured.borrow_mut().handshakes_ok += 1;
    shared.update(|p| p.handshaked += 1);
    Ok(conn)
}

/// Connects from `source` (if any) with `IP_BIND_ADDRESS_NO_PORT`.
async fn connect(source: Option<IpAddr>, target: SocketAddr) -> io::Result<TcpStream> {
    let socket = if target.is_ipv4() {
        TcpSocket::new_v4()?
    } else {
        TcpSocket::new_v6()?
    };
    if let Some(source) = source {
        bind_address_no_port(&socket)?;
        socket.bind(SocketAddr::new(source, 0))?;
    }
    socket.connect(target).await
}

/// Defers the choice of the source port from `bind` to `connect`.
fn bind_address_no_port(socket: &TcpSocket) -> io::Result<()> {
    let enable: libc::c_int = 1;
    // SAFETY: the fd is a live socket owned by `socket`; the option value is
    // a c_int that lives across the call, and its size is passed with it.
    let result = unsafe {
        libc::setsockopt(
            socket.as_raw_fd(),
            libc::IPPROTO_IP,
            libc::IP_BIND_ADDRESS_NO_PORT,
            (&enable as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if result == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The request loop, closed or open.
async fn send_requests(
    conn: &mut Conn,
    index: usize,
    start: Instant,
    shared: &Shared,
) -> Result<(), Failure> {
    let load = &shared.load;
    let end = start + load.duration;
    let mut rng = XorShift::new(index as u64);
    // Open loop: this connection's schedule, staggered so that the
    // connections' requests spread evenly over each interval.
    let schedule = load.rate_per_connection.map(|rate| {
        let interval = Duration::from_secs_f64(1.0 / rate.max(1e-9));
        let phase = interval.mul_f64(index as f64 / shared.total_connections.max(1) as f64);
        (interval, phase)
    });
    // When the previous answer came back.
    let mut answered = start;
    for sent in 0u64.. {
        if load
            .requests_per_connection
            .is_some_and(|limit| sent >= limit)
        {
            break;
        }
        let intended = match schedule {
            Some((interval, phase)) => start + phase + interval.mul_f64(sent as f64),
            None => Instant::now(),
        };
        if load.requests_per_connection.is_none() && intended >= end {
            break;
        }
        if schedule.is_some() {
            // (Closed loop sends at once: even an expired timer would wait
            // for the next tick of Tokio's millisecond clock.)
            sleep_until(intended).await;
        }
        // Coordinated omission: if this request is late because the server
        // had not yet answered the previous one, the wait is the server's
        // doing and counts in its latency. If the connection was free, the
        // few hundred microseconds a timer wakes late are the tester's, and
        // are not charged to the server (they show up as send lag).
        let stalled_by_server = schedule.is_some() && answered > intended;
        let kind = load.mix.pick(rng.below(load.mix.total()));
        let open_loop = schedule.is_some();
        answered = request(conn, kind, intended, stalled_by_server, open_loop, shared).await?;
    }
    Ok(())
}

/// Sends one request, waits for its answer, checks and records it, and
/// returns when the answer came. Latency counts from `intended` when the
/// server stalled this request, else from the moment it was sent.
async fn request(
    conn: &mut Conn,
    kind: Kind,
    intended: Instant,
    stalled_by_server: bool,
    open_loop: bool,
    shared: &Shared,
) -> Result<Instant, Failure> {
    let load = &shared.load;
    let work_line;
    let sleep_line;
    let (line, request) = match kind {
        Kind::Echo => (
            shared.echo_line.as_str(),
            Request::Echo(&shared.echo_line[5..shared.echo_line.len() - 1]),
        ),
        Kind::Work => {
            work_line = format!("WORK {}\n", load.work_units);
            (work_line.as_str(), Request::Work(load.work_units))
        }
        Kind::Sleep => {
            sleep_line = format!("SLEEP {}\n", load.sleep_ms);
            (sleep_line.as_str(), Request::Sleep(load.sleep_ms))
        }
    };
    let sent = Instant::now();
    conn.send(line.as_bytes()).await?;
    let answer = conn.answer(load.timeout).await?;
    let answered = Instant::now();
    check_answer(&request, &answer, |_| shared.digest).map_err(classify)?;

    let from = if stalled_by_server { intended } else { sent };
    let mut measured = shared.measured.borrow_mut();
    measured.requests_ok += 1;
    measured.request.record(answered - from);
    measured
        .by_kind
        .entry(kind)
        .or_default()
        .record(answered - from);
    if open_loop {
        measured.request_uncorrected.record(answered - sent);
        measured
            .send_lag
            .record(sent.saturating_duration_since(intended));
    }
    drop(measured);
    shared.update(|p| p.requests += 1);
    Ok(answered)
}

/// An `ERR busy` is its own failure kind; other `ERR`s and wrong answers too.
fn classify(error: AnswerError) -> Failure {
    match error {
        AnswerError::Server(ProtocolError::Busy) => Failure::Busy,
        AnswerError::Server(_) => Failure::OtherErr,
        AnswerError::WrongAnswer { .. } => Failure::WrongAnswer,
    }
}

/// A connection: the socket and the framer that splits its answers.
struct Conn {
    stream: TcpStream,
    framer: LineFramer,
}

impl Conn {
    async fn send(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|error| Failure::from_io(&error))
    }

    /// The next line from the server, within `limit`.
    async fn answer(&mut self, limit: Duration) -> Result<String, Failure> {
        timeout(limit, self.next_line())
            .await
            .map_err(|_| Failure::Timeout)?
    }

    async fn next_line(&mut self) -> Result<String, Failure> {
        loop {
            if let Some(line) = self.framer.next_line() {
                let range = line.map_err(|_| Failure::WrongAnswer)?;
                return String::from_utf8(self.framer.line(range).to_vec())
                    .map_err(|_| Failure::WrongAnswer);
            }
            self.stream
                .readable()
                .await
                .map_err(|error| Failure::from_io(&error))?;
            let mut chunk = [0u8; 4096];
            match self.stream.try_read(&mut chunk) {
                Ok(0) => return Err(Failure::Reset),
                Ok(n) => self.framer.push(&chunk[..n]),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(Failure::from_io(&error)),
            }
        }
    }
}

/// ECHO text of `bytes` printable bytes.
fn payload(bytes: usize) -> String {
    "abcdefghijklmnopqrstuvwxyz0123456789"
        .chars()
        .cycle()
        .take(bytes)
        .collect()
}

/// A small, fast, seeded random number generator (xorshift64*): enough to
/// pick request kinds, and reproducible from the connection index.
struct XorShift(u64);

impl XorShift {
    fn new(seed: u64) -> XorShift {
        XorShift(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    /// A number in `0..bound`.
    fn below(&mut self, bound: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let random = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d);
        (((random >> 32) * u64::from(bound)) >> 32) as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_random_picks_follow_the_weights() {
        let mut rng = XorShift::new(7);
        let hits = (0..100_000).filter(|_| rng.below(100) < 10).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
    }

    #[test]
    fn payload_has_the_asked_length() {
        assert_eq!(payload(0), "");
        assert_eq!(payload(40).len(), 40);
    }
}
