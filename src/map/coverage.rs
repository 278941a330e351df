//! Mapping coverage: every operation of every API in the operations index, resolved the way an
//! event of that name would be, counted per IAM service prefix by the rule that resolved it
//! (`iamtrim catalog coverage`, docs/MAPPING.md).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Mapping, Rule, resolve_operation};
use crate::catalog::Catalog;
use crate::catalog::operations::Operations;

/// One IAM service prefix's operations, by rule.
#[derive(Debug, Default, Serialize)]
pub struct ServiceCoverage {
    pub operations: usize,
    /// Of `operations`, those the API model marks deprecated.
    pub deprecated: usize,
    /// Rule name → operations it resolved.
    pub rules: BTreeMap<&'static str, usize>,
    /// Operations with at least one implied-permission rule (a role to pass, a KMS key ...).
    pub with_implied: usize,
    pub unmapped: Vec<String>,
    /// Of `unmapped`, the deprecated ones.
    pub unmapped_deprecated: usize,
    /// How the resources of its operations are named (#21).
    pub resources: ResourceCoverage,
}

/// (operation, resource type) pairs of the actions named like their operations, by how a
/// request names the resource: every variable from derived members, by a hand-written override
/// ([`super::resources::OVERRIDES`]), a type the operation creates (`create-on-type`), or
/// none (left at the type's wildcard, recorded as `resource-not-named-in-event`).
#[derive(Debug, Default, Serialize, Clone, Copy)]
pub struct ResourceCoverage {
    pub pairs: usize,
    pub derived: usize,
    #[serde(rename = "override")]
    pub overridden: usize,
    pub create_on_type: usize,
    pub none: usize,
}

impl ResourceCoverage {
    fn add(&mut self, other: &Self) {
        self.pairs += other.pairs;
        self.derived += other.derived;
        self.overridden += other.overridden;
        self.create_on_type += other.create_on_type;
        self.none += other.none;
    }
}

/// Counts the resource pairs of `operation` of `api` into `into`.
fn count_resources(
    catalog: &Catalog,
    prefix: &str,
    api: &crate::catalog::operations::Api,
    operation: &str,
    into: &mut ResourceCoverage,
) {
    let Some(service) = catalog.services.get(prefix) else {
        return;
    };
    let Some(action) = service.actions.get(operation) else {
        return;
    };
    let derived = &api.resource_members;
    let created = api.creates.get(operation);
    for (kind, _) in &action.resources {
        let Some(format) = service.resource_types.get(kind) else {
            continue;
        };
        let template = crate::policy::arn::ArnTemplate::parse(format);
        let own: Vec<&str> = template
            .variables()
            .filter(|v| !["Partition", "Region", "Account"].contains(v))
            .collect();
        let overridden = |v: &&str| super::resources::OVERRIDES.iter().any(|(o, _)| o == v);
        let from_model = |v: &&str| derived.key(operation, kind, v).is_some();
        into.pairs += 1;
        if own.iter().any(overridden) && own.iter().all(|v| overridden(v) || from_model(v)) {
            into.overridden += 1;
        } else if own.iter().all(from_model) {
            into.derived += 1;
        } else if created.is_some_and(|c| c.contains(kind)) {
            into.create_on_type += 1;
        } else {
            into.none += 1;
        }
    }
}

/// Every prefix's coverage, the APIs without an IAM prefix, and the totals.
#[derive(Debug, Serialize)]
pub struct Coverage {
    pub operations_index: String,
    pub catalog: String,
    pub services: BTreeMap<String, ServiceCoverage>,
    /// APIs whose IAM prefix the catalog does not have (their operations are not counted).
    pub apis_without_prefix: Vec<String>,
    pub totals: Totals,
}

#[derive(Debug, Default, Serialize)]
pub struct Totals {
    pub operations: usize,
    pub rules: BTreeMap<&'static str, usize>,
    /// Resolved to catalog actions or to "needs no permission".
    pub resolved: usize,
    pub unmapped: usize,
    pub with_implied: usize,
    pub resources: ResourceCoverage,
    /// `resolved / operations`, in percent (two decimals, rounded down).
    pub resolved_percent: f64,
    /// Operations the API models mark deprecated (CloudHSM Classic's, retired APIs).
    pub deprecated: usize,
    /// The same share over the operations that are not deprecated.
    pub current_resolved_percent: f64,
}

pub fn coverage(catalog: &Catalog) -> Coverage {
    let index = Operations::embedded();
    let mut services: BTreeMap<String, ServiceCoverage> = BTreeMap::new();
    let mut apis_without_prefix = Vec::new();
    for api in &index.apis {
        let Some(prefix) = api.prefix.as_deref() else {
            apis_without_prefix.push(api.service.clone());
            continue;
        };
        let entry = services.entry(prefix.to_owned()).or_default();
        for operation in &api.operations {
            let (mapping, rule) = resolve_operation(catalog, prefix, Some(api), operation);
            count_resources(catalog, prefix, api, operation, &mut entry.resources);
            let deprecated = api.deprecated.contains(operation);
            entry.operations += 1;
            entry.deprecated += usize::from(deprecated);
            *entry.rules.entry(rule.name()).or_default() += 1;
            match mapping {
                Mapping::Unmapped => {
                    entry.unmapped.push(format!("{}:{operation}", api.service));
                    entry.unmapped_deprecated += usize::from(deprecated);
                }
                Mapping::Actions(_, _, implied) if !implied.is_empty() => entry.with_implied += 1,
                _ => {}
            }
        }
    }
    let mut totals = Totals::default();
    let mut unmapped_deprecated = 0;
    for service in services.values() {
        totals.operations += service.operations;
        totals.deprecated += service.deprecated;
        unmapped_deprecated += service.unmapped_deprecated;
        totals.unmapped += service.unmapped.len();
        totals.with_implied += service.with_implied;
        totals.resources.add(&service.resources);
        for (rule, count) in &service.rules {
            *totals.rules.entry(rule).or_default() += count;
        }
    }
    totals.resolved = totals.operations - totals.unmapped;
    // Two decimals, rounded down, so the JSON is the same bytes on every machine.
    let percent = |part: usize, whole: usize| {
        if whole == 0 {
            0.0
        } else {
            (10_000.0 * part as f64 / whole as f64).floor() / 100.0
        }
    };
    totals.resolved_percent = percent(totals.resolved, totals.operations);
    totals.current_resolved_percent = percent(
        totals.resolved - (totals.deprecated - unmapped_deprecated).min(totals.resolved),
        totals.operations - totals.deprecated,
    );
    Coverage {
        operations_index: index.source.clone(),
        catalog: format!("{} ({})", catalog.version, catalog.origin),
        services,
        apis_without_prefix,
        totals,
    }
}

/// The coverage as text: a line per prefix, then the totals; `unmapped` lists every operation
/// left unmapped by name.
pub fn text(coverage: &Coverage, unmapped: bool) -> String {
    use std::fmt::Write;
    let rules: Vec<&'static str> = [
        Rule::AuthorizedActions,
        Rule::SameName,
        Rule::ApiGatewayVerb,
        Rule::Unsigned,
    ]
    .iter()
    .map(|r| r.name())
    .chain(
        super::documented_rules()
            .iter()
            .map(|r| r.class)
            .collect::<std::collections::BTreeSet<_>>(),
    )
    .collect();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "Mapping coverage: {} operations of {} IAM services\n  operations index: {}\n  catalog: {}\n",
        coverage.totals.operations,
        coverage.services.len(),
        coverage.operations_index,
        coverage.catalog
    );
    let _ = writeln!(
        out,
        "{:<36} {:>6} {:>9} {:>8}  resolved by",
        "service", "ops", "unmapped", "implied"
    );
    for (prefix, s) in &coverage.services {
        let by: Vec<String> = s
            .rules
            .iter()
            .filter(|(rule, _)| **rule != "unmapped")
            .map(|(rule, n)| format!("{rule} {n}"))
            .collect();
        let _ = writeln!(
            out,
            "{prefix:<36} {:>6} {:>9} {:>8}  {}",
            s.operations,
            s.unmapped.len(),
            s.with_implied,
            by.join(", ")
        );
        if unmapped {
            for name in &s.unmapped {
                let _ = writeln!(out, "    unmapped: {name}");
            }
        }
    }
    let t = &coverage.totals;
    let _ = writeln!(out, "\nTotals:");
    for rule in rules {
        let _ = writeln!(
            out,
            "  {rule:<22} {:>6}",
            t.rules.get(rule).copied().unwrap_or(0)
        );
    }
    let _ = writeln!(out, "  {:<22} {:>6}", "unmapped", t.unmapped);
    let _ = writeln!(
        out,
        "  resolved {} of {} operations ({:.2}%); of the {} not deprecated, {:.2}%",
        t.resolved,
        t.operations,
        t.resolved_percent,
        t.operations - t.deprecated,
        t.current_resolved_percent
    );
    let _ = writeln!(
        out,
        "  {} operations with implied-permission rules (a role to pass, a KMS key, a copy source ...)",
        t.with_implied
    );
    let r = &t.resources;
    let _ = writeln!(
        out,
        "  resources of {} (operation, resource type) pairs: {} from members derived from the API \
         models, {} by hand-written overrides, {} created (create-on-type), {} not named ({:.2}% named or created)",
        r.pairs,
        r.derived,
        r.overridden,
        r.create_on_type,
        r.none,
        (10_000.0 * (r.pairs - r.none) as f64 / r.pairs.max(1) as f64).floor() / 100.0
    );
    if !coverage.apis_without_prefix.is_empty() {
        let _ = writeln!(
            out,
            "  APIs whose IAM prefix the catalog lacks (not counted): {}",
            coverage.apis_without_prefix.join(", ")
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The floors of docs/MAPPING.md: a catalog or index refresh that breaks them fails here.
    #[test]
    fn at_least_99_percent_of_current_operations_resolve() {
        let catalog = Catalog::embedded().unwrap();
        let coverage = coverage(&catalog);
        let t = &coverage.totals;
        assert!(t.operations > 18_000, "{}", t.operations);
        assert!(t.resolved_percent >= 98.9, "{}", t.resolved_percent);
        // #21: the resources of most (operation, resource type) pairs are named by a member
        // (derived or overridden) or created.
        let r = &t.resources;
        assert!(
            (r.pairs - r.none) * 100 >= r.pairs * 58,
            "{r:?}: fewer than 58% of the resource pairs are named"
        );
        assert!(
            t.current_resolved_percent >= 99.0,
            "{} of {} resolve ({}%); unmapped:\n{}",
            t.resolved,
            t.operations,
            t.resolved_percent,
            coverage
                .services
                .values()
                .flat_map(|s| s.unmapped.iter().cloned())
                .collect::<Vec<_>>()
                .join("\n")
        );
    }

    /// docs/MAPPING.md quotes the totals; a data refresh that changes them must update it.
    #[test]
    fn the_mapping_document_quotes_todays_totals() {
        let coverage = coverage(&Catalog::embedded().unwrap());
        let t = &coverage.totals;
        let thousands = |n: usize| {
            let digits = n.to_string();
            let mut out = String::new();
            for (i, c) in digits.chars().enumerate() {
                if i > 0 && (digits.len() - i).is_multiple_of(3) {
                    out.push(',');
                }
                out.push(c);
            }
            out
        };
        let line = format!(
            "**resolved** | **{} of {} ({:.2}%); of the {} not deprecated, {:.2}%**",
            thousands(t.resolved),
            thousands(t.operations),
            t.resolved_percent,
            thousands(t.operations - t.deprecated),
            t.current_resolved_percent
        );
        let doc = include_str!("../../docs/MAPPING.md");
        assert!(doc.contains(&line), "docs/MAPPING.md should say: {line}");
        let r = &t.resources;
        let line = format!(
            "| {} | {} | {} | {} | {} |",
            thousands(r.pairs),
            thousands(r.derived),
            thousands(r.overridden),
            thousands(r.create_on_type),
            thousands(r.none)
        );
        assert!(doc.contains(&line), "docs/MAPPING.md should say: {line}");
        let rule = |name: &str| t.rules.get(name).copied().unwrap_or(0);
        let documented: usize = t
            .rules
            .iter()
            .filter(|(r, _)| {
                ![
                    "same-name",
                    "apigateway-verb",
                    "unsigned",
                    "authorized-actions",
                    "unmapped",
                ]
                .contains(r)
            })
            .map(|(_, n)| n)
            .sum();
        for (name, count) in [
            ("same-name", rule("same-name")),
            ("apigateway-verb", rule("apigateway-verb")),
            ("documented rules", documented),
            ("unsigned", rule("unsigned")),
            ("unmapped", t.unmapped),
        ] {
            let row = format!("| {name} | {} |", thousands(count));
            assert!(doc.contains(&row), "docs/MAPPING.md should have: {row}");
        }
    }
}
