//! `loadtest run`, the parent's side: plan the run, start one client
//! process per share (this same binary, `loadtest worker`), sample the
//! server when every connection is up, start the requests everywhere at
//! once, merge what the processes measured, and report.
//!
//! Even a run that fits in one process goes through a worker process: one
//! code path, and the parent stays free to sample the server and draw the
//! progress while the worker does the I/O.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context as _, bail};
use indicatif::{ProgressBar, ProgressStyle};
use serde::{Deserialize, Serialize};

use crate::affinity;
use crate::client::{Cues, Progress, Reporter, run_share};
use crate::cost::{Cpu, PerRequest, SyscallCounter};
use crate::doctor::{self, Machine};
use crate::metrics::{Interval, Measured};
use crate::plan::{Share, Split};
use crate::report::{ServerReport, ServerSamples, TesterReport};
use crate::saved::Saved;
use crate::spec::LoadSpec;
use common::procfs::{self as server_stats, ProcSample};

/// What a worker process tells the parent, one JSON object per line.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WorkerMessage {
    /// Counts so far.
    Progress(Progress),
    /// Every connection has handshaked or failed; waiting for `go`.
    Ready {
        /// Counts at that moment.
        progress: Progress,
        /// CPU the worker has used so far.
        cpu: Cpu,
    },
    /// The requests are done; the connections stay open until `close`.
    RequestsDone {
        /// CPU the worker has used so far: less what it had used when
        /// ready, the request phase's.
        cpu: Cpu,
    },
    /// A latency-over-time interval of the request phase is over.
    Interval {
        /// Which interval (0: the first).
        index: usize,
        /// What this worker measured in it.
        interval: Interval,
    },
    /// The requests are done: what was measured.
    Result {
        /// The measurements.
        measured: Box<Measured>,
        /// CPU the worker has used in all.
        cpu: Cpu,
    },
}

/// Time given to the server to settle before its memory is read.
const SETTLE: Duration = Duration::from_millis(500);

/// Runs the load described by `args`; the result makes the report
/// ([`Saved::report`]) and is what `--save` keeps.
pub fn run(args: &LoadSpec) -> anyhow::Result<Saved> {
    let machine = Machine::read();
    let findings = doctor::examine(&machine, args.target, args.connections, args.sources.len());
    for finding in findings.iter().filter(|f| f.blocking || f.fix.is_some()) {
        eprintln!("{finding}");
    }
    if findings.iter().any(|f| f.blocking) {
        bail!(
            "the run cannot reach its target as planned (see above; `loadtest doctor` checks again)"
        );
    }
    let fd_limit = common::limits::raise_fd_limit();
    let plan = Split::new(args, fd_limit, machine.port_range);

    let before = sample_server(args)?;
    let kernel_before = server_stats::kernel_slab_bytes();
    let overflows_before = server_stats::listen_overflows();
    let started = Instant::now();

    let (messages, inbox) = mpsc::channel();
    let mut workers = plan
        .shares
        .iter()
        .enumerate()
        .map(|(index, share)| {
            Worker::start(index, share, args.tester_cores.as_ref(), messages.clone())
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    drop(messages);

    let bar = progress_bar(args.connections as u64);
    let mut progress = vec![Progress::default(); workers.len()];
    let mut ready = 0;
    // CPU each worker had used when ready: what it used after that is
    // the request phase's.
    let mut cpu_when_ready = vec![Cpu::default(); workers.len()];
    while ready < workers.len() {
        let (index, message) = next_message(&inbox)?;
        match message {
            WorkerMessage::Progress(p) => progress[index] = p,
            WorkerMessage::Ready { progress: p, cpu } => {
                progress[index] = p;
                cpu_when_ready[index] = cpu;
                ready += 1;
            }
            WorkerMessage::Interval { .. }
            | WorkerMessage::RequestsDone { .. }
            | WorkerMessage::Result { .. } => {
                bail!("worker {index} measured requests before it was told to start")
            }
        }
        show_connecting(&bar, &progress);
    }
    let connect_phase = started.elapsed();
    thread::sleep(SETTLE);
    // From here on, a server that has ended is a finding, not an error.
    let mut exited_at = None;
    let loaded = sample_or_note_exit(args, &mut exited_at);
    let kernel_loaded = server_stats::kernel_slab_bytes();

    bar.set_length(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner} running {elapsed} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    // The workers start their requests `lead` after they are told to: the
    // request phase, its length and what happened in it count from then,
    // and `--start-at` names that moment, not the cue's.
    let lead = plan.start_lead();
    if let Some(at) = args.start_at {
        wait_until_wall_clock(at - lead.as_secs_f64(), &bar);
    }
    // System calls are counted from just before `go` to the last answer,
    // on each side (when perf can count them).
    let worker_pids: Vec<u32> = workers.iter().map(Worker::pid).collect();
    let mut tester_syscalls = SyscallCounter::attach(&worker_pids);
    let mut server_syscalls = SyscallCounter::attach(&args.server_pids);
    for counter in [&mut tester_syscalls, &mut server_syscalls] {
        if counter.as_mut().is_some_and(|c| !c.enable()) {
            *counter = None;
        }
    }
    let requests_start = sample_or_note_exit(args, &mut exited_at);
    let server_cpu_start = Cpu::of_processes(&args.server_pids);
    let mut thread_watch = Some(ThreadWatch::start(args.server_pids.clone()));
    let go = Instant::now() + lead;
    let started_at = unix_now() + lead.as_secs_f64();
    for worker in &mut workers {
        worker.go()?;
    }
    if let Some(stall) = args.stall {
        stall_server(args.server_pids.clone(), lead + stall.after, stall.length);
    }
    let mut measured = Measured::default();
    let mut live = LiveIntervals::new(workers.len());
    let mut done = 0;
    let mut results = 0;
    let mut duration = None;
    let mut watched = None;
    let mut requests_end = None;
    let mut server_cpu_end = None;
    let mut syscalls = (None, None);
    let mut request_cpu = Cpu::default();
    while results < workers.len() {
        let (index, message) = next_message(&inbox)?;
        match message {
            WorkerMessage::Progress(p) | WorkerMessage::Ready { progress: p, .. } => {
                progress[index] = p
            }
            WorkerMessage::Interval { index, interval } => live.add(index, &interval),
            WorkerMessage::RequestsDone { cpu } => {
                request_cpu = request_cpu.plus(&cpu.since(&cpu_when_ready[index]));
                done += 1;
                if done == workers.len() {
                    // Every connection is still open: the server's figures
                    // now are those of the request phase's end.
                    duration = Some(go.elapsed());
                    server_cpu_end = Cpu::of_processes(&args.server_pids);
                    syscalls = (
                        server_syscalls.take().and_then(SyscallCounter::finish),
                        tester_syscalls.take().and_then(SyscallCounter::finish),
                    );
                    let seen = thread_watch
                        .take()
                        .map(ThreadWatch::stop)
                        .unwrap_or_default();
                    // A server gone by now left its last reading.
                    requests_end = sample_or_note_exit(args, &mut exited_at).or(seen.last);
                    watched = Some(seen);
                    for worker in &mut workers {
                        worker.close()?;
                    }
                }
            }
            WorkerMessage::Result {
                measured: theirs, ..
            } => {
                measured.merge(&theirs);
                results += 1;
            }
        }
        show_running(&bar, &progress, go.elapsed(), &live, args.interval);
    }
    bar.finish_and_clear();
    let duration = duration.unwrap_or_else(|| go.elapsed());
    let watched = watched.unwrap_or_default();
    if measured.closed_by_server.contains_key("BYE") && exited_at.or(watched.exited_at).is_none() {
        exited_at = wait_for_exit(args);
    }
    for worker in &mut workers {
        worker.wait()?;
    }
    let tester_cpu = cpu_seconds(libc::RUSAGE_CHILDREN);

    let server = match (before, loaded, requests_start, requests_end) {
        (Some(before), Some(loaded), Some(requests_start), Some(requests_end)) => {
            let mut report = ServerReport::new(
                &ServerSamples {
                    before,
                    loaded,
                    requests_start,
                    requests_end,
                    most_seen: watched.most,
                },
                measured.handshakes_ok,
                kernel_loaded
                    .zip(kernel_before)
                    .map(|(l, b)| l.saturating_sub(b)),
            );
            if let Some((start, end)) = server_cpu_start.zip(server_cpu_end) {
                let spent = Cpu {
                    switches: report.context_switches,
                    ..end.since(&start)
                };
                report.set_cost(PerRequest::new(&spent, syscalls.0, measured.requests_ok));
            }
            Some(report)
        }
        _ => None,
    };
    let mut tester = TesterReport::new(
        workers.len(),
        tester_cpu,
        request_cpu.total_s(),
        duration,
        &measured,
        args.open_loop(),
    );
    tester.cores = args.tester_cores.clone().unwrap_or_else(affinity::allowed);
    tester.set_cost(PerRequest::new(
        &request_cpu,
        syscalls.1,
        measured.requests_ok,
    ));
    Ok(Saved {
        format: crate::saved::FORMAT.to_owned(),
        run_id: crate::saved::new_run_id(),
        spec: args.clone(),
        started_at,
        measured,
        duration_s: duration.as_secs_f64(),
        connect_phase_s: connect_phase.as_secs_f64(),
        server,
        server_exited_after_s: exited_at
            .or(watched.exited_at)
            .map(|at| at.saturating_duration_since(go).as_secs_f64()),
        tester,
        listen_overflows: overflows_before
            .zip(server_stats::listen_overflows())
            .map(|(b, a)| a.saturating_sub(b)),
    })
}

/// `--stall`: on a thread of its own, stops every server process (SIGSTOP)
/// `after` from now, and lets them go on (SIGCONT) `length` later. While
/// stopped, a server reads nothing and answers nothing: what the clients
/// see is a server that stalled.
fn stall_server(pids: Vec<u32>, after: Duration, length: Duration) {
    thread::spawn(move || {
        thread::sleep(after);
        signal_all(&pids, libc::SIGSTOP);
        thread::sleep(length);
        signal_all(&pids, libc::SIGCONT);
    });
}

fn signal_all(pids: &[u32], signal: libc::c_int) {
    for &pid in pids {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            continue;
        };
        // SAFETY: kill only reads its arguments; the pid is one the user
        // named as the server's.
        unsafe {
            libc::kill(pid, signal);
        }
    }
}

/// Seconds since the Unix epoch, now.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

/// `--start-at`: waits for a wall-clock time, so that several load hosts
/// (whose clocks agree, e.g. by NTP) begin their requests together.
fn wait_until_wall_clock(at: f64, bar: &ProgressBar) {
    let wait = at - unix_now();
    if wait <= 0.0 {
        bar.suspend(|| {
            eprintln!(
                "warning: --start-at was {:.1} s ago when every connection was ready: starting now",
                -wait
            );
        });
        return;
    }
    bar.set_message(format!("waiting {wait:.1} s for --start-at"));
    thread::sleep(Duration::from_secs_f64(wait));
}

/// The intervals the workers have finished, merged as they arrive: the
/// live line shows the last one every worker has reported.
struct LiveIntervals {
    workers: usize,
    /// Each interval so far, merged, and how many workers reported it.
    merged: Vec<(Interval, usize)>,
}

impl LiveIntervals {
    fn new(workers: usize) -> LiveIntervals {
        LiveIntervals {
            workers,
            merged: Vec::new(),
        }
    }

    fn add(&mut self, index: usize, interval: &Interval) {
        if self.merged.len() <= index {
            self.merged
                .resize_with(index + 1, || (Interval::default(), 0));
        }
        let (merged, reported) = &mut self.merged[index];
        merged.merge(interval);
        *reported += 1;
    }

    /// The last interval every worker has finished.
    fn last_complete(&self) -> Option<&Interval> {
        self.merged
            .iter()
            .rev()
            .find(|(_, reported)| *reported >= self.workers)
            .map(|(merged, _)| merged)
    }
}

/// The server said `BYE`: it is shutting down. Gives its process the
/// protocol's default grace period (and a little) to end, and says when it
/// did, counted like every other exit from the start of the requests.
fn wait_for_exit(args: &LoadSpec) -> Option<Instant> {
    let deadline = Instant::now() + Duration::from_secs(6);
    while Instant::now() < deadline {
        if sample_server(args).is_err() {
            return Some(Instant::now());
        }
        thread::sleep(Duration::from_millis(20));
    }
    None
}

/// A sample of a server that was read before: if it cannot be read now,
/// it has ended (SIGTERM under load, say), which the report says, with when.
fn sample_or_note_exit(args: &LoadSpec, exited_at: &mut Option<Instant>) -> Option<ProcSample> {
    match sample_server(args) {
        Ok(sample) => sample,
        Err(_) => {
            exited_at.get_or_insert_with(Instant::now);
            None
        }
    }
}

fn sample_server(args: &LoadSpec) -> anyhow::Result<Option<ProcSample>> {
    if args.server_pids.is_empty() {
        return Ok(None);
    }
    server_stats::sample(&args.server_pids)
        .map(Some)
        .with_context(|| {
            format!(
                "cannot read /proc/<pid>/status of --server-pid {:?}",
                args.server_pids
            )
        })
}

/// Samples the server every 100 ms while the requests run, keeping the
/// most threads and context switches seen. Threads a server starts on
/// demand (04's `spawn_blocking` pool) exist only then; and a thread takes
/// its context switches along when it exits, which a thread per connection
/// does as soon as the clients hang up, before a last sample could be read.
/// It also notices when the server's process ends.
struct ThreadWatch {
    stop: mpsc::Sender<()>,
    watched: thread::JoinHandle<Watched>,
}

/// What [`ThreadWatch`] saw.
#[derive(Debug, Clone, Copy, Default)]
struct Watched {
    /// The most threads and context switches.
    most: ProcSample,
    /// The last sample read.
    last: Option<ProcSample>,
    /// When a process could no longer be read: it had ended.
    exited_at: Option<Instant>,
}

impl ThreadWatch {
    fn start(pids: Vec<u32>) -> ThreadWatch {
        let (stop, stopped) = mpsc::channel::<()>();
        let watched = thread::spawn(move || {
            let mut watched = Watched::default();
            loop {
                if pids.is_empty() || watched.exited_at.is_some() {
                    // Nothing (more) to read.
                } else if let Some(sample) = server_stats::sample(&pids) {
                    watched.most.threads = watched.most.threads.max(sample.threads);
                    watched.most.context_switches =
                        watched.most.context_switches.max(sample.context_switches);
                    watched.last = Some(sample);
                } else {
                    watched.exited_at = Some(Instant::now());
                }
                match stopped.recv_timeout(Duration::from_millis(100)) {
                    Err(mpsc::RecvTimeoutError::Timeout) => {}
                    _ => return watched,
                }
            }
        });
        ThreadWatch { stop, watched }
    }

    /// What was seen (zeros without a server pid).
    fn stop(self) -> Watched {
        let _ = self.stop.send(());
        self.watched.join().unwrap_or_default()
    }
}

fn next_message(
    inbox: &mpsc::Receiver<(usize, WorkerMessage)>,
) -> anyhow::Result<(usize, WorkerMessage)> {
    inbox
        .recv()
        .context("a client process ended without reporting (see its error above)")
}

/// One client process.
struct Worker {
    child: Child,
    stdin: ChildStdin,
}

impl Worker {
    /// Starts `loadtest worker`, gives it its share, and forwards its
    /// messages to `messages`.
    fn start(
        index: usize,
        share: &Share,
        cores: Option<&affinity::Cores>,
        messages: mpsc::Sender<(usize, WorkerMessage)>,
    ) -> anyhow::Result<Worker> {
        let exe =
            std::env::current_exe().context("cannot find the loadtest binary to start workers")?;
        let mut command = Command::new(exe);
        command
            .arg("worker")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        if let Some(cores) = cores {
            affinity::pin(&mut command, cores);
        }
        let mut child = command.spawn().context("cannot start a client process")?;
        let mut stdin = child.stdin.take().context("worker stdin")?;
        let stdout = child.stdout.take().context("worker stdout")?;
        writeln!(stdin, "{}", serde_json::to_string(share)?)
            .context("cannot brief a client process")?;
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str(&line) {
                    Ok(message) => {
                        if messages.send((index, message)).is_err() {
                            break;
                        }
                    }
                    Err(error) => {
                        eprintln!("client process {index}: unreadable message ({error}): {line}")
                    }
                }
            }
        });
        Ok(Worker { child, stdin })
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn go(&mut self) -> anyhow::Result<()> {
        writeln!(self.stdin, "go").context("cannot start a client process's requests")
    }

    fn close(&mut self) -> anyhow::Result<()> {
        writeln!(self.stdin, "close").context("cannot end a client process's connections")
    }

    fn wait(&mut self) -> anyhow::Result<()> {
        let status = self.child.wait().context("waiting for a client process")?;
        if !status.success() {
            bail!("a client process failed ({status})");
        }
        Ok(())
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `loadtest worker`: reads its share from standard input, then runs it,
/// speaking [`WorkerMessage`]s on standard output.
pub fn worker_main() -> anyhow::Result<()> {
    let mut input = BufReader::new(std::io::stdin());
    let mut brief = String::new();
    input
        .read_line(&mut brief)
        .context("no share on standard input")?;
    let share: Share = serde_json::from_str(&brief).context("unreadable share")?;
    common::limits::raise_fd_limit();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the runtime")?;
    // The parent's two cues, "go" then "close", one line each. Reading
    // stdin blocks: a thread of its own does it.
    let (go_told, go) = tokio::sync::oneshot::channel::<()>();
    let (close_told, close) = tokio::sync::oneshot::channel::<()>();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = input.read_line(&mut line);
        let _ = go_told.send(());
        line.clear();
        let _ = input.read_line(&mut line);
        let _ = close_told.send(());
    });
    let cues = Cues {
        go: async move {
            let _ = go.await;
        },
        close: async move {
            let _ = close.await;
        },
    };
    let measured = runtime.block_on(run_share(share, ToParent, cues));
    say(&WorkerMessage::Result {
        measured: Box::new(measured),
        cpu: Cpu::of_this_process(),
    });
    Ok(())
}

/// A worker reports to its parent on standard output, a JSON line each.
struct ToParent;

impl Reporter for ToParent {
    fn progress(&self, progress: Progress) {
        say(&WorkerMessage::Progress(progress));
    }

    fn ready(&self, progress: Progress) {
        say(&WorkerMessage::Ready {
            progress,
            cpu: Cpu::of_this_process(),
        });
    }

    fn interval(&self, index: usize, interval: &Interval) {
        say(&WorkerMessage::Interval {
            index,
            interval: interval.clone(),
        });
    }

    fn requests_done(&self) {
        say(&WorkerMessage::RequestsDone {
            cpu: Cpu::of_this_process(),
        });
    }
}

fn say(message: &WorkerMessage) {
    if let Ok(line) = serde_json::to_string(message) {
        println!("{line}");
    }
}

fn progress_bar(connections: u64) -> ProgressBar {
    let bar = ProgressBar::new(connections);
    bar.set_style(
        ProgressStyle::with_template("{spinner} connecting [{bar:30}] {pos}/{len} settled {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

fn show_connecting(bar: &ProgressBar, progress: &[Progress]) {
    let total = sum(progress);
    bar.set_position(total.settled);
    bar.set_message(format!(
        "({} handshaked, {} failed)",
        total.handshaked, total.failures
    ));
}

/// The live line: the rate and p99 of the last interval every worker has
/// finished (a stall shows at once), and the failures so far.
fn show_running(
    bar: &ProgressBar,
    progress: &[Progress],
    elapsed: Duration,
    live: &LiveIntervals,
    length: Duration,
) {
    let total = sum(progress);
    let message = match live.last_complete() {
        Some(last) => format!(
            "{} requests; last {:.0?}: {:.0}/s, p99 {} µs; {} failures",
            total.requests,
            length,
            last.requests_ok as f64 / length.as_secs_f64().max(1e-3),
            last.latency.summary().p99,
            total.failures
        ),
        None => format!(
            "{} requests ({:.0}/s), {} failures",
            total.requests,
            total.requests as f64 / elapsed.as_secs_f64().max(1e-3),
            total.failures
        ),
    };
    bar.set_message(message);
}

fn sum(progress: &[Progress]) -> Progress {
    progress.iter().fold(Progress::default(), |mut total, p| {
        total.handshaked += p.handshaked;
        total.settled += p.settled;
        total.requests += p.requests;
        total.failures += p.failures;
        total
    })
}

/// CPU time (user + system) of this process (`RUSAGE_SELF`) or of its
/// children that have exited (`RUSAGE_CHILDREN`).
fn cpu_seconds(who: libc::c_int) -> f64 {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a rusage into the pointer it is given, which
    // points to zeroed memory of the right type and size.
    let usage = unsafe {
        if libc::getrusage(who, usage.as_mut_ptr()) != 0 {
            return 0.0;
        }
        usage.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
