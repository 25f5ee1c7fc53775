//! The bar charts: memory per connection (the kernel's part and the
//! server's), CPU per request, and ECHO p99 under mixed load. Bars lie
//! on their side, a server per row: the names fit on the axis and each
//! figure fits after its bar, in text a reader need not squint at.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use registry::Step;

use super::{
    CAPTION, ChartResult, Flow, Key, SIZE, TALL, TALLER, canvas, chart_error, colour, draw_key,
    micros_label, short_name, text,
};
use crate::format::{micros, ratio};
use crate::spread::Spread;
use crate::tables::{bytes_per_connection, kernel_bytes_per_connection};
use loadtest::metrics::Kind;
use loadtest::suite::data::{Results, Run};

/// The kernel's part of a bar, and the server's own (user space).
const KERNEL: RGBColor = RGBColor(40, 90, 160);
const USER: RGBColor = RGBColor(240, 160, 60);

/// One row of a bar panel.
struct Bar {
    /// The server, on the axis.
    label: String,
    /// The bar's parts, left to right: each a length and its colour.
    parts: Vec<(f64, RGBColor)>,
    /// The range of the rounds, drawn as a black line across the bar's end.
    range: Option<(f64, f64)>,
    /// The figure written after the bar.
    figure: String,
}

impl Bar {
    fn end(&self) -> f64 {
        let length: f64 = self.parts.iter().map(|p| p.0).sum();
        self.range.map_or(length, |r| r.1.max(length))
    }
}

/// How a panel's axis maps a value.
#[derive(Clone, Copy)]
enum Scale {
    Linear,
    /// Log: bars start at this value (the axis's left end).
    Log(f64),
}

impl Scale {
    fn at(self, value: f64) -> f64 {
        match self {
            Scale::Linear => value,
            Scale::Log(_) => value.max(f64::MIN_POSITIVE).log10(),
        }
    }
}

/// A panel of bars on their side, the first bar at the top.
struct BarPanel<'t> {
    caption: String,
    scale: Scale,
    /// The axis's right end, in values: room after the longest bar for its
    /// figure.
    right: f64,
    x_desc: &'t str,
    tick: fn(f64) -> String,
    /// A dashed vertical line (a reference level), in values.
    level: Option<f64>,
}

const ROW_LABEL_AREA: u32 = 112;

impl BarPanel<'_> {
    fn draw(&self, area: &super::Area<'_>, bars: &[Bar]) -> anyhow::Result<()> {
        let rows = bars.len().max(1);
        let left = match self.scale {
            Scale::Linear => 0.0,
            Scale::Log(start) => start.log10(),
        };
        let right = self.scale.at(self.right);
        // Row i of `bars` sits in segment rows-1-i: the first at the top.
        let segment = |i: usize| rows - 1 - i;
        let mut chart = ChartBuilder::on(area)
            .caption(&self.caption, ("sans-serif", CAPTION))
            .margin(8)
            .margin_right(16)
            .x_label_area_size(44)
            .y_label_area_size(ROW_LABEL_AREA)
            .build_cartesian_2d(left..right, (0..rows - 1).into_segmented())
            .map_err(chart_error)?;
        let scale = self.scale;
        let tick = self.tick;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .light_line_style(TRANSPARENT)
            // The rows' names are drawn with the bars, beside each: the
            // mesh would place them where its ticks fall, not per row.
            .y_labels(rows)
            .y_label_formatter(&|_| String::new())
            .x_label_formatter(&|x| match scale {
                Scale::Linear => tick(*x),
                Scale::Log(_) => tick(10f64.powf(*x)),
            })
            .x_desc(self.x_desc)
            .label_style(text())
            .axis_desc_style(text())
            .draw()
            .map_err(chart_error)?;
        for (i, bar) in bars.iter().enumerate() {
            let row = segment(i);
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((left, SegmentValue::CenterOf(row)))
                        + Text::new(
                            bar.label.clone(),
                            (-8, 0),
                            text().pos(Pos::new(HPos::Right, VPos::Center)),
                        ),
                ))
                .map_err(chart_error)?;
            let mut from = 0.0;
            for &(length, colour) in &bar.parts {
                let (x0, x1) = match scale {
                    Scale::Linear => (from, from + length),
                    Scale::Log(_) => (left, scale.at(from + length)),
                };
                let mut block = Rectangle::new(
                    [
                        (x0, SegmentValue::Exact(row)),
                        (x1, SegmentValue::Exact(row + 1)),
                    ],
                    colour.filled(),
                );
                block.set_margin(5, 5, 0, 0);
                chart
                    .draw_series(std::iter::once(block))
                    .map_err(chart_error)?;
                from += length;
            }
            if let Some((low, high)) = bar.range {
                chart
                    .draw_series(std::iter::once(PathElement::new(
                        vec![
                            (scale.at(low), SegmentValue::CenterOf(row)),
                            (scale.at(high), SegmentValue::CenterOf(row)),
                        ],
                        BLACK.stroke_width(2),
                    )))
                    .map_err(chart_error)?;
            }
            chart
                .draw_series(std::iter::once(
                    EmptyElement::at((scale.at(bar.end()), SegmentValue::CenterOf(row)))
                        + Text::new(
                            bar.figure.clone(),
                            (6, 0),
                            text().pos(Pos::new(HPos::Left, VPos::Center)),
                        ),
                ))
                .map_err(chart_error)?;
        }
        if let Some(level) = self.level {
            chart
                .draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                    vec![
                        (scale.at(level), SegmentValue::Exact(0)),
                        (scale.at(level), SegmentValue::Exact(rows)),
                    ],
                    6,
                    4,
                    BLACK.stroke_width(1),
                )))
                .map_err(chart_error)?;
        }
        Ok(())
    }
}

/// Room after the longest bar for its figure: the axis ends this many
/// times further right on a linear scale.
const ROOM_FOR_FIGURES: f64 = 1.55;

/// Bytes per connection at each large staircase step and at the million
/// step (when it ran), a bar per server that held every connection: the
/// kernel's part (the socket and its bookkeeping, from the slab deltas)
/// then the server's RSS. A model's own bytes read beside a kernel's part
/// they cannot go below.
pub fn memory(results: &Results) -> ChartResult {
    let bar_of = |run: &Run| -> Option<Bar> {
        let user = bytes_per_connection(run)?;
        let kernel = kernel_bytes_per_connection(run)?;
        Some(Bar {
            label: short_name(&run.server),
            parts: vec![(kernel as f64, KERNEL), (user as f64, USER)],
            range: None,
            figure: format!("RSS {user} B of {} B", user + kernel),
        })
    };
    // The staircase's large steps, and the million step when it ran.
    let held: Vec<&Run> = results
        .of(Step::Staircase)
        .filter(|r| r.connections >= 10_000)
        .chain(results.of(Step::Million))
        .filter(|r| r.all_served() && bar_of(r).is_some())
        .collect();
    let mut steps: Vec<usize> = held.iter().map(|r| r.connections).collect();
    steps.sort_unstable();
    steps.dedup();
    let panels: Vec<(usize, Vec<Bar>)> = steps
        .iter()
        .map(|&size| {
            let bars = results
                .servers()
                .filter_map(|server| {
                    let run = held
                        .iter()
                        .find(|r| r.server == server.name && r.connections == size)?;
                    bar_of(run)
                })
                .collect();
            (size, bars)
        })
        .collect();
    let longest = panels
        .iter()
        .flat_map(|(_, bars)| bars.iter().map(Bar::end))
        .fold(1000.0, f64::max);
    let size = match panels.len() {
        0 | 1 => SIZE,
        2 => TALL,
        _ => TALLER,
    };
    let mut svg = String::new();
    {
        let root = canvas(
            &mut svg,
            results,
            size,
            "Memory per connection, the server's end (lower is better)",
        )?;
        let keys = [
            Key::Block(KERNEL, "the kernel's part".to_owned()),
            Key::Block(USER, "the server's RSS".to_owned()),
        ];
        draw_key(&root, (ROW_LABEL_AREA as i32, 12), &keys, Flow::Across)?;
        let root = root.margin(26, 0, 0, 0);
        let areas = root.split_evenly((panels.len().max(1), 1));
        for (area, (size, bars)) in areas.iter().zip(&panels) {
            BarPanel {
                caption: if held
                    .iter()
                    .any(|r| r.connections == *size && r.step == Step::Million)
                {
                    format!("{size} connections, the servers of the million step")
                } else {
                    format!("{size} connections, servers that held them all")
                },
                scale: Scale::Linear,
                right: longest * ROOM_FOR_FIGURES,
                x_desc: "bytes per connection",
                tick: |x| format!("{x:.0}"),
                level: None,
            }
            .draw(area, bars)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The server's CPU per ECHO request, the kernel's part then user
/// space's, a bar per server, the floor first: each bar as long as the
/// median of the totals (split in the proportion of the two parts'
/// medians, so that the bar and its figure agree), the range of the
/// totals as a line, a dashed line at the floor's.
pub fn cost(results: &Results) -> ChartResult {
    let costs = crate::cost::costs(results);
    let floor = crate::cost::floor(&costs).map(|f| f.total_us.median);
    let bars: Vec<Bar> = costs
        .iter()
        .map(|c| {
            let both = (c.kernel_us.median + c.user_us.median).max(f64::EPSILON);
            let kernel = c.total_us.median * c.kernel_us.median / both;
            let times = floor.map_or(String::new(), |f| {
                format!(", {}", ratio(c.total_us.median / f.max(f64::EPSILON)))
            });
            Bar {
                label: short_name(c.server),
                parts: vec![(kernel, KERNEL), (c.total_us.median - kernel, USER)],
                range: Some((c.total_us.min, c.total_us.max)),
                figure: format!("{:.1} µs{times}", c.total_us.median),
            }
        })
        .collect();
    let longest = bars.iter().map(Bar::end).fold(1.0, f64::max);
    let mut svg = String::new();
    {
        let root = canvas(
            &mut svg,
            results,
            SIZE,
            "Server CPU per ECHO request: median of the rounds, line = range",
        )?;
        let mut keys = vec![
            Key::Block(KERNEL, "kernel".to_owned()),
            Key::Block(USER, "user space".to_owned()),
        ];
        if floor.is_some() {
            keys.push(Key::Dashed("the floor's total".to_owned()));
        }
        draw_key(&root, (ROW_LABEL_AREA as i32, 12), &keys, Flow::Across)?;
        let area = root.margin(26, 0, 0, 0);
        BarPanel {
            caption: String::new(),
            scale: Scale::Linear,
            right: longest * ROOM_FOR_FIGURES,
            x_desc: "µs of CPU per request, lower is better (× the floor after each bar)",
            tick: |x| format!("{x:.0}"),
            level: floor,
        }
        .draw(&area, &bars)?;
        area.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// ECHO p99 under each mixed workload: a panel per workload, a bar per
/// server, on one log scale so that a 70× gap looks like one; the median
/// of the rounds, their range as a line.
pub fn mixed(results: &Results) -> ChartResult {
    let steps = [Step::MixedWork, Step::MixedSleep];
    let bars_of = |step| -> Vec<Bar> {
        results
            .servers()
            .filter_map(|server| {
                let rounds = results.rounds(server.name, step, None);
                let p99 = Spread::over(&rounds, |r| Some(r.report.kind(Kind::Echo)?.p99 as f64))?;
                Some(Bar {
                    label: short_name(server.name),
                    parts: vec![(p99.median.max(1.0), colour(server.name))],
                    range: Some((p99.min.max(1.0), p99.max.max(1.0))),
                    figure: micros(p99.median as u64),
                })
            })
            .collect()
    };
    let panels: Vec<(Step, Vec<Bar>)> = steps.iter().map(|&s| (s, bars_of(s))).collect();
    let values = || panels.iter().flat_map(|(_, bars)| bars.iter());
    let longest = values().map(Bar::end).fold(10.0, f64::max);
    let shortest = values()
        .map(|b| b.parts[0].0)
        .fold(longest, f64::min)
        .max(1.0);
    // From the power of ten below the fastest, to room for the slowest's
    // figure (a log axis needs a factor, not a margin).
    let start = 10f64.powf(shortest.log10().floor());
    let right = longest * (longest / start).powf(0.35);
    let mut svg = String::new();
    {
        let root = canvas(
            &mut svg,
            results,
            TALL,
            "ECHO p99 under mixed load: median of the rounds, line = range (lower is better)",
        )?;
        let areas = root.split_evenly((panels.len(), 1));
        for (area, (step, bars)) in areas.iter().zip(&panels) {
            BarPanel {
                caption: step.to_string(),
                scale: Scale::Log(start),
                right,
                x_desc: "ECHO p99 (log scale)",
                tick: micros_label,
                level: None,
            }
            .draw(area, bars)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    #[test]
    fn the_memory_bars_say_the_servers_rss_and_the_whole() {
        let mut results = results_with(&[
            ("05-event-loop", Step::Staircase, 10_000, 10_000),
            ("02-thread-pool", Step::Staircase, 10_000, 128),
        ]);
        for run in &mut results.runs {
            let server = run.report.server.as_mut().unwrap();
            server.bytes_per_connection = Some(203);
            server.kernel_slab_bytes = Some(10_000 * 2 * 3969);
        }
        let svg = memory(&results).unwrap();
        let kernel = kernel_bytes_per_connection(&results.runs[0]).unwrap();
        assert!(
            svg.contains(&format!("RSS 203 B of {} B", 203 + kernel)),
            "{svg}"
        );
        assert!(!svg.contains("\n02 pool\n"), "02 held 128 of 10000: no bar");
        assert!(svg.contains("the kernel&apos;s part"), "{svg}");
    }

    #[test]
    fn the_mixed_bars_name_each_server_and_workload() {
        let results = results_with(&[
            ("03-async-tokio", Step::MixedWork, 100, 100),
            ("05-event-loop", Step::MixedSleep, 100, 100),
        ]);
        let svg = mixed(&results).unwrap();
        assert!(
            svg.contains("\n03\n") && svg.contains("\nmixed-work\n"),
            "{svg}"
        );
        assert!(
            svg.contains("\n05\n") && svg.contains("\nmixed-sleep\n"),
            "{svg}"
        );
    }
}
