//! Which cores a process may run on: pinning the tester to some cores and
//! the server to others.
//!
//! On a machine where the tester and the server share two cores, the
//! kernel's scheduler decides, moment by moment, which of them gets a core;
//! a throughput figure then measures who won as much as what the server
//! costs. Pinning each side to its own core (`sched_setaffinity`, inherited
//! by every thread the process starts) takes that decision away: the
//! server gets one core and the tester the other. A server that sizes
//! itself by its cores sees only its own (`available_parallelism` reads
//! the same mask), so 03 runs one worker and 05 one loop when pinned.

use std::fmt;
use std::process::Command;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A set of CPU numbers, written `0`, `0,2` or `0-3`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Cores(pub Vec<usize>);

impl FromStr for Cores {
    type Err = String;

    fn from_str(text: &str) -> Result<Cores, String> {
        let mut cores = Vec::new();
        for part in text.split(',').map(str::trim) {
            let number = |s: &str| {
                s.trim()
                    .parse::<usize>()
                    .map_err(|_| format!("{s:?} is not a CPU number (write 0, 0,1 or 0-3)"))
            };
            match part.split_once('-') {
                Some((from, to)) => {
                    let (from, to) = (number(from)?, number(to)?);
                    if from > to {
                        return Err(format!("{part:?}: the range runs backwards"));
                    }
                    cores.extend(from..=to);
                }
                None => cores.push(number(part)?),
            }
        }
        if let Some(&too_high) = cores.iter().find(|&&c| c >= libc::CPU_SETSIZE as usize) {
            return Err(format!("CPU {too_high} is beyond what a CPU set can hold"));
        }
        cores.sort_unstable();
        cores.dedup();
        Ok(Cores(cores))
    }
}

impl fmt::Display for Cores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = self.0.iter().map(usize::to_string).collect();
        write!(f, "{}", names.join(","))
    }
}

/// The cores each side of a measurement runs on: `--cores SERVER:TESTER`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pinning {
    /// The server's processes (all their threads).
    pub server: Cores,
    /// The tester's client processes.
    pub tester: Cores,
}

impl FromStr for Pinning {
    type Err = String;

    fn from_str(text: &str) -> Result<Pinning, String> {
        let (server, tester) = text
            .split_once(':')
            .ok_or_else(|| format!("{text:?}: write SERVER:TESTER, e.g. 1:0"))?;
        let pinning = Pinning {
            server: server.parse()?,
            tester: tester.parse()?,
        };
        let present = allowed();
        for core in pinning.server.0.iter().chain(&pinning.tester.0) {
            if !present.0.contains(core) {
                return Err(format!(
                    "CPU {core} is not one this process may use (it may use {present})"
                ));
            }
        }
        Ok(pinning)
    }
}

impl fmt::Display for Pinning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.server, self.tester)
    }
}

impl Pinning {
    /// One core each, when there are at least two: the server on the
    /// second core, the tester on the first. `None` on one core.
    pub fn one_core_each() -> Option<Pinning> {
        let cores = allowed().0;
        let (&tester, &server) = (cores.first()?, cores.get(1)?);
        Some(Pinning {
            server: Cores(vec![server]),
            tester: Cores(vec![tester]),
        })
    }
}

/// The cores this process may run on.
pub fn allowed() -> Cores {
    // SAFETY: a zeroed cpu_set_t is an empty set; sched_getaffinity fills
    // it for this process (pid 0) and is given its exact size.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) != 0 {
            return Cores(vec![0]);
        }
        set
    };
    Cores(
        (0..libc::CPU_SETSIZE as usize)
            // SAFETY: CPU_ISSET reads one bit of a set we own, in range.
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect(),
    )
}

/// Makes `command`'s process run only on `cores`, from its first
/// instruction: the mask is set between fork and exec, so every thread
/// it ever starts inherits it.
pub fn pin(command: &mut Command, cores: &Cores) {
    use std::os::unix::process::CommandExt as _;
    // SAFETY: zeroing a cpu_set_t and setting bits in it are plain memory
    // writes to a value we own.
    let set = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        for &cpu in &cores.0 {
            libc::CPU_SET(cpu, &mut set);
        }
        set
    };
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: sched_setaffinity is a bare
    // system call on a set copied into the closure, and nothing allocates.
    unsafe {
        command.pre_exec(move || {
            if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_are_read_as_lists_and_ranges() {
        assert_eq!("0".parse::<Cores>(), Ok(Cores(vec![0])));
        assert_eq!("3,1-2,1".parse::<Cores>(), Ok(Cores(vec![1, 2, 3])));
        assert!("2-1".parse::<Cores>().is_err());
        assert!("one".parse::<Cores>().is_err());
        assert!("99999".parse::<Cores>().is_err());
        assert!(
            "0".parse::<Pinning>()
                .unwrap_err()
                .contains("SERVER:TESTER")
        );
        let beyond = format!("{}:0", allowed().0.last().unwrap() + 1);
        assert!(beyond.parse::<Pinning>().unwrap_err().contains("may use"));
    }

    #[test]
    fn a_pinned_child_sees_only_its_cores() {
        let first = allowed().0[0];
        let mut command = Command::new("grep");
        command.args(["Cpus_allowed_list", "/proc/self/status"]);
        pin(&mut command, &Cores(vec![first]));
        let output = command.output().unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        assert_eq!(
            text.split_whitespace().last(),
            Some(first.to_string().as_str()),
            "{text}"
        );
    }
}
