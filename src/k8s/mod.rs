//! The cluster's own view (#25): ServiceAccounts and Pods read from a saved
//! `kubectl get serviceaccounts,pods -A -o json` (`--k8s-inventory [CLUSTER=]FILE`), set beside
//! what the trail shows. It names the owners (Deployment, StatefulSet, CronJob...) of each
//! service-account workload, and finds annotations and associations nobody used, service
//! accounts seen in the trail that the cluster does not tie to the role, and pods running as a
//! `default` service account that make AWS calls.

pub mod live;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::Serialize;
use serde_json::Value;

/// The IRSA annotation on a ServiceAccount.
pub const ROLE_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

/// What the cluster side knows besides the trail.
#[derive(Clone, Copy)]
pub struct ClusterFacts<'a> {
    pub inventory: &'a Inventory,
    pub associations: &'a [crate::attribute::PodIdentityAssociation],
}

/// `--k8s-inventory [CLUSTER=]FILE`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryArg {
    /// The cluster as iamtrim names it (`--cluster` name, issuer id, or Pod Identity cluster
    /// name); None: the file's service accounts match those of any cluster.
    pub cluster: Option<String>,
    pub path: PathBuf,
}

impl FromStr for InventoryArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (cluster, path) = cluster_and(text, "FILE")?;
        Ok(Self {
            cluster,
            path: PathBuf::from(path),
        })
    }
}

/// `[CLUSTER=]VALUE`: the cluster as iamtrim names it, when given, and the value.
fn cluster_and<'t>(text: &'t str, what: &str) -> Result<(Option<String>, &'t str), String> {
    match text.split_once('=') {
        Some((cluster, value)) if !cluster.is_empty() && !value.is_empty() => {
            Ok((Some(cluster.to_owned()), value))
        }
        Some(_) => Err(format!("{text:?}: expected [CLUSTER=]{what}")),
        None if text.is_empty() => Err(format!("expected [CLUSTER=]{what}")),
        None => Ok((None, text)),
    }
}

/// `--kube-context [CLUSTER=]CONTEXT`: a kubeconfig context to read the inventory from live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeContextArg {
    pub cluster: Option<String>,
    pub context: String,
}

impl FromStr for KubeContextArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let (cluster, context) = cluster_and(text, "CONTEXT")?;
        Ok(Self {
            cluster,
            context: context.to_owned(),
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
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
    #[error(
        "{path} is not a Kubernetes list (expected the output of `kubectl get serviceaccounts,pods -A -o json`)"
    )]
    NotAList { path: String },
}

/// A ServiceAccount of the inventory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct ServiceAccountEntry {
    pub namespace: String,
    pub name: String,
    /// Its `eks.amazonaws.com/role-arn` annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role_arn: Option<String>,
}

/// A Pod of the inventory: which service account it runs as, and what owns it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodEntry {
    pub namespace: String,
    pub name: String,
    pub service_account: String,
    /// The controller at the top of its owner chain (`Deployment/api`), or `Pod/<name>`.
    pub owner: String,
}

/// One cluster's ServiceAccounts and Pods.
#[derive(Debug, Clone, Default)]
pub struct ClusterInventory {
    pub cluster: Option<String>,
    /// Where it was read from.
    pub source: String,
    pub service_accounts: BTreeSet<ServiceAccountEntry>,
    pub pods: BTreeSet<PodEntry>,
}

impl ClusterInventory {
    /// Whether this inventory speaks for `cluster`.
    pub fn covers(&self, cluster: &str) -> bool {
        self.cluster.as_deref().is_none_or(|c| c == cluster)
    }

    pub fn service_account(&self, namespace: &str, name: &str) -> Option<&ServiceAccountEntry> {
        self.service_accounts
            .iter()
            .find(|s| s.namespace == namespace && s.name == name)
    }

    /// The owners of the pods running as `namespace/name`, each once, sorted.
    pub fn owners(&self, namespace: &str, name: &str) -> Vec<String> {
        self.pods
            .iter()
            .filter(|p| p.namespace == namespace && p.service_account == name)
            .map(|p| p.owner.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect()
    }
}

/// Every inventory given.
#[derive(Debug, Clone, Default)]
pub struct Inventory {
    pub clusters: Vec<ClusterInventory>,
}

impl Inventory {
    pub fn is_empty(&self) -> bool {
        self.clusters.is_empty()
    }

    pub fn add(&mut self, inventory: ClusterInventory) {
        self.clusters.push(inventory);
    }

    pub fn add_file(&mut self, arg: &InventoryArg) -> Result<(), InventoryError> {
        let path = arg.path.display().to_string();
        let text = std::fs::read(&arg.path).map_err(|source| InventoryError::Read {
            path: path.clone(),
            source,
        })?;
        let value: Value =
            serde_json::from_slice(&text).map_err(|source| InventoryError::NotJson {
                path: path.clone(),
                source,
            })?;
        let Some(items) = value.get("items").and_then(Value::as_array) else {
            return Err(InventoryError::NotAList { path });
        };
        let mut inventory = read_items(items);
        inventory.cluster = arg.cluster.clone();
        inventory.source = path_label(&arg.path, arg.cluster.as_deref());
        self.clusters.push(inventory);
        Ok(())
    }

    /// The inventories that speak for `cluster`.
    pub fn for_cluster<'a>(
        &'a self,
        cluster: &'a str,
    ) -> impl Iterator<Item = &'a ClusterInventory> {
        self.clusters.iter().filter(move |c| c.covers(cluster))
    }

    /// The one service account (`namespace`, `name`, inventory cluster) annotated with `role`,
    /// among those `admits` accepts, when exactly one is.
    pub fn only_annotated<'a>(
        &'a self,
        role: &str,
        admits: impl Fn(&str, &str) -> bool,
    ) -> Option<(&'a ClusterInventory, &'a ServiceAccountEntry)> {
        let key = crate::attribute::context::role_key(role);
        let mut found = self.clusters.iter().flat_map(|c| {
            c.service_accounts
                .iter()
                .filter(|s| {
                    s.role_arn
                        .as_deref()
                        .is_some_and(|r| crate::attribute::context::role_key(r) == key)
                })
                .filter(|s| admits(&s.namespace, &s.name))
                .map(move |s| (c, s))
        });
        let first = found.next()?;
        found.next().is_none().then_some(first)
    }
}

fn path_label(path: &Path, cluster: Option<&str>) -> String {
    match cluster {
        Some(c) => format!("{c}={}", path.display()),
        None => path.display().to_string(),
    }
}

/// ServiceAccounts and Pods of a `kubectl get ... -o json` list; ReplicaSets, Jobs and other
/// owners in the same list resolve owner chains (without them a ReplicaSet is read as its
/// Deployment from the `pod-template-hash` label).
pub(crate) fn read_items(items: &[Value]) -> ClusterInventory {
    let text = |v: &Value, p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_owned);
    // (kind, namespace, name) -> its controller (kind, name).
    let mut controllers: BTreeMap<(String, String, String), (String, String)> = BTreeMap::new();
    for item in items {
        if let (Some(kind), Some(ns), Some(name), Some(owner)) = (
            text(item, "/kind"),
            text(item, "/metadata/namespace"),
            text(item, "/metadata/name"),
            controller(item),
        ) {
            controllers.insert((kind, ns, name), owner);
        }
    }
    let mut inventory = ClusterInventory::default();
    for item in items {
        let (Some(kind), Some(namespace), Some(name)) = (
            text(item, "/kind"),
            text(item, "/metadata/namespace"),
            text(item, "/metadata/name"),
        ) else {
            continue;
        };
        match kind.as_str() {
            "ServiceAccount" => {
                let role_arn = item
                    .pointer("/metadata/annotations")
                    .and_then(|a| a.get(ROLE_ANNOTATION))
                    .and_then(Value::as_str)
                    .map(str::to_owned);
                inventory.service_accounts.insert(ServiceAccountEntry {
                    namespace,
                    name,
                    role_arn,
                });
            }
            "Pod" => {
                let service_account =
                    text(item, "/spec/serviceAccountName").unwrap_or_else(|| "default".to_owned());
                let owner = top_owner(item, &namespace, &name, &controllers);
                inventory.pods.insert(PodEntry {
                    namespace,
                    name,
                    service_account,
                    owner,
                });
            }
            _ => {}
        }
    }
    inventory
}

/// The controller owner reference of an object: (kind, name).
fn controller(item: &Value) -> Option<(String, String)> {
    let refs = item.pointer("/metadata/ownerReferences")?.as_array()?;
    let chosen = refs
        .iter()
        .find(|r| r.get("controller").and_then(Value::as_bool) == Some(true))
        .or_else(|| refs.first())?;
    Some((
        chosen.get("kind")?.as_str()?.to_owned(),
        chosen.get("name")?.as_str()?.to_owned(),
    ))
}

/// Follows a pod's owner chain to its top controller, through the owners the list holds.
fn top_owner(
    pod: &Value,
    namespace: &str,
    name: &str,
    controllers: &BTreeMap<(String, String, String), (String, String)>,
) -> String {
    let Some(mut at) = controller(pod) else {
        return format!("Pod/{name}");
    };
    for _ in 0..8 {
        match controllers.get(&(at.0.clone(), namespace.to_owned(), at.1.clone())) {
            Some(next) => at = next.clone(),
            None => break,
        }
    }
    if at.0 == "ReplicaSet"
        && let Some(hash) = pod
            .pointer("/metadata/labels/pod-template-hash")
            .and_then(Value::as_str)
        && let Some(deployment) = at.1.strip_suffix(&format!("-{hash}"))
    {
        return format!("Deployment/{deployment}");
    }
    format!("{}/{}", at.0, at.1)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn owners_follow_the_chain_or_the_template_hash() {
        let items = vec![
            json!({"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": "api",
                "annotations": {ROLE_ANNOTATION: "arn:aws:iam::1:role/shop-api"}}}),
            json!({"kind": "Pod", "metadata": {"namespace": "shop", "name": "api-7d9f-x2",
                "labels": {"pod-template-hash": "7d9f"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "api-7d9f", "controller": true}]},
                "spec": {"serviceAccountName": "api"}}),
            json!({"kind": "Pod", "metadata": {"namespace": "shop", "name": "report-2904-abc",
                "ownerReferences": [{"kind": "Job", "name": "report-2904", "controller": true}]},
                "spec": {"serviceAccountName": "api"}}),
            json!({"kind": "Job", "metadata": {"namespace": "shop", "name": "report-2904",
                "ownerReferences": [{"kind": "CronJob", "name": "report", "controller": true}]}}),
            json!({"kind": "Pod", "metadata": {"namespace": "shop", "name": "debug"},
                "spec": {}}),
        ];
        let inventory = read_items(&items);
        assert_eq!(
            inventory.owners("shop", "api"),
            ["CronJob/report", "Deployment/api"]
        );
        assert_eq!(inventory.owners("shop", "default"), ["Pod/debug"]);
        assert_eq!(
            inventory
                .service_account("shop", "api")
                .unwrap()
                .role_arn
                .as_deref(),
            Some("arn:aws:iam::1:role/shop-api")
        );
    }

    #[test]
    fn inventory_arguments() {
        assert_eq!(
            "prod=inv.json".parse::<InventoryArg>().unwrap(),
            InventoryArg {
                cluster: Some("prod".into()),
                path: "inv.json".into()
            }
        );
        assert_eq!("inv.json".parse::<InventoryArg>().unwrap().cluster, None);
        assert!("=x".parse::<InventoryArg>().is_err());
    }
}
