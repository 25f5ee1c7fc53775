//! What an idle connection costs an async model, checked where it is
//! decided: the size of the connection task's future.
//!
//! Tokio stores each task's future in one allocation, sized for the largest
//! state the future can be in. A buffer held across any `.await` would be
//! paid by every connection, idle or not; so the test this macro writes
//! fails if the connection future grows past a budget. (The RSS per
//! connection that the book reports is measured by `loadtest`; it includes
//! the socket's registration with the runtime and the allocator's overhead
//! on top.)
//!
//! Tokio aligns a task to 128 bytes, so its allocation grows in steps of
//! 128: with Tokio's header and trailer (`cargo run --release -p anatomy`
//! shows them), a future within the budget keeps the task at the size the
//! model's line says. Budgets are for debug builds, which lay a future out
//! a little larger than release builds.

/// One `#[tokio::test]` that builds `$krate::serve_connection` for an idle
/// connection and fails when its future is larger than `$budget` bytes.
/// The crate must depend on tokio, tokio-util and protocol (03 and 04 do).
#[macro_export]
macro_rules! connection_task_budget {
    ($krate:ident, $budget:expr) => {
        #[::tokio::test]
        async fn a_connection_task_fits_the_budget() {
            let listener = ::tokio::net::TcpListener::bind("127.0.0.1:0")
                .await
                .unwrap();
            let _client = ::tokio::net::TcpStream::connect(listener.local_addr().unwrap())
                .await
                .unwrap();
            let (stream, _) = listener.accept().await.unwrap();
            let state = ::protocol::ServerState::new(::protocol::SessionConfig::default());
            let session = state.admit(::std::time::Instant::now());
            let permit = ::std::sync::Arc::new(::tokio::sync::Semaphore::new(1))
                .try_acquire_owned()
                .unwrap();
            let stop = ::tokio_util::sync::CancellationToken::new();
            let task = $krate::serve_connection(stream, session, permit, stop);
            let size = ::std::mem::size_of_val(&task);
            let budget: usize = $budget;
            println!("{} connection future: {size} bytes", stringify!($krate));
            assert!(
                size <= budget,
                "the connection future is {size} bytes, over {budget}"
            );
        }
    };
}
