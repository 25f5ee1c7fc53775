//! The charts of lines: p99 against connections (the staircase), against
//! the offered rate (capacity), and second by second (the mixed and
//! stalled steps). Log scales throughout: the interesting gaps are ratios.

use plotters::prelude::*;
use registry::Step;

use super::{
    CAPTION, ChartResult, Flow, Key, LEGEND_WIDTH, Mark, Point, SIZE, TALL, canvas, chart_error,
    colour, count_label, draw_key, draw_marks, mark_keys, median_round, micros_label, panels,
    short_name, text,
};
use crate::capacity;
use loadtest::metrics::Kind;
use loadtest::suite::data::{Results, Run};
use loadtest::suite::schedule::CAPACITY_P99_BOUND_US;

/// One line: its colour, its name in the legend, its points.
struct Line {
    colour: RGBColor,
    name: String,
    points: Vec<Point>,
}

/// The room each panel keeps for its axes' labels and its margin; its
/// legend starts where they and the plot end.
const PANEL_MARGIN: u32 = 8;
const Y_LABEL_AREA: u32 = 72;
const X_LABEL_AREA: u32 = 44;

/// A panel of log-log lines with its legend to the right of the plot.
struct LogPanel<'t> {
    caption: String,
    x: (f64, f64),
    y: (f64, f64),
    x_desc: &'t str,
    y_desc: &'t str,
    x_label: fn(f64) -> String,
    /// A dashed horizontal line (a bound), with its legend.
    level: Option<(f64, String)>,
}

impl LogPanel<'_> {
    /// Draws `lines` (and the marks they use) on `area`, legend beside.
    fn draw(&self, area: &super::Area<'_>, lines: &[Line], legend: bool) -> anyhow::Result<()> {
        let mut chart = ChartBuilder::on(area)
            .caption(&self.caption, ("sans-serif", CAPTION))
            .margin(PANEL_MARGIN)
            .margin_right(if legend { LEGEND_WIDTH } else { 12 })
            .x_label_area_size(X_LABEL_AREA)
            .y_label_area_size(Y_LABEL_AREA)
            .build_cartesian_2d(
                (self.x.0..self.x.1).log_scale(),
                (self.y.0..self.y.1).log_scale(),
            )
            .map_err(chart_error)?;
        chart
            .configure_mesh()
            .light_line_style(TRANSPARENT)
            .x_labels(12)
            .x_label_formatter(&|x| (self.x_label)(*x))
            .y_label_formatter(&|y| micros_label(*y))
            .x_desc(self.x_desc)
            .y_desc(self.y_desc)
            .label_style(text())
            .axis_desc_style(text())
            .draw()
            .map_err(chart_error)?;
        if let Some((level, _)) = &self.level {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(self.x.0, *level), (self.x.1, *level)],
                    6,
                    4,
                    BLACK.stroke_width(1),
                ))
                .map_err(chart_error)?;
        }
        draw_lines(&mut chart, lines)?;
        if legend {
            let level = self.level.as_ref().map(|l| l.1.as_str());
            let at = beside_plot(chart.plotting_area().dim_in_pixel().0);
            draw_key(area, at, &line_keys(lines, level), Flow::Down)?;
        }
        Ok(())
    }
}

/// Draws every line, then every line's marks over all the lines (a mark
/// hidden under another server's line would go unread). A line joins only
/// the points where the server served everyone: a failed step is a cross
/// on its own, not the end of a trend.
fn draw_lines<'a, X, Y>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, Cartesian2d<X, Y>>,
    lines: &[Line],
) -> anyhow::Result<()>
where
    X: plotters::coord::ranged1d::Ranged<ValueType = f64>,
    Y: plotters::coord::ranged1d::Ranged<ValueType = f64>,
{
    for line in lines {
        let served = line.points.iter().filter(|p| p.1 != Mark::Failed);
        chart
            .draw_series(LineSeries::new(
                served.map(|p| p.0),
                line.colour.stroke_width(3),
            ))
            .map_err(chart_error)?;
    }
    for line in lines {
        draw_marks(chart, line.colour, &line.points)?;
    }
    Ok(())
}

/// The legend of `lines`: a line per server, then the marks they use,
/// then the dashed level's name.
fn line_keys(lines: &[Line], level: Option<&str>) -> Vec<Key> {
    let mut keys: Vec<Key> = lines
        .iter()
        .map(|l| Key::Line(l.colour, l.name.clone()))
        .collect();
    keys.extend(mark_keys(lines.iter().flat_map(|l| &l.points)));
    keys.extend(level.map(|name| Key::Dashed(name.to_owned())));
    keys
}

/// The range of `values` on a log axis, with room around it.
fn log_range(values: impl Iterator<Item = f64>, below: f64, above: f64) -> (f64, f64) {
    let (low, high) = values
        .filter(|v| *v > 0.0)
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    if low > high {
        return (1.0, 10.0);
    }
    (low / below, (high * above).max(low * 10.0))
}

/// p99 request latency against connections, per server (log-log): a
/// panel of at most six lines. Each line runs while every connection was
/// served; the first step where one was not is a cross. The p50s are in
/// the staircase table: two lines per server would double the lines.
pub fn latency(results: &Results) -> ChartResult {
    let p99 = |run: &Run| {
        let p99 = run.report.latency_us.request.p99;
        (p99 > 0).then_some(p99 as f64)
    };
    let line_of = |server: &registry::Server| -> Line {
        let runs: Vec<&Run> = results
            .of(Step::Staircase)
            .filter(|r| r.server == server.name)
            .collect();
        // Up to the first step that failed, which ends the line.
        let served = runs.iter().take_while(|r| r.all_served());
        let first_failed = runs.iter().find(|r| !r.all_served());
        let points = served
            .chain(first_failed)
            .filter_map(|r| Some(((r.connections.max(1) as f64, p99(r)?), Mark::of(r))))
            .collect();
        Line {
            colour: colour(server.name),
            name: short_name(server.name),
            points,
        }
    };
    let groups = panels(results.servers());
    let lines: Vec<Vec<Line>> = groups
        .iter()
        .map(|(_, servers)| servers.iter().map(|s| line_of(s)).collect())
        .collect();
    // One scale for every panel, so that their lines compare.
    let points = || lines.iter().flatten().flat_map(|l| &l.points).map(|p| p.0);
    let x = log_range(points().map(|p| p.0), 1.5, 1.5);
    let y = log_range(points().map(|p| p.1), 2.0, 2.0);
    let size = if groups.len() > 1 { TALL } else { SIZE };
    let mut svg = String::new();
    {
        let root = canvas(
            &mut svg,
            results,
            size,
            "Request p99 vs connections (lower is better)",
        )?;
        let areas = root.split_evenly((groups.len(), 1));
        for ((area, (caption, _)), lines) in areas.iter().zip(&groups).zip(&lines) {
            LogPanel {
                caption: (*caption).to_owned(),
                x,
                y,
                x_desc: "connections",
                y_desc: "request latency, p99",
                x_label: count_label,
                level: None,
            }
            .draw(area, lines, true)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// ECHO p99, second by second, of every server under one mixed workload
/// (or the stalled step's two loops): a stall shows as a peak where the
/// whole run's p99 is one number. Each server's median round, so that the
/// chart reads as one run of each; the Rust models and the peers in
/// panels of their own.
pub fn over_time(results: &Results, step: Step) -> ChartResult {
    let mut median_rounds: Vec<&Run> = Vec::new();
    for run in results.of(step) {
        let median = median_round(results, run);
        if !median_rounds.iter().any(|r| std::ptr::eq(*r, median)) {
            median_rounds.push(median);
        }
    }
    let line_of = |run: &Run| -> Line {
        // The stalled step runs one server twice: the closed loop in black.
        let (colour, name) = match (run.step, run.rate) {
            (Step::Stalled, None) => (BLACK, "closed loop".to_owned()),
            (Step::Stalled, Some(_)) => (colour(&run.server), "open loop".to_owned()),
            _ => (colour(&run.server), short_name(&run.server)),
        };
        let mark = Mark::of(run);
        // ECHO's own p99: under a mixed load the slow kind would fill the
        // p99 of every server alike. Only whole intervals: the last one
        // holds just the stragglers answered after the end.
        let points = run
            .report
            .intervals
            .iter()
            .filter(|i| i.complete)
            .filter_map(|i| Some((i.start_s, i.by_request.get(&Kind::Echo)?.p99)))
            .filter(|&(_, p99)| p99 > 0)
            .map(|(start, p99)| ((start, p99 as f64), mark))
            .collect();
        Line {
            colour,
            name,
            points,
        }
    };
    let servers = results
        .servers()
        .filter(|s| median_rounds.iter().any(|r| r.server == s.name));
    let groups = panels(servers);
    let lines: Vec<Vec<Line>> = groups
        .iter()
        .map(|(_, servers)| {
            median_rounds
                .iter()
                .filter(|run| servers.iter().any(|s| s.name == run.server))
                .map(|run| line_of(run))
                .filter(|line| !line.points.is_empty())
                .collect()
        })
        .collect();
    let points = || lines.iter().flatten().flat_map(|l| &l.points).map(|p| p.0);
    let last_second = points().map(|p| p.0).fold(1.0, f64::max) + 1.0;
    let y = log_range(points().map(|p| p.1), 2.0, 3.0);
    let size = if groups.len() > 1 { TALL } else { SIZE };
    let mut svg = String::new();
    {
        let root = canvas(
            &mut svg,
            results,
            size,
            &format!("ECHO p99 second by second, {step} (lower is better)"),
        )?;
        let areas = root.split_evenly((groups.len(), 1));
        for ((area, (caption, _)), lines) in areas.iter().zip(&groups).zip(&lines) {
            let caption = if groups.len() > 1 { caption } else { "" };
            seconds_panel(area, caption, last_second, y, lines)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// One panel of [`over_time`]: seconds on a linear axis, p99 on a log one.
fn seconds_panel(
    area: &super::Area<'_>,
    caption: &str,
    last_second: f64,
    y: (f64, f64),
    lines: &[Line],
) -> anyhow::Result<()> {
    let mut chart = ChartBuilder::on(area)
        .caption(caption, ("sans-serif", CAPTION))
        .margin(PANEL_MARGIN)
        .margin_right(LEGEND_WIDTH)
        .x_label_area_size(X_LABEL_AREA)
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(0f64..last_second, (y.0..y.1).log_scale())
        .map_err(chart_error)?;
    chart
        .configure_mesh()
        .light_line_style(TRANSPARENT)
        .x_label_formatter(&|x| format!("{x:.0}"))
        .y_label_formatter(&|y| micros_label(*y))
        .x_desc("seconds into the run")
        .y_desc("ECHO p99 of that second")
        .label_style(text())
        .axis_desc_style(text())
        .draw()
        .map_err(chart_error)?;
    draw_lines(&mut chart, lines)?;
    let at = beside_plot(chart.plotting_area().dim_in_pixel().0);
    draw_key(area, at, &line_keys(lines, None), Flow::Down)
}

/// Where a panel's legend starts: just right of its plot, which begins
/// after the panel's margin and its y axis's labels.
fn beside_plot(plot_width: u32) -> (i32, i32) {
    ((PANEL_MARGIN + Y_LABEL_AREA + plot_width) as i32 + 14, 40)
}

/// The hockey stick: ECHO p99 against the offered rate, a line per
/// server, a column of panels per connection count, a row per group of
/// servers (at most six lines a plot), the bound as a dashed line. Each
/// rate is drawn as the try its verdict is read from; a rate the tester
/// could not offer is a hollow triangle, one where requests failed a
/// cross. The p50s are in the capacity table.
pub fn capacity(results: &Results) -> ChartResult {
    let mut sizes: Vec<usize> = results.of(Step::Capacity).map(|r| r.connections).collect();
    sizes.sort_unstable();
    sizes.dedup();
    let servers = results
        .servers()
        .filter(|s| results.of(Step::Capacity).any(|r| r.server == s.name));
    let groups = panels(servers);
    let line_of = |server: &registry::Server, size: usize| -> Line {
        Line {
            colour: colour(server.name),
            name: short_name(server.name),
            points: sweep_points(results, server.name, size),
        }
    };
    let all: Vec<Point> = groups
        .iter()
        .flat_map(|(_, servers)| servers.iter())
        .flat_map(|s| sizes.iter().flat_map(move |&size| line_of(s, size).points))
        .collect();
    let x = log_range(all.iter().map(|p| p.0.0), 1.4, 1.4);
    let y = log_range(all.iter().map(|p| p.0.1), 2.0, 3.0);
    let y = (y.0, y.1.max(CAPACITY_P99_BOUND_US as f64 * 3.0));
    let size = if groups.len() > 1 { TALL } else { SIZE };
    let mut svg = String::new();
    {
        let root = canvas(
            &mut svg,
            results,
            size,
            "ECHO p99 vs offered load: where each server turns up (lower is better)",
        )?;
        let bound = format!("{} ms bound", CAPACITY_P99_BOUND_US / 1000);
        let rows = root.split_evenly((groups.len(), 1));
        for (row, (_, servers)) in rows.iter().zip(&groups) {
            // The legend in a strip of its own, so that every column of
            // panels is as wide as the others.
            let (plots, strip) = row.split_horizontally(size.0 - LEGEND_WIDTH);
            let columns = plots.split_evenly((1, sizes.len().max(1)));
            let mut drawn: Vec<Line> = Vec::new();
            for (area, &size) in columns.iter().zip(&sizes) {
                let lines: Vec<Line> = servers.iter().map(|s| line_of(s, size)).collect();
                LogPanel {
                    caption: format!("{size} connections"),
                    x,
                    y,
                    x_desc: "offered requests/s",
                    y_desc: "ECHO p99",
                    x_label: count_label,
                    level: Some((CAPACITY_P99_BOUND_US as f64, bound.clone())),
                }
                .draw(area, &lines, false)?;
                drawn.extend(lines);
            }
            // A server once, then every mark any of its panels used.
            let mut keys: Vec<Key> = servers
                .iter()
                .map(|s| Key::Line(colour(s.name), short_name(s.name)))
                .collect();
            keys.extend(mark_keys(drawn.iter().flat_map(|l| &l.points)));
            keys.push(Key::Dashed(bound.clone()));
            draw_key(&strip, (8, 40), &keys, Flow::Down)?;
        }
        root.present().map_err(chart_error)?;
    }
    Ok(svg)
}

/// One server's sweep at `size` connections: each rate as the try its
/// verdict is read from (the median of those the tester did not limit),
/// marked by that verdict.
fn sweep_points(results: &Results, server: &str, size: usize) -> Vec<Point> {
    let mut tries: Vec<(f64, Vec<&Run>)> = Vec::new();
    for run in results
        .of(Step::Capacity)
        .filter(|r| r.server == server && r.connections == size)
    {
        let rate = run.rate.unwrap_or(0.0);
        match tries.iter_mut().find(|(r, _)| *r == rate) {
            Some((_, runs)) => runs.push(run),
            None => tries.push((rate, vec![run])),
        }
    }
    tries.sort_by(|a, b| a.0.total_cmp(&b.0));
    tries
        .iter()
        .filter_map(|(rate, runs)| {
            let (point, run) = capacity::verdict(runs)?;
            let mark = match point {
                capacity::Point::TesterLimited(_) => Mark::TesterLimited,
                capacity::Point::Errors(_) => Mark::Failed,
                capacity::Point::Sustained | capacity::Point::OverBound(_) => Mark::Measured,
            };
            // A rate every try of which the tester limited has no verdict
            // try; its triangle sits at the median of the tries, so that
            // two triangles' heights compare.
            let p99 = if mark == Mark::TesterLimited {
                let mut p99s: Vec<u64> = runs.iter().map(|r| capacity::echo_p99(r)).collect();
                p99s.sort_unstable();
                p99s[p99s.len() / 2]
            } else {
                capacity::echo_p99(run)
            };
            Some(((*rate, (p99 as f64).max(1.0)), mark))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use loadtest::suite::data::fixtures::results_with;

    #[test]
    fn the_staircase_line_ends_with_a_cross_at_the_first_step_not_all_served() {
        let mut results = results_with(&[
            ("02-thread-pool", Step::Staircase, 100, 100),
            ("02-thread-pool", Step::Staircase, 1000, 128),
            ("02-thread-pool", Step::Staircase, 10_000, 128),
            ("03-async-tokio", Step::Staircase, 100, 100),
        ]);
        results.runs[3].report.tester.cpu_share = 1.0;
        let svg = latency(&results).unwrap();
        // Two of the three 02 steps drawn: the dot and the cross; 03's
        // point is a triangle, and the legend names both marks.
        assert!(svg.contains("not all served"), "{svg}");
        assert!(svg.contains("tester-limited"), "{svg}");
        assert!(
            svg.contains(">02 pool<") || svg.contains("\n02 pool\n"),
            "{svg}"
        );
    }
}
