// 03-async-tokio/src/server.rs
/// The graceful shutdown: stop accepting, tell every connection to finish,
/// and wait for them, but no longer than `grace`.
async fn shut_down(
    listener: TcpListener,
    stop: &CancellationToken,
    connections: &TaskTracker,
    grace: Duration,
) {
    // TODO: drop the listener (new connections are refused), stop.cancel() (every task
    //       answers what it read and says BYE), connections.close() (no task will be
    //       added), then await connections.wait() inside tokio::time::timeout(grace, ..).
    todo!("exercise 6: graceful shutdown with a cancellation token")
}
