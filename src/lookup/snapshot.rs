//! Snapshot files: account facts exported once with the AWS CLI, for offline and reproducible
//! runs.
//!
//! - `aws iam get-account-authorization-details > iam.json`: roles with their trust policies
//!   (`RoleDetailList[].AssumeRolePolicyDocument`, decoded or URL-encoded).
//! - Pod Identity associations: a JSON array (or `{"associations": [...]}`) of the `association`
//!   objects `aws eks describe-pod-identity-association` prints; `clusterName`, `namespace`,
//!   `serviceAccount` and `roleArn` are read.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::policy_document;
use crate::attribute::PodIdentityAssociation;
use crate::attribute::context::role_key;
use crate::diff::RawPolicies;

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("cannot read {path}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not JSON")]
    Json {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
    #[error("{path}: {reason}")]
    Shape { path: PathBuf, reason: String },
}

fn read_json(path: &Path) -> Result<Value, SnapshotError> {
    let text = std::fs::read(path).map_err(|source| SnapshotError::Read {
        path: path.to_owned(),
        source,
    })?;
    serde_json::from_slice(&text).map_err(|source| SnapshotError::Json {
        path: path.to_owned(),
        source,
    })
}

/// Reads a `get-account-authorization-details` export whole (kept for `diff`).
pub fn read_snapshot(path: &Path) -> Result<Value, SnapshotError> {
    read_json(path)
}

/// A role's policies from a `get-account-authorization-details` export: inline policies,
/// attached managed policies at their default version, the permission boundary and the trust
/// policy. None when the export does not have the role.
pub fn role_policies(snapshot: &Value, role_arn: &str, source: &str) -> Option<RawPolicies> {
    let key = role_key(role_arn);
    let role = snapshot
        .get("RoleDetailList")?
        .as_array()?
        .iter()
        .find(|r| r.get("Arn").and_then(Value::as_str).map(role_key) == Some(key.clone()))?;
    let mut raw = RawPolicies {
        source: source.to_owned(),
        trust: role
            .get("AssumeRolePolicyDocument")
            .and_then(policy_document),
        ..RawPolicies::default()
    };
    for inline in role
        .get("RolePolicyList")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let name = inline
            .get("PolicyName")
            .and_then(Value::as_str)
            .unwrap_or("inline");
        match inline.get("PolicyDocument").and_then(policy_document) {
            Some(doc) => raw.identity.push((format!("inline:{name}"), doc)),
            None => raw
                .problems
                .push(format!("inline policy {name} has no readable document")),
        }
    }
    let managed = |arn: &str| -> Option<Value> {
        let policy = snapshot
            .get("Policies")?
            .as_array()?
            .iter()
            .find(|p| p.get("Arn").and_then(Value::as_str) == Some(arn))?;
        policy
            .get("PolicyVersionList")?
            .as_array()?
            .iter()
            .find(|v| v.get("IsDefaultVersion").and_then(Value::as_bool) == Some(true))
            .and_then(|v| v.get("Document"))
            .and_then(policy_document)
    };
    for attached in role
        .get("AttachedManagedPolicies")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let Some(arn) = attached.get("PolicyArn").and_then(Value::as_str) else {
            continue;
        };
        match managed(arn) {
            Some(doc) => raw.identity.push((arn.to_owned(), doc)),
            None => raw
                .problems
                .push(format!("managed policy {arn} is not in the snapshot")),
        }
    }
    if let Some(arn) = role
        .pointer("/PermissionsBoundary/PermissionsBoundaryArn")
        .and_then(Value::as_str)
    {
        match managed(arn) {
            Some(doc) => raw.boundary = Some((arn.to_owned(), doc)),
            None => raw
                .problems
                .push(format!("permission boundary {arn} is not in the snapshot")),
        }
    }
    Some(raw)
}

/// Trust policy documents by role key, from a `get-account-authorization-details` export
/// (read from `path`).
pub fn trust_documents(
    value: &Value,
    path: &Path,
) -> Result<HashMap<String, Value>, SnapshotError> {
    let roles = value
        .get("RoleDetailList")
        .and_then(Value::as_array)
        .ok_or_else(|| SnapshotError::Shape {
            path: path.to_owned(),
            reason: "no RoleDetailList: expected the output of `aws iam \
                     get-account-authorization-details`"
                .to_owned(),
        })?;
    let mut documents = HashMap::new();
    for (index, role) in roles.iter().enumerate() {
        let arn = role.get("Arn").and_then(Value::as_str);
        let document = role
            .get("AssumeRolePolicyDocument")
            .and_then(policy_document);
        match (arn, document) {
            (Some(arn), Some(document)) => {
                documents.insert(role_key(arn), document);
            }
            _ => {
                return Err(SnapshotError::Shape {
                    path: path.to_owned(),
                    reason: format!(
                        "RoleDetailList[{index}] has no Arn or no readable AssumeRolePolicyDocument"
                    ),
                });
            }
        }
    }
    Ok(documents)
}

/// Pod Identity associations from an export of `describe-pod-identity-association` objects.
pub fn associations(path: &Path) -> Result<Vec<PodIdentityAssociation>, SnapshotError> {
    let value = read_json(path)?;
    let items: Vec<&Value> = match &value {
        Value::Array(items) => items.iter().collect(),
        Value::Object(map) => match (map.get("associations"), map.get("association")) {
            (Some(Value::Array(items)), _) => items.iter().collect(),
            (_, Some(one)) => vec![one],
            _ => vec![&value],
        },
        _ => Vec::new(),
    };
    let mut out = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        // `describe-pod-identity-association` wraps each in {"association": {...}}.
        let item = item.get("association").unwrap_or(item);
        let field = |name: &str| item.get(name).and_then(Value::as_str).map(str::to_owned);
        let Some(role_arn) = field("roleArn") else {
            return Err(SnapshotError::Shape {
                path: path.to_owned(),
                reason: format!(
                    "association {index} has no roleArn (list-pod-identity-associations does not \
                     return it; export describe-pod-identity-association for each)"
                ),
            });
        };
        match (
            field("clusterName"),
            field("namespace"),
            field("serviceAccount"),
        ) {
            (Some(cluster), Some(namespace), Some(service_account)) => {
                let session_tags = item
                    .get("disableSessionTags")
                    .and_then(Value::as_bool)
                    .map(|disabled| !disabled);
                out.push(PodIdentityAssociation {
                    cluster,
                    namespace,
                    service_account,
                    role_arn,
                    session_tags,
                });
            }
            _ => {
                return Err(SnapshotError::Shape {
                    path: path.to_owned(),
                    reason: format!(
                        "association {index} lacks clusterName, namespace or serviceAccount"
                    ),
                });
            }
        }
    }
    Ok(out)
}
