//! A popular Tokio tutorial's "graceful shutdown" (post 003 of the book's
//! claims chapter), run as written, against what it promises: that racing
//! `accept()` with `shutdown_tx.send(())` in a `select!` "drains pending
//! requests" and "waits for cleanup before terminating".
//!
//! It does neither. A send on a channel with room completes at once, so
//! the `select!`'s send branch is ready on the first turn of the loop and
//! the loop ends before it has accepted anyone, signal or no signal. And
//! the tasks it spawned are not tracked: when `main` returns, the runtime
//! is dropped and they are cancelled mid-request. These tests show both;
//! 03's own shutdown (a `CancellationToken` every task watches, a
//! `TaskTracker` waited on with a grace period) is what the book explains
//! instead.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

/// Generous: a hang, not a slow machine, is what this bound catches.
const HANG: Duration = Duration::from_secs(10);

#[test]
fn the_send_branch_wins_at_once_and_the_loop_accepts_no_one() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&accepted);
    let addr = runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // The post's pattern: a channel of one, its receiver kept alive.
        let (shutdown_tx, _shutdown_rx) = mpsc::channel::<()>(1);
        let accept_loop = tokio::spawn(async move {
            loop {
                tokio::select! {
                    Ok((_stream, _addr)) = listener.accept() => {
                        counted.fetch_add(1, Ordering::SeqCst);
                    }
                    _ = shutdown_tx.send(()) => {
                        break; // "Shutting down..."
                    }
                }
            }
        });
        // No signal is ever sent, and yet the loop ends by itself.
        tokio::time::timeout(HANG, accept_loop)
            .await
            .expect("the accept loop ended on its own")
            .unwrap();
        addr
    });
    assert_eq!(accepted.load(Ordering::SeqCst), 0);
    // The listener went with the loop: a client is refused, not served.
    assert!(TcpStream::connect(addr).is_err());
}

#[test]
fn tasks_spawned_per_connection_are_cut_off_when_main_returns() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let listener = runtime.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    // A handler that needs a moment to answer, spawned as the post does:
    // nothing keeps its JoinHandle or waits for it.
    runtime.spawn(async move {
        let (mut stream, _) = listener.accept().await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let _ = stream.write_all(b"answer\n").await;
    });
    let mut client = TcpStream::connect(addr).unwrap();
    client.set_read_timeout(Some(HANG)).unwrap();
    client.write_all(b"request\n").unwrap();
    std::thread::sleep(Duration::from_millis(50));
    // `main` returning after ctrl_c: the runtime is dropped with its tasks.
    drop(runtime);
    let mut got = Vec::new();
    let _ = client.read_to_end(&mut got);
    assert!(
        got.is_empty(),
        "the request in flight was answered: {:?}",
        String::from_utf8_lossy(&got)
    );
}
