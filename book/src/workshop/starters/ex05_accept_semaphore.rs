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
    // TODO: What counts the connections served at once (tokio::sync::Semaphore,
    //       try_acquire_owned)? What would waiting for a permit do to the clients over the
    //       limit? An accept can fail (EMFILE): what then (common::accept::pause_after)?
    //       Every accept is counted (state.counters), and a connection is admitted or
    //       rejected through `state`; each is a task in `connections`: what must an
    //       admitted one hold until it ends?
    todo!("exercise 5: the Tokio accept loop with a Semaphore")
}
