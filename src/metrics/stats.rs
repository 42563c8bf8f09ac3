//! Across-replication statistics: mean with a Student-t 95 % confidence interval.

use serde::Serialize;
use statrs::distribution::{ContinuousCDF, StudentsT};

/// A statistic over replications: `{"mean": x, "ci95": [lo, hi] | null, "n": k}`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Stat {
    /// Sample mean.
    pub mean: f64,
    /// 95 % confidence interval of the mean (Student t, n − 1 d.f.); `None` when n < 2.
    pub ci95: Option<[f64; 2]>,
    /// Number of values (replications) it is computed from.
    pub n: usize,
}

impl Stat {
    /// Compute from values in replication order; non-finite values are skipped (and
    /// reduce `n`). An empty input gives mean NaN serialized as `null` by the report.
    pub fn from_values(values: &[f64]) -> Stat {
        let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = v.len();
        if n == 0 {
            return Stat {
                mean: f64::NAN,
                ci95: None,
                n: 0,
            };
        }
        let mean = v.iter().sum::<f64>() / n as f64;
        if n < 2 {
            return Stat { mean, ci95: None, n };
        }
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n as f64 - 1.0);
        let se = (var / n as f64).sqrt();
        let t = StudentsT::new(0.0, 1.0, n as f64 - 1.0)
            .map(|d| d.inverse_cdf(0.975))
            .unwrap_or(f64::NAN);
        Stat {
            mean,
            ci95: Some([mean - t * se, mean + t * se]),
            n,
        }
    }

    /// Compute from `n` values given only by their sum and sum of squares (a streaming
    /// summary): the same mean and Student-t CI as [`Stat::from_values`] up to rounding.
    /// `n = 0` gives mean NaN; `n = 1` no CI.
    pub fn from_moments(n: usize, sum: f64, sum_sq: f64) -> Stat {
        if n == 0 {
            return Stat {
                mean: f64::NAN,
                ci95: None,
                n: 0,
            };
        }
        let mean = sum / n as f64;
        if n < 2 {
            return Stat { mean, ci95: None, n };
        }
        let var = ((sum_sq - sum * mean) / (n as f64 - 1.0)).max(0.0);
        let se = (var / n as f64).sqrt();
        let t = StudentsT::new(0.0, 1.0, n as f64 - 1.0)
            .map(|d| d.inverse_cdf(0.975))
            .unwrap_or(f64::NAN);
        Stat {
            mean,
            ci95: Some([mean - t * se, mean + t * se]),
            n,
        }
    }

    /// Half-width of the CI (0 when there is none).
    pub fn half_width(&self) -> f64 {
        self.ci95.map(|[lo, hi]| (hi - lo) / 2.0).unwrap_or(0.0)
    }

    /// Whether `x` lies inside the CI (or equals the mean when there is no CI).
    pub fn contains(&self, x: f64) -> bool {
        match self.ci95 {
            Some([lo, hi]) => lo <= x && x <= hi,
            None => (self.mean - x).abs() < 1e-12,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn t_interval_matches_textbook() {
        // n = 5, mean 3, sd = sqrt(2.5); t(0.975, 4) = 2.776445
        let s = Stat::from_values(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(s.n, 5);
        assert!((s.mean - 3.0).abs() < 1e-12);
        let hw = 2.776445 * (2.5f64 / 5.0).sqrt();
        assert!((s.half_width() - hw).abs() < 1e-5, "{}", s.half_width());
        assert!(Stat::from_values(&[7.0]).ci95.is_none());
        assert_eq!(Stat::from_values(&[]).n, 0);
    }

    #[test]
    fn from_moments_agrees_with_from_values() {
        let v = [0.01, 0.03, 0.02, 0.5, 0.0, 0.07];
        let a = Stat::from_values(&v);
        let b = Stat::from_moments(v.len(), v.iter().sum(), v.iter().map(|x| x * x).sum());
        assert_eq!(a.n, b.n);
        assert!((a.mean - b.mean).abs() < 1e-15);
        assert!(
            (a.half_width() - b.half_width()).abs() < 1e-12,
            "{} {}",
            a.half_width(),
            b.half_width()
        );
        assert!(Stat::from_moments(1, 0.2, 0.04).ci95.is_none());
        assert!(Stat::from_moments(0, 0.0, 0.0).mean.is_nan());
    }
}
