// 03-async-tokio/src/server.rs
/// Accepts connections and spawns a task for each, forever; at most
/// `max_connections` are served at once, and the others are told `ERR busy`.
async fn accept_loop(
    listener: &TcpListener,
    state: &Arc<ServerState>,
    max_connections: usize,
    stop: &CancellationToken,
    connections: &TaskTracker,
) {
    // TODO: an Arc<Semaphore> with max_connections permits. Loop: listener.accept().await
    //       (on an error, sleep for common::accept::pause_after(&error) and go round);
    //       state.counters.connection_accepted(); then
    //       Arc::clone(&limit).try_acquire_owned(): with a permit,
    //       connections.spawn(serve_connection(stream, state.admit(..), permit,
    //       stop.clone())); without one, connections.spawn(reject(stream, state.reject())).
    //       Never wait for a permit.
    todo!("exercise 5: the Tokio accept loop with a Semaphore")
}
