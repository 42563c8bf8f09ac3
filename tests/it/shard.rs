//! `run --shard K/N` and `merge`: the merged outputs are byte-identical to one whole run, and
//! merge refuses slices that do not make up exactly one experiment.

use crate::common::{self, TempDir};
use ledgersim::Scenario;
use ledgersim::experiment::shard::{Shard, parse_runs_jsonl, runs_jsonl};
use ledgersim::experiment::{assemble, run_experiment, run_experiment_shard};
use ledgersim::report::deterministic_outputs;
use std::path::{Path, PathBuf};

const DETERMINISTIC: [&str; 4] = ["summary.json", "runs.csv", "timeseries.csv", "latency_histograms.csv"];

/// The shortened quickstart with a two-point sweep (4 units at 2 replications).
fn swept() -> String {
    format!(
        "{}\n[sweep]\n\"workload.flow[0].arrival.rate\" = [20.0, 60.0]\n",
        common::quickstart()
    )
}

fn run_ok(args: &[&str]) -> String {
    let (code, out, err) = common::run(args);
    assert_eq!(code, 0, "ledgersim {args:?}\n{out}{err}");
    out
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// Run the whole experiment into `whole`, then `n` shards and merge them into `merged`;
/// assert the deterministic files and the manifest digests are byte-identical.
fn assert_merge_equals_whole(tmp: &TempDir, scenario: &Path, extra: &[&str], n: usize) -> PathBuf {
    let s = scenario.to_str().unwrap();
    let whole = tmp.join(format!("whole-{n}"));
    let mut args = vec!["run", s, "--quiet", "--out", whole.to_str().unwrap()];
    args.extend_from_slice(extra);
    run_ok(&args);
    let mut shard_dirs = Vec::new();
    // Shards run in reverse order and on one thread: neither may matter.
    for k in (0..n).rev() {
        let dir = tmp.join(format!("shard-{k}-of-{n}"));
        let spec = format!("{k}/{n}");
        let mut args = vec![
            "run",
            s,
            "--quiet",
            "--threads",
            "1",
            "--shard",
            &spec,
            "--out",
            dir.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        run_ok(&args);
        assert!(!dir.join("summary.json").exists(), "a shard writes no partial summary");
        assert_eq!(manifest(&dir)["shard"], serde_json::json!({"index": k, "count": n}));
        shard_dirs.push(dir.to_str().unwrap().to_string());
    }
    let merged = tmp.join(format!("merged-{n}"));
    let mut args = vec!["merge", "--out", merged.to_str().unwrap()];
    args.extend(shard_dirs.iter().map(|d| d.as_str()));
    let out = run_ok(&args);
    assert!(out.contains(&format!("merged {n} shard(s)")), "{out}");
    for f in DETERMINISTIC {
        let (a, b) = (
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
        );
        assert!(a == b, "{n}-way merge: {f} differs from the whole run");
    }
    // The charts are drawn from those files, so they are identical too (report.html differs:
    // it shows the manifest's command line).
    for f in ["charts/cost.svg", "charts/latency_cdf.png", "charts/timeseries.svg"] {
        let (a, b) = (
            std::fs::read(whole.join(f)).unwrap(),
            std::fs::read(merged.join(f)).unwrap(),
        );
        assert!(a == b, "{n}-way merge: {f} differs from the whole run");
    }
    let (mw, mm) = (manifest(&whole), manifest(&merged));
    assert_eq!(mw["digests_sha256"], mm["digests_sha256"]);
    for key in [
        "resolved_scenario",
        "overrides",
        "seed",
        "replications",
        "scenario_sha256",
    ] {
        assert_eq!(mw[key], mm[key], "{key}");
    }
    assert!(mm["shard"].is_null());
    assert_eq!(mm["merged_from"].as_array().unwrap().len(), n);
    merged
}

#[test]
fn one_and_two_way_merges_equal_the_whole_run() {
    let tmp = TempDir::new("shard-12");
    let scenario = tmp.write("q.toml", common::quickstart());
    assert_merge_equals_whole(&tmp, &scenario, &[], 1);
    let merged = assert_merge_equals_whole(&tmp, &scenario, &["--set", "system[1].batch_max_tx=50"], 2);
    // The merged manifest is enough to reproduce the experiment.
    std::fs::remove_file(&scenario).unwrap();
    let out = run_ok(&["reproduce", merged.to_str().unwrap(), "--threads", "1"]);
    assert_eq!(out.matches("identical").count(), 4, "{out}");
}

#[test]
fn a_four_way_sweep_merge_equals_the_whole_run_and_shards_reproduce() {
    let tmp = TempDir::new("shard-4");
    let scenario = tmp.write("sweep.toml", swept());
    // 2 points × 3 replications = 6 units over 4 shards: two shards get two units, two get one.
    let extra = [
        "--replications",
        "3",
        "--seed",
        "18446744073709551615",
        "--set",
        "warmup=\"2s\"",
    ];
    let merged = assert_merge_equals_whole(&tmp, &scenario, &extra, 4);
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(merged.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["sweep"]["points"].as_array().unwrap().len(), 2);
    assert_eq!(summary["seed"], serde_json::json!(u64::MAX));
    let runs = std::fs::read_to_string(tmp.join("shard-1-of-4").join("runs.csv")).unwrap();
    // Shard 1 owns units 1 and 5: point 0 replication 1 and point 1 replication 2, every system.
    let keys: Vec<String> = runs
        .lines()
        .skip(1)
        .map(|l| {
            let c: Vec<&str> = l.split(',').collect();
            format!("{}:{}:{}", c[0], c[1], c[4])
        })
        .collect();
    assert_eq!(keys, ["0:centralized:1", "0:pbft:1", "1:centralized:2", "1:pbft:2"]);
    // A shard reproduces on its own, and so does the merged sweep (seed above i64::MAX).
    let out = run_ok(&["reproduce", tmp.join("shard-1-of-4").to_str().unwrap()]);
    assert_eq!(out.matches("identical").count(), 3, "{out}");
    let out = run_ok(&["reproduce", merged.to_str().unwrap()]);
    assert_eq!(out.matches("identical").count(), 4, "{out}");
}

#[test]
fn more_shards_than_units_leave_empty_slices_that_still_merge() {
    let tmp = TempDir::new("shard-empty");
    let scenario = tmp.write("q.toml", common::quickstart());
    // 2 replications, no sweep: 2 units over 3 shards; shard 2 has no work.
    let merged = assert_merge_equals_whole(&tmp, &scenario, &[], 3);
    assert!(merged.join("summary.json").exists());
    let data = std::fs::read(tmp.join("shard-2-of-3").join("shard-runs.jsonl")).unwrap();
    assert!(data.is_empty());
}

#[test]
fn shard_records_round_trip_every_field_exactly() {
    // PoW (chain metrics), a crash fault (recovery times, some undefined), PBFT and the
    // centralized system, sliced in three and reassembled from the serialized records.
    let text = format!(
        "{}\n[[system]]\nname = \"pow\"\nconsensus = \"pow\"\nsettlement = \"on-ledger\"\nblock_interval = \"1s\"\nconfirmations = 1\n\n[[fault]]\nkind = \"crash\"\nat = \"2s\"\nuntil = \"3s\"\ntarget = {{ nodes = [\"Hebei\"] }}\n",
        common::quickstart()
    );
    let sc = Scenario::from_toml_str(&text, "roundtrip").unwrap_or_else(|e| panic!("{e}"));
    let whole = run_experiment(&sc, 2, &|| {}).unwrap();
    assert!(
        whole.runs.iter().any(|r| r.chain.is_some()),
        "the PoW system has chain metrics"
    );
    let mut runs = Vec::new();
    for k in 0..3 {
        let part = run_experiment_shard(&sc, Some(Shard { index: k, count: 3 }), 1, &|| {}).unwrap();
        let bytes = runs_jsonl(&part.runs).unwrap();
        let back = parse_runs_jsonl(std::str::from_utf8(&bytes).unwrap()).unwrap();
        // Re-serializing what was read gives the same bytes.
        assert_eq!(runs_jsonl(&back).unwrap(), bytes);
        runs.extend(back);
    }
    runs.sort_by_key(|r| (r.point, r.system, r.replication));
    let merged = assemble(&sc, runs);
    assert_eq!(format!("{:?}", merged.runs), format!("{:?}", whole.runs));
    let (a, b) = (
        deterministic_outputs(&sc, &whole).unwrap(),
        deterministic_outputs(&sc, &merged).unwrap(),
    );
    for ((name, x), (_, y)) in a.files.iter().zip(&b.files) {
        assert!(x == y, "{name} differs after the round trip");
    }
    let err = parse_runs_jsonl("{\"point\": 0}\n").unwrap_err();
    assert!(err.starts_with("line 1:"), "{err}");
}

/// Shard `k` of `n` of `scenario` with `extra` arguments into `tmp/name`.
fn shard(tmp: &TempDir, name: &str, scenario: &Path, spec: &str, extra: &[&str]) -> String {
    let dir = tmp.join(name);
    let mut args = vec![
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--shard",
        spec,
        "--out",
        dir.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    run_ok(&args);
    dir.to_str().unwrap().to_string()
}

/// `merge` of `dirs` into a fresh directory: must fail with exit 2 and a message containing
/// every one of `needles`.
fn assert_refused(tmp: &TempDir, dirs: &[&str], needles: &[&str]) {
    let out = tmp.join("refused");
    let mut args = vec!["merge", "--out", out.to_str().unwrap()];
    args.extend_from_slice(dirs);
    let (code, stdout, err) = common::run(&args);
    assert_eq!(code, 2, "merge {dirs:?} should be refused\n{stdout}{err}");
    for n in needles {
        assert!(err.contains(n), "expected {n:?} in: {err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    assert!(!out.exists(), "nothing is written when merge refuses");
}

#[test]
fn merge_refuses_what_is_not_one_experiment() {
    let tmp = TempDir::new("shard-refuse");
    let scenario = tmp.write("q.toml", common::quickstart());
    let other = tmp.write("other.toml", common::quickstart().replace("rate = 50.0", "rate = 40.0"));
    let a0 = shard(&tmp, "a0", &scenario, "0/2", &[]);
    let a1 = shard(&tmp, "a1", &scenario, "1/2", &[]);
    let copy = tmp.join("a1-copy");
    std::fs::create_dir(&copy).unwrap();
    for f in common::list_dir(Path::new(&a1)) {
        std::fs::copy(Path::new(&a1).join(&f), copy.join(&f)).unwrap();
    }
    let copy = copy.to_str().unwrap();

    // The complete set merges (the control case).
    let ok = tmp.join("ok");
    run_ok(&["merge", "--out", ok.to_str().unwrap(), &a0, &a1]);
    // Merging into a non-empty directory needs --force.
    let (code, _, err) = common::run(["merge", "--out", ok.to_str().unwrap(), &a0, &a1]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--force"), "{err}");
    run_ok(&["merge", "--force", "--out", ok.to_str().unwrap(), &a0, &a1]);

    // Missing and duplicated slices.
    assert_refused(&tmp, &[&a0], &["missing shard(s) 1/2"]);
    assert_refused(&tmp, &[&a0, &a1, &a1], &["shard 1/2 given twice"]);
    assert_refused(&tmp, &[&a0, &a1, copy], &["shard 1/2 given twice", "a1-copy"]);

    // Slices of different experiments.
    let seed = shard(&tmp, "seed", &scenario, "1/2", &["--seed", "7"]);
    assert_refused(&tmp, &[&a0, &seed], &["different seeds", "a0", "seed"]);
    let reps = shard(&tmp, "reps", &scenario, "1/2", &["--replications", "3"]);
    assert_refused(&tmp, &[&a0, &reps], &["different replications"]);
    let set = shard(&tmp, "set", &scenario, "1/2", &["--set", "system[1].batch_max_tx=50"]);
    assert_refused(&tmp, &[&a0, &set], &["different --set overrides"]);
    let file = shard(&tmp, "file", &other, "1/2", &[]);
    assert_refused(&tmp, &[&a0, &file], &["different scenario files"]);
    let three = shard(&tmp, "three", &scenario, "1/3", &[]);
    assert_refused(&tmp, &[&a0, &three], &["different shard counts"]);

    // A different ledgersim version (its manifest says so).
    let path = Path::new(copy).join("manifest.json");
    let mut m = manifest(Path::new(copy));
    m["ledgersim_version"] = serde_json::json!("0.0.0-other");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    assert_refused(&tmp, &[&a0, copy], &["different ledgersim versions", "0.0.0-other"]);
    assert_refused(&tmp, &[copy], &["made by ledgersim 0.0.0-other, this is"]);

    // The same version from another build (another commit): refused as well.
    let mut m = manifest(Path::new(&a1));
    assert_eq!(m["ledgersim_build"], serde_json::json!(env!("LEDGERSIM_BUILD")));
    m["ledgersim_build"] = serde_json::json!("0123456789abcdef0123456789abcdef01234567");
    std::fs::write(&path, serde_json::to_vec_pretty(&m).unwrap()).unwrap();
    assert_refused(
        &tmp,
        &[&a0, copy],
        &["different ledgersim builds", "0123456789abcdef0123456789abcdef01234567"],
    );
    assert_refused(
        &tmp,
        &[copy],
        &["made by build 0123456789abcdef0123456789abcdef01234567, this binary is build"],
    );

    // A data file changed after it was written.
    let data = Path::new(&a1).join("shard-runs.jsonl");
    let text = std::fs::read_to_string(&data).unwrap();
    std::fs::write(&data, text.replacen("\"committed\":", "\"committed\":1", 1)).unwrap();
    assert_refused(&tmp, &[&a0, &a1], &["shard-runs.jsonl", "does not match the SHA-256"]);

    // Not a shard at all: a whole run, and a directory without a manifest.
    let whole = tmp.join("whole");
    run_ok(&[
        "run",
        scenario.to_str().unwrap(),
        "--quiet",
        "--out",
        whole.to_str().unwrap(),
    ]);
    assert_refused(&tmp, &[&a0, whole.to_str().unwrap()], &["not a shard"]);
    assert_refused(&tmp, &[tmp.path().to_str().unwrap()], &["manifest.json", "cannot read"]);
}

#[test]
fn bad_shard_specifications_are_usage_errors() {
    let tmp = TempDir::new("shard-bad");
    let scenario = tmp.write("q.toml", common::quickstart());
    for (spec, needle) in [
        ("2/2", "0-based"),
        ("0/0", "at least 1"),
        ("x/2", "not K/N"),
        ("1", "not K/N"),
        ("-1/2", "not K/N"),
    ] {
        let out = tmp.join("out");
        let (code, _, err) = common::run([
            "run",
            scenario.to_str().unwrap(),
            &format!("--shard={spec}"),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert_eq!(code, 2, "--shard {spec}: {err}");
        assert!(err.contains("--shard") && err.contains(needle), "--shard {spec}: {err}");
        assert!(!out.exists());
    }
    let (code, _, err) = common::run(["merge", "--out", tmp.join("m").to_str().unwrap()]);
    assert_eq!(code, 2, "merge without directories: {err}");
}

#[test]
fn a_capacity_search_cannot_be_sharded() {
    let tmp = TempDir::new("shard-capacity");
    let scenario = tmp.write("c.toml", std::fs::read_to_string("scenarios/capacity.toml").unwrap());
    let out = tmp.join("out");
    let (code, _, err) = common::run([
        "run",
        scenario.to_str().unwrap(),
        "--shard",
        "0/2",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--shard cannot split a [capacity] search"), "{err}");
    assert!(!out.exists());
}
