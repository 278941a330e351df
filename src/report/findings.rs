//! Findings about identities, beyond the policies: roles shared by several service accounts, node
//! roles that make application calls, sessions the trail could not attribute.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::aggregate::{Coverage, Evidence, Workload, WorkloadKey};
use crate::attribute::TrustAnswer;

/// One thing a reader should act on, attached to the workload it concerns.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Finding {
    /// `shared-role`, `node-role-application-calls` or `unattributed-sessions`.
    pub kind: &'static str,
    pub message: String,
    /// Actions, roles or service accounts the finding is about.
    pub subjects: Vec<String>,
    /// Where in the recommendation the proposal that resolves it is, as a JSON pointer (RFC
    /// 6901), e.g. `/shared_roles/0/split/1`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

/// How the policy fits IAM's limits, when it takes more than one document: split into parts a
/// role can attach (`policy-size`), or more than it can (`policy-not-attachable`, a finding that
/// makes the run exit 1).
pub fn policy_size(size: &crate::synth::PolicySize) -> Option<Finding> {
    let (kind, message) = if !size.attachable && size.limit_kind == "inline" {
        (
            "policy-not-attachable",
            format!(
                "the policy has {} characters after every generalisation rung, over the {} a \
                 role's inline policies may hold in all; attach it as managed policies \
                 (--size-limit managed) or split the workload's role",
                size.characters, size.limit
            ),
        )
    } else if !size.attachable {
        (
            "policy-not-attachable",
            format!(
                "the policy needs {} managed policies of at most {} characters even after every \
                 generalisation rung, and a role can attach {} (--max-managed-policies; IAM's \
                 quota is 10 by default and can be raised to 20): raise the quota and the flag, \
                 or split the workload's role; policy_parts has every part",
                size.documents, size.limit, size.max_documents
            ),
        )
    } else if size.documents > 1 {
        (
            "policy-size",
            format!(
                "the policy has {} characters, over the {} limit of {} even after generalising; \
                 it is split into {} parts (policy_parts) to attach together ({} allowed)",
                size.characters, size.limit_kind, size.limit, size.documents, size.max_documents
            ),
        )
    } else {
        return None;
    };
    Some(Finding {
        kind,
        fix: None,
        message,
        subjects: Vec::new(),
    })
}

/// What `--condition-network` did for a workload: the condition its statements carry, or why
/// none could be drawn safely.
pub fn network_perimeter(
    network: &Result<crate::aggregate::network::NetworkCondition, String>,
    exempt: &std::collections::BTreeSet<String>,
) -> Finding {
    let (message, subjects) = match network {
        Ok((operator, key, values)) => {
            let left_out = if exempt.is_empty() {
                String::new()
            } else {
                format!(
                    "; left without it, as requests imply them: {}",
                    exempt.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            (
                format!(
                    "statements carry {operator} {key} {}: every call in the window came from \
                     there, so the credentials fail anywhere else{left_out}",
                    values.join(", ")
                ),
                values.clone(),
            )
        }
        Err(why) => (format!("no network condition: {why}"), Vec::new()),
    };
    Finding {
        kind: "network-perimeter",
        fix: None,
        message,
        subjects,
    }
}

pub use super::split::SharedRole;

/// Roles vended directly to several service accounts; each gets its own policy in the report.
pub fn shared_roles(workloads: &[(WorkloadKey, Workload)]) -> Vec<SharedRole> {
    let mut by_role: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (key, workload) in workloads {
        if let WorkloadKey::ServiceAccount(_) = key {
            for role in &workload.vended_roles {
                by_role.entry(role).or_default().push(key.id());
            }
        }
    }
    by_role
        .into_iter()
        .filter(|(_, users)| users.len() > 1)
        .map(|(role, mut service_accounts)| {
            service_accounts.sort();
            SharedRole {
                recommendation: format!(
                    "split {role} into one role per service account; the policy recommended for \
                     each of the {} service accounts is its own",
                    service_accounts.len()
                ),
                role: role.to_owned(),
                service_accounts,
                split: Vec::new(),
                apply: Vec::new(),
            }
        })
        .collect()
}

/// Actions a node's own agents need (kubelet image pulls, the VPC CNI, the Pod Identity agent,
/// SSM and CloudWatch agents). A node role making any other call is most likely serving a pod that
/// fell back to the node's credentials through IMDS.
const NODE_ACTIONS: &[&str] = &[
    "ec2:Describe*",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:AssignIpv6Addresses",
    "ec2:UnassignIpv6Addresses",
    "ec2:AttachNetworkInterface",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:DetachNetworkInterface",
    "ec2:ModifyNetworkInterfaceAttribute",
    "ec2:CreateTags",
    "ecr:GetAuthorizationToken",
    "ecr:BatchGetImage",
    "ecr:BatchCheckLayerAvailability",
    "ecr:GetDownloadUrlForLayer",
    "ecr-public:GetAuthorizationToken",
    "sts:GetServiceBearerToken",
    "eks:DescribeCluster",
    "eks-auth:AssumeRoleForPodIdentity",
    "ssm:*",
    "ssmmessages:*",
    "ec2messages:*",
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:DescribeLogStreams",
    "logs:PutLogEvents",
    "cloudwatch:PutMetricData",
];

fn is_node_action(action: &str) -> bool {
    NODE_ACTIONS
        .iter()
        .any(|pattern| match pattern.strip_suffix('*') {
            Some(prefix) => action
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix)),
            None => action.eq_ignore_ascii_case(pattern),
        })
}

pub fn is_node_role(workload: &Workload) -> bool {
    workload.evidence.contains_key(&Evidence::NodeSession)
}

/// The findings for one workload (shared roles are added by the caller, which sees all).
pub fn workload_findings(workload: &Workload, allowed_actions: &[&str]) -> Vec<Finding> {
    let mut findings = Vec::new();
    if is_node_role(workload) {
        let mut app: Vec<String> = allowed_actions
            .iter()
            .filter(|a| !is_node_action(a))
            .map(|a| (*a).to_owned())
            .collect();
        app.dedup();
        if !app.is_empty() {
            findings.push(Finding {
                kind: "node-role-application-calls",
                fix: None,
                message: format!(
                    "this node role made {} application call(s) that node agents do not make; \
                     pods are likely using the node's credentials through IMDS: give them IRSA \
                     or Pod Identity and block IMDS for pods (hop limit 1)",
                    app.len()
                ),
                subjects: app,
            });
        }
    }
    let unattributed: u64 = workload
        .evidence
        .iter()
        .filter(|(e, _)| e.coverage() == Coverage::Unattributed)
        .map(|(_, t)| t.sessions)
        .sum();
    if unattributed > 0 {
        let why = match &workload.trust {
            Some(TrustAnswer::Several(subjects)) => format!(
                "its trust policy admits several service accounts ({})",
                subjects.join(", ")
            ),
            Some(TrustAnswer::NoServiceAccount) => {
                "its trust policy names no EKS service account".to_owned()
            }
            Some(TrustAnswer::One(_) | TrustAnswer::Annotated(_)) | None => {
                "no trust policy was read (use --iam-snapshot or --aws)".to_owned()
            }
        };
        let untagged = workload
            .evidence
            .get(&Evidence::PodIdentityUntagged)
            .map_or(0, |t| t.sessions);
        let message = if untagged > 0 {
            format!(
                "{unattributed} session(s) stay at role level: {untagged} Pod Identity session(s) \
                 without session tags and no unique association for the role (use \
                 --pod-identity-associations or --aws)"
            )
        } else {
            format!(
                "{unattributed} session(s) stay at role level: their credential vending is not \
                 in the input and {why}"
            )
        };
        findings.push(Finding {
            kind: "unattributed-sessions",
            fix: None,
            message,
            subjects: Vec::new(),
        });
    }
    findings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_agent_calls_are_not_application_calls() {
        assert!(is_node_action("ec2:DescribeInstances"));
        assert!(is_node_action("ecr:BatchGetImage"));
        assert!(is_node_action("ssm:UpdateInstanceInformation"));
        assert!(!is_node_action("s3:GetObject"));
        assert!(!is_node_action("ec2:RunInstances"));
        assert!(!is_node_action("ecr:PutImage"));
    }
}
