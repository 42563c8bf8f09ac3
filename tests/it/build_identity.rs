//! `build.rs`: the build identity is the git commit of this crate's own checkout, or
//! `unknown` elsewhere (a tarball without `.git`, or a tarball unpacked inside another
//! repository). The build script is compiled on its own and run in such directories.

use crate::common::{self, TempDir};
use std::path::Path;
use std::process::Command;

/// Run the compiled build script `exe` as Cargo would, for a package at `dir`; returns the
/// value of `LEDGERSIM_BUILD` it sets.
fn identity(exe: &Path, dir: &Path) -> String {
    let out = Command::new(exe)
        .current_dir(dir)
        .env("CARGO_MANIFEST_DIR", dir)
        .output()
        .expect("run the build script");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("cargo:rustc-env=LEDGERSIM_BUILD="))
        .unwrap_or_else(|| panic!("no LEDGERSIM_BUILD in {stdout}"))
        .to_string()
}

#[test]
fn build_identity_is_unknown_outside_the_crates_own_checkout() {
    let tmp = TempDir::new("build-identity");
    let exe = tmp.join("build-script");
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let status = Command::new(&rustc)
        .args(["--edition", "2024", "-O", "-o"])
        .arg(&exe)
        .arg(common::repo_root().join("build.rs"))
        .status()
        .expect("run rustc");
    assert!(status.success());

    // A tarball: no .git anywhere above (the system temp directory).
    let tarball = tmp.join("ledgersim-0.1.0");
    std::fs::create_dir(&tarball).unwrap();
    assert_eq!(identity(&exe, &tarball), "unknown");

    // Unpacked inside another repository: that repository's commit is not ours.
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(tmp.path())
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .is_ok_and(|o| o.status.success())
    };
    if git(&["init", "-q"]) && git(&["commit", "-q", "--allow-empty", "-m", "outer"]) {
        assert_eq!(identity(&exe, &tarball), "unknown");
    }

    // This checkout: the identity the binary under test was built with (a commit, or
    // `unknown` when the tests themselves run from a tarball).
    let here = identity(&exe, &common::repo_root());
    let commit = here.strip_suffix("-dirty").unwrap_or(&here);
    assert!(
        here == "unknown" || (commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{here}"
    );
    assert_eq!(commit, env!("LEDGERSIM_BUILD").trim_end_matches("-dirty"));
}
