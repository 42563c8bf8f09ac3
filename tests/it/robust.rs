//! Robustness (issue #8): interrupted runs leave nothing that looks complete, scenario names
//! cannot steer the output out of its directory, protocol-bound warnings reach the summary,
//! the resource guard's estimate is in the right range and no bundled scenario trips it,
//! and every committed fuzzing input is handled without a panic.

use crate::common::{self, TempDir, quickstart, replace_once};
use ledgersim::scenario::resources;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Start `ledgersim run` on a scenario that would take minutes, send `signal` once it is
/// simulating, and check the exit code, the message and that no output appeared.
fn interrupt_a_run(signal: &str, expected_code: i32, expected_name: &str) {
    let tmp = TempDir::new(&format!("interrupt-{signal}"));
    // Years of simulated time: the guard refuses it, so --force (which must say so).
    let file = tmp.write("scenario.toml", quickstart());
    let out = tmp.join("out");
    let mut child = Command::new(common::bin())
        .args([
            OsString::from("run"),
            file.into(),
            "--out".into(),
            out.clone().into(),
            "--set".into(),
            "duration=\"3650d\"".into(),
            "--set".into(),
            "timeseries_window=\"1d\"".into(),
            "--threads".into(),
            "2".into(),
            "--force".into(),
        ])
        .current_dir(tmp.path())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ledgersim");
    // Let it load, pass the guard and start simulating.
    std::thread::sleep(Duration::from_millis(1500));
    assert!(
        child.try_wait().expect("poll child").is_none(),
        "the run ended before it was interrupted"
    );
    let sent = Instant::now();
    let status = Command::new("kill")
        .args([format!("-{signal}"), child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
    let output = child.wait_with_output().expect("wait for ledgersim");
    let stopped_after = sent.elapsed();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(expected_code),
        "exit status {:?}; stderr: {stderr}",
        output.status
    );
    assert!(
        stderr.contains("running anyway (--force)"),
        "the guard's override should be announced: {stderr}"
    );
    assert!(
        stderr.contains(&format!("interrupted by {expected_name}")) && stderr.contains("nothing was written to"),
        "unclear message: {stderr}"
    );
    assert!(!out.exists(), "{} exists after an interrupted run", out.display());
    assert_eq!(
        tmp.entries(),
        ["scenario.toml"],
        "an interrupted run left files (a temporary directory?)"
    );
    assert!(
        stopped_after < Duration::from_secs(20),
        "took {stopped_after:?} to stop after the signal"
    );
}

#[test]
fn sigint_stops_a_run_cleanly_with_exit_130() {
    interrupt_a_run("INT", 130, "SIGINT");
}

#[test]
fn sigterm_stops_a_run_cleanly_with_exit_143() {
    interrupt_a_run("TERM", 143, "SIGTERM");
}

/// The id of a process that has exited (a child that was waited for).
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().expect("spawn true");
    let pid = child.id();
    child.wait().expect("wait for true");
    pid
}

#[cfg(unix)]
#[test]
fn the_next_run_removes_temporary_directories_left_by_a_killed_one() {
    // A second Ctrl-C while the files are written exits at once, leaving `.NAME.tmp-PID`
    // (or `.NAME.old-PID` mid-replacement). The next run writing NAME removes those whose
    // process is gone, and nothing else.
    let tmp = TempDir::new("stale-temp");
    let file = tmp.write(
        "scenario.toml",
        replace_once(&quickstart(), "replications = 2", "replications = 1"),
    );
    let dead = dead_pid();
    let alive = std::process::id();
    let stale = [format!(".out.tmp-{dead}"), format!(".out.old-{dead}")];
    let kept = [
        format!(".out.tmp-{alive}"),
        format!(".other.tmp-{dead}"),
        ".out.tmp-notapid".to_string(),
    ];
    for d in stale.iter().chain(&kept) {
        std::fs::create_dir(tmp.join(d)).unwrap();
        std::fs::write(tmp.join(d).join("summary.json"), "{}").unwrap();
    }
    let out = tmp.join("out");
    let (code, _, stderr) = common::run([
        OsString::from("run"),
        file.into(),
        "--out".into(),
        out.into(),
        "--quiet".into(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    for d in &stale {
        assert!(!tmp.join(d).exists(), "{d} was not removed");
        assert!(
            stderr.contains(&format!("note: removed {}", tmp.join(d).display())),
            "{stderr}"
        );
    }
    let mut expected: Vec<String> = kept.to_vec();
    expected.extend(["out".to_string(), "scenario.toml".to_string()]);
    expected.sort();
    assert_eq!(tmp.entries(), expected);
}

#[test]
fn scenario_names_cannot_escape_the_results_directory() {
    for (name, expected) in [
        ("../../escape", "escape"),
        ("/etc/passwd", "etc-passwd"),
        ("a/../../b", "a-..-..-b"),
        ("..", "scenario"),
        ("bell\u{7}and\ttab", "bell-and-tab"),
        ("养老金 2024", "养老金-2024"),
    ] {
        let tmp = TempDir::new("escape");
        let work = tmp.join("work");
        std::fs::create_dir(&work).unwrap();
        let text = replace_once(
            &quickstart(),
            "name = \"quickstart\"",
            &format!("name = {}", toml_string(name)),
        );
        let text = replace_once(&text, "replications = 2", "replications = 1");
        let file = tmp.write("scenario.toml", text);
        let (code, stdout, stderr) =
            common::run_in(Some(&work), [OsString::from("run"), file.into(), "--quiet".into()]);
        assert_eq!(code, 0, "{name:?}: {stderr}");
        assert_eq!(common::list_dir(&work), ["results"], "{name:?}");
        assert_eq!(common::list_dir(&work.join("results")), [expected], "{name:?}");
        assert_eq!(
            stdout.trim(),
            Path::new("results").join(expected).display().to_string(),
            "{name:?}"
        );
        assert_eq!(
            tmp.entries(),
            ["scenario.toml", "work"],
            "{name:?}: something was written outside the working directory"
        );
    }
}

/// A TOML basic string with escapes.
fn toml_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[test]
fn faults_beyond_the_protocol_bound_warn_and_are_recorded_in_the_summary() {
    let tmp = TempDir::new("bound-warning");
    // Three of PBFT's seven validators Byzantine: f = 2.
    let text = quickstart()
        + "\n[[fault]]\nkind = \"byzantine\"\nbehaviour = \"silent\"\nat = \"2s\"\nsystem = \"pbft\"\n\
           target = { nodes = [\"Hebei\", \"ICBC\", \"BoCom\"] }\n";
    let file = tmp.write("scenario.toml", text);
    let (code, _, stderr) = common::run([OsString::from("check"), file.clone().into()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("warning: system[1]: `pbft`: 3 of its 7 members are faulty at once from t = 2 s")
            && stderr.contains("tolerates f = 2"),
        "{stderr}"
    );
    let out = tmp.join("out");
    let (code, _, stderr) = common::run([
        OsString::from("run"),
        file.into(),
        "--out".into(),
        out.clone().into(),
        "--quiet".into(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("summary.json")).unwrap()).unwrap();
    let warnings = summary["warnings"].as_array().expect("a warnings array");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("system[1]: `pbft`: 3 of its 7")
    );

    // Within the bound (two Byzantine of seven): no warning, an empty array.
    let ok = Path::new(&out).with_file_name("ok.toml");
    let text = quickstart()
        + "\n[[fault]]\nkind = \"byzantine\"\nbehaviour = \"silent\"\nat = \"2s\"\nsystem = \"pbft\"\n\
           target = { nodes = [\"Hebei\", \"ICBC\"] }\n";
    std::fs::write(&ok, text).unwrap();
    let out2 = tmp.join("out2");
    let (code, _, stderr) = common::run([
        OsString::from("run"),
        ok.into(),
        "--out".into(),
        out2.clone().into(),
        "--quiet".into(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "{stderr}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out2.join("summary.json")).unwrap()).unwrap();
    assert_eq!(summary["warnings"], serde_json::json!([]));
}

#[test]
fn overrides_get_the_same_bound_warnings() {
    let tmp = TempDir::new("bound-warning-set");
    let text = quickstart()
        + "\n[[fault]]\nkind = \"crash\"\nat = \"2s\"\nsystem = \"pbft\"\ntarget = { nodes = [\"Hebei\"] }\n";
    let file = tmp.write("scenario.toml", text);
    let (code, _, stderr) = common::run([OsString::from("check"), file.clone().into()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(!stderr.contains("warning"), "one crash of seven is within f: {stderr}");
    let (code, _, stderr) = common::run([
        OsString::from("check"),
        file.into(),
        "--set".into(),
        "fault[0].target={nodes=[\"Hebei\", \"ICBC\", \"BoCom\", \"NSSF\"]}".into(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains("4 of its 7 members are faulty at once"), "{stderr}");
}

fn scenario_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            scenario_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "toml") {
            out.push(p);
        }
    }
}

#[test]
fn no_bundled_scenario_trips_the_resource_guard() {
    let mut files = Vec::new();
    scenario_files(&common::repo_root().join("scenarios"), &mut files);
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    for f in &files {
        let sc = ledgersim::Scenario::load(f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        // Even on a 64-core machine (memory grows with the runs held at once).
        for threads in [1, 2, 64] {
            let e = resources::estimate(&sc, threads);
            assert!(
                e.exceeds_bound().is_none(),
                "{} on {threads} threads: {e:?}",
                f.display()
            );
        }
    }
    let bitcoin = ledgersim::Scenario::load(&common::repo_root().join("scenarios/bitcoin-simblock-2019.toml")).unwrap();
    assert_eq!(
        bitcoin.topology.nodes.len(),
        6000,
        "the SimBlock scenario should keep its 6000 nodes"
    );
}

#[test]
fn the_event_estimate_is_within_a_small_factor_of_the_measured_count() {
    let text = quickstart();
    for (label, edit) in [
        ("pbft", None),
        ("raft", Some("consensus = \"raft\"")),
        ("hotstuff", Some("consensus = \"hotstuff\"")),
        ("poa", Some("consensus = \"poa\"")),
    ] {
        let text = match edit {
            Some(c) if label == "poa" => replace_once(
                &replace_once(&text, "consensus = \"pbft\"", c),
                "batch_timeout = \"200ms\"",
                "",
            ),
            Some(c) => replace_once(&text, "consensus = \"pbft\"", c),
            None => text.clone(),
        };
        let sc = ledgersim::Scenario::from_toml_str(&text, label).unwrap();
        let estimate = resources::estimate(&sc, 2);
        let measured = ledgersim::run_experiment(&sc, 2, &|| {}).unwrap().events as f64;
        let ratio = estimate.events_total / measured;
        assert!(
            (0.25..=4.0).contains(&ratio),
            "{label}: estimated {:.3e} events, measured {measured:.3e} (ratio {ratio:.2})",
            estimate.events_total
        );
    }
}

#[test]
fn every_committed_fuzzing_input_is_handled_without_a_panic() {
    let root = common::repo_root().join("fuzz");
    let mut inputs = Vec::new();
    for dir in ["corpus/parse_validate", "regressions/parse_validate"] {
        let d = root.join(dir);
        if d.is_dir() {
            for e in std::fs::read_dir(&d).unwrap() {
                inputs.push(e.unwrap().path());
            }
        }
    }
    inputs.sort();
    assert!(inputs.len() >= 10, "only {} committed fuzzing inputs", inputs.len());
    for p in &inputs {
        // (A fuzzer running locally may remove a file meanwhile.)
        let Ok(bytes) = std::fs::read(p) else { continue };
        let Ok(text) = std::str::from_utf8(&bytes) else {
            continue;
        };
        // Ok or a clean error; a panic fails the test and names the input.
        let outcome =
            std::panic::catch_unwind(|| ledgersim::scenario::validate::load_str(text, "fuzz.toml", &[]).map(|_| ()));
        assert!(outcome.is_ok(), "{} panicked", p.display());
    }
}

#[test]
fn faulty_members_are_counted_at_the_same_moment_not_summed_over_the_run() {
    use ledgersim::scenario::bounds::faulty_at_once;
    let crash = |node: &str, at: &str, until: &str| {
        format!(
            "\n[[fault]]\nkind = \"crash\"\nat = \"{at}\"\nuntil = \"{until}\"\nsystem = \"pbft\"\ntarget = {{ nodes = [\"{node}\"] }}\n"
        )
    };
    // Three crashes one after another: never more than one member down at once.
    let text = quickstart() + &crash("Hebei", "1s", "2s") + &crash("ICBC", "2s", "3s") + &crash("BoCom", "3s", "4s");
    let sc = ledgersim::Scenario::from_toml_str(&text, "sequential").unwrap();
    let worst = faulty_at_once(&sc, 1);
    assert_eq!((worst.faulty, worst.byzantine), (1, 0));
    assert!(sc.warnings.is_empty(), "{:?}", sc.warnings);
    // Overlapping: three down from 3 s, beyond f = 2 of n = 7.
    let text = quickstart() + &crash("Hebei", "1s", "5s") + &crash("ICBC", "2s", "5s") + &crash("BoCom", "3s", "4s");
    let sc = ledgersim::Scenario::from_toml_str(&text, "overlapping").unwrap();
    let worst = faulty_at_once(&sc, 1);
    assert_eq!((worst.faulty, worst.byzantine, worst.at), (3, 0, 3_000_000_000));
    assert_eq!(sc.warnings.len(), 1, "{:?}", sc.warnings);
    assert_eq!(sc.warnings[0].path, "system[1]");
    // The centralized system is not affected by faults aimed at `pbft`.
    assert_eq!(faulty_at_once(&sc, 0).faulty, 0);
}

#[test]
fn a_flood_of_problems_is_capped_with_a_count_of_the_rest() {
    let mut text = quickstart();
    for i in 0..150 {
        text += &format!(
            "\n[[workload.flow]]\nname = \"f{i}\"\nfrom = \"nobody\"\nto = \"bank\"\n\
             arrival = {{ process = \"poisson\", rate = 1.0 }}\nsize_bytes = 100\n\
             amount = {{ dist = \"constant\", value = 1.0 }}\n"
        );
    }
    let err = ledgersim::Scenario::from_toml_str(&text, "flood.toml").unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("flood.toml: 101 problem(s) in the scenario:"),
        "{shown}"
    );
    assert!(
        shown.contains("workload.flow[2].from: unknown role `nobody`"),
        "{shown}"
    );
    assert!(
        shown.ends_with("  - (scenario): … and 50 more problems not shown; fix these first"),
        "{shown}"
    );
}
