//! Synthesize: a workload's successful calls → a minimal IAM policy document.
//!
//! The observed resources go through the generalisation rules (`generalize`, each application
//! recorded); actions of one service that apply to the same set of resources share a statement;
//! statements are ordered by `Sid`, which is derived from the service prefix, so output is stable.
//! A policy over IAM's size limit is generalised further (objects to their bucket), then split into
//! parts that each fit. Failed calls never reach this stage's input as grants.

pub mod generalize;

use std::collections::BTreeMap;

use serde::Serialize;

pub use generalize::{Generalization, Rules};

use crate::policy::{Effect, POLICY_VERSION, PolicyDocument, Statement};

/// IAM's policy size limits, in characters without whitespace (`--size-limit`,
/// `policy.size_limit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeLimit {
    /// A customer managed policy: 6,144.
    #[default]
    Managed,
    /// A role's inline policies, together: 10,240.
    Inline,
}

impl SizeLimit {
    pub fn characters(self) -> usize {
        match self {
            Self::Managed => 6_144,
            Self::Inline => 10_240,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Managed => "managed",
            Self::Inline => "inline",
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
pub struct SynthConfig {
    pub rules: Rules,
    pub size_limit: SizeLimit,
    /// Add `aws:RequestedRegion` conditions naming the regions each action was used in
    /// (`--condition-requested-region`; off by default).
    pub region_condition: bool,
}

/// A workload's policy, how it was generalised, and how it fits IAM's size limit.
#[derive(Debug, Clone)]
pub struct Synthesis {
    /// None when nothing needs a grant (IAM rejects a policy without statements).
    pub policy: Option<PolicyDocument>,
    /// When the policy is still over the limit after generalising: parts that each fit.
    pub parts: Vec<PolicyDocument>,
    pub generalizations: Vec<Generalization>,
    pub size: PolicySize,
}

#[derive(Debug, Clone, Copy, Serialize)]
pub struct PolicySize {
    /// Characters of the policy without whitespace, as IAM counts them.
    pub characters: usize,
    pub limit: usize,
    pub limit_kind: &'static str,
}

/// Builds the policy from successful (action, resource, regions) usage.
pub fn synthesize<'a>(
    grants: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
    config: SynthConfig,
) -> Synthesis {
    let mut by_action = generalize::Grants::new();
    let mut regions: BTreeMap<String, u64> = BTreeMap::new();
    for (action, resource, in_regions) in grants {
        by_action
            .entry(action.to_owned())
            .or_default()
            .insert(resource.to_owned());
        *regions.entry(action.to_owned()).or_default() |= in_regions;
    }
    let regions = config.region_condition.then_some(&regions);
    let mut log = Vec::new();
    let mut by_action = generalize::apply(by_action, config.rules, &mut log);
    let limit = config.size_limit.characters();
    let mut policy = document(&by_action, regions);
    if policy.as_ref().is_some_and(|p| size(p) > limit) {
        by_action = generalize::objects_to_buckets(by_action, &mut log);
        policy = document(&by_action, regions);
    }
    let parts = match &policy {
        Some(p) if size(p) > limit => split(p, limit),
        _ => Vec::new(),
    };
    log.sort();
    log.dedup();
    Synthesis {
        size: PolicySize {
            characters: policy.as_ref().map_or(0, size),
            limit,
            limit_kind: config.size_limit.as_str(),
        },
        policy,
        parts,
        generalizations: log,
    }
}

/// The policy's size as IAM counts it: characters without whitespace.
pub fn size(policy: &PolicyDocument) -> usize {
    serde_json::to_string(policy)
        .unwrap_or_default()
        .chars()
        .filter(|c| !c.is_whitespace())
        .count()
}

/// Statements grouped by (service, resource set, regions when asked), ordered by Sid.
fn document(
    by_action: &generalize::Grants,
    regions: Option<&BTreeMap<String, u64>>,
) -> Option<PolicyDocument> {
    // (service, resource set, regions) → actions; regions 0 = no condition.
    type Group<'g> = (&'g str, Vec<&'g str>, u64);
    let mut groups: BTreeMap<Group<'_>, Vec<&str>> = BTreeMap::new();
    for (action, resources) in by_action {
        let service = action.split(':').next().unwrap_or(action);
        let resources: Vec<&str> = if resources.contains("*") {
            vec!["*"]
        } else {
            resources.iter().map(String::as_str).collect()
        };
        // A region condition only when every call's region is known.
        let mask = regions
            .and_then(|r| r.get(action))
            .copied()
            .filter(|m| *m != 0 && m & crate::policy::regions::OTHER == 0)
            .unwrap_or(0);
        groups
            .entry((service, resources, mask))
            .or_default()
            .push(action);
    }
    if groups.is_empty() {
        return None;
    }
    let mut per_service: BTreeMap<&str, usize> = BTreeMap::new();
    let statements = groups
        .into_iter()
        .map(|((service, resources, mask), actions)| {
            let n = per_service.entry(service).or_default();
            *n += 1;
            let sid = if *n == 1 {
                sid_for(service)
            } else {
                format!("{}{n}", sid_for(service))
            };
            let condition = (mask != 0).then(|| {
                let regions = crate::policy::regions::names(mask)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                BTreeMap::from([(
                    "StringEquals".to_owned(),
                    BTreeMap::from([("aws:RequestedRegion".to_owned(), regions)]),
                )])
            });
            Statement {
                actions: actions.into_iter().map(str::to_owned).collect(),
                condition,
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

/// Packs statements into documents under `limit`, in order; a statement too big on its own is
/// split by resources.
fn split(policy: &PolicyDocument, limit: usize) -> Vec<PolicyDocument> {
    let empty = PolicyDocument {
        statements: Vec::new(),
        version: POLICY_VERSION,
    };
    let mut pieces = Vec::new();
    for statement in &policy.statements {
        split_statement(statement.clone(), limit, &mut pieces);
    }
    let mut parts: Vec<PolicyDocument> = Vec::new();
    let mut current = empty.clone();
    for piece in pieces {
        current.statements.push(piece);
        if size(&current) > limit && current.statements.len() > 1 {
            let piece = current.statements.pop().unwrap_or_else(|| unreachable!());
            parts.push(std::mem::replace(&mut current, empty.clone()));
            current.statements.push(piece);
        }
    }
    if !current.statements.is_empty() {
        parts.push(current);
    }
    parts
}

fn split_statement(statement: Statement, limit: usize, out: &mut Vec<Statement>) {
    let alone = PolicyDocument {
        statements: vec![statement.clone()],
        version: POLICY_VERSION,
    };
    if size(&alone) <= limit || statement.resources.len() < 2 {
        out.push(statement);
        return;
    }
    let half = statement.resources.len() / 2;
    let (a, b) = statement.resources.split_at(half);
    for (i, resources) in [a, b].into_iter().enumerate() {
        split_statement(
            Statement {
                resources: resources.to_vec(),
                sid: format!("{}{}", statement.sid, char::from(b'A' + i as u8)),
                ..statement.clone()
            },
            limit,
            out,
        );
    }
}

/// `eks-auth` → `EksAuth`: IAM Sids are alphanumeric.
fn sid_for(service: &str) -> String {
    crate::policy::render::camel_identifier(service)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_by_service_and_resources() {
        let policy = synthesize(
            [
                ("s3:PutObject", "arn:aws:s3:::b/*", 0),
                ("s3:GetObject", "arn:aws:s3:::b/*", 0),
                ("s3:ListBucket", "arn:aws:s3:::b", 0),
                ("eks-auth:AssumeRoleForPodIdentity", "*", 0),
                ("s3:GetObject", "arn:aws:s3:::b/*", 0),
            ],
            SynthConfig::default(),
        )
        .policy
        .unwrap();
        let text = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            text,
            r#"{"Statement":[{"Action":["eks-auth:AssumeRoleForPodIdentity"],"Effect":"Allow","Resource":["*"],"Sid":"EksAuth"},{"Action":["s3:ListBucket"],"Effect":"Allow","Resource":["arn:aws:s3:::b"],"Sid":"S3"},{"Action":["s3:GetObject","s3:PutObject"],"Effect":"Allow","Resource":["arn:aws:s3:::b/*"],"Sid":"S32"}],"Version":"2012-10-17"}"#
        );
        assert!(synthesize([], SynthConfig::default()).policy.is_none());
    }

    #[test]
    fn oversized_policies_are_generalised_then_split() {
        let keys: Vec<String> = (0..400)
            .map(|i| format!("arn:aws:s3:::bucket-{i}/only/key-{i}.csv"))
            .collect();
        let grants = keys.iter().map(|k| ("s3:GetObject", k.as_str(), 0));
        let synthesis = synthesize(grants, SynthConfig::default());
        assert!(synthesis.size.characters > 6_144);
        assert!(synthesis.parts.len() > 1);
        for part in &synthesis.parts {
            assert!(size(part) <= 6_144);
        }
        assert!(
            synthesis
                .generalizations
                .iter()
                .any(|g| g.rule == "size-limit" && g.to == "arn:aws:s3:::bucket-0/*")
        );
    }

    use crate::policy::naive_allows as allows;

    fn arb_grant() -> impl proptest::strategy::Strategy<Value = (String, String)> {
        use proptest::prelude::*;
        let object = (0..3u8, 0..3u8, 0..6u8).prop_map(|(b, d, k)| {
            (
                ["s3:GetObject", "s3:PutObject"][usize::from(k % 2)].to_owned(),
                format!("arn:aws:s3:::bucket-{b}/dir-{d}/key-{k}.csv"),
            )
        });
        let table = (0..4u8).prop_map(|t| {
            (
                "dynamodb:GetItem".to_owned(),
                format!("arn:aws:dynamodb:eu-west-1:111122223333:table/t{t}"),
            )
        });
        let star = Just(("ec2:DescribeInstances".to_owned(), "*".to_owned()));
        let key = Just((
            "kms:Decrypt".to_owned(),
            "arn:aws:kms:eu-west-1:111122223333:key/*".to_owned(),
        ));
        prop_oneof![object, table, star, key]
    }

    proptest::proptest! {
        /// The policy allows every observed successful call, and every resource it grants is
        /// either observed or the result of a recorded generalisation.
        #[test]
        fn policy_allows_what_was_used_and_only_what_rules_justify(
            grants in proptest::collection::vec(arb_grant(), 0..60),
            max_objects in 1usize..5,
        ) {
            let config = SynthConfig { rules: Rules { max_objects }, ..SynthConfig::default() };
            let synthesis = synthesize(grants.iter().map(|(a, r)| (a.as_str(), r.as_str(), 0)), config);
            let Some(policy) = &synthesis.policy else {
                proptest::prop_assert!(grants.is_empty());
                return Ok(());
            };
            for (action, resource) in &grants {
                proptest::prop_assert!(allows(policy, action, resource), "{action} on {resource}");
            }
            for statement in &policy.statements {
                for action in &statement.actions {
                    proptest::prop_assert!(grants.iter().any(|(a, _)| a == action), "unused {action}");
                    for resource in &statement.resources {
                        let observed = grants.iter().any(|(a, r)| a == action && r == resource);
                        let generalised = synthesis
                            .generalizations
                            .iter()
                            .any(|g| g.action == *action && g.to == *resource);
                        proptest::prop_assert!(
                            observed || generalised,
                            "{action} on {resource} is neither used nor a recorded generalisation"
                        );
                        // Never wider than a bucket.
                        if resource.starts_with("arn:aws:s3:::") {
                            proptest::prop_assert!(resource.contains('/'));
                        }
                    }
                }
            }
        }
    }
}
