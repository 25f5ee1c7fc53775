//! What one run measures: latency histograms and failures by kind, in a
//! form that worker processes send to the parent and the parent merges
//! exactly.
//!
//! Latencies go to HdrHistograms: fixed memory however many samples, and
//! percentiles accurate to three significant digits. A histogram travels
//! between processes as its list of (value, count) buckets, which merges
//! back into exactly the histogram it came from.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

/// Highest latency recorded, in microseconds (an hour); above it, clamped.
const MAX_MICROS: u64 = 3_600_000_000;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

impl Default for Latency {
    #[allow(clippy::expect_used)] // constant bounds, valid by construction
    fn default() -> Self {
        // Three significant digits from 1 µs to an hour, in fixed memory.
        Latency(Histogram::new_with_bounds(1, MAX_MICROS, 3).expect("valid histogram bounds"))
    }
}

impl Latency {
    /// Records one sample.
    pub fn record(&mut self, elapsed: Duration) {
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(MAX_MICROS);
        self.0.saturating_record(micros.clamp(1, MAX_MICROS));
    }

    /// Samples recorded.
    pub fn count(&self) -> u64 {
        self.0.len()
    }

    /// Adds another histogram's samples.
    pub fn merge(&mut self, other: &Latency) {
        // Both have the same bounds, so adding cannot fail.
        let _ = self.0.add(&other.0);
    }

    /// The percentiles the reports show.
    pub fn summary(&self) -> Percentiles {
        let at = |q: f64| self.0.value_at_quantile(q);
        Percentiles {
            count: self.count(),
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            p999: at(0.999),
            max: self.0.max(),
        }
    }

    /// The histogram as (value, count) buckets, for sending to the parent.
    pub fn to_buckets(&self) -> Vec<(u64, u64)> {
        self.0
            .iter_recorded()
            .map(|bucket| (bucket.value_iterated_to(), bucket.count_at_value()))
            .collect()
    }

    /// Rebuilds a histogram from [`Latency::to_buckets`].
    pub fn from_buckets(buckets: &[(u64, u64)]) -> Latency {
        let mut latency = Latency::default();
        for &(value, count) in buckets {
            let _ = latency.0.record_n(value.clamp(1, MAX_MICROS), count);
        }
        latency
    }
}

/// Latency percentiles in microseconds, as the JSON reports them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Percentiles {
    /// Samples behind the figures.
    pub count: u64,
    /// Median.
    pub p50: u64,
    /// 90th percentile.
    pub p90: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// The slowest sample.
    pub max: u64,
}

/// Why a connection or a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Failure {
    /// The server refused the connection (nothing listening, or a full
    /// backlog with `tcp_abort_on_overflow`).
    Refused,
    /// The connection was reset or closed while an answer was due.
    Reset,
    /// No answer (or no connection) within `--timeout`.
    Timeout,
    /// `ERR busy`: over the server's connection limit.
    Busy,
    /// Any other `ERR` line.
    OtherErr,
    /// An answer that is not what the protocol requires (echo bytes, digest).
    WrongAnswer,
    /// The client could not even try: no local port or descriptor left.
    LocalResources,
    /// Any other I/O error.
    Io,
}

impl Failure {
    /// Every kind, in report order.
    pub const ALL: [Failure; 8] = [
        Failure::Refused,
        Failure::Reset,
        Failure::Timeout,
        Failure::Busy,
        Failure::OtherErr,
        Failure::WrongAnswer,
        Failure::LocalResources,
        Failure::Io,
    ];

    /// Classifies an I/O error.
    pub fn from_io(error: &std::io::Error) -> Failure {
        use std::io::ErrorKind::*;
        match error.kind() {
            ConnectionRefused => Failure::Refused,
            ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof => Failure::Reset,
            TimedOut => Failure::Timeout,
            AddrNotAvailable | AddrInUse => Failure::LocalResources,
            _ if common::accept::is_resource_exhaustion(error) => Failure::LocalResources,
            _ => Failure::Io,
        }
    }

    /// The name used in reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Failure::Refused => "refused",
            Failure::Reset => "reset",
            Failure::Timeout => "timeout",
            Failure::Busy => "busy",
            Failure::OtherErr => "other_err",
            Failure::WrongAnswer => "wrong_answer",
            Failure::LocalResources => "local_resources",
            Failure::Io => "io",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The request kinds of the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// `ECHO <payload>`.
    Echo,
    /// `WORK <units>`.
    Work,
    /// `SLEEP <ms>`.
    Sleep,
}

impl Kind {
    /// Every kind, in report order.
    pub const ALL: [Kind; 3] = [Kind::Echo, Kind::Work, Kind::Sleep];

    /// The name used in `--mix`, reports and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Echo => "echo",
            Kind::Work => "work",
            Kind::Sleep => "sleep",
        }
    }
}

/// Everything one process measured.
#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Connections whose TCP connect succeeded.
    pub connected: u64,
    /// Connections whose handshake completed.
    pub handshakes_ok: u64,
    /// Requests answered correctly.
    pub requests_ok: u64,
    /// Failures by kind.
    pub failures: BTreeMap<Failure, u64>,
    /// TCP connect time.
    pub connect: Latency,
    /// `HELLO x` sent to `HELLO x+1` received.
    pub handshake: Latency,
    /// Every request; in open loop, from the time it was *meant* to be sent.
    pub request: Latency,
    /// Every request from the time it was actually sent (open loop only).
    pub request_uncorrected: Latency,
    /// How late requests were sent after their intended time (open loop).
    pub send_lag: Latency,
    /// Per request kind, like `request`.
    pub by_kind: BTreeMap<Kind, Latency>,
}

impl Measured {
    /// Counts a failure.
    pub fn fail(&mut self, failure: Failure) {
        *self.failures.entry(failure).or_default() += 1;
    }

    /// Adds another process's measurements.
    pub fn merge(&mut self, other: &Measured) {
        self.connected += other.connected;
        self.handshakes_ok += other.handshakes_ok;
        self.requests_ok += other.requests_ok;
        for (&failure, &count) in &other.failures {
            *self.failures.entry(failure).or_default() += count;
        }
        self.connect.merge(&other.connect);
        self.handshake.merge(&other.handshake);
        self.request.merge(&other.request);
        self.request_uncorrected.merge(&other.request_uncorrected);
        self.send_lag.merge(&other.send_lag);
        for (&kind, latency) in &other.by_kind {
            self.by_kind.entry(kind).or_default().merge(latency);
        }
    }

    /// The form sent from a worker to the parent.
    pub fn to_wire(&self) -> WireMeasured {
        WireMeasured {
            connected: self.connected,
            handshakes_ok: self.handshakes_ok,
            requests_ok: self.requests_ok,
            failures: self.failures.clone(),
            connect: self.connect.to_buckets(),
            handshake: self.handshake.to_buckets(),
            request: self.request.to_buckets(),
            request_uncorrected: self.request_uncorrected.to_buckets(),
            send_lag: self.send_lag.to_buckets(),
            by_kind: self
                .by_kind
                .iter()
                .map(|(&k, l)| (k, l.to_buckets()))
                .collect(),
        }
    }

    /// Rebuilds what a worker measured.
    pub fn from_wire(wire: &WireMeasured) -> Measured {
        Measured {
            connected: wire.connected,
            handshakes_ok: wire.handshakes_ok,
            requests_ok: wire.requests_ok,
            failures: wire.failures.clone(),
            connect: Latency::from_buckets(&wire.connect),
            handshake: Latency::from_buckets(&wire.handshake),
            request: Latency::from_buckets(&wire.request),
            request_uncorrected: Latency::from_buckets(&wire.request_uncorrected),
            send_lag: Latency::from_buckets(&wire.send_lag),
            by_kind: wire
                .by_kind
                .iter()
                .map(|(&k, b)| (k, Latency::from_buckets(b)))
                .collect(),
        }
    }

    /// All failures.
    pub fn failure_count(&self) -> u64 {
        self.failures.values().sum()
    }
}

/// [`Measured`] as JSON between processes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[allow(missing_docs)]
pub struct WireMeasured {
    pub connected: u64,
    pub handshakes_ok: u64,
    pub requests_ok: u64,
    pub failures: BTreeMap<Failure, u64>,
    pub connect: Vec<(u64, u64)>,
    pub handshake: Vec<(u64, u64)>,
    pub request: Vec<(u64, u64)>,
    pub request_uncorrected: Vec<(u64, u64)>,
    pub send_lag: Vec<(u64, u64)>,
    pub by_kind: BTreeMap<Kind, Vec<(u64, u64)>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histograms_survive_the_trip_between_processes_exactly() {
        let mut measured = Measured::default();
        for micros in [1u64, 7, 150, 150, 2_000, 90_000, 4_000_000_000] {
            measured.request.record(Duration::from_micros(micros));
        }
        measured
            .by_kind
            .entry(Kind::Work)
            .or_default()
            .record(Duration::from_millis(3));
        measured.fail(Failure::Busy);
        let json = serde_json::to_string(&measured.to_wire()).unwrap();
        let back = Measured::from_wire(&serde_json::from_str(&json).unwrap());
        assert_eq!(back.request.summary(), measured.request.summary());
        assert_eq!(back.request.to_buckets(), measured.request.to_buckets());
        assert_eq!(back.by_kind[&Kind::Work].count(), 1);
        assert_eq!(back.failures[&Failure::Busy], 1);
    }

    #[test]
    fn merging_adds_counts_and_samples() {
        let mut a = Measured {
            requests_ok: 3,
            ..Measured::default()
        };
        a.request.record(Duration::from_micros(100));
        a.fail(Failure::Reset);
        let mut b = Measured {
            requests_ok: 4,
            ..Measured::default()
        };
        b.request.record(Duration::from_micros(300));
        b.fail(Failure::Reset);
        b.fail(Failure::Timeout);
        a.merge(&b);
        assert_eq!(a.requests_ok, 7);
        assert_eq!(a.request.count(), 2);
        assert_eq!(a.request.summary().max, b.request.summary().max);
        assert_eq!((a.failures[&Failure::Reset], a.failure_count()), (2, 3));
    }

    #[test]
    fn io_errors_are_classified() {
        use std::io::{Error, ErrorKind};
        assert_eq!(
            Failure::from_io(&Error::from(ErrorKind::ConnectionRefused)),
            Failure::Refused
        );
        assert_eq!(
            Failure::from_io(&Error::from(ErrorKind::BrokenPipe)),
            Failure::Reset
        );
        assert_eq!(
            Failure::from_io(&Error::from_raw_os_error(libc::EMFILE)),
            Failure::LocalResources
        );
    }
}
