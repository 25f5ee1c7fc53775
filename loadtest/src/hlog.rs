//! `--hlog FILE`: the request phase as an HdrHistogram interval log, the
//! format HdrHistogram's own tools read (HistogramLogAnalyzer, the
//! `hdr-plot` scripts): one compressed histogram per interval, timestamped
//! from the start of the requests, so latency can be plotted over time and
//! any stretch of it re-merged exactly.

use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use anyhow::Context as _;
use hdrhistogram::serialization::V2DeflateSerializer;
use hdrhistogram::serialization::interval_log::{IntervalLogWriterBuilder, Tag};

use crate::saved::Saved;

/// Writes the intervals of `run` to `path`. Latencies are in microseconds;
/// the max column is shown in milliseconds.
pub fn write(path: &Path, run: &Saved) -> anyhow::Result<()> {
    let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
    let mut out = BufWriter::new(file);
    let mut serializer = V2DeflateSerializer::new();
    let started = UNIX_EPOCH + Duration::from_secs_f64(run.started_at.max(0.0));
    let mut log = IntervalLogWriterBuilder::new()
        .add_comment(&format!(
            "loadtest run against {} ({} connections, mix {}); latency in microseconds",
            run.spec.target, run.spec.connections, run.spec.mix
        ))
        .with_start_time(started)
        .with_base_time(started)
        .with_max_value_divisor(1000.0)
        .begin_log_with(&mut out, &mut serializer)
        .with_context(|| format!("cannot write {}", path.display()))?;
    let length = run.spec.interval;
    let tag = Tag::new("request");
    for (index, interval) in run.measured.intervals.iter().enumerate() {
        log.write_histogram(
            interval.latency.histogram(),
            length * index as u32,
            length,
            tag,
        )
        .map_err(|error| anyhow::anyhow!("cannot write {}: {error:?}", path.display()))?;
    }
    drop(log);
    out.flush()
        .with_context(|| format!("cannot write {}", path.display()))
}
