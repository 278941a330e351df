//! `iamtrim evidence`: an evidence pack (docs/EVIDENCE.md), and `evidence verify`.

use anyhow::Context;

use crate::cli::evidence::{EvidenceAction, EvidenceArgs};
use crate::cli::recommend::{PolicyFormatArg, RecommendArgs, SizeLimitArg};
use crate::commands::recommend::{Computed, compute};
use crate::evidence::digest::{Digest, check};
use crate::evidence::model::{Configuration, ContextFile};
use crate::evidence::{PackInput, verify, write_pack};
use crate::exit::Outcome;
use crate::source::{KeyKind, ObjectRef, classify_key};

pub fn run(args: &EvidenceArgs, quiet: bool) -> anyhow::Result<Outcome> {
    if let Some(EvidenceAction::Verify { dir }) = &args.action {
        let problems = verify(dir)?;
        if problems.is_empty() {
            println!(
                "{}: intact (every hash and the manifest check out)",
                dir.display()
            );
            return Ok(Outcome::Clean);
        }
        for problem in &problems {
            println!("{}: {problem}", dir.display());
        }
        println!(
            "{}: NOT intact ({} problems)",
            dir.display(),
            problems.len()
        );
        return Ok(Outcome::Finding);
    }
    let out = args.out.as_ref().context("give --out DIR")?;
    let rec = recommend_args(args);
    let Computed {
        recommendation,
        input,
        lookups,
        policy_file,
        catalog,
        source,
        diff_problems,
    } = compute(&rec, quiet, args.diff, true)?;

    // The trail's own integrity records, read as the trail lists them.
    let mut digests = Vec::new();
    if let Some(source) = &source {
        for ignored in &input.ignored {
            if classify_key(&ignored.location) != KeyKind::Digest {
                continue;
            }
            let object = ObjectRef {
                location: ignored.location.clone(),
                size: None,
                etag: None,
            };
            let content = source
                .fetch(&object)
                .map_err(|e| crate::ingest::error_chain(&e))
                .and_then(|bytes| {
                    crate::decode::inflate_if_gzip(bytes, crate::decode::DecodeLimits::default())
                        .map_err(|e| crate::ingest::error_chain(&e))
                });
            digests.push(Digest {
                location: ignored.location.clone(),
                content,
            });
        }
    }
    let integrity = check(&input.objects, &digests);

    let mut current_policies = std::collections::BTreeMap::new();
    for d in recommendation.diffs.iter().flatten() {
        let raw = policy_file
            .clone()
            .or_else(|| lookups.current_policies(&d.role));
        if let Some(raw) = raw {
            current_policies.insert(d.role.clone(), raw);
        }
    }
    let configuration = configuration(args)?;
    let manifest = write_pack(
        out,
        PackInput {
            recommendation: &recommendation,
            input: &input,
            catalog: &catalog,
            configuration,
            integrity,
            current_policies,
        },
    )
    .with_context(|| format!("cannot write the evidence pack to {}", out.display()))?;
    if args.archive {
        let archive = crate::evidence::archive(out)?;
        if !quiet {
            eprintln!("iamtrim evidence: archived as {}", archive.display());
        }
    }
    if !quiet {
        eprintln!(
            "iamtrim evidence: {} workloads, {} inputs, {} files in {}; log file integrity: {}",
            manifest.workloads.len(),
            manifest.inputs.len(),
            manifest.files.len() + 2,
            out.display(),
            manifest.integrity.status
        );
        for skipped in input.skipped.iter().take(20) {
            eprintln!("warning: {}: {}", skipped.location, skipped.reason);
        }
    }
    let drift = recommendation
        .diffs
        .as_ref()
        .is_some_and(|d| d.iter().any(|d| d.drift));
    Ok(if input.incomplete() || diff_problems {
        Outcome::Incomplete
    } else if drift || manifest.integrity.status == "failed" {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

fn configuration(args: &EvidenceArgs) -> anyhow::Result<Configuration> {
    let mut context_files = Vec::new();
    for (kind, path) in [
        ("iam-snapshot", &args.iam_snapshot),
        ("pod-identity-associations", &args.pod_identity_associations),
        ("policy", &args.policy),
    ] {
        if let Some(path) = path {
            let bytes =
                std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
            context_files.push(ContextFile {
                kind: kind.to_owned(),
                path: path.display().to_string(),
                sha256: crate::aggregate::sha256_hex(&bytes),
            });
        }
    }
    let time = |t: &Option<crate::settings::TimeArg>| {
        t.map(|t| match t {
            crate::settings::TimeArg::At(at) => at.to_string(),
            crate::settings::TimeArg::Ago(span) => format!("{span:#} before the run"),
        })
    };
    Ok(Configuration {
        trails: args.trail.iter().map(|p| p.display().to_string()).collect(),
        since: time(&args.since),
        until: time(&args.until),
        clusters: args
            .cluster
            .iter()
            .map(|c| format!("{}={}", c.name, c.issuer))
            .collect(),
        context_files,
        aws: false,
        roles: args.role.clone(),
        workloads: args.workload.clone(),
        diff: args.diff,
        max_objects: 3,
        size_limit: "managed".to_owned(),
        condition_requested_region: false,
    })
}

fn recommend_args(args: &EvidenceArgs) -> RecommendArgs {
    RecommendArgs {
        trail: args.trail.clone(),
        calls_table: None,
        since: args.since,
        until: args.until,
        trail_account: Vec::new(),
        trail_region: Vec::new(),
        cluster: args.cluster.clone(),
        pod_identity_associations: args.pod_identity_associations.clone(),
        iam_snapshot: args.iam_snapshot.clone(),
        aws: false,
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        s3_path_style: args.s3_path_style,
        diff: args.diff,
        policy: args.policy.clone(),
        role: args.role.clone(),
        workload: args.workload.clone(),
        format: None,
        out: None,
        policy_format: PolicyFormatArg::Json,
        max_objects: 3,
        condition_requested_region: false,
        size_limit: SizeLimitArg::Managed,
        catalog: args.catalog.clone(),
        fetch_concurrency: None,
        threads: args.threads,
        max_object_bytes: 1 << 30,
        max_record_bytes: 16 << 20,
    }
}
