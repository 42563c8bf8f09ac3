//! From raw TOML to a validated [`Scenario`]: parse errors carry file, line and column;
//! semantic validation collects **every** problem, each naming its field path.

use super::raw::*;
use super::units::{parse_bandwidth, parse_duration, parse_time_of_day};
use super::*;
use std::collections::BTreeSet;
use std::fmt;
use std::path::Path;

/// One problem found while validating, with the field path it concerns.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidationIssue {
    /// Dotted field path, e.g. `system[1].batch_timeout`.
    pub path: String,
    /// What is wrong and what is allowed.
    pub message: String,
}

impl fmt::Display for ValidationIssue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

/// Why a scenario could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("{origin}: cannot read scenario: {reason}")]
    Io {
        /// File name.
        origin: String,
        /// OS error or explanation.
        reason: String,
    },
    /// TOML syntax or type error from the parser.
    #[error("{origin}:{line}:{column}: {message}{}", field.as_ref().map(|f| format!(" (field `{f}`)")).unwrap_or_default())]
    Parse {
        /// File name.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// Field path guessed from the location, if any.
        field: Option<String>,
        /// The parser's message.
        message: String,
    },
    /// A `--set` override could not be applied.
    #[error("--set {spec}: {message}")]
    Override {
        /// The override as given.
        spec: String,
        /// What is wrong.
        message: String,
    },
    /// One or more semantic problems.
    #[error("{origin}: {} problem(s) in the scenario:\n{}", issues.len(), issues.iter().map(|i| format!("  - {i}")).collect::<Vec<_>>().join("\n"))]
    Invalid {
        /// File name.
        origin: String,
        /// Every problem found.
        issues: Vec<ValidationIssue>,
    },
}

/// Read, apply overrides, parse and validate a file.
pub fn load_file(path: &Path, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    let origin = path.display().to_string();
    if path.is_dir() {
        return Err(ScenarioError::Io {
            origin,
            reason: "is a directory, not a scenario file".into(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| ScenarioError::Io {
        origin: origin.clone(),
        reason: e.to_string(),
    })?;
    let text = String::from_utf8(bytes).map_err(|e| ScenarioError::Io {
        origin: origin.clone(),
        reason: format!(
            "not UTF-8 text (invalid byte at offset {})",
            e.utf8_error().valid_up_to()
        ),
    })?;
    load_str(&text, &origin, overrides)
}

/// Parse and validate scenario text, after applying `path=value` overrides.
pub fn load_str(text: &str, origin: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    if text.trim().is_empty() {
        return Err(ScenarioError::Io {
            origin: origin.into(),
            reason: "the file is empty".into(),
        });
    }
    let raw: RawScenario = if overrides.is_empty() {
        toml::from_str(text).map_err(|e| parse_error(origin, text, &e))?
    } else {
        let mut table: toml::Table = toml::from_str(text).map_err(|e| parse_error(origin, text, &e))?;
        for spec in overrides {
            apply_override(&mut table, spec)?;
        }
        let patched = toml::to_string(&table).map_err(|e| ScenarioError::Override {
            spec: overrides.join(" "),
            message: e.to_string(),
        })?;
        toml::from_str(&patched).map_err(|e| {
            // Name the field, not a location in the regenerated text the user never saw.
            let field = e.span().and_then(|sp| field_at(&patched, sp.start.min(patched.len())));
            let message = match field {
                Some(f) => format!("field `{f}`: {}", e.message().trim().replace('\n', " ")),
                None => e.message().trim().replace('\n', " "),
            };
            ScenarioError::Override {
                spec: overrides.join(" "),
                message,
            }
        })?
    };
    validate(raw, origin)
}

/// Apply one `a.b[2].c=value` override to a TOML table. The value is parsed as a TOML value
/// (number, boolean, string in quotes, array, inline table); anything that does not parse
/// is taken as a bare string.
fn apply_override(table: &mut toml::Table, spec: &str) -> Result<(), ScenarioError> {
    let err = |m: String| ScenarioError::Override {
        spec: spec.into(),
        message: m,
    };
    let (path, raw_value) = spec.split_once('=').ok_or_else(|| err("expected path=value".into()))?;
    let value: toml::Value = toml::from_str::<toml::Table>(&format!("v = {raw_value}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw_value.to_string()));
    let mut segments = Vec::new();
    for part in path.trim().split('.') {
        if let Some((name, idx)) = part.strip_suffix(']').and_then(|p| p.split_once('[')) {
            let i: usize = idx.parse().map_err(|_| err(format!("bad index `{idx}` in `{part}`")))?;
            segments.push((name.to_string(), Some(i)));
        } else if part.is_empty() {
            return Err(err("empty path segment".into()));
        } else {
            segments.push((part.to_string(), None));
        }
    }
    let last = segments.len() - 1;
    let mut cur = table;
    for (k, (name, idx)) in segments.iter().enumerate() {
        let is_last = k == last;
        match idx {
            None if is_last => {
                // Fields written as strings ("5m", "10:00") stay strings even when the bare
                // value would parse as a TOML number or time.
                let value = match (cur.get(name.as_str()), &value) {
                    (Some(toml::Value::String(_)), v) if !v.is_str() => {
                        toml::Value::String(raw_value.trim().to_string())
                    }
                    // No scenario field is a TOML date-time: `10:00` means the string "10:00".
                    (_, toml::Value::Datetime(_)) => toml::Value::String(raw_value.trim().to_string()),
                    _ => value,
                };
                cur.insert(name.clone(), value);
                return Ok(());
            }
            None => {
                let next = cur
                    .entry(name.clone())
                    .or_insert_with(|| toml::Value::Table(toml::Table::new()));
                cur = next
                    .as_table_mut()
                    .ok_or_else(|| err(format!("`{name}` is not a table")))?;
            }
            Some(i) => {
                let arr = cur
                    .get_mut(name.as_str())
                    .and_then(|v| v.as_array_mut())
                    .ok_or_else(|| err(format!("`{name}` is not an array in the scenario")))?;
                let len = arr.len();
                let item = arr
                    .get_mut(*i)
                    .ok_or_else(|| err(format!("`{name}[{i}]` is out of range (it has {len})")))?;
                if is_last {
                    *item = value;
                    return Ok(());
                }
                cur = item
                    .as_table_mut()
                    .ok_or_else(|| err(format!("`{name}[{i}]` is not a table")))?;
            }
        }
    }
    Ok(())
}

/// Turn a parser error into one with line, column and a guessed field path.
fn parse_error(origin: &str, text: &str, e: &toml::de::Error) -> ScenarioError {
    let (line, column, field) = match e.span() {
        Some(span) => {
            let start = span.start.min(text.len());
            let before = &text[..start];
            let line = before.matches('\n').count() + 1;
            let column = before.rsplit('\n').next().map(|l| l.chars().count()).unwrap_or(0) + 1;
            (line, column, field_at(text, start))
        }
        None => (1, 1, None),
    };
    ScenarioError::Parse {
        origin: origin.into(),
        line,
        column,
        field,
        message: e.message().trim().replace('\n', " "),
    }
}

/// Best-effort field path at a byte offset: the enclosing `[table]` header plus the key on
/// that line.
fn field_at(text: &str, offset: usize) -> Option<String> {
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line_end = text[offset..].find('\n').map(|i| offset + i).unwrap_or(text.len());
    let line = text[line_start..line_end].trim();
    let mut header = None;
    for l in text[..line_start].lines().rev() {
        let l = l.trim();
        if l.starts_with('[') {
            header = Some(l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
            break;
        }
    }
    if line.starts_with('[') {
        return Some(line.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    }
    let key = line
        .split('=')
        .next()
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty() && !k.starts_with('#'));
    match (header, key) {
        (Some(h), Some(k)) => Some(format!("{h}.{k}")),
        (None, Some(k)) => Some(k),
        (Some(h), None) => Some(h),
        (None, None) => None,
    }
}

/// Collects issues while validating.
struct Checker {
    issues: Vec<ValidationIssue>,
}

impl Checker {
    fn err(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.issues.push(ValidationIssue {
            path: path.into(),
            message: message.into(),
        });
    }

    fn duration(&mut self, path: &str, text: &str) -> SimTime {
        match parse_duration(text) {
            Ok(d) => d,
            Err(m) => {
                self.err(path, m);
                0
            }
        }
    }

    fn positive_duration(&mut self, path: &str, text: &str) -> SimTime {
        let d = self.duration(path, text);
        if d == 0 && parse_duration(text).is_ok() {
            self.err(path, format!("must be greater than zero (got `{text}`)"));
        }
        d
    }

    fn non_negative(&mut self, path: &str, v: f64) -> f64 {
        if !(v.is_finite() && v >= 0.0) {
            self.err(path, format!("must be a finite number ≥ 0 (got {v})"));
        }
        v
    }

    fn positive(&mut self, path: &str, v: f64) -> f64 {
        if !(v.is_finite() && v > 0.0) {
            self.err(path, format!("must be a finite number > 0 (got {v})"));
        }
        v
    }

    fn probability(&mut self, path: &str, v: f64, allow_one: bool) -> f64 {
        let ok = v.is_finite() && v >= 0.0 && if allow_one { v <= 1.0 } else { v < 1.0 };
        if !ok {
            let range = if allow_one { "[0, 1]" } else { "[0, 1)" };
            self.err(path, format!("must be a probability in {range} (got {v})"));
        }
        v
    }
}

/// Validate a raw scenario into domain types, returning every problem found.
pub fn validate(raw: RawScenario, origin: &str) -> Result<Scenario, ScenarioError> {
    let mut c = Checker { issues: Vec::new() };

    if raw.name.trim().is_empty() {
        c.err("name", "must not be empty");
    }
    let duration = c.positive_duration("duration", &raw.duration);
    let warmup = c.duration("warmup", &raw.warmup);
    if duration > 0 && warmup >= duration {
        c.err(
            "warmup",
            format!(
                "must be shorter than duration (warmup `{}` ≥ duration `{}`)",
                raw.warmup, raw.duration
            ),
        );
    }
    if raw.replications == 0 {
        c.err("replications", "must be at least 1");
    }
    if raw.currency.trim().is_empty() {
        c.err("currency", "must not be empty (e.g. \"CNY\")");
    }
    let start_of_day = parse_time_of_day(&raw.start_time).unwrap_or_else(|m| {
        c.err("start_time", m);
        0
    });
    let timeseries_window = c.positive_duration("timeseries_window", &raw.timeseries_window);

    // ---- topology
    let regions = raw.topology.regions.clone();
    if regions.is_empty() {
        c.err("topology.regions", "must list at least one region");
    }
    {
        let mut seen = BTreeSet::new();
        for (i, r) in regions.iter().enumerate() {
            if !seen.insert(r.as_str()) {
                c.err(
                    format!("topology.regions[{i}]"),
                    format!("region `{r}` is listed twice"),
                );
            }
        }
    }
    let region_id = |name: &str| regions.iter().position(|r| r == name).map(|i| i as RegionId);
    let default_bw = if raw.network.bandwidth.trim() == "unlimited" {
        None
    } else {
        match parse_bandwidth(&raw.network.bandwidth) {
            Ok(b) => Some(b),
            Err(m) => {
                c.err("network.bandwidth", m);
                None
            }
        }
    };
    let mut roles: Vec<String> = Vec::new();
    let mut nodes: Vec<NodeSpec> = Vec::new();
    if raw.topology.groups.is_empty() {
        c.err("topology.group", "must define at least one node group");
    }
    for (gi, g) in raw.topology.groups.iter().enumerate() {
        let p = format!("topology.group[{gi}]");
        if g.role.trim().is_empty() {
            c.err(format!("{p}.role"), "must not be empty");
        }
        let role = match roles.iter().position(|r| *r == g.role) {
            Some(i) => i as RoleId,
            None => {
                roles.push(g.role.clone());
                (roles.len() - 1) as RoleId
            }
        };
        let names: Vec<String> = match (&g.names, g.count) {
            (Some(_), Some(_)) => {
                c.err(p.clone(), "give either `names` or `count`, not both");
                vec![]
            }
            (Some(n), None) => n.clone(),
            (None, Some(0)) => {
                c.err(format!("{p}.count"), "must be at least 1");
                vec![]
            }
            (None, Some(k)) => {
                let prefix = g.name_prefix.clone().unwrap_or_else(|| g.role.clone());
                (1..=k).map(|i| format!("{prefix}-{i}")).collect()
            }
            (None, None) => {
                c.err(p.clone(), "needs `names = [...]` or `count = N`");
                vec![]
            }
        };
        if g.cores == 0 {
            c.err(format!("{p}.cores"), "must be at least 1");
        }
        let bw = match &g.bandwidth {
            None => default_bw,
            Some(s) if s.trim() == "unlimited" => None,
            Some(s) => parse_bandwidth(s).map(Some).unwrap_or_else(|m| {
                c.err(format!("{p}.bandwidth"), m);
                None
            }),
        };
        let node_regions: Vec<Option<RegionId>> = match (&g.region, &g.regions) {
            (Some(_), Some(_)) => {
                c.err(p.clone(), "give either `region` or `regions`, not both");
                vec![None; names.len()]
            }
            (Some(r), None) => {
                let id = region_id(r);
                if id.is_none() {
                    c.err(
                        format!("{p}.region"),
                        format!("unknown region `{r}`; known: {}", regions.join(", ")),
                    );
                }
                vec![id; names.len()]
            }
            (None, Some(rs)) => {
                if rs.len() != names.len() {
                    c.err(
                        format!("{p}.regions"),
                        format!("has {} entries but the group has {} nodes", rs.len(), names.len()),
                    );
                }
                (0..names.len())
                    .map(|i| {
                        let r = rs.get(i)?;
                        let id = region_id(r);
                        if id.is_none() {
                            c.err(
                                format!("{p}.regions[{i}]"),
                                format!("unknown region `{r}`; known: {}", regions.join(", ")),
                            );
                        }
                        id
                    })
                    .collect()
            }
            (None, None) => {
                c.err(p.clone(), "needs `region = \"…\"` or `regions = [...]`");
                vec![None; names.len()]
            }
        };
        for (i, name) in names.iter().enumerate() {
            if name.trim().is_empty() {
                c.err(format!("{p}.names[{i}]"), "node name must not be empty");
            }
            if nodes.iter().any(|n| &n.name == name) {
                c.err(format!("{p}.names[{i}]"), format!("node name `{name}` is used twice"));
            }
            nodes.push(NodeSpec {
                name: name.clone(),
                role,
                region: node_regions.get(i).copied().flatten().unwrap_or(0),
                cores: g.cores.max(1),
                bandwidth_bps: bw,
            });
        }
    }
    let topology = Topology {
        regions: regions.clone(),
        roles: roles.clone(),
        nodes,
    };

    // ---- network
    let nr = regions.len();
    let n = &raw.network;
    let intra = c.duration("network.intra_region_rtt", &n.intra_region_rtt);
    let mut rtt: Vec<Option<SimTime>> = vec![None; nr * nr];
    for i in 0..nr {
        rtt[i * nr + i] = Some(intra);
    }
    if let Some(m) = &n.rtt_matrix_ms {
        if !n.rtts.is_empty() {
            c.err(
                "network.rtt_matrix_ms",
                "give either `[[network.rtt]]` entries or `rtt_matrix_ms`, not both",
            );
        }
        if m.len() != nr || m.iter().any(|row| row.len() != nr) {
            c.err(
                "network.rtt_matrix_ms",
                format!("must be a square {nr}×{nr} matrix in the order of topology.regions"),
            );
        } else {
            for i in 0..nr {
                for j in 0..nr {
                    let v = m[i][j];
                    if !(v.is_finite() && v >= 0.0) {
                        c.err(
                            format!("network.rtt_matrix_ms[{i}][{j}]"),
                            format!("must be ≥ 0 ms (got {v})"),
                        );
                    } else if n.symmetric && (m[i][j] - m[j][i]).abs() > 1e-9 {
                        if i < j {
                            c.err(
                                format!("network.rtt_matrix_ms[{i}][{j}]"),
                                format!(
                                    "matrix declared symmetric but [{i}][{j}] = {} ≠ [{j}][{i}] = {}",
                                    m[i][j], m[j][i]
                                ),
                            );
                        }
                    } else if i != j {
                        rtt[i * nr + j] = Some((v * 1e6).round() as SimTime);
                    }
                }
            }
        }
    }
    for (k, e) in n.rtts.iter().enumerate() {
        let p = format!("network.rtt[{k}]");
        let v = c.duration(&format!("{p}.rtt"), &e.rtt);
        let a = region_id(&e.between[0]);
        let b = region_id(&e.between[1]);
        for (side, id) in [(0, a), (1, b)] {
            if id.is_none() {
                c.err(
                    format!("{p}.between[{side}]"),
                    format!("unknown region `{}`; known: {}", e.between[side], regions.join(", ")),
                );
            }
        }
        if let (Some(a), Some(b)) = (a, b) {
            let (a, b) = (a as usize, b as usize);
            if a == b {
                c.err(
                    format!("{p}.between"),
                    "a region pair needs two different regions (use intra_region_rtt)",
                );
            } else if rtt[a * nr + b].is_some() {
                c.err(
                    p.clone(),
                    format!("the pair {} – {} is given twice", e.between[0], e.between[1]),
                );
            } else {
                rtt[a * nr + b] = Some(v);
                rtt[b * nr + a] = Some(v);
            }
        }
    }
    for i in 0..nr {
        for j in (i + 1)..nr {
            if rtt[i * nr + j].is_none() && n.rtt_matrix_ms.is_none() {
                c.err(
                    "network.rtt",
                    format!(
                        "missing the round-trip time between `{}` and `{}`",
                        regions[i], regions[j]
                    ),
                );
            }
        }
    }
    let one_way: Vec<SimTime> = rtt.iter().map(|v| v.unwrap_or(0) / 2).collect();
    let jitter = match &n.jitter {
        RawJitter::None => Jitter::None,
        RawJitter::Uniform { pct } => {
            if !(pct.is_finite() && (0.0..=100.0).contains(pct)) {
                c.err("network.jitter.pct", format!("must be in [0, 100] (got {pct})"));
            }
            Jitter::Uniform(pct / 100.0)
        }
        RawJitter::Normal { pct } => Jitter::Normal(c.non_negative("network.jitter.pct", *pct) / 100.0),
        RawJitter::Lognormal { sigma } => Jitter::Lognormal(c.non_negative("network.jitter.sigma", *sigma)),
        RawJitter::Exponential { mean } => Jitter::Exponential(c.duration("network.jitter.mean", mean)),
    };
    let loss = c.probability("network.loss", n.loss, false);
    let rto = c.duration("network.retransmit_timeout", &n.retransmit_timeout);
    if loss > 0.0 && rto == 0 {
        c.err("network.retransmit_timeout", "must be > 0 when loss > 0");
    }
    let network = NetworkSpec {
        one_way,
        regions: nr,
        jitter,
        loss,
        rto,
        header_bytes: n.header_bytes,
    };

    // ---- cpu
    let cpu = CpuCosts {
        sign: c.duration("cpu.sign", &raw.cpu.sign),
        verify: c.duration("cpu.verify", &raw.cpu.verify),
        hash_per_kb: c.duration("cpu.hash_per_kb", &raw.cpu.hash_per_kb),
        execute_tx: c.duration("cpu.execute_tx", &raw.cpu.execute_tx),
        db_commit: c.duration("cpu.db_commit", &raw.cpu.db_commit),
    };

    // ---- workload
    let role_nodes = |name: &str| -> Option<Vec<NodeId>> {
        let r = topology.role_id(name)?;
        Some(topology.nodes_with_role(r))
    };
    let mut flows = Vec::new();
    if raw.workload.flows.is_empty() {
        c.err("workload.flow", "must define at least one flow");
    }
    let mut flow_names = BTreeSet::new();
    for (fi, f) in raw.workload.flows.iter().enumerate() {
        let p = format!("workload.flow[{fi}]");
        if !flow_names.insert(f.name.clone()) {
            c.err(format!("{p}.name"), format!("flow name `{}` is used twice", f.name));
        }
        let mut role = |field: &str, name: &str| -> Vec<NodeId> {
            match role_nodes(name) {
                Some(v) => v,
                None => {
                    c.err(
                        format!("{p}.{field}"),
                        format!("unknown role `{name}`; known roles: {}", roles.join(", ")),
                    );
                    vec![]
                }
            }
        };
        let from = role("from", &f.from);
        let to = role("to", &f.to);
        let via = match &f.via {
            Some(v) => role("via", v),
            None => vec![],
        };
        if f.from == f.to && from.len() == 1 {
            c.err(
                format!("{p}.to"),
                format!(
                    "role `{}` has a single node, so a transfer within it would pay itself",
                    f.to
                ),
            );
        }
        let endpoints = match f.endpoints.as_str() {
            "uniform" => EndpointChoice::Uniform,
            "round_robin" => EndpointChoice::RoundRobin,
            "same_region" => EndpointChoice::SameRegion,
            other => {
                c.err(
                    format!("{p}.endpoints"),
                    format!("unknown `{other}`; allowed: uniform, round_robin, same_region"),
                );
                EndpointChoice::Uniform
            }
        };
        let arrival = match &f.arrival {
            RawArrival::Poisson { rate } => Arrival::Poisson(c.positive(&format!("{p}.arrival.rate"), *rate)),
            RawArrival::Constant { rate } => Arrival::Constant(c.positive(&format!("{p}.arrival.rate"), *rate)),
            RawArrival::Profile { points } => {
                let mut pts = Vec::new();
                if points.is_empty() {
                    c.err(
                        format!("{p}.arrival.points"),
                        "must have at least one [\"HH:MM\", rate] point",
                    );
                }
                for (k, (t, r)) in points.iter().enumerate() {
                    let tod = parse_time_of_day(t).unwrap_or_else(|m| {
                        c.err(format!("{p}.arrival.points[{k}]"), m);
                        0
                    });
                    c.non_negative(&format!("{p}.arrival.points[{k}]"), *r);
                    if let Some(&(prev, _)) = pts.last()
                        && tod <= prev
                    {
                        c.err(
                            format!("{p}.arrival.points[{k}]"),
                            "points must be in increasing time order",
                        );
                    }
                    pts.push((tod, *r));
                }
                if !points.is_empty() && points.iter().all(|(_, r)| *r <= 0.0) {
                    c.err(format!("{p}.arrival.points"), "at least one rate must be > 0");
                }
                Arrival::Profile(pts)
            }
        };
        if f.size_bytes == 0 {
            c.err(format!("{p}.size_bytes"), "must be at least 1 byte");
        }
        let amount = match f.amount {
            RawAmount::Constant { value } => AmountDist::Constant(c.positive(&format!("{p}.amount.value"), value)),
            RawAmount::Uniform { min, max } => {
                c.positive(&format!("{p}.amount.min"), min);
                if max < min || max.is_nan() {
                    c.err(format!("{p}.amount.max"), format!("must be ≥ min ({max} < {min})"));
                }
                AmountDist::Uniform(min, max)
            }
            RawAmount::Lognormal { median, sigma } => AmountDist::Lognormal(
                c.positive(&format!("{p}.amount.median"), median),
                c.non_negative(&format!("{p}.amount.sigma"), sigma),
            ),
        };
        let fee = match f.fee.as_str() {
            "tiered" => FeeClass::Tiered,
            "bulk" => FeeClass::Bulk,
            other => {
                c.err(format!("{p}.fee"), format!("unknown `{other}`; allowed: tiered, bulk"));
                FeeClass::Tiered
            }
        };
        flows.push(FlowSpec {
            name: f.name.clone(),
            from,
            to,
            via,
            endpoints,
            arrival,
            size_bytes: f.size_bytes.max(1),
            amount,
            fee,
        });
    }
    let initial_balance = c.non_negative("workload.initial_balance", raw.workload.initial_balance);
    if initial_balance * 100.0 > 1.0e17 {
        c.err(
            "workload.initial_balance",
            "is too large (at most 10^15 currency units)",
        );
    }

    // ---- settlement schedule
    let settlement = match (&raw.settlement.every, raw.settlement.cutoffs.is_empty()) {
        (Some(_), false) => {
            c.err("settlement", "give either `cutoffs` or `every`, not both");
            SettlementSchedule::Every(3600 * crate::engine::NS_PER_S)
        }
        (Some(e), true) => SettlementSchedule::Every(c.positive_duration("settlement.every", e).max(1)),
        (None, true) => {
            c.err(
                "settlement.cutoffs",
                "must list at least one \"HH:MM\" cut-off (or set `every`)",
            );
            SettlementSchedule::Every(3600 * crate::engine::NS_PER_S)
        }
        (None, false) => {
            let mut cuts: Vec<SimTime> = raw
                .settlement
                .cutoffs
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    parse_time_of_day(s).unwrap_or_else(|m| {
                        c.err(format!("settlement.cutoffs[{i}]"), m);
                        0
                    })
                })
                .collect();
            cuts.sort_unstable();
            cuts.dedup();
            SettlementSchedule::Daily(cuts)
        }
    };

    // ---- cost
    let rc = &raw.cost;
    for (k, v) in [
        ("node_hour", rc.node_hour),
        ("egress_per_gb", rc.egress_per_gb),
        ("storage_per_gb_month", rc.storage_per_gb_month),
        ("retention_months", rc.retention_months),
        ("float_rate_annual", rc.float_rate_annual),
        ("reconciliation_per_tx", rc.reconciliation_per_tx),
        ("exception_cost", rc.exception_cost),
        ("transfer_fee_above_fraction", rc.transfer_fee_above_fraction),
        ("transfer_fee_cap", rc.transfer_fee_cap),
        ("bulk_fee_per_item", rc.bulk_fee_per_item),
    ] {
        c.non_negative(&format!("cost.{k}"), v);
    }
    c.probability("cost.exception_rate", rc.exception_rate, true);
    for (i, w) in rc.transfer_fee_tiers.windows(2).enumerate() {
        if w[1].0 <= w[0].0 {
            c.err(
                format!("cost.transfer_fee_tiers[{}]", i + 1),
                "tier upper bounds must increase",
            );
        }
    }
    for (i, (_, fee)) in rc.transfer_fee_tiers.iter().enumerate() {
        c.non_negative(&format!("cost.transfer_fee_tiers[{i}]"), *fee);
    }
    let prices = CostPrices {
        node_hour: rc.node_hour,
        egress_per_gb: rc.egress_per_gb,
        storage_per_gb_month: rc.storage_per_gb_month,
        retention_months: rc.retention_months,
        float_rate_annual: rc.float_rate_annual,
        reconciliation_per_tx: rc.reconciliation_per_tx,
        exception_rate: rc.exception_rate,
        exception_cost: rc.exception_cost,
        transfer_fee_tiers: rc.transfer_fee_tiers.clone(),
        transfer_fee_above_fraction: rc.transfer_fee_above_fraction,
        transfer_fee_cap: rc.transfer_fee_cap,
        bulk_fee_per_item: rc.bulk_fee_per_item,
        ledger_fee_per_tx: 0.0,
    };

    // ---- systems
    let mut systems = Vec::new();
    if raw.systems.is_empty() {
        c.err("system", "must define at least one [[system]]");
    }
    let baselines: Vec<usize> = raw
        .systems
        .iter()
        .enumerate()
        .filter(|(_, s)| s.baseline)
        .map(|(i, _)| i)
        .collect();
    if !raw.systems.is_empty() && baselines.len() != 1 {
        c.err(
            "system",
            format!(
                "exactly one system must have `baseline = true` (found {})",
                baselines.len()
            ),
        );
    }
    let mut sys_names = BTreeSet::new();
    for (si, s) in raw.systems.iter().enumerate() {
        let p = format!("system[{si}]");
        if s.name.trim().is_empty() {
            c.err(format!("{p}.name"), "must not be empty");
        }
        if !sys_names.insert(s.name.clone()) {
            c.err(format!("{p}.name"), format!("system name `{}` is used twice", s.name));
        }
        let node = |c: &mut Checker, field: &str, name: &str| -> NodeId {
            topology.node_id(name).unwrap_or_else(|| {
                c.err(format!("{p}.{field}"), format!("unknown node `{name}`"));
                0
            })
        };
        let forbid = |c: &mut Checker, field: &str, present: bool, kind: &str| {
            if present {
                c.err(format!("{p}.{field}"), format!("does not apply to consensus `{kind}`"));
            }
        };
        let kind = match s.consensus.as_str() {
            "centralized" => {
                forbid(&mut c, "validators", s.validators.is_some(), "centralized");
                forbid(&mut c, "batch_max_tx", s.batch_max_tx.is_some(), "centralized");
                forbid(&mut c, "batch_max_bytes", s.batch_max_bytes.is_some(), "centralized");
                forbid(&mut c, "batch_timeout", s.batch_timeout.is_some(), "centralized");
                forbid(&mut c, "pipeline", s.pipeline.is_some(), "centralized");
                let operator = match &s.operator {
                    Some(o) => node(&mut c, "operator", o),
                    None => {
                        c.err(
                            format!("{p}.operator"),
                            "a centralized system needs `operator = \"<node name>\"`",
                        );
                        0
                    }
                };
                let standby = s.standby.as_ref().map(|n| node(&mut c, "standby", n));
                if standby.is_some() && standby == Some(operator) && s.operator.is_some() {
                    c.err(format!("{p}.standby"), "must be a different node from the operator");
                }
                let db_servers = s.db_servers.unwrap_or(8);
                if db_servers == 0 {
                    c.err(format!("{p}.db_servers"), "must be at least 1");
                }
                let db_service = match &s.db_service {
                    None => ServiceDist::Exponential(cpu.db_commit),
                    Some(RawServiceDist::Constant { mean }) => {
                        ServiceDist::Constant(c.duration(&format!("{p}.db_service.mean"), mean))
                    }
                    Some(RawServiceDist::Exponential { mean }) => {
                        ServiceDist::Exponential(c.duration(&format!("{p}.db_service.mean"), mean))
                    }
                    Some(RawServiceDist::Lognormal { mean, sigma }) => ServiceDist::Lognormal(
                        c.duration(&format!("{p}.db_service.mean"), mean),
                        c.non_negative(&format!("{p}.db_service.sigma"), *sigma),
                    ),
                };
                SystemKind::Centralized(CentralizedSpec {
                    operator,
                    standby,
                    db_servers: db_servers.max(1),
                    db_service,
                })
            }
            "pbft" => {
                forbid(&mut c, "operator", s.operator.is_some(), "pbft");
                forbid(&mut c, "standby", s.standby.is_some(), "pbft");
                forbid(&mut c, "db_servers", s.db_servers.is_some(), "pbft");
                forbid(&mut c, "db_service", s.db_service.is_some(), "pbft");
                let mut set = BTreeSet::new();
                match &s.validators {
                    None => set.extend(0..topology.nodes.len() as NodeId),
                    Some(v) => {
                        if v.roles.is_empty() && v.names.is_empty() {
                            c.err(
                                format!("{p}.validators"),
                                "name at least one role or node (omit `validators` for all nodes)",
                            );
                        }
                        for (i, r) in v.roles.iter().enumerate() {
                            match role_nodes(r) {
                                Some(ns) => set.extend(ns),
                                None => c.err(
                                    format!("{p}.validators.roles[{i}]"),
                                    format!("unknown role `{r}`; known roles: {}", roles.join(", ")),
                                ),
                            }
                        }
                        for (i, nm) in v.names.iter().enumerate() {
                            set.insert(node(&mut c, &format!("validators.names[{i}]"), nm));
                        }
                    }
                }
                let validators: Vec<NodeId> = set.into_iter().collect();
                if validators.len() < 4 {
                    c.err(
                        format!("{p}.validators"),
                        format!(
                            "PBFT needs at least 4 validators (n = 3f + 1 with f ≥ 1); got {}",
                            validators.len()
                        ),
                    );
                }
                let batch_max_tx = s.batch_max_tx.unwrap_or(500);
                if batch_max_tx == 0 {
                    c.err(format!("{p}.batch_max_tx"), "must be at least 1");
                }
                let batch_max_bytes = s.batch_max_bytes.unwrap_or(2_000_000);
                if batch_max_bytes == 0 {
                    c.err(format!("{p}.batch_max_bytes"), "must be at least 1");
                }
                let batch_timeout = s
                    .batch_timeout
                    .as_deref()
                    .map(|t| c.duration(&format!("{p}.batch_timeout"), t))
                    .unwrap_or(200 * crate::engine::NS_PER_MS);
                let pipeline = s.pipeline.unwrap_or(4);
                if pipeline == 0 {
                    c.err(format!("{p}.pipeline"), "must be at least 1");
                }
                SystemKind::Pbft(PbftSpec {
                    validators,
                    batch_max_tx: batch_max_tx.max(1),
                    batch_max_bytes: batch_max_bytes.max(1),
                    batch_timeout,
                    pipeline: pipeline.max(1),
                })
            }
            other => {
                c.err(
                    format!("{p}.consensus"),
                    format!("unknown consensus `{other}`; allowed: centralized, pbft"),
                );
                continue;
            }
        };
        let settlement = match (&kind, s.settlement.as_deref()) {
            (SystemKind::Centralized(_), None | Some("batch")) => SettlementMode::Batch,
            (SystemKind::Centralized(_), Some(o)) => {
                c.err(
                    format!("{p}.settlement"),
                    format!("a centralized system settles in interbank batches: only `batch` is allowed (got `{o}`)"),
                );
                SettlementMode::Batch
            }
            (_, Some("on-ledger")) => SettlementMode::OnLedger,
            (_, Some("off-ledger")) => SettlementMode::OffLedger,
            (_, None) => {
                c.err(format!("{p}.settlement"), "a ledger system must state `settlement = \"on-ledger\"` or `\"off-ledger\"` (the policy choice the report shows)");
                SettlementMode::OnLedger
            }
            (_, Some(o)) => {
                c.err(
                    format!("{p}.settlement"),
                    format!("unknown `{o}`; allowed for a ledger: on-ledger, off-ledger"),
                );
                SettlementMode::OnLedger
            }
        };
        let mut cost = prices.clone();
        if let Some(v) = s.cost.node_hour {
            cost.node_hour = c.non_negative(&format!("{p}.cost.node_hour"), v);
        }
        if let Some(v) = s.cost.reconciliation_per_tx {
            cost.reconciliation_per_tx = c.non_negative(&format!("{p}.cost.reconciliation_per_tx"), v);
        }
        if let Some(v) = s.cost.exception_rate {
            cost.exception_rate = c.probability(&format!("{p}.cost.exception_rate"), v, true);
        }
        if let Some(v) = s.cost.ledger_fee_per_tx {
            cost.ledger_fee_per_tx = c.non_negative(&format!("{p}.cost.ledger_fee_per_tx"), v);
        }
        systems.push(SystemSpec {
            name: s.name.clone(),
            kind,
            settlement,
            cost,
        });
    }

    if !c.issues.is_empty() {
        return Err(ScenarioError::Invalid {
            origin: origin.into(),
            issues: c.issues,
        });
    }
    Ok(Scenario {
        name: raw.name.clone(),
        description: raw.description.clone(),
        seed: raw.seed,
        duration,
        warmup,
        replications: raw.replications,
        currency: raw.currency.clone(),
        start_of_day,
        timeseries_window,
        topology,
        network,
        cpu,
        flows,
        initial_balance_minor: (initial_balance * 100.0).round() as i64,
        settlement,
        cost: prices,
        baseline: baselines[0],
        systems,
        raw,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINI: &str = r#"
name = "mini"
seed = 1
duration = "10s"
warmup = "1s"
[topology]
regions = ["a"]
[[topology.group]]
role = "fund"
names = ["F"]
region = "a"
[[topology.group]]
role = "bank"
count = 2
region = "a"
[network]
intra_region_rtt = "1ms"
[[workload.flow]]
name = "x"
from = "bank"
to = "fund"
arrival = { process = "poisson", rate = 1.0 }
size_bytes = 100
amount = { dist = "constant", value = 1.0 }
[[system]]
name = "c"
consensus = "centralized"
baseline = true
operator = "F"
"#;

    #[test]
    fn overrides_keep_string_fields_strings_and_reach_arrays() {
        let sc = load_str(
            MINI,
            "mini",
            &[
                "warmup=0".into(),
                "start_time=10:00".into(),
                "system[0].db_servers=3".into(),
            ],
        )
        .unwrap();
        assert_eq!(sc.warmup, 0);
        assert_eq!(sc.start_of_day, 10 * 3600 * crate::engine::NS_PER_S);
        let SystemKind::Centralized(c) = &sc.systems[0].kind else {
            panic!()
        };
        assert_eq!(c.db_servers, 3);
        let e = load_str(MINI, "mini", &["system[4].name=x".into()])
            .unwrap_err()
            .to_string();
        assert!(e.contains("system[4]") && e.contains("out of range"), "{e}");
    }

    #[test]
    fn every_problem_is_reported_with_its_path() {
        let bad = MINI
            .replace("duration = \"10s\"", "duration = \"10 parsecs\"")
            .replace("count = 2", "count = 0");
        let e = load_str(&bad, "mini", &[]).unwrap_err();
        let ScenarioError::Invalid { issues, .. } = &e else {
            panic!("{e}")
        };
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert!(
            paths.contains(&"duration") && paths.contains(&"topology.group[1].count"),
            "{paths:?}"
        );
    }

    #[test]
    fn parse_errors_carry_line_and_column() {
        let bad = MINI.replace("seed = 1", "seed = \"one\"");
        let e = load_str(&bad, "mini.toml", &[]).unwrap_err().to_string();
        assert!(e.starts_with("mini.toml:3:"), "{e}");
        assert!(e.contains("seed"), "{e}");
    }
}
