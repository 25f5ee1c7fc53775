// 02-thread-pool/src/server.rs
/// Answers `busy` and shuts down the write side at once, then hands
/// the socket over for draining (or closes it, if the reject thread is
/// far behind).
fn turn_away(&self, stream: TcpStream, busy: Reply<'static>) {
    // TODO: answer at once: send_final_line(&stream, &busy), then
    //       stream.shutdown(Write) so the client sees the end after the line. Do not
    //       close yet (unread bytes would make the kernel send a reset) and do not
    //       drain here (the acceptor must not wait): try_send the stream, with the
    //       moment its draining ends (now + CLOSE_DRAIN), to self.draining.
    todo!("exercise 4: ERR busy at the bound of the pool's queue")
}
