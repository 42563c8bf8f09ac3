//! Data files a scenario refers to by path: a per-node table (`[[topology.group]]
//! nodes_file`) and an explicit peer graph (PoW `peer_graph`). Paths are relative to the
//! scenario file's directory. Every file read is recorded with its SHA-256
//! ([`InputFile`]), which the manifest keeps so that `reproduce` can tell a changed file.
//!
//! Formats (docs/SCENARIO-FORMAT.md, "Data files"):
//! - **node table**: CSV, one header line then one node per line; columns `name` (required),
//!   `region`, `bandwidth` / `download_bandwidth` (values with a unit, `"4.6Mbps"`, or
//!   `"unlimited"`), or `bandwidth_<unit>` / `download_bandwidth_<unit>` (`bps`, `kbps`,
//!   `mbps`, `gbps`: bare numbers in that unit). No quoting; fields are trimmed.
//! - **peer graph**: an adjacency list (networkx's `adjlist` format): each line is a node
//!   name followed by names of its neighbours, separated by blanks. Links are undirected: a
//!   link exists if either end lists the other (a file may list each link once, at either
//!   end, or at both ends); the same neighbour listed twice for one node is an error.
//!
//! In both, `#` starts a comment that runs to the end of the line, and blank lines are
//! ignored. Errors name the file, the 1-based line and column, what is wrong and what is
//! allowed; parsing stops after [`MAX_FILE_ISSUES`] problems per file.

use super::units::parse_bandwidth;
use super::{NodeId, RegionId};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Problems reported per data file before parsing stops.
pub const MAX_FILE_ISSUES: usize = 20;

/// Largest data file read, in bytes (a 100,000-node table or a dense graph fits easily).
pub const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;

/// One data file a scenario read: which field named it, the path as written, and the
/// SHA-256 of its bytes (recorded in the manifest's `input_files`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Field path that names the file, e.g. `system[0].peer_graph`.
    pub field: String,
    /// The path as written in the scenario (relative to the scenario file's directory).
    pub path: String,
    /// Lower-case hex SHA-256 of the file's bytes.
    pub sha256: String,
}

/// Lower-case hex SHA-256 of bytes: how the manifest identifies a data file (and the
/// scenario and output files, via `report`).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// Reads the data files of one scenario load (and of its sweep points): resolves paths
/// against the scenario file's directory and keeps each file's text, so a sweep reads a
/// file once.
#[derive(Debug, Default)]
pub struct InputReader {
    base: Option<PathBuf>,
    cache: BTreeMap<PathBuf, Arc<(String, String)>>,
}

impl InputReader {
    /// A reader resolving relative paths against `base` (the scenario file's directory;
    /// `None`: the current directory).
    pub fn new(base: Option<&Path>) -> Self {
        Self {
            base: base.map(Path::to_path_buf),
            cache: BTreeMap::new(),
        }
    }

    /// Where `path` (as written) is read from.
    pub fn resolve(&self, path: &str) -> PathBuf {
        let p = Path::new(path);
        match &self.base {
            Some(b) if p.is_relative() => b.join(p),
            _ => p.to_path_buf(),
        }
    }

    /// The text of the file named `path` by `field`, with its record. Errors say which file
    /// (as resolved) and why.
    pub fn read(&mut self, field: &str, path: &str) -> Result<(Arc<(String, String)>, InputFile), String> {
        if path.trim().is_empty() {
            return Err("must name a file (a path relative to the scenario file's directory)".into());
        }
        let resolved = self.resolve(path);
        let shown = resolved.display().to_string();
        let entry = match self.cache.get(&resolved) {
            Some(e) => e.clone(),
            None => {
                let meta = std::fs::metadata(&resolved).map_err(|e| {
                    format!("cannot read `{shown}` ({e}); the path is relative to the scenario file's directory")
                })?;
                if meta.is_dir() {
                    return Err(format!("`{shown}` is a directory, not a file"));
                }
                // Devices and pipes (e.g. /dev/zero) could block or never end.
                if !meta.is_file() {
                    return Err(format!("`{shown}` is not a regular file"));
                }
                let mut bytes = Vec::new();
                std::fs::File::open(&resolved)
                    .and_then(|f| {
                        std::io::Read::read_to_end(&mut std::io::Read::take(f, MAX_FILE_BYTES + 1), &mut bytes)
                    })
                    .map_err(|e| format!("cannot read `{shown}` ({e})"))?;
                if bytes.len() as u64 > MAX_FILE_BYTES {
                    return Err(format!("`{shown}` is larger than the limit of {MAX_FILE_BYTES} bytes"));
                }
                let sha = sha256_hex(&bytes);
                let text = String::from_utf8(bytes).map_err(|e| {
                    format!(
                        "`{shown}` is not UTF-8 text (invalid byte at offset {})",
                        e.utf8_error().valid_up_to()
                    )
                })?;
                let e = Arc::new((text, sha));
                self.cache.insert(resolved.clone(), e.clone());
                e
            }
        };
        let record = InputFile {
            field: field.into(),
            path: path.into(),
            sha256: entry.1.clone(),
        };
        Ok((entry, record))
    }
}

/// The lines of a data file that carry content: (1-based line number, text before any `#`).
fn content_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().filter_map(|(i, line)| {
        let body = line.split('#').next().unwrap_or_default();
        (!body.trim().is_empty()).then_some((i + 1, body))
    })
}

/// Whitespace-separated fields of `line` with their 1-based character columns.
fn fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    for (b, ch) in line.char_indices().chain(std::iter::once((line.len(), ' '))) {
        match (ch.is_whitespace(), start) {
            (false, None) => start = Some(b),
            (true, Some(s)) => {
                out.push((line[..s].chars().count() + 1, &line[s..b]));
                start = None;
            }
            _ => {}
        }
    }
    out
}

/// Comma-separated fields of `line` (trimmed) with the 1-based column where each starts.
fn csv_fields(line: &str) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut from = 0;
    for part in line.split(',') {
        let lead = part.len() - part.trim_start().len();
        out.push((line[..from + lead].chars().count() + 1, part.trim()));
        from += part.len() + 1;
    }
    out
}

/// Collects a file's problems, `FILE:LINE:COL: message`, up to [`MAX_FILE_ISSUES`].
struct FileIssues<'a> {
    file: &'a str,
    issues: Vec<String>,
}

impl FileIssues<'_> {
    fn at(&mut self, line: usize, col: usize, message: impl std::fmt::Display) {
        if self.issues.len() < MAX_FILE_ISSUES {
            self.issues.push(format!("{}:{line}:{col}: {message}", self.file));
        } else if self.issues.len() == MAX_FILE_ISSUES {
            self.issues.push(format!(
                "{}: stopped after {MAX_FILE_ISSUES} problems; fix these first",
                self.file
            ));
        }
    }

    fn full(&self) -> bool {
        self.issues.len() > MAX_FILE_ISSUES
    }
}

/// A bandwidth column of the node table: with units in every cell, or bare numbers in the
/// unit its header names.
#[derive(Debug, Clone, Copy)]
enum BwColumn {
    /// `bandwidth`: `"4.6Mbps"`, `"unlimited"`.
    WithUnit,
    /// `bandwidth_<unit>`: bare numbers × this many bits/s.
    Scaled(f64),
}

impl BwColumn {
    /// The header `name` as a bandwidth column called `key` (`bandwidth` or
    /// `download_bandwidth`), if it is one.
    fn parse(name: &str, key: &str) -> Option<BwColumn> {
        if name == key {
            return Some(BwColumn::WithUnit);
        }
        let unit = name.strip_prefix(key)?.strip_prefix('_')?;
        let scale = match unit {
            "bps" => 1.0,
            "kbps" => 1e3,
            "mbps" => 1e6,
            "gbps" => 1e9,
            _ => return None,
        };
        Some(BwColumn::Scaled(scale))
    }

    /// One cell: `Ok(None)` is unlimited.
    fn value(self, cell: &str) -> Result<Option<u64>, String> {
        match self {
            BwColumn::WithUnit if cell == "unlimited" => Ok(None),
            BwColumn::WithUnit => parse_bandwidth(cell).map(Some),
            BwColumn::Scaled(scale) => {
                let v: f64 = cell.parse().map_err(|_| {
                    format!("`{cell}` is not a number; this column takes bare numbers in the unit its header names")
                })?;
                let bps = v * scale;
                if !(bps.is_finite() && bps >= 1.0) {
                    return Err(format!(
                        "`{cell}`: a bandwidth must be a finite number of at least 1 bps (> 0)"
                    ));
                }
                Ok(Some(bps.round() as u64))
            }
        }
    }
}

/// One row of a node table.
#[derive(Debug, Clone, PartialEq)]
pub struct TableNode {
    /// Node name.
    pub name: String,
    /// 1-based line in the file.
    pub line: usize,
    /// Region, when the table has a `region` column.
    pub region: Option<RegionId>,
    /// Egress bandwidth when the table has a bandwidth column (`Some(None)`: unlimited).
    pub bandwidth: Option<Option<u64>>,
    /// Download bandwidth when the table has a download column (`Some(None)`: unlimited).
    pub download: Option<Option<u64>>,
}

/// A parsed node table.
#[derive(Debug, Clone, PartialEq)]
pub struct NodeTable {
    /// The nodes, in file order.
    pub nodes: Vec<TableNode>,
    /// Whether the table has a `region` column.
    pub has_region: bool,
    /// Whether it has an egress bandwidth column.
    pub has_bandwidth: bool,
    /// Whether it has a download bandwidth column.
    pub has_download: bool,
}

/// Parse a node table (module docs). `file` names it in errors; `regions` are the
/// scenario's region names. Errors: `FILE:LINE:COL: …` each.
pub fn parse_node_table(text: &str, file: &str, regions: &[String]) -> Result<NodeTable, Vec<String>> {
    let mut err = FileIssues {
        file,
        issues: Vec::new(),
    };
    let mut lines = content_lines(text);
    let Some((hline, header)) = lines.next() else {
        return Err(vec![format!(
            "{file}: no header line; the first line that is not blank or a comment must name the columns, e.g. `name,region,bandwidth_mbps,download_bandwidth_mbps`"
        )]);
    };
    const ALLOWED: &str = "name, region, bandwidth or bandwidth_<unit>, download_bandwidth or download_bandwidth_<unit> (unit: bps, kbps, mbps, gbps)";
    let cols = csv_fields(header);
    let (mut name_col, mut region_col, mut bw_col, mut down_col) = (None, None, None, None);
    for (k, &(col, h)) in cols.iter().enumerate() {
        let h_lower = h.to_ascii_lowercase();
        let slot: (&mut Option<(usize, BwColumn)>, BwColumn) = if h_lower == "name" {
            if name_col.replace(k).is_some() {
                err.at(hline, col, "column `name` appears twice");
            }
            continue;
        } else if h_lower == "region" {
            if region_col.replace(k).is_some() {
                err.at(hline, col, "column `region` appears twice");
            }
            continue;
        } else if let Some(b) = BwColumn::parse(&h_lower, "download_bandwidth") {
            (&mut down_col, b)
        } else if let Some(b) = BwColumn::parse(&h_lower, "bandwidth") {
            (&mut bw_col, b)
        } else {
            err.at(hline, col, format!("unknown column `{h}`; allowed: {ALLOWED}"));
            continue;
        };
        if slot.0.replace((k, slot.1)).is_some() {
            err.at(hline, col, format!("a second column for the same quantity (`{h}`)"));
        }
    }
    if name_col.is_none() {
        err.at(
            hline,
            1,
            format!("the header has no `name` column; columns allowed: {ALLOWED}"),
        );
    }
    if !err.issues.is_empty() {
        return Err(err.issues);
    }
    let name_col = name_col.unwrap_or(0);
    let mut nodes = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for (ln, line) in lines {
        if err.full() {
            break;
        }
        let cells = csv_fields(line);
        if cells.len() != cols.len() {
            err.at(
                ln,
                1,
                format!(
                    "{} fields, but the header (line {hline}) has {} columns",
                    cells.len(),
                    cols.len()
                ),
            );
            continue;
        }
        if let Some(&(col, _)) = cells.iter().find(|(_, c)| c.contains('"')) {
            err.at(
                ln,
                col,
                "quotes are not supported; write fields without quotes (names cannot contain commas)",
            );
            continue;
        }
        if let Some(&(col, _)) = cells.iter().find(|(_, c)| c.is_empty()) {
            err.at(ln, col, "empty field; every column needs a value on every line");
            continue;
        }
        let (ncol, name) = cells[name_col];
        if name.chars().any(char::is_whitespace) {
            err.at(
                ln,
                ncol,
                format!("node name `{name}` contains whitespace, which a peer-graph file could not name"),
            );
        }
        if let Some(first) = seen.insert(name.to_string(), ln) {
            err.at(
                ln,
                ncol,
                format!("node `{name}` is listed twice (first on line {first})"),
            );
        }
        let region = region_col.and_then(|k| {
            let (col, r) = cells[k];
            let id = regions.iter().position(|x| x == r).map(|i| i as RegionId);
            if id.is_none() {
                err.at(
                    ln,
                    col,
                    format!(
                        "unknown region `{r}`; known (topology.regions): {}{}",
                        regions.join(", "),
                        super::suggest::did_you_mean(r, regions.iter().map(String::as_str))
                    ),
                );
            }
            id
        });
        let mut bw = |slot: Option<(usize, BwColumn)>| {
            let (k, kind) = slot?;
            let (col, cell) = cells[k];
            match kind.value(cell) {
                Ok(v) => Some(v),
                Err(m) => {
                    err.at(ln, col, m);
                    Some(None)
                }
            }
        };
        let bandwidth = bw(bw_col);
        let download = bw(down_col);
        nodes.push(TableNode {
            name: name.to_string(),
            line: ln,
            region,
            bandwidth,
            download,
        });
    }
    if nodes.is_empty() && err.issues.is_empty() {
        err.at(
            hline,
            1,
            "the table has a header but no node; list one node per line below it",
        );
    }
    if !err.issues.is_empty() {
        return Err(err.issues);
    }
    Ok(NodeTable {
        nodes,
        has_region: region_col.is_some(),
        has_bandwidth: bw_col.is_some(),
        has_download: down_col.is_some(),
    })
}

/// Parse a peer graph (module docs) over the nodes named in `ids` (name → id; `n` nodes).
/// Returns sorted adjacency lists, each link in both ends' lists. Errors: unknown node,
/// self-loop, the same neighbour twice for one node; `FILE:LINE:COL: …` each.
pub fn parse_peer_graph(
    text: &str,
    file: &str,
    ids: &BTreeMap<&str, NodeId>,
    n: usize,
) -> Result<Vec<Vec<NodeId>>, Vec<String>> {
    let mut err = FileIssues {
        file,
        issues: Vec::new(),
    };
    let example = ids
        .keys()
        .take(3)
        .map(|k| format!("`{k}`"))
        .collect::<Vec<_>>()
        .join(", ");
    let unknown = |name: &str| {
        format!(
            "unknown node `{name}`; every name must be a node of the topology ({n} nodes, e.g. {example}){}",
            super::suggest::did_you_mean(name, ids.keys().copied())
        )
    };
    // (node, neighbour as listed on the node's lines) → line: catches a neighbour listed twice.
    let mut listed: BTreeMap<(NodeId, NodeId), usize> = BTreeMap::new();
    let mut links: BTreeSet<(NodeId, NodeId)> = BTreeSet::new();
    for (ln, line) in content_lines(text) {
        if err.full() {
            break;
        }
        let f = fields(line);
        let (col, head) = f[0];
        let Some(&a) = ids.get(head) else {
            err.at(ln, col, unknown(head));
            continue;
        };
        for &(col, name) in &f[1..] {
            let Some(&b) = ids.get(name) else {
                err.at(ln, col, unknown(name));
                continue;
            };
            if a == b {
                err.at(
                    ln,
                    col,
                    format!("self-loop: node `{head}` lists itself; a link joins two different nodes"),
                );
                continue;
            }
            if let Some(first) = listed.insert((a, b), ln) {
                err.at(
                    ln,
                    col,
                    format!(
                        "duplicate link `{head}`–`{name}`: `{name}` is already listed as a neighbour of `{head}` on line {first}; list each neighbour once per node"
                    ),
                );
                continue;
            }
            links.insert((a.min(b), a.max(b)));
        }
    }
    if !err.issues.is_empty() {
        return Err(err.issues);
    }
    let mut adj: Vec<Vec<NodeId>> = vec![Vec::new(); n];
    for &(a, b) in &links {
        adj[a as usize].push(b);
        adj[b as usize].push(a);
    }
    for a in &mut adj {
        a.sort_unstable();
    }
    Ok(adj)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn regions() -> Vec<String> {
        vec!["EU".into(), "NA".into()]
    }

    #[test]
    fn node_table_reads_units_from_cells_or_headers() {
        let t = parse_node_table(
            "# comment\nname, region ,bandwidth,download_bandwidth_mbps\na,EU,1Mbps,2.5 # trailing\nb,NA,unlimited,0.001\n",
            "t.csv",
            &regions(),
        )
        .unwrap();
        assert_eq!(t.nodes.len(), 2);
        assert_eq!(t.nodes[0].line, 3);
        assert_eq!(t.nodes[0].region, Some(0));
        assert_eq!(t.nodes[0].bandwidth, Some(Some(1_000_000)));
        assert_eq!(t.nodes[0].download, Some(Some(2_500_000)));
        assert_eq!(t.nodes[1].bandwidth, Some(None));
        assert_eq!(t.nodes[1].download, Some(Some(1000)));
        assert!(t.has_region && t.has_bandwidth && t.has_download);
    }

    #[test]
    fn node_table_errors_name_line_and_column() {
        let e = parse_node_table(
            "name,region,bandwidth_kbps\na,EU,10\nb,XX,0\na,NA,x\n",
            "t.csv",
            &regions(),
        )
        .unwrap_err();
        assert_eq!(e.len(), 4, "{e:?}");
        assert!(
            e[0].starts_with("t.csv:3:3: unknown region `XX`; known (topology.regions): EU, NA"),
            "{e:?}"
        );
        assert!(e[1].starts_with("t.csv:3:6: `0`: a bandwidth must be"), "{e:?}");
        assert!(
            e[2].starts_with("t.csv:4:1: node `a` is listed twice (first on line 2)"),
            "{e:?}"
        );
        assert!(e[3].starts_with("t.csv:4:6: `x` is not a number"), "{e:?}");
        let e = parse_node_table("name,speed\n", "t.csv", &regions()).unwrap_err();
        assert!(
            e[0].starts_with("t.csv:1:6: unknown column `speed`; allowed: name, region"),
            "{e:?}"
        );
        let e = parse_node_table("name,region\na,EU,1\n", "t.csv", &regions()).unwrap_err();
        assert_eq!(e, vec!["t.csv:2:1: 3 fields, but the header (line 1) has 2 columns"]);
        let e = parse_node_table("# only a comment\n", "t.csv", &regions()).unwrap_err();
        assert!(e[0].starts_with("t.csv: no header line"), "{e:?}");
    }

    fn ids<'a>(names: &[&'a str]) -> BTreeMap<&'a str, NodeId> {
        names.iter().enumerate().map(|(i, n)| (*n, i as NodeId)).collect()
    }

    #[test]
    fn peer_graph_is_the_union_of_both_ends_listings() {
        let names = ids(&["a", "b", "c", "d"]);
        // a–b listed at both ends, a–c once, c–d once from d; blank and comment lines.
        let adj = parse_peer_graph("a b c\n\n# x\nb a\nd   c # end\n", "g.adj", &names, 4).unwrap();
        assert_eq!(adj, vec![vec![1, 2], vec![0], vec![0, 3], vec![2]]);
    }

    #[test]
    fn peer_graph_errors_name_line_and_column() {
        let names = ids(&["a", "b", "c"]);
        let e = parse_peer_graph("a b  zz\nb b\na c b\n", "g.adj", &names, 3).unwrap_err();
        assert_eq!(e.len(), 3, "{e:?}");
        assert!(
            e[0].starts_with("g.adj:1:6: unknown node `zz`; every name must be a node of the topology (3 nodes"),
            "{e:?}"
        );
        assert!(e[1].starts_with("g.adj:2:3: self-loop: node `b` lists itself"), "{e:?}");
        assert!(
            e[2].starts_with(
                "g.adj:3:5: duplicate link `a`–`b`: `b` is already listed as a neighbour of `a` on line 1"
            ),
            "{e:?}"
        );
    }

    #[test]
    fn only_regular_files_are_read() {
        let mut r = InputReader::new(None);
        let e = r.read("f", "/dev/null").unwrap_err();
        assert!(e.contains("`/dev/null` is not a regular file"), "{e}");
        let e = r.read("f", "/").unwrap_err();
        assert!(e.contains("is a directory"), "{e}");
        let e = r.read("f", "").unwrap_err();
        assert!(e.contains("must name a file"), "{e}");
        let e = InputReader::new(Some(Path::new("/nonexistent-dir")))
            .read("f", "x.csv")
            .unwrap_err();
        assert!(e.contains("cannot read `/nonexistent-dir/x.csv`"), "{e}");
    }

    #[test]
    fn a_file_with_many_problems_stops_after_the_limit() {
        let names = ids(&["a"]);
        let text = "x\n".repeat(50);
        let e = parse_peer_graph(&text, "g.adj", &names, 1).unwrap_err();
        assert_eq!(e.len(), MAX_FILE_ISSUES + 1);
        assert!(e[MAX_FILE_ISSUES].contains("stopped after"));
    }
}
