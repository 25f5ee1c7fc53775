//! A server binary run as a child process.
//!
//! Signals, the exit status and the final counters line belong to the
//! process, not to `run`, so they are tested on the real binary (Cargo
//! builds it for integration tests and names it in `CARGO_BIN_EXE_<name>`).
//! A server that is not a Rust binary of this workspace (the Go and Node
//! peers) is a program with leading arguments: a [`Launcher`].

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::net::{SocketAddr, TcpListener};
use std::path::PathBuf;
use std::process::{Child, ChildStderr, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How to start a server: a program and the arguments that come before the
/// flags (`node server.js`), or a binary alone (`From<&str>`).
#[derive(Debug, Clone)]
pub struct Launcher {
    /// The program.
    pub program: PathBuf,
    /// Arguments before the flags.
    pub leading: Vec<OsString>,
}

impl From<&str> for Launcher {
    fn from(binary: &str) -> Launcher {
        Launcher {
            program: binary.into(),
            leading: Vec::new(),
        }
    }
}

impl From<&Launcher> for Launcher {
    fn from(launcher: &Launcher) -> Launcher {
        launcher.clone()
    }
}

impl From<std::process::Command> for Launcher {
    /// The program and arguments of a command (the registry builds them).
    fn from(command: std::process::Command) -> Launcher {
        Launcher {
            program: command.get_program().into(),
            leading: command.get_args().map(OsString::from).collect(),
        }
    }
}

impl Launcher {
    /// A command that starts the server; the caller adds the flags.
    pub fn command(&self) -> Command {
        let mut command = Command::new(&self.program);
        command.args(&self.leading);
        command
    }

    /// A short name for messages: the script or the binary's file name.
    pub fn name(&self) -> String {
        let named = self
            .leading
            .last()
            .map_or(self.program.as_os_str(), |a| a.as_os_str());
        PathBuf::from(named).file_name().map_or_else(
            || self.program.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    }
}

/// A running server process, killed if the test ends without stopping it.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    /// Standard error, collected by a thread (so the pipe never fills).
    stderr: Option<thread::JoinHandle<String>>,
}

/// What a finished server process left behind.
#[derive(Debug)]
pub struct Finished {
    /// How it exited.
    pub status: ExitStatus,
    /// Everything it printed on standard output.
    pub stdout: String,
    /// Everything it printed on standard error (the logs).
    pub stderr: String,
    /// Time from the signal to the exit.
    pub took: Duration,
}

impl ServerProcess {
    /// Starts `binary --addr 127.0.0.1:<free port> <args>` and waits until
    /// it accepts connections.
    pub fn start(launcher: impl Into<Launcher>, args: &[&str]) -> ServerProcess {
        ServerProcess::start_on(&launcher.into(), free_port(), args)
    }

    /// Starts the server on `addr` with `args` and waits until it accepts
    /// connections.
    pub fn start_on(launcher: &Launcher, addr: SocketAddr, args: &[&str]) -> ServerProcess {
        let child = launcher
            .command()
            .arg("--addr")
            .arg(addr.to_string())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server binary");
        let mut server = ServerProcess {
            child,
            addr,
            stderr: None,
        };
        server.wait_until_listening();
        server
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Sends a signal (`libc::SIGTERM`, `libc::SIGINT`).
    pub fn signal(&self, signal: libc::c_int) {
        let pid = libc::pid_t::try_from(self.child.id()).expect("pid fits pid_t");
        // SAFETY: kill only reads its arguments; the child is ours and not
        // yet reaped, so the pid still names it.
        let sent = unsafe { libc::kill(pid, signal) };
        assert_eq!(sent, 0, "kill({pid}, {signal}) failed");
    }

    /// Whether the process has exited, waiting at most `limit`.
    pub fn exited_within(&mut self, limit: Duration) -> Option<ExitStatus> {
        let until = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= until {
                return None;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Sends `signal` and waits (at most `limit`) for the process to exit.
    pub fn stop_with(mut self, signal: libc::c_int, limit: Duration) -> Finished {
        let sent_at = Instant::now();
        self.signal(signal);
        let status = loop {
            if let Some(status) = self.child.try_wait().expect("wait for the server") {
                break status;
            }
            assert!(
                sent_at.elapsed() < limit,
                "the server did not exit within {limit:?} of the signal"
            );
            thread::sleep(Duration::from_millis(10));
        };
        let took = sent_at.elapsed();
        let mut stdout = String::new();
        if let Some(mut out) = self.child.stdout.take() {
            out.read_to_string(&mut stdout).expect("read stdout");
        }
        let stderr = self
            .stderr
            .take()
            .map(|reader| reader.join().expect("stderr reader"))
            .unwrap_or_default();
        Finished {
            status,
            stdout,
            stderr,
            took,
        }
    }

    /// Waits for the startup line on standard error. (Probing with a
    /// connection would show up in the server's counters.)
    fn wait_until_listening(&mut self) {
        let stderr = self.child.stderr.take().expect("stderr is piped");
        let (listening, seen) = mpsc::channel();
        self.stderr = Some(thread::spawn(move || collect_stderr(stderr, listening)));
        if seen.recv_timeout(Duration::from_secs(20)).is_err() {
            let _ = self.child.kill();
            let logs = self.stderr.take().map(|r| r.join().unwrap_or_default());
            panic!("the server never said it was listening: {logs:?}");
        }
    }
}

/// Reads standard error to the end, reporting the startup line when seen.
fn collect_stderr(stderr: ChildStderr, listening: mpsc::Sender<()>) -> String {
    let mut all = String::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        if line.contains("listening") {
            let _ = listening.send(());
        }
        all.push_str(&line);
        all.push('\n');
    }
    all
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Finished {
    /// The last line on standard output.
    pub fn last_line(&self) -> &str {
        self.stdout.lines().last().unwrap_or("")
    }
}

/// A loopback port nobody listens on right now (bind port 0, let it go).
pub fn free_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    listener.local_addr().expect("local address")
}
