//! Rungs 2 and 3 of the generalisation ladder (see `ladder`): the observed names of one resource
//! type, in one account and region, as name patterns; and, only when those cannot make a policy
//! fit, the type's wildcard.
//!
//! An ARN is read as `prefix` + `name`: the prefix is everything up to the resource type
//! (`arn:aws:dynamodb:eu-west-1:111122223333:table/`), the name the rest (`tenant-00042-orders`).
//! A name is a sequence of tokens between separators (`/ : - _ .`); its *shape* is the sequence of
//! separators. Level k of rung 2 replaces, within each shape, the k tokens that vary most with `*`
//! and merges the names that then agree (`tenant-*-orders`); a token that does not vary within a
//! merged group stays literal. The last level is one pattern per type, from the common prefix and
//! suffix of all names cut at separators (`tenant-*`). A pattern always covers at least two names
//! and keeps at least one literal token, so it never becomes the type's wildcard by another name.
//! An S3 object pattern keeps a literal token in its bucket name: bucket names are global, and a
//! pattern over any bucket would reach every account's objects.

use std::collections::{BTreeMap, BTreeSet};

/// Where an ARN's name starts, and what the type's wildcard would be.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct TypeKey {
    /// `arn:aws:dynamodb:eu-west-1:111122223333:table/`; `arn:aws:s3:::` for buckets and objects.
    pub prefix: String,
    /// S3 objects (`bucket/key`) are a type apart from buckets.
    pub s3_objects: bool,
}

impl TypeKey {
    /// Rung 3: the type's wildcard in its account and region. None for S3, whose ARNs name no
    /// account: `arn:aws:s3:::*` would be every bucket of every account.
    pub fn wildcard(&self) -> Option<String> {
        if self.prefix.ends_with(":s3:::") {
            return None;
        }
        Some(format!("{}*", self.prefix))
    }
}

/// `arn` as (type, name); None when the ARN has no name to generalise (`*`, `key/*`).
pub fn split(arn: &str) -> Option<(TypeKey, &str)> {
    if !arn.starts_with("arn:") {
        return None;
    }
    let mut at = 0;
    for _ in 0..5 {
        at += arn[at..].find(':')? + 1;
    }
    let (head, resource) = arn.split_at(at);
    let service = head.split(':').nth(2)?;
    let (type_len, s3_objects) = if service == "s3" {
        (0, resource.contains('/'))
    } else {
        match resource.find(['/', ':']) {
            Some(i) if i > 0 => (i + 1, false),
            _ => (0, false),
        }
    };
    let name = &resource[type_len..];
    if name.is_empty() || name == "*" || name.starts_with('*') {
        return None;
    }
    Some((
        TypeKey {
            prefix: arn[..at + type_len].to_owned(),
            s3_objects,
        },
        name,
    ))
}

fn is_separator(c: char) -> bool {
    matches!(c, '/' | ':' | '-' | '_' | '.')
}

/// One rung-2 level: the names it leaves and the patterns it makes (pattern → names covered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Level {
    pub names: BTreeSet<String>,
    pub patterns: BTreeMap<String, Vec<String>>,
}

/// The successive rung-2 levels for `names`, tightest first; each has fewer names than the one
/// before. Empty when no two names share a pattern. `bucket_anchored`: names are S3 objects
/// (`bucket/key`), whose bucket part must keep a literal token.
pub fn levels(names: &BTreeSet<String>, bucket_anchored: bool) -> Vec<Level> {
    let mut out: Vec<Level> = Vec::new();
    let mut shapes: BTreeMap<String, Vec<Vec<&str>>> = BTreeMap::new();
    for name in names {
        let seps: String = name.chars().filter(|c| is_separator(*c)).collect();
        shapes
            .entry(seps)
            .or_default()
            .push(name.split(is_separator).collect());
    }
    // Per shape: token positions by how many values they take, most first.
    let orders: BTreeMap<&str, Vec<usize>> = shapes
        .iter()
        .map(|(seps, members)| {
            let width = members[0].len();
            let mut positions: Vec<(usize, usize)> = (0..width)
                .map(|p| {
                    let values: BTreeSet<&str> = members.iter().map(|m| m[p]).collect();
                    (values.len(), p)
                })
                .filter(|(n, _)| *n > 1)
                .collect();
            positions.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
            (
                seps.as_str(),
                positions.into_iter().map(|(_, p)| p).collect(),
            )
        })
        .collect();
    let deepest = orders.values().map(Vec::len).max().unwrap_or(0);
    for k in 1..=deepest {
        let mut level = Level {
            names: BTreeSet::new(),
            patterns: BTreeMap::new(),
        };
        for (seps, members) in &shapes {
            let order = &orders[seps.as_str()];
            let wild: BTreeSet<usize> = order.iter().take(k).copied().collect();
            let mut groups: BTreeMap<Vec<&str>, Vec<&Vec<&str>>> = BTreeMap::new();
            for member in members {
                let key = member
                    .iter()
                    .enumerate()
                    .map(|(p, t)| if wild.contains(&p) { "" } else { *t })
                    .collect();
                groups.entry(key).or_default().push(member);
            }
            for group in groups.into_values() {
                let pattern = (group.len() > 1)
                    .then(|| pattern_of(&group, seps, bucket_anchored))
                    .flatten();
                let covered = group.iter().map(|m| join(m, seps));
                match pattern {
                    Some(pattern) => {
                        level.names.insert(pattern.clone());
                        level.patterns.entry(pattern).or_default().extend(covered);
                    }
                    None => level.names.extend(covered),
                }
            }
        }
        push_if_smaller(&mut out, level, names.len());
    }
    if let Some(level) = common_affixes(names, bucket_anchored) {
        push_if_smaller(&mut out, level, names.len());
    }
    out
}

fn push_if_smaller(out: &mut Vec<Level>, level: Level, observed: usize) {
    let before = out.last().map_or(observed, |l| l.names.len());
    if level.names.len() < before {
        out.push(level);
    }
}

/// The group's tokens, `*` where they differ; None without a literal token to anchor it (in the
/// bucket part, with `bucket_anchored`).
fn pattern_of(group: &[&Vec<&str>], seps: &str, bucket_anchored: bool) -> Option<String> {
    let first = group[0];
    let tokens: Vec<&str> = (0..first.len())
        .map(|p| {
            if group.iter().all(|m| m[p] == first[p]) {
                first[p]
            } else {
                "*"
            }
        })
        .collect();
    // With `bucket_anchored`, only the tokens before the first `/` count.
    let anchoring = match seps.find('/') {
        Some(slash) if bucket_anchored => &tokens[..=seps[..slash].chars().count()],
        _ => &tokens[..],
    };
    let anchored = anchoring
        .iter()
        .any(|t| *t != "*" && t.chars().any(|c| c.is_ascii_alphanumeric()));
    anchored.then(|| join(&tokens, seps))
}

fn join(tokens: &[&str], seps: &str) -> String {
    let mut out = String::new();
    let mut seps = seps.chars();
    for (i, token) in tokens.iter().enumerate() {
        if i > 0 {
            out.extend(seps.next());
        }
        out.push_str(token);
    }
    out
}

/// One pattern per depth (names with the same number of `/` and `:`, so a table never merges
/// with its indexes): the names' common prefix and suffix, cut at separators.
fn common_affixes(names: &BTreeSet<String>, bucket_anchored: bool) -> Option<Level> {
    let mut by_depth: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    for name in names {
        let depth = name.matches(['/', ':']).count();
        by_depth.entry(depth).or_default().insert(name.clone());
    }
    let mut level = Level {
        names: BTreeSet::new(),
        patterns: BTreeMap::new(),
    };
    for class in by_depth.into_values() {
        match affix_pattern(&class, bucket_anchored) {
            Some(pattern) => {
                level.names.insert(pattern.clone());
                level.patterns.entry(pattern).or_default().extend(class);
            }
            None => level.names.extend(class),
        }
    }
    (!level.patterns.is_empty()).then_some(level)
}

fn affix_pattern(names: &BTreeSet<String>, bucket_anchored: bool) -> Option<String> {
    if names.len() < 2 {
        return None;
    }
    let first = names.first()?;
    let shortest = names.iter().map(String::len).min()?;
    let common = |a: &mut dyn Iterator<Item = (&u8, &u8)>| a.take_while(|(x, y)| x == y).count();
    let prefix = names.iter().fold(first.len(), |n, name| {
        n.min(common(&mut first.as_bytes().iter().zip(name.as_bytes())))
    });
    let suffix = names.iter().fold(first.len(), |n, name| {
        n.min(common(
            &mut first
                .as_bytes()
                .iter()
                .rev()
                .zip(name.as_bytes().iter().rev()),
        ))
    });
    // Cut the prefix after its last separator and the suffix at its first one.
    let head = &first[..prefix];
    let head = head.rfind(is_separator).map_or("", |i| &head[..=i]);
    let tail = &first[first.len() - suffix..];
    let mut tail = tail.find(is_separator).map_or("", |i| &tail[i..]);
    if head.len() + tail.len() > shortest {
        tail = "";
    }
    let anchored = |s: &str| s.chars().any(|c| c.is_ascii_alphanumeric());
    if bucket_anchored {
        // An object pattern: a literal in the bucket part, and a `/` so it names objects only.
        let bucket = head.split('/').next().unwrap_or_default();
        if !anchored(bucket) {
            return None;
        }
        if !head.contains('/') && !tail.contains('/') {
            return Some(format!("{head}*/*"));
        }
    } else if !anchored(head) && !anchored(tail) {
        return None;
    }
    Some(format!("{head}*{tail}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(names: &[&str]) -> BTreeSet<String> {
        names.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn arns_split_at_their_resource_type() {
        let (key, name) =
            split("arn:aws:dynamodb:eu-west-1:111122223333:table/tenant-00042-orders").unwrap();
        assert_eq!(key.prefix, "arn:aws:dynamodb:eu-west-1:111122223333:table/");
        assert_eq!(name, "tenant-00042-orders");
        assert_eq!(
            key.wildcard().unwrap(),
            "arn:aws:dynamodb:eu-west-1:111122223333:table/*"
        );
        let (key, name) = split("arn:aws:sqs:eu-west-1:111122223333:tenant-7-jobs").unwrap();
        assert_eq!(
            (key.prefix.as_str(), name),
            ("arn:aws:sqs:eu-west-1:111122223333:", "tenant-7-jobs")
        );
        let (key, name) = split(
            "arn:aws-cn:secretsmanager:cn-north-1:111122223333:secret:tenants/acme/db-??????",
        )
        .unwrap();
        assert_eq!(name, "tenants/acme/db-??????");
        assert!(key.prefix.ends_with(":secret:"));
        let (key, name) = split("arn:aws:s3:::tenant-1-data/*").unwrap();
        assert!(key.s3_objects && key.wildcard().is_none());
        assert_eq!(name, "tenant-1-data/*");
        assert!(split("arn:aws:kms:eu-west-1:111122223333:key/*").is_none());
        assert!(split("*").is_none());
    }

    #[test]
    fn names_become_the_tightest_patterns_first() {
        let mut names: Vec<String> = (0..40)
            .flat_map(|i| {
                [
                    format!("tenant-{i:05}-orders"),
                    format!("tenant-{i:05}-invoices"),
                ]
            })
            .collect();
        names.push("audit".to_owned());
        let names: BTreeSet<String> = names.into_iter().collect();
        let levels = levels(&names, false);
        assert_eq!(
            levels[0].names,
            set(&["audit", "tenant-*-invoices", "tenant-*-orders"])
        );
        assert_eq!(levels[0].patterns["tenant-*-orders"].len(), 40);
        // Then both tenant positions; "audit" is never merged into a pattern of its own.
        assert_eq!(levels[1].names, set(&["audit", "tenant-*-*"]));
        assert!(levels.iter().all(|l| l.names.contains("audit")));
    }

    #[test]
    fn different_shapes_meet_at_their_common_prefix_and_suffix() {
        let names = set(&[
            "tenants/acme/db-??????",
            "tenants/acme-corp/db-??????",
            "tenants/globex/db-??????",
        ]);
        let levels = levels(&names, false);
        assert_eq!(
            levels[0].names,
            set(&["tenants/*/db-??????", "tenants/acme-corp/db-??????"])
        );
        assert_eq!(levels.last().unwrap().names, set(&["tenants/*/db-??????"]));
    }

    #[test]
    fn unrelated_names_make_no_pattern() {
        assert!(levels(&set(&["alpha", "bravo", "charlie"]), false).is_empty());
        assert!(levels(&set(&["only-one"]), false).is_empty());
        // A pattern needs a literal token: `*-*` is not one.
        assert!(levels(&set(&["a1-b1", "a2-b2"]), false).is_empty());
    }

    #[test]
    fn object_patterns_keep_a_literal_bucket() {
        let objects = set(&["qwhxk/only/key-1.csv", "zpfra/only/key-2.csv"]);
        assert!(levels(&objects, true).is_empty());
        let objects = set(&["tenant-1-data/*", "tenant-2-data/*"]);
        assert_eq!(levels(&objects, true)[0].names, set(&["tenant-*-data/*"]));
        // Different shapes meet in the bucket part, and still name objects only.
        let objects = set(&["bucket-0/dir-0/key-1.csv", "bucket-2/dir-0/*"]);
        assert_eq!(levels(&objects, true)[0].names, set(&["bucket-*/*"]));
    }
}
