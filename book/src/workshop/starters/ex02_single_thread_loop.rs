// 01-single-thread/src/server.rs
/// The conversation: answer every complete line, then read more, until a
/// final line is sent or the client leaves.
fn converse(stream: &TcpStream, session: &mut Session, shutdown: &Shutdown) -> io::Result<Ending> {
    // TODO: Each turn: answer every complete line (what does each Action of
    //       session.next_action() ask of you? the protocol crate's docs say), send the
    //       answers in one write, then wait for bytes, no longer than session.deadline().
    //       Which Action ends the conversation? When must a shutdown say BYE? read_before
    //       is your wait: what do its Some(0), Some(n) and None mean?
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
    // TODO: A deadline is an instant; a socket takes a timeout
    //       (TcpStream::set_read_timeout). What if there is no deadline, or it has passed?
    //       Which io::ErrorKind values mean "the time ran out" or "a signal came", and
    //       should either end the connection?
    todo!("exercise 2: the 01 loop with its idle timeout")
}
