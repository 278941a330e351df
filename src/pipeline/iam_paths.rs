//! IAM names to their paths. An event names a role, user, group or instance profile by name
//! (`roleName`), so the map stage grants the name at the root (`role/app`) and under any path
//! (`role/*/app`, `iam-name-any-path`). When an IAM snapshot holds the entity, its real ARN
//! (`role/service-role/app`) replaces both, and the row is as precise as any other.

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use crate::aggregate::{CallKey, Usage, Workload};

const KINDS: [&str; 4] = ["role/", "user/", "group/", "instance-profile/"];

/// `arn:P:iam::A:kind/` and the name of an IAM name ARN (at the root or `*/` under any path).
fn name_of(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:")?;
    let colon = rest.find(":iam::")?;
    let after = &rest[colon + 6..];
    let account_end = after.find(':')?;
    let resource = &after[account_end + 1..];
    let kind = KINDS.iter().find(|k| resource.starts_with(**k))?;
    let head_len = 4 + colon + 6 + account_end + 1 + kind.len();
    let name = &resource[kind.len()..];
    let name = name.strip_prefix("*/").unwrap_or(name);
    (!name.is_empty() && !name.contains(['/', '*', '?'])).then(|| (&arn[..head_len], name))
}

/// Rewrites, in every workload's calls, the IAM names a snapshot knows to their real ARNs
/// (merging the root and any-path rows). Returns how many rows it rewrote.
pub fn resolve(workloads: &mut [(impl Sized, Workload)], known: &BTreeSet<String>) -> usize {
    if known.is_empty() {
        return 0;
    }
    // (`arn:P:iam::A:kind/`, name) → the entity's ARN with its path.
    let mut by_name: HashMap<(&str, &str), &str> = HashMap::new();
    for arn in known {
        if let Some(at) = arn.rfind('/')
            && let Some(kind_at) = KINDS
                .iter()
                .filter_map(|k| arn.find(&format!(":{k}")).map(|i| i + 1 + k.len()))
                .next()
        {
            by_name.insert((&arn[..kind_at], &arn[at + 1..]), arn.as_str());
        }
    }
    let mut rewritten = 0;
    // A call that names `app` has two rows, `role/app` and `role/*/app`, of the same calls.
    // When the entity is at the root, `role/app` is its ARN and the any-path row goes; when it
    // has a path, the root row goes (no entity of that name is at the root) and the any-path
    // row becomes the real ARN, merged with any row of calls that named it by ARN.
    let mut fix = |calls: &mut foldhash::HashMap<CallKey, Usage>| {
        let named: Vec<(CallKey, &str, bool)> = calls
            .keys()
            .filter_map(|k| {
                let key = name_of(&k.resource)?;
                let real = *by_name.get(&key)?;
                (real != &*k.resource).then(|| (k.clone(), real, k.resource.contains("/*/")))
            })
            .collect();
        for (key, real, any_path) in named {
            let Some(usage) = calls.remove(&key) else {
                continue;
            };
            rewritten += 1;
            let at_root = name_of(real).is_some();
            if at_root || !any_path {
                // The any-path twin of a root entity, or the root twin of one with a path.
                continue;
            }
            let new = CallKey {
                resource: Arc::from(real),
                ..key
            };
            calls
                .entry(new)
                .and_modify(|u| u.merge(&usage))
                .or_insert(usage);
        }
    };
    for (_, workload) in workloads.iter_mut() {
        fix(&mut workload.calls);
        fix(&mut workload.roleless);
        for calls in workload.calls_by_role.values_mut() {
            fix(calls);
        }
    }
    rewritten
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_paths() {
        assert_eq!(
            name_of("arn:aws:iam::111122223333:role/*/app"),
            Some(("arn:aws:iam::111122223333:role/", "app"))
        );
        assert_eq!(
            name_of("arn:aws-cn:iam::111122223333:instance-profile/web"),
            Some(("arn:aws-cn:iam::111122223333:instance-profile/", "web"))
        );
        assert_eq!(
            name_of("arn:aws:iam::111122223333:role/service-role/app"),
            None
        );
        assert_eq!(name_of("arn:aws:iam::111122223333:policy/p"), None);
        assert_eq!(name_of("arn:aws:s3:::role/x"), None);
    }
}
