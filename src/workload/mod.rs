//! The workload: flows of transactions between roles, each with its own random stream, so
//! the sequence of transactions is a function of the scenario and seed only — never of the
//! system under test (common random numbers across systems).

use crate::engine::{NS_PER_S, SimRng, SimTime, StreamLabel, from_s_f64_ns, stream_rng};
use crate::ledger::TxEntry;
use crate::scenario::{AmountDist, Arrival, EndpointChoice, FlowSpec, NodeId, Scenario};
use rand::RngExt;

const DAY: SimTime = 86_400 * NS_PER_S;

/// Exponential sample with the given mean (in whatever unit the mean is).
#[inline]
pub fn sample_exp(rng: &mut SimRng, mean: f64) -> f64 {
    let u: f64 = rng.random::<f64>();
    -mean * (1.0 - u).ln()
}

/// Standard normal sample (Box–Muller, one of the pair).
#[inline]
pub fn sample_std_normal(rng: &mut SimRng) -> f64 {
    let u1: f64 = 1.0 - rng.random::<f64>(); // (0, 1]
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// Sample a service duration.
pub fn sample_service(rng: &mut SimRng, d: &crate::scenario::ServiceDist) -> SimTime {
    use crate::scenario::ServiceDist::*;
    match *d {
        Constant(m) => m,
        Exponential(m) => sample_exp(rng, m as f64).round() as SimTime,
        Lognormal(m, s) => {
            let mu = (m as f64).ln() - s * s / 2.0;
            (mu + s * sample_std_normal(rng)).exp().round() as SimTime
        }
    }
}

struct FlowState {
    rng: SimRng,
    rr_from: usize,
    rr_to: usize,
    rr_via: usize,
    constant_k: u64,
    issued: u64,
}

/// Generates the transactions of one replication.
pub struct Workload<'a> {
    scenario: &'a Scenario,
    flows: Vec<FlowState>,
    next_id: u64,
}

impl<'a> Workload<'a> {
    /// The workload of replication `replication`.
    pub fn new(scenario: &'a Scenario, replication: u32) -> Self {
        let flows = (0..scenario.flows.len())
            .map(|i| FlowState {
                rng: stream_rng(scenario.seed, replication, StreamLabel("workload"), i as u32),
                rr_from: 0,
                rr_to: 0,
                rr_via: 0,
                constant_k: 0,
                issued: 0,
            })
            .collect();
        Self {
            scenario,
            flows,
            next_id: 0,
        }
    }

    /// Time of the first arrival of flow `f` (may be beyond the run's end).
    pub fn first_arrival(&mut self, f: usize) -> SimTime {
        self.next_arrival(f, 0)
    }

    /// The next arrival of flow `f` after one at `now` (`SimTime::MAX` once the flow's
    /// `limit` is reached).
    pub fn next_arrival(&mut self, f: usize, now: SimTime) -> SimTime {
        let spec = &self.scenario.flows[f];
        let st = &mut self.flows[f];
        st.issued += 1;
        if spec.limit.is_some_and(|l| st.issued > l) {
            return SimTime::MAX;
        }
        match &spec.arrival {
            Arrival::Poisson(rate) => now + from_s_f64_ns(sample_exp(&mut st.rng, 1.0 / rate)).max(1),
            Arrival::Constant(rate) => {
                // k-th arrival at k / rate exactly, without accumulating rounding.
                st.constant_k += 1;
                from_s_f64_ns(st.constant_k as f64 / rate)
            }
            Arrival::Profile(points) => {
                let sod = self.scenario.start_of_day;
                let mut t = now;
                loop {
                    let tod = (sod + t) % DAY;
                    // Current piece: the last point at or before tod (wrapping to the last point).
                    let idx = points.iter().rposition(|&(p, _)| p <= tod).unwrap_or(points.len() - 1);
                    let rate = points[idx].1;
                    // The next point after `tod`, or the first one tomorrow. (Not `idx + 1`: before
                    // the first point `idx` is the last point, wrapped from yesterday.)
                    let next_boundary_tod = points
                        .iter()
                        .map(|p| p.0)
                        .find(|&p| p > tod)
                        .unwrap_or(DAY + points[0].0);
                    let next_boundary_tod = if next_boundary_tod <= tod {
                        next_boundary_tod + DAY
                    } else {
                        next_boundary_tod
                    };
                    let seg_end = t + (next_boundary_tod - tod);
                    if rate > 0.0 {
                        let cand = t + from_s_f64_ns(sample_exp(&mut st.rng, 1.0 / rate)).max(1);
                        if cand < seg_end {
                            return cand;
                        }
                    }
                    // Memoryless: restart the clock at the boundary with the next rate.
                    t = seg_end;
                }
            }
        }
    }

    /// Draw the transaction arriving now on flow `f`.
    pub fn make_tx(&mut self, f: usize, now: SimTime) -> TxEntry {
        let spec: &FlowSpec = &self.scenario.flows[f];
        let topo = &self.scenario.topology;
        let st = &mut self.flows[f];
        let pick = |rng: &mut SimRng, rr: &mut usize, set: &[NodeId]| -> NodeId {
            match spec.endpoints {
                EndpointChoice::RoundRobin => {
                    let v = set[*rr % set.len()];
                    *rr += 1;
                    v
                }
                _ => set[rng.random_range(0..set.len())],
            }
        };
        let from = pick(&mut st.rng, &mut st.rr_from, &spec.from);
        let mut to = if spec.endpoints == EndpointChoice::SameRegion {
            // Pick uniformly among receivers in the payer's region without allocating: count
            // them, draw an index, walk to it (same draws as collecting them first).
            let region = topo.nodes[from as usize].region;
            let local = |n: &&NodeId| topo.nodes[**n as usize].region == region && **n != from;
            let count = spec.to.iter().filter(local).count();
            if count == 0 {
                spec.to[st.rng.random_range(0..spec.to.len())]
            } else {
                *spec
                    .to
                    .iter()
                    .filter(local)
                    .nth(st.rng.random_range(0..count))
                    .expect("index < count")
            }
        } else {
            pick(&mut st.rng, &mut st.rr_to, &spec.to)
        };
        if to == from {
            // Same role on both sides: take the next member so nobody pays itself.
            let i = spec.to.iter().position(|&n| n == from).unwrap_or(0);
            to = spec.to[(i + 1) % spec.to.len()];
        }
        let submitter = if spec.via.is_empty() {
            from
        } else {
            pick(&mut st.rng, &mut st.rr_via, &spec.via)
        };
        let amount = match spec.amount {
            AmountDist::Constant(v) => v,
            AmountDist::Uniform(a, b) => a + (b - a) * st.rng.random::<f64>(),
            AmountDist::Lognormal(median, sigma) => median * (sigma * sample_std_normal(&mut st.rng)).exp(),
        };
        let id = self.next_id;
        self.next_id += 1;
        TxEntry {
            id,
            submitted_at: now,
            amount_minor: ((amount * 100.0).round() as i64).max(1),
            from,
            to,
            submitter,
            size: spec.size_bytes,
            flow: f as u16,
        }
    }
}

/// Reexport for callers that only need the stream label.
pub const WORKLOAD_STREAM: StreamLabel = StreamLabel("workload");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_region_endpoints_stay_in_the_payers_region_when_possible() {
        let text = r#"
name = "w"
seed = 3
duration = "10s"
[topology]
regions = ["a", "b", "c"]
[[topology.group]]
role = "province"
names = ["pa", "pb", "pc"]
regions = ["a", "b", "c"]
[[topology.group]]
role = "bank"
names = ["ba1", "ba2", "bb"]
regions = ["a", "a", "b"]
[network]
intra_region_rtt = "1ms"
rtt_matrix_ms = [[0, 1, 1], [1, 0, 1], [1, 1, 0]]
[[workload.flow]]
name = "f"
from = "province"
to = "bank"
endpoints = "same_region"
arrival = { process = "poisson", rate = 100.0 }
size_bytes = 100
amount = { dist = "constant", value = 1.0 }
[[system]]
name = "c"
consensus = "centralized"
baseline = true
operator = "pa"
"#;
        let sc = Scenario::from_toml_str(text, "w").unwrap();
        let mut w = Workload::new(&sc, 0);
        let region = |n: NodeId| sc.topology.nodes[n as usize].region;
        let (mut to_ba1, mut from_c) = (0, 0);
        for i in 0..2_000 {
            let tx = w.make_tx(0, i);
            if region(tx.from) == 2 {
                from_c += 1; // no bank in region c: any bank
            } else {
                assert_eq!(region(tx.to), region(tx.from), "{tx:?}");
            }
            to_ba1 += usize::from(tx.to == 3);
        }
        assert!(from_c > 500, "{from_c}");
        // Region a has two banks: both get picked.
        assert!(to_ba1 > 200, "{to_ba1}");
    }
}
