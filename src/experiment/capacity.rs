//! Capacity search (`[capacity]`): per system, the largest offered load whose p99 latency
//! stays within the SLO and whose throughput keeps up with the offer, by bisection.
//!
//! The load is scaled by one factor applied to every flow's arrival rate (profiles keep their
//! shape), so that the whole workload offers `offered_tps` on average over the measurement
//! window. Each probe runs the scenario's replications with the scenario's seed, exactly as
//! a normal run would: the same probe always gives the same numbers, and two probes differ
//! only by the load. The search is deterministic:
//!
//! 1. both bounds are probed (in parallel);
//! 2. if `min_tps` fails the capacity is `None`; if `max_tps` passes it is `max_tps` (and the
//!    result says the bound was reached);
//! 3. otherwise `iterations` bisection steps keep `lo` passing and `hi` failing, probing the
//!    arithmetic midpoint; the capacity is the final `lo`, within (max − min) / 2^iterations.
//!
//! The search assumes pass/fail is monotone in the load. All systems advance one step at a
//! time, their probes' replications spread over the worker pool; results are collected in
//! index order, so the outcome does not depend on the thread count.

use crate::scenario::{CapacityCriterion, CapacitySpec, Scenario};
use crate::sim::{RunResult, run_system};
use serde::Serialize;

/// One probe: the system at one offered load, over the scenario's replications.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityProbe {
    /// Offered load (the target of the scaling), tx/s.
    pub offered_tps: f64,
    /// Mean over replications of the committed throughput in the window, tx/s.
    pub achieved_tps: f64,
    /// Mean over replications of committed / submitted in the window.
    pub throughput_ratio: f64,
    /// Mean over replications of the p99 latency (submit → recorded), ms (null when a
    /// replication committed nothing).
    pub p99_ms: f64,
    /// Whether the probe passed the SLO and throughput criteria.
    pub ok: bool,
}

/// The search's outcome for one system.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SystemCapacity {
    /// System name.
    pub system: String,
    /// Consensus label.
    pub consensus: &'static str,
    /// Largest passing offered load found, tx/s; `None` if even `min_tps` fails.
    pub capacity_tps: Option<f64>,
    /// `max_tps` passed: the true capacity may be higher than reported.
    pub at_upper_bound: bool,
    /// Every probe, sorted by offered load.
    pub probes: Vec<CapacityProbe>,
}

/// Capacity search results (the `capacity` key of `summary.json`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CapacityResult {
    /// The p99 latency objective, ms.
    pub slo_p99_ms: f64,
    /// Minimum committed / submitted ratio.
    pub min_throughput_ratio: f64,
    /// `mean` or `every` (see [`CapacityCriterion`]).
    pub criterion: &'static str,
    /// How the load is varied.
    pub load_scaling: &'static str,
    /// Offered load of the scenario as written, tx/s.
    pub nominal_offered_tps: f64,
    /// Lower bound of the search, tx/s.
    pub min_tps: f64,
    /// Upper bound of the search, tx/s.
    pub max_tps: f64,
    /// Bisection steps after the bounds.
    pub iterations: u32,
    /// Width of the final bracket: (max − min) / 2^iterations, tx/s.
    pub resolution_tps: f64,
    /// One entry per searched system, in scenario order.
    pub systems: Vec<SystemCapacity>,
}

/// Description of the load scaling, as written into `summary.json`.
pub const LOAD_SCALING: &str = "every flow's arrival rate × offered_tps / nominal_offered_tps";

/// Most probe runs the search of `scenario` can make (systems × replications ×
/// (iterations + 2)); 0 without `[capacity]`. The actual number is smaller when a search ends
/// at a bound. Progress displays: `on_done` is called once per probe run as well.
pub fn max_probe_runs(scenario: &Scenario) -> usize {
    scenario.capacity.as_ref().map_or(0, |c| {
        c.systems.len() * scenario.replications as usize * (c.iterations as usize + 2)
    })
}

/// Bisection state of one system.
struct Search {
    system: usize,
    /// Highest passing load so far.
    lo: Option<f64>,
    /// Lowest failing load so far.
    hi: Option<f64>,
    done: bool,
    at_upper_bound: bool,
    probes: Vec<CapacityProbe>,
}

/// Judge one probe's replications.
pub fn judge(spec: &CapacitySpec, offered_tps: f64, runs: &[&RunResult]) -> CapacityProbe {
    let n = runs.len().max(1) as f64;
    let ratio_of = |r: &RunResult| {
        if r.submitted == 0 {
            f64::NAN
        } else {
            r.committed as f64 / r.submitted as f64
        }
    };
    let passes = |p99: f64, ratio: f64| p99 <= spec.slo_p99_ms && ratio >= spec.min_throughput_ratio;
    let achieved_tps = runs.iter().map(|r| r.throughput_tps).sum::<f64>() / n;
    let throughput_ratio = runs.iter().map(|r| ratio_of(r)).sum::<f64>() / n;
    let p99_ms = runs.iter().map(|r| r.latency.p99).sum::<f64>() / n;
    let ok = !runs.is_empty()
        && match spec.criterion {
            CapacityCriterion::Mean => passes(p99_ms, throughput_ratio),
            CapacityCriterion::Every => runs.iter().all(|r| passes(r.latency.p99, ratio_of(r))),
        };
    CapacityProbe {
        offered_tps,
        achieved_tps,
        throughput_ratio,
        p99_ms,
        ok,
    }
}

/// Run the capacity search of `scenario` (which must have a `[capacity]`) on `pool`.
/// Returns the result and the number of engine events of all probes.
pub fn search(
    scenario: &Scenario,
    pool: &rayon::ThreadPool,
    on_done: &(dyn Fn() + Sync),
) -> Result<Option<(CapacityResult, u64)>, super::ExperimentError> {
    let Some(spec) = scenario.capacity.as_ref() else {
        return Ok(None);
    };
    let mut searches: Vec<Search> = spec
        .systems
        .iter()
        .map(|&s| Search {
            system: s,
            lo: None,
            hi: None,
            done: false,
            at_upper_bound: false,
            probes: Vec::new(),
        })
        .collect();
    let mut events = 0u64;
    for step in 0..=spec.iterations {
        // (search index, offered load) of this step's probes.
        let probes: Vec<(usize, f64)> = searches
            .iter()
            .enumerate()
            .filter(|(_, s)| !s.done)
            .flat_map(|(i, s)| match (step, s.lo, s.hi) {
                (0, _, _) => vec![(i, spec.min_tps), (i, spec.max_tps)],
                (_, Some(lo), Some(hi)) => vec![(i, (lo + hi) / 2.0)],
                _ => vec![],
            })
            .collect();
        if probes.is_empty() {
            break;
        }
        let scaled: Vec<Scenario> = probes
            .iter()
            .map(|&(_, load)| scenario.with_load_scaled(load / spec.nominal_tps))
            .collect();
        let jobs: Vec<(usize, u32)> = (0..probes.len())
            .flat_map(|p| (0..scenario.replications).map(move |r| (p, r)))
            .collect();
        // Probes run like ordinary runs: panic-isolated, and skipped once a stop is requested.
        let outcomes = super::run_isolated(&jobs, pool, &crate::engine::STOP_REQUESTED, &|&(p, r)| {
            let res = run_system(&scaled[p], searches[probes[p].0].system, r);
            on_done();
            res
        });
        // A run cut short by a stop request returns a truncated result: judge nothing then.
        if crate::engine::STOP_REQUESTED.load(std::sync::atomic::Ordering::Relaxed) {
            return Err(super::ExperimentError::Interrupted);
        }
        let mut runs: Vec<RunResult> = Vec::with_capacity(jobs.len());
        for (&(p, r), outcome) in jobs.iter().zip(outcomes) {
            match outcome {
                Some(Ok(run)) => runs.push(run),
                Some(Err(message)) => {
                    return Err(super::ExperimentError::ProbePanicked {
                        system: scenario.systems[searches[probes[p].0].system].name.clone(),
                        offered_tps: probes[p].1,
                        replication: r,
                        seed: scenario.seed,
                        message,
                    });
                }
                None => return Err(super::ExperimentError::Interrupted),
            }
        }
        events += runs.iter().map(|r| r.events).sum::<u64>();
        for (p, &(i, load)) in probes.iter().enumerate() {
            let mine: Vec<&RunResult> = jobs
                .iter()
                .zip(&runs)
                .filter(|((jp, _), _)| *jp == p)
                .map(|(_, r)| r)
                .collect();
            let probe = judge(spec, load, &mine);
            let s = &mut searches[i];
            if probe.ok {
                s.lo = Some(s.lo.map_or(load, |lo| lo.max(load)));
            } else {
                s.hi = Some(s.hi.map_or(load, |hi| hi.min(load)));
            }
            s.probes.push(probe);
        }
        for s in &mut searches {
            if step == 0 {
                let min_ok = s.probes.iter().any(|p| p.offered_tps == spec.min_tps && p.ok);
                let max_ok = s.probes.iter().any(|p| p.offered_tps == spec.max_tps && p.ok);
                if !min_ok {
                    // Even the lowest load fails: no capacity inside the bounds.
                    s.lo = None;
                    s.done = true;
                } else if max_ok {
                    s.lo = Some(spec.max_tps);
                    s.at_upper_bound = true;
                    s.done = true;
                }
            }
        }
    }
    let systems = searches
        .into_iter()
        .map(|mut s| {
            s.probes.sort_by(|a, b| a.offered_tps.total_cmp(&b.offered_tps));
            SystemCapacity {
                system: scenario.systems[s.system].name.clone(),
                consensus: scenario.systems[s.system].kind.label(),
                capacity_tps: s.lo,
                at_upper_bound: s.at_upper_bound,
                probes: s.probes,
            }
        })
        .collect();
    Ok(Some((
        CapacityResult {
            slo_p99_ms: spec.slo_p99_ms,
            min_throughput_ratio: spec.min_throughput_ratio,
            criterion: spec.criterion.label(),
            load_scaling: LOAD_SCALING,
            nominal_offered_tps: spec.nominal_tps,
            min_tps: spec.min_tps,
            max_tps: spec.max_tps,
            iterations: spec.iterations,
            resolution_tps: (spec.max_tps - spec.min_tps) / f64::from(2u32.pow(spec.iterations)),
            systems,
        },
        events,
    )))
}
