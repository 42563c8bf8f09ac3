//! `ledgersim reproduce DIR`: re-runs from the manifest and verifies every digest.

use crate::common::{self, TempDir};

#[test]
fn reproduce_verifies_digests_and_names_what_differs() {
    let tmp = TempDir::new("reproduce");
    let scenario = tmp.write("s.toml", common::quickstart());
    let out = tmp.join("out");
    let (code, _, err) = common::run([
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--set",
        "system[1].batch_max_tx=50",
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    // The scenario file may change or vanish: the manifest alone is enough.
    std::fs::remove_file(&scenario).unwrap();
    let (code, stdout, err) = common::run(["reproduce", out.to_str().unwrap(), "--threads", "1"]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert_eq!(stdout.matches("identical").count(), 4, "{stdout}");

    // Tamper with one recorded digest: reproduce fails and names that file only.
    let manifest = out.join("manifest.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["digests_sha256"]["runs.csv"] = serde_json::Value::String("0".repeat(64));
    std::fs::write(&manifest, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let (code, stdout, err) = common::run(["reproduce", out.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{err}");
    assert!(err.contains("runs.csv") && !err.contains("summary.json"), "{err}");

    // A directory without a manifest is invalid input.
    let (code, _, err) = common::run(["reproduce", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("manifest.json"), "{err}");
}

/// Run the shortened quickstart into `tmp/out` and return the directory.
fn quickstart_result(tmp: &TempDir) -> std::path::PathBuf {
    let scenario = tmp.write("s.toml", common::quickstart());
    let out = tmp.join("out");
    let (code, _, err) = common::run([
        "run",
        scenario.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    assert_eq!(code, 0, "{err}");
    out
}

/// Read `dir/manifest.json`, let `edit` change it, write it back.
fn edit_manifest(dir: &std::path::Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join("manifest.json");
    let mut json: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut json);
    std::fs::write(&path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
}

#[test]
fn reproduce_applies_the_resource_guard() {
    let tmp = TempDir::new("reproduce-guard");
    let out = quickstart_result(&tmp);
    // Ten years of simulated time: the same experiment `run` refuses without --force.
    edit_manifest(&out, |m| {
        m["resolved_scenario"]["duration"] = "3650d".into();
        m["resolved_scenario"]["timeseries_window"] = "1d".into();
    });
    let (code, stdout, err) = common::run(["reproduce", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{stdout}{err}");
    assert!(err.contains("is estimated to need") && err.contains("--force"), "{err}");
    assert!(
        !stdout.contains("identical") && !stdout.contains("DIFFERS"),
        "ran anyway: {stdout}"
    );
    let (code, stdout, _) = common::run(["reproduce", "--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("--force"), "{stdout}");
}

#[test]
fn reproduce_refuses_an_incomplete_or_padded_digest_list() {
    let tmp = TempDir::new("reproduce-digests");
    let out = quickstart_result(&tmp);
    let original = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    // Every deterministic output is listed, and nothing else: the manifest and the
    // directory agree (charts and report.html are drawn from the data files).
    let json: serde_json::Value = serde_json::from_str(&original).unwrap();
    let listed: Vec<&String> = json["digests_sha256"].as_object().unwrap().keys().collect();
    let written: Vec<String> = common::list_dir(&out)
        .into_iter()
        .filter(|n| !["manifest.json", "perf.json", "report.html", "charts"].contains(&n.as_str()))
        .collect();
    assert_eq!(listed, written.iter().collect::<Vec<_>>());

    type Edit = fn(&mut serde_json::Value);
    let cases: [(Edit, &str); 4] = [
        (
            |m| {
                m["digests_sha256"]
                    .as_object_mut()
                    .unwrap()
                    .remove("latency_histograms.csv");
            },
            "no digest for latency_histograms.csv",
        ),
        (
            |m| m["digests_sha256"]["perf.json"] = "0".repeat(64).into(),
            "a digest for perf.json",
        ),
        (
            |m| m["digests_sha256"]["runs.csv"] = "abc".into(),
            "not 64 hexadecimal digits for runs.csv",
        ),
        (
            |m| {
                m.as_object_mut().unwrap().remove("digests_sha256");
            },
            "no `digests_sha256`",
        ),
    ];
    for (edit, says) in cases {
        std::fs::write(out.join("manifest.json"), &original).unwrap();
        edit_manifest(&out, edit);
        let (code, stdout, err) = common::run(["reproduce", out.to_str().unwrap()]);
        assert_eq!(code, 2, "{says}: {stdout}{err}");
        assert!(err.contains(says) && err.contains("manifest.json"), "{says}: {err}");
        assert!(!stdout.contains("identical"), "{says}: ran anyway: {stdout}");
    }
}

#[test]
fn manifest_records_the_build_and_reproduce_warns_about_another() {
    let tmp = TempDir::new("reproduce-build");
    let out = quickstart_result(&tmp);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    let build = m["ledgersim_build"].as_str().expect("ledgersim_build is a string");
    assert_eq!(build, env!("LEDGERSIM_BUILD"));
    let commit = build.strip_suffix("-dirty").unwrap_or(build);
    assert!(
        build == "unknown" || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{build}"
    );
    // summary.json does not carry it: its bytes do not depend on the commit.
    let summary = std::fs::read_to_string(out.join("summary.json")).unwrap();
    assert!(build == "unknown" || !summary.contains(commit));

    // Results of another build of the same version are still checked, with a warning.
    edit_manifest(&out, |m| {
        m["ledgersim_build"] = "0123456789abcdef0123456789abcdef01234567".into()
    });
    let (code, stdout, err) = common::run(["reproduce", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{err}");
    assert!(
        err.contains("warning: results were made by build 0123456789abcdef0123456789abcdef01234567"),
        "{err}"
    );
    assert_eq!(stdout.matches("identical").count(), 4, "{stdout}");
}
