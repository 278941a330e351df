//! The output contracts, read back strictly: `iamtrim.recommendation/v1` (docs/OUTPUT.md) and the
//! evidence manifest `iamtrim.evidence/v1` (docs/EVIDENCE.md). The models below are the test's
//! own, written from the documentation, and refuse unknown fields: a field added, renamed or
//! retyped in the code without the contract (and this model) changing fails here.

// The models pin every field of the contract; most are read only by deserializing.
#![allow(dead_code)]

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::util::{iamtrim, root, sample_trail};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Recommendation {
    schema: String,
    window: TimeRange,
    input: Input,
    attribution: Attribution,
    shared_roles: Vec<SharedRole>,
    workloads: Vec<Workload>,
    roles: Vec<RoleEntry>,
    unmapped: Vec<Unmapped>,
    #[serde(default)]
    diffs: Option<Vec<RoleDiff>>,
    /// Only with an inventory or cluster-side findings.
    #[serde(default)]
    kubernetes: Option<Kubernetes>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Kubernetes {
    inventories: Vec<InventorySummary>,
    findings: Vec<Finding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InventorySummary {
    source: String,
    cluster: Option<String>,
    service_accounts: u64,
    annotated: u64,
    pods: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleEntry {
    role: String,
    account: Option<String>,
    workloads: Vec<Contribution>,
    findings: Vec<Finding>,
    policy: Option<Policy>,
    policy_size: PolicySize,
    policy_parts: Vec<Policy>,
    generalizations: Vec<Generalization>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Contribution {
    id: String,
    calls: u64,
    share: f64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TimeRange {
    start: Option<String>,
    end: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Input {
    files: u64,
    records: u64,
    bad_records: u64,
    outside_window: u64,
    duplicate_events: u64,
    shared_event_copies: u64,
    exported_event_times: u64,
    no_permission_needed: u64,
    mapped_events: u64,
    not_workload_activity: BTreeMap<String, u64>,
    skipped: Vec<Problem>,
    skipped_not_listed: u64,
    ignored: Vec<Problem>,
    source_notes: Vec<String>,
    coverage: TrailCoverage,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrailCoverage {
    source: String,
    not_recorded: Vec<String>,
    data_events: BTreeMap<String, u64>,
    /// The trail configuration as read (null when inferred).
    trail_config: serde_json::Value,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Problem {
    location: String,
    reason: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Unmapped {
    event_source: String,
    event_name: String,
    count: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Attribution {
    events: Coverage,
    by_evidence: BTreeMap<String, Tally>,
    context: Context,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Coverage {
    service_account: u64,
    role: u64,
    user: u64,
    unattributed: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Tally {
    sessions: u64,
    events: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Context {
    cluster_names: u64,
    pod_identity_associations: u64,
    trust_policies: u64,
    sources: Vec<String>,
    warnings: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedRole {
    role: String,
    service_accounts: Vec<String>,
    recommendation: String,
    split: Vec<SplitRole>,
    apply: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SplitRole {
    service_account: String,
    mechanism: String,
    role_name: String,
    role_arn: String,
    policy: Option<Policy>,
    trust_policy: Option<Value>,
    cluster_change: ClusterChange,
    chained_roles: Vec<String>,
    missing: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClusterChange {
    kind: String,
    cluster: String,
    namespace: String,
    service_account: String,
    /// IRSA only.
    #[serde(default)]
    patch: Option<Value>,
    command: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Workload {
    id: String,
    kind: String,
    account: Option<String>,
    cluster: Option<String>,
    namespace: Option<String>,
    service_account: Option<String>,
    roles: Vec<String>,
    /// Only with `--k8s-inventory`.
    #[serde(default)]
    owners: Vec<String>,
    unattributed_sessions: u64,
    evidence: BTreeMap<String, Tally>,
    findings: Vec<Finding>,
    policy: Option<Policy>,
    policy_size: PolicySize,
    policy_parts: Vec<Policy>,
    policy_by_role: BTreeMap<String, Policy>,
    generalizations: Vec<Generalization>,
    usage: Vec<Usage>,
    denied: Vec<FailedCall>,
    unauthenticated: Vec<FailedCall>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Finding {
    kind: String,
    message: String,
    subjects: Vec<String>,
    /// A JSON pointer to the proposal that resolves it, when there is one.
    #[serde(default)]
    fix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Policy {
    #[serde(rename = "Version")]
    version: String,
    #[serde(rename = "Statement")]
    statements: Vec<Statement>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Statement {
    #[serde(rename = "Sid")]
    sid: Option<String>,
    #[serde(rename = "Effect")]
    effect: String,
    #[serde(rename = "Action")]
    actions: Vec<String>,
    #[serde(rename = "Resource")]
    resources: Vec<String>,
    #[serde(rename = "Condition", default)]
    condition: Option<BTreeMap<String, BTreeMap<String, Vec<String>>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PolicySize {
    characters: u64,
    limit: u64,
    limit_kind: String,
    documents: u64,
    max_documents: u64,
    attachable: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Generalization {
    action: String,
    rule: String,
    from: Vec<String>,
    from_count: u64,
    to: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Usage {
    action: String,
    resource: String,
    count: u64,
    failed_calls: u64,
    error_codes: Vec<String>,
    implied_by: Vec<String>,
    first_seen: String,
    last_seen: String,
    regions: Vec<String>,
    sample_event_ids: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FailedCall {
    action: String,
    resource: String,
    count: u64,
    error_codes: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RoleDiff {
    role: String,
    source: String,
    policies: Vec<String>,
    boundary: Option<String>,
    problems: Vec<String>,
    used_and_granted: Vec<Decided>,
    used_not_granted: Vec<Decided>,
    undecided: Vec<Decided>,
    denied_events: Vec<FailedCall>,
    granted_unused: Vec<UnusedGrant>,
    narrowable: Vec<Narrowable>,
    lint: Vec<Lint>,
    trust: Option<Trust>,
    proposed_policy: Option<Policy>,
    proposed_trust_policy: Option<TrustProposal>,
    /// Only with the usage store.
    days_seen: Option<DaysSeen>,
    drift: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TrustProposal {
    /// A trust policy document (`Version`, `Statement`).
    policy: Value,
    removed: Vec<String>,
    kept: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Decided {
    action: String,
    resource: String,
    count: u64,
    decision: String,
    policy: Option<String>,
    sid: Option<String>,
    condition_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct UnusedGrant {
    action: String,
    access: String,
    flag: Option<String>,
    observable: bool,
    #[serde(default)]
    unobservable_because: Option<String>,
    /// Only with the usage store: the last use before the window.
    last_seen: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Narrowable {
    policy: String,
    sid: Option<String>,
    patterns: Vec<String>,
    not_action: bool,
    grants: u64,
    used_actions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lint {
    policy: String,
    sid: Option<String>,
    kind: String,
    detail: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Trust {
    web_identity: Vec<WebIdentity>,
    pod_identity: bool,
    other_principals: Vec<String>,
    observed_service_accounts: Vec<String>,
    pod_identity_associations: Vec<String>,
    findings: Vec<String>,
    #[serde(default)]
    fix: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WebIdentity {
    provider: String,
    subjects: Vec<String>,
    audiences: Vec<String>,
}

/// Parses `json` with the strict model.
fn strict<T: serde::de::DeserializeOwned>(json: &str, what: &str) -> T {
    serde_json::from_str(json).unwrap_or_else(|e| panic!("{what} does not fit its contract: {e}"))
}

fn recommendation(args: &[&str]) -> Recommendation {
    let run = iamtrim(args);
    // 2 with --diff: roles without current policies in the snapshot cannot be diffed.
    assert!(run.code <= 2 && !run.stdout.is_empty(), "{}", run.stderr);
    let report: Recommendation = strict(&run.stdout, "recommendation");
    assert_eq!(report.schema, "iamtrim.recommendation/v1");
    report
}

#[test]
fn recommendation_v1_reads_back_strictly() {
    let trail = sample_trail();
    let context = root().join("fixtures/sample-context");
    let iam = context.join("iam.json");
    let pia = context.join("pod-identity-associations.json");
    let report = recommendation(&[
        "recommend",
        "--trail",
        trail.to_str().unwrap(),
        "--iam-snapshot",
        iam.to_str().unwrap(),
        "--pod-identity-associations",
        pia.to_str().unwrap(),
        "--diff",
        "--condition-requested-region",
        "--k8s-inventory",
        "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C=fixtures/k8s/shop-prod-irsa.json",
        "--format",
        "json",
    ]);
    // The inventory ties analytics-jobs' sessions to analytics/jobs: one role workload fewer,
    // one service account more.
    assert_eq!(report.workloads.len(), 14);
    assert!(report.kubernetes.is_some());
    assert!(report.shared_roles.iter().all(|s| !s.split.is_empty()));
    assert!(report.workloads.iter().any(|w| !w.owners.is_empty()));
    assert_eq!(report.roles.len(), 13);
    assert_eq!(report.input.records, 126);
    let diffs = report.diffs.as_ref().unwrap();
    assert!(diffs.iter().any(|d| d.trust.is_some()));
    assert!(diffs.iter().any(|d| !d.lint.is_empty()));
    assert!(
        report
            .workloads
            .iter()
            .flat_map(|w| &w.policy)
            .flat_map(|p| &p.statements)
            .all(|s| s.effect == "Allow" && s.condition.is_some())
    );
}

#[test]
fn recommendation_v1_of_the_real_datasets_reads_back_strictly() {
    let dir = root().join("../shared/data/cloudtrail-real");
    if !dir.is_dir() {
        assert!(std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none());
        eprintln!("NOTICE: {} is absent; skipping", dir.display());
        return;
    }
    let report = recommendation(&[
        "recommend",
        "--trail",
        dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(report.workloads.len() > 50);
    assert!(
        report
            .workloads
            .iter()
            .any(|w| !w.generalizations.is_empty())
    );
    assert!(!report.unmapped.is_empty() || report.input.mapped_events > 0);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    format: String,
    tool: BTreeMap<String, String>,
    catalog: BTreeMap<String, String>,
    configuration: Configuration,
    window: ManifestWindow,
    inputs: Vec<InputObject>,
    input: ManifestInput,
    attribution: ManifestAttribution,
    integrity: Integrity,
    workloads: Vec<ManifestWorkload>,
    files: BTreeMap<String, String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Configuration {
    trails: Vec<String>,
    since: Option<String>,
    until: Option<String>,
    clusters: Vec<String>,
    context_files: Vec<ContextFile>,
    aws: bool,
    roles: Vec<String>,
    workloads: Vec<String>,
    diff: bool,
    max_objects: u64,
    generalize_over: u64,
    max_managed_policies: u64,
    size_limit: String,
    condition_requested_region: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContextFile {
    kind: String,
    path: String,
    sha256: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestWindow {
    start: Option<String>,
    end: Option<String>,
    first_call: Option<String>,
    last_call: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InputObject {
    location: String,
    size: u64,
    etag: Option<String>,
    sha256: String,
    content_sha256: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestInput {
    files: u64,
    records: u64,
    bad_records: u64,
    duplicate_events: u64,
    shared_event_copies: u64,
    exported_event_times: u64,
    outside_window: u64,
    no_permission_needed: u64,
    mapped_events: u64,
    not_workload_activity: BTreeMap<String, u64>,
    skipped: Vec<Problem>,
    skipped_not_listed: u64,
    ignored: Vec<Problem>,
    unmapped: Vec<Unmapped>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestAttribution {
    events: BTreeMap<String, u64>,
    by_evidence: BTreeMap<String, Tally>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Integrity {
    status: String,
    signatures: String,
    log_files_verified: u64,
    log_files_mismatched: Vec<Value>,
    log_files_missing: Vec<Value>,
    log_files_not_covered: Vec<Value>,
    digest_files: Vec<DigestFile>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestFile {
    location: String,
    digest_end_time: Option<String>,
    log_files: u64,
    chain: String,
    signature: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestWorkload {
    id: String,
    kind: String,
    directory: String,
    permissions: u64,
    calls: u64,
    denied_calls: u64,
}

#[test]
fn the_evidence_manifest_reads_back_strictly() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pack");
    let trail = sample_trail();
    let iam = root().join("fixtures/sample-context/iam.json");
    let run = iamtrim(&[
        "evidence",
        "--out",
        out.to_str().unwrap(),
        "--trail",
        trail.to_str().unwrap(),
        "--iam-snapshot",
        iam.to_str().unwrap(),
        "--diff",
    ]);
    assert!(run.code <= 2, "{}", run.stderr);
    let text = std::fs::read_to_string(out.join("manifest.json")).unwrap();
    let manifest: Manifest = strict(&text, "manifest.json");
    assert_eq!(manifest.format, "iamtrim.evidence/v1");
    assert_eq!(manifest.tool["name"], "iamtrim");
    assert_eq!(manifest.inputs.len(), manifest.input.files as usize);
    assert_eq!(manifest.configuration.max_objects, 3);
    assert_eq!(manifest.configuration.context_files[0].kind, "iam-snapshot");
    assert_eq!(manifest.integrity.status, "verified");
    assert!(manifest.integrity.digest_files.len() > 1);
    assert_eq!(manifest.workloads.len(), 14);
    assert!(manifest.files.contains_key("report.md"));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct DaysSeen {
    days: u32,
    window_days: u32,
}
