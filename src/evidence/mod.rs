//! Evidence packs (`iamtrim evidence`, docs/EVIDENCE.md): a folder an auditor can verify and a
//! reviewer can read. Every permission is traced to CloudTrail (counts, first and last seen,
//! sample eventIDs); every input object is listed with its hashes; every file of the pack is
//! hashed in `manifest.json` and in `SHA256SUMS`. The same inputs and configuration give the
//! same bytes: nothing in a pack depends on when or where it was made.
//!
//! Nothing secret goes in: the record model has no field for credentials, and a pack holds no
//! request or response payloads, only actions, resource ARNs, counts, times and eventIDs.

pub mod digest;
mod error;
pub mod model;
mod render;
pub mod signature;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use error::Result;
pub use error::{EvidenceError, KeyListError};

use crate::diff::RawPolicies;
use crate::errors::FileError;
use crate::hash::sha256_hex;
use crate::report::{Recommendation, WorkloadReport};
use model::{
    Attribution, CatalogInfo, Configuration, DeniedCalls, Finding, Generalization, Integrity,
    Manifest, Permission, Tally, Tool, Window, WorkloadEntry, WorkloadEvidence,
};

pub const MANIFEST: &str = "manifest.json";
pub const SUMS: &str = "SHA256SUMS";

/// What a pack is made from, besides the recommendation.
pub struct PackInput<'a> {
    pub recommendation: &'a Recommendation,
    pub input: &'a crate::stats::InputStats,
    pub catalog: &'a crate::catalog::Catalog,
    pub configuration: Configuration,
    pub integrity: Integrity,
    /// The current policies of each diffed role, as read.
    pub current_policies: BTreeMap<String, RawPolicies>,
}

/// Account-fact files given to a run, `(kind, path)`, each with its SHA-256.
pub fn context_files(files: &[(&str, &Option<PathBuf>)]) -> Result<Vec<model::ContextFile>> {
    let mut out = Vec::new();
    for (kind, path) in files {
        if let Some(path) = path {
            let bytes = std::fs::read(path).map_err(FileError::at("read", path))?;
            out.push(model::ContextFile {
                kind: (*kind).to_owned(),
                path: path.display().to_string(),
                sha256: sha256_hex(&bytes),
            });
        }
    }
    Ok(out)
}

/// The files of a pack, by relative path, before they are written.
#[derive(Default)]
struct Files(BTreeMap<String, Vec<u8>>);

impl Files {
    fn json(&mut self, path: String, value: &impl serde::Serialize) -> Result<()> {
        // Through `Value`, whose maps are ordered: keys come out sorted.
        let encode = |source| EvidenceError::Encode {
            path: path.clone(),
            source,
        };
        let value = serde_json::to_value(value).map_err(encode)?;
        let mut text =
            serde_json::to_vec_pretty(&value).map_err(|source| EvidenceError::Encode {
                path: path.clone(),
                source,
            })?;
        text.push(b'\n');
        self.0.insert(path, text);
        Ok(())
    }
}

/// Evidence tallies keyed by evidence kind, as the pack writes them.
fn tallies(
    by_kind: &BTreeMap<&'static str, crate::report::EvidenceTally>,
) -> BTreeMap<String, Tally> {
    by_kind
        .iter()
        .map(|(kind, t)| {
            let tally = Tally {
                sessions: t.sessions,
                events: t.events,
            };
            ((*kind).to_owned(), tally)
        })
        .collect()
}

/// `workloads/<path>` for a workload: the same layout as `--out` policy files.
fn directory(workload: &WorkloadReport) -> String {
    let relative = crate::report::files::relative_path(workload);
    let parts: Vec<String> = relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("workloads/{}", parts.join("/"))
}

/// A role ARN's folder: `roles/<account>/<name>`.
fn role_directory(role: &str) -> String {
    let account = crate::attribute::arn_account(role).unwrap_or("unknown");
    let name = role.rsplit('/').next().unwrap_or(role);
    let safe: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "+=,.@_-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("roles/{account}/{safe}")
}

/// Writes the pack into `dir` (which must be absent or empty). Returns the manifest.
pub fn write_pack(dir: &Path, pack: PackInput<'_>) -> Result<Manifest> {
    if dir.exists() {
        let empty = std::fs::read_dir(dir)
            .map_err(FileError::at("read", dir))?
            .next()
            .is_none();
        if !empty {
            return Err(EvidenceError::NotEmpty(dir.to_owned()));
        }
    }
    let r = pack.recommendation;
    let mut files = Files::default();
    let mut entries = Vec::new();
    for w in &r.workloads {
        let folder = directory(w);
        let mut policy_files = Vec::new();
        if let Some(policy) = &w.policy {
            if w.policy_parts.is_empty() {
                let path = format!("{folder}/policy.json");
                files.json(path.clone(), policy)?;
                policy_files.push(path);
            } else {
                for (i, part) in w.policy_parts.iter().enumerate() {
                    let path = format!("{folder}/policy.part-{}.json", i + 1);
                    files.json(path.clone(), part)?;
                    policy_files.push(path);
                }
            }
        }
        let diffs: Vec<String> = r
            .diffs
            .iter()
            .flatten()
            .filter(|d| w.roles.contains(&d.role))
            .map(|d| format!("{}/diff.json", role_directory(&d.role)))
            .collect();
        let evidence = WorkloadEvidence {
            format: model::FORMAT.to_owned(),
            id: w.id.clone(),
            kind: w.kind.to_owned(),
            account: w.account.clone(),
            cluster: w.cluster.clone(),
            namespace: w.namespace.clone(),
            service_account: w.service_account.clone(),
            roles: w.roles.clone(),
            attribution: tallies(&w.evidence),
            policy_files,
            permissions: w
                .usage
                .iter()
                .map(|u| Permission {
                    action: u.action.clone(),
                    resource: u.resource.clone(),
                    calls: u.count,
                    first_seen: u.first_seen.clone(),
                    last_seen: u.last_seen.clone(),
                    regions: u.regions.iter().map(|r| (*r).to_owned()).collect(),
                    sample_event_ids: u.sample_event_ids.clone(),
                    failed_calls: u.failed_calls,
                    error_codes: u.error_codes.clone(),
                    implied_by: u.implied_by.clone(),
                })
                .collect(),
            generalizations: w
                .generalizations
                .iter()
                .map(|g| Generalization {
                    rule: g.rule.to_owned(),
                    action: g.action.clone(),
                    from: g.from.clone(),
                    from_count: g.from_count,
                    to: g.to.clone(),
                })
                .collect(),
            denied: denied_calls(&w.denied),
            unauthenticated: denied_calls(&w.unauthenticated),
            findings: w
                .findings
                .iter()
                .map(|f| Finding {
                    kind: f.kind.to_owned(),
                    message: f.message.clone(),
                    subjects: f.subjects.clone(),
                })
                .collect(),
            diffs,
        };
        files.json(format!("{folder}/evidence.json"), &evidence)?;
        entries.push(WorkloadEntry {
            id: w.id.clone(),
            kind: w.kind.to_owned(),
            directory: folder,
            permissions: w.usage.len() as u64,
            calls: w.usage.iter().map(|u| u.count).sum(),
            denied_calls: w.denied.iter().map(|d| d.count).sum(),
        });
    }
    for d in r.diffs.iter().flatten() {
        let folder = role_directory(&d.role);
        files.json(format!("{folder}/diff.json"), d)?;
        if let Some(raw) = pack.current_policies.get(&d.role) {
            let current = serde_json::json!({
                "source": raw.source,
                "identity_policies": raw.identity.iter().map(|(name, doc)| serde_json::json!({"name": name, "document": doc})).collect::<Vec<_>>(),
                "permissions_boundary": raw.boundary.as_ref().map(|(name, doc)| serde_json::json!({"name": name, "document": doc})),
            });
            files.json(format!("{folder}/current-policies.json"), &current)?;
        }
    }

    let input = pack.input;
    let (first_call, last_call) = r.workloads.iter().flat_map(|w| &w.usage).fold(
        (None::<String>, None::<String>),
        |(first, last), u| {
            (
                Some(first.map_or(u.first_seen.clone(), |f| f.min(u.first_seen.clone()))),
                Some(last.map_or(u.last_seen.clone(), |l| l.max(u.last_seen.clone()))),
            )
        },
    );
    let mut manifest = Manifest {
        format: model::FORMAT.to_owned(),
        tool: Tool {
            name: "iamtrim".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        catalog: CatalogInfo {
            source: pack.catalog.source.clone(),
            version: pack.catalog.version.clone(),
            updated_at: pack.catalog.updated_at.clone(),
            sha256: pack.catalog.sha256.clone(),
        },
        configuration: pack.configuration,
        window: Window {
            start: r.window.start.clone(),
            end: r.window.end.clone(),
            first_call,
            last_call,
        },
        inputs: input.objects.clone(),
        input: crate::report::Input {
            unmapped: Some(input.unmapped_list()),
            ..crate::report::Input::from(input)
        },
        attribution: Attribution {
            events: [
                ("service_account", r.attribution.events.service_account),
                ("role", r.attribution.events.role),
                ("user", r.attribution.events.user),
                ("unattributed", r.attribution.events.unattributed),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            by_evidence: tallies(&r.attribution.by_evidence),
        },
        integrity: pack.integrity,
        workloads: entries,
        files: BTreeMap::new(),
    };
    // The human reports come last: they show the manifest's facts.
    files.0.insert(
        "report.md".to_owned(),
        render::markdown(r, &manifest).into_bytes(),
    );
    files.0.insert(
        "report.html".to_owned(),
        render::html(r, &manifest).into_bytes(),
    );
    manifest.files = files
        .0
        .iter()
        .map(|(path, bytes)| (path.clone(), sha256_hex(bytes)))
        .collect();
    files.json(MANIFEST.to_owned(), &manifest)?;
    let mut sums = String::new();
    for (path, bytes) in &files.0 {
        sums.push_str(&format!("{}  {path}\n", sha256_hex(bytes)));
    }
    files.0.insert(SUMS.to_owned(), sums.into_bytes());

    for (path, bytes) in &files.0 {
        let target = dir.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(FileError::at("create", parent))?;
        }
        std::fs::write(&target, bytes).map_err(FileError::at("write", &target))?;
    }
    Ok(manifest)
}

/// What `evidence verify` found: nothing when the pack is intact.
pub fn verify(dir: &Path) -> Result<Vec<String>> {
    if !dir.is_dir() {
        return Err(EvidenceError::NoFolder(dir.to_owned()));
    }
    let mut problems = Vec::new();
    let present: BTreeMap<String, PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e
                .path()
                .strip_prefix(dir)
                .unwrap_or(e.path())
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            (relative, e.into_path())
        })
        .collect();
    let read =
        |path: &str| -> Option<Vec<u8>> { present.get(path).and_then(|p| std::fs::read(p).ok()) };

    // SHA256SUMS: every file but itself, each hash right.
    let Some(sums) = read(SUMS) else {
        return Err(EvidenceError::NotAPack(dir.to_owned()));
    };
    let sums = String::from_utf8_lossy(&sums).into_owned();
    let mut summed = BTreeMap::new();
    for (n, line) in sums.lines().enumerate() {
        match line.split_once("  ") {
            Some((hash, path)) => {
                summed.insert(path.to_owned(), hash.to_owned());
            }
            None => problems.push(format!("{SUMS} line {}: not `<sha256>  <path>`", n + 1)),
        }
    }
    for (path, expected) in &summed {
        match read(path) {
            None => problems.push(format!("{path}: listed in {SUMS} but missing")),
            Some(bytes) if sha256_hex(&bytes) != *expected => problems.push(format!(
                "{path}: SHA-256 differs from {SUMS}: the file was changed"
            )),
            Some(_) => {}
        }
    }
    for path in present.keys() {
        if path != SUMS && !summed.contains_key(path) {
            problems.push(format!("{path}: not listed in {SUMS}: the file was added"));
        }
    }

    // The manifest: strictly the documented format, its file list the same as the pack's.
    let Some(manifest_bytes) = read(MANIFEST) else {
        problems.push(format!("{MANIFEST} is missing"));
        return Ok(problems);
    };
    let manifest: Manifest = match serde_json::from_slice(&manifest_bytes) {
        Ok(m) => m,
        Err(e) => {
            problems.push(format!(
                "{MANIFEST} is not a {} manifest: {e}",
                model::FORMAT
            ));
            return Ok(problems);
        }
    };
    if manifest.format != model::FORMAT {
        problems.push(format!(
            "{MANIFEST} has format {:?}; this iamtrim verifies {:?}",
            manifest.format,
            model::FORMAT
        ));
    }
    for (path, expected) in &manifest.files {
        match read(path) {
            None => problems.push(format!("{path}: listed in {MANIFEST} but missing")),
            Some(bytes) if sha256_hex(&bytes) != *expected => {
                problems.push(format!("{path}: SHA-256 differs from {MANIFEST}"))
            }
            Some(_) => {}
        }
    }
    for path in present.keys() {
        if path != SUMS && path != MANIFEST && !manifest.files.contains_key(path) {
            problems.push(format!("{path}: not listed in {MANIFEST}"));
        }
    }
    // Internal consistency: each workload's evidence file is there, strict, and agrees.
    for w in &manifest.workloads {
        let path = format!("{}/evidence.json", w.directory);
        let Some(bytes) = read(&path) else {
            problems.push(format!("{path}: the evidence of {} is missing", w.id));
            continue;
        };
        match serde_json::from_slice::<WorkloadEvidence>(&bytes) {
            Err(e) => problems.push(format!(
                "{path}: not a {} evidence file: {e}",
                model::FORMAT
            )),
            Ok(evidence) => {
                let calls: u64 = evidence.permissions.iter().map(|p| p.calls).sum();
                if evidence.id != w.id
                    || evidence.permissions.len() as u64 != w.permissions
                    || calls != w.calls
                {
                    problems.push(format!(
                        "{path}: does not match the manifest's entry for {}",
                        w.id
                    ));
                }
                for file in evidence.policy_files.iter().chain(&evidence.diffs) {
                    if !manifest.files.contains_key(file) {
                        problems.push(format!("{path}: names {file}, which is not in the pack"));
                    }
                }
            }
        }
    }
    let inputs_sorted = manifest.inputs.windows(2).all(|w| w[0] <= w[1]);
    if !inputs_sorted {
        problems.push(format!("{MANIFEST}: inputs are not in order"));
    }
    if manifest.input.files < manifest.inputs.len() as u64 {
        problems.push(format!(
            "{MANIFEST}: lists {} inputs but counts {} files read",
            manifest.inputs.len(),
            manifest.input.files
        ));
    }
    Ok(problems)
}

/// The pack as one archive, `DIR.tar.gz` next to it: entries sorted, times, owners and modes
/// fixed, so the same pack gives the same archive bytes. Returns its path.
pub fn archive(dir: &Path) -> Result<PathBuf> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or(EvidenceError::Unnamed)?;
    let target = dir.with_file_name(format!("{name}.tar.gz"));
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let file = std::fs::File::create(&target).map_err(FileError::at("create", &target))?;
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(file, flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for path in files {
        let relative = path.strip_prefix(dir).unwrap_or(&path);
        let entry = PathBuf::from(&name).join(relative);
        let bytes = std::fs::read(&path).map_err(FileError::at("read", &path))?;
        let mut header = tar::Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        header.set_entry_type(tar::EntryType::Regular);
        tar.append_data(&mut header, &entry, bytes.as_slice())
            .map_err(FileError::at("archive", &path))?;
    }
    tar.into_inner()
        .and_then(|gz| gz.finish())
        .map_err(FileError::at("write", &target))?;
    Ok(target)
}

fn denied_calls(calls: &[crate::report::Denied]) -> Vec<DeniedCalls> {
    calls
        .iter()
        .map(|d| DeniedCalls {
            action: d.action.clone(),
            resource: d.resource.clone(),
            calls: d.count,
            error_codes: d.error_codes.clone(),
        })
        .collect()
}
