// 04-hybrid-blocking/src/server.rs
/// Runs the blocking `SLEEP` on Tokio's blocking pool and awaits it.
async fn sleep_on_blocking_pool(ms: u64) -> io::Result<()> {
    // TODO: SLEEP blocks a thread: which of Tokio's threads may block
    //       (tokio::task::spawn_blocking)? What does awaiting its JoinHandle give you, and
    //       what is its error when the closure panicked?
    todo!("exercise 8: spawn_blocking for SLEEP")
}
