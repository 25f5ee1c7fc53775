//! `loadtest doctor`: what stands between this machine and N connections,
//! and how to fix it, before a run fails with a wall of connect errors.

use std::fmt;
use std::fs;
use std::net::SocketAddr;

use nix::sys::resource::{Resource, getrlimit};

use crate::plan::{FD_RESERVE, MAX_PROCESSES, source_addresses, usable_ports};

/// Memory one loopback connection costs the machine, both ends, as planned
/// here: the kernel's two sockets (a million connections grew the socket
/// slabs by 4.7 GiB here, about 4.9 KB a connection), the tester's state and
/// a lean server's (a few hundred bytes each), rounded up.
const BYTES_PER_CONNECTION: u64 = 8 * 1024;

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// What was checked.
    pub topic: &'static str,
    /// Whether it stands in the way of the run.
    pub blocking: bool,
    /// What was found.
    pub detail: String,
    /// How to fix it, when something needs fixing.
    pub fix: Option<String>,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mark = if self.blocking { "PROBLEM" } else { "ok" };
        write!(f, "{mark:>7}  {:<16} {}", self.topic, self.detail)?;
        if let Some(fix) = &self.fix {
            write!(f, "\n{:>7}  {:<16} fix: {fix}", "", "")?;
        }
        Ok(())
    }
}

/// What the doctor reads from the machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Machine {
    /// Open-file limit (soft, hard).
    pub fd_limit: (u64, u64),
    /// `net.ipv4.ip_local_port_range`.
    pub port_range: (u16, u16),
    /// `net.core.somaxconn`.
    pub somaxconn: Option<u64>,
    /// `MemAvailable` in `/proc/meminfo`, in bytes.
    pub memory_available: Option<u64>,
}

impl Machine {
    /// Reads the machine's limits.
    pub fn read() -> Machine {
        Machine {
            fd_limit: getrlimit(Resource::RLIMIT_NOFILE).unwrap_or((1024, 1024)),
            port_range: read_port_range().unwrap_or((32768, 60999)),
            somaxconn: read_number("/proc/sys/net/core/somaxconn"),
            memory_available: read_memory_available(),
        }
    }
}

/// Checks a run of `connections` to `target` from `sources` (`--source`;
/// empty: the defaults).
pub fn examine(
    machine: &Machine,
    target: SocketAddr,
    connections: usize,
    sources: usize,
) -> Vec<Finding> {
    let mut findings = vec![check_target(target)];
    findings.push(check_files(machine, connections));
    findings.push(check_ports(machine, target, connections, sources));
    if target.ip().is_loopback() {
        // Both ends' memory is this machine's only when both run here.
        findings.push(check_memory(machine, connections));
    }
    if target.ip().is_loopback() {
        // The server's listen backlog is only this machine's to check when
        // the server runs here.
        findings.push(check_backlog(machine, connections));
    }
    findings
}

fn check_target(target: SocketAddr) -> Finding {
    if target.ip().is_loopback() {
        return Finding {
            topic: "target",
            blocking: false,
            detail: format!(
                "{target} is on loopback: client and server share this machine's cores"
            ),
            fix: None,
        };
    }
    match route_source(target) {
        Ok(source) => Finding {
            topic: "target",
            blocking: false,
            detail: format!(
                "{target} is another host, reached from this machine's {source} (the route's source)"
            ),
            fix: None,
        },
        Err(error) => Finding {
            topic: "target",
            blocking: true,
            detail: format!("no route from this machine to {target}: {error}"),
            fix: Some("check the address, and the network between the hosts".to_owned()),
        },
    }
}

/// The local address the kernel's routing table picks for `target`: a UDP
/// socket's `connect` chooses it without sending anything.
pub fn route_source(target: SocketAddr) -> std::io::Result<std::net::IpAddr> {
    let any: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = std::net::UdpSocket::bind(any)?;
    socket.connect(target)?;
    Ok(socket.local_addr()?.ip())
}

fn check_files(machine: &Machine, connections: usize) -> Finding {
    let (soft, hard) = machine.fd_limit;
    let per_process = hard.saturating_sub(FD_RESERVE).max(1);
    let processes = (connections as u64).div_ceil(per_process).max(1);
    let mut detail =
        format!("open-file limit {soft} (hard {hard}): {per_process} connections per process");
    let blocking = processes > MAX_PROCESSES as u64;
    if blocking {
        detail.push_str(&format!(
            "; {connections} connections would take {processes} client processes, over the \
             tester's {MAX_PROCESSES}"
        ));
    } else if processes > 1 {
        detail.push_str(&format!(
            "; {connections} connections take {processes} client processes (done automatically), \
             and a server with the same limit needs {processes} processes on one port (--reuse-port)"
        ));
    }
    Finding {
        topic: "open files",
        blocking,
        detail,
        fix: (hard < 65536 && processes > 1).then(|| {
            "where allowed, raise the hard limit (ulimit -Hn, /etc/security/limits.conf, or LimitNOFILE= in systemd)".to_owned()
        }),
    }
}

/// Whether both ends of every connection fit in the memory available.
fn check_memory(machine: &Machine, connections: usize) -> Finding {
    let needed = (connections as u64).saturating_mul(BYTES_PER_CONNECTION);
    let gib = |bytes: u64| bytes as f64 / f64::from(1u32 << 30);
    let Some(available) = machine.memory_available else {
        return Finding {
            topic: "memory",
            blocking: false,
            detail: format!(
                "about {:.1} GiB for both ends (MemAvailable unreadable)",
                gib(needed)
            ),
            fix: None,
        };
    };
    let blocking = needed > available;
    Finding {
        topic: "memory",
        blocking,
        detail: format!(
            "about {:.1} GiB for both ends of {connections} connections (kernel sockets, tester, \
             a lean server); {:.1} GiB available",
            gib(needed),
            gib(available)
        ),
        fix: blocking.then(|| {
            format!(
                "plan at most {} connections on this machine",
                available / BYTES_PER_CONNECTION
            )
        }),
    }
}

fn check_ports(
    machine: &Machine,
    target: SocketAddr,
    connections: usize,
    given_sources: usize,
) -> Finding {
    let (low, high) = machine.port_range;
    let per_source = usable_ports(machine.port_range);
    let loopback_v4 = target.ip().is_loopback() && target.is_ipv4();
    // Without --source, a loopback target spreads over 127.0.0.x and any
    // other target is reached from one address.
    let (sources, most_sources) = if given_sources > 0 {
        (given_sources, given_sources)
    } else if loopback_v4 {
        let needed = source_addresses(target.ip(), connections, per_source).len();
        (needed.max(1), 250)
    } else {
        (1, 1)
    };
    let capacity = per_source * most_sources;
    let blocking = connections > capacity;
    Finding {
        topic: "ephemeral ports",
        blocking,
        detail: format!(
            "range {low}-{high}: about {per_source} connections per source address to one port; \
             {connections} connections use {sources} source address(es)"
        ),
        fix: blocking.then(|| {
            if target.ip().is_loopback() && target.is_ipv6() {
                "IPv6 loopback has one address: target 127.0.0.1 instead".to_owned()
            } else if !target.ip().is_loopback() {
                format!(
                    "connect from more of this machine's addresses (--source ADDR,ADDR,…: {} \
                     or more), or widen the range: sysctl -w net.ipv4.ip_local_port_range=\"1024 65000\"",
                    connections.div_ceil(per_source.max(1))
                )
            } else {
                "widen the range: sysctl -w net.ipv4.ip_local_port_range=\"1024 65000\"".to_owned()
            }
        }),
    }
}

fn check_backlog(machine: &Machine, connections: usize) -> Finding {
    let Some(somaxconn) = machine.somaxconn else {
        return Finding {
            topic: "listen backlog",
            blocking: false,
            detail: "net.core.somaxconn unreadable".into(),
            fix: None,
        };
    };
    let short = somaxconn < 1024 && connections > somaxconn as usize;
    Finding {
        topic: "listen backlog",
        blocking: false,
        detail: format!(
            "net.core.somaxconn = {somaxconn}: a burst of connects beyond it waits for SYN retries (1 s, 3 s, …)"
        ),
        fix: short.then(|| "sysctl -w net.core.somaxconn=4096, or lower --connect-rate".to_owned()),
    }
}

fn read_port_range() -> Option<(u16, u16)> {
    let text = fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range").ok()?;
    let mut numbers = text.split_whitespace().map(str::parse::<u16>);
    Some((numbers.next()?.ok()?, numbers.next()?.ok()?))
}

fn read_memory_available() -> Option<u64> {
    let text = fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn read_number(path: &str) -> Option<u64> {
    fs::read_to_string(path).ok()?.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn machine() -> Machine {
        Machine {
            fd_limit: (20_000, 20_000),
            port_range: (32768, 60999),
            somaxconn: Some(4096),
            memory_available: Some(20 << 30),
        }
    }

    #[test]
    fn a_plan_the_machine_cannot_hold_is_a_problem_before_anything_starts() {
        let findings = examine(
            &machine(),
            "127.0.0.1:7803".parse().unwrap(),
            99_999_999_999,
            0,
        );
        for topic in ["open files", "memory", "ephemeral ports"] {
            let finding = findings.iter().find(|f| f.topic == topic).unwrap();
            assert!(finding.blocking, "{finding}");
        }
        let memory = check_memory(&machine(), 99_999_999_999);
        assert!(memory.fix.unwrap().contains("at most 2621440 connections"));
        assert!(!check_memory(&machine(), 1_000_000).blocking);
    }

    #[test]
    fn a_hundred_thousand_on_loopback_is_possible_with_help() {
        let findings = examine(&machine(), "127.0.0.1:7803".parse().unwrap(), 100_000, 0);
        assert!(findings.iter().all(|f| !f.blocking), "{findings:?}");
        let files = findings.iter().find(|f| f.topic == "open files").unwrap();
        assert!(
            files.detail.contains("6 client processes"),
            "{}",
            files.detail
        );
        let ports = findings
            .iter()
            .find(|f| f.topic == "ephemeral ports")
            .unwrap();
        assert!(
            ports.detail.contains("11 source address"),
            "{}",
            ports.detail
        );
    }

    #[test]
    fn names_what_stands_in_the_way() {
        let six = examine(&machine(), "[::1]:7803".parse().unwrap(), 100_000, 0);
        let ports = six.iter().find(|f| f.topic == "ephemeral ports").unwrap();
        assert!(ports.blocking && ports.fix.as_deref().unwrap().contains("127.0.0.1"));
        let small = Machine {
            somaxconn: Some(128),
            ..machine()
        };
        let backlog = examine(&small, "127.0.0.1:1".parse().unwrap(), 10_000, 0);
        assert!(
            backlog
                .iter()
                .any(|f| f.topic == "listen backlog" && f.fix.is_some())
        );
    }

    #[test]
    fn a_remote_target_needs_source_addresses_for_many_connections() {
        let remote: SocketAddr = "192.0.2.10:7803".parse().unwrap();
        let ports = |sources| check_ports(&machine(), remote, 100_000, sources);
        let one = ports(0);
        assert!(one.blocking, "{one:?}");
        assert!(one.fix.as_deref().unwrap().contains("--source"), "{one:?}");
        assert!(
            one.fix.as_deref().unwrap().contains("11 or more"),
            "{one:?}"
        );
        assert!(!ports(11).blocking);
        assert!(!check_ports(&machine(), remote, 9000, 0).blocking);
    }

    #[test]
    fn the_route_names_the_source_address() {
        let source = route_source("127.0.0.1:9".parse().unwrap()).unwrap();
        assert!(source.is_loopback(), "{source}");
    }
}
