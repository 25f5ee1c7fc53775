//! Line framing: turning a TCP byte stream into lines.
//!
//! TCP has no message boundaries. One `read` may return half a line, or
//! several lines, or one byte. [`LineFramer`] keeps the bytes of an unfinished
//! line until its `\n` arrives and hands out complete lines one at a time.
//!
//! Memory per connection is the figure this repository leads with, so the
//! framer holds **no buffer at all** while no partial line is pending: an idle
//! connection costs the three words of an empty `Vec`. The buffer is
//! allocated when bytes arrive, grows only as far as the pending bytes need,
//! and is freed again as soon as every complete line has been taken. The
//! length limit bounds it: more than `max_line` bytes without a newline is an
//! error, never a bigger buffer.

use std::ops::Range;

use crate::reply::ProtocolError;

/// Splits a byte stream into lines of at most `max_line` bytes.
#[derive(Debug)]
pub struct LineFramer {
    /// Bytes received and not yet handed out. Empty (and unallocated) while
    /// the connection is idle.
    buf: Vec<u8>,
    /// Where the first byte not yet handed out starts in `buf`. Lines already
    /// handed out stay in `buf` until [`LineFramer::next_line`] finds no more,
    /// so that the range it returned stays valid while the caller uses it.
    start: usize,
    /// The longest line allowed, counting its `\r` and `\n`.
    max_line: usize,
}

impl LineFramer {
    /// A framer for lines of at most `max_line` bytes, `\r\n` included.
    pub fn new(max_line: usize) -> Self {
        LineFramer {
            buf: Vec::new(),
            start: 0,
            max_line,
        }
    }

    /// Appends bytes just read from the socket.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    // ANCHOR: next_line
    /// The next complete line, as a range to pass to [`LineFramer::line`],
    /// without its `\n` and without a `\r` directly before it.
    ///
    /// Returns `None` when no complete line is buffered (and frees the buffer
    /// if nothing is pending), and `Err(LineTooLong)` for a line over the
    /// limit, or as soon as more than `max_line` bytes wait without a newline.
    pub fn next_line(&mut self) -> Option<Result<Range<usize>, ProtocolError>> {
        // ANCHOR: ex01_solution
        let pending = &self.buf[self.start..];
        let Some(newline) = pending.iter().position(|&b| b == b'\n') else {
            if pending.len() > self.max_line {
                return Some(Err(ProtocolError::LineTooLong));
            }
            self.release_consumed();
            return None;
        };
        let begin = self.start;
        let line_len = newline + 1;
        self.start += line_len;
        if line_len > self.max_line {
            return Some(Err(ProtocolError::LineTooLong));
        }
        let mut end = begin + newline;
        if end > begin && self.buf[end - 1] == b'\r' {
            end -= 1;
        }
        Some(Ok(begin..end))
        // ANCHOR_END: ex01_solution
    }
    // ANCHOR_END: next_line

    /// The bytes of a line returned by the last [`LineFramer::next_line`].
    pub fn line(&self, range: Range<usize>) -> &[u8] {
        &self.buf[range]
    }

    /// Whether bytes of an unfinished line are buffered.
    pub fn has_partial_line(&self) -> bool {
        self.start < self.buf.len()
    }

    /// How many bytes the buffer holds allocated now (for tests and the book).
    pub fn capacity(&self) -> usize {
        self.buf.capacity()
    }

    /// Drops the lines already handed out: frees the buffer when nothing is
    /// pending, or moves the partial line to the front and gives back memory
    /// a large read left behind (a connection may wait long on a partial
    /// line; it should hold about that line, not its biggest read).
    fn release_consumed(&mut self) {
        if self.start == self.buf.len() {
            self.buf = Vec::new();
        } else {
            self.buf.drain(..self.start);
            if self.buf.capacity() > 2 * self.buf.len() + 256 {
                self.buf.shrink_to_fit();
            }
        }
        self.start = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` and collects every line (or the error that ends them).
    fn lines(max_line: usize, input: &[u8]) -> Vec<Result<Vec<u8>, ProtocolError>> {
        let mut framer = LineFramer::new(max_line);
        framer.push(input);
        let mut out = Vec::new();
        while let Some(next) = framer.next_line() {
            let failed = next.is_err();
            out.push(next.map(|range| framer.line(range).to_vec()));
            if failed {
                break;
            }
        }
        out
    }

    #[test]
    fn splits_pipelined_lines_and_drops_cr_before_lf_only() {
        let got = lines(4096, b"HELLO 1\r\nECHO a\rb\n\nECHO x\r\r\n");
        let want: Vec<Result<Vec<u8>, ProtocolError>> = vec![
            Ok(b"HELLO 1".to_vec()),
            Ok(b"ECHO a\rb".to_vec()),
            Ok(b"".to_vec()),
            Ok(b"ECHO x\r".to_vec()),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn a_line_exactly_at_the_limit_passes_one_byte_more_fails() {
        // 8 bytes counting the "\n": "1234567\n".
        assert_eq!(lines(8, b"1234567\n"), vec![Ok(b"1234567".to_vec())]);
        assert_eq!(
            lines(8, b"12345678\n"),
            vec![Err(ProtocolError::LineTooLong)]
        );
        // The "\r" counts too.
        assert_eq!(lines(8, b"123456\r\n"), vec![Ok(b"123456".to_vec())]);
        assert_eq!(
            lines(8, b"1234567\r\n"),
            vec![Err(ProtocolError::LineTooLong)]
        );
    }

    #[test]
    fn too_many_bytes_without_newline_fail_before_the_newline_comes() {
        let mut framer = LineFramer::new(8);
        framer.push(b"12345678");
        assert_eq!(framer.next_line(), None, "8 bytes may still end in a line");
        framer.push(b"9");
        assert_eq!(framer.next_line(), Some(Err(ProtocolError::LineTooLong)));
    }

    #[test]
    fn a_line_arriving_byte_by_byte_is_one_line() {
        let mut framer = LineFramer::new(4096);
        for &byte in b"ECHO slow" {
            framer.push(&[byte]);
            assert_eq!(framer.next_line(), None);
        }
        framer.push(b"\n");
        let range = framer.next_line().unwrap().unwrap();
        assert_eq!(framer.line(range), b"ECHO slow");
    }

    #[test]
    fn holds_no_buffer_once_every_line_is_taken() {
        let mut framer = LineFramer::new(4096);
        assert_eq!(framer.capacity(), 0, "a new connection allocates nothing");
        framer.push(b"ECHO one\nECHO tw");
        assert!(framer.next_line().is_some());
        assert_eq!(framer.next_line(), None);
        assert!(framer.has_partial_line());
        assert!(framer.capacity() > 0, "the partial line is kept");
        framer.push(b"o\n");
        let range = framer.next_line().unwrap().unwrap();
        assert_eq!(framer.line(range), b"ECHO two");
        assert_eq!(framer.next_line(), None);
        assert!(!framer.has_partial_line());
        assert_eq!(framer.capacity(), 0, "an idle connection holds no buffer");
    }
}
