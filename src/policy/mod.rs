//! The IAM policy document model and its canonical serialization.
//!
//! Keys are written in sorted order and lists are sorted and de-duplicated, so the same content is
//! always the same bytes (determinism is a standing rule: evidence packs hash these files).

pub mod arn;
pub mod regions;
pub mod render;

use serde::Serialize;
use serde_json::Value;

pub const POLICY_VERSION: &str = "2012-10-17";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PolicyDocument {
    #[serde(rename = "Statement")]
    pub statements: Vec<Statement>,
    #[serde(rename = "Version")]
    pub version: &'static str,
}

/// `Condition`: operator → key → values.
pub type Conditions =
    std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<String>>>;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Statement {
    #[serde(rename = "Action")]
    pub actions: Vec<String>,
    #[serde(rename = "Condition", skip_serializing_if = "Option::is_none")]
    pub condition: Option<Conditions>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    #[serde(rename = "Resource")]
    pub resources: Vec<String>,
    #[serde(rename = "Sid")]
    pub sid: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Effect {
    Allow,
    Deny,
}

impl Effect {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::Deny => "Deny",
        }
    }
}

impl PolicyDocument {
    /// Pretty JSON with a trailing newline, as written to policy files.
    pub fn to_pretty_json(&self) -> String {
        let mut text = serde_json::to_string_pretty(self).unwrap_or_default();
        text.push('\n');
        text
    }
}

/// A policy field that holds one string or a list of them (`Action`, `Resource`, condition
/// values, principals), as a list; anything else as empty.
pub fn string_list(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// A naive IAM evaluator over Allow statements, the reference model of the property tests: is
/// (action, resource) allowed?
#[cfg(test)]
pub(crate) fn naive_allows(policy: &PolicyDocument, action: &str, resource: &str) -> bool {
    use arn::wildcard_match;
    policy.statements.iter().any(|s| {
        s.actions
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), &action.to_ascii_lowercase()))
            && s.resources.iter().any(|r| wildcard_match(r, resource))
    })
}
