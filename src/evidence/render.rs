//! The pack's human reports: `report.md` and `report.html`. The HTML is one self-contained
//! page (inline CSS, inline SVG charts, no scripts, no external assets), so it opens the same
//! offline, years later, in whatever browser an auditor has.

use std::fmt::Write;

use super::model::Manifest;
use crate::report::{Recommendation, WorkloadReport};

/// Granted actions of a workload's roles (from the diffs), if its roles were diffed.
fn granted_actions(r: &Recommendation, w: &WorkloadReport) -> Option<usize> {
    let diffs: Vec<_> = r
        .diffs
        .iter()
        .flatten()
        .filter(|d| w.roles.contains(&d.role))
        .collect();
    if diffs.is_empty() {
        return None;
    }
    let mut actions = std::collections::BTreeSet::new();
    for d in diffs {
        actions.extend(d.granted_unused.iter().map(|g| g.action.clone()));
        actions.extend(d.used_and_granted.iter().map(|u| u.action.clone()));
    }
    Some(actions.len())
}

fn used_actions(w: &WorkloadReport) -> usize {
    w.usage
        .iter()
        .map(|u| u.action.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len()
}

fn calls(w: &WorkloadReport) -> u64 {
    w.usage.iter().map(|u| u.count).sum()
}

fn md_cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

pub fn markdown(r: &Recommendation, m: &Manifest) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# IAM least-privilege evidence\n");
    let _ = writeln!(
        out,
        "Made by {} {} with the IAM catalog {} {} (SHA-256 `{}`). Format `{}`; check it with `iamtrim evidence verify`.\n",
        m.tool.name,
        m.tool.version,
        m.catalog.source,
        m.catalog.version,
        m.catalog.sha256,
        m.format
    );
    let _ = writeln!(out, "## Scope\n");
    let _ = writeln!(
        out,
        "- Window: {} to {} (calls seen from {} to {})",
        m.window
            .start
            .as_deref()
            .unwrap_or("the start of the trail"),
        m.window.end.as_deref().unwrap_or("the end of the trail"),
        m.window.first_call.as_deref().unwrap_or("-"),
        m.window.last_call.as_deref().unwrap_or("-")
    );
    let _ = writeln!(
        out,
        "- Input: {} log files, {} records; {} skipped problems, {} ignored files (listed in manifest.json)",
        m.input.files,
        m.input.records,
        m.input.skipped.len() as u64 + m.input.skipped_not_listed,
        m.input.ignored.len()
    );
    let _ = writeln!(
        out,
        "- Log file integrity (CloudTrail digests): **{}**, {} files confirmed, {} changed, {} not covered; signatures {}",
        m.integrity.status,
        m.integrity.log_files_verified,
        m.integrity.log_files_mismatched.len(),
        m.integrity.log_files_not_covered.len(),
        m.integrity.signatures
    );
    for d in digest_problems(m) {
        let _ = writeln!(
            out,
            "  - `{}`: chain {}; signature {}",
            d.location, d.chain, d.signature
        );
    }
    let events = &m.attribution.events;
    let _ = writeln!(
        out,
        "- Attribution: {} events to service accounts, {} to roles, {} to users, {} unattributed\n",
        events.get("service_account").unwrap_or(&0),
        events.get("role").unwrap_or(&0),
        events.get("user").unwrap_or(&0),
        events.get("unattributed").unwrap_or(&0)
    );
    let _ = writeln!(out, "## Workloads\n");
    let _ = writeln!(
        out,
        "| workload | kind | roles | calls | actions used | actions granted | denied calls |"
    );
    let _ = writeln!(out, "|---|---|---|---:|---:|---:|---:|");
    for w in &r.workloads {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md_cell(&w.id),
            w.kind,
            md_cell(&w.roles.join(", ")),
            calls(w),
            used_actions(w),
            granted_actions(r, w).map_or("-".to_owned(), |n| n.to_string()),
            w.denied.iter().map(|d| d.count).sum::<u64>()
        );
    }
    for w in &r.workloads {
        let _ = writeln!(out, "\n### {}\n", w.id);
        let _ = writeln!(
            out,
            "| action | resource | calls | first seen | last seen | sample eventIDs |"
        );
        let _ = writeln!(out, "|---|---|---:|---|---|---|");
        for u in &w.usage {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                u.action,
                md_cell(&u.resource),
                calls_cell(u),
                u.first_seen,
                u.last_seen,
                u.sample_event_ids.join(" ")
            );
        }
        for (calls, heading) in failed_lists(w) {
            let _ = writeln!(out, "\n{heading}:\n");
            for d in calls {
                let _ = writeln!(
                    out,
                    "- {} on {}: {} calls ({})",
                    d.action,
                    d.resource,
                    d.count,
                    d.error_codes.join(", ")
                );
            }
        }
        if let Some(policy) = &w.policy {
            let _ = writeln!(
                out,
                "\nRecommended policy:\n\n```json\n{}\n```",
                serde_json::to_string_pretty(&serde_json::to_value(policy).unwrap_or_default())
                    .unwrap_or_default()
            );
        }
    }
    if let Some(diffs) = &r.diffs {
        let _ = writeln!(out, "\n## Current policies against use\n");
        for d in diffs {
            let _ = writeln!(
                out,
                "### {}\n\n- drift: {}\n- granted and never used: {} actions{}\n- used and not granted: {} calls\n",
                d.role,
                if d.drift { "yes" } else { "no" },
                d.granted_unused.len(),
                if d.granted_unused.is_empty() {
                    String::new()
                } else {
                    format!(
                        " ({})",
                        d.granted_unused
                            .iter()
                            .take(12)
                            .map(|g| g.action.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                            + if d.granted_unused.len() > 12 {
                                ", …"
                            } else {
                                ""
                            }
                    )
                },
                d.used_not_granted.len()
            );
        }
    }
    out
}

fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Bars of used (and granted, where known) actions per workload.
fn actions_chart(r: &Recommendation) -> String {
    let rows: Vec<(&str, usize, Option<usize>)> = r
        .workloads
        .iter()
        .map(|w| (w.id.as_str(), used_actions(w), granted_actions(r, w)))
        .collect();
    let max = rows
        .iter()
        .map(|(_, used, granted)| (*used).max(granted.unwrap_or(0)))
        .max()
        .unwrap_or(1)
        .max(1);
    let (label_w, bar_w, row_h) = (360, 420, 26);
    let height = rows.len() * row_h + 40;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="actions-title" width="{}" height="{height}" viewBox="0 0 {} {height}"><title id="actions-title">Actions used and granted per workload</title>"##,
        label_w + bar_w + 80,
        label_w + bar_w + 80
    );
    for (i, (id, used, granted)) in rows.iter().enumerate() {
        let y = i * row_h + 10;
        let label: String = if id.chars().count() > 48 {
            format!(
                "…{}",
                id.chars()
                    .rev()
                    .take(47)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect::<String>()
            )
        } else {
            (*id).to_owned()
        };
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end" class="label">{}</text>"##,
            label_w - 8,
            y + 15,
            esc(&label)
        );
        if let Some(granted) = granted {
            let w = granted * bar_w / max;
            let _ = write!(
                svg,
                r##"<rect x="{label_w}" y="{y}" width="{w}" height="20" class="granted"><title>{granted} actions granted</title></rect>"##
            );
        }
        let w = (used * bar_w / max).max(1);
        let _ = write!(
            svg,
            r##"<rect x="{label_w}" y="{}" width="{w}" height="12" class="used"><title>{used} actions used</title></rect><text x="{}" y="{}" class="value">{used}{}</text>"##,
            y + 4,
            label_w + bar_w.max(w) + 6,
            y + 15,
            granted.map_or(String::new(), |g| format!(" / {g}"))
        );
    }
    let _ = write!(
        svg,
        r##"<rect x="{label_w}" y="{}" width="12" height="12" class="used"/><text x="{}" y="{}" class="value">used</text><rect x="{}" y="{}" width="12" height="12" class="granted"/><text x="{}" y="{}" class="value">granted by current policies</text></svg>"##,
        height - 22,
        label_w + 16,
        height - 12,
        label_w + 70,
        height - 22,
        label_w + 86,
        height - 12
    );
    svg
}

/// A workload id short enough for a chart's label column: its end, which names it.
fn short_label(id: &str) -> String {
    const MAX: usize = 42;
    let count = id.chars().count();
    if count <= MAX {
        return id.to_owned();
    }
    let tail: String = id.chars().skip(count - (MAX - 1)).collect();
    format!("…{tail}")
}

fn seconds(text: &str) -> Option<i64> {
    text.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// Each workload's activity span, first call to last, on the window's time axis.
fn activity_chart(r: &Recommendation, m: &Manifest) -> String {
    let (Some(start), Some(end)) = (
        m.window.first_call.as_deref().and_then(seconds),
        m.window.last_call.as_deref().and_then(seconds),
    ) else {
        return String::new();
    };
    let span = (end - start).max(1);
    let (label_w, axis_w, row_h) = (360i64, 420i64, 22usize);
    let height = r.workloads.len() * row_h + 44;
    let mut svg = format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-labelledby="activity-title" width="{}" height="{height}" viewBox="0 0 {} {height}"><title id="activity-title">Activity of each workload over the window</title>"##,
        label_w + axis_w + 20,
        label_w + axis_w + 20
    );
    for (i, w) in r.workloads.iter().enumerate() {
        let y = (i * row_h + 8) as i64;
        let first = w.usage.iter().filter_map(|u| seconds(&u.first_seen)).min();
        let last = w.usage.iter().filter_map(|u| seconds(&u.last_seen)).max();
        let _ = write!(
            svg,
            r##"<text x="{}" y="{}" text-anchor="end" class="label">{}</text>"##,
            label_w - 8,
            y + 12,
            esc(&short_label(&w.id))
        );
        if let (Some(first), Some(last)) = (first, last) {
            let x = label_w + (first - start) * axis_w / span;
            let width = ((last - first) * axis_w / span).max(3);
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{}" width="{width}" height="12" class="span"><title>{} calls, {} to {}</title></rect>"##,
                y + 2,
                calls(w),
                esc(w
                    .usage
                    .iter()
                    .map(|u| u.first_seen.as_str())
                    .min()
                    .unwrap_or("")),
                esc(w
                    .usage
                    .iter()
                    .map(|u| u.last_seen.as_str())
                    .max()
                    .unwrap_or(""))
            );
        }
    }
    let y = (r.workloads.len() * row_h + 14) as i64;
    let _ = write!(
        svg,
        r##"<line x1="{label_w}" y1="{y}" x2="{}" y2="{y}" class="axis"/><text x="{label_w}" y="{}" class="value">{}</text><text x="{}" y="{}" text-anchor="end" class="value">{}</text></svg>"##,
        label_w + axis_w,
        y + 16,
        esc(m.window.first_call.as_deref().unwrap_or("")),
        label_w + axis_w,
        y + 16,
        esc(m.window.last_call.as_deref().unwrap_or(""))
    );
    svg
}

const STYLE: &str = "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}\
h1{font-size:1.6rem}h2{margin-top:2rem;border-bottom:1px solid #d0d7de}h3{margin-top:1.5rem;font-family:ui-monospace,monospace;font-size:1rem}\
table{border-collapse:collapse;margin:.5rem 0;font-size:.85rem}th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}\
th{background:#f6f8fa}td.n{text-align:right}code,pre{font-family:ui-monospace,monospace;font-size:.8rem}pre{background:#f6f8fa;padding:.75rem;overflow:auto}\
.ok{color:#1a7f37}.bad{color:#cf222e}.label,.value{font:12px system-ui,sans-serif;fill:#1b1f24}.used{fill:#0969da}.granted{fill:#d0d7de}.span{fill:#8250df}.axis{stroke:#57606a}\
dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}dt{font-weight:600}";

/// The digest files whose chain link or signature did not hold (or could not be checked).
fn digest_problems(m: &Manifest) -> Vec<&super::model::DigestCheck> {
    m.integrity
        .digest_files
        .iter()
        .filter(|d| {
            !matches!(d.chain.as_str(), "first" | "linked")
                || !(d.signature == "valid" || d.signature.starts_with("not-available"))
        })
        .collect()
}

pub fn html(r: &Recommendation, m: &Manifest) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>IAM least-privilege evidence</title><style>{STYLE}</style></head><body>\n<h1>IAM least-privilege evidence</h1>\n"
    );
    let status_class = if m.integrity.status == "verified" {
        "ok"
    } else {
        "bad"
    };
    let events = &m.attribution.events;
    let _ = write!(
        out,
        "<dl><dt>Made by</dt><dd>{} {}, pack format <code>{}</code></dd><dt>IAM catalog</dt><dd>{} {} (SHA-256 <code>{}</code>)</dd>\
<dt>Window</dt><dd>{} to {}; calls seen from {} to {}</dd><dt>Input</dt><dd>{} log files, {} records, {} skipped problems, {} ignored files</dd>\
<dt>Log file integrity</dt><dd><span class=\"{status_class}\" id=\"integrity\">{}</span>: {} files confirmed by CloudTrail digests, {} changed, {} not covered. Signatures {}</dd>\
<dt>Attribution</dt><dd>{} events to service accounts, {} to roles, {} to users, {} unattributed</dd></dl>",
        esc(&m.tool.name),
        esc(&m.tool.version),
        esc(&m.format),
        esc(&m.catalog.source),
        esc(&m.catalog.version),
        esc(&m.catalog.sha256),
        esc(m
            .window
            .start
            .as_deref()
            .unwrap_or("the start of the trail")),
        esc(m.window.end.as_deref().unwrap_or("the end of the trail")),
        esc(m.window.first_call.as_deref().unwrap_or("-")),
        esc(m.window.last_call.as_deref().unwrap_or("-")),
        m.input.files,
        m.input.records,
        m.input.skipped.len() as u64 + m.input.skipped_not_listed,
        m.input.ignored.len(),
        esc(&m.integrity.status),
        m.integrity.log_files_verified,
        m.integrity.log_files_mismatched.len(),
        m.integrity.log_files_not_covered.len(),
        esc(&m.integrity.signatures),
        events.get("service_account").unwrap_or(&0),
        events.get("role").unwrap_or(&0),
        events.get("user").unwrap_or(&0),
        events.get("unattributed").unwrap_or(&0),
    );
    out.push('\n');
    let problems = digest_problems(m);
    if !problems.is_empty() {
        out.push_str("<ul id=\"digest-problems\">\n");
        for d in problems {
            let _ = writeln!(
                out,
                "<li><code>{}</code>: chain {}; signature {}</li>",
                esc(&d.location),
                esc(&d.chain),
                esc(&d.signature)
            );
        }
        out.push_str("</ul>\n");
    }
    let _ = write!(
        out,
        "<h2>Workloads</h2>\n<table id=\"summary\"><thead><tr><th>workload</th><th>kind</th><th>roles</th><th>calls</th><th>actions used</th><th>actions granted</th><th>denied calls</th></tr></thead><tbody>\n"
    );
    for w in &r.workloads {
        let _ = writeln!(
            out,
            "<tr><td><a href=\"#w-{}\">{}</a></td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&w.id),
            esc(&w.id),
            w.kind,
            esc(&w.roles.join(", ")),
            calls(w),
            used_actions(w),
            granted_actions(r, w).map_or("-".to_owned(), |n| n.to_string()),
            w.denied.iter().map(|d| d.count).sum::<u64>()
        );
    }
    let _ = write!(
        out,
        "</tbody></table>\n<h2>Actions used and granted</h2>\n{}\n<h2>Activity over the window</h2>\n{}\n",
        actions_chart(r),
        activity_chart(r, m)
    );
    for w in &r.workloads {
        let _ = write!(
            out,
            "<h3 id=\"w-{}\">{}</h3>\n<table><thead><tr><th>action</th><th>resource</th><th>calls</th><th>first seen</th><th>last seen</th><th>sample eventIDs</th></tr></thead><tbody>\n",
            esc(&w.id),
            esc(&w.id)
        );
        for u in &w.usage {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td><code>{}</code></td><td class=\"n\">{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&u.action),
                esc(&u.resource),
                esc(&calls_cell(u)),
                esc(&u.first_seen),
                esc(&u.last_seen),
                esc(&u.sample_event_ids.join(" "))
            );
        }
        let _ = writeln!(out, "</tbody></table>");
        for (calls, heading) in failed_lists(w) {
            let _ = writeln!(out, "<p>{heading}:</p><ul>");
            for d in calls {
                let _ = writeln!(
                    out,
                    "<li><code>{}</code> on <code>{}</code>: {} calls ({})</li>",
                    esc(&d.action),
                    esc(&d.resource),
                    d.count,
                    esc(&d.error_codes.join(", "))
                );
            }
            let _ = writeln!(out, "</ul>");
        }
        if let Some(policy) = &w.policy {
            let text =
                serde_json::to_string_pretty(&serde_json::to_value(policy).unwrap_or_default())
                    .unwrap_or_default();
            let _ = writeln!(out, "<p>Recommended policy:</p><pre>{}</pre>", esc(&text));
        }
    }
    if let Some(diffs) = &r.diffs {
        let _ = writeln!(
            out,
            "<h2>Current policies against use</h2>\n<table id=\"diffs\"><thead><tr><th>role</th><th>drift</th><th>granted, never used</th><th>used, not granted</th></tr></thead><tbody>"
        );
        for d in diffs {
            let _ = writeln!(
                out,
                "<tr><td><code>{}</code></td><td class=\"{}\">{}</td><td>{}</td><td>{}</td></tr>",
                esc(&d.role),
                if d.drift { "bad" } else { "ok" },
                if d.drift { "yes" } else { "no" },
                esc(&d
                    .granted_unused
                    .iter()
                    .map(|g| g.action.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")),
                esc(&d
                    .used_not_granted
                    .iter()
                    .map(|u| format!("{} on {}", u.action, u.resource))
                    .collect::<Vec<_>>()
                    .join(", "))
            );
        }
        let _ = writeln!(out, "</tbody></table>");
    }
    out.push_str("</body></html>\n");
    out
}

/// A usage row's calls, with those that failed after authorization named.
fn calls_cell(u: &crate::report::UsageRow) -> String {
    let mut cell = u.count.to_string();
    if u.failed_calls > 0 {
        cell.push_str(&format!(
            " ({} failed after authorization: {})",
            u.failed_calls,
            u.error_codes.join(", ")
        ));
    }
    if !u.implied_by.is_empty() {
        cell.push_str(&format!(" (implied by {})", u.implied_by.join(", ")));
    }
    cell
}

/// A workload's failed calls that are not grants, each list with its heading.
fn failed_lists(
    w: &crate::report::WorkloadReport,
) -> impl Iterator<Item = (&[crate::report::Denied], &'static str)> {
    [
        (
            w.denied.as_slice(),
            "Denied by authorization (never granted)",
        ),
        (
            w.unauthenticated.as_slice(),
            "Credentials rejected before authorization (neither granted nor denied)",
        ),
    ]
    .into_iter()
    .filter(|(calls, _)| !calls.is_empty())
}
