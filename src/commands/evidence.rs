//! `iamtrim evidence`: an evidence pack (docs/EVIDENCE.md), and `evidence verify`.

use anyhow::Context;

use crate::cli::evidence::{EvidenceAction, EvidenceArgs};
use crate::cli::recommend::RecommendArgs;
use crate::commands::recommend::{Computed, compute};
use crate::evidence::digest::check;
use crate::evidence::model::Configuration;
use crate::evidence::{PackInput, verify, write_pack};
use crate::exit::Outcome;

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
    let key_file = args
        .digest_public_keys
        .as_deref()
        .map(crate::evidence::signature::PublicKeys::read)
        .transpose()?;
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
    let digests = match &source {
        Some(source) => crate::evidence::digest::read_listed(&**source, &input.ignored),
        None => Vec::new(),
    };
    let keys = crate::evidence::digest::keys_for(
        &digests,
        key_file,
        &crate::aws::AwsOptions {
            profile: args.profile.clone(),
            region: args.region.clone(),
            endpoint_url: None,
        },
    );
    let integrity = check(&input.objects, &digests, &keys);

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
            "iamtrim evidence: {} workloads, {} inputs, {} files in {}; log file integrity: {} (digest signatures: {})",
            manifest.workloads.len(),
            manifest.inputs.len(),
            manifest.files.len() + 2,
            out.display(),
            manifest.integrity.status,
            manifest.integrity.signatures
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
    let context_files = crate::evidence::context_files(&[
        ("iam-snapshot", &args.iam_snapshot),
        ("pod-identity-associations", &args.pod_identity_associations),
        ("policy", &args.policy),
    ])?;
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
        since: args.since,
        until: args.until,
        cluster: args.cluster.clone(),
        pod_identity_associations: args.pod_identity_associations.clone(),
        iam_snapshot: args.iam_snapshot.clone(),
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        s3_path_style: args.s3_path_style,
        diff: args.diff,
        policy: args.policy.clone(),
        role: args.role.clone(),
        workload: args.workload.clone(),
        catalog: args.catalog.clone(),
        threads: args.threads,
        ..RecommendArgs::for_trails(args.trail.clone())
    }
}
