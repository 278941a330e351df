//! `--out DIR`: one policy file per workload, at a path a person can find:
//! `eks/<cluster>/<namespace>/<service-account>.json`, `roles/<account>/<role>.json`,
//! `users/<account>/<user>.json`.

use std::path::{Path, PathBuf};

use super::{Recommendation, WorkloadReport, role_name};

/// Writes every workload's policy under `dir`; returns the paths written, in workload order.
/// Workloads with nothing to grant get no file.
pub fn write_policies(
    dir: &Path,
    recommendation: &Recommendation,
) -> std::io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for workload in &recommendation.workloads {
        let Some(policy) = &workload.policy else {
            continue;
        };
        let path = dir.join(relative_path(workload));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(&path, policy.to_pretty_json())?;
        written.push(path);
    }
    Ok(written)
}

fn relative_path(workload: &WorkloadReport) -> PathBuf {
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
    let mut path: PathBuf = parts.iter().map(|p| safe_component(p)).collect();
    path.set_extension("json");
    path
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
