//! Aggregate: usage rows keyed by (workload, action, resource, outcome) with counts and first/last
//! seen. Memory grows with distinct keys and live sessions, never with events or files.
//!
//! Two levels: each file is pre-aggregated by a worker into a [`FileBatch`] (keys borrowed from the
//! file's buffer while it is parsed, owned once per distinct key at the end), and the single
//! [`Aggregator`] merges batches and performs the session join (`sessions`).

mod batch;
pub mod network;
mod sessions;

use std::sync::Arc;

use jiff::Timestamp;

use crate::map::failure::FailureClass;

pub use batch::{Activity, FileAggregate, FileBatch, ProblemLog};
pub use sessions::{
    Aggregator, Coverage, Deferred, Evidence, JoinContext, JoinState, Mechanism, PartitionJoin,
    Settled, StoredBinding, StoredCall, StoredSession, StoredTarget, Tally, UnboundGroup, Workload,
    WorkloadKey, sorted_calls, timestamp,
};

/// Whether the call succeeded, and if not, what its `errorCode` says about the permission
/// ([`crate::map::failure`]): only a call denied by authorization is never a grant.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Outcome {
    Allowed,
    /// Failed after IAM allowed it (not found, conflict, throttled ...): the permission was used.
    Failed(Box<str>),
    /// Denied by authorization: never a grant, listed as denied.
    Denied(Box<str>),
    /// The credentials were rejected before authorization: neither granted nor denied.
    Unauthenticated(Box<str>),
}

impl Outcome {
    /// The outcome of a call that failed with `code` of `class`, or succeeded.
    pub fn new(failure: Option<(FailureClass, &str)>) -> Outcome {
        match failure {
            None => Outcome::Allowed,
            Some((FailureClass::AfterAuthorization, code)) => Outcome::Failed(code.into()),
            Some((FailureClass::Authorization, code)) => Outcome::Denied(code.into()),
            Some((FailureClass::Authentication, code)) => Outcome::Unauthenticated(code.into()),
        }
    }

    /// From stored columns: the class when it was stored, else the code's class by the table
    /// alone, for calls to `source` (stores written before classes were kept).
    pub fn stored(code: Option<&str>, class: Option<&str>, source: &str) -> Outcome {
        Outcome::new(code.map(|code| {
            let class = class
                .and_then(FailureClass::parse)
                .unwrap_or_else(|| crate::map::failure::classify(source, code, None));
            (class, code)
        }))
    }

    /// Whether the call used its permission: it succeeded or failed after authorization.
    pub fn used(&self) -> bool {
        matches!(self, Outcome::Allowed | Outcome::Failed(_))
    }

    pub fn error_code(&self) -> Option<&str> {
        match self {
            Outcome::Allowed => None,
            Outcome::Failed(code) | Outcome::Denied(code) | Outcome::Unauthenticated(code) => {
                Some(code)
            }
        }
    }

    pub fn class(&self) -> Option<FailureClass> {
        match self {
            Outcome::Allowed => None,
            Outcome::Failed(_) => Some(FailureClass::AfterAuthorization),
            Outcome::Denied(_) => Some(FailureClass::Authorization),
            Outcome::Unauthenticated(_) => Some(FailureClass::Authentication),
        }
    }
}

/// One (action, resource, outcome): what a workload's usage is keyed by. Hashed and ordered by
/// content; equal when the same `Arc`s are shared (see [`CallKey::eq`]).
#[allow(clippy::derived_hash_with_manual_eq)] // `eq` agrees with the content hash: see there.
#[derive(Debug, Clone, Eq, Hash, PartialOrd, Ord)]
pub struct CallKey {
    pub action: Arc<str>,
    pub resource: Arc<str>,
    /// The call and request member this permission is implied by (`map::implied`), None for a
    /// call's own action.
    pub implied_by: Option<Arc<str>>,
    pub outcome: Outcome,
}

/// By content, but first by address: the standard library compares `Arc<str>`s by content only
/// (its shortcut for shared `Arc`s needs a sized type), and keys built from one worker's memo
/// and interner share their `Arc`s, so most comparisons while merging need no `memcmp`.
impl PartialEq for CallKey {
    fn eq(&self, other: &Self) -> bool {
        fn same(a: &Arc<str>, b: &Arc<str>) -> bool {
            Arc::ptr_eq(a, b) || **a == **b
        }
        same(&self.action, &other.action)
            && same(&self.resource, &other.resource)
            && match (&self.implied_by, &other.implied_by) {
                (Some(a), Some(b)) => same(a, b),
                (None, None) => true,
                _ => false,
            }
            && self.outcome == other.outcome
    }
}

/// A CloudTrail `eventID`, kept by value so usage stays `Copy`. CloudTrail's event IDs are
/// lowercase UUIDs (128 bits); an ID in any other form is not kept as a sample.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventId([u8; 16]);

impl EventId {
    pub fn parse(text: &str) -> Option<EventId> {
        let bytes: &[u8; 36] = text.as_bytes().try_into().ok()?;
        if bytes[8] != b'-' || bytes[13] != b'-' || bytes[18] != b'-' || bytes[23] != b'-' {
            return None;
        }
        // The 32 hex digits, by position; one table lookup per digit.
        const DIGITS: [usize; 32] = [
            0, 1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25, 26, 27,
            28, 29, 30, 31, 32, 33, 34, 35,
        ];
        let mut out = [0u8; 16];
        let mut bad = 0u8;
        for (i, byte) in out.iter_mut().enumerate() {
            let high = HEX[usize::from(bytes[DIGITS[2 * i]])];
            let low = HEX[usize::from(bytes[DIGITS[2 * i + 1]])];
            bad |= high | low;
            *byte = (high << 4) | (low & 0x0f);
        }
        (bad & 0x80 == 0).then_some(EventId(out))
    }
}

/// Lowercase hex digit values; 0x80 marks anything else.
const HEX: [u8; 256] = {
    let mut table = [0x80u8; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, byte) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{byte:02x}")?;
        }
        Ok(())
    }
}

/// How often, and when first and last, a call was seen, with the eventIDs of those first and
/// last calls (samples anyone can look up in CloudTrail).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub count: u64,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    /// The regions the calls were made in (`policy::regions` bits).
    pub regions: u64,
    /// The earliest call's eventID (the smallest, among calls at that same second).
    pub first_event: Option<EventId>,
    /// The latest call's eventID (the largest, among calls at that same second).
    pub last_event: Option<EventId>,
}

impl Usage {
    pub fn once(at: Timestamp) -> Self {
        Self::once_in(at, 0, None)
    }

    pub fn once_in(at: Timestamp, regions: u64, event: Option<EventId>) -> Self {
        Self {
            count: 1,
            first_seen: at,
            last_seen: at,
            regions,
            first_event: event,
            last_event: event,
        }
    }

    /// Adds `other`. The samples depend only on the calls, never on the order of merging.
    pub fn merge(&mut self, other: &Usage) {
        self.count += other.count;
        self.regions |= other.regions;
        match other.first_seen.cmp(&self.first_seen) {
            std::cmp::Ordering::Less => self.first_event = other.first_event,
            std::cmp::Ordering::Equal => {
                self.first_event = match (self.first_event, other.first_event) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
            std::cmp::Ordering::Greater => {}
        }
        match other.last_seen.cmp(&self.last_seen) {
            std::cmp::Ordering::Greater => self.last_event = other.last_event,
            std::cmp::Ordering::Equal => self.last_event = self.last_event.max(other.last_event),
            std::cmp::Ordering::Less => {}
        }
        self.first_seen = self.first_seen.min(other.first_seen);
        self.last_seen = self.last_seen.max(other.last_seen);
    }
}

/// The grants calls need: each call that used its permission (allowed, or failed after
/// authorization) as (action, resource, regions), for `synth::synthesize`. Workload policies,
/// role policies and the diff's proposal all come from this one selection.
pub fn used_grants<'a>(
    calls: impl IntoIterator<Item = (&'a CallKey, &'a Usage)>,
) -> impl Iterator<Item = (&'a str, &'a str, u64)> {
    calls
        .into_iter()
        .filter(|(call, _)| call.outcome.used())
        .map(|(call, usage)| (&*call.action, &*call.resource, usage.regions))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys compare by content whether or not they share their `Arc`s, and hash alike.
    #[test]
    fn call_keys_equal_by_content_or_by_shared_arcs() {
        use std::hash::BuildHasher;
        let key = |action: &str, resource: &str, outcome: Outcome| CallKey {
            action: Arc::from(action),
            resource: Arc::from(resource),
            implied_by: None,
            outcome,
        };
        let a = key("s3:GetObject", "arn:aws:s3:::b/k", Outcome::Allowed);
        let shared = a.clone();
        let copied = key("s3:GetObject", "arn:aws:s3:::b/k", Outcome::Allowed);
        assert!(a == shared && a == copied);
        let hasher = foldhash::fast::FixedState::with_seed(7);
        assert_eq!(hasher.hash_one(&a), hasher.hash_one(&copied));
        assert!(a != key("s3:GetObject", "arn:aws:s3:::b/j", Outcome::Allowed));
        assert!(
            a != key(
                "s3:GetObject",
                "arn:aws:s3:::b/k",
                Outcome::Denied("AccessDenied".into())
            )
        );
        let mut implied = a.clone();
        implied.implied_by = Some(Arc::from("s3:GetObject requestParameters.x"));
        assert!(a != implied && implied == implied.clone());
    }

    fn at(second: i64) -> Timestamp {
        Timestamp::from_second(1_800_000_000 + second).unwrap()
    }

    fn id(n: u8) -> Option<EventId> {
        EventId::parse(&format!("{n:02x}6b4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b"))
    }

    #[test]
    fn event_ids_round_trip_and_refuse_other_forms() {
        let text = "3d6b4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5b";
        assert_eq!(EventId::parse(text).unwrap().to_string(), text);
        assert_eq!(EventId::parse("3D6B4A8E-1C2D-4E5F-8A9B-0C1D2E3F4A5B"), None);
        assert_eq!(EventId::parse("3d6b4a8e1c2d4e5f8a9b0c1d2e3f4a5b"), None);
        assert_eq!(EventId::parse("not-an-id"), None);
        assert_eq!(EventId::parse("3d6b4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5g"), None);
        assert_eq!(
            EventId::parse("3d6b4a8e-1c2d-4e5f-8a9b-0c1d2e3f4a5\u{e9}"),
            None
        );
    }

    /// The samples are the first and the last call, whatever order usage is merged in.
    #[test]
    fn samples_do_not_depend_on_merge_order() {
        let calls = [
            Usage::once_in(at(5), 0, id(3)),
            Usage::once_in(at(1), 0, id(9)),
            Usage::once_in(at(1), 0, id(2)),
            Usage::once_in(at(9), 0, id(1)),
            Usage::once_in(at(9), 0, id(7)),
            Usage::once_in(at(9), 0, None),
        ];
        let mut orders = vec![calls.to_vec()];
        let mut reversed = calls.to_vec();
        reversed.reverse();
        orders.push(reversed);
        orders.push(vec![
            calls[3], calls[0], calls[5], calls[2], calls[4], calls[1],
        ]);
        for order in orders {
            let mut total = order[0];
            for u in &order[1..] {
                total.merge(u);
            }
            assert_eq!(total.count, 6);
            assert_eq!(
                total.first_event,
                id(2),
                "smallest ID at the earliest second"
            );
            assert_eq!(total.last_event, id(7), "largest ID at the latest second");
        }
    }
}
