//! Build identity: the git commit the binary is built from, recorded in every
//! `manifest.json` (`ledgersim_build`) so that `merge` can refuse shards of different builds
//! and `reproduce` can say when results came from another one.
//!
//! Sets `LEDGERSIM_BUILD` to `git rev-parse HEAD`, with `-dirty` appended when tracked
//! sources (`src/`, `build.rs`, `Cargo.toml`, `Cargo.lock`) differ from that commit, or to
//! `unknown` when there is no git or no repository (a tarball, `cargo install` from a
//! registry). Never fails the build.

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let s = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!s.is_empty()).then_some(s)
}

fn main() {
    // Sources always trigger a rebuild of the crate anyway; watching them here keeps `-dirty`
    // current.
    for p in ["build.rs", "src", "Cargo.toml", "Cargo.lock"] {
        println!("cargo:rerun-if-changed={p}");
    }
    // Only this crate's own repository counts: a tarball unpacked inside some other
    // repository must not take that repository's commit.
    let manifest_dir = std::env::var("CARGO_MANIFEST_DIR")
        .ok()
        .and_then(|d| Path::new(&d).canonicalize().ok());
    let own_repo = git(&["rev-parse", "--show-toplevel"])
        .and_then(|t| Path::new(&t).canonicalize().ok())
        .is_some_and(|t| Some(t) == manifest_dir);
    let commit = git(&["rev-parse", "--verify", "HEAD"])
        .filter(|c| own_repo && c.len() >= 40 && c.bytes().all(|b| b.is_ascii_hexdigit()));
    let identity = match commit {
        Some(c) => {
            // A new commit or checkout moves HEAD or the branch it points to: watch both
            // (only files that exist: a missing one would rerun this script on every build).
            let mut watch: Vec<PathBuf> = Vec::new();
            if let Some(dir) = git(&["rev-parse", "--git-dir"]) {
                watch.push(Path::new(&dir).join("HEAD"));
            }
            if let (Some(common), Some(head_ref)) = (
                git(&["rev-parse", "--git-common-dir"]),
                git(&["symbolic-ref", "-q", "HEAD"]),
            ) {
                watch.push(Path::new(&common).join(&head_ref));
                watch.push(Path::new(&common).join("packed-refs"));
            }
            for p in watch.iter().filter(|p| p.exists()) {
                println!("cargo:rerun-if-changed={}", p.display());
            }
            // `git diff --quiet` exits 1 when the sources differ from the commit.
            let dirty = Command::new("git")
                .args([
                    "diff",
                    "--quiet",
                    "HEAD",
                    "--",
                    "src",
                    "build.rs",
                    "Cargo.toml",
                    "Cargo.lock",
                ])
                .status()
                .is_ok_and(|s| s.code() == Some(1));
            if dirty { format!("{c}-dirty") } else { c }
        }
        None => "unknown".to_string(),
    };
    println!("cargo:rustc-env=LEDGERSIM_BUILD={identity}");
}
