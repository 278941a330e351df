//! Lookup: account facts that make attribution exact where the trail alone cannot — cluster names
//! (EKS issuer → name), Pod Identity associations (role → service account) and role trust
//! policies (which service accounts may assume a role).
//!
//! Two ways in, with the same result: snapshot files a user exports once (`--iam-snapshot`,
//! `--pod-identity-associations`; reproducible, offline) or the EKS and IAM APIs (`--aws`, the
//! standard credential chain). API failures are warnings in the output, never fatal: attribution
//! then says which sessions it could not tie to a service account and why.

pub mod aws;
mod cloudtrail;
pub mod snapshot;

use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use crate::attribute::{
    Associations, ClusterNames, PodIdentityAssociation, TrustAnswer, TrustIndex,
    context::{role_key, trust_answer},
};

/// Where cluster names, associations and trust policies came from, and what failed.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct ContextSummary {
    pub cluster_names: u64,
    pub pod_identity_associations: u64,
    pub trust_policies: u64,
    pub sources: Vec<String>,
    pub warnings: Vec<String>,
}

/// Everything looked up before the trail is read, plus how to read trust policies after.
#[derive(Default)]
pub struct Lookups {
    pub clusters: ClusterNames,
    pub associations: Vec<PodIdentityAssociation>,
    /// Trust policy documents by role key (`<account>/<role name>`), from a snapshot.
    trust_documents: HashMap<String, Value>,
    /// The IAM snapshots themselves, with their paths, for `diff`.
    snapshots: Vec<(String, Value)>,
    aws: Option<aws::Session>,
    /// ServiceAccounts and Pods from `--k8s-inventory` files.
    pub inventory: crate::k8s::Inventory,
    pub summary: ContextSummary,
}

impl Lookups {
    pub fn new(clusters: ClusterNames) -> Self {
        Self {
            clusters,
            ..Self::default()
        }
    }

    /// Reads an `aws iam get-account-authorization-details` export.
    pub fn add_iam_snapshot(
        &mut self,
        path: &std::path::Path,
    ) -> Result<(), snapshot::SnapshotError> {
        let value = snapshot::read_snapshot(path)?;
        let documents = snapshot::trust_documents(&value, path)?;
        self.snapshots.push((path.display().to_string(), value));
        self.summary.sources.push(format!(
            "IAM snapshot {} ({} roles)",
            path.display(),
            documents.len()
        ));
        self.trust_documents.extend(documents);
        Ok(())
    }

    /// The ARNs of the IAM roles, users, groups and instance profiles the snapshots hold, with
    /// their paths: what an IAM name in an event resolves to (`pipeline::iam_paths`).
    pub fn iam_entities(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (_, snapshot) in &self.snapshots {
            for list in ["RoleDetailList", "UserDetailList", "GroupDetailList"] {
                for entity in snapshot[list].as_array().into_iter().flatten() {
                    out.extend(entity["Arn"].as_str().map(str::to_owned));
                    for profile in entity["InstanceProfileList"]
                        .as_array()
                        .into_iter()
                        .flatten()
                    {
                        out.extend(profile["Arn"].as_str().map(str::to_owned));
                    }
                }
            }
        }
        out
    }

    /// Reads Pod Identity associations exported with `aws eks describe-pod-identity-association`.
    pub fn add_associations_file(
        &mut self,
        path: &std::path::Path,
    ) -> Result<(), snapshot::SnapshotError> {
        let found = snapshot::associations(path)?;
        self.summary.sources.push(format!(
            "Pod Identity associations {} ({} associations)",
            path.display(),
            found.len()
        ));
        self.associations.extend(found);
        Ok(())
    }

    /// Asks the EKS API for cluster names and Pod Identity associations, and keeps the session
    /// for trust-policy reads after the trail is read.
    pub fn add_aws(&mut self, options: &crate::aws::AwsOptions) {
        let session = match aws::Session::new(options) {
            Ok(session) => session,
            Err(err) => {
                self.summary
                    .warnings
                    .push(format!("cannot start the AWS client runtime: {err}"));
                return;
            }
        };
        let found = session.eks_context();
        for (name, key) in &found.cluster_names {
            self.clusters.add(name, key);
        }
        self.summary.sources.push(format!(
            "EKS API ({} clusters, {} associations)",
            found.clusters,
            found.associations.len()
        ));
        self.associations.extend(found.associations);
        self.summary.warnings.extend(found.warnings);
        self.aws = Some(session);
    }

    /// The trails' configuration from the CloudTrail API (`--aws`), as `--trail-config` holds
    /// it; None without `--aws` or when the trails could not be listed (warnings say why).
    pub fn trail_config(&mut self) -> Option<Value> {
        let session = self.aws.as_ref()?;
        let (config, warnings) = cloudtrail::trail_config(session);
        self.summary.warnings.extend(warnings);
        config
    }

    /// A role's current policies for `diff`: from a snapshot that has the role, else from IAM
    /// with `--aws`; None when no source knows the role.
    pub fn current_policies(&self, role_arn: &str) -> Option<crate::diff::RawPolicies> {
        self.snapshots
            .iter()
            .find_map(|(path, value)| {
                snapshot::role_policies(value, role_arn, &format!("IAM snapshot {path}"))
            })
            .or_else(|| self.aws.as_ref().map(|s| s.role_policies(role_arn)))
    }

    /// What the report sets beside the trail on the cluster side.
    pub fn cluster_facts(&self) -> crate::k8s::ClusterFacts<'_> {
        crate::k8s::ClusterFacts {
            inventory: &self.inventory,
            associations: &self.associations,
        }
    }

    /// Reads a `kubectl get serviceaccounts,pods -A -o json` export.
    pub fn add_k8s_inventory(
        &mut self,
        arg: &crate::k8s::InventoryArg,
    ) -> Result<(), crate::k8s::InventoryError> {
        self.inventory.add_file(arg)?;
        if let Some(added) = self.inventory.clusters.last() {
            self.summary.sources.push(format!(
                "Kubernetes inventory {} ({} service accounts, {} pods)",
                added.source,
                added.service_accounts.len(),
                added.pods.len()
            ));
        }
        Ok(())
    }

    /// The one service account annotated with `role` (`--k8s-inventory`) among those its trust
    /// policy admits, with its cluster: the inventory's, else that of the only provider that
    /// admits it.
    fn annotated(&self, role: &str, document: &Value) -> Option<TrustAnswer> {
        let subject = |ns: &str, sa: &str| format!("system:serviceaccount:{ns}:{sa}");
        let (inventory, entry) = self.inventory.only_annotated(role, |ns, sa| {
            !crate::diff::trust::admitting_providers(document, &subject(ns, sa)).is_empty()
        })?;
        let cluster = match &inventory.cluster {
            Some(cluster) => cluster.clone(),
            None => {
                let providers = crate::diff::trust::admitting_providers(
                    document,
                    &subject(&entry.namespace, &entry.name),
                );
                let [provider] = providers.as_slice() else {
                    return None;
                };
                self.clusters.for_provider(provider).into_owned()
            }
        };
        Some(TrustAnswer::Annotated(crate::attribute::ServiceAccount {
            cluster: cluster.into(),
            namespace: entry.namespace.clone().into(),
            name: entry.name.clone().into(),
        }))
    }

    /// Reads a cluster's inventory live through a kubeconfig context.
    pub fn add_kube_context(
        &mut self,
        arg: &crate::k8s::KubeContextArg,
    ) -> Result<(), crate::k8s::live::LiveError> {
        let (inventory, warnings) =
            crate::k8s::live::read_context(&arg.context, arg.cluster.as_deref())?;
        self.summary.sources.push(format!(
            "Kubernetes inventory {} ({} service accounts, {} pods)",
            inventory.source,
            inventory.service_accounts.len(),
            inventory.pods.len()
        ));
        self.summary.warnings.extend(warnings);
        self.inventory.add(inventory);
        Ok(())
    }

    /// A role's current trust policy: from a snapshot that has the role, else from IAM with
    /// `--aws`. Err is a warning (IAM did not answer); Ok(None) means no source knows the role.
    pub fn trust_document(&self, role_arn: &str) -> Result<Option<Value>, String> {
        if let Some(document) = self.trust_documents.get(&role_key(role_arn)) {
            return Ok(Some(document.clone()));
        }
        match &self.aws {
            Some(session) => session
                .trust_document(role_arn)
                .map(Some)
                .map_err(|failure| failure.message),
            None => Ok(None),
        }
    }

    /// `<cluster>/<ns>/<sa>` of the Pod Identity associations of a role.
    /// The role's Pod Identity associations (`<cluster>/<ns>/<sa>`), with whether each passes
    /// session tags (None: not known).
    pub fn associations_of(&self, role_arn: &str) -> Vec<(String, Option<bool>)> {
        let key = role_key(role_arn);
        let mut out: Vec<(String, Option<bool>)> = self
            .associations
            .iter()
            .filter(|a| role_key(&a.role_arn) == key)
            .map(|a| {
                (
                    format!("{}/{}/{}", a.cluster, a.namespace, a.service_account),
                    a.session_tags,
                )
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn associations(&self) -> Associations {
        Associations::new(self.associations.clone())
    }

    /// Trust answers for `roles`: from the snapshot when it has the role, else from IAM.
    pub fn trust(&mut self, roles: &BTreeSet<String>) -> TrustIndex {
        let mut index = TrustIndex::default();
        let mut read = 0;
        let mut not_asked = 0;
        let mut iam_unavailable = false;
        for role in roles {
            let document = match (self.trust_documents.get(&role_key(role)), &self.aws) {
                (Some(doc), _) => Some(doc.clone()),
                (None, Some(_)) if iam_unavailable => {
                    not_asked += 1;
                    None
                }
                (None, Some(session)) => match session.trust_document(role) {
                    Ok(doc) => Some(doc),
                    Err(failure) => {
                        iam_unavailable = failure.service_unavailable;
                        self.summary.warnings.push(failure.message);
                        None
                    }
                },
                (None, None) => None,
            };
            if let Some(document) = document {
                read += 1;
                let answer = match trust_answer(&document, &self.clusters) {
                    TrustAnswer::Several(subjects) => self
                        .annotated(role, &document)
                        .unwrap_or(TrustAnswer::Several(subjects)),
                    answer => answer,
                };
                index.insert(role, answer);
            }
        }
        if not_asked > 0 {
            self.summary.warnings.push(format!(
                "iam:GetRole: {not_asked} more role(s) not asked, since IAM did not answer"
            ));
        }
        self.summary.trust_policies = read;
        self.summary.cluster_names = self.clusters.names().collect::<BTreeSet<_>>().len() as u64;
        self.summary.pod_identity_associations = self.associations.len() as u64;
        index
    }
}

/// IAM returns policy documents URL-encoded; exports may hold them decoded.
pub fn policy_document(raw: &Value) -> Option<Value> {
    match raw {
        Value::Object(_) => Some(raw.clone()),
        Value::String(text) => {
            let decoded = percent_encoding::percent_decode_str(text)
                .decode_utf8()
                .ok()?;
            serde_json::from_str(&decoded).ok()
        }
        _ => None,
    }
}
