//! From raw TOML to a validated [`Scenario`]: parse errors carry file, line and column;
//! semantic validation collects **every** problem, each naming its field path.

use super::inputs::{InputFile, InputReader, NodeTable, parse_node_table, parse_peer_graph};
use super::raw::*;
use super::suggest::{did_you_mean, for_serde_message};
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
    load_str_in(&text, &origin, overrides, path.parent())
}

/// Parse and validate scenario text, after applying `path=value` overrides; data files
/// (`nodes_file`, `peer_graph`) are relative to the current directory.
pub fn load_str(text: &str, origin: &str, overrides: &[String]) -> Result<Scenario, ScenarioError> {
    load_str_in(text, origin, overrides, None)
}

/// [`load_str`] with data files relative to `base` (the scenario file's directory).
pub fn load_str_in(
    text: &str,
    origin: &str,
    overrides: &[String],
    base: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
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
            let parser = e.message().trim().replace('\n', " ");
            let hint = for_serde_message(&parser);
            let message = match field {
                Some(f) => format!("field `{f}`: {parser}{hint}"),
                None => format!("{parser}{hint}"),
            };
            ScenarioError::Override {
                spec: overrides.join(" "),
                message,
            }
        })?
    };
    let mut reader = InputReader::new(base);
    let base = validate_in(raw, origin, &mut reader)?;
    expand_sweep(base, origin, &mut reader)
}

/// Validate a resolved scenario, as recorded in a manifest (overrides and `--seed` already
/// applied), and expand its `[sweep]`: the scenario the recorded run used. Seeds above
/// `i64::MAX` (TOML's integer limit, reachable with `--seed`) are kept.
pub fn validate_resolved(raw: RawScenario, origin: &str) -> Result<Scenario, ScenarioError> {
    validate_resolved_in(raw, origin, None)
}

/// [`validate_resolved`] with data files relative to `base` (the directory of the scenario
/// file the run was made from).
pub fn validate_resolved_in(
    mut raw: RawScenario,
    origin: &str,
    base: Option<&Path>,
) -> Result<Scenario, ScenarioError> {
    // Sweep points are expanded through TOML, whose integers stop at i64::MAX; nothing in
    // validation depends on the seed, so expand with a stand-in and restore it.
    let seed = raw.seed;
    raw.seed = 0;
    let mut reader = InputReader::new(base);
    let mut sc = expand_sweep(validate_in(raw, origin, &mut reader)?, origin, &mut reader)?;
    sc.seed = seed;
    sc.raw.seed = seed;
    for p in &mut sc.points {
        p.scenario.seed = seed;
        p.scenario.raw.seed = seed;
    }
    Ok(sc)
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
    apply_value(table, path, raw_value, value).map_err(err)
}

/// Set the field at `path` (`a.b[2].c`) of a TOML table to `value` (`raw_value` is how it
/// was written, used when a string field receives a bare number or time).
fn apply_value(table: &mut toml::Table, path: &str, raw_value: &str, value: toml::Value) -> Result<(), String> {
    let err = |m: String| m;
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

/// Most sweep points a scenario may define.
pub const MAX_SWEEP_POINTS: usize = 10_000;
/// Most sweep points × nodes (every point is a fully validated copy of the topology).
pub const MAX_SWEEP_NODE_POINTS: usize = 20_000_000;
/// Most nodes in a topology.
pub const MAX_NODES: usize = 100_000;
/// Most regions (the round-trip table has regions² entries).
pub const MAX_REGIONS: usize = 1_000;
/// Most replications per system.
pub const MAX_REPLICATIONS: u32 = 100_000;
/// Highest arrival rate of one flow, per second: one transaction per simulated nanosecond.
pub const MAX_RATE_PER_S: f64 = 1.0e9;
/// Most missing region pairs listed one by one (the rest are counted in one line).
const MAX_MISSING_PAIRS_SHOWN: usize = 10;
/// Most validation problems listed one by one (the rest are counted in one line).
pub const MAX_ISSUES_SHOWN: usize = 100;
/// Most time-series windows per run (each is a row of `timeseries.csv`).
pub const MAX_TIMESERIES_WINDOWS: u64 = 1_000_000;
/// Most outbound peer connections of a proof-of-work node.
pub const MAX_POW_PEERS: u32 = 10_000;

fn render_value(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Expand `[sweep]` into validated points (Cartesian product; the last path varies fastest).
fn expand_sweep(mut base: Scenario, origin: &str, reader: &mut InputReader) -> Result<Scenario, ScenarioError> {
    if base.raw.sweep.is_empty() {
        return Ok(base);
    }
    let mut issues = Vec::new();
    let mut axes: Vec<(String, Vec<toml::Value>)> = Vec::new();
    for (path, axis) in &base.raw.sweep {
        let values: Vec<toml::Value> = match axis {
            RawSweepAxis::Values(v) => v.clone(),
            RawSweepAxis::Range { from, to, steps } => {
                if *steps as usize > MAX_SWEEP_POINTS {
                    issues.push(ValidationIssue {
                        path: format!("sweep.\"{path}\".steps"),
                        message: format!("{steps} steps exceed the limit of {MAX_SWEEP_POINTS} sweep points"),
                    });
                    vec![]
                } else if *steps < 2 || !from.is_finite() || !to.is_finite() {
                    issues.push(ValidationIssue {
                        path: format!("sweep.\"{path}\""),
                        message: "a range needs finite `from`, `to` and `steps` ≥ 2".into(),
                    });
                    vec![]
                } else {
                    let integral =
                        from.fract() == 0.0 && to.fract() == 0.0 && ((to - from) / f64::from(steps - 1)).fract() == 0.0;
                    (0..*steps)
                        .map(|i| {
                            let x = from + (to - from) * f64::from(i) / f64::from(steps - 1);
                            if integral {
                                toml::Value::Integer(x as i64)
                            } else {
                                toml::Value::Float(x)
                            }
                        })
                        .collect()
                }
            }
        };
        if values.is_empty() && matches!(axis, RawSweepAxis::Values(_)) {
            issues.push(ValidationIssue {
                path: format!("sweep.\"{path}\""),
                message: "needs at least one value".into(),
            });
        }
        axes.push((path.clone(), values));
    }
    let total = axes
        .iter()
        .map(|(_, v)| v.len())
        .try_fold(1usize, |acc, n| acc.checked_mul(n))
        .unwrap_or(usize::MAX);
    if total > MAX_SWEEP_POINTS {
        issues.push(ValidationIssue {
            path: "sweep".into(),
            message: format!("{total} points exceed the limit of {MAX_SWEEP_POINTS}; split the sweep"),
        });
    } else if total.saturating_mul(base.topology.nodes.len()) > MAX_SWEEP_NODE_POINTS {
        issues.push(ValidationIssue {
            path: "sweep".into(),
            message: format!(
                "{total} points × {} nodes exceed the limit of {MAX_SWEEP_NODE_POINTS} validated nodes; split the sweep",
                base.topology.nodes.len()
            ),
        });
    }
    if !issues.is_empty() {
        return Err(ScenarioError::Invalid {
            origin: origin.into(),
            issues,
        });
    }
    let mut base_raw = base.raw.clone();
    base_raw.sweep.clear();
    // Expectations belong to the whole sweep (they name their point), not to each point.
    base_raw.expect.clear();
    let table = toml::Table::try_from(&base_raw).map_err(|e| ScenarioError::Invalid {
        origin: origin.into(),
        issues: vec![ValidationIssue {
            path: "sweep".into(),
            message: e.to_string(),
        }],
    })?;
    let mut points = Vec::with_capacity(total);
    let mut point_warnings = Vec::new();
    for idx in 0..total {
        let mut rest = idx;
        let mut assignment = vec![(String::new(), toml::Value::Boolean(false)); axes.len()];
        for (k, (path, values)) in axes.iter().enumerate().rev() {
            assignment[k] = (path.clone(), values[rest % values.len()].clone());
            rest /= values.len();
        }
        let label: Vec<String> = assignment
            .iter()
            .map(|(p, v)| format!("{p}={}", render_value(v)))
            .collect();
        let label = label.join(", ");
        let mut t = table.clone();
        let mut point_issues = Vec::new();
        for (path, value) in &assignment {
            if let Err(m) = apply_value(&mut t, path, &render_value(value), value.clone()) {
                point_issues.push(ValidationIssue {
                    path: format!("sweep.\"{path}\""),
                    message: m,
                });
            }
        }
        if point_issues.is_empty() {
            match t.try_into::<RawScenario>() {
                Ok(raw) => match validate_in(raw, origin, reader) {
                    Ok(sc) => {
                        for f in &sc.inputs {
                            if !base.inputs.contains(f) {
                                base.inputs.push(f.clone());
                            }
                        }
                        for w in &sc.warnings {
                            if !base.warnings.contains(w) && point_warnings.len() < 50 {
                                point_warnings.push(ValidationIssue {
                                    path: w.path.clone(),
                                    message: format!("at sweep point {idx} ({label}): {}", w.message),
                                });
                            }
                        }
                        points.push(SweepPoint {
                            values: assignment.iter().map(|(p, v)| (p.clone(), render_value(v))).collect(),
                            scenario: sc,
                        })
                    }
                    Err(ScenarioError::Invalid { issues, .. }) => point_issues.extend(issues),
                    Err(other) => point_issues.push(ValidationIssue {
                        path: "sweep".into(),
                        message: other.to_string(),
                    }),
                },
                Err(e) => {
                    let parser = e.message().trim().replace('\n', " ");
                    let hint = for_serde_message(&parser);
                    point_issues.push(ValidationIssue {
                        path: "sweep".into(),
                        message: format!("{parser}{hint}"),
                    })
                }
            }
        }
        for mut i in point_issues {
            i.message = format!("at sweep point {idx} ({label}): {}", i.message);
            issues.push(i);
        }
        if issues.len() > 50 {
            break;
        }
    }
    if !issues.is_empty() {
        return Err(ScenarioError::Invalid {
            origin: origin.into(),
            issues,
        });
    }
    let (_, expect_issues) = super::expect::check(&base.raw.expect, &base.systems, true, Some(points.len()));
    if !expect_issues.is_empty() {
        return Err(ScenarioError::Invalid {
            origin: origin.into(),
            issues: expect_issues,
        });
    }
    base.points = points;
    base.warnings.extend(point_warnings);
    Ok(base)
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
    let parser = e.message().trim().replace('\n', " ");
    let hint = for_serde_message(&parser);
    ScenarioError::Parse {
        origin: origin.into(),
        line,
        column,
        field,
        message: format!("{parser}{hint}"),
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
    /// A piecewise distribution `{ dist = "piecewise", <bins_key> = [[low, high, weight], ...] }`
    /// at `path` (`bandwidth_dist` and friends, PoW `block_bytes_dist`): errors on an unknown
    /// `dist` or bad bins (through `build`), `None` then.
    fn piecewise(
        &mut self,
        path: &str,
        dist: &str,
        bins_key: &str,
        bins: &[[f64; 3]],
        build: fn(&[[f64; 3]]) -> Result<PiecewiseDist, String>,
    ) -> Option<std::sync::Arc<PiecewiseDist>> {
        if dist != "piecewise" {
            self.err(
                format!("{path}.dist"),
                format!("unknown distribution `{dist}`; known: piecewise"),
            );
            return None;
        }
        match build(bins) {
            Ok(b) => Some(std::sync::Arc::new(b)),
            Err(m) => {
                self.err(format!("{path}.{bins_key}"), m);
                None
            }
        }
    }

    /// An error at `{prefix}.{key}` for every `(key, is_set)` that is set: fields that do not
    /// apply together with another (`why` says which and why).
    fn excluded(&mut self, prefix: &str, fields: &[(&str, bool)], why: &str) {
        for &(key, set) in fields {
            if set {
                self.err(
                    format!("{prefix}.{key}"),
                    format!("does not apply with {why}; remove it"),
                );
            }
        }
    }

    /// Read the data file `path` named by `field` through `reader` and parse it with `parse`
    /// (given its text and its resolved path for messages): the record goes to `inputs`,
    /// every problem (unreadable file, each parse error) to the issues at `field`.
    fn data_file<T>(
        &mut self,
        reader: &mut InputReader,
        inputs: &mut Vec<InputFile>,
        field: &str,
        path: &str,
        parse: impl FnOnce(&str, &str) -> Result<T, Vec<String>>,
    ) -> Option<T> {
        let (entry, record) = reader.read(field, path).map_err(|m| self.err(field, m)).ok()?;
        inputs.push(record);
        let shown = reader.resolve(path).display().to_string();
        parse(&entry.0, &shown)
            .map_err(|problems| {
                for m in problems {
                    self.err(field, m);
                }
            })
            .ok()
    }

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

    fn rate(&mut self, path: &str, v: f64) -> f64 {
        let v = self.positive(path, v);
        if v > MAX_RATE_PER_S {
            self.err(
                path,
                format!("{v} per second is above the limit of {MAX_RATE_PER_S:e} (one per simulated nanosecond)"),
            );
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

/// Validate a raw scenario into domain types, returning every problem found. Data files
/// (`nodes_file`, `peer_graph`) are relative to the current directory.
pub fn validate(raw: RawScenario, origin: &str) -> Result<Scenario, ScenarioError> {
    validate_in(raw, origin, &mut InputReader::new(None))
}

/// [`validate`], reading data files through `reader` (which resolves their paths).
pub fn validate_in(raw: RawScenario, origin: &str, reader: &mut InputReader) -> Result<Scenario, ScenarioError> {
    let mut c = Checker { issues: Vec::new() };
    // Data files read, and warnings about their contents.
    let mut inputs: Vec<InputFile> = Vec::new();
    let mut file_warnings: Vec<ValidationIssue> = Vec::new();

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
    } else if raw.replications > MAX_REPLICATIONS {
        c.err(
            "replications",
            format!("{} is more than the limit of {MAX_REPLICATIONS}", raw.replications),
        );
    }
    if raw.currency.trim().is_empty() {
        c.err("currency", "must not be empty (e.g. \"CNY\")");
    }
    let start_of_day = parse_time_of_day(&raw.start_time).unwrap_or_else(|m| {
        c.err("start_time", m);
        0
    });
    let timeseries_window = c.positive_duration("timeseries_window", &raw.timeseries_window);
    if timeseries_window > 0 && duration / timeseries_window > MAX_TIMESERIES_WINDOWS {
        c.err(
            "timeseries_window",
            format!(
                "`{}` over a duration of `{}` makes {} windows per run, more than the limit of {MAX_TIMESERIES_WINDOWS}; use a longer window",
                raw.timeseries_window,
                raw.duration,
                duration / timeseries_window
            ),
        );
    }

    // ---- topology
    let regions = raw.topology.regions.clone();
    if regions.is_empty() {
        c.err("topology.regions", "must list at least one region");
    }
    if regions.len() > MAX_REGIONS {
        c.err(
            "topology.regions",
            format!("{} regions are more than the limit of {MAX_REGIONS}", regions.len()),
        );
    }
    let regions: Vec<String> = regions.into_iter().take(MAX_REGIONS).collect();
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
    let mut node_names: BTreeSet<String> = BTreeSet::new();
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
        // A node table: the nodes (names, and regions / bandwidths if it has those columns).
        let table: Option<Option<NodeTable>> = g.nodes_file.as_ref().map(|f| {
            c.excluded(
                &p,
                &[
                    ("names", g.names.is_some()),
                    ("name_prefix", g.name_prefix.is_some()),
                    ("regions", g.regions.is_some()),
                ],
                "`nodes_file` (the file lists the nodes)",
            );
            c.data_file(reader, &mut inputs, &format!("{p}.nodes_file"), f, |text, shown| {
                parse_node_table(text, shown, &regions)
            })
        });
        let names: Vec<String> = match (&g.names, g.count) {
            _ if table.is_some() => {
                let listed: Vec<String> = table
                    .iter()
                    .flatten()
                    .flat_map(|t| t.nodes.iter().map(|r| r.name.clone()))
                    .collect();
                let file = g.nodes_file.as_deref().unwrap_or_default();
                if let (Some(k), Some(Some(_))) = (g.count, &table)
                    && k as usize != listed.len()
                {
                    c.err(
                        format!("{p}.count"),
                        format!(
                            "node count mismatch: count = {k} but `{file}` lists {} nodes; make them agree or remove `count` (the file alone defines the nodes)",
                            listed.len()
                        ),
                    );
                }
                if listed.len() > MAX_NODES.saturating_sub(nodes.len()) {
                    c.err(
                        format!("{p}.nodes_file"),
                        format!(
                            "`{file}`: {} nodes would bring the topology above the limit of {MAX_NODES} nodes",
                            listed.len()
                        ),
                    );
                    vec![]
                } else {
                    listed
                }
            }
            (Some(_), Some(_)) => {
                c.err(p.clone(), "give either `names` or `count`, not both");
                vec![]
            }
            (Some(n), None) if n.len() > MAX_NODES.saturating_sub(nodes.len()) => {
                c.err(
                    format!("{p}.names"),
                    format!(
                        "{} nodes would bring the topology above the limit of {MAX_NODES} nodes",
                        n.len()
                    ),
                );
                vec![]
            }
            (Some(n), None) => n.clone(),
            (None, Some(0)) => {
                c.err(format!("{p}.count"), "must be at least 1");
                vec![]
            }
            (None, Some(k)) if k as usize > MAX_NODES.saturating_sub(nodes.len()) => {
                c.err(
                    format!("{p}.count"),
                    format!("{k} nodes would bring the topology above the limit of {MAX_NODES} nodes"),
                );
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
        let download = match &g.download_bandwidth {
            None => None,
            Some(s) if s.trim() == "unlimited" => None,
            Some(s) => parse_bandwidth(s).map(Some).unwrap_or_else(|m| {
                c.err(format!("{p}.download_bandwidth"), m);
                None
            }),
        };
        let table = table.flatten();
        if let Some(t) = &table {
            for (has, keys, column) in [
                (
                    t.has_bandwidth,
                    [
                        ("bandwidth", g.bandwidth.is_some()),
                        ("bandwidth_dist", g.bandwidth_dist.is_some()),
                    ],
                    "bandwidth",
                ),
                (
                    t.has_download,
                    [
                        ("download_bandwidth", g.download_bandwidth.is_some()),
                        ("download_bandwidth_dist", g.download_bandwidth_dist.is_some()),
                    ],
                    "download_bandwidth",
                ),
            ] {
                for (key, set) in keys {
                    if has && set {
                        c.err(
                            format!("{p}.{key}"),
                            format!("the node table has a `{column}` column; give the bandwidth either there or in the group, not both"),
                        );
                    }
                }
            }
            if t.has_region && g.region.is_some() {
                c.err(
                    format!("{p}.region"),
                    "the node table has a `region` column; give the region either there or in the group, not both",
                );
            }
        }
        let mut dist = |key: &str, given: &Option<RawPiecewiseDist>, fixed: &Option<String>, fixed_key: &str| {
            let d = given.as_ref()?;
            if fixed.is_some() {
                c.err(
                    format!("{p}.{key}"),
                    format!("give either `{fixed_key}` or `{key}`, not both"),
                );
            }
            c.piecewise(
                &format!("{p}.{key}"),
                &d.dist,
                "bins_mbps",
                &d.bins_mbps,
                PiecewiseDist::from_mbps,
            )
        };
        let bw_dist = dist("bandwidth_dist", &g.bandwidth_dist, &g.bandwidth, "bandwidth");
        let download_dist = dist(
            "download_bandwidth_dist",
            &g.download_bandwidth_dist,
            &g.download_bandwidth,
            "download_bandwidth",
        );
        let node_regions: Vec<Option<RegionId>> = match (&g.region, &g.regions) {
            _ if table.as_ref().is_some_and(|t| t.has_region) => {
                table.iter().flat_map(|t| t.nodes.iter().map(|r| r.region)).collect()
            }
            (None, None) if g.nodes_file.is_some() && table.is_none() => vec![None; names.len()],
            (None, None) if g.nodes_file.is_some() => {
                c.err(
                    p.clone(),
                    "needs `region = \"…\"` for its nodes, or a `region` column in its `nodes_file`",
                );
                vec![None; names.len()]
            }
            (Some(_), Some(_)) => {
                c.err(p.clone(), "give either `region` or `regions`, not both");
                vec![None; names.len()]
            }
            (Some(r), None) => {
                let id = region_id(r);
                if id.is_none() {
                    c.err(
                        format!("{p}.region"),
                        format!(
                            "unknown region `{r}`; known: {}{}",
                            regions.join(", "),
                            did_you_mean(r, regions.iter().map(|s| s.as_str()))
                        ),
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
                                format!(
                                    "unknown region `{r}`; known: {}{}",
                                    regions.join(", "),
                                    did_you_mean(r, regions.iter().map(|s| s.as_str()))
                                ),
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
            let row = table.as_ref().and_then(|t| t.nodes.get(i));
            let at = match row {
                Some(_) => format!("{p}.nodes_file"),
                None => format!("{p}.names[{i}]"),
            };
            let line = row
                .map(|r| format!("{}:{}: ", g.nodes_file.as_deref().unwrap_or_default(), r.line))
                .unwrap_or_default();
            if name.trim().is_empty() {
                c.err(at.clone(), format!("{line}node name must not be empty"));
            }
            if !node_names.insert(name.clone()) {
                c.err(at, format!("{line}node name `{name}` is used twice"));
            }
            let (bandwidth_bps, bandwidth_dist) = match row.and_then(|r| r.bandwidth) {
                Some(b) => (b, None),
                None => (bw, bw_dist.clone()),
            };
            let (download_bps, download_dist) = match row.and_then(|r| r.download) {
                Some(b) => (b, None),
                None => (download, download_dist.clone()),
            };
            nodes.push(NodeSpec {
                name: name.clone(),
                role,
                region: node_regions.get(i).copied().flatten().unwrap_or(0),
                cores: g.cores.max(1),
                bandwidth_bps,
                download_bps,
                bandwidth_dist,
                download_dist,
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
                    } else if i != j || n.rtt_matrix_diagonal {
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
                    format!(
                        "unknown region `{}`; known: {}{}",
                        e.between[side],
                        regions.join(", "),
                        did_you_mean(&e.between[side], regions.iter().map(|s| s.as_str()))
                    ),
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
    let mut missing_pairs = 0usize;
    for i in 0..nr {
        for j in (i + 1)..nr {
            if rtt[i * nr + j].is_none() && n.rtt_matrix_ms.is_none() {
                missing_pairs += 1;
                if missing_pairs <= MAX_MISSING_PAIRS_SHOWN {
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
    }
    if missing_pairs > MAX_MISSING_PAIRS_SHOWN {
        c.err(
            "network.rtt",
            format!(
                "… and {} more region pairs without a round-trip time ({missing_pairs} of {} pairs missing; `rtt_matrix_ms` may be easier)",
                missing_pairs - MAX_MISSING_PAIRS_SHOWN,
                nr * nr.saturating_sub(1) / 2
            ),
        );
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
        RawJitter::Pareto { shape_per_ms, shift } => Jitter::Pareto {
            shape_per_ms: c.positive("network.jitter.shape_per_ms", *shape_per_ms),
            shift: c.duration("network.jitter.shift", shift),
        },
    };
    if n.rtt_matrix_diagonal && n.rtt_matrix_ms.is_none() {
        c.err("network.rtt_matrix_diagonal", "needs `rtt_matrix_ms`");
    }
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
        latency_per: match n.latency_per.as_deref() {
            None | Some("message") => LatencyPer::Message,
            Some("link") => LatencyPer::Link,
            Some(other) => {
                c.err(
                    "network.latency_per",
                    format!(
                        "unknown latency_per `{other}`; allowed: message, link{}",
                        did_you_mean(other, ["message", "link"])
                    ),
                );
                LatencyPer::Message
            }
        },
    };

    // ---- cpu
    let cpu = CpuCosts {
        sign: c.duration("cpu.sign", &raw.cpu.sign),
        verify: c.duration("cpu.verify", &raw.cpu.verify),
        hash_per_kb: c.duration("cpu.hash_per_kb", &raw.cpu.hash_per_kb),
        execute_tx: c.duration("cpu.execute_tx", &raw.cpu.execute_tx),
        db_commit: c.duration("cpu.db_commit", &raw.cpu.db_commit),
        per_message: raw
            .cpu
            .per_message
            .as_deref()
            .map_or(0, |t| c.duration("cpu.per_message", t)),
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
                        format!(
                            "unknown role `{name}`; known roles: {}{}",
                            roles.join(", "),
                            did_you_mean(name, roles.iter().map(|s| s.as_str()))
                        ),
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
                    format!(
                        "unknown `{other}`; allowed: uniform, round_robin, same_region{}",
                        did_you_mean(other, ["uniform", "round_robin", "same_region"])
                    ),
                );
                EndpointChoice::Uniform
            }
        };
        let arrival = match &f.arrival {
            RawArrival::Poisson { rate } => Arrival::Poisson(c.rate(&format!("{p}.arrival.rate"), *rate)),
            RawArrival::Constant { rate } => Arrival::Constant(c.rate(&format!("{p}.arrival.rate"), *rate)),
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
                    if *r > MAX_RATE_PER_S {
                        c.err(
                            format!("{p}.arrival.points[{k}]"),
                            format!("rate {r} is above the limit of {MAX_RATE_PER_S:e} per second"),
                        );
                    }
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
                c.err(
                    format!("{p}.fee"),
                    format!(
                        "unknown `{other}`; allowed: tiered, bulk{}",
                        did_you_mean(other, ["tiered", "bulk"])
                    ),
                );
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
            limit: match f.limit {
                Some(0) => {
                    c.err(
                        format!("{p}.limit"),
                        "must be a positive number of transactions (omit it for no limit)",
                    );
                    None
                }
                l => l,
            },
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
        ("electricity_per_kwh", rc.electricity_per_kwh),
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
        electricity_per_kwh: rc.electricity_per_kwh,
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
        let present: [(&str, bool); 49] = [
            ("operator", s.operator.is_some()),
            ("standby", s.standby.is_some()),
            ("db_servers", s.db_servers.is_some()),
            ("db_service", s.db_service.is_some()),
            ("validators", s.validators.is_some()),
            ("batch_max_tx", s.batch_max_tx.is_some()),
            ("batch_max_bytes", s.batch_max_bytes.is_some()),
            ("batch_timeout", s.batch_timeout.is_some()),
            ("pipeline", s.pipeline.is_some()),
            ("view_timeout", s.view_timeout.is_some()),
            ("checkpoint_interval", s.checkpoint_interval.is_some()),
            ("reply", s.reply.is_some()),
            ("election_timeout", s.election_timeout.is_some()),
            ("heartbeat", s.heartbeat.is_some()),
            ("execution", s.execution.is_some()),
            ("endorsements", s.endorsements.is_some()),
            ("qc_verify", s.qc_verify.is_some()),
            ("period", s.period.is_some()),
            ("block_interval", s.block_interval.is_some()),
            ("confirmations", s.confirmations.is_some()),
            ("peers", s.peers.is_some()),
            ("peers_cdf", s.peers_cdf.is_some()),
            ("peer_links", s.peer_links.is_some()),
            ("miner_peers", s.miner_peers.is_some()),
            ("miner_mesh", s.miner_mesh.is_some()),
            ("peer_graph", s.peer_graph.is_some()),
            ("compact_block_share", s.compact_block_share.is_some()),
            ("compact_block_bytes", s.compact_block_bytes.is_some()),
            ("compact_failure", s.compact_failure.is_some()),
            ("block_bytes", s.block_bytes.is_some()),
            ("block_bytes_dist", s.block_bytes_dist.is_some()),
            ("hash_power", s.hash_power.is_some()),
            ("hash_rate", s.hash_rate.is_some()),
            ("joules_per_hash", s.joules_per_hash.is_some()),
            ("block_processing", s.block_processing.is_some()),
            ("relay_timing", s.relay_timing.is_some()),
            ("block_processing_per_kb", s.block_processing_per_kb.is_some()),
            ("propagation_at", s.propagation_at.is_some()),
            ("control_lane", s.control_lane.is_some()),
            ("rerequest", s.rerequest.is_some()),
            ("inv_timeout", s.inv_timeout.is_some()),
            ("degree_cap", s.degree_cap.is_some()),
            ("churn_share", s.churn_share.is_some()),
            ("compact_failure_stable", s.compact_failure_stable.is_some()),
            ("compact_refill", s.compact_refill.is_some()),
            ("compact_refill_stable", s.compact_refill_stable.is_some()),
            ("settlement", false),
            ("baseline", false),
            ("cost", false),
        ];
        const BATCH: [&str; 3] = ["batch_max_tx", "batch_max_bytes", "batch_timeout"];
        let allowed: Vec<&str> = match s.consensus.as_str() {
            "centralized" => vec!["operator", "standby", "db_servers", "db_service"],
            "pbft" => [
                &BATCH[..],
                &["validators", "pipeline", "view_timeout", "checkpoint_interval", "reply"],
            ]
            .concat(),
            "raft" => [
                &BATCH[..],
                &[
                    "validators",
                    "pipeline",
                    "election_timeout",
                    "heartbeat",
                    "execution",
                    "endorsements",
                ],
            ]
            .concat(),
            "hotstuff" => [&BATCH[..], &["validators", "view_timeout", "qc_verify"]].concat(),
            "poa" => vec![
                "validators",
                "batch_max_tx",
                "batch_max_bytes",
                "period",
                "view_timeout",
            ],
            "pow" => vec![
                "validators",
                "batch_max_tx",
                "batch_max_bytes",
                "block_interval",
                "confirmations",
                "peers",
                "peers_cdf",
                "peer_links",
                "miner_peers",
                "miner_mesh",
                "peer_graph",
                "compact_block_share",
                "compact_block_bytes",
                "compact_failure",
                "block_bytes",
                "block_bytes_dist",
                "hash_power",
                "hash_rate",
                "joules_per_hash",
                "block_processing",
                "relay_timing",
                "block_processing_per_kb",
                "propagation_at",
                "control_lane",
                "inv_timeout",
                "rerequest",
                "degree_cap",
                "churn_share",
                "compact_failure_stable",
                "compact_refill",
                "compact_refill_stable",
            ],
            _ => vec![],
        };
        let known = ["centralized", "pbft", "raft", "hotstuff", "poa", "pow"];
        if known.contains(&s.consensus.as_str()) {
            for (field, is_set) in present {
                if is_set && !allowed.contains(&field) {
                    c.err(
                        format!("{p}.{field}"),
                        format!("does not apply to consensus `{}`", s.consensus),
                    );
                }
            }
        }
        let node = |c: &mut Checker, field: &str, name: &str| -> NodeId {
            topology.node_id(name).unwrap_or_else(|| {
                c.err(
                    format!("{p}.{field}"),
                    format!(
                        "unknown node `{name}`{}",
                        did_you_mean(name, topology.nodes.iter().map(|x| x.name.as_str()))
                    ),
                );
                0
            })
        };
        // Validators / orderers / authorities / miners: all nodes unless a selection is given.
        let select_validators = |c: &mut Checker| -> Vec<NodeId> {
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
                                format!(
                                    "unknown role `{r}`; known roles: {}{}",
                                    roles.join(", "),
                                    did_you_mean(r, roles.iter().map(|s| s.as_str()))
                                ),
                            ),
                        }
                    }
                    for (i, nm) in v.names.iter().enumerate() {
                        match topology.node_id(nm) {
                            Some(id) => {
                                set.insert(id);
                            }
                            None => c.err(
                                format!("{p}.validators.names[{i}]"),
                                format!(
                                    "unknown node `{nm}`{}",
                                    did_you_mean(nm, topology.nodes.iter().map(|x| x.name.as_str()))
                                ),
                            ),
                        }
                    }
                }
            }
            set.into_iter().collect()
        };
        let dur_or = |c: &mut Checker, field: &str, v: &Option<String>, default: SimTime| -> SimTime {
            v.as_deref()
                .map(|t| c.duration(&format!("{p}.{field}"), t))
                .unwrap_or(default)
        };
        let positive_dur_or = |c: &mut Checker, field: &str, v: &Option<String>, default: SimTime| -> SimTime {
            v.as_deref()
                .map(|t| c.positive_duration(&format!("{p}.{field}"), t))
                .unwrap_or(default)
        };
        let at_least_one = |c: &mut Checker, field: &str, v: Option<u32>, default: u32| -> u32 {
            let v = v.unwrap_or(default);
            if v == 0 {
                c.err(format!("{p}.{field}"), "must be at least 1");
            }
            v.max(1)
        };
        let batch = |c: &mut Checker, default_timeout: SimTime| -> BatchSpec {
            let max_tx = at_least_one(c, "batch_max_tx", s.batch_max_tx, 500);
            let max_bytes = s.batch_max_bytes.unwrap_or(2_000_000);
            if max_bytes == 0 {
                c.err(format!("{p}.batch_max_bytes"), "must be at least 1");
            }
            let timeout = dur_or(c, "batch_timeout", &s.batch_timeout, default_timeout);
            BatchSpec {
                max_tx,
                max_bytes: max_bytes.max(1),
                timeout,
            }
        };
        let ms = crate::engine::NS_PER_MS;
        let need = |c: &mut Checker, n: usize, min: usize, what: &str, why: &str| {
            if n < min {
                c.err(
                    format!("{p}.validators"),
                    format!("{what} needs at least {min} {why}; got {n}"),
                );
            }
        };
        let kind = match s.consensus.as_str() {
            "centralized" => {
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
                let db_servers = at_least_one(&mut c, "db_servers", s.db_servers, 8);
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
                    db_servers,
                    db_service,
                })
            }
            "pbft" => {
                let validators = select_validators(&mut c);
                need(
                    &mut c,
                    validators.len(),
                    4,
                    "PBFT",
                    "validators (n = 3f + 1 with f ≥ 1)",
                );
                let b = batch(&mut c, 200 * ms);
                let checkpoint_interval = s.checkpoint_interval.unwrap_or(128);
                if checkpoint_interval == 0 {
                    c.err(format!("{p}.checkpoint_interval"), "must be at least 1");
                }
                SystemKind::Pbft(PbftSpec {
                    view_timeout: positive_dur_or(&mut c, "view_timeout", &s.view_timeout, 2_000 * ms),
                    checkpoint_interval: checkpoint_interval.max(1),
                    validators,
                    batch_max_tx: b.max_tx,
                    batch_max_bytes: b.max_bytes,
                    batch_timeout: b.timeout,
                    pipeline: at_least_one(&mut c, "pipeline", s.pipeline, 4),
                    reply_on_commit: match s.reply.as_deref() {
                        None | Some("after-execution") => false,
                        Some("on-commit") => true,
                        Some(other) => {
                            c.err(
                                format!("{p}.reply"),
                                format!(
                                    "unknown reply `{other}`; allowed: after-execution, on-commit{}",
                                    did_you_mean(other, ["after-execution", "on-commit"])
                                ),
                            );
                            false
                        }
                    },
                })
            }
            "raft" => {
                let orderers = select_validators(&mut c);
                need(&mut c, orderers.len(), 1, "Raft", "orderer");
                let peers: Vec<NodeId> = (0..topology.nodes.len() as NodeId)
                    .filter(|n| orderers.binary_search(n).is_err())
                    .collect();
                let (lo, hi) = match &s.election_timeout {
                    Some([a, b]) => {
                        let a = c.positive_duration(&format!("{p}.election_timeout[0]"), a);
                        let b = c.positive_duration(&format!("{p}.election_timeout[1]"), b);
                        if b < a {
                            c.err(format!("{p}.election_timeout"), "must be [min, max] with min ≤ max");
                        }
                        (a, b.max(a))
                    }
                    None => (1_000 * ms, 2_000 * ms),
                };
                let heartbeat = positive_dur_or(&mut c, "heartbeat", &s.heartbeat, 100 * ms);
                if heartbeat >= lo && lo > 0 {
                    c.err(
                        format!("{p}.heartbeat"),
                        "must be shorter than the minimum election timeout",
                    );
                }
                let execution = match s.execution.as_deref() {
                    None | Some("order-execute") => RaftExecution::OrderExecute,
                    Some("execute-order-validate") => RaftExecution::ExecuteOrderValidate,
                    Some(other) => {
                        c.err(
                            format!("{p}.execution"),
                            format!(
                                "unknown execution `{other}`; allowed: order-execute, execute-order-validate{}",
                                did_you_mean(other, ["order-execute", "execute-order-validate"])
                            ),
                        );
                        RaftExecution::OrderExecute
                    }
                };
                let endorsements = match s.endorsements {
                    Some(_) if execution != RaftExecution::ExecuteOrderValidate => {
                        c.err(
                            format!("{p}.endorsements"),
                            "applies only with execution = \"execute-order-validate\"",
                        );
                        1
                    }
                    Some(k) if !(1..=MAX_RAFT_ENDORSEMENTS).contains(&k) => {
                        c.err(
                            format!("{p}.endorsements"),
                            format!("{k} is outside the allowed range 1–{MAX_RAFT_ENDORSEMENTS}"),
                        );
                        1
                    }
                    Some(k) => k,
                    None => 1,
                };
                if execution == RaftExecution::ExecuteOrderValidate && peers.is_empty() {
                    c.err(
                        format!("{p}.execution"),
                        "execute-order-validate needs at least one peer (a node that is not an orderer) to validate blocks",
                    );
                }
                SystemKind::Raft(RaftSpec {
                    orderers,
                    peers,
                    batch: batch(&mut c, 200 * ms),
                    election_timeout: (lo, hi),
                    heartbeat,
                    pipeline: at_least_one(&mut c, "pipeline", s.pipeline, 4),
                    execution,
                    endorsements,
                })
            }
            "hotstuff" => {
                let validators = select_validators(&mut c);
                need(
                    &mut c,
                    validators.len(),
                    4,
                    "HotStuff",
                    "validators (n = 3f + 1 with f ≥ 1)",
                );
                SystemKind::HotStuff(HotStuffSpec {
                    validators,
                    batch: batch(&mut c, 200 * ms),
                    view_timeout: positive_dur_or(&mut c, "view_timeout", &s.view_timeout, 2_000 * ms),
                    qc_verify: dur_or(&mut c, "qc_verify", &s.qc_verify, cpu.verify),
                })
            }
            "poa" => {
                let authorities = select_validators(&mut c);
                need(&mut c, authorities.len(), 1, "Proof-of-authority", "authority");
                let period = positive_dur_or(&mut c, "period", &s.period, 1_000 * ms);
                SystemKind::Poa(PoaSpec {
                    authorities,
                    period,
                    slot_timeout: positive_dur_or(&mut c, "view_timeout", &s.view_timeout, period / 2),
                    batch: batch(&mut c, 0),
                })
            }
            "pow" => {
                let miners = select_validators(&mut c);
                need(&mut c, miners.len(), 1, "Proof-of-work", "miner");
                let peers_cdf = match (&s.peers, &s.peers_cdf) {
                    (Some(_), Some(_)) => {
                        c.err(format!("{p}.peers"), "give either `peers` or `peers_cdf`, not both");
                        vec![1.0]
                    }
                    (Some(k), None) => {
                        if *k > MAX_POW_PEERS {
                            c.err(
                                format!("{p}.peers"),
                                format!("{k} is more than the limit of {MAX_POW_PEERS}"),
                            );
                        }
                        let k = at_least_one(&mut c, "peers", Some(*k), 8).min(MAX_POW_PEERS) as usize;
                        let mut v = vec![0.0; k];
                        v[k - 1] = 1.0;
                        v
                    }
                    (None, Some(cdf)) => {
                        let ok = !cdf.is_empty()
                            && cdf.windows(2).all(|w| w[1] >= w[0])
                            && cdf.iter().all(|x| (0.0..=1.0).contains(x))
                            && (cdf[cdf.len() - 1] - 1.0).abs() < 1e-9;
                        if !ok {
                            c.err(
                                format!("{p}.peers_cdf"),
                                "must be non-decreasing probabilities ending at 1.0",
                            );
                        }
                        cdf.clone()
                    }
                    (None, None) => {
                        let mut v = vec![0.0; 8];
                        v[7] = 1.0;
                        v
                    }
                };
                let hash_power = match &s.hash_power {
                    None | Some(RawHashPower::Uniform) => HashPowerDist::Uniform,
                    Some(RawHashPower::Normal { mean, sd }) => HashPowerDist::Normal(
                        c.positive(&format!("{p}.hash_power.mean"), *mean),
                        c.non_negative(&format!("{p}.hash_power.sd"), *sd),
                    ),
                    Some(RawHashPower::Shares { values }) => {
                        if values.len() != miners.len() {
                            c.err(
                                format!("{p}.hash_power.values"),
                                format!(
                                    "{} values for {} miners: give one relative power per miner",
                                    values.len(),
                                    miners.len()
                                ),
                            );
                        }
                        if values.iter().any(|v| !v.is_finite() || *v <= 0.0) {
                            c.err(format!("{p}.hash_power.values"), "every value must be positive");
                        }
                        HashPowerDist::Shares(values.clone())
                    }
                };
                let peer_links = match s.peer_links.as_deref() {
                    None | Some("outbound") => PeerLinks::Outbound,
                    Some("total") => PeerLinks::Total,
                    Some(other) => {
                        c.err(
                            format!("{p}.peer_links"),
                            format!("unknown peer links `{other}`; allowed: outbound, total"),
                        );
                        PeerLinks::Outbound
                    }
                };
                let miner_peers = s.miner_peers.map(|k| {
                    if k > MAX_POW_PEERS {
                        c.err(
                            format!("{p}.miner_peers"),
                            format!("{k} is more than the limit of {MAX_POW_PEERS}"),
                        );
                    }
                    at_least_one(&mut c, "miner_peers", Some(k), 1).min(MAX_POW_PEERS) as usize
                });
                let peer_graph = s.peer_graph.as_ref().and_then(|f| {
                    let field = format!("{p}.peer_graph");
                    c.excluded(
                        &p,
                        &[
                            ("peers", s.peers.is_some()),
                            ("peers_cdf", s.peers_cdf.is_some()),
                            ("peer_links", s.peer_links.is_some()),
                            ("miner_peers", s.miner_peers.is_some()),
                            ("miner_mesh", s.miner_mesh.is_some()),
                            ("degree_cap", s.degree_cap.is_some()),
                        ],
                        "`peer_graph` (the graph is read from the file, not drawn)",
                    );
                    let ids: std::collections::BTreeMap<&str, NodeId> = topology
                        .nodes
                        .iter()
                        .enumerate()
                        .map(|(i, nd)| (nd.name.as_str(), i as NodeId))
                        .collect();
                    let n = topology.nodes.len();
                    let (adj, shown) = c.data_file(reader, &mut inputs, &field, f, |text, shown| {
                        parse_peer_graph(text, shown, &ids, n).map(|adj| (adj, shown.to_string()))
                    })?;
                    let alone: Vec<&str> = adj
                        .iter()
                        .enumerate()
                        .filter(|(_, a)| a.is_empty())
                        .map(|(i, _)| topology.nodes[i].name.as_str())
                        .collect();
                    if !alone.is_empty() {
                        file_warnings.push(ValidationIssue {
                            path: field,
                            message: format!(
                                "{} node(s) have no link in `{shown}` (e.g. `{}`): they never receive a block or transaction from another node",
                                alone.len(),
                                alone[..alone.len().min(3)].join("`, `")
                            ),
                        });
                    }
                    Some(std::sync::Arc::new(adj))
                });
                SystemKind::Pow(PowSpec {
                    peer_graph,
                    miners,
                    block_interval: positive_dur_or(&mut c, "block_interval", &s.block_interval, 600_000 * ms),
                    confirmations: s.confirmations.unwrap_or(6),
                    peers_cdf,
                    peer_links,
                    miner_peers,
                    miner_mesh: s.miner_mesh.unwrap_or(false),
                    compact_block_share: c.probability(
                        &format!("{p}.compact_block_share"),
                        s.compact_block_share.unwrap_or(0.0),
                        true,
                    ),
                    compact_block_bytes: s.compact_block_bytes.unwrap_or(18_000),
                    compact_failure: c.probability(
                        &format!("{p}.compact_failure"),
                        s.compact_failure.unwrap_or(0.0),
                        true,
                    ),
                    block_bytes: match &s.block_bytes_dist {
                        None => s.block_bytes.map(BlockSize::Fixed),
                        Some(d) => {
                            if s.block_bytes.is_some() {
                                c.err(
                                    format!("{p}.block_bytes_dist"),
                                    "give either `block_bytes` or `block_bytes_dist`, not both",
                                );
                            }
                            c.piecewise(
                                &format!("{p}.block_bytes_dist"),
                                &d.dist,
                                "bins_bytes",
                                &d.bins_bytes,
                                PiecewiseDist::from_bytes,
                            )
                            .map(BlockSize::Dist)
                        }
                    },
                    batch: batch(&mut c, 0),
                    hash_power,
                    hash_rate: c.non_negative(&format!("{p}.hash_rate"), s.hash_rate.unwrap_or(0.0)),
                    joules_per_hash: c.non_negative(&format!("{p}.joules_per_hash"), s.joules_per_hash.unwrap_or(0.0)),
                    block_processing: dur_or(&mut c, "block_processing", &s.block_processing, 2 * ms),
                    relay_timing: match s.relay_timing.as_deref() {
                        None | Some("egress") => RelayTiming::Egress,
                        Some("simblock") => RelayTiming::SimBlock,
                        Some("gervais") => RelayTiming::Gervais,
                        Some(other) => {
                            c.err(
                                format!("{p}.relay_timing"),
                                format!("unknown relay timing `{other}`; allowed: egress, simblock, gervais"),
                            );
                            RelayTiming::Egress
                        }
                    },
                    block_processing_per_kb: {
                        let v = dur_or(&mut c, "block_processing_per_kb", &s.block_processing_per_kb, 0);
                        if v > 0 && s.relay_timing.as_deref() == Some("simblock") {
                            c.err(
                                format!("{p}.block_processing_per_kb"),
                                "does not apply with relay_timing = \"simblock\" (SimBlock adds `block_processing` to every upload); use egress or gervais",
                            );
                        }
                        v
                    },
                    propagation_at: match s.propagation_at.as_deref() {
                        None | Some("validated") => PropagationAt::Validated,
                        Some("arrival") => PropagationAt::Arrival,
                        Some(other) => {
                            c.err(
                                format!("{p}.propagation_at"),
                                format!(
                                    "unknown propagation_at `{other}`; allowed: validated, arrival{}",
                                    did_you_mean(other, ["validated", "arrival"])
                                ),
                            );
                            PropagationAt::Validated
                        }
                    },
                    control_lane: match s.control_lane.as_deref() {
                        None | Some("egress") => ControlLane::Egress,
                        Some("link") => {
                            if s.relay_timing.as_deref() == Some("simblock") {
                                c.err(
                                    format!("{p}.control_lane"),
                                    "does not apply with relay_timing = \"simblock\" (SimBlock's control messages take the latency + 10 ms); use egress or gervais",
                                );
                            }
                            ControlLane::Link
                        }
                        Some(other) => {
                            c.err(
                                format!("{p}.control_lane"),
                                format!(
                                    "unknown control_lane `{other}`; allowed: egress, link{}",
                                    did_you_mean(other, ["egress", "link"])
                                ),
                            );
                            ControlLane::Egress
                        }
                    },
                    inv_timeout: positive_dur_or(&mut c, "inv_timeout", &s.inv_timeout, 60_000 * ms),
                    rerequest: match s.rerequest.as_deref() {
                        None | Some("on-inv") => Rerequest::OnInv,
                        Some("timer") => Rerequest::Timer,
                        Some(other) => {
                            c.err(
                                format!("{p}.rerequest"),
                                format!(
                                    "unknown rerequest `{other}`; allowed: on-inv, timer{}",
                                    did_you_mean(other, ["on-inv", "timer"])
                                ),
                            );
                            Rerequest::OnInv
                        }
                    },
                    degree_cap: s
                        .degree_cap
                        .as_ref()
                        .map(|d| degree_cap(&mut c, &format!("{p}.degree_cap"), d)),
                    churn_share: c.probability(&format!("{p}.churn_share"), s.churn_share.unwrap_or(1.0), true),
                    compact_failure_stable: c.probability(
                        &format!("{p}.compact_failure_stable"),
                        s.compact_failure_stable.or(s.compact_failure).unwrap_or(0.0),
                        true,
                    ),
                    compact_refill: s
                        .compact_refill
                        .as_ref()
                        .map(|r| refill(&mut c, &format!("{p}.compact_refill"), r)),
                    compact_refill_stable: s
                        .compact_refill_stable
                        .as_ref()
                        .or(s.compact_refill.as_ref())
                        .map(|r| refill(&mut c, &format!("{p}.compact_refill_stable"), r)),
                })
            }
            other => {
                c.err(
                    format!("{p}.consensus"),
                    format!(
                        "unknown consensus `{other}`; allowed: centralized, pbft, raft, hotstuff, poa, pow{}",
                        did_you_mean(other, ["centralized", "pbft", "raft", "hotstuff", "poa", "pow"])
                    ),
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

    // ---- faults
    let mut faults = Vec::new();
    for (fi, f) in raw.faults.iter().enumerate() {
        let p = format!("fault[{fi}]");
        let select = |c: &mut Checker, field: &str, sel: &RawSelector| -> Vec<NodeId> {
            let mut set = BTreeSet::new();
            for (i, n) in sel.nodes.iter().enumerate() {
                match topology.node_id(n) {
                    Some(id) => {
                        set.insert(id);
                    }
                    None => c.err(
                        format!("{p}.{field}.nodes[{i}]"),
                        format!(
                            "unknown node `{n}`{}",
                            did_you_mean(n, topology.nodes.iter().map(|x| x.name.as_str()))
                        ),
                    ),
                }
            }
            for (i, r) in sel.roles.iter().enumerate() {
                match role_nodes(r) {
                    Some(ns) => set.extend(ns),
                    None => c.err(
                        format!("{p}.{field}.roles[{i}]"),
                        format!(
                            "unknown role `{r}`; known roles: {}{}",
                            roles.join(", "),
                            did_you_mean(r, roles.iter().map(|s| s.as_str()))
                        ),
                    ),
                }
            }
            for (i, r) in sel.regions.iter().enumerate() {
                match region_id(r) {
                    Some(rid) => set.extend(
                        topology
                            .nodes
                            .iter()
                            .enumerate()
                            .filter(|(_, n)| n.region == rid)
                            .map(|(i, _)| i as NodeId),
                    ),
                    None => c.err(
                        format!("{p}.{field}.regions[{i}]"),
                        format!(
                            "unknown region `{r}`; known: {}{}",
                            regions.join(", "),
                            did_you_mean(r, regions.iter().map(|s| s.as_str()))
                        ),
                    ),
                }
            }
            if sel.nodes.is_empty() && sel.roles.is_empty() && sel.regions.is_empty() {
                c.err(
                    format!("{p}.{field}"),
                    "select at least one node (nodes, roles or regions)",
                );
            }
            set.into_iter().collect()
        };
        let at = c.duration(&format!("{p}.at"), &f.at);
        let until = f.until.as_deref().map(|u| c.duration(&format!("{p}.until"), u));
        if let Some(u) = until
            && u <= at
        {
            c.err(
                format!("{p}.until"),
                format!("must be after `at` ({} ≤ {})", f.until.as_deref().unwrap_or(""), f.at),
            );
        }
        let target = select(&mut c, "target", &f.target);
        let peer = match &f.peer {
            Some(sel) => select(&mut c, "peer", sel),
            None => (0..topology.nodes.len() as NodeId)
                .filter(|n| target.binary_search(n).is_err())
                .collect(),
        };
        let k = f.kind.as_str();
        if ["crash", "partition", "degrade", "slow_cpu", "byzantine"].contains(&k) {
            for (field, misplaced) in [
                ("peer", f.peer.is_some() && !matches!(k, "partition" | "degrade")),
                ("extra_latency", f.extra_latency.is_some() && k != "degrade"),
                ("loss", f.loss.is_some() && k != "degrade"),
                ("factor", f.factor.is_some() && k != "slow_cpu"),
                ("behaviour", f.behaviour.is_some() && k != "byzantine"),
                (
                    "origins",
                    f.origins.is_some() && f.behaviour.as_deref() != Some("censor"),
                ),
            ] {
                if misplaced {
                    c.err(format!("{p}.{field}"), format!("does not apply to a `{k}` fault"));
                }
            }
        }
        let kind = match k {
            "crash" => FaultKind::Crash,
            "partition" => FaultKind::Partition,
            "degrade" => {
                let extra_latency = f
                    .extra_latency
                    .as_deref()
                    .map(|d| c.duration(&format!("{p}.extra_latency"), d))
                    .unwrap_or(0);
                let loss = c.probability(&format!("{p}.loss"), f.loss.unwrap_or(0.0), false);
                if extra_latency == 0 && loss == 0.0 {
                    c.err(p.clone(), "a degrade fault needs `extra_latency` and/or `loss`");
                }
                FaultKind::Degrade { extra_latency, loss }
            }
            "slow_cpu" => {
                let factor = f.factor.unwrap_or(0.0);
                if !(factor.is_finite() && factor >= 1.0) {
                    c.err(format!("{p}.factor"), format!("must be a number ≥ 1 (got {factor})"));
                }
                FaultKind::SlowCpu(factor.max(1.0))
            }
            "byzantine" => FaultKind::Byzantine(match f.behaviour.as_deref() {
                Some("silent") => Behaviour::Silent,
                Some("equivocate") => Behaviour::Equivocate,
                Some("censor") => match &f.origins {
                    Some(o) => Behaviour::Censor(select(&mut c, "origins", o)),
                    None => {
                        c.err(
                            format!("{p}.origins"),
                            "a censoring node needs `origins = { roles = [...] }` (or nodes)",
                        );
                        Behaviour::Censor(vec![])
                    }
                },
                Some(other) => {
                    c.err(
                        format!("{p}.behaviour"),
                        format!(
                            "unknown `{other}`; allowed: silent, equivocate, censor{}",
                            did_you_mean(other, ["silent", "equivocate", "censor"])
                        ),
                    );
                    Behaviour::Silent
                }
                None => {
                    c.err(
                        format!("{p}.behaviour"),
                        "a byzantine fault needs `behaviour` (silent, equivocate, censor)",
                    );
                    Behaviour::Silent
                }
            }),
            other => {
                c.err(
                    format!("{p}.kind"),
                    format!(
                        "unknown `{other}`; allowed: crash, partition, degrade, slow_cpu, byzantine{}",
                        did_you_mean(other, ["crash", "partition", "degrade", "slow_cpu", "byzantine"])
                    ),
                );
                continue;
            }
        };
        let systems_idx: Vec<usize> = match &f.system {
            None => (0..raw.systems.len()).collect(),
            Some(name) => match raw.systems.iter().position(|s| &s.name == name) {
                Some(i) => vec![i],
                None => {
                    c.err(
                        format!("{p}.system"),
                        format!(
                            "unknown system `{name}`{}",
                            did_you_mean(name, raw.systems.iter().map(|x| x.name.as_str()))
                        ),
                    );
                    vec![]
                }
            },
        };
        let names: Vec<&str> = target
            .iter()
            .take(3)
            .map(|&i| topology.nodes[i as usize].name.as_str())
            .collect();
        let more = if target.len() > 3 {
            format!(" +{}", target.len() - 3)
        } else {
            String::new()
        };
        let label = format!(
            "{k} {}{more} at {}{}",
            names.join(","),
            f.at,
            f.until.as_deref().map(|u| format!("–{u}")).unwrap_or_default()
        );
        faults.push(FaultSpec {
            label,
            at,
            until,
            systems: systems_idx,
            target,
            peer,
            kind,
        });
    }

    let capacity = raw.capacity.as_ref().map(|cap| validate_capacity(&mut c, &raw, cap));
    // `[[expect]]` lines (sweep point ranges are checked after the sweep is expanded).
    c.issues
        .extend(super::expect::check(&raw.expect, &systems, !raw.sweep.is_empty(), None).1);

    if !c.issues.is_empty() {
        let mut issues = c.issues;
        if issues.len() > MAX_ISSUES_SHOWN {
            let hidden = issues.len() - MAX_ISSUES_SHOWN;
            issues.truncate(MAX_ISSUES_SHOWN);
            issues.push(ValidationIssue {
                path: "(scenario)".into(),
                message: format!("… and {hidden} more problems not shown; fix these first"),
            });
        }
        return Err(ScenarioError::Invalid {
            origin: origin.into(),
            issues,
        });
    }
    let mut scenario = Scenario {
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
        faults,
        points: Vec::new(),
        capacity: None,
        warnings: Vec::new(),
        inputs,
        raw,
    };
    if let Some(mut cap) = capacity {
        cap.nominal_tps = scenario.offered_tps();
        if !(cap.nominal_tps.is_finite() && cap.nominal_tps > 0.0) {
            return Err(ScenarioError::Invalid {
                origin: origin.into(),
                issues: vec![ValidationIssue {
                    path: "capacity".into(),
                    message: "the workload offers no load in the measurement window, so there is nothing to scale; \
                              give some flow a positive rate"
                        .into(),
                }],
            });
        }
        scenario.capacity = Some(cap);
    }
    scenario.warnings = super::bounds::protocol_warnings(&scenario);
    scenario.warnings.extend(file_warnings);
    Ok(scenario)
}

/// Most bisection steps `[capacity]` accepts (resolution (max − min) / 2^iterations).
pub const MAX_CAPACITY_ITERATIONS: u32 = 20;

/// Check `[capacity]`; the returned spec's `nominal_tps` is filled in by the caller.
fn validate_capacity(c: &mut Checker, raw: &RawScenario, cap: &RawCapacity) -> CapacitySpec {
    let slo = c.positive_duration("capacity.slo_p99", &cap.slo_p99);
    let ratio = cap.min_throughput_ratio;
    if !(ratio.is_finite() && ratio > 0.0 && ratio <= 1.0) {
        c.err(
            "capacity.min_throughput_ratio",
            format!("must be in (0, 1] (got {ratio}); e.g. 0.99 = throughput within 1 % of the offer"),
        );
    }
    let min = c.positive("capacity.min_tps", cap.min_tps);
    let max = c.positive("capacity.max_tps", cap.max_tps);
    if min.is_finite() && max.is_finite() && min > 0.0 && max <= min {
        c.err(
            "capacity.max_tps",
            format!("must be greater than capacity.min_tps (got {max} ≤ {min})"),
        );
    }
    if !(1..=MAX_CAPACITY_ITERATIONS).contains(&cap.iterations) {
        c.err(
            "capacity.iterations",
            format!(
                "must be between 1 and {MAX_CAPACITY_ITERATIONS} (got {})",
                cap.iterations
            ),
        );
    }
    let criterion = match cap.criterion.as_str() {
        "mean" => CapacityCriterion::Mean,
        "every" => CapacityCriterion::Every,
        other => {
            c.err(
                "capacity.criterion",
                format!("unknown criterion `{other}`; allowed: \"mean\" (means over replications pass), \"every\" (every replication passes)"),
            );
            CapacityCriterion::Mean
        }
    };
    let systems = match &cap.systems {
        None => (0..raw.systems.len()).collect(),
        Some(names) => {
            if names.is_empty() {
                c.err(
                    "capacity.systems",
                    "must name at least one system (or be left out: every system)",
                );
            }
            let mut idx = Vec::new();
            for (i, n) in names.iter().enumerate() {
                match raw.systems.iter().position(|s| &s.name == n) {
                    Some(k) if idx.contains(&k) => {
                        c.err(format!("capacity.systems[{i}]"), format!("`{n}` is listed twice"))
                    }
                    Some(k) => idx.push(k),
                    None => {
                        let known: Vec<&str> = raw.systems.iter().map(|s| s.name.as_str()).collect();
                        c.err(
                            format!("capacity.systems[{i}]"),
                            format!("no system named `{n}`; systems: {}", known.join(", ")),
                        )
                    }
                }
            }
            idx.sort_unstable();
            idx
        }
    };
    if !raw.sweep.is_empty() {
        c.err(
            "capacity",
            "cannot be combined with [sweep]: a capacity search already varies the load; \
             run one search per parameter value with --set instead",
        );
    }
    CapacitySpec {
        slo_p99_ms: slo as f64 / 1e6,
        min_throughput_ratio: ratio,
        min_tps: min,
        max_tps: max,
        iterations: cap.iterations,
        criterion,
        systems,
        nominal_tps: 0.0,
    }
}

/// Validate a compact-refill distribution: equal, non-empty `fraction` / `weight` lists,
/// fractions in (0, 1], positive weights.
/// Check a PoW `degree_cap`: `slack` non-empty, `from_count` ≥ 1 and strictly increasing,
/// every value within the peer limit.
fn degree_cap(c: &mut Checker, path: &str, d: &RawDegreeCap) -> DegreeCap {
    if d.slack.is_empty() {
        c.err(
            format!("{path}.slack"),
            "must list at least one [from_count, extra] pair",
        );
    }
    let mut prev = 0u32;
    for (i, &[from, extra]) in d.slack.iter().enumerate() {
        if from <= prev {
            c.err(
                format!("{path}.slack[{i}]"),
                format!("from_count {from} must be at least 1 and above the previous entry's ({prev})"),
            );
        }
        if from > MAX_POW_PEERS || extra > MAX_POW_PEERS {
            c.err(
                format!("{path}.slack[{i}]"),
                format!("values must be at most the peer limit of {MAX_POW_PEERS}"),
            );
        }
        prev = prev.max(from);
    }
    if let Some(m) = d.miner
        && (m == 0 || m > MAX_POW_PEERS)
    {
        c.err(
            format!("{path}.miner"),
            format!("must be in [1, {MAX_POW_PEERS}] (got {m})"),
        );
    }
    DegreeCap {
        slack: d.slack.iter().map(|&[f, e]| (f as usize, e as usize)).collect(),
        miner: d.miner.map(|m| m as usize),
    }
}

fn refill(c: &mut Checker, path: &str, r: &RawRefill) -> Refill {
    if r.fraction.is_empty() || r.fraction.len() != r.weight.len() {
        c.err(
            path,
            format!(
                "`fraction` and `weight` must be non-empty lists of the same length (got {} and {})",
                r.fraction.len(),
                r.weight.len()
            ),
        );
    }
    for (i, f) in r.fraction.iter().enumerate() {
        if !(f.is_finite() && *f > 0.0 && *f <= 1.0) {
            c.err(format!("{path}.fraction[{i}]"), format!("must be in (0, 1] (got {f})"));
        }
    }
    for (i, w) in r.weight.iter().enumerate() {
        if *w == 0 {
            c.err(format!("{path}.weight[{i}]"), "must be a positive integer (got 0)");
        }
    }
    Refill {
        fractions: r.fraction.clone(),
        weights: r.weight.clone(),
    }
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
    fn bandwidth_dist_reaches_every_node_of_its_group_only() {
        let text = MINI.replace(
            "role = \"bank\"\ncount = 2\nregion = \"a\"\n",
            "role = \"bank\"\ncount = 2\nregion = \"a\"\n[topology.group.bandwidth_dist]\n\
             dist = \"piecewise\"\nbins_mbps = [[0.1, 0.2, 3], [5, 10, 1]]\n",
        );
        let sc = load_str(&text, "mini", &[]).unwrap();
        let n = &sc.topology.nodes;
        assert!(n[0].bandwidth_dist.is_none() && n[0].download_dist.is_none());
        let d = n[1].bandwidth_dist.as_ref().expect("bank-1 has the distribution");
        assert_eq!(n[2].bandwidth_dist.as_deref(), Some(&**d));
        assert!(n[1].download_dist.is_none());
        // (3 × 0.15 + 1 × 7.5) / 4 Mbit/s.
        assert!((d.mean() - 1.9875e6).abs() < 1e-3);
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
