//! Evaluating `[[expect]]` lines against an experiment's results: look the metric up in the
//! system's summary (the same JSON that `summary.json` holds), apply every condition, and
//! say why a failed one failed. Pure and deterministic; the outcomes go into `summary.json`
//! (`expectations`), the console and `docs/VALIDATION.md`.

use crate::experiment::{ExperimentResult, SystemSummary};
use crate::metrics::Stat;
use crate::scenario::Scenario;
use crate::scenario::expect::{Expectation, MESSAGE_KINDS_PREFIX, Relation, check, trim_float};
use serde::Serialize;

/// A simulated quantity: the mean over replications and its 95 % CI when there is one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Measured {
    /// Mean (or the derived difference / ratio).
    pub mean: f64,
    /// 95 % confidence interval, if any.
    pub ci95: Option<[f64; 2]>,
    /// Replications it comes from.
    pub n: usize,
}

/// The verdict on one `[[expect]]` line.
#[derive(Debug, Clone, Serialize)]
pub struct Outcome {
    /// Index of the `[[expect]]` table in the file.
    pub index: usize,
    /// Short description.
    pub label: String,
    /// The metric as written.
    pub metric: String,
    /// Sweep point, if any.
    pub point: Option<usize>,
    /// The point compared with, if any.
    pub versus_point: Option<usize>,
    /// What was expected, in words (`60`, `≥ 100, ≤ 200`).
    pub expected: String,
    /// The expected value, if one was given.
    pub value: Option<f64>,
    /// The allowed deviation in words (`± 1%`, `± 1%, inside the 95 % CI`, `bounds`).
    pub tolerance: String,
    /// The simulated quantity (`None` when the metric had no value, e.g. nothing committed).
    pub simulated: Option<Measured>,
    /// Every condition held.
    pub passed: bool,
    /// Why it failed (empty when it passed).
    pub reason: String,
    /// Where the expected value comes from.
    pub source: String,
    /// Note from the scenario file.
    pub note: String,
}

/// Look up `path` (dotted) in one system summary. A statistic gives its mean, CI and n; a plain
/// number gives itself (n = 1); a boolean gives 1 or 0. `None` if absent or null (NaN).
pub fn lookup(summary: &SystemSummary, path: &str) -> Option<Measured> {
    let json = serde_json::to_value(summary).ok()?;
    let mut cur = &json;
    for seg in path.split('.') {
        cur = cur.get(seg)?;
    }
    if let Some(obj) = cur.as_object()
        && obj.contains_key("mean")
        && obj.contains_key("n")
    {
        let mean = obj.get("mean")?.as_f64()?;
        let ci95 = obj.get("ci95").and_then(|c| c.as_array()).and_then(|a| {
            let lo = a.first()?.as_f64()?;
            let hi = a.get(1)?.as_f64()?;
            Some([lo, hi])
        });
        let n = obj.get("n").and_then(|n| n.as_u64()).unwrap_or(0) as usize;
        return Some(Measured { mean, ci95, n });
    }
    if let Some(b) = cur.as_bool() {
        return Some(Measured {
            mean: if b { 1.0 } else { 0.0 },
            ci95: None,
            n: 1,
        });
    }
    cur.as_f64().map(|mean| Measured { mean, ci95: None, n: 1 })
}

/// The systems' summaries at sweep point `point` (or of the scenario without a sweep).
fn systems_at(result: &ExperimentResult, point: Option<usize>) -> Option<&[SystemSummary]> {
    match point {
        None => Some(&result.systems),
        Some(p) => result.points.get(p).map(|ps| ps.systems.as_slice()),
    }
}

/// Messages of the given kinds (comma-separated) per committed transaction, over the
/// replications of one system at one point.
fn kinds_per_tx(result: &ExperimentResult, system: usize, point: usize, kinds: &str) -> Option<Measured> {
    let wanted: Vec<&str> = kinds.split(',').collect();
    let values: Vec<f64> = result
        .runs
        .iter()
        .filter(|r| r.system == system && r.point == point)
        .map(|r| {
            let count: u64 = r
                .message_kinds
                .iter()
                .filter(|(k, _)| wanted.contains(k))
                .map(|(_, c)| *c)
                .sum();
            count as f64 / r.committed as f64
        })
        .collect();
    let s = Stat::from_values(&values);
    (s.n > 0).then_some(Measured {
        mean: s.mean,
        ci95: s.ci95,
        n: s.n,
    })
}

/// The metric `e.path` of system `e.system` at sweep point `p`.
fn metric_at(e: &Expectation, result: &ExperimentResult, p: Option<usize>) -> Option<Measured> {
    match e.path.strip_prefix(MESSAGE_KINDS_PREFIX) {
        Some(kinds) => kinds_per_tx(result, e.system, p.unwrap_or(0), kinds),
        None => systems_at(result, p).and_then(|s| lookup(s.get(e.system)?, &e.path)),
    }
}

/// The quantity an expectation checks: the metric at its point, or its difference / ratio
/// against `versus_point`.
fn measure(e: &Expectation, result: &ExperimentResult) -> Option<Measured> {
    let at = |p: Option<usize>| metric_at(e, result, p);
    let here = at(e.point)?;
    match e.versus {
        None => Some(here),
        Some((other, relation)) => {
            let there = at(Some(other))?;
            match relation {
                Relation::Difference => {
                    let mean = (here.mean - there.mean) / e.per;
                    // Independent replications at the two points: half-widths add in quadrature.
                    let ci95 = match (here.ci95, there.ci95) {
                        (Some([a, b]), Some([c, d])) => {
                            let hw = ((b - a) / 2.0).hypot((d - c) / 2.0) / e.per.abs();
                            Some([mean - hw, mean + hw])
                        }
                        _ => None,
                    };
                    Some(Measured {
                        mean,
                        ci95,
                        n: here.n.min(there.n),
                    })
                }
                Relation::Ratio => Some(Measured {
                    mean: here.mean / there.mean,
                    ci95: None,
                    n: here.n.min(there.n),
                }),
            }
        }
    }
}

/// A number for people: 4 significant digits, no exponent for ordinary magnitudes.
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let a = x.abs();
    if a != 0.0 && !(1e-4..1e9).contains(&a) {
        return format!("{x:.3e}");
    }
    let decimals = if a == 0.0 {
        0
    } else {
        (3 - a.log10().floor() as i32).clamp(0, 8) as usize
    };
    trim_float_to(x, decimals)
}

fn trim_float_to(x: f64, decimals: usize) -> String {
    let s = format!("{x:.decimals$}");
    if s.contains('.') {
        let s = s.trim_end_matches('0').trim_end_matches('.');
        if s == "-0" { "0".into() } else { s.to_string() }
    } else {
        s
    }
}

/// What is being compared, e.g. `pbft.latency_ms.p50 @ point 2 − point 0, per 5`.
pub fn describe_metric(e: &Expectation) -> String {
    let mut s = e.metric.clone();
    if let Some(p) = e.point {
        s.push_str(&format!(" @ point {p}"));
    }
    match e.versus {
        Some((o, Relation::Difference)) if e.per != 1.0 => {
            s.push_str(&format!(" − point {o}, ÷ {}", trim_float(e.per)))
        }
        Some((o, Relation::Difference)) => s.push_str(&format!(" − point {o}")),
        Some((o, Relation::Ratio)) => s.push_str(&format!(" ÷ point {o}")),
        None => {}
    }
    s
}

/// The allowed deviation in words: `± 1%`, `inside the 95 % CI`, both, or `bounds`.
fn tolerance_text(e: &Expectation) -> String {
    let mut parts = Vec::new();
    if let Some(t) = e.tolerance {
        parts.push(t.to_string());
    }
    if e.within_ci {
        parts.push("inside the 95 % CI".to_string());
    }
    if parts.is_empty() {
        parts.push("bounds".to_string());
    }
    parts.join(", ")
}

/// The expected value or the bounds, in words.
fn expected_text(e: &Expectation) -> String {
    let mut parts = Vec::new();
    if let Some(v) = e.value {
        parts.push(fmt_num(v));
    }
    if let Some(lo) = e.min {
        parts.push(format!("≥ {}", fmt_num(lo)));
    }
    if let Some(hi) = e.max {
        parts.push(format!("≤ {}", fmt_num(hi)));
    }
    parts.join(", ")
}

/// Judge one expectation against a measured quantity.
pub fn judge(e: &Expectation, measured: Option<Measured>) -> (bool, String) {
    let Some(m) = measured else {
        return (
            false,
            "the metric has no value in this run (nothing committed, or not reported)".into(),
        );
    };
    let mut reasons = Vec::new();
    if let (Some(v), Some(t)) = (e.value, e.tolerance) {
        let allowed = t.allowance(v);
        let off = (m.mean - v).abs();
        // Inclusive, with a rounding slack of a few ulps (60.6 − 60 is 0.6000000000000014).
        let slack = 4.0 * f64::EPSILON * v.abs().max(m.mean.abs());
        if off > allowed + slack || !off.is_finite() {
            let pct = if v != 0.0 {
                format!(" ({:+.1}%)", (m.mean - v) / v.abs() * 100.0)
            } else {
                String::new()
            };
            reasons.push(format!(
                "simulated {} is {} from {}{pct}, more than the tolerance {}",
                fmt_num(m.mean),
                fmt_num(off),
                fmt_num(v),
                fmt_num(allowed)
            ));
        }
    }
    if e.within_ci
        && let Some(v) = e.value
    {
        match m.ci95 {
            Some([lo, hi]) if lo <= v && v <= hi => {}
            Some([lo, hi]) => reasons.push(format!(
                "{} is outside the simulated 95 % CI [{}, {}]",
                fmt_num(v),
                fmt_num(lo),
                fmt_num(hi)
            )),
            None => reasons.push(format!("no confidence interval (n = {}; needs ≥ 2 replications)", m.n)),
        }
    }
    if let Some(lo) = e.min
        && (m.mean.is_nan() || m.mean < lo)
    {
        reasons.push(format!(
            "simulated {} is below the minimum {}",
            fmt_num(m.mean),
            fmt_num(lo)
        ));
    }
    if let Some(hi) = e.max
        && (m.mean.is_nan() || m.mean > hi)
    {
        reasons.push(format!(
            "simulated {} is above the maximum {}",
            fmt_num(m.mean),
            fmt_num(hi)
        ));
    }
    (reasons.is_empty(), reasons.join("; "))
}

/// Evaluate every `[[expect]]` of `scenario` against `result`, in file order. Empty when the
/// scenario has none.
pub fn evaluate(scenario: &Scenario, result: &ExperimentResult) -> Vec<Outcome> {
    if scenario.raw.expect.is_empty() {
        return Vec::new();
    }
    let points = (!scenario.points.is_empty()).then_some(scenario.points.len());
    let (expectations, _) = check(&scenario.raw.expect, &scenario.systems, points.is_some(), points);
    expectations
        .iter()
        .map(|e| {
            let simulated = measure(e, result);
            let (passed, reason) = judge(e, simulated);
            Outcome {
                index: e.index,
                label: e.label.clone(),
                metric: describe_metric(e),
                point: e.point,
                versus_point: e.versus.map(|(p, _)| p),
                expected: expected_text(e),
                value: e.value,
                tolerance: tolerance_text(e),
                simulated,
                passed,
                reason,
                source: e.source.clone(),
                note: e.note.clone(),
            }
        })
        .collect()
}

/// `simulated ± half-width` (or just the mean without a CI).
pub fn simulated_text(m: &Option<Measured>) -> String {
    match m {
        None => "—".into(),
        Some(Measured {
            mean,
            ci95: Some([lo, hi]),
            ..
        }) => {
            format!("{} ± {}", fmt_num(*mean), fmt_num((hi - lo) / 2.0))
        }
        Some(Measured { mean, .. }) => fmt_num(*mean),
    }
}

/// Console lines: one per expectation, `PASS`/`FAIL`, what was compared and why it failed.
pub fn render_console(outcomes: &[Outcome]) -> String {
    let mut s = String::new();
    for o in outcomes {
        let verdict = if o.passed { "PASS" } else { "FAIL" };
        s.push_str(&format!(
            "  {verdict}  {}: simulated {} vs expected {} ({})  [{}]\n",
            o.metric,
            simulated_text(&o.simulated),
            o.expected,
            o.tolerance,
            o.source
        ));
        if !o.passed {
            s.push_str(&format!("        {}\n", o.reason));
            if !o.note.is_empty() {
                s.push_str(&format!("        note: {}\n", o.note));
            }
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::expect::Tolerance;

    fn expectation() -> Expectation {
        Expectation {
            index: 0,
            label: "x".into(),
            metric: "s.latency_ms.p50".into(),
            system: 0,
            path: "latency_ms.p50".into(),
            point: None,
            versus: None,
            per: 1.0,
            value: Some(60.0),
            tolerance: Some(Tolerance::Relative(0.01)),
            within_ci: false,
            min: None,
            max: None,
            source: "3δ".into(),
            note: String::new(),
        }
    }

    fn m(mean: f64, ci: Option<[f64; 2]>) -> Option<Measured> {
        Some(Measured { mean, ci95: ci, n: 5 })
    }

    #[test]
    fn tolerance_bounds_are_inclusive_and_failures_say_why() {
        let e = expectation();
        assert!(judge(&e, m(60.6, None)).0);
        assert!(judge(&e, m(59.4, None)).0);
        let (ok, why) = judge(&e, m(61.0, None));
        assert!(!ok);
        assert!(
            why.contains("61") && why.contains("+1.7%") && why.contains("0.6"),
            "{why}"
        );
        let (ok, why) = judge(&e, None);
        assert!(!ok && why.contains("no value"), "{why}");
        assert!(!judge(&e, m(f64::NAN, None)).0);
    }

    #[test]
    fn within_ci_needs_the_value_inside_the_interval() {
        let mut e = expectation();
        e.tolerance = None;
        e.within_ci = true;
        assert!(judge(&e, m(61.0, Some([59.0, 63.0]))).0);
        let (ok, why) = judge(&e, m(61.0, Some([60.5, 61.5])));
        assert!(!ok && why.contains("outside"), "{why}");
        let (ok, why) = judge(&e, m(60.0, None));
        assert!(!ok && why.contains("needs ≥ 2"), "{why}");
    }

    #[test]
    fn bounds_apply_to_the_mean() {
        let mut e = expectation();
        e.value = None;
        e.tolerance = None;
        e.min = Some(10.0);
        e.max = Some(20.0);
        assert!(judge(&e, m(10.0, None)).0);
        assert!(judge(&e, m(20.0, None)).0);
        assert!(judge(&e, m(9.99, None)).1.contains("below the minimum"));
        assert!(judge(&e, m(20.01, None)).1.contains("above the maximum"));
        assert_eq!(expected_text(&e), "≥ 10, ≤ 20");
    }

    #[test]
    fn numbers_are_printed_for_people() {
        assert_eq!(fmt_num(60.0), "60");
        assert_eq!(fmt_num(1030.25), "1030");
        assert_eq!(fmt_num(0.06532), "0.06532");
        assert_eq!(fmt_num(12.3456), "12.35");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(2.5e-7), "2.500e-7");
    }
}
