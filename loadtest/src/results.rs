//! Writing the suite's results: JSON, Markdown tables, SVG charts, and the
//! sentences the book quotes. Nothing in the book is typed by hand: every
//! figure in it is included from a file this module writes.

use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use serde_json::Value;

use crate::suite::{MODELS, Plan, Results, Run, Workload, outcome, write_file};

/// Writes everything into `out`: the measured data, then the views of it.
pub fn write(out: &Path, results: &Results, plan: &Plan) -> anyhow::Result<()> {
    write_file(out, "suite.json", &serde_json::to_string_pretty(results)?)?;
    for run in &results.runs {
        let name = format!(
            "runs/{}-{}-{}.json",
            run.model,
            run.workload.name(),
            run.connections
        );
        write_file(out, &name, &serde_json::to_string_pretty(&run.report)?)?;
    }
    write_views(out, results, plan)
}

/// Writes the tables, sentences and charts (not the data they come from).
pub fn write_views(out: &Path, results: &Results, plan: &Plan) -> anyhow::Result<()> {
    let stamp = results.stamp.to_markdown();
    write_file(out, "machine.md", &stamp)?;
    let footer = format!(
        "\n*Measured {} on {} ({} cores shared by client and server), commit `{}`, by \
         `cargo run --release --bin loadtest -- suite{}`.*\n",
        results.stamp.date,
        results.stamp.cpu,
        results.stamp.cores,
        results.stamp.commit,
        if results.quick { " --quick" } else { "" }
    );
    write_file(
        out,
        "staircase.md",
        &(staircase_table(&results.runs, None) + &footer),
    )?;
    for model in MODELS {
        let table = staircase_table(&results.runs, Some(model.name));
        write_file(out, &format!("{}.md", model.name), &(table + &footer))?;
    }
    write_file(out, "mixed.md", &(mixed_table(&results.runs) + &footer))?;
    write_file(out, "summary.md", &(summary(&results.runs, plan) + &footer))?;
    write_file(
        out,
        "claims.md",
        &(claims_table(&results.runs, plan) + &footer),
    )?;
    write_file(out, "latency.svg", &latency_chart(&results.runs)?)?;
    write_file(out, "memory.svg", &memory_chart(&results.runs)?)?;
    write_file(out, "mixed.svg", &mixed_chart(&results.runs)?)?;
    Ok(())
}

fn number(value: &Value) -> u64 {
    value.as_u64().unwrap_or(0)
}

fn mib(bytes: u64) -> String {
    format!("{:.1}", bytes as f64 / (1024.0 * 1024.0))
}

fn micros(us: u64) -> String {
    if us >= 10_000 {
        format!("{:.0} ms", us as f64 / 1000.0)
    } else if us >= 1000 {
        format!("{:.1} ms", us as f64 / 1000.0)
    } else {
        format!("{us} µs")
    }
}

fn staircase(runs: &[Run]) -> impl Iterator<Item = &Run> {
    runs.iter().filter(|r| r.workload == Workload::Staircase)
}

/// The staircase as a table, for one model or all.
fn staircase_table(runs: &[Run], only: Option<&str>) -> String {
    let mut table = String::from(
        "| model | connections | server processes | requests/s | what happened | p50 | p99 | p99.9 | RSS loaded | RSS per connection | threads |\n\
         |---|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|\n",
    );
    for run in staircase(runs).filter(|r| only.is_none_or(|m| m == r.model)) {
        let report = &run.report;
        let request = &report["latency_us"]["request"];
        let server = &report["server"];
        // Below a thousand connections the growth is lost in the
        // allocator's and the kernel's page-sized steps: not a figure.
        let per_connection = server["bytes_per_connection"]
            .as_u64()
            .filter(|_| run.connections >= 1000)
            .map_or("–".to_owned(), |b| format!("{b} B"));
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.0} | {}{} | {} | {} | {} | {} MiB | {} | {} |",
            run.model,
            run.connections,
            run.server_processes,
            report["throughput_rps"].as_f64().unwrap_or(0.0),
            outcome(run),
            if run.exited_cleanly {
                ""
            } else {
                "; **did not exit 0 on SIGTERM**"
            },
            micros(number(&request["p50"])),
            micros(number(&request["p99"])),
            micros(number(&request["p999"])),
            mib(number(&server["rss_bytes_loaded"])),
            per_connection,
            number(&server["threads"]),
        );
    }
    table
}

fn mixed_runs(runs: &[Run]) -> impl Iterator<Item = &Run> {
    runs.iter().filter(|r| r.workload != Workload::Staircase)
}

/// The mixed workloads as a table.
fn mixed_table(runs: &[Run]) -> String {
    let mut table = String::from(
        "| model | workload | connections | requests/s | what happened | ECHO p50 | ECHO p99 | ECHO p99.9 | WORK or SLEEP p99 | threads |\n\
         |---|---|---:|---:|---|---:|---:|---:|---:|---:|\n",
    );
    for run in mixed_runs(runs) {
        let report = &run.report;
        let echo = &report["by_request"]["echo"];
        let other = match run.workload {
            Workload::MixedSleep => &report["by_request"]["sleep"],
            _ => &report["by_request"]["work"],
        };
        let _ = writeln!(
            table,
            "| {} | {} | {} | {:.0} | {} | {} | {} | {} | {} | {} |",
            run.model,
            run.workload.name(),
            run.connections,
            report["throughput_rps"].as_f64().unwrap_or(0.0),
            outcome(run),
            micros(number(&echo["p50"])),
            micros(number(&echo["p99"])),
            micros(number(&echo["p999"])),
            micros(number(&other["p99"])),
            number(&report["server"]["threads"]),
        );
    }
    table
}

fn find<'a>(
    runs: &'a [Run],
    model: &str,
    workload: Workload,
    connections: Option<usize>,
) -> Option<&'a Run> {
    runs.iter()
        .filter(|r| r.model == model && r.workload == workload)
        .filter(|r| connections.is_none_or(|c| r.connections == c))
        .max_by_key(|r| r.connections)
}

/// Sentences with the headline figures, for the book's prose.
fn summary(runs: &[Run], plan: &Plan) -> String {
    let mut text = String::new();
    let top = plan.steps.last().copied().unwrap_or(0);
    for model in ["03-async-tokio", "04-hybrid-blocking"] {
        if let Some(run) = find(runs, model, Workload::Staircase, Some(top)) {
            let report = &run.report;
            let failures: u64 = report["errors"]
                .as_object()
                .map_or(0, |e| e.values().map(number).sum());
            let _ = writeln!(
                text,
                "- **{model}** held {} of {top} handshaked connections ({} failures) in {} server \
                 process(es), at {} MiB of RSS in all: **{} bytes per connection**; request p99 {} at {:.0} requests/s.",
                number(&report["handshakes_ok"]),
                failures,
                run.server_processes,
                mib(number(&report["server"]["rss_bytes_loaded"])),
                number(&report["server"]["bytes_per_connection"]),
                micros(number(&report["latency_us"]["request"]["p99"])),
                report["throughput_rps"].as_f64().unwrap_or(0.0),
            );
        }
    }
    if let Some(run) = find(runs, "03-async-tokio", Workload::Staircase, Some(10_000)) {
        let _ = writeln!(
            text,
            "- At 10,000 connections and {:.0} requests/s, 03's ECHO p99 was **{}**.",
            run.rate,
            micros(number(&run.report["latency_us"]["request"]["p99"]))
        );
    }
    if let Some(run) = find(runs, "02-thread-pool", Workload::Staircase, Some(top)) {
        let _ = writeln!(
            text,
            "- **02-thread-pool** at {top} connections: {}.",
            outcome(run)
        );
    }
    if let Some(run) = find(runs, "01-single-thread", Workload::Staircase, Some(top)) {
        let _ = writeln!(
            text,
            "- **01-single-thread** at {top} connections: {}.",
            outcome(run)
        );
    }
    for workload in [Workload::MixedWork, Workload::MixedSleep] {
        let p99 = |model| {
            find(runs, model, workload, None)
                .map(|r| number(&r.report["by_request"]["echo"]["p99"]))
        };
        if let (Some(three), Some(four)) = (p99("03-async-tokio"), p99("04-hybrid-blocking")) {
            let _ = writeln!(
                text,
                "- Under the {} workload, ECHO p99 was {} on 03 and {} on 04: 04's is {:.1}× lower.",
                workload.name(),
                micros(three),
                micros(four),
                three as f64 / four.max(1) as f64
            );
        }
    }
    text
}

/// Popular claims about memory per connection: what was claimed, and for
/// how many connections.
const MEMORY_CLAIMS: [(&str, u64, f64); 2] = [
    (
        "100k connections on a 2-core 4 GB VM, at 3.2 GB",
        100_000,
        3.2e9,
    ),
    ("15k connections in 234 MB", 15_000, 234e6),
];

/// The memory claims against the memory measured at the top step.
fn claims_table(runs: &[Run], plan: &Plan) -> String {
    let top = plan.steps.last().copied().unwrap_or(0);
    let measured = |model| {
        find(runs, model, Workload::Staircase, Some(top))
            .and_then(|r| r.report["server"]["bytes_per_connection"].as_u64())
    };
    let mut table = format!(
        "| claim | bytes per connection claimed | 03 measured at {top} connections | 04 measured at {top} connections |\n\
         |---|---:|---:|---:|\n"
    );
    for (claim, connections, bytes) in MEMORY_CLAIMS {
        let claimed = bytes / connections as f64;
        let cell = |m: Option<u64>| {
            m.map_or("–".to_owned(), |b| {
                format!("{b} B ({:.0}× less)", claimed / b.max(1) as f64)
            })
        };
        let _ = writeln!(
            table,
            "| {claim} | {claimed:.0} B | {} | {} |",
            cell(measured("03-async-tokio")),
            cell(measured("04-hybrid-blocking"))
        );
    }
    table
}

const COLOURS: [RGBColor; 4] = [
    RGBColor(120, 120, 120),
    RGBColor(214, 120, 30),
    RGBColor(30, 100, 200),
    RGBColor(40, 160, 70),
];

type ChartResult = anyhow::Result<String>;

fn chart_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {error:?}")
}

/// p50 and p99 request latency against connections, per model (log-log).
fn latency_chart(runs: &[Run]) -> ChartResult {
    series_chart(
        runs,
        "Request latency vs connections, where all were served (p99 solid, p50 thin)",
        "latency (µs)",
        &[("p99", false), ("p50", true)],
        |run, which| {
            let v = number(&run.report["latency_us"]["request"][which]);
            (v > 0).then_some(v as f64)
        },
    )
}

/// RSS per connection against connections, per model.
fn memory_chart(runs: &[Run]) -> ChartResult {
    series_chart(
        runs,
        "Server RSS per connection vs connections",
        "bytes of RSS per connection",
        &[("bytes_per_connection", false)],
        |run, _| {
            let v = number(&run.report["server"]["bytes_per_connection"]);
            (v > 0 && run.connections >= 1000).then_some(v as f64)
        },
    )
}

/// One line of a chart: model index (its colour), name, dashed, points.
type Series<'a> = (usize, &'a str, bool, Vec<(f64, f64)>);

fn series_chart(
    runs: &[Run],
    title: &str,
    y_label: &str,
    series: &[(&str, bool)],
    value: impl Fn(&Run, &str) -> Option<f64>,
) -> ChartResult {
    let points: Vec<Series> = MODELS
        .iter()
        .enumerate()
        .flat_map(|(i, model)| {
            let value = &value;
            series.iter().map(move |&(which, dashed)| {
                // Only steps where every connection was served: a latency
                // measured on the one client 01 served out of 100k would
                // say nothing about 100k.
                let line = staircase(runs)
                    .filter(|r| r.model == model.name)
                    .filter(|r| r.report["handshakes_ok"] == r.report["connections_requested"])
                    .filter_map(|r| Some((r.connections.max(1) as f64, value(r, which)?)))
                    .collect::<Vec<_>>();
                (i, model.name, dashed, line)
            })
        })
        .collect();
    let all: Vec<(f64, f64)> = points.iter().flat_map(|p| p.3.iter().copied()).collect();
    let max_x = all.iter().map(|p| p.0).fold(10.0, f64::max) * 1.5;
    let max_y = all.iter().map(|p| p.1).fold(10.0, f64::max) * 2.0;
    let min_y = all.iter().map(|p| p.1).fold(max_y, f64::min).max(1.0) / 2.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d((1f64..max_x).log_scale(), (min_y..max_y).log_scale())
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| format!("{y:.0}"))
            .x_desc("connections")
            .y_desc(y_label)
            .draw()
            .map_err(chart_error)?;
        for (i, name, dashed, line) in points {
            if line.is_empty() {
                continue;
            }
            let colour = COLOURS[i];
            let style = ShapeStyle::from(&colour).stroke_width(if dashed { 1 } else { 2 });
            let drawn = chart
                .draw_series(LineSeries::new(line.clone(), style))
                .map_err(chart_error)?;
            if !dashed {
                drawn.label(name).legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
            }
            chart
                .draw_series(line.into_iter().map(|p| Circle::new(p, 3, colour.filled())))
                .map_err(chart_error)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// ECHO p99 under each mixed workload, one bar per model.
fn mixed_chart(runs: &[Run]) -> ChartResult {
    let bars: Vec<(String, usize, f64)> = mixed_runs(runs)
        .filter_map(|run| {
            let model = MODELS.iter().position(|m| m.name == run.model)?;
            let p99 = number(&run.report["by_request"]["echo"]["p99"]) as f64;
            Some((
                format!("{} {}", &run.model[..2], run.workload.name()),
                model,
                p99.max(1.0),
            ))
        })
        .collect();
    let max_y = bars.iter().map(|b| b.2).fold(10.0, f64::max) * 2.0;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (760, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_error)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "ECHO p99 under mixed load (lower is better)",
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(60)
            .y_label_area_size(70)
            .build_cartesian_2d(
                (0..bars.len().saturating_sub(1)).into_segmented(),
                (1f64..max_y).log_scale(),
            )
            .map_err(chart_error)?;
        let labels: Vec<String> = bars.iter().map(|b| b.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(bars.len().max(1))
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => labels.get(*i).cloned().unwrap_or_default(),
                _ => String::new(),
            })
            .y_label_formatter(&|y| format!("{y:.0}"))
            .y_desc("ECHO p99 (µs)")
            .draw()
            .map_err(chart_error)?;
        chart
            .draw_series(bars.iter().enumerate().map(|(i, b)| {
                let mut bar = Rectangle::new(
                    [
                        (SegmentValue::Exact(i), 1.0),
                        (SegmentValue::Exact(i + 1), b.2),
                    ],
                    COLOURS[b.1].filled(),
                );
                bar.set_margin(0, 0, 12, 12);
                bar
            }))
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(
        model: &str,
        connections: usize,
        handshakes: u64,
        busy: u64,
        per_connection: u64,
    ) -> Run {
        Run {
            model: model.into(),
            workload: Workload::Staircase,
            connections,
            rate: 1000.0,
            server_processes: 1,
            report: json!({
                "connections_requested": connections,
                "handshakes_ok": handshakes,
                "throughput_rps": 999.0,
                "errors": {"busy": busy, "timeout": 0},
                "latency_us": {"request": {"p50": 90, "p99": 1500, "p999": 20000}},
                "server": {"rss_bytes_loaded": 3 << 20, "bytes_per_connection": per_connection, "threads": 4},
            }),
            exited_cleanly: true,
            final_lines: Vec::new(),
        }
    }

    #[test]
    fn tables_say_what_happened_and_hide_noise() {
        let runs = vec![
            run("03-async-tokio", 10, 10, 0, 99_999),
            run("03-async-tokio", 100_000, 100_000, 0, 1500),
            run("02-thread-pool", 1000, 256, 744, 15_000),
        ];
        let table = staircase_table(&runs, None);
        assert!(table.contains("| 03-async-tokio | 10 | 1 | 999 | all served | 90 µs | 1.5 ms | 20 ms | 3.0 MiB | – | 4 |"), "{table}");
        assert!(table.contains("| 1500 B |"), "{table}");
        assert!(table.contains("256 of 1000 served, 744 busy"), "{table}");
        assert!(!staircase_table(&runs, Some("02-thread-pool")).contains("03-async-tokio"));
    }

    #[test]
    fn claims_are_held_against_the_top_step() {
        let runs = vec![run("03-async-tokio", 100_000, 100_000, 0, 1600)];
        let table = claims_table(&runs, &Plan::new(false));
        assert!(
            table.contains("| 32000 B | 1600 B (20× less) | – |"),
            "{table}"
        );
    }

    #[test]
    fn charts_render_as_svg() {
        let runs = vec![
            run("03-async-tokio", 1000, 1000, 0, 1500),
            run("03-async-tokio", 10_000, 10_000, 0, 1400),
        ];
        for svg in [
            latency_chart(&runs).unwrap(),
            memory_chart(&runs).unwrap(),
            mixed_chart(&runs).unwrap(),
        ] {
            assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
        }
        assert!(latency_chart(&runs).unwrap().contains("03-async-tokio"));
    }
}
