//! What the trails record, from the CloudTrail API (`--aws`): `cloudtrail:DescribeTrails` (with
//! shadow trails: multi-region and organization trails whose home is elsewhere) and
//! `cloudtrail:GetEventSelectors` for each, as the same JSON `--trail-config` reads
//! (`{"trailList": [...], "selectors": [...]}`), so one parser serves both.

use serde_json::{Map, Value, json};

use super::aws::{Session, warning};

/// The trail configuration as `--trail-config` would hold it, and warnings. None when the
/// trails could not be listed or there are none to see. A trail whose selectors cannot be read
/// is left out (what it records is unknown, so it is not counted as recording anything).
pub fn trail_config(session: &Session) -> (Option<Value>, Vec<String>) {
    let client = aws_sdk_cloudtrail::Client::new(&session.config);
    let mut warnings = Vec::new();
    session.runtime.block_on(async {
        let trails = match client
            .describe_trails()
            .include_shadow_trails(true)
            .send()
            .await
        {
            Ok(out) => out.trail_list().to_vec(),
            Err(err) => {
                warnings.push(warning("cloudtrail:DescribeTrails", &err));
                return (None, warnings);
            }
        };
        if trails.is_empty() {
            // The logs read come from a trail this account and region cannot see (another
            // account's, or another region's single-region trail): no answer, not "nothing".
            warnings.push(
                "cloudtrail:DescribeTrails lists no trail in this account and region; what the \
                 trail records is inferred from the input"
                    .to_owned(),
            );
            return (None, warnings);
        }
        let mut listed = Vec::new();
        let mut selectors = Vec::new();
        for trail in trails {
            let Some(id) = trail.trail_arn().or(trail.name()).map(str::to_owned) else {
                continue;
            };
            match client.get_event_selectors().trail_name(&id).send().await {
                Ok(out) => {
                    selectors.push(selectors_json(&id, &out));
                    listed.push(json!({
                        "Name": trail.name().unwrap_or(&id),
                        "TrailARN": trail.trail_arn(),
                        "HomeRegion": trail.home_region(),
                        "IsMultiRegionTrail": trail.is_multi_region_trail().unwrap_or(false),
                        "IsOrganizationTrail": trail.is_organization_trail().unwrap_or(false),
                        "S3BucketName": trail.s3_bucket_name(),
                    }));
                }
                Err(err) => warnings.push(format!(
                    "{}; the trail is not counted as recording anything",
                    warning(&format!("cloudtrail:GetEventSelectors {id}"), &err)
                )),
            }
        }
        (
            Some(json!({"trailList": listed, "selectors": selectors})),
            warnings,
        )
    })
}

fn selectors_json(
    id: &str,
    out: &aws_sdk_cloudtrail::operation::get_event_selectors::GetEventSelectorsOutput,
) -> Value {
    let mut entry = Map::new();
    entry.insert("TrailARN".to_owned(), json!(out.trail_arn().unwrap_or(id)));
    if !out.event_selectors().is_empty() {
        let basic: Vec<Value> = out
            .event_selectors()
            .iter()
            .map(|s| {
                json!({
                    "ReadWriteType": s.read_write_type().map(|t| t.as_str()),
                    "IncludeManagementEvents": s.include_management_events(),
                    "DataResources": s.data_resources().iter().map(|d| json!({
                        "Type": d.r#type(), "Values": d.values()
                    })).collect::<Vec<_>>(),
                    "ExcludeManagementEventSources": s.exclude_management_event_sources(),
                })
            })
            .collect();
        entry.insert("EventSelectors".to_owned(), Value::Array(basic));
    }
    if !out.advanced_event_selectors().is_empty() {
        let advanced: Vec<Value> = out
            .advanced_event_selectors()
            .iter()
            .map(|s| {
                json!({
                    "Name": s.name(),
                    "FieldSelectors": s.field_selectors().iter().map(|f| json!({
                        "Field": f.field(),
                        "Equals": f.equals(),
                        "StartsWith": f.starts_with(),
                        "EndsWith": f.ends_with(),
                        "NotEquals": f.not_equals(),
                        "NotStartsWith": f.not_starts_with(),
                        "NotEndsWith": f.not_ends_with(),
                    })).collect::<Vec<_>>(),
                })
            })
            .collect();
        entry.insert("AdvancedEventSelectors".to_owned(), Value::Array(advanced));
    }
    Value::Object(entry)
}
