//! `--out DIR`: the policy to attach to each role, `roles/<account>/<role>.json` (from
//! `roles[]`), and each other workload's total need at a path a person can find:
//! `eks/<cluster>/<namespace>/<service-account>.json`, `users/<account>/<user>.json` (`.tf` or
//! `.yaml` with `--policy-format`). A role workload's file is its role's. A policy split to fit
//! IAM's size limit is written as `<name>.part-1.json`, `<name>.part-2.json`, ... A shared role's
//! split plan is `split/<account>/<role>/<new role>.json` (and `.trust.json`) per service
//! account, and `split/<account>/<role>.split.tf`.

use std::path::{Path, PathBuf};

use super::roles::RoleReport;
use super::{Recommendation, WorkloadReport, role_name};
use crate::policy::PolicyDocument;
use crate::policy::render::{PolicyFormat, cloudformation};

/// The documents to deploy for a workload: its policy, or its parts when it had to be split.
fn documents(workload: &WorkloadReport) -> Vec<(String, &PolicyDocument)> {
    if workload.policy_parts.is_empty() {
        workload
            .policy
            .iter()
            .map(|p| (workload.id.clone(), p))
            .collect()
    } else {
        workload
            .policy_parts
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{} part {}", workload.id, i + 1), p))
            .collect()
    }
}

/// The documents to attach to a role: its policy, or its parts when it had to be split.
fn role_documents(role: &RoleReport) -> Vec<(String, &PolicyDocument)> {
    if role.policy_parts.is_empty() {
        role.policy.iter().map(|p| (role.role.clone(), p)).collect()
    } else {
        role.policy_parts
            .iter()
            .enumerate()
            .map(|(i, p)| (format!("{} part {}", role.role, i + 1), p))
            .collect()
    }
}

/// Writes every role's policy, then every other workload's, under `dir`; returns the paths
/// written. Roles and workloads with nothing to grant get no file.
pub fn write_policies(
    dir: &Path,
    recommendation: &Recommendation,
    format: PolicyFormat,
) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for role in &recommendation.roles {
        let stem = role_path(&role.role);
        write_documents(dir, &stem, role_documents(role), format, &mut written)?;
    }
    // With a diff: each role's proposed trust policy beside its permission policy (JSON in
    // every format: it is the role's `assume_role_policy` as it is).
    for diff in recommendation.diffs.iter().flatten() {
        if let Some(trust) = &diff.proposed_trust_policy {
            let mut path = dir.join(role_path(&diff.role));
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            path.set_file_name(format!("{name}.trust.json"));
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let mut text = serde_json::to_string_pretty(&trust.policy).unwrap_or_default();
            text.push('\n');
            std::fs::write(&path, text)?;
            written.push(path);
        }
    }
    // Each shared role's split plan: per new role its permission policy and trust policy, under
    // `split/<account>/<shared role>/`, and the whole plan as Terraform beside that folder.
    for shared in recommendation
        .shared_roles
        .iter()
        .filter(|s| !s.split.is_empty())
    {
        let folder = dir.join("split").join(
            role_path(&shared.role)
                .strip_prefix("roles")
                .unwrap_or(Path::new("role")),
        );
        std::fs::create_dir_all(&folder)?;
        for entry in &shared.split {
            let name = safe_component(&entry.role_name);
            if let Some(policy) = &entry.policy {
                let path = folder.join(format!("{name}.{}", format.extension()));
                std::fs::write(&path, format.render(&entry.role_name, policy))?;
                written.push(path);
            }
            if let Some(trust) = &entry.trust_policy {
                let path = folder.join(format!("{name}.trust.json"));
                let mut text = serde_json::to_string_pretty(trust).unwrap_or_default();
                text.push('\n');
                std::fs::write(&path, text)?;
                written.push(path);
            }
        }
        let mut tf = folder.clone();
        let stem = tf
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        tf.set_file_name(format!("{stem}.split.tf"));
        std::fs::write(&tf, super::split::terraform_plan(shared))?;
        written.push(tf);
    }
    for workload in &recommendation.workloads {
        if workload.kind == "role" || workload.kind == "node-role" {
            // Its file is its role's, written above.
            continue;
        }
        let stem = relative_path(workload);
        write_documents(dir, &stem, documents(workload), format, &mut written)?;
    }
    Ok(written)
}

fn write_documents(
    dir: &Path,
    stem: &Path,
    documents: Vec<(String, &PolicyDocument)>,
    format: PolicyFormat,
    written: &mut Vec<PathBuf>,
) -> std::io::Result<()> {
    let split = documents.len() > 1;
    for (i, (name, policy)) in documents.into_iter().enumerate() {
        let mut path = dir.join(stem);
        let stem = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = if split {
            format!("{stem}.part-{}.{}", i + 1, format.extension())
        } else {
            format!("{stem}.{}", format.extension())
        };
        path.set_file_name(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, format.render(&name, policy))?;
        written.push(path);
    }
    Ok(())
}

/// `roles/<account>/<role name>`, without extension.
pub fn role_path(arn: &str) -> PathBuf {
    let account = crate::attribute::arn_account(arn).unwrap_or("unknown-account");
    ["roles", account, role_name(arn).unwrap_or(arn)]
        .iter()
        .map(|p| safe_component(p))
        .collect()
}

/// Every workload's policy in one Terraform file or one CloudFormation template.
pub fn all_policies(recommendation: &Recommendation, format: PolicyFormat) -> String {
    let documents: Vec<(String, &PolicyDocument)> = recommendation
        .workloads
        .iter()
        .flat_map(documents)
        .collect();
    match format {
        PolicyFormat::CloudFormation => {
            let named: Vec<(&str, &PolicyDocument)> =
                documents.iter().map(|(n, p)| (n.as_str(), *p)).collect();
            cloudformation(&named)
        }
        _ => documents
            .iter()
            .map(|(name, policy)| format!("# {name}\n{}", format.render(name, policy)))
            .collect::<Vec<_>>()
            .join("\n"),
    }
}

/// The path without extension.
pub fn relative_path(workload: &WorkloadReport) -> PathBuf {
    let account = workload.account.as_deref().unwrap_or("unknown-account");
    let parts: Vec<&str> = match (
        &workload.cluster,
        &workload.namespace,
        &workload.service_account,
    ) {
        (Some(c), Some(ns), Some(sa)) => vec!["eks", c, ns, sa],
        _ if workload.kind == "role" || workload.kind == "node-role" => vec![
            "roles",
            account,
            role_name(&workload.id).unwrap_or(&workload.id),
        ],
        _ => vec![
            "users",
            account,
            workload
                .id
                .rsplit(['/', ':'])
                .next()
                .unwrap_or(&workload.id),
        ],
    };
    parts.iter().map(|p| safe_component(p)).collect()
}

/// Keeps a name inside the output folder whatever the trail says.
fn safe_component(part: &str) -> String {
    let cleaned: String = part
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._+=@,-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    if cleaned.is_empty() || cleaned.chars().all(|c| c == '.') {
        "_".to_owned()
    } else {
        cleaned
    }
}

/// Writes the report files; the policy folder is rebuilt whole, so a workload that left the
/// window leaves no stale policy behind.
pub fn write_outputs(
    dir: &Path,
    recommendation: &super::Recommendation,
    format: PolicyFormat,
) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    crate::atomic::write(
        &dir.join("recommendation.json"),
        super::to_json(recommendation).as_bytes(),
    )?;
    let mut text = super::text::render(recommendation);
    if recommendation.diffs.is_some() {
        text.push_str(&super::text::render_diffs(recommendation));
    }
    crate::atomic::write(&dir.join("recommendation.txt"), text.as_bytes())?;
    let tmp = dir.join(".policies.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    write_policies(&tmp, recommendation, format)?;
    let policies = dir.join("policies");
    if policies.exists() {
        std::fs::remove_dir_all(&policies)?;
    }
    std::fs::rename(&tmp, &policies)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_component;

    #[test]
    fn names_cannot_escape_the_folder() {
        assert_eq!(safe_component(".."), "_");
        assert_eq!(safe_component("a/b"), "a_b");
        assert_eq!(safe_component("svc-1.x"), "svc-1.x");
    }
}
