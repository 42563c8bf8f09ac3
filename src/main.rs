//! The `ledgersim` command line: parse, call the library, map errors to exit codes
//! (0 success, 2 invalid input, 1 any other failure).

use anyhow::Context;
use clap::{Parser, Subcommand};
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
    },
    /// Redraw DIR/charts/ and DIR/report.html from the data files in DIR alone.
    Plot {
        /// A results directory written by `ledgersim run`.
        dir: PathBuf,
    },
    /// Validate a scenario and print the resolved configuration, without running it.
    Check {
        /// Scenario file (TOML).
        scenario: PathBuf,
        /// Override a field, e.g. `--set system[1].batch_max_tx=100` (repeatable).
        #[arg(long = "set", value_name = "PATH=VALUE")]
        set: Vec<String>,
    },
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
    }
    Ok((sc, overrides))
}

fn check(path: &Path, set: Vec<String>) -> Result<(), Failure> {
    let (sc, _) = load(path, set, None, None)?;
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
    Ok(())
}

fn run(args: RunArgs) -> Result<(), Failure> {
    let (scenario, overrides) = load(&args.scenario, args.set, args.seed, args.replications)?;
    let dir = args
        .out
        .unwrap_or_else(|| Path::new("results").join(report::sanitize_component(&scenario.name)));
    report::check_target(&dir, args.force).map_err(|e| Failure {
        code: 2,
        error: e.into(),
    })?;
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1));
    if threads == 0 {
        return Err(Failure {
            code: 2,
            error: anyhow::anyhow!("--threads must be at least 1"),
        });
    }
    let bytes = std::fs::read(&args.scenario).with_context(|| format!("reading {}", args.scenario.display()))?;
    let start = Instant::now();
    let bar = progress(ledgersim::experiment::run_count(&scenario), args.quiet);
    let result = ledgersim::run_experiment(&scenario, threads, &|| bar.inc(1)).context("starting worker threads")?;
    bar.finish_and_clear();
    let wall = start.elapsed().as_secs_f64();
    let inv = Invocation {
        command_line: std::env::args().collect(),
        scenario_path: args.scenario.display().to_string(),
        scenario_sha256: report::sha256_hex(&bytes),
        overrides,
        threads,
    };
    let perf = Perf {
        wall_s: wall,
        events: result.events,
        events_per_s: result.events as f64 / wall.max(1e-9),
        runs: result.runs.len(),
        threads,
    };
    report::write_results(&dir, &scenario, &result, &inv, &perf, args.force).context("writing results")?;
    if args.quiet {
        println!("{}", dir.display());
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
    Ok(())
}

fn reproduce(dir: &Path, threads: Option<usize>) -> Result<(), Failure> {
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
    let scenario = validate::validate(raw, &path.display().to_string())?;
    let recorded = manifest
        .get("ledgersim_version")
        .and_then(|v| v.as_str())
        .unwrap_or("?");
    if recorded != env!("CARGO_PKG_VERSION") {
        eprintln!(
            "note: results were made by ledgersim {recorded}; this is {}",
            env!("CARGO_PKG_VERSION")
        );
    }
    let threads = threads
        .unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
        .max(1);
    let bar = progress(ledgersim::experiment::run_count(&scenario), false);
    let result = ledgersim::run_experiment(&scenario, threads, &|| bar.inc(1)).context("starting worker threads")?;
    bar.finish_and_clear();
    let outputs = report::deterministic_outputs(&scenario, &result).context("building outputs")?;
    let digests = manifest.get("digests_sha256").and_then(|d| d.as_object());
    let mut differ = Vec::new();
    for (name, bytes) in &outputs.files {
        let now = report::sha256_hex(bytes);
        let then = digests
            .and_then(|d| d.get(*name))
            .and_then(|v| v.as_str())
            .unwrap_or("");
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Run(a) => run(a),
        Command::Check { scenario, set } => check(&scenario, set),
        Command::Reproduce { dir, threads } => reproduce(&dir, threads),
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
