//! Diff: a role's current permissions against what its sessions used.
//!
//! For each role: the observed calls (successful and failed) are evaluated against the current
//! identity policies and permission boundary (`eval`); the actions the policies grant (wildcards
//! and NotAction expanded through the catalog) are compared with the actions used; wildcard
//! statements are matched with the actions they actually served; the policies are linted
//! (`lint`) and the trust policy analysed (`trust`). The proposed replacement is the synthesized
//! policy for the role's own usage.

pub mod eval;
pub mod lint;
pub mod trust;
mod unseen;

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::aggregate::{CallKey, Outcome, Usage};
use crate::catalog::Catalog;
use crate::observe::Observability;
use crate::policy::PolicyDocument;
use crate::synth::SynthConfig;
use eval::{Decision, Effect, ParsedPolicy, evaluate, granted_actions};

/// A role's current policies as read from IAM or files, before parsing.
#[derive(Debug, Clone, Default)]
pub struct RawPolicies {
    /// Where they came from: `IAM API`, a snapshot file or a policy file.
    pub source: String,
    pub identity: Vec<(String, Value)>,
    pub boundary: Option<(String, Value)>,
    pub trust: Option<Value>,
    /// Parts that could not be read (a managed policy missing from a snapshot, an API error).
    pub problems: Vec<String>,
}

impl RawPolicies {
    /// A policy file (`--policy`) as the current policy of every role diffed.
    pub fn from_policy_file(path: &std::path::Path) -> Result<RawPolicies, PolicyFileError> {
        let location = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| PolicyFileError::Read {
            path: location.clone(),
            source,
        })?;
        let document: Value =
            serde_json::from_slice(&text).map_err(|source| PolicyFileError::NotJson {
                path: location,
                source,
            })?;
        Ok(RawPolicies {
            source: format!("policy file {}", path.display()),
            identity: vec![(path.display().to_string(), document)],
            ..RawPolicies::default()
        })
    }
}

/// A `--policy` file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum PolicyFileError {
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not JSON")]
    NotJson {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

/// What a role's sessions did, from every workload that used it.
#[derive(Debug, Default)]
pub struct RoleUsage {
    pub calls: HashMap<CallKey, Usage>,
    /// `<ns>/<sa>` of the service accounts that used it.
    pub service_accounts: BTreeSet<String>,
    /// Sessions not tied to a service account used it too (their vending was outside the
    /// input, or the role is not a Kubernetes one): who they were is not known.
    pub other_sessions: bool,
    /// Where the calls of the workloads that used it came from (`--condition-network`).
    pub network: crate::aggregate::network::Network,
}

#[derive(Debug, Clone, Serialize)]
pub struct UsedCall {
    pub action: String,
    pub resource: String,
    pub count: u64,
    /// `allowed`, `explicit-deny`, `blocked-by-boundary`, `not-granted`, `conditional` or
    /// `resource-not-named`.
    pub decision: &'static str,
    /// The policy (and statement) that decided, where one did.
    pub policy: Option<String>,
    pub sid: Option<String>,
    pub condition_keys: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeniedCall {
    pub action: String,
    pub resource: String,
    pub count: u64,
    pub error_codes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct UnusedGrant {
    pub action: String,
    /// The catalog's access level: `Read`, `List`, `Write`, `Tagging`, `Permissions management`.
    pub access: String,
    /// Set for `Permissions management` and `Write`: the grants most worth removing.
    pub flag: Option<&'static str>,
    /// Whether the trail could have shown a call using it (`observe`): only then is "unused"
    /// evidence that it is not needed.
    pub observable: bool,
    /// When not observable: why, naming the selector or the missing data events.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unobservable_because: Option<String>,
    /// With the usage store: the last call that used it, in the store's days before the window
    /// (rare use is not non-use: the grant is kept, and does not count as drift).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<String>,
}

/// What the usage store knows about a role beyond the window (`iamtrim run`).
#[derive(Debug, Clone, Default)]
pub struct RoleHistory {
    /// action → its last use in the store's days before the window.
    pub last_used_before: BTreeMap<String, String>,
    /// The window's first day.
    pub window_start: String,
    /// Days of the window on which the role made calls, and the window's length in days.
    pub days_seen: Option<DaysSeen>,
}

/// How many of the window's days a role was seen on (`diffs[].days_seen`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct DaysSeen {
    pub days: u32,
    pub window_days: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct Narrowable {
    pub policy: String,
    pub sid: String,
    pub patterns: Vec<String>,
    /// The patterns are a `NotAction`: the statement grants everything else.
    pub not_action: bool,
    /// How many catalog actions the patterns grant.
    pub grants: usize,
    /// The used actions they served: what the statement could list instead.
    pub used_actions: Vec<String>,
}

/// The diff of one role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleDiff {
    pub role: String,
    pub source: String,
    pub policies: Vec<String>,
    pub boundary: Option<String>,
    pub problems: Vec<String>,
    /// Successful calls the current policies allow.
    pub used_and_granted: Vec<UsedCall>,
    /// Successful calls the current policies would not allow (explicit deny, boundary, nothing
    /// grants them): the policy changed, or the call would now fail.
    pub used_not_granted: Vec<UsedCall>,
    /// Calls only conditional statements decide (the condition keys are listed, not evaluated),
    /// or whose resource the events did not name while the policy allows only some of its kind.
    pub undecided: Vec<UsedCall>,
    /// Calls that failed in the trail: what the role was missing then.
    pub denied_events: Vec<DeniedCall>,
    /// Actions granted and never used: removable.
    pub granted_unused: Vec<UnusedGrant>,
    pub narrowable: Vec<Narrowable>,
    pub lint: Vec<lint::LintFinding>,
    pub trust: Option<trust::TrustReport>,
    /// With the usage store: the window's days the role made calls on. Fewer than the window
    /// means a permission used less often than the role runs may not show as used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_seen: Option<DaysSeen>,
    /// The least-privilege policy for what the role's sessions used.
    pub proposed_policy: Option<PolicyDocument>,
    /// The trust policy that admits exactly the service accounts seen assuming the role, with
    /// what it no longer admits (`trust::propose`); None without a trust policy to start from.
    pub proposed_trust_policy: Option<trust::TrustProposal>,
    /// Granted-and-unused or used-and-not-granted is not empty.
    pub drift: bool,
}

/// Diffs one role.
#[allow(clippy::too_many_arguments)]
pub fn diff_role(
    role: &str,
    raw: &RawPolicies,
    usage: &RoleUsage,
    associations: Vec<(String, Option<bool>)>,
    catalog: &Catalog,
    synth: SynthConfig,
    observe: &Observability,
    drop_unobservable: bool,
    history: Option<&RoleHistory>,
) -> RoleDiff {
    let mut problems = raw.problems.clone();
    let mut parse = |(name, doc): &(String, Value)| match eval::parse_policy(name, doc) {
        Ok(p) => Some(p),
        Err(e) => {
            problems.push(e);
            None
        }
    };
    let identity: Vec<ParsedPolicy> = raw.identity.iter().filter_map(&mut parse).collect();
    let boundary: Option<ParsedPolicy> = raw.boundary.as_ref().and_then(&mut parse);

    let mut calls: Vec<(&CallKey, &Usage)> = usage.calls.iter().collect();
    calls.sort_by(|a, b| a.0.cmp(b.0));
    let (mut granted, mut not_granted, mut undecided) = (Vec::new(), Vec::new(), Vec::new());
    let mut denied: BTreeMap<(String, String), (u64, BTreeSet<String>)> = BTreeMap::new();
    let mut used_actions = BTreeSet::new();
    // A call that failed after authorization used its permission like a successful one; a
    // call whose credentials were rejected says nothing either way.
    let mut used: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for (call, stats) in &calls {
        match &call.outcome {
            Outcome::Denied(code) => {
                let entry = denied
                    .entry((call.action.to_string(), call.resource.to_string()))
                    .or_default();
                entry.0 += stats.count;
                entry.1.insert(code.to_string());
            }
            Outcome::Unauthenticated(_) => {}
            Outcome::Allowed | Outcome::Failed(_) => {
                *used.entry((&call.action, &call.resource)).or_default() += stats.count;
            }
        }
    }
    for ((action, resource), count) in used {
        used_actions.insert(action.to_owned());
        let decision = evaluate(&identity, boundary.as_ref(), action, resource);
        let (policy, sid, condition_keys) = match &decision {
            Decision::Allowed { policy, sid }
            | Decision::ExplicitDeny { policy, sid }
            | Decision::ResourceNotNamed { policy, sid } => {
                (Some(policy.clone()), Some(sid.clone()), Vec::new())
            }
            Decision::Conditional {
                policy,
                condition_keys,
            } => (Some(policy.clone()), None, condition_keys.clone()),
            Decision::BlockedByBoundary { boundary } => (Some(boundary.clone()), None, Vec::new()),
            Decision::NotGranted => (None, None, Vec::new()),
        };
        let row = UsedCall {
            action: action.to_owned(),
            resource: resource.to_owned(),
            count,
            decision: decision.as_str(),
            policy,
            sid,
            condition_keys,
        };
        match decision {
            Decision::Allowed { .. } => granted.push(row),
            Decision::Conditional { .. } | Decision::ResourceNotNamed { .. } => undecided.push(row),
            _ => not_granted.push(row),
        }
    }

    let mut effective = granted_actions(&identity, catalog);
    if let Some(boundary) = &boundary {
        let allowed_by_boundary = granted_actions(std::slice::from_ref(boundary), catalog);
        effective.retain(|a| allowed_by_boundary.contains(a));
    }
    let account = crate::attribute::arn_account(role);
    let before = |action: &str| history.and_then(|h| h.last_used_before.get(action));
    // A grant used before the window is kept like one the trail cannot show.
    let check = |action: &str, resource: &str| match before(action) {
        Some(last) => Err(format!(
            "last used {last}, before the window that starts {}: a permission used less \
             often than the window is still needed",
            history.map_or("", |h| h.window_start.as_str())
        )),
        None => observe.check(action, resource, account, catalog),
    };
    let unseen = unseen::grants(&identity, &effective, catalog, &check);
    let granted_unused: Vec<UnusedGrant> = effective
        .difference(&used_actions)
        .map(|action| {
            let access = access_level(catalog, action);
            let flag = match access.as_str() {
                "Permissions management" => Some("permissions-management"),
                "Write" => Some("write"),
                _ => None,
            };
            let because = unseen
                .iter()
                .find(|u| u.action == *action)
                .map(|u| u.reason.clone());
            UnusedGrant {
                action: action.clone(),
                access,
                flag,
                observable: because.is_none(),
                unobservable_because: because,
                last_seen: before(action).cloned(),
            }
        })
        .collect();

    let mut narrowable = Vec::new();
    for policy in &identity {
        for s in &policy.statements {
            let wildcard =
                s.actions.negated || s.actions.patterns.iter().any(|p| p.contains(['*', '?']));
            if s.effect != Effect::Allow || !wildcard {
                continue;
            }
            let mut grants = BTreeSet::new();
            eval::expand(&s.actions, catalog, &mut grants);
            let served: Vec<String> = used_actions
                .iter()
                .filter(|a| grants.contains(*a))
                .cloned()
                .collect();
            narrowable.push(Narrowable {
                policy: policy.name.clone(),
                sid: s.sid.clone(),
                patterns: s.actions.patterns.clone(),
                not_action: s.actions.negated,
                grants: grants.len(),
                used_actions: served,
            });
        }
    }

    let mut lint = lint::lint(&identity, catalog, true);
    lint.extend(lint::lint(boundary.as_slice(), catalog, false));
    let condition = synth
        .network_condition
        .then(|| usage.network.condition().ok())
        .flatten();
    let exempt = crate::synth::implied_actions(calls.iter().map(|(k, _)| *k));
    let mut proposed = crate::synth::synthesize_within(
        crate::aggregate::used_grants(calls.iter().copied()),
        synth,
        crate::synth::perimeter(condition.as_ref(), &exempt),
    );
    if !drop_unobservable {
        unseen::keep(&mut proposed.policy, &unseen);
    }
    // Only what the trail could have shown used is evidence of non-use.
    let drift = granted_unused.iter().any(|g| g.observable) || !not_granted.is_empty();
    RoleDiff {
        role: role.to_owned(),
        source: raw.source.clone(),
        policies: identity.iter().map(|p| p.name.clone()).collect(),
        boundary: boundary.as_ref().map(|b| b.name.clone()),
        used_and_granted: granted,
        used_not_granted: not_granted,
        undecided,
        denied_events: denied
            .into_iter()
            .map(|((action, resource), (count, codes))| DeniedCall {
                action,
                resource,
                count,
                error_codes: codes.into_iter().collect(),
            })
            .collect(),
        granted_unused,
        narrowable,
        lint,
        proposed_trust_policy: raw
            .trust
            .as_ref()
            .and_then(|doc| trust::propose(doc, usage, &associations)),
        trust: raw.trust.as_ref().map(|doc| {
            let names = associations.iter().map(|(a, _)| a.clone()).collect();
            trust::analyse(doc, &usage.service_accounts, names)
        }),
        days_seen: history.and_then(|h| h.days_seen),
        proposed_policy: proposed.policy,
        drift,
        problems,
    }
}

fn access_level(catalog: &Catalog, action: &str) -> String {
    action
        .split_once(':')
        .and_then(|(prefix, name)| catalog.services.get(prefix)?.actions.get(name))
        .map_or_else(|| "Unknown".to_owned(), |a| a.access.clone())
}
