//! Actions that depend on the request, not only on the event name.
//!
//! - S3 object calls made on a specific version (`versionId` in the request) are authorised by the
//!   `*Version` action instead of the plain one:
//!   https://docs.aws.amazon.com/AmazonS3/latest/userguide/using-with-s3-policy-actions.html
//!
//! Permissions a request implies on other resources (`iam:PassRole` on a role it hands over, a
//! KMS key, a copy source) are `implied`'s.
//!
//! Rules are looked up once per (eventSource, eventName) by the mapper; only records of events that
//! have a rule pay for looking into `requestParameters`, and only for top-level key presence.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::value::RawValue;

use crate::catalog::Catalog;
use crate::decode::record::Raw;

/// (prefix, eventName, request keys, action replaced, action added).
type RuleRow = (
    &'static str,
    &'static str,
    &'static [&'static str],
    Option<&'static str>,
    &'static str,
);

const RULES: &[RuleRow] = &[
    (
        "s3",
        "GetObject",
        &["versionId"],
        Some("s3:GetObject"),
        "s3:GetObjectVersion",
    ),
    (
        "s3",
        "HeadObject",
        &["versionId"],
        Some("s3:GetObject"),
        "s3:GetObjectVersion",
    ),
    (
        "s3",
        "DeleteObject",
        &["versionId"],
        Some("s3:DeleteObject"),
        "s3:DeleteObjectVersion",
    ),
    (
        "s3",
        "GetObjectAcl",
        &["versionId"],
        Some("s3:GetObjectAcl"),
        "s3:GetObjectVersionAcl",
    ),
    (
        "s3",
        "PutObjectAcl",
        &["versionId"],
        Some("s3:PutObjectAcl"),
        "s3:PutObjectVersionAcl",
    ),
    (
        "s3",
        "GetObjectTagging",
        &["versionId"],
        Some("s3:GetObjectTagging"),
        "s3:GetObjectVersionTagging",
    ),
    (
        "s3",
        "PutObjectTagging",
        &["versionId"],
        Some("s3:PutObjectTagging"),
        "s3:PutObjectVersionTagging",
    ),
    (
        "s3",
        "DeleteObjectTagging",
        &["versionId"],
        Some("s3:DeleteObjectTagging"),
        "s3:DeleteObjectVersionTagging",
    ),
];

/// A rule resolved against the catalog: when any key in `when` is present in the request, drop
/// `drop` (if any) and add `add`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditional {
    pub when: &'static [&'static str],
    pub drop: Option<Arc<str>>,
    pub add: Arc<str>,
}

/// The rules for one (prefix, eventName), with their actions spelled as the catalog spells them.
pub fn rules_for(catalog: &Catalog, prefix: &str, name: &str) -> Vec<Conditional> {
    RULES
        .iter()
        .filter(|(p, n, ..)| *p == prefix && *n == name)
        .filter_map(|(_, _, when, drop, add)| {
            Some(Conditional {
                when,
                drop: match drop {
                    Some(action) => Some(Arc::from(catalog.action(action)?)),
                    None => None,
                },
                add: Arc::from(catalog.action(add)?),
            })
        })
        .collect()
}

/// `actions` adjusted for this request.
pub fn apply(
    actions: &[Arc<str>],
    rules: &[Conditional],
    request: Option<Raw<'_>>,
) -> Vec<Arc<str>> {
    let present = present_keys(request);
    let mut out: Vec<Arc<str>> = actions.to_vec();
    for rule in rules
        .iter()
        .filter(|r| r.when.iter().any(|k| present.contains_key(*k)))
    {
        if let Some(drop) = &rule.drop {
            out.retain(|a| a != drop);
        }
        if !out.contains(&rule.add) {
            out.push(Arc::clone(&rule.add));
        }
    }
    out
}

/// Top-level request keys with a value (not null, not an empty string).
fn present_keys(request: Option<Raw<'_>>) -> BTreeMap<Cow<'_, str>, &RawValue> {
    let Some(raw) = request else {
        return BTreeMap::new();
    };
    let mut keys: BTreeMap<Cow<'_, str>, &RawValue> =
        serde_json::from_str(raw.get()).unwrap_or_default();
    keys.retain(|_, v| !matches!(v.get(), "null" | "\"\""));
    keys
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use super::*;

    static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::embedded().unwrap());

    fn run(prefix: &str, name: &str, base: &[&str], request: &str) -> Vec<String> {
        let rules = rules_for(&CATALOG, prefix, name);
        let base: Vec<Arc<str>> = base.iter().map(|a| Arc::from(*a)).collect();
        apply(&base, &rules, Some(Raw::new(request)))
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn every_rule_resolves_in_the_catalog() {
        for (prefix, name, ..) in RULES {
            assert_eq!(
                rules_for(&CATALOG, prefix, name).len(),
                1,
                "{prefix} {name}"
            );
        }
    }

    #[test]
    fn versioned_object_calls() {
        assert_eq!(
            run(
                "s3",
                "GetObject",
                &["s3:GetObject"],
                r#"{"bucketName":"b","key":"k","versionId":"3HL4kqtJ"}"#
            ),
            ["s3:GetObjectVersion"]
        );
        assert_eq!(
            run(
                "s3",
                "GetObject",
                &["s3:GetObject"],
                r#"{"bucketName":"b","key":"k"}"#
            ),
            ["s3:GetObject"]
        );
        assert_eq!(
            run(
                "s3",
                "DeleteObject",
                &["s3:DeleteObject"],
                r#"{"versionId":null}"#
            ),
            ["s3:DeleteObject"]
        );
    }
}
