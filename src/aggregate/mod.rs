//! Aggregate: usage rows keyed by (workload, action, resource, outcome) with counts and first/last
//! seen. Memory grows with distinct keys and live sessions, never with events or files.
//!
//! Two levels: each file is pre-aggregated by a worker into a [`FileBatch`] (keys borrowed from the
//! file's buffer while it is parsed, owned once per distinct key at the end), and the single
//! [`Aggregator`] merges batches and performs the session join (`sessions`).

mod batch;
mod sessions;

use std::sync::Arc;

use jiff::Timestamp;

pub use batch::{Activity, FileAggregate, FileBatch, FileProblem, ProblemLog};
pub use sessions::{
    Aggregator, Coverage, Evidence, JoinContext, JoinState, Mechanism, Settled, StoredBinding,
    StoredCall, StoredSession, StoredTarget, Tally, UnboundGroup, Workload, WorkloadKey,
    sorted_calls, timestamp,
};

/// Whether the call succeeded; a failed call is never a grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Allowed,
    /// The call failed with this `errorCode`.
    Denied(Box<str>),
}

/// One (action, resource, outcome): what a workload's usage is keyed by.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    pub action: Arc<str>,
    pub resource: Box<str>,
    pub outcome: Outcome,
}

/// How often, and when first and last, a call was seen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub count: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The regions the calls were made in (`policy::regions` bits).
    pub regions: u64,
}

impl Usage {
    pub fn once(at: Timestamp) -> Self {
        Self::once_in(at, 0)
    }

    pub fn once_in(at: Timestamp, regions: u64) -> Self {
        Self {
            count: 1,
            first_seen: at,
            last_seen: at,
            regions,
        }
    }

    pub fn merge(&mut self, other: &Usage) {
        self.count += other.count;
        self.regions |= other.regions;
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}
