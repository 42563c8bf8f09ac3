//! The generic discrete-event kernel: integer time, a `(time, seq)`-ordered event queue,
//! explicit seeded random streams and a run loop generic over the model.
//!
//! The engine knows nothing of ledgers, networks or protocols: a model is anything that
//! implements [`Model`], and its events are a plain (usually small, `Copy`-able) enum.

pub mod queue;
pub mod rng;
pub mod time;

pub use queue::{EventQueue, Scheduled};
pub use rng::{SimRng, StreamLabel, stream_rng};
use std::sync::atomic::{AtomicBool, Ordering};

pub use time::{NS_PER_MS, NS_PER_S, NS_PER_US, SimTime, from_s_f64_ns, to_ms, to_s};

/// A simulation model driven by the engine's run loop.
///
/// The loop pops the earliest event and hands it to [`Model::handle`] together with the
/// queue, so the model can schedule follow-up events. A model never reads a wall clock.
pub trait Model {
    /// The event type. Keep it small and inline: no boxing per event.
    type Event;

    /// React to one event at simulated time `now`.
    fn handle(&mut self, now: SimTime, event: Self::Event, queue: &mut EventQueue<Self::Event>);
}

/// How a call to [`run_until`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOutcome {
    /// Events handled by this call.
    pub events: u64,
    /// Simulated time of the last handled event (or the start time if none).
    pub last_time: SimTime,
    /// True if the queue emptied before `end`.
    pub drained: bool,
}

/// Run the model until the queue is empty or the next event is later than `end`
/// (events exactly at `end` are handled). Returns how many events were handled.
///
/// Complexity: O(E log P) for E events with P pending.
pub fn run_until<M: Model>(model: &mut M, queue: &mut EventQueue<M::Event>, end: SimTime) -> RunOutcome {
    let mut events = 0u64;
    let mut last_time = queue.now();
    while let Some(ev) = queue.pop_due(end) {
        last_time = ev.time;
        events += 1;
        model.handle(ev.time, ev.event, queue);
    }
    RunOutcome {
        events,
        last_time,
        drained: queue.is_empty(),
    }
}

/// A process-wide request to stop every run early (set by the command line's SIGINT/SIGTERM
/// handler). A run that sees it returns at once with incomplete results, which the caller
/// must discard; nothing in the model reads it, so it cannot change a completed run.
pub static STOP_REQUESTED: AtomicBool = AtomicBool::new(false);

/// How often (in handled events) [`run_until_or_stop`] looks at its stop flag.
pub const STOP_CHECK_EVERY: u64 = 1 << 14;

/// [`run_until`], but return early — with `stopped` true — once `stop` is set (checked
/// every [`STOP_CHECK_EVERY`] events, and before the first).
pub fn run_until_or_stop<M: Model>(
    model: &mut M,
    queue: &mut EventQueue<M::Event>,
    end: SimTime,
    stop: &AtomicBool,
) -> (RunOutcome, bool) {
    let mut total = RunOutcome {
        events: 0,
        last_time: queue.now(),
        drained: false,
    };
    loop {
        if stop.load(Ordering::Relaxed) {
            return (total, true);
        }
        let mut handled = 0u64;
        let outcome = loop {
            if handled == STOP_CHECK_EVERY {
                break None;
            }
            let Some(ev) = queue.pop_due(end) else {
                break Some(queue.is_empty());
            };
            total.last_time = ev.time;
            handled += 1;
            model.handle(ev.time, ev.event, queue);
        };
        total.events += handled;
        if let Some(drained) = outcome {
            total.drained = drained;
            return (total, false);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter {
        seen: Vec<(SimTime, u32)>,
    }

    impl Model for Counter {
        type Event = u32;
        fn handle(&mut self, now: SimTime, event: u32, queue: &mut EventQueue<u32>) {
            self.seen.push((now, event));
            if event < 5 {
                queue.schedule_in(10, event + 1);
            }
        }
    }

    #[test]
    fn run_until_stops_at_end_inclusive() {
        let mut q = EventQueue::new();
        q.schedule_at(0, 0u32);
        let mut m = Counter { seen: vec![] };
        let out = run_until(&mut m, &mut q, 30);
        assert_eq!(m.seen, vec![(0, 0), (10, 1), (20, 2), (30, 3)]);
        assert_eq!(out.events, 4);
        assert!(!out.drained);
        let out = run_until(&mut m, &mut q, 1_000);
        assert!(out.drained);
        assert_eq!(m.seen.last(), Some(&(50, 5)));
    }

    /// An endless model: every event schedules the next.
    struct Forever(u64);

    impl Model for Forever {
        type Event = ();
        fn handle(&mut self, _now: SimTime, _event: (), queue: &mut EventQueue<()>) {
            self.0 += 1;
            queue.schedule_in(1, ());
        }
    }

    #[test]
    fn run_until_or_stop_matches_run_until_and_honours_the_flag() {
        let flag = AtomicBool::new(false);
        for end in [0, 3, 40_000, 100_000] {
            let (mut a, mut qa) = (Counter { seen: vec![] }, EventQueue::new());
            let (mut b, mut qb) = (Counter { seen: vec![] }, EventQueue::new());
            qa.schedule_at(0, 0u32);
            qb.schedule_at(0, 0u32);
            let plain = run_until(&mut a, &mut qa, end);
            let (stoppable, stopped) = run_until_or_stop(&mut b, &mut qb, end, &flag);
            assert_eq!((plain, false), (stoppable, stopped));
            assert_eq!(a.seen, b.seen);
            let (mut f, mut qf) = (Forever(0), EventQueue::new());
            let (mut g, mut qg) = (Forever(0), EventQueue::new());
            qf.schedule_at(0, ());
            qg.schedule_at(0, ());
            let plain = run_until(&mut f, &mut qf, end);
            let (stoppable, stopped) = run_until_or_stop(&mut g, &mut qg, end, &flag);
            assert_eq!((plain, false), (stoppable, stopped), "end {end}");
            assert_eq!(f.0, g.0);
        }
        flag.store(true, Ordering::Relaxed);
        let (mut f, mut q) = (Forever(0), EventQueue::new());
        q.schedule_at(0, ());
        let (out, stopped) = run_until_or_stop(&mut f, &mut q, SimTime::MAX, &flag);
        assert!(stopped);
        assert_eq!(out.events, 0);
    }
}
