//! Parsing of human-written quantities: durations (`"250ms"`, `"1h30m"`), bandwidths
//! (`"100Mbps"`), byte sizes and times of day (`"17:15"`).

use crate::engine::{NS_PER_MS, NS_PER_S, NS_PER_US, SimTime};

/// Parse a duration such as `"250ms"`, `"1.5s"`, `"2h"`, `"1h30m"`, `"50us"`, `"0"`.
///
/// Units: `ns`, `us` (or `µs`), `ms`, `s`, `m` (minutes), `h`, `d`. Components may be
/// concatenated (`"1h30m"`). Negative values are rejected.
pub fn parse_duration(text: &str) -> Result<SimTime, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration; write e.g. \"250ms\", \"2s\", \"1h\"".into());
    }
    if s == "0" {
        return Ok(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_digit() || *c == '.' || *c == '_'))
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!(
                "`{text}` is not a duration: expected a number before a unit (e.g. \"250ms\", \"1h30m\")"
            ));
        }
        let num: f64 = rest[..num_len]
            .replace('_', "")
            .parse()
            .map_err(|_| format!("`{text}` is not a duration: bad number `{}`", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map(|(i, _)| i)
            .unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" => NS_PER_US as f64,
            "ms" => NS_PER_MS as f64,
            "s" => NS_PER_S as f64,
            "m" | "min" => 60.0 * NS_PER_S as f64,
            "h" => 3600.0 * NS_PER_S as f64,
            "d" => 86_400.0 * NS_PER_S as f64,
            "" => return Err(format!("`{text}` has no unit; allowed units: ns, us, ms, s, m, h, d")),
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}`; allowed units: ns, us, ms, s, m, h, d"
                ));
            }
        };
        total += num * scale;
    }
    if !total.is_finite() || total > 1.0e19 {
        return Err(format!("`{text}` is too long a duration"));
    }
    Ok(total.round() as SimTime)
}

/// Parse a bandwidth such as `"100Mbps"`, `"1Gbps"`, `"512kbps"`, `"10Mb/s"` into bits/s.
pub fn parse_bandwidth(text: &str) -> Result<u64, String> {
    let s = text.trim();
    let split = s
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '_'))
        .unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    if unit.contains('B') {
        return Err(format!(
            "`{text}`: bandwidth is in bits per second (e.g. \"100Mbps\"); bytes (`B`) are not accepted"
        ));
    }
    let num: f64 = num
        .replace('_', "")
        .parse()
        .map_err(|_| format!("`{text}` is not a bandwidth; write e.g. \"100Mbps\" or \"1Gbps\""))?;
    let scale = match unit.trim().to_ascii_lowercase().replace("b/s", "bps").as_str() {
        "bps" => 1.0,
        "kbps" => 1e3,
        "mbps" => 1e6,
        "gbps" => 1e9,
        other => {
            return Err(format!(
                "`{text}`: unknown bandwidth unit `{other}`; allowed: bps, kbps, Mbps, Gbps"
            ));
        }
    };
    let v = num * scale;
    if v.is_nan() || v < 1.0 || !v.is_finite() {
        return Err(format!("`{text}`: bandwidth must be at least 1 bps"));
    }
    Ok(v.round() as u64)
}

/// Parse a time of day `"HH:MM"` or `"HH:MM:SS"` into nanoseconds after midnight.
pub fn parse_time_of_day(text: &str) -> Result<SimTime, String> {
    let parts: Vec<&str> = text.trim().split(':').collect();
    if parts.len() < 2 || parts.len() > 3 {
        return Err(format!(
            "`{text}` is not a time of day; write \"HH:MM\" (e.g. \"17:15\")"
        ));
    }
    let mut vals = [0u64; 3];
    for (i, p) in parts.iter().enumerate() {
        vals[i] = p
            .parse()
            .map_err(|_| format!("`{text}` is not a time of day; write \"HH:MM\""))?;
    }
    if vals[0] > 23 || vals[1] > 59 || vals[2] > 59 {
        return Err(format!("`{text}` is out of range (00:00 to 23:59:59)"));
    }
    Ok((vals[0] * 3600 + vals[1] * 60 + vals[2]) * NS_PER_S)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("250ms").unwrap(), 250 * NS_PER_MS);
        assert_eq!(parse_duration("1h30m").unwrap(), 5400 * NS_PER_S);
        assert_eq!(parse_duration("1.5s").unwrap(), 1_500 * NS_PER_MS);
        assert_eq!(parse_duration("50us").unwrap(), 50 * NS_PER_US);
        assert_eq!(parse_duration("0").unwrap(), 0);
        assert!(parse_duration("5").unwrap_err().contains("no unit"));
        assert!(parse_duration("5 parsecs").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("-5s").is_err());
        assert!(parse_duration("").is_err());
    }

    #[test]
    fn bandwidths_and_times() {
        assert_eq!(parse_bandwidth("100Mbps").unwrap(), 100_000_000);
        assert_eq!(parse_bandwidth("1Gbps").unwrap(), 1_000_000_000);
        assert_eq!(parse_bandwidth("10Mb/s").unwrap(), 10_000_000);
        assert!(parse_bandwidth("0Mbps").is_err());
        assert!(parse_bandwidth("fast").is_err());
        assert!(parse_bandwidth("100MB/s").unwrap_err().contains("bits"));
        assert_eq!(parse_time_of_day("17:15").unwrap(), (17 * 3600 + 15 * 60) * NS_PER_S);
        assert!(parse_time_of_day("25:00").is_err());
    }
}
