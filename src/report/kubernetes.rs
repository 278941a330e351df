//! The cluster's view set beside the trail's: `kubernetes` in the recommendation, owners on each
//! service-account workload, and findings a platform engineer acts on in the cluster.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::Value;

use super::WorkloadReport;
use super::findings::Finding;
use crate::attribute::context::role_key;
use crate::k8s::{ClusterFacts, Inventory};

/// `kubernetes` in the recommendation.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KubernetesView {
    pub inventories: Vec<InventorySummary>,
    pub findings: Vec<Finding>,
}

impl KubernetesView {
    pub fn is_empty(&self) -> bool {
        self.inventories.is_empty() && self.findings.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct InventorySummary {
    pub source: String,
    pub cluster: Option<String>,
    pub service_accounts: u64,
    /// Service accounts with an `eks.amazonaws.com/role-arn` annotation.
    pub annotated: u64,
    pub pods: u64,
}

/// Sets each service-account workload's `owners` and returns the cluster-side findings, also
/// added to the findings of the workload they concern. `workloads` are all of the run's (before
/// any `--role`/`--workload` filter), `vended` each service account's directly vended roles.
pub fn build(
    workloads: &mut [WorkloadReport],
    vended: &BTreeMap<String, BTreeSet<String>>,
    facts: ClusterFacts<'_>,
) -> KubernetesView {
    let mut view = KubernetesView {
        inventories: facts
            .inventory
            .clusters
            .iter()
            .map(|c| InventorySummary {
                source: c.source.clone(),
                cluster: c.cluster.clone(),
                service_accounts: c.service_accounts.len() as u64,
                annotated: c
                    .service_accounts
                    .iter()
                    .filter(|s| s.role_arn.is_some())
                    .count() as u64,
                pods: c.pods.len() as u64,
            })
            .collect(),
        findings: Vec::new(),
    };
    let used = |cluster: Option<&str>, ns: &str, sa: &str, role: &str| {
        workloads.iter().any(|w| {
            w.namespace.as_deref() == Some(ns)
                && w.service_account.as_deref() == Some(sa)
                && cluster.is_none_or(|c| w.cluster.as_deref() == Some(c))
                && vended
                    .get(&w.id)
                    .is_some_and(|roles| roles.iter().any(|r| role_key(r) == role_key(role)))
        })
    };
    // Annotations nobody used.
    for cluster in &facts.inventory.clusters {
        for sa in &cluster.service_accounts {
            let Some(role) = &sa.role_arn else { continue };
            if used(cluster.cluster.as_deref(), &sa.namespace, &sa.name, role) {
                continue;
            }
            let owners = cluster.owners(&sa.namespace, &sa.name);
            let pods = if owners.is_empty() {
                "no pod runs as it".to_owned()
            } else {
                format!("its pods ({}) made no call with it", owners.join(", "))
            };
            view.findings.push(Finding {
                kind: "unused-role-annotation",
                fix: None,
                message: format!(
                    "service account {}/{}{} is annotated with {role} but did not assume it in \
                     the window ({pods}): remove the annotation, or the role if nothing else \
                     uses it",
                    sa.namespace,
                    sa.name,
                    on_cluster(cluster.cluster.as_deref())
                ),
                subjects: vec![format!("{}/{}", sa.namespace, sa.name), role.clone()],
            });
        }
    }
    // Pod Identity associations nobody used.
    for association in facts.associations {
        if used(
            Some(&association.cluster),
            &association.namespace,
            &association.service_account,
            &association.role_arn,
        ) {
            continue;
        }
        view.findings.push(Finding {
            kind: "unused-pod-identity-association",
            fix: None,
            message: format!(
                "the Pod Identity association of {}/{}/{} to {} was not used in the window: \
                 delete it if the service account no longer needs AWS access",
                association.cluster,
                association.namespace,
                association.service_account,
                association.role_arn
            ),
            subjects: vec![
                format!(
                    "eks/{}/{}/{}",
                    association.cluster, association.namespace, association.service_account
                ),
                association.role_arn.clone(),
            ],
        });
    }
    for workload in workloads.iter_mut() {
        let (Some(cluster), Some(ns), Some(sa)) = (
            workload.cluster.clone(),
            workload.namespace.clone(),
            workload.service_account.clone(),
        ) else {
            continue;
        };
        let inventories: Vec<_> = facts.inventory.for_cluster(&cluster).collect();
        let mut owners: BTreeSet<String> = BTreeSet::new();
        for inventory in &inventories {
            owners.extend(inventory.owners(&ns, &sa));
        }
        workload.owners = owners.into_iter().collect();
        let roles = vended.get(&workload.id).cloned().unwrap_or_default();
        let mut found = Vec::new();
        if sa == "default" && !workload.usage.is_empty() {
            let pods = if workload.owners.is_empty() {
                String::new()
            } else {
                format!(" (pods of {})", workload.owners.join(", "))
            };
            found.push(Finding {
                kind: "default-service-account",
                fix: None,
                message: format!(
                    "pods running as the default service account of namespace {ns}{pods} made \
                     AWS calls: every pod of the namespace without its own service account gets \
                     this access; give the workload a service account of its own and the role to \
                     it"
                ),
                subjects: vec![workload.id.clone()],
            });
        }
        if workload.kind == "irsa" && !inventories.is_empty() {
            let entry = inventories.iter().find_map(|i| i.service_account(&ns, &sa));
            let roles_text = roles.iter().cloned().collect::<Vec<_>>().join(", ");
            match entry {
                None => found.push(Finding {
                    kind: "service-account-not-in-inventory",
                    fix: None,
                    message: format!(
                        "service account {ns}/{sa} assumed {roles_text} in the window but is not \
                         in the cluster's inventory: deleted or renamed since, or the inventory \
                         is of another cluster"
                    ),
                    subjects: vec![workload.id.clone()],
                }),
                Some(entry) => match &entry.role_arn {
                    None => found.push(Finding {
                        kind: "service-account-not-annotated",
                        fix: None,
                        message: format!(
                            "service account {ns}/{sa} assumed {roles_text} in the window but has \
                             no {} annotation: pods started from now on get no AWS credentials \
                             through IRSA",
                            crate::k8s::ROLE_ANNOTATION
                        ),
                        subjects: vec![workload.id.clone()],
                    }),
                    Some(annotated)
                        if !roles.is_empty()
                            && !roles.iter().any(|r| role_key(r) == role_key(annotated)) =>
                    {
                        found.push(Finding {
                            kind: "annotation-drift",
                            fix: None,
                            message: format!(
                                "service account {ns}/{sa} is annotated with {annotated} but \
                                 assumed {roles_text} in the window: pods started before the \
                                 annotation changed still use the old role, or the role is \
                                 assumed by name in code"
                            ),
                            subjects: vec![workload.id.clone(), annotated.clone()],
                        });
                    }
                    Some(_) => {}
                },
            }
        }
        for finding in found {
            workload.findings.push(finding.clone());
            view.findings.push(finding);
        }
    }
    view
}

/// Annotations whose role's trust policy does not admit the annotated service account: its pods
/// get AccessDenied from `AssumeRoleWithWebIdentity`. `trust` gives a role's current trust policy
/// when known.
pub fn check_annotations(
    view: &mut KubernetesView,
    inventory: &Inventory,
    trust: impl Fn(&str) -> Option<Value>,
) {
    for cluster in &inventory.clusters {
        for sa in &cluster.service_accounts {
            let Some(role) = &sa.role_arn else { continue };
            let Some(document) = trust(role) else {
                continue;
            };
            let subject = format!("system:serviceaccount:{}:{}", sa.namespace, sa.name);
            if !crate::diff::trust::admitting_providers(&document, &subject).is_empty() {
                continue;
            }
            view.findings.push(Finding {
                kind: "annotation-not-admitted",
                fix: None,
                message: format!(
                    "service account {}/{}{} is annotated with {role}, whose trust policy does \
                     not admit {subject} through any EKS OIDC provider: its pods get \
                     AccessDenied from AssumeRoleWithWebIdentity",
                    sa.namespace,
                    sa.name,
                    on_cluster(cluster.cluster.as_deref())
                ),
                subjects: vec![format!("{}/{}", sa.namespace, sa.name), role.clone()],
            });
        }
    }
}

fn on_cluster(cluster: Option<&str>) -> String {
    cluster.map(|c| format!(" on {c}")).unwrap_or_default()
}
