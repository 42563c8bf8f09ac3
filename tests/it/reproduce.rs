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
