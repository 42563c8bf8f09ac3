//! The console comparison table.

use crate::experiment::{ExperimentResult, SystemSummary};
use crate::metrics::Stat;
use crate::scenario::Scenario;

/// Decimals that show about four significant digits of `x` (at most 6, at least 0).
fn decimals(x: f64) -> usize {
    if x == 0.0 || !x.is_finite() {
        return 1;
    }
    (3 - x.abs().log10().floor() as i64).clamp(0, 6) as usize
}

/// `mean ±half-width` with about four significant digits.
fn pm_sig(s: &Stat) -> String {
    pm(s, decimals(s.mean))
}

fn pm(s: &Stat, digits: usize) -> String {
    if !s.mean.is_finite() {
        return "—".into();
    }
    match s.ci95 {
        Some(_) => format!("{:.*} ±{:.*}", digits, s.mean, digits, s.half_width()),
        None => format!("{:.*}", digits, s.mean),
    }
}

/// A latency in ms shown in a readable unit, with its CI half-width.
fn lat(s: &Stat) -> String {
    if !s.mean.is_finite() {
        return "—".into();
    }
    let (scale, unit) = if s.mean >= 3_600_000.0 {
        (3_600_000.0, "h")
    } else if s.mean >= 60_000.0 {
        (60_000.0, "min")
    } else if s.mean >= 1_000.0 {
        (1_000.0, "s")
    } else {
        (1.0, "ms")
    };
    match s.ci95 {
        Some(_) => format!("{:.2} ±{:.2} {unit}", s.mean / scale, s.half_width() / scale),
        None => format!("{:.2} {unit}", s.mean / scale),
    }
}

/// Render the comparison (one table per sweep point when there is a sweep).
pub fn render(scenario: &Scenario, result: &ExperimentResult) -> String {
    if result.points.is_empty() {
        let mut out = render_point(scenario, &result.systems);
        if let Some(c) = &result.capacity {
            out.push_str(&render_capacity(c));
        }
        return out;
    }
    let mut out = String::new();
    for (p, (values, sc)) in result.points.iter().zip(scenario.run_points()) {
        let label: Vec<String> = values.iter().map(|(k, v)| format!("{k} = {v}")).collect();
        out.push_str(&format!("Sweep point {}: {}\n", p.index, label.join(", ")));
        out.push_str(&render_point(sc, &p.systems));
        out.push('\n');
    }
    out
}

/// Render one table (one row per system; every value with its 95 % CI).
fn render_point(scenario: &Scenario, systems: &[SystemSummary]) -> String {
    let head = [
        "system",
        "consensus",
        "settles",
        "committed",
        "tx/s",
        "latency p50",
        "latency p99",
        "settlement p50",
        &format!("cost/tx ({})", scenario.currency),
        "savings %",
    ];
    let mut rows: Vec<Vec<String>> = vec![head.iter().map(|s| s.to_string()).collect()];
    for s in systems {
        rows.push(vec![
            s.name.clone(),
            match s.consensus {
                "centralized" => s.consensus.to_string(),
                "pow" => format!("pow miners={}", s.members),
                c => format!("{c} n={} f={}", s.members, s.faults_tolerated),
            },
            s.settlement.to_string(),
            pm(&s.committed, 0),
            pm_sig(&s.throughput_tps),
            lat(&s.latency_ms.p50),
            lat(&s.latency_ms.p99),
            lat(&s.settlement_latency_ms.p50),
            pm_sig(&s.cost_per_tx.total),
            if s.name == scenario.systems[scenario.baseline].name {
                "baseline".into()
            } else {
                pm(&s.savings_vs_baseline_pct, 1)
            },
        ]);
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(c, (v, w))| if c < 3 { format!("{v:<w$}") } else { format!("{v:>w$}") })
            .collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
        if i == 0 {
            out.push_str(&widths.iter().map(|w| "-".repeat(*w)).collect::<Vec<_>>().join("  "));
            out.push('\n');
        }
    }
    let faults: Vec<String> = systems
        .iter()
        .filter(|s| s.safety_violations > 0 || !s.replicas_consistent || !s.money_conserved)
        .map(|s| {
            format!(
                "WARNING {}: safety violations {}, replicas consistent {}, money conserved {}",
                s.name, s.safety_violations, s.replicas_consistent, s.money_conserved
            )
        })
        .collect();
    for f in faults {
        out.push_str(&f);
        out.push('\n');
    }
    for s in systems {
        for note in &s.safety_violation_notes {
            out.push_str(&format!("  {}: {note}\n", s.name));
        }
    }
    if !scenario.faults.is_empty() {
        out.push_str("\nFaults and liveness:\n");
        for s in systems {
            let rec: Vec<String> = s
                .recovery_ms
                .iter()
                .map(|r| format!("{} → recovered in {}", r.fault, lat(&r.recovery_ms)))
                .collect();
            out.push_str(&format!(
                "  {}: longest gap without a commit {}, view changes {}, elections {}{}{}\n",
                s.name,
                lat(&s.max_commit_gap_ms),
                pm(&s.view_changes, 1),
                pm(&s.elections, 1),
                if rec.is_empty() { "" } else { "; " },
                rec.join("; ")
            ));
        }
    }
    out.push_str(&format!(
        "{} replication(s), 95% CI (Student t) as ±; latency = submit → recorded at the submitter; settlement per the system's mode; savings are paired per replication against `{}`.\n",
        scenario.replications, scenario.systems[scenario.baseline].name
    ));
    out
}

/// One line per system searched by `[capacity]`.
fn render_capacity(c: &crate::experiment::capacity::CapacityResult) -> String {
    let mut out = format!(
        "\nCapacity (largest offered load with p99 ≤ {} ms and committed/submitted ≥ {}, {} over replications; bisection {}–{} tx/s, resolution {:.4} tx/s):\n",
        c.slo_p99_ms, c.min_throughput_ratio, c.criterion, c.min_tps, c.max_tps, c.resolution_tps
    );
    let width = c.systems.iter().map(|s| s.system.chars().count()).max().unwrap_or(0);
    for s in &c.systems {
        let verdict = match s.capacity_tps {
            None => format!("none: fails already at {} tx/s", c.min_tps),
            Some(v) if s.at_upper_bound => format!("≥ {v:.1} tx/s (the upper bound passed; raise max_tps)"),
            Some(v) => {
                let at = s.probes.iter().find(|p| p.offered_tps == v);
                match at {
                    Some(p) => format!(
                        "{v:.1} tx/s (achieved {:.1} tx/s, p99 {:.2} ms)",
                        p.achieved_tps, p.p99_ms
                    ),
                    None => format!("{v:.1} tx/s"),
                }
            }
        };
        out.push_str(&format!(
            "  {:<width$}  {verdict}  [{} probes]\n",
            s.system,
            s.probes.len()
        ));
    }
    out
}
