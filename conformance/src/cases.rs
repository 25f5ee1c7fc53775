//! One function per rule of PROTOCOL.md. Each starts its own server on
//! port 0, so the cases run in parallel and never share counters.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::CommonArgs;
use protocol::work;

use crate::client::TestClient;
use crate::server::{Model, RunningServer, start};

/// The flags of PROTOCOL.md, changed by `tweak`.
fn server<M: Model>(tweak: impl FnOnce(&mut CommonArgs)) -> RunningServer {
    let mut args = CommonArgs::default();
    tweak(&mut args);
    start::<M>(args)
}

fn default_server<M: Model>() -> RunningServer {
    server::<M>(|_| {})
}

/// The `DONE` line for `work(units)`.
fn done(units: u64) -> String {
    format!("DONE {units} {:016x}", work(units))
}

// ---- Phase 1: the handshake --------------------------------------------

pub fn handshake_completes<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.exchange("HELLO 41", "HELLO 42");
    client.send("HELLO 43\n");
    client.exchange("ECHO hi there", "ECHO hi there");
    server.stop();
}

pub fn handshake_from_zero_and_with_leading_zeros<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.exchange("HELLO 0", "HELLO 1");
    client.send("HELLO 2\n");
    client.exchange("ECHO zero", "ECHO zero");
    let mut padded = TestClient::connect(server.addr());
    drop(client);
    padded.exchange("HELLO 0041", "HELLO 42");
    padded.send("HELLO 43\n");
    padded.exchange("ECHO padded", "ECHO padded");
    server.stop();
}

pub fn handshake_at_the_u64_bounds<M: Model>() {
    let server = default_server::<M>();
    let max = u64::MAX;
    let mut top = TestClient::connect(server.addr());
    top.exchange(&format!("HELLO {}", max - 2), &format!("HELLO {}", max - 1));
    top.send(format!("HELLO {max}\n"));
    top.exchange("ECHO top", "ECHO top");
    top.exchange("QUIT", "BYE");
    for (first, error) in [
        (format!("HELLO {}", max - 1), "ERR sequence out of range"),
        (format!("HELLO {max}"), "ERR sequence out of range"),
        (
            "HELLO 18446744073709551616".to_string(),
            "ERR expected HELLO",
        ),
    ] {
        let mut client = TestClient::connect(server.addr());
        client.send(format!("{first}\n"));
        client.expect_final(error);
    }
    server.stop();
}

pub fn first_line_must_be_hello_with_a_number<M: Model>() {
    let server = default_server::<M>();
    for first in [
        "ECHO hi",
        "hello 1",
        "HELLO",
        "HELLO ",
        "HELLO x",
        "HELLO +1",
        "HELLO -1",
        "HELLO 1_000",
        "HELLO 000000000000000000001",
        "HELLO 1 2",
        "HELLO  1",
        "",
        "QUIT",
    ] {
        let mut client = TestClient::connect(server.addr());
        client.send(format!("{first}\n"));
        client.expect_final("ERR expected HELLO");
    }
    server.stop();
}

pub fn third_line_must_be_exact<M: Model>() {
    let server = default_server::<M>();
    for third in [
        "HELLO 03", "HELLO 4", "HELLO 3 ", "hello 3", "ECHO x", "QUIT", "",
    ] {
        let mut client = TestClient::connect(server.addr());
        client.exchange("HELLO 1", "HELLO 2");
        client.send(format!("{third}\n"));
        client.expect_final(&format!("ERR expected HELLO 3, got {third}"));
    }
    server.stop();
}

// ---- Framing ---------------------------------------------------------

pub fn crlf_line_endings_are_accepted<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.send("HELLO 1\r\n");
    client.expect("HELLO 2");
    client.send("HELLO 3\r\nECHO a\r\nECHO b\rc\r\n");
    client.expect("ECHO a");
    client.expect("ECHO b\rc");
    server.stop();
}

pub fn a_session_sent_byte_by_byte<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    for byte in b"HELLO 7\n" {
        client.send([*byte]);
    }
    client.expect("HELLO 8");
    for byte in b"HELLO 9\nECHO slow\nWORK 3\n" {
        client.send([*byte]);
        thread::sleep(Duration::from_millis(1));
    }
    client.expect("ECHO slow");
    client.expect(&done(3));
    server.stop();
}

pub fn a_pipelined_batch_in_one_write<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.exchange("HELLO 1", "HELLO 2");
    client.send("HELLO 3\nECHO one\nWORK 10\nSLEEP 1\nbogus\nECHO two\nQUIT\nECHO after quit\n");
    for want in [
        "ECHO one",
        &done(10),
        "SLEPT 1",
        "ERR unknown command",
        "ECHO two",
    ] {
        client.expect(want);
    }
    client.expect_final("BYE");
    server.stop();
}

/// More lines in one write than one read takes: a server that reads once
/// per wake-up, where the kernel says "ready" only once (edge-triggered),
/// leaves the rest unread and the client waiting.
pub fn a_large_pipelined_write_is_answered_whole<M: Model>() {
    const LINES: usize = 5000;
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    let batch: String = (0..LINES).map(|i| format!("ECHO {i:06}\n")).collect();
    let mut writer = client.writer_clone();
    // Written from another thread: the answers fill the socket buffers
    // too, and must be read while the requests still go out.
    let sender = thread::spawn(move || std::io::Write::write_all(&mut writer, batch.as_bytes()));
    for i in 0..LINES {
        client.expect(&format!("ECHO {i:06}"));
    }
    assert!(sender.join().is_ok_and(|sent| sent.is_ok()));
    server.stop();
}

/// A client pipelines far more than the socket buffers hold and reads
/// nothing: the server's writes would block. Another client must still be
/// served meanwhile, and the first must then get every answer, in order.
/// (Not for 01, which serves one connection at a time.)
pub fn a_client_that_does_not_read_holds_up_only_itself<M: Model>() {
    // 38 MB of answers: more than loopback's largest socket buffers hold
    // at both ends together (4 MB to send, 6 MB to receive by default), so
    // the server's socket is certainly full while the client is not reading.
    const REQUESTS: usize = 400_000;
    let server = default_server::<M>();
    let mut hog = TestClient::handshaked(server.addr(), 1);
    let mut other = TestClient::handshaked(server.addr(), 2);
    let line = format!("ECHO {}\n", "x".repeat(90));
    let mut writer = hog.writer_clone();
    let sent = Arc::new(AtomicUsize::new(0));
    let flood = thread::spawn({
        let sent = Arc::clone(&sent);
        move || {
            (0..REQUESTS).all(|_| {
                let written = std::io::Write::write_all(&mut writer, line.as_bytes()).is_ok();
                sent.fetch_add(1, Ordering::Relaxed);
                written
            })
        }
    });
    thread::sleep(SHORT);
    other.exchange("ECHO still served", "ECHO still served");
    // Nothing is read until the flood has ended or stalled. A server that
    // keeps what its full socket did not take stops reading, and the flood
    // stalls; one that drops it reads on, the flood ends, and answers are
    // missing below. Reading earlier could let the socket never fill.
    wait_until_ended_or_stalled(&sent, REQUESTS);
    for _ in 0..REQUESTS {
        assert_eq!(hog.line().len(), 95, "an answer lost or cut");
    }
    assert!(
        flood.join().is_ok_and(|sent| sent),
        "the server stopped reading for good"
    );
    server.stop();
}

/// Returns once `sent` reaches `all`, or has not moved for [`STALLED`].
fn wait_until_ended_or_stalled(sent: &AtomicUsize, all: usize) {
    let mut last = usize::MAX;
    let mut unchanged_since = Instant::now();
    loop {
        let now = sent.load(Ordering::Relaxed);
        if now >= all {
            return;
        }
        if now != last {
            last = now;
            unchanged_since = Instant::now();
        } else if unchanged_since.elapsed() >= STALLED {
            return;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

pub fn requests_in_the_same_segment_as_the_third_line<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.send("HELLO 5\n");
    client.expect("HELLO 6");
    client.send("HELLO 7\nECHO right away\n");
    client.expect("ECHO right away");
    server.stop();
}

pub fn a_line_over_the_limit_closes<M: Model>() {
    let server = server::<M>(|args| args.max_line = 64);
    let mut client = TestClient::handshaked(server.addr(), 1);
    // 65 bytes with the newline.
    client.send(format!("ECHO {}\n", "x".repeat(59)));
    client.expect_final("ERR line too long");
    // During the handshake too.
    let mut early = TestClient::connect(server.addr());
    early.send(format!("HELLO {}\n", "1".repeat(70)));
    early.expect_final("ERR line too long");
    server.stop();
}

pub fn too_many_bytes_without_newline_close_early<M: Model>() {
    let server = server::<M>(|args| args.max_line = 64);
    let mut client = TestClient::handshaked(server.addr(), 1);
    // No newline ever comes: the server must not wait for one.
    client.send("E".repeat(200));
    client.expect_final("ERR line too long");
    server.stop();
}

pub fn the_server_drains_after_its_final_line<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.send("QUIT\n");
    client.expect_final("BYE");
    // After its final line the server shuts down its write side but keeps
    // reading (and discarding) for a while, so that a client still sending
    // does not turn the close into a reset. Had it closed outright, these
    // writes would meet a reset and fail.
    for _ in 0..3 {
        thread::sleep(Duration::from_millis(20));
        client
            .send_lossy("ECHO still talking\n")
            .expect("the server must still be draining, not resetting");
    }
    server.stop();
}

pub fn a_line_exactly_at_the_limit_is_served<M: Model>() {
    let server = server::<M>(|args| args.max_line = 64);
    let mut client = TestClient::handshaked(server.addr(), 1);
    let text = "y".repeat(58); // "ECHO " + 58 + "\n" = 64 bytes
    client.exchange(&format!("ECHO {text}"), &format!("ECHO {text}"));
    // With CRLF, the "\r" counts: 57 + 7 = 64.
    let shorter = &text[..57];
    client.send(format!("ECHO {shorter}\r\n"));
    client.expect(&format!("ECHO {shorter}"));
    client.send(format!("ECHO {text}\r\n"));
    client.expect_final("ERR line too long");
    server.stop();
}

pub fn invalid_utf8_closes<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.send(b"ECHO caf\xe9\n");
    client.expect_final("ERR invalid utf-8");
    let mut early = TestClient::connect(server.addr());
    early.send(b"HELLO \xff\xfe\n");
    early.expect_final("ERR invalid utf-8");
    server.stop();
}

// ---- Phase 2: requests -------------------------------------------------

pub fn echo_returns_the_line_byte_for_byte<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    for line in [
        "ECHO ",
        "ECHO  two  spaces ",
        "ECHO héllo wörld ✓",
        "ECHO ECHO QUIT",
    ] {
        client.exchange(line, line);
    }
    server.stop();
}

pub fn work_returns_the_digest<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("WORK 1000", &done(1000));
    client.exchange("WORK 0", &done(0));
    client.exchange("WORK 0042", &done(42));
    server.stop();
}

pub fn work_and_sleep_limits<M: Model>() {
    let server = server::<M>(|args| {
        args.max_work = 100;
        args.max_sleep = 50;
    });
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("WORK 100", &done(100));
    client.exchange("WORK 101", "ERR work too large");
    client.exchange("SLEEP 050", "SLEPT 50");
    client.exchange("SLEEP 51", "ERR sleep too long");
    client.exchange("ECHO still open", "ECHO still open");
    server.stop();
}

pub fn sleep_answers_slept<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("SLEEP 20", "SLEPT 20");
    client.exchange("SLEEP 0", "SLEPT 0");
    server.stop();
}

pub fn request_errors_keep_the_connection_open<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    for (line, error) in [
        ("WORK lots", "ERR bad number"),
        ("WORK ", "ERR bad number"),
        ("WORK +1", "ERR bad number"),
        ("SLEEP -5", "ERR bad number"),
        ("WORK 18446744073709551616", "ERR bad number"),
        ("", "ERR unknown command"),
        ("echo x", "ERR unknown command"),
        ("ECHO", "ERR unknown command"),
        ("WORK", "ERR unknown command"),
        ("SLEEP", "ERR unknown command"),
        ("STATS now", "ERR unknown command"),
        ("QUIT now", "ERR unknown command"),
        ("HELLO 5", "ERR unknown command"),
    ] {
        client.exchange(line, error);
    }
    client.exchange("ECHO alive", "ECHO alive");
    server.stop();
}

pub fn stats_counts_what_happened<M: Model>() {
    let server = default_server::<M>();
    let mut first = TestClient::handshaked(server.addr(), 1);
    first.exchange("ECHO x", "ECHO x");
    first.exchange("WORK x", "ERR bad number");
    let stats = first.stats();
    assert_eq!(
        stats.to_string(),
        "active=1 accepted=1 handshakes=1 requests=3 errors=1 rejected=0"
    );
    first.exchange("QUIT", "BYE");
    first.expect_closed();

    let mut refused = TestClient::connect(server.addr());
    refused.send("HELO 1\n");
    refused.expect_final("ERR expected HELLO");

    drop(refused);

    let mut last = TestClient::handshaked(server.addr(), 10);
    // The other two may still be closing: ask until only this one is open,
    // counting the STATS requests that takes.
    let mut polls = 0;
    let stats = loop {
        polls += 1;
        let stats = last.stats();
        if stats.active == 1 || polls == 500 {
            break stats;
        }
        thread::sleep(Duration::from_millis(20));
    };
    assert_eq!(
        stats.to_string(),
        format!(
            "active=1 accepted=3 handshakes=2 requests={} errors=2 rejected=0",
            4 + polls
        ),
        "requests: 3 + QUIT + the STATS; errors: bad number + bad HELLO"
    );
    server.stop();
}

pub fn quit_says_bye_and_closes<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.send("QUIT\nECHO ignored\n");
    client.expect_final("BYE");
    server.stop();
}

// ---- Timeouts --------------------------------------------------------

const SHORT: Duration = Duration::from_millis(300);
/// How long a flood that makes no progress is taken to be held back.
const STALLED: Duration = Duration::from_millis(500);

pub fn handshake_timeout_closes_silent_clients<M: Model>() {
    let server = server::<M>(|args| args.handshake_timeout = SHORT);
    let mut silent = TestClient::connect(server.addr());
    silent.expect_final("ERR handshake timeout");
    let mut halfway = TestClient::connect(server.addr());
    halfway.exchange("HELLO 1", "HELLO 2");
    halfway.expect_final("ERR handshake timeout");
    server.stop();
}

pub fn handshake_timeout_closes_slow_clients<M: Model>() {
    let server = server::<M>(|args| args.handshake_timeout = SHORT);
    let mut slowloris = TestClient::connect(server.addr());
    slowloris.exchange("HELLO 1", "HELLO 2");
    // A byte every 50 ms, never a whole line: the deadline counts from accept.
    let dribbler = dribble(&slowloris);
    slowloris.expect_final("ERR handshake timeout");
    dribbler.join().expect("dribbler thread");
    server.stop();
}

pub fn idle_timeout_closes_idle_connections<M: Model>() {
    let server = server::<M>(|args| args.idle_timeout = SHORT);
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("ECHO once", "ECHO once");
    client.expect_final("ERR idle timeout");
    server.stop();
}

pub fn partial_lines_do_not_keep_a_connection_alive<M: Model>() {
    let server = server::<M>(|args| args.idle_timeout = SHORT);
    let mut client = TestClient::handshaked(server.addr(), 1);
    let dribbler = dribble(&client);
    client.expect_final("ERR idle timeout");
    dribbler.join().expect("dribbler thread");
    server.stop();
}

pub fn answers_restart_the_idle_clock<M: Model>() {
    let server = server::<M>(|args| args.idle_timeout = Duration::from_secs(1));
    let mut client = TestClient::handshaked(server.addr(), 1);
    // Five requests 300 ms apart: 1.5 s in all, each gap well under 1 s.
    for i in 0..5 {
        thread::sleep(Duration::from_millis(300));
        client.exchange(&format!("ECHO {i}"), &format!("ECHO {i}"));
    }
    server.stop();
}

pub fn disabled_timeouts_wait<M: Model>() {
    let server = server::<M>(|args| {
        args.handshake_timeout = Duration::ZERO;
        args.idle_timeout = Duration::ZERO;
    });
    let mut client = TestClient::connect(server.addr());
    thread::sleep(Duration::from_millis(400));
    client.handshake(1);
    thread::sleep(Duration::from_millis(400));
    client.exchange("ECHO still here", "ECHO still here");
    server.stop();
}

/// Sends one byte of a line that never ends every 50 ms, for at most 5 s
/// or until the server closes.
fn dribble(client: &TestClient) -> thread::JoinHandle<()> {
    let mut writer = client.writer_clone();
    thread::spawn(move || {
        use std::io::Write;
        for _ in 0..100 {
            if writer.write_all(b"x").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(50));
        }
    })
}

// ---- Clients that leave ------------------------------------------------

pub fn client_reset_mid_line_is_harmless<M: Model>() {
    let server = default_server::<M>();
    let mut rude = TestClient::handshaked(server.addr(), 1);
    rude.send("ECHO cut off in the mid");
    rude.reset();
    let mut next = TestClient::handshaked(server.addr(), 2);
    next.exchange("ECHO fine", "ECHO fine");
    next.stats_until(|stats| stats.active == 1);
    server.stop();
}

pub fn client_reset_mid_handshake_and_mid_work_is_harmless<M: Model>() {
    let server = default_server::<M>();
    let mut mid_handshake = TestClient::connect(server.addr());
    mid_handshake.exchange("HELLO 1", "HELLO 2");
    mid_handshake.reset();
    let mut mid_work = TestClient::handshaked(server.addr(), 1);
    mid_work.send("WORK 200000\n");
    mid_work.reset();
    let mut mid_sleep = TestClient::handshaked(server.addr(), 1);
    mid_sleep.send("SLEEP 100\nECHO never read\n");
    mid_sleep.reset();
    let mut next = TestClient::handshaked(server.addr(), 2);
    next.exchange("ECHO fine", "ECHO fine");
    let stats = next.stats_until(|stats| stats.active == 1);
    assert_eq!((stats.accepted, stats.handshakes), (4, 3));
    server.stop();
}

pub fn half_close_gets_every_complete_line_answered<M: Model>() {
    let server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.send("HELLO 1\nHELLO 3\nECHO a\nWORK 5\nECHO partial");
    client.half_close();
    client.expect("HELLO 2");
    client.expect("ECHO a");
    client.expect(&done(5));
    client.expect_closed();
    // A lone HELLO is answered too.
    let mut early = TestClient::connect(server.addr());
    early.send("HELLO 8\n");
    early.half_close();
    early.expect("HELLO 9");
    early.expect_closed();
    server.stop();
}

// ---- Shutdown ----------------------------------------------------------

pub fn shutdown_while_sleep_runs_answers_then_says_bye<M: Model>() {
    let mut server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("ECHO before", "ECHO before");
    client.send("SLEEP 400\n");
    thread::sleep(Duration::from_millis(100));
    server.begin_stop();
    client.expect("SLEPT 400");
    client.expect_final("BYE");
    server.assert_returned_cleanly();
}

pub fn shutdown_answers_pipelined_lines_already_read<M: Model>() {
    let mut server = default_server::<M>();
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("ECHO ready", "ECHO ready");
    // One write: the server reads all four lines at once, and must answer
    // every one of them before BYE even though it is shutting down.
    client.send("ECHO 1\nSLEEP 300\nECHO 2\nECHO 3\nECHO part");
    client.expect("ECHO 1");
    server.begin_stop();
    for want in ["SLEPT 300", "ECHO 2", "ECHO 3"] {
        client.expect(want);
    }
    client.expect_final("BYE");
    server.assert_returned_cleanly();
}

pub fn shutdown_says_bye_during_the_handshake<M: Model>() {
    let mut server = default_server::<M>();
    let mut client = TestClient::connect(server.addr());
    client.exchange("HELLO 1", "HELLO 2");
    server.begin_stop();
    client.expect_final("BYE");
    server.assert_returned_cleanly();
}

pub fn shutdown_of_an_idle_server_returns<M: Model>() {
    let server = default_server::<M>();
    let addr = server.addr();
    server.stop();
    assert!(
        std::net::TcpStream::connect(addr).is_err(),
        "a stopped server must not accept connections"
    );
}

// ---- Several connections at once (not 01) ------------------------------

pub fn connections_are_served_concurrently<M: Model>() {
    let server = default_server::<M>();
    let mut first = TestClient::connect(server.addr());
    let mut second = TestClient::connect(server.addr());
    first.exchange("HELLO 1", "HELLO 2");
    second.exchange("HELLO 10", "HELLO 11");
    first.send("HELLO 3\n");
    second.send("HELLO 12\n");
    second.exchange("ECHO second", "ECHO second");
    first.exchange("ECHO first", "ECHO first");
    server.stop();
}

pub fn over_the_limit_gets_busy<M: Model>() {
    let server = server::<M>(|args| args.max_connections = Some(2));
    let mut first = TestClient::handshaked(server.addr(), 1);
    let _second = TestClient::handshaked(server.addr(), 1);
    let mut third = TestClient::connect(server.addr());
    third.expect_final("ERR busy");
    let stats = first.stats();
    assert_eq!(
        (stats.active, stats.accepted, stats.rejected, stats.errors),
        (2, 3, 1, 0)
    );
    // A place freed is a place taken.
    first.exchange("QUIT", "BYE");
    first.expect_closed();
    drop(first);
    let mut second = _second;
    second.stats_until(|stats| stats.active == 1);
    let mut fourth = TestClient::connect(server.addr());
    fourth.handshake(7);
    fourth.stats_until(|stats| stats.active == 2 && stats.accepted == 4);
    server.stop();
}

pub fn shutdown_says_bye_to_every_connection<M: Model>() {
    let mut server = default_server::<M>();
    let mut clients: Vec<TestClient> = (0..5)
        .map(|x| TestClient::handshaked(server.addr(), x))
        .collect();
    let mut handshaking = TestClient::connect(server.addr());
    handshaking.exchange("HELLO 1", "HELLO 2");
    for client in &mut clients {
        client.exchange("ECHO up", "ECHO up");
    }
    server.begin_stop();
    for client in clients.iter_mut().chain([&mut handshaking]) {
        client.expect_final("BYE");
    }
    server.assert_returned_cleanly();
}

pub fn counters_add_up_under_concurrent_clients<M: Model>() {
    let server = default_server::<M>();
    let addr = server.addr();
    let workers: Vec<_> = (0..8u64)
        .map(|i| {
            thread::spawn(move || {
                let mut client = TestClient::handshaked(addr, i);
                for n in 0..20 {
                    client.exchange(&format!("ECHO {i}-{n}"), &format!("ECHO {i}-{n}"));
                }
                client.exchange("QUIT", "BYE");
                client.expect_closed();
            })
        })
        .collect();
    for worker in workers {
        worker.join().expect("client thread");
    }
    let mut observer = TestClient::handshaked(addr, 99);
    // The clients' connections may still be closing: the observer asks
    // until they are gone, and each of its STATS is a request too.
    let polls = std::cell::Cell::new(0);
    let stats = observer.stats_until(|stats| {
        polls.set(polls.get() + 1);
        stats.active == 1
    });
    assert_eq!(
        (
            stats.accepted,
            stats.handshakes,
            stats.requests,
            stats.errors
        ),
        (9, 9, 8 * 21 + polls.get(), 0)
    );
    server.stop();
}

// ---- Reliability: slow clients and floods (not 01) ---------------------

/// How many stalled clients the slow-client case opens: 200 in CI, more
/// with `CONFORMANCE_STALLED=5000` (see the book's Reliability chapter).
fn stalled_count() -> usize {
    std::env::var("CONFORMANCE_STALLED")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(200)
}

pub fn slow_clients_do_not_block_fresh_ones<M: Model>() {
    let stalled_count = stalled_count();
    // Long enough to open every stalled client before the first expires:
    // the server runs in this test's process, so its threads and the
    // clients' share it (and two cores), and a thread per connection
    // here takes a few milliseconds a client to set up at 2000 (measured:
    // 2 ms a client was too few). Generous, since what is tested is that
    // the fresh client is served while all are open, not how fast.
    let timeout = Duration::from_secs(3) + Duration::from_millis(5 * stalled_count as u64);
    let server = server::<M>(|args| args.handshake_timeout = timeout);
    let mut stalled: Vec<TestClient> = (0..stalled_count)
        .map(|_| {
            let mut client = TestClient::connect(server.addr());
            client.send("HELLO 1\nHEL"); // half of the third line, then nothing
            client
        })
        .collect();
    // Every stalled client is in (its first line answered), and stalls.
    for client in &mut stalled {
        client.expect("HELLO 2");
    }
    // A fresh client completes its handshake while every one of them stalls.
    let mut fresh = TestClient::handshaked(server.addr(), 5);
    fresh.exchange("ECHO fresh", "ECHO fresh");
    let stats = fresh.stats();
    assert!(
        stats.active as usize > stalled_count,
        "the fresh client was served only after stalled ones closed: {stats}"
    );
    // The handshake timeout then closes every stalled client.
    for client in &mut stalled {
        client.expect_final("ERR handshake timeout");
    }
    fresh.stats_until(|stats| stats.active == 1);
    println!(
        "RELIABILITY slow clients: {}: {stalled_count} clients stalled mid-handshake; a fresh client \
         was served while all were open; all were closed by the handshake timeout",
        M::NAME
    );
    server.stop();
}

pub fn a_flood_over_the_limit_is_turned_away_and_counted<M: Model>() {
    const LIMIT: u64 = 10;
    const FLOOD: u64 = 50;
    let server = server::<M>(|args| args.max_connections = Some(LIMIT));
    let addr = server.addr();
    // The served clients are handed back, so they stay open until every
    // client has tried.
    let clients: Vec<_> = (0..FLOOD)
        .map(|i| {
            thread::spawn(move || {
                let mut client = TestClient::connect(addr);
                client.send(format!("HELLO {i}\n"));
                let answer = client.line();
                if answer == format!("HELLO {}", i + 1) {
                    return Some(client);
                }
                assert_eq!(answer, "ERR busy");
                client.expect_closed();
                None
            })
        })
        .collect();
    let served_clients: Vec<TestClient> = clients
        .into_iter()
        .filter_map(|c| c.join().expect("client thread"))
        .collect();
    let served = served_clients.len() as u64;
    drop(served_clients);
    assert_eq!(served, LIMIT, "exactly the limit is served");
    // The server may not have seen every served client leave yet: until it
    // has, the observer is turned away too, and tries again.
    let (mut observer, turned_away) = admitted_observer(addr);
    let stats = observer.stats_until(|stats| stats.active == 1);
    // accepted = handshakes + rejected + failed (those that never finished
    // their handshake: here the served ones left before sending HELLO x+2).
    assert_eq!(stats.accepted, FLOOD + 1 + turned_away);
    assert_eq!(stats.rejected, FLOOD - LIMIT + turned_away);
    assert_eq!(
        stats.handshakes, 1,
        "only the observer finished a handshake"
    );
    assert_eq!(stats.accepted, stats.handshakes + stats.rejected + LIMIT);
    assert_eq!(stats.errors, 0, "ERR busy is not counted as an error");
    println!(
        "RELIABILITY flood: {}: {FLOOD} connections at once, limit {LIMIT}: {served} served, {} ERR busy; \
         then STATS: {stats}",
        M::NAME,
        FLOOD - served
    );
    server.stop();
}

/// A client that connects until it is not turned away (`ERR busy`) and
/// completes its handshake; also how many times it was turned away.
fn admitted_observer(addr: std::net::SocketAddr) -> (TestClient, u64) {
    let start = std::time::Instant::now();
    let mut turned_away = 0;
    loop {
        let mut client = TestClient::connect(addr);
        client.send("HELLO 99\n");
        match client.line().as_str() {
            "HELLO 100" => {
                client.send("HELLO 101\n");
                return (client, turned_away);
            }
            "ERR busy" => turned_away += 1,
            other => panic!("expected HELLO 100 or ERR busy, got {other:?}"),
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "still turned away 10 s after the other clients left"
        );
        thread::sleep(Duration::from_millis(20));
    }
}
