//! Every line a server sends, with the exact texts of PROTOCOL.md.
//!
//! The texts live here and nowhere else: a server never formats a reply
//! itself, it asks for a [`Reply`] and writes it with [`Reply::write_line`].

use std::fmt;
use std::io::Write as _;

use thiserror::Error;

use crate::counters::CounterSnapshot;

/// An error a server answers with. `Display` is the exact wire text.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ProtocolError {
    /// The first line was not `HELLO <number>`.
    #[error("ERR expected HELLO")]
    ExpectedHello,
    /// The first `HELLO` number leaves no room for `x+2`.
    #[error("ERR sequence out of range")]
    SequenceOutOfRange,
    /// The third line was not exactly `HELLO <x+2>`.
    #[error("ERR expected HELLO {expected}, got {got}")]
    ExpectedFinalHello {
        /// The number the client should have sent.
        expected: u64,
        /// The line it sent instead.
        got: String,
    },
    /// A line over `--max-line`, or that many bytes without a newline.
    #[error("ERR line too long")]
    LineTooLong,
    /// A line that is not UTF-8.
    #[error("ERR invalid utf-8")]
    InvalidUtf8,
    /// The handshake did not finish within `--handshake-timeout`.
    #[error("ERR handshake timeout")]
    HandshakeTimeout,
    /// No complete line for `--idle-timeout` after the handshake.
    #[error("ERR idle timeout")]
    IdleTimeout,
    /// `WORK ` or `SLEEP ` followed by something that is not a number.
    #[error("ERR bad number")]
    BadNumber,
    /// `WORK` over `--max-work`.
    #[error("ERR work too large")]
    WorkTooLarge,
    /// `SLEEP` over `--max-sleep`.
    #[error("ERR sleep too long")]
    SleepTooLong,
    /// Any other line after the handshake.
    #[error("ERR unknown command")]
    UnknownCommand,
    /// Over `--max-connections`.
    #[error("ERR busy")]
    Busy,
}

impl ProtocolError {
    /// Whether the server closes the connection after sending this error.
    /// Request errors keep it open; everything else ends it.
    pub fn closes_connection(&self) -> bool {
        !matches!(
            self,
            ProtocolError::BadNumber
                | ProtocolError::WorkTooLarge
                | ProtocolError::SleepTooLong
                | ProtocolError::UnknownCommand
        )
    }

    /// Recognises an error line a server sent (for clients). Only exact texts
    /// match; `ERR expected HELLO <n>, got …` is recognised by its prefix.
    pub fn from_line(line: &str) -> Option<ProtocolError> {
        use ProtocolError::*;
        let fixed = [
            ExpectedHello,
            SequenceOutOfRange,
            LineTooLong,
            InvalidUtf8,
            HandshakeTimeout,
            IdleTimeout,
            BadNumber,
            WorkTooLarge,
            SleepTooLong,
            UnknownCommand,
            Busy,
        ];
        if let Some(known) = fixed.into_iter().find(|e| e.to_string() == line) {
            return Some(known);
        }
        let rest = line.strip_prefix("ERR expected HELLO ")?;
        let (expected, got) = rest.split_once(", got ")?;
        Some(ExpectedFinalHello {
            expected: crate::number::parse_number(expected)?,
            got: got.to_owned(),
        })
    }
}

/// One line a server sends (without its `\n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply<'a> {
    /// `HELLO <x+1>`, the second step of the handshake.
    Hello(u64),
    /// The `ECHO` request line itself, byte for byte.
    Echo(&'a str),
    /// `DONE <units> <digest>` with the digest as 16 lower-case hex digits.
    Done {
        /// The units requested.
        units: u64,
        /// `work(units)`.
        digest: u64,
    },
    /// `SLEPT <ms>`.
    Slept(u64),
    /// `STATS active=… accepted=…`.
    Stats(CounterSnapshot),
    /// `BYE`, after `QUIT` or at shutdown.
    Bye,
    /// `ERR <reason>`.
    Error(ProtocolError),
}

impl Reply<'_> {
    /// Appends the reply and its `\n` to an output buffer.
    pub fn write_line(&self, out: &mut Vec<u8>) {
        // Writing into a Vec cannot fail.
        let _ = writeln!(out, "{self}");
    }

    /// The reply as a complete line, `\n` included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.write_line(&mut out);
        out
    }
}

impl fmt::Display for Reply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reply::Hello(n) => write!(f, "HELLO {n}"),
            Reply::Echo(line) => f.write_str(line),
            Reply::Done { units, digest } => write!(f, "DONE {units} {digest:016x}"),
            Reply::Slept(ms) => write!(f, "SLEPT {ms}"),
            Reply::Stats(counters) => write!(f, "STATS {counters}"),
            Reply::Bye => f.write_str("BYE"),
            Reply::Error(error) => write!(f, "{error}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_exactly_those_of_the_protocol() {
        let cases: Vec<(Reply, &str)> = vec![
            (Reply::Hello(42), "HELLO 42"),
            (Reply::Echo("ECHO  hi  "), "ECHO  hi  "),
            (
                Reply::Done {
                    units: 7,
                    digest: 0xab,
                },
                "DONE 7 00000000000000ab",
            ),
            (Reply::Slept(0), "SLEPT 0"),
            (Reply::Bye, "BYE"),
            (Reply::Error(ProtocolError::Busy), "ERR busy"),
            (
                Reply::Error(ProtocolError::InvalidUtf8),
                "ERR invalid utf-8",
            ),
            (
                Reply::Error(ProtocolError::ExpectedFinalHello {
                    expected: 43,
                    got: "HELLO 043".into(),
                }),
                "ERR expected HELLO 43, got HELLO 043",
            ),
        ];
        for (reply, text) in cases {
            assert_eq!(reply.to_line(), format!("{text}\n").into_bytes());
        }
    }

    #[test]
    fn only_request_errors_keep_the_connection_open() {
        assert!(!ProtocolError::UnknownCommand.closes_connection());
        assert!(!ProtocolError::BadNumber.closes_connection());
        assert!(ProtocolError::ExpectedHello.closes_connection());
        assert!(ProtocolError::LineTooLong.closes_connection());
        assert!(ProtocolError::IdleTimeout.closes_connection());
        assert!(ProtocolError::Busy.closes_connection());
    }

    #[test]
    fn error_lines_are_recognised_back() {
        for error in [
            ProtocolError::Busy,
            ProtocolError::SleepTooLong,
            ProtocolError::ExpectedFinalHello {
                expected: 9,
                got: "HELLO 8, got x".into(),
            },
        ] {
            assert_eq!(ProtocolError::from_line(&error.to_string()), Some(error));
        }
        assert_eq!(ProtocolError::from_line("ERR busy "), None);
        assert_eq!(ProtocolError::from_line("BYE"), None);
    }
}
