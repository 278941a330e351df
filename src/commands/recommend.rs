//! `iamtrim recommend`: trail → one least-privilege policy per workload.

use std::io::{IsTerminal, Write};
use std::time::Instant;

use anyhow::Context;

use std::collections::BTreeMap;

use crate::aggregate::{Aggregator, JoinContext, Workload, WorkloadKey};
use crate::attribute::ClusterNames;
use crate::catalog::Catalog;
use crate::cli::recommend::{Format, PolicyFormatArg, RecommendArgs, SizeLimitArg};
use crate::commands::progress;
use crate::decode::DecodeLimits;
use crate::diff::{RawPolicies, RoleDiff, RoleUsage};
use crate::exit::Outcome;
use crate::ingest::{IngestConfig, ingest};
use crate::lookup::Lookups;
use crate::aws::AwsOptions;
use crate::policy::render::PolicyFormat;
use crate::report::{self, WorkloadFilter};
use crate::settings::TimeWindow;
use crate::source::LogSource;
use crate::source::local::LocalSource;
use crate::source::lookup_events::LookupEventsSource;
use crate::source::s3::S3Source;
use crate::synth::{Rules, SizeLimit, SynthConfig};

pub fn run(args: &RecommendArgs, quiet: bool, diff_only: bool) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let diff = diff_only || args.diff;
    let Computed {
        recommendation,
        input,
        lookups,
        diff_problems,
        ..
    } = compute(args, quiet, diff, false)?;

    let format = args.format.unwrap_or(if std::io::stdout().is_terminal() {
        Format::Text
    } else {
        Format::Json
    });
    let rendered = match format {
        Format::Json => report::to_json(&recommendation),
        Format::Text if diff_only => report::text::render_diffs(&recommendation),
        Format::Text => report::text::render(&recommendation),
        Format::Terraform => report::files::all_policies(&recommendation, PolicyFormat::Terraform),
        Format::CloudFormation => {
            report::files::all_policies(&recommendation, PolicyFormat::CloudFormation)
        }
    };
    std::io::stdout()
        .lock()
        .write_all(rendered.as_bytes())
        .context("cannot write to stdout")?;
    if let Some(dir) = &args.out {
        let policy_format = match args.policy_format {
            PolicyFormatArg::Json => PolicyFormat::Json,
            PolicyFormatArg::Terraform => PolicyFormat::Terraform,
            PolicyFormatArg::CloudFormation => PolicyFormat::CloudFormation,
        };
        report::files::write_policies(dir, &recommendation, policy_format)
            .with_context(|| format!("cannot write policies to {}", dir.display()))?;
    }

    if !quiet {
        let mut stderr = std::io::stderr().lock();
        for warning in &lookups.summary.warnings {
            let _ = writeln!(stderr, "warning: {warning}");
        }
        for note in &input.source_notes {
            let _ = writeln!(stderr, "note: {note}");
        }
        for skipped in input.skipped.iter().take(20) {
            let _ = writeln!(stderr, "warning: {}: {}", skipped.location, skipped.reason);
        }
        let more = (input.skipped.len().saturating_sub(20)) as u64 + input.skipped_not_listed;
        if more > 0 {
            let _ = writeln!(
                stderr,
                "warning: ... and {more} more problems (see input.skipped in the JSON output)"
            );
        }
        let duplicates = if input.duplicates > 0 {
            format!(", {} duplicate events", input.duplicates)
        } else {
            String::new()
        };
        let _ = writeln!(
            stderr,
            "iamtrim: {} files, {} records, {} workloads, {} skipped, {} ignored{duplicates} in {:.2}s",
            input.files,
            input.records,
            recommendation.workloads.len(),
            input.skipped.len() as u64 + input.skipped_not_listed,
            input.ignored.len(),
            started.elapsed().as_secs_f64()
        );
    }
    let drift = recommendation
        .diffs
        .as_ref()
        .is_some_and(|d| d.iter().any(|d| d.drift));
    Ok(if input.incomplete() || diff_problems {
        Outcome::Incomplete
    } else if drift {
        Outcome::Finding
    } else {
        Outcome::Clean
    })
}

pub(crate) fn synth_config(args: &RecommendArgs) -> SynthConfig {
    SynthConfig {
        rules: Rules {
            max_objects: args.max_objects,
        },
        size_limit: match args.size_limit {
            SizeLimitArg::Managed => SizeLimit::Managed,
            SizeLimitArg::Inline => SizeLimit::Inline,
        },
        region_condition: args.condition_requested_region,
    }
}

/// What `recommend` and `evidence` compute before they render: the recommendation (with diffs
/// when asked), the input counters, and what was read to make them.
pub(crate) struct Computed {
    pub recommendation: report::Recommendation,
    pub input: crate::stats::InputStats,
    pub lookups: Lookups,
    pub policy_file: Option<RawPolicies>,
    pub catalog: std::sync::Arc<Catalog>,
    /// The trail (absent for a call table), to read more of it (digest files).
    pub source: Option<Box<dyn LogSource>>,
    pub diff_problems: bool,
}

pub(crate) fn compute(
    args: &RecommendArgs,
    quiet: bool,
    diff: bool,
    hash_objects: bool,
) -> anyhow::Result<Computed> {
    let policy_file = args
        .policy
        .as_deref()
        .map(read_policy_file)
        .transpose()
        .context("cannot read the current policy")?;
    if diff {
        anyhow::ensure!(
            policy_file.is_some() || args.iam_snapshot.is_some() || args.aws,
            "a diff needs the current policies: give --policy FILE, --iam-snapshot FILE or --aws"
        );
    }
    let mut config = settings(args)?;
    config.hash_objects = hash_objects;
    let mut lookups = lookups(args, config.clusters.clone())?;
    config.clusters = lookups.clusters.clone();
    let mut source = None;
    let (finished, input) = match &args.calls_table {
        #[cfg(feature = "store")]
        Some(table) => crate::commands::calls::workloads_from_table(
            table,
            std::sync::Arc::clone(&config.catalog),
        )
        .context("cannot read the call table")?,
        #[cfg(not(feature = "store"))]
        Some(_) => anyhow::bail!("--calls-table needs iamtrim built with the `store` feature"),
        None => {
            let opened = open_source_with(args, config.window, hash_objects)
                .context("cannot open the trail")?;
            let source = source.insert(opened);
            let mut aggregator = Aggregator::new(JoinContext {
                associations: lookups.associations(),
                clusters: config.clusters.clone(),
            });
            let progress = progress::for_stderr(quiet);
            let input = ingest(&**source, &config, &mut aggregator, &*progress)
                .context("cannot read the trail")?;
            let trust = lookups.trust(&aggregator.unattributed_roles());
            if std::env::var_os("IAMTRIM_STATS").is_some() {
                // For benches/memory.sh: the join's live state, which must follow live sessions.
                let s = aggregator.stats();
                eprintln!(
                    "stats: peak_pending_sessions={} peak_bindings={} retired_pending={} retired_bindings={}",
                    s.peak_pending, s.peak_bindings, s.retired_pending, s.retired_bindings
                );
            }
            (aggregator.finish(&trust), input)
        }
    };
    let filter = WorkloadFilter {
        roles: args.role.clone(),
        workloads: args.workload.clone(),
    };
    let synth = synth_config(args);
    let role_usage = if diff {
        role_usage(&finished)
    } else {
        BTreeMap::new()
    };
    let mut recommendation = report::build(
        finished,
        &input,
        config.window,
        &filter,
        lookups.summary.clone(),
        synth,
    );
    let mut diff_problems = false;
    if diff {
        let diffs = diff_roles(
            &recommendation,
            &args.role,
            &role_usage,
            &lookups,
            policy_file.as_ref(),
            &config.catalog,
            synth,
        );
        diff_problems = diffs.iter().any(|d| !d.problems.is_empty());
        recommendation.diffs = Some(diffs);
    }

    Ok(Computed {
        recommendation,
        input,
        lookups,
        policy_file,
        catalog: config.catalog,
        source,
        diff_problems,
    })
}

/// Local files and folders, or one `s3://` URI.
pub(crate) fn open_source(
    args: &RecommendArgs,
    window: TimeWindow,
) -> anyhow::Result<Box<dyn LogSource>> {
    open_source_with(args, window, false)
}

/// [`open_source`], listing CloudTrail digest files too when `digests` (evidence packs).
pub(crate) fn open_source_with(
    args: &RecommendArgs,
    window: TimeWindow,
    digests: bool,
) -> anyhow::Result<Box<dyn LogSource>> {
    let uris: Vec<&str> = args
        .trail
        .iter()
        .filter_map(|p| p.to_str())
        .filter(|p| p.starts_with("s3://"))
        .collect();
    let lookup = args
        .trail
        .iter()
        .any(|p| p.to_str() == Some(crate::source::lookup_events::URI));
    if lookup {
        anyhow::ensure!(
            args.trail.len() == 1,
            "--trail cloudtrail:lookup cannot be combined with other trails"
        );
        return Ok(Box::new(LookupEventsSource::new(
            &aws_options(args),
            window,
        )?));
    }
    match uris.as_slice() {
        [] => Ok(Box::new(
            LocalSource::new(args.trail.clone())?.with_filter(layout_filter(args)),
        )),
        [uri] if args.trail.len() == 1 => Ok(Box::new(
            S3Source::new(
                uri,
                &aws_options(args),
                args.s3_path_style,
                window,
                layout_filter(args),
            )?
            .with_digests(digests),
        )),
        _ => anyhow::bail!("give either local paths or one s3:// URI as --trail"),
    }
}

fn layout_filter(args: &RecommendArgs) -> crate::source::LayoutFilter {
    crate::source::LayoutFilter {
        accounts: args.trail_account.clone(),
        regions: args.trail_region.clone(),
    }
}

fn aws_options(args: &RecommendArgs) -> AwsOptions {
    AwsOptions {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
    }
}

/// A policy file as the current policy of every role diffed.
pub(crate) fn read_policy_file(path: &std::path::Path) -> anyhow::Result<RawPolicies> {
    let text = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let document: serde_json::Value =
        serde_json::from_slice(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    Ok(RawPolicies {
        source: format!("policy file {}", path.display()),
        identity: vec![(path.display().to_string(), document)],
        ..RawPolicies::default()
    })
}

/// What each role's sessions did, across the workloads that used it.
pub(crate) fn role_usage(finished: &[(WorkloadKey, Workload)]) -> BTreeMap<String, RoleUsage> {
    let mut out: BTreeMap<String, RoleUsage> = BTreeMap::new();
    for (key, workload) in finished {
        for (role, calls) in &workload.calls_by_role {
            let usage = out.entry(role.clone()).or_default();
            for (call, stats) in calls {
                usage
                    .calls
                    .entry(call.clone())
                    .and_modify(|u| u.merge(stats))
                    .or_insert(*stats);
            }
            if let WorkloadKey::ServiceAccount(sa) = key {
                usage
                    .service_accounts
                    .insert(format!("{}/{}", sa.namespace, sa.name));
            }
        }
    }
    out
}

/// Diffs every role of the reported workloads (only those named by `--role`, if given).
pub(crate) fn diff_roles(
    recommendation: &report::Recommendation,
    wanted: &[String],
    usage: &BTreeMap<String, RoleUsage>,
    lookups: &Lookups,
    policy_file: Option<&RawPolicies>,
    catalog: &Catalog,
    synth: SynthConfig,
) -> Vec<RoleDiff> {
    let roles: std::collections::BTreeSet<&String> = recommendation
        .workloads
        .iter()
        .flat_map(|w| &w.roles)
        .filter(|arn| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|w| *arn == w || report::role_name(arn) == Some(w.as_str()))
        })
        .collect();
    let empty = RoleUsage::default();
    roles
        .into_iter()
        .map(|role| {
            let raw = policy_file
                .cloned()
                .or_else(|| lookups.current_policies(role))
                .unwrap_or_else(|| RawPolicies {
                    source: "none".to_owned(),
                    problems: vec![format!(
                        "no current policies found for {role} (not in the IAM snapshot, no --aws)"
                    )],
                    ..RawPolicies::default()
                });
            crate::diff::diff_role(
                role,
                &raw,
                usage.get(role).unwrap_or(&empty),
                lookups.associations_of(role),
                catalog,
                synth,
            )
        })
        .collect()
}

/// Account facts from snapshot files and, with `--aws`, the EKS and IAM APIs.
pub(crate) fn lookups(args: &RecommendArgs, clusters: ClusterNames) -> anyhow::Result<Lookups> {
    let mut lookups = Lookups::new(clusters);
    if let Some(path) = &args.pod_identity_associations {
        lookups
            .add_associations_file(path)
            .context("cannot read the Pod Identity associations")?;
    }
    if let Some(path) = &args.iam_snapshot {
        lookups
            .add_iam_snapshot(path)
            .context("cannot read the IAM snapshot")?;
    }
    if args.aws {
        lookups.add_aws(&aws_options(args));
    }
    Ok(lookups)
}

pub(crate) fn settings(args: &RecommendArgs) -> anyhow::Result<IngestConfig> {
    let now = jiff::Timestamp::now();
    let resolve = |arg: Option<crate::settings::TimeArg>, flag: &str| {
        arg.map(|a| a.resolve(now))
            .transpose()
            .map_err(|e| anyhow::anyhow!("{flag}: {e}"))
    };
    let window = TimeWindow {
        start: resolve(args.since, "--since")?,
        end: resolve(args.until, "--until")?,
    };
    if let (Some(start), Some(end)) = (window.start, window.end) {
        anyhow::ensure!(
            start < end,
            "--since ({start}) must be before --until ({end})"
        );
    }
    let mut clusters = ClusterNames::default();
    for cluster in &args.cluster {
        clusters.add(&cluster.name, &cluster.issuer);
    }
    let threads = args
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    anyhow::ensure!(threads > 0, "--threads must be at least 1");
    let catalog =
        Catalog::resolve(args.catalog.as_deref()).context("cannot load the IAM catalog")?;
    let remote = args.trail.iter().any(|p| {
        p.to_str()
            .is_some_and(|p| p.starts_with("s3://") || p == crate::source::lookup_events::URI)
    });
    let fetch_concurrency = args
        .fetch_concurrency
        .unwrap_or(if remote { 32 } else { threads });
    anyhow::ensure!(
        fetch_concurrency > 0,
        "--fetch-concurrency must be at least 1"
    );
    Ok(IngestConfig {
        catalog: std::sync::Arc::new(catalog),
        threads,
        fetch_concurrency,
        limits: DecodeLimits {
            max_object_bytes: args.max_object_bytes,
            max_record_bytes: args.max_record_bytes,
        },
        window,
        clusters,
        calls_table: false,
        hash_objects: false,
    })
}
