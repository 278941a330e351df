//! The text view: one block per workload, for an engineer reading a terminal.

use std::fmt::Write as _;

use super::Recommendation;

pub fn render(r: &Recommendation) -> String {
    let mut out = String::new();
    let window = format!(
        "{} .. {}",
        r.window.start.as_deref().unwrap_or("(open)"),
        r.window.end.as_deref().unwrap_or("(open)")
    );
    let _ = writeln!(out, "iamtrim recommendation for {window}");
    if r.workloads.is_empty() {
        let _ = writeln!(out, "\nNo workload activity matched.");
    }
    for w in &r.workloads {
        let _ = writeln!(
            out,
            "\n== {} ({}{})",
            w.id,
            w.kind,
            w.account
                .as_deref()
                .map(|a| format!(", account {a}"))
                .unwrap_or_default()
        );
        for role in &w.roles {
            let _ = writeln!(out, "   role: {role}");
        }
        let evidence: Vec<String> = w
            .evidence
            .iter()
            .map(|(kind, t)| {
                if t.sessions > 0 {
                    format!("{kind} ({} sessions, {} events)", t.sessions, t.events)
                } else {
                    format!("{kind} ({} events)", t.events)
                }
            })
            .collect();
        if !evidence.is_empty() {
            let _ = writeln!(out, "   attributed by: {}", evidence.join(", "));
        }
        for finding in &w.findings {
            let subjects = if finding.subjects.is_empty() || finding.kind == "shared-role" {
                String::new()
            } else {
                format!(" [{}]", finding.subjects.join(", "))
            };
            let _ = writeln!(out, "   ! {}: {}{subjects}", finding.kind, finding.message);
        }
        if !w.usage.is_empty() {
            let width = w
                .usage
                .iter()
                .map(|u| u.action.len() + u.resource.len() + 3)
                .max()
                .unwrap_or(0);
            let _ = writeln!(out, "   used:");
            for u in &w.usage {
                let what = format!("{} on {}", u.action, u.resource);
                let _ = writeln!(
                    out,
                    "     {what:<width$}  {:>6} calls  {} .. {}",
                    u.count, u.first_seen, u.last_seen
                );
            }
        }
        if !w.denied.is_empty() {
            let _ = writeln!(out, "   denied (not granted in the policy):");
            for d in &w.denied {
                let _ = writeln!(
                    out,
                    "     {} on {}  {} calls  ({})",
                    d.action,
                    d.resource,
                    d.count,
                    d.error_codes.join(", ")
                );
            }
        }
        for g in &w.generalizations {
            let from = if g.from_count == 1 {
                g.from[0].clone()
            } else {
                format!("{} resources", g.from_count)
            };
            let _ = writeln!(
                out,
                "   generalised ({}): {} {from} -> {}",
                g.rule, g.action, g.to
            );
        }
        match &w.policy {
            Some(policy) => {
                let _ = writeln!(
                    out,
                    "   policy ({} of {} characters, {} limit):",
                    w.policy_size.characters, w.policy_size.limit, w.policy_size.limit_kind
                );
                for line in policy.to_pretty_json().lines() {
                    let _ = writeln!(out, "     {line}");
                }
            }
            None => {
                let _ = writeln!(
                    out,
                    "   policy: none (no successful call needed a permission)"
                );
            }
        }
    }
    if !r.unmapped.is_empty() {
        let _ = writeln!(
            out,
            "\nEvents with no known IAM action (not in any policy):"
        );
        for u in &r.unmapped {
            let _ = writeln!(
                out,
                "   {} {}  {} events",
                u.event_source, u.event_name, u.count
            );
        }
    }
    let a = &r.attribution;
    let _ = writeln!(
        out,
        "\nAttribution: {} events to service accounts, {} to roles, {} to users, {} unattributed \
         (at role level)",
        a.events.service_account, a.events.role, a.events.user, a.events.unattributed
    );
    for warning in &a.context.warnings {
        let _ = writeln!(out, "   warning: {warning}");
    }
    let i = &r.input;
    if !i.skipped.is_empty() {
        let _ = writeln!(out, "\nSkipped input (the result is incomplete):");
        for s in &i.skipped {
            let _ = writeln!(out, "   {}: {}", s.location, s.reason);
        }
        if i.skipped_not_listed > 0 {
            let _ = writeln!(out, "   ... and {} more", i.skipped_not_listed);
        }
    }
    if !i.ignored.is_empty() {
        let _ = writeln!(
            out,
            "\nIgnored {} object(s) that are not log files.",
            i.ignored.len()
        );
    }
    out
}
