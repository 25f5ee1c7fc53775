// 02-thread-pool/src/server.rs
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
        // TODO: a bounded channel, mpsc::sync_channel(queue); its receiver shared as
        //       Arc<Mutex<Receiver<Job>>>; `threads` workers (at least one) started with
        //       Worker::start; the sender kept in Some(..).
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }

    /// Queues a connection for the next free worker, or gives it back when
    /// the queue is full: the caller answers `ERR busy`.
    fn execute(&self, job: Job) -> Result<(), Job> {
        // TODO: never block the acceptor: try_send the job. A full (or closed) channel
        //       hands the job back inside its error: return it as Err(job), and the caller
        //       turns the client away (exercise 4). No sender (the pool is being dropped):
        //       Err(job) too.
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // TODO: close the channel by dropping the sender (self.sender.take()), then join
        //       every worker's thread (take it out of its Option).
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }
}

impl Worker {
    fn start(id: usize, jobs: Arc<Mutex<Receiver<Job>>>, shutdown: Shutdown) -> io::Result<Worker> {
        // TODO: spawn a named thread (thread::Builder) that loops: lock the receiver,
        //       recv() one job, release the lock *before* serving, then
        //       serve_connection(job.stream, job.session, &shutdown). recv() failing means
        //       the channel closed: return.
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }
}
