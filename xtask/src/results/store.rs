//! The stored results that are not the suite's: each benchmark id, each
//! reliability check per model, the fuzz run and each anatomy row, with
//! the fingerprint of what it measured, and the text file the book
//! includes, drawn from them.
//!
//! The suite keeps its own store (`suite.json`, one fingerprint per run)
//! because `loadtest suite` writes it; these three are written only here.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};
use fingerprint::{Inputs, Machine};
use serde::{Deserialize, Serialize};

/// One kind of result: where it is stored and how the book's file is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `cargo bench`: `bench.json` → `bench.txt`.
    Bench,
    /// The reliability checks at full size: `reliability.json` →
    /// `reliability.txt`.
    Reliability,
    /// `anatomy`: `bytes.json` → `bytes.md`.
    Anatomy,
    /// One request's system calls under strace
    /// (`scripts/one-request/`): `syscalls.json` → `one-request.md`.
    Syscalls,
    /// A server at a million connections (`scripts/million/`):
    /// `million.json` → `million.md`.
    Million,
}

impl Kind {
    pub const ALL: [Kind; 5] = [
        Kind::Bench,
        Kind::Reliability,
        Kind::Anatomy,
        Kind::Syscalls,
        Kind::Million,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Bench => "bench",
            Kind::Reliability => "reliability",
            Kind::Anatomy => "anatomy",
            Kind::Syscalls => "syscalls",
            Kind::Million => "million",
        }
    }

    fn store_file(self) -> &'static str {
        match self {
            Kind::Bench => "bench.json",
            Kind::Reliability => "reliability.json",
            Kind::Anatomy => "bytes.json",
            Kind::Syscalls => "syscalls.json",
            Kind::Million => "million.json",
        }
    }

    /// The file the book includes.
    pub fn view_file(self) -> &'static str {
        match self {
            Kind::Bench => "bench.txt",
            Kind::Reliability => "reliability.txt",
            Kind::Anatomy => "bytes.md",
            Kind::Syscalls => "one-request.md",
            Kind::Million => "million.md",
        }
    }
}

/// One stored result.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stored {
    /// The digest of what it measured: its key in [`Store::inputs`].
    pub fingerprint: String,
    /// Where it was measured.
    pub machine: Machine,
    /// `git rev-parse --short HEAD` then, `+dirty` with uncommitted changes
    /// (for the reader; the fingerprint says what was measured).
    pub commit: String,
    /// `YYYY-MM-DD HH:MM UTC`.
    pub date: String,
    /// How long measuring it took.
    pub took_s: f64,
    /// Its lines in the book's file.
    pub text: String,
}

/// Every result of one kind.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    /// By unit id (`echo/64/03-async-tokio`, `slow-clients/03-async-tokio`).
    pub units: BTreeMap<String, Stored>,
    /// What they measured, by digest.
    pub inputs: BTreeMap<String, Inputs>,
}

impl Store {
    fn path(results: &Path, kind: Kind) -> PathBuf {
        results.join(kind.store_file())
    }

    /// The store of `kind`, empty when there is none yet.
    pub fn read(results: &Path, kind: Kind) -> Result<Store> {
        let path = Store::path(results, kind);
        if !path.is_file() {
            return Ok(Store::default());
        }
        let text =
            fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
        serde_json::from_str(&text).with_context(|| format!("{} is damaged", path.display()))
    }

    /// Writes the store, then the book's file drawn from it in `order`.
    pub fn write(&mut self, results: &Path, kind: Kind, order: &[String]) -> Result<()> {
        let used: BTreeSet<String> = self.units.values().map(|u| u.fingerprint.clone()).collect();
        self.inputs.retain(|digest, _| used.contains(digest));
        let path = Store::path(results, kind);
        fs::write(&path, serde_json::to_string_pretty(self)? + "\n")
            .with_context(|| format!("cannot write {}", path.display()))?;
        let view = results.join(kind.view_file());
        fs::write(&view, self.render(kind, order))
            .with_context(|| format!("cannot write {}", view.display()))
    }

    /// Records a result just measured.
    pub fn put(&mut self, id: &str, inputs: Inputs, stored: Stored) {
        self.inputs.insert(inputs.digest(), inputs);
        self.units.insert(id.to_owned(), stored);
    }

    /// The book's file: a line saying where and when, then each unit's
    /// text in `order` (the order the measurements run in).
    pub fn render(&self, kind: Kind, order: &[String]) -> String {
        let units: Vec<(&String, &Stored)> = order
            .iter()
            .filter_map(|id| self.units.get_key_value(id))
            .collect();
        let machines: BTreeSet<String> = units.iter().map(|(_, u)| u.machine.to_string()).collect();
        let dates: BTreeSet<&str> = units.iter().map(|(_, u)| u.date.as_str()).collect();
        let commits: BTreeSet<&str> = units.iter().map(|(_, u)| u.commit.as_str()).collect();
        let when = match (dates.first(), dates.last()) {
            (Some(first), Some(last)) if first != last => format!("{first} to {last}"),
            (Some(first), _) => (*first).to_owned(),
            _ => "never".to_owned(),
        };
        let stamp = format!(
            "measured by `cargo xtask results refresh`, {when}, commit {}; {} (client and server share the cores)",
            commits.into_iter().collect::<Vec<_>>().join(", "),
            machines.into_iter().collect::<Vec<_>>().join("; "),
        );
        let mut out = match kind {
            Kind::Anatomy | Kind::Syscalls | Kind::Million => String::new(),
            Kind::Bench => format!("cargo bench -p launch --bench models, {stamp}\n\n"),
            Kind::Reliability => format!("reliability checks at full size, {stamp}\n"),
        };
        let mut section = "";
        for (id, unit) in units {
            if kind == Kind::Reliability {
                let (name, _) = id.split_once('/').unwrap_or((id, ""));
                if name != section {
                    section = name;
                    let _ = write!(out, "\n== {}\n", super::units::reliability_heading(name));
                }
            }
            out.push_str(&unit.text);
            if !unit.text.ends_with('\n') {
                out.push('\n');
            }
        }
        if kind == Kind::Anatomy {
            let _ = write!(out, "\n*Each model taken apart by `anatomy`, {stamp}.*\n");
        }
        if kind == Kind::Syscalls {
            let _ = write!(
                out,
                "\n*Each server traced by `scripts/one-request/one_request.py` under `strace -f`, {stamp}.*\n"
            );
        }
        if kind == Kind::Million {
            let _ = write!(
                out,
                "\n*Each server run by `scripts/million/million.py`, {stamp}.*\n"
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(text: &str, date: &str) -> Stored {
        Stored {
            fingerprint: "f".into(),
            machine: Machine {
                cpu: "CPU".into(),
                cores: 2,
            },
            commit: "abc1234".into(),
            date: date.into(),
            took_s: 1.0,
            text: text.into(),
        }
    }

    #[test]
    fn the_view_follows_the_run_order_and_says_when_and_where() {
        let mut store = Store::default();
        store
            .units
            .insert("fuzz".into(), stored("fuzz ok", "2026-12-02 10:00 UTC"));
        store.units.insert(
            "slow-clients/03-async-tokio".into(),
            stored("RELIABILITY 03\n", "2026-12-01 09:00 UTC"),
        );
        let order = ["slow-clients/03-async-tokio".to_owned(), "fuzz".to_owned()];
        let text = store.render(Kind::Reliability, &order);
        let slow = text.find("RELIABILITY 03").unwrap();
        let fuzz = text.find("fuzz ok").unwrap();
        assert!(slow < fuzz, "{text}");
        assert!(text.contains("== slow clients: 2000 connections"), "{text}");
        assert!(
            text.contains("2026-12-01 09:00 UTC to 2026-12-02 10:00 UTC"),
            "{text}"
        );
        assert!(text.contains("CPU, 2 cores"), "{text}");
        assert!(text.ends_with("fuzz ok\n"), "a unit's text ends its line");
        let unlisted = store.render(Kind::Reliability, &order[..1]);
        assert!(
            !unlisted.contains("fuzz ok"),
            "a unit no longer run is not drawn"
        );
    }

    #[test]
    fn anatomy_says_when_and_where_under_its_tables() {
        let mut store = Store::default();
        store.units.insert(
            "anatomy/05-event-loop".into(),
            stored("| table |\n", "2026-12-01 09:00 UTC"),
        );
        let text = store.render(Kind::Anatomy, &["anatomy/05-event-loop".to_owned()]);
        assert!(text.starts_with("| table |\n"), "{text}");
        assert!(
            text.contains("*Each model taken apart by `anatomy`"),
            "{text}"
        );
    }
}
