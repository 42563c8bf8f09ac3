//! Outputs of a run: `summary.json`, `runs.csv`, `timeseries.csv`, `manifest.json`
//! (SHA-256 of every deterministic output) and `perf.json` (the one non-deterministic file),
//! written atomically into a results directory; plus the console comparison table, the
//! charts (`charts/`) and the self-contained `report.html` drawn from those files.

pub mod charts;
pub mod data;
pub mod expect;
pub mod html;
pub mod merge;
pub mod sources;
pub mod table;
pub mod validation;

use crate::cost::CATEGORIES;
use crate::engine::{SimTime, to_s};
use crate::experiment::shard::{self, Shard};
use crate::experiment::{ExperimentResult, SystemSummary};
use crate::scenario::{Scenario, SettlementSchedule};
use serde::Serialize;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why outputs could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The target exists and is not empty.
    #[error("{0}: output directory exists and is not empty; pass --force to replace it, or --out to choose another")]
    Exists(PathBuf),
    /// Filesystem failure.
    #[error("{path}: {source}")]
    Io {
        /// Path involved.
        path: PathBuf,
        /// OS error.
        source: std::io::Error,
    },
    /// Charts or report could not be drawn from the data files.
    #[error("drawing charts and report: {0}")]
    Render(String),
    /// A stop (Ctrl-C, SIGTERM) was requested while writing: nothing was put in place.
    #[error("{0}: interrupted while writing; the partial output was removed")]
    Interrupted(PathBuf),
    /// Serialization failure.
    #[error("cannot serialize {what}: {message}")]
    Serialize {
        /// Which file.
        what: &'static str,
        /// Why.
        message: String,
    },
}

/// How the run was invoked (recorded in the manifest).
#[derive(Debug, Clone, Serialize)]
pub struct Invocation {
    /// The command line, as given.
    pub command_line: Vec<String>,
    /// Path of the scenario file.
    pub scenario_path: String,
    /// SHA-256 of the scenario file's bytes.
    pub scenario_sha256: String,
    /// `--set` overrides in order.
    pub overrides: Vec<String>,
    /// Worker threads (does not affect results).
    pub threads: usize,
    /// The slice this run computed (`--shard K/N`), or `None` for a whole run.
    pub shard: Option<Shard>,
    /// For a merged result: the shard directories it was merged from (empty otherwise).
    pub merged_from: Vec<String>,
}

/// Longest sanitized path component, in bytes (file systems allow 255).
pub const MAX_COMPONENT_BYTES: usize = 100;

/// Whether Windows reserves `name` for a device: `CON`, `PRN`, `AUX`, `NUL`, `COM0`–`COM9`,
/// `LPT0`–`LPT9` (and `COM¹`–`COM³`, `LPT¹`–`LPT³`), in any case, alone or before a dot
/// (`nul.txt`, `Con.tar.gz`): Windows opens the device instead of a file or directory.
pub fn is_windows_reserved(name: &str) -> bool {
    let stem = name.split('.').next().unwrap_or_default();
    let upper = stem.to_ascii_uppercase();
    match upper.as_str() {
        "CON" | "PRN" | "AUX" | "NUL" => true,
        _ => ["COM", "LPT"].iter().any(|p| {
            upper.strip_prefix(p).is_some_and(|rest| {
                let mut chars = rest.chars();
                matches!((chars.next(), chars.next()), (Some('0'..='9' | '¹' | '²' | '³'), None))
            })
        }),
    }
}

/// Turn a scenario name into a safe single path component: letters and digits (any
/// script, so `养老金` stays readable), `-`, `_` and `.` are kept, anything else — `/`, `\`,
/// spaces, control characters — becomes `-`; leading dots and dashes are dropped (no `..`,
/// no hidden directory, nothing that looks like an option), so are trailing dots (Windows
/// drops them), a name Windows reserves for a device ([`is_windows_reserved`]: `CON`,
/// `nul.txt`, `Com1`, …) gets `_` after its stem (`CON_`, `nul_.txt`), and the result is at
/// most [`MAX_COMPONENT_BYTES`] bytes, never empty.
pub fn sanitize_component(name: &str) -> String {
    let mut s = String::new();
    for c in name.chars() {
        let c = if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
            c
        } else {
            '-'
        };
        if s.len() + c.len_utf8() > MAX_COMPONENT_BYTES {
            break;
        }
        s.push(c);
    }
    let s = s.trim_start_matches(['.', '-']).trim_end_matches('.');
    if s.is_empty() {
        return "scenario".into();
    }
    if is_windows_reserved(s) {
        // The stem is at most 5 bytes (`COM¹`), so the result stays within the bound.
        let stem = s.split('.').next().unwrap_or_default();
        let mut out = format!("{stem}_{}", &s[stem.len()..]);
        while out.len() > MAX_COMPONENT_BYTES {
            out.pop();
        }
        return out.trim_end_matches('.').into();
    }
    s.into()
}

/// Lower-case hex SHA-256 of bytes (defined with the scenario's data files, which the
/// manifest records by digest; re-exported here for the report's own files).
pub use crate::scenario::inputs::sha256_hex;

/// Fail early if `dir` exists, is non-empty, and `force` is not set.
pub fn check_target(dir: &Path, force: bool) -> Result<(), ReportError> {
    if dir.exists() && !force {
        let non_empty = fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true);
        if non_empty {
            return Err(ReportError::Exists(dir.to_path_buf()));
        }
    }
    Ok(())
}

#[derive(Serialize)]
struct SweepSummary<'a> {
    parameters: Vec<&'a str>,
    points: &'a [crate::experiment::PointSummary],
}

#[derive(Serialize)]
struct Summary<'a> {
    scenario: &'a str,
    description: &'a str,
    version: &'static str,
    seed: u64,
    replications: u32,
    currency: &'a str,
    duration_s: f64,
    warmup_s: f64,
    baseline: &'a str,
    settlement_schedule: String,
    /// Valid but noteworthy settings (e.g. more faulty nodes than a protocol tolerates).
    warnings: Vec<String>,
    systems: &'a [SystemSummary],
    sweep: Option<SweepSummary<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    capacity: Option<&'a crate::experiment::capacity::CapacityResult>,
    /// Verdicts on the scenario's `[[expect]]` lines (absent when it has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    expectations: Vec<expect::Outcome>,
}

fn schedule_label(s: &SettlementSchedule) -> String {
    match s {
        SettlementSchedule::Every(iv) => format!("every {}", human_duration(*iv)),
        SettlementSchedule::Daily(c) => {
            let cuts: Vec<String> = c
                .iter()
                .map(|t| format!("{:02}:{:02}", t / 3_600_000_000_000, t / 60_000_000_000 % 60))
                .collect();
            format!("daily at {}", cuts.join(", "))
        }
    }
}

/// A duration in the most readable unit.
pub fn human_duration(t: SimTime) -> String {
    let s = to_s(t);
    if s >= 3600.0 {
        format!("{:.1} h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.1} min", s / 60.0)
    } else if s >= 1.0 {
        format!("{s:.2} s")
    } else {
        format!("{:.1} ms", s * 1e3)
    }
}

/// `summary.json` bytes (deterministic).
pub fn summary_json(scenario: &Scenario, result: &ExperimentResult) -> Result<Vec<u8>, ReportError> {
    let s = Summary {
        scenario: &scenario.name,
        description: &scenario.description,
        version: env!("CARGO_PKG_VERSION"),
        seed: scenario.seed,
        replications: scenario.replications,
        currency: &scenario.currency,
        duration_s: to_s(scenario.duration),
        warmup_s: to_s(scenario.warmup),
        baseline: &scenario.systems[scenario.baseline].name,
        settlement_schedule: schedule_label(&scenario.settlement),
        warnings: scenario.warnings.iter().map(|w| w.to_string()).collect(),
        systems: &result.systems,
        sweep: (!result.points.is_empty()).then(|| SweepSummary {
            parameters: scenario.raw.sweep.keys().map(|k| k.as_str()).collect(),
            points: &result.points,
        }),
        capacity: result.capacity.as_ref(),
        expectations: expect::evaluate(scenario, result),
    };
    let mut v = serde_json::to_vec_pretty(&s).map_err(|e| ReportError::Serialize {
        what: "summary.json",
        message: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

/// Neutralize cells a spreadsheet would execute (`=`, `+`, `-`, `@` first).
pub(crate) fn csv_cell(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@') if s.parse::<f64>().is_err() => format!("'{s}"),
        _ => s.to_string(),
    }
}

fn num(x: f64) -> String {
    if x.is_finite() { format!("{x}") } else { String::new() }
}

/// `runs.csv` bytes: one row per system × replication (× sweep point, always 0 here).
pub fn runs_csv(scenario: &Scenario, result: &ExperimentResult) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let mut header: Vec<String> = [
        "point",
        "system",
        "consensus",
        "settlement",
        "replication",
        "submitted",
        "committed",
        "throughput_tps",
        "latency_p50_ms",
        "latency_p90_ms",
        "latency_p99_ms",
        "latency_mean_ms",
        "settlement_p50_ms",
        "settlement_p90_ms",
        "settlement_p99_ms",
        "settlement_mean_ms",
        "cost_per_tx_total",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    header.extend(CATEGORIES.iter().map(|c| format!("cost_per_tx_{c}")));
    header.extend(
        [
            "messages",
            "bytes",
            "messages_per_tx",
            "bytes_per_tx",
            "cpu_utilization_max",
            "cpu_wait_ms_max",
            "events",
            "safety_violations",
            "replicas_consistent",
            "money_conserved",
            "height_min",
            "height_max",
            "state_digest",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let err = |e: csv::Error| ReportError::Serialize {
        what: "runs.csv",
        message: e.to_string(),
    };
    w.write_record(&header).map_err(err)?;
    let points = scenario.run_points();
    for r in &result.runs {
        let sys = &points[r.point].1.systems[r.system];
        let mut row = vec![
            r.point.to_string(),
            csv_cell(&sys.name),
            sys.kind.label().into(),
            sys.settlement.label().into(),
            r.replication.to_string(),
            r.submitted.to_string(),
            r.committed.to_string(),
            num(r.throughput_tps),
        ];
        for l in [r.latency, r.settlement] {
            row.extend([num(l.p50), num(l.p90), num(l.p99), num(l.mean)]);
        }
        row.push(num(r.cost_per_tx_total));
        row.extend(r.cost_per_tx.iter().map(|v| num(*v)));
        let per = |x: u64| {
            if r.committed > 0 {
                num(x as f64 / r.committed as f64)
            } else {
                String::new()
            }
        };
        row.extend([
            r.messages.to_string(),
            r.bytes.to_string(),
            per(r.messages),
            per(r.bytes),
            num(r.cpu_util_max),
            num(r.cpu_wait_ms_max),
            r.events.to_string(),
            r.safety_violations.to_string(),
            r.replicas_consistent.to_string(),
            r.money_conserved.to_string(),
            r.heights.0.to_string(),
            r.heights.1.to_string(),
            r.state_digest.clone(),
        ]);
        w.write_record(&row).map_err(err)?;
    }
    w.into_inner().map_err(|e| ReportError::Serialize {
        what: "runs.csv",
        message: e.to_string(),
    })
}

/// `timeseries.csv` bytes: per system × replication × window.
pub fn timeseries_csv(scenario: &Scenario, result: &ExperimentResult) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| ReportError::Serialize {
        what: "timeseries.csv",
        message: e.to_string(),
    };
    w.write_record([
        "point",
        "system",
        "replication",
        "window_start_s",
        "committed",
        "throughput_tps",
        "latency_mean_ms",
    ])
    .map_err(err)?;
    let points = scenario.run_points();
    for r in &result.runs {
        let ts = &r.timeseries;
        let win_s = to_s(ts.window);
        for (i, wdw) in ts.windows.iter().enumerate() {
            let mean = if wdw.committed > 0 {
                num(wdw.latency_sum_ns as f64 / wdw.committed as f64 / 1e6)
            } else {
                String::new()
            };
            w.write_record([
                r.point.to_string(),
                csv_cell(&points[r.point].1.systems[r.system].name),
                r.replication.to_string(),
                num(i as f64 * win_s),
                wdw.committed.to_string(),
                num(wdw.committed as f64 / win_s),
                mean,
            ])
            .map_err(err)?;
        }
    }
    w.into_inner().map_err(|e| ReportError::Serialize {
        what: "timeseries.csv",
        message: e.to_string(),
    })
}

/// `latency_histograms.csv` bytes: the non-empty buckets of every run's latency histograms
/// (`recorded`: submit → recorded; `settled`: submit → settled), for the latency CDF chart.
/// Bucket bounds in nanoseconds, `[low, high)`; quantiles have ≤ 1.6 % relative error.
pub fn latency_histograms_csv(scenario: &Scenario, result: &ExperimentResult) -> Result<Vec<u8>, ReportError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| ReportError::Serialize {
        what: "latency_histograms.csv",
        message: e.to_string(),
    };
    w.write_record([
        "point",
        "system",
        "replication",
        "measure",
        "bucket_low_ns",
        "bucket_high_ns",
        "count",
    ])
    .map_err(err)?;
    let points = scenario.run_points();
    for r in &result.runs {
        let name = csv_cell(&points[r.point].1.systems[r.system].name);
        for (measure, buckets) in [("recorded", &r.latency_buckets), ("settled", &r.settlement_buckets)] {
            for (lo, hi, c) in buckets {
                w.write_record([
                    r.point.to_string(),
                    name.clone(),
                    r.replication.to_string(),
                    measure.to_string(),
                    lo.to_string(),
                    hi.to_string(),
                    c.to_string(),
                ])
                .map_err(err)?;
            }
        }
    }
    w.into_inner().map_err(|e| ReportError::Serialize {
        what: "latency_histograms.csv",
        message: e.to_string(),
    })
}

/// Wall-clock performance of the run (not deterministic; excluded from digests).
#[derive(Debug, Clone, Serialize)]
pub struct Perf {
    /// Wall time of the simulation, seconds.
    pub wall_s: f64,
    /// Events processed over all runs.
    pub events: u64,
    /// Events per wall second.
    pub events_per_s: f64,
    /// Runs (systems × replications).
    pub runs: usize,
    /// Worker threads.
    pub threads: usize,
    /// Peak resident set size of the process so far, MB (Linux `VmHWM`; `None` elsewhere).
    pub peak_rss_mb: Option<f64>,
}

/// Peak resident set size of this process in MB, from `/proc/self/status` (`VmHWM`, Linux);
/// `None` where that is unavailable.
pub fn peak_rss_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Everything written for one experiment.
pub struct Outputs {
    /// File name → bytes, deterministic files only.
    pub files: Vec<(&'static str, Vec<u8>)>,
}

/// The deterministic files of a whole (or merged) run, in the order they are written; the
/// manifest's `digests_sha256` lists exactly these.
pub const RUN_FILES: [&str; 4] = ["summary.json", "runs.csv", "timeseries.csv", "latency_histograms.csv"];

/// Name of a shard's data file: every run of the shard, exactly, for `ledgersim merge`.
pub const SHARD_RUNS_FILE: &str = "shard-runs.jsonl";

/// The deterministic files of one shard (`--shard K/N`), in the order they are written; the
/// manifest's `digests_sha256` lists exactly these.
pub const SHARD_FILES: [&str; 3] = ["runs.csv", "timeseries.csv", SHARD_RUNS_FILE];

/// Names of the deterministic files a run writes — [`RUN_FILES`] for a whole run (`shard`
/// is `None`), [`SHARD_FILES`] for a shard: the digests a complete manifest carries.
pub fn deterministic_file_names(shard: Option<Shard>) -> &'static [&'static str] {
    match shard {
        None => &RUN_FILES,
        Some(_) => &SHARD_FILES,
    }
}

/// Build the deterministic files ([`RUN_FILES`]) in memory.
pub fn deterministic_outputs(scenario: &Scenario, result: &ExperimentResult) -> Result<Outputs, ReportError> {
    let bytes = [
        summary_json(scenario, result)?,
        runs_csv(scenario, result)?,
        timeseries_csv(scenario, result)?,
        latency_histograms_csv(scenario, result)?,
    ];
    Ok(Outputs {
        files: RUN_FILES.into_iter().zip(bytes).collect(),
    })
}

/// The deterministic files of one shard ([`SHARD_FILES`]): `runs.csv` and `timeseries.csv`
/// (rows of this shard's runs only) and [`SHARD_RUNS_FILE`]. No `summary.json`: statistics
/// over a slice would be misleading; `ledgersim merge` computes them from all the slices.
pub fn shard_outputs(scenario: &Scenario, result: &ExperimentResult) -> Result<Outputs, ReportError> {
    let data = shard::runs_jsonl(&result.runs).map_err(|e| ReportError::Serialize {
        what: SHARD_RUNS_FILE,
        message: e.to_string(),
    })?;
    let bytes = [runs_csv(scenario, result)?, timeseries_csv(scenario, result)?, data];
    Ok(Outputs {
        files: SHARD_FILES.into_iter().zip(bytes).collect(),
    })
}

/// The deterministic files of a whole run (`shard` is `None`) or of one shard.
pub fn outputs_for(
    scenario: &Scenario,
    result: &ExperimentResult,
    shard: Option<Shard>,
) -> Result<Outputs, ReportError> {
    match shard {
        None => deterministic_outputs(scenario, result),
        Some(_) => shard_outputs(scenario, result),
    }
}

/// The directory the data files of a recorded run are relative to: that of the manifest's
/// `scenario_path` (as given on the command line of the run).
pub fn manifest_input_base(manifest: &serde_json::Value) -> Option<PathBuf> {
    let path = Path::new(manifest.get("scenario_path")?.as_str()?);
    Some(path.parent().unwrap_or(Path::new("")).to_path_buf())
}

/// Check that the data files `scenario` read now (its `inputs`) are those the manifest
/// recorded (`input_files`: same fields, paths and SHA-256): otherwise the run cannot be
/// reproduced from them. The error names each file that differs.
pub fn check_input_files(manifest: &serde_json::Value, scenario: &Scenario) -> Result<(), String> {
    let recorded: Vec<crate::scenario::inputs::InputFile> = match manifest.get("input_files") {
        None | Some(serde_json::Value::Null) => Vec::new(),
        Some(v) => serde_json::from_value(v.clone())
            .map_err(|e| format!("`input_files` is not a list of {{field, path, sha256}} ({e})"))?,
    };
    let mut problems = Vec::new();
    for now in &scenario.inputs {
        match recorded.iter().find(|r| r.field == now.field && r.path == now.path) {
            Some(r) if r.sha256 == now.sha256 => {}
            Some(r) => problems.push(format!(
                "data file `{}` ({}) changed since the run: SHA-256 recorded {}, now {}",
                now.path, now.field, r.sha256, now.sha256
            )),
            None => problems.push(format!(
                "data file `{}` ({}) is not in the manifest's `input_files`",
                now.path, now.field
            )),
        }
    }
    for r in &recorded {
        if !scenario
            .inputs
            .iter()
            .any(|now| now.field == r.field && now.path == r.path)
        {
            problems.push(format!(
                "data file `{}` ({}) of the run was not read now",
                r.path, r.field
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// `manifest.json` bytes: version, resolved scenario, hashes of every deterministic output.
pub fn manifest_json(scenario: &Scenario, inv: &Invocation, outputs: &Outputs) -> Result<Vec<u8>, ReportError> {
    let digests: std::collections::BTreeMap<&str, String> =
        outputs.files.iter().map(|(n, b)| (*n, sha256_hex(b))).collect();
    let seeds: Vec<String> = (0..scenario.replications)
        .map(|r| format!("{:016x}", crate::engine::rng::replication_tag(scenario.seed, r)))
        .collect();
    let m = serde_json::json!({
        "ledgersim_version": env!("CARGO_PKG_VERSION"),
        "ledgersim_build": crate::BUILD,
        "scenario": scenario.name,
        "scenario_path": inv.scenario_path,
        "scenario_sha256": inv.scenario_sha256,
        "resolved_scenario": scenario.raw,
        "input_files": scenario.inputs,
        "overrides": inv.overrides,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "replication_tags": seeds,
        "shard": inv.shard,
        "merged_from": inv.merged_from,
        "command_line": inv.command_line,
        "threads": inv.threads,
        "digests_sha256": digests,
        "reproduce": format!("ledgersim reproduce <this directory>  (or: ledgersim run {} --seed {} --replications {}{}{})", inv.scenario_path, scenario.seed, scenario.replications, inv.overrides.iter().map(|o| format!(" --set {o}")).collect::<String>(), inv.shard.map(|s| format!(" --shard {s}")).unwrap_or_default()),
    });
    let mut v = serde_json::to_vec_pretty(&m).map_err(|e| ReportError::Serialize {
        what: "manifest.json",
        message: e.to_string(),
    })?;
    v.push(b'\n');
    Ok(v)
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ReportError + '_ {
    move |source| ReportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Write all files into `dir` atomically: a temporary sibling directory is filled, synced
/// and renamed into place. An existing non-empty `dir` is replaced only with `force`.
pub fn write_dir(dir: &Path, files: &[(&str, Vec<u8>)], force: bool) -> Result<(), ReportError> {
    write_dir_then(dir, files, force, &|_| Ok(()))
}

/// Like [`write_dir`], calling `extra` on the filled temporary directory before it is
/// renamed into place (to add files derived from the written ones, such as the charts).
pub fn write_dir_then(
    dir: &Path,
    files: &[(&str, Vec<u8>)],
    force: bool,
    extra: &dyn Fn(&Path) -> Result<(), ReportError>,
) -> Result<(), ReportError> {
    check_target(dir, force)?;
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(io(parent))?;
    let base = dir
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "results".into());
    for stale in remove_stale_temp_dirs(parent, &[format!(".{base}.tmp-"), format!(".{base}.old-")]) {
        eprintln!(
            "note: removed {}, left by an interrupted ledgersim (process no longer running)",
            stale.display()
        );
    }
    let tmp = parent.join(format!(".{base}.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io(&tmp))?;
    for (name, bytes) in files {
        let p = tmp.join(name);
        let mut f = fs::File::create(&p).map_err(io(&p))?;
        f.write_all(bytes).map_err(io(&p))?;
        f.sync_all().map_err(io(&p))?;
    }
    if let Err(e) = extra(&tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    if crate::engine::STOP_REQUESTED.load(std::sync::atomic::Ordering::Relaxed) {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
        return Err(ReportError::Interrupted(dir.to_path_buf()));
    }
    if dir.exists() {
        // Only reached with --force (or an empty directory).
        let old = parent.join(format!(".{base}.old-{}", std::process::id()));
        fs::rename(dir, &old).map_err(io(dir))?;
        fs::rename(&tmp, dir).map_err(io(dir))?;
        fs::remove_dir_all(&old).map_err(io(&old))?;
    } else {
        fs::rename(&tmp, dir).map_err(io(dir))?;
    }
    Ok(())
}

/// The process id in `name` if it is `PREFIX` + a process id for one of `prefixes`.
fn temp_dir_pid(name: &str, prefixes: &[String]) -> Option<u32> {
    let digits = prefixes.iter().find_map(|p| name.strip_prefix(p.as_str()))?;
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok().filter(|&pid| pid >= 1 && pid <= i32::MAX as u32)
}

/// Whether process `pid` exists on this machine (Unix: `kill(pid, 0)`); elsewhere, always
/// `true`, so nothing is ever removed on a guess.
fn process_alive(pid: u32) -> bool {
    #[cfg(unix)]
    {
        let Ok(pid) = libc::pid_t::try_from(pid) else {
            return true;
        };
        if pid <= 0 {
            return true;
        }
        // SAFETY: signal 0 only checks that the process exists and may be signalled; nothing
        // is sent.
        if unsafe { libc::kill(pid, 0) } == 0 {
            return true;
        }
        // EPERM: it exists but belongs to someone else.
        std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
    }
    #[cfg(not(unix))]
    {
        let _ = pid;
        true
    }
}

/// Remove the directories in `parent` named `PREFIX` + a process id (for one of
/// `prefixes`, e.g. `.quickstart.tmp-`) whose process is no longer running: the leftovers of
/// a run killed while writing (a second Ctrl-C exits at once). Directories of live processes
/// (including this one) and every other name are left alone; failures to remove are
/// ignored. Returns the directories removed.
pub fn remove_stale_temp_dirs(parent: &Path, prefixes: &[String]) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut stale: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| {
            let pid = temp_dir_pid(e.file_name().to_str()?, prefixes)?;
            (pid != std::process::id() && !process_alive(pid)).then(|| e.path())
        })
        .collect();
    stale.sort();
    stale.retain(|p| fs::remove_dir_all(p).is_ok());
    stale
}

/// Produce every output file for an experiment and write them atomically to `dir`.
pub fn write_results(
    dir: &Path,
    scenario: &Scenario,
    result: &ExperimentResult,
    inv: &Invocation,
    perf: &Perf,
    force: bool,
) -> Result<(), ReportError> {
    let outputs = outputs_for(scenario, result, inv.shard)?;
    let manifest = manifest_json(scenario, inv, &outputs)?;
    let mut perf_bytes = serde_json::to_vec_pretty(perf).map_err(|e| ReportError::Serialize {
        what: "perf.json",
        message: e.to_string(),
    })?;
    perf_bytes.push(b'\n');
    let mut files: Vec<(&str, Vec<u8>)> = outputs.files;
    files.push(("manifest.json", manifest));
    files.push(("perf.json", perf_bytes));
    let find = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, b)| b.as_slice());
    // A shard directory has no summary.json: its charts come with the merged result.
    let Some(summary) = find("summary.json") else {
        return write_dir(dir, &files, force);
    };
    // Charts are derived from the data files: if drawing them fails (or panics), the results
    // are still written, with a warning, and `ledgersim plot DIR` can draw them later.
    let draw = |tmp: &Path| {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let data = data::ReportData::from_bytes(
                summary,
                find("timeseries.csv").unwrap_or_default(),
                find("latency_histograms.csv"),
                find("manifest.json").unwrap_or_default(),
            )
            .map_err(ReportError::Render)?;
            render_report(&data, tmp)
        }));
        let problem = match outcome {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e)) => e.to_string(),
            Err(_) => "drawing the charts panicked".to_string(),
        };
        eprintln!(
            "warning: {problem}; the data files are written without charts or report.html (run `ledgersim plot {}` to retry)",
            dir.display()
        );
        let _ = fs::remove_dir_all(tmp.join("charts"));
        Ok(())
    };
    write_dir_then(dir, &files, force, &draw)
}

/// Draw `charts/` and `report.html` into `dir` from the data files' contents.
pub fn render_report(data: &data::ReportData, dir: &Path) -> Result<(), ReportError> {
    let charts = charts::render_all(data, &dir.join("charts")).map_err(ReportError::Render)?;
    let page = html::render(data, &charts);
    let p = dir.join("report.html");
    fs::write(&p, page).map_err(io(&p))
}

/// `ledgersim plot DIR`: redraw `DIR/charts/` and `DIR/report.html` from the data files in
/// `DIR` alone. The new files are drawn in a temporary directory first, then moved into
/// place, so a failure leaves the old ones intact.
pub fn plot(dir: &Path) -> Result<usize, ReportError> {
    let data = data::ReportData::load(dir).map_err(ReportError::Render)?;
    remove_stale_temp_dirs(dir, &[".plot.tmp-".to_string()]);
    let tmp = dir.join(format!(".plot.tmp-{}", std::process::id()));
    if tmp.exists() {
        fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    }
    fs::create_dir(&tmp).map_err(io(&tmp))?;
    if let Err(e) = render_report(&data, &tmp) {
        let _ = fs::remove_dir_all(&tmp);
        return Err(e);
    }
    let charts = dir.join("charts");
    if charts.exists() {
        fs::remove_dir_all(&charts).map_err(io(&charts))?;
    }
    fs::rename(tmp.join("charts"), &charts).map_err(io(&charts))?;
    let report = dir.join("report.html");
    fs::rename(tmp.join("report.html"), &report).map_err(io(&report))?;
    let n = fs::read_dir(&charts).map_err(io(&charts))?.count();
    fs::remove_dir_all(&tmp).map_err(io(&tmp))?;
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_device_names_are_not_used_as_directory_names() {
        for (name, expected) in [
            ("CON", "CON_"),
            ("con", "con_"),
            ("Prn", "Prn_"),
            ("aux", "aux_"),
            ("NUL", "NUL_"),
            ("nul.txt", "nul_.txt"),
            ("Con.tar.gz", "Con_.tar.gz"),
            ("nul.", "nul_"),
            ("NUL...", "NUL_"),
            ("COM1", "COM1_"),
            ("com9.log", "com9_.log"),
            ("COM0", "COM0_"),
            ("lpt1", "lpt1_"),
            ("LPT9", "LPT9_"),
            ("COM¹", "COM¹_"),
            ("lpt³.x", "lpt³_.x"),
            ("../CON", "CON_"),
            ("a b/../aux", "a-b-..-aux"),
            ("con ", "con-"),
        ] {
            assert_eq!(sanitize_component(name), expected, "{name:?}");
            assert!(!is_windows_reserved(&sanitize_component(name)), "{name:?}");
        }
        // Near misses are names like any other.
        for name in [
            "CONSOLE",
            "con-1",
            "COM10",
            "LPT",
            "COM",
            "nully",
            "auxiliary.txt",
            "xcon",
            "com1x",
            "_nul",
        ] {
            assert!(!is_windows_reserved(name), "{name:?}");
            assert_eq!(sanitize_component(name), name, "{name:?}");
        }
        // A long name with a reserved stem stays within the bound.
        let long = format!("nul.{}", "x".repeat(200));
        let s = sanitize_component(&long);
        assert!(s.len() <= MAX_COMPONENT_BYTES && s.starts_with("nul_.x"), "{s}");
    }

    #[test]
    fn sanitizing_keeps_good_names_and_replaces_bad_characters() {
        for (name, expected) in [
            ("quickstart", "quickstart"),
            ("china-social-security", "china-social-security"),
            ("../../escape", "escape"),
            ("..", "scenario"),
            ("", "scenario"),
            ("v1.2.", "v1.2"),
            ("养老金 2024", "养老金-2024"),
            ("--force", "force"),
        ] {
            assert_eq!(sanitize_component(name), expected, "{name:?}");
        }
    }

    #[test]
    fn temporary_directory_names_give_their_process_id() {
        let prefixes = [".quickstart.tmp-".to_string(), ".quickstart.old-".to_string()];
        assert_eq!(temp_dir_pid(".quickstart.tmp-4242", &prefixes), Some(4242));
        assert_eq!(temp_dir_pid(".quickstart.old-7", &prefixes), Some(7));
        for other in [
            ".quickstart.tmp-",
            ".quickstart.tmp-12a",
            ".quickstart.tmp-+12",
            ".quickstart.tmp-0",
            ".quickstart.tmp-99999999999",
            ".quickstart-2.tmp-12",
            "quickstart.tmp-12",
            ".plot.tmp-12",
        ] {
            assert_eq!(temp_dir_pid(other, &prefixes), None, "{other}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn only_directories_of_dead_processes_are_removed() {
        let parent = std::env::temp_dir().join(format!("ledgersim-stale-unit-{}", std::process::id()));
        let _ = fs::remove_dir_all(&parent);
        fs::create_dir_all(&parent).unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        assert!(!process_alive(dead));
        assert!(process_alive(std::process::id()));
        let prefixes = [".r.tmp-".to_string()];
        for name in [
            format!(".r.tmp-{dead}"),
            format!(".r.tmp-{}", std::process::id()),
            format!(".s.tmp-{dead}"),
        ] {
            fs::create_dir(parent.join(name)).unwrap();
        }
        let removed = remove_stale_temp_dirs(&parent, &prefixes);
        assert_eq!(removed, [parent.join(format!(".r.tmp-{dead}"))]);
        let mut left: Vec<String> = fs::read_dir(&parent)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [format!(".r.tmp-{}", std::process::id()), format!(".s.tmp-{dead}")]
        );
        fs::remove_dir_all(&parent).unwrap();
    }
}
