// 01-single-thread/src/server.rs
/// The conversation: answer every complete line, then read more, until a
/// final line is sent or the client leaves.
fn converse(stream: &TcpStream, session: &mut Session, shutdown: &Shutdown) -> io::Result<Ending> {
    // TODO: keep a Vec<u8> `out` for replies and a [0u8; READ_CHUNK] read buffer. Loop: run
    //       every session.next_action() (Send: reply.write_line(&mut out); SendAndClose:
    //       write it, send, return Ending::FinalLineSent; Work: Reply::Done with
    //       work_yielding(units); Sleep: send what is ready, thread::sleep, Reply::Slept).
    //       Then send(), session.replies_sent(..). If the shutdown is triggered: send
    //       session.on_shutdown() and end. Else read_before(stream, &mut chunk,
    //       session.deadline()): Some(0) means the client closed (or the shutdown woke you:
    //       go round), Some(n) goes to session.receive(..), None means the deadline passed:
    //       send session.on_timeout() and end.
    todo!("exercise 2: the 01 loop with its idle timeout")
}

/// Reads what is there, waiting at most until `deadline`. `Some(0)` means
/// the client closed its side (or the shutdown woke us); `None` means the
/// deadline passed first.
fn read_before(
    mut stream: &TcpStream,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> io::Result<Option<usize>> {
    // TODO: turn `deadline` into a read timeout (no deadline: wait for ever; a deadline
    //       already passed: return Ok(None)), set it with stream.set_read_timeout(..), then
    //       stream.read(buf). A timeout comes back as WouldBlock or TimedOut, a signal as
    //       Interrupted: go round the loop and let the deadline decide.
    todo!("exercise 2: the 01 loop with its idle timeout")
}
