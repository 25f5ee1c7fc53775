//! # Model 01: one thread, blocking I/O, one connection at a time
//!
//! The loop every network programmer writes first: accept a connection,
//! talk to it until it leaves, accept the next. Each call blocks: `accept`
//! until a client arrives, `read` until it sends something, `WORK` and
//! `SLEEP` for as long as they take. There is no other thread to switch to,
//! so the code reads in the order things happen, and that is its virtue.
//!
//! **What it costs.** While one client is served, every other waits in the
//! kernel's listen backlog: its TCP handshake completed, but nobody reads
//! its `HELLO`. One idle client (up to `--idle-timeout`) or one `SLEEP`
//! stalls everyone. It uses no memory per waiting client and no locks, and
//! it cannot use a second core. The book measures how latency grows with
//! the number of clients; model 02 is the first answer.
//!
//! Everything the protocol decides (handshake, parsing, limits, counters)
//! is in the `protocol` crate's `Session`; this file only moves bytes and
//! decides *where* `WORK` and `SLEEP` run: right here, inline.

use std::io::{self, Read, Write};
use std::net::{Shutdown as Direction, TcpListener, TcpStream};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use common::Shutdown;
use protocol::{Action, CLOSE_DRAIN, Reply, ServerState, Session, work_yielding};

/// How many bytes one `read` asks for. The buffer lives on the stack of the
/// one serving thread; a partial line is copied into the session.
const READ_CHUNK: usize = 4096;

// ANCHOR: run
/// Serves connections one after another until `shutdown` is triggered.
///
/// `state` holds the configuration and the counters; `main` keeps a clone
/// to print the final counters. The connection being served when the
/// shutdown starts gets its complete lines answered and a `BYE`.
pub fn run(listener: TcpListener, state: Arc<ServerState>, shutdown: &Shutdown) {
    // A blocked `accept` must return when the shutdown starts.
    let _wake_accept = shutdown.wake_on_trigger(&listener);
    while !shutdown.is_triggered() {
        let stream = match listener.accept() {
            Ok((stream, _peer)) => stream,
            Err(_) if shutdown.is_triggered() => break,
            Err(error) => {
                thread::sleep(common::accept::pause_after(&error));
                continue;
            }
        };
        state.counters.connection_accepted();
        // One connection at a time: there is never more than one active,
        // so `--max-connections` never turns anyone away here. Waiting
        // clients queue in the kernel instead; see the module docs.
        let session = state.admit(Instant::now());
        serve_connection(stream, session, shutdown);
    }
}
// ANCHOR_END: run

/// Talks to one client until the conversation ends, then closes the socket.
///
/// Runs on the calling thread and blocks it throughout: in `read`, in
/// `WORK`, in `SLEEP`. The `session` is dropped last, after the socket is
/// closed, so `active` counts the connection until it really is gone.
pub fn serve_connection(stream: TcpStream, mut session: Session, shutdown: &Shutdown) {
    // Small messages: send each at once instead of waiting to fill a packet.
    let _ = stream.set_nodelay(true);
    // A client that sends but never reads would block our writes forever.
    let _ = stream.set_write_timeout(session.state().config.idle_timeout);
    {
        // A blocked `read` must return when the shutdown starts.
        let _wake_read = shutdown.wake_on_trigger(&stream);
        match converse(&stream, &mut session, shutdown) {
            Ok(Ending::FinalLineSent) => close_gracefully(&stream),
            Ok(Ending::ClientClosed) => {}
            // A reset or a broken pipe is the client's business, not news.
            // The peer is looked up only here: an idle connection keeps no
            // copy of its address.
            Err(error) => {
                tracing::debug!(%error, peer = ?stream.peer_addr().ok(), "connection ended");
            }
        }
    }
    drop(stream);
    drop(session);
}

/// How a conversation ended.
enum Ending {
    /// A final line (`BYE`, `ERR …`) went out: close gracefully.
    FinalLineSent,
    /// The client closed its side after every complete line was answered.
    ClientClosed,
}

// ANCHOR: converse
/// The conversation: answer every complete line, then read more, until a
/// final line is sent or the client leaves.
fn converse(stream: &TcpStream, session: &mut Session, shutdown: &Shutdown) -> io::Result<Ending> {
    // ANCHOR: ex02_solution_converse
    let mut out = Vec::new();
    let mut chunk = [0u8; READ_CHUNK];
    loop {
        while let Some(action) = session.next_action() {
            match action {
                Action::Send(reply) => reply.write_line(&mut out),
                Action::SendAndClose(reply) => {
                    reply.write_line(&mut out);
                    return send(stream, &mut out).map(|()| Ending::FinalLineSent);
                }
                // The model's point: CPU work and blocking calls run right
                // here, and nothing else is served meanwhile. The work
                // yields the core between slices: 02 runs this on many
                // threads, and one computing must not keep another
                // connection's thread off its core (`work_yielding`).
                Action::Work(units) => Reply::Done {
                    units,
                    digest: work_yielding(units),
                }
                .write_line(&mut out),
                Action::Sleep(ms) => {
                    send(stream, &mut out)?; // earlier answers need not wait
                    thread::sleep(Duration::from_millis(ms));
                    Reply::Slept(ms).write_line(&mut out);
                }
            }
        }
        send(stream, &mut out)?;
        session.replies_sent(Instant::now());

        if shutdown.is_triggered() {
            // Every complete line read so far has been answered.
            session.on_shutdown().write_line(&mut out);
            return send(stream, &mut out).map(|()| Ending::FinalLineSent);
        }
        match read_before(stream, &mut chunk, session.deadline())? {
            Some(0) if shutdown.is_triggered() => continue, // woken to say BYE
            Some(0) => return Ok(Ending::ClientClosed),
            Some(n) => session.receive(&chunk[..n]),
            None => {
                session.on_timeout().write_line(&mut out);
                return send(stream, &mut out).map(|()| Ending::FinalLineSent);
            }
        }
    }
    // ANCHOR_END: ex02_solution_converse
}
// ANCHOR_END: converse

// ANCHOR: read_before
/// Reads what is there, waiting at most until `deadline`. `Some(0)` means
/// the client closed its side (or the shutdown woke us); `None` means the
/// deadline passed first.
fn read_before(
    mut stream: &TcpStream,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> io::Result<Option<usize>> {
    // ANCHOR: ex02_solution_read_before
    loop {
        let timeout = match deadline {
            None => None,
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return Ok(None),
            },
        };
        stream.set_read_timeout(timeout)?;
        match stream.read(buf) {
            Ok(n) => return Ok(Some(n)),
            // The socket timeout fired (or a signal interrupted the read):
            // go round, and the deadline check decides.
            Err(error)
                if matches!(
                    error.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) => {}
            Err(error) => return Err(error),
        }
    }
    // ANCHOR_END: ex02_solution_read_before
}
// ANCHOR_END: read_before

/// Writes and empties the output buffer.
fn send(mut stream: &TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    if !out.is_empty() {
        stream.write_all(out)?;
        out.clear();
    }
    Ok(())
}

/// Closes after a final line without destroying it: closing a socket with
/// unread bytes makes the kernel send a reset, and a reset can arrive before
/// the client has read the final line. So: send FIN (shut down the write
/// side), read and discard what the client still sends for up to
/// `CLOSE_DRAIN`, then close.
pub fn close_gracefully(stream: &TcpStream) {
    let _ = stream.shutdown(Direction::Write);
    discard_until(stream, Instant::now() + CLOSE_DRAIN);
}

/// Reads and throws away what the client sends until it closes, the
/// socket fails, or `until` passes.
pub fn discard_until(mut stream: &TcpStream, until: Instant) {
    let mut discard = [0u8; 1024];
    while let Some(left) = until.checked_duration_since(Instant::now()) {
        if left.is_zero() || stream.set_read_timeout(Some(left)).is_err() {
            break;
        }
        match stream.read(&mut discard) {
            Ok(n) if n > 0 => continue,
            _ => break, // the client closed, reset, or the time is up
        }
    }
}
