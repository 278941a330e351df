//! Defects in current policies a reviewer should fix: malformed ARNs, unknown actions, and
//! `Resource: "*"` on actions that support resource-level permissions.

use std::collections::BTreeSet;

use serde::Serialize;

use super::eval::{Effect, ParsedPolicy, Patterns, expand};
use crate::catalog::Catalog;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct LintFinding {
    pub policy: String,
    pub sid: String,
    /// `malformed-arn`, `unknown-action` or `resource-star`.
    pub kind: &'static str,
    pub detail: String,
}

/// An ARN has six `:`-separated parts (`arn:partition:service:region:account:resource`).
pub fn malformed_arn(resource: &str) -> bool {
    resource != "*" && (!resource.starts_with("arn:") || resource.splitn(6, ':').count() < 6)
}

/// Lints `policies`; `resource_star` also flags `Resource: "*"` on scopable actions (not for
/// permission boundaries, which are meant to be broad).
pub fn lint(policies: &[ParsedPolicy], catalog: &Catalog, resource_star: bool) -> Vec<LintFinding> {
    let mut out = Vec::new();
    for policy in policies {
        for s in &policy.statements {
            let finding = |kind, detail: String| LintFinding {
                policy: policy.name.clone(),
                sid: s.sid.clone(),
                kind,
                detail,
            };
            for resource in &s.resources.patterns {
                if malformed_arn(resource) {
                    out.push(finding(
                        "malformed-arn",
                        format!("{resource} is not arn:partition:service:region:account:resource"),
                    ));
                }
            }
            for pattern in &s.actions.patterns {
                let mut matched = BTreeSet::new();
                let one = Patterns {
                    negated: false,
                    patterns: vec![pattern.clone()],
                };
                expand(&one, catalog, &mut matched);
                if matched.is_empty() {
                    out.push(finding(
                        "unknown-action",
                        format!("{pattern} matches no action in the IAM catalog"),
                    ));
                }
            }
            let star = !s.resources.negated && s.resources.patterns == ["*"];
            if resource_star && s.effect == Effect::Allow && star && !s.actions.negated {
                let mut actions = BTreeSet::new();
                expand(&s.actions, catalog, &mut actions);
                let scopable: Vec<String> = actions
                    .into_iter()
                    .filter(|a| takes_resources(catalog, a))
                    .collect();
                if !scopable.is_empty() {
                    let shown: Vec<&str> = scopable.iter().take(5).map(String::as_str).collect();
                    let more = scopable.len().saturating_sub(shown.len());
                    out.push(finding(
                        "resource-star",
                        format!(
                            "Resource \"*\" on {} action(s) that support resource-level permissions: {}{}",
                            scopable.len(),
                            shown.join(", "),
                            if more > 0 { format!(" and {more} more") } else { String::new() }
                        ),
                    ));
                }
            }
        }
    }
    out.sort();
    out
}

fn takes_resources(catalog: &Catalog, action: &str) -> bool {
    action
        .split_once(':')
        .and_then(|(prefix, name)| catalog.services.get(prefix)?.actions.get(name))
        .is_some_and(|a| !a.resources.is_empty())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::diff::eval::parse_policy;

    #[test]
    fn finds_what_a_reviewer_should_fix() {
        let catalog = Catalog::embedded().unwrap();
        let policy = parse_policy(
            "p",
            &json!({"Statement": [
                {"Sid": "A", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3::bucket/*"},
                {"Sid": "B", "Effect": "Allow", "Action": ["s3:GetObjekt", "sqs:SendMessage"], "Resource": "*"},
                {"Sid": "C", "Effect": "Allow", "Action": "ec2:DescribeInstances", "Resource": "*"}
            ]}),
        )
        .unwrap();
        let findings = lint(&[policy], &catalog, true);
        let kinds: Vec<(&str, &str)> = findings.iter().map(|f| (f.sid.as_str(), f.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("A", "malformed-arn"),
                ("B", "resource-star"),
                ("B", "unknown-action")
            ]
        );
    }
}
