//! A policy evaluator good enough to answer "do the current policies allow this call?": explicit
//! Deny beats Allow, identity policies must allow, a permission boundary must also allow; Action
//! and NotAction, Resource and NotResource, IAM wildcards. Conditions are not evaluated: a
//! statement with a `Condition` that would decide the answer makes it `Conditional`, with the
//! condition keys named, never a guess.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::policy::string_list;

use crate::catalog::Catalog;
use crate::policy::arn::wildcard_match;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `Action` or `NotAction` (and the same for resources): patterns, and whether they are negated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patterns {
    pub negated: bool,
    pub patterns: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct ParsedStatement {
    pub sid: String,
    pub effect: Effect,
    pub actions: Patterns,
    pub resources: Patterns,
    /// Condition keys, when the statement has a `Condition`.
    pub condition_keys: Vec<String>,
    /// The `Condition` block as written.
    pub condition: Option<Value>,
}

/// A named policy (inline name, managed policy ARN, or file) and its statements.
#[derive(Debug, Clone)]
pub struct ParsedPolicy {
    pub name: String,
    pub statements: Vec<ParsedStatement>,
}

/// The outcome for one (action, resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Allowed by this policy and statement (and by the boundary, if any).
    Allowed { policy: String, sid: String },
    /// An unconditional Deny matches.
    ExplicitDeny { policy: String, sid: String },
    /// Only statements with conditions decide it; their keys.
    Conditional {
        policy: String,
        condition_keys: Vec<String>,
    },
    /// The events do not name the resource (the used resource is a pattern such as
    /// `…:key/*`) and the policy allows only some resources of that shape.
    ResourceNotNamed { policy: String, sid: String },
    /// The identity policies allow it, the permission boundary does not.
    BlockedByBoundary { boundary: String },
    /// Nothing allows it.
    NotGranted,
}

impl Decision {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Allowed { .. } => "allowed",
            Self::ExplicitDeny { .. } => "explicit-deny",
            Self::Conditional { .. } => "conditional",
            Self::ResourceNotNamed { .. } => "resource-not-named",
            Self::BlockedByBoundary { .. } => "blocked-by-boundary",
            Self::NotGranted => "not-granted",
        }
    }
}

/// Parses a policy document; an error names what is wrong.
pub fn parse_policy(name: &str, document: &Value) -> Result<ParsedPolicy, String> {
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => return Err(format!("{name}: no Statement")),
    };
    let mut out = Vec::new();
    for (i, statement) in statements.iter().enumerate() {
        let effect = match statement.get("Effect").and_then(Value::as_str) {
            Some("Allow") => Effect::Allow,
            Some("Deny") => Effect::Deny,
            other => return Err(format!("{name}: statement {i} has Effect {other:?}")),
        };
        let pick = |positive: &str, negative: &str| match (
            statement.get(positive),
            statement.get(negative),
        ) {
            (Some(v), None) => Ok(Patterns {
                negated: false,
                patterns: string_list(Some(v)),
            }),
            (None, Some(v)) => Ok(Patterns {
                negated: true,
                patterns: string_list(Some(v)),
            }),
            _ => Err(format!(
                "{name}: statement {i} needs exactly one of {positive} and {negative}"
            )),
        };
        let condition_keys = statement
            .get("Condition")
            .and_then(Value::as_object)
            .map(|ops| {
                ops.values()
                    .filter_map(Value::as_object)
                    .flat_map(|keys| keys.keys().cloned())
                    .collect::<BTreeSet<_>>()
                    .into_iter()
                    .collect()
            })
            .unwrap_or_default();
        out.push(ParsedStatement {
            sid: statement
                .get("Sid")
                .and_then(Value::as_str)
                .map_or_else(|| format!("#{i}"), str::to_owned),
            effect,
            actions: pick("Action", "NotAction")?,
            resources: pick("Resource", "NotResource")?,
            condition_keys,
            condition: statement.get("Condition").cloned(),
        });
    }
    Ok(ParsedPolicy {
        name: name.to_owned(),
        statements: out,
    })
}

pub fn action_matches(pattern: &str, action: &str) -> bool {
    wildcard_match(&pattern.to_ascii_lowercase(), &action.to_ascii_lowercase())
}

impl Patterns {
    fn matches_action(&self, action: &str) -> bool {
        self.patterns.iter().any(|p| action_matches(p, action)) != self.negated
    }

    fn matches_resource(&self, resource: &str) -> bool {
        // A used resource is an ARN or a generalised ARN pattern; a policy resource matches it
        // when its pattern covers it literally.
        self.patterns
            .iter()
            .any(|p| wildcard_match(p, resource) || p == resource)
            != self.negated
    }
}

impl ParsedStatement {
    pub fn matches(&self, action: &str, resource: &str) -> bool {
        self.actions.matches_action(action) && self.resources.matches_resource(resource)
    }
}

/// How a set of policies answers, before the boundary is applied.
fn answer<'p>(
    policies: impl Iterator<Item = &'p ParsedPolicy>,
    action: &str,
    resource: &str,
) -> Decision {
    let mut allowed = None;
    let mut conditional_allow = None;
    let mut conditional_deny = None;
    let mut overlap = None;
    for policy in policies {
        for s in policy.statements.iter().filter(|s| {
            s.effect == Effect::Allow
                && s.actions.matches_action(action)
                && !s.resources.matches_resource(resource)
                && overlaps(s, resource)
        }) {
            overlap.get_or_insert_with(|| Decision::ResourceNotNamed {
                policy: policy.name.clone(),
                sid: s.sid.clone(),
            });
        }
        for s in policy
            .statements
            .iter()
            .filter(|s| s.matches(action, resource))
        {
            let conditional = || Decision::Conditional {
                policy: policy.name.clone(),
                condition_keys: s.condition_keys.clone(),
            };
            match (&s.effect, s.condition_keys.is_empty()) {
                (Effect::Deny, true) => {
                    return Decision::ExplicitDeny {
                        policy: policy.name.clone(),
                        sid: s.sid.clone(),
                    };
                }
                (Effect::Deny, false) => {
                    conditional_deny.get_or_insert_with(conditional);
                }
                (Effect::Allow, true) => {
                    allowed.get_or_insert_with(|| Decision::Allowed {
                        policy: policy.name.clone(),
                        sid: s.sid.clone(),
                    });
                }
                (Effect::Allow, false) => {
                    conditional_allow.get_or_insert_with(conditional);
                }
            }
        }
    }
    match (allowed, conditional_allow) {
        // A conditional Deny could still stop an allowed call: undecided.
        (Some(allowed), _) => conditional_deny.unwrap_or(allowed),
        (None, Some(conditional)) => conditional,
        (None, None) => overlap.unwrap_or(Decision::NotGranted),
    }
}

/// A used resource with `*` in it (the events did not name the resource) covers some of the
/// statement's resources: the call may or may not have been on one of them.
fn overlaps(s: &ParsedStatement, resource: &str) -> bool {
    resource.contains('*')
        && !s.resources.negated
        && s.resources
            .patterns
            .iter()
            .any(|p| wildcard_match(resource, p))
}

/// Evaluates one call against identity policies and an optional permission boundary.
pub fn evaluate(
    identity: &[ParsedPolicy],
    boundary: Option<&ParsedPolicy>,
    action: &str,
    resource: &str,
) -> Decision {
    let decision = answer(identity.iter().chain(boundary), action, resource);
    if matches!(decision, Decision::ExplicitDeny { .. }) {
        return decision;
    }
    let identity_only = answer(identity.iter(), action, resource);
    let Some(boundary) = boundary else {
        return identity_only;
    };
    match (
        &identity_only,
        answer(std::iter::once(boundary), action, resource),
    ) {
        (Decision::NotGranted, _) => Decision::NotGranted,
        (_, Decision::NotGranted) => Decision::BlockedByBoundary {
            boundary: boundary.name.clone(),
        },
        (Decision::Allowed { .. }, c @ Decision::Conditional { .. }) => c,
        _ => identity_only,
    }
}

/// Every catalog action a set of Allow statements grants (conditions ignored: a conditional
/// grant is still a grant to review), minus unconditional Deny of all resources.
pub fn granted_actions(policies: &[ParsedPolicy], catalog: &Catalog) -> BTreeSet<String> {
    let mut granted = BTreeSet::new();
    let mut denied = BTreeSet::new();
    for policy in policies {
        for s in &policy.statements {
            let all_resources =
                !s.resources.negated && s.resources.patterns.iter().any(|r| r == "*");
            let into = match s.effect {
                Effect::Allow => &mut granted,
                Effect::Deny if all_resources && s.condition_keys.is_empty() => &mut denied,
                Effect::Deny => continue,
            };
            expand(&s.actions, catalog, into);
        }
    }
    granted.retain(|a| !denied.contains(a));
    granted
}

/// The catalog actions `patterns` cover.
pub fn expand(patterns: &Patterns, catalog: &Catalog, into: &mut BTreeSet<String>) {
    for (prefix, service) in &catalog.services {
        // Skip services no pattern can reach (unless negated: NotAction reaches everything else).
        if !patterns.negated
            && !patterns.patterns.iter().any(|p| {
                let service_part = p.split(':').next().unwrap_or(p);
                wildcard_match(&service_part.to_ascii_lowercase(), prefix)
            })
        {
            continue;
        }
        for name in service.actions.keys() {
            let action = format!("{prefix}:{name}");
            if patterns.matches_action(&action) {
                into.insert(action);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(name: &str, statements: Value) -> ParsedPolicy {
        parse_policy(
            name,
            &json!({"Version": "2012-10-17", "Statement": statements}),
        )
        .unwrap()
    }

    const OBJECT: &str = "arn:aws:s3:::b/k.csv";

    #[test]
    fn deny_beats_allow_and_not_action_excludes() {
        let identity = [
            policy(
                "p1",
                json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
            ),
            policy(
                "p2",
                json!([{"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:Delete*", "Resource": "arn:aws:s3:::b/*"}]),
            ),
        ];
        assert_eq!(
            evaluate(&identity, None, "s3:GetObject", OBJECT),
            Decision::Allowed {
                policy: "p1".into(),
                sid: "#0".into()
            }
        );
        assert_eq!(
            evaluate(&identity, None, "s3:DeleteObject", OBJECT),
            Decision::ExplicitDeny {
                policy: "p2".into(),
                sid: "NoDelete".into()
            }
        );
        let not_action = [policy(
            "p",
            json!([{"Effect": "Allow", "NotAction": ["iam:*", "s3:Put*"], "Resource": "*"}]),
        )];
        assert_eq!(
            evaluate(&not_action, None, "s3:PutObject", OBJECT),
            Decision::NotGranted
        );
        assert!(matches!(
            evaluate(&not_action, None, "s3:GetObject", OBJECT),
            Decision::Allowed { .. }
        ));
        let not_resource = [policy(
            "p",
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::secret/*"}]),
        )];
        assert_eq!(
            evaluate(&not_resource, None, "s3:GetObject", "arn:aws:s3:::secret/x"),
            Decision::NotGranted
        );
    }

    #[test]
    fn boundaries_and_conditions() {
        let identity = [policy(
            "p",
            json!([{"Effect": "Allow", "Action": ["sqs:*", "s3:GetObject"], "Resource": "*"}]),
        )];
        let boundary = policy(
            "b",
            json!([{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]),
        );
        assert_eq!(
            evaluate(
                &identity,
                Some(&boundary),
                "sqs:SendMessage",
                "arn:aws:sqs:us-east-1:1:q"
            ),
            Decision::BlockedByBoundary {
                boundary: "b".into()
            }
        );
        assert!(matches!(
            evaluate(&identity, Some(&boundary), "s3:GetObject", OBJECT),
            Decision::Allowed { .. }
        ));
        let conditional = [policy(
            "c",
            json!([{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
                "Condition": {"StringEquals": {"aws:PrincipalTag/team": "payments"}}}]),
        )];
        let key = [policy(
            "k",
            json!([{"Sid": "OneKey", "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:us-east-1:1:key/abc"}]),
        )];
        assert_eq!(
            evaluate(&key, None, "kms:Decrypt", "arn:aws:kms:us-east-1:1:key/*"),
            Decision::ResourceNotNamed {
                policy: "k".into(),
                sid: "OneKey".into()
            }
        );
        assert_eq!(
            evaluate(&conditional, None, "s3:GetObject", OBJECT),
            Decision::Conditional {
                policy: "c".into(),
                condition_keys: vec!["aws:PrincipalTag/team".into()]
            }
        );
    }

    #[test]
    fn wildcard_actions_expand_through_the_catalog() {
        let catalog = Catalog::embedded().unwrap();
        let p = [policy(
            "p",
            json!([
            {"Effect": "Allow", "Action": ["sqs:Get*", "dynamodb:GetItem"], "Resource": "*"},
            {"Effect": "Deny", "Action": "sqs:GetQueueUrl", "Resource": "*"}]),
        )];
        let granted = granted_actions(&p, &catalog);
        assert!(granted.contains("sqs:GetQueueAttributes"));
        assert!(granted.contains("dynamodb:GetItem"));
        assert!(!granted.contains("sqs:GetQueueUrl"));
        assert!(!granted.contains("sqs:SendMessage"));
    }
}
