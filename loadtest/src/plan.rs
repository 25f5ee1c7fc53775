//! Splitting a run over client processes and source addresses.
//!
//! Two limits stand between one machine and 100k connections to one port:
//!
//! - **Open files.** Every connection is a descriptor, and a process may
//!   hold at most its open-file limit (20000 on the machines this repository
//!   is measured on, and the hard limit cannot be raised there). So the
//!   tester runs as several processes, each under the limit.
//! - **Ephemeral ports.** A TCP connection is named by (source address,
//!   source port, destination address, destination port). To one server
//!   port from one source address there are only as many connections as
//!   ephemeral ports (about 28k by default). But the whole 127.0.0.0/8 is
//!   loopback: binding each socket to 127.0.0.2, 127.0.0.3, … before
//!   connecting multiplies that. `IP_BIND_ADDRESS_NO_PORT` tells the kernel
//!   not to pick the port at `bind` (where it would have to be unique for
//!   the address alone) but at `connect`, where the whole 4-tuple counts.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::spec::Mix;
use crate::spec::{Length, LoadSpec};

/// Descriptors a client process keeps for itself.
pub const FD_RESERVE: u64 = 64;

/// Most client processes one run starts (`--processes` and the open-file
/// limit's split alike): 20 million connections at this machine's limit.
pub const MAX_PROCESSES: usize = 1024;

/// Connections planned per source address: a third of the ephemeral range.
///
/// The kernel picks a free port at `connect` by probing the range from a
/// random start; the fuller the range, the more probes, all in system CPU
/// on the cores the server needs. Measured here: 100k connections over four
/// addresses (88% full) took 45 s and 75 s of system CPU, with handshakes
/// timing out; a third full costs little, and loopback addresses are free.
pub fn usable_ports(port_range: (u16, u16)) -> usize {
    let size = usize::from(port_range.1.saturating_sub(port_range.0)) + 1;
    size / 3
}

/// The request side of the load, the same for every process.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Requests {
    /// Request kinds and their weights.
    pub mix: Mix,
    /// Bytes of ECHO text.
    pub payload: usize,
    /// Units per WORK.
    pub work_units: u64,
    /// Milliseconds per SLEEP.
    pub sleep_ms: u64,
    /// How long requests are sent (ignored with `requests_per_connection`).
    pub duration: Duration,
    /// Requests per connection, instead of a duration.
    pub requests_per_connection: Option<u64>,
    /// Open loop: requests per second *per connection*.
    pub rate_per_connection: Option<f64>,
    /// Longest wait for a connect, a handshake or an answer.
    pub timeout: Duration,
    /// Requests in flight per connection at most.
    pub pipeline: usize,
    /// Length of the latency-over-time intervals.
    pub interval: Duration,
    /// How long after `go` the first requests are due ([`start_lead`]).
    pub start_lead: Duration,
}

/// The time between `go` and the first due request, for `connections`.
///
/// At `go` every connection task that sends wakes and sleeps until the
/// start (in an open loop, until its first request is due): about a
/// microsecond of CPU each (seen here: a million tasks woken at once kept
/// the tester's processes on both cores for about a second, the cores the
/// server needs too). Started at once, the run's first requests would wait
/// behind that, and their latency would be the tester's. So the requests
/// start a microsecond per connection after `go`, at least 10 ms and at
/// most a second.
pub fn start_lead(connections: usize) -> Duration {
    Duration::from_micros(connections as u64)
        .clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// What one client process does.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Share {
    /// The server.
    pub target: SocketAddr,
    /// Index of this process's first connection among all of them.
    pub first: usize,
    /// How many connections this process opens.
    pub connections: usize,
    /// How many connections all processes open together.
    pub total_connections: usize,
    /// This process's share of `--connect-rate`.
    pub connect_rate: f64,
    /// Source addresses, used in turn by connection index; empty: let the
    /// kernel choose.
    pub sources: Vec<IpAddr>,
    /// The requests.
    pub load: Requests,
}

/// The whole run's division of labour.
#[derive(Debug, Clone)]
pub struct Split {
    /// One share per process.
    pub shares: Vec<Share>,
    /// Source addresses in use.
    pub sources: Vec<IpAddr>,
    /// Connections one process can hold under its open-file limit.
    pub per_process_limit: usize,
}

impl Split {
    /// How long after `go` the requests start (the same in every share).
    pub fn start_lead(&self) -> Duration {
        self.shares
            .first()
            .map_or(Duration::ZERO, |share| share.load.start_lead)
    }

    /// Divides `args.connections` over processes and source addresses.
    pub fn new(args: &LoadSpec, fd_limit: u64, port_range: (u16, u16)) -> Split {
        let per_process_limit =
            usize::try_from(fd_limit.saturating_sub(FD_RESERVE).max(1)).unwrap_or(usize::MAX);
        let needed = args.connections.div_ceil(per_process_limit).max(1);
        let processes = needed.max(args.processes).min(args.connections.max(1));
        let sources = if !args.sources.is_empty() {
            args.sources.clone()
        } else if args.target.ip().is_loopback() {
            source_addresses(args.target.ip(), args.connections, usable_ports(port_range))
        } else {
            // Another host: the kernel picks this machine's address on the
            // route there (`--source` spreads over several).
            Vec::new()
        };
        let load = Requests {
            mix: args.mix,
            payload: args.payload,
            work_units: args.work_units,
            sleep_ms: args.sleep_ms,
            duration: match args.length {
                Length::Duration(duration) => duration,
                Length::RequestsPerConnection(_) => Duration::ZERO,
            },
            requests_per_connection: match args.length {
                Length::RequestsPerConnection(requests) => Some(requests),
                Length::Duration(_) => None,
            },
            rate_per_connection: args.rate.map(|rate| rate / args.connections.max(1) as f64),
            timeout: args.timeout,
            pipeline: args.pipeline.max(1),
            interval: args.interval,
            start_lead: start_lead(args.connections),
        };
        let base = args.connections / processes;
        let extra = args.connections % processes;
        let mut first = 0;
        let shares = (0..processes)
            .map(|i| {
                let connections = base + usize::from(i < extra);
                let share = Share {
                    target: args.target,
                    first,
                    connections,
                    total_connections: args.connections,
                    connect_rate: args.connect_rate / processes as f64,
                    sources: sources.clone(),
                    load: load.clone(),
                };
                first += connections;
                share
            })
            .collect();
        Split {
            shares,
            sources,
            per_process_limit,
        }
    }
}

/// The loopback source addresses for `connections` to one server port on
/// loopback:
/// none (the kernel picks 127.0.0.1) when one address has ports enough,
/// else 127.0.0.1, 127.0.0.2, … as many as needed. IPv6 has one loopback
/// address, `::1`, and so one address's worth of ports.
pub fn source_addresses(
    target: IpAddr,
    connections: usize,
    ports_per_source: usize,
) -> Vec<IpAddr> {
    let needed = connections.div_ceil(ports_per_source.max(1));
    if needed <= 1 || target.is_ipv6() {
        return Vec::new();
    }
    (1..=needed.min(250))
        .map(|host| IpAddr::V4(Ipv4Addr::new(127, 0, 0, host as u8)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        run: crate::args::RunArgs,
    }

    fn args(extra: &[&str]) -> LoadSpec {
        let mut argv = vec!["loadtest", "--target", "127.0.0.1:7803"];
        argv.extend_from_slice(extra);
        Cli::try_parse_from(argv).unwrap().run.spec()
    }

    #[test]
    fn one_process_and_no_source_binding_for_small_runs() {
        let plan = Split::new(&args(&["-c", "9000"]), 20_000, (32768, 60999));
        assert_eq!(plan.shares.len(), 1);
        assert!(plan.sources.is_empty());
        assert_eq!(plan.shares[0].connections, 9000);
    }

    #[test]
    fn a_hundred_thousand_connections_need_six_processes_and_eleven_addresses() {
        let plan = Split::new(
            &args(&["-c", "100000", "--rate", "20000"]),
            20_000,
            (32768, 60999),
        );
        assert_eq!(plan.shares.len(), 6, "19936 per process");
        assert_eq!(plan.sources.len(), 11, "9410 connections per address");
        let total: usize = plan.shares.iter().map(|s| s.connections).sum();
        assert_eq!(total, 100_000);
        assert!(
            plan.shares
                .iter()
                .all(|s| s.connections <= plan.per_process_limit)
        );
        let last = plan.shares.last().unwrap();
        assert_eq!(last.first + last.connections, 100_000);
        let per_connection = plan.shares[0].load.rate_per_connection.unwrap();
        assert!((per_connection - 0.2).abs() < 1e-9);
    }

    #[test]
    fn the_requests_start_a_microsecond_per_connection_after_go() {
        assert_eq!(start_lead(64), Duration::from_millis(10));
        assert_eq!(start_lead(100_000), Duration::from_millis(100));
        assert_eq!(start_lead(1_000_000), Duration::from_secs(1));
        assert_eq!(start_lead(20_000_000), Duration::from_secs(1));
        let plan = Split::new(&args(&["-c", "100000"]), 20_000, (32768, 60999));
        assert!(
            plan.shares
                .iter()
                .all(|s| s.load.start_lead == plan.start_lead())
        );
    }

    #[test]
    fn more_processes_can_be_asked_for() {
        let plan = Split::new(
            &args(&["-c", "10", "--processes", "3"]),
            20_000,
            (32768, 60999),
        );
        let sizes: Vec<usize> = plan.shares.iter().map(|s| s.connections).collect();
        assert_eq!(sizes, vec![4, 3, 3]);
    }
}
