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
use std::collections::VecDeque;
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
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};

use crate::metrics::{Failure, Interval, Kind, Measured};
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

/// State shared by the connection tasks of this process (one thread).
struct Shared {
    measured: RefCell<Measured>,
    progress: Cell<Progress>,
    /// Connections that have finished their requests (or failed).
    finished: Cell<usize>,
    /// The parent's two cues, each on a channel of its own: when the
    /// requests start (`None` until `go`) and whether to close. A watch
    /// channel wakes every task that waits on it at every change, and at a
    /// million connections waking them all kept the tester's processes on
    /// both cores for about a second (seen in their CPU time, read every
    /// tenth of a second); so a task waits only on the cue it needs, and
    /// one with no request to send never waits for the start.
    start: watch::Sender<Option<Instant>>,
    end: watch::Sender<bool>,
    load: Requests,
    target: SocketAddr,
    total_connections: usize,
    /// The lines sent, built once.
    echo_line: String,
    work_line: String,
    sleep_line: String,
    /// `work(units)`, computed once: checking digests costs nothing later.
    digest: u64,
}

impl Shared {
    /// The request line of `kind`.
    fn line(&self, kind: Kind) -> &str {
        match kind {
            Kind::Echo => &self.echo_line,
            Kind::Work => &self.work_line,
            Kind::Sleep => &self.sleep_line,
        }
    }

    /// The latency-over-time interval that `at` falls in.
    fn interval_of(&self, at: Instant, start: Instant) -> usize {
        let elapsed = at.saturating_duration_since(start).as_secs_f64();
        (elapsed / self.load.interval.as_secs_f64().max(1e-3)) as usize
    }

    fn update(&self, change: impl FnOnce(&mut Progress)) {
        let mut progress = self.progress.get();
        change(&mut progress);
        self.progress.set(progress);
    }
}

/// What a client process tells its parent while it runs.
pub trait Reporter {
    /// Counts so far (every 250 ms).
    fn progress(&self, progress: Progress);
    /// Every connection has handshaked or failed.
    fn ready(&self, progress: Progress);
    /// Latency-over-time interval `index` of the request phase is over.
    fn interval(&self, index: usize, interval: &Interval);
    /// Every connection has finished its requests and is still open.
    fn requests_done(&self);
}

/// When to move on: the parent's word, twice.
#[derive(Debug)]
pub struct Cues<G, C> {
    /// Start the requests.
    pub go: G,
    /// Close the connections (after the parent has read the server's
    /// figures with every connection still open).
    pub close: C,
}

/// Runs this process's share: connects, tells `reporter` once every
/// connection has handshaked or failed, waits for `go`, runs the requests,
/// tells `reporter` they are done, waits for `close`, and returns what it
/// measured.
pub async fn run_share(
    share: Share,
    reporter: impl Reporter + 'static,
    cues: Cues<impl Future<Output = ()>, impl Future<Output = ()>>,
) -> Measured {
    LocalSet::new()
        .run_until(run_share_locally(share, reporter, cues))
        .await
}

async fn run_share_locally(
    share: Share,
    reporter: impl Reporter + 'static,
    cues: Cues<impl Future<Output = ()>, impl Future<Output = ()>>,
) -> Measured {
    let (start, _) = watch::channel(None);
    let (end, _) = watch::channel(false);
    let shared = Rc::new(Shared {
        measured: RefCell::new(Measured::default()),
        progress: Cell::new(Progress::default()),
        finished: Cell::new(0),
        start,
        end,
        echo_line: format!("ECHO {}\n", payload(share.load.payload)),
        work_line: format!("WORK {}\n", share.load.work_units),
        sleep_line: format!("SLEEP {}\n", share.load.sleep_ms),
        digest: work(share.load.work_units),
        load: share.load.clone(),
        target: share.target,
        total_connections: share.total_connections,
    });
    let reporter = Rc::new(reporter);
    let reporting = spawn_local({
        let shared = Rc::clone(&shared);
        let reporter = Rc::clone(&reporter);
        async move {
            let mut intervals_told = 0;
            loop {
                reporter.progress(shared.progress.get());
                if let Some(start) = *shared.start.borrow() {
                    let now = shared.interval_of(Instant::now(), start);
                    while intervals_told < now {
                        let measured = shared.measured.borrow();
                        let interval = measured.intervals.get(intervals_told);
                        reporter.interval(intervals_told, interval.unwrap_or(&Interval::default()));
                        intervals_told += 1;
                    }
                }
                sleep(PROGRESS_EVERY).await;
            }
        }
    });

    let tasks = open_connections(&share, &shared).await;
    while (shared.progress.get().settled as usize) < share.connections {
        sleep(Duration::from_millis(10)).await;
    }
    reporter.ready(shared.progress.get());
    cues.go.await;
    // The first requests are due a little after `go`: the tasks that send
    // wake and arm their timers in that lead, not in the first requests'
    // time (see `Requests::start_lead`).
    shared
        .start
        .send_replace(Some(Instant::now() + share.load.start_lead));
    while shared.finished.get() < share.connections {
        sleep(Duration::from_millis(10)).await;
    }
    reporter.requests_done();
    cues.close.await;
    shared.end.send_replace(true);
    for task in tasks {
        let _ = task.await;
    }
    reporting.abort();
    reporter.progress(shared.progress.get());
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
    let mut end = shared.end.subscribe();
    let conn = match connect_and_handshake(index, source, &shared).await {
        Ok(conn) => Some(conn),
        Err(ended) => {
            ended.record(&shared, None);
            None
        }
    };
    shared.update(|p| p.settled += 1);
    let sends = Schedule::sends_anything(&shared.load, index, shared.total_connections);
    let conn = match conn {
        Some(conn) if sends => requests(conn, index, &shared).await,
        conn => conn,
    };
    shared.finished.set(shared.finished.get() + 1);
    // Hold the connection until every connection is done, so the server's
    // memory is measured with all of them open.
    let _ = end.wait_for(|&end| end).await;
    drop(conn);
}

/// Waits for the start, then sends this connection's requests; the
/// connection, if it is still open.
async fn requests(mut conn: Conn, index: usize, shared: &Shared) -> Option<Conn> {
    // Only a connection that sends subscribes to the start: a receiver is
    // memory, and a million of them would be held for nothing. `wait_for`
    // reads the value as it is first, so the order does not matter.
    let start = (*shared
        .start
        .subscribe()
        .wait_for(Option::is_some)
        .await
        .ok()?)?;
    // No sleep until `start` here: every task would then wake at that one
    // instant, as they once woke at `go`. Each sleeps until its own first
    // turn instead ([`Schedule::next_due`]).
    match send_requests(&mut conn, index, start, shared).await {
        Ok(()) => Some(conn),
        Err(ended) => {
            let at = shared.interval_of(Instant::now(), start);
            ended.record(shared, Some(at));
            None
        }
    }
}

async fn connect_and_handshake(
    index: usize,
    source: Option<IpAddr>,
    shared: &Shared,
) -> Result<Conn, Ended> {
    let limit = shared.load.timeout;
    let started = Instant::now();
    let failed = |failed: Failed| Ended::by(failed, 0);
    let stream = timeout(limit, connect(source, shared.target))
        .await
        .map_err(|_| failed(Failure::Timeout.into()))?
        .map_err(|error| failed(Failed::io(&error)))?;
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
    conn.send(handshake.first_line().as_bytes())
        .await
        .map_err(failed)?;
    let answer = conn.answer(limit).await.map_err(failed)?;
    if is_final_line(&answer) {
        // A server shutting down says BYE to connections in the handshake.
        return Err(Ended {
            failure: Failure::ClosedByServer,
            unanswered: 0,
            final_line: Some(answer),
            reason: None,
        });
    }
    handshake
        .check_answer(&answer)
        .map_err(|error| failed(classify(error).into()))?;
    shared
        .measured
        .borrow_mut()
        .handshake
        .record(sent.elapsed());
    conn.send(handshake.third_line().as_bytes())
        .await
        .map_err(failed)?;
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

/// A failure, with the system's own words when an I/O error caused it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Failed {
    failure: Failure,
    /// The I/O error's text (`No route to host (os error 113)`).
    reason: Option<String>,
}

impl Failed {
    fn io(error: &io::Error) -> Failed {
        Failed {
            failure: Failure::from_io(error),
            reason: Some(error.to_string()),
        }
    }
}

impl From<Failure> for Failed {
    fn from(failure: Failure) -> Failed {
        Failed {
            failure,
            reason: None,
        }
    }
}

/// Why a connection stopped before its requests were done.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Ended {
    failure: Failure,
    /// Requests on the wire that never got their answer.
    unanswered: u64,
    /// The server's final line, when it sent one (`BYE`, `ERR idle timeout`).
    final_line: Option<String>,
    /// The system's words, for an I/O error.
    reason: Option<String>,
}

impl Ended {
    fn by(failed: impl Into<Failed>, unanswered: usize) -> Ended {
        let Failed { failure, reason } = failed.into();
        Ended {
            failure,
            unanswered: unanswered as u64,
            final_line: None,
            reason,
        }
    }

    fn record(self, shared: &Shared, at: Option<usize>) {
        let mut measured = shared.measured.borrow_mut();
        if let Some(reason) = &self.reason {
            measured.io_error(reason);
        }
        match &self.final_line {
            Some(line) => measured.closed_by_server(line, self.unanswered, at),
            None => {
                measured.unanswered += self.unanswered;
                measured.fail(self.failure, at);
            }
        }
        drop(measured);
        shared.update(|p| p.failures += 1);
    }
}

/// Whether `line` is one a server sends last, before it closes: `BYE`, or an
/// `ERR` that closes the connection (a timeout, say). `ERR busy` is not one
/// of these: it is the answer to a connect, counted as `busy`.
fn is_final_line(line: &str) -> bool {
    line == "BYE"
        || ProtocolError::from_line(line)
            .is_some_and(|error| error.closes_connection() && error != ProtocolError::Busy)
}

/// A request on the wire, waiting for its answer.
#[derive(Debug, Clone, Copy)]
struct InFlight {
    kind: Kind,
    /// When it was meant to go out (open loop) or went out (closed loop).
    intended: Instant,
    sent: Instant,
    /// Whether it went out late because the window was full of requests
    /// the server had not answered: that wait is the server's doing.
    stalled_by_server: bool,
}

/// The request loop, closed or open, with up to `pipeline` requests in
/// flight: every request that is due goes out in one write while the
/// window has room, and the answers are matched to them in order.
async fn send_requests(
    conn: &mut Conn,
    index: usize,
    start: Instant,
    shared: &Shared,
) -> Result<(), Ended> {
    let load = &shared.load;
    let window = load.pipeline.max(1);
    let mut schedule = Schedule::new(load, index, shared.total_connections, start);
    let mut rng = XorShift::new(index as u64);
    let mut in_flight: VecDeque<InFlight> = VecDeque::with_capacity(window);
    // When an answer last made room in a full window.
    let mut unblocked = start;
    let mut batch = Vec::new();
    loop {
        let now = Instant::now();
        batch.clear();
        while in_flight.len() < window {
            let Some(intended) = schedule.due(now) else {
                break;
            };
            // Coordinated omission: a request that is late because the
            // window was full waited for the server, and that wait counts
            // in its latency. If the window had room, the few hundred
            // microseconds a timer wakes late are the tester's, and show up
            // as send lag instead.
            let stalled_by_server = schedule.open_loop() && unblocked > intended;
            let kind = load.mix.pick(rng.below(load.mix.total()));
            batch.extend_from_slice(shared.line(kind).as_bytes());
            in_flight.push_back(InFlight {
                kind,
                intended,
                sent: now,
                stalled_by_server,
            });
        }
        if !batch.is_empty() {
            conn.send(&batch)
                .await
                .map_err(|failure| Ended::by(failure, in_flight.len()))?;
        }
        let next = schedule.next_due(Instant::now());
        let Some(oldest) = in_flight.front().copied() else {
            match next {
                // Closed loop never gets here with work left: it refills at once.
                Some(due) => {
                    sleep_until(due).await;
                    continue;
                }
                None => return Ok(()),
            }
        };
        let room_for_more = in_flight.len() < window;
        let answer = tokio::select! {
            answer = timeout_at(oldest.sent + load.timeout, conn.next_line()) => answer,
            // The next request is due while answers are awaited.
            _ = sleep_until(next.unwrap_or(oldest.sent)), if room_for_more && next.is_some() => continue,
        };
        let mut line = match answer {
            Ok(Ok(line)) => line,
            Ok(Err(failure)) => return Err(Ended::by(failure, in_flight.len())),
            Err(_) => return Err(Ended::by(Failure::Timeout, in_flight.len())),
        };
        let answered = Instant::now();
        // Every answer the last read brought is taken before the window is
        // refilled: the refill then goes out in one write, and a pipelined
        // connection makes a few system calls per window, not per request.
        loop {
            let was_full = in_flight.len() == window;
            take_answer(line, &mut in_flight, answered, start, shared)?;
            if was_full {
                unblocked = answered;
            }
            match conn.buffered_line() {
                Some(Ok(next)) => line = next,
                Some(Err(failure)) => return Err(Ended::by(failure, in_flight.len())),
                None => break,
            }
        }
    }
}

/// Matches one answer to the oldest request in flight, checks and records
/// it. A final line (`BYE`, `ERR idle timeout`) ends the connection.
fn take_answer(
    line: String,
    in_flight: &mut VecDeque<InFlight>,
    answered: Instant,
    start: Instant,
    shared: &Shared,
) -> Result<(), Ended> {
    let oldest = in_flight.pop_front();
    if is_final_line(&line) {
        return Err(Ended {
            failure: Failure::ClosedByServer,
            unanswered: in_flight.len() as u64 + u64::from(oldest.is_some()),
            final_line: Some(line),
            reason: None,
        });
    }
    // An answer with no request waiting for it is not an answer.
    let oldest = oldest.ok_or(Ended::by(Failure::WrongAnswer, 0))?;
    // `ERR work too large` and the like refuse one request and keep the
    // connection (PROTOCOL.md): counted by text, and the run goes on.
    if ProtocolError::from_line(&line).is_some_and(|error| !error.closes_connection()) {
        let at = shared.interval_of(answered, start);
        shared.measured.borrow_mut().request_error(&line, at);
        shared.update(|p| p.failures += 1);
        return Ok(());
    }
    check(&line, oldest.kind, shared).map_err(|failure| Ended::by(failure, in_flight.len()))?;
    record(&oldest, answered, start, shared);
    Ok(())
}

/// When each request of one connection is meant to go out.
struct Schedule {
    start: Instant,
    end: Instant,
    /// Open loop: the gap between this connection's requests and its offset
    /// within the first gap, staggered so that the connections' requests
    /// spread evenly.
    open: Option<(Duration, Duration)>,
    limit: Option<u64>,
    issued: u64,
}

impl Schedule {
    fn new(load: &Requests, index: usize, connections: usize, start: Instant) -> Schedule {
        Schedule {
            start,
            end: start + load.duration,
            open: load.rate_per_connection.map(|rate| {
                let gap = Duration::from_secs_f64(1.0 / rate.max(1e-9));
                (gap, gap.mul_f64(index as f64 / connections.max(1) as f64))
            }),
            limit: load.requests_per_connection,
            issued: 0,
        }
    }

    /// Whether connection `index` has any request to send: in an open loop
    /// slower than one request per connection in the run, the later
    /// connections' first turn falls after the end.
    fn sends_anything(load: &Requests, index: usize, connections: usize) -> bool {
        let start = Instant::now();
        Schedule::new(load, index, connections, start)
            .next_due(start)
            .is_some()
    }

    fn open_loop(&self) -> bool {
        self.open.is_some()
    }

    /// When the next request is meant to go out, if there is one. In a
    /// closed loop each goes out as soon as there is room for it, `now`,
    /// but not before the start; in an open loop at its turn, so that a
    /// task sleeps from `go` straight to its first turn and the tasks do
    /// not all wake at the start together (at a million connections that
    /// wake-up held the first tens of milliseconds' answers back).
    fn next_due(&self, now: Instant) -> Option<Instant> {
        if self.limit.is_some_and(|limit| self.issued >= limit) {
            return None;
        }
        let intended = match self.open {
            Some((gap, offset)) => self.start + offset + gap.mul_f64(self.issued as f64),
            None => now.max(self.start),
        };
        (self.limit.is_some() || intended < self.end).then_some(intended)
    }

    /// Takes the next request if it is due by `now`, with its intended time.
    fn due(&mut self, now: Instant) -> Option<Instant> {
        let intended = self.next_due(now)?;
        if intended > now {
            return None;
        }
        self.issued += 1;
        Some(intended)
    }
}

/// Checks one answer against the request of `kind`.
fn check(line: &str, kind: Kind, shared: &Shared) -> Result<(), Failure> {
    let load = &shared.load;
    let request = match kind {
        Kind::Echo => Request::Echo(&shared.echo_line[5..shared.echo_line.len() - 1]),
        Kind::Work => Request::Work(load.work_units),
        Kind::Sleep => Request::Sleep(load.sleep_ms),
    };
    check_answer(&request, line, |_| shared.digest).map_err(classify)
}

/// Records a correct answer. Latency counts from the intended send time when
/// the server stalled the request, else from the moment it was sent.
fn record(request: &InFlight, answered: Instant, start: Instant, shared: &Shared) {
    let from = if request.stalled_by_server {
        request.intended
    } else {
        request.sent
    };
    let at = shared.interval_of(answered, start);
    let mut measured = shared.measured.borrow_mut();
    measured.answered(request.kind, answered - from, at);
    if shared.load.rate_per_connection.is_some() {
        measured.request_uncorrected.record(answered - request.sent);
        // Send lag is the tester's own lateness: a request held up by the
        // server (its window full of unanswered requests) is late by the
        // server's doing, and that is in its latency already.
        if !request.stalled_by_server {
            measured
                .send_lag
                .record(request.sent.saturating_duration_since(request.intended));
        }
    }
    drop(measured);
    shared.update(|p| p.requests += 1);
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
    async fn send(&mut self, bytes: &[u8]) -> Result<(), Failed> {
        self.stream
            .write_all(bytes)
            .await
            .map_err(|error| Failed::io(&error))
    }

    /// The next line from the server, within `limit`.
    async fn answer(&mut self, limit: Duration) -> Result<String, Failed> {
        timeout(limit, self.next_line())
            .await
            .map_err(|_| Failed::from(Failure::Timeout))?
    }

    /// A line already read from the socket, if a whole one is waiting:
    /// no system call.
    fn buffered_line(&mut self) -> Option<Result<String, Failed>> {
        let line = self.framer.next_line()?;
        let wrong = Failed::from(Failure::WrongAnswer);
        Some(line.map_err(|_| wrong.clone()).and_then(|range| {
            String::from_utf8(self.framer.line(range).to_vec()).map_err(|_| wrong)
        }))
    }

    async fn next_line(&mut self) -> Result<String, Failed> {
        loop {
            if let Some(line) = self.buffered_line() {
                return line;
            }
            self.stream
                .readable()
                .await
                .map_err(|error| Failed::io(&error))?;
            let mut chunk = [0u8; 4096];
            match self.stream.try_read(&mut chunk) {
                // The server closed while an answer was due.
                Ok(0) => return Err(Failure::Reset.into()),
                Ok(n) => self.framer.push(&chunk[..n]),
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Err(Failed::io(&error)),
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

    fn load(rate_per_connection: Option<f64>) -> Requests {
        Requests {
            mix: crate::spec::Mix::ECHO_ONLY,
            payload: 16,
            work_units: 0,
            sleep_ms: 0,
            duration: Duration::from_secs(10),
            requests_per_connection: None,
            rate_per_connection,
            timeout: Duration::from_secs(5),
            pipeline: 1,
            interval: Duration::from_secs(1),
            start_lead: Duration::from_secs(1),
        }
    }

    #[test]
    fn a_task_sleeps_from_go_to_its_own_first_turn_not_to_the_start() {
        let go = Instant::now();
        let start = go + Duration::from_secs(1);
        // 1,000 connections at 0.1 requests/s each: a turn every 10 s,
        // the connections' first turns spread over those 10 s.
        let open = load(Some(0.1));
        let first = Schedule::new(&open, 0, 1000, start).next_due(go);
        let later = Schedule::new(&open, 500, 1000, start).next_due(go);
        assert_eq!(first, Some(start));
        assert_eq!(later, Some(start + Duration::from_secs(5)));
        // In a closed loop a request is due as soon as possible, but not
        // before the start.
        let closed = Schedule::new(&load(None), 500, 1000, start);
        assert_eq!(closed.next_due(go), Some(start));
        let after = start + Duration::from_millis(1);
        assert_eq!(closed.next_due(after), Some(after));
    }

    #[test]
    fn a_connection_whose_first_turn_is_after_the_end_sends_nothing() {
        // A turn every 20 s in a 10 s run: the first half of the
        // connections have one.
        let open = load(Some(0.05));
        assert!(Schedule::sends_anything(&open, 499, 1000));
        assert!(!Schedule::sends_anything(&open, 500, 1000));
        assert!(Schedule::sends_anything(&load(None), 999, 1000));
    }

    #[test]
    fn payload_has_the_asked_length() {
        assert_eq!(payload(0), "");
        assert_eq!(payload(40).len(), 40);
    }
}
