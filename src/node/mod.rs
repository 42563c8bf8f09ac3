//! Per-node CPU: `cores` identical servers in front of one FIFO queue of jobs.
//!
//! A job's handler runs when the job starts on a core and states how long it takes; its
//! outputs leave when that time has passed and the core stays busy until then. Saturation,
//! queueing delay and the throughput ceiling therefore emerge from the configured step costs.

use crate::engine::SimTime;
use std::collections::VecDeque;

/// CPU of one node. Queue is O(1) push/pop; memory grows only with queued jobs.
///
/// The front job is held inline (`head`) when it is the only one, so the common case of
/// thousands of mostly idle nodes (a job enqueued and started at once) never touches a
/// per-node heap buffer.
#[derive(Debug)]
pub struct Cpu<J> {
    cores: u32,
    busy: u32,
    /// The front of the queue, if it was enqueued into an empty queue; always before
    /// every job in `queue`.
    head: Option<(SimTime, J)>,
    queue: VecDeque<(SimTime, J)>,
    /// Core-nanoseconds of work started inside the measurement window.
    pub busy_ns: u64,
    /// Sum of queueing waits of jobs started inside the window.
    pub wait_ns: u128,
    /// Jobs started inside the window.
    pub jobs: u64,
}

impl<J> Cpu<J> {
    /// A CPU with `cores` cores (at least one).
    pub fn new(cores: u32) -> Self {
        Self {
            cores: cores.max(1),
            busy: 0,
            head: None,
            queue: VecDeque::new(),
            busy_ns: 0,
            wait_ns: 0,
            jobs: 0,
        }
    }

    /// Number of cores.
    pub fn cores(&self) -> u32 {
        self.cores
    }

    /// Jobs waiting (not running).
    pub fn queued(&self) -> usize {
        usize::from(self.head.is_some()) + self.queue.len()
    }

    /// Add a job to the back of the queue.
    #[inline]
    pub fn enqueue(&mut self, now: SimTime, job: J) {
        if self.head.is_none() && self.queue.is_empty() {
            self.head = Some((now, job));
        } else {
            self.queue.push_back((now, job));
        }
    }

    /// Take the next job if a core is free, marking the core busy. Returns the job and
    /// when it was enqueued.
    #[inline]
    pub fn start_next(&mut self) -> Option<(SimTime, J)> {
        if self.busy < self.cores {
            let j = match self.head.take() {
                Some(j) => j,
                None => self.queue.pop_front()?,
            };
            self.busy += 1;
            Some(j)
        } else {
            None
        }
    }

    /// Take a free core for a job that starts at once without queueing (only valid with an
    /// empty queue, where it is the same as `enqueue` then `start_next`). False if all cores
    /// are busy.
    #[inline]
    pub fn try_take_core(&mut self) -> bool {
        debug_assert!(self.queued() == 0);
        if self.busy < self.cores {
            self.busy += 1;
            true
        } else {
            false
        }
    }

    /// Drop every queued job (the node crashed). Running jobs finish; their outputs are
    /// discarded by the caller.
    pub fn clear_queue(&mut self) {
        self.head = None;
        self.queue.clear();
    }

    /// A core finished its job.
    #[inline]
    pub fn release(&mut self) {
        debug_assert!(self.busy > 0);
        self.busy -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifo_and_core_limit() {
        let mut cpu = Cpu::new(2);
        for j in 0..4u32 {
            cpu.enqueue(j as u64, j);
        }
        assert_eq!(cpu.start_next(), Some((0, 0)));
        assert_eq!(cpu.start_next(), Some((1, 1)));
        assert_eq!(cpu.start_next(), None, "both cores busy");
        cpu.release();
        assert_eq!(cpu.start_next(), Some((2, 2)));
        assert_eq!(cpu.queued(), 1);
        // Refill behind the remaining job, then drain: still FIFO.
        cpu.enqueue(4, 4);
        cpu.release();
        cpu.release();
        assert_eq!(cpu.start_next(), Some((3, 3)));
        assert_eq!(cpu.start_next(), Some((4, 4)));
        cpu.clear_queue();
        assert_eq!(cpu.queued(), 0);
        cpu.release();
        cpu.enqueue(5, 5);
        cpu.enqueue(6, 6);
        cpu.enqueue(7, 7);
        assert_eq!(cpu.queued(), 3);
        assert_eq!(cpu.start_next(), Some((5, 5)));
        cpu.release();
        assert_eq!(cpu.start_next(), Some((6, 6)));
        cpu.release();
        assert_eq!(cpu.start_next(), Some((7, 7)));
        assert_eq!(cpu.queued(), 0);
    }
}
