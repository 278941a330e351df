//! Report: the recommendation as data (the versioned JSON contract in docs/OUTPUT.md), as text for
//! a person, and as one policy file per workload.

pub mod files;
pub mod findings;
pub mod kubernetes;
pub mod roles;
pub mod split;
pub mod text;
#[cfg(feature = "store")]
pub mod upload;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::aggregate::{Coverage, Mechanism, Outcome, Tally, Usage, Workload, WorkloadKey};
use crate::lookup::ContextSummary;
use crate::policy::PolicyDocument;
use crate::stats::{InputStats, Problem, Unmapped};
use crate::synth::{Generalization, PolicySize, SynthConfig};
use crate::window::TimeWindow;

pub const SCHEMA: &str = "iamtrim.recommendation/v1";

#[derive(Debug, Serialize)]
pub struct Recommendation {
    pub schema: &'static str,
    pub window: Window,
    pub input: Input,
    pub attribution: Attribution,
    pub shared_roles: Vec<findings::SharedRole>,
    pub workloads: Vec<WorkloadReport>,
    /// The policy to attach to each role of the reported workloads (docs/OUTPUT.md).
    pub roles: Vec<roles::RoleReport>,
    pub unmapped: Vec<Unmapped>,
    /// The cluster's view (`--k8s-inventory`, Pod Identity associations) beside the trail's:
    /// present when an inventory was read or it has findings.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kubernetes: Option<kubernetes::KubernetesView>,
    /// With `--diff` (or `iamtrim diff`): each reported role against its current policies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub diffs: Option<Vec<crate::diff::RoleDiff>>,
}

/// Attribution coverage: every workload event in the window, by where it landed and why.
#[derive(Debug, Default, Serialize)]
pub struct Attribution {
    /// Events attributed to a service account, to a role only, to an IAM user, or left at role
    /// level because the session could not be tied to its service account.
    pub events: CoverageCounts,
    /// Events by the evidence their attribution rests on (see docs/ATTRIBUTION.md).
    pub by_evidence: BTreeMap<&'static str, EvidenceTally>,
    /// What the join knew besides the trail.
    pub context: ContextSummary,
}

#[derive(Debug, Default, Serialize)]
pub struct CoverageCounts {
    pub service_account: u64,
    pub role: u64,
    pub user: u64,
    pub unattributed: u64,
}

#[derive(Debug, Default, Clone, Copy, Serialize)]
pub struct EvidenceTally {
    pub sessions: u64,
    pub events: u64,
}

impl From<Tally> for EvidenceTally {
    fn from(t: Tally) -> Self {
        Self {
            sessions: t.sessions,
            events: t.events,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct Window {
    pub start: Option<String>,
    pub end: Option<String>,
}

/// A run's input counters as written in the recommendation (`input`) and in the evidence
/// manifest (`input`, with `unmapped` instead of `source_notes`).
#[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Input {
    pub files: u64,
    pub records: u64,
    pub bad_records: u64,
    pub outside_window: u64,
    pub duplicate_events: u64,
    /// Copies of an action delivered to several accounts (same `sharedEventID`) beyond the
    /// first: read, not counted as calls again.
    #[serde(default)]
    pub shared_event_copies: u64,
    /// Records whose `eventTime` was read in the exported form (`YYYY-MM-DD HH:MM:SS`, UTC).
    #[serde(default)]
    pub exported_event_times: u64,
    pub no_permission_needed: u64,
    pub mapped_events: u64,
    pub not_workload_activity: BTreeMap<String, u64>,
    pub skipped: Vec<Problem>,
    pub skipped_not_listed: u64,
    pub ignored: Vec<Problem>,
    /// What the source cannot see (e.g. LookupEvents: no data events). Recommendation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_notes: Option<Vec<String>>,
    /// What the trail does not record (`observe`). Recommendation only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub coverage: Option<crate::observe::Coverage>,
    /// Calls no IAM action is known for. Evidence manifest only (the recommendation has them
    /// at its top level).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unmapped: Option<Vec<Unmapped>>,
}

impl From<&InputStats> for Input {
    fn from(input: &InputStats) -> Self {
        let c = &input.counts;
        Self {
            files: input.files,
            records: c.records,
            bad_records: c.bad_records,
            outside_window: c.outside_window,
            duplicate_events: c.duplicates,
            shared_event_copies: c.shared_copies,
            exported_event_times: c.exported_times,
            no_permission_needed: c.no_permission,
            mapped_events: c.mapped,
            not_workload_activity: c
                .not_workload
                .iter()
                .map(|(r, n)| (r.as_str().to_owned(), *n))
                .collect(),
            skipped: input.skipped.clone(),
            skipped_not_listed: input.skipped_not_listed,
            ignored: input.ignored.clone(),
            source_notes: None,
            coverage: None,
            unmapped: None,
        }
    }
}

#[derive(Debug, Serialize)]
pub struct WorkloadReport {
    pub id: String,
    pub kind: &'static str,
    pub account: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    pub roles: Vec<String>,
    /// With `--k8s-inventory`: the controllers of the pods that run as this service account
    /// (`Deployment/api`, `CronJob/report`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub owners: Vec<String>,
    pub unattributed_sessions: u64,
    /// Sessions and events by the evidence they were attributed on.
    pub evidence: BTreeMap<&'static str, EvidenceTally>,
    pub findings: Vec<findings::Finding>,
    /// The workload's total need; for attaching only when the workload uses one role of its
    /// own (`policy_by_role` and `roles[]` say which role each permission belongs to).
    pub policy: Option<PolicyDocument>,
    /// How big `policy` is against IAM's limit.
    pub policy_size: PolicySize,
    /// Only when `policy` is over the limit after generalising: parts that each fit.
    pub policy_parts: Vec<PolicyDocument>,
    /// The same need by the role whose sessions made the calls.
    pub policy_by_role: BTreeMap<String, PolicyDocument>,
    /// Every generalisation rule applied to reach `policy` (docs/SYNTHESIS.md).
    pub generalizations: Vec<Generalization>,
    /// Calls a policy refused: never granted.
    pub denied: Vec<Denied>,
    /// Calls whose credentials were rejected before any policy was evaluated (expired or
    /// invalid tokens, bad signatures): neither granted nor denied.
    pub unauthenticated: Vec<Denied>,
    pub usage: Vec<UsageRow>,
}

#[derive(Debug, Serialize)]
pub struct Denied {
    pub action: String,
    pub resource: String,
    pub count: u64,
    pub error_codes: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct UsageRow {
    pub action: String,
    pub resource: String,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    /// The regions the calls were made in (`awsRegion`), where known.
    pub regions: Vec<&'static str>,
    /// The eventIDs of the first and the last call (one when they are the same call): look
    /// them up in CloudTrail to see the calls themselves.
    pub sample_event_ids: Vec<String>,
    /// Of `count`, the calls that failed after IAM allowed them (not found, conflict,
    /// throttled ...): they used the permission all the same.
    pub failed_calls: u64,
    /// The error codes of those calls.
    pub error_codes: Vec<String>,
    /// Where the permission is implied by a request (`prefix:Operation member`, e.g.
    /// `s3:PutObject x-amz-server-side-encryption-aws-kms-key-id`) rather than being the call's
    /// own action; empty for a call's own action.
    pub implied_by: Vec<String>,
    #[serde(skip)]
    pub region_mask: u64,
}

/// The eventIDs of a usage's first and last call, without repeats.
pub fn sample_event_ids(usage: &crate::aggregate::Usage) -> Vec<String> {
    let mut ids: Vec<String> = [usage.first_event, usage.last_event]
        .into_iter()
        .flatten()
        .map(|id| id.to_string())
        .collect();
    ids.dedup();
    ids
}

/// Which workloads to report (`--role`, `--workload`); empty means all.
#[derive(Debug, Clone, Default)]
pub struct WorkloadFilter {
    pub roles: Vec<String>,
    pub workloads: Vec<String>,
}

impl WorkloadFilter {
    pub fn is_empty(&self) -> bool {
        self.roles.is_empty() && self.workloads.is_empty()
    }

    fn matches(&self, report: &WorkloadReport) -> bool {
        if self.is_empty() {
            return true;
        }
        let role_match = self.roles.iter().any(|wanted| {
            report
                .roles
                .iter()
                .any(|arn| arn == wanted || role_name(arn) == Some(wanted.as_str()))
        });
        let workload_match = self.workloads.iter().any(|wanted| {
            report.id == *wanted
                || match (&report.namespace, &report.service_account) {
                    (Some(ns), Some(sa)) => {
                        wanted.split_once('/') == Some((ns.as_str(), sa.as_str()))
                    }
                    _ => false,
                }
        });
        role_match || workload_match
    }
}

/// `arn:aws:iam::1:role/path/name` → `name`.
pub fn role_name(arn: &str) -> Option<&str> {
    arn.split_once(":role/")
        .map(|(_, rest)| rest.rsplit('/').next().unwrap_or(rest))
}

/// Builds the report from the finished join.
pub fn build(
    workloads: Vec<(WorkloadKey, Workload)>,
    input: &InputStats,
    window: TimeWindow,
    filter: &WorkloadFilter,
    context: ContextSummary,
    synth: SynthConfig,
    facts: crate::k8s::ClusterFacts<'_>,
) -> Recommendation {
    let mut attribution = Attribution {
        context,
        ..Attribution::default()
    };
    for (_, workload) in &workloads {
        for (evidence, tally) in &workload.evidence {
            let bucket = match evidence.coverage() {
                Coverage::ServiceAccount => &mut attribution.events.service_account,
                Coverage::Role => &mut attribution.events.role,
                Coverage::User => &mut attribution.events.user,
                Coverage::Unattributed => &mut attribution.events.unattributed,
            };
            *bucket += tally.events;
            let total = attribution
                .by_evidence
                .entry(evidence.as_str())
                .or_default();
            total.sessions += tally.sessions;
            total.events += tally.events;
        }
    }
    let mut shared_roles = findings::shared_roles(&workloads);
    let mut roles = roles::role_reports(&workloads, synth);
    let vended: BTreeMap<String, BTreeSet<String>> = workloads
        .iter()
        .filter(|(key, _)| matches!(key, WorkloadKey::ServiceAccount(_)))
        .map(|(key, w)| (key.id(), w.vended_roles.clone()))
        .collect();
    let mut workloads: Vec<WorkloadReport> = workloads
        .into_iter()
        .map(|(key, w)| workload_report(&key, w, &shared_roles, synth))
        .collect();
    // Split plans and the cluster's view need every workload, reported or not.
    split::plan(&mut shared_roles, &workloads, &vended);
    let kubernetes = kubernetes::build(&mut workloads, &vended, facts);
    let workloads: Vec<WorkloadReport> = workloads
        .into_iter()
        .filter(|w| filter.matches(w))
        .collect();
    if !filter.is_empty() {
        let reported: BTreeSet<&String> = workloads.iter().flat_map(|w| &w.roles).collect();
        roles.retain(|r| reported.contains(&r.role));
    }
    let observed = |pick: fn(&UsageRow) -> &String, max: bool| {
        let times = workloads.iter().flat_map(|w| w.usage.iter().map(pick));
        if max {
            times.max().cloned()
        } else {
            times.min().cloned()
        }
    };
    let window = Window {
        start: window
            .start
            .map(|t| t.to_string())
            .or_else(|| observed(|u| &u.first_seen, false)),
        end: window
            .end
            .map(|t| t.to_string())
            .or_else(|| observed(|u| &u.last_seen, true)),
    };
    Recommendation {
        schema: SCHEMA,
        window,
        attribution,
        shared_roles,
        input: Input {
            source_notes: Some(input.source_notes.clone()),
            ..Input::from(input)
        },
        workloads,
        roles,
        kubernetes: (!kubernetes.is_empty()).then_some(kubernetes),
        diffs: None,
        unmapped: input.unmapped_list(),
    }
}

/// Points each finding that a proposal resolves at that proposal (`fix`, a JSON pointer): a
/// shared role at its split plan, a trust-policy finding at the proposed trust policy.
pub fn link_fixes(recommendation: &mut Recommendation) {
    let shared = &recommendation.shared_roles;
    for workload in &mut recommendation.workloads {
        for finding in &mut workload.findings {
            if finding.kind != "shared-role" {
                continue;
            }
            // The shared role whose service accounts are this one and the finding's subjects
            // (the others).
            finding.fix = shared.iter().enumerate().find_map(|(i, s)| {
                let shares = s.service_accounts.len() == finding.subjects.len() + 1
                    && finding
                        .subjects
                        .iter()
                        .all(|o| s.service_accounts.contains(o));
                let j = s
                    .split
                    .iter()
                    .position(|e| e.service_account == workload.id)?;
                shares.then(|| format!("/shared_roles/{i}/split/{j}"))
            });
        }
    }
    for role in &mut recommendation.roles {
        let at = shared
            .iter()
            .position(|s| s.role == role.role && !s.split.is_empty());
        for finding in &mut role.findings {
            if finding.kind == "shared-role" {
                finding.fix = at.map(|i| format!("/shared_roles/{i}/split"));
            }
        }
    }
    for (i, diff) in recommendation.diffs.iter_mut().flatten().enumerate() {
        let proposed = diff.proposed_trust_policy.is_some();
        if let Some(trust) = &mut diff.trust
            && proposed
            && !trust.findings.is_empty()
        {
            trust.fix = Some(format!("/diffs/{i}/proposed_trust_policy"));
        }
    }
}

/// Why a node role gets no network condition.
pub const NODE_NETWORK: &str = "a node role: each node calls from its own address, and the nodes \
     of a group come and go";

/// One (action, resource)'s calls that used their permission, merged across outcomes and
/// origins.
struct UsedCall<'a> {
    stats: Usage,
    failed_calls: u64,
    codes: BTreeSet<&'a str>,
    implied_by: BTreeSet<&'a str>,
}

fn workload_report(
    key: &WorkloadKey,
    mut workload: Workload,
    shared_roles: &[findings::SharedRole],
    synth: SynthConfig,
) -> WorkloadReport {
    let (kind, cluster, namespace, service_account) = match key {
        WorkloadKey::ServiceAccount(sa) => {
            let kind = if workload.mechanisms.contains(&Mechanism::PodIdentity)
                && !workload.mechanisms.contains(&Mechanism::Irsa)
            {
                "pod-identity"
            } else {
                "irsa"
            };
            (
                kind,
                Some(sa.cluster.to_string()),
                Some(sa.namespace.to_string()),
                Some(sa.name.to_string()),
            )
        }
        WorkloadKey::Role(_) if findings::is_node_role(&workload) => {
            ("node-role", None, None, None)
        }
        WorkloadKey::Role(_) => ("role", None, None, None),
        WorkloadKey::User(_) => ("user", None, None, None),
    };
    let mut calls: Vec<_> = std::mem::take(&mut workload.calls).into_iter().collect();
    calls.sort_by(|a, b| a.0.cmp(&b.0));
    // Calls that used their permission: successful ones and those that failed after
    // authorization, one row per (action, resource).
    let mut used: BTreeMap<(&str, &str), UsedCall<'_>> = BTreeMap::new();
    let mut denied: BTreeMap<(String, String), (u64, BTreeSet<String>)> = BTreeMap::new();
    let mut unauthenticated: BTreeMap<(String, String), (u64, BTreeSet<String>)> = BTreeMap::new();
    for (call, stats) in &calls {
        let failed = match &call.outcome {
            Outcome::Allowed => None,
            Outcome::Failed(code) => Some(&**code),
            Outcome::Denied(code) | Outcome::Unauthenticated(code) => {
                let list = if matches!(call.outcome, Outcome::Denied(_)) {
                    &mut denied
                } else {
                    &mut unauthenticated
                };
                let entry = list
                    .entry((call.action.to_string(), call.resource.to_string()))
                    .or_default();
                entry.0 += stats.count;
                entry.1.insert(code.to_string());
                continue;
            }
        };
        let entry = used
            .entry((&*call.action, &*call.resource))
            .or_insert_with(|| UsedCall {
                stats: Usage { count: 0, ..*stats },
                failed_calls: 0,
                codes: BTreeSet::new(),
                implied_by: BTreeSet::new(),
            });
        entry.stats.merge(stats);
        if let Some(origin) = &call.implied_by {
            entry.implied_by.insert(origin);
        }
        if let Some(code) = failed {
            entry.failed_calls += stats.count;
            entry.codes.insert(code);
        }
    }
    let usage: Vec<UsageRow> = used
        .into_iter()
        .map(
            |(
                (action, resource),
                UsedCall {
                    stats,
                    failed_calls,
                    codes,
                    implied_by,
                },
            )| UsageRow {
                action: action.to_owned(),
                resource: resource.to_owned(),
                count: stats.count,
                first_seen: stats.first_seen.to_string(),
                last_seen: stats.last_seen.to_string(),
                regions: crate::policy::regions::names(stats.regions),
                sample_event_ids: sample_event_ids(&stats),
                failed_calls,
                error_codes: codes.into_iter().map(str::to_owned).collect(),
                implied_by: implied_by.into_iter().map(str::to_owned).collect(),
                region_mask: stats.regions,
            },
        )
        .collect();
    // The network perimeter, when asked for and every call agrees (else a finding says why).
    let network = synth.network_condition.then(|| {
        if kind == "node-role" {
            Err(NODE_NETWORK.to_owned())
        } else {
            workload.network.condition()
        }
    });
    let condition = network.as_ref().and_then(|n| n.as_ref().ok());
    let exempt: BTreeSet<String> = usage
        .iter()
        .filter(|u| !u.implied_by.is_empty())
        .map(|u| u.action.clone())
        .collect();
    let synthesis = crate::synth::synthesize_within(
        usage
            .iter()
            .map(|u| (u.action.as_str(), u.resource.as_str(), u.region_mask)),
        synth,
        crate::synth::perimeter(condition, &exempt),
    );
    let allowed: Vec<&str> = usage.iter().map(|u| u.action.as_str()).collect();
    let mut findings = findings::workload_findings(&workload, &allowed);
    if let Some(network) = &network {
        findings.push(findings::network_perimeter(network, &exempt));
    }
    findings.extend(findings::policy_size(&synthesis.size));
    let rejected: u64 = unauthenticated.values().map(|(count, _)| count).sum();
    if rejected > 0 {
        let codes: BTreeSet<&str> = unauthenticated
            .values()
            .flat_map(|(_, codes)| codes.iter().map(String::as_str))
            .collect();
        findings.push(findings::Finding {
            kind: "unauthenticated-calls",
            fix: None,
            message: format!(
                "{rejected} calls were rejected before authorization ({}): their credentials were \
                 expired or not valid, so they say nothing about permissions and are neither \
                 granted nor denied; check how the workload refreshes its credentials",
                codes.into_iter().collect::<Vec<_>>().join(", ")
            ),
            subjects: Vec::new(),
        });
    }
    let id = key.id();
    for shared in shared_roles {
        if shared.service_accounts.contains(&id) {
            let others: Vec<String> = shared
                .service_accounts
                .iter()
                .filter(|sa| **sa != id)
                .cloned()
                .collect();
            findings.push(findings::Finding {
                kind: "shared-role",
                fix: None,
                message: format!(
                    "role {} is also used by {}: {}",
                    shared.role,
                    others.join(", "),
                    shared.recommendation
                ),
                subjects: others,
            });
        }
    }
    let unattributed_sessions = workload
        .evidence
        .iter()
        .filter(|(e, _)| e.coverage() == Coverage::Unattributed)
        .map(|(_, t)| t.sessions)
        .sum();
    let policy_by_role = roles::policy_by_role(&workload, synth, condition);
    WorkloadReport {
        id,
        kind,
        account: workload.account,
        cluster,
        namespace,
        service_account,
        roles: workload.roles.into_iter().collect(),
        owners: Vec::new(),
        unattributed_sessions,
        evidence: workload
            .evidence
            .iter()
            .map(|(e, t)| (e.as_str(), EvidenceTally::from(*t)))
            .collect(),
        findings,
        policy: synthesis.policy,
        policy_size: synthesis.size,
        policy_parts: synthesis.parts,
        policy_by_role,
        generalizations: synthesis.generalizations,
        denied: failed_calls(denied),
        unauthenticated: failed_calls(unauthenticated),
        usage,
    }
}

/// Failed calls grouped by (action, resource), with their counts and error codes.
fn failed_calls(calls: BTreeMap<(String, String), (u64, BTreeSet<String>)>) -> Vec<Denied> {
    calls
        .into_iter()
        .map(|((action, resource), (count, codes))| Denied {
            action,
            resource,
            count,
            error_codes: codes.into_iter().collect(),
        })
        .collect()
}

/// The recommendation as JSON with sorted keys and a trailing newline.
pub fn to_json(recommendation: &Recommendation) -> String {
    // Through `Value`, whose map is ordered: every object's keys come out sorted.
    let value = serde_json::to_value(recommendation).unwrap_or_default();
    let mut text = serde_json::to_string_pretty(&value).unwrap_or_default();
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::Timestamp;

    use super::*;
    use crate::aggregate::CallKey;
    use crate::synth::SynthConfig;

    use crate::policy::naive_allows as allows;

    fn arb_call() -> impl proptest::strategy::Strategy<Value = (CallKey, u64)> {
        use proptest::prelude::*;
        let action = prop_oneof![
            Just(("s3:GetObject", "arn:aws:s3:::ledger/a.json")),
            Just(("s3:PutObject", "arn:aws:s3:::ledger/b.json")),
            Just((
                "dynamodb:PutItem",
                "arn:aws:dynamodb:eu-west-1:111122223333:table/t"
            )),
            Just(("sqs:SendMessage", "arn:aws:sqs:eu-west-1:111122223333:q")),
            Just(("ec2:DescribeInstances", "*")),
        ];
        let outcome = prop_oneof![
            Just(Outcome::Allowed),
            Just(Outcome::Failed("NoSuchKey".into())),
            Just(Outcome::Failed("ThrottlingException".into())),
            Just(Outcome::Denied("AccessDenied".into())),
            Just(Outcome::Unauthenticated("ExpiredToken".into())),
        ];
        (action, outcome, 1u64..4).prop_map(|((action, resource), outcome, count)| {
            (
                CallKey {
                    action: Arc::from(action),
                    resource: Arc::from(resource),
                    implied_by: None,
                    outcome,
                },
                count,
            )
        })
    }

    proptest::proptest! {
        /// Every call that used its permission (it succeeded, or failed after authorization) is
        /// allowed by the workload's policy, and its calls are all counted in its usage row; an
        /// action seen only in calls denied by authorization or rejected before it is granted
        /// nowhere.
        #[test]
        fn every_call_not_refused_is_allowed(
            calls in proptest::collection::vec(arb_call(), 0..25),
        ) {
            let at = Timestamp::from_second(1_800_000_000).unwrap();
            let mut workload = Workload::default();
            for (key, count) in &calls {
                let usage = crate::aggregate::Usage { count: *count, ..crate::aggregate::Usage::once(at) };
                workload
                    .calls
                    .entry(key.clone())
                    .and_modify(|u| u.merge(&usage))
                    .or_insert(usage);
            }
            let key = WorkloadKey::Role("arn:aws:iam::111122223333:role/ledger".into());
            let report = workload_report(&key, workload, &[], SynthConfig::default());
            let used = |action: &str| calls.iter().any(|(k, _)| &*k.action == action && k.outcome.used());
            for (call, _) in &calls {
                let allowed = report
                    .policy
                    .as_ref()
                    .is_some_and(|p| allows(p, &call.action, &call.resource));
                if call.outcome.used() {
                    proptest::prop_assert!(allowed, "{call:?} is not allowed");
                    let row = report.usage.iter().find(|u| *u.action == *call.action).unwrap();
                    let total: u64 = calls
                        .iter()
                        .filter(|(k, _)| k.action == call.action && k.outcome.used())
                        .map(|(_, n)| n)
                        .sum();
                    proptest::prop_assert_eq!(row.count, total);
                } else if !used(&call.action) {
                    proptest::prop_assert!(!allowed, "{call:?} is allowed");
                }
            }
        }
    }
}
