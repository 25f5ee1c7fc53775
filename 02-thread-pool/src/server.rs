//! # Model 02: a pool of threads, each serving one connection at a time
//!
//! Model 01 serves one client and makes the rest wait. The obvious fix is
//! more threads: the blocking code of 01 stays exactly as it was (this file
//! calls 01's `serve_connection` unchanged), and each thread runs it for a
//! different client. While one thread sleeps in `read`, `WORK` or `SLEEP`,
//! the kernel runs another.
//!
//! *How many* threads is the question this model is about. The first answer,
//! a thread per connection (`--per-connection`), is simple and works, until
//! a flood of clients starts thousands of threads, each with its own stack
//! and a share of the scheduler's attention. So servers use a *pool*: a
//! fixed set of `Worker` threads started once, fed through a channel. The
//! acceptor turns each connection into a `Job` and sends it; a free worker
//! takes it and serves it to the end. The channel is bounded (`--queue`):
//! when every worker is busy and the queue is full, a new client is told
//! `ERR busy` at once rather than left waiting where nobody can see it.
//!
//! **What it costs.** Each worker holds one connection for that
//! connection's whole life, idle or not, so the pool size is the number of
//! clients served at once; an idle client occupies a thread until its idle
//! timeout. Each thread costs a stack (8 to 16 KiB actually touched, more
//! reserved) and a context switch whenever it blocks. Model 03 serves idle
//! connections without a thread each.

use std::io::{self, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Instant;

use common::{ServeConfig, Shutdown};
use protocol::CLOSE_DRAIN;
use protocol::{Reply, ServerState, Session};
use single_thread::{discard_until, serve_connection};

/// How the server runs its threads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// A fixed pool of `threads` workers fed by a queue of `queue` jobs.
    Pool {
        /// Worker threads, started once.
        threads: usize,
        /// Connections that may wait for a free worker.
        queue: usize,
    },
    /// A new thread for every connection, up to `--max-connections`.
    ThreadPerConnection,
}

/// Everything `run` needs besides the listener and the shared state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Config {
    /// The connection limit and the shutdown grace.
    pub serve: ServeConfig,
    /// Pool or thread per connection.
    pub mode: Mode,
}

impl Config {
    /// The configuration for `mode`. A thread per connection is held to the
    /// threads the kernel's memory-map limit allows (about 16k by default):
    /// past it the process cannot start threads, or aborts, so those
    /// clients get `ERR busy` instead.
    pub fn new(serve: ServeConfig, mode: Mode) -> Config {
        let mut serve = serve;
        if mode == Mode::ThreadPerConnection {
            if let Some(threads) = common::limits::threads_the_map_count_allows() {
                if serve.max_connections > threads {
                    tracing::info!(
                        asked = serve.max_connections,
                        allowed = threads,
                        "a thread per connection: vm.max_map_count allows only this many threads"
                    );
                    serve.max_connections = threads;
                }
            }
        }
        Config { serve, mode }
    }
}

// ANCHOR: run
/// Accepts connections and hands each to a thread until `shutdown` is
/// triggered; then waits for the threads to answer what they read, say
/// `BYE` and finish.
///
/// Fails only when the worker threads cannot be started; the binary then
/// exits with an error instead of listening with nobody to serve.
pub fn run(
    listener: TcpListener,
    state: Arc<ServerState>,
    config: Config,
    shutdown: &Shutdown,
) -> io::Result<()> {
    let mut threads = Threads::start(config.mode, shutdown)?;
    let rejecter = Rejecter::start();
    // A blocked `accept` must return when the shutdown starts.
    let wake_accept = shutdown.wake_on_trigger(&listener);
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
        // `active` counts the connections being served *and* those queued.
        let at_limit = state.counters.active() >= config.serve.max_connections as u64;
        if at_limit {
            rejecter.turn_away(stream, state.reject());
            continue;
        }
        let job = Job {
            session: state.admit(Instant::now()),
            stream,
        };
        if let Err(job) = threads.dispatch(job) {
            let Job { stream, session } = job;
            drop(session); // never served: not active any more
            rejecter.turn_away(stream, state.reject());
        }
    }
    // Stop accepting (new connections are refused), then let every thread
    // finish: the shutdown woke them all, and queued jobs get their BYE.
    drop(wake_accept);
    drop(listener);
    drop(threads);
    Ok(())
}
// ANCHOR_END: run

/// One unit of work for a thread: an accepted connection to serve.
struct Job {
    stream: TcpStream,
    session: Session,
}

/// The threads that serve connections, in either mode.
enum Threads {
    Pool(ThreadPool),
    PerConnection {
        running: Vec<JoinHandle<()>>,
        shutdown: Shutdown,
    },
}

impl Threads {
    fn start(mode: Mode, shutdown: &Shutdown) -> io::Result<Threads> {
        Ok(match mode {
            Mode::Pool { threads, queue } => {
                Threads::Pool(ThreadPool::new(threads, queue, shutdown.clone())?)
            }
            Mode::ThreadPerConnection => Threads::PerConnection {
                running: Vec::new(),
                shutdown: shutdown.clone(),
            },
        })
    }

    /// Hands a connection to a thread, or gives it back if none can take it.
    fn dispatch(&mut self, job: Job) -> Result<(), Job> {
        match self {
            Threads::Pool(pool) => pool.execute(job),
            Threads::PerConnection { running, shutdown } => {
                // Forget the threads that have finished, so this list stays
                // as long as the number of open connections.
                running.retain(|thread| !thread.is_finished());
                let shutdown = shutdown.clone();
                // The job waits in a slot both sides hold: the new thread
                // takes it out, and if the thread cannot start, the job is
                // still ours and its client gets `ERR busy` instead of a
                // silent close. (Handing it over through a channel after the
                // spawn works too, but costs every connection a wake-up.)
                let slot = Arc::new(Mutex::new(Some(job)));
                let theirs = Arc::clone(&slot);
                let spawned = thread::Builder::new()
                    .name("connection".into())
                    .spawn(move || {
                        let job = theirs.lock().ok().and_then(|mut slot| slot.take());
                        if let Some(job) = job {
                            serve_connection(job.stream, job.session, &shutdown);
                        }
                    });
                match spawned {
                    Ok(thread) => {
                        running.push(thread);
                        Ok(())
                    }
                    Err(error) => {
                        tracing::warn!(%error, "cannot start a thread: the client gets ERR busy");
                        let job = slot.lock().ok().and_then(|mut slot| slot.take());
                        job.map_or(Ok(()), Err)
                    }
                }
            }
        }
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        if let Threads::PerConnection { running, .. } = self {
            for thread in running.drain(..) {
                let _ = thread.join();
            }
        }
        // A pool joins its workers in its own `drop`.
    }
}

// ANCHOR: pool
/// A fixed set of worker threads fed through a bounded channel.
///
/// Dropping the pool closes the channel and joins the workers: each one
/// finishes the connection it serves, then the jobs still queued, then
/// sees the closed channel and returns.
#[derive(Debug)]
pub struct ThreadPool {
    workers: Vec<Worker>,
    /// `None` once dropping has started: closing the channel is what tells
    /// the workers to stop.
    sender: Option<SyncSender<Job>>,
}

#[derive(Debug)]
struct Worker {
    id: usize,
    thread: Option<JoinHandle<()>>,
}

impl ThreadPool {
    /// Starts `threads` workers (at least one) with room for `queue`
    /// connections waiting for a free worker.
    pub fn new(threads: usize, queue: usize, shutdown: Shutdown) -> io::Result<ThreadPool> {
        // ANCHOR: ex03_solution_new
        let (sender, receiver) = mpsc::sync_channel(queue);
        // One receiver shared by every worker: whoever holds the lock waits
        // for the next job, the others wait for the lock.
        let receiver = Arc::new(Mutex::new(receiver));
        let workers = (0..threads.max(1))
            .map(|id| Worker::start(id, Arc::clone(&receiver), shutdown.clone()))
            .collect::<io::Result<_>>()?;
        Ok(ThreadPool {
            workers,
            sender: Some(sender),
        })
        // ANCHOR_END: ex03_solution_new
    }

    // ANCHOR: execute
    /// Queues a connection for the next free worker, or gives it back when
    /// the queue is full: the caller answers `ERR busy`.
    fn execute(&self, job: Job) -> Result<(), Job> {
        // ANCHOR: ex03_solution_execute
        let Some(sender) = &self.sender else {
            return Err(job);
        };
        sender.try_send(job).map_err(|error| match error {
            TrySendError::Full(job) | TrySendError::Disconnected(job) => job,
        })
        // ANCHOR_END: ex03_solution_execute
    }
    // ANCHOR_END: execute
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // ANCHOR: ex03_solution_drop
        drop(self.sender.take());
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                if thread.join().is_err() {
                    tracing::error!(worker = worker.id, "a worker thread panicked");
                }
            }
        }
        // ANCHOR_END: ex03_solution_drop
    }
}

impl Worker {
    fn start(id: usize, jobs: Arc<Mutex<Receiver<Job>>>, shutdown: Shutdown) -> io::Result<Worker> {
        // ANCHOR: ex03_solution_worker
        let thread = thread::Builder::new()
            .name(format!("pool-{id}"))
            .spawn(move || {
                loop {
                    // The lock is released at the end of this statement,
                    // before the job runs, so other workers can take jobs.
                    let next = jobs.lock().unwrap_or_else(PoisonError::into_inner).recv();
                    match next {
                        Ok(job) => serve_connection(job.stream, job.session, &shutdown),
                        Err(_) => return, // channel closed: the pool is shutting down
                    }
                }
            })?;
        Ok(Worker {
            id,
            thread: Some(thread),
        })
        // ANCHOR_END: ex03_solution_worker
    }
}
// ANCHOR_END: pool

/// Turns connections away: `ERR busy` at once, from the acceptor, then the
/// graceful close's draining on a thread of its own, because draining may
/// take half a second and the acceptor must not wait that long.
struct Rejecter {
    /// Rejected sockets, each with the moment its draining must end.
    draining: SyncSender<(TcpStream, Instant)>,
}

impl Rejecter {
    /// How many rejected connections may be draining at once; beyond that
    /// (a flood) a socket is closed right after its `ERR busy`.
    const BACKLOG: usize = 256;

    fn start() -> Rejecter {
        let (draining, to_drain) = mpsc::sync_channel::<(TcpStream, Instant)>(Self::BACKLOG);
        let spawned = thread::Builder::new().name("reject".into()).spawn(move || {
            // One after another, but each only until its own deadline, so no
            // socket is held much past half a second after its rejection.
            for (stream, until) in to_drain {
                discard_until(&stream, until);
            }
        });
        if let Err(error) = spawned {
            tracing::warn!(%error, "no reject thread: ERR busy closes without draining");
        }
        Rejecter { draining }
    }

    // ANCHOR: turn_away
    /// Answers `busy` and shuts down the write side at once, then hands
    /// the socket over for draining (or closes it, if the reject thread is
    /// far behind).
    fn turn_away(&self, stream: TcpStream, busy: Reply<'static>) {
        // ANCHOR: ex04_solution
        let answered = send_final_line(&stream, &busy)
            .and_then(|()| stream.shutdown(std::net::Shutdown::Write));
        if answered.is_ok() {
            let _ = self
                .draining
                .try_send((stream, Instant::now() + CLOSE_DRAIN));
        }
        // ANCHOR_END: ex04_solution
    }
    // ANCHOR_END: turn_away
}

fn send_final_line(mut stream: &TcpStream, line: &Reply<'_>) -> io::Result<()> {
    stream.set_nodelay(true)?;
    stream.write_all(&line.to_line())
}
