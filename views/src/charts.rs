//! The suite's SVG charts (plotters, SVG only, no fonts needed), which the
//! book includes beside the tables.

use plotters::prelude::*;

use crate::spread::Spread;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use registry::Step;

use crate::capacity;
use crate::format::micros;
use crate::tables::bytes_per_connection;
use loadtest::metrics::Kind;
use loadtest::suite::data::{Results, Run};
use loadtest::suite::schedule::CAPACITY_P99_BOUND_US;

/// One colour per registry entry, in registry order.
const COLOURS: [RGBColor; registry::SERVERS.len()] = [
    RGBColor(120, 120, 120),
    RGBColor(214, 120, 30),
    RGBColor(150, 60, 160),
    RGBColor(30, 100, 200),
    RGBColor(40, 160, 70),
    RGBColor(225, 110, 185),
    RGBColor(0, 160, 170),
    RGBColor(200, 50, 50),
    RGBColor(140, 90, 40),
];

/// The colour of a server in every chart.
fn colour(name: &str) -> RGBColor {
    registry::SERVERS
        .iter()
        .position(|s| s.name == name)
        .map_or(BLACK, |i| COLOURS[i])
}

type ChartResult = anyhow::Result<String>;

fn chart_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {error:?}")
}

/// Every chart's size.
const SIZE: (u32, u32) = (760, 440);

/// The line along the bottom of every chart: a chart copied out of the
/// book still says where and when it was measured.
fn stamp_text(results: &Results) -> String {
    format!(
        "client and server on one {}-core machine · commit {} · {}",
        results.stamp.cores, results.stamp.commit, results.stamp.date
    )
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A white canvas of [`SIZE`] with the stamp along its bottom; returns the
/// area above the stamp, for the chart.
fn stamped_canvas<'a>(svg: &'a mut String, results: &Results) -> anyhow::Result<Area<'a>> {
    stamped_canvas_of(svg, results, SIZE)
}

/// [`stamped_canvas`] of another size.
fn stamped_canvas_of<'a>(
    svg: &'a mut String,
    results: &Results,
    size: (u32, u32),
) -> anyhow::Result<Area<'a>> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let style = ("sans-serif", 13).into_font().color(&RGBColor(90, 90, 90));
    root.draw(&Text::new(
        stamp_text(results),
        (10, size.1 as i32 - 16),
        style,
    ))
    .map_err(chart_error)?;
    Ok(root.margin(0, 18, 0, 0))
}

/// p99 request latency against connections, per server (log-log). The
/// p50s are in the staircase table: two lines per server would double the
/// lines in each panel.
pub fn latency(results: &Results) -> ChartResult {
    series_chart(
        results,
        "Request p99 vs connections (lower is better)",
        "request latency, p99",
        |run| {
            let p99 = run.report.latency_us.request.p99;
            (p99 > 0).then_some(p99 as f64)
        },
    )
}

/// RSS per connection against connections, per server.
pub fn memory(results: &Results) -> ChartResult {
    series_chart(
        results,
        "Server RSS per connection vs connections (lower is better)",
        "bytes of RSS per connection",
        |run| {
            bytes_per_connection(run)
                .filter(|&b| b > 0)
                .map(|b| b as f64)
        },
    )
}

/// One line of a chart: its colour, name and points.
type Series<'a> = (RGBColor, &'a str, Vec<(f64, f64)>);

/// The size of a chart of two stacked panels.
const PANELS_SIZE: (u32, u32) = (760, 760);
/// Room to the right of each panel's plot for its legend, outside the data.
const LEGEND_WIDTH: u32 = 170;
/// Each panel's margin, and the width of its y axis's labels: the legend
/// starts where they and the plot end.
const PANEL_MARGIN: u32 = 8;
const Y_LABEL_AREA: u32 = 70;

/// The servers of each panel: at most six lines in one plot. The Rust
/// models in one; the peers in the other, with 03 drawn again for
/// reference.
fn panels(results: &Results) -> Vec<(&'static str, Vec<&'static registry::Server>)> {
    let models: Vec<_> = results.servers().filter(|s| s.is_rust_model()).collect();
    let mut peers: Vec<_> = results.servers().filter(|s| !s.is_rust_model()).collect();
    if peers.is_empty() {
        return vec![("the Rust models", models)];
    }
    if let Some(tokio) = models.iter().find(|s| s.name == registry::ASYNC_TOKIO.name) {
        peers.insert(0, tokio);
    }
    vec![
        ("the Rust models", models),
        ("the peers, with 03 for reference", peers),
    ]
}

fn series_chart(
    results: &Results,
    title: &str,
    y_label: &str,
    value: impl Fn(&Run) -> Option<f64>,
) -> ChartResult {
    // Only steps where every connection was served: a latency measured on
    // the one client 01 served out of 100k would say nothing about 100k.
    // Those steps get a cross instead.
    let line_of = |name: &str| -> Vec<(f64, f64)> {
        results
            .of(Step::Staircase)
            .filter(|r| r.server == name && r.all_served())
            .filter_map(|r| Some((r.connections.max(1) as f64, value(r)?)))
            .collect()
    };
    let crosses = stopped_serving(results, &value);
    // One scale for both panels, so that their lines compare.
    let all: Vec<(f64, f64)> = results
        .servers()
        .flat_map(|server| line_of(server.name))
        .chain(crosses.iter().map(|c| c.1))
        .collect();
    let max_x = all.iter().map(|p| p.0).fold(10.0, f64::max) * 1.5;
    // From the first step drawn: memory per connection starts at 1000.
    let min_x = (all.iter().map(|p| p.0).fold(max_x, f64::min) / 1.5).max(0.7);
    let max_y = all.iter().map(|p| p.1).fold(10.0, f64::max) * 2.0;
    let min_y = all.iter().map(|p| p.1).fold(max_y, f64::min).max(1.0) / 2.0;
    let is_latency = y_label.contains("latency");
    let panels = panels(results);
    let size = if panels.len() > 1 { PANELS_SIZE } else { SIZE };
    let mut svg = String::new();
    {
        let root = stamped_canvas_of(&mut svg, results, size)?;
        let root = root
            .titled(title, ("sans-serif", 18))
            .map_err(chart_error)?;
        let areas = root.split_evenly((panels.len(), 1));
        for (area, (panel, servers)) in areas.iter().zip(&panels) {
            let lines: Vec<Series> = servers
                .iter()
                .map(|server| (colour(server.name), server.name, line_of(server.name)))
                .collect();
            let names: Vec<&str> = servers.iter().map(|s| s.name).collect();
            let marks: Vec<StopMark> = crosses
                .iter()
                .filter(|c| names.contains(&c.3.as_str()))
                .cloned()
                .collect();
            let mut chart = ChartBuilder::on(area)
                .caption(*panel, ("sans-serif", 15))
                .margin(PANEL_MARGIN)
                .margin_right(LEGEND_WIDTH)
                .x_label_area_size(36)
                .y_label_area_size(Y_LABEL_AREA)
                .build_cartesian_2d((min_x..max_x).log_scale(), (min_y..max_y).log_scale())
                .map_err(chart_error)?;
            chart
                .configure_mesh()
                .x_label_formatter(&|x| format!("{x:.0}"))
                .y_label_formatter(&|y| {
                    if is_latency {
                        micros_label(*y)
                    } else {
                        round_bytes_label(*y)
                    }
                })
                .x_desc("connections")
                .y_desc(y_label)
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(chart_error)?;
            for (colour, _, line) in &lines {
                let style = ShapeStyle::from(colour).stroke_width(3);
                chart
                    .draw_series(LineSeries::new(line.clone(), style))
                    .map_err(chart_error)?;
                chart
                    .draw_series(line.iter().map(|&p| Circle::new(p, 3, colour.filled())))
                    .map_err(chart_error)?;
            }
            draw_crosses(&mut chart, &marks)?;
            let plot_width = chart.plotting_area().dim_in_pixel().0;
            draw_legend(area, &lines, !marks.is_empty(), plot_width)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The legend of one panel, to the right of its plot: never over a line.
fn draw_legend(
    area: &Area<'_>,
    lines: &[Series],
    crosses: bool,
    plot_width: u32,
) -> anyhow::Result<()> {
    let x = (PANEL_MARGIN + Y_LABEL_AREA + plot_width) as i32 + 14;
    let font = ("sans-serif", 13).into_font();
    let mut y = 40;
    for (colour, name, _) in lines {
        area.draw(&PathElement::new(
            vec![(x, y), (x + 20, y)],
            colour.stroke_width(3),
        ))
        .map_err(chart_error)?;
        area.draw(&Text::new(
            short_name(name),
            (x + 26, y),
            font.clone()
                .color(&BLACK)
                .pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(chart_error)?;
        y += 20;
    }
    if crosses {
        area.draw(&Cross::new((x + 10, y), 5, BLACK.stroke_width(2)))
            .map_err(chart_error)?;
        area.draw(&Text::new(
            "not all served",
            (x + 26, y),
            font.color(&BLACK).pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(chart_error)?;
    }
    Ok(())
}

/// Where a server stopped serving every connection: its colour, the point
/// (connections, its value there) and what happened, e.g. `1 of 10 served`.
type StopMark = (RGBColor, (f64, f64), String, String);

/// The first staircase step of each server where not every connection was
/// served, placed at its value there (when it has one).
fn stopped_serving(results: &Results, value: &impl Fn(&Run) -> Option<f64>) -> Vec<StopMark> {
    results
        .servers()
        .filter_map(|server| {
            let run = results
                .of(Step::Staircase)
                .find(|r| r.server == server.name && !r.all_served())?;
            let y = value(run)?;
            let text = format!(
                "{}: {} of {} served",
                short_name(&run.server),
                run.report.handshakes_ok,
                run.report.connections_requested
            );
            Some((
                colour(server.name),
                (run.connections as f64, y),
                text,
                server.name.to_owned(),
            ))
        })
        .collect()
}

type LogLog<'a> = ChartContext<
    'a,
    SVGBackend<'a>,
    Cartesian2d<
        plotters::coord::combinators::LogCoord<f64>,
        plotters::coord::combinators::LogCoord<f64>,
    >,
>;

/// A cross and its words at each [`StopMark`], with one legend entry.
fn draw_crosses(chart: &mut LogLog, crosses: &[StopMark]) -> anyhow::Result<()> {
    if crosses.is_empty() {
        return Ok(());
    }
    chart
        .draw_series(
            crosses
                .iter()
                .map(|(colour, at, _, _)| Cross::new(*at, 7, colour.stroke_width(3))),
        )
        .map_err(chart_error)?;
    chart
        .draw_series(crosses.iter().map(|(colour, at, text, _)| {
            // Ending left of the cross: the last step is at the right edge.
            Text::new(
                format!("{text}  "),
                *at,
                ("sans-serif", 13)
                    .into_font()
                    .color(colour)
                    .pos(Pos::new(HPos::Right, VPos::Center)),
            )
        }))
        .map_err(chart_error)?;
    Ok(())
}

/// The median round (by its headline figure) of the measurement `run`
/// belongs to: the same server, step, connections, rate and pinning.
fn median_round<'a>(results: &'a Results, run: &Run) -> &'a Run {
    let mut rounds: Vec<&Run> = results
        .of(run.step)
        .filter(|r| {
            r.server == run.server
                && r.connections == run.connections
                && r.rate == run.rate
                && r.pinned() == run.pinned()
        })
        .collect();
    rounds.sort_by(|a, b| a.headline().total_cmp(&b.headline()));
    rounds[rounds.len().saturating_sub(1) / 2]
}

/// ECHO p99 under each mixed workload: a panel per workload, a bar per
/// server labelled with its short name, on one log scale so that a 70×
/// gap looks like one.
pub fn mixed(results: &Results) -> ChartResult {
    let steps = [Step::MixedWork, Step::MixedSleep];
    // The median of the rounds, with their range drawn as a line.
    let bars_of = |step| -> Vec<Bar> {
        results
            .servers()
            .filter_map(|server| {
                let rounds = results.rounds(server.name, step, None);
                let p99 = Spread::over(&rounds, |r| Some(r.report.kind(Kind::Echo)?.p99 as f64))?;
                Some(Bar {
                    label: short_name(server.name),
                    colour: colour(server.name),
                    value: p99.median.max(1.0),
                    range: (p99.min.max(1.0), p99.max.max(1.0)),
                })
            })
            .collect()
    };
    let max_y = steps
        .iter()
        .flat_map(|&step| bars_of(step))
        .map(|b| b.range.1)
        .fold(10.0, f64::max)
        * 2.0;
    let mut svg = String::new();
    {
        let root = stamped_canvas(&mut svg, results)?;
        let root = root
            .titled(
                "ECHO p99 under mixed load: median of the rounds, line = range (lower is better)",
                ("sans-serif", 18),
            )
            .map_err(chart_error)?;
        let panels = root.split_evenly((1, 2));
        for (panel, step) in panels.iter().zip(steps) {
            bar_panel(panel, &step.to_string(), &bars_of(step), max_y)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The server's CPU per ECHO request, kernel under user, a bar per server,
/// the floor first: each bar as tall as the median of the totals (split in
/// the kernel's and user space's shares of the medians, so that the bar
/// and its label agree), a line for the range of the totals, a dashed line
/// at the floor's.
pub fn cost(results: &Results) -> ChartResult {
    let costs = crate::cost::costs(results);
    let kernel_colour = RGBColor(40, 90, 160);
    let user_colour = RGBColor(240, 160, 60);
    let top = costs.iter().map(|c| c.total_us.max).fold(1.0, f64::max) * 1.3;
    let mut svg = String::new();
    {
        let root = stamped_canvas(&mut svg, results)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                "Server CPU per ECHO request: median of the rounds, line = range (lower is better)",
                ("sans-serif", 17),
            )
            .margin(10)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(
                (0..costs.len().saturating_sub(1)).into_segmented(),
                0f64..top,
            )
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(costs.len().max(1))
            .x_label_formatter(&|x| match x {
                SegmentValue::CenterOf(i) => costs
                    .get(*i)
                    .map(|c| short_name(c.server))
                    .unwrap_or_default(),
                _ => String::new(),
            })
            .label_style(("sans-serif", 13))
            .y_desc("µs of CPU per request")
            .axis_desc_style(("sans-serif", 13))
            .draw()
            .map_err(chart_error)?;
        let block = |i: usize, from: f64, to: f64, colour: RGBColor| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), from),
                    (SegmentValue::Exact(i + 1), to),
                ],
                colour.filled(),
            );
            bar.set_margin(0, 0, 8, 8);
            bar
        };
        // The kernel's part of the median total, in the proportion of the
        // two medians.
        let kernel_part = |c: &crate::cost::Cost| {
            let both = (c.kernel_us.median + c.user_us.median).max(f64::EPSILON);
            c.total_us.median * c.kernel_us.median / both
        };
        chart
            .draw_series(
                costs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| block(i, 0.0, kernel_part(c), kernel_colour)),
            )
            .map_err(chart_error)?
            .label("kernel")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], kernel_colour.filled())
            });
        chart
            .draw_series(
                costs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| block(i, kernel_part(c), c.total_us.median, user_colour)),
            )
            .map_err(chart_error)?
            .label("user space")
            .legend(move |(x, y)| {
                Rectangle::new([(x, y - 6), (x + 14, y + 6)], user_colour.filled())
            });
        chart
            .draw_series(costs.iter().enumerate().map(|(i, c)| {
                PathElement::new(
                    vec![
                        (SegmentValue::CenterOf(i), c.total_us.min),
                        (SegmentValue::CenterOf(i), c.total_us.max),
                    ],
                    BLACK.stroke_width(2),
                )
            }))
            .map_err(chart_error)?;
        chart
            .draw_series(costs.iter().enumerate().map(|(i, c)| {
                Text::new(
                    format!("{:.1}", c.total_us.median),
                    (SegmentValue::CenterOf(i), c.total_us.max + top * 0.015),
                    TextStyle::from(("sans-serif", 13)).pos(Pos::new(HPos::Center, VPos::Bottom)),
                )
            }))
            .map_err(chart_error)?;
        if let Some(floor) = crate::cost::floor(&costs) {
            let level = floor.total_us.median;
            chart
                .draw_series(std::iter::once(plotters::element::DashedPathElement::new(
                    vec![
                        (SegmentValue::Exact(0), level),
                        (SegmentValue::Exact(costs.len()), level),
                    ],
                    6,
                    4,
                    BLACK.stroke_width(1),
                )))
                .map_err(chart_error)?
                .label("the floor's total")
                .legend(|(x, y)| {
                    PathElement::new(vec![(x, y), (x + 14, y)], BLACK.stroke_width(1))
                });
        }
        // The legend in the top left: the floor's bar, first and lowest,
        // leaves that corner empty.
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .label_font(("sans-serif", 13))
            .background_style(WHITE.mix(0.9))
            .border_style(RGBColor(200, 200, 200))
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// One bar of [`mixed`]: a server's median, and the range of its rounds.
struct Bar {
    label: String,
    colour: RGBColor,
    value: f64,
    range: (f64, f64),
}

/// One panel of [`mixed`]: labelled bars on a log scale, each with the
/// range of its rounds.
fn bar_panel(
    area: &DrawingArea<SVGBackend, plotters::coord::Shift>,
    title: &str,
    bars: &[Bar],
    max_y: f64,
) -> anyhow::Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 15))
        .margin(8)
        .x_label_area_size(30)
        .y_label_area_size(60)
        .build_cartesian_2d(
            (0..bars.len().saturating_sub(1)).into_segmented(),
            (1f64..max_y).log_scale(),
        )
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_labels(bars.len().max(1))
        .x_label_formatter(&|x| match x {
            SegmentValue::CenterOf(i) => bars.get(*i).map(|b| b.label.clone()).unwrap_or_default(),
            _ => String::new(),
        })
        .label_style(("sans-serif", 13))
        .y_label_formatter(&|y| micros_label(*y))
        .y_desc("ECHO p99")
        .draw()
        .map_err(chart_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            let mut bar = Rectangle::new(
                [
                    (SegmentValue::Exact(i), 1.0),
                    (SegmentValue::Exact(i + 1), b.value),
                ],
                b.colour.filled(),
            );
            bar.set_margin(0, 0, 6, 6);
            bar
        }))
        .map_err(chart_error)?;
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            PathElement::new(
                vec![
                    (SegmentValue::CenterOf(i), b.range.0),
                    (SegmentValue::CenterOf(i), b.range.1),
                ],
                BLACK.stroke_width(2),
            )
        }))
        .map_err(chart_error)?;
    // The median above each range: a log scale shows the ratio, the label
    // the size.
    chart
        .draw_series(bars.iter().enumerate().map(|(i, b)| {
            Text::new(
                micros(b.value as u64),
                (SegmentValue::CenterOf(i), b.range.1 * 1.15),
                TextStyle::from(("sans-serif", 13)).pos(Pos::new(HPos::Center, VPos::Bottom)),
            )
        }))
        .map_err(chart_error)?;
    Ok(())
}

/// A byte tick label at 1, 2 and 5 × 10ⁿ only: a log axis labelled at
/// every minor tick is a column of numbers nobody reads.
fn round_bytes_label(bytes: f64) -> String {
    let magnitude = 10f64.powf(bytes.log10().floor());
    let leading = (bytes / magnitude).round() as u64;
    if [1, 2, 5].contains(&leading) && (bytes / magnitude - leading as f64).abs() < 0.01 {
        format!("{bytes:.0} B")
    } else {
        String::new()
    }
}

/// A tick label in the unit a reader takes in: 100 µs, 10 ms, 1 s.
fn micros_label(us: f64) -> String {
    if us >= 1e6 {
        format!("{:.0} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.0} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

/// A line of the over-time chart: its colour, its server, its points.
type Line<'a> = (RGBColor, &'a str, Vec<(f64, f64)>);

/// ECHO p99, second by second, of every server under one mixed
/// workload: a stall shows as a peak where the whole run's p99 is one
/// number.
pub fn over_time(results: &Results, step: Step) -> ChartResult {
    // One line per server (and loop): its median round, so that the
    // chart reads as one run of each, not three.
    let mut median_rounds: Vec<&Run> = Vec::new();
    for run in results.of(step) {
        let median = median_round(results, run);
        if !median_rounds.iter().any(|r| std::ptr::eq(*r, median)) {
            median_rounds.push(median);
        }
    }
    let lines: Vec<Line> = median_rounds
        .into_iter()
        .map(|run| {
            // The stalled step runs one server twice: the closed loop in black.
            let (colour, name) = match (run.step, run.rate) {
                (Step::Stalled, None) => (BLACK, "closed loop"),
                (Step::Stalled, Some(_)) => (colour(&run.server), "open loop"),
                _ => (colour(&run.server), run.server.as_str()),
            };
            // ECHO's own p99: under a mixed load the slow kind would fill
            // the p99 of every server alike. Only whole intervals: the last
            // one holds just the stragglers answered after the end.
            let points = run
                .report
                .intervals
                .iter()
                .filter(|i| i.complete)
                .filter_map(|i| Some((i.start_s, i.by_request.get(&Kind::Echo)?.p99)))
                .filter(|&(_, p99)| p99 > 0)
                .map(|(start, p99)| (start, p99 as f64 / 1000.0))
                .collect();
            (colour, name, points)
        })
        .collect();
    let all: Vec<(f64, f64)> = lines.iter().flat_map(|l| l.2.iter().copied()).collect();
    let max_x = all.iter().map(|p| p.0).fold(1.0, f64::max) + 1.0;
    let max_y = all.iter().map(|p| p.1).fold(1.0, f64::max) * 3.0;
    let min_y = all.iter().map(|p| p.1).fold(max_y, f64::min).max(0.01) / 2.0;
    let mut svg = String::new();
    {
        let root = stamped_canvas(&mut svg, results)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("ECHO p99 second by second, {step} (lower is better)"),
                ("sans-serif", 18),
            )
            .margin(12)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..max_x, (min_y..max_y).log_scale())
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .x_label_formatter(&|x| format!("{x:.0}"))
            .y_label_formatter(&|y| micros_label(y * 1000.0))
            .x_desc("seconds into the run")
            .y_desc("ECHO p99 of that second")
            .draw()
            .map_err(chart_error)?;
        for (colour, name, points) in lines {
            if points.is_empty() {
                continue;
            }
            chart
                .draw_series(LineSeries::new(points, colour.stroke_width(2)))
                .map_err(chart_error)?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .draw()
            .map_err(chart_error)?;
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// The hockey stick: ECHO p99 (thick) and p50 (thin) against the offered
/// rate, a line per server, a panel per connection count, the bound as a
/// dashed line. A rate the tester could not offer is a hollow triangle.
pub fn capacity(results: &Results) -> ChartResult {
    let mut sizes: Vec<usize> = results.of(Step::Capacity).map(|r| r.connections).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let rates: Vec<f64> = results.of(Step::Capacity).filter_map(|r| r.rate).collect();
    let min_x = rates.iter().copied().fold(f64::MAX, f64::min).min(1000.0) / 1.5;
    let max_x = rates.iter().copied().fold(1000.0, f64::max) * 1.5;
    let p99s: Vec<f64> = results
        .of(Step::Capacity)
        .map(|r| capacity::echo_p99(r) as f64)
        .collect();
    let max_y = p99s
        .iter()
        .copied()
        .fold(CAPACITY_P99_BOUND_US as f64, f64::max)
        * 3.0;
    let mut svg = String::new();
    {
        let root = stamped_canvas(&mut svg, results)?;
        let root = root
            .titled(
                "ECHO latency vs offered load: where each server turns up (lower is better)",
                ("sans-serif", 16),
            )
            .map_err(chart_error)?;
        let panels = root.split_evenly((1, sizes.len().max(1)));
        for (index, (panel, &size)) in panels.iter().zip(&sizes).enumerate() {
            let mut chart = ChartBuilder::on(panel)
                .caption(format!("{size} connections"), ("sans-serif", 14))
                .margin(8)
                .x_label_area_size(36)
                .y_label_area_size(56)
                .build_cartesian_2d((min_x..max_x).log_scale(), (10f64..max_y).log_scale())
                .map_err(chart_error)?;
            chart
                .configure_mesh()
                .x_labels(6)
                .x_label_formatter(&|x| format!("{:.0}k", x / 1000.0))
                .y_label_formatter(&|y| micros_label(*y))
                .x_desc("offered requests/s")
                .y_desc("ECHO latency")
                .label_style(("sans-serif", 13))
                .draw()
                .map_err(chart_error)?;
            let bound = CAPACITY_P99_BOUND_US as f64;
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(min_x, bound), (max_x, bound)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(chart_error)?;
            for server in results.servers() {
                // Each rate's tries, drawn as the try its verdict is read
                // from (the median of those the tester did not limit).
                let mut tries: Vec<(f64, Vec<&Run>)> = Vec::new();
                for run in results
                    .of(Step::Capacity)
                    .filter(|r| r.server == server.name && r.connections == size)
                {
                    let rate = run.rate.unwrap_or(0.0);
                    match tries.iter_mut().find(|(r, _)| *r == rate) {
                        Some((_, runs)) => runs.push(run),
                        None => tries.push((rate, vec![run])),
                    }
                }
                tries.sort_by(|a, b| a.0.total_cmp(&b.0));
                let runs: Vec<&Run> = tries
                    .iter()
                    .filter_map(|(_, runs)| Some(capacity::verdict(runs)?.1))
                    .collect();
                if runs.is_empty() {
                    continue;
                }
                let colour = colour(server.name);
                let point = |run: &Run, pick: fn(&loadtest::metrics::Percentiles) -> u64| {
                    let echo = run.report.kind(Kind::Echo)?;
                    Some((run.rate?, (pick(echo) as f64).max(10.0)))
                };
                let p99: Vec<(f64, f64)> =
                    runs.iter().filter_map(|r| point(r, |p| p.p99)).collect();
                let p50: Vec<(f64, f64)> =
                    runs.iter().filter_map(|r| point(r, |p| p.p50)).collect();
                let drawn = chart
                    .draw_series(LineSeries::new(p99.clone(), colour.stroke_width(3)))
                    .map_err(chart_error)?;
                if index == 0 {
                    drawn.label(short_name(server.name)).legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 16, y)], colour.stroke_width(3))
                    });
                }
                chart
                    .draw_series(LineSeries::new(p50, colour.stroke_width(1)))
                    .map_err(chart_error)?;
                chart
                    .draw_series(runs.iter().zip(&p99).map(|(run, &at)| {
                        let limited = run.report.tester_limit().is_some();
                        let style = if limited {
                            colour.stroke_width(2)
                        } else {
                            colour.filled()
                        };
                        EmptyElement::at(at)
                            + TriangleMarker::new((0, 0), if limited { 6 } else { 0 }, style)
                            + Circle::new((0, 0), if limited { 0 } else { 3 }, colour.filled())
                    }))
                    .map_err(chart_error)?;
            }
            if index == 0 {
                for (label, width) in [("p99: thick", 3), ("p50: thin", 1)] {
                    chart
                        .draw_series(LineSeries::new(Vec::<(f64, f64)>::new(), BLACK))
                        .map_err(chart_error)?
                        .label(label)
                        .legend(move |(x, y)| {
                            PathElement::new(vec![(x, y), (x + 16, y)], BLACK.stroke_width(width))
                        });
                }
                chart
                    .draw_series(LineSeries::new(Vec::<(f64, f64)>::new(), BLACK))
                    .map_err(chart_error)?
                    .label(format!("- - {} ms bound", CAPACITY_P99_BOUND_US / 1000))
                    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 6, y)], BLACK));
                chart
                    .draw_series(LineSeries::new(Vec::<(f64, f64)>::new(), BLACK))
                    .map_err(chart_error)?
                    .label("tester-limited")
                    .legend(|(x, y)| TriangleMarker::new((x + 8, y), 5, BLACK.stroke_width(2)));
                chart
                    .configure_series_labels()
                    .position(SeriesLabelPosition::UpperLeft)
                    .background_style(WHITE.mix(0.9))
                    .border_style(BLACK)
                    .label_font(("sans-serif", 13))
                    .draw()
                    .map_err(chart_error)?;
            }
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// A server's name short enough for a bar's label: `03`, `02 pool`,
/// `02 thr/conn`, `go`.
fn short_name(server: &str) -> String {
    match server {
        "02-thread-pool" => "02 pool".to_owned(),
        "02-per-connection" => "02 thr/conn".to_owned(),
        "c-peer" => "C floor".to_owned(),
        other => other.split('-').next().unwrap_or(other).to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    #[test]
    fn charts_render_as_svg_and_name_the_servers() {
        let results = results_with(&[
            ("03-async-tokio", Step::Staircase, 1000, 1000),
            ("03-async-tokio", Step::Staircase, 10_000, 10_000),
            ("03-async-tokio", Step::MixedWork, 100, 100),
        ]);
        for svg in [
            latency(&results).unwrap(),
            memory(&results).unwrap(),
            mixed(&results).unwrap(),
            over_time(&results, Step::MixedWork).unwrap(),
            cost(&results).unwrap(),
        ] {
            assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
        }
        assert!(latency(&results).unwrap().contains("\n03\n"));
        assert!(latency(&results).unwrap().contains("the Rust models"));
        for svg in [latency(&results).unwrap(), mixed(&results).unwrap()] {
            assert!(svg.contains("-core machine · commit"));
        }
        let refused = results_with(&[
            ("02-thread-pool", Step::Staircase, 100, 100),
            ("02-thread-pool", Step::Staircase, 1000, 128),
            ("02-thread-pool", Step::Staircase, 10_000, 128),
        ]);
        let svg = latency(&refused).unwrap();
        assert!(svg.contains("02 pool: 128 of 1000 served"), "{svg}");
        assert!(!svg.contains("of 10000 served"), "the first such step only");
        let mixed_svg = mixed(&results).unwrap();
        assert!(
            mixed_svg.contains("\n03\n") && mixed_svg.contains("\nmixed-work\n"),
            "{mixed_svg}"
        );
        assert_eq!(short_name("02-per-connection"), "02 thr/conn");
        // At most six lines a panel; the peers' panel repeats 03.
        let everyone: Vec<(&str, Step, usize, u64)> = registry::SERVERS
            .iter()
            .map(|s| (s.name, Step::Staircase, 100, 100))
            .collect();
        let all = results_with(&everyone);
        let split = panels(&all);
        assert_eq!(split.len(), 2);
        assert!(
            split.iter().all(|(_, servers)| servers.len() <= 6),
            "{split:?}"
        );
        assert_eq!(split[1].1[0].name, "03-async-tokio");
        let svg = latency(&all).unwrap();
        assert!(svg.contains("the peers, with 03 for reference"), "{svg}");
        assert_eq!(short_name("node-peer"), "node");
        assert_eq!(micros_label(20_000.0), "20 ms");
        assert_eq!(round_bytes_label(2000.0), "2000 B");
        assert_eq!(round_bytes_label(3000.0), "");
    }
}
