//! Split plans for shared roles (#25): a role vended to several service accounts becomes one role
//! per service account, each with the permission policy of that service account's own calls with
//! the shared role (its `policy_by_role` entry), a trust policy admitting only it, and the
//! cluster-side change that moves it (the IRSA annotation, or the Pod Identity association).
//!
//! The plan is built in two steps: [`plan`] from the report alone (names, policies, cluster
//! changes), then [`add_trust`] once the shared role's current trust policy is known (the IRSA
//! provider is read from it; a Pod Identity trust policy needs nothing but the trail).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;
use serde_json::{Value, json};

use super::WorkloadReport;
use crate::attribute::ClusterNames;
use crate::policy::PolicyDocument;
use crate::policy::render::{hcl_escape_template, hcl_quoted, snake_identifier, terraform};

/// IAM's limit on a role name.
const ROLE_NAME_MAX: usize = 64;

/// A role vended to more than one service account.
#[derive(Debug, Clone, Serialize)]
pub struct SharedRole {
    pub role: String,
    pub service_accounts: Vec<String>,
    pub recommendation: String,
    /// One new role per service account (`report::split`).
    pub split: Vec<SplitRole>,
    /// The order to apply the split in.
    pub apply: Vec<String>,
}

/// One service account's own role, split out of a shared one.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SplitRole {
    /// The service-account workload (`eks/<cluster>/<ns>/<sa>`).
    pub service_account: String,
    /// `irsa` or `pod-identity`: how it gets the role today, and will get the new one.
    pub mechanism: &'static str,
    pub role_name: String,
    /// The new role's ARN: the shared role's account, partition and path.
    pub role_arn: String,
    /// What the service account did with the shared role, as its own policy; None when all its
    /// calls with the role were refused (the new role needs no permission).
    pub policy: Option<PolicyDocument>,
    /// Admits only this service account; None when it cannot be written here (`missing` says
    /// why).
    pub trust_policy: Option<Value>,
    pub cluster_change: ClusterChange,
    /// Roles the service account reached by chaining: each one's trust policy admits the shared
    /// role today and must admit the new role before the service account moves.
    pub chained_roles: Vec<String>,
    /// Parts of the plan that could not be written, and why.
    pub missing: Vec<String>,
}

/// What moves the service account to its new role on the cluster.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClusterChange {
    /// `service-account-annotation` (IRSA) or `pod-identity-association`.
    pub kind: &'static str,
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    /// IRSA: the merge patch for the ServiceAccount (`kubectl patch --type merge`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<Value>,
    /// The command that makes the change, and what must follow it.
    pub command: String,
}

/// The split plan of each shared role from the reported workloads (all of them, before any
/// `--role`/`--workload` filter); trust policies come later ([`add_trust`]).
/// `vended` gives each service account's roles vended to it directly (IRSA, Pod Identity, trust
/// policy), by workload id.
pub fn plan(
    shared: &mut [SharedRole],
    workloads: &[WorkloadReport],
    vended: &BTreeMap<String, BTreeSet<String>>,
) {
    for role in shared.iter_mut() {
        let members: Vec<&WorkloadReport> = role
            .service_accounts
            .iter()
            .filter_map(|id| workloads.iter().find(|w| &w.id == id))
            .collect();
        let names = role_names(&role.role, &members);
        role.split = members
            .iter()
            .zip(names)
            .map(|(workload, name)| {
                let roles = vended.get(&workload.id).cloned().unwrap_or_default();
                split_role(&role.role, workload, name, &roles)
            })
            .collect();
        role.apply = apply_steps(role);
    }
}

fn split_role(
    shared: &str,
    workload: &WorkloadReport,
    role_name: String,
    vended: &BTreeSet<String>,
) -> SplitRole {
    let cluster = workload.cluster.clone().unwrap_or_default();
    let namespace = workload.namespace.clone().unwrap_or_default();
    let service_account = workload.service_account.clone().unwrap_or_default();
    let role_arn = sibling_arn(shared, &role_name);
    let mechanism = if workload.kind == "pod-identity" {
        "pod-identity"
    } else {
        "irsa"
    };
    let cluster_change = if mechanism == "irsa" {
        ClusterChange {
            kind: "service-account-annotation",
            patch: Some(
                json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": role_arn}}}),
            ),
            command: format!(
                "kubectl annotate serviceaccount --namespace {namespace} {service_account} \
                 eks.amazonaws.com/role-arn={role_arn} --overwrite (on cluster {cluster}), then \
                 restart the pods that run as it: EKS's webhook gives a pod its role when the pod \
                 starts"
            ),
            cluster,
            namespace,
            service_account,
        }
    } else {
        ClusterChange {
            kind: "pod-identity-association",
            patch: None,
            command: format!(
                "aws eks update-pod-identity-association --cluster-name {cluster} \
                 --association-id \"$(aws eks list-pod-identity-associations --cluster-name \
                 {cluster} --namespace {namespace} --service-account {service_account} --query \
                 'associations[0].associationId' --output text)\" --role-arn {role_arn}; pods \
                 get the new role when their credentials are next refreshed (restart them to \
                 switch at once)"
            ),
            cluster,
            namespace,
            service_account,
        }
    };
    // Roles it reached by chaining: every role its sessions used that was not vended to it.
    let chained_roles: Vec<String> = workload
        .roles
        .iter()
        .filter(|r| !vended.iter().any(|v| same_role(v, r)))
        .cloned()
        .collect();
    let mut missing = Vec::new();
    let policy = workload
        .policy_by_role
        .iter()
        .find(|(role, _)| same_role(role, shared))
        .map(|(_, p)| p.clone());
    if policy.is_none() {
        missing.push(
            "permission policy: none of its calls with the shared role used a permission (all \
             were refused), so the new role needs none"
                .to_owned(),
        );
    }
    let tagged = workload.evidence.contains_key("pod-identity-session-tags");
    let untagged = workload.evidence.contains_key("pod-identity-association")
        || workload.evidence.contains_key("pod-identity-untagged");
    let trust_policy = (mechanism == "pod-identity").then(|| {
        if tagged && !untagged {
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {
                    "aws:RequestTag/eks-cluster-name": cluster_change.cluster,
                    "aws:RequestTag/kubernetes-namespace": cluster_change.namespace,
                    "aws:RequestTag/kubernetes-service-account": cluster_change.service_account,
                }}
            }]})
        } else {
            // Its sessions came without session tags: a condition on them would deny it. The
            // association alone decides which service account gets the role.
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"]
            }]})
        }
    });
    if mechanism == "irsa" {
        missing.push(
            "trust policy: the cluster's OIDC provider is named only in the shared role's trust \
             policy, which was not read (give --iam-snapshot or --aws)"
                .to_owned(),
        );
    }
    SplitRole {
        service_account: workload.id.clone(),
        mechanism,
        role_name,
        role_arn,
        policy,
        trust_policy,
        cluster_change,
        chained_roles,
        missing,
    }
}

/// Fills each IRSA entry's trust policy from the shared role's current trust policy: the
/// statements of the providers that admit the service account today (those of its cluster when
/// the cluster is known by name), with `:sub` = exactly it and `:aud` = `sts.amazonaws.com`.
pub fn add_trust(role: &mut SharedRole, document: &Value, clusters: &ClusterNames) {
    for entry in role.split.iter_mut().filter(|e| e.mechanism == "irsa") {
        let subject = format!(
            "system:serviceaccount:{}:{}",
            entry.cluster_change.namespace, entry.cluster_change.service_account
        );
        let admitting = crate::diff::trust::admitting_providers(document, &subject);
        let of_cluster: Vec<&String> = admitting
            .iter()
            .filter(|p| clusters.for_provider(p) == entry.cluster_change.cluster.as_str())
            .collect();
        let chosen: Vec<&String> = if of_cluster.is_empty() {
            admitting.iter().collect()
        } else {
            of_cluster
        };
        entry.missing.retain(|m| !m.starts_with("trust policy:"));
        if chosen.is_empty() {
            entry.missing.push(format!(
                "trust policy: the shared role's trust policy admits {subject} through no EKS \
                 OIDC provider (its sessions were tied to it otherwise); write the provider in \
                 by hand"
            ));
            continue;
        }
        let statements: Vec<Value> = chosen
            .iter()
            .map(|provider| {
                let issuer = crate::diff::trust::issuer_of(provider);
                json!({
                    "Effect": "Allow",
                    "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringEquals": {
                        format!("{issuer}:aud"): "sts.amazonaws.com",
                        format!("{issuer}:sub"): subject,
                    }}
                })
            })
            .collect();
        entry.trust_policy = Some(json!({"Version": "2012-10-17", "Statement": statements}));
    }
}

/// Roles compare by account and name (a vended role may be named with or without its path).
fn same_role(a: &str, b: &str) -> bool {
    crate::attribute::arn_account(a) == crate::attribute::arn_account(b)
        && super::role_name(a) == super::role_name(b)
}

/// `<shared>-<sa>`, or `<shared>-<ns>-<sa>` where two service accounts share a name; shortened
/// with a hash to IAM's 64 characters.
fn role_names(shared: &str, members: &[&WorkloadReport]) -> Vec<String> {
    let base = super::role_name(shared).unwrap_or("role");
    let sa = |w: &WorkloadReport| w.service_account.clone().unwrap_or_default();
    let ns = |w: &WorkloadReport| w.namespace.clone().unwrap_or_default();
    let short: Vec<String> = members
        .iter()
        .map(|w| format!("{base}-{}", sa(w)))
        .collect();
    let unique = short.iter().collect::<BTreeSet<_>>().len() == short.len();
    let long: Vec<String> = members
        .iter()
        .map(|w| format!("{base}-{}-{}", ns(w), sa(w)))
        .collect();
    let cluster_unique = long.iter().collect::<BTreeSet<_>>().len() == long.len();
    members
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let name = if unique {
                short[i].clone()
            } else if cluster_unique {
                long[i].clone()
            } else {
                format!(
                    "{base}-{}-{}-{}",
                    w.cluster.clone().unwrap_or_default(),
                    ns(w),
                    sa(w)
                )
            };
            fit_role_name(&name)
        })
        .collect()
}

fn fit_role_name(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    if clean.len() <= ROLE_NAME_MAX {
        return clean;
    }
    let hash = crate::hash::sha256_hex(clean.as_bytes());
    format!("{}-{}", &clean[..ROLE_NAME_MAX - 9], &hash[..8])
}

/// The ARN of a role named `name` beside `shared` (same partition, account and path).
fn sibling_arn(shared: &str, name: &str) -> String {
    match shared.split_once(":role/") {
        Some((prefix, rest)) => {
            let path = rest.rsplit_once('/').map_or("", |(p, _)| p);
            if path.is_empty() {
                format!("{prefix}:role/{name}")
            } else {
                format!("{prefix}:role/{path}/{name}")
            }
        }
        None => name.to_owned(),
    }
}

/// What to do, in order, so no service account loses access on the way.
fn apply_steps(role: &SharedRole) -> Vec<String> {
    let mut steps = vec![
        "create each new role with its trust and permission policy (terraform apply on the \
         split's .tf file, or the JSON of each entry)"
            .to_owned(),
    ];
    let chained: BTreeSet<&String> = role.split.iter().flat_map(|s| &s.chained_roles).collect();
    if !chained.is_empty() {
        steps.push(format!(
            "admit each new role in the trust policy of the roles its service account chains \
             into ({}), beside {}",
            chained.into_iter().cloned().collect::<Vec<_>>().join(", "),
            role.role
        ));
    }
    steps.push(
        "move each service account (cluster_change.command), one at a time, and watch it for \
         AccessDenied"
            .to_owned(),
    );
    steps.push(format!(
        "when no session of {} is seen for a full window, delete it (and its trust from chained \
         roles)",
        role.role
    ));
    steps
}

/// The split as Terraform: per service account an `aws_iam_role`, its `aws_iam_role_policy`
/// (from an `aws_iam_policy_document`), and the cluster change (`kubernetes_annotations` for
/// IRSA, `aws_eks_pod_identity_association` for Pod Identity).
pub fn terraform_plan(role: &SharedRole) -> String {
    let mut out = format!(
        "# iamtrim: {} split into one role per service account ({}).\n",
        role.role,
        role.split.len()
    );
    for entry in &role.split {
        let id = snake_identifier(&entry.role_name);
        let _ = writeln!(out, "\n# {} ({})", entry.service_account, entry.mechanism);
        for missing in &entry.missing {
            let _ = writeln!(out, "# not written: {missing}");
        }
        let _ = writeln!(out, "resource \"aws_iam_role\" \"{id}\" {{");
        let _ = writeln!(out, "  name = {}", hcl_quoted(&entry.role_name));
        let path = entry
            .role_arn
            .split_once(":role")
            .and_then(|(_, rest)| rest.rsplit_once('/'))
            .map_or("/".to_owned(), |(p, _)| format!("{p}/"));
        let _ = writeln!(out, "  path = {}", hcl_quoted(&path));
        if let Some(trust) = &entry.trust_policy {
            let text = serde_json::to_string_pretty(trust).unwrap_or_default();
            let _ = writeln!(
                out,
                "  assume_role_policy = <<-EOT\n{}\n  EOT",
                hcl_escape_template(&text)
            );
        }
        let _ = writeln!(out, "}}");
        if let Some(policy) = &entry.policy {
            out.push('\n');
            out.push_str(&terraform(&entry.role_name, policy));
            let _ = writeln!(out, "\nresource \"aws_iam_role_policy\" \"{id}\" {{");
            let _ = writeln!(out, "  name   = \"iamtrim\"");
            let _ = writeln!(out, "  role   = aws_iam_role.{id}.id");
            let _ = writeln!(out, "  policy = data.aws_iam_policy_document.{id}.json");
            let _ = writeln!(out, "}}");
        }
        let change = &entry.cluster_change;
        if entry.mechanism == "irsa" {
            let _ = writeln!(
                out,
                "\n# On cluster {} (a kubernetes provider for it); then restart its pods.",
                change.cluster
            );
            let _ = writeln!(out, "resource \"kubernetes_annotations\" \"{id}\" {{");
            let _ = writeln!(out, "  api_version = \"v1\"");
            let _ = writeln!(out, "  kind        = \"ServiceAccount\"");
            let _ = writeln!(out, "  metadata {{");
            let _ = writeln!(
                out,
                "    name      = {}",
                hcl_quoted(&change.service_account)
            );
            let _ = writeln!(out, "    namespace = {}", hcl_quoted(&change.namespace));
            let _ = writeln!(out, "  }}");
            let _ = writeln!(out, "  annotations = {{");
            let _ = writeln!(
                out,
                "    \"eks.amazonaws.com/role-arn\" = aws_iam_role.{id}.arn"
            );
            let _ = writeln!(out, "  }}");
            let _ = writeln!(out, "  force = true");
            let _ = writeln!(out, "}}");
        } else {
            let _ = writeln!(
                out,
                "\n# The service account's association to {} exists: import it first\n# \
                 (terraform import aws_eks_pod_identity_association.{id} {},<association id>).",
                role.role, change.cluster
            );
            let _ = writeln!(
                out,
                "resource \"aws_eks_pod_identity_association\" \"{id}\" {{"
            );
            let _ = writeln!(out, "  cluster_name    = {}", hcl_quoted(&change.cluster));
            let _ = writeln!(out, "  namespace       = {}", hcl_quoted(&change.namespace));
            let _ = writeln!(
                out,
                "  service_account = {}",
                hcl_quoted(&change.service_account)
            );
            let _ = writeln!(out, "  role_arn        = aws_iam_role.{id}.arn");
            let _ = writeln!(out, "}}");
        }
    }
    out
}
