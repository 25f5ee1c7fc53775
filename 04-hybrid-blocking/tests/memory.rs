//! What an idle connection costs in the server's memory, checked where it
//! is decided: the size of the connection task's future.
//!
//! Tokio stores each task's future in one allocation, sized for the largest
//! state the future can be in. A buffer held across any `.await` would be
//! paid by every connection, idle or not; so this test fails if the
//! connection future grows past a budget. (The RSS per connection that the
//! book reports is measured by `loadtest`; it includes the socket's
//! registration with the runtime and the allocator's overhead on top.)

use std::sync::Arc;
use std::time::Instant;

use protocol::{ServerState, SessionConfig};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

/// The budget for one connection's future, in bytes. Tokio aligns a task
/// to 128 bytes, so its allocation grows in steps of 128: with Tokio's
/// header and trailer (`cargo run --release -p anatomy` shows them), a
/// future of at most this size (in a debug build, which lays it out a
/// little larger than a release build) keeps the task at 768 bytes.
const TASK_BUDGET: usize = 648;

#[tokio::test]
async fn a_connection_task_fits_the_budget() {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let _client = TcpStream::connect(listener.local_addr().unwrap())
        .await
        .unwrap();
    let (stream, _) = listener.accept().await.unwrap();
    let state = ServerState::new(SessionConfig::default());
    let session = state.admit(Instant::now());
    let permit = Arc::new(Semaphore::new(1)).try_acquire_owned().unwrap();

    let task = hybrid_blocking::serve_connection(stream, session, permit, CancellationToken::new());
    let size = std::mem::size_of_val(&task);
    println!("04 connection future: {size} bytes");
    assert!(
        size <= TASK_BUDGET,
        "the connection future is {size} bytes, over {TASK_BUDGET}"
    );
}
