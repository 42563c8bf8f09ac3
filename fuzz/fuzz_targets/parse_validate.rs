//! Fuzz target: any bytes as a scenario file must give a scenario or a clean error —
//! never a panic, an overflow, a hang or an unbounded allocation — through parsing,
//! validation, sweep expansion, the protocol-bound warnings and the resource estimate.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(scenario) = ledgersim::scenario::validate::load_str(text, "fuzz.toml", &[]) {
        let estimate = ledgersim::scenario::resources::estimate(&scenario, 4);
        let _ = estimate.exceeds_bound();
        let _ = estimate.summary_line();
    }
});
