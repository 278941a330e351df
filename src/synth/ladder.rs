//! The generalisation ladder past today's rules: rung 2 (name patterns, `patterns`) and rung 3
//! (the type's wildcard), climbed one unit at a time, the step that saves most first, only as far
//! as the policy needs to fit. A unit is one resource type in one account and region with the
//! names it was used on, shared by the actions used on exactly those names (so they keep sharing
//! a statement). `--generalize-over N` starts rung 2 for a unit of more than N names even when
//! the policy fits.

use std::collections::{BTreeMap, BTreeSet};

use super::generalize::{Generalization, Grants, record};
use super::patterns::{self, Level, TypeKey};

/// Rule names, as recorded in `generalizations[].rule`.
pub const NAME_PATTERN: &str = "name-pattern";
pub const TYPE_WILDCARD: &str = "resource-type-wildcard";

struct Unit {
    key: TypeKey,
    actions: Vec<String>,
    names: BTreeSet<String>,
    /// Rung-2 levels, then rung 3 when the type has a wildcard.
    steps: Vec<Step>,
    /// 0: the observed names; i: `steps[i - 1]`.
    at: usize,
}

struct Step {
    rule: &'static str,
    level: Level,
}

impl Unit {
    fn names_at(&self, at: usize) -> &BTreeSet<String> {
        match at {
            0 => &self.names,
            i => &self.steps[i - 1].level.names,
        }
    }

    /// Characters the unit's resources take in the policy, roughly: `"<arn>",` per resource.
    fn cost_at(&self, at: usize) -> usize {
        self.names_at(at)
            .iter()
            .map(|n| self.key.prefix.len() + n.len() + 3)
            .sum::<usize>()
            * self.actions.len()
    }

    fn next(&self) -> Option<(&'static str, usize)> {
        let step = self.steps.get(self.at)?;
        let saving = self
            .cost_at(self.at)
            .saturating_sub(self.cost_at(self.at + 1));
        Some((step.rule, saving))
    }
}

/// The grants split into units (what the ladder may generalise) and the rest.
pub struct Ladder {
    rest: Grants,
    units: Vec<Unit>,
}

impl Ladder {
    pub fn new(grants: Grants) -> Self {
        let mut rest = Grants::new();
        // (type, names) → actions
        let mut by_names: BTreeMap<(TypeKey, BTreeSet<String>), Vec<String>> = BTreeMap::new();
        for (action, resources) in grants {
            let mut typed: BTreeMap<TypeKey, BTreeSet<String>> = BTreeMap::new();
            let mut others = BTreeSet::new();
            for resource in resources {
                match patterns::split(&resource) {
                    Some((key, name)) => {
                        let name = name.to_owned();
                        typed.entry(key).or_default().insert(name);
                    }
                    None => {
                        others.insert(resource);
                    }
                }
            }
            for (key, names) in typed {
                by_names
                    .entry((key, names))
                    .or_default()
                    .push(action.clone());
            }
            rest.insert(action, others);
        }
        let units = by_names
            .into_iter()
            .map(|((key, names), actions)| {
                let mut steps: Vec<Step> = patterns::levels(&names, key.s3_objects)
                    .into_iter()
                    .map(|level| Step {
                        rule: NAME_PATTERN,
                        level,
                    })
                    .collect();
                if key.wildcard().is_some() && names.len() > 1 {
                    steps.push(Step {
                        rule: TYPE_WILDCARD,
                        level: Level {
                            names: BTreeSet::from(["*".to_owned()]),
                            patterns: BTreeMap::from([(
                                "*".to_owned(),
                                names.iter().cloned().collect(),
                            )]),
                        },
                    });
                }
                Unit {
                    key,
                    actions,
                    names,
                    steps,
                    at: 0,
                }
            })
            .collect();
        Self { rest, units }
    }

    /// Rung 2's first level for every unit of more than `over` names.
    pub fn start(&mut self, over: usize) {
        for unit in &mut self.units {
            if unit.names.len() > over && unit.next().is_some_and(|(r, _)| r == NAME_PATTERN) {
                unit.at = 1;
            }
        }
    }

    /// Climbs one step of `rule` (the one that saves most); false when no such step saves
    /// anything.
    pub fn climb(&mut self, rule: &'static str) -> bool {
        let best = self
            .units
            .iter_mut()
            .filter_map(|u| {
                let (r, saving) = u.next()?;
                (r == rule && saving > 0).then_some((saving, u))
            })
            .max_by_key(|(saving, _)| *saving);
        match best {
            Some((_, unit)) => {
                unit.at += 1;
                true
            }
            None => false,
        }
    }

    /// The grants as the ladder stands, and its applications.
    pub fn grants(&self) -> Grants {
        let mut out = self.rest.clone();
        for unit in &self.units {
            for action in &unit.actions {
                let resources = out.entry(action.clone()).or_default();
                for name in unit.names_at(unit.at) {
                    resources.insert(format!("{}{name}", unit.key.prefix));
                }
            }
        }
        out
    }

    /// What the climbed steps did, one record per action and pattern.
    pub fn applications(&self, log: &mut Vec<Generalization>) {
        for unit in &self.units {
            let Some(step) = unit.at.checked_sub(1).map(|i| &unit.steps[i]) else {
                continue;
            };
            for (pattern, covered) in &step.level.patterns {
                let to = format!("{}{pattern}", unit.key.prefix);
                let from: Vec<String> = covered
                    .iter()
                    .map(|n| format!("{}{n}", unit.key.prefix))
                    .collect();
                for action in &unit.actions {
                    log.push(record(step.rule, action, from.iter(), &to));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grants(action: &str, resources: impl IntoIterator<Item = String>) -> Grants {
        Grants::from([(action.to_owned(), resources.into_iter().collect())])
    }

    #[test]
    fn climbs_rung_two_before_rung_three_and_records_each() {
        let tables = (0..50)
            .map(|i| format!("arn:aws:dynamodb:eu-west-1:111122223333:table/tenant-{i:05}-orders"));
        let mut ladder = Ladder::new(grants("dynamodb:GetItem", tables));
        assert_eq!(ladder.grants()["dynamodb:GetItem"].len(), 50);
        assert!(ladder.climb(NAME_PATTERN));
        assert_eq!(
            ladder.grants()["dynamodb:GetItem"]
                .iter()
                .collect::<Vec<_>>(),
            ["arn:aws:dynamodb:eu-west-1:111122223333:table/tenant-*-orders"]
        );
        assert!(!ladder.climb(NAME_PATTERN));
        let mut log = Vec::new();
        ladder.applications(&mut log);
        assert_eq!(log.len(), 1);
        assert_eq!((log[0].rule, log[0].from_count), (NAME_PATTERN, 50));
        // Rung 3 comes only when asked for (the policy still does not fit).
        assert!(ladder.climb(TYPE_WILDCARD));
        assert_eq!(
            ladder.grants()["dynamodb:GetItem"]
                .iter()
                .collect::<Vec<_>>(),
            ["arn:aws:dynamodb:eu-west-1:111122223333:table/*"]
        );
        assert!(!ladder.climb(TYPE_WILDCARD));
    }

    #[test]
    fn rung_three_is_the_types_wildcard_in_its_account_and_region() {
        let queues = ["alpha", "bravo", "charlie"]
            .map(|q| format!("arn:aws-us-gov:sqs:us-gov-west-1:111122223333:{q}"));
        let mut ladder = Ladder::new(grants("sqs:SendMessage", queues));
        assert!(!ladder.climb(NAME_PATTERN));
        assert!(ladder.climb(TYPE_WILDCARD));
        assert_eq!(
            ladder.grants()["sqs:SendMessage"]
                .iter()
                .collect::<Vec<_>>(),
            ["arn:aws-us-gov:sqs:us-gov-west-1:111122223333:*"]
        );
        let mut log = Vec::new();
        ladder.applications(&mut log);
        assert_eq!((log[0].rule, log[0].from_count), (TYPE_WILDCARD, 3));
    }
}
