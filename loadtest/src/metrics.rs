//! What one run measures: latency histograms and failures by kind, in a
//! form that worker processes send to the parent and the parent merges
//! exactly.
//!
//! Latencies go to HdrHistograms: fixed memory however many samples, and
//! percentiles accurate to three significant digits. A histogram travels
//! between processes (and into `--save` files) in HdrHistogram's own
//! serialized form, which merges back into exactly the histogram it came
//! from.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

use std::io;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer as _, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Highest latency recorded, in microseconds (an hour); above it, clamped.
const MAX_MICROS: u64 = 3_600_000_000;

/// A latency histogram in microseconds.
#[derive(Debug, Clone)]
pub struct Latency(Histogram<u64>);

/// A histogram travels as HdrHistogram's compressed V2 form in base64: the
/// form HdrHistogram's own tools read, and exact.
impl Serialize for Latency {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode().map_err(serde::ser::Error::custom)?)
    }
}

impl<'de> Deserialize<'de> for Latency {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Latency, D::Error> {
        let text = String::deserialize(deserializer)?;
        Latency::decode(&text).map_err(serde::de::Error::custom)
    }
}

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

    /// The underlying histogram (for HdrHistogram's interval log).
    pub fn histogram(&self) -> &Histogram<u64> {
        &self.0
    }

    /// HdrHistogram's compressed V2 serialization, in base64.
    pub fn encode(&self) -> Result<String, String> {
        let mut bytes = Vec::new();
        V2DeflateSerializer::new()
            .serialize(&self.0, &mut bytes)
            .map_err(|error| format!("cannot serialize a histogram: {error:?}"))?;
        Ok(BASE64.encode(bytes))
    }

    /// Reads [`Latency::encode`]'s form back (or any HdrHistogram V2 form,
    /// compressed or not), into this tester's bounds.
    pub fn decode(text: &str) -> Result<Latency, String> {
        let bytes = BASE64
            .decode(text.trim())
            .map_err(|error| format!("a histogram is not base64: {error}"))?;
        let read: Histogram<u64> = Deserializer::new()
            .deserialize(&mut io::Cursor::new(bytes))
            .map_err(|error| format!("a histogram is damaged: {error:?}"))?;
        let mut latency = Latency::default();
        for bucket in read.iter_recorded() {
            let value = bucket.value_iterated_to().clamp(1, MAX_MICROS);
            let _ = latency.0.record_n(value, bucket.count_at_value());
        }
        Ok(latency)
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
    /// An answer that is not what the protocol requires (echo bytes, digest,
    /// handshake number).
    WrongAnswer,
    /// The server sent a final line (`BYE`, `ERR idle timeout`, …) and
    /// closed: its own outcome, by text in the report.
    ClosedByServer,
    /// The client could not even try: no local port or descriptor left.
    LocalResources,
    /// Any other I/O error.
    Io,
}

impl Failure {
    /// Every kind, in report order.
    pub const ALL: [Failure; 9] = [
        Failure::Refused,
        Failure::Reset,
        Failure::Timeout,
        Failure::Busy,
        Failure::OtherErr,
        Failure::WrongAnswer,
        Failure::ClosedByServer,
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
            Failure::ClosedByServer => "closed_by_server",
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

/// One interval of the request phase (a second by default): what was
/// answered in it, and how fast. A stall in the middle of a run shows here,
/// where the whole run's histogram would hide it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Interval {
    /// Requests answered correctly in this interval.
    pub requests_ok: u64,
    /// Failures in this interval.
    pub failures: u64,
    /// Latency of the requests answered in this interval.
    pub latency: Latency,
    /// The same, per request kind: under a mixed load the slow kind fills
    /// the p99, and ECHO's own p99 is the one that shows a stall.
    pub by_kind: BTreeMap<Kind, Latency>,
}

impl Interval {
    /// Adds another process's measurements of the same interval.
    pub fn merge(&mut self, other: &Interval) {
        self.requests_ok += other.requests_ok;
        self.failures += other.failures;
        self.latency.merge(&other.latency);
        for (&kind, latency) in &other.by_kind {
            self.by_kind.entry(kind).or_default().merge(latency);
        }
    }
}

/// Everything one process measured. It travels from a worker process to the
/// parent, and into `--save` files, as JSON with each histogram in
/// HdrHistogram's own serialized form, so merging is exact.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Measured {
    /// Connections whose TCP connect succeeded.
    pub connected: u64,
    /// Connections whose handshake completed.
    pub handshakes_ok: u64,
    /// Requests answered correctly.
    pub requests_ok: u64,
    /// Failures by kind.
    pub failures: BTreeMap<Failure, u64>,
    /// Final lines the server sent before closing (`BYE`, `ERR idle
    /// timeout`, …), by text: a server shutting down is not a wrong answer.
    pub closed_by_server: BTreeMap<String, u64>,
    /// `ERR` answers to requests (`ERR sleep too long`, …), by text. The
    /// server keeps the connection after these, and so does the tester;
    /// each is also counted as an `other_err` failure.
    pub request_errors: BTreeMap<String, u64>,
    /// The system's reasons for the I/O errors (`No route to host (os error
    /// 113)`, …), by text.
    pub io_errors: BTreeMap<String, u64>,
    /// Requests sent but never answered because the connection ended.
    pub unanswered: u64,
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
    /// The request phase, interval by interval.
    pub intervals: Vec<Interval>,
}

impl Measured {
    /// Counts a failure (in interval `at`, when it happened during the
    /// request phase).
    pub fn fail(&mut self, failure: Failure, at: Option<usize>) {
        *self.failures.entry(failure).or_default() += 1;
        if let Some(at) = at {
            self.interval(at).failures += 1;
        }
    }

    /// Counts a final line from the server and the requests it left
    /// unanswered.
    pub fn closed_by_server(&mut self, line: &str, unanswered: u64, at: Option<usize>) {
        *self.closed_by_server.entry(line.to_owned()).or_default() += 1;
        self.unanswered += unanswered;
        self.fail(Failure::ClosedByServer, at);
    }

    /// Counts a request answered with an `ERR` that keeps the connection.
    pub fn request_error(&mut self, line: &str, at: usize) {
        *self.request_errors.entry(line.to_owned()).or_default() += 1;
        self.fail(Failure::OtherErr, Some(at));
    }

    /// Counts the system's reason for an I/O error (besides its kind).
    pub fn io_error(&mut self, reason: &str) {
        *self.io_errors.entry(reason.to_owned()).or_default() += 1;
    }

    /// Records a correct answer of `kind` that took `latency`, in interval
    /// `at` of the request phase.
    pub fn answered(&mut self, kind: Kind, latency: Duration, at: usize) {
        self.requests_ok += 1;
        self.request.record(latency);
        self.by_kind.entry(kind).or_default().record(latency);
        let interval = self.interval(at);
        interval.requests_ok += 1;
        interval.latency.record(latency);
        interval.by_kind.entry(kind).or_default().record(latency);
    }

    /// Interval `index`, created (with those before it) if need be.
    fn interval(&mut self, index: usize) -> &mut Interval {
        if self.intervals.len() <= index {
            self.intervals.resize_with(index + 1, Interval::default);
        }
        &mut self.intervals[index]
    }

    /// Adds another process's measurements.
    pub fn merge(&mut self, other: &Measured) {
        self.connected += other.connected;
        self.handshakes_ok += other.handshakes_ok;
        self.requests_ok += other.requests_ok;
        for (&failure, &count) in &other.failures {
            *self.failures.entry(failure).or_default() += count;
        }
        for (line, &count) in &other.closed_by_server {
            *self.closed_by_server.entry(line.clone()).or_default() += count;
        }
        for (line, &count) in &other.request_errors {
            *self.request_errors.entry(line.clone()).or_default() += count;
        }
        for (reason, &count) in &other.io_errors {
            *self.io_errors.entry(reason.clone()).or_default() += count;
        }
        self.unanswered += other.unanswered;
        self.connect.merge(&other.connect);
        self.handshake.merge(&other.handshake);
        self.request.merge(&other.request);
        self.request_uncorrected.merge(&other.request_uncorrected);
        self.send_lag.merge(&other.send_lag);
        for (&kind, latency) in &other.by_kind {
            self.by_kind.entry(kind).or_default().merge(latency);
        }
        for (index, interval) in other.intervals.iter().enumerate() {
            self.interval(index).merge(interval);
        }
    }

    /// All failures.
    pub fn failure_count(&self) -> u64 {
        self.failures.values().sum()
    }
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
        measured.fail(Failure::Busy, None);
        measured.answered(Kind::Echo, Duration::from_micros(40), 2);
        measured.closed_by_server("BYE", 3, Some(2));
        measured.request_error("ERR sleep too long", 2);
        measured.io_error("No route to host (os error 113)");
        let json = serde_json::to_string(&measured).unwrap();
        let back: Measured = serde_json::from_str(&json).unwrap();
        assert_eq!(back.request.summary(), measured.request.summary());
        let buckets = |l: &Latency| {
            l.histogram()
                .iter_recorded()
                .map(|b| (b.value_iterated_to(), b.count_at_value()))
                .collect::<Vec<_>>()
        };
        assert_eq!(buckets(&back.request), buckets(&measured.request));
        assert_eq!(back.by_kind[&Kind::Work].count(), 1);
        assert_eq!(back.failures[&Failure::Busy], 1);
        assert_eq!(back.intervals.len(), 3);
        assert_eq!(back.intervals[2].requests_ok, 1);
        assert_eq!(back.intervals[2].failures, 2);
        assert_eq!(back.request_errors["ERR sleep too long"], 1);
        assert_eq!(back.failures[&Failure::OtherErr], 1);
        assert_eq!(back.io_errors["No route to host (os error 113)"], 1);
        assert_eq!((back.closed_by_server["BYE"], back.unanswered), (1, 3));
    }

    #[test]
    fn a_damaged_histogram_is_an_error_not_a_panic() {
        assert!(Latency::decode("not base64!").is_err());
        assert!(Latency::decode("AAAA").is_err());
        let good = Latency::default().encode().unwrap();
        assert_eq!(Latency::decode(&good).unwrap().count(), 0);
    }

    #[test]
    fn merging_adds_counts_and_samples() {
        let mut a = Measured {
            requests_ok: 3,
            ..Measured::default()
        };
        a.request.record(Duration::from_micros(100));
        a.fail(Failure::Reset, None);
        a.answered(Kind::Echo, Duration::from_micros(10), 0);
        let mut b = Measured {
            requests_ok: 4,
            ..Measured::default()
        };
        b.request.record(Duration::from_micros(300));
        b.fail(Failure::Reset, None);
        b.fail(Failure::Timeout, Some(1));
        b.answered(Kind::Echo, Duration::from_micros(20), 1);
        b.request_error("ERR work too large", 1);
        a.request_error("ERR work too large", 0);
        a.io_error("Connection refused (os error 111)");
        a.merge(&b);
        assert_eq!(a.request_errors["ERR work too large"], 2);
        assert_eq!(a.io_errors.len(), 1);
        assert_eq!(a.requests_ok, 9);
        assert_eq!(a.request.count(), 4);
        assert_eq!(a.intervals.len(), 2);
        assert_eq!(
            (a.intervals[0].requests_ok, a.intervals[1].requests_ok),
            (1, 1)
        );
        assert_eq!(a.intervals[1].failures, 2);
        assert_eq!(a.request.summary().max, b.request.summary().max);
        assert_eq!((a.failures[&Failure::Reset], a.failure_count()), (2, 5));
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
