//! # Model 05: the event loop, by hand
//!
//! 03 says `.await` and Tokio does the rest. This file is the rest, written
//! out: one thread asks the kernel which of its sockets are ready (`epoll`,
//! through mio, the layer Tokio itself is built on), and for each ready one
//! does what can be done *now* without waiting, then goes back to asking.
//! No runtime, no futures, no tasks: a connection is an entry in a slab,
//! found by the token the kernel hands back.
//!
//! One turn of the loop:
//!
//! 1. `poll` sleeps until a socket is ready, a thread wakes the loop, or the
//!    earliest deadline comes (the timer set gives the poll its timeout);
//! 2. for each ready token: accept (the listener) or advance the connection;
//! 3. collect the answers the pool computed for `WORK` and `SLEEP`;
//! 4. expire the deadlines that have passed (handshake, idle, drain);
//! 5. on shutdown, stop accepting and say `BYE` to every connection.
//!
//! *Advancing* a connection is the whole protocol driver: write what is
//! pending; answer every complete line the session holds; read until the
//! socket says `WouldBlock` (or until a short read shows it emptied: see
//! `read_more`), and go round. It never blocks: a socket that
//! cannot take more output registers for writability and the connection
//! stops reading until it drains (a client that does not read cannot grow
//! our memory), and `WORK` and `SLEEP` go to a small pool of threads, whose
//! answers come back through a channel and a [`mio::Waker`]. While one is
//! out, the connection reads nothing more, so answers stay in order.
//!
//! `--loops N` runs N of these loops, one thread each, each with its own
//! listener on the same port (`SO_REUSEPORT`: the kernel spreads new
//! connections between them): nothing is shared between loops but the
//! counters, the connection limit and the pool. That is how nginx uses a
//! machine's cores.
//!
//! Every field of [`Connection`] is something an `async fn` keeps for you
//! in its future: the stage is the `.await` it is parked at, the token is
//! its waker, the timer entry is its `sleep`. The book's chapter puts the
//! two side by side, byte for byte.

use std::collections::BTreeSet;
use std::io::{self, Read, Write};
use std::net::Shutdown as Direction;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use common::ServeConfig;
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Registry, Token, Waker};
use protocol::{Action, CLOSE_DRAIN, Reply, ServerState, Session, work_yielding};
use slab::Slab;

/// The listener's token; connections use their slab key.
const LISTENER: Token = Token(usize::MAX - 1);
/// The token of the loop's [`Waker`]: an answer is ready, or the shutdown
/// began.
const WAKER: Token = Token(usize::MAX);
/// How many bytes one read takes at most. One buffer per loop, shared by
/// all its connections: a connection keeps only an unfinished line.
const READ_CHUNK: usize = 16 * 1024;
/// Readiness events taken from the kernel in one `poll`.
const EVENTS_PER_POLL: usize = 1024;

/// The bytes of one connection's state, for the book's "where the bytes
/// go" table (`cargo run --release -p anatomy`).
pub const CONNECTION_BYTES: usize = size_of::<Connection>();

/// How the server runs, besides the per-connection limits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The connection limit and the grace period.
    pub serve: ServeConfig,
    /// Threads that run `WORK` and `SLEEP` for every loop.
    pub pool_threads: usize,
}

// ANCHOR: run
/// Serves on every listener, one event loop (and thread) each, until `stop`
/// is requested; then lets the open connections finish for at most the
/// grace period. Returns when every loop has ended.
pub fn run(
    listeners: Vec<std::net::TcpListener>,
    state: Arc<ServerState>,
    config: Config,
    stop: &Arc<Stop>,
) -> io::Result<()> {
    let admission = Arc::new(Admission::new(config.serve.max_connections));
    let pool = Pool::start(config.pool_threads)?;
    let mut threads = Vec::new();
    for (number, listener) in listeners.into_iter().enumerate() {
        let shared = Shared {
            state: Arc::clone(&state),
            admission: Arc::clone(&admission),
            pool: pool.clone(),
            stop: Arc::clone(stop),
            grace: config.serve.shutdown_grace,
        };
        let event_loop = EventLoop::new(listener, shared)?;
        let thread = thread::Builder::new()
            .name(format!("event-loop-{number}"))
            .spawn(move || event_loop.run())?;
        threads.push(thread);
    }
    for thread in threads {
        if thread.join().is_err() {
            tracing::error!("an event loop panicked");
        }
    }
    Ok(())
}
// ANCHOR_END: run

/// Starts the shutdown from another thread: every loop is woken through its
/// [`Waker`] and sees the flag.
#[derive(Debug, Default)]
pub struct Stop {
    requested: AtomicBool,
    loops: Mutex<Vec<Arc<Waker>>>,
}

impl Stop {
    /// A stop that has not been requested.
    pub fn new() -> Arc<Stop> {
        Arc::new(Stop::default())
    }

    /// Starts the shutdown (what SIGINT and SIGTERM do).
    pub fn request(&self) {
        self.requested.store(true, Ordering::SeqCst);
        for waker in self.wakers().iter() {
            let _ = waker.wake();
        }
    }

    fn is_requested(&self) -> bool {
        self.requested.load(Ordering::SeqCst)
    }

    /// Wakes `waker` when the stop is requested, or at once if it was.
    fn wake_on_request(&self, waker: Arc<Waker>) {
        self.wakers().push(Arc::clone(&waker));
        if self.is_requested() {
            let _ = waker.wake();
        }
    }

    fn wakers(&self) -> std::sync::MutexGuard<'_, Vec<Arc<Waker>>> {
        self.loops.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What every loop of the server shares.
#[derive(Debug)]
struct Shared {
    state: Arc<ServerState>,
    admission: Arc<Admission>,
    pool: Pool,
    stop: Arc<Stop>,
    grace: Duration,
}

/// One event loop: its listener, its connections, their deadlines.
#[derive(Debug)]
struct EventLoop {
    poll: Poll,
    /// `None` once the shutdown began: new connections are refused.
    listener: Option<TcpListener>,
    /// Every open connection, found by its token (the slab key).
    connections: Slab<Connection>,
    /// Every armed deadline, earliest first: the poll's timeout is the
    /// first one. A connection's entry is `(its deadline, its key)`.
    deadlines: BTreeSet<(Instant, usize)>,
    /// Where the pool's answers arrive, and how the pool wakes this loop.
    answers: Receiver<Answer>,
    mailbox: Arc<Mailbox>,
    /// The one read buffer of this loop.
    read_buf: Box<[u8]>,
    /// When accepting may resume, after running out of descriptors.
    accept_paused_until: Option<Instant>,
    /// When the grace period ends, once the shutdown began.
    grace_ends: Option<Instant>,
    shared: Shared,
}

impl EventLoop {
    fn new(listener: std::net::TcpListener, shared: Shared) -> io::Result<EventLoop> {
        listener.set_nonblocking(true)?;
        let mut listener = TcpListener::from_std(listener);
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        shared.stop.wake_on_request(Arc::clone(&waker));
        let (deliver, answers) = mpsc::channel();
        Ok(EventLoop {
            poll,
            listener: Some(listener),
            connections: Slab::new(),
            deadlines: BTreeSet::new(),
            answers,
            mailbox: Arc::new(Mailbox { deliver, waker }),
            read_buf: vec![0; READ_CHUNK].into_boxed_slice(),
            accept_paused_until: None,
            grace_ends: None,
            shared,
        })
    }

    // ANCHOR: turn
    /// Turns until the shutdown is over.
    fn run(mut self) {
        let mut events = Events::with_capacity(EVENTS_PER_POLL);
        loop {
            let timeout = self.poll_timeout(Instant::now());
            if let Err(error) = self.poll.poll(&mut events, timeout) {
                if interrupted(&error) {
                    continue;
                }
                tracing::error!(%error, "poll failed; this event loop stops");
                return;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {} // the answers and the stop flag are read below
                    Token(key) => self.on_ready(key, event),
                }
            }
            self.take_answers();
            let now = Instant::now();
            self.expire_deadlines(now);
            self.resume_accepting(now);
            if self.shared.stop.is_requested() && self.grace_ends.is_none() {
                self.begin_shutdown(now);
            }
            if self.shutdown_is_over(now) {
                return;
            }
        }
    }
    // ANCHOR_END: turn

    /// How long `poll` may sleep: until the earliest deadline, the end of
    /// an accept pause or of the grace period; for ever if there is none.
    fn poll_timeout(&self, now: Instant) -> Option<Duration> {
        let earliest_deadline = self.deadlines.first().map(|&(at, _)| at);
        [earliest_deadline, self.accept_paused_until, self.grace_ends]
            .into_iter()
            .flatten()
            .min()
            .map(|at| at.saturating_duration_since(now))
    }

    /// Accepts every connection waiting in the backlog (edge-triggered: the
    /// kernel says "ready" once, so take them all).
    fn accept_all(&mut self) {
        while self.accept_paused_until.is_none() {
            let Some(listener) = &self.listener else {
                return;
            };
            match listener.accept() {
                Ok((stream, _peer)) => self.admit(stream),
                Err(error) if would_block(&error) => return,
                Err(error) => {
                    let pause = common::accept::pause_after(&error);
                    if !pause.is_zero() {
                        self.accept_paused_until = Some(Instant::now() + pause);
                    }
                }
            }
        }
    }

    /// After an accept pause, accepts what waited meanwhile.
    fn resume_accepting(&mut self, now: Instant) {
        if self.accept_paused_until.is_some_and(|until| now >= until) {
            self.accept_paused_until = None;
            self.accept_all();
        }
    }

    // ANCHOR: admit
    /// Gives a new connection a slab entry and registers it for reading;
    /// over the limit, its entry only says `ERR busy` and closes.
    fn admit(&mut self, mut stream: TcpStream) {
        let shared = &self.shared;
        shared.state.counters.connection_accepted();
        // Small messages: send each at once instead of waiting to fill a packet.
        let _ = stream.set_nodelay(true);
        let entry = self.connections.vacant_entry();
        let key = entry.key();
        let registered = self
            .poll
            .registry()
            .register(&mut stream, Token(key), Interest::READABLE);
        if let Err(error) = registered {
            tracing::warn!(%error, "cannot register a connection; closing it");
            return;
        }
        let connection = if shared.admission.try_take() {
            Connection::new(stream, Some(shared.state.admit(Instant::now())))
        } else {
            let mut turned_away = Connection::new(stream, None);
            turned_away.finish_with(shared.state.reject());
            turned_away
        };
        entry.insert(connection);
        self.advance(key);
    }
    // ANCHOR_END: admit

    /// The kernel says a connection's socket is ready: note what it said,
    /// then let the connection do what it can.
    fn on_ready(&mut self, key: usize, event: &mio::event::Event) {
        if let Some(connection) = self.connections.get_mut(key) {
            connection.note_readiness(event);
        }
        self.advance(key);
    }

    /// Lets a connection do what it can now, then arms its deadline, or
    /// removes it if it is done.
    fn advance(&mut self, key: usize) {
        let Some(connection) = self.connections.get_mut(key) else {
            return; // closed earlier in this turn
        };
        let mut turn = Turn {
            key,
            registry: self.poll.registry(),
            read_buf: &mut self.read_buf,
            pool: &self.shared.pool,
            mailbox: &self.mailbox,
            stopping: self.grace_ends.is_some(),
        };
        match connection.advance(&mut turn) {
            Ok(Next::Wait) => self.arm_deadline(key),
            Ok(Next::Close) => self.remove(key),
            Err(error) => {
                // A reset or a broken pipe is the client's business, not news.
                // The peer is looked up only here: a connection keeps no
                // copy of its address.
                let peer = self
                    .connections
                    .get(key)
                    .and_then(|c| c.stream.peer_addr().ok());
                tracing::debug!(%error, ?peer, "connection ended");
                self.remove(key);
            }
        }
    }

    /// Puts the connection's deadline in the set, in place of the old one.
    fn arm_deadline(&mut self, key: usize) {
        let Some(connection) = self.connections.get_mut(key) else {
            return;
        };
        let wanted = connection.deadline();
        if wanted == connection.armed {
            return;
        }
        if let Some(old) = connection.armed {
            self.deadlines.remove(&(old, key));
        }
        if let Some(new) = wanted {
            self.deadlines.insert((new, key));
        }
        connection.armed = wanted;
    }

    /// Closes a connection: its socket first, then its session (which
    /// counts it out of `active`), then its place under the limit.
    fn remove(&mut self, key: usize) {
        let connection = self.connections.remove(key);
        if let Some(armed) = connection.armed {
            self.deadlines.remove(&(armed, key));
        }
        let was_admitted = connection.session.is_some();
        drop(connection);
        if was_admitted {
            self.shared.admission.release();
        }
    }

    /// Hands each answer of the pool to its connection and advances it.
    fn take_answers(&mut self) {
        while let Ok(Answer { key, reply }) = self.answers.try_recv() {
            if let Some(connection) = self.connections.get_mut(key) {
                connection.take_answer(&reply);
                self.advance(key);
            }
        }
    }

    // ANCHOR: expire
    /// Acts on every deadline that has passed: a connection waiting for a
    /// line gets its timeout error; a draining one is closed.
    fn expire_deadlines(&mut self, now: Instant) {
        while let Some(&(at, key)) = self.deadlines.first() {
            if at > now {
                return;
            }
            self.deadlines.pop_first();
            let Some(connection) = self.connections.get_mut(key) else {
                continue;
            };
            connection.armed = None;
            if connection.is_draining() {
                self.remove(key);
            } else {
                connection.time_out();
                self.advance(key);
            }
        }
    }
    // ANCHOR_END: expire

    /// Stops accepting and tells every connection to finish: each says
    /// `BYE` once it has answered what it read.
    fn begin_shutdown(&mut self, now: Instant) {
        self.grace_ends = Some(now + self.shared.grace);
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let keys: Vec<usize> = self.connections.iter().map(|(key, _)| key).collect();
        for key in keys {
            self.advance(key);
        }
    }

    /// Whether the loop may end: shutting down, and every connection
    /// closed or the grace period over.
    fn shutdown_is_over(&self, now: Instant) -> bool {
        self.grace_ends
            .is_some_and(|ends| self.connections.is_empty() || now >= ends)
    }
}

/// What a connection needs from its loop while it advances.
struct Turn<'a> {
    key: usize,
    registry: &'a Registry,
    read_buf: &'a mut [u8],
    pool: &'a Pool,
    mailbox: &'a Arc<Mailbox>,
    stopping: bool,
}

/// Whether a connection stays open after advancing.
enum Next {
    /// Nothing more can be done now: wait for an event or the deadline.
    Wait,
    /// The conversation is over: close the socket.
    Close,
}

// ANCHOR: connection
/// One connection: everything an idle client costs this server, apart from
/// its deadline in the set and the kernel's socket.
#[derive(Debug)]
struct Connection {
    /// Declared first, so dropped (closed) before the session.
    stream: TcpStream,
    /// The protocol's state; `None` for a connection turned away busy.
    session: Option<Session>,
    /// Replies not yet written; empty (and unallocated) while idle.
    out: Vec<u8>,
    /// Where the conversation is.
    stage: Stage,
    /// The deadline this connection has in the loop's set, if any.
    armed: Option<Instant>,
    /// Whether it is registered for writability (its output is blocked).
    wants_writable: bool,
    /// Whether a read may find bytes: set by every readable event, cleared
    /// when a read says `WouldBlock` or comes back short (see `read_more`).
    readable: bool,
    /// Whether an event said the client closed its side: from then on only
    /// `WouldBlock` or the end of the stream stops the reading.
    read_closed: bool,
}

/// Where a conversation is: what an `async fn` would be parked on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stage {
    /// Answering lines and reading more.
    Serving,
    /// A `WORK` or `SLEEP` is on the pool; nothing is read until it is
    /// answered.
    AwaitingAnswer,
    /// A final line is queued: write it, then shut down the write side.
    Closing,
    /// FIN sent: read and discard until the client closes or `until`.
    Draining { until: Instant },
}
// ANCHOR_END: connection

impl Connection {
    fn new(stream: TcpStream, session: Option<Session>) -> Connection {
        Connection {
            stream,
            session,
            out: Vec::new(),
            stage: Stage::Serving,
            armed: None,
            wants_writable: false,
            readable: true, // bytes may have come before the registration
            read_closed: false,
        }
    }

    // ANCHOR: advance
    /// Does everything that can be done without waiting.
    fn advance(&mut self, turn: &mut Turn<'_>) -> io::Result<Next> {
        // ANCHOR: ex09_solution
        loop {
            match self.stage {
                Stage::Serving => {
                    if !self.write_out(turn)? {
                        return Ok(Next::Wait); // until writable
                    }
                    if self.answer_lines(turn) {
                        continue; // replies to write, or a new stage
                    }
                    if let Some(session) = &mut self.session {
                        session.replies_sent(Instant::now());
                        if turn.stopping {
                            let bye = session.on_shutdown();
                            self.finish_with(bye);
                            continue;
                        }
                    }
                    match self.read_more(turn.read_buf)? {
                        Some(0) => return Ok(Next::Close), // the client closed its side
                        Some(_) => {}                      // answer what came
                        None => return Ok(Next::Wait),     // WouldBlock: until readable
                    }
                }
                Stage::AwaitingAnswer => {
                    // Replies before the WORK or SLEEP can go meanwhile.
                    self.write_out(turn)?;
                    return Ok(Next::Wait);
                }
                Stage::Closing => {
                    if !self.write_out(turn)? {
                        return Ok(Next::Wait);
                    }
                    let _ = self.stream.shutdown(Direction::Write);
                    let until = Instant::now() + CLOSE_DRAIN;
                    self.stage = Stage::Draining { until };
                }
                Stage::Draining { .. } => return self.discard_input(turn.read_buf),
            }
        }
        // ANCHOR_END: ex09_solution
    }
    // ANCHOR_END: advance

    // ANCHOR: answer_lines
    /// Answers the complete lines the session holds, into `out`. Returns
    /// whether anything was answered or the stage changed.
    fn answer_lines(&mut self, turn: &Turn<'_>) -> bool {
        let Some(session) = &mut self.session else {
            return false;
        };
        let out = &mut self.out;
        let mut answered = false;
        while let Some(action) = session.next_action() {
            answered = true;
            match action {
                Action::Send(reply) => reply.write_line(out),
                Action::SendAndClose(reply) => {
                    reply.write_line(out);
                    self.stage = Stage::Closing;
                    return true;
                }
                Action::Work(units) => {
                    turn.pool
                        .hand_off(Task::Work(units), turn.key, turn.mailbox);
                    self.stage = Stage::AwaitingAnswer;
                    return true;
                }
                Action::Sleep(ms) => {
                    turn.pool.hand_off(Task::Sleep(ms), turn.key, turn.mailbox);
                    self.stage = Stage::AwaitingAnswer;
                    return true;
                }
            }
        }
        answered
    }
    // ANCHOR_END: answer_lines

    // ANCHOR: io
    /// Writes as much of `out` as the socket takes. Returns whether all of
    /// it went; if not, registers for writability (once) to be told when
    /// the socket has room.
    fn write_out(&mut self, turn: &Turn<'_>) -> io::Result<bool> {
        // ANCHOR: ex09_write_solution
        while !self.out.is_empty() {
            match self.stream.write(&self.out) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(written) => {
                    self.out.drain(..written);
                }
                Err(error) if would_block(&error) => {
                    self.want_writable(turn, true)?;
                    return Ok(false);
                }
                Err(error) if interrupted(&error) => {}
                Err(error) => return Err(error),
            }
        }
        // An idle connection holds no output buffer.
        self.out = Vec::new();
        self.want_writable(turn, false)?;
        Ok(true)
        // ANCHOR_END: ex09_write_solution
    }

    /// Changes the readiness this connection is registered for.
    fn want_writable(&mut self, turn: &Turn<'_>, writable: bool) -> io::Result<()> {
        if self.wants_writable != writable {
            let interest = if writable {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            let token = Token(turn.key);
            turn.registry
                .reregister(&mut self.stream, token, interest)?;
            self.wants_writable = writable;
        }
        Ok(())
    }

    /// What a readiness event says about reading.
    fn note_readiness(&mut self, event: &mio::event::Event) {
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.readable = true;
        }
        self.read_closed |= event.is_read_closed();
    }

    /// Reads once into the loop's buffer and hands the bytes to the session:
    /// `Some(n)` bytes (0: the client closed its side), `None` on
    /// `WouldBlock` (the kernel will say when there is more).
    ///
    /// The refinement (what Tokio does on Linux, `poll_evented.rs`): a read
    /// that comes back *short*, fewer bytes than the buffer holds, has
    /// emptied the socket's queue. With edge-triggered readiness, the next
    /// byte to arrive raises a new event, so the read that would only say
    /// `WouldBlock` can be skipped: `readable` goes false and the next call
    /// returns `None` without a system call, until an event sets it again.
    /// Not after an event said the client closed: its FIN is already queued
    /// and raises no new event, so the reading goes on to the end.
    fn read_more(&mut self, buf: &mut [u8]) -> io::Result<Option<usize>> {
        if !self.readable {
            return Ok(None); // drained by a short read, and no event since
        }
        loop {
            match self.stream.read(buf) {
                Ok(n) => {
                    if n > 0 && n < buf.len() && !self.read_closed {
                        self.readable = false;
                    }
                    if let Some(session) = &mut self.session {
                        session.receive(&buf[..n]);
                    }
                    return Ok(Some(n));
                }
                Err(error) if would_block(&error) => {
                    self.readable = false;
                    return Ok(None);
                }
                Err(error) if interrupted(&error) => {}
                Err(error) => return Err(error),
            }
        }
    }

    /// Reads and throws away until `WouldBlock` (wait for more), or until
    /// the client closes or the socket fails (close).
    fn discard_input(&mut self, buf: &mut [u8]) -> io::Result<Next> {
        loop {
            match self.stream.read(buf) {
                Ok(0) => return Ok(Next::Close),
                Ok(_) => {}
                Err(error) if would_block(&error) => return Ok(Next::Wait),
                Err(error) if interrupted(&error) => {}
                Err(_) => return Ok(Next::Close),
            }
        }
    }
    // ANCHOR_END: io

    /// Queues a final line: nothing more is read or answered.
    fn finish_with(&mut self, line: Reply<'_>) {
        line.write_line(&mut self.out);
        self.stage = Stage::Closing;
    }

    /// The deadline passed while waiting for a line: queue the timeout error.
    fn time_out(&mut self) {
        if let Some(session) = &mut self.session {
            let error = session.on_timeout();
            self.finish_with(error);
        }
    }

    /// Appends the pool's answer and goes back to serving.
    fn take_answer(&mut self, reply: &Reply<'static>) {
        reply.write_line(&mut self.out);
        self.stage = Stage::Serving;
    }

    fn is_draining(&self) -> bool {
        matches!(self.stage, Stage::Draining { .. })
    }

    /// When this connection must be acted on if nothing happens: while it
    /// waits for a line, the session's handshake or idle deadline; while it
    /// drains, the end of the drain. A `WORK` or `SLEEP` on the pool, or a
    /// blocked write, is never cut short.
    fn deadline(&self) -> Option<Instant> {
        match self.stage {
            Stage::Serving if self.out.is_empty() => self.session.as_ref()?.deadline(),
            Stage::Draining { until } => Some(until),
            _ => None,
        }
    }
}

/// Whether an I/O error means "not now": the socket has nothing to give,
/// or no room to take, and the loop waits for the kernel to say when.
fn would_block(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::WouldBlock
}

/// Whether a signal interrupted the call: nothing went wrong, try again.
fn interrupted(error: &io::Error) -> bool {
    error.kind() == io::ErrorKind::Interrupted
}

/// The connection limit, shared by every loop: one seat per connection
/// served, taken at accept and given back when its socket is closed.
#[derive(Debug)]
struct Admission {
    taken: AtomicUsize,
    limit: usize,
}

impl Admission {
    fn new(limit: usize) -> Admission {
        Admission {
            taken: AtomicUsize::new(0),
            limit,
        }
    }

    /// Takes a seat if one is free.
    fn try_take(&self) -> bool {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.limit).then_some(taken + 1)
            })
            .is_ok()
    }

    fn release(&self) {
        self.taken.fetch_sub(1, Ordering::AcqRel);
    }
}

// ANCHOR: pool
/// The threads that run `WORK` and `SLEEP`, so that the loop never blocks:
/// what 04 gets from rayon and `spawn_blocking`, written out. One queue,
/// shared by every loop; each job says where its answer goes.
#[derive(Debug, Clone)]
struct Pool {
    jobs: Sender<Job>,
}

/// A blocking task, as the session asked for it.
#[derive(Debug)]
enum Task {
    Work(u64),
    Sleep(u64),
}

/// A task, the connection that asked, and the loop to answer.
#[derive(Debug)]
struct Job {
    task: Task,
    key: usize,
    reply_to: Arc<Mailbox>,
}

/// A loop's inbox: the answers, and the waker that makes its `poll` return.
#[derive(Debug)]
struct Mailbox {
    deliver: Sender<Answer>,
    waker: Arc<Waker>,
}

/// The reply to one connection's task.
#[derive(Debug)]
struct Answer {
    key: usize,
    reply: Reply<'static>,
}

impl Pool {
    /// Starts `threads` threads waiting for jobs. They end when every
    /// loop (and so every sender of jobs) is gone.
    fn start(threads: usize) -> io::Result<Pool> {
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for number in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            thread::Builder::new()
                .name(format!("pool-{number}"))
                .spawn(move || run_jobs(&queue))?;
        }
        Ok(Pool { jobs })
    }

    /// Queues a task; its answer will reach `reply_to` for connection `key`.
    fn hand_off(&self, task: Task, key: usize, reply_to: &Arc<Mailbox>) {
        let job = Job {
            task,
            key,
            reply_to: Arc::clone(reply_to),
        };
        // The pool's threads never leave while a loop can send.
        let _ = self.jobs.send(job);
    }
}

/// One pool thread: take a job, run it, post the answer, wake its loop.
fn run_jobs(queue: &Mutex<Receiver<Job>>) {
    loop {
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        let Ok(Job {
            task,
            key,
            reply_to,
        }) = next
        else {
            return; // every loop is gone
        };
        let reply = match task {
            // In slices that yield the core: a pool thread computing for a
            // millisecond must not keep a loop, or the client waiting for
            // an ECHO, queued behind it (`work_yielding` says why).
            Task::Work(units) => Reply::Done {
                units,
                digest: work_yielding(units),
            },
            Task::Sleep(ms) => {
                thread::sleep(Duration::from_millis(ms));
                Reply::Slept(ms)
            }
        };
        if reply_to.deliver.send(Answer { key, reply }).is_ok() {
            let _ = reply_to.waker.wake();
        }
    }
}
// ANCHOR_END: pool
