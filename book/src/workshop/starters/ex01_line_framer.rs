// protocol/src/framing.rs
/// The next complete line, as a range to pass to [`LineFramer::line`],
/// without its `\n` and without a `\r` directly before it.
///
/// Returns `None` when no complete line is buffered (and frees the buffer
/// if nothing is pending), and `Err(LineTooLong)` for a line over the
/// limit, or as soon as more than `max_line` bytes wait without a newline.
pub fn next_line(&mut self) -> Option<Result<Range<usize>, ProtocolError>> {
    // TODO: find the first b'\n' in the pending bytes, self.buf[self.start..]. None
    //       there: fail with LineTooLong if more than max_line bytes wait, else call
    //       self.release_consumed() and return None. One there: move self.start past
    //       it, fail with LineTooLong if the line (its \n counted) is longer than
    //       max_line, else return its range without the \n and without a \r right
    //       before it.
    todo!("exercise 1: the line framer with its length limit")
}
