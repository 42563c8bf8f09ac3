//! Helpers shared by the integration-test modules: the binary, temporary directories, the
//! quickstart scenario, and running the binary.
// Not every test module uses every helper.
#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

/// Path of the `ledgersim` binary built by Cargo for these tests.
pub fn bin() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_ledgersim"))
}

/// The crate root (where `scenarios/` lives).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `scenarios/quickstart.toml`.
pub fn quickstart_path() -> PathBuf {
    repo_root().join("scenarios").join("quickstart.toml")
}

/// The quickstart scenario exactly as shipped.
pub fn quickstart_original() -> String {
    std::fs::read_to_string(quickstart_path()).expect("read scenarios/quickstart.toml")
}

/// The quickstart scenario shortened for speed: 6 s simulated, 1 s warm-up, 2 replications.
/// Still valid; every malformed scenario is an edit of this text.
pub fn quickstart() -> String {
    let text = quickstart_original();
    let text = replace_once(&text, "duration = \"30s\"", "duration = \"6s\"");
    let text = replace_once(&text, "warmup = \"5s\"", "warmup = \"1s\"");
    replace_once(&text, "replications = 3", "replications = 2")
}

/// Replace the single occurrence of `from` in `text`; panics if it occurs zero or several
/// times, so that an edit of the quickstart never silently does nothing.
pub fn replace_once(text: &str, from: &str, to: &str) -> String {
    let n = text.matches(from).count();
    assert_eq!(
        n, 1,
        "expected exactly one occurrence of {from:?} in the scenario, found {n}"
    );
    text.replacen(from, to, 1)
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A fresh, empty directory under the system temp dir, removed when dropped.
pub struct TempDir {
    path: PathBuf,
}

impl TempDir {
    /// A new empty directory named after the process id, a counter and `label`.
    pub fn new(label: &str) -> TempDir {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let label: String = label
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' })
            .collect();
        let path = std::env::temp_dir().join(format!("ledgersim-it-{}-{n}-{label}", std::process::id()));
        if path.exists() {
            std::fs::remove_dir_all(&path).expect("remove stale temp dir");
        }
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// A path inside the directory.
    pub fn join(&self, name: impl AsRef<Path>) -> PathBuf {
        self.path.join(name)
    }

    /// Write `text` to `name` inside the directory and return its path.
    pub fn write(&self, name: &str, text: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        std::fs::write(&p, text).expect("write temp file");
        p
    }

    /// Names of the entries of the directory, sorted.
    pub fn entries(&self) -> Vec<String> {
        list_dir(&self.path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Sorted entry names of a directory.
pub fn list_dir(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .map(|e| e.expect("dir entry").file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// Run the binary with `args`; returns (exit code, stdout, stderr). A death by signal is
/// reported as exit code -1.
pub fn run<I, S>(args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    run_in(None, args)
}

/// Like [`run`], in working directory `cwd` if given.
pub fn run_in<I, S>(cwd: Option<&Path>, args: I) -> (i32, String, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut cmd = Command::new(bin());
    cmd.args(args).stdin(Stdio::null());
    if let Some(d) = cwd {
        cmd.current_dir(d);
    }
    let out = cmd.output().expect("spawn ledgersim");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Lower-case hex SHA-256 of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The `[network]` and `[cpu]` sections of the analytic setups: one region with round-trip
/// `rtt_ms` (so one-way δ = rtt/2), unlimited bandwidth, no loss, the given jitter (a TOML
/// inline table such as `{ dist = "none" }`) and zero CPU cost for every step.
pub fn ideal_network(rtt_ms: impl std::fmt::Display, jitter: &str) -> String {
    format!(
        r#"[network]
intra_region_rtt = "{rtt_ms}ms"
bandwidth = "unlimited"
jitter = {jitter}
loss = 0.0

[cpu]
sign = "0"
verify = "0"
hash_per_kb = "0"
execute_tx = "0"
db_commit = "0"
"#
    )
}

/// The tail of the proof-of-work test scenarios: a `[workload]` with one flow of 250-byte
/// payments from role `from` to role `to` with `arrival` (a TOML inline table), and a PoW
/// `[[system]]` named `pow` (the baseline, settling on the ledger) with the extra fields
/// `system`.
pub fn pow_workload_and_system(from: &str, to: &str, arrival: &str, system: &str) -> String {
    format!(
        r#"[workload]
[[workload.flow]]
name = "pay"
from = "{from}"
to = "{to}"
arrival = {arrival}
size_bytes = 250
amount = {{ dist = "constant", value = 1.0 }}

[[system]]
name = "pow"
consensus = "pow"
baseline = true
settlement = "on-ledger"
{system}
"#
    )
}

/// No jitter, for [`ideal_network`].
pub const NO_JITTER: &str = r#"{ dist = "none" }"#;

/// Whether `a` equals `b` up to a relative 1e-9 (absolute 1e-9 near zero): for analytic
/// latencies that the simulator must reproduce exactly but reaches through float means.
pub fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * b.abs().max(1.0)
}

/// A run is safe (no violation), conserved money, ended with every correct replica at the
/// same state and height (`heights` = (lowest, highest) final height).
pub fn assert_safe_and_caught_up(r: &ledgersim::sim::RunResult, what: &str) {
    assert_eq!(r.safety_violations, 0, "{what}: {:?}", r.violation_notes);
    assert!(r.money_conserved, "{what}: money not conserved");
    assert!(r.replicas_consistent, "{what}: replicas disagree");
    assert_eq!(r.heights.0, r.heights.1, "{what}: every correct replica caught up");
}
