//! Where and when results were measured: the machine, the date and the
//! commit. Every table the suite writes carries this stamp, so a figure in
//! the book can always be traced to the run that produced it.

use std::fs;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The machine, date and commit of a run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    /// CPU model name.
    pub cpu: String,
    /// Cores the OS offers.
    pub cores: usize,
    /// Kernel release.
    pub kernel: String,
    /// Open-file limit per process.
    pub fd_limit: u64,
    /// `net.ipv4.ip_local_port_range`.
    pub port_range: String,
    /// UTC date and time, `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// `git rev-parse --short HEAD`, with `+dirty` if the tree had changes.
    pub commit: String,
}

impl Stamp {
    /// Reads the stamp of this machine, now.
    pub fn read(fd_limit: u64) -> Stamp {
        let machine = fingerprint::Machine::here();
        Stamp {
            cpu: machine.cpu,
            cores: machine.cores,
            kernel: read_trimmed("/proc/sys/kernel/osrelease"),
            fd_limit,
            port_range: read_trimmed("/proc/sys/net/ipv4/ip_local_port_range").replace('\t', "-"),
            date: utc_now(),
            commit: commit(),
        }
    }

    /// The machine, as fingerprints compare it.
    pub fn machine(&self) -> fingerprint::Machine {
        fingerprint::Machine {
            cpu: self.cpu.clone(),
            cores: self.cores,
        }
    }

    /// The stamp as a Markdown table.
    pub fn to_markdown(&self) -> String {
        format!(
            "| | |\n|---|---|\n| CPU | {} |\n| cores | {} (client and server share them) |\n\
             | kernel | {} |\n| open-file limit | {} per process |\n| ephemeral ports | {} |\n\
             | measured | {} |\n| commit | `{}` |\n",
            self.cpu,
            self.cores,
            self.kernel,
            self.fd_limit,
            self.port_range,
            self.date,
            self.commit
        )
    }
}

fn read_trimmed(path: &str) -> String {
    fs::read_to_string(path).map_or_else(|_| "unknown".into(), |s| s.trim().to_owned())
}

fn commit() -> String {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let Some(head) = git(&["rev-parse", "--short", "HEAD"]) else {
        return "unknown".into();
    };
    // The commit is for the reader; what was measured is the run's
    // fingerprint. `+dirty` says the tree had uncommitted changes.
    let dirty =
        git(&["status", "--porcelain", "--untracked-files=no"]).is_some_and(|s| !s.is_empty());
    if dirty { format!("{head}+dirty") } else { head }
}

/// Now, as `YYYY-MM-DD HH:MM UTC`.
fn utc_now() -> String {
    let seconds = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (year, month, day) = civil_from_days((seconds / 86_400) as i64);
    let minutes = seconds % 86_400 / 60;
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        minutes / 60,
        minutes % 60
    )
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_days_to_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(20_414), (2025, 11, 22));
    }

    #[test]
    fn reads_this_machine() {
        let stamp = Stamp::read(20_000);
        assert!(stamp.cores >= 1);
        assert!(stamp.date.ends_with("UTC"));
        assert!(
            stamp
                .to_markdown()
                .contains("| open-file limit | 20000 per process |")
        );
    }
}
