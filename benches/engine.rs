//! Event-engine throughput: the classic *hold model*.
//!
//! The hold model keeps a fixed number `P` of pending events. The queue is prefilled with
//! `P` events at random times; afterwards every handled event schedules exactly one new
//! event at `now + increment`, so the pending count stays `P` and each step is one
//! pop plus one push. Increments are uniform on `[0, 2 * MEAN_INCREMENT)` nanoseconds,
//! drawn from a SplitMix64 generator written here (cheap, deterministic, no `rand` in the
//! hot loop); both variants use the very same seed and generator.
//!
//! Two variants run at `P` = 16, 1,000 and 100,000 in the same group, so their ratio can
//! be read off one report:
//!
//! * `hold/ledgersim/P` — the real engine: [`EventQueue`] driven by [`run_until`] with a
//!   [`Model`] whose `handle` reschedules. The event payload is `()`, so the comparison
//!   isolates the engine's own overhead (sequence counter, clamping to `now`, the
//!   peek/pop run loop, model dispatch) rather than payload size.
//! * `hold/bare_heap/P` — the floor: `BinaryHeap<Reverse<(time, seq)>>`, pop and push.
//!
//! Each iteration handles `N_EVENTS` = 1,000,000 events and the throughput is reported as
//! elements, i.e. events/s. The queue state persists across iterations (steady state).
//! `run_until` stops at a simulated-time horizon, not an event count, so the ledgersim
//! variant sets the horizon to ~`N_EVENTS` events and normalises the measured time to
//! exactly `N_EVENTS` events (the deviation is a fraction of a percent).
//!
//! Target: the engine reaches at least 50 % of the bare heap's events/s at the same `P`.
//!
//! Run with `cargo bench --bench engine` (about a minute).

use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use ledgersim::engine::{EventQueue, Model, SimTime, run_until};
use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Events handled per measured iteration.
const N_EVENTS: u64 = 1_000_000;
/// Pending-event counts to measure.
const PENDING: [u64; 3] = [16, 1_000, 100_000];
/// Mean time increment in nanoseconds (1 ms).
const MEAN_INCREMENT: SimTime = 1_000_000;
/// Seed shared by both variants.
const SEED: u64 = 0x1ed9_e751_0000_0001;

/// SplitMix64: one add and three multiply/xor-shift rounds per draw.
#[derive(Debug, Clone)]
struct SplitMix64(u64);

impl SplitMix64 {
    #[inline(always)]
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform on `[0, 2 * MEAN_INCREMENT)` via multiply-shift (no division).
    #[inline(always)]
    fn increment(&mut self) -> SimTime {
        ((u128::from(self.next_u64()) * u128::from(2 * MEAN_INCREMENT)) >> 64) as SimTime
    }
}

/// The hold model for the engine: every event reschedules one successor.
struct Hold {
    rng: SplitMix64,
}

impl Model for Hold {
    type Event = ();

    #[inline]
    fn handle(&mut self, _now: SimTime, _event: (), queue: &mut EventQueue<()>) {
        let dt = self.rng.increment();
        queue.schedule_in(dt, ());
    }
}

fn bench_hold(c: &mut Criterion) {
    let mut group = c.benchmark_group("hold");
    group.throughput(Throughput::Elements(N_EVENTS));
    // One iteration is ~10-100 ms, so flat sampling: every sample runs the same count.
    group.sampling_mode(SamplingMode::Flat);

    for &p in &PENDING {
        // (a) ledgersim engine.
        group.bench_with_input(BenchmarkId::new("ledgersim", p), &p, |b, &p| {
            let mut rng = SplitMix64(SEED);
            let mut queue: EventQueue<()> = EventQueue::with_capacity(p as usize + 1);
            for _ in 0..p {
                queue.schedule_at(rng.increment(), ());
            }
            let mut model = Hold { rng };
            // Steady state: P pending, events arrive at rate P / MEAN_INCREMENT.
            let horizon = N_EVENTS * MEAN_INCREMENT / p;
            b.iter_custom(|iters| {
                let mut elapsed = Duration::ZERO;
                let mut handled = 0u64;
                for _ in 0..iters {
                    let end = queue.now() + horizon;
                    let start = Instant::now();
                    let out = run_until(&mut model, &mut queue, black_box(end));
                    elapsed += start.elapsed();
                    handled += black_box(out).events;
                }
                assert_eq!(queue.len() as u64, p, "hold model must keep P pending");
                // Normalise to exactly N_EVENTS per iteration.
                elapsed.mul_f64((iters * N_EVENTS) as f64 / handled.max(1) as f64)
            });
        });

        // (b) bare BinaryHeap baseline, same pattern and generator.
        group.bench_with_input(BenchmarkId::new("bare_heap", p), &p, |b, &p| {
            let mut rng = SplitMix64(SEED);
            let mut heap: BinaryHeap<Reverse<(u64, u64)>> = BinaryHeap::with_capacity(p as usize + 1);
            let mut seq = 0u64;
            for _ in 0..p {
                heap.push(Reverse((rng.increment(), seq)));
                seq += 1;
            }
            b.iter(|| {
                for _ in 0..N_EVENTS {
                    let Reverse((now, _)) = heap.pop().expect("hold model never drains");
                    heap.push(Reverse((now + rng.increment(), seq)));
                    seq += 1;
                }
                black_box(heap.peek().map(|r| r.0.0))
            });
            assert_eq!(heap.len() as u64, p, "hold model must keep P pending");
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    targets = bench_hold
}
criterion_main!(benches);
