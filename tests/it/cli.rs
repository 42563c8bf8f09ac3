//! The command line: outputs of `run`, determinism, overwrite protection, `check`, usage
//! errors and unreadable scenario files.

use crate::common::{self, TempDir, list_dir, quickstart_path, sha256_hex};
use serde_json::Value;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The deterministic outputs, which the manifest hashes.
const DETERMINISTIC: [&str; 4] = ["summary.json", "runs.csv", "timeseries.csv", "latency_histograms.csv"];
/// Every file a run writes (sorted; `charts/` holds the SVG and PNG charts).
const ALL_OUTPUTS: [&str; 8] = [
    "charts",
    "latency_histograms.csv",
    "manifest.json",
    "perf.json",
    "report.html",
    "runs.csv",
    "summary.json",
    "timeseries.csv",
];

/// `run scenarios/quickstart.toml` shortened to 6 s simulated, 1 s warm-up, plus `extra`.
fn quick_run_args(out: &Path, extra: &[&str]) -> Vec<OsString> {
    let mut v: Vec<OsString> = vec![
        "run".into(),
        quickstart_path().into(),
        "--set".into(),
        "duration=\"6s\"".into(),
        "--set".into(),
        "warmup=\"1s\"".into(),
        "--out".into(),
        out.into(),
    ];
    v.extend(extra.iter().map(OsString::from));
    v
}

/// Run the shortened quickstart into `out`; asserts success.
fn quick_run(out: &Path, extra: &[&str]) -> String {
    let (code, stdout, stderr) = common::run(quick_run_args(out, extra));
    assert_eq!(code, 0, "run failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
    stdout
}

fn read(dir: &Path, name: &str) -> Vec<u8> {
    std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("read {}/{name}: {e}", dir.display()))
}

fn json(dir: &Path, name: &str) -> Value {
    serde_json::from_slice(&read(dir, name)).unwrap_or_else(|e| panic!("{name} is not JSON: {e}"))
}

/// Temporary siblings that `write_dir` uses (`.<name>.tmp-<pid>`, `.<name>.old-<pid>`).
fn leftovers(parent: &Path) -> Vec<String> {
    list_dir(parent)
        .into_iter()
        .filter(|n| n.starts_with('.') && (n.contains(".tmp-") || n.contains(".old-")))
        .collect()
}

/// Asserts `v` is a `{mean, ci95: [lo, hi], n}` statistic over `n` replications.
fn assert_stat(v: &Value, what: &str, n: u64) {
    let mean = v["mean"]
        .as_f64()
        .unwrap_or_else(|| panic!("{what}.mean is not a number: {v}"));
    let ci = v["ci95"]
        .as_array()
        .unwrap_or_else(|| panic!("{what}.ci95 is not an array: {v}"));
    assert_eq!(ci.len(), 2, "{what}.ci95 should be [lo, hi]: {v}");
    let (lo, hi) = (
        ci[0].as_f64().unwrap_or_else(|| panic!("{what}.ci95[0]: {v}")),
        ci[1].as_f64().unwrap_or_else(|| panic!("{what}.ci95[1]: {v}")),
    );
    let tol = 1e-9 * mean.abs().max(1.0);
    assert!(lo <= mean + tol && mean <= hi + tol, "{what}: mean outside its CI: {v}");
    assert_eq!(v["n"].as_u64(), Some(n), "{what}.n: {v}");
}

#[test]
fn run_writes_every_output_consistently() {
    let tmp = TempDir::new("run-outputs");
    let out = tmp.join("out");
    let stdout = quick_run(&out, &["--replications", "2", "--quiet"]);
    assert_eq!(
        stdout.trim(),
        out.display().to_string(),
        "--quiet prints only the output directory"
    );
    assert_eq!(list_dir(&out), ALL_OUTPUTS);
    assert!(leftovers(tmp.path()).is_empty(), "leftovers: {:?}", tmp.entries());
    assert_eq!(tmp.entries(), ["out"]);

    // summary.json
    let s = json(&out, "summary.json");
    assert_eq!(s["scenario"], "quickstart");
    assert_eq!(s["seed"].as_u64(), Some(1));
    assert_eq!(s["replications"].as_u64(), Some(2));
    assert_eq!(s["baseline"], "centralized");
    assert_eq!(s["duration_s"].as_f64(), Some(6.0));
    assert_eq!(s["warmup_s"].as_f64(), Some(1.0));
    let systems = s["systems"].as_array().expect("systems is an array");
    let names: Vec<&str> = systems
        .iter()
        .map(|x| x["name"].as_str().expect("system name"))
        .collect();
    assert_eq!(names, ["centralized", "pbft"]);
    for sys in systems {
        let name = sys["name"].as_str().unwrap();
        for key in ["throughput_tps", "committed", "submitted"] {
            assert_stat(&sys[key], &format!("{name}.{key}"), 2);
        }
        for group in ["latency_ms", "settlement_latency_ms"] {
            for q in ["p50", "p90", "p99", "mean"] {
                assert_stat(&sys[group][q], &format!("{name}.{group}.{q}"), 2);
            }
        }
        assert_stat(&sys["cost_per_tx"]["total"], &format!("{name}.cost_per_tx.total"), 2);
        assert!(
            sys["throughput_tps"]["mean"].as_f64().unwrap() > 0.0,
            "{name} committed nothing"
        );
    }

    // manifest.json: digests of exactly the deterministic files, and they match.
    let m = json(&out, "manifest.json");
    let digests = m["digests_sha256"].as_object().expect("digests_sha256 is an object");
    let keys: BTreeSet<&str> = digests.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        BTreeSet::from(DETERMINISTIC),
        "perf.json and manifest.json must not be hashed"
    );
    for name in DETERMINISTIC {
        assert_eq!(
            digests[name].as_str(),
            Some(sha256_hex(&read(&out, name)).as_str()),
            "digest of {name}"
        );
    }
    assert_eq!(m["seed"].as_u64(), Some(1));
    assert_eq!(m["replications"].as_u64(), Some(2));
    assert_eq!(
        m["scenario_sha256"].as_str(),
        Some(sha256_hex(&std::fs::read(quickstart_path()).unwrap()).as_str())
    );
    let overrides: Vec<&str> = m["overrides"]
        .as_array()
        .expect("overrides")
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(overrides, ["duration=\"6s\"", "warmup=\"1s\"", "replications=2"]);

    // perf.json
    let p = json(&out, "perf.json");
    assert_eq!(p["runs"].as_u64(), Some(4));
    assert!(p["events"].as_u64().unwrap() > 0);

    // runs.csv: one row per system × replication.
    let mut rd = csv::Reader::from_reader(std::io::Cursor::new(read(&out, "runs.csv")));
    let header = rd.headers().unwrap().clone();
    let col = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("runs.csv has no `{name}` column"))
    };
    let (c_sys, c_rep) = (col("system"), col("replication"));
    let (c_safe, c_cons, c_money) = (
        col("safety_violations"),
        col("replicas_consistent"),
        col("money_conserved"),
    );
    let rows: Vec<csv::StringRecord> = rd.records().map(|r| r.expect("runs.csv row")).collect();
    assert_eq!(rows.len(), 4, "2 systems × 2 replications");
    let pairs: BTreeSet<(String, String)> = rows
        .iter()
        .map(|r| (r[c_sys].to_string(), r[c_rep].to_string()))
        .collect();
    let expected: BTreeSet<(String, String)> = ["centralized", "pbft"]
        .iter()
        .flat_map(|s| ["0", "1"].map(|r| (s.to_string(), r.to_string())))
        .collect();
    assert_eq!(pairs, expected);
    for r in &rows {
        assert_eq!(&r[c_safe], "0", "safety violations in {r:?}");
        assert_eq!(&r[c_cons], "true", "replicas diverged in {r:?}");
        assert_eq!(&r[c_money], "true", "money not conserved in {r:?}");
    }

    // timeseries.csv: every system × replication has windows.
    let mut rd = csv::Reader::from_reader(std::io::Cursor::new(read(&out, "timeseries.csv")));
    let header = rd.headers().unwrap().clone();
    let c_sys = header.iter().position(|h| h == "system").expect("system column");
    let c_rep = header
        .iter()
        .position(|h| h == "replication")
        .expect("replication column");
    let pairs: BTreeSet<(String, String)> = rd
        .records()
        .map(|r| {
            let r = r.expect("timeseries.csv row");
            (r[c_sys].to_string(), r[c_rep].to_string())
        })
        .collect();
    assert_eq!(pairs, expected);
}

#[test]
fn same_inputs_give_identical_outputs_regardless_of_threads() {
    let tmp = TempDir::new("determinism");
    let (a, b, c) = (tmp.join("a"), tmp.join("b"), tmp.join("c"));
    let stdout = quick_run(&a, &["--replications", "3", "--threads", "1"]);
    assert!(
        stdout.contains("centralized") && stdout.contains("pbft"),
        "table: {stdout}"
    );
    assert!(stdout.contains("Results written to"), "stdout: {stdout}");
    quick_run(&b, &["--replications", "3", "--threads", "1"]);
    quick_run(&c, &["--replications", "3", "--threads", "2"]);
    for name in DETERMINISTIC {
        let x = read(&a, name);
        assert!(x == read(&b, name), "{name} differs between two identical runs");
        assert!(
            x == read(&c, name),
            "{name} differs between --threads 1 and --threads 2"
        );
    }
    let digests = |d: &Path| json(d, "manifest.json")["digests_sha256"].clone();
    assert_eq!(digests(&a), digests(&b));
    assert_eq!(digests(&a), digests(&c));
    assert_eq!(json(&c, "manifest.json")["threads"].as_u64(), Some(2));
}

#[test]
fn a_different_seed_gives_different_results() {
    let tmp = TempDir::new("seed");
    let (a, b) = (tmp.join("a"), tmp.join("b"));
    quick_run(&a, &["--replications", "1"]);
    quick_run(&b, &["--replications", "1", "--seed", "2"]);
    let (sa, sb) = (read(&a, "summary.json"), read(&b, "summary.json"));
    assert!(sa != sb, "--seed 2 produced the same summary.json as seed 1");
    assert_eq!(json(&b, "summary.json")["seed"].as_u64(), Some(2));
    assert_eq!(json(&b, "manifest.json")["seed"].as_u64(), Some(2));
    assert_ne!(
        json(&a, "manifest.json")["digests_sha256"]["summary.json"],
        json(&b, "manifest.json")["digests_sha256"]["summary.json"]
    );
}

#[test]
fn refuses_to_overwrite_a_non_empty_directory_without_force() {
    let tmp = TempDir::new("overwrite");
    let out = tmp.join("out");
    quick_run(&out, &["--replications", "1"]);
    // Every file, those in charts/ included.
    let snapshot = |dir: &Path| -> Vec<(String, Vec<u8>)> {
        let mut v = Vec::new();
        for n in list_dir(dir) {
            if dir.join(&n).is_dir() {
                for f in list_dir(&dir.join(&n)) {
                    v.push((format!("{n}/{f}"), read(&dir.join(&n), &f)));
                }
            } else {
                v.push((n.clone(), read(dir, &n)));
            }
        }
        v
    };
    let before = snapshot(&out);
    assert!(
        before.iter().any(|(n, _)| n == "charts/cost.svg"),
        "{:?}",
        list_dir(&out)
    );

    // Without --force (and with a different seed, so a write would change the files).
    let (code, stdout, stderr) = common::run(quick_run_args(&out, &["--replications", "1", "--seed", "9"]));
    assert_eq!(code, 2, "stdout: {stdout}\nstderr: {stderr}");
    assert!(
        stderr.contains("--force"),
        "the message should suggest --force: {stderr}"
    );
    assert!(
        stderr.contains(&out.display().to_string()),
        "the message should name the directory: {stderr}"
    );
    let after = snapshot(&out);
    assert!(before == after, "the existing results were modified");
    assert!(leftovers(tmp.path()).is_empty(), "leftovers: {:?}", tmp.entries());

    // A directory holding someone else's file is protected too.
    let other = tmp.join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("notes.txt"), "keep me").unwrap();
    let (code, _, stderr) = common::run(quick_run_args(&other, &["--replications", "1"]));
    assert_eq!(code, 2, "stderr: {stderr}");
    assert_eq!(list_dir(&other), ["notes.txt"]);
    assert_eq!(std::fs::read_to_string(other.join("notes.txt")).unwrap(), "keep me");

    // With --force the directory is replaced.
    quick_run(&out, &["--replications", "1", "--seed", "9", "--force"]);
    assert_eq!(list_dir(&out), ALL_OUTPUTS);
    assert_eq!(json(&out, "summary.json")["seed"].as_u64(), Some(9));
    assert!(leftovers(tmp.path()).is_empty(), "leftovers: {:?}", tmp.entries());
    assert_eq!(tmp.entries(), ["other", "out"]);
}

#[test]
fn an_existing_empty_directory_is_used_without_force() {
    let tmp = TempDir::new("empty-out");
    let out = tmp.join("out");
    std::fs::create_dir(&out).unwrap();
    quick_run(&out, &["--replications", "1"]);
    assert_eq!(list_dir(&out), ALL_OUTPUTS);
    assert!(leftovers(tmp.path()).is_empty(), "leftovers: {:?}", tmp.entries());
}

#[test]
fn check_accepts_every_shipped_scenario() {
    let dir = common::repo_root().join("scenarios");
    let files: Vec<String> = list_dir(&dir).into_iter().filter(|n| n.ends_with(".toml")).collect();
    assert!(files.iter().any(|f| f == "quickstart.toml"), "scenarios/: {files:?}");
    for f in &files {
        let path = dir.join(f);
        let (code, stdout, stderr) = common::run([OsString::from("check"), path.clone().into()]);
        assert_eq!(code, 0, "check {f} failed\nstdout:\n{stdout}\nstderr:\n{stderr}");
        assert!(stdout.contains("OK"), "check {f}: {stdout}");
        assert!(stdout.contains("systems:"), "check {f}: {stdout}");
    }
}

#[test]
fn check_prints_the_resolved_systems() {
    let (code, stdout, stderr) = common::run([OsString::from("check"), quickstart_path().into()]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("OK — scenario `quickstart`"), "{stdout}");
    assert!(stdout.contains("seed 1, 3 replication(s)"), "{stdout}");
    let systems = stdout.split("systems:").nth(1).expect("a `systems:` section");
    assert!(
        systems.contains("centralized (baseline): centralized, settlement batch, 1 node(s)"),
        "{stdout}"
    );
    assert!(
        systems.contains("pbft: pbft, settlement on-ledger, 7 node(s)"),
        "{stdout}"
    );
    assert!(stderr.is_empty(), "stderr: {stderr}");
}

#[test]
fn check_applies_set_overrides() {
    let (code, stdout, stderr) = common::run([
        OsString::from("check"),
        quickstart_path().into(),
        "--set".into(),
        "seed=77".into(),
        "--set".into(),
        "replications=4".into(),
        "--set".into(),
        "system[1].name=\"ledger\"".into(),
    ]);
    assert_eq!(code, 0, "stderr: {stderr}");
    assert!(stdout.contains("seed 77, 4 replication(s)"), "{stdout}");
    assert!(stdout.contains("ledger: pbft, settlement on-ledger"), "{stdout}");
}

#[test]
fn usage_errors_exit_2() {
    let tmp = TempDir::new("usage");
    let out = tmp.join("out");
    let q = quickstart_path();
    let q = q.to_str().unwrap();
    let o = out.to_str().unwrap();
    let cases: Vec<(&str, Vec<&str>)> = vec![
        ("no subcommand", vec![]),
        ("unknown subcommand", vec!["frobnicate", q]),
        ("run without scenario", vec!["run"]),
        ("check without scenario", vec!["check"]),
        ("--threads 0", vec!["run", q, "--threads", "0", "--out", o]),
        (
            "--threads not a number",
            vec!["run", q, "--threads", "many", "--out", o],
        ),
        ("--replications 0", vec!["run", q, "--replications", "0", "--out", o]),
        (
            "--replications negative",
            vec!["run", q, "--replications", "-1", "--out", o],
        ),
        ("--seed not a number", vec!["run", q, "--seed", "abc", "--out", o]),
        ("unknown flag", vec!["run", q, "--bogus", "--out", o]),
        ("--out without value", vec!["run", q, "--out"]),
        ("two scenarios", vec!["check", q, q]),
    ];
    let mut failures = Vec::new();
    for (what, args) in &cases {
        let (code, _, stderr) = common::run_in(Some(tmp.path()), args);
        if code != 2 {
            failures.push(format!("{what}: exit {code}, stderr: {stderr}"));
        } else if stderr.trim().is_empty() {
            failures.push(format!("{what}: exit 2 but nothing on stderr"));
        }
        if out.exists() || !tmp.entries().is_empty() {
            failures.push(format!("{what}: created {:?}", tmp.entries()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));

    let (code, stdout, _) = common::run(["--version"]);
    assert_eq!(code, 0);
    assert!(stdout.contains(env!("CARGO_PKG_VERSION")), "{stdout}");
}

#[test]
fn unreadable_scenario_files_exit_2_naming_the_file() {
    let tmp = TempDir::new("unreadable");
    let dir_as_scenario = tmp.join("a-directory.toml");
    std::fs::create_dir(&dir_as_scenario).unwrap();
    let cases: Vec<(&str, std::path::PathBuf, &str)> = vec![
        (
            "missing file",
            tmp.join("no-such-scenario.toml"),
            "cannot read scenario",
        ),
        ("directory", dir_as_scenario, "is a directory"),
        ("empty file", tmp.write("empty.toml", ""), "empty"),
        ("blank file", tmp.write("blank.toml", "\n  \n\t\n"), "empty"),
        (
            "non-UTF-8 file",
            tmp.write("latin1.toml", b"name = \"S\xe3o Paulo\"\n"),
            "UTF-8",
        ),
    ];
    let initial = tmp.entries();
    let mut failures = Vec::new();
    for (what, path, reason) in &cases {
        let shown = path.display().to_string();
        let out = tmp.join("out");
        let invocations: Vec<Vec<OsString>> = vec![
            vec!["check".into(), path.into()],
            // Without --out: the default results/<name>/ must not appear in the working dir.
            vec!["run".into(), path.into()],
            vec!["run".into(), path.into(), "--out".into(), out.clone().into()],
        ];
        for args in invocations {
            let (code, stdout, stderr) = common::run_in(Some(tmp.path()), &args);
            let cmd = args[0].to_string_lossy();
            if code != 2 {
                failures.push(format!(
                    "{what} ({cmd}): exit {code}\nstdout: {stdout}\nstderr: {stderr}"
                ));
            }
            if !stderr.contains(&shown) {
                failures.push(format!("{what} ({cmd}): stderr does not name {shown}: {stderr}"));
            }
            if !stderr.contains(reason) {
                failures.push(format!("{what} ({cmd}): stderr does not say {reason:?}: {stderr}"));
            }
            if tmp.entries() != initial {
                failures.push(format!("{what} ({cmd}): created {:?}", tmp.entries()));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Run the binary, killing it after `limit`; `None` if it had to be killed.
fn run_with_limit(args: &[OsString], limit: Duration) -> Option<(i32, String, String)> {
    let mut child = Command::new(common::bin())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ledgersim");
    let start = Instant::now();
    loop {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return Some((
                out.status.code().unwrap_or(-1),
                String::from_utf8_lossy(&out.stdout).into_owned(),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            ));
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn seeds_above_i64_max_are_accepted() {
    let tmp = TempDir::new("big-seed");
    let out = tmp.join("out");
    let (code, _, stderr) = common::run(quick_run_args(
        &out,
        &["--replications", "1", "--seed", "18446744073709551615"],
    ));
    assert_eq!(code, 0, "stderr: {stderr}");
    assert_eq!(json(&out, "summary.json")["seed"].as_u64(), Some(u64::MAX));
}

#[test]
fn pbft_with_a_full_pipeline_does_not_spin_on_its_batch_timer() {
    let tmp = TempDir::new("pbft-spin");
    for (i, timeout) in ["10ms", "0"].iter().enumerate() {
        let out = tmp.join(format!("out{i}"));
        let mut args = quick_run_args(&out, &["--replications", "1", "--threads", "1"]);
        for s in [
            "duration=\"600ms\"".to_string(),
            "warmup=\"100ms\"".to_string(),
            "system[1].pipeline=1".to_string(),
            format!("system[1].batch_timeout=\"{timeout}\""),
        ] {
            args.push("--set".into());
            args.push(s.into());
        }
        let res = run_with_limit(&args, Duration::from_secs(20));
        let (code, _, stderr) = res.unwrap_or_else(|| panic!("batch_timeout={timeout}: still running after 20 s"));
        assert_eq!(code, 0, "stderr: {stderr}");
        let events = json(&out, "perf.json")["events"].as_u64().unwrap();
        // A normal run of this size takes a few thousand events.
        assert!(
            events < 1_000_000,
            "batch_timeout={timeout}: {events} events for 0.6 s simulated"
        );
    }
}
