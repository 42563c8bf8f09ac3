//! Simulated time: an integer count of nanoseconds. Never a float accumulator.

/// Simulated time or duration in nanoseconds.
pub type SimTime = u64;
/// Nanoseconds per microsecond.
pub const NS_PER_US: SimTime = 1_000;
/// Nanoseconds per millisecond.
pub const NS_PER_MS: SimTime = 1_000_000;
/// Nanoseconds per second.
pub const NS_PER_S: SimTime = 1_000_000_000;

/// Convert a simulated duration to (floating) milliseconds for reporting only.
#[inline]
pub fn to_ms(t: SimTime) -> f64 {
    t as f64 / NS_PER_MS as f64
}

/// Convert a simulated duration to (floating) seconds for reporting only.
#[inline]
pub fn to_s(t: SimTime) -> f64 {
    t as f64 / NS_PER_S as f64
}

/// Round a non-negative floating duration in seconds to integer nanoseconds
/// (used once, when a sampled duration enters the model).
#[inline]
pub fn from_s_f64_ns(s: f64) -> SimTime {
    if s <= 0.0 || s.is_nan() {
        0
    } else {
        (s * NS_PER_S as f64).round().min(u64::MAX as f64 / 2.0) as SimTime
    }
}
