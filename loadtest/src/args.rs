//! `loadtest run`'s flags, turned into a [`LoadSpec`], and the `--mix`
//! parser.

use std::net::{IpAddr, SocketAddr, ToSocketAddrs as _};
use std::path::PathBuf;

use std::time::Duration;

use clap::Args;
use clap::builder::TypedValueParser as _;
use common::parse_duration;

use crate::metrics::Kind;

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
    #[arg(long, short = 'c', value_name = "N", default_value_t = 64,
          value_parser = parse_count.map(|n| n as usize))]
    pub connections: usize,

    /// New connections per second while ramping up
    #[arg(long, value_name = "PER_SECOND", default_value_t = spec::DEFAULT_CONNECT_RATE,
          value_parser = parse_rate)]
    pub connect_rate: f64,

    /// How long to send requests once every connection is up
    #[arg(long, short = 'd', value_name = "DURATION", default_value = "10s",
          value_parser = parse_positive_duration, conflicts_with = "requests_per_connection")]
    pub duration: Duration,

    /// Send this many requests on each connection instead of running for
    /// --duration
    #[arg(long, value_name = "M", value_parser = parse_count)]
    pub requests_per_connection: Option<u64>,

    /// Request mix in percent, e.g. echo=90,work=10 (kinds: echo, work,
    /// sleep; each named once, adding up to 100)
    #[arg(long, value_name = "KIND=WEIGHT,...", default_value = "echo=100")]
    pub mix: Mix,

    /// Bytes of text in each ECHO request (the line must fit the
    /// protocol's 4096 bytes: at most 4090)
    #[arg(long, value_name = "BYTES", default_value_t = spec::DEFAULT_PAYLOAD)]
    pub payload: usize,

    /// Units of each WORK request (about 1 µs each; at most the protocol's
    /// default --max-work, 1000000)
    #[arg(long, value_name = "UNITS", default_value_t = spec::DEFAULT_WORK_UNITS)]
    pub work_units: u64,

    /// Milliseconds of each SLEEP request (at most the protocol's default
    /// --max-sleep, 1000)
    #[arg(long, value_name = "MS", default_value_t = spec::DEFAULT_SLEEP_MS)]
    pub sleep_ms: u64,

    /// Open loop: send this many requests per second in total, on schedule,
    /// whether or not answers have come back (default: closed loop, each
    /// connection sends its next request when the answer arrives)
    #[arg(long, value_name = "RPS", value_parser = parse_rate)]
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
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = parse_positive_duration)]
    pub timeout: Duration,

    /// The server's process id, to sample its memory, threads and context
    /// switches (repeat it for a server run as several processes)
    #[arg(long = "server-pid", value_name = "PID")]
    pub server_pids: Vec<u32>,

    /// At least this many client processes (more are used when one
    /// process's open-file limit is below --connections)
    #[arg(long, value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=crate::plan::MAX_PROCESSES as u64).map(|n| n as usize))]
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

    /// Send WORK, SLEEP and ECHO sizes beyond the protocol's default limits
    /// anyway (to a server started with larger --max-work, --max-sleep or
    /// --max-line, or to see its ERR answers on purpose)
    #[arg(long)]
    pub allow_invalid: bool,

    /// Exit 0 even when fewer connections handshake than --connections
    /// asks for (a run past the server's --max-connections, where `ERR
    /// busy` is the expected answer)
    #[arg(long)]
    pub allow_partial: bool,
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

/// What is wrong with the request sizes, measured against the protocol's
/// default limits, for the kinds the mix sends; `None`: nothing.
///
/// A value over a limit is answered `ERR …` by every server started with its
/// defaults, and a WORK that large costs the tester seconds of CPU to
/// compute its expected digest before the first connection: refused here,
/// before anything starts, unless `--allow-invalid` asks for it.
pub fn beyond_protocol_limits(args: &RunArgs) -> Option<String> {
    if args.allow_invalid {
        return None;
    }
    let echo_line = "ECHO \n".len() + args.payload;
    let mut problems = Vec::new();
    if args.mix.includes(Kind::Echo) && echo_line > protocol::DEFAULT_MAX_LINE {
        problems.push(format!(
            "--payload {} makes a {echo_line}-byte ECHO line, over the protocol's --max-line of {} \
             (at most {})",
            args.payload,
            protocol::DEFAULT_MAX_LINE,
            protocol::DEFAULT_MAX_LINE - "ECHO \n".len()
        ));
    }
    if args.mix.includes(Kind::Work) && args.work_units > protocol::DEFAULT_MAX_WORK {
        problems.push(format!(
            "--work-units {} is over the protocol's --max-work of {}",
            args.work_units,
            protocol::DEFAULT_MAX_WORK
        ));
    }
    if args.mix.includes(Kind::Sleep) && args.sleep_ms > protocol::DEFAULT_MAX_SLEEP_MS {
        problems.push(format!(
            "--sleep-ms {} is over the protocol's --max-sleep of {}",
            args.sleep_ms,
            protocol::DEFAULT_MAX_SLEEP_MS
        ));
    }
    (!problems.is_empty()).then(|| {
        format!(
            "{}: a server with its default limits answers every such request with ERR \
             (pass --allow-invalid to send them anyway, e.g. to a server started with larger limits)",
            problems.join("; ")
        )
    })
}

/// `--connections`, `--requests-per-connection`: a whole number, at least 1.
fn parse_count(text: &str) -> Result<u64, String> {
    match text.parse::<u64>() {
        Ok(0) => Err("0 would measure nothing: give at least 1".into()),
        Ok(count) => Ok(count),
        Err(_) => Err(format!("{text:?} is not a whole number")),
    }
}

/// `--rate`, `--connect-rate`: a number of events per second above zero.
fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .parse()
        .map_err(|_| format!("{text:?} is not a number (e.g. 2000)"))?;
    if !rate.is_finite() || rate <= 0.0 {
        return Err(format!("{text} is not a rate: give a number above 0"));
    }
    Ok(rate)
}

/// `--duration`, `--timeout`: a duration above zero.
fn parse_positive_duration(text: &str) -> Result<Duration, String> {
    let duration = parse_duration(text).map_err(|error| error.to_string())?;
    if duration.is_zero() {
        return Err(format!("{text} is no time at all: give a duration above 0"));
    }
    Ok(duration)
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
    use clap::Parser;

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
        let sleepy: Mix = "sleep=100".parse().unwrap();
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
            ("echo=0", "add up to 0"),
            ("echo=90,work=20", "add up to 110"),
            ("echo=50,echo=50", "named twice"),
            ("echo=4294967295,work=4294967295", "not 100"),
        ] {
            let error = text.parse::<Mix>().unwrap_err();
            assert!(error.contains(reason), "{text}: {error}");
        }
    }

    #[derive(Debug, Parser)]
    struct Line {
        #[command(flatten)]
        run: RunArgs,
    }

    fn parse(flags: &[&str]) -> Result<RunArgs, clap::Error> {
        let mut line = vec!["loadtest", "--target", "127.0.0.1:7803"];
        line.extend_from_slice(flags);
        Line::try_parse_from(line).map(|line| line.run)
    }

    #[test]
    fn values_that_describe_no_run_are_refused() {
        for flags in [
            &["-c", "0"][..],
            &["--rate", "0"],
            &["--rate", "-5"],
            &["--rate", "NaN"],
            &["--connect-rate", "0"],
            &["--duration", "0s"],
            &["--timeout", "0ms"],
            &["--requests-per-connection", "0"],
            &["--processes", "0"],
        ] {
            let error = parse(flags).unwrap_err();
            assert_eq!(error.exit_code(), 2, "{flags:?}");
        }
        let fine = parse(&["-c", "1", "--rate", "0.5", "--duration", "1ms"]).unwrap();
        assert_eq!((fine.connections, fine.rate), (1, Some(0.5)));
    }

    #[test]
    fn sizes_beyond_the_protocol_are_refused_unless_asked_for() {
        let at_the_limits = parse(&[
            "--mix",
            "echo=40,work=30,sleep=30",
            "--payload",
            "4090",
            "--work-units",
            "1000000",
            "--sleep-ms",
            "1000",
        ])
        .unwrap();
        assert_eq!(beyond_protocol_limits(&at_the_limits), None);
        for (flags, wanted) in [
            (&["--payload", "4091"][..], "4097-byte ECHO line"),
            (
                &["--mix", "work=100", "--work-units", "9999999"],
                "--max-work of 1000000",
            ),
            (
                &["--mix", "sleep=100", "--sleep-ms", "5000"],
                "--max-sleep of 1000",
            ),
        ] {
            let args = parse(flags).unwrap();
            let problem = beyond_protocol_limits(&args).unwrap();
            assert!(problem.contains(wanted), "{flags:?}: {problem}");
            assert!(problem.contains("--allow-invalid"), "{problem}");
            let mut allowed = args.clone();
            allowed.allow_invalid = true;
            assert_eq!(beyond_protocol_limits(&allowed), None);
        }
        // A size only matters for a kind the mix sends.
        let echo_only = parse(&["--work-units", "9999999"]).unwrap();
        assert_eq!(beyond_protocol_limits(&echo_only), None);
    }
}
