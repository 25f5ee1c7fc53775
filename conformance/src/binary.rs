//! Cases for a server *binary*: flags, signals, the exit status, the final
//! counters line, the grace period's hard edge, and recovering when the
//! process runs out of file descriptors. Each model's `tests/binary.rs`
//! runs them with `binary_tests!` (and `accept_recovery_tests!`).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::os::unix::process::CommandExt as _;
use std::process::Stdio;
use std::thread;
use std::time::{Duration, Instant};

use protocol::CounterSnapshot;

use crate::client::TestClient;

use crate::process::{Launcher, ServerProcess};

/// Generous: a server must exit long before this, but a loaded CI machine
/// may be slow to start one.
const EXIT_LIMIT: Duration = Duration::from_secs(20);

/// Generates the binary cases for one server: `$binary` is its path (or a
/// [`Launcher`](crate::process::Launcher)), `$server` its
/// [`registry::Server`] entry, which gives its name and default address.
#[macro_export]
macro_rules! binary_tests {
    ($binary:expr, $server:expr) => {
        #[test]
        fn sigterm_says_bye_and_prints_the_final_counters() {
            $crate::binary::sigterm_says_bye_and_prints_the_final_counters(
                &$crate::process::Launcher::from($binary),
            );
        }
        #[test]
        fn sigint_stops_an_idle_server_with_status_zero() {
            $crate::binary::sigint_stops_an_idle_server_with_status_zero(
                &$crate::process::Launcher::from($binary),
            );
        }
        #[test]
        fn the_process_exits_within_the_grace_period_even_mid_sleep() {
            $crate::binary::exits_within_the_grace_period(
                &$crate::process::Launcher::from($binary),
                "SLEEP 60000",
            );
        }
        #[test]
        fn the_process_exits_within_the_grace_period_even_mid_work() {
            $crate::binary::exits_within_the_grace_period(
                &$crate::process::Launcher::from($binary),
                "WORK 100000000",
            );
        }
        #[test]
        fn the_startup_line_names_address_model_and_file_limit() {
            $crate::binary::the_startup_line_names_address_model_and_file_limit(
                &$crate::process::Launcher::from($binary),
                $server.name,
            );
        }
        #[test]
        fn help_lists_every_flag() {
            $crate::binary::help_lists_every_flag(
                &$crate::process::Launcher::from($binary),
                $server.default_addr,
            );
        }
        #[test]
        fn bad_flags_and_busy_ports_fail_with_a_clear_message() {
            $crate::binary::bad_flags_and_busy_ports_fail_with_a_clear_message(
                &$crate::process::Launcher::from($binary),
            );
        }
    };
}

/// Generates the case where `accept` runs out of file descriptors.
#[macro_export]
macro_rules! accept_recovery_tests {
    ($binary:expr) => {
        #[test]
        fn running_out_of_file_descriptors_pauses_accept_and_recovers() {
            $crate::binary::running_out_of_file_descriptors_pauses_accept_and_recovers(
                &$crate::process::Launcher::from($binary),
            );
        }
    };
}

/// The counters in the `final counters: …` line, which must be the last.
pub fn final_counters(stdout: &str) -> CounterSnapshot {
    let last = stdout.lines().last().unwrap_or_default();
    let counters = last
        .strip_prefix("final counters: ")
        .unwrap_or_else(|| panic!("the last line is not the final counters: {last:?}"));
    CounterSnapshot::parse(counters).unwrap_or_else(|| panic!("bad counters: {last:?}"))
}

pub fn sigterm_says_bye_and_prints_the_final_counters(binary: &Launcher) {
    let server = ServerProcess::start(binary, &[]);
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.exchange("ECHO over the wire", "ECHO over the wire");
    let finished = thread::scope(|scope| {
        let reader = scope.spawn(move || client.expect_final("BYE"));
        let finished = server.stop_with(libc::SIGTERM, EXIT_LIMIT);
        reader.join().expect("client thread");
        finished
    });
    assert!(finished.status.success(), "exit status {}", finished.status);
    assert_eq!(
        final_counters(&finished.stdout).to_string(),
        "active=0 accepted=1 handshakes=1 requests=1 errors=0 rejected=0"
    );
    assert_eq!(
        finished.stdout.lines().count(),
        1,
        "logs go to stderr, not stdout"
    );
}

pub fn sigint_stops_an_idle_server_with_status_zero(binary: &Launcher) {
    let server = ServerProcess::start(binary, &[]);
    let finished = server.stop_with(libc::SIGINT, EXIT_LIMIT);
    assert!(finished.status.success());
    assert_eq!(final_counters(&finished.stdout), CounterSnapshot::default());
}

/// `request` keeps a thread busy for a minute or more; the process must
/// still exit soon after the 300 ms grace period.
pub fn exits_within_the_grace_period(binary: &Launcher, request: &str) {
    let server = ServerProcess::start(
        binary,
        &[
            "--max-sleep",
            "60000",
            "--max-work",
            "100000000",
            "--shutdown-grace",
            "300ms",
        ],
    );
    let mut client = TestClient::handshaked(server.addr(), 1);
    client.send(format!("{request}\n"));
    thread::sleep(Duration::from_millis(200));
    let finished = server.stop_with(libc::SIGTERM, EXIT_LIMIT);
    assert!(finished.status.success(), "exit status {}", finished.status);
    let counters = final_counters(&finished.stdout);
    assert_eq!((counters.handshakes, counters.requests), (1, 1));
}

pub fn the_startup_line_names_address_model_and_file_limit(binary: &Launcher, model: &str) {
    let server = ServerProcess::start(binary, &[]);
    let addr = server.addr();
    let finished = server.stop_with(libc::SIGTERM, EXIT_LIMIT);
    let startup = finished
        .stderr
        .lines()
        .find(|line| line.contains("listening"))
        .unwrap_or_else(|| panic!("no startup line in {:?}", finished.stderr));
    for part in [&addr.to_string(), model, "fd_limit="] {
        assert!(startup.contains(part), "{part:?} missing from {startup:?}");
    }
}

pub fn help_lists_every_flag(binary: &Launcher, default_addr: &str) {
    let output = binary.command().arg("--help").output().expect("run --help");
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout).expect("UTF-8 help");
    for flag in [
        "--addr",
        "--max-connections",
        "--max-line",
        "--handshake-timeout",
        "--idle-timeout",
        "--shutdown-grace",
        "--max-work",
        "--max-sleep",
        default_addr,
    ] {
        assert!(help.contains(flag), "{flag} missing from --help");
    }
}

pub fn bad_flags_and_busy_ports_fail_with_a_clear_message(binary: &Launcher) {
    let output = binary
        .command()
        .args(["--idle-timeout", "soon"])
        .output()
        .expect("run with a bad flag");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("--idle-timeout") && stderr.contains("10s"),
        "{stderr}"
    );

    let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = taken.local_addr().expect("address").to_string();
    let output = binary
        .command()
        .args(["--addr", &addr])
        .output()
        .expect("run on a busy port");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains(&format!("cannot listen on {addr}")),
        "{stderr}"
    );
}

/// The server runs with an open-file limit of 64 and gets 100 clients: it
/// accepts until `accept` fails with EMFILE, must then pause (not spin,
/// not exit), and serve the waiting clients once the first ones leave.
pub fn running_out_of_file_descriptors_pauses_accept_and_recovers(binary: &Launcher) {
    const FD_LIMIT: libc::rlim_t = 64;
    const CLIENTS: usize = 100;
    let addr = crate::process::free_port();
    let mut command = binary.command();
    command
        .args(["--addr", &addr.to_string(), "--max-connections", "1000"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    // SAFETY: between fork and exec only `setrlimit` runs, which is
    // async-signal-safe and touches no memory of ours.
    unsafe {
        command.pre_exec(|| {
            let limit = libc::rlimit {
                rlim_cur: FD_LIMIT,
                rlim_max: FD_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = KillOnDrop(command.spawn().expect("start the server"));
    let child = &mut child.0;
    // Drain the logs as they come: a full pipe would block the server.
    let stderr = child.stderr.take().expect("stderr is piped");
    let logs = thread::spawn(move || {
        let mut logs = String::new();
        let _ = std::io::BufReader::new(stderr).read_to_string(&mut logs);
        logs
    });
    let started = Instant::now();
    let mut clients: Vec<TcpStream> = Vec::new();
    while clients.len() < CLIENTS {
        match TcpStream::connect(addr) {
            Ok(stream) => clients.push(stream),
            Err(_) if started.elapsed() < EXIT_LIMIT => thread::sleep(Duration::from_millis(20)),
            Err(error) => panic!("cannot connect: {error}"),
        }
    }
    for client in &mut clients {
        client.write_all(b"HELLO 1\n").expect("send HELLO");
    }
    thread::sleep(Duration::from_millis(500));

    let cpu_before = cpu_seconds(child.id());
    thread::sleep(Duration::from_secs(1));
    let cpu_spent = cpu_seconds(child.id()) - cpu_before;
    assert!(
        cpu_spent < 0.5,
        "the server burned {cpu_spent:.2} s of CPU in 1 s while out of descriptors: it spins"
    );

    let (answered, waiting): (Vec<_>, Vec<_>) = clients.into_iter().partition(has_answer);
    assert!(!answered.is_empty(), "nobody was served");
    assert!(
        !waiting.is_empty(),
        "every client was served: the limit was never reached"
    );
    assert!(
        child.try_wait().expect("poll").is_none(),
        "the server exited"
    );
    drop(answered); // frees their descriptors in the server

    for mut client in waiting {
        client.set_read_timeout(Some(EXIT_LIMIT)).expect("timeout");
        let mut reply = [0u8; 8];
        client
            .read_exact(&mut reply)
            .expect("a waiting client is served after recovery");
        assert_eq!(&reply, b"HELLO 2\n");
    }
    let _ = child.kill();
    let _ = child.wait();
    let logs = logs.join().expect("log reader");
    assert!(
        logs.contains("out of resources"),
        "no warning logged: {logs}"
    );
}

/// Kills the child when the test ends, passed or failed.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Whether the server has answered this client (without waiting).
fn has_answer(client: &TcpStream) -> bool {
    client.set_nonblocking(true).expect("nonblocking");
    let mut byte = [0u8; 1];
    let answered = match client.peek(&mut byte) {
        Ok(n) => n > 0,
        Err(error) if error.kind() == ErrorKind::WouldBlock => false,
        Err(error) => panic!("client failed: {error}"),
    };
    client.set_nonblocking(false).expect("blocking");
    answered
}

/// User plus system CPU time of a process, from `/proc/<pid>/stat`.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("read /proc stat");
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line.
    let after_name = &stat[stat.rfind(')').expect("command name") + 2..];
    let fields: Vec<&str> = after_name.split(' ').collect();
    let ticks: f64 =
        fields[11].parse::<f64>().expect("utime") + fields[12].parse::<f64>().expect("stime");
    // SAFETY: sysconf only reads its argument.
    let ticks_per_second = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks / ticks_per_second
}

/// Generates the case where the server is stopped while loaded.
#[macro_export]
macro_rules! shutdown_under_load_tests {
    ($binary:expr $(, $arg:expr)* $(,)?) => {
        #[test]
        fn shutdown_under_load_loses_no_answer() {
            $crate::binary::shutdown_under_load_loses_no_answer(&$crate::process::Launcher::from($binary), &[$($arg),*]);
        }
    };
}

/// How many connections the shutdown-under-load case drives: 100 in CI,
/// more with `CONFORMANCE_LOAD_CONNECTIONS=2000`.
fn load_connections() -> usize {
    std::env::var("CONFORMANCE_LOAD_CONNECTIONS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(100)
}

/// What one loaded connection saw.
struct Fate {
    sent: u64,
    answered: u64,
    got_bye: bool,
    /// Closed or reset before any answer: still in the listen backlog when
    /// the listener closed, which PROTOCOL.md allows ("dropped unserved").
    never_served: bool,
}

/// SIGTERM while many connections pipeline ECHO requests: every connection
/// must get every answer in order and then `BYE`, the process must exit 0,
/// and the requests the server says it read must equal the answers the
/// clients received: zero lost.
pub fn shutdown_under_load_loses_no_answer(binary: &Launcher, extra_args: &[&str]) {
    let connections = load_connections();
    let mut args = vec!["--shutdown-grace", "15s", "--max-connections", "30000"];
    args.extend_from_slice(extra_args);
    let server = ServerProcess::start(binary, &args);
    let addr = server.addr();
    let clients: Vec<_> = (0..connections)
        .map(|i| thread::spawn(move || pipeline_until_bye(addr, i as u64)))
        .collect();
    // Let the load run, then stop the server under it.
    thread::sleep(Duration::from_millis(700));
    let finished = server.stop_with(libc::SIGTERM, EXIT_LIMIT);
    let fates: Vec<Fate> = clients
        .into_iter()
        .map(|c| c.join().expect("client thread"))
        .collect();

    assert!(finished.status.success(), "exit status {}", finished.status);
    let counters = final_counters(&finished.stdout);
    // A connection the server never accepted may be dropped unserved; one
    // it accepted must get every answer and its BYE.
    let never_served = fates.iter().filter(|f| f.never_served).count() as u64;
    let never_accepted = (connections as u64).saturating_sub(counters.accepted);
    assert!(
        never_served <= never_accepted,
        "{never_served} connections got no answer, but only {never_accepted} were never accepted"
    );
    let without_bye = fates
        .iter()
        .filter(|f| !f.got_bye && !f.never_served)
        .count();
    assert_eq!(without_bye, 0, "connections that ended without BYE");
    let sent: u64 = fates.iter().map(|f| f.sent).sum();
    let answered: u64 = fates.iter().map(|f| f.answered).sum();
    let read_by_server = counters.requests;
    assert!(answered > 0, "no load ran before the shutdown");
    assert_eq!(
        read_by_server, answered,
        "every request the server read must be answered before BYE"
    );
    let name = binary.name();
    let backlog = if never_served > 0 {
        format!(" ({never_served} still in the listen backlog at SIGTERM, dropped unserved)")
    } else {
        String::new()
    };
    println!(
        "RELIABILITY shutdown under load: {name}: {connections} connections pipelining ECHO{backlog}, \
         {sent} requests sent, {read_by_server} read by the server, {answered} answered, {} lost; \
         {} {:.0?} after SIGTERM",
        read_by_server - answered,
        finished.status,
        finished.took
    );
}

/// One connection: handshake, then batches of four pipelined ECHOs, each
/// answer checked in order, until `BYE` (or the connection ends).
fn pipeline_until_bye(addr: std::net::SocketAddr, id: u64) -> Fate {
    const BATCH: u64 = 4;
    let mut fate = Fate {
        sent: 0,
        answered: 0,
        got_bye: false,
        never_served: false,
    };
    // The shutdown may come before the handshake is done: that is a BYE
    // too, or, for a connection not yet accepted, no answer at all.
    let Ok(mut client) = TestClient::try_connect(addr) else {
        fate.never_served = true; // refused: the listener had closed
        return fate;
    };
    if client.send_lossy(format!("HELLO {id}\n")).is_err() {
        fate.never_served = true;
        return fate;
    }
    match client.try_line() {
        Ok(Some(line)) if line == "BYE" => {
            fate.got_bye = true;
            return fate;
        }
        Ok(Some(answer)) => assert_eq!(answer, format!("HELLO {}", id + 1)),
        Ok(None) | Err(_) => {
            fate.never_served = true;
            return fate;
        }
    }
    client.send(format!("HELLO {}\n", id + 2));
    let mut sending = true;
    loop {
        if sending {
            let batch: String = (fate.sent..fate.sent + BATCH)
                .map(|n| format!("ECHO {id}-{n}\n"))
                .collect();
            match client.send_lossy(batch) {
                Ok(()) => fate.sent += BATCH,
                Err(_) => sending = false,
            }
        }
        while fate.answered < fate.sent || !sending {
            match client.try_line() {
                Ok(Some(line)) if line == "BYE" => {
                    fate.got_bye = true;
                    return fate;
                }
                Ok(Some(line)) => {
                    assert_eq!(
                        line,
                        format!("ECHO {id}-{}", fate.answered),
                        "answers out of order"
                    );
                    fate.answered += 1;
                }
                Ok(None) | Err(_) => return fate,
            }
        }
    }
}
