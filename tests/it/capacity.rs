//! `[capacity]`: the bisection finds the analytic capacity of an M/M/1 operator, under a p99
//! SLO and under a throughput ratio; it is deterministic across thread counts; `--set` reaches
//! the section; the bundled scenarios that use it parse.

use crate::analytic::{CENTRAL_GROUPS, flow, load, uniform_net};
use crate::common::{self, TempDir};
use ledgersim::Scenario;
use ledgersim::experiment::capacity::CapacityResult;
use ledgersim::experiment::run_experiment;
use ledgersim::report::summary_json;
use std::ffi::OsString;

/// Service rate of the operator: one server, exponential service of mean 1 ms.
const MU: f64 = 1000.0;
/// One-way delay of the ideal network (RTT 10 ms): the client sees 2δ + the sojourn time.
const DELTA_MS: f64 = 5.0;

/// A centralized operator that is an M/M/1 queue (Poisson arrivals at 100 tx/s as written,
/// exponential 1 ms service, zero CPU elsewhere) behind a uniform δ, with `capacity` as the
/// `[capacity]` body.
fn mm1_with_capacity(capacity: &str, reps: u32) -> Scenario {
    let flows = flow("bank", "fund", "{ process = \"poisson\", rate = 100.0 }");
    let system = r#"
[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "NSSF"
db_servers = 1
db_service = { dist = "exponential", mean = "1ms" }
"#;
    let text = uniform_net(system, CENTRAL_GROUPS, &flows, "")
        .replace(
            "intra_region_rtt = \"20ms\"",
            &format!("intra_region_rtt = \"{}ms\"", 2.0 * DELTA_MS),
        )
        .replace("duration = \"20s\"", "duration = \"60s\"")
        .replace("warmup = \"0\"", "warmup = \"5s\"")
        .replace("replications = 1", &format!("replications = {reps}"));
    load(&format!("{text}\n[capacity]\n{capacity}\n"))
}

fn search(sc: &Scenario, threads: usize) -> CapacityResult {
    run_experiment(sc, threads, &|| {})
        .unwrap()
        .capacity
        .expect("a capacity result")
}

/// The probes must bracket the reported capacity: every probe at or below it that the
/// bisection kept passed, the capacity itself passed, and the next probe above it failed.
fn assert_bracketed(c: &CapacityResult) {
    for s in &c.systems {
        let Some(cap) = s.capacity_tps else { continue };
        let at = s
            .probes
            .iter()
            .find(|p| p.offered_tps == cap)
            .expect("capacity is a probe");
        assert!(at.ok, "{s:?}");
        if !s.at_upper_bound {
            let above = s
                .probes
                .iter()
                .filter(|p| p.offered_tps > cap)
                .min_by(|a, b| a.offered_tps.total_cmp(&b.offered_tps))
                .expect("a failing probe above");
            assert!(!above.ok, "{s:?}");
            assert!(above.offered_tps - cap <= c.resolution_tps * 1.000001, "{s:?}");
        }
        assert!(
            s.probes.windows(2).all(|w| w[0].offered_tps < w[1].offered_tps),
            "sorted"
        );
    }
}

#[test]
fn bisection_finds_the_mm1_capacity_under_a_p99_slo() {
    // M/M/1 sojourn time is exponential with rate μ − λ, so p99 = 2δ + ln(100)/(μ − λ) and the
    // largest load within an SLO of 30 ms is λ* = μ − ln(100) / (30 ms − 2δ) ≈ 769.7 tx/s.
    let slo_ms = 30.0;
    let analytic = MU - 100f64.ln() / ((slo_ms - 2.0 * DELTA_MS) / 1e3);
    let sc = mm1_with_capacity(
        "slo_p99 = \"30ms\"\nmin_tps = 300.0\nmax_tps = 1000.0\niterations = 8",
        3,
    );
    let spec = sc.capacity.as_ref().unwrap();
    assert_eq!(spec.nominal_tps, 100.0);
    assert_eq!(ledgersim::experiment::capacity::max_probe_runs(&sc), 3 * 10);
    assert_eq!(sc.with_load_scaled(7.5).offered_tps(), 750.0);
    let c = search(&sc, 2);
    assert_eq!(c.systems.len(), 1);
    let s = &c.systems[0];
    assert_eq!(s.probes.len(), 10, "two bounds and eight bisection steps: {s:?}");
    let cap = s.capacity_tps.expect("300 tx/s is well within the SLO");
    println!("M/M/1, p99 ≤ 30 ms: bisection {cap:.2} tx/s, analytic {analytic:.2} tx/s");
    assert!(
        (cap - analytic).abs() <= 0.03 * analytic,
        "bisection {cap:.1} tx/s vs analytic {analytic:.1} tx/s; probes {:#?}",
        s.probes
    );
    assert_bracketed(&c);
    // The probes themselves follow the M/M/1 p99 away from saturation, and keep up with
    // the offer below μ.
    for p in s.probes.iter().filter(|p| p.offered_tps <= 900.0) {
        let expect = 2.0 * DELTA_MS + 100f64.ln() / (MU - p.offered_tps) * 1e3;
        assert!(
            (p.p99_ms - expect).abs() <= 0.08 * expect,
            "λ={}: p99 {} ms vs analytic {expect} ms",
            p.offered_tps,
            p.p99_ms
        );
        assert!(p.throughput_ratio > 0.99, "{p:?}");
        assert!((p.achieved_tps - p.offered_tps).abs() < 0.05 * p.offered_tps, "{p:?}");
    }

    // `every` replication must pass: never more than the mean criterion allows.
    let every = mm1_with_capacity(
        "slo_p99 = \"30ms\"\nmin_tps = 300.0\nmax_tps = 1000.0\niterations = 8\ncriterion = \"every\"",
        3,
    );
    let e = search(&every, 2);
    assert_eq!(e.criterion, "every");
    let cap_every = e.systems[0].capacity_tps.unwrap();
    println!("M/M/1, p99 ≤ 30 ms, every replication: bisection {cap_every:.2} tx/s");
    assert!(cap_every <= cap, "every {cap_every} > mean {cap}");
    assert!(
        (cap_every - analytic).abs() <= 0.05 * analytic,
        "{cap_every} vs {analytic}"
    );
}

#[test]
fn bisection_finds_the_throughput_limit_when_the_slo_is_loose() {
    // With a one-hour SLO only the throughput criterion binds. Above μ the server is always
    // busy, so committed/submitted = μ/λ and the largest load with a ratio ≥ 0.9 is μ/0.9.
    let sc = mm1_with_capacity(
        "slo_p99 = \"1h\"\nmin_throughput_ratio = 0.9\nmin_tps = 500.0\nmax_tps = 2000.0\niterations = 8",
        2,
    );
    let analytic = MU / 0.9;
    let c = search(&sc, 2);
    let cap = c.systems[0].capacity_tps.unwrap();
    println!("M/M/1, ratio ≥ 0.9: bisection {cap:.2} tx/s, analytic {analytic:.2} tx/s");
    assert!(
        (cap - analytic).abs() <= 0.03 * analytic,
        "bisection {cap:.1} tx/s vs μ/0.9 = {analytic:.1} tx/s; probes {:#?}",
        c.systems[0].probes
    );
    assert_bracketed(&c);
    for p in c.systems[0].probes.iter().filter(|p| p.offered_tps > 1.05 * MU) {
        assert!(!p.ok || p.throughput_ratio >= 0.9, "{p:?}");
        assert!((p.achieved_tps - MU).abs() < 0.03 * MU, "saturated at μ: {p:?}");
    }
}

#[test]
fn bounds_that_fail_or_pass_end_the_search_at_once() {
    // Everything above μ fails a 30 ms SLO: no capacity, and only the two bounds are probed.
    let none = search(
        &mm1_with_capacity("slo_p99 = \"30ms\"\nmin_tps = 1200.0\nmax_tps = 2000.0", 1),
        2,
    );
    let s = &none.systems[0];
    assert_eq!(s.capacity_tps, None);
    assert_eq!(s.probes.len(), 2);
    assert!(s.probes.iter().all(|p| !p.ok));
    let json: serde_json::Value = serde_json::to_value(&none).unwrap();
    assert!(json["systems"][0]["capacity_tps"].is_null(), "{json}");
    // Everything below 500 tx/s passes a 1 s SLO: the upper bound is reported as reached.
    let all = search(
        &mm1_with_capacity("slo_p99 = \"1s\"\nmin_tps = 100.0\nmax_tps = 500.0", 1),
        2,
    );
    let s = &all.systems[0];
    assert_eq!(s.capacity_tps, Some(500.0));
    assert!(s.at_upper_bound);
    assert_eq!(s.probes.len(), 2);
}

#[test]
fn capacity_results_are_identical_on_one_and_two_threads_from_the_cli() {
    // The quickstart (centralized and PBFT) with a capacity search, changed through --set.
    let tmp = TempDir::new("capacity-threads");
    let text = format!(
        "{}\n[capacity]\nslo_p99 = \"400ms\"\nmin_tps = 50.0\nmax_tps = 6000.0\niterations = 6\n",
        common::quickstart()
    );
    let file = tmp.write("scenario.toml", text);
    let mut outputs = Vec::new();
    for threads in ["1", "2"] {
        let out = tmp.join(format!("out-{threads}"));
        let args: Vec<OsString> = vec![
            "run".into(),
            file.clone().into(),
            "--out".into(),
            out.clone().into(),
            "--threads".into(),
            threads.into(),
            "--set".into(),
            "capacity.iterations=3".into(),
            "--set".into(),
            "capacity.max_tps=3000.0".into(),
        ];
        let (code, stdout, stderr) = common::run(&args);
        assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
        assert!(
            stdout.contains("Capacity (largest offered load with p99 ≤ 400 ms"),
            "{stdout}"
        );
        assert!(
            stdout.contains("  centralized  ") && stdout.contains("  pbft  "),
            "{stdout}"
        );
        outputs.push(std::fs::read(out.join("summary.json")).unwrap());
    }
    assert_eq!(outputs[0], outputs[1], "summary.json differs between --threads 1 and 2");
    let json: serde_json::Value = serde_json::from_slice(&outputs[0]).unwrap();
    let c = &json["capacity"];
    assert_eq!(c["slo_p99_ms"], 400.0);
    assert_eq!(c["min_throughput_ratio"], 0.99);
    assert_eq!(c["iterations"], 3, "--set capacity.iterations reached the search");
    assert_eq!(c["max_tps"], 3000.0);
    assert_eq!(c["nominal_offered_tps"], 70.0);
    let systems = c["systems"].as_array().unwrap();
    assert_eq!(systems.len(), 2);
    for s in systems {
        assert!(s["system"].is_string());
        assert!(s["capacity_tps"].is_f64() || s["capacity_tps"].is_null(), "{s}");
        let probes = s["probes"].as_array().unwrap();
        assert!((2..=5).contains(&probes.len()), "{s}");
        for p in probes {
            for key in ["offered_tps", "achieved_tps", "p99_ms"] {
                assert!(p[key].is_f64(), "{key} in {p}");
            }
            assert!(p["ok"].is_boolean(), "{p}");
        }
    }
}

#[test]
fn a_capacity_search_does_not_change_the_ordinary_outputs() {
    // The search is an addition: the runs at the scenario's own load are the same with and
    // without it, and the same on one thread.
    let plain = Scenario::from_toml_str(&common::quickstart(), "plain").unwrap();
    let with = Scenario::from_toml_str(
        &format!(
            "{}\n[capacity]\nslo_p99 = \"400ms\"\nmin_tps = 50.0\nmax_tps = 500.0\niterations = 2\nsystems = [\"pbft\"]\n",
            common::quickstart()
        ),
        "with",
    )
    .unwrap();
    let a = run_experiment(&plain, 2, &|| {}).unwrap();
    let b = run_experiment(&with, 2, &|| {}).unwrap();
    let b1 = run_experiment(&with, 1, &|| {}).unwrap();
    assert_eq!(
        ledgersim::report::runs_csv(&plain, &a).unwrap(),
        ledgersim::report::runs_csv(&with, &b).unwrap()
    );
    assert_eq!(summary_json(&with, &b).unwrap(), summary_json(&with, &b1).unwrap());
    let c = b.capacity.unwrap();
    assert_eq!(c.systems.len(), 1);
    assert_eq!(c.systems[0].system, "pbft");
    let json: serde_json::Value = serde_json::from_slice(&summary_json(&plain, &a).unwrap()).unwrap();
    assert!(json.get("capacity").is_none(), "no capacity key without [capacity]");
}

#[test]
fn the_bundled_experiment_scenarios_parse() {
    let dir = common::repo_root().join("scenarios");
    let scaling = Scenario::load(&dir.join("pbft-scaling.toml")).unwrap();
    assert!(scaling.points.len() >= 5, "validators 4 → 64");
    let breakeven = Scenario::load(&dir.join("breakeven.toml")).unwrap();
    let loads: Vec<f64> = breakeven.points.iter().map(|p| p.scenario.offered_tps()).collect();
    let (lo, hi) = (
        loads.iter().cloned().fold(f64::MAX, f64::min),
        loads.iter().cloned().fold(0.0, f64::max),
    );
    assert!(hi / lo >= 100.0, "breakeven sweeps ≥ 2 orders of magnitude: {loads:?}");
    let cap = Scenario::load(&dir.join("capacity.toml")).unwrap();
    assert!(cap.capacity.is_some());
    for f in ["pbft-scaling.toml", "breakeven.toml", "capacity.toml"] {
        let (code, stdout, stderr) = common::run([OsString::from("check"), dir.join(f).into()]);
        assert_eq!(code, 0, "check {f}: {stdout}\n{stderr}");
    }
}

#[test]
fn offered_load_of_a_profile_matches_the_generated_arrivals() {
    // A profile whose first point is after midnight, starting at 08:00: 2/s (the last point,
    // wrapped from the evening before) until 09:00, then 10/s. Over 08:00–10:00 the mean is
    // 6/s, and that is what the workload generates (and what the capacity search scales).
    let flows = flow(
        "bank",
        "fund",
        r#"{ process = "profile", points = [["09:00", 10.0], ["17:00", 2.0]] }"#,
    );
    let system = r#"
[[system]]
name = "central"
consensus = "centralized"
baseline = true
operator = "NSSF"
"#;
    let text = uniform_net(system, CENTRAL_GROUPS, &flows, "")
        .replace("duration = \"20s\"", "duration = \"2h\"")
        .replace("start_time = \"00:00\"", "start_time = \"08:00\"");
    let sc = load(&text);
    assert!((sc.offered_tps() - 6.0).abs() < 1e-12, "{}", sc.offered_tps());
    let r = ledgersim::sim::run_system(&sc, 0, 0);
    let expected = 6.0 * 7200.0;
    // Poisson: sd ≈ √43,200 ≈ 208; allow 5 sd.
    assert!(
        (r.submitted as f64 - expected).abs() < 1040.0,
        "submitted {} vs {expected}",
        r.submitted
    );
}

#[test]
fn a_capacity_run_is_reproduced_from_its_manifest() {
    // The resolved scenario in the manifest keeps `[capacity]` and the --set overrides, so
    // `reproduce` re-runs the search and matches every digest.
    let tmp = TempDir::new("capacity-reproduce");
    let text = format!(
        "{}\n[capacity]\nslo_p99 = \"1s\"\nmin_tps = 50.0\nmax_tps = 2000.0\niterations = 4\n",
        common::quickstart()
    );
    let file = tmp.write("scenario.toml", text);
    let out = tmp.join("out");
    let (code, stdout, stderr) = common::run([
        OsString::from("run"),
        file.into(),
        "--out".into(),
        out.clone().into(),
        "--quiet".into(),
        "--set".into(),
        "capacity.slo_p99=\"300ms\"".into(),
    ]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["resolved_scenario"]["capacity"]["slo_p99"], "300ms");
    let (code, stdout, stderr) = common::run([OsString::from("reproduce"), out.into(), "--threads".into(), "1".into()]);
    assert_eq!(code, 0, "stdout: {stdout}\nstderr: {stderr}");
    assert!(stdout.contains("summary.json     identical"), "{stdout}");
}
