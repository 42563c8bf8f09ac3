//! `report.html`: a self-contained page (inline CSS and SVG, no scripts, no network) for
//! readers who do not read JSON — key findings in sentences generated from the numbers, the
//! comparison table, the charts, the assumptions with their sources, faults and the safety and
//! liveness checks, and how to reproduce every number.
//!
//! Every string that comes from the scenario or the data files is HTML-escaped.

use super::charts::{
    Chart, Crossover, baseline_first, crossovers, fault_windows, ms_label, num_label, short_param, thousands,
};
use super::data::{ReportData, StatData, SystemData};
use super::sources;
use std::fmt::Write;

/// Escape text for HTML element content and attribute values.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `; 95 % CI lo–hi` unless the interval is absent or too narrow to show.
fn ci_suffix(s: &StatData, f: &dyn Fn(f64) -> String) -> String {
    match s.ci95 {
        Some([lo, hi]) if f(lo) != f(hi) => format!("; 95 % CI {}–{}", f(lo), f(hi)),
        _ => String::new(),
    }
}

/// `mean ± half-width`.
fn pm(s: &StatData, f: &dyn Fn(f64) -> String) -> String {
    match s.mean {
        None => "–".into(),
        Some(m) if s.ci95.is_some() => format!("{} ± {}", f(m), f(s.half_width())),
        Some(m) => f(m),
    }
}

fn money(v: f64) -> String {
    if !v.is_finite() {
        "–".into()
    } else if v.abs() >= 100.0 {
        format!("{v:.0}")
    } else if v.abs() >= 1.0 {
        format!("{v:.2}")
    } else if v.abs() >= 0.01 {
        format!("{v:.3}")
    } else {
        format!("{v:.2e}")
    }
}

fn pct(v: f64) -> String {
    format!("{v:.1} %")
}

fn describe_system(s: &SystemData) -> String {
    match s.consensus.as_str() {
        "centralized" => "the centralized operator".to_string(),
        c => format!(
            "{} over {} members",
            c.to_uppercase().replace("HOTSTUFF", "HotStuff").replace("RAFT", "Raft"),
            s.members
        ),
    }
}

fn settle_words(s: &SystemData) -> &'static str {
    match s.settlement.as_str() {
        "on-ledger" => "money settles on the ledger at commit",
        "off-ledger" => "the ledger is the shared record; cash still moves in the interbank batches",
        "batch" => "settled in the interbank batches",
        _ => "settlement as configured",
    }
}

/// Per-category differences baseline − system (positive: where the system saves).
fn category_deltas(base: &SystemData, sys: &SystemData) -> Vec<(String, f64)> {
    let mut v: Vec<(String, f64)> = base
        .cost_per_tx
        .breakdown
        .iter()
        .map(|(c, b)| {
            let s = sys.cost_per_tx.breakdown.get(c).map(|x| x.m()).unwrap_or(0.0);
            (c.clone(), b.m() - s)
        })
        .filter(|(_, d)| d.is_finite() && d.abs() > 0.0)
        .collect();
    v.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()).then(a.0.cmp(&b.0)));
    v
}

/// The key findings, one sentence (or two) each, generated from the numbers.
pub fn findings(d: &ReportData) -> Vec<String> {
    let cur = d.currency();
    let sys = &d.summary.systems;
    let mut out = Vec::new();
    if sys.is_empty() {
        return out;
    }
    let b = d.baseline_index();
    let base = &sys[b];
    out.push(format!(
        "The baseline, <b>{}</b> ({}), records a transaction in {} (median) and settles it in {} (median), at {} {cur} per transaction (95 % CI {}–{}).",
        esc(&base.name),
        esc(settle_words(base)),
        ms_label(base.latency_ms.p50.m()),
        ms_label(base.settlement_latency_ms.p50.m()),
        money(base.cost_per_tx.total.m()),
        money(base.cost_per_tx.total.bounds().0),
        money(base.cost_per_tx.total.bounds().1),
    ));
    for (i, s) in sys.iter().enumerate() {
        if i == b {
            continue;
        }
        let sav = s.savings_vs_baseline_pct;
        let dir = if sav.m() >= 0.0 { "below" } else { "above" };
        let settle = ms_label(s.settlement_latency_ms.p50.m());
        let base_settle = ms_label(base.settlement_latency_ms.p50.m());
        let settle_text = if settle == base_settle {
            format!("settles it in {settle}, as {} does", esc(&base.name))
        } else {
            format!("settles it in {settle} instead of {base_settle}")
        };
        let mut sentence = format!(
            "At {} tx/s, <b>{}</b> ({}, {}) records a transaction in {} (median{}) and {settle_text}, at {} {cur} per transaction, {} {dir} {} (paired{}).",
            thousands(s.throughput_tps.m()),
            esc(&s.name),
            esc(&describe_system(s)),
            esc(settle_words(s)),
            ms_label(s.latency_ms.p50.m()),
            ci_suffix(&s.latency_ms.p50, &ms_label),
            money(s.cost_per_tx.total.m()),
            pct(sav.m().abs()),
            esc(&base.name),
            ci_suffix(&sav, &pct),
        );
        let deltas = category_deltas(base, s);
        let gains: Vec<String> = deltas
            .iter()
            .filter(|(_, d)| *d > 0.0)
            .take(2)
            .map(|(c, _)| c.clone())
            .collect();
        let losses: Vec<String> = deltas
            .iter()
            .filter(|(_, d)| *d < 0.0)
            .take(2)
            .map(|(c, _)| c.clone())
            .collect();
        let total_gain: f64 = deltas.iter().filter(|(_, d)| *d > 0.0).map(|(_, d)| d).sum();
        if let Some((top, amount)) = deltas.iter().find(|(_, d)| *d > 0.0) {
            let _ = write!(
                sentence,
                " The saving comes mostly from {} ({} {cur} per transaction, {:.0} % of the gross saving){}",
                esc(top),
                money(*amount),
                amount / total_gain * 100.0,
                match gains.get(1) {
                    Some(next) => format!(", then {}", esc(next)),
                    None => String::new(),
                }
            );
            if losses.is_empty() {
                sentence.push('.');
            } else {
                let _ = write!(sentence, " and is offset by {}.", esc(&losses.join(" and ")));
            }
        } else if !losses.is_empty() {
            let _ = write!(sentence, " It costs more in {}.", esc(&losses.join(" and ")));
        }
        let committed_ratio = s.committed.m() / base.committed.m();
        if committed_ratio.is_finite() && committed_ratio < 0.95 {
            let _ = write!(
                sentence,
                " Warning: it committed only {:.0} % as many transactions as the baseline in the measurement window — it may be saturated.",
                committed_ratio * 100.0
            );
        }
        out.push(sentence);
    }
    let order = baseline_first(d);
    if let Some(&cheapest) = order
        .iter()
        .filter(|&&i| sys[i].cost_per_tx.total.mean.is_some())
        .min_by(|&&a, &&b2| sys[a].cost_per_tx.total.m().total_cmp(&sys[b2].cost_per_tx.total.m()))
        && let Some(&fastest) = order
            .iter()
            .filter(|&&i| sys[i].settlement_latency_ms.p50.mean.is_some())
            .min_by(|&&a, &&b2| {
                sys[a]
                    .settlement_latency_ms
                    .p50
                    .m()
                    .total_cmp(&sys[b2].settlement_latency_ms.p50.m())
            })
    {
        out.push(format!(
            "Cheapest per transaction: <b>{}</b> ({} {cur}). Fastest to settle: <b>{}</b> ({} median).",
            esc(&sys[cheapest].name),
            money(sys[cheapest].cost_per_tx.total.m()),
            esc(&sys[fastest].name),
            ms_label(sys[fastest].settlement_latency_ms.p50.m())
        ));
    }
    let unsafe_systems: Vec<String> = sys
        .iter()
        .filter(|s| s.safety_violations > 0 || !s.replicas_consistent || !s.money_conserved)
        .map(|s| esc(&s.name))
        .collect();
    if unsafe_systems.is_empty() {
        out.push("Every system passed the ledger checks in every replication: no safety violation, replicas consistent, money conserved.".into());
    } else {
        out.push(format!(
            "<b>Warning:</b> safety or consistency checks failed for {} (see “Faults, safety and liveness”).",
            unsafe_systems.join(", ")
        ));
    }
    for c in crossovers(d) {
        out.push(crossover_sentence(d, &c));
    }
    if let Some(cap) = &d.summary.capacity {
        for s in &cap.systems {
            let obj = cap
                .slo_p99_ms
                .map(|v| format!(" with p99 latency ≤ {}", ms_label(v)))
                .unwrap_or_default();
            out.push(match s.capacity_tps {
                Some(c) => format!(
                    "<b>{}</b> sustains up to {} tx/s{obj} in the capacity search.",
                    esc(&s.system),
                    thousands(c)
                ),
                None => format!(
                    "<b>{}</b> met the objective at none of the probed loads{obj}.",
                    esc(&s.system)
                ),
            });
        }
    }
    out.push(
        "Costs rest on the stated assumptions listed below; the confidence intervals describe variation between replications of the model, not uncertainty in the assumed prices."
            .into(),
    );
    out
}

fn crossover_sentence(d: &ReportData, c: &Crossover) -> String {
    let base = &d.summary.baseline;
    let cond = if c.other.is_empty() {
        String::new()
    } else {
        format!(" (with {})", esc(&c.other))
    };
    format!(
        "Break-even{cond}: <b>{}</b> costs the same per transaction as <b>{}</b> ({} {}) at {} = {}; {} it is cheaper.",
        esc(&c.system),
        esc(base),
        money(c.cost),
        esc(d.currency()),
        esc(&short_param(&c.parameter)),
        num_label(c.at),
        if c.cheaper_above { "above that" } else { "below that" }
    )
}

fn comparison_table(d: &ReportData) -> String {
    let cur = esc(d.currency());
    let mut h = String::new();
    let _ = write!(
        h,
        "<table><thead><tr><th>system</th><th>consensus</th><th>settles</th><th>committed</th><th>tx/s</th><th>latency p50</th><th>latency p99</th><th>settlement p50</th><th>cost/tx ({cur})</th><th>savings</th></tr></thead><tbody>"
    );
    let b = d.baseline_index();
    for i in baseline_first(d) {
        let s = &d.summary.systems[i];
        let cons = if s.consensus == "centralized" {
            "centralized".to_string()
        } else {
            format!("{} n={} f={}", s.consensus, s.members, s.faults_tolerated)
        };
        let sav = if i == b {
            "baseline".to_string()
        } else {
            pm(&s.savings_vs_baseline_pct, &|v| format!("{v:.1} %"))
        };
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td><td class=n>{}</td></tr>",
            esc(&s.name),
            esc(&cons),
            esc(&s.settlement),
            pm(&s.committed, &thousands),
            pm(&s.throughput_tps, &num_label),
            pm(&s.latency_ms.p50, &ms_label),
            pm(&s.latency_ms.p99, &ms_label),
            pm(&s.settlement_latency_ms.p50, &ms_label),
            pm(&s.cost_per_tx.total, &money),
            sav
        );
    }
    h.push_str("</tbody></table>");
    let _ = write!(
        h,
        "<p class=note>{} replication(s); ± is the half-width of the 95 % confidence interval (Student t) over replications. Latency: submit → the submitter knows the transaction is recorded. Settlement: submit → the money has moved (interbank schedule: {}). Savings are paired per replication against <code>{}</code>.</p>",
        d.summary.replications,
        esc(&d.summary.settlement_schedule),
        esc(&d.summary.baseline)
    );
    // Cost breakdown table.
    let cats: Vec<String> = d
        .summary
        .systems
        .first()
        .map(|s| s.cost_per_tx.breakdown.keys().cloned().collect())
        .unwrap_or_default();
    let _ = write!(
        h,
        "<h3>Cost per transaction by category ({cur})</h3><table><thead><tr><th>system</th>"
    );
    for c in &cats {
        let _ = write!(h, "<th>{}</th>", esc(c));
    }
    h.push_str("<th>total</th></tr></thead><tbody>");
    for i in baseline_first(d) {
        let s = &d.summary.systems[i];
        let _ = write!(h, "<tr><td>{}</td>", esc(&s.name));
        for c in &cats {
            let v = s.cost_per_tx.breakdown.get(c).map(|x| x.m()).unwrap_or(f64::NAN);
            let _ = write!(
                h,
                "<td class=n>{}</td>",
                if v == 0.0 { "0".to_string() } else { money(v) }
            );
        }
        let _ = write!(h, "<td class=n><b>{}</b></td></tr>", money(s.cost_per_tx.total.m()));
    }
    h.push_str("</tbody></table>");
    h
}

fn flatten(prefix: &str, v: &serde_json::Value, out: &mut Vec<(String, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, x) in m {
                let p = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                if k == "rtt" {
                    out.push((p, compact_rtt(x)));
                } else {
                    flatten(&p, x, out);
                }
            }
        }
        other => out.push((prefix.to_string(), serde_json::to_string(other).unwrap_or_default())),
    }
}

fn compact_rtt(v: &serde_json::Value) -> String {
    match v.as_array() {
        Some(a) => a
            .iter()
            .map(|r| {
                let between: Vec<&str> = r
                    .get("between")
                    .and_then(|b| b.as_array())
                    .map(|b| b.iter().filter_map(|x| x.as_str()).collect())
                    .unwrap_or_default();
                format!(
                    "{} {}",
                    between.join("–"),
                    r.get("rtt").and_then(|x| x.as_str()).unwrap_or("?")
                )
            })
            .collect::<Vec<_>>()
            .join("; "),
        None => serde_json::to_string(v).unwrap_or_default(),
    }
}

fn assumptions(d: &ReportData) -> String {
    let Some(resolved) = d.manifest.get("resolved_scenario") else {
        return "<p>The manifest has no resolved scenario.</p>".into();
    };
    let mut rows: Vec<(String, String)> = Vec::new();
    for section in ["cost", "network", "cpu", "settlement"] {
        if let Some(v) = resolved.get(section) {
            flatten(section, v, &mut rows);
        }
    }
    if let Some(systems) = resolved.get("system").and_then(|s| s.as_array()) {
        for (i, s) in systems.iter().enumerate() {
            if let Some(c) = s.get("cost") {
                flatten(&format!("system[{i}].cost"), c, &mut rows);
            }
        }
    }
    let mut h = format!(
        "<p>Every cost, network, CPU and settlement parameter of this run (after <code>--set</code> overrides and defaults). Prices are in {}. A source is named only where the value is the sourced one; everything else is an assumption to question and sweep.</p><table><thead><tr><th>parameter</th><th>value</th><th>source or status</th></tr></thead><tbody>",
        esc(d.currency())
    );
    let systems: Vec<String> = resolved
        .get("system")
        .and_then(|s| s.as_array())
        .map(|a| {
            a.iter()
                .map(|s| s.get("name").and_then(|n| n.as_str()).unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default();
    for (path, value) in rows {
        if path.starts_with("network.rtt_matrix") || path == "network.symmetric" {
            continue;
        }
        let lookup_value = if path == "network.rtt" {
            String::new()
        } else {
            value.clone()
        };
        let (text, sourced) = sources::lookup(&path, &lookup_value);
        let label = match path.strip_prefix("system[") {
            Some(rest) => {
                let idx: usize = rest
                    .split(']')
                    .next()
                    .and_then(|n| n.parse().ok())
                    .unwrap_or(usize::MAX);
                match systems.get(idx) {
                    Some(n) => format!("{path} ({n})"),
                    None => path.clone(),
                }
            }
            None => path.clone(),
        };
        let _ = write!(
            h,
            "<tr><td><code>{}</code></td><td>{}</td><td class={}>{}</td></tr>",
            esc(&label),
            esc(value.trim_matches('"')),
            if sourced { "src" } else { "asm" },
            esc(&text)
        );
    }
    h.push_str("</tbody></table>");
    if let Some(flows) = resolved
        .get("workload")
        .and_then(|w| w.get("flow"))
        .and_then(|f| f.as_array())
    {
        h.push_str("<h3>Workload</h3><table><thead><tr><th>flow</th><th>from → to</th><th>arrival</th><th>size</th><th>amount</th><th>fee</th></tr></thead><tbody>");
        for f in flows {
            let g = |k: &str| {
                f.get(k)
                    .map(|v| serde_json::to_string(v).unwrap_or_default())
                    .unwrap_or_default()
            };
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{} → {}</td><td><code>{}</code></td><td>{} B</td><td><code>{}</code></td><td>{}</td></tr>",
                esc(g("name").trim_matches('"')),
                esc(g("from").trim_matches('"')),
                esc(g("to").trim_matches('"')),
                esc(&g("arrival")),
                esc(&g("size_bytes")),
                esc(&g("amount")),
                esc(g("fee").trim_matches('"'))
            );
        }
        h.push_str("</tbody></table>");
    }
    h
}

fn faults_section(d: &ReportData) -> String {
    let mut h = String::new();
    let windows = fault_windows(d);
    if windows.is_empty() {
        h.push_str("<p>No faults were scheduled in this scenario.</p>");
    } else {
        h.push_str("<table><thead><tr><th>fault</th><th>from</th><th>until</th><th>kind</th><th>systems</th></tr></thead><tbody>");
        let sc = d.scenario.as_ref();
        for (i, (label, from, until)) in windows.iter().enumerate() {
            let spec = sc.and_then(|s| s.faults.get(i));
            let kind = spec.map(|f| f.kind.describe()).unwrap_or_default();
            let systems = match (sc, spec) {
                (Some(s), Some(f)) => f
                    .systems
                    .iter()
                    .filter_map(|&k| s.systems.get(k).map(|x| x.name.clone()))
                    .collect::<Vec<_>>()
                    .join(", "),
                _ => String::new(),
            };
            let open = spec.map(|f| f.until.is_none()).unwrap_or(false);
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(label),
                ms_label(from * 1000.0),
                if open {
                    "end of run".to_string()
                } else {
                    ms_label(until * 1000.0)
                },
                esc(&kind),
                esc(&systems)
            );
        }
        h.push_str("</tbody></table>");
    }
    h.push_str("<table><thead><tr><th>system</th><th>safety violations</th><th>replicas consistent</th><th>money conserved</th><th>longest gap without a commit</th><th>view changes / elections / forks per run</th><th>recovery after each fault</th></tr></thead><tbody>");
    for i in baseline_first(d) {
        let s = &d.summary.systems[i];
        let rec: Vec<String> = s
            .recovery_ms
            .iter()
            .map(|r| format!("{}: {}", esc(&r.fault), pm(&r.recovery_ms, &ms_label)))
            .collect();
        let yes = |b: bool| if b { "yes" } else { "<b class=bad>NO</b>" };
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td class=n>{}</td><td class=n>{} / {} / {}</td><td>{}</td></tr>",
            esc(&s.name),
            if s.safety_violations == 0 {
                "0".to_string()
            } else {
                format!("<b class=bad>{}</b>", s.safety_violations)
            },
            yes(s.replicas_consistent),
            yes(s.money_conserved),
            pm(&s.max_commit_gap_ms, &ms_label),
            num_label(s.view_changes.m()),
            num_label(s.elections.m()),
            num_label(s.forks.m()),
            if rec.is_empty() {
                "–".to_string()
            } else {
                rec.join("<br>")
            }
        );
    }
    h.push_str("</tbody></table>");
    let notes: Vec<String> = d
        .summary
        .systems
        .iter()
        .flat_map(|s| {
            s.safety_violation_notes
                .iter()
                .map(move |n| format!("{}: {}", esc(&s.name), esc(n)))
        })
        .collect();
    if !notes.is_empty() {
        let _ = write!(
            h,
            "<p>First violations:</p><ul><li>{}</li></ul>",
            notes.join("</li><li>")
        );
    }
    h.push_str("<p class=note>Safety: correct replicas never commit different blocks at one height. Liveness: the longest interval inside the measurement window without a commit seen by a client, and the time from each fault's end to the next commit.</p>");
    h
}

fn shell_quote(a: &str) -> String {
    if !a.is_empty() && a.chars().all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c)) {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

fn reproducibility(d: &ReportData) -> String {
    let m = &d.manifest;
    let s = |k: &str| m.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
    let cmd: Vec<String> = m
        .get("command_line")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|x| x.as_str()).map(shell_quote).collect())
        .unwrap_or_default();
    let mut h = String::new();
    let _ = write!(
        h,
        "<table><tbody><tr><th>ledgersim version</th><td>{}</td></tr><tr><th>scenario</th><td>{} (<code>{}</code>)</td></tr><tr><th>scenario SHA-256</th><td><code>{}</code></td></tr><tr><th>master seed</th><td>{}</td></tr><tr><th>replications</th><td>{}</td></tr><tr><th>simulated time per run</th><td>{} (warm-up {} excluded)</td></tr><tr><th>overrides</th><td><code>{}</code></td></tr><tr><th>command</th><td><code>{}</code></td></tr></tbody></table>",
        esc(&s("ledgersim_version")),
        esc(&d.summary.scenario),
        esc(&s("scenario_path")),
        esc(&s("scenario_sha256")),
        d.summary.seed,
        d.summary.replications,
        ms_label(d.summary.duration_s * 1000.0),
        ms_label(d.summary.warmup_s * 1000.0),
        esc(&m
            .get("overrides")
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|x| x.as_str()).collect::<Vec<_>>().join("  "))
            .unwrap_or_default()),
        esc(&cmd.join(" "))
    );
    let _ = write!(
        h,
        "<p>To check these numbers, run <code>ledgersim reproduce &lt;this directory&gt;</code>: it re-runs the experiment from <code>manifest.json</code> and compares the SHA-256 of every data file with the digests below (exit 0 only if all match). Equivalent command: <code>{}</code>. To redraw the charts and this page from the data files, run <code>ledgersim plot &lt;this directory&gt;</code>.</p>",
        esc(s("reproduce")
            .split("(or: ")
            .nth(1)
            .map(|x| x.trim_end_matches(')'))
            .unwrap_or("")),
    );
    if let Some(dg) = m.get("digests_sha256").and_then(|v| v.as_object()) {
        h.push_str("<table><thead><tr><th>file</th><th>SHA-256</th></tr></thead><tbody>");
        for (k, v) in dg {
            let _ = write!(
                h,
                "<tr><td>{}</td><td><code>{}</code></td></tr>",
                esc(k),
                esc(v.as_str().unwrap_or(""))
            );
        }
        h.push_str("</tbody></table>");
    }
    h
}

const CSS: &str = "body{font-family:'DejaVu Sans',Helvetica,Arial,sans-serif;max-width:1250px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.7em;margin-bottom:.2em}h2{border-bottom:2px solid #ccc;padding-bottom:.2em;margin-top:2em}\
table{border-collapse:collapse;margin:1em 0;font-size:.92em}th,td{border:1px solid #bbb;padding:.3em .55em;text-align:left;vertical-align:top}\
th{background:#f0f0f0}td.n{text-align:right;white-space:nowrap}td.src{color:#0b5}td.asm{color:#a50}\
.bad{color:#b00}.note{color:#555;font-size:.9em}figure{margin:1.5em 0;page-break-inside:avoid}\
figure svg{max-width:100%;height:auto;border:1px solid #ddd}figcaption{color:#444;font-size:.92em}\
ul.findings li{margin:.45em 0}code{font-size:.92em;word-break:break-all}nav a{margin-right:1em}\
@media print{nav{display:none}body{max-width:none}}";

/// The whole page.
pub fn render(d: &ReportData, charts: &[Chart]) -> String {
    let title = format!("ledgersim report — {}", d.summary.scenario);
    let mut h = String::new();
    let _ = writeln!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{}</title><style>{CSS}</style></head><body>",
        esc(&title)
    );
    let _ = writeln!(
        h,
        "<h1>{}</h1><p>{}</p><p class=note>Scenario <code>{}</code>, seed {}, {} replication(s) of {} simulated each. Generated by ledgersim {} from the data files in this directory.</p>",
        esc(&title),
        esc(d.summary.description.trim()),
        esc(&d.summary.scenario),
        d.summary.seed,
        d.summary.replications,
        ms_label(d.summary.duration_s * 1000.0),
        esc(&d.summary.version)
    );
    h.push_str("<nav><a href=\"#findings\">Key findings</a><a href=\"#comparison\">Comparison</a><a href=\"#charts\">Charts</a><a href=\"#assumptions\">Assumptions</a><a href=\"#faults\">Faults, safety and liveness</a><a href=\"#reproducibility\">Reproducibility</a></nav>\n");
    h.push_str("<section id=\"findings\"><h2>Key findings</h2><ul class=\"findings\">");
    for f in findings(d) {
        let _ = write!(h, "<li>{f}</li>");
    }
    h.push_str("</ul></section>\n");
    let _ = writeln!(
        h,
        "<section id=\"comparison\"><h2>Comparison</h2>{}</section>",
        comparison_table(d)
    );
    h.push_str("<section id=\"charts\"><h2>Charts</h2>");
    for c in charts {
        let svg = c
            .svg
            .trim_start_matches("<?xml version=\"1.0\" encoding=\"UTF-8\"?>")
            .trim();
        let _ = writeln!(
            h,
            "<figure id=\"chart-{}\"><h3>{}</h3>{}<figcaption>{} Files: <a href=\"charts/{}.svg\">SVG</a>, <a href=\"charts/{}.png\">PNG</a>.</figcaption></figure>",
            esc(&c.stem),
            esc(&c.title),
            svg,
            esc(&c.caption),
            esc(&c.stem),
            esc(&c.stem)
        );
    }
    h.push_str("</section>\n");
    let _ = writeln!(
        h,
        "<section id=\"assumptions\"><h2>Assumptions</h2>{}</section>",
        assumptions(d)
    );
    let _ = writeln!(
        h,
        "<section id=\"faults\"><h2>Faults, safety and liveness</h2>{}</section>",
        faults_section(d)
    );
    let _ = writeln!(
        h,
        "<section id=\"reproducibility\"><h2>Reproducibility</h2>{}</section>",
        reproducibility(d)
    );
    h.push_str("</body></html>\n");
    h
}
