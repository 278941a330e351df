//! Resources: which ARNs a call acted on, placed on the resource types the catalog says its action
//! takes.
//!
//! ARNs come from the event's `resources` array and from any ARN in the request parameters
//! (outside policy documents); names come from request members and fill the catalog's ARN format
//! for the action's resource type, with the event's partition, region and account. Which member
//! fills which variable is derived from the API models (`resource_members` of the operations
//! index, #21, docs/MAPPING.md "Resources"); hand-written rules ([`OVERRIDES`]) take precedence
//! where the derivation is wrong. A variable the event does not name becomes `*` within the
//! account and region (the synthesis stage records that as a generalisation). Actions without
//! resource types get `*`, and only those. Secrets Manager's random 6-character suffix becomes
//! `-??????`.
//!
//! The hand-written members are read once per record into a borrowed struct; the request is
//! parsed whole only for derived members and ARNs, once per distinct request (the mapping is
//! memoised). Only resource names, ids and ARNs are read into output (secrets never are).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{Deserializer, IgnoredAny, SeqAccess, Visitor};

use crate::catalog::operations::{Operations, ResourceMembers};
use crate::decode::Record;
use crate::decode::record::Raw;
use crate::policy::arn::{ArnTemplate, partition_of_region};

/// A resource type an action takes, from the catalog.
#[derive(Debug, Clone)]
pub struct ResourceType {
    pub name: String,
    pub template: ArnTemplate,
    pub required: bool,
}

/// A string request parameter, or nothing when the field holds anything else.
#[derive(Debug, Default)]
struct Text<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        deserializer.deserialize_any(TextVisitor)
    }
}

/// A list of string request parameters (`names` of `ssm:GetParameters`).
#[derive(Debug, Default)]
struct Texts<'a>(Vec<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for Texts<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextsVisitor;
        impl<'de> Visitor<'de> for TextsVisitor {
            type Value = Texts<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(Text(item)) = seq.next_element::<Text<'de>>()? {
                    out.extend(item);
                }
                Ok(Texts(out))
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Texts(vec![Cow::Borrowed(v)]))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Texts(vec![Cow::Owned(v.to_owned())]))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Texts(Vec::new()))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(Texts(Vec::new()))
            }
        }
        deserializer.deserialize_any(TextsVisitor)
    }
}

/// The ARN variables filled by hand-written rules rather than the members derived from the API
/// models (#21), each with what the derivation gets wrong there. `iamtrim catalog coverage`
/// counts the resource types they fill as overrides.
pub const OVERRIDES: &[(&str, &str)] = &[
    (
        "BucketName",
        "S3 logs the bucket as `bucketName`, not under the model's `Bucket`",
    ),
    (
        "ObjectName",
        "S3 logs the object key as `key`, a URI member of the model",
    ),
    (
        "TableName",
        "DynamoDB's `tableName` may be a table ARN, and indexes extend it",
    ),
    ("IndexName", "a DynamoDB index ARN extends its table's"),
    (
        "QueueName",
        "SQS names the queue by `queueUrl`, which also gives region and account",
    ),
    (
        "KeyId",
        "KMS `keyId` may be an alias or an ARN, which name no key id",
    ),
    (
        "SecretId",
        "Secrets Manager's random suffix is a pattern (`-??????`)",
    ),
    (
        "ParameterNameWithoutLeadingSlash",
        "SSM names keep no leading slash in the ARN; `names` lists several",
    ),
    (
        "FunctionName",
        "Lambda's `functionName` may be an ARN or a partial ARN",
    ),
    ("StreamName", "Kinesis also names streams by `streamARN`"),
    ("DeliveryStreamName", "Firehose's own member name"),
    (
        "LogGroupName",
        "CloudWatch Logs' group and stream fill one format",
    ),
    (
        "LogStreamName",
        "CloudWatch Logs' group and stream fill one format",
    ),
    ("RepositoryName", "ECR repository names have slashes"),
    (
        "RoleNameWithPath",
        "IAM's `roleName` (a name without its path)",
    ),
    (
        "UserNameWithPath",
        "IAM's `userName` (a name without its path)",
    ),
    ("EventBusName", "EventBridge's `eventBusName` may be an ARN"),
    ("ClusterName", "EKS names its cluster `name`"),
    (
        "WorkGroupName",
        "Athena runs a query without `workGroup` in `primary`",
    ),
    (
        "ResourceId",
        "Bedrock's `modelId` names a foundation model or an inference profile",
    ),
    (
        "TaskDefinitionFamilyName",
        "ECS's `taskDefinition` is `family:revision`",
    ),
    (
        "TaskDefinitionRevisionNumber",
        "ECS's `taskDefinition` is `family:revision`",
    ),
];

/// The request parameters that name resources, across services.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
struct Params<'a> {
    #[serde(borrow)]
    bucket_name: Text<'a>,
    #[serde(borrow)]
    key: Text<'a>,
    #[serde(borrow)]
    table_name: Text<'a>,
    #[serde(borrow)]
    index_name: Text<'a>,
    #[serde(borrow)]
    queue_url: Text<'a>,
    #[serde(borrow)]
    queue_name: Text<'a>,
    #[serde(borrow)]
    key_id: Text<'a>,
    #[serde(borrow)]
    secret_id: Text<'a>,
    #[serde(borrow)]
    name: Text<'a>,
    #[serde(borrow)]
    names: Texts<'a>,
    #[serde(borrow)]
    path: Text<'a>,
    #[serde(borrow)]
    function_name: Text<'a>,
    #[serde(borrow)]
    stream_name: Text<'a>,
    #[serde(borrow)]
    delivery_stream_name: Text<'a>,
    #[serde(borrow)]
    log_group_name: Text<'a>,
    #[serde(borrow)]
    log_stream_name: Text<'a>,
    #[serde(borrow)]
    repository_name: Text<'a>,
    #[serde(borrow)]
    role_name: Text<'a>,
    #[serde(borrow)]
    user_name: Text<'a>,
    #[serde(borrow)]
    event_bus_name: Text<'a>,
    #[serde(borrow)]
    cluster_name: Text<'a>,
    #[serde(borrow)]
    work_group: Text<'a>,
    #[serde(borrow)]
    model_id: Text<'a>,
    #[serde(borrow)]
    task_definition: Text<'a>,
}

/// What one event says about the resources of its call, read once per record.
pub struct EventResources<'a> {
    partition: Cow<'a, str>,
    region: Cow<'a, str>,
    account: Cow<'a, str>,
    /// Boxed: the struct is large (one slot per parameter), and an event's resources are moved
    /// several times on their way to the caller; copying it each time cost more than the box.
    params: Box<Params<'a>>,
    /// Full ARNs named by the event's `resources` array.
    arns: Vec<Cow<'a, str>>,
    /// The operation's derived request members (#21), with the IAM prefix of the action they
    /// were derived for: `(prefix, type → variable → CloudTrail key)`.
    /// (Two APIs can share an eventSource and an operation name, as EventBridge's two do: each
    /// is tried in turn.)
    derived: Vec<(&'static str, &'static ResourceMembers)>,
    /// The operation (`eventName` without a version suffix) the derived members are of.
    operation: String,
    request: Option<Raw<'a>>,
    /// The resource types the operation creates (`creates` of the operations index), with the
    /// IAM prefix they are of, and the response that may name what it created.
    creates: Vec<(&'static str, &'static [String])>,
    response: Option<Raw<'a>>,
    /// What a `Create<Type>` operation creates (`role` of `CreateRole`): an IAM name of that
    /// type without `path` is at the root.
    created: Option<String>,
    /// `request` parsed, the first time a derived member is read (once per distinct request:
    /// the mapping is memoised).
    tree: std::cell::OnceCell<Option<serde_json::Value>>,
}

impl<'a> EventResources<'a> {
    pub fn new(record: &Record<'a>) -> Self {
        let region = record.aws_region.clone().unwrap_or(Cow::Borrowed(""));
        let identity = record.user_identity.as_ref();
        let of_arn = |arn: &str| {
            arn.split(':')
                .nth(1)
                .filter(|p| p.starts_with("aws"))
                .map(|p| match p {
                    // The usual partitions without a copy per event.
                    "aws" => Cow::Borrowed("aws"),
                    "aws-cn" => Cow::Borrowed("aws-cn"),
                    "aws-us-gov" => Cow::Borrowed("aws-us-gov"),
                    other => Cow::Owned(other.to_owned()),
                })
        };
        let partition = identity
            .and_then(|i| i.arn.as_deref())
            .and_then(of_arn)
            .unwrap_or_else(|| Cow::Borrowed(partition_of_region(&region)));
        let account = record
            .recipient_account_id
            .clone()
            .or_else(|| identity.and_then(|i| i.account_id.clone()))
            .unwrap_or(Cow::Borrowed(""));
        let params: Box<Params<'a>> = record
            .request_parameters
            .map(Raw::get)
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        // ARNs in the request parameters are found by `request_arns`, at any depth.
        let arns: Vec<Cow<'a, str>> = record
            .resources
            .iter()
            .flatten()
            .filter_map(|r| r.arn.clone())
            .collect();
        // The operation's APIs at this eventSource, once: what their models derive for it.
        let operation = record
            .event_name
            .as_deref()
            .map(|name| super::strip_version_suffix(name).to_owned())
            .unwrap_or_default();
        let mut derived = Vec::new();
        let mut creates = Vec::new();
        for api in record
            .event_source
            .as_deref()
            .into_iter()
            .flat_map(|source| Operations::embedded().at(source))
        {
            let Some(prefix) = api.prefix.as_deref() else {
                continue;
            };
            if api.resource_members.has(&operation) {
                derived.push((prefix, &api.resource_members));
            }
            if let Some(kinds) = api.creates.get(&operation) {
                creates.push((prefix, kinds.as_slice()));
            }
        }
        Self {
            partition,
            region,
            account,
            params,
            arns,
            derived,
            operation,
            request: record.request_parameters,
            creates,
            response: record.response_elements,
            created: record
                .event_name
                .as_deref()
                .and_then(|name| name.strip_prefix("Create"))
                .map(str::to_ascii_lowercase),
            tree: std::cell::OnceCell::new(),
        }
    }

    /// The request's top-level members, parsed on first use. EC2's newer APIs wrap them in one
    /// `<Operation>Request` object (`{"DeleteNatGatewayRequest": {"NatGatewayId": …}}`).
    fn top(&self) -> Option<&serde_json::Map<String, serde_json::Value>> {
        let tree = self.tree.get_or_init(|| {
            self.request
                .and_then(|raw| serde_json::from_str::<serde_json::Value>(raw.get()).ok())
        });
        let top = tree.as_ref()?.as_object()?;
        match top.iter().next() {
            Some((name, serde_json::Value::Object(inner)))
                if top.len() == 1 && name.ends_with("Request") =>
            {
                Some(inner)
            }
            _ => Some(top),
        }
    }

    /// Every ARN in the request, at any depth (at most 64), but not in a policy document (the
    /// `Resource` of a bucket policy is not what the call acts on) and not a pattern; none
    /// without parsing when the request's text has no `arn:`.
    fn request_arns(&self) -> Vec<&str> {
        const MOST: usize = 64;
        fn walk<'v>(value: &'v serde_json::Value, depth: usize, out: &mut Vec<&'v str>) {
            if out.len() >= MOST || depth > 8 {
                return;
            }
            match value {
                serde_json::Value::String(text)
                    if text.starts_with("arn:") && !text.contains(['*', '?']) =>
                {
                    out.push(text);
                }
                serde_json::Value::Array(items) => {
                    items.iter().for_each(|item| walk(item, depth + 1, out));
                }
                serde_json::Value::Object(fields) => {
                    for (name, item) in fields {
                        let lower = name.to_ascii_lowercase();
                        let document = (lower.contains("policy") || lower.contains("statement"))
                            && (item.is_object() || item.is_array());
                        if !document {
                            walk(item, depth + 1, out);
                        }
                    }
                }
                _ => {}
            }
        }
        if !self.request.is_some_and(|raw| raw.get().contains("\"arn:")) {
            return Vec::new();
        }
        let mut out = Vec::new();
        if let Some(top) = self.top() {
            top.values().for_each(|value| walk(value, 0, &mut out));
        }
        out
    }

    /// The values of the request member derived for `variable` of `service`'s resource type
    /// `type_name`: the member at the top of the request, or (EC2's lists) in the items of a
    /// top-level `…Set`. Values with IAM wildcard characters are not names, and are left out.
    fn derived_values(&self, service: &str, type_name: &str, variable: &str) -> Vec<&str> {
        let keys = self
            .derived
            .iter()
            .filter(|(prefix, _)| *prefix == service)
            .filter_map(|(_, members)| members.key(&self.operation, type_name, variable));
        for key in keys {
            let found = self.member_values(key);
            if !found.is_empty() {
                return found;
            }
        }
        Vec::new()
    }

    /// The string values of request member `key` (see [`Self::derived_values`]).
    fn member_values(&self, key: &str) -> Vec<&str> {
        let Some(top) = self.top() else {
            return Vec::new();
        };
        fn strings<'v>(value: &'v serde_json::Value, out: &mut Vec<&'v str>) {
            match value {
                serde_json::Value::String(text) => out.push(text),
                serde_json::Value::Array(items) => {
                    out.extend(items.iter().filter_map(serde_json::Value::as_str));
                }
                // EC2's newer APIs log `{"content": "fl-…", "tag": 1}`.
                serde_json::Value::Object(fields) => {
                    out.extend(fields.get("content").and_then(serde_json::Value::as_str));
                }
                _ => {}
            }
        }
        let mut out = Vec::new();
        for (name, value) in top {
            if name.eq_ignore_ascii_case(key) {
                strings(value, &mut out);
            }
        }
        if out.is_empty() {
            for (name, value) in top {
                if !name.ends_with("Set") {
                    continue;
                }
                for item in value
                    .get("items")
                    .and_then(serde_json::Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    for (inner, value) in item.as_object().into_iter().flatten() {
                        if inner.eq_ignore_ascii_case(key) {
                            strings(value, &mut out);
                        }
                    }
                }
            }
        }
        // A name with `:` is not one name (`family:revision`, a partial ARN): safer left `*`.
        out.retain(|v| {
            !v.is_empty() && !v.contains(['*', '?']) && (v.starts_with("arn:") || !v.contains(':'))
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The value of a template variable of `service`'s ARN formats, from this event.
    fn variable(&self, service: &str, name: &str) -> Option<Cow<'_, str>> {
        let p = &self.params;
        match name {
            "Partition" => Some(Cow::Borrowed(&self.partition)),
            "Region" => self.queue_url_part(0).or(Some(Cow::Borrowed(&self.region))),
            "Account" => self
                .queue_url_part(1)
                .or(Some(Cow::Borrowed(&self.account))),
            "BucketName" => plain(&p.bucket_name),
            "ObjectName" => plain(&p.key),
            "TableName" => plain(&p.table_name),
            "IndexName" => plain(&p.index_name),
            // `queueName` names the queue CreateQueue creates.
            "QueueName" => self.queue_url_part(2).or_else(|| plain(&p.queue_name)),
            "KeyId" => p
                .key_id
                .0
                .as_deref()
                .filter(|k| !k.starts_with("arn:") && !k.starts_with("alias/"))
                .map(Cow::Borrowed),
            "SecretId" => plain(&p.secret_id).map(|name| Cow::Owned(format!("{name}-??????"))),
            "ParameterNameWithoutLeadingSlash" => plain(&p.name)
                .filter(|_| service == "ssm")
                .or_else(|| plain(&p.path))
                .map(|n| Cow::Owned(n.trim_matches('/').to_owned())),
            "FunctionName" => plain(&p.function_name),
            "StreamName" => plain(&p.stream_name),
            "DeliveryStreamName" => plain(&p.delivery_stream_name),
            "LogGroupName" => plain(&p.log_group_name),
            "LogStreamName" => plain(&p.log_stream_name),
            "RepositoryName" => plain(&p.repository_name),
            "RoleNameWithPath" => plain(&p.role_name),
            "UserNameWithPath" => plain(&p.user_name),
            "EventBusName" => plain(&p.event_bus_name),
            "ClusterName" => {
                plain(&p.cluster_name).or_else(|| plain(&p.name).filter(|_| service == "eks"))
            }
            "ResourceId" if service == "bedrock" => plain(&p.model_id),
            // ECS's `taskDefinition` is `family` or `family:revision`; the format has both.
            "TaskDefinitionFamilyName" => plain(&p.task_definition)
                .map(|t| Cow::Owned(t.split(':').next().unwrap_or_default().to_owned())),
            "TaskDefinitionRevisionNumber" => plain(&p.task_definition)
                .and_then(|t| t.split_once(':').map(|(_, r)| Cow::Owned(r.to_owned()))),
            "WorkGroupName" => plain(&p.work_group).or_else(|| {
                // StartQueryExecution without a work group runs in `primary`.
                (service == "athena").then_some(Cow::Borrowed("primary"))
            }),
            _ => None,
        }
    }

    /// A type's ARN format filled from the event, and for an IAM name whose path the event
    /// does not give (`roleName` for `role/${RoleNameWithPath}`) also the name under any path
    /// (`role/*/name`): a role or instance profile with a path (`/service-role/`) is not
    /// `role/name`, and a grant without it would be denied.
    fn fill(&self, service: &str, t: &ResourceType) -> Vec<crate::policy::arn::Filled> {
        let mut filled = self.fill_names(service, t);
        if filled.iter().any(|f| f.unknown > 0)
            && let Some(created) = self.created_by_response(service, t)
        {
            filled = created;
        }
        let path_before = t
            .template
            .variables()
            .find(|v| v.ends_with("WithPath"))
            .and_then(|v| t.template.literal_before(v));
        // A create names the path it creates under (`path`), or none: the root.
        let path = plain(&self.params.path).filter(|_| service == "iam");
        if let Some(literal) = path_before
            && let Some(path) = path.as_deref().map(|p| p.trim_matches('/'))
            && !path.is_empty()
        {
            for f in &mut filled {
                if let Some(at) = f.arn.find(literal).map(|i| i + literal.len())
                    && !f.arn[at..].contains(['/', '*'])
                {
                    f.arn.insert_str(at, &format!("{path}/"));
                }
            }
        } else if let Some(literal) = path_before
            && path.is_none()
            && self.created.as_deref() != Some(t.name.replace('-', "").as_str())
        {
            let mut pathed = Vec::new();
            for f in &filled {
                if let Some(at) = f.arn.find(literal).map(|i| i + literal.len())
                    && !f.arn[at..].contains(['/', '*'])
                    && !f.arn[at..].is_empty()
                {
                    pathed.push(crate::policy::arn::Filled {
                        arn: format!("{}*/{}", &f.arn[..at], &f.arn[at..]),
                        ..f.clone()
                    });
                }
            }
            filled.extend(pathed);
        }
        filled
    }

    /// A type this call created, named by its response (`subnet.subnetId` of
    /// `ec2:CreateSubnet`, `instancesSet.items[].instanceId` of `ec2:RunInstances`): one ARN per
    /// resource created, which synthesis widens to the type (`create-on-type`), so the usage
    /// rows say what was created. None when the response does not name every variable left.
    fn created_by_response(
        &self,
        service: &str,
        t: &ResourceType,
    ) -> Option<Vec<crate::policy::arn::Filled>> {
        // (The memo keys a request with its response only for these verbs: `memo::may_create`.)
        if !super::memo::may_create(&self.operation)
            || !self
                .creates
                .iter()
                .any(|(prefix, kinds)| *prefix == service && kinds.contains(&t.name))
        {
            return None;
        }
        let response: serde_json::Value = serde_json::from_str(self.response?.get()).ok()?;
        let known = |v: &str| {
            ["Partition", "Region", "Account"].contains(&v)
                || self.variable(service, v).is_some()
                || self
                    .derived_values(service, &t.name, v)
                    .iter()
                    .any(|value| !value.starts_with("arn:"))
        };
        let open: Vec<&str> = t.template.variables().filter(|v| !known(v)).collect();
        let [variable] = open.as_slice() else {
            return None;
        };
        let mut values = Vec::new();
        response_values(&response, variable, 0, &mut values);
        values.sort_unstable();
        values.dedup();
        if values.is_empty() {
            return None;
        }
        Some(
            values
                .iter()
                .map(|value| {
                    t.template.fill(&|v| {
                        if v == *variable {
                            Some(Cow::Borrowed(*value))
                        } else {
                            self.variable(service, v).or_else(|| {
                                self.derived_values(service, &t.name, v)
                                    .into_iter()
                                    .find(|value| !value.starts_with("arn:"))
                                    .map(|value| as_named(service, v, value))
                            })
                        }
                    })
                })
                .filter(|f| f.unknown == 0)
                .collect(),
        )
        .filter(|filled: &Vec<_>| !filled.is_empty())
    }

    /// [`Self::fill`] without the IAM paths; once per name for `ssm:GetParameters`, and once per
    /// value of a derived list member (several instances of `ec2:StopInstances`).
    fn fill_names(&self, service: &str, t: &ResourceType) -> Vec<crate::policy::arn::Filled> {
        const PARAMETER: &str = "ParameterNameWithoutLeadingSlash";
        let names = &self.params.names.0;
        if service == "ssm" && !names.is_empty() && t.template.variables().any(|v| v == PARAMETER) {
            return names
                .iter()
                .filter(|n| !n.starts_with("arn:"))
                .map(|name| {
                    let name = name.trim_matches('/');
                    t.template.fill(&|v| {
                        if v == PARAMETER {
                            Some(Cow::Borrowed(name))
                        } else {
                            self.variable(service, v)
                        }
                    })
                })
                .collect();
        }
        // Variables the hand-written rules leave open, from the derived members; names only
        // (an ARN-valued member is matched whole, in `resolve`).
        let derived: Vec<(&str, Vec<&str>)> = t
            .template
            .variables()
            .filter(|v| self.variable(service, v).is_none())
            .map(|v| {
                let mut values = self.derived_values(service, &t.name, v);
                values.retain(|value| !value.starts_with("arn:"));
                (v, values)
            })
            .filter(|(_, values)| !values.is_empty())
            .collect();
        if derived.is_empty() {
            return vec![t.template.fill(&|v| self.variable(service, v))];
        }
        let lists: Vec<&(&str, Vec<&str>)> = derived
            .iter()
            .filter(|(_, values)| values.len() > 1)
            .collect();
        let single = |v: &str| {
            derived
                .iter()
                .find(|(name, values)| *name == v && values.len() == 1)
                .map(|(_, values)| as_named(service, v, values[0]))
        };
        match lists.as_slice() {
            // One ARN per value of the one list; two lists would name their product, which the
            // call need not have touched, so they stay `*`.
            [(list, values)] => values
                .iter()
                .map(|value| {
                    t.template.fill(&|v| {
                        if v == *list {
                            Some(as_named(service, v, value))
                        } else {
                            self.variable(service, v).or_else(|| single(v))
                        }
                    })
                })
                .collect(),
            _ => vec![
                t.template
                    .fill(&|v| self.variable(service, v).or_else(|| single(v))),
            ],
        }
    }

    /// `https://sqs.<region>.amazonaws.com/<account>/<name>`: 0 region, 1 account, 2 name.
    fn queue_url_part(&self, index: usize) -> Option<Cow<'_, str>> {
        let url = self.params.queue_url.0.as_deref()?;
        let rest = url.split_once("://").map_or(url, |(_, r)| r);
        let mut segments = rest.split('/');
        let host = segments.next()?;
        let account = segments.next()?;
        let name = segments.next()?;
        match index {
            0 => host
                .strip_prefix("sqs.")
                .and_then(|h| h.split('.').next())
                .filter(|r| r.contains('-'))
                .map(Cow::Borrowed),
            1 => Some(Cow::Borrowed(account)),
            _ => Some(Cow::Borrowed(name)),
        }
    }

    /// The ARNs `types` (the resource types of an action of `service`) resolve to for this
    /// event; `*` when the action has none.
    pub fn resolve(&self, service: &str, types: &[ResourceType]) -> Vec<String> {
        if types.is_empty() {
            return vec!["*".to_owned()];
        }
        // ARNs the event names, each on the most specific type it fits: from the `resources`
        // array, the hand-written members, and any ARN in the request (`targetKeyId` of
        // kms:CreateAlias, `computeEnvironment` in the items of batch:CreateJobQueue).
        let request_arns = self.request_arns();
        let mut named: Vec<String> = Vec::new();
        let mut covered = vec![false; types.len()];
        for arn in self
            .arns
            .iter()
            .map(AsRef::as_ref)
            .chain(request_arns.iter().copied())
        {
            let fits = types
                .iter()
                .enumerate()
                .filter_map(|(i, t)| t.template.matches(arn).map(|m| (m, i)))
                .max();
            if let Some((_, i)) = fits {
                covered[i] = true;
                named.push(secret_pattern(arn));
            }
        }
        if !named.is_empty() {
            // The types no named ARN fits join them when the event names them fully (the alias
            // of kms:CreateAlias beside its key).
            for (t, _) in types.iter().zip(&covered).filter(|(_, c)| !**c) {
                named.extend(
                    self.fill(service, t)
                        .into_iter()
                        .filter(|f| f.known > 0 && f.unknown == 0)
                        .map(|f| f.arn),
                );
            }
            named.sort();
            named.dedup();
            return named;
        }
        // Bedrock lists every kind of model as a required alternative; a plain model id names a
        // foundation model, or a cross-region inference profile (`us.`, `eu.`, ...).
        let narrowed: Vec<ResourceType>;
        let types = match plain(&self.params.model_id) {
            Some(id) if service == "bedrock" => {
                let kind = if ["us.", "eu.", "apac.", "us-gov.", "global."]
                    .iter()
                    .any(|p| id.starts_with(p))
                {
                    "inference-profile"
                } else {
                    "foundation-model"
                };
                narrowed = types.iter().filter(|t| t.name == kind).cloned().collect();
                if narrowed.is_empty() {
                    types
                } else {
                    &narrowed
                }
            }
            _ => types,
        };
        // Else fill the formats: every required type, and optional types the event names fully.
        let filled: Vec<(bool, crate::policy::arn::Filled)> = types
            .iter()
            .flat_map(|t| self.fill(service, t).into_iter().map(|f| (t.required, f)))
            .collect();
        let chosen_here = |(required, f): &(bool, crate::policy::arn::Filled)| {
            *required || (f.known > 0 && f.unknown == 0)
        };
        let mut chosen: Vec<String> = if filled.iter().any(chosen_here) {
            filled
                .into_iter()
                .filter(chosen_here)
                .map(|(_, f)| f.arn)
                .collect()
        } else {
            // All types optional and none fully named: the best-named one, if the event names any
            // part of it; else the action is not scoped by this event.
            match filled
                .into_iter()
                .filter(|(_, f)| f.known > 0)
                .max_by_key(|(_, f)| (f.known, std::cmp::Reverse(f.unknown)))
            {
                Some((_, f)) => vec![f.arn],
                None => return vec!["*".to_owned()],
            }
        };
        if chosen.len() == 1 {
            return chosen;
        }
        // A more specific ARN (index of a table, object of a bucket) replaces the one it extends.
        let extended = |arn: &str| {
            chosen.iter().any(|other| {
                other.len() > arn.len()
                    && other.starts_with(arn)
                    && other.as_bytes()[arn.len()] == b'/'
            })
        };
        let keep: Vec<bool> = chosen.iter().map(|arn| !extended(arn)).collect();
        let mut keep = keep.into_iter();
        chosen.retain(|_| keep.next().unwrap_or(true));
        chosen.sort();
        chosen.dedup();
        chosen
    }
}

/// The string values under keys that name ARN variable `variable` in a response: the same name
/// (`subnetId` for `SubnetId`), or its last words (`groupId` for `SecurityGroupId`).
fn response_values<'v>(
    value: &'v serde_json::Value,
    variable: &str,
    depth: usize,
    out: &mut Vec<&'v str>,
) {
    if depth > 6 || out.len() >= 64 {
        return;
    }
    let names = |key: &str| {
        let (k, v) = (key.to_ascii_lowercase(), variable.to_ascii_lowercase());
        k == v
            || (k.len() >= 5
                && v.ends_with(&k)
                && variable[..variable.len() - key.len()]
                    .chars()
                    .last()
                    .is_some_and(|c| c.is_ascii_lowercase())
                && key.chars().next().is_some_and(|c| c.is_ascii_lowercase()))
    };
    match value {
        serde_json::Value::Object(fields) => {
            for (key, inner) in fields {
                match inner {
                    serde_json::Value::String(text)
                        if names(key)
                            && !text.is_empty()
                            && !text.contains([':', '/', '*', '?']) =>
                    {
                        out.push(text);
                    }
                    _ => response_values(inner, variable, depth + 1, out),
                }
            }
        }
        serde_json::Value::Array(items) => {
            for item in items {
                response_values(item, variable, depth + 1, out);
            }
        }
        _ => {}
    }
}

/// A derived member's value as its ARN variable needs it: a secret's name with the pattern of
/// its random suffix (`CreateSecret`'s `name`), a parameter name without its leading slash.
fn as_named<'v>(service: &str, variable: &str, value: &'v str) -> Cow<'v, str> {
    match (service, variable) {
        ("secretsmanager", "SecretId") => Cow::Owned(format!("{value}-??????")),
        // `aliasName` is `alias/name`; the format is `alias/${Alias}`.
        ("kms", "Alias") => Cow::Borrowed(value.strip_prefix("alias/").unwrap_or(value)),
        (_, "ParameterNameWithoutLeadingSlash") => Cow::Borrowed(value.trim_matches('/')),
        _ => Cow::Borrowed(value),
    }
}

/// A parameter's value when it is a name, not an ARN.
fn plain<'s>(text: &'s Text<'_>) -> Option<Cow<'s, str>> {
    text.0
        .as_deref()
        .filter(|v| !v.starts_with("arn:"))
        .map(Cow::Borrowed)
}

/// `…:secret:name-AbCdEf` → `…:secret:name-??????`: the suffix is random per secret version of
/// its name, so policies name the secret by pattern.
fn secret_pattern(arn: &str) -> String {
    if let Some((head, name)) = arn.split_once(":secret:")
        && let Some((base, suffix)) = name.rsplit_once('-')
        && suffix.len() == 6
        && suffix.bytes().all(|b| b.is_ascii_alphanumeric())
    {
        return format!("{head}:secret:{base}-??????");
    }
    arn.to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::Catalog;

    fn types(catalog: &Catalog, action: &str) -> Vec<ResourceType> {
        let (prefix, name) = action.split_once(':').unwrap();
        let service = &catalog.services[prefix];
        service.actions[name]
            .resources
            .iter()
            .map(|(t, required)| ResourceType {
                name: t.clone(),
                template: ArnTemplate::parse(&service.resource_types[t]),
                required: *required,
            })
            .collect()
    }

    fn resolve(catalog: &Catalog, action: &str, event: serde_json::Value) -> Vec<String> {
        let text = event.to_string();
        let record: Record = serde_json::from_str(&text).unwrap();
        let service = action.split(':').next().unwrap();
        EventResources::new(&record).resolve(service, &types(catalog, action))
    }

    fn event(region: &str, params: serde_json::Value) -> serde_json::Value {
        serde_json::json!({"awsRegion": region, "recipientAccountId": "111122223333",
            "userIdentity": {"type": "AssumedRole", "arn": format!("arn:{}:sts::111122223333:assumed-role/r/s", partition_of_region(region))},
            "requestParameters": params})
    }

    /// #21: documented (operation, request) → ARN cases, each citing the Service Authorization
    /// Reference page of its resource type (fixtures/resource-cases.json).
    #[test]
    fn documented_cases() {
        let c = Catalog::embedded().unwrap();
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/resource-cases.json");
        let cases: Vec<serde_json::Value> =
            serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        let mut services = std::collections::BTreeSet::new();
        let mut wrong = Vec::new();
        for case in &cases {
            let action = case["action"].as_str().unwrap();
            let region = case["region"].as_str().unwrap();
            let account = case["account"].as_str().unwrap();
            assert!(
                case["service_page"].as_str().unwrap().starts_with(
                    "https://docs.aws.amazon.com/service-authorization/latest/reference/list_"
                ),
                "{action}: the case cites its Service Authorization Reference page"
            );
            services.insert(action.split(':').next().unwrap().to_owned());
            let event = serde_json::json!({
                "eventSource": case["event_source"],
                "eventName": case["event_name"],
                "awsRegion": region,
                "recipientAccountId": account,
                "userIdentity": {"type": "AssumedRole", "accountId": account,
                    "arn": format!("arn:{}:sts::{account}:assumed-role/r/s", partition_of_region(region))},
                "requestParameters": case["request_parameters"],
            });
            let got = resolve(&c, action, event);
            let want: Vec<&str> = case["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r.as_str().unwrap())
                .collect();
            if got != want {
                wrong.push(format!(
                    "{action} {}: got {got:?}, want {want:?}",
                    case["request_parameters"]
                ));
            }
        }
        assert!(
            cases.len() >= 100 && services.len() >= 25,
            "{} cases over {} services",
            cases.len(),
            services.len()
        );
        assert!(
            wrong.is_empty(),
            "{} of {}:\n{}",
            wrong.len(),
            cases.len(),
            wrong.join("\n")
        );
    }

    #[test]
    fn resources_per_service() {
        let c = Catalog::embedded().unwrap();
        let cases: Vec<(&str, &str, serde_json::Value, Vec<&str>)> = vec![
            (
                "s3:GetObject",
                "us-east-1",
                serde_json::json!({"bucketName": "b", "key": "k/1.csv"}),
                vec!["arn:aws:s3:::b/k/1.csv"],
            ),
            (
                "s3:ListBucket",
                "cn-north-1",
                serde_json::json!({"bucketName": "b", "prefix": "k/"}),
                vec!["arn:aws-cn:s3:::b"],
            ),
            (
                "dynamodb:Query",
                "eu-west-1",
                serde_json::json!({"tableName": "t", "indexName": "i"}),
                vec!["arn:aws:dynamodb:eu-west-1:111122223333:table/t/index/i"],
            ),
            (
                "dynamodb:GetItem",
                "us-gov-west-1",
                serde_json::json!({"tableName": "t", "key": {"id": {"S": "x"}}}),
                vec!["arn:aws-us-gov:dynamodb:us-gov-west-1:111122223333:table/t"],
            ),
            (
                "sqs:SendMessage",
                "us-east-1",
                serde_json::json!({"queueUrl": "https://sqs.eu-west-1.amazonaws.com/444455556666/q1"}),
                vec!["arn:aws:sqs:eu-west-1:444455556666:q1"],
            ),
            (
                "sns:Publish",
                "us-east-1",
                serde_json::json!({"topicArn": "arn:aws:sns:us-east-1:111122223333:t"}),
                vec!["arn:aws:sns:us-east-1:111122223333:t"],
            ),
            (
                "kms:Decrypt",
                "us-east-1",
                serde_json::json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
                vec!["arn:aws:kms:us-east-1:111122223333:key/*"],
            ),
            (
                "secretsmanager:GetSecretValue",
                "us-east-1",
                serde_json::json!({"secretId": "prod/db"}),
                vec!["arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-??????"],
            ),
            (
                "secretsmanager:GetSecretValue",
                "us-east-1",
                serde_json::json!({"secretId": "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-AbC123"}),
                vec!["arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/db-??????"],
            ),
            (
                "ssm:GetParameter",
                "us-east-1",
                serde_json::json!({"name": "/app/flags", "withDecryption": true}),
                vec!["arn:aws:ssm:us-east-1:111122223333:parameter/app/flags"],
            ),
            (
                "lambda:InvokeFunction",
                "us-east-1",
                serde_json::json!({"functionName": "arn:aws:lambda:us-east-1:111122223333:function:render"}),
                vec!["arn:aws:lambda:us-east-1:111122223333:function:render"],
            ),
            (
                "sts:AssumeRole",
                "us-east-1",
                serde_json::json!({"roleArn": "arn:aws:iam::111122223333:role/x", "roleSessionName": "s"}),
                vec!["arn:aws:iam::111122223333:role/x"],
            ),
            (
                "logs:PutLogEvents",
                "us-east-1",
                serde_json::json!({"logGroupName": "g", "logStreamName": "s"}),
                vec!["arn:aws:logs:us-east-1:111122223333:log-group:g:log-stream:s"],
            ),
            (
                "ecr:BatchGetImage",
                "us-east-1",
                serde_json::json!({"repositoryName": "shop/web"}),
                vec!["arn:aws:ecr:us-east-1:111122223333:repository/shop/web"],
            ),
            (
                "athena:StartQueryExecution",
                "us-east-1",
                serde_json::json!({"queryString": "SELECT 1"}),
                vec!["arn:aws:athena:us-east-1:111122223333:workgroup/primary"],
            ),
            (
                "eks:DescribeCluster",
                "us-east-1",
                serde_json::json!({"name": "prod"}),
                vec!["arn:aws:eks:us-east-1:111122223333:cluster/prod"],
            ),
            (
                "ssm:GetParameters",
                "us-east-1",
                serde_json::json!({"names": ["/a/x", "b"]}),
                vec![
                    "arn:aws:ssm:us-east-1:111122223333:parameter/a/x",
                    "arn:aws:ssm:us-east-1:111122223333:parameter/b",
                ],
            ),
            (
                "ec2:DescribeInstances",
                "us-east-1",
                serde_json::json!({}),
                vec!["*"],
            ),
            (
                "cloudwatch:PutMetricData",
                "us-east-1",
                serde_json::json!({"namespace": "x"}),
                vec!["*"],
            ),
        ];
        for (action, region, params, want) in cases {
            assert_eq!(resolve(&c, action, event(region, params)), want, "{action}");
        }
        // The `resources` array names the KMS key.
        let mut decrypt = event("us-east-1", serde_json::json!({}));
        decrypt["resources"] = serde_json::json!([{"ARN": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab", "type": "AWS::KMS::Key"}]);
        assert_eq!(
            resolve(&c, "kms:Decrypt", decrypt),
            ["arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"]
        );
    }
}
