//! The server's side of a run, read from `/proc`: its memory, threads and
//! context switches, the kernel's memory for sockets and listen-queue
//! overflows.
//!
//! The figure this repository leads with, memory per connection, is the
//! server's RSS growth divided by the connections added. What the kernel
//! allocates for each socket (the TCP socket itself, its inode, its open
//! file, its dentry, its epoll entry) is in no process's RSS, so it is
//! measured beside it from `/proc/slabinfo` (`kernel_slab_bytes`), not
//! hidden.

use std::fs;

use serde::{Deserialize, Serialize};

/// One reading of a server (several processes summed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProcSample {
    /// Resident memory now (`VmRSS`).
    pub rss_bytes: u64,
    /// The most resident memory so far (`VmHWM`).
    pub peak_rss_bytes: u64,
    /// Address space (`VmSize`): reserved, not necessarily touched.
    pub vm_bytes: u64,
    /// Threads (`Threads`).
    pub threads: u64,
    /// Voluntary plus involuntary context switches since start, of every
    /// thread alive now (a thread that has exited takes its count along).
    pub context_switches: u64,
    /// Processes read.
    pub processes: u64,
}

/// Reads and sums `/proc/<pid>/status` of each process; `None` if one of
/// them cannot be read (it exited, or is not ours to read).
pub fn sample(pids: &[u32]) -> Option<ProcSample> {
    let mut total = ProcSample::default();
    for &pid in pids {
        let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let one = parse_status(&status)?;
        total.rss_bytes += one.rss_bytes;
        total.peak_rss_bytes += one.peak_rss_bytes;
        total.vm_bytes += one.vm_bytes;
        total.threads += one.threads;
        total.context_switches += thread_context_switches(pid).unwrap_or(one.context_switches);
        total.processes += 1;
    }
    Some(total)
}

/// Context switches of every thread of `pid`, from
/// `/proc/<pid>/task/*/status`: the process's own status counts only its
/// first thread's, which for a thread-per-connection server is nearly none.
fn thread_context_switches(pid: u32) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    for task in tasks.flatten() {
        // A thread may exit between the listing and the read: skip it.
        let Ok(status) = fs::read_to_string(task.path().join("status")) else {
            continue;
        };
        total += parse_context_switches(&status).unwrap_or(0);
    }
    Some(total)
}

/// One field of a `/proc` status file, as a number.
fn status_field(status: &str, name: &str) -> Option<u64> {
    let line = status.lines().find(|line| line.starts_with(name))?;
    line[name.len()..].split_whitespace().next()?.parse().ok()
}

fn parse_context_switches(status: &str) -> Option<u64> {
    Some(
        status_field(status, "voluntary_ctxt_switches:")?
            + status_field(status, "nonvoluntary_ctxt_switches:")?,
    )
}

/// Parses the fields of `/proc/<pid>/status` a report needs.
pub fn parse_status(status: &str) -> Option<ProcSample> {
    let field = |name: &str| status_field(status, name);
    Some(ProcSample {
        rss_bytes: field("VmRSS:")? * 1024,
        peak_rss_bytes: field("VmHWM:")? * 1024,
        vm_bytes: field("VmSize:")? * 1024,
        threads: field("Threads:")?,
        context_switches: parse_context_switches(status)?,
        processes: 1,
    })
}

/// The kernel's slab caches that grow with each open TCP connection. An
/// idle connection holds no packet buffers, so these are its whole kernel
/// cost: the socket (`TCP`, `TCPv6`), its inode (`sock_inode_cache`), the
/// open file (`filp`) and its name (`dentry`), and, for a process that
/// waits with epoll, its registration (`eventpoll_epi`, `eventpoll_pwq`).
pub const SOCKET_SLABS: [&str; 7] = [
    "TCP",
    "TCPv6",
    "sock_inode_cache",
    "filp",
    "dentry",
    "eventpoll_epi",
    "eventpoll_pwq",
];

/// Memory in the [`SOCKET_SLABS`], whole machine (every process, both
/// ends of every loopback connection), counted as the pages their slabs
/// take. `None` where `/proc/slabinfo` cannot be read (it needs root).
pub fn kernel_slab_bytes() -> Option<u64> {
    let slabinfo = fs::read_to_string("/proc/slabinfo").ok()?;
    parse_slab_pages(&slabinfo, &SOCKET_SLABS).map(|pages| pages * page_size())
}

/// Sums the pages of the named caches: `<num_slabs> × <pagesperslab>`
/// (columns 14 and 5 of slabinfo 2.1). Pages rather than objects: a
/// half-empty slab still holds its pages.
fn parse_slab_pages(slabinfo: &str, caches: &[&str]) -> Option<u64> {
    let mut pages = 0;
    let mut found = false;
    for line in slabinfo.lines() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        if columns.first().is_none_or(|name| !caches.contains(name)) {
            continue;
        }
        let pages_per_slab: u64 = columns.get(5)?.parse().ok()?;
        let slabs: u64 = columns.get(14)?.parse().ok()?;
        pages += slabs * pages_per_slab;
        found = true;
    }
    found.then_some(pages)
}

/// Connections dropped because a listen queue was full, since boot
/// (`ListenOverflows` in `/proc/net/netstat`).
pub fn listen_overflows() -> Option<u64> {
    let netstat = fs::read_to_string("/proc/net/netstat").ok()?;
    parse_netstat(&netstat, "TcpExt:", "ListenOverflows")
}

/// `/proc/net/netstat` holds pairs of lines: names, then values.
fn parse_netstat(netstat: &str, prefix: &str, name: &str) -> Option<u64> {
    let mut lines = netstat.lines().filter(|line| line.starts_with(prefix));
    let names = lines.next()?;
    let values = lines.next()?;
    let column = names.split_whitespace().position(|n| n == name)?;
    values.split_whitespace().nth(column)?.parse().ok()
}

fn page_size() -> u64 {
    // SAFETY: sysconf only reads its argument.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    u64::try_from(size).unwrap_or(4096)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_our_own_status() {
        let me = sample(&[std::process::id()]).unwrap();
        assert!(me.rss_bytes > 0 && me.peak_rss_bytes >= me.rss_bytes);
        assert!(me.threads >= 1);
        assert_eq!(me.processes, 1);
        assert_eq!(
            sample(&[std::process::id(), std::process::id()])
                .unwrap()
                .processes,
            2
        );
    }

    #[test]
    fn context_switches_count_every_thread() {
        let (slept, told) = std::sync::mpsc::channel();
        let (finish, finished) = std::sync::mpsc::channel::<()>();
        let sleeper = std::thread::spawn(move || {
            for _ in 0..200 {
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            slept.send(()).unwrap();
            let _ = finished.recv();
        });
        told.recv().unwrap();
        let first_thread_only = parse_status(&fs::read_to_string("/proc/self/status").unwrap())
            .unwrap()
            .context_switches;
        let every_thread = sample(&[std::process::id()]).unwrap().context_switches;
        finish.send(()).unwrap();
        sleeper.join().unwrap();
        assert!(
            every_thread >= first_thread_only + 200,
            "{every_thread} < {first_thread_only} + the sleeper's 200"
        );
    }

    #[test]
    fn parses_status_slabinfo_and_netstat() {
        let status = "Name:\tx\nVmSize:\t 9000 kB\nVmHWM:\t  200 kB\nVmRSS:\t  150 kB\nThreads:\t3\n\
                      voluntary_ctxt_switches:\t10\nnonvoluntary_ctxt_switches:\t5\n";
        assert_eq!(
            parse_status(status),
            Some(ProcSample {
                rss_bytes: 150 * 1024,
                peak_rss_bytes: 200 * 1024,
                vm_bytes: 9000 * 1024,
                threads: 3,
                context_switches: 15,
                processes: 1
            })
        );
        let slabinfo = "slabinfo - version: 2.1\n\
            # name <active_objs> <num_objs> <objsize> <objperslab> <pagesperslab> : tunables <limit> <batchcount> <sharedfactor> : slabdata <active_slabs> <num_slabs> <sharedavail>\n\
            TCP 65 117 2368 13 8 : tunables 0 0 0 : slabdata 9 9 0\n\
            TCPv6 26 26 2496 13 8 : tunables 0 0 0 : slabdata 2 2 0\n\
            filp 357 357 192 21 1 : tunables 0 0 0 : slabdata 17 18 0\n";
        assert_eq!(
            parse_slab_pages(slabinfo, &["TCP", "filp"]),
            Some(9 * 8 + 18)
        );
        assert_eq!(parse_slab_pages(slabinfo, &["dentry"]), None);
        let netstat = "TcpExt: SyncookiesSent ListenOverflows ListenDrops\nTcpExt: 0 12 14\n";
        assert_eq!(
            parse_netstat(netstat, "TcpExt:", "ListenOverflows"),
            Some(12)
        );
        assert!(listen_overflows().is_some());
    }
}
