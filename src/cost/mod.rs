//! The cost model: resources and money flows turned into currency, per category.
//! Every formula is documented in docs/COST-MODEL.md; keep the two in step.

use crate::engine::{NS_PER_S, SimTime};
use crate::scenario::{CostPrices, FeeClass, SettlementMode};
use serde::Serialize;

/// Seconds in a (365-day) year, for the float cost.
const YEAR_S: f64 = 365.0 * 86_400.0;
/// Bytes per GB (decimal, as cloud providers bill).
const GB: f64 = 1.0e9;
/// Average month for storage billing (365/12 days) in seconds.
const MONTH_S: f64 = 365.0 / 12.0 * 86_400.0;

/// The interbank fee for one transfer of `amount` (currency units).
pub fn transfer_fee(prices: &CostPrices, class: FeeClass, amount: f64) -> f64 {
    match class {
        FeeClass::Bulk => prices.bulk_fee_per_item,
        FeeClass::Tiered => {
            for &(upper, fee) in &prices.transfer_fee_tiers {
                if amount <= upper {
                    return fee;
                }
            }
            (amount * prices.transfer_fee_above_fraction).min(prices.transfer_fee_cap)
        }
    }
}

/// Per-transaction money-flow costs accumulated while a run streams (O(1) memory).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CostAccumulator {
    /// Σ transfer (or ledger) fees.
    pub fees: f64,
    /// Σ amount × rate × settlement delay.
    pub float: f64,
    /// Transactions accounted.
    pub transactions: u64,
    /// Bytes of the accounted transactions (for storage).
    pub tx_bytes: u64,
}

impl CostAccumulator {
    /// Account one committed transaction of `amount` currency units that waited
    /// `settle_delay` from submission to settlement.
    #[inline]
    pub fn record(
        &mut self,
        prices: &CostPrices,
        mode: SettlementMode,
        class: FeeClass,
        amount: f64,
        settle_delay: SimTime,
        bytes: u32,
    ) {
        self.fees += match mode {
            SettlementMode::OnLedger => prices.ledger_fee_per_tx,
            SettlementMode::Batch | SettlementMode::OffLedger => transfer_fee(prices, class, amount),
        };
        self.float += amount * prices.float_rate_annual * (settle_delay as f64 / NS_PER_S as f64) / YEAR_S;
        self.transactions += 1;
        self.tx_bytes += u64::from(bytes);
    }
}

/// Total cost of one run over its measurement window, by category (currency units).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct CostBreakdown {
    /// Node-hours × price.
    pub infrastructure: f64,
    /// Bytes sent × egress price.
    pub network: f64,
    /// Stored bytes × replicas × price × retention.
    pub storage: f64,
    /// Interbank or ledger fees.
    pub fees: f64,
    /// Reconciliation effort and exceptions.
    pub reconciliation: f64,
    /// Float of money waiting to settle.
    pub float: f64,
    /// Electricity of proof-of-work mining: hash rate × joules per hash × window / 3.6e6 kWh ×
    /// price per kWh (0 for every other system).
    pub energy: f64,
}

/// Number of cost categories.
pub const N_CATEGORIES: usize = crate::names::COST_CATEGORIES.len();

/// Category names in report order (defined in [`crate::names`], where `scenario` can see
/// them too).
pub const CATEGORIES: [&str; N_CATEGORIES] = crate::names::COST_CATEGORIES;

/// Energy in kWh drawn by `hash_rate` H/s at `joules_per_hash` J/H over `window`.
pub fn mining_energy_kwh(hash_rate: f64, joules_per_hash: f64, window: SimTime) -> f64 {
    hash_rate * joules_per_hash * (window as f64 / NS_PER_S as f64) / 3.6e6
}

impl CostBreakdown {
    /// Compute the run's costs.
    ///
    /// `window` is the measurement window, `billed_nodes` the nodes the system runs on,
    /// `replicas` the copies of each record kept, `bytes_sent` the network bytes in the window,
    /// `energy_kwh` the mining electricity in the window (0 except proof-of-work).
    pub fn compute(
        prices: &CostPrices,
        acc: &CostAccumulator,
        window: SimTime,
        billed_nodes: usize,
        replicas: usize,
        bytes_sent: u64,
        energy_kwh: f64,
    ) -> Self {
        let hours = window as f64 / NS_PER_S as f64 / 3600.0;
        let n = acc.transactions as f64;
        CostBreakdown {
            infrastructure: billed_nodes as f64 * prices.node_hour * hours,
            network: bytes_sent as f64 / GB * prices.egress_per_gb,
            storage: acc.tx_bytes as f64 * replicas as f64 / GB * prices.storage_per_gb_month * prices.retention_months,
            fees: acc.fees,
            reconciliation: n * (prices.reconciliation_per_tx + prices.exception_rate * prices.exception_cost),
            float: acc.float,
            energy: energy_kwh * prices.electricity_per_kwh,
        }
    }

    /// Sum of all categories.
    pub fn total(&self) -> f64 {
        self.values().iter().sum()
    }

    /// Values in [`CATEGORIES`] order.
    pub fn values(&self) -> [f64; N_CATEGORIES] {
        [
            self.infrastructure,
            self.network,
            self.storage,
            self.fees,
            self.reconciliation,
            self.float,
            self.energy,
        ]
    }

    /// Every category divided by `n` transactions.
    pub fn per_tx(&self, n: u64) -> [f64; N_CATEGORIES] {
        let d = n.max(1) as f64;
        self.values().map(|v| v / d)
    }
}

/// Seconds in an average month (used by docs and tests).
pub const SECONDS_PER_MONTH: f64 = MONTH_S;

#[cfg(test)]
mod tests {
    use super::*;

    fn prices() -> CostPrices {
        CostPrices {
            node_hour: 4.0,
            egress_per_gb: 0.5,
            storage_per_gb_month: 1.0,
            retention_months: 10.0,
            float_rate_annual: 0.02,
            reconciliation_per_tx: 0.06,
            exception_rate: 0.03,
            exception_cost: 150.0,
            transfer_fee_tiers: vec![
                (10_000.0, 5.0),
                (100_000.0, 10.0),
                (500_000.0, 15.0),
                (1_000_000.0, 20.0),
            ],
            transfer_fee_above_fraction: 0.00002,
            transfer_fee_cap: 200.0,
            bulk_fee_per_item: 0.3,
            ledger_fee_per_tx: 0.0,
            electricity_per_kwh: 0.63,
        }
    }

    #[test]
    fn tiered_fee_follows_the_tariff() {
        let p = prices();
        assert_eq!(transfer_fee(&p, FeeClass::Tiered, 5_000.0), 5.0);
        assert_eq!(transfer_fee(&p, FeeClass::Tiered, 10_000.0), 5.0);
        assert_eq!(transfer_fee(&p, FeeClass::Tiered, 10_000.01), 10.0);
        assert_eq!(transfer_fee(&p, FeeClass::Tiered, 2_000_000.0), 40.0);
        assert_eq!(transfer_fee(&p, FeeClass::Tiered, 1.0e9), 200.0, "capped");
        assert_eq!(transfer_fee(&p, FeeClass::Bulk, 1.0e9), 0.3);
    }

    #[test]
    fn float_and_categories() {
        let p = prices();
        let mut acc = CostAccumulator::default();
        // 1,000,000 waiting one year at 2 % = 20,000.
        acc.record(
            &p,
            SettlementMode::Batch,
            FeeClass::Bulk,
            1.0e6,
            (YEAR_S * NS_PER_S as f64) as u64,
            1_000,
        );
        assert!((acc.float - 20_000.0).abs() < 1e-6);
        let c = CostBreakdown::compute(&p, &acc, 3600 * NS_PER_S, 3, 2, 2_000_000_000, 0.0);
        assert_eq!(c.energy, 0.0);
        assert_eq!(c.infrastructure, 12.0);
        assert_eq!(c.network, 1.0);
        assert!((c.storage - 1_000.0 * 2.0 / GB * 10.0).abs() < 1e-12);
        assert!((c.reconciliation - (0.06 + 4.5)).abs() < 1e-12);
        assert_eq!(c.fees, 0.3);
        // 1 TH/s at 1e-10 J/H for one hour = 100 W × 1 h = 0.1 kWh.
        let kwh = mining_energy_kwh(1.0e12, 1.0e-10, 3600 * NS_PER_S);
        assert!((kwh - 0.1).abs() < 1e-12, "{kwh}");
        let e = CostBreakdown::compute(&p, &acc, 3600 * NS_PER_S, 3, 2, 0, kwh);
        assert!((e.energy - 0.063).abs() < 1e-12);
        assert!((e.total() - c.total() - 0.063 + c.network).abs() < 1e-9);
        let mut on = CostAccumulator::default();
        on.record(&p, SettlementMode::OnLedger, FeeClass::Tiered, 5_000.0, 0, 10);
        assert_eq!((on.fees, on.float), (0.0, 0.0));
    }
}
