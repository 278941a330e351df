//! The trails' configuration (`--trail-config FILE`): `aws cloudtrail describe-trails` and each
//! trail's `aws cloudtrail get-event-selectors`, as one JSON object
//! `{"trailList": [...], "selectors": [...]}` (docs/OUTPUT.md shows how to make it), and whether
//! a trail records a call. Where anything is unclear, a call counts as not recorded: that keeps a
//! grant, which never breaks a workload.

use std::path::Path;

use serde::Deserialize;

use super::EventShape;

#[derive(Debug, thiserror::Error)]
pub enum TrailConfigError {
    #[error("cannot read the trail configuration {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{path} is not a trail configuration (the JSON of `aws cloudtrail describe-trails` as \"trailList\", with each trail's `get-event-selectors` in \"selectors\")"
    )]
    Format {
        path: String,
        #[source]
        source: serde_json::Error,
    },
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(rename = "trailList")]
    trail_list: Vec<Trail>,
    #[serde(default)]
    selectors: Vec<Selectors>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Trail {
    pub name: String,
    #[serde(rename = "TrailARN")]
    pub trail_arn: Option<String>,
    pub home_region: Option<String>,
    #[serde(default)]
    pub is_multi_region_trail: bool,
    #[serde(default)]
    pub is_organization_trail: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Selectors {
    #[serde(rename = "TrailARN")]
    trail_arn: Option<String>,
    event_selectors: Option<Vec<EventSelector>>,
    advanced_event_selectors: Option<Vec<AdvancedSelector>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct EventSelector {
    read_write_type: Option<String>,
    include_management_events: Option<bool>,
    #[serde(default)]
    data_resources: Vec<DataResource>,
    #[serde(default)]
    exclude_management_event_sources: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct DataResource {
    #[serde(rename = "Type")]
    kind: String,
    #[serde(default)]
    values: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AdvancedSelector {
    field_selectors: Vec<FieldSelector>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct FieldSelector {
    field: String,
    #[serde(default)]
    equals: Vec<String>,
    #[serde(default)]
    starts_with: Vec<String>,
    #[serde(default)]
    ends_with: Vec<String>,
    #[serde(default)]
    not_equals: Vec<String>,
    #[serde(default)]
    not_starts_with: Vec<String>,
    #[serde(default)]
    not_ends_with: Vec<String>,
}

/// The trails of an account (or organization) and what each records.
#[derive(Debug, Clone)]
pub struct TrailConfig {
    /// Where it was read from, for the output.
    pub origin: String,
    /// The configuration as read, for the output (`input.coverage.trail_config`).
    pub raw: serde_json::Value,
    trails: Vec<(Trail, How)>,
}

#[derive(Debug, Clone)]
enum How {
    Basic(Vec<EventSelector>),
    Advanced(Vec<AdvancedSelector>),
}

impl TrailConfig {
    pub fn read(path: &Path) -> Result<Self, TrailConfigError> {
        let location = path.display().to_string();
        let text = std::fs::read(path).map_err(|source| TrailConfigError::Read {
            path: location.clone(),
            source,
        })?;
        let format = |source| TrailConfigError::Format {
            path: location.clone(),
            source,
        };
        let raw: serde_json::Value = serde_json::from_slice(&text).map_err(format)?;
        Self::from_value(raw, format!("--trail-config {location}")).map_err(format)
    }

    /// The same JSON as a file holds, from elsewhere (the CloudTrail API with `--aws`).
    pub fn from_value(value: serde_json::Value, origin: String) -> Result<Self, serde_json::Error> {
        let raw = value.clone();
        let file: File = serde_json::from_value(value)?;
        let mut config = Self::from_file(file, origin);
        config.raw = raw;
        Ok(config)
    }

    fn from_file(file: File, origin: String) -> Self {
        let trails = file
            .trail_list
            .into_iter()
            .map(|trail| {
                let selectors = file.selectors.iter().find(|s| {
                    s.trail_arn.is_some() && s.trail_arn == trail.trail_arn
                        || s.trail_arn.as_deref() == Some(trail.name.as_str())
                });
                let how = match selectors {
                    Some(Selectors {
                        advanced_event_selectors: Some(advanced),
                        ..
                    }) if !advanced.is_empty() => How::Advanced(advanced.clone()),
                    Some(Selectors {
                        event_selectors: Some(basic),
                        ..
                    }) => How::Basic(basic.clone()),
                    // A trail's default: every management event, no data events.
                    _ => How::Basic(vec![EventSelector {
                        read_write_type: Some("All".to_owned()),
                        include_management_events: Some(true),
                        data_resources: Vec::new(),
                        exclude_management_event_sources: Vec::new(),
                    }]),
                };
                (trail, how)
            })
            .collect();
        Self {
            origin,
            raw: serde_json::Value::Null,
            trails,
        }
    }

    /// `Ok` when some trail records every call `shape` of `action` on `resource` could be;
    /// else why not (the first trail's reason).
    pub fn records(
        &self,
        shape: &EventShape,
        action: &str,
        resource: &str,
        account: Option<&str>,
    ) -> Result<(), String> {
        if self.trails.is_empty() {
            return Err("the trail configuration lists no trail".to_owned());
        }
        let mut reasons = Vec::new();
        for (trail, how) in &self.trails {
            match trail_records(trail, how, shape, action, resource, account) {
                Ok(()) => return Ok(()),
                Err(reason) => reasons.push(format!("trail {}: {reason}", trail.name)),
            }
        }
        Err(reasons.join("; "))
    }

    /// What no trail records, one sentence per gap.
    pub fn not_recorded(&self) -> Vec<String> {
        let mut out = Vec::new();
        for t in super::data_event_types() {
            let any = self
                .trails
                .iter()
                .any(|(_, how)| records_type(how, t.resource_type));
            if !any {
                out.push(format!(
                    "data events of {} ({})",
                    t.resource_type, t.event_source
                ));
            }
        }
        for (trail, how) in &self.trails {
            if !trail.is_multi_region_trail {
                out.push(format!(
                    "trail {}: only region {}",
                    trail.name,
                    trail.home_region.as_deref().unwrap_or("(unknown)")
                ));
            }
            if let How::Basic(selectors) = how {
                for s in selectors {
                    match s.read_write_type.as_deref() {
                        Some("ReadOnly") => out.push(format!("trail {}: write events", trail.name)),
                        Some("WriteOnly") => out.push(format!("trail {}: read events", trail.name)),
                        _ => {}
                    }
                    for source in &s.exclude_management_event_sources {
                        out.push(format!(
                            "trail {}: management events from {source}",
                            trail.name
                        ));
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}

/// Whether some selector of `how` records data events of `kind` (for some resources at least).
fn records_type(how: &How, kind: &str) -> bool {
    match how {
        How::Basic(selectors) => selectors
            .iter()
            .any(|s| s.data_resources.iter().any(|d| d.kind == kind)),
        How::Advanced(selectors) => selectors.iter().any(|s| {
            s.field_selectors
                .iter()
                .any(|f| f.field == "resources.type" && f.equals.iter().any(|v| v == kind))
        }),
    }
}

fn trail_records(
    trail: &Trail,
    how: &How,
    shape: &EventShape,
    action: &str,
    resource: &str,
    account: Option<&str>,
) -> Result<(), String> {
    let trail_account = trail.trail_arn.as_deref().and_then(|a| a.split(':').nth(4));
    if let (Some(mine), Some(theirs)) = (account, trail_account)
        && mine != theirs
        && !trail.is_organization_trail
    {
        return Err(format!(
            "it records account {theirs}, not {mine}, and is not an organization trail"
        ));
    }
    if !trail.is_multi_region_trail {
        let region = resource.split(':').nth(3).unwrap_or("");
        let home = trail.home_region.as_deref().unwrap_or("");
        if region.is_empty() || region.contains(['*', '?']) || region != home {
            return Err(format!(
                "it records only region {home}, and {action} on {resource} can be used elsewhere"
            ));
        }
    }
    match how {
        How::Basic(selectors) => {
            let mut reasons = Vec::new();
            for s in selectors {
                match basic_records(s, shape, action, resource) {
                    Ok(()) => return Ok(()),
                    Err(r) => reasons.push(r),
                }
            }
            Err(reasons
                .into_iter()
                .next()
                .unwrap_or_else(|| "it has no event selectors".into()))
        }
        How::Advanced(selectors) => {
            if selectors
                .iter()
                .any(|s| advanced_records(s, shape, resource))
            {
                Ok(())
            } else {
                Err(match shape.data_type {
                    Some(t) => format!(
                        "no advanced event selector records every {} data event of {action} on {resource}",
                        t.resource_type
                    ),
                    None => format!(
                        "no advanced event selector records every management event of {action}"
                    ),
                })
            }
        }
    }
}

fn read_write_ok(kind: Option<&str>, read_only: Option<bool>) -> Result<(), &'static str> {
    match (kind.unwrap_or("All"), read_only) {
        ("All", _) => Ok(()),
        ("ReadOnly", Some(true)) | ("WriteOnly", Some(false)) => Ok(()),
        ("ReadOnly", _) => Err("it records read events only"),
        ("WriteOnly", _) => Err("it records write events only"),
        _ => Err("its ReadWriteType is not one iamtrim knows"),
    }
}

fn basic_records(
    s: &EventSelector,
    shape: &EventShape,
    action: &str,
    resource: &str,
) -> Result<(), String> {
    read_write_ok(s.read_write_type.as_deref(), shape.read_only).map_err(str::to_owned)?;
    match shape.data_type {
        None => {
            if s.include_management_events == Some(false) {
                return Err("its event selector records no management events".to_owned());
            }
            if let Some(source) = shape
                .sources
                .iter()
                .find(|src| s.exclude_management_event_sources.contains(*src))
            {
                return Err(format!("it excludes management events from {source}"));
            }
            Ok(())
        }
        Some(t) => {
            let covered = s.data_resources.iter().any(|d| {
                d.kind == t.resource_type && d.values.iter().any(|v| value_covers(v, resource))
            });
            if covered {
                Ok(())
            } else if s.data_resources.iter().any(|d| d.kind == t.resource_type) {
                Err(format!(
                    "its {} data resources do not cover every resource {action} is granted on ({resource})",
                    t.resource_type
                ))
            } else {
                Err(format!(
                    "{action} is logged as a {} data event, which it does not record",
                    t.resource_type
                ))
            }
        }
    }
}

/// Whether a basic selector's `DataResources` value records every resource `pattern` names.
fn value_covers(value: &str, pattern: &str) -> bool {
    // All resources of the type: `arn:aws:s3`, `arn:aws:s3:::`, `arn:aws:lambda`, ...
    if value.split(':').filter(|p| !p.is_empty()).count() <= 3 && !value.contains('/') {
        return true;
    }
    let fixed = fixed_part(pattern);
    // S3 values are prefixes (`arn:aws:s3:::bucket/`, `arn:aws:s3:::bucket/logs/`); other
    // types name resources exactly.
    if value.starts_with("arn:aws:s3:::")
        || value.starts_with("arn:aws-") && value.contains(":s3:::")
    {
        fixed.starts_with(value)
    } else {
        !pattern.contains(['*', '?']) && pattern == value
    }
}

/// A pattern up to its first wildcard.
fn fixed_part(pattern: &str) -> &str {
    pattern.find(['*', '?']).map_or(pattern, |i| &pattern[..i])
}

/// Whether every event `shape` on `resource` matches all of the selector's field conditions.
fn advanced_records(selector: &AdvancedSelector, shape: &EventShape, resource: &str) -> bool {
    let category = if shape.data_type.is_some() {
        "Data"
    } else {
        "Management"
    };
    selector
        .field_selectors
        .iter()
        .all(|f| match f.field.as_str() {
            "eventCategory" => all_match(f, &[category.to_owned()]),
            "resources.type" => match shape.data_type {
                Some(t) => all_match(f, &[t.resource_type.to_owned()]),
                None => false,
            },
            "readOnly" => match shape.read_only {
                Some(ro) => all_match(f, &[ro.to_string()]),
                None => all_match(f, &["true".to_owned(), "false".to_owned()]),
            },
            "eventSource" => all_match(f, &shape.sources.iter().cloned().collect::<Vec<_>>()),
            "eventName" => all_match(f, &shape.names.iter().cloned().collect::<Vec<_>>()),
            "resources.ARN" => arn_matches_all(f, resource),
            // A condition iamtrim cannot evaluate (userIdentity.arn, errorCode, ...): some calls may
            // be left out, so not every call is recorded.
            _ => false,
        })
}

/// Every one of `values` passes the field selector.
fn all_match(f: &FieldSelector, values: &[String]) -> bool {
    !values.is_empty()
        && values.iter().all(|v| {
            (f.equals.is_empty() && f.starts_with.is_empty() && f.ends_with.is_empty()
                || f.equals.iter().any(|e| e == v)
                || f.starts_with.iter().any(|p| v.starts_with(p.as_str()))
                || f.ends_with.iter().any(|p| v.ends_with(p.as_str())))
                && !f.not_equals.iter().any(|e| e == v)
                && !f.not_starts_with.iter().any(|p| v.starts_with(p.as_str()))
                && !f.not_ends_with.iter().any(|p| v.ends_with(p.as_str()))
        })
}

/// Every ARN `pattern` can name passes the `resources.ARN` selector.
fn arn_matches_all(f: &FieldSelector, pattern: &str) -> bool {
    let wild = pattern.contains(['*', '?']);
    let fixed = fixed_part(pattern);
    let positive = f.equals.is_empty() && f.starts_with.is_empty() && f.ends_with.is_empty()
        || f.equals.iter().any(|e| !wild && e == pattern)
        || f.starts_with.iter().any(|p| fixed.starts_with(p.as_str()))
        || f.ends_with
            .iter()
            .any(|p| !wild && pattern.ends_with(p.as_str()));
    // A negation excludes some of the pattern's ARNs unless none can match it.
    let excluded = f.not_equals.iter().any(|e| {
        if wild {
            e.starts_with(fixed)
        } else {
            e == pattern
        }
    }) || f
        .not_starts_with
        .iter()
        .any(|p| fixed.starts_with(p.as_str()) || wild && p.starts_with(fixed))
        || f.not_ends_with
            .iter()
            .any(|p| wild || pattern.ends_with(p.as_str()));
    positive && !excluded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shape(action: &str) -> EventShape {
        let catalog = crate::catalog::Catalog::embedded().unwrap();
        super::super::Observability::new(super::super::Recording::Inferred {
            buckets: std::collections::BTreeMap::new(),
            data_events: Default::default(),
        })
        .shape(action, &catalog)
        .unwrap()
    }

    fn config(json: serde_json::Value) -> TrailConfig {
        TrailConfig::from_file(serde_json::from_value(json).unwrap(), "test".into())
    }

    fn trail() -> serde_json::Value {
        serde_json::json!({"Name": "org", "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
            "HomeRegion": "us-east-1", "IsMultiRegionTrail": true, "IsOrganizationTrail": false})
    }

    const A: Option<&str> = Some("111122223333");

    #[test]
    fn basic_selectors_record_one_buckets_objects_and_not_another() {
        let c = config(serde_json::json!({"trailList": [trail()], "selectors": [{
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
            "EventSelectors": [{"ReadWriteType": "All", "IncludeManagementEvents": true,
                "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3:::logged/"]}],
                "ExcludeManagementEventSources": ["kms.amazonaws.com"]}]}]}));
        let get = shape("s3:GetObject");
        assert_eq!(
            c.records(&get, "s3:GetObject", "arn:aws:s3:::logged/*", A),
            Ok(())
        );
        let why = c
            .records(&get, "s3:GetObject", "arn:aws:s3:::other/*", A)
            .unwrap_err();
        assert!(why.contains("do not cover"), "{why}");
        let why = c.records(&get, "s3:GetObject", "*", A).unwrap_err();
        assert!(why.contains("do not cover"), "{why}");
        let decrypt = shape("kms:Decrypt");
        let why = c
            .records(
                &decrypt,
                "kms:Decrypt",
                "arn:aws:kms:us-east-1:111122223333:key/k",
                A,
            )
            .unwrap_err();
        assert!(
            why.contains("excludes management events from kms.amazonaws.com"),
            "{why}"
        );
        let delete = shape("sqs:DeleteQueue");
        assert_eq!(c.records(&delete, "sqs:DeleteQueue", "*", A), Ok(()));
        let why = c
            .records(&delete, "sqs:DeleteQueue", "*", Some("444455556666"))
            .unwrap_err();
        assert!(why.contains("not an organization trail"), "{why}");
    }

    #[test]
    fn a_single_region_trail_sees_only_its_region() {
        let mut one = trail();
        one["IsMultiRegionTrail"] = serde_json::json!(false);
        let c = config(serde_json::json!({"trailList": [one]}));
        let delete = shape("sqs:DeleteQueue");
        let here = "arn:aws:sqs:us-east-1:111122223333:jobs";
        assert_eq!(c.records(&delete, "sqs:DeleteQueue", here, A), Ok(()));
        let there = "arn:aws:sqs:eu-west-1:111122223333:jobs";
        let why = c.records(&delete, "sqs:DeleteQueue", there, A).unwrap_err();
        assert!(why.contains("records only region us-east-1"), "{why}");
        assert!(c.records(&delete, "sqs:DeleteQueue", "*", A).is_err());
        // No selectors given: CloudTrail's default, management events only.
        let get = shape("s3:GetObject");
        assert!(
            c.records(&get, "s3:GetObject", "arn:aws:s3:::b/*", A)
                .is_err()
        );
        assert!(
            c.not_recorded()
                .contains(&"trail org: only region us-east-1".to_owned())
        );
    }

    #[test]
    fn read_only_events_excluded_hide_reads_only() {
        let c = config(serde_json::json!({"trailList": [trail()], "selectors": [{
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
            "EventSelectors": [{"ReadWriteType": "WriteOnly", "IncludeManagementEvents": true}]}]}));
        let describe = shape("ec2:DescribeInstances");
        assert!(
            c.records(&describe, "ec2:DescribeInstances", "*", A)
                .is_err()
        );
        let terminate = shape("ec2:TerminateInstances");
        assert_eq!(
            c.records(&terminate, "ec2:TerminateInstances", "*", A),
            Ok(())
        );
        assert!(
            c.not_recorded()
                .contains(&"trail org: read events".to_owned())
        );
    }

    #[test]
    fn advanced_selectors_with_arn_prefixes_and_negations() {
        let c = config(serde_json::json!({"trailList": [trail()], "selectors": [{
            "TrailARN": "arn:aws:cloudtrail:us-east-1:111122223333:trail/org",
            "AdvancedEventSelectors": [
                {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
                {"Name": "one bucket", "FieldSelectors": [
                    {"Field": "eventCategory", "Equals": ["Data"]},
                    {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                    {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::logged/"]},
                    {"Field": "resources.ARN", "NotStartsWith": ["arn:aws:s3:::logged/tmp/"]}]}]}]}));
        let get = shape("s3:GetObject");
        assert_eq!(
            c.records(&get, "s3:GetObject", "arn:aws:s3:::logged/data/x", A),
            Ok(())
        );
        assert!(
            c.records(&get, "s3:GetObject", "arn:aws:s3:::logged/*", A)
                .is_err()
        );
        assert!(
            c.records(&get, "s3:GetObject", "arn:aws:s3:::logged/tmp/x", A)
                .is_err()
        );
        assert!(
            c.records(&get, "s3:GetObject", "arn:aws:s3:::other/x", A)
                .is_err()
        );
        let put = shape("dynamodb:PutItem");
        assert!(
            c.records(
                &put,
                "dynamodb:PutItem",
                "arn:aws:dynamodb:us-east-1:111122223333:table/t",
                A
            )
            .is_err()
        );
        let create = shape("dynamodb:CreateTable");
        assert_eq!(c.records(&create, "dynamodb:CreateTable", "*", A), Ok(()));
        assert!(
            c.not_recorded()
                .iter()
                .any(|n| n.starts_with("data events of AWS::DynamoDB::Table"))
        );
    }
}
