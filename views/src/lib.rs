//! The book's views of what the suite measured: Markdown tables, SVG
//! charts, the sentences that read them, and the claims table.
//!
//! This crate measures nothing. It knows the suite only through the data
//! the suite stored (`suite.json`, read as `loadtest::suite::data::Results`,
//! which records the schedule that ran), the way ripgrep's printer knows
//! its searcher only through the matches it is handed. So a change here
//! never makes a measurement stale: redraw with `cargo run --release -p
//! views` (or `loadtest suite --render`), and nothing is measured again.
//!
//! # Layout
//!
//! - [`format`]: how a latency or a size is written.
//! - [`capacity`]: each capacity sweep read back: where it stopped, and why.
//! - [`cost`]: what one request costs each server, against the floor.
//! - [`tables`]: the Markdown tables, and the footer under each.
//! - [`charts`]: the SVG charts (plotters, no system fonts needed).
//! - [`prose`]: sentences computed from the tables.
//! - [`spread`]: medians with their range, and the rule for naming an
//!   order between two servers.
//! - [`claims`]: the popular posts' claims, each with a computed verdict.

pub mod capacity;
pub mod charts;
pub mod claims;
pub mod cost;
pub mod format;
pub mod prose;
pub mod spread;
pub mod tables;

use std::fs;
use std::path::Path;

use anyhow::Context as _;
use loadtest::suite::data::Results;
use registry::Step;

/// Reads `suite.json` in `folder` and writes every view beside it.
pub fn render(folder: &Path) -> anyhow::Result<()> {
    let results = Results::read(&folder.join("suite.json"))?;
    write_views(folder, &results)
}

/// Writes the tables, sentences and charts of `results` into `out`.
pub fn write_views(out: &Path, results: &Results) -> anyhow::Result<()> {
    let schedule = &results.schedule;
    write_file(out, "machine.md", &results.stamp.to_markdown())?;
    let footer = tables::footer(results);
    let page = |name: &str, text: String| write_file(out, name, &(text + &footer));
    page("staircase.md", tables::staircase(results, None))?;
    page("staircase-steps.md", tables::staircase_steps(results))?;
    page("million-arithmetic.md", tables::million_arithmetic(results))?;
    page("million-step.md", tables::million_step(results))?;
    for server in results.servers() {
        page(
            &format!("{}.md", server.name),
            tables::staircase(results, Some(server.name)),
        )?;
    }
    page("mixed.md", tables::mixed(results))?;
    page("threads.md", tables::threads(results))?;
    page("throughput.md", tables::throughput(results))?;
    page("pinning.md", tables::pinning(results))?;
    page("cost.md", tables::cost(results))?;
    page("cost-summary.md", prose::cost_summary(results))?;
    page("sanity.md", tables::sanity(results))?;
    page("timing.md", tables::timing(results))?;
    page("stalled.md", tables::stalled(results))?;
    page("capacity.md", tables::capacity(results, Step::Capacity))?;
    page(
        "capacity-mixed.md",
        tables::capacity(results, Step::CapacityMixed),
    )?;
    page("workers.md", tables::workers(results))?;
    page("capacity-summary.md", prose::capacity_summary(results))?;
    page("cpu-batch.md", tables::cpu_batch(results))?;
    page("summary.md", prose::summary(results, schedule))?;
    page("threads-summary.md", prose::threads_summary(results))?;
    page("peers-summary.md", prose::peers_summary(results))?;
    page(
        "05-event-loop-targets.md",
        prose::event_loop_targets(results),
    )?;
    page(
        "05-event-loop-floor.md",
        prose::event_loop_at_the_floor(&cost::costs(results)),
    )?;
    page("claims.md", claims::claims(results, schedule))?;
    page(
        "mixed-arithmetic.md",
        prose::mixed_arithmetic(results, schedule),
    )?;
    write_file(out, "latency.svg", &charts::latency(results)?)?;
    write_file(out, "memory.svg", &charts::memory(results)?)?;
    write_file(out, "mixed.svg", &charts::mixed(results)?)?;
    write_file(out, "capacity.svg", &charts::capacity(results)?)?;
    write_file(out, "cost.svg", &charts::cost(results)?)?;
    for step in [Step::MixedWork, Step::MixedSleep, Step::Stalled] {
        write_file(
            out,
            &format!("{step}-over-time.svg"),
            &charts::over_time(results, step)?,
        )?;
    }
    Ok(())
}

/// Writes `text` to `dir/name`, creating the folder.
fn write_file(dir: &Path, name: &str, text: &str) -> anyhow::Result<()> {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display()))?;
    }
    fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))
}
