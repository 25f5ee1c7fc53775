//! # Model 04: Tokio for I/O, other threads for the rest
//!
//! The same server as 03, a Tokio task per connection, with one change:
//! the requests that do not wait on the network leave the runtime's worker
//! threads. `WORK` (CPU-bound) goes to a rayon pool sized to the cores, and
//! `SLEEP` (a blocking call) goes to Tokio's blocking pool with
//! `spawn_blocking`. The connection's task awaits the answer (a oneshot
//! channel from rayon, a `JoinHandle` from `spawn_blocking`), and while it
//! waits, its worker thread serves other connections. `ECHO` stays fast
//! while `WORK` and `SLEEP` run; `diff` this file with 03's to see that
//! this is the whole lesson.
//!
//! **What it costs.** A hop to another thread and back for each `WORK` and
//! `SLEEP` (microseconds), and more threads: the rayon pool, and blocking
//! threads that Tokio starts on demand (up to 512) while `SLEEP`s pile up.
//! CPU work still needs cores: rayon keeps it off the I/O threads, it does
//! not make it free. A `WORK` already running is not cancelled when its
//! client leaves: while the task awaits the digest it does not watch the
//! socket, so it learns that the client is gone only when it writes the
//! answer (and the write fails).
//!
//! Memory per idle connection is the figure the book leads with, so a task
//! keeps no buffers while it waits: the read buffer lives on the stack only
//! between a readiness wake-up and the hand-over to the session (which
//! copies only an unfinished line), and replies are built in a fresh
//! `Vec` that is freed as soon as it is written.

use std::future::Future;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use common::ServeConfig;
use protocol::{Action, CLOSE_DRAIN, Reply, ServerState, Session, work_yielding};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, oneshot};
use tokio::task;
use tokio::time::{Instant, sleep, sleep_until, timeout};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// How many bytes one read takes at most. The buffer is on the stack and
/// exists only while data is being handed to the session.
const READ_CHUNK: usize = 4096;

// ANCHOR: run
/// Accepts and serves connections until `shutdown` completes, then lets
/// the open connections finish (answer what they read, say `BYE`) for at
/// most `config.shutdown_grace`.
pub async fn run(
    listener: TcpListener,
    state: Arc<ServerState>,
    config: ServeConfig,
    shutdown: impl Future<Output = ()>,
) {
    // Cancelled when the shutdown starts; every connection task watches it.
    let stop = CancellationToken::new();
    // Knows when every connection task has finished.
    let connections = TaskTracker::new();
    // `accept_loop` never ends by itself. When `shutdown` completes first,
    // `select!` drops the loop's future, and dropping a future is how async
    // code cancels it: the loop stops at whichever `.await` it was in.
    tokio::select! {
        () = shutdown => {}
        () = accept_loop(&listener, &state, config.max_connections, &stop, &connections) => {}
    }
    shut_down(listener, &stop, &connections, config.shutdown_grace).await;
}
// ANCHOR_END: run

// ANCHOR: accept_loop
/// Accepts connections and spawns a task for each, forever; at most
/// `max_connections` are served at once, and the others are told `ERR busy`.
async fn accept_loop(
    listener: &TcpListener,
    state: &Arc<ServerState>,
    max_connections: usize,
    stop: &CancellationToken,
    connections: &TaskTracker,
) {
    // ANCHOR: ex05_solution
    // One permit per connection served. `try_acquire` never waits: over
    // the limit, the client is told `ERR busy` at once instead of sitting
    // unserved in a queue it cannot see.
    let limit = Arc::new(Semaphore::new(max_connections));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _peer)) => stream,
            Err(error) => {
                sleep(common::accept::pause_after(&error)).await;
                continue;
            }
        };
        state.counters.connection_accepted();
        match Arc::clone(&limit).try_acquire_owned() {
            Ok(permit) => {
                let session = state.admit(std::time::Instant::now());
                connections.spawn(serve_connection(stream, session, permit, stop.clone()));
            }
            Err(_) => {
                connections.spawn(reject(stream, state.reject()));
            }
        }
    }
    // ANCHOR_END: ex05_solution
}
// ANCHOR_END: accept_loop

// ANCHOR: shut_down
/// The graceful shutdown: stop accepting, tell every connection to finish,
/// and wait for them, but no longer than `grace`.
async fn shut_down(
    listener: TcpListener,
    stop: &CancellationToken,
    connections: &TaskTracker,
    grace: Duration,
) {
    // ANCHOR: ex06_solution
    // Stop accepting: from now on, new connections are refused.
    drop(listener);
    // Every connection task wakes up in its `select!` and says `BYE`.
    stop.cancel();
    // No more tasks will be spawned, so `wait` can complete.
    connections.close();
    if timeout(grace, connections.wait()).await.is_err() {
        tracing::warn!(
            still_open = connections.len(),
            "grace period over; leaving the connections still open"
        );
    }
    // ANCHOR_END: ex06_solution
}
// ANCHOR_END: shut_down

/// Serves one admitted connection until the conversation ends, then closes
/// it. The `session` and the `permit` are dropped last, after the socket is
/// closed, so the connection counts against the limit until it is gone.
///
/// Not an `async fn`, for memory: an `async fn` moves its arguments into
/// the body's own variables, and today's compiler keeps room for both in
/// the future (rust-lang/rust#62958), so every idle connection would hold
/// its socket, session, permit and token twice. An `async move` block uses
/// them where they are.
#[allow(clippy::manual_async_fn)]
pub fn serve_connection(
    mut stream: TcpStream,
    mut session: Session,
    permit: OwnedSemaphorePermit,
    stop: CancellationToken,
) -> impl Future<Output = ()> {
    async move {
        // Small messages: send each at once instead of waiting to fill a packet.
        let _ = stream.set_nodelay(true);
        match converse(&mut stream, &mut session, &stop).await {
            Ok(Ending::FinalLineSent) => close_gracefully(&mut stream).await,
            Ok(Ending::ClientClosed) => {}
            // A reset or a broken pipe is the client's business, not news.
            // The peer is looked up only here: an idle connection keeps no
            // copy of its address.
            Err(error) => {
                tracing::debug!(%error, peer = ?stream.peer_addr().ok(), "connection ended");
            }
        }
        drop(stream);
        drop(session);
        drop(permit);
    }
}

/// How a conversation ended.
enum Ending {
    /// A final line (`BYE`, `ERR …`) went out: close gracefully.
    FinalLineSent,
    /// The client closed its side after every complete line was answered.
    ClientClosed,
}

/// The conversation: answer every complete line, then wait for more bytes,
/// a timeout or the shutdown, until a final line is sent or the client
/// leaves.
async fn converse(
    stream: &mut TcpStream,
    session: &mut Session,
    stop: &CancellationToken,
) -> io::Result<Ending> {
    loop {
        let mut out = Vec::new();
        // ANCHOR: actions
        while let Some(action) = session.next_action() {
            match action {
                Action::Send(reply) => reply.write_line(&mut out),
                Action::SendAndClose(reply) => {
                    reply.write_line(&mut out);
                    send(stream, out).await?;
                    return Ok(Ending::FinalLineSent);
                }
                // The lesson: CPU work and a blocking call run on other
                // threads; this task awaits them and its worker serves others.
                Action::Work(units) => Reply::Done {
                    units,
                    digest: work_on_rayon(units).await?,
                }
                .write_line(&mut out),
                Action::Sleep(ms) => {
                    sleep_on_blocking_pool(ms).await?;
                    Reply::Slept(ms).write_line(&mut out);
                }
            }
        }
        // ANCHOR_END: actions
        send(stream, out).await?;
        session.replies_sent(std::time::Instant::now());

        if stop.is_cancelled() {
            // Every complete line read so far has been answered.
            send(stream, session.on_shutdown().to_line()).await?;
            return Ok(Ending::FinalLineSent);
        }
        // ANCHOR: wait
        // Wait for whichever comes first: bytes, the deadline, the shutdown.
        let deadline = session.deadline().map(Instant::from_std);
        let woken_by = tokio::select! {
            ready = readable(stream) => ready.map(|()| Wake::Readable)?,
            () = sleep_until_deadline(deadline) => Wake::Deadline,
            () = stop.cancelled() => Wake::Shutdown,
        };
        // Acted on after `select!`, whose futures live until its end.
        match woken_by {
            Wake::Readable => {
                if read_now(stream, session)? == Some(0) {
                    return Ok(Ending::ClientClosed);
                }
            }
            Wake::Deadline => {
                send(stream, session.on_timeout().to_line()).await?;
                return Ok(Ending::FinalLineSent);
            }
            Wake::Shutdown => {} // go round: the check above says BYE
        }
        // ANCHOR_END: wait
    }
}

// ANCHOR: offload
// ANCHOR: work_on_rayon
/// Runs `work(units)` on the rayon pool and awaits the digest.
async fn work_on_rayon(units: u64) -> io::Result<u64> {
    // ANCHOR: ex07_solution
    let (answer, digest) = oneshot::channel();
    rayon::spawn(move || {
        // The task awaits this even if its client has left (it does not
        // watch the socket meanwhile); the send fails only if the task
        // itself was dropped, as when the runtime shuts down. Not worth a
        // panic, which in a rayon job would abort the process.
        // In slices that yield the core (`work_yielding` says why).
        let _ = answer.send(work_yielding(units));
    });
    digest
        .await
        .map_err(|_| io::Error::other("the rayon pool dropped a WORK job"))
    // ANCHOR_END: ex07_solution
}
// ANCHOR_END: work_on_rayon

// ANCHOR: sleep_on_blocking_pool
/// Runs the blocking `SLEEP` on Tokio's blocking pool and awaits it.
async fn sleep_on_blocking_pool(ms: u64) -> io::Result<()> {
    // ANCHOR: ex08_solution
    task::spawn_blocking(move || std::thread::sleep(Duration::from_millis(ms)))
        .await
        .map_err(io::Error::other)
    // ANCHOR_END: ex08_solution
}
// ANCHOR_END: sleep_on_blocking_pool
// ANCHOR_END: offload

/// What ended a wait for bytes.
enum Wake {
    Readable,
    Deadline,
    Shutdown,
}

/// Reads what the socket holds into a buffer on the stack and hands it to
/// the session: `Some(n)` bytes (0: the client closed its side), `None` if
/// the readiness was spurious. No `.await` here, so the buffer is never part
/// of the task's state: an idle connection holds no read buffer.
fn read_now(stream: &TcpStream, session: &mut Session) -> io::Result<Option<usize>> {
    let mut chunk = [0u8; READ_CHUNK];
    match stream.try_read(&mut chunk) {
        Ok(n) => {
            session.receive(&chunk[..n]);
            Ok(Some(n))
        }
        Err(error) if error.kind() == io::ErrorKind::WouldBlock => Ok(None),
        Err(error) => Err(error),
    }
}

/// Completes at the deadline, or never if there is none.
async fn sleep_until_deadline(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}

/// Waits until the socket has bytes to read (or has closed).
///
/// `poll_read_ready` keeps the task's waker in the socket's own slot, so
/// this future is one pointer; `TcpStream::readable()` would put a 150-byte
/// waiter in every connection's task. One reader per socket is all we have.
async fn readable(stream: &TcpStream) -> io::Result<()> {
    std::future::poll_fn(|cx| stream.poll_read_ready(cx)).await
}

/// Writes a batch of replies; the buffer is freed when it has been sent.
async fn send(stream: &mut TcpStream, bytes: Vec<u8>) -> io::Result<()> {
    if !bytes.is_empty() {
        stream.write_all(&bytes).await?;
    }
    Ok(())
}

/// Turns away a connection over the limit: `ERR busy`, then close.
async fn reject(mut stream: TcpStream, busy: Reply<'static>) {
    let _ = stream.set_nodelay(true);
    if stream.write_all(&busy.to_line()).await.is_ok() {
        close_gracefully(&mut stream).await;
    }
}

/// Closes after a final line without destroying it: send FIN, read and
/// discard what the client still sends for up to `CLOSE_DRAIN` (closing
/// with unread bytes would send a reset), then close.
async fn close_gracefully(stream: &mut TcpStream) {
    let _ = stream.shutdown().await;
    let _ = timeout(CLOSE_DRAIN, discard_until_closed(stream)).await;
}

/// Reads and throws away until the client closes or the socket fails.
async fn discard_until_closed(stream: &TcpStream) {
    loop {
        if readable(stream).await.is_err() {
            return;
        }
        let mut discard = [0u8; 1024];
        match stream.try_read(&mut discard) {
            Ok(0) => return,
            Ok(_) => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
            Err(_) => return,
        }
    }
}
