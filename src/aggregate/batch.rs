//! One file's contribution, aggregated by the worker that parsed it.

use std::borrow::Cow;

use foldhash::HashMap;
use std::sync::Arc;

use jiff::Timestamp;

use super::{CallKey, Outcome, Usage};
use crate::attribute::{Caller, Vending, VendingKind};
use crate::map::failure::FailureClass;
use crate::map::memo::Calls;

/// How a call failed, if it did: its class and its errorCode, borrowed from the file's buffer.
pub type Failure<'a> = Option<(FailureClass, Cow<'a, str>)>;

/// A request's calls (the same `Arc` for every event of the same request: see
/// [`crate::map::memo`]) by address, with how the event failed, if it did.
type RequestRef<'a> = (usize, Failure<'a>);

/// One caller's events in one file, while the file's buffer is alive.
#[derive(Default)]
pub struct CallerActivity<'a> {
    events: u64,
    first_seen: Option<Timestamp>,
    network: super::network::Network,
    /// Events counted per request, spread over the request's calls when the file is done: one
    /// hash of an address per event instead of one of every action and ARN.
    requests: HashMap<RequestRef<'a>, (Calls, Usage)>,
}

impl<'a> CallerActivity<'a> {
    /// One event that made `calls` (a request's calls, shared by every event of that request).
    pub fn request(
        &mut self,
        calls: &Calls,
        error: Failure<'a>,
        at: Timestamp,
        region: u64,
        event: Option<super::EventId>,
    ) {
        if calls.is_empty() {
            return;
        }
        let once = Usage::once_in(at, region, event);
        let address = Arc::as_ptr(calls) as *const () as usize;
        self.requests
            .entry((address, error))
            .and_modify(|(_, u)| u.merge(&once))
            .or_insert_with(|| (Arc::clone(calls), once));
    }

    #[cfg(test)]
    fn into_calls(self) -> HashMap<CallKey, Usage> {
        spread(self.requests)
    }
}

/// The calls of every request, keyed by (action, resource, outcome): the requests are spread
/// straight into the owned keys the aggregator merges, one hash per call.
fn spread(requests: HashMap<RequestRef<'_>, (Calls, Usage)>) -> HashMap<CallKey, Usage> {
    let size = requests.values().map(|(calls, _)| calls.len()).sum();
    let mut out: HashMap<CallKey, Usage> =
        HashMap::with_capacity_and_hasher(size, Default::default());
    for ((_, error), (calls, usage)) in requests {
        let outcome = Outcome::new(error.as_ref().map(|(class, code)| (*class, &**code)));
        for (action, resource, implied_by) in calls.iter() {
            let key = CallKey {
                action: Arc::clone(action),
                resource: Arc::clone(resource),
                implied_by: implied_by.clone(),
                outcome: outcome.clone(),
            };
            out.entry(key)
                .and_modify(|u| u.merge(&usage))
                .or_insert(usage);
        }
    }
    out
}

/// What one caller (a session, role, user or service account) did in one file, owned: every
/// event it made, and its calls aggregated by (action, resource, outcome).
#[derive(Debug, Default)]
pub struct Activity {
    pub events: u64,
    /// The time of the earliest event (in the window).
    pub first_seen: Option<Timestamp>,
    pub calls: HashMap<CallKey, Usage>,
    /// Where its events came from.
    pub network: super::network::Network,
}

impl Activity {
    pub fn merge(&mut self, other: Activity) {
        self.events += other.events;
        self.first_seen = match (self.first_seen, other.first_seen) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.network.merge(&other.network);
        for (key, usage) in other.calls {
            self.calls
                .entry(key)
                .and_modify(|u| u.merge(&usage))
                .or_insert(usage);
        }
    }
}

/// Aggregation of one file while its buffer is alive: keys borrow from it.
#[derive(Default)]
pub struct FileAggregate<'a> {
    callers: HashMap<Caller<'a>, CallerActivity<'a>>,
    vendings: Vec<Vending<'a>>,
    pub counts: crate::stats::Counts,
    unmapped: HashMap<(Cow<'a, str>, Cow<'a, str>), u64>,
}

/// What one file contributed, owned, ready to send to the aggregator.
#[derive(Debug, Default)]
pub struct FileBatch {
    pub location: String,
    pub activity: Vec<(Caller<'static>, Activity)>,
    pub vendings: Vec<Vending<'static>>,
    pub counts: crate::stats::Counts,
    pub unmapped: Vec<((String, String), u64)>,
    /// Bad records and container errors; the file still contributes what was read before.
    pub problems: Vec<crate::stats::Problem>,
    /// Problems past the per-file listing cap, counted only.
    pub problems_not_listed: u64,
    /// The object could not be fetched at all (a network or permission failure, not bad
    /// content): the usage store does not mark it ingested, so the next run tries it again.
    pub unread: bool,
    /// Size and hashes of the object, when ingest was asked for them (evidence packs).
    pub fingerprint: Option<crate::hash::ObjectFingerprint>,
}

impl FileBatch {
    /// Adds what this file contributed to a run's input counters and lists.
    pub fn add_to(&self, stats: &mut crate::stats::InputStats) {
        stats.files += 1;
        if self.unread {
            stats.unread.push(self.location.clone());
        }
        if let Some(fingerprint) = &self.fingerprint {
            stats.objects.push(fingerprint.clone());
        }
        stats.counts += &self.counts;
        stats.skip(&self.location, self.problems.iter().cloned());
        stats.skipped_not_listed += self.problems_not_listed;
        for ((source, name), n) in &self.unmapped {
            stats.add_unmapped(source, name, *n);
        }
    }
}

/// At most this many problems are listed per file; the rest are counted.
const PROBLEMS_LISTED_PER_FILE: usize = 20;

/// One file's problems as they are found: the first few kept with location and reason, all
/// counted, so a file full of bad records costs no more memory than a file with a few.
#[derive(Default)]
pub struct ProblemLog {
    listed: Vec<crate::stats::Problem>,
    total: u64,
}

impl ProblemLog {
    pub fn push(&mut self, location: String, reason: String) {
        if self.listed.len() < PROBLEMS_LISTED_PER_FILE {
            self.listed.push(crate::stats::Problem { location, reason });
        }
        self.total += 1;
    }
}

impl<'a> FileAggregate<'a> {
    /// Counts one event of `caller` at `at` and returns its activity, to record the event's
    /// calls in.
    pub fn event(
        &mut self,
        caller: Caller<'a>,
        at: Timestamp,
        origin: Option<(Option<&str>, Option<&str>)>,
    ) -> &mut CallerActivity<'a> {
        let activity = self.callers.entry(caller).or_default();
        activity.events += 1;
        if let Some((endpoint, source)) = origin {
            activity.network.record(endpoint, source);
        }
        activity.first_seen = Some(activity.first_seen.map_or(at, |t| t.min(at)));
        activity
    }

    pub fn vending(&mut self, vending: Vending<'a>) {
        self.vendings.push(vending);
    }

    pub fn unmapped(&mut self, source: Cow<'a, str>, name: Cow<'a, str>) {
        *self.unmapped.entry((source, name)).or_default() += 1;
    }

    /// Copies out the distinct keys; the file's buffer can then be dropped.
    pub fn into_batch(self, location: String, problems: ProblemLog) -> FileBatch {
        let activity = self
            .callers
            .into_iter()
            .map(|(caller, activity)| {
                let CallerActivity {
                    events,
                    first_seen,
                    network,
                    requests,
                } = activity;
                let owned = Activity {
                    events,
                    first_seen,
                    calls: spread(requests),
                    network,
                };
                (owned_caller(caller), owned)
            })
            .collect();
        let vendings = self.vendings.into_iter().map(owned_vending).collect();
        let unmapped = self
            .unmapped
            .into_iter()
            .map(|((s, n), c)| ((s.into_owned(), n.into_owned()), c))
            .collect();
        FileBatch {
            location,
            activity,
            vendings,
            counts: self.counts,
            unmapped,
            problems_not_listed: problems.total - problems.listed.len() as u64,
            unread: false,
            fingerprint: None,
            problems: problems.listed,
        }
    }
}

fn own(text: Cow<'_, str>) -> Cow<'static, str> {
    Cow::Owned(text.into_owned())
}

fn owned_caller(caller: Caller<'_>) -> Caller<'static> {
    match caller {
        Caller::Session {
            access_key,
            role_arn,
            session_name,
        } => Caller::Session {
            access_key: own(access_key),
            role_arn: own(role_arn),
            session_name: own(session_name),
        },
        Caller::Role {
            role_arn,
            session_name,
        } => Caller::Role {
            role_arn: own(role_arn),
            session_name: own(session_name),
        },
        Caller::User { arn } => Caller::User { arn: own(arn) },
        Caller::ServiceAccount(sa) => Caller::ServiceAccount(sa.into_owned()),
    }
}

fn owned_vending(v: Vending<'_>) -> Vending<'static> {
    Vending {
        access_key: own(v.access_key),
        role_arn: own(v.role_arn),
        session_name: v.session_name.map(own),
        at: v.at,
        kind: match v.kind {
            VendingKind::Irsa(sa) => VendingKind::Irsa(sa.into_owned()),
            VendingKind::PodIdentity(sa) => VendingKind::PodIdentity(sa.into_owned()),
            VendingKind::PodIdentityUntagged { cluster } => VendingKind::PodIdentityUntagged {
                cluster: cluster.map(own),
            },
            VendingKind::Chained { parent_access_key } => VendingKind::Chained {
                parent_access_key: own(parent_access_key),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(activity: CallerActivity<'_>) -> Vec<(String, String, Option<String>, u64)> {
        let mut out: Vec<_> = activity
            .into_calls()
            .into_iter()
            .map(|(key, u)| {
                let error = match key.outcome {
                    Outcome::Allowed => None,
                    Outcome::Failed(code)
                    | Outcome::Denied(code)
                    | Outcome::Unauthenticated(code) => Some(code.into_string()),
                };
                (
                    key.action.to_string(),
                    key.resource.to_string(),
                    error,
                    u.count,
                )
            })
            .collect();
        out.sort();
        out
    }

    /// Counting events per request and spreading them later gives what counting every call of
    /// every event gives, including a call a request makes twice.
    #[test]
    fn events_per_request_spread_like_calls_per_event() {
        let t = |s| Timestamp::from_second(s).unwrap();
        let arc = |s: &str| -> Arc<str> { Arc::from(s) };
        let get: Calls = vec![
            (arc("s3:GetObject"), arc("arn:aws:s3:::b/k"), None),
            (
                arc("kms:Decrypt"),
                arc("arn:aws:kms:us-east-1:1:key/k"),
                None,
            ),
            (
                arc("kms:Decrypt"),
                arc("arn:aws:kms:us-east-1:1:key/k"),
                None,
            ),
        ]
        .into();
        let put: Calls = vec![(arc("s3:PutObject"), arc("arn:aws:s3:::b/k"), None)].into();
        let events = [
            (&get, None, 10),
            (&put, None, 11),
            (&get, Some("AccessDenied"), 12),
            (&get, None, 13),
        ];
        let mut by_request = CallerActivity::default();
        let mut by_call = CallerActivity::default();
        for (request, error, at) in events {
            let error = error.map(|e| (FailureClass::Authorization, Cow::Borrowed(e)));
            by_request.request(request, error.clone(), t(at), 1, None);
            // Each call as a request of its own.
            for call in request.iter() {
                let alone: Calls = vec![call.clone()].into();
                by_call.request(&alone, error.clone(), t(at), 1, None);
            }
        }
        let expected = vec![
            (
                "kms:Decrypt".into(),
                "arn:aws:kms:us-east-1:1:key/k".into(),
                None,
                4,
            ),
            (
                "kms:Decrypt".into(),
                "arn:aws:kms:us-east-1:1:key/k".into(),
                Some("AccessDenied".into()),
                2,
            ),
            ("s3:GetObject".into(), "arn:aws:s3:::b/k".into(), None, 2),
            (
                "s3:GetObject".into(),
                "arn:aws:s3:::b/k".into(),
                Some("AccessDenied".into()),
                1,
            ),
            ("s3:PutObject".into(), "arn:aws:s3:::b/k".into(), None, 1),
        ];
        assert_eq!(calls(by_request), expected);
        assert_eq!(calls(by_call), expected);
    }
}
