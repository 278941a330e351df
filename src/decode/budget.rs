//! One budget for the decompressed objects held at once by every worker (`--memory-budget`,
//! #23): a CronJob's memory limit is then a property of the run, not of how many cores the node
//! has or which objects arrive together.
//!
//! A worker reserves an object's decompressed size before inflating it and releases it when the
//! object is parsed. The size comes from the gzip trailer (ISIZE) when that is within the limit,
//! else from a counting pass that inflates into a small scratch buffer; a trailer that turns out
//! wrong (several gzip members, or a lie) gives way to the counting pass before anything larger
//! is held. A worker waits for a reservation only while it holds none, so waiting cannot
//! deadlock: whatever is reserved belongs to a worker that is inflating or parsing, and will
//! release it. An object larger than the whole budget is refused like one over
//! `--max-object-bytes`.

use std::sync::{Condvar, Mutex, PoisonError};

/// The default budget: two objects of the default `--max-object-bytes` (1 GiB) at once.
pub const DEFAULT_BYTES: u64 = 2 << 30;

#[derive(Debug)]
pub struct MemoryBudget {
    total: u64,
    used: Mutex<Held>,
    freed: Condvar,
}

#[derive(Debug, Default)]
struct Held {
    now: u64,
    peak: u64,
}

impl MemoryBudget {
    pub fn new(total: u64) -> MemoryBudget {
        MemoryBudget {
            total,
            used: Mutex::new(Held::default()),
            freed: Condvar::new(),
        }
    }

    pub fn total(&self) -> u64 {
        self.total
    }

    /// The most that was reserved at once.
    pub fn peak(&self) -> u64 {
        self.used
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .peak
    }

    /// Waits until `bytes` (at most the total) fit beside what is reserved, and reserves them.
    /// The caller must hold no other reservation.
    pub fn reserve(&self, bytes: u64) -> Reservation<'_> {
        let bytes = bytes.min(self.total);
        let mut held = self.used.lock().unwrap_or_else(PoisonError::into_inner);
        while held.now + bytes > self.total {
            held = self
                .freed
                .wait(held)
                .unwrap_or_else(PoisonError::into_inner);
        }
        held.now += bytes;
        held.peak = held.peak.max(held.now);
        Reservation {
            budget: self,
            bytes,
        }
    }
}

impl Default for MemoryBudget {
    fn default() -> Self {
        MemoryBudget::new(DEFAULT_BYTES)
    }
}

/// Bytes of the budget held until dropped.
#[derive(Debug)]
pub struct Reservation<'a> {
    budget: &'a MemoryBudget,
    bytes: u64,
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        let mut held = self
            .budget
            .used
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        held.now -= self.bytes;
        drop(held);
        self.budget.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// Many threads reserving at random never hold more than the budget together, and every
    /// reservation is eventually granted.
    #[test]
    fn reservations_never_exceed_the_budget_and_all_are_granted() {
        let budget = Arc::new(MemoryBudget::new(1_000));
        let held = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..8u64)
            .map(|t| {
                let (budget, held) = (Arc::clone(&budget), Arc::clone(&held));
                std::thread::spawn(move || {
                    for i in 0..200u64 {
                        let bytes = (t * 131 + i * 37) % 700 + 1;
                        let _r = budget.reserve(bytes);
                        let now = held.fetch_add(bytes, Ordering::SeqCst) + bytes;
                        assert!(now <= 1_000, "{now} held");
                        std::thread::yield_now();
                        held.fetch_sub(bytes, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(budget.peak() <= 1_000);
        assert!(budget.peak() >= 700, "{}", budget.peak());
    }
}
