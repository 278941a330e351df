//! Synthesize: a workload's successful calls → a minimal IAM policy document.
//!
//! Actions of one service that apply to the same set of resources share a statement; statements
//! are ordered by `Sid`, which is derived from the service prefix, so output is stable. Failed calls
//! never reach this stage's input as grants.

use std::collections::{BTreeMap, BTreeSet};

use crate::policy::{Effect, POLICY_VERSION, PolicyDocument, Statement};

/// Builds the policy from (action, resource) pairs; None when nothing needs a grant (IAM rejects a
/// policy without statements).
pub fn synthesize<'a>(
    grants: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> Option<PolicyDocument> {
    let mut resources_by_action: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (action, resource) in grants {
        resources_by_action
            .entry(action)
            .or_default()
            .insert(resource);
    }
    // (service, resource set) → actions
    let mut groups: BTreeMap<(&str, Vec<&str>), Vec<&str>> = BTreeMap::new();
    for (action, resources) in &resources_by_action {
        let service = action.split(':').next().unwrap_or(action);
        let resources: Vec<&str> = if resources.contains("*") {
            vec!["*"]
        } else {
            resources.iter().copied().collect()
        };
        groups.entry((service, resources)).or_default().push(action);
    }
    if groups.is_empty() {
        return None;
    }
    let mut per_service: BTreeMap<&str, usize> = BTreeMap::new();
    let statements = groups
        .into_iter()
        .map(|((service, resources), actions)| {
            let n = per_service.entry(service).or_default();
            *n += 1;
            let sid = if *n == 1 {
                sid_for(service)
            } else {
                format!("{}{n}", sid_for(service))
            };
            Statement {
                actions: actions.into_iter().map(str::to_owned).collect(),
                effect: Effect::Allow,
                resources: resources.into_iter().map(str::to_owned).collect(),
                sid,
            }
        })
        .collect();
    Some(PolicyDocument {
        statements,
        version: POLICY_VERSION,
    })
}

/// `eks-auth` → `EksAuth`: IAM Sids are alphanumeric.
fn sid_for(service: &str) -> String {
    service
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_ascii_uppercase())
                .into_iter()
                .chain(chars)
                .collect::<String>()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_service_and_resources() {
        let policy = synthesize([
            ("s3:PutObject", "arn:aws:s3:::b/*"),
            ("s3:GetObject", "arn:aws:s3:::b/*"),
            ("s3:ListBucket", "arn:aws:s3:::b"),
            ("eks-auth:AssumeRoleForPodIdentity", "*"),
            ("s3:GetObject", "arn:aws:s3:::b/*"),
        ])
        .unwrap();
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            text,
            r#"{"Statement":[{"Action":["eks-auth:AssumeRoleForPodIdentity"],"Effect":"Allow","Resource":["*"],"Sid":"EksAuth"},{"Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::b"],"Sid":"S3"},{"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow","Resource":["arn:aws:s3:::b/*"],"Sid":"S32"}],"Version":"2012-10-17"}"#
        );
        assert!(synthesize([]).is_none());
    }
}
