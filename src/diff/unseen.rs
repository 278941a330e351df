//! Grants the trail could not have shown used (`crate::observe`): found per (action, resource)
//! of the current policies, and carried into the proposed policy with their resources and
//! conditions, in statements whose Sid starts with `NotObservable`, so applying a proposal never
//! removes what the trail cannot see.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::eval::{self, Effect as PolicyEffect, ParsedPolicy};
use crate::catalog::Catalog;
use crate::policy::{Conditions, Effect, PolicyDocument, Statement};

/// One granted (action, resource) a call using which the trail would not have recorded.
#[derive(Debug, Clone)]
pub struct Unseen {
    pub action: String,
    pub resource: String,
    /// The granting statement's `Condition`, kept with it.
    pub condition: Option<Value>,
    pub reason: String,
}

/// Every (action, resource) the Allow statements of `identity` grant (within `effective`, what
/// the boundary lets through) that `check` says the trail could not have shown used (with the
/// reason).
pub fn grants(
    identity: &[ParsedPolicy],
    effective: &BTreeSet<String>,
    catalog: &Catalog,
    check: &dyn Fn(&str, &str) -> Result<(), String>,
) -> Vec<Unseen> {
    let mut out = Vec::new();
    let mut seen = BTreeSet::new();
    for policy in identity {
        for s in &policy.statements {
            if s.effect != PolicyEffect::Allow {
                continue;
            }
            let mut actions = BTreeSet::new();
            eval::expand(&s.actions, catalog, &mut actions);
            let resources: Vec<String> = if s.resources.negated {
                vec!["*".to_owned()]
            } else {
                s.resources.patterns.clone()
            };
            for action in actions.iter().filter(|a| effective.contains(*a)) {
                for resource in &resources {
                    let condition = s.condition.clone();
                    let key = (
                        action.clone(),
                        resource.clone(),
                        condition.as_ref().map(Value::to_string),
                    );
                    if seen.contains(&key) {
                        continue;
                    }
                    if let Err(reason) = check(action, resource) {
                        seen.insert(key);
                        out.push(Unseen {
                            action: action.clone(),
                            resource: resource.clone(),
                            condition,
                            reason,
                        });
                    }
                }
            }
        }
    }
    out
}

/// Adds the unseen grants to `policy` (creating it when nothing was used): per condition and
/// resource set, one `NotObservable…` statement of the actions granted on exactly those
/// resources, so no action gains a resource it did not have.
pub fn keep(policy: &mut Option<PolicyDocument>, unseen: &[Unseen]) {
    if unseen.is_empty() {
        return;
    }
    // condition → action → resources
    let mut by_condition: BTreeMap<Option<String>, BTreeMap<&str, BTreeSet<&str>>> =
        BTreeMap::new();
    let mut conditions: BTreeMap<Option<String>, Option<Conditions>> = BTreeMap::new();
    for u in unseen {
        let key = u.condition.as_ref().map(Value::to_string);
        conditions
            .entry(key.clone())
            .or_insert_with(|| u.condition.as_ref().map(to_conditions));
        by_condition
            .entry(key)
            .or_default()
            .entry(&u.action)
            .or_default()
            .insert(&u.resource);
    }
    let document = policy.get_or_insert_with(|| PolicyDocument {
        statements: Vec::new(),
        version: crate::policy::POLICY_VERSION,
    });
    let mut n = 0;
    for (key, actions) in by_condition {
        // Actions with the same resources share a statement.
        let mut groups: BTreeMap<Vec<&str>, Vec<&str>> = BTreeMap::new();
        for (action, resources) in actions {
            groups
                .entry(resources.into_iter().collect())
                .or_default()
                .push(action);
        }
        for (resources, actions) in groups {
            n += 1;
            document.statements.push(Statement {
                actions: actions.into_iter().map(str::to_owned).collect(),
                condition: conditions.get(&key).cloned().flatten(),
                effect: Effect::Allow,
                resources: resources.into_iter().map(str::to_owned).collect(),
                sid: format!("NotObservable{n}"),
            });
        }
    }
}

/// A policy `Condition` as the model holds it: operator → key → values (scalars as strings).
fn to_conditions(condition: &Value) -> Conditions {
    let text = |v: &Value| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    condition
        .as_object()
        .into_iter()
        .flatten()
        .map(|(op, keys)| {
            let keys = keys
                .as_object()
                .into_iter()
                .flatten()
                .map(|(key, values)| {
                    let values = match values {
                        Value::Array(items) => items.iter().map(text).collect(),
                        one => vec![text(one)],
                    };
                    (key.clone(), values)
                })
                .collect();
            (op.clone(), keys)
        })
        .collect()
}
