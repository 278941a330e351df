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

/// Trust policy documents by role key, from a `get-account-authorization-details` export.
pub fn trust_documents(path: &Path) -> Result<HashMap<String, Value>, SnapshotError> {
    let value = read_json(path)?;
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
                out.push(PodIdentityAssociation {
                    cluster,
                    namespace,
                    service_account,
                    role_arn,
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
