//! `ledgersim merge`: read the directories written by `ledgersim run --shard K/N`, check that
//! they are the complete, non-overlapping slices of one experiment, and rebuild the whole
//! experiment's result from their exact per-run records.
//!
//! The result is then written by the same code as a whole run, so the merged `summary.json`,
//! `runs.csv`, `timeseries.csv` and the manifest's digests are byte-identical to those of one
//! run of the same scenario, seed, replications and overrides.

use super::{SHARD_RUNS_FILE, sha256_hex};
use crate::experiment::shard::{self, Shard};
use crate::experiment::{ExperimentResult, assemble};
use crate::scenario::raw::RawScenario;
use crate::scenario::{Scenario, validate};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Why shards cannot be merged. Every variant is invalid input (exit code 2).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct MergeError(pub String);

fn fail<T>(message: impl Into<String>) -> Result<T, MergeError> {
    Err(MergeError(message.into()))
}

/// One shard directory, read and checked on its own.
struct ShardDir {
    dir: PathBuf,
    manifest: Value,
    shard: Shard,
    data: String,
    wall_s: Option<f64>,
    peak_rss_mb: Option<f64>,
}

/// The fields that must be equal in every shard's manifest, in the order they are checked
/// (the most specific explanation first), with the words used in the error.
const SAME_IN_EVERY_SHARD: [(&str, &str); 10] = [
    ("ledgersim_version", "ledgersim versions"),
    ("ledgersim_build", "ledgersim builds (git commit of the binary)"),
    ("scenario", "scenario names"),
    ("scenario_sha256", "scenario files (SHA-256 of the file)"),
    ("seed", "seeds"),
    ("replications", "replications"),
    ("overrides", "--set overrides"),
    ("shard_count", "shard counts N"),
    ("resolved_scenario", "resolved scenarios"),
    ("input_files", "data files (node tables, peer graphs: SHA-256 of each)"),
];

fn read_shard(dir: &Path) -> Result<ShardDir, MergeError> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).or_else(|e| {
        fail(format!(
            "{}: cannot read ({e}); is this a shard directory?",
            path.display()
        ))
    })?;
    let manifest: Value =
        serde_json::from_str(&text).or_else(|e| fail(format!("{}: not valid JSON ({e})", path.display())))?;
    let shard = match manifest.get("shard") {
        None | Some(Value::Null) => {
            return fail(format!(
                "{}: not a shard (its manifest has no `shard`); merge takes the directories \
                 written by `ledgersim run … --shard K/N`",
                dir.display()
            ));
        }
        Some(v) => serde_json::from_value::<Shard>(v.clone())
            .ok()
            .filter(|s| s.count >= 1 && s.index < s.count)
            .map_or_else(
                || {
                    fail(format!(
                        "{}: `shard` is not {{\"index\": K, \"count\": N}} with K < N",
                        path.display()
                    ))
                },
                Ok,
            )?,
    };
    let data_path = dir.join(SHARD_RUNS_FILE);
    let data =
        std::fs::read_to_string(&data_path).or_else(|e| fail(format!("{}: cannot read ({e})", data_path.display())))?;
    let recorded = manifest
        .get("digests_sha256")
        .and_then(|d| d.get(SHARD_RUNS_FILE))
        .and_then(|v| v.as_str())
        .unwrap_or("");
    if sha256_hex(data.as_bytes()) != recorded {
        return fail(format!(
            "{}: does not match the SHA-256 recorded in {} (changed or truncated after it was \
             written); re-run shard {shard}",
            data_path.display(),
            path.display()
        ));
    }
    let perf = std::fs::read_to_string(dir.join("perf.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<Value>(&t).ok());
    let perf_number = |key: &str| perf.as_ref().and_then(|v| v.get(key).and_then(|w| w.as_f64()));
    let wall_s = perf_number("wall_s");
    let peak_rss_mb = perf_number("peak_rss_mb");
    Ok(ShardDir {
        dir: dir.to_path_buf(),
        manifest,
        shard,
        data,
        wall_s,
        peak_rss_mb,
    })
}

fn field(s: &ShardDir, name: &str) -> Value {
    if name == "shard_count" {
        return Value::from(s.shard.count);
    }
    match s.manifest.get(name) {
        // Manifests written before builds were recorded.
        None if name == "ledgersim_build" => Value::from("unknown"),
        v => v.cloned().unwrap_or(Value::Null),
    }
}

/// Everything `merge` recovered from the shards.
pub struct Merged {
    /// The experiment's scenario, validated from the shards' resolved scenario.
    pub scenario: Scenario,
    /// The whole experiment, as one run would have produced it.
    pub result: ExperimentResult,
    /// Scenario file path recorded by the first shard.
    pub scenario_path: String,
    /// SHA-256 of the scenario file, identical in every shard.
    pub scenario_sha256: String,
    /// `--set` overrides, identical in every shard.
    pub overrides: Vec<String>,
    /// The shard directories in shard order.
    pub shard_dirs: Vec<String>,
    /// Sum of the shards' simulation wall times, where `perf.json` gave them.
    pub wall_s: f64,
    /// The largest peak resident set size any shard recorded (MB), if any did.
    pub peak_rss_mb: Option<f64>,
}

/// Read, check and join shard directories (in any order).
///
/// Refuses, naming the directories involved: a directory that is not a shard, a data file
/// that does not match its manifest digest, shards of different scenarios, seeds,
/// replications, overrides, shard counts, ledgersim versions or builds (including this
/// binary's; see [`crate::BUILD`]),
/// a slice given twice, and missing slices.
pub fn merge_shards(dirs: &[PathBuf]) -> Result<Merged, MergeError> {
    if dirs.is_empty() {
        return fail("merge needs at least one shard directory");
    }
    let mut shards = dirs.iter().map(|d| read_shard(d)).collect::<Result<Vec<_>, _>>()?;
    let first = &shards[0];
    for other in &shards[1..] {
        for (name, words) in SAME_IN_EVERY_SHARD {
            let (a, b) = (field(first, name), field(other, name));
            if a != b {
                let shown = |v: &Value| {
                    let t = v.to_string();
                    if t.len() > 80 { "(differs)".to_string() } else { t }
                };
                return fail(format!(
                    "shards of different experiments: different {words} — {} has {}, {} has {}; \
                     merge only the slices of one `ledgersim run` (same scenario, seed, \
                     replications, overrides, N and ledgersim build)",
                    first.dir.display(),
                    shown(&a),
                    other.dir.display(),
                    shown(&b)
                ));
            }
        }
    }
    let this_version = env!("CARGO_PKG_VERSION");
    let made_by = field(first, "ledgersim_version");
    let made_by = made_by.as_str().unwrap_or("(unknown)");
    if made_by != this_version {
        return fail(format!(
            "the shards were made by ledgersim {made_by}, this is {this_version}: merge them \
             with the version that ran them (the summary records the version)"
        ));
    }
    let built_by = field(first, "ledgersim_build");
    let built_by = built_by.as_str().unwrap_or("unknown");
    if built_by != crate::BUILD {
        return fail(format!(
            "the shards were made by build {built_by}, this binary is build {}: merge them with \
             the binary that ran them (different builds of one version may compute different \
             results; manifest.json records `ledgersim_build`)",
            crate::BUILD
        ));
    }
    shards.sort_by_key(|s| s.shard.index);
    for pair in shards.windows(2) {
        if pair[0].shard == pair[1].shard {
            return fail(format!(
                "shard {} given twice: {} and {}",
                pair[0].shard,
                pair[0].dir.display(),
                pair[1].dir.display()
            ));
        }
    }
    let count = shards[0].shard.count;
    let missing: Vec<String> = (0..count)
        .filter(|k| !shards.iter().any(|s| s.shard.index == *k))
        .map(|k| format!("{k}/{count}"))
        .collect();
    if !missing.is_empty() {
        return fail(format!(
            "missing shard(s) {} of {count} (given: {}); run them with `ledgersim run … --shard K/{count}`",
            missing.join(", "),
            shards
                .iter()
                .map(|s| s.shard.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }

    let manifest_path = shards[0].dir.join("manifest.json");
    let raw: RawScenario = shards[0]
        .manifest
        .get("resolved_scenario")
        .cloned()
        .map(serde_json::from_value)
        .transpose()
        .or_else(|e| {
            fail(format!(
                "{}: `resolved_scenario` is not a scenario ({e})",
                manifest_path.display()
            ))
        })?
        .map_or_else(
            || fail(format!("{}: no `resolved_scenario`", manifest_path.display())),
            Ok,
        )?;
    let base = super::manifest_input_base(&shards[0].manifest);
    let scenario = validate::validate_resolved_in(raw, &manifest_path.display().to_string(), base.as_deref())
        .or_else(|e| fail(format!("the shards' resolved scenario is invalid: {e}")))?;
    super::check_input_files(&shards[0].manifest, &scenario)
        .or_else(|why| fail(format!("{}: {why}", manifest_path.display())))?;

    let mut runs = Vec::new();
    for s in &shards {
        let data_path = s.dir.join(SHARD_RUNS_FILE);
        let mine = shard::parse_runs_jsonl(&s.data).or_else(|e| fail(format!("{}: {e}", data_path.display())))?;
        let got: Vec<_> = mine.iter().map(|r| (r.point, r.system, r.replication)).collect();
        if got != shard::jobs(&scenario, Some(s.shard)) {
            return fail(format!(
                "{}: does not hold exactly the runs of shard {} of this scenario",
                data_path.display(),
                s.shard
            ));
        }
        runs.extend(mine);
    }
    runs.sort_by_key(|r| (r.point, r.system, r.replication));
    let text = |s: &ShardDir, name: &str| field(s, name).as_str().unwrap_or_default().to_string();
    let overrides = match field(&shards[0], "overrides") {
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        _ => Vec::new(),
    };
    Ok(Merged {
        result: assemble(&scenario, runs),
        scenario,
        scenario_path: text(&shards[0], "scenario_path"),
        scenario_sha256: text(&shards[0], "scenario_sha256"),
        overrides,
        shard_dirs: shards.iter().map(|s| s.dir.display().to_string()).collect(),
        wall_s: shards.iter().filter_map(|s| s.wall_s).sum(),
        peak_rss_mb: shards.iter().filter_map(|s| s.peak_rss_mb).reduce(f64::max),
    })
}
