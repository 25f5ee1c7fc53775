// 02-thread-pool/src/server.rs
/// Answers `busy` and shuts down the write side at once, then hands
/// the socket over for draining (or closes it, if the reject thread is
/// far behind).
fn turn_away(&self, stream: TcpStream, busy: Reply<'static>) {
    // TODO: What should a client over the limit see, and how soon (PROTOCOL.md, ERR
    //       busy)? After the line, how does the client learn that nothing more comes,
    //       without a reset (TcpStream::shutdown)? The acceptor must not wait: who
    //       drains the connection, and until when (CLOSE_DRAIN)?
    todo!("exercise 4: ERR busy at the bound of the pool's queue")
}
