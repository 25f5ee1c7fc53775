//! Fuzzing the session with arbitrary bytes, as property tests.
//!
//! cargo-fuzz needs a nightly compiler, which the machines this repository
//! is built on cannot install, so the fuzzing is done with proptest: random
//! byte streams (biased towards protocol-looking lines, plus raw noise), cut
//! into random chunks, fed to a session. For every input:
//!
//! - nothing panics;
//! - the session never holds more than the line limit plus one read;
//! - every line it sends is one the protocol defines.
//!
//! CI runs the default number of cases; a long run is
//! `PROPTEST_CASES=1000000 cargo test --release -p protocol --test fuzz`
//! (see the book's Reliability chapter for the count reached).

// A test's panics are its failures.
#![allow(clippy::expect_used)]

use std::time::Instant;

use proptest::prelude::*;
use protocol::{Action, Reply, ServerState, SessionConfig, work};

/// A line a client might send: protocol words, numbers at the edges, or noise.
fn fragment() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(b"HELLO 1\n".to_vec()),
        Just(b"HELLO 3\n".to_vec()),
        Just(b"HELLO 18446744073709551613\n".to_vec()),
        Just(b"HELLO 18446744073709551615\n".to_vec()),
        Just(b"ECHO \n".to_vec()),
        Just(b"STATS\r\n".to_vec()),
        Just(b"QUIT\n".to_vec()),
        Just(b"\r\n".to_vec()),
        (0u64..3000).prop_map(|n| format!("WORK {n}\n").into_bytes()),
        (0u64..3000).prop_map(|n| format!("SLEEP {n}\n").into_bytes()),
        "[ -~]{0,80}".prop_map(|text| format!("ECHO {text}\n").into_bytes()),
        proptest::collection::vec(any::<u8>(), 0..100),
        proptest::collection::vec(
            prop_oneof![Just(b'\n'), Just(b'\r'), Just(0xff), Just(b' ')],
            0..10
        ),
        Just(vec![b'z'; 300]),
    ]
}

fn stream() -> impl Strategy<Value = (Vec<u8>, Vec<usize>)> {
    (
        proptest::collection::vec(fragment(), 0..40),
        proptest::collection::vec(1usize..600, 1..20),
    )
        .prop_map(|(fragments, chunks)| (fragments.concat(), chunks))
}

/// Whether `line` is a line the protocol lets a server send.
fn well_formed(line: &str) -> bool {
    let number = |s: &str| !s.is_empty() && s.len() <= 20 && s.bytes().all(|b| b.is_ascii_digit());
    let words: Vec<&str> = line.split(' ').collect();
    match words.as_slice() {
        ["HELLO", n] | ["SLEPT", n] => number(n),
        ["DONE", n, hex] => {
            number(n) && hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit())
        }
        ["BYE"] => true,
        ["STATS", ..] => line
            .strip_prefix("STATS ")
            .and_then(protocol::CounterSnapshot::parse)
            .is_some(),
        ["ERR", ..] => protocol::ProtocolError::from_line(line).is_some(),
        ["ECHO", ..] => line.starts_with("ECHO "),
        _ => false,
    }
}

const MAX_LINE: usize = 128;

proptest! {
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_never_bloat_and_get_well_formed_answers((bytes, chunks) in stream()) {
        let config = SessionConfig { max_line: MAX_LINE, max_work: 2000, ..SessionConfig::default() };
        let state = ServerState::new(config);
        let mut session = state.admit(Instant::now());
        let mut out = Vec::new();
        let mut rest = &bytes[..];
        let mut largest_read = 0;
        for &size in chunks.iter().cycle() {
            if rest.is_empty() || session.is_closed() {
                break;
            }
            let (chunk, after) = rest.split_at(size.min(rest.len()));
            rest = after;
            session.receive(chunk);
            largest_read = largest_read.max(chunk.len());
            // Held bytes are bounded by the line limit plus one read
            // (and the allocator's doubling).
            prop_assert!(session.buffered_capacity() <= 2 * (MAX_LINE + 1 + largest_read));
            while let Some(action) = session.next_action() {
                match action {
                    Action::Send(reply) | Action::SendAndClose(reply) => reply.write_line(&mut out),
                    Action::Work(units) => Reply::Done { units, digest: work(units) }.write_line(&mut out),
                    Action::Sleep(ms) => Reply::Slept(ms).write_line(&mut out),
                }
            }
            // Once every complete line is handled, only a partial line is
            // held, in about its own size.
            if !session.is_closed() {
                prop_assert!(session.buffered_capacity() <= 2 * MAX_LINE + 2 + 256);
            }
        }
        let text = String::from_utf8(out).expect("servers send UTF-8");
        for line in text.lines() {
            prop_assert!(well_formed(line), "malformed answer {:?}", line);
        }
    }
}
