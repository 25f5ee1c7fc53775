// 04-hybrid-blocking/src/server.rs
/// Runs the blocking `SLEEP` on Tokio's blocking pool and awaits it.
async fn sleep_on_blocking_pool(ms: u64) -> io::Result<()> {
    // TODO: run the blocking sleep with task::spawn_blocking and .await the JoinHandle it
    //       returns; its JoinError (the closure panicked) becomes an io::Error with
    //       io::Error::other.
    todo!("exercise 8: spawn_blocking for SLEEP")
}
