//! The suite's SVG charts (plotters, SVG only, no fonts needed), which the
//! book includes beside the tables.
//!
//! Every chart follows the same rules, kept here so that a new chart
//! cannot forget one:
//!
//! - text is [`TEXT`] or larger: at least 12 px where the book shows the
//!   chart (`scripts/book-check.sh` measures it in the browser);
//! - at most six lines in one plot: more servers make more panels;
//! - legends sit outside the plotted data ([`draw_key`]);
//! - a point measured while the tester fell behind is a hollow triangle,
//!   a step where the server failed is a cross, on every chart
//!   ([`Mark`]);
//! - medians of rounds are drawn with their range.
//!
//! [`lines`] holds the charts of lines (latency against connections or
//! offered load, p99 second by second), [`bars`] the bar charts (memory,
//! cost, mixed load).

mod bars;
mod lines;

pub use bars::{cost, memory, mixed};
pub use lines::{capacity, latency, over_time};

use plotters::coord::CoordTranslate;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use loadtest::suite::data::{Results, Run};

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

/// The size of every chart's ordinary text (ticks, legends, labels).
/// plotters writes a font of size `n` as `font-size="n / 1.24"`, and the
/// book shows a 760 px chart at most 750 px wide: 16 comes out at 12.7 px
/// on the screen, the smallest size that clears 12.
const TEXT: u32 = 16;
/// A chart's title, and a panel's caption.
const TITLE: u32 = 20;
const CAPTION: u32 = 17;

fn text() -> TextStyle<'static> {
    ("sans-serif", TEXT).into_font().color(&BLACK)
}

type ChartResult = anyhow::Result<String>;

fn chart_error<E: std::fmt::Debug>(error: E) -> anyhow::Error {
    anyhow::anyhow!("drawing a chart: {error:?}")
}

/// A chart of one panel.
const SIZE: (u32, u32) = (760, 460);
/// A chart of two panels, one above the other.
const TALL: (u32, u32) = (760, 800);
/// Three panels above each other.
const TALLER: (u32, u32) = (760, 1080);
/// Room to the right of a plot for its legend, outside the data.
const LEGEND_WIDTH: u32 = 160;

/// The line along the bottom of every chart: a chart copied out of the
/// book still says where and when it was measured. Results merged from
/// several refreshes name every commit and the span of their dates, as
/// the tables' footers do at more length.
fn stamp_text(results: &Results) -> String {
    let parts = results.parts();
    let mut commits: Vec<&str> = Vec::new();
    for (stamp, _) in &parts {
        if !commits.contains(&stamp.commit.as_str()) {
            commits.push(&stamp.commit);
        }
    }
    if commits.is_empty() {
        commits.push(&results.stamp.commit);
    }
    // More than two would not fit along a 760-pixel chart: the first and
    // the last, and the tables' footers name them all.
    let plural = if commits.len() > 1 {
        "commits"
    } else {
        "commit"
    };
    let commits = match commits.as_slice() {
        [first, .., last] if commits.len() > 2 => format!("{first} … {last}"),
        _ => commits.join(", "),
    };
    let first = parts.first().map_or(&results.stamp.date, |(s, _)| &s.date);
    let last = parts.last().map_or(&results.stamp.date, |(s, _)| &s.date);
    format!(
        "client and server on one {}-core machine · {} {} · {}",
        results.stamp.cores,
        plural,
        commits,
        date_span(first, last)
    )
}

/// `2026-12-04 16:03–16:38 UTC`, or one date when both are the same.
fn date_span(first: &str, last: &str) -> String {
    if first == last {
        return first.to_owned();
    }
    match (first.split_once(' '), last.split_once(' ')) {
        (Some((day, from)), Some((same_day, to))) if day == same_day => {
            let from = from.trim_end_matches(" UTC");
            format!("{day} {from}–{to}")
        }
        _ => format!("{first} – {last}"),
    }
}

type Area<'a> = DrawingArea<SVGBackend<'a>, plotters::coord::Shift>;

/// A white canvas of `size` with the stamp along its bottom and `title`
/// along its top; returns the area between them, for the panels.
fn canvas<'a>(
    svg: &'a mut String,
    results: &Results,
    size: (u32, u32),
    title: &str,
) -> anyhow::Result<Area<'a>> {
    let root = SVGBackend::with_string(svg, size).into_drawing_area();
    root.fill(&WHITE).map_err(chart_error)?;
    let stamp = text().color(&RGBColor(90, 90, 90));
    root.draw(&Text::new(
        stamp_text(results),
        (10, size.1 as i32 - 22),
        stamp,
    ))
    .map_err(chart_error)?;
    root.margin(0, 26, 0, 0)
        .titled(title, ("sans-serif", TITLE))
        .map_err(chart_error)
}

/// How a point was measured, drawn the same way on every chart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mark {
    /// A figure of the server: a dot.
    Measured,
    /// The tester fell behind (or ran out of CPU) while measuring it: the
    /// figure is partly the tester's. A hollow triangle.
    TesterLimited,
    /// The server did not serve every connection, or requests failed. A
    /// cross.
    Failed,
}

impl Mark {
    /// How a run is drawn: failures first, then the tester.
    fn of(run: &Run) -> Mark {
        let report = &run.report;
        if !run.all_served() || report.failures() > 0 {
            Mark::Failed
        } else if report.tester_limit().is_some() {
            Mark::TesterLimited
        } else {
            Mark::Measured
        }
    }

    fn legend_text(self) -> &'static str {
        match self {
            Mark::Measured => "measured",
            Mark::TesterLimited => "tester-limited",
            Mark::Failed => "not all served",
        }
    }
}

/// A point of a line chart: where, and how it was measured.
type Point = ((f64, f64), Mark);

/// Draws `points` in `colour`, each with its [`Mark`].
fn draw_marks<'a, CT>(
    chart: &mut ChartContext<'a, SVGBackend<'a>, CT>,
    colour: RGBColor,
    points: &[Point],
) -> anyhow::Result<()>
where
    CT: CoordTranslate<From = (f64, f64)>,
{
    let at = |mark: Mark| points.iter().filter(move |p| p.1 == mark).map(|p| p.0);
    chart
        .draw_series(at(Mark::Measured).map(|p| Circle::new(p, 3, colour.filled())))
        .map_err(chart_error)?;
    chart
        .draw_series(at(Mark::TesterLimited).map(|p| hollow_triangle(p, colour)))
        .map_err(chart_error)?;
    chart
        .draw_series(at(Mark::Failed).map(|p| Cross::new(p, 7, colour.stroke_width(3))))
        .map_err(chart_error)?;
    Ok(())
}

/// A shape drawn as a white fill under a coloured outline, in pixels
/// around a point.
type Outlined<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;

/// A triangle drawn as its outline over white: plotters' own
/// `TriangleMarker` is always filled, and a filled triangle reads as one
/// more dot.
fn hollow_triangle<C, DB: DrawingBackend>(at: C, colour: RGBColor) -> Outlined<C, DB> {
    const CORNERS: [(i32, i32); 4] = [(0, -8), (7, 5), (-7, 5), (0, -8)];
    EmptyElement::at(at)
        + Polygon::new(CORNERS.to_vec(), WHITE.filled())
        + PathElement::new(CORNERS.to_vec(), colour.stroke_width(2))
}

/// One entry of a legend.
#[derive(Debug, Clone)]
enum Key {
    /// A server's line.
    Line(RGBColor, String),
    /// A filled block (a bar's part).
    Block(RGBColor, String),
    /// A dashed black line (a bound, a reference level).
    Dashed(String),
    /// How points are drawn ([`Mark`]).
    Mark(Mark),
}

impl Key {
    fn label(&self) -> &str {
        match self {
            Key::Line(_, label) | Key::Block(_, label) | Key::Dashed(label) => label,
            Key::Mark(mark) => mark.legend_text(),
        }
    }
}

/// Which way a legend's entries run.
#[derive(Debug, Clone, Copy)]
enum Flow {
    /// One under the other (beside a plot).
    Down,
    /// Side by side (under a title).
    Across,
}

const KEY_ROW: i32 = 22;
const KEY_SYMBOL: i32 = 22;

/// Draws a legend from `at` (its top left, in pixels of `area`). The
/// callers place it outside the plot: a legend never hides a line.
fn draw_key(area: &Area<'_>, at: (i32, i32), keys: &[Key], flow: Flow) -> anyhow::Result<()> {
    let (mut x, mut y) = at;
    for key in keys {
        let mid = (x + KEY_SYMBOL / 2, y);
        match key {
            Key::Line(colour, _) => area.draw(&PathElement::new(
                vec![(x, y), (x + KEY_SYMBOL, y)],
                colour.stroke_width(3),
            )),
            Key::Block(colour, _) => area.draw(&Rectangle::new(
                [(x + 4, y - 7), (x + KEY_SYMBOL - 4, y + 7)],
                colour.filled(),
            )),
            Key::Dashed(_) => (0..3).try_for_each(|i| {
                area.draw(&PathElement::new(
                    vec![(x + i * 8, y), (x + i * 8 + 5, y)],
                    BLACK.stroke_width(1),
                ))
            }),
            Key::Mark(Mark::Measured) => area.draw(&Circle::new(mid, 3, BLACK.filled())),
            Key::Mark(Mark::TesterLimited) => area.draw(&hollow_triangle(mid, BLACK)),
            Key::Mark(Mark::Failed) => area.draw(&Cross::new(mid, 6, BLACK.stroke_width(3))),
        }
        .map_err(chart_error)?;
        area.draw(&Text::new(
            key.label().to_owned(),
            (x + KEY_SYMBOL + 6, y),
            text().pos(Pos::new(HPos::Left, VPos::Center)),
        ))
        .map_err(chart_error)?;
        match flow {
            Flow::Down => y += KEY_ROW,
            Flow::Across => x += KEY_SYMBOL + 24 + text_width(key.label()),
        }
    }
    Ok(())
}

/// About how wide `label` is in [`TEXT`] (sans-serif averages a little
/// over half its size per character): enough to space a legend.
fn text_width(label: &str) -> i32 {
    (label.chars().count() as f64 * f64::from(TEXT) * 0.56).ceil() as i32
}

/// The legends of the charts' marks that `points` use, in a fixed order.
fn mark_keys<'a>(points: impl IntoIterator<Item = &'a Point>) -> Vec<Key> {
    let used: Vec<Mark> = points.into_iter().map(|p| p.1).collect();
    [Mark::TesterLimited, Mark::Failed]
        .into_iter()
        .filter(|mark| used.contains(mark))
        .map(Key::Mark)
        .collect()
}

/// The servers of each panel: at most six lines in one plot. The Rust
/// models in one; the peers in the other, with 03 drawn again for
/// reference.
fn panels(
    servers: impl Iterator<Item = &'static registry::Server>,
) -> Vec<(&'static str, Vec<&'static registry::Server>)> {
    let (models, mut peers): (Vec<_>, Vec<_>) = servers.partition(|s| s.is_rust_model());
    if peers.is_empty() {
        return vec![("the Rust models", models)];
    }
    if let Some(tokio) = models.iter().find(|s| s.name == registry::ASYNC_TOKIO.name) {
        peers.insert(0, tokio);
    }
    if models.is_empty() {
        return vec![("the peers", peers)];
    }
    vec![
        ("the Rust models", models),
        ("the peers, with 03 for reference", peers),
    ]
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

/// A tick label in the unit a reader takes in: 100 µs, 10 ms, 1 s; empty
/// between the powers of ten, where a log axis would print a column of
/// numbers nobody reads.
fn micros_label(us: f64) -> String {
    if !is_power_of_ten(us) {
        return String::new();
    }
    if us >= 1e6 {
        format!("{:.0} s", us / 1e6)
    } else if us >= 1e3 {
        format!("{:.0} ms", us / 1e3)
    } else {
        format!("{us:.0} µs")
    }
}

/// A count on a log axis, at 1, 2 and 5 × 10ⁿ only: 1, 2, 5, 10, …,
/// 1k, 2k, 5k, …, 1M.
fn count_label(count: f64) -> String {
    let magnitude = 10f64.powf(count.log10().floor());
    let leading = count / magnitude;
    let round = [1.0, 2.0, 5.0].iter().any(|&l| (leading - l).abs() < 1e-6);
    if count <= 0.0 || !round {
        String::new()
    } else if count >= 1e6 {
        format!("{:.0}M", count / 1e6)
    } else if count >= 1e3 {
        format!("{:.0}k", count / 1e3)
    } else {
        format!("{count:.0}")
    }
}

fn is_power_of_ten(value: f64) -> bool {
    value > 0.0 && (value.log10() - value.log10().round()).abs() < 1e-6
}

/// A server's name short enough for a label: `03`, `02 pool`,
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
    use registry::Step;

    /// The smallest `font-size` in an SVG, in its own pixels.
    fn smallest_font(svg: &str) -> f64 {
        svg.split("font-size=\"")
            .skip(1)
            .filter_map(|rest| rest.split('"').next()?.parse::<f64>().ok())
            .fold(f64::MAX, f64::min)
    }

    #[test]
    fn a_stamp_spans_the_dates_of_every_part() {
        let day = "2026-12-04";
        assert_eq!(
            date_span(&format!("{day} 16:03 UTC"), &format!("{day} 16:38 UTC")),
            "2026-12-04 16:03–16:38 UTC"
        );
        assert_eq!(
            date_span("2026-12-03 23:50 UTC", "2026-12-04 00:20 UTC"),
            "2026-12-03 23:50 UTC – 2026-12-04 00:20 UTC"
        );
        assert_eq!(
            date_span("2026-12-04 16:03 UTC", "2026-12-04 16:03 UTC"),
            "2026-12-04 16:03 UTC"
        );
    }

    fn every_chart(results: &Results) -> Vec<String> {
        let mut charts = vec![
            latency(results).unwrap(),
            memory(results).unwrap(),
            mixed(results).unwrap(),
            capacity(results).unwrap(),
            cost(results).unwrap(),
        ];
        for step in [Step::MixedWork, Step::MixedSleep, Step::Stalled] {
            charts.push(over_time(results, step).unwrap());
        }
        charts
    }

    #[test]
    fn every_chart_is_svg_stamped_and_its_text_clears_12_px_at_750_px() {
        let results = results_with(&[
            ("03-async-tokio", Step::Staircase, 1000, 1000),
            ("03-async-tokio", Step::Staircase, 10_000, 10_000),
            ("03-async-tokio", Step::MixedWork, 100, 100),
            ("05-event-loop", Step::Capacity, 100, 100),
        ]);
        for svg in every_chart(&results) {
            assert!(svg.starts_with("<svg") && svg.contains("</svg>"));
            assert!(svg.contains("-core machine · commit"), "{svg}");
            let width: f64 = svg
                .split("width=\"")
                .nth(1)
                .and_then(|rest| rest.split('"').next()?.parse().ok())
                .unwrap();
            let shown = smallest_font(&svg) * 750.0 / width;
            assert!(shown >= 12.0, "text shown at {shown:.1} px");
        }
    }

    #[test]
    fn more_than_six_servers_are_split_in_panels_of_six_at_most() {
        let everyone: Vec<(&str, Step, usize, u64)> = registry::SERVERS
            .iter()
            .map(|s| (s.name, Step::Staircase, 100, 100))
            .collect();
        let all = results_with(&everyone);
        let split = panels(all.servers());
        assert_eq!(split.len(), 2);
        assert!(
            split.iter().all(|(_, servers)| servers.len() <= 6),
            "{split:?}"
        );
        assert_eq!(split[1].1[0].name, "03-async-tokio");
        let svg = latency(&all).unwrap();
        assert!(svg.contains("the peers, with 03 for reference"), "{svg}");
    }

    #[test]
    fn labels_read_at_a_glance() {
        assert_eq!(short_name("02-per-connection"), "02 thr/conn");
        assert_eq!(short_name("node-peer"), "node");
        assert_eq!(micros_label(20_000.0), "");
        assert_eq!(micros_label(10_000.0), "10 ms");
        assert_eq!(micros_label(1e6), "1 s");
        assert_eq!(count_label(100_000.0), "100k");
        assert_eq!(count_label(1e6), "1M");
        assert_eq!(count_label(3000.0), "");
        assert_eq!(count_label(20_000.0), "20k");
    }

    #[test]
    fn a_run_is_marked_by_failures_first_then_the_tester() {
        let mut results = results_with(&[
            ("03-async-tokio", Step::Staircase, 1000, 1000),
            ("03-async-tokio", Step::Staircase, 1000, 10),
        ]);
        assert_eq!(Mark::of(&results.runs[0]), Mark::Measured);
        assert_eq!(Mark::of(&results.runs[1]), Mark::Failed);
        results.runs[0].report.tester.cpu_share = 1.0;
        assert_eq!(Mark::of(&results.runs[0]), Mark::TesterLimited);
    }
}
