//! Synthesize: a workload's successful calls → a minimal IAM policy document.
//!
//! The observed resources go through the generalisation ladder, each application recorded:
//! 1. today's rules (`generalize`: S3 object prefixes, subsumption; at the size limit, objects to
//!    their bucket);
//! 2. name patterns within one account, region and resource type (`patterns`, `ladder`);
//! 3. the type's wildcard within its account and region, only when 2 cannot make it fit;
//! 4. only then parts, up to the number IAM lets a role attach; past that, the synthesis says the
//!    policy is not attachable (a finding).
//!
//! Actions of one service that apply to the same set of resources share a statement; statements
//! are ordered by `Sid`, which is derived from the service prefix, so output is stable. Failed
//! calls never reach this stage's input as grants.

pub mod generalize;
mod ladder;
mod patterns;

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

pub use generalize::{Generalization, Rules};
pub use ladder::{NAME_PATTERN, TYPE_WILDCARD};

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

/// IAM's default quota of managed policies attached to one role (it can be raised to 20).
pub const DEFAULT_MAX_MANAGED_POLICIES: usize = 10;

#[derive(Debug, Clone, Copy)]
pub struct SynthConfig {
    pub rules: Rules,
    pub size_limit: SizeLimit,
    /// Add `aws:RequestedRegion` conditions naming the regions each action was used in
    /// (`--condition-requested-region`; off by default).
    pub region_condition: bool,
    /// Add an `aws:SourceVpce` or `aws:SourceIp` condition when every call of the workload came
    /// through those endpoints or addresses (`--condition-network`; off by default).
    pub network_condition: bool,
    /// Managed policies a role may attach (`--max-managed-policies`).
    pub max_managed_policies: usize,
}

impl Default for SynthConfig {
    fn default() -> Self {
        Self {
            rules: Rules::default(),
            size_limit: SizeLimit::default(),
            region_condition: false,
            network_condition: false,
            max_managed_policies: DEFAULT_MAX_MANAGED_POLICIES,
        }
    }
}

/// A workload's policy, how it was generalised, and how it fits IAM's size limit.
#[derive(Debug, Clone)]
pub struct Synthesis {
    /// None when nothing needs a grant (IAM rejects a policy without statements).
    pub policy: Option<PolicyDocument>,
    /// When the policy is still over the limit after the ladder: parts that each fit.
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
    /// Documents to attach: 1, or the number of parts (0 without a policy).
    pub documents: usize,
    /// What IAM lets a role attach: `--max-managed-policies` managed policies, or 1 for inline
    /// policies (their 10,240 characters are a total).
    pub max_documents: usize,
    /// Whether the documents can all be attached to one role.
    pub attachable: bool,
}

/// Builds the policy from successful (action, resource, regions) usage.
/// A condition every statement carries unless one of its actions is exempt: the network
/// perimeter (`--condition-network`, [`crate::aggregate::network`]), kept off actions a request
/// implies (an AWS service may exercise them on the caller's behalf, from its own network).
#[derive(Debug, Clone, Copy)]
pub struct Perimeter<'a> {
    pub condition: &'a crate::aggregate::network::NetworkCondition,
    pub exempt: &'a BTreeSet<String>,
}

/// Actions some call implied (`implied_by`): kept out of the network perimeter.
pub fn implied_actions<'a>(
    calls: impl Iterator<Item = &'a crate::aggregate::CallKey>,
) -> BTreeSet<String> {
    calls
        .filter(|k| k.implied_by.is_some())
        .map(|k| k.action.to_string())
        .collect()
}

pub fn perimeter<'a>(
    condition: Option<&'a crate::aggregate::network::NetworkCondition>,
    exempt: &'a BTreeSet<String>,
) -> Option<Perimeter<'a>> {
    condition.map(|condition| Perimeter { condition, exempt })
}

pub fn synthesize<'a>(
    grants: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
    config: SynthConfig,
) -> Synthesis {
    synthesize_within(grants, config, None)
}

/// [`synthesize`], with every statement not exempt carrying `perimeter`'s condition.
pub fn synthesize_within<'a>(
    grants: impl IntoIterator<Item = (&'a str, &'a str, u64)>,
    config: SynthConfig,
    perimeter: Option<Perimeter<'_>>,
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
    let limit = config.size_limit.characters();
    let fits = |grants: &generalize::Grants| {
        document(grants, regions, perimeter).is_none_or(|p| size(&p) <= limit)
    };
    let mut log = Vec::new();
    let by_action = generalize::apply(by_action, config.rules, &mut log);
    let start = |grants: generalize::Grants| {
        let mut ladder = ladder::Ladder::new(grants);
        ladder.start(config.rules.generalize_over);
        ladder
    };
    // Rung 1 ends with today's size rule; rungs 2 and 3 climb only as far as the policy needs.
    let mut ladder = start(by_action.clone());
    if !fits(&ladder.grants()) {
        ladder = start(generalize::objects_to_buckets(by_action, &mut log));
    }
    for rule in [ladder::NAME_PATTERN, ladder::TYPE_WILDCARD] {
        while !fits(&ladder.grants()) && ladder.climb(rule) {}
    }
    ladder.applications(&mut log);
    let by_action: generalize::Grants = ladder
        .grants()
        .into_iter()
        .map(|(action, resources)| {
            let resources = generalize::drop_subsumed(&action, resources, &mut log);
            (action, resources)
        })
        .collect();
    let policy = document(&by_action, regions, perimeter);
    let parts = match &policy {
        Some(p) if size(p) > limit => split(p, limit),
        _ => Vec::new(),
    };
    let documents = match (&policy, parts.len()) {
        (None, _) => 0,
        (Some(_), 0) => 1,
        (Some(_), n) => n,
    };
    let max_documents = match config.size_limit {
        SizeLimit::Managed => config.max_managed_policies,
        SizeLimit::Inline => 1,
    };
    log.sort();
    log.dedup();
    Synthesis {
        size: PolicySize {
            characters: policy.as_ref().map_or(0, size),
            limit,
            limit_kind: config.size_limit.as_str(),
            documents,
            max_documents,
            attachable: documents <= max_documents,
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
    perimeter: Option<Perimeter<'_>>,
) -> Option<PolicyDocument> {
    // (service, resource set, regions, within the perimeter) → actions; regions 0 = no
    // condition.
    type Group<'g> = (&'g str, Vec<&'g str>, u64, bool);
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
        let within = perimeter.is_some_and(|p| !p.exempt.contains(action.as_str()));
        groups
            .entry((service, resources, mask, within))
            .or_default()
            .push(action);
    }
    if groups.is_empty() {
        return None;
    }
    let mut per_service: BTreeMap<&str, usize> = BTreeMap::new();
    let statements = groups
        .into_iter()
        .map(|((service, resources, mask, within), actions)| {
            let n = per_service.entry(service).or_default();
            *n += 1;
            let sid = if *n == 1 {
                sid_for(service)
            } else {
                format!("{}{n}", sid_for(service))
            };
            let mut condition: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
            if mask != 0 {
                let regions = crate::policy::regions::names(mask)
                    .into_iter()
                    .map(str::to_owned)
                    .collect();
                condition
                    .entry("StringEquals".to_owned())
                    .or_default()
                    .insert("aws:RequestedRegion".to_owned(), regions);
            }
            if let Some(perimeter) = perimeter.filter(|_| within) {
                let (operator, key, values) = perimeter.condition;
                condition
                    .entry((*operator).to_owned())
                    .or_default()
                    .insert((*key).to_owned(), values.clone());
            }
            let condition = (!condition.is_empty()).then_some(condition);
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
        // Bucket names that share no token: no name pattern, and S3 has no type wildcard.
        let keys: Vec<String> = (0..400)
            .map(|i| format!("arn:aws:s3:::{}/only/key-{i}.csv", letters(i)))
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
                .any(|g| g.rule == "size-limit" && g.to == format!("arn:aws:s3:::{}/*", letters(0)))
        );
        assert_eq!(synthesis.size.documents, synthesis.parts.len());
        assert!(synthesis.size.attachable);
        let one = SynthConfig {
            max_managed_policies: 1,
            ..SynthConfig::default()
        };
        let keys = keys.iter().map(|k| ("s3:GetObject", k.as_str(), 0));
        let synthesis = synthesize(keys, one);
        assert!(!synthesis.size.attachable);
        assert_eq!(synthesis.size.max_documents, 1);
    }

    /// `i` as a bucket name of letters only, distinct per `i`.
    fn letters(mut i: usize) -> String {
        let mut name = String::from("q");
        for _ in 0..8 {
            name.push(char::from(b'a' + (i % 26) as u8));
            i = i / 26 + 7;
        }
        name
    }

    #[test]
    fn many_tenants_fit_one_policy_with_name_patterns() {
        let mut grants: Vec<(&str, String)> = Vec::new();
        for t in 0..3000 {
            grants.push((
                "dynamodb:GetItem",
                format!("arn:aws:dynamodb:eu-west-1:111122223333:table/tenant-{t:05}-orders"),
            ));
        }
        for t in 0..400 {
            grants.push((
                "sqs:SendMessage",
                format!("arn:aws:sqs:eu-west-1:111122223333:tenant-{t:05}-jobs"),
            ));
        }
        let synthesis = synthesize(
            grants.iter().map(|(a, r)| (*a, r.as_str(), 0)),
            SynthConfig::default(),
        );
        let policy = synthesis.policy.unwrap();
        assert!(synthesis.parts.is_empty());
        let resources: Vec<&str> = policy
            .statements
            .iter()
            .flat_map(|s| s.resources.iter().map(String::as_str))
            .collect();
        assert_eq!(
            resources,
            [
                "arn:aws:dynamodb:eu-west-1:111122223333:table/tenant-*-orders",
                "arn:aws:sqs:eu-west-1:111122223333:tenant-*-jobs"
            ]
        );
        let rules: Vec<(&str, usize)> = synthesis
            .generalizations
            .iter()
            .map(|g| (g.rule, g.from_count))
            .collect();
        assert_eq!(rules, [(NAME_PATTERN, 3000), (NAME_PATTERN, 400)]);
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
        let tenant = (0..2u8, 0..40u8, 0..2u8).prop_map(|(account, t, kind)| {
            (
                "dynamodb:Query".to_owned(),
                format!(
                    "arn:aws:dynamodb:eu-west-1:{}:table/tenant-{t:03}-{}",
                    ["111122223333", "444455556666"][usize::from(account)],
                    ["orders", "invoices"][usize::from(kind)]
                ),
            )
        });
        let star = Just(("ec2:DescribeInstances".to_owned(), "*".to_owned()));
        let key = Just((
            "kms:Decrypt".to_owned(),
            "arn:aws:kms:eu-west-1:111122223333:key/*".to_owned(),
        ));
        prop_oneof![object, table, tenant.clone(), tenant, star, key]
    }

    proptest::proptest! {
        /// The policy allows every observed successful call, and every resource it grants is
        /// either observed or the result of a recorded generalisation.
        #[test]
        fn policy_allows_what_was_used_and_only_what_rules_justify(
            grants in proptest::collection::vec(arb_grant(), 0..60),
            max_objects in 1usize..5,
            generalize_over in 1usize..12,
        ) {
            let config = SynthConfig {
                rules: Rules { max_objects, generalize_over },
                ..SynthConfig::default()
            };
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
            // A recorded generalisation covers what it says, and never crosses an account,
            // region or resource type.
            for g in &synthesis.generalizations {
                for from in &g.from {
                    proptest::prop_assert!(
                        crate::policy::arn::wildcard_match(&g.to, from),
                        "{} does not cover {from}", g.to
                    );
                    if g.rule == NAME_PATTERN || g.rule == TYPE_WILDCARD {
                        let head = |arn: &str| arn.splitn(6, ':').take(5).collect::<Vec<_>>().join(":");
                        proptest::prop_assert_eq!(head(&g.to), head(from));
                        let kind = |arn: &str| arn.splitn(6, ':').nth(5).and_then(|r| r.split_once('/')).map(|(t, _)| t.to_owned());
                        if !from.starts_with("arn:aws:s3:::") {
                            proptest::prop_assert_eq!(kind(&g.to), kind(from));
                        }
                    }
                }
            }
        }
    }
}
