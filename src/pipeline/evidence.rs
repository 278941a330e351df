//! An evidence pack from a computed recommendation: the trail's digest files and their
//! signatures checked against the objects read, the configuration as given, the current
//! policies of the diffed roles (docs/EVIDENCE.md).

use std::path::Path;

use anyhow::Context;

use crate::aws::AwsOptions;
use crate::catalog::Catalog;
use crate::diff::RawPolicies;
use crate::evidence::model::{Configuration, Manifest};
use crate::evidence::signature::PublicKeys;
use crate::evidence::{PackInput, digest, write_pack};
use crate::lookup::Lookups;
use crate::report::Recommendation;
use crate::settings::Settings;
use crate::source::LogSource;
use crate::stats::InputStats;

/// What a pack is written from.
pub struct Pack<'a> {
    pub recommendation: &'a Recommendation,
    /// With every object's fingerprint.
    pub input: &'a InputStats,
    /// The trail, to read the digest files it listed (absent for partials).
    pub source: Option<&'a dyn LogSource>,
    pub catalog: &'a Catalog,
    pub lookups: &'a Lookups,
    pub policy_file: Option<&'a RawPolicies>,
    /// CloudTrail's public keys from a file; else asked of cloudtrail:ListPublicKeys.
    pub public_keys: Option<PublicKeys>,
}

/// Checks the objects read against the trail's digest files and writes the pack into `dir`.
pub fn write(dir: &Path, settings: &Settings, pack: Pack<'_>) -> anyhow::Result<Manifest> {
    // The trail's own integrity records, read as the trail lists them.
    let digests = match pack.source {
        Some(source) => digest::read_listed(source, &pack.input.ignored),
        None => Vec::new(),
    };
    // The S3 endpoint (`--endpoint-url`) is not CloudTrail's.
    let aws = AwsOptions {
        endpoint_url: None,
        ..settings.aws.clone()
    };
    let keys = digest::keys_for(&digests, pack.public_keys, &aws);
    let integrity = digest::check(&pack.input.objects, &digests, &keys);
    let current_policies =
        super::current_policies(pack.recommendation, pack.policy_file, pack.lookups);
    write_pack(
        dir,
        PackInput {
            recommendation: pack.recommendation,
            input: pack.input,
            catalog: pack.catalog,
            configuration: configuration(settings)?,
            integrity,
            current_policies,
        },
    )
    .with_context(|| format!("cannot write the evidence pack to {}", dir.display()))
}

/// How the run was configured, as the manifest records it (context files with their hashes).
pub fn configuration(settings: &Settings) -> anyhow::Result<Configuration> {
    let context_files = crate::evidence::context_files(&[
        ("iam-snapshot", &settings.context.iam_snapshot),
        (
            "pod-identity-associations",
            &settings.context.pod_identity_associations,
        ),
        ("policy", &settings.policy),
        ("trail-config", &settings.context.trail_config),
    ])?;
    Ok(Configuration {
        trails: settings.record.trails.clone(),
        since: settings.record.since.clone(),
        until: settings.record.until.clone(),
        clusters: settings.record.clusters.clone(),
        context_files,
        aws: settings.context.aws.is_some(),
        roles: settings.filter.roles.clone(),
        workloads: settings.filter.workloads.clone(),
        diff: settings.diff,
        max_objects: settings.synth.rules.max_objects,
        generalize_over: settings.synth.rules.generalize_over,
        max_managed_policies: settings.synth.max_managed_policies,
        size_limit: settings.synth.size_limit.as_str().to_owned(),
        condition_requested_region: settings.synth.region_condition,
    })
}
