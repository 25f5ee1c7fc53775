//! The server-wide counters behind `STATS` and the final shutdown line.
//!
//! Every connection of a server updates the same counters, from many threads
//! at once in 02, 03 and 04, so they are atomics. `Relaxed` ordering is
//! enough: each counter is read on its own, and no other memory is published
//! through them. A `STATS` answer is therefore a set of six recent values,
//! not one instant's snapshot — which is all a learner watching load needs.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// The six counters of PROTOCOL.md ("Counters").
#[derive(Debug, Default)]
pub struct Counters {
    active: AtomicU64,
    accepted: AtomicU64,
    handshakes: AtomicU64,
    requests: AtomicU64,
    errors: AtomicU64,
    rejected: AtomicU64,
}

/// The counters' values at one moment, printed as PROTOCOL.md writes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CounterSnapshot {
    /// Connections open now, counted against the limit.
    pub active: u64,
    /// Connections accepted since start, rejected ones included.
    pub accepted: u64,
    /// Handshakes completed.
    pub handshakes: u64,
    /// Lines received after the handshake.
    pub requests: u64,
    /// `ERR` lines sent, except `ERR busy`.
    pub errors: u64,
    /// `ERR busy` lines sent.
    pub rejected: u64,
}

impl Counters {
    /// A connection was accepted (whether or not it will be served).
    pub fn connection_accepted(&self) {
        self.accepted.fetch_add(1, Relaxed);
    }

    /// A connection was admitted and is now counted against the limit.
    pub(crate) fn connection_opened(&self) {
        self.active.fetch_add(1, Relaxed);
    }

    /// An admitted connection's socket was closed.
    pub(crate) fn connection_closed(&self) {
        self.active.fetch_sub(1, Relaxed);
    }

    pub(crate) fn handshake_completed(&self) {
        self.handshakes.fetch_add(1, Relaxed);
    }

    pub(crate) fn request_received(&self) {
        self.requests.fetch_add(1, Relaxed);
    }

    pub(crate) fn error_sent(&self) {
        self.errors.fetch_add(1, Relaxed);
    }

    /// An `ERR busy` was sent.
    pub fn connection_rejected(&self) {
        self.rejected.fetch_add(1, Relaxed);
    }

    /// The current values.
    pub fn snapshot(&self) -> CounterSnapshot {
        CounterSnapshot {
            active: self.active.load(Relaxed),
            accepted: self.accepted.load(Relaxed),
            handshakes: self.handshakes.load(Relaxed),
            requests: self.requests.load(Relaxed),
            errors: self.errors.load(Relaxed),
            rejected: self.rejected.load(Relaxed),
        }
    }

    /// The number of connections open now.
    pub fn active(&self) -> u64 {
        self.active.load(Relaxed)
    }
}

impl fmt::Display for CounterSnapshot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "active={} accepted={} handshakes={} requests={} errors={} rejected={}",
            self.active, self.accepted, self.handshakes, self.requests, self.errors, self.rejected
        )
    }
}

impl CounterSnapshot {
    /// Parses the `key=value` list of a `STATS` reply or the final line.
    pub fn parse(text: &str) -> Option<CounterSnapshot> {
        let mut values = text.split(' ').map(|field| field.split_once('='));
        let mut next = |key: &str| match values.next()? {
            Some((k, v)) if k == key => crate::number::parse_number(v),
            _ => None,
        };
        let snapshot = CounterSnapshot {
            active: next("active")?,
            accepted: next("accepted")?,
            handshakes: next("handshakes")?,
            requests: next("requests")?,
            errors: next("errors")?,
            rejected: next("rejected")?,
        };
        values.next().is_none().then_some(snapshot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_and_parses_in_protocol_order() {
        let counters = Counters::default();
        counters.connection_accepted();
        counters.connection_accepted();
        counters.connection_opened();
        counters.connection_rejected();
        counters.request_received();
        counters.error_sent();
        let text = counters.snapshot().to_string();
        assert_eq!(
            text,
            "active=1 accepted=2 handshakes=0 requests=1 errors=1 rejected=1"
        );
        assert_eq!(CounterSnapshot::parse(&text), Some(counters.snapshot()));
        assert_eq!(CounterSnapshot::parse("accepted=2 active=1"), None);
        assert_eq!(CounterSnapshot::parse(&format!("{text} extra=1")), None);
    }
}
