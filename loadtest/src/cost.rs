//! What the request phase cost each side, per request: CPU in user space
//! and in the kernel, system calls and context switches.
//!
//! Throughput on a shared machine mixes the server's cost with the
//! tester's and with the scheduler's; the cost of one request does not
//! depend on who won a core. CPU and context switches come from the
//! kernel's own accounting (`/proc/PID/stat`, `getrusage`), always.
//! System calls have no such counter: they are counted with `perf stat`
//! on the `raw_syscalls:sys_enter` tracepoint when `perf` is installed and
//! allowed, and are absent otherwise (the report says `null`).

use std::fs::{self, File, OpenOptions};
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// CPU time and context switches of some processes, at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cpu {
    /// Seconds in user space.
    pub user_s: f64,
    /// Seconds in the kernel.
    pub kernel_s: f64,
    /// Context switches, voluntary and not.
    pub switches: u64,
}

impl Cpu {
    /// What was spent between `earlier` and `self`.
    pub fn since(&self, earlier: &Cpu) -> Cpu {
        Cpu {
            user_s: (self.user_s - earlier.user_s).max(0.0),
            kernel_s: (self.kernel_s - earlier.kernel_s).max(0.0),
            switches: self.switches.saturating_sub(earlier.switches),
        }
    }

    /// The two added up.
    pub fn plus(&self, other: &Cpu) -> Cpu {
        Cpu {
            user_s: self.user_s + other.user_s,
            kernel_s: self.kernel_s + other.kernel_s,
            switches: self.switches + other.switches,
        }
    }

    /// User and kernel time together.
    pub fn total_s(&self) -> f64 {
        self.user_s + self.kernel_s
    }

    /// This process so far (`getrusage(RUSAGE_SELF)`): every thread of it.
    pub fn of_this_process() -> Cpu {
        let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
        // SAFETY: getrusage writes a rusage into the pointer it is given,
        // which points to zeroed memory of the right type and size.
        let usage = unsafe {
            if libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) != 0 {
                return Cpu::default();
            }
            usage.assume_init()
        };
        let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
        Cpu {
            user_s: seconds(usage.ru_utime),
            kernel_s: seconds(usage.ru_stime),
            switches: (usage.ru_nvcsw + usage.ru_nivcsw).max(0) as u64,
        }
    }

    /// CPU of processes `pids`, from `/proc/PID/stat` (every thread,
    /// those that have exited included); `None` if one cannot be read.
    /// Context switches are not in `stat`: the caller has them from
    /// `/proc/PID/task/*/status`.
    pub fn of_processes(pids: &[u32]) -> Option<Cpu> {
        let ticks = clock_ticks_per_second();
        let mut total = Cpu::default();
        for pid in pids {
            let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            let (user, kernel) = parse_stat_times(&stat)?;
            total.user_s += user as f64 / ticks;
            total.kernel_s += kernel as f64 / ticks;
        }
        Some(total)
    }
}

/// `utime` and `stime` (fields 14 and 15) of a `/proc/PID/stat` line, in
/// clock ticks. The command name (field 2) may hold spaces and
/// parentheses, so the fields are counted from its closing parenthesis.
fn parse_stat_times(stat: &str) -> Option<(u64, u64)> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    // fields[0] is field 3 (the state): utime is field 14.
    Some((fields.get(11)?.parse().ok()?, fields.get(12)?.parse().ok()?))
}

fn clock_ticks_per_second() -> f64 {
    // SAFETY: sysconf only reads a configuration value.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 { ticks as f64 } else { 100.0 }
}

/// What one request cost one side, on average over the request phase.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerRequest {
    /// CPU in user space (µs).
    pub user_cpu_us: f64,
    /// CPU in the kernel (µs).
    pub kernel_cpu_us: f64,
    /// System calls; `None` where `perf` could not count them.
    pub syscalls: Option<f64>,
    /// Context switches.
    pub context_switches: f64,
}

impl PerRequest {
    /// `spent` over `requests`; `None` when nothing was answered.
    pub fn new(spent: &Cpu, syscalls: Option<u64>, requests: u64) -> Option<PerRequest> {
        let n = (requests > 0).then_some(requests as f64)?;
        Some(PerRequest {
            user_cpu_us: spent.user_s * 1e6 / n,
            kernel_cpu_us: spent.kernel_s * 1e6 / n,
            syscalls: syscalls.map(|count| count as f64 / n),
            context_switches: spent.switches as f64 / n,
        })
    }
}

/// A `perf stat` attached to some processes, counting their system calls
/// only while enabled (`--control`: it starts disabled, and `enable` and
/// `disable` are written to a FIFO it reads, each acknowledged on another).
#[derive(Debug)]
pub struct SyscallCounter {
    perf: Child,
    control: File,
    acks: mpsc::Receiver<String>,
    folder: PathBuf,
    output: thread::JoinHandle<String>,
}

/// How long `perf` may take to attach or to answer a command.
const PERF_ANSWER: Duration = Duration::from_secs(3);
/// The tracepoint that fires on every system call's entry.
const SYSCALL_EVENT: &str = "raw_syscalls:sys_enter";

impl SyscallCounter {
    /// Attaches `perf stat` to `pids` (and every thread they start),
    /// counting nothing yet; `None` if `perf` is missing or not allowed,
    /// or `LOADTEST_PERF=0` says not to use it.
    pub fn attach(pids: &[u32]) -> Option<SyscallCounter> {
        if pids.is_empty() || std::env::var("LOADTEST_PERF").is_ok_and(|v| v == "0") {
            return None;
        }
        let folder = fifo_folder()?;
        let (control_path, ack_path) = (folder.join("control"), folder.join("ack"));
        let pid_list: Vec<String> = pids.iter().map(u32::to_string).collect();
        let spawned = Command::new("perf")
            .args(["stat", "-x", ",", "--delay", "-1", "--control"])
            .arg(format!(
                "fifo:{},{}",
                control_path.display(),
                ack_path.display()
            ))
            .args(["-e", SYSCALL_EVENT, "-p", &pid_list.join(",")])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let Ok(mut perf) = spawned else {
            let _ = fs::remove_dir_all(&folder);
            return None;
        };
        let mut stderr = perf.stderr.take()?;
        let output = thread::spawn(move || {
            let mut text = String::new();
            let _ = stderr.read_to_string(&mut text);
            text
        });
        // Opened for reading and writing, a FIFO opens at once whether or
        // not perf has opened its end yet.
        let open = |path: &PathBuf| OpenOptions::new().read(true).write(true).open(path);
        let (Ok(control), Ok(ack)) = (open(&control_path), open(&ack_path)) else {
            let _ = perf.kill();
            return None;
        };
        let (ack_tx, acks) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(ack).lines().map_while(Result::ok) {
                if ack_tx.send(line).is_err() {
                    break;
                }
            }
        });
        Some(SyscallCounter {
            perf,
            control,
            acks,
            folder,
            output,
        })
    }

    /// Starts counting; false if perf did not acknowledge (it could not
    /// attach): then [`SyscallCounter::finish`] gives `None`.
    pub fn enable(&mut self) -> bool {
        self.command("enable")
    }

    fn command(&mut self, what: &str) -> bool {
        writeln!(self.control, "{what}").is_ok() && self.acks.recv_timeout(PERF_ANSWER).is_ok()
    }

    /// Stops counting and returns the count, or `None` if perf could not
    /// count.
    pub fn finish(mut self) -> Option<u64> {
        let disabled = self.command("disable");
        // SAFETY: kill sends a signal to the perf process we started.
        unsafe {
            libc::kill(self.perf.id() as libc::pid_t, libc::SIGINT);
        }
        let _ = self.perf.wait();
        let _ = fs::remove_dir_all(&self.folder);
        let text = self.output.join().unwrap_or_default();
        disabled
            .then(|| parse_count(&text, SYSCALL_EVENT))
            .flatten()
    }
}

/// A fresh folder for the two FIFOs.
fn fifo_folder() -> Option<PathBuf> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let folder = std::env::temp_dir().join(format!(
        "loadtest-perf-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ));
    fs::create_dir_all(&folder).ok()?;
    for name in ["control", "ack"] {
        let path = std::ffi::CString::new(folder.join(name).to_str()?).ok()?;
        // SAFETY: mkfifo reads a NUL-terminated path we own.
        if unsafe { libc::mkfifo(path.as_ptr(), 0o600) } != 0 {
            let _ = fs::remove_dir_all(&folder);
            return None;
        }
    }
    Some(folder)
}

/// The count of `event` in `perf stat -x,` output (`COUNT,,EVENT,…`);
/// `<not counted>` is zero.
fn parse_count(output: &str, event: &str) -> Option<u64> {
    output.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(',').collect();
        if fields.get(2) != Some(&event) {
            return None;
        }
        Some(fields[0].trim().parse().unwrap_or(0))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_times_are_read_after_the_name() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 731 219 0 0 20 0 1";
        assert_eq!(parse_stat_times(stat), Some((731, 219)));
        assert_eq!(parse_stat_times("42 (short) S 1"), None);
    }

    #[test]
    fn perf_counts_are_read_from_its_csv() {
        let output = "Events enabled\n472871,,raw_syscalls:sys_enter,217406962,100.00,,\n";
        assert_eq!(parse_count(output, SYSCALL_EVENT), Some(472_871));
        let none = "<not counted>,,raw_syscalls:sys_enter,0,100.00,,\n";
        assert_eq!(parse_count(none, SYSCALL_EVENT), Some(0));
        assert_eq!(parse_count("perf: not found", SYSCALL_EVENT), None);
    }

    #[test]
    fn this_process_cpu_grows_with_work() {
        let before = Cpu::of_this_process();
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        let spent = Cpu::of_this_process().since(&before);
        assert!(spent.user_s > 0.0, "{spent:?} after {x}");
        let per = PerRequest::new(&spent, Some(10), 5).unwrap();
        assert_eq!(per.syscalls, Some(2.0));
        assert!(PerRequest::new(&spent, None, 0).is_none());
    }
}
