//! `[sweep]`: Cartesian products of parameter values, each point validated and run.

use crate::common;
use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;
use ledgersim::report::{runs_csv, summary_json};

fn swept(extra: &str) -> String {
    format!(
        "{}\n[sweep]\n\"workload.flow[0].arrival.rate\" = [20.0, 80.0]\n\"system[1].batch_max_tx\" = {{ from = 10, to = 30, steps = 3 }}\n{extra}",
        common::quickstart()
    )
}

#[test]
fn a_sweep_runs_every_point_of_the_product() {
    let sc = Scenario::from_toml_str(&swept(""), "sweep").unwrap();
    assert_eq!(sc.points.len(), 6);
    // The last path in path order varies fastest.
    assert_eq!(
        sc.points[1].values[0],
        ("system[1].batch_max_tx".to_string(), "10".to_string())
    );
    assert_eq!(
        sc.points[1].values[1],
        ("workload.flow[0].arrival.rate".to_string(), "80.0".to_string())
    );
    let ledgersim::scenario::SystemKind::Pbft(p) = &sc.points[5].scenario.systems[1].kind else {
        panic!()
    };
    assert_eq!(p.batch_max_tx, 30);
    let res = run_experiment(&sc, 2, &|| {}).unwrap();
    let reps = sc.replications as usize;
    assert_eq!(res.runs.len(), 6 * 2 * reps);
    assert_eq!(res.points.len(), 6);
    // Payouts 20 → 80 tx/s beside 20 tx/s of contributions: 40 → 100 tx/s in all.
    let slow = res.points[0].systems[0].throughput_tps.mean;
    let fast = res.points[1].systems[0].throughput_tps.mean;
    assert!(
        (35.0..45.0).contains(&slow) && (90.0..110.0).contains(&fast),
        "{slow} → {fast}"
    );
    let json: serde_json::Value = serde_json::from_slice(&summary_json(&sc, &res).unwrap()).unwrap();
    assert_eq!(json["sweep"]["points"].as_array().unwrap().len(), 6);
    assert_eq!(json["sweep"]["points"][3]["values"]["system[1].batch_max_tx"], "20");
    let csv = String::from_utf8(runs_csv(&sc, &res).unwrap()).unwrap();
    assert_eq!(csv.lines().count(), 1 + 6 * 2 * reps);
    assert!(csv.lines().last().unwrap().starts_with("5,pbft,"));
    // And the same bytes on one thread.
    let one = run_experiment(&sc, 1, &|| {}).unwrap();
    assert_eq!(summary_json(&sc, &one).unwrap(), summary_json(&sc, &res).unwrap());
}

#[test]
fn a_bad_sweep_value_names_the_point_and_field() {
    let text = swept("").replace("from = 10, to = 30, steps = 3", "from = 0, to = 10, steps = 2");
    let err = Scenario::from_toml_str(&text, "sweep").unwrap_err().to_string();
    assert!(err.contains("system[1].batch_max_tx"), "{err}");
    assert!(err.contains("at sweep point 0 (system[1].batch_max_tx=0"), "{err}");
    let err = Scenario::from_toml_str(&swept("").replace("steps = 3", "steps = 1"), "s")
        .unwrap_err()
        .to_string();
    assert!(err.contains("steps"), "{err}");
    let err = Scenario::from_toml_str(
        &format!("{}\n[sweep]\n\"nonsense[3].x\" = [1]\n", common::quickstart()),
        "s",
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("nonsense"), "{err}");
}
