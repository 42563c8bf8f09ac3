//! Integration tests: one crate of modules.

mod analytic;
