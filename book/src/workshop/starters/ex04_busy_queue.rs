// 02-thread-pool/src/server.rs
/// Queues a connection for the next free worker, or gives it back when
/// the queue is full: the caller answers `ERR busy`.
fn execute(&self, job: Job) -> Result<(), Job> {
    // TODO: never block the acceptor: try_send the job. A full (or closed) channel
    //       hands the job back inside its error: return it as Err(job), and the caller
    //       answers ERR busy. No sender (the pool is being dropped): Err(job) too.
    todo!("exercise 4: ERR busy: the bound on the pool's queue")
}
