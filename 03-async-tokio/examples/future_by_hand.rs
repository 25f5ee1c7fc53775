//! A future, a waker and an executor, by hand: 03's conversation with one
//! client, run without Tokio.
//!
//! Why this file exists: 03's chapter says "the task waits, and the driver
//! wakes it". Here every word of that sentence is code you can read in one
//! sitting, with the standard library (and one `poll(2)` call) only:
//!
//! - A **future** is a value that does nothing until it is polled. Each
//!   `poll` does what can be done now and answers `Ready` or `Pending`.
//!   [`Readable`] looks at the socket once per `poll`.
//! - A future that answers `Pending` must first make sure someone will call
//!   the **waker** it was handed when it is worth polling again. `Readable`
//!   gives it to the [`reactor`], which waits for the socket to have bytes
//!   and then calls `wake`.
//! - An **executor** polls a future until it is `Ready`, and sleeps in
//!   between. [`block_on`] is twenty lines: its waker unparks its thread.
//! - `async fn converse` is 03's conversation written with `.await`. The
//!   compiler turns it into one more future: a state machine whose state is
//!   the variables alive across its `.await`.
//!
//! What Tokio adds (the chapter goes on from here): one reactor for every
//! socket (one `epoll`, where this file spends a thread per wait), many
//! tasks per thread, a queue per worker with work stealing, timers on the
//! same driver, and a budget so that one busy task cannot keep the others
//! out. This file has no timeouts and no shutdown: 03's `select!` adds
//! them.
//!
//! Run it with `cargo run -p async-tokio --example future_by_hand`, talk to
//! 127.0.0.1:7813 (`nc`, or `loadtest probe --target 127.0.0.1:7813`); it
//! serves one connection, then exits. Its test runs with `cargo test`.

use std::future::Future;
use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::{self, Thread};
use std::time::{Duration, Instant};

use protocol::{Action, Reply, ServerState, Session, SessionConfig, work};

// ANCHOR: executor
/// The executor: polls `future` until it is ready, parking its thread
/// whenever the future says `Pending`. Returns the output and how many
/// times it polled (a future woken only when it can progress is polled a
/// few times per request; a spinning executor would poll millions).
fn block_on<F: Future>(future: F) -> (F::Output, usize) {
    let mut future = pin!(future);
    let waker = Waker::from(Arc::new(Unpark(thread::current())));
    let mut context = Context::from_waker(&waker);
    let mut polls = 0;
    loop {
        polls += 1;
        match future.as_mut().poll(&mut context) {
            Poll::Ready(output) => return (output, polls),
            // Until a waker unparks us. A spurious wake-up only costs one
            // more poll, which answers Pending again.
            Poll::Pending => thread::park(),
        }
    }
}

/// The whole of this executor's waker: waking means unparking its thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }
}
// ANCHOR_END: executor

// ANCHOR: future
/// A future that is ready when the socket has bytes for a read (or has
/// ended: the read then says so).
struct Readable<'a> {
    stream: &'a TcpStream,
}

impl Future for Readable<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<()> {
        let mut probe = [0u8; 1];
        match self.stream.peek(&mut probe) {
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {
                // Not now. Before saying so, hand the waker to whoever
                // will know when: a `Pending` nobody will wake is a hang.
                reactor::wake_when_readable(self.stream, context.waker().clone());
                Poll::Pending
            }
            _ => Poll::Ready(()),
        }
    }
}
// ANCHOR_END: future

// ANCHOR: reactor
/// Who learns from the kernel that a socket is readable, and calls the
/// waker. Tokio's reactor is one `epoll` set for every socket, run by
/// whichever worker is idle; this one is a thread per wait, blocked in
/// `poll(2)` on one descriptor: wasteful, and the same contract.
mod reactor {
    use std::net::TcpStream;
    use std::os::fd::AsRawFd;
    use std::task::Waker;
    use std::thread;

    pub fn wake_when_readable(stream: &TcpStream, waker: Waker) {
        let fd = stream.as_raw_fd();
        thread::spawn(move || {
            let mut entry = libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd, owned by this frame for the call.
            // If the connection closed meanwhile, poll reports the
            // descriptor as invalid and returns: a wake-up is harmless.
            unsafe { libc::poll(&mut entry, 1, -1) };
            waker.wake();
        });
    }
}
// ANCHOR_END: reactor

// ANCHOR: converse
/// 03's conversation, with this file's future instead of Tokio's: answer
/// the complete lines, wait until readable, read, go round.
async fn converse(stream: &TcpStream, session: &mut Session) -> io::Result<()> {
    loop {
        if answer_lines(stream, session)? == Conversation::Over {
            return Ok(());
        }
        session.replies_sent(Instant::now());

        // The one `.await`: here the future returns Pending to block_on,
        // with `session` and `stream` kept in its state.
        Readable { stream }.await;

        let mut chunk = [0u8; 4096]; // declared after the .await: never part of the state
        match (&*stream).read(&mut chunk) {
            Ok(0) => return Ok(()), // the client closed its side
            Ok(n) => session.receive(&chunk[..n]),
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(error) => return Err(error),
        }
    }
}

/// Whether the conversation goes on after the answers just written.
#[derive(PartialEq, Eq)]
enum Conversation {
    GoesOn,
    Over,
}

/// Answers every complete line the session holds and writes the answers.
/// A plain function, no `.await`: its buffer is never part of the future.
fn answer_lines(stream: &TcpStream, session: &mut Session) -> io::Result<Conversation> {
    let mut out = Vec::new();
    while let Some(action) = session.next_action() {
        match action {
            Action::Send(reply) => reply.write_line(&mut out),
            Action::SendAndClose(reply) => {
                reply.write_line(&mut out);
                write_answers(stream, &out)?;
                return Ok(Conversation::Over);
            }
            Action::Work(units) => Reply::Done {
                units,
                digest: work(units),
            }
            .write_line(&mut out),
            Action::Sleep(ms) => {
                thread::sleep(Duration::from_millis(ms));
                Reply::Slept(ms).write_line(&mut out);
            }
        }
    }
    write_answers(stream, &out)?;
    Ok(Conversation::GoesOn)
}
// ANCHOR_END: converse

/// Writes the answers. A socket takes a few lines at once, so this example
/// writes them whole; a full socket (a client that stopped reading) would
/// need a `Writable` future like `Readable`, which 03 has from Tokio.
fn write_answers(mut stream: &TcpStream, out: &[u8]) -> io::Result<()> {
    stream.write_all(out)
}

/// Accepts one connection and serves it to the end on this thread.
/// Returns how many times the executor polled the conversation.
fn serve_one(listener: &TcpListener) -> io::Result<usize> {
    let (stream, _) = listener.accept()?;
    stream.set_nonblocking(true)?;
    stream.set_nodelay(true)?;
    let state = ServerState::new(SessionConfig::default());
    let mut session = state.admit(Instant::now());
    let (result, polls) = block_on(converse(&stream, &mut session));
    result.map(|()| polls)
}

fn main() -> anyhow::Result<()> {
    let addr = "127.0.0.1:7813";
    let listener = TcpListener::bind(addr)?;
    eprintln!(
        "listening on {addr} (fd {}): one connection, served by a hand-made executor",
        listener.as_raw_fd()
    );
    let polls = serve_one(&listener)?;
    eprintln!("the conversation is over: the executor polled it {polls} times");
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::io::{BufRead, BufReader};

    #[test]
    fn the_hand_made_executor_serves_a_whole_conversation_without_spinning() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || serve_one(&listener));
        let mut client = TcpStream::connect(addr).unwrap();
        client
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut lines = BufReader::new(client.try_clone().unwrap());
        let mut exchange = |send: &str, expect: &[&str]| {
            client.write_all(send.as_bytes()).unwrap();
            for wanted in expect {
                let mut line = String::new();
                lines.read_line(&mut line).unwrap();
                assert_eq!(line.trim_end_matches('\n'), *wanted);
            }
        };
        exchange("HELLO 41\n", &["HELLO 42"]);
        exchange(
            "HELLO 43\nECHO hi\nWORK 1000\n",
            &["ECHO hi", "DONE 1000 e285ca8b28b83038"],
        );
        // Half a second of silence: the executor must sleep through it,
        // parked until the reactor's wake-up, not poll in a loop.
        thread::sleep(Duration::from_millis(500));
        exchange("ECHO later\n", &["ECHO later"]);
        exchange("QUIT\n", &["BYE"]);
        let polls = server.join().unwrap().unwrap();
        assert!(
            polls < 50,
            "{polls} polls for four requests: the executor spins instead of waiting for its waker"
        );
    }
}
