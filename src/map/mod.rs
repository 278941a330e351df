//! Map: CloudTrail event → the IAM actions the call needed.
//!
//! `eventName` is not the IAM action: S3 `ListObjectsV2` is authorised by `s3:ListBucket`, Lambda
//! logs API-version suffixes (`GetFunction20150331v2`), KMS `ReEncrypt` needs two actions, and
//! `sts:GetCallerIdentity` needs none. The override table below lists such events; everything else
//! maps to `<prefix>:<eventName>` with the version suffix stripped.
//!
//! Every action is checked against the IAM catalog and spelled as the catalog spells it; an event
//! whose action is not in the catalog is `Unmapped` (reported with counts), never invented.
//!
//! Mapping is per (eventSource, eventName) and pure, so a [`Mapper`] memoises it: the hot path does
//! two hash lookups per record and no allocation. What a request then comes to (its actions after
//! the conditional rules, and their resources) is memoised per distinct request ([`memo`]).

use foldhash::{HashMap, HashMapExt};
use std::sync::Arc;

use crate::catalog::{Catalog, service_prefix};
use crate::decode::Record;

mod conditional;

pub mod memo;
pub mod resources;

pub use conditional::{Conditional, apply as apply_conditionals};
pub use resources::{EventResources, ResourceType};

/// What an event needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// The actions, plus rules that adjust them per request (see `conditional`).
    Actions(Vec<Arc<str>>, Vec<Conditional>),
    /// The call needs no IAM permission (e.g. `sts:GetCallerIdentity`).
    NoPermission,
    /// iamtrim cannot tell which action authorised the call; reported, never guessed.
    Unmapped,
}

/// (prefix, eventName) → actions, for events whose IAM action is not `prefix:eventName`.
/// An empty list means no permission is needed.
const OVERRIDES: &[(&str, &str, &[&str])] = &[
    // S3: https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
    ("s3", "ListObjects", &["s3:ListBucket"]),
    ("s3", "ListObjectsV2", &["s3:ListBucket"]),
    ("s3", "ListObjectVersions", &["s3:ListBucketVersions"]),
    ("s3", "HeadObject", &["s3:GetObject"]),
    ("s3", "HeadBucket", &["s3:ListBucket"]),
    ("s3", "ListBuckets", &["s3:ListAllMyBuckets"]),
    ("s3", "CopyObject", &["s3:GetObject", "s3:PutObject"]),
    ("s3", "CreateMultipartUpload", &["s3:PutObject"]),
    ("s3", "UploadPart", &["s3:PutObject"]),
    ("s3", "UploadPartCopy", &["s3:GetObject", "s3:PutObject"]),
    ("s3", "CompleteMultipartUpload", &["s3:PutObject"]),
    ("s3", "DeleteObjects", &["s3:DeleteObject"]),
    ("s3", "GetBucketCors", &["s3:GetBucketCORS"]),
    (
        "s3",
        "GetBucketEncryption",
        &["s3:GetEncryptionConfiguration"],
    ),
    (
        "s3",
        "GetBucketLifecycle",
        &["s3:GetLifecycleConfiguration"],
    ),
    (
        "s3",
        "GetBucketLifecycleConfiguration",
        &["s3:GetLifecycleConfiguration"],
    ),
    (
        "s3",
        "PutBucketLifecycle",
        &["s3:PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "DeleteBucketLifecycle",
        &["s3:PutLifecycleConfiguration"],
    ),
    (
        "s3",
        "GetBucketReplication",
        &["s3:GetReplicationConfiguration"],
    ),
    // KMS: https://docs.aws.amazon.com/kms/latest/developerguide/kms-api-permissions-reference.html
    (
        "kms",
        "ReEncrypt",
        &["kms:ReEncryptFrom", "kms:ReEncryptTo"],
    ),
    // Lambda: https://docs.aws.amazon.com/lambda/latest/dg/logging-using-cloudtrail.html
    ("lambda", "Invoke", &["lambda:InvokeFunction"]),
    // STS: https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html
    ("sts", "GetCallerIdentity", &[]),
    // Console sign-in events are not authorised by IAM policies.
    ("signin", "ConsoleLogin", &[]),
];

/// Lambda and a few older APIs log the API version: `GetFunction20150331v2` → `GetFunction`.
fn strip_version_suffix(name: &str) -> &str {
    let bytes = name.as_bytes();
    let mut end = bytes.len();
    if end >= 2 && bytes[end - 2] == b'v' && bytes[end - 1].is_ascii_digit() {
        end -= 2;
    }
    if end > 8 && bytes[end - 8..end].iter().all(u8::is_ascii_digit) && bytes[end - 8] == b'2' {
        &name[..end - 8]
    } else {
        name
    }
}

/// API Gateway's management API (`apigateway.amazonaws.com`) is authorised by HTTP-verb actions
/// on resource paths, not by operation names:
/// https://docs.aws.amazon.com/apigateway/latest/developerguide/security_iam_service-with-iam.html
fn apigateway_verb(name: &str) -> Option<&'static str> {
    [
        ("Get", "GET"),
        ("Create", "POST"),
        ("Import", "PUT"),
        ("Put", "PUT"),
        ("Update", "PATCH"),
        ("Delete", "DELETE"),
        ("Flush", "DELETE"),
        ("Tag", "PUT"),
        ("Untag", "DELETE"),
    ]
    .iter()
    .find(|(op, _)| name.starts_with(op))
    .map(|(_, verb)| *verb)
}

/// The mapping of one (eventSource, eventName) pair.
pub fn map_event(catalog: &Catalog, event_source: &str, event_name: &str) -> Mapping {
    let Some(prefix) = service_prefix(event_source) else {
        return Mapping::Unmapped;
    };
    let name = strip_version_suffix(event_name);
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return Mapping::Unmapped;
    }
    let candidates: Vec<String> = if prefix == "apigateway" {
        match apigateway_verb(name) {
            Some(verb) => vec![format!("apigateway:{verb}")],
            None => return Mapping::Unmapped,
        }
    } else {
        match OVERRIDES
            .iter()
            .find(|(p, n, _)| *p == prefix && *n == name)
        {
            Some((_, _, [])) => return Mapping::NoPermission,
            Some((_, _, actions)) => actions.iter().map(|a| (*a).to_owned()).collect(),
            None => vec![format!("{prefix}:{name}")],
        }
    };
    let checked: Option<Vec<Arc<str>>> = candidates
        .iter()
        .map(|action| catalog.action(action).map(Arc::from))
        .collect();
    match checked {
        Some(actions) => Mapping::Actions(actions, conditional::rules_for(catalog, prefix, name)),
        None => Mapping::Unmapped,
    }
}

/// Memoises [`map_event`] per (eventSource, eventName); one per worker thread.
pub struct Mapper {
    catalog: Arc<Catalog>,
    cache: HashMap<Box<str>, HashMap<Box<str>, Arc<Mapping>>>,
    resource_types: HashMap<Arc<str>, Arc<[ResourceType]>>,
    /// What each distinct request came to.
    pub expansions: memo::Expansions,
}

impl Mapper {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            cache: HashMap::new(),
            resource_types: HashMap::new(),
            expansions: memo::Expansions::default(),
        }
    }

    /// The (action, resource) calls of `record`, whose event maps to `actions` with the
    /// `conditionals` rules: computed once per distinct request ([`memo`]).
    pub fn expand(
        &mut self,
        record: &Record<'_>,
        actions: &[Arc<str>],
        conditionals: &[Conditional],
    ) -> memo::Calls {
        let Self {
            catalog,
            resource_types,
            expansions,
            ..
        } = self;
        expansions.get_or_insert_with(record, || {
            let adjusted;
            let actions = if conditionals.is_empty() {
                actions
            } else {
                adjusted = conditional::apply(actions, conditionals, record.request_parameters);
                adjusted.as_slice()
            };
            let star: Arc<str> = Arc::from("*");
            let mut resources: Option<EventResources<'_>> = None;
            let mut calls = Vec::new();
            for action in actions {
                let types = types_of(catalog, resource_types, action);
                if types.is_empty() {
                    calls.push((Arc::clone(action), Arc::clone(&star)));
                    continue;
                }
                let event = resources.get_or_insert_with(|| EventResources::new(record));
                let service = action.split(':').next().unwrap_or_default();
                for resource in event.resolve(service, &types) {
                    calls.push((Arc::clone(action), Arc::from(resource)));
                }
            }
            calls
        })
    }

    /// The resource types `action` (a catalog action) takes, with their ARN formats.
    pub fn resource_types(&mut self, action: &Arc<str>) -> Arc<[ResourceType]> {
        types_of(&self.catalog, &mut self.resource_types, action)
    }

    pub fn map(&mut self, event_source: &str, event_name: &str) -> Arc<Mapping> {
        if let Some(mapping) = self
            .cache
            .get(event_source)
            .and_then(|names| names.get(event_name))
        {
            return Arc::clone(mapping);
        }
        let mapping = Arc::new(map_event(&self.catalog, event_source, event_name));
        self.cache
            .entry(event_source.into())
            .or_default()
            .insert(event_name.into(), Arc::clone(&mapping));
        mapping
    }
}

/// The resource types `action` (a catalog action) takes, with their ARN formats, through `cache`.
fn types_of(
    catalog: &Catalog,
    cache: &mut HashMap<Arc<str>, Arc<[ResourceType]>>,
    action: &Arc<str>,
) -> Arc<[ResourceType]> {
    if let Some(types) = cache.get(action) {
        return Arc::clone(types);
    }
    let types: Arc<[ResourceType]> = action
        .split_once(':')
        .and_then(|(prefix, name)| {
            let service = catalog.services.get(prefix)?;
            let entry = service.actions.get(name)?;
            Some(
                entry
                    .resources
                    .iter()
                    .filter_map(|(t, required)| {
                        Some(ResourceType {
                            name: t.clone(),
                            template: crate::policy::arn::ArnTemplate::parse(
                                service.resource_types.get(t)?,
                            ),
                            required: *required,
                        })
                    })
                    .collect::<Vec<_>>(),
            )
        })
        .unwrap_or_default()
        .into();
    cache.insert(Arc::clone(action), Arc::clone(&types));
    types
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::embedded().unwrap());

    fn map(source: &str, name: &str) -> Mapping {
        map_event(&CATALOG, source, name)
    }

    fn actions(source: &str, name: &str) -> Vec<String> {
        match map(source, name) {
            Mapping::Actions(a, _) => a.iter().map(ToString::to_string).collect(),
            other => panic!("{source} {name}: {other:?}"),
        }
    }

    #[test]
    fn known_mismatches() {
        assert_eq!(
            actions("s3.amazonaws.com", "ListObjectsV2"),
            ["s3:ListBucket"]
        );
        assert_eq!(
            actions("s3.amazonaws.com", "CopyObject"),
            ["s3:GetObject", "s3:PutObject"]
        );
        assert_eq!(
            actions("monitoring.amazonaws.com", "PutMetricData"),
            ["cloudwatch:PutMetricData"]
        );
        assert_eq!(
            actions("lambda.amazonaws.com", "GetFunction20150331v2"),
            ["lambda:GetFunction"]
        );
        assert_eq!(
            actions("lambda.amazonaws.com", "CreateFunction20150331"),
            ["lambda:CreateFunction"]
        );
        assert_eq!(
            actions("kms.amazonaws.com", "ReEncrypt"),
            ["kms:ReEncryptFrom", "kms:ReEncryptTo"]
        );
        assert_eq!(
            map("sts.amazonaws.com", "GetCallerIdentity"),
            Mapping::NoPermission
        );
        assert_eq!(map("example.com", "Foo"), Mapping::Unmapped);
        // API Gateway management calls are authorised by HTTP-verb actions.
        assert_eq!(
            actions("apigateway.amazonaws.com", "GetResource"),
            ["apigateway:GET"]
        );
        assert_eq!(
            actions("apigateway.amazonaws.com", "CreateDeployment"),
            ["apigateway:POST"]
        );
        // Not in the catalog: reported, never invented.
        assert_eq!(
            map("s3.amazonaws.com", "GetStorageLensDashboardDataInternal"),
            Mapping::Unmapped
        );
        assert_eq!(
            map("ec2.amazonaws.com", "SharedSnapshotVolumeCreated"),
            Mapping::Unmapped
        );
        assert_eq!(
            actions("ec2.amazonaws.com", "DescribeInstances"),
            ["ec2:DescribeInstances"]
        );
    }

    /// fixtures/mapping/cases.tsv: each row an (eventSource, eventName), the IAM actions the call
    /// needs, and the AWS documentation the expectation comes from.
    #[test]
    fn documented_mapping_cases() {
        let table = include_str!("../../fixtures/mapping/cases.tsv");
        let mut failures = Vec::new();
        let mut rows = 0;
        for line in table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        {
            let fields: Vec<&str> = line.split('\t').collect();
            let [source, name, expected, doc] = fields[..] else {
                panic!("malformed row: {line}");
            };
            assert!(
                doc.contains("https://docs.aws.amazon.com/"),
                "row without documentation: {line}"
            );
            rows += 1;
            let got = map(source, name);
            let want = match expected {
                "-" => Mapping::NoPermission,
                "?" => Mapping::Unmapped,
                list => Mapping::Actions(list.split(' ').map(Arc::from).collect(), Vec::new()),
            };
            let same = match (&got, &want) {
                (Mapping::Actions(a, _), Mapping::Actions(b, _)) => a == b,
                _ => got == want,
            };
            if !same {
                failures.push(format!(
                    "{source} {name}: got {got:?}, documented {expected}"
                ));
            }
        }
        assert!(rows >= 150, "{rows} cases");
        assert!(
            failures.is_empty(),
            "{} of {rows} cases differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
