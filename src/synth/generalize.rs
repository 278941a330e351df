//! Generalisation: the documented rules by which observed resources become the resources of a
//! policy. Each application is recorded so a reviewer sees what was widened and why.
//!
//! 1. `resource-not-named-in-event`: the events did not name the resource (e.g. a KMS call without
//!    its key); the ARN keeps the account, region and type and has `*` for the rest. Recorded
//!    only; made by the map stage.
//!    `create-on-type`: the same for a type the call creates with an identifier AWS assigns
//!    (`ec2:CreateSubnet` on `…:subnet/*`): no event can name it before the call, so the grant
//!    stays on the type. Recorded only; the types come from the operations index.
//!    `iam-name-any-path`: an IAM role, user or instance profile named without its path
//!    (`roleName`) is also granted under any path (`role/*/name`). Recorded only; made by the
//!    map stage.
//! 2. `secret-random-suffix`: a Secrets Manager ARN's random 6-character suffix is `-??????`, so the
//!    grant survives rotation-free re-creation of the secret's ARN. Recorded only.
//! 3. `s3-object-prefix`: more than `max_objects` distinct object keys of one action in one bucket
//!    become one `dir/*` per parent folder with several keys; if that is still more than
//!    `max_objects`, one `common-prefix/*` for the bucket. Never wider than `bucket/*`.
//! 4. `subsumed`: a resource matched by a wildcard resource of the same action is dropped.
//! 5. `size-limit`: when the policy is over the size limit, every action's objects in a bucket
//!    become `bucket/*`; if it is still over, the policy is split into parts (see `mod.rs`).

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::policy::arn::wildcard_match;

/// Tunable thresholds (`--max-objects`, `--generalize-over`).
#[derive(Debug, Clone, Copy)]
pub struct Rules {
    /// Distinct object keys of one action in one bucket kept as they are.
    pub max_objects: usize,
    /// Resources of one type used by the same actions kept as they are even when the policy
    /// fits; more start the name-pattern rung (see `ladder`).
    pub generalize_over: usize,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            max_objects: 3,
            generalize_over: 10,
        }
    }
}

/// One application of a rule.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Generalization {
    pub rule: &'static str,
    pub action: String,
    /// The observed resources (up to 10 listed; `from_count` has the total).
    pub from: Vec<String>,
    pub from_count: usize,
    pub to: String,
}

/// Resources per action, after the rules; the applications are appended to `log`.
pub type Grants = BTreeMap<String, BTreeSet<String>>;

pub fn apply(grants: Grants, rules: Rules, log: &mut Vec<Generalization>) -> Grants {
    let mut out = Grants::new();
    for (action, resources) in grants {
        for resource in &resources {
            if resource == "*" {
                continue;
            }
            if resource.ends_with("-??????") && resource.contains(":secretsmanager:") {
                log.push(record(
                    "secret-random-suffix",
                    &action,
                    [resource],
                    resource,
                ));
            } else if resource.contains(":iam::")
                && resource.contains("/*/")
                && !resource.ends_with('*')
            {
                log.push(record("iam-name-any-path", &action, [resource], resource));
            } else if resource.contains('*')
                && crate::catalog::operations::Operations::embedded().creates(&action, resource)
            {
                log.push(record("create-on-type", &action, [resource], resource));
            } else if resource.contains('*') {
                log.push(record(
                    "resource-not-named-in-event",
                    &action,
                    [resource],
                    resource,
                ));
            }
        }
        let resources = created_on_type(&action, resources, log);
        let resources = s3_object_prefixes(&action, resources, rules.max_objects, log);
        let resources = drop_subsumed(&action, resources, log);
        out.insert(action, resources);
    }
    out
}

/// `create-on-type` for the resources a create named in its response (`subnet/subnet-0abc` of
/// `ec2:CreateSubnet`): the grant is the type's wildcard, since the next call creates another.
fn created_on_type(
    action: &str,
    resources: BTreeSet<String>,
    log: &mut Vec<Generalization>,
) -> BTreeSet<String> {
    let index = crate::catalog::operations::Operations::embedded();
    let mut by_type: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for resource in resources {
        match index.created_wildcard(action, &resource) {
            Some(wildcard) => by_type.entry(wildcard).or_default().push(resource),
            None => {
                out.insert(resource);
            }
        }
    }
    for (wildcard, created) in by_type {
        log.push(record("create-on-type", action, created.iter(), &wildcard));
        out.insert(wildcard);
    }
    out
}

/// Rule 5: every object of a bucket becomes `bucket/*`.
pub fn objects_to_buckets(grants: Grants, log: &mut Vec<Generalization>) -> Grants {
    let mut out = Grants::new();
    for (action, resources) in grants {
        let mut by_bucket: BTreeMap<String, Vec<String>> = BTreeMap::new();
        let mut kept = BTreeSet::new();
        for resource in resources {
            match split_object(&resource) {
                Some((bucket, _)) => by_bucket
                    .entry(bucket.to_owned())
                    .or_default()
                    .push(resource),
                None => {
                    kept.insert(resource);
                }
            }
        }
        for (bucket, objects) in by_bucket {
            let to = format!("{bucket}/*");
            if objects.len() > 1 || objects[0] != to {
                log.push(record("size-limit", &action, objects.iter(), &to));
            }
            kept.insert(to);
        }
        out.insert(action, kept);
    }
    out
}

fn s3_object_prefixes(
    action: &str,
    resources: BTreeSet<String>,
    max_objects: usize,
    log: &mut Vec<Generalization>,
) -> BTreeSet<String> {
    let mut by_bucket: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut out = BTreeSet::new();
    for resource in resources {
        match split_object(&resource) {
            Some((bucket, _)) if !resource.contains('*') => by_bucket
                .entry(bucket.to_owned())
                .or_default()
                .push(resource),
            _ => {
                out.insert(resource);
            }
        }
    }
    for (bucket, objects) in by_bucket {
        if objects.len() <= max_objects {
            out.extend(objects);
            continue;
        }
        // One `dir/*` per parent folder holding several keys; single keys stay.
        let mut by_dir: BTreeMap<&str, Vec<&String>> = BTreeMap::new();
        for object in &objects {
            let dir = object.rsplit_once('/').map_or(object.as_str(), |(d, _)| d);
            by_dir.entry(dir).or_default().push(object);
        }
        let mut result: Vec<(String, Vec<&String>)> = by_dir
            .into_iter()
            .flat_map(|(dir, keys)| {
                if keys.len() > 1 {
                    vec![(format!("{dir}/*"), keys)]
                } else {
                    keys.into_iter().map(|k| (k.clone(), vec![k])).collect()
                }
            })
            .collect();
        if result.len() > max_objects {
            let common = common_folder(&objects, &bucket);
            result = vec![(format!("{common}/*"), objects.iter().collect())];
        }
        for (to, from) in result {
            if from.len() > 1 || *from[0] != to {
                log.push(record("s3-object-prefix", action, from, &to));
            }
            out.insert(to);
        }
    }
    out
}

/// The deepest folder all `objects` share, never above `bucket`.
fn common_folder(objects: &[String], bucket: &str) -> String {
    let first = &objects[0];
    let mut len = first.len();
    for other in &objects[1..] {
        len = len.min(
            first
                .bytes()
                .zip(other.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let prefix = &first[..len];
    match prefix.rfind('/') {
        Some(cut) if cut >= bucket.len() => prefix[..cut].to_owned(),
        _ => bucket.to_owned(),
    }
}

pub(super) fn drop_subsumed(
    action: &str,
    resources: BTreeSet<String>,
    log: &mut Vec<Generalization>,
) -> BTreeSet<String> {
    let wildcards: Vec<String> = resources
        .iter()
        .filter(|r| r.contains(['*', '?']))
        .cloned()
        .collect();
    resources
        .into_iter()
        .filter(
            |r| match wildcards.iter().find(|w| *w != r && wildcard_match(w, r)) {
                Some(wider) => {
                    log.push(record("subsumed", action, [r], wider));
                    false
                }
                None => true,
            },
        )
        .collect()
}

/// `arn:aws:s3:::bucket/key` → (`arn:aws:s3:::bucket`, `key`).
fn split_object(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.split_once(":s3:::")?.1;
    let (bucket, key) = rest.split_once('/')?;
    let bucket_arn = &arn[..arn.len() - rest.len() + bucket.len()];
    Some((bucket_arn, key))
}

pub(super) fn record<'a>(
    rule: &'static str,
    action: &str,
    from: impl IntoIterator<Item = &'a String>,
    to: &str,
) -> Generalization {
    let from: Vec<&String> = from.into_iter().collect();
    Generalization {
        rule,
        action: action.to_owned(),
        from_count: from.len(),
        from: from.iter().take(10).map(|s| (*s).clone()).collect(),
        to: to.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(pairs: &[(&str, &str)]) -> Grants {
        let mut g = Grants::new();
        for (a, r) in pairs {
            g.entry((*a).to_owned())
                .or_default()
                .insert((*r).to_owned());
        }
        g
    }

    #[test]
    fn object_keys_generalise_to_their_folders_never_past_the_bucket() {
        let mut log = Vec::new();
        let keys: Vec<String> = (0..5)
            .map(|i| format!("arn:aws:s3:::b/invoices/2026/11/{i}.pdf"))
            .chain(["arn:aws:s3:::b/receipts/r-1.json".to_owned()])
            .collect();
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| ("s3:GetObject", k.as_str())).collect();
        let out = apply(grants(&pairs), Rules::default(), &mut log);
        assert_eq!(
            out["s3:GetObject"].iter().collect::<Vec<_>>(),
            [
                "arn:aws:s3:::b/invoices/2026/11/*",
                "arn:aws:s3:::b/receipts/r-1.json"
            ]
        );
        assert_eq!(log.len(), 1);
        assert_eq!(log[0].rule, "s3-object-prefix");
        assert_eq!(log[0].from_count, 5);

        // Keys in many folders: one prefix for the bucket, never wider.
        let mut log = Vec::new();
        let keys: Vec<String> = (0..5).map(|i| format!("arn:aws:s3:::b/d{i}/k")).collect();
        let pairs: Vec<(&str, &str)> = keys.iter().map(|k| ("s3:PutObject", k.as_str())).collect();
        let out = apply(grants(&pairs), Rules::default(), &mut log);
        assert_eq!(
            out["s3:PutObject"].iter().collect::<Vec<_>>(),
            ["arn:aws:s3:::b/*"]
        );
    }

    #[test]
    fn wildcards_subsume_and_are_recorded() {
        let mut log = Vec::new();
        let out = apply(
            grants(&[
                ("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/*"),
                ("kms:Decrypt", "arn:aws:kms:us-east-1:1:key/abc"),
            ]),
            Rules::default(),
            &mut log,
        );
        assert_eq!(out["kms:Decrypt"].len(), 1);
        let rules: Vec<&str> = log.iter().map(|g| g.rule).collect();
        assert_eq!(rules, ["resource-not-named-in-event", "subsumed"]);
    }
}
