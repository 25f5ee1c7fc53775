//! Parsing the lines of the handshake and the requests that follow it.
//!
//! Commands are case-sensitive and tokens are separated by exactly one space,
//! so parsing is plain prefix matching: no trimming, no case folding.

use std::fmt;

use crate::number::parse_number;
use crate::reply::ProtocolError;

/// The largest first `HELLO` number: the server answers `x+1` and expects
/// `x+2`, both of which must fit in a `u64`.
pub const MAX_HELLO: u64 = u64::MAX - 2;

/// A request after the handshake.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Request<'a> {
    /// `ECHO <text>`: the text may be empty and may hold spaces.
    Echo(&'a str),
    /// `WORK <units>`.
    Work(u64),
    /// `SLEEP <ms>`.
    Sleep(u64),
    /// `STATS`.
    Stats,
    /// `QUIT`.
    Quit,
}

impl<'a> Request<'a> {
    /// Parses a request line (without its line ending).
    ///
    /// Limits (`--max-work`, `--max-sleep`) are not checked here: they are
    /// the server's configuration, checked by the session.
    pub fn parse(line: &'a str) -> Result<Request<'a>, ProtocolError> {
        if let Some(text) = line.strip_prefix("ECHO ") {
            return Ok(Request::Echo(text));
        }
        if let Some(units) = line.strip_prefix("WORK ") {
            return parse_number(units)
                .map(Request::Work)
                .ok_or(ProtocolError::BadNumber);
        }
        if let Some(ms) = line.strip_prefix("SLEEP ") {
            return parse_number(ms)
                .map(Request::Sleep)
                .ok_or(ProtocolError::BadNumber);
        }
        match line {
            "STATS" => Ok(Request::Stats),
            "QUIT" => Ok(Request::Quit),
            _ => Err(ProtocolError::UnknownCommand),
        }
    }
}

/// The line a client sends for this request, without `\n`.
impl fmt::Display for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Request::Echo(text) => write!(f, "ECHO {text}"),
            Request::Work(units) => write!(f, "WORK {units}"),
            Request::Sleep(ms) => write!(f, "SLEEP {ms}"),
            Request::Stats => f.write_str("STATS"),
            Request::Quit => f.write_str("QUIT"),
        }
    }
}

/// Parses the first line of the handshake, `HELLO <x>`, and returns `x`.
pub fn parse_first_hello(line: &str) -> Result<u64, ProtocolError> {
    let x = line
        .strip_prefix("HELLO ")
        .and_then(parse_number)
        .ok_or(ProtocolError::ExpectedHello)?;
    if x > MAX_HELLO {
        return Err(ProtocolError::SequenceOutOfRange);
    }
    Ok(x)
}

/// Checks the third line of the handshake: exactly `HELLO <expected>` in
/// plain decimal, no leading zeros, nothing after it.
pub fn check_final_hello(line: &str, expected: u64) -> Result<(), ProtocolError> {
    let exact = line
        .strip_prefix("HELLO ")
        .is_some_and(|n| n == expected.to_string());
    if exact {
        Ok(())
    } else {
        Err(ProtocolError::ExpectedFinalHello {
            expected,
            got: line.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_request_kind() {
        assert_eq!(
            Request::parse("ECHO hi there"),
            Ok(Request::Echo("hi there"))
        );
        assert_eq!(Request::parse("ECHO "), Ok(Request::Echo("")));
        assert_eq!(Request::parse("ECHO  two  "), Ok(Request::Echo(" two  ")));
        assert_eq!(Request::parse("WORK 0010"), Ok(Request::Work(10)));
        assert_eq!(Request::parse("SLEEP 5"), Ok(Request::Sleep(5)));
        assert_eq!(Request::parse("STATS"), Ok(Request::Stats));
        assert_eq!(Request::parse("QUIT"), Ok(Request::Quit));
    }

    #[test]
    fn a_bad_number_after_work_or_sleep_is_bad_number() {
        for line in [
            "WORK ",
            "WORK lots",
            "WORK +1",
            "WORK 1 ",
            "SLEEP -1",
            "SLEEP  1",
        ] {
            assert_eq!(
                Request::parse(line),
                Err(ProtocolError::BadNumber),
                "{line:?}"
            );
        }
        assert_eq!(
            Request::parse("WORK 18446744073709551616"),
            Err(ProtocolError::BadNumber)
        );
    }

    #[test]
    fn anything_else_is_an_unknown_command() {
        for line in [
            "",
            "echo hi",
            "ECHO",
            "WORK",
            "SLEEP",
            "WORK1",
            "STATS now",
            "QUIT ",
            "HELLO 5",
            " ECHO x",
            "Echo x",
        ] {
            assert_eq!(
                Request::parse(line),
                Err(ProtocolError::UnknownCommand),
                "{line:?}"
            );
        }
    }

    #[test]
    fn requests_print_as_the_line_a_client_sends() {
        for line in ["ECHO a b", "WORK 10", "SLEEP 0", "STATS", "QUIT"] {
            assert_eq!(Request::parse(line).unwrap().to_string(), line);
        }
    }

    #[test]
    fn first_hello_accepts_zero_to_max_minus_two() {
        assert_eq!(parse_first_hello("HELLO 0"), Ok(0));
        assert_eq!(parse_first_hello("HELLO 041"), Ok(41));
        assert_eq!(
            parse_first_hello("HELLO 18446744073709551613"),
            Ok(MAX_HELLO)
        );
        for too_big in ["HELLO 18446744073709551614", "HELLO 18446744073709551615"] {
            assert_eq!(
                parse_first_hello(too_big),
                Err(ProtocolError::SequenceOutOfRange)
            );
        }
    }

    #[test]
    fn first_hello_rejects_other_lines() {
        for line in [
            "HELLO",
            "HELLO ",
            "HELLO +1",
            "HELLO -1",
            "HELLO 1 ",
            "HELLO  1",
            "hello 1",
            "ECHO x",
            "HELLO 18446744073709551616",
            "HELLO 000000000000000000001",
        ] {
            assert_eq!(
                parse_first_hello(line),
                Err(ProtocolError::ExpectedHello),
                "{line:?}"
            );
        }
    }

    #[test]
    fn final_hello_must_be_exact_plain_decimal() {
        assert_eq!(check_final_hello("HELLO 43", 43), Ok(()));
        for line in [
            "HELLO 043",
            "HELLO 43 ",
            "HELLO 44",
            "HELLO",
            "hello 43",
            "",
        ] {
            assert_eq!(
                check_final_hello(line, 43),
                Err(ProtocolError::ExpectedFinalHello {
                    expected: 43,
                    got: line.into()
                })
            );
        }
    }
}
