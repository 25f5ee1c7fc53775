// 03-async-tokio/src/server.rs
/// The graceful shutdown: stop accepting, tell every connection to finish,
/// and wait for them, but no longer than `grace`.
async fn shut_down(
    listener: TcpListener,
    stop: &CancellationToken,
    connections: &TaskTracker,
    grace: Duration,
) {
    // TODO: In which order: stop accepting, tell every task (the CancellationToken), wait
    //       for them, but not for ever (tokio::time::timeout, the grace)? What does
    //       TaskTracker::close change about wait()?
    todo!("exercise 6: graceful shutdown with a cancellation token")
}
