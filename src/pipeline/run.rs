//! The scheduled batch job (`iamtrim run`):
//!
//! 1. lists the trail and ingests, one CloudTrail delivery day at a time, the objects the usage
//!    store does not hold yet (`store::ingest`);
//! 2. recommends from the store, over the configured window of days, never from raw logs;
//! 3. writes `recommendation.json`, `recommendation.txt`, `policies/` and, when configured, an
//!    evidence pack and a copy on S3.
//!
//! With `reingest`, it fills a new store beside the old one (held locked meanwhile) and swaps them
//! once the rebuild read everything; a failed rebuild leaves the old store as it was.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;

use crate::aggregate::{Aggregator, JoinContext};
use crate::diff::{DaysSeen, RoleHistory};
use crate::evidence::model::Manifest;
use crate::lookup::Lookups;
use crate::report::{self, Recommendation};
use crate::settings::run::RunSettings;
use crate::source::LogSource;
use crate::stats::InputStats;
use crate::store::ingest::{Log, Ran, ingest_new, ingest_partials};
use crate::store::{self, Store};
use crate::window::TimeWindow;

/// What a run did, for its summary.
pub struct RunReport {
    pub ran: Ran,
    pub recommendation: Recommendation,
    /// The window's input counters, as stored.
    pub input: InputStats,
    pub lookups: Lookups,
    /// The window's first and last day, when the store holds any.
    pub range: Option<(String, String)>,
    pub diff_problems: bool,
    pub evidence: Option<(PathBuf, Manifest)>,
    pub uploaded: usize,
    pub store_days: usize,
    pub store_objects: u64,
    pub days_outside_window: usize,
    pub records_outside_window: u64,
    /// `Some(true)` when a reingest replaced the store, `Some(false)` when it was refused.
    pub reingested: Option<bool>,
    /// A day delivered after later days were stored: the store was rebuilt for it.
    pub late_day: Option<String>,
}

impl RunReport {
    /// A window without a single record is no recommendation: an unattended job must not read
    /// it as "nothing to change" (#31).
    pub fn empty_window(&self) -> bool {
        self.input.counts.records == 0
    }

    pub fn incomplete(&self) -> bool {
        self.ran.incomplete()
            || self.input.incomplete()
            || self.diff_problems
            || self.empty_window()
    }

    pub fn finding(&self) -> bool {
        super::finding(&self.recommendation)
            || self
                .evidence
                .as_ref()
                .is_some_and(|(_, m)| m.integrity.status == "failed")
    }
}

/// Runs the batch job: ingest, recommend from the store, write the outputs.
/// With `partials`, the new days come from a partials stream instead of the trail.
pub fn run(
    settings: &RunSettings,
    reingest: bool,
    partials: Option<&std::path::Path>,
    log: &dyn Log,
) -> anyhow::Result<RunReport> {
    run_from(
        settings,
        reingest,
        settings.first_listed_day(),
        partials,
        log,
    )
}

/// [`run`], listing from `first_day`. A day delivered after later days were stored (its
/// sessions may be the ones calls in those days used) makes the run rebuild the store, as
/// `--reingest` does, from the store's first day or `first_day`, whichever is earlier: no day
/// the store holds is lost, and the join runs over the days in order as on the raw logs.
fn run_from(
    settings: &RunSettings,
    reingest: bool,
    first_day: Option<String>,
    partials: Option<&std::path::Path>,
    log: &dyn Log,
) -> anyhow::Result<RunReport> {
    let common = &settings.common;
    let (rebuild, _held) = if reingest {
        let held = Store::open(&settings.store).context("cannot open the usage store")?;
        let rebuild = store::reingest_path(&settings.store);
        if rebuild.exists() {
            std::fs::remove_dir_all(&rebuild)
                .with_context(|| format!("cannot clear {}", rebuild.display()))?;
        }
        (Some(rebuild), Some(held))
    } else {
        (None, None)
    };
    let mut store = Store::open(rebuild.as_deref().unwrap_or(&settings.store))
        .context("cannot open the usage store")?;
    let spec = common.source().context("the batch job reads log files")?;
    // Built with `--partials` too: the evidence pack reads the trail's digest files through it.
    let source = spec
        .build(settings.listing, settings.output.evidence)
        .context("cannot open the trail")?;
    let mut config = common.ingest.clone();
    let mut lookups = super::lookups(&common.context, config.clusters.clone())?;
    config.clusters = lookups.clusters.clone();
    let context = JoinContext {
        associations: lookups.associations(),
        clusters: config.clusters.clone(),
    };

    let mut aggregator = Aggregator::new(context.clone());
    aggregator
        .import_state(store.state()?)
        .map_err(anyhow::Error::msg)
        .context("the usage store's join state is damaged")?;
    let ran = match partials {
        Some(path) => {
            let (mut input, name) = crate::partials::open(path)?;
            let ran = ingest_partials(
                &mut *input,
                &name,
                first_day.as_deref(),
                &mut store,
                &mut aggregator,
                log,
            )?;
            if let Some(late) = &ran.late_day {
                anyhow::bail!(
                    "the partials stream has new objects of day {late}, before days the store \
                     holds: the days after it would change; seed a new store (or --reingest) \
                     from a stream that starts at or before {late}"
                );
            }
            ran
        }
        None => ingest_new(
            &*source,
            &config,
            first_day.as_deref(),
            !reingest,
            &mut store,
            &mut aggregator,
            log,
        )?,
    };
    drop(aggregator);
    if let Some(late) = ran.late_day.clone() {
        let oldest = store
            .manifest()
            .days
            .keys()
            .find(|d| d.as_str() != store::UNDATED)
            .cloned();
        // No `since` lists everything; else from the earliest of `since`, the store's first
        // day and the late day.
        let from = first_day.map(|f| {
            [Some(f), oldest, Some(late.clone())]
                .into_iter()
                .flatten()
                .min()
                .unwrap_or_default()
        });
        log.warn(&format!(
            "note: day {late} has objects delivered after later days were stored; rebuilding the \
             store{} so sessions that span days are joined as on the raw logs (as --reingest)",
            from.as_deref()
                .map(|f| format!(" from {f}"))
                .unwrap_or_default()
        ));
        drop(store);
        let mut report = run_from(settings, true, from, None, log)?;
        report.late_day = Some(late);
        return Ok(report);
    }

    // The recommendation comes from the store alone.
    let window_days = store::window_days(store.manifest(), settings.window_days, &settings.listing);
    let window_span = window_days.span_days();
    let store::DayWindow { days, range } = window_days;
    let (settled, input) = store.read_days(&days)?;
    let mut aggregator = Aggregator::new(context);
    aggregator
        .import_state(store.state()?)
        .map_err(anyhow::Error::msg)
        .context("the usage store's join state is damaged")?;
    aggregator.load_settled(settled);
    let trust = lookups.trust(&aggregator.unattributed_roles());
    let mut finished = aggregator.finish(&trust);
    super::iam_paths::resolve(&mut finished, &lookups.iam_entities());
    let role_usage = if common.diff {
        super::role_usage(&finished)
    } else {
        BTreeMap::new()
    };
    let window = match &range {
        Some((first, last)) => TimeWindow {
            start: store::midnight(first, 0),
            end: store::midnight(last, 1),
        },
        None => TimeWindow::default(),
    };
    let mut recommendation = report::build(
        finished,
        &input,
        window,
        &common.filter,
        lookups.summary.clone(),
        common.synth,
        lookups.cluster_facts(),
    );
    super::cluster_side(&lookups, &mut recommendation);
    let policy_file = common
        .policy
        .as_deref()
        .map(crate::diff::RawPolicies::from_policy_file)
        .transpose()
        .context("cannot read the current policy")?;
    let observe = super::observability(common, &input, &mut lookups, &mut recommendation)?;
    let mut diff_problems = false;
    let history = if common.diff {
        role_history(&store, &days, range.as_ref(), window_span)?
    } else {
        BTreeMap::new()
    };
    if common.diff {
        let diffs = super::diff_roles(
            &recommendation,
            &common.filter.roles,
            &role_usage,
            &super::DiffContext {
                lookups: &lookups,
                policy_file: policy_file.as_ref(),
                catalog: &config.catalog,
                synth: common.synth,
                observe: &observe,
                drop_unobservable: common.drop_unobservable,
                history: Some(&history),
            },
        );
        diff_problems = diffs.iter().any(|d| !d.problems.is_empty());
        recommendation.diffs = Some(diffs);
    }
    report::link_fixes(&mut recommendation);
    let out = &settings.output.dir;
    report::files::write_outputs(out, &recommendation, common.policy_format)
        .with_context(|| format!("cannot write to {}", out.display()))?;
    let evidence = if settings.output.evidence {
        let (first, last) = range.clone().unwrap_or_default();
        let pack_dir = out.join(format!("evidence-{first}-{last}"));
        let manifest = write_evidence(
            &pack_dir,
            settings,
            &store,
            &days,
            &*source,
            &recommendation,
            &input,
            &lookups,
            policy_file.as_ref(),
        )
        .with_context(|| format!("cannot write the evidence pack {}", pack_dir.display()))?;
        log.event(
            "evidence",
            serde_json::json!({
                "pack": pack_dir.display().to_string(),
                "integrity": manifest.integrity.status,
                "inputs": manifest.inputs.len(),
            }),
            &|| {
                format!(
                    "evidence pack {} ({} inputs, log file integrity: {})",
                    pack_dir.display(),
                    manifest.inputs.len(),
                    manifest.integrity.status
                )
            },
        );
        Some((pack_dir, manifest))
    } else {
        None
    };
    let uploaded = match &settings.output.s3 {
        Some(uri) => crate::report::upload::upload_dir(out, uri, &common.aws, common.s3_path_style)
            .with_context(|| format!("cannot copy the outputs to {uri}"))?,
        None => 0,
    };
    let manifest = store.manifest();
    let store_objects: u64 = manifest.days.values().map(|d| d.object_count).sum();
    let outside: Vec<&String> = manifest.days.keys().filter(|d| !days.contains(d)).collect();
    let records_outside_window = store.records_of(outside.iter().copied())?;
    let mut report = RunReport {
        ran,
        recommendation,
        input,
        lookups,
        range,
        diff_problems,
        evidence,
        uploaded,
        store_days: manifest.days.len(),
        store_objects,
        days_outside_window: outside.len(),
        records_outside_window,
        reingested: None,
        late_day: None,
    };
    // Last: everything read from the rebuilt store has been read. A rebuild that could not read
    // everything, or read nothing for the window, is not swapped in: the old store stays.
    if let Some(rebuild) = &rebuild {
        let refused = report.ran.incomplete() || report.empty_window();
        if !refused {
            drop(store);
            store::swap_in(rebuild, &settings.store)?;
        }
        report.reingested = Some(!refused);
    }
    Ok(report)
}

/// The evidence pack of a scheduled run: the window's stored objects (with the hashes recorded
/// when they were ingested), the digest files listed in those days, the store's recommendation.
#[allow(clippy::too_many_arguments)]
fn write_evidence(
    dir: &std::path::Path,
    settings: &RunSettings,
    store: &Store,
    days: &[String],
    source: &dyn LogSource,
    recommendation: &Recommendation,
    input: &InputStats,
    lookups: &Lookups,
    policy_file: Option<&crate::diff::RawPolicies>,
) -> anyhow::Result<Manifest> {
    let mut input = input.clone();
    for day in days {
        for row in store.objects(day)? {
            input.objects.push(crate::hash::ObjectFingerprint {
                location: row.location,
                size: row.size.unwrap_or_default(),
                etag: row.etag,
                sha256: row.sha256.unwrap_or_default(),
                content_sha256: row.content_sha256,
            });
        }
    }
    input.objects.sort();
    let public_keys = settings
        .output
        .evidence_public_keys
        .as_deref()
        .map(crate::evidence::signature::PublicKeys::read)
        .transpose()?;
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    let manifest = super::evidence::write(
        dir,
        &settings.common,
        super::evidence::Pack {
            recommendation,
            input: &input,
            source: Some(source),
            catalog: &settings.common.ingest.catalog,
            lookups,
            policy_file,
            public_keys,
        },
    )?;
    crate::evidence::archive(dir)?;
    Ok(manifest)
}

/// What the store knows of each role beyond the window: its last use of each action in the days
/// before it, and on how many of the window's days it made calls.
fn role_history(
    store: &Store,
    days: &[String],
    range: Option<&(String, String)>,
    window_days: u32,
) -> anyhow::Result<BTreeMap<String, RoleHistory>> {
    let found = store::history(store.root(), store.manifest(), days)
        .context("cannot read the usage store's history")?;
    let mut out: BTreeMap<String, RoleHistory> = BTreeMap::new();
    let start = range.map(|(first, _)| first.clone()).unwrap_or_default();
    for ((role, action), last) in found.last_used_before {
        out.entry(role)
            .or_insert_with(|| RoleHistory {
                window_start: start.clone(),
                ..RoleHistory::default()
            })
            .last_used_before
            .insert(action, last);
    }
    for (role, seen) in found.days_seen {
        out.entry(role)
            .or_insert_with(|| RoleHistory {
                window_start: start.clone(),
                ..RoleHistory::default()
            })
            .days_seen = Some(DaysSeen {
            days: seen,
            window_days,
        });
    }
    Ok(out)
}
