//! Exercise 1: the line framer, with its length limit.
//!
//! `protocol/src/framing.rs`, `LineFramer::next_line`: find the next
//! complete line in the bytes received so far, refuse a line over the
//! limit, and free the buffer once nothing is pending.
//!
//! ```text
//! cargo test -p exercises --test ex01_line_framer
//! ```

// A test's panics are its failures.
#![allow(clippy::unwrap_used)]

use protocol::{LineFramer, ProtocolError};

/// Pushes each chunk in turn and collects every line handed out (or the
/// error that ends them) as text.
fn lines_from(max_line: usize, chunks: &[&[u8]]) -> Vec<Result<String, ProtocolError>> {
    let mut framer = LineFramer::new(max_line);
    let mut out = Vec::new();
    for chunk in chunks {
        framer.push(chunk);
        while let Some(next) = framer.next_line() {
            match next {
                Ok(range) => out.push(Ok(String::from_utf8_lossy(framer.line(range)).into())),
                Err(error) => {
                    out.push(Err(error));
                    return out;
                }
            }
        }
    }
    out
}

fn ok(lines: &[&str]) -> Vec<Result<String, ProtocolError>> {
    lines.iter().map(|line| Ok(line.to_string())).collect()
}

#[test]
fn several_lines_in_one_read_come_out_one_by_one() {
    let got = lines_from(64, &[b"HELLO 1\nECHO a\n\nECHO b\n"]);
    assert_eq!(got, ok(&["HELLO 1", "ECHO a", "", "ECHO b"]));
}

#[test]
fn a_line_split_across_reads_waits_for_its_newline() {
    let got = lines_from(64, &[b"EC", b"HO spl", b"it\nECHO", b" next\n"]);
    assert_eq!(got, ok(&["ECHO split", "ECHO next"]));
    let byte_by_byte: Vec<&[u8]> = b"ECHO x\n".chunks(1).collect();
    assert_eq!(lines_from(64, &byte_by_byte), ok(&["ECHO x"]));
}

#[test]
fn only_a_cr_right_before_the_newline_is_dropped() {
    let got = lines_from(64, &[b"ECHO a\r\nECHO b\rc\nECHO d\r\r\n"]);
    assert_eq!(got, ok(&["ECHO a", "ECHO b\rc", "ECHO d\r"]));
}

#[test]
fn the_limit_counts_the_whole_line_with_its_newline() {
    // Eight bytes allowed: "1234567\n" fits, "12345678\n" does not.
    assert_eq!(lines_from(8, &[b"1234567\n"]), ok(&["1234567"]));
    assert_eq!(
        lines_from(8, &[b"12345678\n"]),
        vec![Err(ProtocolError::LineTooLong)]
    );
    // The "\r" counts too.
    assert_eq!(
        lines_from(8, &[b"123456\r\n"]),
        ok(&["123456"]),
        "seven bytes and a newline is exactly the limit"
    );
    assert_eq!(
        lines_from(8, &[b"1234567\r\n"]),
        vec![Err(ProtocolError::LineTooLong)]
    );
}

#[test]
fn too_many_bytes_without_a_newline_fail_before_the_newline_comes() {
    // A client that never sends "\n" must not make the buffer grow for ever.
    let got = lines_from(8, &[b"123456", b"789"]);
    assert_eq!(got, vec![Err(ProtocolError::LineTooLong)]);
}

#[test]
fn lines_before_a_line_that_is_too_long_are_still_handed_out() {
    let got = lines_from(8, &[b"ECHO a\nECHO too long\n"]);
    assert_eq!(
        got,
        vec![Ok("ECHO a".to_string()), Err(ProtocolError::LineTooLong)]
    );
}

#[test]
fn the_buffer_is_freed_when_every_line_has_been_taken() {
    let mut framer = LineFramer::new(64);
    framer.push(b"ECHO a\nECHO b\nECHO c");
    assert!(matches!(framer.next_line(), Some(Ok(_))));
    assert!(matches!(framer.next_line(), Some(Ok(_))));
    assert!(
        framer.next_line().is_none(),
        "\"ECHO c\" has no newline yet"
    );
    assert!(framer.has_partial_line());
    framer.push(b"\n");
    let range = framer.next_line().unwrap().unwrap();
    assert_eq!(framer.line(range), b"ECHO c");
    assert!(framer.next_line().is_none());
    assert_eq!(
        framer.capacity(),
        0,
        "an idle connection must hold no buffer: call `release_consumed` when no line is left"
    );
}
