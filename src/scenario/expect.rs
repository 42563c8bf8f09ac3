//! `[[expect]]` lines: what a validation scenario must reproduce, checked when the scenario is
//! loaded (unknown systems, unknown metrics, malformed tolerances and impossible combinations
//! are input errors) and evaluated after the run by `report::expect`.
//!
//! A metric is addressed as `<system name>.<path>`, the path naming a statistic of that
//! system's entry in `summary.json` (see [`metric_paths`]), e.g. `pbft.latency_ms.p50` or
//! `central.cost_per_tx.breakdown.float`. Every condition given must hold:
//!
//! * `value` + `tolerance` — |simulated mean − value| ≤ tolerance (`"1%"` of `value`, or an
//!   absolute amount in the metric's unit: `0.5` or `"0.5"`);
//! * `value` + `within_ci = true` — `value` lies inside the simulated 95 % confidence interval
//!   (needs at least 2 replications);
//! * `min` / `max` — bounds on the simulated mean.
//!
//! In a sweep, `point = N` picks the sweep point (0-based, in the order `ledgersim check`
//! lists them); `versus_point = M` compares against another point: the checked quantity is
//! `(metric@point − metric@M) / per` (`relation = "difference"`, the default; `per` defaults
//! to 1) or `metric@point / metric@M` (`relation = "ratio"`).

use super::raw::{RawExpect, RawTolerance};
use super::{SystemKind, SystemSpec, ValidationIssue};
use std::fmt;

/// An allowed deviation from an expected value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Tolerance {
    /// An absolute amount in the metric's unit.
    Absolute(f64),
    /// A fraction of the expected value (`"1%"` is 0.01).
    Relative(f64),
}

impl Tolerance {
    /// Parse `"1%"`, `"0.5 %"` (relative) or `"0.5"` (absolute). Negative and non-finite
    /// amounts are rejected.
    pub fn parse(text: &str) -> Result<Tolerance, String> {
        let t = text.trim();
        let (number, relative) = match t.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (t, false),
        };
        let v: f64 = number.parse().map_err(|_| {
            format!("`{text}` is not a tolerance; write a percentage such as \"1%\" or an absolute amount such as 0.5")
        })?;
        if !(v.is_finite() && v >= 0.0) {
            return Err(format!("`{text}`: a tolerance must be a finite amount ≥ 0"));
        }
        Ok(if relative {
            Tolerance::Relative(v / 100.0)
        } else {
            Tolerance::Absolute(v)
        })
    }

    /// The allowed absolute deviation around `expected`.
    pub fn allowance(&self, expected: f64) -> f64 {
        match *self {
            Tolerance::Absolute(a) => a,
            Tolerance::Relative(f) => f * expected.abs(),
        }
    }
}

impl fmt::Display for Tolerance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Tolerance::Absolute(a) => write!(f, "± {a}"),
            Tolerance::Relative(r) => write!(f, "± {}%", trim_float(r * 100.0)),
        }
    }
}

/// A float without a trailing `.0` noise (`1`, `0.5`, `12.5`).
pub fn trim_float(x: f64) -> String {
    let s = format!("{:.6}", x);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_string() }
}

/// How a point is compared with `versus_point`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// `(metric@point − metric@versus) / per`.
    Difference,
    /// `metric@point / metric@versus`.
    Ratio,
}

/// A validated `[[expect]]` line.
#[derive(Debug, Clone, PartialEq)]
pub struct Expectation {
    /// Index of the `[[expect]]` table in the file.
    pub index: usize,
    /// Short description (defaults to the metric).
    pub label: String,
    /// The metric as written, `<system>.<path>`.
    pub metric: String,
    /// Index of the system in the scenario.
    pub system: usize,
    /// The path inside the system's summary (`latency_ms.p50`).
    pub path: String,
    /// Sweep point (None: the scenario has no sweep).
    pub point: Option<usize>,
    /// Compare against another sweep point.
    pub versus: Option<(usize, Relation)>,
    /// Divisor of a difference.
    pub per: f64,
    /// Expected value.
    pub value: Option<f64>,
    /// Allowed deviation of the simulated mean from `value`.
    pub tolerance: Option<Tolerance>,
    /// `value` must lie inside the simulated 95 % CI.
    pub within_ci: bool,
    /// Lower bound on the simulated mean.
    pub min: Option<f64>,
    /// Upper bound on the simulated mean.
    pub max: Option<f64>,
    /// Where the expected value comes from (formula, paper, table).
    pub source: String,
    /// Free text shown with the verdict (e.g. why a case is known to fail).
    pub note: String,
}

/// Metrics every system has (paths into its `summary.json` entry).
const COMMON_METRICS: &[&str] = &[
    "committed",
    "submitted",
    "throughput_tps",
    "latency_ms.p50",
    "latency_ms.p90",
    "latency_ms.p99",
    "latency_ms.mean",
    "settlement_latency_ms.p50",
    "settlement_latency_ms.p90",
    "settlement_latency_ms.p99",
    "settlement_latency_ms.mean",
    "cost_per_tx.total",
    "savings_vs_baseline_pct",
    "paired_vs_baseline.cost_per_tx",
    "paired_vs_baseline.latency_mean_ms",
    "paired_vs_baseline.latency_p99_ms",
    "paired_vs_baseline.settlement_mean_ms",
    "messages_per_tx",
    "bytes_per_tx",
    "cpu_utilization_max",
    "events",
    "view_changes",
    "elections",
    "forks",
    "max_commit_gap_ms",
    "safety_violations",
    "nodes",
    "members",
    "faults_tolerated",
    "replicas_consistent",
    "money_conserved",
];

/// Metrics only proof-of-work systems report.
const POW_METRICS: &[&str] = &[
    "block_propagation_ms.p50_of_median",
    "block_propagation_ms.p90",
    "block_propagation_ms.node_mean_p50",
    "block_propagation_ms.node_mean_p90",
    "block_propagation_ms.node_mean_mean",
    "stale_rate",
    "stale_rate_expected",
];

/// Prefix of the per-kind message metrics: `message_kinds_per_tx.<kind>[,<kind>…]` is the
/// number of messages of those kinds (summed) per committed transaction, per replication.
pub const MESSAGE_KINDS_PREFIX: &str = "message_kinds_per_tx.";

/// The name of client requests and replies among the message kinds.
pub use crate::names::CLIENT_KIND;

/// The message kinds each protocol counts, in its own order (its `Replica::msg_kind_names`,
/// from [`crate::names`]), followed by [`CLIENT_KIND`].
pub fn message_kinds(kind: &SystemKind) -> Vec<&'static str> {
    use crate::names;
    let own = match kind {
        SystemKind::Centralized(_) => names::CENTRALIZED_KINDS,
        SystemKind::Pbft(_) => names::PBFT_KINDS,
        SystemKind::Raft(_) => names::RAFT_KINDS,
        SystemKind::HotStuff(_) => names::HOTSTUFF_KINDS,
        SystemKind::Poa(_) => names::POA_KINDS,
        SystemKind::Pow(_) => names::POW_KINDS,
    };
    let mut v = own.to_vec();
    v.push(CLIENT_KIND);
    v
}

/// Every metric path addressable for a system of this kind, in documentation order.
/// Booleans (`replicas_consistent`, `money_conserved`) count as 1 (true) or 0 (false).
/// Besides these, `message_kinds_per_tx.<kind>[,<kind>…]` with kinds from [`message_kinds`].
pub fn metric_paths(kind: &SystemKind) -> Vec<String> {
    let mut v: Vec<String> = COMMON_METRICS.iter().map(|s| s.to_string()).collect();
    v.extend(
        crate::names::COST_CATEGORIES
            .iter()
            .map(|c| format!("cost_per_tx.breakdown.{c}")),
    );
    if matches!(kind, SystemKind::Pow(_)) {
        v.extend(POW_METRICS.iter().map(|s| s.to_string()));
    }
    v
}

/// Whether `path` is a metric of a system of this kind; if not, what is allowed.
fn check_path(kind: &SystemKind, path: &str) -> Result<(), String> {
    if let Some(kinds) = path.strip_prefix(MESSAGE_KINDS_PREFIX) {
        let allowed = message_kinds(kind);
        let unknown: Vec<&str> = kinds.split(',').filter(|k| !allowed.contains(k)).collect();
        if unknown.is_empty() {
            return Ok(());
        }
        return Err(format!(
            "unknown message kind(s) {} for {}; kinds: {}",
            unknown.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", "),
            kind.label(),
            allowed.join(", ")
        ));
    }
    let valid = metric_paths(kind);
    if valid.iter().any(|v| v == path) {
        return Ok(());
    }
    Err(format!(
        "metrics: {}, {MESSAGE_KINDS_PREFIX}<kind>[,<kind>…] (kinds: {})",
        valid.join(", "),
        message_kinds(kind).join(", ")
    ))
}

/// Split `<system>.<path>` by the longest system name that prefixes it (names may contain
/// dots); `None` if no system matches.
fn split_metric<'a>(metric: &'a str, systems: &[SystemSpec]) -> Option<(usize, &'a str)> {
    systems
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            metric.len() > s.name.len() + 1
                && metric.starts_with(s.name.as_str())
                && metric.as_bytes()[s.name.len()] == b'.'
        })
        .max_by_key(|(_, s)| s.name.len())
        .map(|(i, s)| (i, &metric[s.name.len() + 1..]))
}

/// Validate the raw `[[expect]]` tables against the scenario's systems. `points` is the number
/// of sweep points when known (after sweep expansion), `has_sweep` whether the file has a
/// `[sweep]`. Returns the expectations and every problem found (field paths `expect[i].…`).
pub fn check(
    raw: &[RawExpect],
    systems: &[SystemSpec],
    has_sweep: bool,
    points: Option<usize>,
) -> (Vec<Expectation>, Vec<ValidationIssue>) {
    let mut issues = Vec::new();
    let mut out = Vec::new();
    let names: Vec<&str> = systems.iter().map(|s| s.name.as_str()).collect();
    for (i, e) in raw.iter().enumerate() {
        let mut err = |field: &str, message: String| {
            issues.push(ValidationIssue {
                path: format!("expect[{i}].{field}"),
                message,
            })
        };
        let mut ok = true;
        let (system, path) = match split_metric(&e.metric, systems) {
            Some((s, p)) => {
                if let Err(allowed) = check_path(&systems[s].kind, p) {
                    err(
                        "metric",
                        format!(
                            "`{p}` is not a metric of system `{}` ({}); {allowed}",
                            systems[s].name,
                            systems[s].kind.label(),
                        ),
                    );
                    ok = false;
                }
                (s, p.to_string())
            }
            None => {
                err(
                    "metric",
                    format!(
                        "`{}` does not start with a system name; write `<system>.<metric>`, systems: {}",
                        e.metric,
                        names.join(", ")
                    ),
                );
                ok = false;
                (0, String::new())
            }
        };
        let tolerance = match &e.tolerance {
            None => None,
            Some(RawTolerance::Number(v)) => match Tolerance::parse(&v.to_string()) {
                Ok(t) => Some(t),
                Err(m) => {
                    err("tolerance", m);
                    ok = false;
                    None
                }
            },
            Some(RawTolerance::Text(t)) => match Tolerance::parse(t) {
                Ok(t) => Some(t),
                Err(m) => {
                    err("tolerance", m);
                    ok = false;
                    None
                }
            },
        };
        for (field, v) in [("value", e.value), ("min", e.min), ("max", e.max), ("per", e.per)] {
            if let Some(x) = v
                && !x.is_finite()
            {
                err(field, format!("must be a finite number (got {x})"));
                ok = false;
            }
        }
        if e.value.is_none() && (tolerance.is_some() || e.within_ci) {
            err(
                "value",
                "is required with `tolerance` or `within_ci` (the expected value to compare with)".into(),
            );
            ok = false;
        }
        if e.value.is_some() && tolerance.is_none() && !e.within_ci {
            err(
                "tolerance",
                "`value` needs a `tolerance` (e.g. \"1%\" or 0.5) or `within_ci = true`".into(),
            );
            ok = false;
        }
        if e.value.is_none() && e.min.is_none() && e.max.is_none() {
            err(
                "value",
                "nothing to check: give `value` with `tolerance` or `within_ci = true`, or `min` / `max`".into(),
            );
            ok = false;
        }
        if let (Some(lo), Some(hi)) = (e.min, e.max)
            && lo > hi
        {
            err("min", format!("min {lo} is greater than max {hi}"));
            ok = false;
        }
        if e.source.trim().is_empty() {
            err(
                "source",
                "must say where the expected value comes from (formula, paper, table)".into(),
            );
            ok = false;
        }
        let relation = match e.relation.as_deref() {
            None | Some("difference") => Relation::Difference,
            Some("ratio") => Relation::Ratio,
            Some(other) => {
                err(
                    "relation",
                    format!("`{other}` is not a relation; allowed: \"difference\", \"ratio\""),
                );
                ok = false;
                Relation::Difference
            }
        };
        if e.versus_point.is_none() && (e.relation.is_some() || e.per.is_some()) {
            err(
                "versus_point",
                "`relation` and `per` compare two sweep points: give `versus_point` too".into(),
            );
            ok = false;
        }
        if let Some(p) = e.per
            && (p == 0.0 || relation == Relation::Ratio)
        {
            err(
                "per",
                format!("must be non-zero and is only for `relation = \"difference\"` (got {p})"),
            );
            ok = false;
        }
        if e.versus_point.is_some() && e.within_ci {
            err(
                "within_ci",
                "cannot be used with `versus_point` (a derived quantity has no CI here); use `tolerance`".into(),
            );
            ok = false;
        }
        if !has_sweep {
            for (field, v) in [("point", e.point), ("versus_point", e.versus_point)] {
                if v.is_some() {
                    err(field, "the scenario has no [sweep]; remove it or add a sweep".into());
                    ok = false;
                }
            }
        } else if e.point.is_none() {
            err(
                "point",
                "the scenario has a [sweep]: say which point (0-based) the expectation is about".into(),
            );
            ok = false;
        } else if let Some(n) = points {
            for (field, v) in [("point", e.point), ("versus_point", e.versus_point)] {
                if let Some(p) = v
                    && p as usize >= n
                {
                    err(
                        field,
                        format!(
                            "{p} is out of range: the sweep has {n} point(s), numbered 0 to {}",
                            n - 1
                        ),
                    );
                    ok = false;
                }
            }
        }
        if ok {
            out.push(Expectation {
                index: i,
                label: e.label.clone().unwrap_or_else(|| e.metric.clone()),
                metric: e.metric.clone(),
                system,
                path,
                point: e.point.map(|p| p as usize),
                versus: e.versus_point.map(|p| (p as usize, relation)),
                per: e.per.unwrap_or(1.0),
                value: e.value,
                tolerance,
                within_ci: e.within_ci,
                min: e.min,
                max: e.max,
                source: e.source.trim().to_string(),
                note: e.note.clone().unwrap_or_default().trim().to_string(),
            });
        }
    }
    (out, issues)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_parse_relative_and_absolute() {
        assert_eq!(Tolerance::parse("1%"), Ok(Tolerance::Relative(0.01)));
        assert_eq!(Tolerance::parse(" 12.5 % "), Ok(Tolerance::Relative(0.125)));
        assert_eq!(Tolerance::parse("0.5"), Ok(Tolerance::Absolute(0.5)));
        assert_eq!(Tolerance::parse("0"), Ok(Tolerance::Absolute(0.0)));
        for bad in ["", "%", "abc", "1 ms", "-1%", "-0.5", "inf", "NaN%"] {
            assert!(Tolerance::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!((Tolerance::Relative(0.1).allowance(-50.0) - 5.0).abs() < 1e-12);
        assert_eq!(Tolerance::Absolute(2.0).allowance(1e9), 2.0);
        assert_eq!(Tolerance::Relative(0.01).to_string(), "± 1%");
        assert_eq!(Tolerance::Absolute(0.5).to_string(), "± 0.5");
    }

    #[test]
    fn trim_float_drops_trailing_zeros() {
        assert_eq!(trim_float(60.0), "60");
        assert_eq!(trim_float(0.5), "0.5");
        assert_eq!(trim_float(-0.0), "0");
        assert_eq!(trim_float(1.0 / 3.0), "0.333333");
    }
}
