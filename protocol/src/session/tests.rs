//! Unit tests for every rule of PROTOCOL.md that a session decides.

use std::sync::Arc;
use std::time::{Duration, Instant};

use proptest::prelude::*;

use super::*;
use crate::work::work;

fn state() -> Arc<ServerState> {
    ServerState::new(SessionConfig::default())
}

/// Runs every action inline (sleeping is skipped: the reply is what counts)
/// and returns what the server would have written, and whether it closed.
fn drive(session: &mut Session, bytes: &[u8]) -> (String, bool) {
    session.receive(bytes);
    let mut out = Vec::new();
    let mut closed = false;
    while let Some(action) = session.next_action() {
        match action {
            Action::Send(reply) => reply.write_line(&mut out),
            Action::SendAndClose(reply) => {
                reply.write_line(&mut out);
                closed = true;
            }
            Action::Work(units) => Reply::Done {
                units,
                digest: work(units),
            }
            .write_line(&mut out),
            Action::Sleep(ms) => Reply::Slept(ms).write_line(&mut out),
        }
    }
    (String::from_utf8(out).unwrap(), closed)
}

/// A session that has completed the handshake.
fn ready(state: &Arc<ServerState>) -> Session {
    let mut session = state.admit(Instant::now());
    assert_eq!(
        drive(&mut session, b"HELLO 41\nHELLO 43\n"),
        ("HELLO 42\n".into(), false)
    );
    assert!(session.is_handshaked());
    session
}

#[test]
fn handshake_answers_x_plus_one_and_accepts_x_plus_two() {
    let state = state();
    let mut session = state.admit(Instant::now());
    assert_eq!(
        drive(&mut session, b"HELLO 0\n"),
        ("HELLO 1\n".into(), false)
    );
    assert!(!session.is_handshaked());
    assert_eq!(drive(&mut session, b"HELLO 2\n"), (String::new(), false));
    assert!(session.is_handshaked());
    assert_eq!(state.counters.snapshot().handshakes, 1);
}

#[test]
fn handshake_at_the_top_of_the_range() {
    let state = state();
    let mut session = state.admit(Instant::now());
    let (out, _) = drive(&mut session, b"HELLO 18446744073709551613\n");
    assert_eq!(out, "HELLO 18446744073709551614\n");
    let (out, closed) = drive(&mut session, b"HELLO 18446744073709551615\n");
    assert_eq!((out.as_str(), closed), ("", false));
    assert!(session.is_handshaked());
}

#[test]
fn handshake_errors_close_with_the_exact_text() {
    let cases: [(&[u8], &str); 7] = [
        (
            b"HELLO 18446744073709551614\n",
            "ERR sequence out of range\n",
        ),
        (b"HELLO +1\n", "ERR expected HELLO\n"),
        (b"HELLO 000000000000000000001\n", "ERR expected HELLO\n"),
        (b"ECHO hi\n", "ERR expected HELLO\n"),
        (b"\n", "ERR expected HELLO\n"),
        (
            b"HELLO 1\nHELLO 03\n",
            "HELLO 2\nERR expected HELLO 3, got HELLO 03\n",
        ),
        (
            b"HELLO 1\nQUIT\n",
            "HELLO 2\nERR expected HELLO 3, got QUIT\n",
        ),
    ];
    for (input, want) in cases {
        let state = state();
        let mut session = state.admit(Instant::now());
        let (out, closed) = drive(&mut session, input);
        assert_eq!(out, want, "input {:?}", String::from_utf8_lossy(input));
        assert!(closed && session.is_closed());
        assert_eq!(state.counters.snapshot().errors, 1);
        assert_eq!(state.counters.snapshot().handshakes, 0);
    }
}

#[test]
fn requests_may_follow_the_third_line_in_the_same_segment() {
    let state = state();
    let mut session = state.admit(Instant::now());
    let (out, closed) = drive(
        &mut session,
        b"HELLO 5\nHELLO 7\r\nECHO a  b \r\nECHO \nSTATS\n",
    );
    assert_eq!(
        out,
        "HELLO 6\nECHO a  b \nECHO \n\
         STATS active=1 accepted=0 handshakes=1 requests=3 errors=0 rejected=0\n"
    );
    assert!(!closed);
}

#[test]
fn work_and_sleep_respect_their_limits() {
    let state = state();
    let mut session = ready(&state);
    let want = format!(
        "DONE 10 {:016x}\nERR work too large\nSLEPT 1000\nERR sleep too long\nDONE 1000000 {:016x}\n",
        work(10),
        work(1_000_000)
    );
    let input = b"WORK 0010\nWORK 1000001\nSLEEP 1000\nSLEEP 1001\nWORK 1000000\n";
    assert_eq!(drive(&mut session, input), (want, false));
}

#[test]
fn request_errors_keep_the_connection_open_and_are_counted() {
    let state = state();
    let mut session = ready(&state);
    let (out, closed) = drive(
        &mut session,
        b"WORK lots\necho x\n\nHELLO 5\nSLEEP\nECHO ok\n",
    );
    assert_eq!(
        out,
        "ERR bad number\nERR unknown command\nERR unknown command\n\
         ERR unknown command\nERR unknown command\nECHO ok\n"
    );
    assert!(!closed);
    let counters = state.counters.snapshot();
    assert_eq!((counters.requests, counters.errors), (6, 5));
}

#[test]
fn quit_answers_bye_and_nothing_after_it() {
    let state = state();
    let mut session = ready(&state);
    assert_eq!(
        drive(&mut session, b"QUIT\nECHO late\n"),
        ("BYE\n".into(), true)
    );
    assert_eq!(drive(&mut session, b"ECHO later\n"), (String::new(), false));
    assert_eq!(state.counters.snapshot().requests, 1);
}

#[test]
fn framing_errors_close_and_are_errors_but_not_requests() {
    for (input, want) in [
        (&b"ECHO \xff\n"[..], "ERR invalid utf-8\n"),
        (&[b'x'; 5000][..], "ERR line too long\n"),
    ] {
        let state = state();
        let mut session = ready(&state);
        assert_eq!(drive(&mut session, input), (want.into(), true));
        let counters = state.counters.snapshot();
        assert_eq!((counters.requests, counters.errors), (0, 1));
    }
}

#[test]
fn invalid_utf8_during_the_handshake_closes_too() {
    let state = state();
    let mut session = state.admit(Instant::now());
    assert_eq!(
        drive(&mut session, b"HELLO \xc3\n"),
        ("ERR invalid utf-8\n".into(), true)
    );
}

#[test]
fn a_line_of_exactly_max_line_bytes_is_served() {
    let state = ServerState::new(SessionConfig {
        max_line: 16,
        ..SessionConfig::default()
    });
    let mut session = ready(&state);
    // "ECHO 0123456789\n" is 16 bytes.
    assert_eq!(
        drive(&mut session, b"ECHO 0123456789\n"),
        ("ECHO 0123456789\n".into(), false)
    );
    assert_eq!(
        drive(&mut session, b"ECHO 0123456789\r\n"),
        ("ERR line too long\n".into(), true)
    );
}

#[test]
fn active_counts_admitted_sessions_until_dropped() {
    let state = state();
    let first = state.admit(Instant::now());
    let second = state.admit(Instant::now());
    assert_eq!(state.counters.active(), 2);
    drop(first);
    assert_eq!(state.counters.active(), 1);
    drop(second);
    assert_eq!(state.counters.active(), 0);
    assert_eq!(state.reject(), Reply::Error(ProtocolError::Busy));
    assert_eq!(state.counters.snapshot().rejected, 1);
    assert_eq!(
        state.counters.snapshot().errors,
        0,
        "ERR busy is not an error"
    );
}

#[test]
fn handshake_deadline_counts_from_accept_and_idle_from_the_last_reply() {
    let state = state();
    let accepted = Instant::now();
    let mut session = state.admit(accepted);
    assert_eq!(session.deadline(), Some(accepted + Duration::from_secs(10)));
    drive(&mut session, b"HELLO 1\n");
    session.replies_sent(accepted + Duration::from_secs(1));
    assert_eq!(
        session.deadline(),
        Some(accepted + Duration::from_secs(10)),
        "still the handshake"
    );
    drive(&mut session, b"HELLO 3\n");
    let done = accepted + Duration::from_secs(2);
    session.replies_sent(done);
    assert_eq!(session.deadline(), Some(done + Duration::from_secs(60)));
    // Bytes of an unfinished line do not restart the idle clock.
    drive(&mut session, b"ECHO unfin");
    session.replies_sent(done + Duration::from_secs(30));
    assert_eq!(session.deadline(), Some(done + Duration::from_secs(60)));
    drive(&mut session, b"ished\n");
    let answered = done + Duration::from_secs(40);
    session.replies_sent(answered);
    assert_eq!(session.deadline(), Some(answered + Duration::from_secs(60)));
}

#[test]
fn timeouts_name_the_phase_and_close() {
    let state = state();
    let mut handshaking = state.admit(Instant::now());
    assert_eq!(
        handshaking.on_timeout(),
        Reply::Error(ProtocolError::HandshakeTimeout)
    );
    assert!(handshaking.is_closed() && handshaking.deadline().is_none());
    let mut idle = ready(&state);
    assert_eq!(idle.on_timeout(), Reply::Error(ProtocolError::IdleTimeout));
    assert_eq!(state.counters.snapshot().errors, 2);
}

#[test]
fn disabled_timeouts_have_no_deadline() {
    let state = ServerState::new(SessionConfig {
        handshake_timeout: None,
        idle_timeout: None,
        ..SessionConfig::default()
    });
    let mut session = state.admit(Instant::now());
    assert_eq!(session.deadline(), None);
    drive(&mut session, b"HELLO 1\nHELLO 3\n");
    session.replies_sent(Instant::now());
    assert_eq!(session.deadline(), None);
}

#[test]
fn shutdown_says_bye_and_drops_the_partial_line() {
    let state = state();
    let mut session = ready(&state);
    assert_eq!(
        drive(&mut session, b"ECHO done\nECHO partial"),
        ("ECHO done\n".into(), false)
    );
    assert_eq!(session.on_shutdown(), Reply::Bye);
    assert_eq!(drive(&mut session, b"\n"), (String::new(), false));
}

/// A byte stream a client might send: a handshake, then a mix of good,
/// bad and awkward lines, possibly cut off mid-line.
fn client_stream() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        Just(b"ECHO hello world".to_vec()),
        "[ -~]{0,40}".prop_map(|text| format!("ECHO {text}").into_bytes()),
        (0u64..50).prop_map(|units| format!("WORK {units}").into_bytes()),
        Just(b"SLEEP 3".to_vec()),
        Just(b"STATS".to_vec()),
        Just(b"WORK x".to_vec()),
        Just(b"nonsense".to_vec()),
        proptest::collection::vec(any::<u8>(), 0..12),
        Just(vec![b'y'; 70]),
    ];
    (
        proptest::collection::vec((line, any::<bool>()), 0..12),
        any::<bool>(),
    )
        .prop_map(|(lines, with_handshake)| {
            let mut stream = Vec::new();
            if with_handshake {
                stream.extend_from_slice(b"HELLO 7\nHELLO 9\r\n");
            }
            for (line, crlf) in lines {
                stream.extend_from_slice(&line);
                stream.extend_from_slice(if crlf { b"\r\n" } else { b"\n" });
            }
            stream
        })
}

proptest! {
    /// Whatever the chunking, the replies are the same as for the whole
    /// stream fed at once: TCP segment boundaries are invisible.
    #[test]
    fn any_split_gives_the_same_replies(
        stream in client_stream(),
        cuts in proptest::collection::vec(any::<prop::sample::Index>(), 0..8),
    ) {
        let config = SessionConfig { max_line: 64, ..SessionConfig::default() };
        let whole = {
            let state = ServerState::new(config.clone());
            let mut session = state.admit(Instant::now());
            drive(&mut session, &stream)
        };
        let mut positions: Vec<usize> = cuts.iter().map(|i| i.index(stream.len() + 1)).collect();
        positions.sort_unstable();
        let state = ServerState::new(config);
        let mut session = state.admit(Instant::now());
        let mut out = String::new();
        let mut closed = false;
        let mut from = 0;
        for to in positions.into_iter().chain([stream.len()]) {
            let (chunk_out, chunk_closed) = drive(&mut session, &stream[from..to]);
            out.push_str(&chunk_out);
            closed |= chunk_closed;
            from = to;
        }
        prop_assert_eq!((out, closed), whole);
    }
}
