// 04-hybrid-blocking/src/server.rs
/// Runs `work(units)` on the rayon pool and awaits the digest.
async fn work_on_rayon(units: u64) -> io::Result<u64> {
    // TODO: a oneshot::channel(); rayon::spawn a closure that sends work_yielding(units)
    //       (ignore a failed send: the client may be gone); then .await the receiver and
    //       turn its error into an io::Error.
    todo!("exercise 7: WORK on rayon, the answer back over a oneshot")
}
