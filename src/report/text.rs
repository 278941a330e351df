//! The text view: one block per workload, for an engineer reading a terminal.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Recommendation;

/// Resources listed per action under "used:" (and generalisations per rule and action); the
/// rest are counted.
const TEXT_RESOURCES_PER_ACTION: usize = 3;

enum Capped<'a, T> {
    Show(&'a T),
    /// After the last shown item of its key: how many more there are.
    More(&'a T, usize),
}

/// `items` with at most [`TEXT_RESOURCES_PER_ACTION`] shown per `key`, and one `More` for the
/// rest, placed at the key's last item.
fn capped<'a, T, K: Ord>(items: &'a [T], key: impl Fn(&'a T) -> K) -> Vec<Capped<'a, T>> {
    let mut total: BTreeMap<K, usize> = BTreeMap::new();
    for item in items {
        *total.entry(key(item)).or_default() += 1;
    }
    let mut seen: BTreeMap<K, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for item in items {
        let k = key(item);
        let n = total[&k];
        let count = seen.entry(k).or_default();
        *count += 1;
        if *count <= TEXT_RESOURCES_PER_ACTION {
            out.push(Capped::Show(item));
        } else if *count == n {
            out.push(Capped::More(item, n - TEXT_RESOURCES_PER_ACTION));
        }
    }
    out
}

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
            // A few resources per action; the JSON keeps every row.
            for entry in capped(&w.usage, |u| u.action.as_str()) {
                let u = match entry {
                    Capped::Show(u) => u,
                    Capped::More(u, more) => {
                        let _ = writeln!(
                            out,
                            "     {} on {more} more resources (every one in the JSON output)",
                            u.action
                        );
                        continue;
                    }
                };
                let what = format!("{} on {}", u.action, u.resource);
                // A permission seen only in calls that failed after authorization is still
                // granted; say so, a reviewer would otherwise wonder why.
                let mut errors = if u.failed_calls == 0 {
                    String::new()
                } else if u.failed_calls == u.count {
                    format!(
                        "  (only failed calls, after authorization: {})",
                        u.error_codes.join(", ")
                    )
                } else {
                    format!(
                        "  ({} failed after authorization: {})",
                        u.failed_calls,
                        u.error_codes.join(", ")
                    )
                };
                if !u.implied_by.is_empty() {
                    errors.push_str(&format!("  (implied by {})", u.implied_by.join(", ")));
                }
                let _ = writeln!(
                    out,
                    "     {what:<width$}  {:>6} calls  {} .. {}{errors}",
                    u.count, u.first_seen, u.last_seen
                );
            }
        }
        for (calls, heading) in [
            (
                &w.denied,
                "denied by authorization (not granted in the policy)",
            ),
            (
                &w.unauthenticated,
                "credentials rejected before authorization (neither granted nor denied)",
            ),
        ] {
            if calls.is_empty() {
                continue;
            }
            let _ = writeln!(out, "   {heading}:");
            for d in calls {
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
        for entry in capped(&w.generalizations, |g| (g.rule, g.action.as_str())) {
            let g = match entry {
                Capped::Show(g) => g,
                Capped::More(g, more) => {
                    let _ = writeln!(
                        out,
                        "   generalised ({}): {} on {more} more resources (every one in the JSON output)",
                        g.rule, g.action
                    );
                    continue;
                }
            };
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
                    "   policy: none (no call that used a permission needed one)"
                );
            }
        }
    }
    render_roles(&mut out, r);
    render_splits(&mut out, r);
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
    if r.diffs.is_some() {
        out.push_str(&render_diffs(r));
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
    if let Some(coverage) = &i.coverage
        && !coverage.not_recorded.is_empty()
    {
        let _ = writeln!(
            out,
            "\nThe trail does not record ({}): {}. Grants only such calls use are kept in proposals.",
            coverage.source,
            coverage.not_recorded.join("; ")
        );
    }
    for note in i.source_notes.iter().flatten() {
        let _ = writeln!(out, "\nNote: {note}.");
    }
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

/// The policy to attach to each role. A role's own policy is printed where it is not already a
/// workload's (a shared role, a role reached by chaining).
fn render_roles(out: &mut String, r: &Recommendation) {
    if r.roles.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\nPolicies to attach, one per role (roles/<account>/<role>.json with --out):"
    );
    for role in &r.roles {
        let used_by: Vec<String> = role
            .workloads
            .iter()
            .map(|w| format!("{} ({:.0}%)", w.id, w.share * 100.0))
            .collect();
        let size = match &role.policy {
            Some(p) => format!(
                "{} statements, {} of {} characters",
                p.statements.len(),
                role.policy_size.characters,
                role.policy_size.limit
            ),
            None => "nothing to grant".to_owned(),
        };
        let _ = writeln!(
            out,
            "   {}: {size}; calls by {}",
            role.role,
            used_by.join(", ")
        );
        for finding in &role.findings {
            let _ = writeln!(out, "      {}: {}", finding.kind, finding.message);
        }
        if !role.findings.is_empty()
            && let Some(policy) = &role.policy
        {
            for line in policy.to_pretty_json().lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
    }
}

/// Each shared role's split plan: the new roles, how each service account moves, in what order.
fn render_splits(out: &mut String, r: &Recommendation) {
    for shared in r.shared_roles.iter().filter(|s| !s.split.is_empty()) {
        let _ = writeln!(
            out,
            "
Split plan for {} (split/<account>/<role>/ and <role>.split.tf with --out):",
            shared.role
        );
        for entry in &shared.split {
            let _ = writeln!(
                out,
                "   {} -> new role {} ({})",
                entry.service_account, entry.role_arn, entry.mechanism
            );
            let statements = entry.policy.as_ref().map_or(0, |p| p.statements.len());
            let _ = writeln!(
                out,
                "      policy: {statements} statements; trust: {}",
                if entry.trust_policy.is_some() {
                    "admits only this service account"
                } else {
                    "not written"
                }
            );
            if !entry.chained_roles.is_empty() {
                let _ = writeln!(out, "      chains into: {}", entry.chained_roles.join(", "));
            }
            let _ = writeln!(out, "      move: {}", entry.cluster_change.command);
            for missing in &entry.missing {
                let _ = writeln!(out, "      not written: {missing}");
            }
        }
        for (i, step) in shared.apply.iter().enumerate() {
            let _ = writeln!(out, "   {}. {step}", i + 1);
        }
    }
}

/// ANSI colour on a terminal (and not with NO_COLOR), plain text otherwise.
fn paint(text: &str, code: &str) -> String {
    use std::io::IsTerminal;
    if std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none() {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_owned()
    }
}

/// The diff of each role: what to remove, what is missing, what to narrow, what to fix.
pub fn render_diffs(r: &Recommendation) -> String {
    let mut out = String::new();
    let Some(diffs) = &r.diffs else {
        return out;
    };
    if diffs.is_empty() {
        let _ = writeln!(out, "\nNo role to diff.");
    }
    for d in diffs {
        let status = if !d.problems.is_empty() {
            paint("incomplete", "31")
        } else if d.drift {
            paint("drift", "33")
        } else {
            paint("no drift", "32")
        };
        let _ = writeln!(
            out,
            "\n== diff {} ({status}; current policies from {})",
            d.role, d.source
        );
        for problem in &d.problems {
            let _ = writeln!(out, "   {} {problem}", paint("problem:", "31"));
        }
        if !d.policies.is_empty() {
            let _ = writeln!(out, "   policies: {}", d.policies.join(", "));
        }
        if let Some(boundary) = &d.boundary {
            let _ = writeln!(out, "   permission boundary: {boundary}");
        }
        let _ = writeln!(
            out,
            "   used and granted: {} call(s)",
            d.used_and_granted.len()
        );
        if !d.used_not_granted.is_empty() {
            let _ = writeln!(
                out,
                "   {}",
                paint("used but NOT granted now (would fail):", "31")
            );
            for c in &d.used_not_granted {
                let by = c
                    .policy
                    .as_deref()
                    .map(|p| format!(" by {p}"))
                    .unwrap_or_default();
                let _ = writeln!(
                    out,
                    "     {} on {}  {} calls  ({}{by})",
                    c.action, c.resource, c.count, c.decision
                );
            }
        }
        if !d.undecided.is_empty() {
            let _ = writeln!(out, "   undecided (conditions not evaluated):");
            for c in &d.undecided {
                let _ = writeln!(
                    out,
                    "     {} on {}  [{}]",
                    c.action,
                    c.resource,
                    c.condition_keys.join(", ")
                );
            }
        }
        if !d.denied_events.is_empty() {
            let _ = writeln!(out, "   denied in the trail:");
            for c in &d.denied_events {
                let _ = writeln!(
                    out,
                    "     {} on {}  {} calls  ({})",
                    c.action,
                    c.resource,
                    c.count,
                    c.error_codes.join(", ")
                );
            }
        }
        let observable: Vec<&crate::diff::UnusedGrant> =
            d.granted_unused.iter().filter(|g| g.observable).collect();
        let unseen: Vec<&crate::diff::UnusedGrant> =
            d.granted_unused.iter().filter(|g| !g.observable).collect();
        if !observable.is_empty() {
            let flagged: Vec<&crate::diff::UnusedGrant> = observable
                .iter()
                .copied()
                .filter(|g| g.flag.is_some())
                .collect();
            let _ = writeln!(
                out,
                "   {} {} action(s), {} of them Write or Permissions management",
                paint("granted but unused (removable):", "33"),
                observable.len(),
                flagged.len()
            );
            for g in flagged.iter().take(20) {
                let _ = writeln!(out, "     {} ({})", g.action, g.access);
            }
            if flagged.len() > 20 {
                let _ = writeln!(
                    out,
                    "     ... and {} more (see diffs[].granted_unused)",
                    flagged.len() - 20
                );
            }
        }
        if let Some(seen) = d.days_seen.filter(|s| s.days < s.window_days) {
            let _ = writeln!(
                out,
                "   seen on {} of the window's {} days: a permission used less often may not show; \
                 grants used before the window are kept",
                seen.days, seen.window_days
            );
        }
        if !unseen.is_empty() {
            let _ = writeln!(
                out,
                "   granted, unused, and cannot tell from this trail (kept in the proposal): {} action(s)",
                unseen.len()
            );
            for g in unseen.iter().take(20) {
                let _ = writeln!(
                    out,
                    "     {}: {}",
                    g.action,
                    g.unobservable_because.as_deref().unwrap_or_default()
                );
            }
            if unseen.len() > 20 {
                let _ = writeln!(
                    out,
                    "     ... and {} more (see diffs[].granted_unused)",
                    unseen.len() - 20
                );
            }
        }
        for n in &d.narrowable {
            let _ = writeln!(
                out,
                "   narrow {} {} ({}{}): grants {} actions, used {}",
                n.policy,
                n.sid,
                if n.not_action { "NotAction " } else { "" },
                n.patterns.join(", "),
                n.grants,
                if n.used_actions.is_empty() {
                    "none".to_owned()
                } else {
                    n.used_actions.join(", ")
                }
            );
        }
        for l in &d.lint {
            let _ = writeln!(
                out,
                "   lint {} {} {}: {}",
                l.kind, l.policy, l.sid, l.detail
            );
        }
        if let Some(trust) = &d.trust {
            for finding in &trust.findings {
                let _ = writeln!(out, "   trust: {finding}");
            }
        }
        if let Some(policy) = &d.proposed_policy {
            let _ = writeln!(out, "   proposed policy:");
            for line in policy.to_pretty_json().lines() {
                let _ = writeln!(out, "     {line}");
            }
        }
        if let Some(trust) = &d.proposed_trust_policy {
            let _ = writeln!(out, "   proposed trust policy:");
            let text = serde_json::to_string_pretty(&trust.policy).unwrap_or_default();
            for line in text.lines() {
                let _ = writeln!(out, "     {line}");
            }
            for removed in &trust.removed {
                let _ = writeln!(out, "   trust no longer admits: {removed}");
            }
            for kept in &trust.kept {
                let _ = writeln!(out, "   trust keeps: {kept}");
            }
        }
        if let Some(shared) = r
            .shared_roles
            .iter()
            .find(|s| s.role == d.role && !s.split.is_empty())
        {
            let names: Vec<&str> = shared.split.iter().map(|s| s.role_name.as_str()).collect();
            let _ = writeln!(
                out,
                "   or split it, one role per service account: {} (the split plan in `iamtrim \
                 recommend`; split/<account>/<role>.split.tf with --out)",
                names.join(", ")
            );
        }
    }
    out
}
