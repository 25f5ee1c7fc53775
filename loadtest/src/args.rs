//! `loadtest run`'s flags, turned into a [`LoadSpec`], and the `--mix`
//! parser.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;

use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser as _;
use common::parse_duration;

use crate::affinity::Cores;
use crate::spec::{self, Length, LoadSpec, Mix, Stall};

/// `loadtest run`: open N connections, handshake, send requests, measure.
#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// The server to load: IP:PORT, or HOST:PORT (the host is looked up
    /// once). On loopback the connections spread over 127.0.0.x by
    /// themselves; for another host, see --source
    #[arg(long, value_name = "HOST:PORT", value_parser = parse_target)]
    pub target: SocketAddr,

    /// Connections to open and keep open for the whole run
    #[arg(long, short = 'c', value_name = "N", default_value_t = 64)]
    pub connections: usize,

    /// New connections per second while ramping up
    #[arg(long, value_name = "PER_SECOND", default_value_t = spec::DEFAULT_CONNECT_RATE)]
    pub connect_rate: f64,

    /// How long to send requests once every connection is up
    #[arg(long, short = 'd', value_name = "DURATION", default_value = "10s",
          value_parser = parse_duration, conflicts_with = "requests_per_connection")]
    pub duration: Duration,

    /// Send this many requests on each connection instead of running for
    /// --duration
    #[arg(long, value_name = "M")]
    pub requests_per_connection: Option<u64>,

    /// Request mix in percent, e.g. echo=90,work=10 (kinds: echo, work, sleep)
    #[arg(long, value_name = "KIND=WEIGHT,...", default_value = "echo=100")]
    pub mix: Mix,

    /// Bytes of text in each ECHO request
    #[arg(long, value_name = "BYTES", default_value_t = spec::DEFAULT_PAYLOAD)]
    pub payload: usize,

    /// Units of each WORK request (about 1 µs each)
    #[arg(long, value_name = "UNITS", default_value_t = spec::DEFAULT_WORK_UNITS)]
    pub work_units: u64,

    /// Milliseconds of each SLEEP request
    #[arg(long, value_name = "MS", default_value_t = spec::DEFAULT_SLEEP_MS)]
    pub sleep_ms: u64,

    /// Open loop: send this many requests per second in total, on schedule,
    /// whether or not answers have come back (default: closed loop, each
    /// connection sends its next request when the answer arrives)
    #[arg(long, value_name = "RPS")]
    pub rate: Option<f64>,

    /// Keep up to N requests in flight per connection: the due ones go out
    /// in one write, the answers are matched in order (1: send, wait, send)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u32).range(1..=4096).map(|n| n as usize))]
    pub pipeline: usize,

    /// Connect from these local addresses, in turn (e.g. several addresses
    /// of this machine, when one has too few ports for the connections to
    /// a remote server)
    #[arg(long = "source", value_name = "ADDR,...", value_delimiter = ',')]
    pub sources: Vec<IpAddr>,

    /// Start the requests at this wall-clock time, in seconds since the Unix
    /// epoch (e.g. $(date -d '+30 sec' +%s)), so that several load hosts
    /// begin together; their results combine with `loadtest merge`
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub start_at: Option<f64>,

    /// Stop the server (SIGSTOP to every --server-pid) AFTER into the
    /// requests, for LENGTH, then let it go on (SIGCONT): a stall, to see
    /// what open and closed loop make of it (e.g. 2s+1s)
    #[arg(long, value_name = "AFTER+LENGTH", value_parser = parse_stall, requires = "server_pids")]
    pub stall: Option<Stall>,

    /// Length of each interval of the latency-over-time figures (--json's
    /// `intervals`, --hlog)
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = parse_interval)]
    pub interval: Duration,

    /// Also write the whole result, exact histograms included, to FILE, for
    /// `loadtest merge`
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,

    /// Also write the request latencies, interval by interval, as an
    /// HdrHistogram interval log (the format HdrHistogram's tools read)
    #[arg(long, value_name = "FILE")]
    pub hlog: Option<PathBuf>,

    /// Longest wait for a connect, a handshake or an answer before it counts
    /// as a timeout
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_duration)]
    pub timeout: Duration,

    /// The server's process id, to sample its memory, threads and context
    /// switches (repeat it for a server run as several processes)
    #[arg(long = "server-pid", value_name = "PID")]
    pub server_pids: Vec<u32>,

    /// At least this many client processes (more are used when one
    /// process's open-file limit is below --connections)
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub processes: usize,

    /// Name of the server model, copied into the report
    #[arg(long, value_name = "NAME")]
    pub model: Option<String>,

    /// Run the client processes only on these CPUs (e.g. 0, or 0-1): with
    /// the server pinned to others (`taskset -c 1 …`), the kernel's
    /// scheduler no longer decides which side gets a core
    #[arg(long, value_name = "CPUS")]
    pub tester_cores: Option<Cores>,

    /// Print the result as one JSON object on standard output (the table
    /// goes to standard error)
    #[arg(long)]
    pub json: bool,
}

impl RunArgs {
    /// The run these flags describe.
    pub fn spec(&self) -> LoadSpec {
        LoadSpec {
            target: self.target,
            connections: self.connections,
            connect_rate: self.connect_rate,
            length: match self.requests_per_connection {
                Some(requests) => Length::RequestsPerConnection(requests),
                None => Length::Duration(self.duration),
            },
            mix: self.mix,
            payload: self.payload,
            work_units: self.work_units,
            sleep_ms: self.sleep_ms,
            rate: self.rate,
            pipeline: self.pipeline,
            timeout: self.timeout,
            sources: self.sources.clone(),
            start_at: self.start_at,
            interval: self.interval,
            stall: self.stall,
            server_pids: self.server_pids.clone(),
            processes: self.processes,
            model: self.model.clone(),
            tester_cores: self.tester_cores.clone(),
        }
    }
}

/// `--target`: an address, or a host name and port the user named (looked
/// up once, here; nothing else is ever resolved).
pub fn parse_target(text: &str) -> Result<SocketAddr, String> {
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    if text
        .rsplit_once(':')
        .is_none_or(|(_, port)| port.parse::<u16>().is_err())
    {
        return Err(format!("{text:?} is not HOST:PORT (e.g. 127.0.0.1:7803)"));
    }
    text.to_socket_addrs()
        .map_err(|error| format!("cannot look up {text:?}: {error}"))?
        .next()
        .ok_or_else(|| format!("{text:?} has no address"))
}

/// `--stall 2s+1s`: when, then for how long.
fn parse_stall(text: &str) -> Result<Stall, String> {
    let (after, length) = text
        .split_once('+')
        .ok_or_else(|| format!("{text:?} is not AFTER+LENGTH (e.g. 2s+1s)"))?;
    let duration = |part: &str| common::parse_duration(part).map_err(|error| error.to_string());
    Ok(Stall {
        after: duration(after)?,
        length: duration(length)?,
    })
}

/// `--interval`: a duration of at least 10 ms.
fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = common::parse_duration(text).map_err(|error| error.to_string())?;
    if interval < Duration::from_millis(10) {
        return Err("the interval must be at least 10ms".into());
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::Kind;

    #[test]
    fn mix_parses_and_picks_by_weight() {
        let mix: Mix = "echo=90,work=10".parse().unwrap();
        assert_eq!(
            mix,
            Mix {
                echo: 90,
                work: 10,
                sleep: 0
            }
        );
        assert_eq!(mix.pick(0), Kind::Echo);
        assert_eq!(mix.pick(89), Kind::Echo);
        assert_eq!(mix.pick(90), Kind::Work);
        assert!(!mix.includes(Kind::Sleep));
        let sleepy: Mix = "sleep=1".parse().unwrap();
        assert_eq!(sleepy.pick(0), Kind::Sleep);
    }

    #[test]
    fn targets_are_addresses_or_named_hosts() {
        assert_eq!(
            parse_target("127.0.0.1:7803"),
            Ok(SocketAddr::from(([127, 0, 0, 1], 7803)))
        );
        assert_eq!(parse_target("[::1]:80").unwrap().port(), 80);
        assert!(parse_target("localhost:7803").unwrap().ip().is_loopback());
        for bad in ["127.0.0.1", "localhost", "host:port", ":", "10.0.0.1:99999"] {
            let error = parse_target(bad).unwrap_err();
            assert!(error.contains("HOST:PORT"), "{bad}: {error}");
        }
    }

    #[test]
    fn a_stall_is_when_and_how_long() {
        assert_eq!(
            parse_stall("2s+1s"),
            Ok(Stall {
                after: Duration::from_secs(2),
                length: Duration::from_secs(1)
            })
        );
        assert!(parse_stall("2s").unwrap_err().contains("AFTER+LENGTH"));
        assert!(parse_stall("2s+soon").unwrap_err().contains("soon"));
    }

    #[test]
    fn bad_mixes_say_why() {
        for (text, reason) in [
            ("echo", "KIND=WEIGHT"),
            ("echo=x", "whole number"),
            ("write=5", "unknown kind"),
            ("echo=0", "zero"),
        ] {
            let error = text.parse::<Mix>().unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }
}
