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
        // TODO: What bounds the queue (mpsc::sync_channel)? Many workers must share one
        //       receiver: how, when Receiver is not Sync? How many workers if `threads` is
        //       0? Keep the sender where drop can take it.
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }

    /// Queues a connection for the next free worker, or gives it back when
    /// the queue is full: the caller answers `ERR busy`.
    fn execute(&self, job: Job) -> Result<(), Job> {
        // TODO: The acceptor must never wait here: which send does not block
        //       (mpsc::SyncSender)? When the queue is full, who turns the client away, and
        //       how does the job get back to them?
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }
}

impl Drop for ThreadPool {
    fn drop(&mut self) {
        // TODO: How does a worker blocked in recv() learn that the pool is going away? What
        //       must drop wait for before it returns?
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }
}

impl Worker {
    fn start(id: usize, jobs: Arc<Mutex<Receiver<Job>>>, shutdown: Shutdown) -> io::Result<Worker> {
        // TODO: What does a worker do between jobs? How long may it hold the receiver's
        //       lock: what happens to the other workers if it serves a connection with the
        //       lock held? What does a failed recv() mean?
        todo!("exercise 3: a std thread pool: Worker, Job, shutdown through Drop")
    }
}
