//! Where each cost, network and CPU parameter comes from, for the report's assumptions table.
//!
//! Keyed by parameter path. A source is cited only while the parameter still has the value
//! the source gives; a changed value is reported as an assumption (with the sourced value for
//! comparison). The figures and their sources are those of the project's reference notes
//! (`parameters.md`) and of `docs/COST-MODEL.md`.

/// A parameter's documented origin.
pub struct Source {
    /// Parameter path, `system[]` standing for any system (`system[].cost.exception_rate`).
    pub path: &'static str,
    /// The value the source supports, as written in the resolved scenario (JSON text), or
    /// `None` when the source covers any value (a range, or a pure assumption).
    pub value: Option<&'static str>,
    /// Where it comes from, or why it is an assumption.
    pub text: &'static str,
    /// Whether it is (at that value) sourced rather than an assumption.
    pub sourced: bool,
}

/// The table of known parameters.
pub const SOURCES: &[Source] = &[
    Source {
        path: "cost.node_hour",
        value: Some("3.9"),
        sourced: true,
        text: "BSN white paper (2020): a 3-peer consortium chain on Chinese cloud ≈100,000 yuan/yr ≈ 2,800 yuan per node-month ÷ 720 h. Applying it to the centralized operator's servers is an assumption.",
    },
    Source {
        path: "cost.egress_per_gb",
        value: None,
        sourced: false,
        text: "Assumption within Chinese cloud list prices of 0.26–0.8 yuan/GB (weak source).",
    },
    Source {
        path: "cost.storage_per_gb_month",
        value: Some("0.7"),
        sourced: true,
        text: "Managed-blockchain cloud list price, $0.10 per GB-month ≈ 0.7 yuan.",
    },
    Source {
        path: "cost.retention_months",
        value: None,
        sourced: false,
        text: "Assumption: 10-year record keeping.",
    },
    Source {
        path: "cost.float_rate_annual",
        value: None,
        sourced: false,
        text: "Assumption: r = 2 %/yr in amount × r × delay (reference notes: \"make it a parameter\").",
    },
    Source {
        path: "cost.reconciliation_per_tx",
        value: None,
        sourced: false,
        text: "Assumption; vendor estimate ≈$0.008 per transaction (weak).",
    },
    Source {
        path: "cost.exception_rate",
        value: None,
        sourced: false,
        text: "Payment-operations literature (finextra, Citi): 2–5 % of payments raise an enquiry; the point chosen is an assumption.",
    },
    Source {
        path: "cost.exception_cost",
        value: None,
        sourced: false,
        text: "Payment-operations literature: €10–40 per exception; the point chosen (≈€20) is an assumption.",
    },
    Source {
        path: "cost.transfer_fee_tiers",
        value: Some("[[10000.0,5.0],[100000.0,10.0],[500000.0,15.0],[1000000.0,20.0]]"),
        sourced: true,
        text: "NDRC price notice 2014 no. 268: government guide price for corporate cross-bank transfers.",
    },
    Source {
        path: "cost.transfer_fee_above_fraction",
        value: Some("2e-5"),
        sourced: true,
        text: "NDRC price notice 2014 no. 268: 0.002 % above 1 M yuan.",
    },
    Source {
        path: "cost.transfer_fee_cap",
        value: Some("200.0"),
        sourced: true,
        text: "NDRC price notice 2014 no. 268: capped at 200 yuan.",
    },
    Source {
        path: "cost.bulk_fee_per_item",
        value: None,
        sourced: false,
        text: "Unsourced placeholder (assumption): PBOC's BEPS per-item charge was not found.",
    },
    Source {
        path: "cost.electricity_per_kwh",
        value: Some("0.63"),
        sourced: true,
        text: "≈$0.088/kWh industrial electricity in China, 2024 (china-briefing).",
    },
    Source {
        path: "system[].cost.reconciliation_per_tx",
        value: None,
        sourced: false,
        text: "Assumption: the ledger's reconciliation effort per transaction.",
    },
    Source {
        path: "system[].cost.exception_rate",
        value: None,
        sourced: false,
        text: "Assumption: the ledger's exception rate — the figure that drives most of the saving; sweep it.",
    },
    Source {
        path: "system[].cost.ledger_fee_per_tx",
        value: None,
        sourced: false,
        text: "Assumption: what on-ledger settlement would charge per transaction is unknown.",
    },
    Source {
        path: "system[].cost.node_hour",
        value: None,
        sourced: false,
        text: "Assumption: a system-specific node price.",
    },
    Source {
        path: "network.intra_region_rtt",
        value: None,
        sourced: false,
        text: "Reference notes: intra-city RTT 0.2–0.5 ms; the point chosen is an assumption.",
    },
    Source {
        path: "network.rtt",
        value: None,
        sourced: false,
        text: "Measured Beijing–Shanghai RTT 28.6 ms calibrates RTT ≈ 0.0268 ms/km × great-circle distance; other pairs extrapolated. Weak source: assumption.",
    },
    Source {
        path: "network.bandwidth",
        value: None,
        sourced: false,
        text: "Range 10 Mb/s (FISCO BCOS minimum) … 1 Gb/s (Hyperledger Fabric guidance); the default chosen is an assumption.",
    },
    Source {
        path: "network.jitter",
        value: None,
        sourced: false,
        text: "Assumption (reference notes: jitter ±10 %).",
    },
    Source {
        path: "network.loss",
        value: None,
        sourced: false,
        text: "Assumption (reference notes: loss 0–0.1 %).",
    },
    Source {
        path: "network.retransmit_timeout",
        value: None,
        sourced: false,
        text: "Assumption: recovery of a lost segment in about one RTT on busy connections.",
    },
    Source {
        path: "network.header_bytes",
        value: None,
        sourced: false,
        text: "Assumption: per-message framing overhead.",
    },
    Source {
        path: "settlement.cutoffs",
        value: None,
        sourced: false,
        text: "HVPS clearing window 17:15–17:30 since May 2018 (PBOC notices); one daily cut-off as the settlement delay is a conservative assumption.",
    },
    Source {
        path: "settlement.every",
        value: None,
        sourced: false,
        text: "Assumption: periodic interbank settlement.",
    },
];

/// The source of parameter `path` (e.g. `cost.node_hour`, `system[2].cost.exception_rate`)
/// with value `value` (compact JSON text): `(text, sourced)`.
pub fn lookup(path: &str, value: &str) -> (String, bool) {
    let generic = generic_path(path);
    // An exact entry, or the nearest enclosing one (`network.jitter.pct` → `network.jitter`).
    let mut key = generic.as_str();
    let found = loop {
        if let Some(src) = SOURCES.iter().find(|s| s.path == key) {
            break Some(src);
        }
        match key.rfind('.') {
            Some(i) => key = &key[..i],
            None => break None,
        }
    };
    let Some(src) = found else {
        if generic.starts_with("cpu.") {
            return (
                "Assumption: CPU time per protocol step (no measured source for this hardware).".into(),
                false,
            );
        }
        return ("Assumption.".into(), false);
    };
    match src.value {
        Some(v) if !same_value(v, value) => (
            format!("Assumption: changed from {v}, the value of the source ({})", src.text),
            false,
        ),
        _ => (src.text.to_string(), src.sourced),
    }
}

/// `system[3].cost.x` → `system[].cost.x`.
fn generic_path(path: &str) -> String {
    match (path.find('['), path.find(']')) {
        (Some(a), Some(b)) if b > a && path.starts_with("system[") => format!("{}{}", &path[..=a], &path[b..]),
        _ => path.to_string(),
    }
}

fn same_value(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-12 * x.abs().max(y.abs()),
        _ => {
            // Compare JSON arrays numerically.
            match (
                serde_json::from_str::<serde_json::Value>(a),
                serde_json::from_str::<serde_json::Value>(b),
            ) {
                (Ok(x), Ok(y)) => json_eq(&x, &y),
                _ => false,
            }
        }
    }
}

fn json_eq(a: &serde_json::Value, b: &serde_json::Value) -> bool {
    use serde_json::Value;
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64().unwrap_or(f64::NAN), y.as_f64().unwrap_or(f64::NAN));
            (x - y).abs() <= 1e-12 * x.abs().max(y.abs())
        }
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_source_is_cited_only_at_its_value() {
        assert!(lookup("cost.node_hour", "3.9").1);
        let (text, sourced) = lookup("cost.node_hour", "5.0");
        assert!(!sourced && text.contains("changed from 3.9"), "{text}");
        assert!(
            lookup(
                "cost.transfer_fee_tiers",
                "[[10000,5],[100000,10],[500000,15],[1000000,20]]"
            )
            .1
        );
        assert!(!lookup("system[4].cost.exception_rate", "0.005").1);
        assert!(lookup("system[4].cost.exception_rate", "0.005").0.contains("drives"));
        assert!(lookup("cpu.sign", "\"50us\"").0.contains("CPU"));
        assert_eq!(lookup("made.up", "1").0, "Assumption.");
        assert!(lookup("network.jitter.pct", "10.0").0.contains("±10 %"));
    }
}
