// 04-hybrid-blocking/src/server.rs
/// Runs `work(units)` on the rayon pool and awaits the digest.
async fn work_on_rayon(units: u64) -> io::Result<u64> {
    // TODO: The worker must stay free while the digest is computed: where does the WORK run
    //       (rayon::spawn), and how does the digest come back to an async task
    //       (tokio::sync::oneshot)? What if the receiver is gone by then? The tests send
    //       ECHOs while WORKs run.
    todo!("exercise 7: WORK on rayon, the answer back over a oneshot")
}
