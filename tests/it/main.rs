//! Integration tests: one crate of modules (`cargo test --test it`), so the binary and the
//! helpers in [`common`] are built once.

mod common;

mod analytic;
mod cli;
mod malformed;
mod pow;
