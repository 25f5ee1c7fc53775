//! What a run does, as plain data: the one input of [`crate::runner::run`].
//!
//! `loadtest run` builds a [`LoadSpec`] from its flags
//! ([`crate::args::RunArgs::spec`]); the suite builds one per measurement
//! with [`LoadSpec::new`] and changes only what it needs. Neither fills in
//! the other's structure, and the defaults are written once, here.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::affinity::Cores;
use crate::metrics::Kind;

/// New connections per second while ramping up, unless told otherwise.
pub const DEFAULT_CONNECT_RATE: f64 = 10_000.0;
/// Bytes of ECHO text, unless told otherwise.
pub const DEFAULT_PAYLOAD: usize = 16;
/// Units of each WORK request, unless told otherwise.
pub const DEFAULT_WORK_UNITS: u64 = 1000;
/// Milliseconds of each SLEEP request, unless told otherwise.
pub const DEFAULT_SLEEP_MS: u64 = 10;
/// The length of the intervals of the latency-over-time figures.
pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(1);

/// How long the request phase lasts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Length {
    /// Send requests for this long.
    Duration(Duration),
    /// Send this many requests on each connection.
    RequestsPerConnection(u64),
}

/// A pause of the server's processes during the request phase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stall {
    /// How long after the requests start.
    pub after: Duration,
    /// How long the server stays stopped.
    pub length: Duration,
}

/// One run of the load tester. It is stored in `--save` files, so that
/// `loadtest merge` knows what each load host did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoadSpec {
    /// The server.
    pub target: SocketAddr,
    /// Connections opened and kept open for the whole run.
    pub connections: usize,
    /// New connections per second while ramping up.
    pub connect_rate: f64,
    /// How long the request phase lasts.
    pub length: Length,
    /// Request kinds and their weights.
    pub mix: Mix,
    /// Bytes of ECHO text.
    pub payload: usize,
    /// Units of each WORK.
    pub work_units: u64,
    /// Milliseconds of each SLEEP.
    pub sleep_ms: u64,
    /// Open loop at this many requests per second in all; `None`: closed
    /// loop (each connection sends its next request when the answer is back).
    pub rate: Option<f64>,
    /// Requests in flight per connection at most (1: send, wait for the
    /// answer, send the next).
    pub pipeline: usize,
    /// Longest wait for a connect, a handshake or an answer.
    pub timeout: Duration,
    /// Source addresses to connect from, in turn; empty: 127.0.0.x as
    /// needed for a loopback target, the kernel's choice for another.
    pub sources: Vec<IpAddr>,
    /// Wall-clock time (seconds since the Unix epoch) at which the request
    /// phase starts, so that several load hosts start together.
    pub start_at: Option<f64>,
    /// Length of the intervals of the latency-over-time figures.
    pub interval: Duration,
    /// Freeze the server (SIGSTOP, then SIGCONT) once during the requests:
    /// the stall that coordinated omission would hide.
    pub stall: Option<Stall>,
    /// The server's processes, sampled from `/proc`.
    pub server_pids: Vec<u32>,
    /// At least this many client processes.
    pub processes: usize,
    /// The server's name, copied into the report.
    pub model: Option<String>,
    /// The CPUs the client processes may run on; `None`: any.
    pub tester_cores: Option<Cores>,
}

impl LoadSpec {
    /// Closed-loop ECHO on `connections` for ten seconds, with the flags'
    /// defaults for everything else.
    pub fn new(target: SocketAddr, connections: usize) -> LoadSpec {
        LoadSpec {
            target,
            connections,
            connect_rate: DEFAULT_CONNECT_RATE,
            length: Length::Duration(Duration::from_secs(10)),
            mix: Mix::ECHO_ONLY,
            payload: DEFAULT_PAYLOAD,
            work_units: DEFAULT_WORK_UNITS,
            sleep_ms: DEFAULT_SLEEP_MS,
            rate: None,
            pipeline: 1,
            timeout: Duration::from_secs(10),
            sources: Vec::new(),
            start_at: None,
            interval: DEFAULT_INTERVAL,
            stall: None,
            server_pids: Vec::new(),
            processes: 1,
            model: None,
            tester_cores: None,
        }
    }

    /// Whether requests go out on a schedule (open loop).
    pub fn open_loop(&self) -> bool {
        self.rate.is_some()
    }
}

/// Weights of each request kind, from `--mix echo=90,work=10`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mix {
    /// Weight of `ECHO`.
    pub echo: u32,
    /// Weight of `WORK`.
    pub work: u32,
    /// Weight of `SLEEP`.
    pub sleep: u32,
}

impl Mix {
    /// ECHO alone.
    pub const ECHO_ONLY: Mix = Mix {
        echo: 100,
        work: 0,
        sleep: 0,
    };

    /// The kind for a roll in `0..total()`.
    pub fn pick(&self, roll: u32) -> Kind {
        if roll < self.echo {
            Kind::Echo
        } else if roll < self.echo + self.work {
            Kind::Work
        } else {
            Kind::Sleep
        }
    }

    /// Sum of the weights (never zero).
    pub fn total(&self) -> u32 {
        self.echo + self.work + self.sleep
    }

    /// Whether a kind is in the mix.
    pub fn includes(&self, kind: Kind) -> bool {
        match kind {
            Kind::Echo => self.echo > 0,
            Kind::Work => self.work > 0,
            Kind::Sleep => self.sleep > 0,
        }
    }
}

impl FromStr for Mix {
    type Err = String;

    fn from_str(text: &str) -> Result<Mix, String> {
        let mut mix = Mix {
            echo: 0,
            work: 0,
            sleep: 0,
        };
        let mut named = Vec::new();
        for part in text.split(',') {
            let (kind, weight) = part
                .split_once('=')
                .ok_or_else(|| format!("{part:?} is not KIND=WEIGHT (e.g. echo=90)"))?;
            let weight: u32 = weight
                .trim()
                .parse()
                .map_err(|_| format!("weight {weight:?} is not a whole number"))?;
            let kind = kind.trim();
            let slot = match kind {
                "echo" => &mut mix.echo,
                "work" => &mut mix.work,
                "sleep" => &mut mix.sleep,
                other => return Err(format!("unknown kind {other:?}: use echo, work or sleep")),
            };
            if named.contains(&kind) {
                return Err(format!("{kind} is named twice: give each kind once"));
            }
            named.push(kind);
            *slot = weight;
        }
        // Percentages: a mix that adds up to 110 is a typo, not a weighting.
        let total = u64::from(mix.echo) + u64::from(mix.work) + u64::from(mix.sleep);
        if total != 100 {
            return Err(format!(
                "the percentages add up to {total}, not 100 (e.g. echo=90,work=10)"
            ));
        }
        Ok(mix)
    }
}

impl fmt::Display for Mix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "echo={},work={},sleep={}",
            self.echo, self.work, self.sleep
        )
    }
}
