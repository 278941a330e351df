//! Permissions a request implies beyond its call's own actions.
//!
//! IAM often checks more than the call's action on the call's resource, depending on what the
//! request carries: a role handed to a service needs `iam:PassRole` on that role, an S3 write
//! with SSE-KMS needs `kms:GenerateDataKey` on the key named in the request, `CopyObject` reads
//! its *source* object, `AssumeRole` with session tags needs `sts:TagSession`, and the RDS Data
//! API reads the secret it is given. The table (`data/implied.tsv`) lists these, each row with the
//! page that says so; the members that hold a role or a KMS key come from the operations index
//! (botocore's input shapes), not from a hand list.
//!
//! Each implied permission is built from the member that names it (the role ARN, the key, the
//! source object), and carries its origin (`implied_by`: the call and the member) into the
//! usage rows, so a reviewer sees why `sts:TagSession` is in the policy. Only the requests of
//! operations with a rule are looked into, once per distinct request (the request memo).

use std::borrow::Cow;
use std::sync::{Arc, LazyLock};

use serde_json::Value;

use crate::catalog::Catalog;
use crate::catalog::operations::Api;
use crate::decode::Record;
use crate::policy::arn::partition_of_region;

/// Where an implied permission applies, built from the member's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Role,
    KmsKey,
    Secret,
    CopySource,
    TargetRole,
    /// The call's own resource: the action joins the call's actions.
    Call,
    AnyObject,
}

/// One row of the table.
pub struct ImpliedRow {
    pub prefix: &'static str,
    pub operation: &'static str,
    pub member: &'static str,
    pub present: bool,
    pub actions: Vec<&'static str>,
    pub target: Target,
    pub documentation: &'static str,
}

static ROWS: LazyLock<Vec<ImpliedRow>> = LazyLock::new(|| {
    super::table::rows(include_str!("data/implied.tsv"))
        .map(
            |[
                prefix,
                operation,
                member,
                when,
                actions,
                target,
                documentation,
            ]| {
                ImpliedRow {
                    prefix,
                    operation,
                    member,
                    present: when == "present",
                    actions: actions.split(' ').collect(),
                    target: match target {
                        "role" => Target::Role,
                        "kms-key" => Target::KmsKey,
                        "secret" => Target::Secret,
                        "copy-source" => Target::CopySource,
                        "target-role" => Target::TargetRole,
                        "any-object" => Target::AnyObject,
                        _ => Target::Call,
                    },
                    documentation,
                }
            },
        )
        .collect()
});

/// The table's rows, in file order.
pub fn rows() -> &'static [ImpliedRow] {
    &ROWS
}

/// A rule resolved for one operation: the member to read, what it implies, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Implied {
    /// The member's path; a `~` at its end lets a plain name name an IAM role.
    pub member: String,
    pub present: bool,
    pub actions: Vec<Arc<str>>,
    pub target: Target,
    /// `prefix:Operation member`: what a usage row's `implied_by` says.
    pub origin: Arc<str>,
}

/// The implied-permission rules of `prefix`'s `operation` (of `api`, when the index knows it),
/// with their actions as the catalog spells them.
pub fn rules_for(
    catalog: &Catalog,
    prefix: &str,
    operation: &str,
    api: Option<&Api>,
) -> Vec<Implied> {
    let mut out = Vec::new();
    for row in ROWS.iter().filter(|r| {
        (r.prefix == "*" || r.prefix == prefix) && (r.operation == "*" || r.operation == operation)
    }) {
        let Some(actions) = row
            .actions
            .iter()
            .map(|a| catalog.action(a).map(Arc::from))
            .collect::<Option<Vec<Arc<str>>>>()
        else {
            continue;
        };
        let members: Vec<String> = match row.member {
            "@roles" => api
                .and_then(|a| a.role_members.get(operation))
                .cloned()
                .unwrap_or_default(),
            "@kms" => api
                .and_then(|a| a.kms_members.get(operation))
                .cloned()
                .unwrap_or_default(),
            member => vec![member.to_owned()],
        };
        for member in members {
            let shown = member.trim_end_matches('~');
            // A permission implied by a member's absence says so: the event does not name
            // what it applies to, so it applies widely.
            let without = if row.present { "" } else { "without " };
            out.push(Implied {
                origin: Arc::from(format!(
                    "{prefix}:{operation} {without}{}",
                    lower_first(shown)
                )),
                member,
                present: row.present,
                actions: actions.clone(),
                target: row.target,
            });
        }
    }
    out
}

/// `RoleArn` as CloudTrail usually logs it, `roleArn`; header names stay as they are.
fn lower_first(path: &str) -> String {
    path.split('.')
        .map(|segment| {
            let mut chars = segment.chars();
            match chars.next() {
                Some(first) => first.to_ascii_lowercase().to_string() + chars.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// The event's facts an ARN is built from.
struct Place<'a> {
    partition: Cow<'a, str>,
    region: &'a str,
    account: &'a str,
}

impl<'a> Place<'a> {
    fn of(record: &'a Record<'_>) -> Self {
        let region = record.aws_region.as_deref().unwrap_or_default();
        let identity = record.user_identity.as_ref();
        let partition = identity
            .and_then(|i| i.arn.as_deref())
            .and_then(|arn| arn.split(':').nth(1))
            .filter(|p| p.starts_with("aws"))
            .map_or_else(
                || Cow::Borrowed(partition_of_region(region)),
                |p| Cow::Owned(p.to_owned()),
            );
        let account = record
            .recipient_account_id
            .as_deref()
            .or_else(|| identity.and_then(|i| i.account_id.as_deref()))
            .unwrap_or_default();
        Self {
            partition,
            region,
            account,
        }
    }
}

/// What `rules` add to this request: (action, resource, origin) for resources built here, and
/// the actions that join the call's own (resolved on the call's resources).
pub struct Added {
    pub calls: Vec<(Arc<str>, Arc<str>, Arc<str>)>,
    pub with_call: Vec<(Arc<str>, Arc<str>)>,
}

/// The permissions `record`'s request implies under `rules`.
pub fn apply(rules: &[Implied], record: &Record<'_>) -> Added {
    let mut added = Added {
        calls: Vec::new(),
        with_call: Vec::new(),
    };
    if rules.is_empty() {
        return added;
    }
    let request: Value = record
        .request_parameters
        .and_then(|raw| serde_json::from_str(raw.get()).ok()) // deliberate: no request, no values
        .unwrap_or(Value::Null);
    let place = Place::of(record);
    for rule in rules {
        let path = rule.member.trim_end_matches('~');
        let mut values = Vec::new();
        collect(&request, &path.split('.').collect::<Vec<_>>(), &mut values);
        values.retain(|v| !is_empty(v));
        if values.is_empty() == rule.present {
            continue;
        }
        if rule.target == Target::Call {
            for action in &rule.actions {
                if !added.with_call.iter().any(|(a, _)| a == action) {
                    added
                        .with_call
                        .push((Arc::clone(action), Arc::clone(&rule.origin)));
                }
            }
            continue;
        }
        let resources: Vec<(String, Option<&str>)> = match rule.target {
            Target::AnyObject => vec![(format!("arn:{}:s3:::*", place.partition), None)],
            Target::TargetRole => text_at(&request, "roleArn")
                .filter(|arn| arn.starts_with("arn:"))
                .map(|arn| vec![(arn.to_owned(), None)])
                .unwrap_or_default(),
            _ => values
                .iter()
                .filter_map(|value| resource(rule, value, &place))
                .collect(),
        };
        for (resource, version) in resources {
            for action in &rule.actions {
                let action = match version {
                    // A copy of a specific version reads it with the *Version action.
                    Some(_) if &**action == "s3:GetObject" => Arc::from("s3:GetObjectVersion"),
                    _ => Arc::clone(action),
                };
                // Two members implying the same permission (`tags` and `transitiveTagKeys`) are
                // one permission of one call.
                if added
                    .calls
                    .iter()
                    .any(|(a, r, _)| *a == action && **r == *resource)
                {
                    continue;
                }
                added.calls.push((
                    action,
                    Arc::from(resource.as_str()),
                    Arc::clone(&rule.origin),
                ));
            }
        }
    }
    added
}

fn is_empty(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

/// The values at `path` in `value`: keys match case-insensitively, `name[]` runs over a list,
/// `name{}` over a map's values.
fn collect<'v>(value: &'v Value, path: &[&str], out: &mut Vec<&'v Value>) {
    let Some((first, rest)) = path.split_first() else {
        out.push(value);
        return;
    };
    let (name, each) = match (first.strip_suffix("[]"), first.strip_suffix("{}")) {
        (Some(name), _) | (_, Some(name)) => (name, true),
        _ => (*first, false),
    };
    let Value::Object(map) = value else {
        return;
    };
    let Some(child) = map
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v)
    else {
        return;
    };
    if !each {
        collect(child, rest, out);
        return;
    }
    match child {
        Value::Array(items) => items.iter().for_each(|item| collect(item, rest, out)),
        Value::Object(map) => map.values().for_each(|item| collect(item, rest, out)),
        other => collect(other, rest, out),
    }
}

fn text_at<'v>(value: &'v Value, key: &str) -> Option<&'v str> {
    let Value::Object(map) = value else {
        return None;
    };
    map.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .and_then(|(_, v)| v.as_str())
}

/// The resource a member's value names for `rule`, and the version it names, if any.
fn resource<'v>(
    rule: &Implied,
    value: &'v Value,
    place: &Place<'_>,
) -> Option<(String, Option<&'v str>)> {
    let p = &place.partition;
    match rule.target {
        Target::Role => {
            // An instance profile comes as {"arn": ..} or {"name": ..}: the role in it is not
            // in the event, so every role of the profile's account.
            if let Value::Object(_) = value {
                let account = text_at(value, "arn")
                    .and_then(|arn| arn.split(':').nth(4))
                    .unwrap_or(place.account);
                return Some((format!("arn:{p}:iam::{account}:role/*"), None));
            }
            let text = value.as_str()?;
            if text.starts_with("arn:") {
                let kind = text.split(':').nth(5)?;
                if kind.starts_with("role/") {
                    return Some((text.to_owned(), None));
                }
                if kind.starts_with("instance-profile/") {
                    let account = text.split(':').nth(4).unwrap_or(place.account);
                    return Some((format!("arn:{p}:iam::{account}:role/*"), None));
                }
                return None;
            }
            (rule.member.ends_with('~') && !text.contains(':'))
                .then(|| (format!("arn:{p}:iam::{}:role/{text}", place.account), None))
        }
        Target::KmsKey => {
            let text = value.as_str()?;
            if let Some(rest) = text.strip_prefix("arn:") {
                let parts: Vec<&str> = rest.splitn(5, ':').collect();
                let [partition, "kms", region, account, resource] = parts[..] else {
                    return None;
                };
                if resource.starts_with("key/") {
                    return Some((text.to_owned(), None));
                }
                // An alias names no key the event shows: every key of its account and region.
                return Some((
                    format!("arn:{partition}:kms:{region}:{account}:key/*"),
                    None,
                ));
            }
            let (region, account) = (place.region, place.account);
            if text.starts_with("alias/") {
                return Some((format!("arn:{p}:kms:{region}:{account}:key/*"), None));
            }
            Some((format!("arn:{p}:kms:{region}:{account}:key/{text}"), None))
        }
        Target::Secret => {
            let text = value.as_str()?;
            if text.starts_with("arn:") {
                return Some((text.to_owned(), None));
            }
            Some((
                format!(
                    "arn:{p}:secretsmanager:{}:{}:secret:{text}-??????",
                    place.region, place.account
                ),
                None,
            ))
        }
        Target::CopySource => {
            let text = value.as_str()?;
            let (source, version) = match text.split_once("?versionId=") {
                Some((source, version)) => (source, Some(version)),
                None => (text, None),
            };
            let source = percent_encoding::percent_decode_str(source.trim_start_matches('/'))
                .decode_utf8()
                .ok()?;
            // An access point source (`arn:...:accesspoint/ap/object/key`) is its own ARN.
            if source.starts_with("arn:") {
                return Some((source.into_owned(), version));
            }
            let (bucket, key) = source.split_once('/')?;
            Some((format!("arn:{p}:s3:::{bucket}/{key}"), version))
        }
        Target::TargetRole | Target::Call | Target::AnyObject => None,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;
    use crate::catalog::operations::Operations;

    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::embedded().unwrap());

    fn implied(source: &str, name: &str, request: &str) -> Vec<(String, String, String)> {
        let (api, name) = crate::map::operation_of(source, name);
        let prefix = api.and_then(|a| a.prefix.as_deref()).unwrap();
        let rules = rules_for(&CATALOG, prefix, name, api);
        let json = format!(
            r#"{{"eventSource":"{source}","eventName":"{name}","awsRegion":"eu-west-1",
            "recipientAccountId":"111122223333",
            "userIdentity":{{"arn":"arn:aws:sts::111122223333:assumed-role/app/s"}},
            "requestParameters":{request}}}"#
        );
        let record: Record<'_> = serde_json::from_str(&json).unwrap();
        let added = apply(&rules, &record);
        let mut out: Vec<_> = added
            .calls
            .iter()
            .map(|(a, r, o)| (a.to_string(), r.to_string(), o.to_string()))
            .chain(
                added
                    .with_call
                    .iter()
                    .map(|(a, o)| (a.to_string(), "(call)".to_owned(), o.to_string())),
            )
            .collect();
        out.sort();
        out
    }

    #[test]
    fn every_row_is_documented_and_its_actions_exist() {
        for row in rows() {
            assert!(
                row.documentation
                    .starts_with("https://docs.aws.amazon.com/"),
                "{} {}",
                row.prefix,
                row.operation
            );
            for action in &row.actions {
                assert!(CATALOG.action(action).is_some(), "{action}");
            }
        }
        // Every row with a concrete operation names one the index knows.
        for row in rows().iter().filter(|r| r.operation != "*") {
            assert!(
                Operations::embedded()
                    .apis
                    .iter()
                    .any(|a| a.prefix.as_deref() == Some(row.prefix)
                        && a.operations.contains(row.operation)),
                "{} {}",
                row.prefix,
                row.operation
            );
        }
    }

    /// Every row of the table, fed a request that carries its member, implies its actions.
    #[test]
    fn every_row_implies_its_actions() {
        for row in rows().iter().filter(|r| r.present) {
            let cases: Vec<(&str, &str)> = if row.operation == "*" {
                match row.prefix {
                    "rds-data" => vec![("rds-data.amazonaws.com", "ExecuteStatement")],
                    "redshift-data" => vec![("redshift-data.amazonaws.com", "ExecuteStatement")],
                    _ => vec![("lambda.amazonaws.com", "CreateFunction20150331")],
                }
            } else {
                let api = Operations::embedded()
                    .apis
                    .iter()
                    .find(|a| {
                        a.prefix.as_deref() == Some(row.prefix)
                            && a.operations.contains(row.operation)
                    })
                    .unwrap();
                vec![(
                    api.event_sources
                        .iter()
                        .find(|h| h.starts_with(row.prefix))
                        .unwrap_or(&api.event_sources[0])
                        .as_str(),
                    row.operation,
                )]
            };
            for (source, name) in cases {
                let (api, op) = crate::map::operation_of(source, name);
                let member = match row.member {
                    "@roles" => api.unwrap().role_members[op][0]
                        .trim_end_matches('~')
                        .to_owned(),
                    "@kms" => api.unwrap().kms_members[op][0].clone(),
                    member => member.to_owned(),
                };
                let value = match row.target {
                    Target::Role => "\"arn:aws:iam::111122223333:role/r\"",
                    Target::KmsKey => "\"arn:aws:kms:eu-west-1:111122223333:key/k\"",
                    Target::Secret => {
                        "\"arn:aws:secretsmanager:eu-west-1:111122223333:secret:s-AbCdEf\""
                    }
                    Target::CopySource => "\"src/key\"",
                    Target::TargetRole => "[{\"key\":\"k\",\"value\":\"v\"}]",
                    _ => "\"GOVERNANCE\"",
                };
                // The member's path as nested objects.
                let mut request = value.to_owned();
                for segment in member.rsplit('.') {
                    let name = segment.trim_end_matches("[]").trim_end_matches("{}");
                    request = if segment.ends_with("[]") {
                        format!("{{\"{name}\":[{request}]}}")
                    } else {
                        format!("{{\"{name}\":{request}}}")
                    };
                }
                if row.target == Target::TargetRole {
                    request = request.replacen(
                        '{',
                        "{\"roleArn\":\"arn:aws:iam::111122223333:role/t\",",
                        1,
                    );
                }
                let got = implied(source, name, &request);
                for action in &row.actions {
                    assert!(
                        got.iter().any(|(a, ..)| a == action),
                        "{source} {name} with {request}: {action} not in {got:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_role_handed_to_a_service_is_passed_by_its_arn() {
        assert_eq!(
            implied(
                "ecs.amazonaws.com",
                "RunTask",
                r#"{"cluster":"c","taskDefinition":"td:3","overrides":{"taskRoleArn":"arn:aws:iam::111122223333:role/batch-task"}}"#
            ),
            [(
                "iam:PassRole".to_owned(),
                "arn:aws:iam::111122223333:role/batch-task".to_owned(),
                "ecs:RunTask overrides.taskRoleArn".to_owned()
            )]
        );
        // SageMaker, from its input shapes: no hand list names it.
        assert_eq!(
            implied(
                "sagemaker.amazonaws.com",
                "CreateTrainingJob",
                r#"{"trainingJobName":"j","roleArn":"arn:aws:iam::111122223333:role/sm-train"}"#
            )[0]
            .1,
            "arn:aws:iam::111122223333:role/sm-train"
        );
        // Glue's Role takes a name too (its model says it is an IAM role).
        assert_eq!(
            implied(
                "glue.amazonaws.com",
                "CreateJob",
                r#"{"name":"j","role":"etl"}"#
            )[0]
            .1,
            "arn:aws:iam::111122223333:role/etl"
        );
        // An instance profile's role is not in the event.
        assert_eq!(
            implied(
                "ec2.amazonaws.com",
                "RunInstances",
                r#"{"iamInstanceProfile":{"arn":"arn:aws:iam::111122223333:instance-profile/web"}}"#
            )[0]
            .1,
            "arn:aws:iam::111122223333:role/*"
        );
        // No role in the request, nothing to pass.
        assert!(
            implied(
                "lambda.amazonaws.com",
                "UpdateFunctionConfiguration20150331v2",
                r#"{"timeout":3}"#
            )
            .is_empty()
        );
    }

    #[test]
    fn sse_kms_tags_acls_and_copy_sources() {
        let put = implied(
            "s3.amazonaws.com",
            "PutObject",
            r#"{"bucketName":"b","key":"k","x-amz-server-side-encryption":"aws:kms",
                "x-amz-server-side-encryption-aws-kms-key-id":"arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab",
                "x-amz-tagging":"team=data","x-amz-acl":"bucket-owner-full-control"}"#,
        );
        assert_eq!(
            put,
            [
                (
                    "kms:GenerateDataKey".to_owned(),
                    "arn:aws:kms:eu-west-1:444455556666:key/1234abcd-12ab-34cd-56ef-1234567890ab"
                        .to_owned(),
                    "s3:PutObject x-amz-server-side-encryption-aws-kms-key-id".to_owned()
                ),
                (
                    "s3:PutObjectAcl".to_owned(),
                    "(call)".to_owned(),
                    "s3:PutObject x-amz-acl".to_owned()
                ),
                (
                    "s3:PutObjectTagging".to_owned(),
                    "(call)".to_owned(),
                    "s3:PutObject x-amz-tagging".to_owned()
                ),
            ]
        );
        let copy = implied(
            "s3.amazonaws.com",
            "CopyObject",
            r#"{"bucketName":"dst","key":"a/b.csv","x-amz-copy-source":"src-bucket/in%20box/b.csv?versionId=3HL4kq"}"#,
        );
        assert_eq!(
            copy,
            [(
                "s3:GetObjectVersion".to_owned(),
                "arn:aws:s3:::src-bucket/in box/b.csv".to_owned(),
                "s3:CopyObject x-amz-copy-source".to_owned()
            )]
        );
        // An alias names no key: every key of its account and region.
        assert_eq!(
            implied(
                "s3.amazonaws.com",
                "PutObject",
                r#"{"bucketName":"b","key":"k","x-amz-server-side-encryption-aws-kms-key-id":"alias/data"}"#
            )[0]
            .1,
            "arn:aws:kms:eu-west-1:111122223333:key/*"
        );
    }

    #[test]
    fn session_tags_source_identity_and_data_api_secrets() {
        let assume = implied(
            "sts.amazonaws.com",
            "AssumeRole",
            r#"{"roleArn":"arn:aws:iam::444455556666:role/reports","roleSessionName":"s",
                "tags":[{"key":"team","value":"data"}],"sourceIdentity":"alice"}"#,
        );
        let got: Vec<(&str, &str)> = assume
            .iter()
            .map(|(a, r, _)| (a.as_str(), r.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "sts:SetSourceIdentity",
                    "arn:aws:iam::444455556666:role/reports"
                ),
                ("sts:TagSession", "arn:aws:iam::444455556666:role/reports"),
            ]
        );
        assert!(
            implied(
                "sts.amazonaws.com",
                "AssumeRole",
                r#"{"roleArn":"arn:aws:iam::1:role/r","tags":[]}"#
            )
            .is_empty()
        );
        let sql = implied(
            "rds-data.amazonaws.com",
            "ExecuteStatement",
            r#"{"resourceArn":"arn:aws:rds:eu-west-1:111122223333:cluster:orders","secretArn":"arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders-ro-AbCdEf","sql":"select 1"}"#,
        );
        assert_eq!(
            sql,
            [(
                "secretsmanager:GetSecretValue".to_owned(),
                "arn:aws:secretsmanager:eu-west-1:111122223333:secret:orders-ro-AbCdEf".to_owned(),
                "rds-data:ExecuteStatement secretArn".to_owned()
            )]
        );
    }
}
