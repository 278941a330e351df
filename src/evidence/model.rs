//! The evidence pack's own files, `iamtrim.evidence/v1` (docs/EVIDENCE.md). Every struct refuses
//! unknown fields, so reading a pack back is a strict check of its format.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::hash::ObjectFingerprint;
pub use crate::stats::{Problem, Unmapped};

pub const FORMAT: &str = "iamtrim.evidence/v1";

/// `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    pub tool: Tool,
    pub catalog: CatalogInfo,
    pub configuration: Configuration,
    pub window: Window,
    /// Every log object read, sorted by location.
    pub inputs: Vec<ObjectFingerprint>,
    pub input: crate::report::Input,
    pub attribution: Attribution,
    pub integrity: Integrity,
    pub workloads: Vec<WorkloadEntry>,
    /// Every other file of the pack (not `manifest.json`, not `SHA256SUMS`) → its SHA-256.
    pub files: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogInfo {
    pub source: String,
    pub version: String,
    pub updated_at: String,
    /// SHA-256 of the catalog's JSON.
    pub sha256: String,
}

/// The settings the pack was made with: enough to make it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Configuration {
    pub trails: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub clusters: Vec<String>,
    /// Account-fact files, each with its SHA-256.
    pub context_files: Vec<ContextFile>,
    pub aws: bool,
    pub roles: Vec<String>,
    pub workloads: Vec<String>,
    pub diff: bool,
    pub max_objects: usize,
    #[serde(default = "default_generalize_over")]
    pub generalize_over: usize,
    #[serde(default = "default_max_managed_policies")]
    pub max_managed_policies: usize,
    pub size_limit: String,
    pub condition_requested_region: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextFile {
    pub kind: String,
    pub path: String,
    pub sha256: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Window {
    pub start: Option<String>,
    pub end: Option<String>,
    /// The earliest and latest call in the pack.
    pub first_call: Option<String>,
    pub last_call: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attribution {
    /// Workload events by coverage bucket: `service_account`, `role`, `user`, `unattributed`.
    pub events: BTreeMap<String, u64>,
    pub by_evidence: BTreeMap<String, Tally>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tally {
    pub sessions: u64,
    pub events: u64,
}

/// What the trail's own integrity records (CloudTrail digest files) say about the inputs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Integrity {
    /// `verified`, `failed`, `partial` (some inputs no digest covers) or `no-digest-files`.
    pub status: String,
    pub digest_files: Vec<DigestCheck>,
    /// Inputs whose SHA-256 a digest file confirms.
    pub log_files_verified: u64,
    /// Inputs whose content does not match their digest: changed after delivery.
    pub log_files_mismatched: Vec<String>,
    /// Inputs no digest file lists.
    pub log_files_not_covered: Vec<String>,
    /// Log files digests list that are not among the inputs.
    pub log_files_missing: Vec<String>,
    /// Why signatures were or were not checked.
    pub signatures: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestCheck {
    pub location: String,
    pub digest_end_time: Option<String>,
    pub log_files: u64,
    /// `first` (starts a chain), `linked` (the previous digest is here and its hash matches),
    /// `previous-missing`, `previous-mismatch`, `previous-signature-mismatch` (the previous
    /// digest's signature is not the one signed into this digest), or `unreadable: …`.
    pub chain: String,
    /// `valid`; `invalid: …`, `missing: …` (failures); `not-checked: …` (signed, but no key or
    /// an unknown algorithm); `not-available: …` (read from disk, without the S3 metadata).
    pub signature: String,
}

/// One workload in the manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadEntry {
    pub id: String,
    pub kind: String,
    /// The workload's folder in the pack.
    pub directory: String,
    pub permissions: u64,
    pub calls: u64,
    pub denied_calls: u64,
}

/// `workloads/…/evidence.json`: every permission of the workload traced to CloudTrail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkloadEvidence {
    pub format: String,
    pub id: String,
    pub kind: String,
    pub account: Option<String>,
    pub cluster: Option<String>,
    pub namespace: Option<String>,
    pub service_account: Option<String>,
    pub roles: Vec<String>,
    pub attribution: BTreeMap<String, Tally>,
    /// The recommended policy's files in the pack.
    pub policy_files: Vec<String>,
    /// Each observed (action, resource): the evidence for a permission.
    pub permissions: Vec<Permission>,
    /// How observed resources were widened into the policy's (docs/SYNTHESIS.md).
    pub generalizations: Vec<Generalization>,
    /// Calls a policy refused: never granted.
    pub denied: Vec<DeniedCalls>,
    /// Calls whose credentials were rejected before authorization: neither granted nor denied.
    #[serde(default)]
    pub unauthenticated: Vec<DeniedCalls>,
    pub findings: Vec<Finding>,
    /// The diff of each of its roles, when current policies were compared: files in the pack.
    pub diffs: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Permission {
    pub action: String,
    pub resource: String,
    pub calls: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub regions: Vec<String>,
    /// eventIDs of the first and the last call: find them in CloudTrail event history or the
    /// trail's logs.
    pub sample_event_ids: Vec<String>,
    /// Of `calls`, those that failed after IAM allowed them: the permission was used.
    #[serde(default)]
    pub failed_calls: u64,
    /// Their error codes.
    #[serde(default)]
    pub error_codes: Vec<String>,
    /// The calls and request members that imply the permission (`prefix:Operation member`),
    /// when it is not a call's own action.
    #[serde(default)]
    pub implied_by: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Generalization {
    pub rule: String,
    pub action: String,
    pub from: Vec<String>,
    pub from_count: usize,
    pub to: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeniedCalls {
    pub action: String,
    pub resource: String,
    pub calls: u64,
    pub error_codes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    pub kind: String,
    pub message: String,
    pub subjects: Vec<String>,
}

/// Packs written before `generalize_over` was recorded ran with its default.
fn default_generalize_over() -> usize {
    crate::synth::Rules::default().generalize_over
}

fn default_max_managed_policies() -> usize {
    crate::synth::DEFAULT_MAX_MANAGED_POLICIES
}
