// 04-hybrid-blocking/src/server.rs
/// Runs the blocking `SLEEP` on Tokio's blocking pool and awaits it.
async fn sleep_on_blocking_pool(ms: u64) -> io::Result<()> {
    // TODO: task::spawn_blocking(move || std::thread::sleep(..)), .await its JoinHandle,
    //       and turn a JoinError into io::Error::other(..).
    todo!("exercise 8: spawn_blocking for SLEEP")
}
