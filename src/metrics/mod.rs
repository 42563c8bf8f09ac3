//! Streaming metrics: log-linear histograms, fixed-window time series, per-run counters and
//! the across-replication statistics (Student-t confidence intervals).
//!
//! Memory never grows with the number of simulated transactions: a histogram is a fixed
//! array, a time series has one slot per window of simulated time.

pub mod histogram;
pub mod stats;

pub use histogram::Histogram;
pub use stats::Stat;

use crate::engine::SimTime;

/// One window of the time series.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Window {
    /// Transactions whose commit became known to the submitter in this window.
    pub committed: u64,
    /// Sum of their latencies (ns).
    pub latency_sum_ns: u128,
}

/// Fixed-window time series over simulated time. O(duration / window) memory.
#[derive(Debug, Clone)]
pub struct TimeSeries {
    /// Window length.
    pub window: SimTime,
    /// Windows from time zero.
    pub windows: Vec<Window>,
}

impl TimeSeries {
    /// A series covering `[0, duration)` in windows of `window`.
    pub fn new(duration: SimTime, window: SimTime) -> Self {
        let n = duration.div_ceil(window.max(1)) as usize;
        Self {
            window: window.max(1),
            windows: vec![Window::default(); n.max(1)],
        }
    }

    /// Record one commit at `t` with `latency`; commits outside the series are ignored.
    #[inline]
    pub fn record(&mut self, t: SimTime, latency: SimTime) {
        let i = (t / self.window) as usize;
        if let Some(w) = self.windows.get_mut(i) {
            w.committed += 1;
            w.latency_sum_ns += u128::from(latency);
        }
    }
}
