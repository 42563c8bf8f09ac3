//! Paired comparisons: every system sees the same transactions, so per-replication
//! differences to the baseline have their own (tighter) confidence intervals.

use crate::common;
use ledgersim::Scenario;
use ledgersim::experiment::run_experiment;

#[test]
fn paired_differences_are_per_replication_and_tighter_than_separate_intervals() {
    let text = common::quickstart().replace("replications = 2", "replications = 6");
    let sc = Scenario::from_toml_str(&text, "paired").unwrap();
    assert_eq!(sc.replications, 6, "the quickstart fixture changed; update this test");
    let res = run_experiment(&sc, 2, &|| {}).unwrap();
    let base = &res.systems[sc.baseline];
    // The baseline against itself: exactly zero, with a zero-width interval.
    assert_eq!(base.paired_vs_baseline.cost_per_tx.mean, 0.0);
    assert_eq!(base.paired_vs_baseline.cost_per_tx.ci95, Some([0.0, 0.0]));
    let other = res.systems.iter().find(|s| s.name != base.name).unwrap();
    let d = &other.paired_vs_baseline.cost_per_tx;
    assert_eq!(d.n, 6);
    assert!((d.mean - (other.cost_per_tx.total.mean - base.cost_per_tx.total.mean)).abs() < 1e-9);
    // Common random numbers: the paired interval is narrower than either system's own.
    let separate = other
        .cost_per_tx
        .total
        .half_width()
        .max(base.cost_per_tx.total.half_width());
    assert!(
        d.half_width() < separate,
        "paired ±{} vs separate ±{}",
        d.half_width(),
        separate
    );
}
