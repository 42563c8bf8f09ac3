//! A log-linear histogram of `u64` values (nanoseconds), HDR style.
//!
//! Values below 128 are exact; above, each power of two is split into 64 linear
//! sub-buckets, so the relative error of a quantile is below 1/64 ≈ 1.6 % (the reported value
//! is the bucket midpoint, clamped to the exact min and max). Mean, min, max and count are
//! exact. Memory: a fixed 3,776-slot array (≈30 KB) whatever the number of samples;
//! `record` is O(1), `quantile` O(buckets).

const EXACT: u64 = 128;
const SUB: u64 = 64;
const BUCKETS: usize = (EXACT + (63 - 7 + 1) * SUB) as usize;

/// Streaming log-linear histogram.
#[derive(Clone)]
pub struct Histogram {
    counts: Box<[u64]>,
    count: u64,
    sum: u128,
    min: u64,
    max: u64,
}

impl std::fmt::Debug for Histogram {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Histogram")
            .field("count", &self.count)
            .field("min", &self.min)
            .field("max", &self.max)
            .finish()
    }
}

impl Default for Histogram {
    fn default() -> Self {
        Self::new()
    }
}

#[inline]
fn index(v: u64) -> usize {
    if v < EXACT {
        v as usize
    } else {
        let e = 63 - u64::from(v.leading_zeros()); // ≥ 7
        let m = v >> (e - 6); // in [64, 128)
        (EXACT + (e - 7) * SUB + (m - SUB)) as usize
    }
}

/// `[low, high)` value range of bucket `i`.
fn bucket_range(i: usize) -> (u64, u64) {
    let i = i as u64;
    if i < EXACT {
        (i, i + 1)
    } else {
        let k = (i - EXACT) / SUB;
        let e = k + 7;
        let m = (i - EXACT) % SUB + SUB;
        let low = m << (e - 6);
        let width = 1u64 << (e - 6);
        (low, low.saturating_add(width))
    }
}

impl Histogram {
    /// An empty histogram.
    pub fn new() -> Self {
        Self {
            counts: vec![0; BUCKETS].into_boxed_slice(),
            count: 0,
            sum: 0,
            min: u64::MAX,
            max: 0,
        }
    }

    /// Record one value.
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[index(v)] += 1;
        self.count += 1;
        self.sum += u128::from(v);
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    /// Number of values recorded.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Exact mean, or `None` if empty.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum as f64 / self.count as f64)
    }

    /// Exact minimum.
    pub fn min(&self) -> Option<u64> {
        (self.count > 0).then_some(self.min)
    }

    /// Exact maximum.
    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// The `q`-quantile (0 ≤ q ≤ 1), within one bucket (≤ 1.6 % relative error).
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((q.clamp(0.0, 1.0) * self.count as f64).ceil() as u64).max(1);
        let mut cum = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            cum += c;
            if cum >= rank {
                let (lo, hi) = bucket_range(i);
                let mid = if hi - lo <= 1 {
                    lo as f64
                } else {
                    (lo as f64 + (hi - 1) as f64) / 2.0
                };
                return Some(mid.clamp(self.min as f64, self.max as f64));
            }
        }
        Some(self.max as f64)
    }

    /// Add another histogram's samples to this one.
    pub fn merge(&mut self, other: &Histogram) {
        for (a, b) in self.counts.iter_mut().zip(other.counts.iter()) {
            *a += *b;
        }
        self.count += other.count;
        self.sum += other.sum;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
    }

    /// The non-empty buckets in increasing order: `(low, high, count)` with every counted
    /// value in `[low, high)`. Deterministic; used to write the histograms out for charts.
    pub fn buckets(&self) -> Vec<(u64, u64, u64)> {
        self.counts
            .iter()
            .enumerate()
            .filter(|(_, c)| **c > 0)
            .map(|(i, &c)| {
                let (lo, hi) = bucket_range(i);
                (lo, hi, c)
            })
            .collect()
    }

    /// Fraction of samples ≤ `v` (bucket resolution), for CDF charts.
    pub fn cdf_points(&self) -> Vec<(f64, f64)> {
        let mut out = Vec::new();
        let mut cum = 0u64;
        for (i, &c) in self.counts.iter().enumerate() {
            if c > 0 {
                cum += c;
                out.push((bucket_range(i).1 as f64, cum as f64 / self.count as f64));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn exact_small_values_and_stats() {
        let mut h = Histogram::new();
        for v in 0..100u64 {
            h.record(v);
        }
        assert_eq!(h.count(), 100);
        assert_eq!(h.mean(), Some(49.5));
        assert_eq!(h.quantile(0.5), Some(49.0));
        assert_eq!(h.quantile(1.0), Some(99.0));
        assert_eq!(h.min(), Some(0));
        assert!(Histogram::new().quantile(0.5).is_none());
    }

    #[test]
    fn buckets_partition_the_range() {
        for i in 0..BUCKETS - 1 {
            let (lo, hi) = bucket_range(i);
            assert_eq!(index(lo), i);
            assert_eq!(index(hi - 1), i);
            assert_eq!(bucket_range(i + 1).0, hi, "gap after bucket {i}");
        }
        assert_eq!(index(u64::MAX), BUCKETS - 1);
    }

    proptest! {
        #[test]
        fn quantile_relative_error_is_bounded(values in proptest::collection::vec(1u64..10_000_000_000, 1..500), q in 0.0f64..1.0) {
            let mut h = Histogram::new();
            let mut sorted = values.clone();
            sorted.sort_unstable();
            for v in &values { h.record(*v); }
            let rank = ((q * values.len() as f64).ceil() as usize).max(1);
            let exact = sorted[rank - 1] as f64;
            let got = h.quantile(q).unwrap();
            prop_assert!((got - exact).abs() <= exact / 64.0 + 1.0, "q={q} exact={exact} got={got}");
        }
    }
}
