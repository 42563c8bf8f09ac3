//! Charts of a results directory (plotters; SVG and PNG, 1200×800).
//!
//! Every chart is drawn from [`ReportData`] only, so `ledgersim plot DIR` redraws exactly the
//! files `ledgersim run` wrote: the same data give the same bytes. Text is rendered with the
//! DejaVu Sans font embedded in the binary (no system font libraries). Each system keeps its
//! colour, line pattern and marker in every chart (by its position in the scenario), so the
//! charts stay readable when printed in grey.

use super::data::{ReportData, StatData, SystemData};
use plotters::coord::Shift;
use plotters::coord::ranged1d::SegmentValue;
use plotters::coord::types::RangedCoordf64;
use plotters::element::ComposedElement;
use plotters::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Once;

/// Width of every chart, pixels.
pub const WIDTH: u32 = 1200;
/// Height of every chart, pixels.
pub const HEIGHT: u32 = 800;
/// Font family every chart uses (DejaVu Sans, registered at first use).
const FONT: &str = "sans-serif";

type Res = Result<(), String>;
/// A polyline in data coordinates.
type Points = Vec<(f64, f64)>;
/// A polyline in pixels relative to an anchor.
type Pixels = Vec<(i32, i32)>;
/// A marker: a filled polygon and its outline, relative to the anchor.
type MarkerElement<C, DB> = ComposedElement<C, DB, Polygon<(i32, i32)>, PathElement<(i32, i32)>>;

trait Ctx<T> {
    fn c(self) -> Result<T, String>;
}

impl<T, E: std::fmt::Display> Ctx<T> for Result<T, E> {
    fn c(self) -> Result<T, String> {
        self.map_err(|e| e.to_string())
    }
}

/// Register the embedded DejaVu Sans as the charts' font (idempotent).
pub fn register_fonts() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The embedded font is a valid TTF, so registration cannot fail in practice; if it
        // did, text would be missing from PNGs only (SVG text is rendered by the viewer).
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, dejavu::sans::regular());
        let _ = plotters::style::register_font(FONT, FontStyle::Bold, dejavu::sans::bold());
    });
}

/// How one system is drawn: colour, line pattern and marker.
#[derive(Debug, Clone, Copy)]
pub struct SeriesStyle {
    /// Line and marker colour.
    pub color: RGBColor,
    /// Line pattern.
    pub dash: Dash,
    /// Marker shape.
    pub marker: Marker,
}

/// Line patterns.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Dash {
    /// Continuous.
    Solid,
    /// Long dashes.
    Dashed,
    /// Dots.
    Dotted,
}

/// Marker shapes (filled and hollow).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Marker {
    /// Filled circle.
    Circle,
    /// Filled triangle.
    Triangle,
    /// Filled square.
    Square,
    /// Cross.
    Cross,
    /// Hollow circle.
    HollowCircle,
    /// Hollow triangle.
    HollowTriangle,
    /// Hollow square.
    HollowSquare,
}

/// Okabe–Ito colour-blind-safe palette (yellow left out: too light on white).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 0, 0),
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(230, 159, 0),
    RGBColor(86, 180, 233),
];
const MARKERS: [Marker; 7] = [
    Marker::Circle,
    Marker::Triangle,
    Marker::Square,
    Marker::Cross,
    Marker::HollowCircle,
    Marker::HollowTriangle,
    Marker::HollowSquare,
];
const DASHES: [Dash; 3] = [Dash::Solid, Dash::Dashed, Dash::Dotted];

/// The style of the system at position `i` in the scenario (the same in every chart).
pub fn system_style(i: usize) -> SeriesStyle {
    SeriesStyle {
        color: PALETTE[i % PALETTE.len()],
        dash: DASHES[i % DASHES.len()],
        marker: MARKERS[i % MARKERS.len()],
    }
}

/// Colours of the cost categories, from dark to light so the stack reads in grey too.
fn category_color(category: &str) -> RGBColor {
    match category {
        "reconciliation" => RGBColor(37, 52, 148),
        "fees" => RGBColor(44, 127, 184),
        "float" => RGBColor(65, 182, 196),
        "infrastructure" => RGBColor(127, 205, 187),
        "network" => RGBColor(199, 233, 180),
        "storage" => RGBColor(237, 248, 177),
        "energy" => RGBColor(120, 120, 120),
        _ => RGBColor(200, 200, 200),
    }
}

/// Order of the stacked categories, largest usual contributors first (at the bottom).
const CATEGORY_ORDER: [&str; 7] = [
    "reconciliation",
    "fees",
    "float",
    "infrastructure",
    "network",
    "storage",
    "energy",
];

/// Marker shape in pixels around its anchor: (fill polygon, outline polyline, filled?).
fn marker_shape(m: Marker) -> (Pixels, Pixels, bool) {
    let circle: Vec<(i32, i32)> = (0..=16)
        .map(|k| {
            let a = f64::from(k) * std::f64::consts::PI / 8.0;
            ((5.5 * a.cos()).round() as i32, (5.5 * a.sin()).round() as i32)
        })
        .collect();
    let triangle = vec![(0, -7), (6, 4), (-6, 4), (0, -7)];
    let square = vec![(-5, -5), (5, -5), (5, 5), (-5, 5), (-5, -5)];
    match m {
        Marker::Circle => (circle.clone(), circle, true),
        Marker::HollowCircle => (circle.clone(), circle, false),
        Marker::Triangle => (triangle.clone(), triangle, true),
        Marker::HollowTriangle => (triangle.clone(), triangle, false),
        Marker::Square => (square.clone(), square, true),
        Marker::HollowSquare => (square.clone(), square, false),
        Marker::Cross => (vec![(0, 0)], vec![(-5, -5), (5, 5), (0, 0), (-5, 5), (5, -5)], false),
    }
}

/// A marker element anchored at `at`.
fn marker_element<DB: DrawingBackend, C>(at: C, m: Marker, color: RGBColor) -> MarkerElement<C, DB> {
    let (fill_pts, outline, filled) = marker_shape(m);
    let fill = if filled {
        color.filled()
    } else if m == Marker::Cross {
        WHITE.mix(0.0).filled()
    } else {
        WHITE.filled()
    };
    EmptyElement::at(at) + Polygon::new(fill_pts, fill) + PathElement::new(outline, color.stroke_width(2))
}

/// The legend glyph of a style: a short line in its pattern with its marker (a macro so
/// that the element's nested type is inferred where it is used).
macro_rules! legend_glyph {
    ($x:expr, $y:expr, $st:expr) => {{
        let st: SeriesStyle = $st;
        let segs = legend_segments(st.dash);
        let line = st.color.stroke_width(3);
        let seg = |k: usize| PathElement::new(vec![(segs[k].0, 0), (segs[k].1, 0)], line);
        let (fill_pts, outline, filled) = marker_shape(st.marker);
        let fill = if filled {
            st.color.filled()
        } else if st.marker == Marker::Cross {
            WHITE.mix(0.0).filled()
        } else {
            WHITE.filled()
        };
        EmptyElement::at(($x, $y))
            + seg(0)
            + seg(1)
            + seg(2)
            + seg(3)
            + Polygon::new(fill_pts, fill)
            + PathElement::new(outline, st.color.stroke_width(2))
    }};
}

/// Segments of a legend line in the given pattern (always four, some repeated, so that the
/// glyph has one type whatever the pattern).
fn legend_segments(d: Dash) -> [(i32, i32); 4] {
    match d {
        Dash::Solid => [(-18, -9), (-9, 0), (0, 9), (9, 18)],
        Dash::Dashed => [(-18, -6), (2, 14), (-18, -6), (2, 14)],
        Dash::Dotted => [(-18, -15), (-9, -6), (0, 3), (9, 12)],
    }
}

/// Draw a polyline in the system's pattern and markers every `every` points (offset by the
/// system's position so markers of overlapping lines do not coincide).
fn draw_line<'a, DB: DrawingBackend + 'a, X, Y>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pts: &[(f64, f64)],
    st: SeriesStyle,
    label: &str,
    every: usize,
    offset: usize,
) -> Res
where
    X: Ranged<ValueType = f64>,
    Y: Ranged<ValueType = f64>,
{
    let style = st.color.stroke_width(3);
    let series = chart
        .draw_series(match st.dash {
            Dash::Solid => DashedLineSeries::new(pts.to_vec(), 10000, 0, style),
            Dash::Dashed => DashedLineSeries::new(pts.to_vec(), 14, 7, style),
            Dash::Dotted => DashedLineSeries::new(pts.to_vec(), 3, 5, style),
        })
        .c()?;
    series.label(label).legend(move |(x, y)| legend_glyph!(x, y, st));
    let every = every.max(1);
    chart
        .draw_series(
            pts.iter()
                .enumerate()
                .filter(|(i, _)| (i + offset).is_multiple_of(every) || pts.len() <= 12)
                .map(|(_, p)| marker_element::<DB, (f64, f64)>(*p, st.marker, st.color)),
        )
        .c()?;
    Ok(())
}

/// A human-readable duration label for a value in milliseconds (two or three significant
/// digits: `250 ms`, `1.5 s`, `17 min`, `8.2 h`).
pub fn ms_label(ms: f64) -> String {
    if !ms.is_finite() {
        return "–".into();
    }
    let fmt = |v: f64, unit: &str| {
        let s = if v >= 100.0 {
            format!("{v:.0}")
        } else if v >= 10.0 {
            format!("{v:.1}")
        } else {
            format!("{v:.2}")
        };
        let s = if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s
        };
        format!("{s} {unit}")
    };
    let a = ms.abs();
    if a >= 3_600_000.0 {
        fmt(ms / 3_600_000.0, "h")
    } else if a >= 60_000.0 {
        fmt(ms / 60_000.0, "min")
    } else if a >= 1000.0 {
        fmt(ms / 1000.0, "s")
    } else if a >= 1.0 || a == 0.0 {
        fmt(ms, "ms")
    } else {
        fmt(ms * 1000.0, "µs")
    }
}

const SECOND_MS: f64 = 1e3;
const MINUTE_MS: f64 = 6e4;
const HOUR_MS: f64 = 3.6e6;

/// Round durations (ms) at which a logarithmic time axis may put a tick, finest set: 1, 2, 5
/// per decade from 1 µs to 500 ms; 1, 2, 5, 10, 20, 30 s; the same in minutes; 1, 2, 5, 10,
/// 20, 50, … hours. Every one is labelled exactly by [`ms_label`] (`2 µs`, `500 ms`, `30 s`,
/// `10 min`, `1 h`).
fn fine_time_ladder() -> Vec<f64> {
    let mut v = Vec::new();
    for k in -3..=2 {
        for m in [1.0, 2.0, 5.0] {
            v.push(m * 10f64.powi(k));
        }
    }
    for unit in [SECOND_MS, MINUTE_MS] {
        v.extend([1.0, 2.0, 5.0, 10.0, 20.0, 30.0].map(|m| m * unit));
    }
    v.extend([1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0].map(|m| m * HOUR_MS));
    v
}

/// The coarser set: one round duration per decade or unit — 1, 10, 100 µs; 1, 10, 100 ms;
/// 1 s, 10 s, 1 min, 10 min, 1 h, 10 h, 100 h, 1000 h.
fn decade_time_ladder() -> Vec<f64> {
    let mut v: Vec<f64> = (-3..=2).map(|k| 10f64.powi(k)).collect();
    v.extend([
        SECOND_MS,
        10.0 * SECOND_MS,
        MINUTE_MS,
        10.0 * MINUTE_MS,
        HOUR_MS,
        10.0 * HOUR_MS,
        100.0 * HOUR_MS,
        1000.0 * HOUR_MS,
    ]);
    v
}

/// Ticks of a logarithmic time axis spanning `lo..=hi` (log10 of milliseconds), as
/// milliseconds: `(bold, light)`. Bold ticks (labelled) are round durations in the unit a
/// reader would use — the finest ladder of `fine_time_ladder` that gives at most
/// `max_ticks`, else the decades and units of `decade_time_ladder` (every k-th if still
/// too many) with the fine ladder as light grid lines, else every k-th of the fine ladder.
/// Ranges outside 1 µs – 1000 h fall back to powers of ten.
pub fn log_time_ticks(lo: f64, hi: f64, max_ticks: usize) -> (Vec<f64>, Vec<f64>) {
    let max_ticks = max_ticks.max(2);
    let within = |ladder: Vec<f64>| -> Vec<f64> {
        ladder
            .into_iter()
            .filter(|v| v.log10() >= lo - 1e-9 && v.log10() <= hi + 1e-9)
            .collect()
    };
    let fine = within(fine_time_ladder());
    if (2..=max_ticks).contains(&fine.len()) {
        return (fine, Vec::new());
    }
    let thin = |v: &[f64]| -> Vec<f64> { v.iter().copied().step_by(v.len().div_ceil(max_ticks)).collect() };
    let decades = within(decade_time_ladder());
    if decades.len() >= 2 {
        let bold = thin(&decades);
        let light = fine.into_iter().filter(|v| !bold.contains(v)).collect();
        return (bold, light);
    }
    if fine.len() >= 2 {
        // Less than two decades apart but too many fine ticks for the cap.
        return (thin(&fine), Vec::new());
    }
    // Outside 1 µs – 1000 h, or narrower than one step of the ladder.
    let (a, b) = (lo.ceil() as i32, hi.floor() as i32);
    let powers: Vec<f64> = (a..=b).map(|k| 10f64.powi(k)).collect();
    if powers.len() >= 2 {
        (thin(&powers), Vec::new())
    } else {
        (vec![10f64.powf(lo), 10f64.powf(hi)], Vec::new())
    }
}

/// The label of a tick at `log10 ms` on a logarithmic time axis: the round duration it was
/// placed at (so 10^log10(60 000) reads `1 min`, not `60 s` or `59.9 s`), else the value.
pub fn log_time_label(log_ms: f64) -> String {
    let exact = fine_time_ladder()
        .into_iter()
        .chain(decade_time_ladder())
        .find(|v| (v.log10() - log_ms).abs() < 1e-9);
    ms_label(exact.unwrap_or_else(|| 10f64.powf(log_ms)))
}

/// A value axis (log10 ms on a logarithmic time axis, else plain values) whose ticks are
/// either round durations ([`log_time_ticks`]) or plotters' own linear ones.
struct ValueAxis {
    inner: RangedCoordf64,
    log_time: bool,
}

impl ValueAxis {
    /// A logarithmic time axis over `lo..hi` (log10 ms): ticks at round durations, at most
    /// the tick-count hint of them labelled.
    fn log_time(lo: f64, hi: f64) -> Self {
        ValueAxis {
            inner: (lo..hi).into(),
            log_time: true,
        }
    }

    /// A linear axis with plotters' own ticks (exactly what a plain `lo..hi` gives).
    fn linear(lo: f64, hi: f64) -> Self {
        ValueAxis {
            inner: (lo..hi).into(),
            log_time: false,
        }
    }
}

impl Ranged for ValueAxis {
    type FormatOption = plotters::coord::ranged1d::NoDefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.inner.map(value, limit)
    }

    fn key_points<Hint: plotters::coord::ranged1d::KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if !self.log_time {
            return self.inner.key_points(hint);
        }
        let r = self.inner.range();
        let (bold, light) = log_time_ticks(r.start, r.end, hint.max_num_points());
        let ticks = if hint.weight().allow_light_points() {
            light
        } else {
            bold
        };
        ticks.into_iter().map(f64::log10).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.inner.range()
    }
}

impl plotters::coord::ranged1d::ValueFormatter<f64> for ValueAxis {
    fn format(value: &f64) -> String {
        RangedCoordf64::format(value)
    }
}

/// A compact number label (1 200 → "1,200", 0.05 → "0.05").
pub fn num_label(v: f64) -> String {
    if !v.is_finite() {
        return "–".into();
    }
    let a = v.abs();
    if a >= 1e6 {
        format!("{:.3}M", v / 1e6)
            .trim_end_matches('0')
            .trim_end_matches('.')
            .to_string()
            + ""
    } else if a >= 1000.0 {
        thousands(v.round())
    } else if a >= 10.0 || a == 0.0 {
        let s = format!("{v:.1}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// An integer-valued float with thousands separators.
pub fn thousands(v: f64) -> String {
    let neg = v < 0.0;
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    if neg { format!("-{out}") } else { out }
}

macro_rules! configure {
    ($chart:expr, $x_desc:expr, $y_desc:expr, $x_fmt:expr, $y_fmt:expr, $x_labels:expr $(,)?) => {
        $chart
            .configure_mesh()
            .x_desc($x_desc)
            .y_desc($y_desc)
            .x_labels($x_labels)
            .y_labels(8)
            .x_label_formatter($x_fmt)
            .y_label_formatter($y_fmt)
            .label_style((FONT, 17))
            .axis_desc_style((FONT, 20))
            .light_line_style(RGBColor(238, 238, 238))
            .bold_line_style(RGBColor(210, 210, 210))
            .draw()
            .c()
    };
}

fn legend<'a, DB: DrawingBackend + 'a, X: Ranged, Y: Ranged>(
    chart: &mut ChartContext<'a, DB, Cartesian2d<X, Y>>,
    pos: SeriesLabelPosition,
) -> Res {
    chart
        .configure_series_labels()
        .position(pos)
        .label_font((FONT, 17))
        .background_style(WHITE.mix(0.9))
        .border_style(RGBColor(120, 120, 120))
        .legend_area_size(45)
        .draw()
        .c()
}

/// Position of each system name (summary order) for style lookups; CSV files may prefix a
/// name with `'` (spreadsheet-formula neutralisation), which is undone here.
fn style_index(d: &ReportData, name: &str) -> usize {
    let clean = name.strip_prefix('\'').unwrap_or(name);
    d.summary
        .systems
        .iter()
        .position(|s| s.name == clean || s.name == name)
        .unwrap_or(0)
}

/// Padded `[lo, hi]` for an axis.
fn padded(lo: f64, hi: f64, pad_zero: bool) -> (f64, f64) {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo, hi)
    } else {
        (0.0, 1.0)
    };
    if pad_zero {
        lo = lo.min(0.0);
    }
    if (hi - lo).abs() < 1e-12 {
        let d = if hi.abs() > 0.0 { hi.abs() * 0.1 } else { 1.0 };
        lo -= d;
        hi += d;
    }
    let span = hi - lo;
    let lo = if pad_zero && lo >= 0.0 { lo } else { lo - span * 0.05 };
    (lo, hi + span * 0.08)
}

// ---------------------------------------------------------------------------------------
// 1. Latency CDF, recorded vs settled.
// ---------------------------------------------------------------------------------------

/// Per system (summary order) and measure: merged CDF points `(log10 ms, fraction ≤)` over
/// replications of point 0.
pub fn latency_cdfs(d: &ReportData) -> Vec<(usize, [Points; 2])> {
    let mut merged: BTreeMap<(usize, usize), BTreeMap<u64, u64>> = BTreeMap::new();
    let mut lows: BTreeMap<(usize, usize), u64> = BTreeMap::new();
    for r in d.histograms.iter().filter(|r| r.point == 0) {
        let m = if r.measure == "settled" { 1 } else { 0 };
        let hist = merged.entry((style_index(d, &r.system), m)).or_default();
        *hist.entry(r.bucket_high_ns).or_default() += r.count;
        // The lowest bucket's lower bound starts the curve at 0 %.
        let start = lows.entry((style_index(d, &r.system), m)).or_insert(r.bucket_low_ns);
        *start = (*start).min(r.bucket_low_ns);
    }
    let mut out: Vec<(usize, [Points; 2])> = Vec::new();
    for ((sys, m), buckets) in merged {
        let total: u64 = buckets.values().sum();
        if total == 0 {
            continue;
        }
        let mut cum = 0u64;
        let low = lows.get(&(sys, m)).copied().unwrap_or(0);
        let pts: Vec<(f64, f64)> = std::iter::once(((low as f64 / 1e6).max(1e-6).log10(), 0.0))
            .chain(buckets.iter().map(|(hi, c)| {
                cum += c;
                ((*hi as f64 / 1e6).max(1e-6).log10(), cum as f64 / total as f64)
            }))
            .collect();
        if out.last().map(|(s, _)| *s) != Some(sys) {
            out.push((sys, [Vec::new(), Vec::new()]));
        }
        if let Some(last) = out.last_mut() {
            last.1[m] = pts;
        }
    }
    out
}

fn draw_cdf<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &ReportData) -> Res {
    root.fill(&WHITE).c()?;
    let cdfs = latency_cdfs(d);
    let all = cdfs.iter().flat_map(|(_, m)| m.iter().flatten().map(|p| p.0));
    let (lo, hi) = all.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| (a.min(x), b.max(x)));
    let (lo, hi) = if lo.is_finite() {
        ((lo - 0.1).floor(), (hi + 0.1).ceil())
    } else {
        (0.0, 3.0)
    };
    let title = root
        .titled(
            &format!("Latency distribution per system — {}", d.summary.scenario),
            (FONT, 28).into_font().style(FontStyle::Bold),
        )
        .c()?;
    let (left, right) = title.split_horizontally(WIDTH / 2);
    for (panel, area) in [(0usize, left), (1usize, right)] {
        let m = panel;
        let caption = if m == 0 {
            "Recorded: submit → the submitter knows it is recorded"
        } else {
            "Settled: submit → the money has moved"
        };
        let mut chart = ChartBuilder::on(&area)
            .caption(caption, (FONT, 19))
            .margin(12)
            .x_label_area_size(55)
            .y_label_area_size(70)
            .build_cartesian_2d(ValueAxis::log_time(lo, hi), 0.0..1.0)
            .c()?;
        configure!(
            chart,
            "latency (log scale)",
            "fraction of transactions ≤ latency",
            &|v| log_time_label(*v),
            &|v| format!("{:.0} %", v * 100.0),
            7,
        )?;
        for (sys, measures) in &cdfs {
            let pts = &measures[m];
            if pts.is_empty() {
                continue;
            }
            let name = &d.summary.systems[*sys].name;
            // Step shape: the fraction is reached at each bucket's upper bound.
            draw_line(&mut chart, pts, system_style(*sys), name, (pts.len() / 8).max(1), *sys)?;
        }
        if cdfs.iter().all(|(_, m)| m[panel].is_empty()) {
            chart
                .draw_series(std::iter::once(Text::new(
                    "no transaction completed in the measurement window",
                    (lo + (hi - lo) * 0.05, 0.5),
                    (FONT, 18).into_font(),
                )))
                .c()?;
        } else {
            legend(&mut chart, SeriesLabelPosition::LowerRight)?;
        }
    }
    root.present().c()
}

// ---------------------------------------------------------------------------------------
// 2. Throughput and latency over time, fault windows shaded.
// ---------------------------------------------------------------------------------------

/// Fault windows `(label, from_s, until_s)` of the resolved scenario (an open-ended fault
/// lasts until the end of the run).
pub fn fault_windows(d: &ReportData) -> Vec<(String, f64, f64)> {
    let Some(sc) = &d.scenario else { return Vec::new() };
    sc.faults
        .iter()
        .map(|f| {
            let until = f.until.unwrap_or(sc.duration);
            (f.label.clone(), crate::engine::to_s(f.at), crate::engine::to_s(until))
        })
        .collect()
}

/// Mean over replications of (throughput, latency mean) per window, per system (point 0).
fn timeseries_means(d: &ReportData) -> Vec<(usize, Points, Points)> {
    // (system, window start in µs) → (sum tps, n, sum latency, n latency)
    let mut acc: BTreeMap<(usize, i64), (f64, u32, f64, u32)> = BTreeMap::new();
    for r in d.timeseries.iter().filter(|r| r.point == 0) {
        let e = acc
            .entry((style_index(d, &r.system), (r.window_start_s * 1e6).round() as i64))
            .or_default();
        e.0 += r.throughput_tps;
        e.1 += 1;
        if let Some(l) = r.latency_mean_ms {
            e.2 += l;
            e.3 += 1;
        }
    }
    let mut out: Vec<(usize, Points, Points)> = Vec::new();
    for ((sys, t), (tps, n, lat, nl)) in acc {
        if out.last().map(|o| o.0) != Some(sys) {
            out.push((sys, Vec::new(), Vec::new()));
        }
        if let Some(o) = out.last_mut() {
            let t = t as f64 / 1e6;
            o.1.push((t, tps / f64::from(n.max(1))));
            if nl > 0 {
                o.2.push((t, lat / f64::from(nl)));
            }
        }
    }
    out
}

/// Time axis unit for a run of `duration_s` seconds: (divisor, label).
fn time_unit(duration_s: f64) -> (f64, &'static str) {
    if duration_s >= 4.0 * 3600.0 {
        (3600.0, "h")
    } else if duration_s >= 600.0 {
        (60.0, "min")
    } else {
        (1.0, "s")
    }
}

fn draw_timeseries<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &ReportData) -> Res {
    root.fill(&WHITE).c()?;
    let series = timeseries_means(d);
    let faults = fault_windows(d);
    let dur = if d.summary.duration_s > 0.0 {
        d.summary.duration_s
    } else {
        series.iter().flat_map(|s| s.1.iter().map(|p| p.0)).fold(1.0, f64::max)
    };
    let (div, unit) = time_unit(dur);
    let title = root
        .titled(
            &format!("Throughput and latency over simulated time — {}", d.summary.scenario),
            (FONT, 28).into_font().style(FontStyle::Bold),
        )
        .c()?;
    let (top, bottom) = title.split_vertically((HEIGHT - 40) / 2);
    let panels: [(&DrawingArea<DB, Shift>, usize, &str); 2] = [
        (&top, 1, "committed per second (tx/s)"),
        (&bottom, 2, "mean latency of the window's commits (ms)"),
    ];
    for (area, which, ydesc) in panels {
        let vals = series
            .iter()
            .flat_map(|s| if which == 1 { &s.1 } else { &s.2 }.iter().map(|p| p.1));
        let (vmin, vmax) = vals
            .filter(|v| *v > 0.0)
            .fold((f64::INFINITY, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
        // Latencies spanning more than 100× (a fault's backlog) go on a log axis.
        let log_y = which == 2 && vmin.is_finite() && vmax / vmin > 100.0;
        let ty = |v: f64| if log_y { v.max(vmin).log10() } else { v };
        // Headroom above the lines for the legend and the fault labels.
        let (ymin, ymax) = if log_y {
            let (lo, hi) = (vmin.log10().floor(), vmax.log10());
            (lo, hi + (hi - lo) * 0.45)
        } else if vmax > 0.0 {
            (0.0, vmax * 1.4)
        } else {
            (0.0, 1.0)
        };
        let mut chart = ChartBuilder::on(area)
            .margin(12)
            .x_label_area_size(50)
            .y_label_area_size(85)
            .build_cartesian_2d(
                0.0..dur / div,
                if log_y {
                    ValueAxis::log_time(ymin, ymax)
                } else {
                    ValueAxis::linear(ymin, ymax)
                },
            )
            .c()?;
        let ydesc = if log_y {
            "mean latency of the window's commits (log scale)".to_string()
        } else {
            ydesc.to_string()
        };
        configure!(
            chart,
            &format!(
                "simulated time ({unit}); mean over replications; grey: warm-up (not measured); orange: fault windows"
            ),
            &ydesc,
            &|v| num_label(*v),
            &|v| if log_y { log_time_label(*v) } else { num_label(*v) },
            10,
        )?;
        // Warm-up, then fault windows, under the lines.
        if d.summary.warmup_s > 0.0 {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(0.0, ymin), (d.summary.warmup_s / div, ymax)],
                    RGBColor(230, 230, 230).mix(0.6).filled(),
                )))
                .c()?;
        }
        for (i, (label, from, until)) in faults.iter().enumerate() {
            let (a, b) = (from / div, (until / div).min(dur / div));
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(a, ymin), (b, ymax)],
                    RGBColor(255, 170, 120).mix(0.35).filled(),
                )))
                .c()?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("fault: {label}"),
                    (a, ymax - (ymax - ymin) * (0.03 + 0.07 * (i % 4) as f64)),
                    (FONT, 15).into_font().color(&RGBColor(140, 60, 0)),
                )))
                .c()?;
        }
        for (sys, tps, lat) in &series {
            let pts: Vec<(f64, f64)> = if which == 1 { tps } else { lat }
                .iter()
                .map(|p| (p.0 / div, ty(p.1)))
                .collect();
            if pts.is_empty() {
                continue;
            }
            draw_line(
                &mut chart,
                &pts,
                system_style(*sys),
                &d.summary.systems[*sys].name,
                (pts.len() / 10).max(1),
                *sys,
            )?;
        }
        legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    }
    root.present().c()
}

// ---------------------------------------------------------------------------------------
// 3. Cost per transaction, stacked by category, baseline first, CI whiskers.
// ---------------------------------------------------------------------------------------

/// Systems in chart order: the baseline first, then the others in scenario order.
pub fn baseline_first(d: &ReportData) -> Vec<usize> {
    let b = d.baseline_index();
    std::iter::once(b)
        .chain((0..d.summary.systems.len()).filter(|&i| i != b))
        .collect()
}

fn categories_present(systems: &[SystemData]) -> Vec<&'static str> {
    CATEGORY_ORDER
        .iter()
        .copied()
        .filter(|c| {
            systems.iter().any(|s| {
                s.cost_per_tx
                    .breakdown
                    .get(*c)
                    .map(|v| v.m().abs() > 0.0)
                    .unwrap_or(false)
            })
        })
        .collect()
}

fn draw_cost<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &ReportData) -> Res {
    root.fill(&WHITE).c()?;
    let order = baseline_first(d);
    let sys = &d.summary.systems;
    let cats = categories_present(sys);
    let top = order
        .iter()
        .map(|&i| sys[i].cost_per_tx.total.bounds().1.max(sys[i].cost_per_tx.total.m()))
        .filter(|v| v.is_finite())
        .fold(0.0f64, f64::max);
    let ymax = if top > 0.0 { top * 1.15 } else { 1.0 };
    let n = order.len() as i32;
    let names: Vec<String> = order.iter().map(|&i| sys[i].name.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Cost per transaction by category ({}) — {}",
                d.currency(),
                d.summary.scenario
            ),
            (FONT, 28).into_font().style(FontStyle::Bold),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((0..seg_range_end(n)).into_segmented(), 0.0..ymax)
        .c()?;
    let fmt_x = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    configure!(
        chart,
        &format!(
            "system (baseline `{}` first); whiskers: 95 % CI of the total over replications",
            d.summary.baseline
        ),
        &format!("cost per committed transaction ({})", d.currency()),
        &fmt_x,
        &|v| num_label(*v),
        order.len(),
    )?;
    for (ci, cat) in cats.iter().enumerate() {
        let color = category_color(cat);
        let rects: Vec<Rectangle<(SegmentValue<i32>, f64)>> = order
            .iter()
            .enumerate()
            .map(|(k, &i)| {
                let below: f64 = cats[..ci]
                    .iter()
                    .map(|c| sys[i].cost_per_tx.breakdown.get(*c).map(|v| v.m()).unwrap_or(0.0))
                    .filter(|v| v.is_finite())
                    .sum();
                let v = sys[i].cost_per_tx.breakdown.get(*cat).map(|v| v.m()).unwrap_or(0.0);
                let v = if v.is_finite() { v } else { 0.0 };
                let mut r = Rectangle::new(
                    [(SegmentValue::Exact(k as i32), below), (seg_end(k, n), below + v)],
                    color.filled(),
                );
                r.set_margin(0, 0, 25, 25);
                r
            })
            .collect();
        chart
            .draw_series(rects)
            .c()?
            .label(*cat)
            .legend(move |(x, y)| Rectangle::new([(x - 10, y - 8), (x + 10, y + 8)], color.filled()));
        // Thin outlines so adjacent categories stay apart in grey.
        chart
            .draw_series(order.iter().enumerate().map(|(k, &i)| {
                let below: f64 = cats[..=ci]
                    .iter()
                    .map(|c| sys[i].cost_per_tx.breakdown.get(*c).map(|v| v.m()).unwrap_or(0.0))
                    .filter(|v| v.is_finite())
                    .sum();
                let mut r = Rectangle::new(
                    [(SegmentValue::Exact(k as i32), 0.0), (seg_end(k, n), below)],
                    BLACK.stroke_width(1),
                );
                r.set_margin(0, 0, 25, 25);
                r
            }))
            .c()?;
    }
    chart
        .draw_series(order.iter().enumerate().filter_map(|(k, &i)| {
            let t = sys[i].cost_per_tx.total;
            let (lo, hi) = t.bounds();
            t.mean
                .map(|m| ErrorBar::new_vertical(SegmentValue::CenterOf(k as i32), lo, m, hi, BLACK.stroke_width(2), 18))
        }))
        .c()?;
    chart
        .draw_series(order.iter().enumerate().filter_map(|(k, &i)| {
            let t = sys[i].cost_per_tx.total;
            t.mean.map(|m| {
                Text::new(
                    format!("{} {}", num_label(m), d.currency()),
                    (SegmentValue::CenterOf(k as i32), t.bounds().1.max(m) + ymax * 0.02),
                    TextStyle::from((FONT, 17).into_font()).pos(plotters::style::text_anchor::Pos::new(
                        plotters::style::text_anchor::HPos::Center,
                        plotters::style::text_anchor::VPos::Bottom,
                    )),
                )
            })
        }))
        .c()?;
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().c()
}

/// Last value of a segmented axis holding `n` bars (`n` segments; two when `n` is 1, since a
/// one-value range is degenerate).
fn seg_range_end(n: i32) -> i32 {
    if n >= 2 { n - 1 } else { 1 }
}

/// Right edge of bar `k` of `n`.
fn seg_end(k: usize, n: i32) -> SegmentValue<i32> {
    if k as i32 + 1 == n && n >= 2 {
        SegmentValue::Last
    } else {
        SegmentValue::Exact(k as i32 + 1)
    }
}

// ---------------------------------------------------------------------------------------
// 4. Savings vs baseline with CI error bars.
// ---------------------------------------------------------------------------------------

fn draw_savings<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &ReportData) -> Res {
    root.fill(&WHITE).c()?;
    let b = d.baseline_index();
    let sys = &d.summary.systems;
    let others: Vec<usize> = (0..sys.len()).filter(|&i| i != b).collect();
    let vals: Vec<f64> = others
        .iter()
        .flat_map(|&i| {
            let s = sys[i].savings_vs_baseline_pct;
            let (lo, hi) = s.bounds();
            [lo, hi, s.m()]
        })
        .filter(|v| v.is_finite())
        .collect();
    let lo = vals.iter().copied().fold(0.0f64, f64::min);
    let hi = vals.iter().copied().fold(0.0f64, f64::max);
    let (lo, hi) = padded(lo, hi, true);
    let n = others.len().max(1) as i32;
    let names: Vec<String> = others.iter().map(|&i| sys[i].name.clone()).collect();
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!(
                "Savings against `{}` per transaction — {}",
                d.summary.baseline, d.summary.scenario
            ),
            (FONT, 28).into_font().style(FontStyle::Bold),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(90)
        .build_cartesian_2d((0..seg_range_end(n)).into_segmented(), lo..hi)
        .c()?;
    let fmt_x = |v: &SegmentValue<i32>| match v {
        SegmentValue::CenterOf(i) => names.get(*i as usize).cloned().unwrap_or_default(),
        _ => String::new(),
    };
    configure!(
        chart,
        "system; error bars: 95 % CI of the paired per-replication saving",
        &format!("saving (% of the baseline's cost per transaction in {})", d.currency()),
        &fmt_x,
        &|v| format!("{v:.0} %"),
        others.len(),
    )?;
    chart
        .draw_series(others.iter().enumerate().filter_map(|(k, &i)| {
            let m = sys[i].savings_vs_baseline_pct.mean?;
            let st = system_style(i);
            let mut r = Rectangle::new(
                [(SegmentValue::Exact(k as i32), 0.0), (seg_end(k, n), m)],
                st.color.mix(0.85).filled(),
            );
            r.set_margin(0, 0, 35, 35);
            Some(r)
        }))
        .c()?;
    chart
        .draw_series(others.iter().enumerate().filter_map(|(k, &i)| {
            let s = sys[i].savings_vs_baseline_pct;
            let m = s.mean?;
            let (l, h) = s.bounds();
            Some(ErrorBar::new_vertical(
                SegmentValue::CenterOf(k as i32),
                l,
                m,
                h,
                BLACK.stroke_width(2),
                18,
            ))
        }))
        .c()?;
    chart
        .draw_series(others.iter().enumerate().filter_map(|(k, &i)| {
            let s = sys[i].savings_vs_baseline_pct;
            let m = s.mean?;
            let y = if m >= 0.0 {
                s.bounds().1.max(m)
            } else {
                s.bounds().0.min(m)
            };
            let vpos = if m >= 0.0 {
                plotters::style::text_anchor::VPos::Bottom
            } else {
                plotters::style::text_anchor::VPos::Top
            };
            Some(Text::new(
                format!("{m:.1} %"),
                (
                    SegmentValue::CenterOf(k as i32),
                    y + if m >= 0.0 { 1.0 } else { -1.0 } * (hi - lo) * 0.015,
                ),
                TextStyle::from((FONT, 18).into_font()).pos(plotters::style::text_anchor::Pos::new(
                    plotters::style::text_anchor::HPos::Center,
                    vpos,
                )),
            ))
        }))
        .c()?;
    chart
        .draw_series(std::iter::once(PathElement::new(
            vec![(SegmentValue::Exact(0), 0.0), (SegmentValue::Last, 0.0)],
            BLACK.stroke_width(1),
        )))
        .c()?;
    root.present().c()
}

// ---------------------------------------------------------------------------------------
// 5. Sweeps: each metric vs the swept parameter, one line per system, CI bands; crossovers.
// ---------------------------------------------------------------------------------------

/// The metrics drawn against a sweep: (file stem, title, y-axis label, pick).
type MetricPick = fn(&SystemData) -> StatData;

fn sweep_metrics(currency: &str) -> Vec<(&'static str, &'static str, String, MetricPick)> {
    vec![
        (
            "sweep_cost",
            "Cost per transaction",
            format!("cost per committed transaction ({currency})"),
            |s| s.cost_per_tx.total,
        ),
        (
            "sweep_throughput",
            "Throughput",
            "committed per second (tx/s)".into(),
            |s| s.throughput_tps,
        ),
        (
            "sweep_latency_p50",
            "Median latency (recorded)",
            "p50 latency, submit → recorded (ms)".into(),
            |s| s.latency_ms.p50,
        ),
        (
            "sweep_latency_p99",
            "99th-percentile latency (recorded)",
            "p99 latency, submit → recorded (ms)".into(),
            |s| s.latency_ms.p99,
        ),
        (
            "sweep_settlement_p50",
            "Median settlement delay",
            "p50 settlement delay, submit → settled (ms)".into(),
            |s| s.settlement_latency_ms.p50,
        ),
        (
            "sweep_savings",
            "Savings against the baseline",
            format!("saving (% of the baseline's cost in {currency})"),
            |s| s.savings_vs_baseline_pct,
        ),
    ]
}

/// Parse a swept value as written in the scenario (`2000.0`, `"5m"`, `200`) into a number.
pub fn sweep_number(raw: &str) -> Option<f64> {
    let t = raw.trim().trim_matches('"');
    if let Ok(v) = t.parse::<f64>() {
        return Some(v);
    }
    crate::scenario::units::parse_duration(t).ok().map(|ns| ns as f64 / 1e9)
}

/// The layout of a sweep chart: which parameter is on the x axis, whether it is log-scaled,
/// and the lines (system × combination of the other parameters).
pub struct SweepLayout {
    /// The swept path on the x axis.
    pub x_param: String,
    /// Log-scaled x axis (values span ≥ 50×).
    pub log_x: bool,
    /// `(system index, other-parameter label, [(x, point index)])` sorted by x.
    pub lines: Vec<SweepLine>,
}

/// One line of a sweep chart: `(system index, other-parameter label, [(x, point index)])`.
pub type SweepLine = (usize, String, Vec<(f64, usize)>);

/// Choose the x parameter (the first swept path with numeric values that vary; otherwise
/// the first) and group the points into lines.
pub fn sweep_layout(d: &ReportData) -> Option<SweepLayout> {
    let sw = d.summary.sweep.as_ref()?;
    if sw.points.is_empty() || sw.parameters.is_empty() {
        return None;
    }
    let numeric = |p: &str| -> Option<Vec<f64>> {
        sw.points
            .iter()
            .map(|pt| pt.values.get(p).and_then(|v| sweep_number(v)))
            .collect()
    };
    let x_param = sw
        .parameters
        .iter()
        .find(|p| {
            numeric(p)
                .map(|v| v.iter().any(|x| (x - v[0]).abs() > 0.0))
                .unwrap_or(false)
        })
        .cloned()?;
    let xs = numeric(&x_param)?;
    let log_x = xs.iter().all(|x| *x > 0.0)
        && xs.iter().copied().fold(0.0f64, f64::max) / xs.iter().copied().fold(f64::INFINITY, f64::min) >= 50.0;
    let mut groups: BTreeMap<String, Vec<(f64, usize)>> = BTreeMap::new();
    for (k, pt) in sw.points.iter().enumerate() {
        let others: Vec<String> = sw
            .parameters
            .iter()
            .filter(|p| **p != x_param)
            .map(|p| format!("{}={}", p, pt.values.get(p).map(String::as_str).unwrap_or("?")))
            .collect();
        groups.entry(others.join(", ")).or_default().push((xs[k], k));
    }
    let mut lines = Vec::new();
    for (other, mut pts) in groups {
        pts.sort_by(|a, b| a.0.total_cmp(&b.0));
        for s in 0..sw.points[0].systems.len() {
            lines.push((s, other.clone(), pts.clone()));
        }
    }
    Some(SweepLayout { x_param, log_x, lines })
}

/// A crossover: where a system's cost per transaction meets the baseline's.
#[derive(Debug, Clone)]
pub struct Crossover {
    /// System name.
    pub system: String,
    /// Other swept parameters of the line ("" for a one-parameter sweep).
    pub other: String,
    /// The swept parameter.
    pub parameter: String,
    /// Interpolated value of the swept parameter at the crossing.
    pub at: f64,
    /// Cost per transaction there.
    pub cost: f64,
    /// True when the system is cheaper than the baseline above the crossing.
    pub cheaper_above: bool,
}

/// Every crossing of a system's mean cost per transaction with the baseline's, interpolated
/// linearly (in log x when the axis is logarithmic).
pub fn crossovers(d: &ReportData) -> Vec<Crossover> {
    let (Some(sw), Some(layout)) = (d.summary.sweep.as_ref(), sweep_layout(d)) else {
        return Vec::new();
    };
    let b = d.baseline_index();
    let tx = |x: f64| if layout.log_x { x.log10() } else { x };
    let untx = |x: f64| if layout.log_x { 10f64.powf(x) } else { x };
    let mut out = Vec::new();
    for (s, other, pts) in &layout.lines {
        if *s == b {
            continue;
        }
        let diff: Vec<(f64, f64, f64)> = pts
            .iter()
            .filter_map(|(x, k)| {
                let sys = sw.points[*k].systems.get(*s)?.cost_per_tx.total.mean?;
                let base = sw.points[*k].systems.get(b)?.cost_per_tx.total.mean?;
                Some((tx(*x), sys - base, base))
            })
            .collect();
        for w in diff.windows(2) {
            let ((x0, d0, b0), (x1, d1, b1)) = (w[0], w[1]);
            if d0 == 0.0 || d0.signum() == d1.signum() {
                continue;
            }
            let f = d0 / (d0 - d1);
            let xc = x0 + f * (x1 - x0);
            out.push(Crossover {
                system: sw.points[0].systems[*s].name.clone(),
                other: other.clone(),
                parameter: layout.x_param.clone(),
                at: untx(xc),
                cost: b0 + f * (b1 - b0),
                cheaper_above: d1 < 0.0,
            });
        }
    }
    out
}

fn draw_sweep<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &ReportData, metric: usize) -> Res {
    root.fill(&WHITE).c()?;
    let (Some(sw), Some(layout)) = (d.summary.sweep.as_ref(), sweep_layout(d)) else {
        return root.present().c();
    };
    let metrics = sweep_metrics(d.currency());
    let (_, title, ydesc, pick) = &metrics[metric];
    let b = d.baseline_index();
    let tx = |x: f64| if layout.log_x { x.log10() } else { x };
    let mut ys = Vec::new();
    let mut xs = Vec::new();
    for (s, _, pts) in &layout.lines {
        for (x, k) in pts {
            if let Some(st) = sw.points[*k].systems.get(*s) {
                let v = pick(st);
                let (lo, hi) = v.bounds();
                ys.extend([lo, hi, v.m()].into_iter().filter(|y| y.is_finite()));
            }
            xs.push(tx(*x));
        }
    }
    let ylo = ys.iter().copied().fold(f64::INFINITY, f64::min);
    let yhi = ys.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let (ylo, yhi) = padded(ylo, yhi, ylo >= 0.0);
    // Headroom for the legend and the break-even labels.
    let yhi = yhi + (yhi - ylo) * 0.2;
    let xlo = xs.iter().copied().fold(f64::INFINITY, f64::min);
    let xhi = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let span = (xhi - xlo).max(1e-9);
    let (xlo, xhi) = (xlo - span * 0.04, xhi + span * 0.04);
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("{title} vs {} — {}", layout.x_param, d.summary.scenario),
            (FONT, 26).into_font().style(FontStyle::Bold),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(95)
        .build_cartesian_2d(xlo..xhi, ylo..yhi)
        .c()?;
    let log_x = layout.log_x;
    let is_ms = ydesc.ends_with("(ms)");
    configure!(
        chart,
        &format!(
            "{}{}; bands: 95 % CI over replications",
            layout.x_param,
            if log_x { " (log scale)" } else { "" }
        ),
        ydesc,
        &|v| {
            if !log_x {
                num_label(*v)
            } else if (v - v.round()).abs() < 0.01 {
                num_label(10f64.powf(v.round()))
            } else {
                String::new()
            }
        },
        &|v| if is_ms { ms_label(*v) } else { num_label(*v) },
        10,
    )?;
    let combos: Vec<&String> = {
        let mut c: Vec<&String> = layout.lines.iter().map(|l| &l.1).collect();
        c.dedup();
        c
    };
    for (s, other, pts) in &layout.lines {
        let mut st = system_style(*s);
        let combo = combos.iter().position(|c| *c == other).unwrap_or(0);
        if combos.len() > 1 {
            st.dash = DASHES[combo % DASHES.len()];
        }
        let series: Vec<(f64, StatData)> = pts
            .iter()
            .filter_map(|(x, k)| sw.points[*k].systems.get(*s).map(|v| (tx(*x), pick(v))))
            .filter(|(_, v)| v.mean.is_some())
            .collect();
        if series.is_empty() {
            continue;
        }
        // CI band.
        let mut band: Vec<(f64, f64)> = series.iter().map(|(x, v)| (*x, v.bounds().1)).collect();
        band.extend(series.iter().rev().map(|(x, v)| (*x, v.bounds().0)));
        chart
            .draw_series(std::iter::once(Polygon::new(band, st.color.mix(0.15).filled())))
            .c()?;
        let name = sw.points[0].systems.get(*s).map(|v| v.name.as_str()).unwrap_or("?");
        let label = if combos.len() > 1 {
            format!("{name} ({other})")
        } else {
            name.to_string()
        };
        let line: Vec<(f64, f64)> = series.iter().map(|(x, v)| (*x, v.m())).collect();
        draw_line(&mut chart, &line, st, &label, 1, 0)?;
    }
    if metric == 0 {
        for (i, c) in crossovers(d).iter().enumerate() {
            let x = tx(c.at);
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(x, ylo), (x, yhi)],
                    6,
                    6,
                    RGBColor(90, 90, 90).stroke_width(2),
                ))
                .c()?;
            chart
                .draw_series(std::iter::once(Circle::new((x, c.cost), 8, BLACK.stroke_width(3))))
                .c()?;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!(
                        "break-even: {} = {} at {} = {}",
                        c.system,
                        d.summary.systems.get(b).map(|s| s.name.as_str()).unwrap_or("baseline"),
                        short_param(&c.parameter),
                        num_label(c.at)
                    ),
                    (x, yhi - (yhi - ylo) * (0.05 + 0.05 * (i % 6) as f64)),
                    (FONT, 16).into_font(),
                )))
                .c()?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperRight)?;
    root.present().c()
}

/// The last component of a swept path (`workload.flow[0].arrival.rate` → `arrival.rate`).
pub fn short_param(p: &str) -> String {
    let parts: Vec<&str> = p.split('.').collect();
    if parts.len() > 2 {
        parts[parts.len() - 2..].join(".")
    } else {
        p.to_string()
    }
}

// ---------------------------------------------------------------------------------------
// 6. Capacity search: achieved vs offered load.
// ---------------------------------------------------------------------------------------

fn draw_capacity<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, d: &ReportData) -> Res {
    root.fill(&WHITE).c()?;
    let Some(cap) = &d.summary.capacity else {
        return root.present().c();
    };
    let all: Vec<f64> = cap
        .systems
        .iter()
        .flat_map(|s| s.probes.iter().flat_map(|p| [p.offered_tps, p.achieved_tps]))
        .filter(|v| v.is_finite())
        .collect();
    let hi = all.iter().copied().fold(1.0f64, f64::max) * 1.1;
    let mut chart = ChartBuilder::on(root)
        .caption(
            format!("Capacity search: achieved vs offered load — {}", d.summary.scenario),
            (FONT, 28).into_font().style(FontStyle::Bold),
        )
        .margin(20)
        .x_label_area_size(60)
        .y_label_area_size(95)
        .build_cartesian_2d(0.0..hi, 0.0..hi)
        .c()?;
    let slo = cap
        .slo_p99_ms
        .map(|v| format!("p99 ≤ {}", ms_label(v)))
        .unwrap_or_default();
    let ratio = cap
        .min_throughput_ratio
        .map(|r| format!("achieved ≥ {:.0} % of offered", r * 100.0))
        .unwrap_or_default();
    configure!(
        chart,
        &format!(
            "offered load (tx/s); filled: probe met the objective ({slo}{}{ratio}), hollow: missed",
            if slo.is_empty() || ratio.is_empty() { "" } else { ", " }
        ),
        "achieved throughput (tx/s)",
        &|v| num_label(*v),
        &|v| num_label(*v),
        10,
    )?;
    chart
        .draw_series(DashedLineSeries::new(
            vec![(0.0, 0.0), (hi, hi)],
            8,
            6,
            RGBColor(150, 150, 150).stroke_width(1),
        ))
        .c()?;
    for cs in &cap.systems {
        let i = style_index(d, &cs.system);
        let st = system_style(i);
        let mut probes = cs.probes.clone();
        probes.sort_by(|a, b| a.offered_tps.total_cmp(&b.offered_tps));
        let pts: Vec<(f64, f64)> = probes.iter().map(|p| (p.offered_tps, p.achieved_tps)).collect();
        if pts.is_empty() {
            continue;
        }
        let label = match cs.capacity_tps {
            Some(c) => format!("{} (capacity {} tx/s)", cs.system, num_label(c)),
            None => format!("{} (no probe met the objective)", cs.system),
        };
        let style = st.color.stroke_width(2);
        chart
            .draw_series(match st.dash {
                Dash::Solid => DashedLineSeries::new(pts.clone(), 10000, 0, style),
                Dash::Dashed => DashedLineSeries::new(pts.clone(), 14, 7, style),
                Dash::Dotted => DashedLineSeries::new(pts.clone(), 3, 5, style),
            })
            .c()?
            .label(label)
            .legend(move |(x, y)| legend_glyph!(x, y, st));
        chart
            .draw_series(probes.iter().map(|p| {
                let fill = if p.ok {
                    st.color.filled()
                } else {
                    st.color.stroke_width(2)
                };
                EmptyElement::at((p.offered_tps, p.achieved_tps)) + Circle::new((0, 0), 6, fill)
            }))
            .c()?;
        if let Some(c) = cs.capacity_tps {
            chart
                .draw_series(DashedLineSeries::new(
                    vec![(c, 0.0), (c, hi)],
                    4,
                    6,
                    st.color.stroke_width(1),
                ))
                .c()?;
        }
    }
    legend(&mut chart, SeriesLabelPosition::UpperLeft)?;
    root.present().c()
}

// ---------------------------------------------------------------------------------------
// Rendering to files.
// ---------------------------------------------------------------------------------------

/// One rendered chart.
pub struct Chart {
    /// File stem (`cost`, `latency_cdf`, …); files are `charts/<stem>.svg` and `.png`.
    pub stem: String,
    /// Title for the report.
    pub title: String,
    /// What the chart shows, one sentence, for the report.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

macro_rules! render {
    ($dir:expr, $out:expr, $stem:expr, $title:expr, $caption:expr, $f:ident $(, $arg:expr)*) => {{
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
            $f(&root, $($arg),*).map_err(|e| format!("chart {}: {e}", $stem))?;
        }
        let png = $dir.join(format!("{}.png", $stem));
        {
            let root = BitMapBackend::new(&png, (WIDTH, HEIGHT)).into_drawing_area();
            $f(&root, $($arg),*).map_err(|e| format!("chart {}: {e}", $stem))?;
        }
        std::fs::write($dir.join(format!("{}.svg", $stem)), &svg)
            .map_err(|e| format!("{}: {e}", $dir.join(format!("{}.svg", $stem)).display()))?;
        $out.push(Chart { stem: $stem.to_string(), title: $title.to_string(), caption: $caption.to_string(), svg });
    }};
}

/// Draw every chart that the data support into `charts_dir` (created if missing), as SVG
/// and PNG. Returns the charts in report order.
pub fn render_all(d: &ReportData, charts_dir: &Path) -> Result<Vec<Chart>, String> {
    register_fonts();
    std::fs::create_dir_all(charts_dir).map_err(|e| format!("{}: {e}", charts_dir.display()))?;
    let mut out: Vec<Chart> = Vec::new();
    let cur = d.currency().to_string();
    if !d.summary.systems.is_empty() {
        render!(
            charts_dir,
            out,
            "cost",
            "Cost per transaction by category",
            format!(
                "Mean cost per committed transaction in {cur}, stacked by category, the baseline first; whiskers are 95 % confidence intervals of the total over replications."
            ),
            draw_cost,
            d
        );
        if d.summary.systems.len() > 1 {
            render!(
                charts_dir,
                out,
                "savings",
                "Savings against the baseline",
                "Paired saving per transaction against the baseline, in percent of the baseline's cost, with 95 % confidence intervals over replications.",
                draw_savings,
                d
            );
        }
    }
    if !d.summary.systems.is_empty() {
        render!(
            charts_dir,
            out,
            "latency_cdf",
            "Latency distribution",
            "Share of transactions recorded (left) and settled (right) within a given time, all replications merged, on a logarithmic time axis.",
            draw_cdf,
            d
        );
    }
    if !d.timeseries.is_empty() {
        render!(
            charts_dir,
            out,
            "timeseries",
            "Throughput and latency over time",
            "Commits per second and their mean latency per time window (mean over replications), with the warm-up and any fault windows shaded.",
            draw_timeseries,
            d
        );
    }
    if sweep_layout(d).is_some() {
        for (k, (stem, title, _, _)) in sweep_metrics(&cur).iter().enumerate() {
            let caption = if k == 0 {
                "Mean cost per transaction at each sweep point, one line per system, 95 % CI bands; any crossing with the baseline is marked as a break-even point."
            } else {
                "Mean at each sweep point, one line per system, with 95 % confidence bands over replications."
            };
            render!(charts_dir, out, stem, title, caption, draw_sweep, d, k);
        }
    }
    if d.summary
        .capacity
        .as_ref()
        .map(|c| !c.systems.is_empty())
        .unwrap_or(false)
    {
        render!(
            charts_dir,
            out,
            "capacity",
            "Capacity search",
            "Throughput achieved at each offered load the capacity search probed, per system; the diagonal is achieved = offered.",
            draw_capacity,
            d
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bold tick labels of a log time axis from `lo` to `hi` ms.
    fn labels(lo_ms: f64, hi_ms: f64, max: usize) -> Vec<String> {
        log_time_ticks(lo_ms.log10(), hi_ms.log10(), max)
            .0
            .iter()
            .map(|v| log_time_label(v.log10()))
            .collect()
    }

    #[test]
    fn log_time_axes_are_labelled_at_round_durations() {
        // Seven decades, 1 ms to 10^4 s (2.8 h): decades and units, no "16.7 min".
        assert_eq!(
            labels(1.0, 1e7, 8),
            ["1 ms", "10 ms", "100 ms", "1 s", "10 s", "1 min", "10 min", "1 h"]
        );
        // Fewer labels allowed: every other one, still round.
        assert_eq!(labels(1.0, 1e7, 4), ["1 ms", "100 ms", "10 s", "10 min"]);
        // Two decades: the 1-2-5 ladder.
        assert_eq!(
            labels(10.0, 1000.0, 8),
            ["10 ms", "20 ms", "50 ms", "100 ms", "200 ms", "500 ms", "1 s"]
        );
        // Seconds to minutes use 10, 20, 30 s, then minutes.
        assert_eq!(
            labels(10_000.0, 600_000.0, 8),
            ["10 s", "20 s", "30 s", "1 min", "2 min", "5 min", "10 min"]
        );
        // Hours (a daily settlement batch): 1 h, 2 h, 5 h, 10 h, 20 h.
        assert_eq!(labels(3.6e6, 1e8, 8), ["1 h", "2 h", "5 h", "10 h", "20 h"]);
        // Microseconds.
        assert_eq!(
            labels(0.001, 0.1, 8),
            ["1 µs", "2 µs", "5 µs", "10 µs", "20 µs", "50 µs", "100 µs"]
        );
        // The decade ladder brings the fine one as light grid lines.
        let (bold, light) = log_time_ticks(0.0, 7.0, 8);
        assert_eq!(bold.len(), 8);
        assert!(light.contains(&(2.0 * MINUTE_MS)) && !light.contains(&MINUTE_MS));
    }

    #[test]
    fn every_tick_of_any_range_is_a_clean_label() {
        // Whatever the range of at least a decade within 1 µs – 1000 h, a bold tick reads as
        // a whole number of its unit (no "16.7 min", "3.16 s" or "59.9 s"), ticks increase,
        // and there are between 2 and the cap.
        for lo10 in -30..80 {
            for span10 in (10..90).filter(|s| lo10 + s <= 95) {
                let (lo, hi) = (lo10 as f64 / 10.0, (lo10 + span10) as f64 / 10.0);
                for max in [4, 7, 10] {
                    let (bold, _) = log_time_ticks(lo, hi, max);
                    assert!((2..=max).contains(&bold.len()), "{lo}..{hi} max {max}: {bold:?}");
                    assert!(bold.windows(2).all(|w| w[0] < w[1]));
                    for v in &bold {
                        let label = log_time_label(v.log10());
                        let number = label.split(' ').next().unwrap();
                        assert!(
                            number.parse::<u32>().is_ok(),
                            "{lo}..{hi}: tick {v} ms is labelled {label:?}"
                        );
                        assert!(v.log10() >= lo - 1e-9 && v.log10() <= hi + 1e-9);
                    }
                }
            }
        }
    }

    #[test]
    fn labels_between_ladder_values_fall_back_to_the_value() {
        assert_eq!(log_time_label(60_000f64.log10()), "1 min");
        assert_eq!(log_time_label(1000f64.log10()), "1 s");
        assert_eq!(log_time_label(3.0f64.log10()), "3 ms");
    }
}
