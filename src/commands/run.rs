//! `iamtrim run --config iamtrim.toml`: the scheduled batch job.
//!
//! 1. Lists the trail and ingests, one CloudTrail delivery day at a time, only the objects the
//!    usage store does not hold yet; each day is one atomic commit (its usage rows, its objects,
//!    the session join's live state), so a killed run loses at most the day it was reading.
//! 2. Recommends from the store, over the configured window of days, never from raw logs.
//! 3. Writes `recommendation.json`, `recommendation.txt` and `policies/` into the output folder.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::mpsc::sync_channel;
use std::time::Instant;

use anyhow::Context;
use jiff::Timestamp;

use crate::aggregate::{Aggregator, JoinContext};
use crate::cli::run::{LogFormat, RunArgs};
use crate::commands::recommend;
use crate::config::Config;
use crate::exit::Outcome;
use crate::ingest::{IngestConfig, Silent, ingest};
use crate::policy::render::PolicyFormat;
use crate::report::{self, WorkloadFilter};
use crate::settings::TimeWindow;
use crate::source::{Listing, LogSource, ObjectRef, SourceError};
use crate::store::{self, DayInput, ObjectRow, Problem, Store, UNDATED};

pub fn run(args: &RunArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let config = Config::load(&args.config)?;
    if args.check_config {
        println!(
            "{}: valid (store {}, {} trail(s), window {} days, output {})",
            args.config.display(),
            config.store.path.display(),
            config.source.trails.len(),
            config.report.window_days,
            config.output.dir.display()
        );
        return Ok(Outcome::Clean);
    }
    let log = Log {
        json: args.log_format == LogFormat::Json,
        quiet,
    };
    let started = Instant::now();
    let rec = config.recommend_args();
    // With --reingest the run fills a new store beside the old one (held locked meanwhile) and
    // swaps them once it succeeded; a failed rebuild leaves the old store as it was.
    let (rebuild, _held) = if args.reingest {
        let held = Store::open(&config.store.path).context("cannot open the usage store")?;
        let rebuild = reingest_path(&config.store.path);
        if rebuild.exists() {
            std::fs::remove_dir_all(&rebuild)
                .with_context(|| format!("cannot clear {}", rebuild.display()))?;
        }
        (Some(rebuild), Some(held))
    } else {
        (None, None)
    };
    let mut store = Store::open(rebuild.as_deref().unwrap_or(&config.store.path))
        .context("cannot open the usage store")?;
    let mut ingest_config = recommend::settings(&rec)?;
    // Objects are recorded with their hashes, for evidence packs (SHA-256 costs little beside
    // inflating).
    ingest_config.hash_objects = true;
    // The store keeps every record of every object it reads: the window applies when a report
    // reads the store (the latest `window_days` days), never when records enter it. `since` only
    // prunes which days are listed, so a day it leaves out is not marked ingested and a wider
    // `since` reads it later (#31).
    let listing = ingest_config.window;
    ingest_config.window = TimeWindow::default();
    let source = recommend::open_source_with(&rec, listing, config.output.evidence)
        .context("cannot open the trail")?;
    let mut lookups = recommend::lookups(&rec, ingest_config.clusters.clone())?;
    ingest_config.clusters = lookups.clusters.clone();
    let context = JoinContext {
        associations: lookups.associations(),
        clusters: ingest_config.clusters.clone(),
    };

    let mut aggregator = Aggregator::new(context.clone());
    aggregator
        .import_state(store.state()?)
        .map_err(anyhow::Error::msg)
        .context("the usage store's join state is damaged")?;
    // A day's margin before `since`: a day folder holds events up to a few hours older.
    let first_listed = listing
        .start
        .and_then(|at| at.checked_sub(jiff::SignedDuration::from_hours(24)).ok())
        .map(|at| at.strftime("%Y-%m-%d").to_string());
    let ran = ingest_new(
        &*source,
        &ingest_config,
        first_listed.as_deref(),
        &mut store,
        &mut aggregator,
        &log,
    )?;
    drop(aggregator);

    // The recommendation comes from the store alone.
    let (days, range) = store::window_days(store.manifest(), config.report.window_days);
    let (settled, input) = store.read_days(&days)?;
    let mut aggregator = Aggregator::new(context);
    aggregator
        .import_state(store.state()?)
        .map_err(anyhow::Error::msg)
        .context("the usage store's join state is damaged")?;
    aggregator.load_settled(settled);
    let trust = lookups.trust(&aggregator.unattributed_roles());
    let finished = aggregator.finish(&trust);
    let role_usage = if rec.diff {
        recommend::role_usage(&finished)
    } else {
        BTreeMap::new()
    };
    let window = match &range {
        Some((first, last)) => TimeWindow {
            start: midnight(first, 0),
            end: midnight(last, 1),
        },
        None => TimeWindow::default(),
    };
    let filter = WorkloadFilter {
        roles: rec.role.clone(),
        workloads: rec.workload.clone(),
    };
    let synth = recommend::synth_config(&rec);
    let mut recommendation = report::build(
        finished,
        &input,
        window,
        &filter,
        lookups.summary.clone(),
        synth,
    );
    let mut diff_problems = false;
    if rec.diff {
        let policy_file = rec
            .policy
            .as_deref()
            .map(recommend::read_policy_file)
            .transpose()
            .context("cannot read the current policy")?;
        let diffs = recommend::diff_roles(
            &recommendation,
            &rec.role,
            &role_usage,
            &lookups,
            policy_file.as_ref(),
            &ingest_config.catalog,
            synth,
        );
        diff_problems = diffs.iter().any(|d| !d.problems.is_empty());
        recommendation.diffs = Some(diffs);
    }
    let policy_format = match rec.policy_format {
        crate::cli::recommend::PolicyFormatArg::Json => PolicyFormat::Json,
        crate::cli::recommend::PolicyFormatArg::Terraform => PolicyFormat::Terraform,
        crate::cli::recommend::PolicyFormatArg::CloudFormation => PolicyFormat::CloudFormation,
    };
    write_outputs(&config.output.dir, &recommendation, policy_format)
        .with_context(|| format!("cannot write to {}", config.output.dir.display()))?;
    let mut integrity_failed = false;
    if config.output.evidence {
        let (first, last) = range.clone().unwrap_or_default();
        let pack_dir = config.output.dir.join(format!("evidence-{first}-{last}"));
        let manifest = write_run_evidence(
            &pack_dir,
            &store,
            &days,
            &*source,
            &recommendation,
            &input,
            &ingest_config.catalog,
            &lookups,
            &rec,
            &config,
        )
        .with_context(|| format!("cannot write the evidence pack {}", pack_dir.display()))?;
        integrity_failed = manifest.integrity.status == "failed";
        log.event(
            "evidence",
            serde_json::json!({
                "pack": pack_dir.display().to_string(),
                "integrity": manifest.integrity.status,
                "inputs": manifest.inputs.len(),
            }),
            || {
                format!(
                    "evidence pack {} ({} inputs, log file integrity: {})",
                    pack_dir.display(),
                    manifest.inputs.len(),
                    manifest.integrity.status
                )
            },
        );
    }
    let uploaded = match &config.output.s3 {
        Some(uri) => {
            let options = crate::aws::AwsOptions {
                profile: rec.profile.clone(),
                region: rec.region.clone(),
                endpoint_url: rec.endpoint_url.clone(),
            };
            crate::report::upload::upload_dir(&config.output.dir, uri, &options, rec.s3_path_style)
                .with_context(|| format!("cannot copy the outputs to {uri}"))?
        }
        None => 0,
    };

    for warning in &lookups.summary.warnings {
        log.warn(&format!("warning: {warning}"));
    }
    let drift = recommendation
        .diffs
        .as_ref()
        .is_some_and(|d| d.iter().any(|d| d.drift));
    // A window without a single record is no recommendation: an unattended job must not read it
    // as "nothing to change" (#31). Exit 2, like incomplete input, and say why.
    let empty_window = input.records == 0;
    if empty_window {
        log.warn(&format!(
            "warning: the window holds no usage: {}",
            match &range {
                None => "the store holds no day of the trail (is `source.since` after every day \
                         of it? days before it are not listed)"
                    .to_owned(),
                Some((first, last)) => format!("no records in {first}..{last}"),
            }
        ));
    }
    let incomplete = ran.incomplete() || input.incomplete() || diff_problems || empty_window;
    let outcome = if incomplete {
        Outcome::Incomplete
    } else if drift || integrity_failed {
        Outcome::Finding
    } else {
        Outcome::Clean
    };
    let manifest = store.manifest();
    let stored_objects: u64 = manifest.days.values().map(|d| d.object_count).sum();
    let outside: Vec<&String> = manifest.days.keys().filter(|d| !days.contains(d)).collect();
    let records_outside = store.records_of(outside.iter().copied())?;
    // Last: everything read from the rebuilt store has been read.
    // A rebuild that could not read everything, or read nothing for the window, is not swapped
    // in: the old store stays.
    if let Some(rebuild) = &rebuild {
        if ran.incomplete() || empty_window {
            log.warn(&format!(
                "warning: not reingested: the rebuild could not read every object or listing, \
                 or its window holds no usage; {} is unchanged and the rebuild is left in {}",
                config.store.path.display(),
                rebuild.display()
            ));
        } else {
            swap_in(rebuild, &config.store.path)?;
            log.warn(&format!(
                "reingested: {} replaces the store it was rebuilt from",
                config.store.path.display()
            ));
        }
    }
    let (first, last) = range.unwrap_or_default();
    log.event(
        "summary",
        serde_json::json!({
            "new_objects": ran.new_objects,
            "new_records": ran.new_records,
            "days_committed": ran.days_committed,
            "already_ingested": ran.already_ingested,
            "unread": ran.unread.len(),
            "changed_since_ingest": ran.changed.len(),
            "listing_failures": ran.listing_failures.len(),
            "store_days": manifest.days.len(),
            "store_objects": stored_objects,
            "records_outside_window": records_outside,
            "window_first_day": first,
            "window_last_day": last,
            "workloads": recommendation.workloads.len(),
            "uploaded": uploaded,
            "input_skipped": input.skipped.len() as u64 + input.skipped_not_listed,
            "drift": drift,
            "exit_status": outcome.code(),
            "seconds": (started.elapsed().as_secs_f64() * 100.0).round() / 100.0,
        }),
        || {
            format!(
                "iamtrim run: {} new objects ({} records) in {} days, {} already in the store, {} unread; store holds {} days, {} objects ({} records in {} days outside the window); {} workloads over {first}..{last}; {} skipped input problems in the window; wrote {} in {:.2}s",
                ran.new_objects,
                ran.new_records,
                ran.days_committed,
                ran.already_ingested,
                ran.unread.len(),
                manifest.days.len(),
                stored_objects,
                records_outside,
                outside.len(),
                recommendation.workloads.len(),
                input.skipped.len() as u64 + input.skipped_not_listed,
                config.output.dir.display(),
                started.elapsed().as_secs_f64()
            )
        },
    );
    Ok(outcome)
}

/// The evidence pack of a scheduled run: the window's stored objects (with the hashes recorded
/// when they were ingested), the digest files listed in those days, the store's recommendation.
#[allow(clippy::too_many_arguments)]
fn write_run_evidence(
    dir: &Path,
    store: &Store,
    days: &[String],
    source: &dyn LogSource,
    recommendation: &report::Recommendation,
    input: &crate::stats::InputStats,
    catalog: &crate::catalog::Catalog,
    lookups: &crate::lookup::Lookups,
    rec: &crate::cli::recommend::RecommendArgs,
    config: &Config,
) -> anyhow::Result<crate::evidence::model::Manifest> {
    use crate::evidence::model::Configuration;
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
    let digests = crate::evidence::digest::read_listed(source, &input.ignored);
    let key_file = config
        .output
        .evidence_public_keys
        .as_deref()
        .map(crate::evidence::signature::PublicKeys::read)
        .transpose()?;
    let keys = crate::evidence::digest::keys_for(
        &digests,
        key_file,
        &crate::aws::AwsOptions {
            profile: rec.profile.clone(),
            region: rec.region.clone(),
            endpoint_url: None,
        },
    );
    let integrity = crate::evidence::digest::check(&input.objects, &digests, &keys);
    let mut current_policies = BTreeMap::new();
    for d in recommendation.diffs.iter().flatten() {
        let raw = rec
            .policy
            .as_deref()
            .map(recommend::read_policy_file)
            .transpose()?
            .or_else(|| lookups.current_policies(&d.role));
        if let Some(raw) = raw {
            current_policies.insert(d.role.clone(), raw);
        }
    }
    let context_files = crate::evidence::context_files(&[
        ("iam-snapshot", &rec.iam_snapshot),
        ("pod-identity-associations", &rec.pod_identity_associations),
        ("policy", &rec.policy),
    ])?;
    let configuration = Configuration {
        trails: config.source.trails.clone(),
        since: config.source.since.clone(),
        until: None,
        clusters: config
            .clusters
            .iter()
            .map(|c| format!("{}={}", c.name, c.issuer))
            .collect(),
        context_files,
        aws: config.context.aws,
        roles: config.report.roles.clone(),
        workloads: config.report.workloads.clone(),
        diff: config.report.diff,
        max_objects: config.policy.max_objects,
        size_limit: match config.policy.size_limit {
            crate::config::SizeLimit::Managed => "managed".to_owned(),
            crate::config::SizeLimit::Inline => "inline".to_owned(),
        },
        condition_requested_region: config.policy.condition_requested_region,
    };
    if dir.exists() {
        std::fs::remove_dir_all(dir)
            .with_context(|| format!("cannot replace {}", dir.display()))?;
    }
    let manifest = crate::evidence::write_pack(
        dir,
        crate::evidence::PackInput {
            recommendation,
            input: &input,
            catalog,
            configuration,
            integrity,
            current_policies,
        },
    )?;
    crate::evidence::archive(dir)?;
    Ok(manifest)
}

fn midnight(day: &str, plus_days: i64) -> Option<Timestamp> {
    let date: jiff::civil::Date = day.parse().ok()?;
    let date = date.checked_add(jiff::Span::new().days(plus_days)).ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// What this run read (the store's totals are in its manifest).
#[derive(Default)]
struct Ran {
    new_objects: u64,
    new_records: u64,
    days_committed: u64,
    already_ingested: u64,
    /// Objects that could not be fetched; the next run tries them again.
    unread: Vec<String>,
    /// Objects ingested before whose ETag has changed since: not read again.
    changed: Vec<String>,
    listing_failures: Vec<Problem>,
}

impl Ran {
    fn incomplete(&self) -> bool {
        !self.unread.is_empty() || !self.listing_failures.is_empty()
    }
}

/// The objects of one delivery day (or of the undated partition), as listed.
#[derive(Default)]
struct DayGroup {
    objects: Vec<ObjectRef>,
    ignored: Vec<Problem>,
    watermark: Option<Timestamp>,
}

enum Listed {
    Day(String, DayGroup),
    Failed(Problem),
    Note(String),
    Done(Result<(), SourceError>),
}

/// The delivery day in an object's location (`…/CloudTrail/<region>/YYYY/MM/DD/<file>`; digest
/// files, under `CloudTrail-Digest/`, belong to the same day).
fn day_of(location: &str) -> String {
    let parts: Vec<&str> = location
        .split(['/', '\\'])
        .map(|p| {
            if p == "CloudTrail-Digest" {
                "CloudTrail"
            } else {
                p
            }
        })
        .collect();
    parts
        .split_last()
        .and_then(|(_, folders)| crate::source::delivery_day(folders))
        .map_or_else(|| UNDATED.to_owned(), |d| d.to_string())
}

/// Lists the source and ingests every object the store does not hold, day by day; objects of
/// delivery days before `first_day` are not listed (undated ones always are).
fn ingest_new(
    source: &dyn LogSource,
    config: &IngestConfig,
    first_day: Option<&str>,
    store: &mut Store,
    aggregator: &mut Aggregator,
    log: &Log,
) -> anyhow::Result<Ran> {
    let mut ran = Ran::default();
    let (tx, rx) = sync_channel::<Listed>(1);
    std::thread::scope(|scope| -> anyhow::Result<()> {
        scope.spawn(move || {
            let mut groups: BTreeMap<String, DayGroup> = BTreeMap::new();
            let flush = |groups: &mut BTreeMap<String, DayGroup>,
                         tx: &std::sync::mpsc::SyncSender<Listed>| {
                for (day, group) in std::mem::take(groups) {
                    if tx.send(Listed::Day(day, group)).is_err() {
                        return;
                    }
                }
            };
            let before_since =
                |day: &str| day != UNDATED && first_day.is_some_and(|first| day < first);
            let result = source.list(&mut |listing| match listing {
                Listing::Object(object) => {
                    let day = day_of(&object.location);
                    if !before_since(&day) {
                        groups.entry(day).or_default().objects.push(object);
                    }
                }
                Listing::Ignored { location, reason } => groups
                    .entry(day_of(&location))
                    .or_default()
                    .ignored
                    .push(Problem { location, reason }),
                Listing::Failed { location, reason } => {
                    drop(tx.send(Listed::Failed(Problem { location, reason })));
                }
                Listing::Note(note) => drop(tx.send(Listed::Note(note))),
                Listing::Watermark(at) => {
                    if let Some(day) = crate::source::watermark_day(at) {
                        groups.entry(day.to_string()).or_default().watermark = Some(at);
                    }
                    // Undated objects wait for the end: they are not part of any day.
                    let undated = groups.remove(UNDATED);
                    flush(&mut groups, &tx);
                    if let Some(undated) = undated {
                        groups.insert(UNDATED.to_owned(), undated);
                    }
                }
            });
            flush(&mut groups, &tx);
            drop(tx.send(Listed::Done(result)));
        });
        for listed in rx {
            match listed {
                Listed::Day(day, group) => ingest_day(
                    &day, group, source, config, store, aggregator, log, &mut ran,
                )?,
                Listed::Failed(problem) => {
                    log.warn(&format!(
                        "warning: {}: {}",
                        problem.location, problem.reason
                    ));
                    ran.listing_failures.push(problem);
                }
                Listed::Note(note) => log.warn(&format!("note: {note}")),
                Listed::Done(result) => result.context("cannot list the trail")?,
            }
        }
        Ok(())
    })?;
    Ok(ran)
}

#[allow(clippy::too_many_arguments)]
fn ingest_day(
    day: &str,
    group: DayGroup,
    source: &dyn LogSource,
    config: &IngestConfig,
    store: &mut Store,
    aggregator: &mut Aggregator,
    log: &Log,
    ran: &mut Ran,
) -> anyhow::Result<()> {
    let known: HashMap<String, Option<String>> = store
        .objects(day)?
        .into_iter()
        .map(|row| (row.location, row.etag))
        .collect();
    let mut new = Vec::new();
    for object in group.objects {
        match known.get(&object.location) {
            None => new.push(object),
            Some(etag) => {
                ran.already_ingested += 1;
                if etag.is_some() && object.etag.is_some() && *etag != object.etag {
                    log.warn(&format!(
                        "warning: {}: changed since it was ingested (ETag {} → {}); not read again",
                        object.location,
                        etag.as_deref().unwrap_or_default(),
                        object.etag.as_deref().unwrap_or_default()
                    ));
                    ran.changed.push(object.location);
                }
            }
        }
    }
    if new.is_empty() {
        return Ok(());
    }
    let day_source = DaySource {
        inner: source,
        objects: &new,
        watermark: group.watermark,
    };
    let stats = ingest(&day_source, config, aggregator, &Silent)
        .with_context(|| format!("cannot read day {day}"))?;
    let settled = aggregator.take_settled();
    let hashes: HashMap<&str, &crate::hash::ObjectFingerprint> = stats
        .objects
        .iter()
        .map(|f| (f.location.as_str(), f))
        .collect();
    let rows: Vec<ObjectRow> = new
        .iter()
        .filter(|o| !stats.unread.contains(&o.location))
        .map(|o| {
            let hashed = hashes.get(o.location.as_str());
            ObjectRow {
                location: o.location.clone(),
                size: o.size.or(hashed.map(|h| h.size)),
                etag: o.etag.clone(),
                sha256: hashed.map(|h| h.sha256.clone()),
                content_sha256: hashed.and_then(|h| h.content_sha256.clone()),
            }
        })
        .collect();
    let mut input = DayInput::from_stats(&stats, &stats.unread);
    input.ignored = group.ignored;
    for problem in &stats.skipped {
        log.warn(&format!(
            "warning: {}: {}",
            problem.location, problem.reason
        ));
    }
    store
        .commit_day(day, settled, rows, input, &aggregator.export_state())
        .with_context(|| format!("cannot commit day {day} to the usage store"))?;
    ran.new_objects += new.len() as u64 - stats.unread.len() as u64;
    ran.new_records += stats.records;
    ran.days_committed += 1;
    ran.unread.extend(stats.unread.iter().cloned());
    log.event(
        "day",
        serde_json::json!({
            "day": day,
            "new_objects": new.len() - stats.unread.len(),
            "records": stats.records,
            "unread": stats.unread.len(),
            "problems": stats.skipped.len() as u64 + stats.skipped_not_listed,
        }),
        || {
            format!(
                "day {day}: {} new objects, {} records, {} unread, {} problems",
                new.len() - stats.unread.len(),
                stats.records,
                stats.unread.len(),
                stats.skipped.len() as u64 + stats.skipped_not_listed
            )
        },
    );
    Ok(())
}

/// One day's new objects, fetched through the trail's own source.
struct DaySource<'a> {
    inner: &'a dyn LogSource,
    objects: &'a [ObjectRef],
    watermark: Option<Timestamp>,
}

impl LogSource for DaySource<'_> {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        for object in self.objects {
            each(Listing::Object(object.clone()));
        }
        if let Some(at) = self.watermark {
            each(Listing::Watermark(at));
        }
        Ok(())
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        self.inner.fetch(object)
    }
}

/// Writes the report files; the policy folder is rebuilt whole, so a workload that left the
/// window leaves no stale policy behind.
fn write_outputs(
    dir: &Path,
    recommendation: &report::Recommendation,
    format: PolicyFormat,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)?;
    write_atomic(
        &dir.join("recommendation.json"),
        report::to_json(recommendation).as_bytes(),
    )?;
    let mut text = report::text::render(recommendation);
    if recommendation.diffs.is_some() {
        text.push_str(&report::text::render_diffs(recommendation));
    }
    write_atomic(&dir.join("recommendation.txt"), text.as_bytes())?;
    let tmp = dir.join(".policies.tmp");
    if tmp.exists() {
        std::fs::remove_dir_all(&tmp)?;
    }
    std::fs::create_dir_all(&tmp)?;
    report::files::write_policies(&tmp, recommendation, format)?;
    let policies = dir.join("policies");
    if policies.exists() {
        std::fs::remove_dir_all(&policies)?;
    }
    std::fs::rename(&tmp, &policies)?;
    Ok(())
}

fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}

/// Progress and the summary on stderr: lines for a person, or JSON objects for a log pipeline.
struct Log {
    json: bool,
    quiet: bool,
}

impl Log {
    fn event(&self, event: &str, fields: serde_json::Value, text: impl FnOnce() -> String) {
        let mut stderr = std::io::stderr().lock();
        if self.json {
            let mut object = serde_json::Map::new();
            object.insert("time".into(), Timestamp::now().to_string().into());
            object.insert("level".into(), "info".into());
            object.insert("event".into(), event.into());
            if let serde_json::Value::Object(fields) = fields {
                object.extend(fields);
            }
            let _ = writeln!(stderr, "{}", serde_json::Value::Object(object));
        } else if !self.quiet {
            let _ = writeln!(stderr, "{}", text());
        }
    }

    fn warn(&self, message: &str) {
        let mut stderr = std::io::stderr().lock();
        if self.json {
            let line = serde_json::json!({
                "time": Timestamp::now().to_string(),
                "level": "warn",
                "event": "warning",
                "message": message,
            });
            let _ = writeln!(stderr, "{line}");
        } else if !self.quiet {
            let _ = writeln!(stderr, "{message}");
        }
    }
}

/// Where `--reingest` builds the new store: beside the old one.
fn reingest_path(store: &Path) -> std::path::PathBuf {
    let name = store
        .file_name()
        .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
    store.with_file_name(format!("{name}.reingest"))
}

/// Replaces the store at `store` with the one rebuilt at `rebuild`: the old one is moved aside,
/// the new one renamed into place, then the old one removed. Both renames are within one folder.
fn swap_in(rebuild: &Path, store: &Path) -> anyhow::Result<()> {
    let aside = reingest_path(store).with_extension("replaced");
    if aside.exists() {
        std::fs::remove_dir_all(&aside)
            .with_context(|| format!("cannot clear {}", aside.display()))?;
    }
    std::fs::rename(store, &aside)
        .with_context(|| format!("cannot move {} aside", store.display()))?;
    std::fs::rename(rebuild, store)
        .with_context(|| format!("cannot move {} to {}", rebuild.display(), store.display()))?;
    std::fs::remove_dir_all(&aside)
        .with_context(|| format!("cannot remove the replaced store {}", aside.display()))
}
