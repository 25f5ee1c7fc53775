//! One connection's protocol state machine: the handshake, the requests, the
//! timeouts, and the counters they move.
//!
//! A [`Session`] never touches a socket or a clock. The server pushes the
//! bytes it read with [`Session::receive`], then asks
//! [`Session::next_action`] what to do until it returns `None`: send a
//! reply, send a final reply and close, run `work`, or sleep. Where `WORK`
//! and `SLEEP` run is the server's choice, and the only thing that differs
//! between the models; everything a client can observe is decided here.
//!
//! Timeouts work the same way: the session says when its
//! [`deadline`](Session::deadline) is, the server waits for bytes until
//! then, and if none came it asks [`Session::on_timeout`] for the line to
//! send.

use std::ops::Range;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::counters::Counters;
use crate::framing::LineFramer;
use crate::reply::{ProtocolError, Reply};
use crate::request::{Request, check_final_hello, parse_first_hello};

/// The limits and timeouts every connection of a server shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionConfig {
    /// `--max-line`: the longest line, `\r\n` included.
    pub max_line: usize,
    /// `--max-work`: the most units one `WORK` may ask for.
    pub max_work: u64,
    /// `--max-sleep`: the longest `SLEEP`, in milliseconds.
    pub max_sleep_ms: u64,
    /// `--handshake-timeout`, from accept; `None` disables it.
    pub handshake_timeout: Option<Duration>,
    /// `--idle-timeout`, after the handshake; `None` disables it.
    pub idle_timeout: Option<Duration>,
}

impl Default for SessionConfig {
    /// The defaults PROTOCOL.md gives.
    fn default() -> Self {
        SessionConfig {
            max_line: crate::DEFAULT_MAX_LINE,
            max_work: crate::DEFAULT_MAX_WORK,
            max_sleep_ms: crate::DEFAULT_MAX_SLEEP_MS,
            handshake_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
        }
    }
}

/// What a server shares between all its connections: the configuration and
/// the counters. Each [`Session`] holds an `Arc` of it (one pointer), rather
/// than a copy of the configuration, to keep idle connections small.
#[derive(Debug, Default)]
pub struct ServerState {
    /// The limits and timeouts.
    pub config: SessionConfig,
    /// The counters behind `STATS`.
    pub counters: Counters,
}

impl ServerState {
    /// Shared state for a server with this configuration.
    pub fn new(config: SessionConfig) -> Arc<ServerState> {
        Arc::new(ServerState {
            config,
            counters: Counters::default(),
        })
    }

    /// Starts serving a connection accepted at `accepted_at`: it now counts
    /// in `active` until the session is dropped (drop it when the socket is
    /// closed). The server has already counted it in `accepted`.
    pub fn admit(self: &Arc<Self>, accepted_at: Instant) -> Session {
        self.counters.connection_opened();
        Session {
            deadline: self
                .config
                .handshake_timeout
                .map(|timeout| accepted_at + timeout),
            framer: LineFramer::new(self.config.max_line),
            phase: Phase::AwaitHello,
            restart_idle_clock: false,
            state: Arc::clone(self),
        }
    }

    /// Turns away a connection over the limit: counts it in `rejected` and
    /// returns the `ERR busy` line to send before closing it.
    pub fn reject(&self) -> Reply<'static> {
        self.counters.connection_rejected();
        Reply::Error(ProtocolError::Busy)
    }
}

// ANCHOR: action
/// What the server must do next for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action<'a> {
    /// Send this line and go on.
    Send(Reply<'a>),
    /// Send this final line, then close the connection gracefully: shut down
    /// the write side and read and discard for up to
    /// [`CLOSE_DRAIN`](crate::CLOSE_DRAIN) first.
    SendAndClose(Reply<'a>),
    /// Run `work(units)` and send `Reply::Done { units, digest }`.
    Work(u64),
    /// Block for this many milliseconds and send `Reply::Slept(ms)`.
    Sleep(u64),
}
// ANCHOR_END: action

/// Where a connection is in the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for `HELLO <x>`.
    AwaitHello,
    /// `HELLO <x+1>` sent; waiting for `HELLO <x+2>`.
    AwaitFinalHello { expected: u64 },
    /// Handshake done: serving requests.
    Ready,
    /// A final line was decided; nothing more is read or answered.
    Closed,
}

/// What one line leads to. Decided before the line's bytes are borrowed for
/// an `ECHO` reply, which keeps the borrow checker happy without copying.
enum Step {
    /// The handshake just completed: nothing to send.
    HandshakeDone,
    /// Echo the line back.
    EchoLine,
    /// Anything else.
    Act(Action<'static>),
}

/// One connection's protocol state. Dropping it counts the connection as
/// closed in `active`.
#[derive(Debug)]
pub struct Session {
    state: Arc<ServerState>,
    framer: LineFramer,
    phase: Phase,
    /// When the connection times out if no complete line arrives.
    deadline: Option<Instant>,
    /// A line was handled since the last [`Session::replies_sent`], so the
    /// idle clock starts again once its reply is out.
    restart_idle_clock: bool,
}

impl Session {
    /// Adds bytes read from the socket. Nothing is answered until
    /// [`Session::next_action`] is called.
    pub fn receive(&mut self, bytes: &[u8]) {
        if self.phase != Phase::Closed {
            self.framer.push(bytes);
        }
    }

    /// The next thing to do for the lines received so far, or `None` when
    /// every complete line has been handled (or the session is closed).
    pub fn next_action(&mut self) -> Option<Action<'_>> {
        loop {
            if self.phase == Phase::Closed {
                return None;
            }
            let range = match self.framer.next_line()? {
                Ok(range) => range,
                Err(error) => return Some(self.error(error)),
            };
            match self.decide(range.clone()) {
                Step::HandshakeDone => continue,
                Step::Act(action) => {
                    if let Action::SendAndClose(_) = action {
                        self.phase = Phase::Closed;
                    }
                    return Some(action);
                }
                Step::EchoLine => return Some(Action::Send(Reply::Echo(self.line_text(range)))),
            }
        }
    }

    /// The final line to send when the deadline passed without a complete
    /// line; close the connection after it.
    pub fn on_timeout(&mut self) -> Reply<'static> {
        let error = match self.phase {
            Phase::Ready => ProtocolError::IdleTimeout,
            _ => ProtocolError::HandshakeTimeout,
        };
        self.state.counters.error_sent();
        self.phase = Phase::Closed;
        Reply::Error(error)
    }

    /// The final line to send when the server shuts down; close the
    /// connection after it. Call it once every complete line already
    /// received has been answered; a partial line is dropped.
    pub fn on_shutdown(&mut self) -> Reply<'static> {
        self.phase = Phase::Closed;
        Reply::Bye
    }

    /// Tells the session its replies have been written: the idle clock
    /// starts now if a line was handled since the last call.
    pub fn replies_sent(&mut self, now: Instant) {
        if self.phase == Phase::Ready && self.restart_idle_clock {
            self.deadline = self.state.config.idle_timeout.map(|idle| now + idle);
        }
        self.restart_idle_clock = false;
    }

    /// When the connection times out if no complete line arrives before;
    /// `None` if that timeout is disabled or the session is closed.
    pub fn deadline(&self) -> Option<Instant> {
        match self.phase {
            Phase::Closed => None,
            _ => self.deadline,
        }
    }

    /// Whether a final line has been decided: read nothing more.
    pub fn is_closed(&self) -> bool {
        self.phase == Phase::Closed
    }

    /// Whether the handshake has completed.
    pub fn is_handshaked(&self) -> bool {
        self.phase == Phase::Ready
    }

    /// Bytes the session holds allocated for an unfinished line (0 while
    /// idle): what a connection costs beyond its fixed size.
    pub fn buffered_capacity(&self) -> usize {
        self.framer.capacity()
    }

    /// The server-wide state this session belongs to.
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// Decides what a complete line leads to, moving the phase and counters.
    fn decide(&mut self, range: Range<usize>) -> Step {
        let Ok(line) = std::str::from_utf8(self.framer.line(range)) else {
            return Step::Act(self.error(ProtocolError::InvalidUtf8));
        };
        let counters = &self.state.counters;
        let result = match self.phase {
            Phase::AwaitHello => parse_first_hello(line).map(|x| {
                self.phase = Phase::AwaitFinalHello { expected: x + 2 };
                Step::Act(Action::Send(Reply::Hello(x + 1)))
            }),
            Phase::AwaitFinalHello { expected } => check_final_hello(line, expected).map(|()| {
                counters.handshake_completed();
                self.phase = Phase::Ready;
                self.restart_idle_clock = true;
                Step::HandshakeDone
            }),
            Phase::Ready => {
                counters.request_received();
                self.restart_idle_clock = true;
                decide_request(&self.state, line)
            }
            Phase::Closed => return Step::Act(Action::Send(Reply::Bye)), // never reached: checked by the caller
        };
        result.unwrap_or_else(|error| Step::Act(self.error(error)))
    }

    /// Counts an error and returns it as the action to take: request errors
    /// keep the connection open, every other error closes it.
    fn error(&mut self, error: ProtocolError) -> Action<'static> {
        self.state.counters.error_sent();
        if error.closes_connection() {
            self.phase = Phase::Closed;
            Action::SendAndClose(Reply::Error(error))
        } else {
            Action::Send(Reply::Error(error))
        }
    }

    /// The text of a line already checked to be UTF-8 by `decide`.
    fn line_text(&self, range: Range<usize>) -> &str {
        std::str::from_utf8(self.framer.line(range)).unwrap_or_default()
    }
}

/// Decides what a request after the handshake leads to.
fn decide_request(state: &ServerState, line: &str) -> Result<Step, ProtocolError> {
    let action = match Request::parse(line)? {
        Request::Echo(_) => return Ok(Step::EchoLine),
        Request::Work(units) if units > state.config.max_work => {
            return Err(ProtocolError::WorkTooLarge);
        }
        Request::Work(units) => Action::Work(units),
        Request::Sleep(ms) if ms > state.config.max_sleep_ms => {
            return Err(ProtocolError::SleepTooLong);
        }
        Request::Sleep(ms) => Action::Sleep(ms),
        Request::Stats => Action::Send(Reply::Stats(state.counters.snapshot())),
        Request::Quit => Action::SendAndClose(Reply::Bye),
    };
    Ok(Step::Act(action))
}

impl Drop for Session {
    fn drop(&mut self) {
        self.state.counters.connection_closed();
    }
}

#[cfg(test)]
mod tests;
