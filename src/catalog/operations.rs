//! The operations index: every operation of every AWS API, from botocore's service models.
//!
//! `scripts/update-operations.py` pins a botocore release (Apache-2.0, on PyPI) and writes
//! `data/operations.json.gz`: per API, the CloudTrail eventSource hosts its events carry, its IAM
//! service prefix (and how that was found), its operations, the operations that are not signed
//! with SigV4, and the input members that hold a role to pass or a KMS key. Mapping reads it to
//! know which service an (eventSource, eventName) belongs to; `iamtrim catalog coverage` reads it
//! to resolve every operation there is.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::LazyLock;

use serde::Deserialize;

static EMBEDDED: &[u8] = include_bytes!("data/operations.json.gz");

static INDEX: LazyLock<Operations> = LazyLock::new(|| {
    let json = crate::decode::inflate_if_gzip(EMBEDDED.to_vec(), Default::default())
        .expect("the embedded operations index inflates");
    let file: IndexFile =
        serde_json::from_slice(&json).expect("the embedded operations index is valid");
    Operations::new(file)
});

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct IndexFile {
    source: String,
    version: String,
    services: Vec<Api>,
}

/// One API (a botocore service model).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Api {
    /// botocore's name for it (`s3control`, `bedrock-runtime`).
    pub service: String,
    pub service_id: String,
    /// CloudTrail eventSource hosts its events carry.
    pub event_sources: Vec<String>,
    /// The IAM service prefix, when the IAM catalog has one for it.
    pub prefix: Option<String>,
    /// How the prefix was found: the model field, or the documentation of an override.
    pub prefix_from: Option<String>,
    pub operations: BTreeSet<String>,
    /// Operations not signed with SigV4 (`authtype: none`, bearer tokens): no IAM policy
    /// authorizes them.
    pub unsigned: BTreeSet<String>,
    /// Operations the model marks deprecated (reported apart in the coverage).
    pub deprecated: BTreeSet<String>,
    /// API Gateway's management operations → their HTTP method.
    pub http_methods: BTreeMap<String, String>,
    /// Operation → paths of input members that hold a role passed to the service. A path ends
    /// in `~` when a plain name there also names an IAM role.
    pub role_members: BTreeMap<String, Vec<String>>,
    /// Operation → paths of input members that name a KMS key the service uses.
    pub kms_members: BTreeMap<String, Vec<String>>,
    /// Operation → resource type (of the action named like it) → ARN variable → the key
    /// CloudTrail logs the request member that fills it under (#21). Derived from the input
    /// shapes by name (docs/MAPPING.md, "Resources").
    pub resource_members: ResourceMembers,
    /// Operation → the resource types it creates whose identifiers AWS assigns: their grant
    /// stays the type's wildcard (`create-on-type`).
    pub creates: BTreeMap<String, Vec<String>>,
}

/// Operation → resource type → ARN variable → CloudTrail request key, kept as sorted rows: as
/// nested maps, the 9,500 operations' small maps cost some 20 MB of resident memory.
#[derive(Debug, Default)]
pub struct ResourceMembers {
    rows: Vec<[Box<str>; 4]>,
}

impl ResourceMembers {
    /// The CloudTrail key of the member that fills `variable` of `kind` for `operation`.
    pub fn key(&self, operation: &str, kind: &str, variable: &str) -> Option<&str> {
        self.rows
            .binary_search_by(|[o, k, v, _]| (&**o, &**k, &**v).cmp(&(operation, kind, variable)))
            .ok()
            .map(|i| &*self.rows[i][3])
    }

    /// Whether `operation` has members for `kind` (its request names resources of that type).
    pub fn names(&self, operation: &str, kind: &str) -> bool {
        let at = self
            .rows
            .partition_point(|[o, k, _, _]| (&**o, &**k) < (operation, kind));
        self.rows
            .get(at)
            .is_some_and(|[o, k, _, _]| &**o == operation && &**k == kind)
    }

    /// Whether `operation` has members for any type.
    pub fn has(&self, operation: &str) -> bool {
        let at = self.rows.partition_point(|[o, _, _, _]| &**o < operation);
        self.rows
            .get(at)
            .is_some_and(|[o, _, _, _]| &**o == operation)
    }
}

impl<'de> Deserialize<'de> for ResourceMembers {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let nested: BTreeMap<String, BTreeMap<String, BTreeMap<String, String>>> =
            BTreeMap::deserialize(deserializer)?;
        let mut rows = Vec::new();
        for (operation, kinds) in nested {
            for (kind, variables) in kinds {
                for (variable, key) in variables {
                    rows.push([
                        operation.clone().into_boxed_str(),
                        kind.clone().into_boxed_str(),
                        variable.into_boxed_str(),
                        key.into_boxed_str(),
                    ]);
                }
            }
        }
        // BTreeMaps iterate sorted: the rows are sorted already.
        rows.shrink_to_fit();
        Ok(Self { rows })
    }
}

/// The index, with its APIs by eventSource host.
pub struct Operations {
    pub source: String,
    pub version: String,
    pub apis: Vec<Api>,
    by_host: HashMap<String, Vec<usize>>,
}

impl Operations {
    /// The index compiled into the binary.
    pub fn embedded() -> &'static Operations {
        &INDEX
    }

    fn new(file: IndexFile) -> Self {
        let mut by_host: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, api) in file.services.iter().enumerate() {
            for host in &api.event_sources {
                by_host.entry(host.clone()).or_default().push(i);
            }
        }
        Self {
            source: file.source,
            version: file.version,
            apis: file.services,
            by_host,
        }
    }

    /// The APIs whose events carry `event_source`.
    pub fn at(&self, event_source: &str) -> impl Iterator<Item = &Api> {
        self.by_host
            .get(event_source)
            .into_iter()
            .flatten()
            .map(|&i| &self.apis[i])
    }

    /// Whether `resource` (an ARN with a wildcard) is of a type `action` creates with an
    /// identifier AWS assigns (`ec2:CreateSubnet` on `…:subnet/*`).
    pub fn creates(&self, action: &str, resource: &str) -> bool {
        let Some((prefix, name)) = action.split_once(':') else {
            return false;
        };
        let Some(part) = resource.splitn(6, ':').nth(5) else {
            return false;
        };
        self.apis
            .iter()
            .filter(|api| api.prefix.as_deref() == Some(prefix))
            .filter_map(|api| api.creates.get(name))
            .flatten()
            .any(|kind| {
                // `subnet/*`, `db:*`, and `stack/my-stack/*` (a name the request gave, an id
                // AWS assigns).
                part.strip_prefix(kind.as_str()).is_some_and(|rest| {
                    (rest.starts_with('/') || rest.starts_with(':')) && rest.contains('*')
                })
            })
    }

    /// For an ARN of a resource `action` created (`…:subnet/subnet-0abc` of
    /// `ec2:CreateSubnet`, named by the call's response), the type's wildcard the grant must
    /// take (`…:subnet/*`): the next create makes another one.
    pub fn created_wildcard(&self, action: &str, resource: &str) -> Option<String> {
        let (prefix, name) = action.split_once(':')?;
        let head_len = resource.match_indices(':').nth(4)?.0 + 1;
        let part = &resource[head_len..];
        self.apis
            .iter()
            .filter(|api| api.prefix.as_deref() == Some(prefix))
            .flat_map(|api| {
                api.creates
                    .get(name)
                    .into_iter()
                    .flatten()
                    // A type the request names (`name` of cloudtrail:CreateTrail) keeps its
                    // name: only identifiers AWS assigns are widened.
                    .filter(move |kind| !api.resource_members.names(name, kind))
            })
            .find_map(|kind| {
                let rest = part.strip_prefix(kind.as_str())?;
                let separator = rest.chars().next().filter(|c| *c == '/' || *c == ':')?;
                (!rest.contains(['*', '?']) && rest.len() > 1)
                    .then(|| format!("{}{kind}{separator}*", &resource[..head_len]))
            })
    }

    /// The API at `event_source` that has `operation`, if any: the one an event of that name
    /// belongs to.
    pub fn find(&self, event_source: &str, operation: &str) -> Option<&Api> {
        self.at(event_source)
            .find(|api| api.operations.contains(operation))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_index_knows_every_api_by_its_event_source() {
        let index = Operations::embedded();
        assert!(index.apis.len() > 400, "{}", index.apis.len());
        let find = |host: &str, op: &str| index.find(host, op).map(|a| a.service.as_str());
        assert_eq!(find("s3.amazonaws.com", "GetObject"), Some("s3"));
        assert_eq!(
            find("s3.amazonaws.com", "GetAccessPoint"),
            Some("s3control")
        );
        assert_eq!(
            find("ecr.amazonaws.com", "GetAuthorizationToken"),
            Some("ecr")
        );
        assert_eq!(find("amazonmq.amazonaws.com", "CreateBroker"), Some("mq"));
        assert_eq!(
            find("bedrock.amazonaws.com", "Converse"),
            Some("bedrock-runtime")
        );
        let runtime = index.find("bedrock.amazonaws.com", "Converse").unwrap();
        assert_eq!(runtime.prefix.as_deref(), Some("bedrock"));
        // Role members come from the input shapes.
        let ecs = index.find("ecs.amazonaws.com", "RunTask").unwrap();
        assert!(ecs.role_members["RunTask"].contains(&"overrides.taskRoleArn~".to_owned()));
        let s3 = index.find("s3.amazonaws.com", "PutObject").unwrap();
        assert_eq!(
            s3.kms_members["PutObject"],
            ["x-amz-server-side-encryption-aws-kms-key-id"]
        );
        // #21: which member names each resource, and what a call creates.
        let rds = index.find("rds.amazonaws.com", "DeleteDBInstance").unwrap();
        assert_eq!(
            rds.resource_members
                .key("DeleteDBInstance", "db", "DbInstanceName"),
            Some("dBInstanceIdentifier")
        );
        let ec2 = index.find("ec2.amazonaws.com", "StopInstances").unwrap();
        assert_eq!(
            ec2.resource_members
                .key("StopInstances", "instance", "InstanceId"),
            Some("instanceId")
        );
        assert_eq!(
            ec2.resource_members.key(
                "AuthorizeSecurityGroupIngress",
                "security-group",
                "SecurityGroupId"
            ),
            Some("groupId")
        );
        assert!(index.creates(
            "ec2:CreateSubnet",
            "arn:aws:ec2:us-east-1:111122223333:subnet/*"
        ));
        assert!(!index.creates(
            "ec2:DeleteSubnet",
            "arn:aws:ec2:us-east-1:111122223333:subnet/*"
        ));
        // STS assumes roles, it does not pass them.
        let sts = index.find("sts.amazonaws.com", "AssumeRole").unwrap();
        assert!(sts.role_members.is_empty());
    }
}
