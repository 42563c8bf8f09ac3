//! The validation suite behind `ledgersim validate`: find the scenarios that carry `[[expect]]`
//! lines, run all of them on one thread pool (every sweep point × system × replication of every
//! case is one job; results are collected in job order, so the output does not depend on the
//! thread count), evaluate their expectations and render `docs/VALIDATION.md`.

use super::expect::{Outcome, evaluate, simulated_text};
use crate::experiment::{ExperimentResult, assemble};
use crate::scenario::{Scenario, ScenarioError, validate};
use crate::sim::{RunResult, run_system};
use rayon::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// One validation scenario, loaded and validated.
#[derive(Debug, Clone)]
pub struct Case {
    /// The scenario file.
    pub path: PathBuf,
    /// Case name: the file's path under the directory given, without `.toml`.
    pub id: String,
    /// SHA-256 of the file's bytes.
    pub sha256: String,
    /// The scenario.
    pub scenario: Scenario,
}

/// One case's results.
#[derive(Debug, Clone)]
pub struct CaseRun {
    /// Every run and the summaries, exactly as `run_experiment` would give them.
    pub result: ExperimentResult,
    /// Verdicts on its `[[expect]]` lines, in file order.
    pub outcomes: Vec<Outcome>,
    /// Sum of the wall time of its runs, seconds (not deterministic; for perf.json only).
    pub thread_seconds: f64,
}

impl CaseRun {
    /// Every expectation held.
    pub fn passed(&self) -> bool {
        self.outcomes.iter().all(|o| o.passed)
    }
}

/// Scenario files (`*.toml`) under each path (a directory, searched recursively, or a file),
/// each with the name it will have as a case. Sorted by case name.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<(PathBuf, String)>, ScenarioError> {
    fn walk(dir: &Path, root: &Path, out: &mut Vec<(PathBuf, String)>) -> Result<(), ScenarioError> {
        let entries = std::fs::read_dir(dir).map_err(|e| ScenarioError::Io {
            origin: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.is_dir() {
                walk(&p, root, out)?;
            } else if p.extension().is_some_and(|x| x == "toml") {
                let rel = p.strip_prefix(root).unwrap_or(&p).with_extension("");
                let id = rel
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((p, id));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            walk(p, p, &mut out)?;
        } else if p.exists() {
            let id = p
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "case".into());
            out.push((p.clone(), id));
        } else {
            return Err(ScenarioError::Io {
                origin: p.display().to_string(),
                reason: "no such file or directory".into(),
            });
        }
    }
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out.dedup_by(|a, b| a.0 == b.0);
    if let Some(w) = out.windows(2).find(|w| w[0].1 == w[1].1) {
        return Err(ScenarioError::Io {
            origin: w[1].0.display().to_string(),
            reason: format!(
                "two validation cases are named `{}` (also {}); their results would share a directory",
                w[1].1,
                w[0].0.display()
            ),
        });
    }
    Ok(out)
}

/// Load and validate every file; those without `[[expect]]` lines are returned separately
/// (they are not validation cases). The first invalid file stops the load.
pub fn load_cases(files: &[(PathBuf, String)]) -> Result<(Vec<Case>, Vec<PathBuf>), ScenarioError> {
    let mut cases = Vec::new();
    let mut skipped = Vec::new();
    for (path, id) in files {
        let scenario = validate::load_file(path, &[])?;
        if scenario.raw.expect.is_empty() {
            skipped.push(path.clone());
            continue;
        }
        let bytes = std::fs::read(path).map_err(|e| ScenarioError::Io {
            origin: path.display().to_string(),
            reason: e.to_string(),
        })?;
        cases.push(Case {
            path: path.clone(),
            id: id.clone(),
            sha256: super::sha256_hex(&bytes),
            scenario,
        });
    }
    Ok((cases, skipped))
}

/// Run every case on a pool of `threads` workers; `on_done` is called after each run.
pub fn run_cases(
    cases: &[Case],
    threads: usize,
    on_done: &(dyn Fn() + Sync),
) -> Result<Vec<CaseRun>, rayon::ThreadPoolBuildError> {
    let case_points: Vec<Vec<&Scenario>> = cases
        .iter()
        .map(|c| c.scenario.run_points().into_iter().map(|(_, s)| s).collect())
        .collect();
    // (case, point, system, replication), in that order.
    let jobs: Vec<(usize, usize, usize, u32)> = case_points
        .iter()
        .enumerate()
        .flat_map(|(c, pts)| {
            pts.iter().enumerate().flat_map(move |(p, sc)| {
                (0..sc.systems.len()).flat_map(move |s| (0..sc.replications).map(move |r| (c, p, s, r)))
            })
        })
        .collect();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads.max(1)).build()?;
    let runs: Vec<(usize, RunResult, f64)> = pool.install(|| {
        jobs.par_iter()
            .map(|&(c, p, s, r)| {
                let start = Instant::now();
                let mut res = run_system(case_points[c][p], s, r);
                res.point = p;
                on_done();
                (c, res, start.elapsed().as_secs_f64())
            })
            .collect()
    });
    let mut per_case: Vec<(Vec<RunResult>, f64)> = cases.iter().map(|_| (Vec::new(), 0.0)).collect();
    for (c, res, wall) in runs {
        per_case[c].0.push(res);
        per_case[c].1 += wall;
    }
    Ok(per_case
        .into_iter()
        .zip(cases)
        .map(|((runs, thread_seconds), case)| {
            let result = assemble(&case.scenario, runs);
            let outcomes = evaluate(&case.scenario, &result);
            CaseRun {
                result,
                outcomes,
                thread_seconds,
            }
        })
        .collect())
}

/// Escape a table cell for Markdown.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The swept values at an outcome's point, e.g. `topology.group[1].count=7`.
fn point_label(case: &Case, point: Option<usize>) -> String {
    match point.and_then(|p| case.scenario.points.get(p)) {
        Some(sp) => sp
            .values
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(", "),
        None => String::new(),
    }
}

/// `docs/VALIDATION.md`: a generated header naming the command, a summary, one table row per
/// expectation (case, source, expected, simulated ± CI half-width, tolerance, verdict) and the
/// failing expectations with their reasons. Deterministic: no dates, no wall times.
pub fn render_markdown(cases: &[Case], runs: &[CaseRun], command: &str) -> String {
    let total: usize = runs.iter().map(|r| r.outcomes.len()).sum();
    let failed: usize = runs
        .iter()
        .map(|r| r.outcomes.iter().filter(|o| !o.passed).count())
        .sum();
    let cases_failed = runs.iter().filter(|r| !r.passed()).count();
    let mut s = String::new();
    s.push_str("<!-- GENERATED FILE: do not edit by hand. -->\n");
    s.push_str(&format!(
        "<!-- Generated by `{command}` (ledgersim {}). Re-run it to refresh. -->\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str("# Validation\n\n");
    s.push_str(&format!(
        "Generated by `{command}` from the scenarios in `scenarios/validation/` \
         (ledgersim {}): each scenario declares in `[[expect]]` lines what it must reproduce — \
         a closed-form result, a queueing formula or a published measurement — and its comments \
         give the derivation and the source. The simulated value is the mean over replications \
         ± the half-width of its 95 % confidence interval (no ± when there is one replication or \
         the quantity is derived); for the expected stale rate (`stale_rate_expected`) mean and \
         interval are over blocks, pooled over replications. See `docs/MODEL.md` for what the \
         model does and does not capture.\n\n",
        env!("CARGO_PKG_VERSION")
    ));
    s.push_str(&format!(
        "**{} of {total} expectations pass; {cases_failed} of {} cases have a failing expectation.**\n\n",
        total - failed,
        cases.len()
    ));
    s.push_str("| case | metric | source | expected | simulated (± 95 % CI) | tolerance | verdict |\n");
    s.push_str("|---|---|---|---|---|---|---|\n");
    for (case, run) in cases.iter().zip(runs) {
        for o in &run.outcomes {
            let mut metric = o.metric.clone();
            let label = point_label(case, o.point);
            if !label.is_empty() {
                metric.push_str(&format!(" ({label})"));
            }
            let tol = &o.tolerance;
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} | {} | {} |\n",
                cell(&case.id),
                cell(&if o.label != o.metric && !o.label.is_empty() {
                    format!("{} — `{metric}`", o.label)
                } else {
                    format!("`{metric}`")
                }),
                cell(&o.source),
                cell(&o.expected),
                cell(&simulated_text(&o.simulated)),
                cell(tol),
                if o.passed { "pass" } else { "**FAIL**" }
            ));
        }
    }
    s.push('\n');
    if failed > 0 {
        s.push_str("## Failing expectations\n\n");
        for (case, run) in cases.iter().zip(runs) {
            for o in run.outcomes.iter().filter(|o| !o.passed) {
                s.push_str(&format!("- **{}** — `{}`: {}.", case.id, o.metric, o.reason));
                if !o.note.is_empty() {
                    s.push_str(&format!(" {}", o.note.trim()));
                }
                s.push('\n');
            }
        }
        s.push('\n');
    }
    s.push_str("## Cases\n\n");
    for (case, run) in cases.iter().zip(runs) {
        let sc = &case.scenario;
        let points = if sc.points.is_empty() {
            String::new()
        } else {
            format!(", {} sweep points", sc.points.len())
        };
        s.push_str(&format!(
            "- **{}** (`{}`, {} replication(s){points}, {} events; {}): {}\n",
            case.id,
            case.path.display(),
            sc.replications,
            run.result.events,
            if run.passed() { "passes" } else { "FAILS" },
            sc.description.trim()
        ));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_cells_are_escaped() {
        assert_eq!(cell("a|b\nc"), "a\\|b c");
    }
}
