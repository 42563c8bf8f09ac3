//! The `ledgersim` command line: parse, call the library, map errors to exit codes
//! (0 success, 2 invalid input, 1 any other failure).

use anyhow::Context;
use clap::{Parser, Subcommand};
use ledgersim::experiment::shard::Shard;
use ledgersim::report::{self, Invocation, Perf};
use ledgersim::scenario::{ScenarioError, validate};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "ledgersim",
    version,
    about = "Deterministic simulator: would a shared ledger cut the cost of moving social-security money?"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run a scenario: every system × replication, then write results and print the comparison.
    Run(RunArgs),
    /// Re-run an experiment from DIR/manifest.json and verify every digest (exit 0 only if all match).
    Reproduce {
        /// A results directory written by `ledgersim run`.
        dir: PathBuf,
        /// Worker threads (default: all cores). Results do not depend on it.
        #[arg(long)]
        threads: Option<usize>,
        /// Re-run even an experiment the resource guard refuses (estimated above 1e11 events or 8 GiB).
        #[arg(long)]
        force: bool,
    },
    /// Redraw DIR/charts/ and DIR/report.html from the data files in DIR alone.
    Plot {
        /// A results directory written by `ledgersim run`.
        dir: PathBuf,
    },
    /// Join the directories of `run --shard K/N` into the result one whole run would have written.
    Merge(MergeArgs),
    /// Validate a scenario and print the resolved configuration, without running it.
    Check {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a field, e.g. `--set system[1].batch_max_tx=100` (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
    /// Run the validation scenarios (those with `[[expect]]` lines) in parallel, write each
    /// case's results and docs/VALIDATION.md; exit 1 if any expectation fails.
    Validate(ValidateArgs),
}

#[derive(clap::Args)]
struct ValidateArgs {
    /// Directories (searched recursively for *.toml) or scenario files.
    #[arg(default_value = "scenarios/validation")]
    paths: Vec<PathBuf>,
    /// Where each case's results go: DIR/<case>/.
    #[arg(long, default_value = "results/validation")]
    out: PathBuf,
    /// The generated report.
    #[arg(long, default_value = "docs/VALIDATION.md")]
    doc: PathBuf,
    /// Do not write the report (e.g. when running a subset).
    #[arg(long)]
    no_doc: bool,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Replace non-empty case result directories.
    #[arg(long)]
    force: bool,
}

#[derive(clap::Args)]
struct RunArgs {
    /// Scenario file (TOML).
    scenario: PathBuf,
    /// Output directory (default: results/<scenario name>/).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Override the scenario's master seed.
    #[arg(long)]
    seed: Option<u64>,
    /// Override the number of replications.
    #[arg(long)]
    replications: Option<u32>,
    /// Worker threads (default: all cores). Results do not depend on it.
    #[arg(long)]
    threads: Option<usize>,
    /// Override a field, e.g. `--set duration="5m"` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    set: Vec<String>,
    /// Replace a non-empty output directory.
    #[arg(long)]
    force: bool,
    /// Print only the output directory.
    #[arg(long)]
    quiet: bool,
    /// Run only slice K of N (K is 0-based, like SLURM_ARRAY_TASK_ID); join the slices with `merge`.
    #[arg(long, value_name = "K/N")]
    shard: Option<String>,
}

#[derive(clap::Args)]
struct MergeArgs {
    /// Shard directories written by `ledgersim run … --shard K/N`, in any order.
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    /// Output directory of the merged result.
    #[arg(long)]
    out: PathBuf,
    /// Replace a non-empty output directory.
    #[arg(long)]
    force: bool,
    /// Print only the output directory.
    #[arg(long)]
    quiet: bool,
}

/// An error with its exit code.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl From<ScenarioError> for Failure {
    fn from(e: ScenarioError) -> Self {
        Failure {
            code: 2,
            error: e.into(),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure { code: 1, error: e }
    }
}

/// A progress bar with ETA on stderr, one tick per finished run; hidden when stderr is not a
/// terminal or with `--quiet`.
fn progress(total: usize, quiet: bool) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if quiet || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(total as u64);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} runs, ETA {eta}")
    {
        bar.set_style(style);
    }
    bar
}

fn load(
    path: &Path,
    mut overrides: Vec<String>,
    seed: Option<u64>,
    reps: Option<u32>,
) -> Result<(ledgersim::Scenario, Vec<String>), Failure> {
    if let Some(r) = reps {
        if r == 0 {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!("--replications must be at least 1"),
            });
        }
        overrides.push(format!("replications={r}"));
    }
    let mut sc = validate::load_file(path, &overrides)?;
    if let Some(s) = seed {
        // Applied after parsing: TOML integers stop at i64::MAX, seeds are u64.
        sc.seed = s;
        sc.raw.seed = s;
        // Sweep points are scenarios of their own: they run with the same seed.
        for p in &mut sc.points {
            p.scenario.seed = s;
            p.scenario.raw.seed = s;
        }
    }
    Ok((sc, overrides))
}

/// Print the scenario's warnings (valid but noteworthy settings) to stderr.
fn print_warnings(sc: &ledgersim::Scenario) {
    for w in &sc.warnings {
        eprintln!("warning: {w}");
    }
}

/// The resource guard: refuse (exit 2) an experiment estimated beyond the bound, unless forced.
fn guard(sc: &ledgersim::Scenario, threads: usize, force: bool) -> Result<(), Failure> {
    let estimate = ledgersim::scenario::resources::estimate(sc, threads);
    match estimate.exceeds_bound() {
        Some(why) if !force => Err(Failure {
            code: 2,
            error: anyhow::anyhow!("{why}"),
        }),
        Some(why) => {
            eprintln!("warning: running anyway (--force): {why}");
            Ok(())
        }
        None => Ok(()),
    }
}

fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Map an experiment failure to an exit code: 130/143 after SIGINT/SIGTERM, else 1.
fn experiment_failure(e: ledgersim::experiment::ExperimentError, dir: Option<&Path>) -> Failure {
    use ledgersim::experiment::ExperimentError;
    match e {
        ExperimentError::Interrupted => interrupted(dir),
        other => Failure {
            code: 1,
            error: other.into(),
        },
    }
}

/// The failure after a stop request: exit 128 + signal number (130 for SIGINT, 143 for SIGTERM).
fn interrupted(dir: Option<&Path>) -> Failure {
    let signal = interrupt::received();
    let name = match signal {
        2 => "SIGINT (Ctrl-C)".to_string(),
        15 => "SIGTERM".to_string(),
        0 => "a stop request".to_string(),
        n => format!("signal {n}"),
    };
    let place = dir
        .map(|d| format!("; nothing was written to {}", d.display()))
        .unwrap_or_default();
    Failure {
        code: if signal > 0 { (128 + signal).min(255) as u8 } else { 130 },
        error: anyhow::anyhow!(
            "interrupted by {name}: the simulation was stopped before it completed{place}. Run the same command again to start over"
        ),
    }
}

/// Ctrl-C and SIGTERM: the first sets [`ledgersim::engine::STOP_REQUESTED`], which the runs
/// poll, so the command stops cleanly (no results directory, a message, exit 128 + signal);
/// a second one exits at once.
///
/// Rust's standard library has no signal API, so this calls `signal(2)` through the `libc`
/// crate (already in the dependency graph through `getrandom`).
#[cfg(unix)]
mod interrupt {
    use std::sync::atomic::{AtomicI32, Ordering};

    static SIGNAL: AtomicI32 = AtomicI32::new(0);

    extern "C" fn on_signal(sig: libc::c_int) {
        // Only async-signal-safe operations here: atomics and _exit.
        if SIGNAL.swap(sig, Ordering::SeqCst) != 0 {
            // SAFETY: _exit is async-signal-safe and never returns.
            unsafe { libc::_exit(128 + sig) };
        }
        ledgersim::engine::STOP_REQUESTED.store(true, Ordering::SeqCst);
    }

    /// Install the handler for SIGINT and SIGTERM.
    pub fn install() {
        let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
        // SAFETY: the handler only touches atomics and calls _exit; installing it has no
        // other effect on the process.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
        }
    }

    /// The signal received, or 0.
    pub fn received() -> i32 {
        SIGNAL.load(Ordering::SeqCst)
    }
}

#[cfg(not(unix))]
mod interrupt {
    /// No handler outside Unix: Ctrl-C ends the process (no results directory is left,
    /// since results are only renamed into place when complete).
    pub fn install() {}

    /// Always 0.
    pub fn received() -> i32 {
        0
    }
}

fn check(path: &Path, set: Vec<String>) -> Result<(), Failure> {
    let (sc, _) = load(path, set, None, None)?;
    print_warnings(&sc);
    let estimate = ledgersim::scenario::resources::estimate(&sc, default_threads());
    println!("{}: OK — scenario `{}`", path.display(), sc.name);
    if !sc.description.is_empty() {
        println!("  {}", sc.description.trim());
    }
    println!(
        "  seed {}, {} replication(s), duration {}, warm-up {}, currency {}",
        sc.seed,
        sc.replications,
        report::human_duration(sc.duration),
        report::human_duration(sc.warmup),
        sc.currency
    );
    let t = &sc.topology;
    println!("  topology: {} nodes in {} region(s)", t.nodes.len(), t.regions.len());
    for (ri, role) in t.roles.iter().enumerate() {
        let members = t.nodes_with_role(ri as u16);
        let names: Vec<&str> = members
            .iter()
            .take(6)
            .map(|&i| t.nodes[i as usize].name.as_str())
            .collect();
        println!(
            "    {role}: {} ({}{})",
            members.len(),
            names.join(", "),
            if members.len() > 6 { ", …" } else { "" }
        );
    }
    for f in &sc.inputs {
        println!("  data file {} ({}): sha256 {}", f.path, f.field, f.sha256);
    }
    println!("  workload:");
    for f in &sc.flows {
        println!(
            "    {}: {} → {} nodes, {:?}, {} bytes, amount {:?}",
            f.name,
            f.from.len(),
            f.to.len(),
            f.arrival,
            f.size_bytes,
            f.amount
        );
    }
    if !sc.points.is_empty() {
        let paths: Vec<&str> = sc.raw.sweep.keys().map(|k| k.as_str()).collect();
        println!(
            "  sweep: {} point(s) over {} — {} run(s) in all",
            sc.points.len(),
            paths.join(", "),
            ledgersim::experiment::run_count(&sc)
        );
    }
    if let Some(c) = &sc.capacity {
        let names: Vec<&str> = c.systems.iter().map(|&i| sc.systems[i].name.as_str()).collect();
        println!(
            "  capacity: p99 ≤ {} ms, committed/submitted ≥ {} ({} over replications), offered load {}–{} tx/s \
             (nominal {:.2}) in {} bisection step(s), for {}",
            c.slo_p99_ms,
            c.min_throughput_ratio,
            c.criterion.label(),
            c.min_tps,
            c.max_tps,
            c.nominal_tps,
            c.iterations,
            names.join(", ")
        );
    }
    println!("  systems:");
    for (i, s) in sc.systems.iter().enumerate() {
        let base = if i == sc.baseline { " (baseline)" } else { "" };
        println!(
            "    {}{}: {}, settlement {}, {} node(s)",
            s.name,
            base,
            s.kind.label(),
            s.settlement.label(),
            s.replica_nodes().len()
        );
    }
    if !sc.raw.expect.is_empty() {
        println!("  expectations: {} [[expect]] line(s)", sc.raw.expect.len());
        for e in &sc.raw.expect {
            let at = e.point.map(|p| format!(" @ point {p}")).unwrap_or_default();
            println!("    {}{at} — {}", e.metric, e.source);
        }
    }
    println!("  {}", estimate.summary_line());
    if let Some(why) = estimate.exceeds_bound() {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!("`ledgersim run` would refuse it: {why}"),
        });
    }
    Ok(())
}

fn invalid(error: anyhow::Error) -> Failure {
    Failure { code: 2, error }
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let shard: Option<Shard> = args
        .shard
        .as_deref()
        .map(|s| s.parse().map_err(|e: String| invalid(anyhow::anyhow!("--shard {e}"))))
        .transpose()?;
    let (scenario, overrides) = load(&args.scenario, args.set, args.seed, args.replications)?;
    if shard.is_some() && scenario.capacity.is_some() {
        return Err(invalid(anyhow::anyhow!(
            "{}: --shard cannot split a [capacity] search (a sequential bisection); run it without --shard",
            args.scenario.display()
        )));
    }
    let dir = args
        .out
        .unwrap_or_else(|| Path::new("results").join(report::sanitize_component(&scenario.name)));
    report::check_target(&dir, args.force).map_err(|e| Failure {
        code: 2,
        error: e.into(),
    })?;
    let threads = args.threads.unwrap_or_else(default_threads);
    if threads == 0 {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!("--threads must be at least 1"),
        });
    }
    print_warnings(&scenario);
    guard(&scenario, threads, args.force)?;
    let bytes = std::fs::read(&args.scenario).with_context(|| format!("reading {}", args.scenario.display()))?;
    let start = Instant::now();
    // This invocation's runs: the shard's slice, or every run plus the most capacity probes.
    let total_runs = match shard {
        Some(_) => ledgersim::experiment::shard::jobs(&scenario, shard).len(),
        None => {
            ledgersim::experiment::run_count(&scenario) + ledgersim::experiment::capacity::max_probe_runs(&scenario)
        }
    };
    let bar = progress(total_runs, args.quiet);
    let result = ledgersim::experiment::run_experiment_shard(&scenario, shard, threads, &|| bar.inc(1))
        .map_err(|e| experiment_failure(e, Some(&dir)))?;
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    let inv = Invocation {
        command_line: std::env::args().collect(),
        scenario_path: args.scenario.display().to_string(),
        scenario_sha256: report::sha256_hex(&bytes),
        overrides,
        threads,
        shard,
        merged_from: Vec::new(),
    };
    let perf = Perf {
        wall_s: wall,
        events: result.events,
        events_per_s: result.events as f64 / wall.max(1e-9),
        runs: result.runs.len(),
        threads,
        peak_rss_mb: report::peak_rss_mb(),
    };
    match report::write_results(&dir, &scenario, &result, &inv, &perf, args.force) {
        Err(report::ReportError::Interrupted(_)) => return Err(interrupted(Some(&dir))),
        other => other.context("writing results")?,
    }
    if args.quiet {
        println!("{}", dir.display());
    } else if let Some(s) = shard {
        println!(
            "{}: shard {s} — {} of {} run(s) ({} events in {:.2} s)",
            scenario.name,
            result.runs.len(),
            ledgersim::experiment::run_count(&scenario),
            result.events,
            wall
        );
        if result.runs.is_empty() {
            println!("note: this shard owns no work (N exceeds the number of point × replication units)");
        }
        println!(
            "Shard written to {}/ — join all {} shards with `ledgersim merge DIR… --out DIR`",
            dir.display(),
            s.count
        );
    } else {
        println!(
            "{} — {} ({} events in {:.2} s, {:.2} M events/s)\n",
            scenario.name,
            scenario.description.trim(),
            result.events,
            wall,
            perf.events_per_s / 1e6
        );
        print!("{}", report::table::render(&scenario, &result));
        println!("\nResults written to {}/", dir.display());
    }
    if shard.is_some() {
        // A shard holds a slice of the runs: expectations are judged on the merged result.
        if !scenario.raw.expect.is_empty() && !args.quiet {
            println!("note: [[expect]] lines are evaluated by `ledgersim merge`, on the whole experiment");
        }
        return Ok(());
    }
    expectations_verdict(&report::expect::evaluate(&scenario, &result), args.quiet)
}

/// Print the verdict on a run's `[[expect]]` lines; a failure if any failed.
fn expectations_verdict(outcomes: &[report::expect::Outcome], quiet: bool) -> Result<(), Failure> {
    if outcomes.is_empty() {
        return Ok(());
    }
    let failed = outcomes.iter().filter(|o| !o.passed).count();
    if !quiet || failed > 0 {
        println!(
            "\nExpectations ({} of {} pass):",
            outcomes.len() - failed,
            outcomes.len()
        );
        print!("{}", report::expect::render_console(outcomes));
    }
    if failed > 0 {
        return Err(Failure {
            code: 1,
            error: anyhow::anyhow!(
                "{failed} of {} expectation(s) failed (results were written)",
                outcomes.len()
            ),
        });
    }
    Ok(())
}

fn validate_suite(args: ValidateArgs) -> Result<(), Failure> {
    use report::validation;
    let invalid = |e: anyhow::Error| Failure { code: 2, error: e };
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 {
        return Err(invalid(anyhow::anyhow!("--threads must be at least 1")));
    }
    let files = validation::discover(&args.paths)?;
    let (cases, skipped) = validation::load_cases(&files)?;
    for p in &skipped {
        eprintln!("note: {} has no [[expect]] lines; skipped", p.display());
    }
    if cases.is_empty() {
        return Err(invalid(anyhow::anyhow!(
            "no validation scenarios (scenario files with [[expect]] lines) in {}",
            args.paths
                .iter()
                .map(|p| p.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let targets: Vec<PathBuf> = cases.iter().map(|c| args.out.join(&c.id)).collect();
    for t in &targets {
        report::check_target(t, args.force).map_err(|e| invalid(e.into()))?;
    }
    let runs_total: usize = cases
        .iter()
        .map(|c| ledgersim::experiment::run_count(&c.scenario))
        .sum();
    println!(
        "validating {} case(s), {runs_total} run(s) on {threads} thread(s)…",
        cases.len()
    );
    let start = Instant::now();
    let runs = validation::run_cases(&cases, threads, &|| {}).context("starting worker threads")?;
    let wall = start.elapsed().as_secs_f64();
    let command_line: Vec<String> = std::env::args().collect();
    for ((case, run), dir) in cases.iter().zip(&runs).zip(&targets) {
        let inv = Invocation {
            command_line: command_line.clone(),
            scenario_path: case.path.display().to_string(),
            scenario_sha256: case.sha256.clone(),
            overrides: vec![],
            threads,
            shard: None,
            merged_from: Vec::new(),
        };
        let perf = Perf {
            wall_s: run.thread_seconds,
            events: run.result.events,
            events_per_s: run.result.events as f64 / run.thread_seconds.max(1e-9),
            runs: run.result.runs.len(),
            threads: 1,
            peak_rss_mb: report::peak_rss_mb(),
        };
        report::write_results(dir, &case.scenario, &run.result, &inv, &perf, args.force)
            .with_context(|| format!("writing results of {}", case.id))?;
        let failed = run.outcomes.iter().filter(|o| !o.passed).count();
        println!(
            "{} {} ({} of {} expectation(s) pass) → {}/",
            if failed == 0 { "PASS" } else { "FAIL" },
            case.id,
            run.outcomes.len() - failed,
            run.outcomes.len(),
            dir.display()
        );
        if failed > 0 {
            print!("{}", report::expect::render_console(&run.outcomes));
        }
    }
    if !args.no_doc {
        let mut command = String::from("ledgersim validate");
        for p in &args.paths {
            command.push_str(&format!(" {}", p.display()));
        }
        let md = validation::render_markdown(&cases, &runs, &command);
        if let Some(parent) = args.doc.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        let tmp = args.doc.with_extension("md.tmp");
        std::fs::write(&tmp, md).with_context(|| format!("writing {}", tmp.display()))?;
        std::fs::rename(&tmp, &args.doc).with_context(|| format!("writing {}", args.doc.display()))?;
        println!("wrote {}", args.doc.display());
    }
    let total: usize = runs.iter().map(|r| r.outcomes.len()).sum();
    let failed: usize = runs
        .iter()
        .map(|r| r.outcomes.iter().filter(|o| !o.passed).count())
        .sum();
    println!(
        "{} of {total} expectation(s) pass in {} case(s) ({wall:.1} s wall)",
        total - failed,
        cases.len()
    );
    if failed > 0 {
        return Err(Failure {
            code: 1,
            error: anyhow::anyhow!("{failed} of {total} expectation(s) failed"),
        });
    }
    Ok(())
}

fn reproduce(dir: &Path, threads: Option<usize>, force: bool) -> Result<(), Failure> {
    let invalid = |e: anyhow::Error| Failure { code: 2, error: e };
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{}: cannot read", path.display()))
        .map_err(invalid)?;
    let manifest: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("{}: not valid JSON", path.display()))
        .map_err(invalid)?;
    let raw = manifest
        .get("resolved_scenario")
        .cloned()
        .ok_or_else(|| anyhow::anyhow!("{}: no `resolved_scenario`", path.display()))
        .map_err(invalid)?;
    let raw: ledgersim::scenario::raw::RawScenario = serde_json::from_value(raw)
        .with_context(|| format!("{}: `resolved_scenario` is not a scenario", path.display()))
        .map_err(invalid)?;
    // Data files (node tables, peer graphs) are read where the run read them, relative to
    // its scenario file, and must be the same bytes.
    let base = report::manifest_input_base(&manifest);
    let scenario = validate::validate_resolved_in(raw, &path.display().to_string(), base.as_deref())?;
    report::check_input_files(&manifest, &scenario)
        .map_err(|why| invalid(anyhow::anyhow!("{}: cannot reproduce: {why}", path.display())))?;
    let recorded = manifest
        .get("ledgersim_version")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    let recorded_build = manifest
        .get("ledgersim_build")
        .and_then(|v| v.as_str())
        .unwrap_or("unknown");
    if recorded != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "note: results were made by ledgersim {recorded}; this is {}",
            env!("CARGO_PKG_VERSION")
        );
    } else if recorded_build != ledgersim::BUILD {
        // Not refused: checking old results with a newer build is the point of reproducing.
        eprintln!(
            "warning: results were made by build {recorded_build}; this is build {}: a digest that \
             differs may come from a change in the simulator rather than in the results",
            ledgersim::BUILD
        );
    }
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .max(1);
    let shard: Option<Shard> = match manifest.get("shard") {
        None | Some(serde_json::Value::Null) => None,
        Some(v) => Some(
            serde_json::from_value::<Shard>(v.clone())
                .ok()
                .filter(|s| s.count >= 1 && s.index < s.count)
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: `shard` is not {{\"index\": K, \"count\": N}} with K < N",
                        path.display()
                    )
                })
                .map_err(invalid)?,
        ),
    };
    // Check the digest list before spending the simulation on it: every deterministic file a
    // run writes must be listed, with a well-formed digest, and nothing else.
    let digests =
        recorded_digests(&manifest, shard).map_err(|why| invalid(anyhow::anyhow!("{}: {why}", path.display())))?;
    guard(&scenario, threads, force)?;
    let total_runs = match shard {
        Some(_) => ledgersim::experiment::shard::jobs(&scenario, shard).len(),
        None => ledgersim::experiment::run_count(&scenario),
    };
    let bar = progress(total_runs, false);
    let result = ledgersim::experiment::run_experiment_shard(&scenario, shard, threads, &|| bar.inc(1))
        .map_err(|e| experiment_failure(e, None))?;
    bar.finish_and_clear();
    let outputs = report::outputs_for(&scenario, &result, shard).context("building outputs")?;
    let mut differ = Vec::new();
    for (name, bytes) in &outputs.files {
        let now = report::sha256_hex(bytes);
        let then = digests.get(*name).map(String::as_str).unwrap_or("");
        let verdict = if now == then { "identical" } else { "DIFFERS" };
        println!(
            "{name:16} {verdict}  (recorded {}…, reproduced {}…)",
            &then.get(..12).unwrap_or(then),
            &now[..12]
        );
        if now != then {
            differ.push(*name);
        }
    }
    if differ.is_empty() {
        println!(
            "reproduced: every deterministic output of {} matches its manifest digest",
            dir.display()
        );
        Ok(())
    } else {
        Err(Failure {
            code: 1,
            error: anyhow::anyhow!("not reproduced: {} differ(s) from the manifest", differ.join(", ")),
        })
    }
}

/// The manifest's `digests_sha256`, checked to be complete: one 64-hex-digit SHA-256 for each
/// deterministic file a run (or shard) writes, and no other entry. Otherwise, why not.
fn recorded_digests(
    manifest: &serde_json::Value,
    shard: Option<Shard>,
) -> Result<std::collections::BTreeMap<String, String>, String> {
    let expected = report::deterministic_file_names(shard);
    let what = if shard.is_some() { "a shard" } else { "a run" };
    let Some(listed) = manifest.get("digests_sha256").and_then(|d| d.as_object()) else {
        return Err(format!(
            "no `digests_sha256` object; it must list the SHA-256 of {}",
            expected.join(", ")
        ));
    };
    let mut problems = Vec::new();
    let missing: Vec<&str> = expected.iter().copied().filter(|n| !listed.contains_key(*n)).collect();
    if !missing.is_empty() {
        problems.push(format!("no digest for {}", missing.join(", ")));
    }
    let unknown: Vec<&str> = listed
        .keys()
        .map(String::as_str)
        .filter(|n| !expected.contains(n))
        .collect();
    if !unknown.is_empty() {
        problems.push(format!(
            "a digest for {}, which {what} does not write as a deterministic output",
            unknown.join(", ")
        ));
    }
    let malformed: Vec<&str> = listed
        .iter()
        .filter(|(n, v)| {
            expected.contains(&n.as_str())
                && !v
                    .as_str()
                    .is_some_and(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()))
        })
        .map(|(n, _)| n.as_str())
        .collect();
    if !malformed.is_empty() {
        problems.push(format!(
            "a digest that is not 64 hexadecimal digits for {}",
            malformed.join(", ")
        ));
    }
    if !problems.is_empty() {
        return Err(format!(
            "`digests_sha256` is incomplete or wrong: {}. The manifest of {what} lists exactly {};              it was edited or made by another version, so it cannot be verified",
            problems.join("; "),
            expected.join(", ")
        ));
    }
    Ok(listed
        .iter()
        .map(|(n, v)| (n.clone(), v.as_str().unwrap_or_default().to_string()))
        .collect())
}

fn plot(dir: &Path) -> Result<(), Failure> {
    for name in ["summary.json", "timeseries.csv", "manifest.json"] {
        if !dir.join(name).is_file() {
            return Err(Failure {
                code: 2,
                error: anyhow::anyhow!(
                    "{}: no {name}; expected a results directory written by `ledgersim run`",
                    dir.display()
                ),
            });
        }
    }
    let n = report::plot(dir).map_err(|e| Failure {
        code: 1,
        error: e.into(),
    })?;
    println!(
        "redrew {n} chart file(s) in {}/charts/ and {}/report.html",
        dir.display(),
        dir.display()
    );
    Ok(())
}

fn merge(args: MergeArgs) -> Result<(), Failure> {
    report::check_target(&args.out, args.force).map_err(|e| invalid(e.into()))?;
    let start = Instant::now();
    let merged = report::merge::merge_shards(&args.dirs).map_err(|e| invalid(e.into()))?;
    let inv = Invocation {
        command_line: std::env::args().collect(),
        scenario_path: merged.scenario_path.clone(),
        scenario_sha256: merged.scenario_sha256.clone(),
        overrides: merged.overrides.clone(),
        threads: 1,
        shard: None,
        merged_from: merged.shard_dirs.clone(),
    };
    let result = &merged.result;
    let perf = Perf {
        wall_s: merged.wall_s + start.elapsed().as_secs_f64(),
        events: result.events,
        events_per_s: result.events as f64 / merged.wall_s.max(1e-9),
        runs: result.runs.len(),
        threads: 1,
        peak_rss_mb: merged.peak_rss_mb,
    };
    report::write_results(&args.out, &merged.scenario, result, &inv, &perf, args.force)
        .context("writing merged results")?;
    if args.quiet {
        println!("{}", args.out.display());
    } else {
        println!(
            "{} — merged {} shard(s), {} run(s)\n",
            merged.scenario.name,
            merged.shard_dirs.len(),
            result.runs.len()
        );
        print!("{}", report::table::render(&merged.scenario, result));
        println!("\nResults written to {}/", args.out.display());
    }
    expectations_verdict(&report::expect::evaluate(&merged.scenario, result), args.quiet)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    interrupt::install();
    let outcome = match cli.command {
        Command::Run(a) => run(a),
        Command::Check { scenario, set } => check(&scenario, set),
        Command::Merge(a) => merge(a),
        Command::Reproduce { dir, threads, force } => reproduce(&dir, threads, force),
        Command::Validate(a) => validate_suite(a),
        Command::Plot { dir } => plot(&dir),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}
