//! Map: CloudTrail event → the IAM actions the call needed.
//!
//! `eventName` is not always the IAM action: S3 `ListObjectsV2` is authorised by `s3:ListBucket`,
//! Lambda logs API-version suffixes (`GetFunction20150331v2`), KMS `ReEncrypt` needs two actions,
//! and `sts:GetCallerIdentity` needs none. Every (eventSource, eventName) is resolved by the first
//! of these rules that applies, and the rule is kept ([`Rule`], docs/MAPPING.md):
//!
//! 1. the actions AWS's service reference publishes for the operation (a catalog refreshed by
//!    `iamtrim catalog update`);
//! 2. the catalog action of the same name, after stripping CloudTrail's version suffixes (a
//!    documented "needs no permission" comes first: `sts:GetCallerIdentity` is a catalog action,
//!    but no policy can deny the call);
//! 3. a documented rule (`data/operation-rules.tsv`: S3's configuration family, batch and
//!    transaction variants, renamed APIs, calls that need no permission), each with its page;
//!    API Gateway's management API, authorised by HTTP-verb actions;
//! 4. an operation the API model marks as not signed with SigV4 needs no IAM permission;
//! 5. otherwise `Unmapped`: reported with counts, never guessed.
//!
//! The service comes from the operations index (botocore's models): the API at the eventSource
//! that has the operation, and its IAM prefix. Permissions a request implies beyond its own
//! actions (a role to pass, a KMS key, a copy source) are added per request ([`implied`]).
//! Every action is checked against the IAM catalog and spelled as the catalog spells it.
//!
//! Mapping is per (eventSource, eventName) and pure, so a [`Mapper`] memoises it: the hot path does
//! two hash lookups per record and no allocation. What a request then comes to (its actions after
//! the conditional rules, and their resources) is memoised per distinct request ([`memo`]).

use foldhash::{HashMap, HashMapExt};
use std::sync::{Arc, LazyLock};

use crate::catalog::operations::{Api, Operations};
use crate::catalog::{Catalog, service_prefix};
use crate::decode::Record;

mod conditional;
pub mod coverage;
pub mod failure;
pub mod implied;

pub mod memo;
pub mod resources;
mod table;

pub use conditional::{Conditional, apply as apply_conditionals};
pub use resources::{EventResources, ResourceType};

/// What an event needed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mapping {
    /// The actions, plus rules that adjust them per request (`conditional`) and the permissions
    /// a request can imply beyond them (`implied`).
    Actions(Vec<Arc<str>>, Vec<Conditional>, Vec<implied::Implied>),
    /// The call needs no IAM permission (e.g. `sts:GetCallerIdentity`).
    NoPermission,
    /// iamtrim cannot tell which action authorised the call; reported, never guessed.
    Unmapped,
}

/// Which rule resolved an operation (docs/MAPPING.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// The service reference's `AuthorizedActions` for the operation.
    AuthorizedActions,
    /// The catalog action of the same name.
    SameName,
    /// A documented rule of `data/operation-rules.tsv`, by its class.
    Documented(&'static str),
    /// API Gateway's management API: HTTP-verb actions.
    ApiGatewayVerb,
    /// The API model marks the operation as not signed with SigV4.
    Unsigned,
    /// No rule applies.
    Unmapped,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::AuthorizedActions => "authorized-actions",
            Rule::SameName => "same-name",
            Rule::Documented(class) => class,
            Rule::ApiGatewayVerb => "apigateway-verb",
            Rule::Unsigned => "unsigned",
            Rule::Unmapped => "unmapped",
        }
    }
}

/// One documented rule: (prefix, operation) → actions ('-' for none), its class and its page.
pub struct DocumentedRule {
    pub prefix: &'static str,
    pub operation: &'static str,
    pub actions: Vec<&'static str>,
    pub class: &'static str,
    pub documentation: &'static str,
}

static DOCUMENTED: LazyLock<Vec<DocumentedRule>> = LazyLock::new(|| {
    table::rows(include_str!("data/operation-rules.tsv"))
        .map(
            |[prefix, operation, actions, class, documentation, ..]| DocumentedRule {
                prefix,
                operation,
                actions: match actions {
                    "-" => Vec::new(),
                    list => list.split(' ').collect(),
                },
                class,
                documentation,
            },
        )
        .collect()
});

/// The documented rules, in file order.
pub fn documented_rules() -> &'static [DocumentedRule] {
    &DOCUMENTED
}

fn documented(prefix: &str, operation: &str) -> Option<&'static DocumentedRule> {
    DOCUMENTED
        .iter()
        .find(|r| r.prefix == prefix && r.operation == operation)
}

/// The operation name without the version suffixes CloudTrail adds: Lambda's
/// `GetFunction20150331v2`, `CreateFunction20150331`, CloudFront's `CreateDistribution2020_05_31`.
pub fn strip_version_suffix(name: &str) -> &str {
    let bytes = name.as_bytes();
    let mut end = bytes.len();
    // `v2`, `v3` ... after a date
    if end >= 2 && bytes[end - 2] == b'v' && bytes[end - 1].is_ascii_digit() {
        end -= 2;
    }
    let digits = |range: std::ops::Range<usize>| bytes[range].iter().all(u8::is_ascii_digit);
    if end > 8 && bytes[end - 8] == b'2' && digits(end - 8..end) {
        return &name[..end - 8];
    }
    // CloudFront: `2014_01_31`
    let end = bytes.len();
    if end > 10
        && bytes[end - 10] == b'2'
        && digits(end - 10..end - 6)
        && bytes[end - 6] == b'_'
        && digits(end - 5..end - 3)
        && bytes[end - 3] == b'_'
        && digits(end - 2..end)
    {
        return &name[..end - 10];
    }
    name
}

/// API Gateway's management API (`apigateway.amazonaws.com`) is authorised by HTTP-verb actions
/// on resource paths, not by operation names (the operations index has each operation's method;
/// this verb table is for names it does not know):
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

/// The operation an (eventSource, eventName) names: the API of the index that has it (with the
/// version suffix stripped if the name itself is no operation), and the name.
pub fn operation_of<'a>(
    event_source: &str,
    event_name: &'a str,
) -> (Option<&'static Api>, &'a str) {
    let index = Operations::embedded();
    if let Some(api) = index.find(event_source, event_name) {
        return (Some(api), event_name);
    }
    let stripped = strip_version_suffix(event_name);
    (index.find(event_source, stripped), stripped)
}

/// The mapping of one (eventSource, eventName) pair.
pub fn map_event(catalog: &Catalog, event_source: &str, event_name: &str) -> Mapping {
    resolve(catalog, event_source, event_name).0
}

/// The mapping of one (eventSource, eventName) pair and the rule that decided it.
pub fn resolve(catalog: &Catalog, event_source: &str, event_name: &str) -> (Mapping, Rule) {
    let (api, name) = operation_of(event_source, event_name);
    let prefix = match api.and_then(|a| a.prefix.as_deref()) {
        Some(prefix) => prefix,
        None => match service_prefix(event_source) {
            Some(prefix) => prefix,
            None => return (Mapping::Unmapped, Rule::Unmapped),
        },
    };
    resolve_operation(catalog, prefix, api, name)
}

/// The mapping of `prefix`'s `name` (an operation of `api`, when the index knows it).
pub fn resolve_operation(
    catalog: &Catalog,
    prefix: &str,
    api: Option<&Api>,
    name: &str,
) -> (Mapping, Rule) {
    if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return (Mapping::Unmapped, Rule::Unmapped);
    }
    let actions = |list: &[&str], rule: Rule| -> (Mapping, Rule) {
        let checked: Option<Vec<Arc<str>>> = list
            .iter()
            .map(|action| catalog.action(action).map(Arc::from))
            .collect();
        match checked {
            Some(actions) => (
                Mapping::Actions(
                    actions,
                    conditional::rules_for(catalog, prefix, name),
                    implied::rules_for(catalog, prefix, name, api),
                ),
                rule,
            ),
            None => (Mapping::Unmapped, Rule::Unmapped),
        }
    };
    if let Some(list) = catalog.authorized_actions(prefix, name) {
        return actions(&list, Rule::AuthorizedActions);
    }
    if prefix == "apigateway" {
        // The model's HTTP method where the index has it, else the operation's verb.
        let method = api
            .and_then(|a| a.http_methods.get(name))
            .map(String::as_str);
        return match method.or_else(|| apigateway_verb(name)) {
            Some(verb) => actions(&[&format!("apigateway:{verb}")], Rule::ApiGatewayVerb),
            None => (Mapping::Unmapped, Rule::Unmapped),
        };
    }
    let documented = documented(prefix, name);
    // A documented "needs no permission" wins over an action of the same name: the catalog
    // lists `sts:GetCallerIdentity`, but no policy can deny the call.
    if let Some(rule) = documented.filter(|r| r.actions.is_empty()) {
        return (Mapping::NoPermission, Rule::Documented(rule.class));
    }
    if let Some(action) = catalog.action(&format!("{prefix}:{name}")) {
        return actions(&[action], Rule::SameName);
    }
    if let Some(rule) = documented {
        return actions(&rule.actions, Rule::Documented(rule.class));
    }
    if api.is_some_and(|a| a.unsigned.contains(name)) {
        return (Mapping::NoPermission, Rule::Unsigned);
    }
    (Mapping::Unmapped, Rule::Unmapped)
}

/// Memoises [`map_event`] per (eventSource, eventName); one per worker thread.
pub struct Mapper {
    catalog: Arc<Catalog>,
    cache: HashMap<Box<str>, HashMap<Box<str>, Arc<Mapping>>>,
    resource_types: HashMap<Arc<str>, Arc<[ResourceType]>>,
    /// What each distinct request came to.
    pub expansions: memo::Expansions,
    /// Every ARN the worker built, once: requests that name the same resource share one
    /// `Arc`, which the aggregator's maps then compare by address, not by content.
    arns: memo::Interner,
}

impl Mapper {
    pub fn new(catalog: Arc<Catalog>) -> Self {
        Self {
            catalog,
            cache: HashMap::new(),
            resource_types: HashMap::new(),
            expansions: memo::Expansions::default(),
            arns: memo::Interner::default(),
        }
    }

    /// The (action, resource, implied_by) calls of `record`, whose event maps to `actions` with
    /// the `conditionals` and `implied` rules: computed once per distinct request ([`memo`]).
    pub fn expand(
        &mut self,
        record: &Record<'_>,
        actions: &[Arc<str>],
        conditionals: &[Conditional],
        implied: &[implied::Implied],
    ) -> memo::Calls {
        let Self {
            catalog,
            resource_types,
            expansions,
            arns,
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
            let added = implied::apply(implied, record);
            let star: Arc<str> = Arc::from("*");
            let mut resources: Option<EventResources<'_>> = None;
            let mut calls = Vec::new();
            let own = actions.iter().map(|a| (a, None));
            let joining = added.with_call.iter().map(|(a, origin)| (a, Some(origin)));
            for (action, origin) in own.chain(joining) {
                let types = types_of(catalog, resource_types, action);
                if types.is_empty() {
                    calls.push((Arc::clone(action), Arc::clone(&star), origin.cloned()));
                    continue;
                }
                let event = resources.get_or_insert_with(|| EventResources::new(record));
                let service = action.split(':').next().unwrap_or_default();
                for resource in event.resolve(service, &types) {
                    calls.push((Arc::clone(action), arns.get(&resource), origin.cloned()));
                }
            }
            for (action, resource, origin) in added.calls {
                calls.push((action, arns.get(&resource), Some(origin)));
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
            Mapping::Actions(a, ..) => a.iter().map(ToString::to_string).collect(),
            other => panic!("{source} {name}: {other:?}"),
        }
    }

    #[test]
    fn known_mismatches() {
        assert_eq!(
            actions("s3.amazonaws.com", "ListObjectsV2"),
            ["s3:ListBucket"]
        );
        assert_eq!(actions("s3.amazonaws.com", "CopyObject"), ["s3:PutObject"]);
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
                list => Mapping::Actions(
                    list.split(' ').map(Arc::from).collect(),
                    Vec::new(),
                    Vec::new(),
                ),
            };
            let same = match (&got, &want) {
                (Mapping::Actions(a, ..), Mapping::Actions(b, ..)) => a == b,
                _ => got == want,
            };
            if !same {
                failures.push(format!(
                    "{source} {name}: got {got:?}, documented {expected}"
                ));
            }
        }
        assert!(rows >= 500, "{rows} cases");
        let sources: std::collections::BTreeSet<&str> = table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| l.split('\t').next())
            .collect();
        assert!(sources.len() >= 80, "{} event sources", sources.len());
        // Every rule class is exercised by some documented case.
        let seen: std::collections::BTreeSet<&str> = table
            .lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                resolve(&CATALOG, f[0], f[1]).1.name()
            })
            .collect();
        for rule in documented_rules().iter().map(|r| r.class).chain([
            "same-name",
            "apigateway-verb",
            "unsigned",
        ]) {
            assert!(seen.contains(rule), "no documented case resolves by {rule}");
        }
        assert!(
            failures.is_empty(),
            "{} of {rows} cases differ:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}
