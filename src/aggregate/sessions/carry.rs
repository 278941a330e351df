//! What the join hands to the usage store and takes back: settled activity (workloads and retired
//! sessions, stored as usage rows) and the live join state carried from one batch run to the next
//! (bindings still usable and sessions still waiting for their vending).
//!
//! Carrying the live state is what makes a run over day N+1 give the same result as one run over
//! days N and N+1: a session vended at 23:00 on day N and used on day N+1 is still joined.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::{
    Aggregator, Binding, Evidence, Mechanism, PendingSession, UnboundRole, Workload, WorkloadKey,
};
use crate::aggregate::{Activity, CallKey, EventId, Outcome, Usage};
use crate::attribute::ServiceAccount;

/// Activity whose attribution is settled (workloads) or whose session can no longer be bound
/// (`unbound`, decided per role by its trust policy when a recommendation is made).
#[derive(Debug, Default)]
pub struct Settled {
    pub workloads: BTreeMap<WorkloadKey, Workload>,
    /// Keyed by (first role of the chain, EC2 instance session?).
    pub unbound: BTreeMap<(String, bool), UnboundGroup>,
}

/// Retired sessions of one role that no binding explained.
#[derive(Debug, Default)]
pub struct UnboundGroup {
    pub sessions: u64,
    pub roles: BTreeSet<String>,
    pub events: u64,
    pub calls: foldhash::HashMap<CallKey, Usage>,
}

impl Settled {
    pub fn merge(&mut self, other: Settled) {
        for (key, workload) in other.workloads {
            self.workloads.entry(key).or_default().merge(workload);
        }
        for (key, group) in other.unbound {
            let mine = self.unbound.entry(key).or_default();
            mine.sessions += group.sessions;
            mine.events += group.events;
            mine.roles.extend(group.roles);
            merge_calls(&mut mine.calls, group.calls);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.workloads.is_empty() && self.unbound.is_empty()
    }
}

fn merge_calls(
    into: &mut foldhash::HashMap<CallKey, Usage>,
    from: foldhash::HashMap<CallKey, Usage>,
) {
    for (key, usage) in from {
        into.entry(key)
            .and_modify(|u| u.merge(&usage))
            .or_insert(usage);
    }
}

impl Workload {
    /// Adds another part of the same workload's activity (another day, another run).
    pub fn merge(&mut self, other: Workload) {
        self.network.merge(&other.network);
        self.mechanisms.extend(other.mechanisms);
        self.roles.extend(other.roles);
        self.vended_roles.extend(other.vended_roles);
        merge_calls(&mut self.calls, other.calls);
        for (role, calls) in other.calls_by_role {
            merge_calls(self.calls_by_role.entry(role).or_default(), calls);
        }
        for (evidence, tally) in other.evidence {
            let mine = self.evidence.entry(evidence).or_default();
            mine.sessions += tally.sessions;
            mine.events += tally.events;
        }
        if self.trust.is_none() {
            self.trust = other.trust;
        }
        if self.account.is_none() {
            self.account = other.account;
        }
    }
}

/// The join's live state between runs, as JSON in the usage store. Access keys appear only as
/// the SHA-256-derived join keys the aggregator uses, never in the clear.
#[derive(Debug, Default, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JoinState {
    pub bindings: Vec<StoredBinding>,
    pub pending: Vec<StoredSession>,
    pub service_account_roles: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredBinding {
    pub key: String,
    pub vended_at: String,
    pub target: StoredTarget,
    /// A chained session whose chain did not reach a service account or role in its partition
    /// (`extract --join`): counted as a role chain when the driver's join completes it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unsettled: bool,
}

/// Sessions a partition's join could not settle at one of its watermarks, for the driver to
/// settle at the same watermark (`Aggregator::absorb_partition`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deferred {
    pub at: String,
    pub sessions: Vec<StoredSession>,
}

/// What joining one partition of a trail hands on (`iamtrim extract --join`): activity settled
/// to workloads, the sessions deferred at each watermark, and the live state at its end.
#[derive(Debug, Default)]
pub struct PartitionJoin {
    pub settled: Settled,
    pub deferred: Vec<Deferred>,
    pub state: JoinState,
}

pub(super) fn stored_session(key: &str, p: &PendingSession) -> StoredSession {
    StoredSession {
        key: key.to_string(),
        role_arn: p.role_arn.clone(),
        session_name: p.session_name.clone(),
        events: p.activity.events,
        first_seen: p.activity.first_seen.map(|t| t.to_string()),
        calls: sorted_calls(&p.activity.calls)
            .into_iter()
            .map(|(k, u)| StoredCall::from_call(k, u))
            .collect(),
    }
}

fn pending_session(p: StoredSession) -> Result<(Box<str>, PendingSession), String> {
    let mut calls = foldhash::HashMap::default();
    for call in p.calls {
        let (key, usage) = call.into_call()?;
        calls.insert(key, usage);
    }
    let first_seen = p.first_seen.as_deref().map(timestamp).transpose()?;
    Ok((
        p.key.into_boxed_str(),
        PendingSession {
            role_arn: p.role_arn,
            session_name: p.session_name,
            activity: Activity {
                events: p.events,
                first_seen,
                calls,
                network: super::super::network::Network::unknown(),
            },
        },
    ))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum StoredTarget {
    ServiceAccount {
        cluster: String,
        namespace: String,
        name: String,
        evidence: String,
    },
    Untagged,
    Chained {
        parent: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredSession {
    pub key: String,
    pub role_arn: String,
    pub session_name: String,
    pub events: u64,
    pub first_seen: Option<String>,
    pub calls: Vec<StoredCall>,
}

/// One (action, resource, outcome) with its usage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoredCall {
    pub action: String,
    pub resource: String,
    pub error_code: Option<String>,
    /// The call and request member the permission is implied by (`map::implied`).
    #[serde(default)]
    pub implied_by: Option<String>,
    /// `failed`, `denied` or `unauthenticated` ([`crate::map::failure::FailureClass`]); absent
    /// in what was stored before classes were kept, when the code alone decides.
    #[serde(default)]
    pub error_class: Option<String>,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub regions: u64,
    #[serde(default)]
    pub first_event_id: Option<String>,
    #[serde(default)]
    pub last_event_id: Option<String>,
}

impl StoredCall {
    pub fn from_call(key: &CallKey, usage: &Usage) -> Self {
        Self {
            action: key.action.to_string(),
            resource: key.resource.to_string(),
            error_code: key.outcome.error_code().map(str::to_owned),
            implied_by: key.implied_by.as_deref().map(str::to_owned),
            error_class: key.outcome.class().map(|c| c.as_str().to_owned()),
            count: usage.count,
            first_seen: usage.first_seen.to_string(),
            last_seen: usage.last_seen.to_string(),
            regions: usage.regions,
            first_event_id: usage.first_event.map(|e| e.to_string()),
            last_event_id: usage.last_event.map(|e| e.to_string()),
        }
    }

    pub fn into_call(self) -> Result<(CallKey, Usage), String> {
        let key = CallKey {
            action: self.action.into(),
            resource: std::sync::Arc::from(self.resource),
            implied_by: self.implied_by.map(std::sync::Arc::from),
            // Days stored before classes were kept name the action, not the eventSource: only
            // the table's rows for every service apply to them.
            outcome: Outcome::stored(self.error_code.as_deref(), self.error_class.as_deref(), "*"),
        };
        let usage = Usage {
            count: self.count,
            first_seen: timestamp(&self.first_seen)?,
            last_seen: timestamp(&self.last_seen)?,
            regions: self.regions,
            first_event: self.first_event_id.as_deref().and_then(EventId::parse),
            last_event: self.last_event_id.as_deref().and_then(EventId::parse),
        };
        Ok((key, usage))
    }
}

pub fn timestamp(text: &str) -> Result<Timestamp, String> {
    text.parse()
        .map_err(|_| format!("{text:?} is not an RFC 3339 time"))
}

/// Calls in a stable order (for byte-identical state files and store partitions).
pub fn sorted_calls(calls: &foldhash::HashMap<CallKey, Usage>) -> Vec<(&CallKey, &Usage)> {
    let mut out: Vec<_> = calls.iter().collect();
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

impl Evidence {
    pub const ALL: [Evidence; 12] = [
        Self::IrsaWebIdentity,
        Self::IrsaToken,
        Self::PodIdentityTags,
        Self::PodIdentityAssociation,
        Self::TrustPolicy,
        Self::RoleChain,
        Self::RoleSession,
        Self::NodeSession,
        Self::IamUser,
        Self::VendingNotInInput,
        Self::PodIdentityUntagged,
        Self::ServiceAccountAnnotation,
    ];

    pub fn parse(text: &str) -> Option<Evidence> {
        Self::ALL.into_iter().find(|e| e.as_str() == text)
    }
}

impl Mechanism {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Irsa => "irsa",
            Self::PodIdentity => "pod-identity",
        }
    }

    pub fn parse(text: &str) -> Option<Mechanism> {
        [Self::Irsa, Self::PodIdentity]
            .into_iter()
            .find(|m| m.as_str() == text)
    }
}

impl Aggregator {
    /// Hands over everything whose attribution is settled: the workloads' activity so far and
    /// the retired sessions. What stays is the live join state ([`Aggregator::export_state`]).
    pub fn take_settled(&mut self) -> Settled {
        let workloads = self.workloads.drain().collect();
        let unbound = self
            .unbound
            .drain()
            .map(|(key, group)| {
                let UnboundRole {
                    sessions,
                    roles,
                    activity,
                } = group;
                let group = UnboundGroup {
                    sessions,
                    roles,
                    events: activity.events,
                    calls: activity.calls,
                };
                (key, group)
            })
            .collect();
        Settled { workloads, unbound }
    }

    /// Takes settled activity back (from the store), to finish a recommendation over it.
    pub fn load_settled(&mut self, settled: Settled) {
        for (key, mut workload) in settled.workloads {
            // The store keeps no network facts: no perimeter can be drawn from them.
            workload.network = super::super::network::Network::unknown();
            self.workloads.entry(key).or_default().merge(workload);
        }
        self.merge_unbound(settled.unbound);
    }

    /// Adds retired sessions' groups (kept without network facts).
    fn merge_unbound(&mut self, unbound: BTreeMap<(String, bool), UnboundGroup>) {
        for (key, group) in unbound {
            let mine = self.unbound.entry(key).or_default();
            mine.sessions += group.sessions;
            mine.roles.extend(group.roles);
            mine.activity.merge(Activity {
                events: group.events,
                first_seen: None,
                calls: group.calls,
                network: super::super::network::Network::unknown(),
            });
        }
    }

    /// The live join state, sorted so the same state gives the same bytes.
    pub fn export_state(&self) -> JoinState {
        let mut bindings: Vec<StoredBinding> = self
            .bindings
            .iter()
            .map(|(key, (binding, at))| StoredBinding {
                key: key.to_string(),
                vended_at: at.to_string(),
                target: match binding {
                    Binding::ServiceAccount { sa, evidence } => StoredTarget::ServiceAccount {
                        cluster: sa.cluster.to_string(),
                        namespace: sa.namespace.to_string(),
                        name: sa.name.to_string(),
                        evidence: evidence.as_str().to_owned(),
                    },
                    Binding::Untagged => StoredTarget::Untagged,
                    Binding::Chained { parent } => StoredTarget::Chained {
                        parent: parent.to_string(),
                    },
                },
                unsettled: self.deferred.is_some()
                    && matches!(binding, Binding::Chained { .. })
                    && self.resolve(key).is_none(),
            })
            .collect();
        bindings.sort_by(|a, b| a.key.cmp(&b.key));
        let mut pending: Vec<StoredSession> = self
            .pending
            .iter()
            .map(|(key, p)| stored_session(key, p))
            .collect();
        pending.sort_by(|a, b| a.key.cmp(&b.key));
        let mut service_account_roles: Vec<String> =
            self.service_account_roles.iter().cloned().collect();
        service_account_roles.sort();
        JoinState {
            bindings,
            pending,
            service_account_roles,
        }
    }

    /// A join over one partition of a trail (`iamtrim extract --join`): sessions unbound at a
    /// watermark are deferred instead of retired ([`Aggregator::take_partition`]).
    pub fn for_partition(context: super::JoinContext) -> Aggregator {
        let mut aggregator = Aggregator::new(context);
        aggregator.deferred = Some(Vec::new());
        aggregator
    }

    /// What the partition's join hands on: settled workloads, deferred sessions, live state.
    pub fn take_partition(&mut self) -> PartitionJoin {
        let state = self.export_state();
        self.pending.clear();
        self.bindings.clear();
        self.children.clear();
        PartitionJoin {
            settled: self.take_settled(),
            deferred: self.deferred.replace(Vec::new()).unwrap_or_default(),
            state,
        }
    }

    /// Completes the join with a partition's (in listing order), as if its events had been read
    /// here: its workloads are merged; its bindings join the live ones (the first of a key
    /// stands), completing chains that reach into earlier partitions; its deferred sessions are
    /// settled at their watermarks, and its pending ones wait here.
    pub fn absorb_partition(&mut self, partition: PartitionJoin) -> Result<(), String> {
        let PartitionJoin {
            settled,
            deferred,
            state,
        } = partition;
        for (key, workload) in settled.workloads {
            self.workloads.entry(key).or_default().merge(workload);
        }
        self.merge_unbound(settled.unbound);
        self.service_account_roles
            .extend(state.service_account_roles);
        let mut new = Vec::new();
        for b in state.bindings {
            if self.bindings.contains_key(b.key.as_str()) {
                continue;
            }
            let unsettled = b.unsettled;
            let (key, binding, at) = self.binding(b)?;
            new.push((key.clone(), unsettled, binding.clone()));
            self.bindings.insert(key, (binding, at));
        }
        let unsettled: std::collections::HashSet<Box<str>> = new
            .iter()
            .filter(|(_, unsettled, _)| *unsettled)
            .map(|(key, _, _)| key.clone())
            .collect();
        for (key, is_unsettled, binding) in new {
            match binding {
                // A chain completed here is counted once, from its first unsettled link.
                Binding::Chained { parent } if is_unsettled => {
                    if !unsettled.contains(&parent) {
                        self.now_resolvable(&key, 0);
                    }
                }
                _ => self.drain(&key),
            }
        }
        for group in deferred {
            for session in group.sessions {
                let (key, p) = pending_session(session)?;
                self.session_activity(key, p.role_arn, p.session_name, p.activity);
            }
            self.advance(timestamp(&group.at)?);
        }
        for session in state.pending {
            let (key, p) = pending_session(session)?;
            self.session_activity(key, p.role_arn, p.session_name, p.activity);
        }
        Ok(())
    }

    /// A stored binding, recorded as its chain's child when chained.
    fn binding(&mut self, b: StoredBinding) -> Result<(Box<str>, Binding, Timestamp), String> {
        let at = timestamp(&b.vended_at)?;
        let key: Box<str> = b.key.into_boxed_str();
        let binding = match b.target {
            StoredTarget::ServiceAccount {
                cluster,
                namespace,
                name,
                evidence,
            } => Binding::ServiceAccount {
                sa: std::sync::Arc::new(ServiceAccount {
                    cluster: cluster.into(),
                    namespace: namespace.into(),
                    name: name.into(),
                }),
                evidence: Evidence::parse(&evidence)
                    .ok_or_else(|| format!("unknown evidence {evidence:?}"))?,
            },
            StoredTarget::Untagged => Binding::Untagged,
            StoredTarget::Chained { parent } => {
                let parent = parent.into_boxed_str();
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .push(key.clone());
                Binding::Chained { parent }
            }
        };
        Ok((key, binding, at))
    }

    /// Restores the live join state a previous run left.
    pub fn import_state(&mut self, state: JoinState) -> Result<(), String> {
        for b in state.bindings {
            let (key, binding, at) = self.binding(b)?;
            self.bindings.insert(key, (binding, at));
        }
        for p in state.pending {
            let (key, session) = pending_session(p)?;
            self.pending.insert(key, session);
        }
        self.service_account_roles
            .extend(state.service_account_roles);
        Ok(())
    }
}
