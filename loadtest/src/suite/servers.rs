//! Starting and stopping the servers for the suite: one process, or several
//! on one port with `--reuse-port`. The registry says how each is started.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use registry::Server;

use crate::affinity::Cores;

/// Longest wait for a server to say it is listening.
const START_LIMIT: Duration = Duration::from_secs(20);

/// One or more processes of one server binary, listening on one port.
#[derive(Debug)]
pub struct ServerGroup {
    processes: Vec<Child>,
    logs: Vec<thread::JoinHandle<String>>,
}

/// How a server group ended.
#[derive(Debug, Clone)]
pub struct Stopped {
    /// Whether every process exited with status 0.
    pub all_exited_zero: bool,
    /// Each process's exit status.
    pub statuses: Vec<String>,
    /// Each process's last line on standard output (the final counters).
    pub final_lines: Vec<String>,
    /// The longest time from SIGTERM to exit.
    pub slowest_exit: Duration,
}

impl ServerGroup {
    /// Starts `processes` copies of `server` with `args` (which must give
    /// `--addr`, and `--reuse-port` when there are several), and waits until
    /// each has logged its startup line. `target` is Cargo's target folder,
    /// `root` the repository's.
    pub fn start(
        server: &Server,
        (target, root): (&Path, &Path),
        args: &[String],
        processes: usize,
        cores: Option<&Cores>,
    ) -> anyhow::Result<ServerGroup> {
        let mut group = ServerGroup {
            processes: Vec::new(),
            logs: Vec::new(),
        };
        for _ in 0..processes {
            let mut command = server.command(target, root)?;
            command
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            if let Some(cores) = cores {
                crate::affinity::pin(&mut command, cores);
            }
            let mut child = command
                .spawn()
                .with_context(|| format!("cannot start {}", server.name))?;
            let stderr = child.stderr.take().context("server stderr")?;
            let (listening, seen) = mpsc::channel();
            group.logs.push(thread::spawn(move || {
                let mut all = String::new();
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if line.contains("listening") {
                        let _ = listening.send(());
                    }
                    all.push_str(&line);
                    all.push('\n');
                }
                all
            }));
            group.processes.push(child);
            if seen.recv_timeout(START_LIMIT).is_err() {
                let logs = group
                    .logs
                    .pop()
                    .map(|l| l.join().unwrap_or_default())
                    .unwrap_or_default();
                bail!("{} did not start listening: {logs}", server.name);
            }
        }
        Ok(group)
    }

    /// The process ids, for `--server-pid`.
    pub fn pids(&self) -> Vec<u32> {
        self.processes.iter().map(Child::id).collect()
    }

    /// Sends SIGTERM to every process and waits (at most `limit`) for each
    /// to exit.
    pub fn stop(mut self, limit: Duration) -> anyhow::Result<Stopped> {
        let sent = Instant::now();
        for child in &self.processes {
            let pid = libc::pid_t::try_from(child.id()).context("pid")?;
            // SAFETY: kill only reads its arguments; the child is ours and
            // has not been reaped, so the pid still names it.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let mut statuses = Vec::new();
        let mut final_lines = Vec::new();
        let mut all_exited_zero = true;
        for child in &mut self.processes {
            let status = wait_until(child, sent + limit)?;
            all_exited_zero &= status.is_some_and(|s| s.success());
            statuses.push(status.map_or("still running: killed".to_owned(), |s| s.to_string()));
            let mut stdout = String::new();
            if let Some(mut out) = child.stdout.take() {
                let _ = out.read_to_string(&mut stdout);
            }
            final_lines.push(stdout.lines().last().unwrap_or_default().to_owned());
        }
        for log in self.logs.drain(..) {
            let _ = log.join();
        }
        Ok(Stopped {
            all_exited_zero,
            statuses,
            final_lines,
            slowest_exit: sent.elapsed(),
        })
    }
}

/// Waits for a child until `deadline`; kills it if it is still running.
fn wait_until(child: &mut Child, deadline: Instant) -> anyhow::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait().context("waiting for a server")? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

impl Drop for ServerGroup {
    fn drop(&mut self) {
        for child in &mut self.processes {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}
