//! The client side of the protocol, for the load tester and the tests: the
//! handshake lines to send and the check of every answer.
//!
//! A load tester that does not check answers measures how fast a server can
//! say anything at all. Every answer is checked here against what the
//! protocol requires: echo bytes, `DONE` digests, the handshake numbers.

use thiserror::Error;

use crate::counters::CounterSnapshot;
use crate::reply::{ProtocolError, Reply};
use crate::request::{MAX_HELLO, Request};

/// Why an answer was not the one expected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AnswerError {
    /// The server answered with an `ERR` line.
    #[error("server answered {0}")]
    Server(ProtocolError),
    /// The server answered something else than the protocol requires.
    #[error("expected {expected:?}, got {got:?}")]
    WrongAnswer {
        /// What the protocol requires.
        expected: String,
        /// What came.
        got: String,
    },
}

/// The client's side of the three-way handshake starting at `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Handshake {
    x: u64,
}

impl Handshake {
    /// A handshake starting at `x`, which must be at most `u64::MAX - 2`
    /// (larger values are clamped: the server would refuse them).
    pub fn new(x: u64) -> Handshake {
        Handshake {
            x: x.min(MAX_HELLO),
        }
    }

    /// The first line, `HELLO <x>\n`.
    pub fn first_line(&self) -> String {
        format!("HELLO {}\n", self.x)
    }

    /// Checks the server's `HELLO <x+1>`.
    pub fn check_answer(&self, line: &str) -> Result<(), AnswerError> {
        check(&Reply::Hello(self.x + 1).to_string(), line)
    }

    /// The third line, `HELLO <x+2>\n`, after which requests may follow.
    pub fn third_line(&self) -> String {
        format!("HELLO {}\n", self.x + 2)
    }
}

/// Checks the answer to a request. `digest` gives `work(units)` for a
/// `WORK` request; the load tester computes it once per units value and
/// caches it, so checking costs no CPU on the client's hot path.
pub fn check_answer(
    request: &Request<'_>,
    line: &str,
    digest: impl FnOnce(u64) -> u64,
) -> Result<(), AnswerError> {
    let echo_line;
    let expected = match *request {
        Request::Echo(_) => {
            echo_line = request.to_string();
            Reply::Echo(&echo_line)
        }
        Request::Work(units) => Reply::Done {
            units,
            digest: digest(units),
        },
        Request::Sleep(ms) => Reply::Slept(ms),
        Request::Quit => Reply::Bye,
        Request::Stats => {
            return parse_stats(line).map(|_| ());
        }
    };
    check(&expected.to_string(), line)
}

/// Parses a `STATS` answer.
pub fn parse_stats(line: &str) -> Result<CounterSnapshot, AnswerError> {
    line.strip_prefix("STATS ")
        .and_then(CounterSnapshot::parse)
        .ok_or_else(|| unexpected("STATS active=<n> …", line))
}

fn check(expected: &str, line: &str) -> Result<(), AnswerError> {
    if line == expected {
        Ok(())
    } else {
        Err(unexpected(expected, line))
    }
}

/// An `ERR` line becomes `Server`, anything else `WrongAnswer`.
fn unexpected(expected: &str, line: &str) -> AnswerError {
    match ProtocolError::from_line(line) {
        Some(error) => AnswerError::Server(error),
        None => AnswerError::WrongAnswer {
            expected: expected.to_owned(),
            got: line.to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::work::work;

    #[test]
    fn handshake_lines_and_check() {
        let handshake = Handshake::new(41);
        assert_eq!(handshake.first_line(), "HELLO 41\n");
        assert_eq!(handshake.check_answer("HELLO 42"), Ok(()));
        assert_eq!(handshake.third_line(), "HELLO 43\n");
        assert_eq!(
            handshake.check_answer("ERR busy"),
            Err(AnswerError::Server(ProtocolError::Busy))
        );
        assert!(matches!(
            handshake.check_answer("HELLO 042"),
            Err(AnswerError::WrongAnswer { .. })
        ));
        assert_eq!(
            Handshake::new(u64::MAX).first_line(),
            format!("HELLO {MAX_HELLO}\n")
        );
    }

    #[test]
    fn answers_are_checked_byte_for_byte_and_digest_for_digest() {
        let echo = Request::Echo(" spaced  text ");
        assert_eq!(check_answer(&echo, "ECHO  spaced  text ", work), Ok(()));
        assert!(check_answer(&echo, "ECHO spaced  text ", work).is_err());

        let done = format!("DONE 12 {:016x}", work(12));
        assert_eq!(check_answer(&Request::Work(12), &done, work), Ok(()));
        let wrong = format!("DONE 12 {:016x}", work(12) ^ 1);
        assert!(check_answer(&Request::Work(12), &wrong, work).is_err());

        assert_eq!(check_answer(&Request::Sleep(5), "SLEPT 5", work), Ok(()));
        assert_eq!(
            check_answer(&Request::Sleep(5), "ERR sleep too long", work),
            Err(AnswerError::Server(ProtocolError::SleepTooLong))
        );
        let stats = "STATS active=1 accepted=1 handshakes=1 requests=1 errors=0 rejected=0";
        assert_eq!(check_answer(&Request::Stats, stats, work), Ok(()));
        assert!(check_answer(&Request::Stats, "STATS", work).is_err());
    }
}
