//! `roles[]`: the policy to attach to each role, the unit IAM attaches permissions to.
//!
//! A role's policy covers the calls made with that role's sessions, whichever workload made
//! them: a service account's own role gets what the service account did with it, a role reached
//! by chaining gets the calls made after the chain, and a role shared by several service accounts
//! gets the union of their needs (what keeps them all working until the role is split).

use std::collections::{BTreeMap, BTreeSet};

use foldhash::HashMap;
use serde::Serialize;

use super::findings::{self, Finding};
use crate::aggregate::network::NetworkCondition;
use crate::aggregate::{CallKey, Usage, Workload, WorkloadKey, used_grants};
use crate::policy::PolicyDocument;
use crate::synth::{
    Generalization, PolicySize, SynthConfig, implied_actions, perimeter, synthesize_within,
};

#[derive(Debug, Serialize)]
pub struct RoleReport {
    /// The role's ARN.
    pub role: String,
    pub account: Option<String>,
    /// The workloads whose calls made with this role's sessions are in its policy.
    pub workloads: Vec<Contribution>,
    /// Shared by several service accounts, reached only by chaining, used by a node.
    pub findings: Vec<Finding>,
    pub policy: Option<PolicyDocument>,
    pub policy_size: PolicySize,
    /// Only when `policy` is over the limit after generalising: parts that each fit.
    pub policy_parts: Vec<PolicyDocument>,
    pub generalizations: Vec<Generalization>,
}

/// One workload's part in a role's calls.
#[derive(Debug, Serialize)]
pub struct Contribution {
    pub id: String,
    pub calls: u64,
    /// Its calls over the role's calls, rounded to 4 decimals.
    pub share: f64,
}

#[derive(Default)]
struct Role {
    calls: HashMap<CallKey, Usage>,
    by_workload: BTreeMap<String, u64>,
    /// Service accounts the role was vended to directly (IRSA, Pod Identity, trust policy).
    vended_to: BTreeSet<String>,
    /// The role's own sessions are a workload (a role workload, not only reached by chaining).
    own_workload: bool,
    node: bool,
    /// Where the calls of the workloads that used it came from.
    network: crate::aggregate::network::Network,
}

/// Every role whose sessions made calls, with its policy (`report::build` keeps those of the
/// reported workloads).
pub fn role_reports(workloads: &[(WorkloadKey, Workload)], synth: SynthConfig) -> Vec<RoleReport> {
    let mut roles: BTreeMap<&str, Role> = BTreeMap::new();
    for (key, workload) in workloads {
        let id = key.id();
        for (role, calls) in &workload.calls_by_role {
            let entry = roles.entry(role.as_str()).or_default();
            let mut count = 0;
            for (call, usage) in calls {
                if call.outcome.used() {
                    count += usage.count;
                }
                entry
                    .calls
                    .entry(call.clone())
                    .and_modify(|u| u.merge(usage))
                    .or_insert(*usage);
            }
            *entry.by_workload.entry(id.clone()).or_default() += count;
            entry.network.merge(&workload.network);
            match key {
                WorkloadKey::ServiceAccount(_) if workload.vended_roles.contains(role) => {
                    entry.vended_to.insert(id.clone());
                }
                WorkloadKey::Role(arn) if arn == role => {
                    entry.own_workload = true;
                    entry.node |= findings::is_node_role(workload);
                }
                _ => {}
            }
        }
    }
    roles
        .into_iter()
        .map(|(role, acc)| report(role, acc, synth))
        .collect()
}

fn report(role: &str, acc: Role, synth: SynthConfig) -> RoleReport {
    let mut calls: Vec<(&CallKey, &Usage)> = acc.calls.iter().collect();
    calls.sort_by(|a, b| a.0.cmp(b.0));
    // A node role is used from every node of its group, each from its own address.
    let condition = (synth.network_condition && !acc.node)
        .then(|| acc.network.condition().ok())
        .flatten();
    let exempt = implied_actions(calls.iter().map(|(k, _)| *k));
    let synthesis = synthesize_within(
        used_grants(calls.iter().copied()),
        synth,
        perimeter(condition.as_ref(), &exempt),
    );
    let total: u64 = acc.by_workload.values().sum();
    let workloads = acc
        .by_workload
        .iter()
        .map(|(id, &calls)| Contribution {
            id: id.clone(),
            calls,
            share: if total == 0 {
                0.0
            } else {
                (calls as f64 / total as f64 * 10_000.0).round() / 10_000.0
            },
        })
        .collect();
    let mut findings = Vec::new();
    if acc.vended_to.len() > 1 {
        let accounts: Vec<String> = acc.vended_to.iter().cloned().collect();
        findings.push(Finding {
            kind: "shared-role",
            fix: None,
            message: format!(
                "shared by {} service accounts ({}): this policy is the union of their needs, \
                 which keeps them all working until the role is split; each one's own need is its \
                 workload's policy_by_role entry for this role, the policy of the role it should \
                 get",
                accounts.len(),
                accounts.join(", ")
            ),
            subjects: accounts,
        });
    }
    if acc.vended_to.is_empty() && !acc.own_workload {
        let from: Vec<String> = acc.by_workload.keys().cloned().collect();
        findings.push(Finding {
            kind: "chained-role",
            fix: None,
            message: format!(
                "reached only by role chaining (from {}): attach this policy to the role; the \
                 calling workload's own role needs only sts:AssumeRole on it",
                from.join(", ")
            ),
            subjects: from,
        });
    }
    findings.extend(super::findings::policy_size(&synthesis.size));
    if acc.node {
        findings.push(Finding {
            kind: "node-role",
            fix: None,
            message: "a node's instance role: every pod on the node without its own role \
                      shares it; give application workloads their own roles"
                .to_owned(),
            subjects: Vec::new(),
        });
    }
    RoleReport {
        role: role.to_owned(),
        account: crate::attribute::arn_account(role).map(str::to_owned),
        workloads,
        findings,
        policy: synthesis.policy,
        policy_size: synthesis.size,
        policy_parts: synthesis.parts,
        generalizations: synthesis.generalizations,
    }
}

/// A workload's calls by role, each as the policy it needs from that role (the role's share of
/// the workload's need; `roles[]` has what to attach).
pub fn policy_by_role(
    workload: &Workload,
    synth: SynthConfig,
    condition: Option<&NetworkCondition>,
) -> BTreeMap<String, PolicyDocument> {
    workload
        .calls_by_role
        .iter()
        .filter_map(|(role, calls)| {
            let mut calls: Vec<(&CallKey, &Usage)> = calls.iter().collect();
            calls.sort_by(|a, b| a.0.cmp(b.0));
            let exempt = implied_actions(calls.iter().map(|(k, _)| *k));
            synthesize_within(
                used_grants(calls.iter().copied()),
                synth,
                perimeter(condition, &exempt),
            )
            .policy
            .map(|policy| (role.clone(), policy))
        })
        .collect()
}
