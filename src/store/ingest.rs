//! Day-by-day ingest into the usage store (`iamtrim run`): lists the trail, groups objects by
//! CloudTrail delivery day, and ingests each day's objects the store does not hold yet as one
//! atomic commit (its usage rows, its objects, the session join's live state), so a killed run
//! loses at most the day it was reading.

use std::collections::{BTreeMap, HashMap};
use std::sync::mpsc::sync_channel;

use jiff::Timestamp;

use super::error::{Result, StoreError};
use super::{DayInput, ObjectRow, Problem, Store, UNDATED};
use crate::aggregate::Aggregator;
use crate::ingest::{IngestConfig, Silent, ingest};
use crate::source::{Listing, LogSource, ObjectRef, SourceError};

/// Where a run's progress goes: warnings, and one event per committed day.
pub trait Log {
    /// One event: `fields` for a log pipeline, `text` for a person.
    fn event(&self, event: &str, fields: serde_json::Value, text: &dyn Fn() -> String);
    fn warn(&self, message: &str);
}

/// What this run read (the store's totals are in its manifest).
#[derive(Debug, Default)]
pub struct Ran {
    pub new_objects: u64,
    pub new_records: u64,
    pub days_committed: u64,
    pub already_ingested: u64,
    /// Objects that could not be fetched; the next run tries them again.
    pub unread: Vec<String>,
    /// Objects ingested before whose ETag has changed since: not read again.
    pub changed: Vec<String>,
    pub listing_failures: Vec<Problem>,
    /// A day with new objects listed after later days were committed (a late delivery): the
    /// ingest stopped before it, as the join of the days after it would change.
    pub late_day: Option<String>,
}

impl Ran {
    pub fn incomplete(&self) -> bool {
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
/// delivery days before `first_day` are not listed (undated ones always are). With
/// `stop_at_late_day`, a day with new objects that comes before a day the store already holds
/// is not ingested: the run stops there and says so in `Ran::late_day` (the caller rebuilds).
pub fn ingest_new(
    source: &dyn LogSource,
    config: &IngestConfig,
    first_day: Option<&str>,
    stop_at_late_day: bool,
    store: &mut Store,
    aggregator: &mut Aggregator,
    log: &dyn Log,
) -> Result<Ran> {
    let mut ran = Ran::default();
    let (tx, rx) = sync_channel::<Listed>(1);
    std::thread::scope(|scope| -> Result<()> {
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
                Listed::Day(day, group) => {
                    let late = stop_at_late_day
                        && day != UNDATED
                        && store
                            .manifest()
                            .days
                            .keys()
                            .any(|d| d != UNDATED && d.as_str() > day.as_str());
                    if late && has_new(&day, &group, store)? {
                        ran.late_day = Some(day);
                        break;
                    }
                    ingest_day(
                        &day, group, source, config, store, aggregator, log, &mut ran,
                    )?;
                }
                Listed::Failed(problem) => {
                    log.warn(&format!(
                        "warning: {}: {}",
                        problem.location, problem.reason
                    ));
                    ran.listing_failures.push(problem);
                }
                Listed::Note(note) => log.warn(&format!("note: {note}")),
                Listed::Done(result) => result.map_err(|source| StoreError::List { source })?,
            }
        }
        Ok(())
    })?;
    Ok(ran)
}

/// Whether `group` lists an object the store does not hold for `day`.
fn has_new(day: &str, group: &DayGroup, store: &Store) -> Result<bool> {
    let known: std::collections::HashSet<String> = store
        .objects(day)?
        .into_iter()
        .map(|row| row.location)
        .collect();
    Ok(group.objects.iter().any(|o| !known.contains(&o.location)))
}

#[allow(clippy::too_many_arguments)]
fn ingest_day(
    day: &str,
    group: DayGroup,
    source: &dyn LogSource,
    config: &IngestConfig,
    store: &mut Store,
    aggregator: &mut Aggregator,
    log: &dyn Log,
    ran: &mut Ran,
) -> Result<()> {
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
    let stats =
        ingest(&day_source, config, aggregator, &Silent).map_err(|source| StoreError::ReadDay {
            day: day.to_owned(),
            source,
        })?;
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
    commit(
        day,
        rows,
        &stats,
        group.ignored,
        store,
        aggregator,
        log,
        ran,
    )
}

/// Commits what the join settled of `day` with its objects and counters, and logs the day.
#[allow(clippy::too_many_arguments)]
fn commit(
    day: &str,
    rows: Vec<ObjectRow>,
    stats: &crate::stats::InputStats,
    ignored: Vec<Problem>,
    store: &mut Store,
    aggregator: &mut Aggregator,
    log: &dyn Log,
    ran: &mut Ran,
) -> Result<()> {
    let settled = aggregator.take_settled();
    let read = rows.len();
    let mut input = DayInput::from_stats(stats, &stats.unread);
    input.ignored = ignored;
    for problem in &stats.skipped {
        log.warn(&format!(
            "warning: {}: {}",
            problem.location, problem.reason
        ));
    }
    store
        .commit_day(day, settled, rows, input, &aggregator.export_state())
        .map_err(|source| StoreError::Commit {
            day: day.to_owned(),
            source: Box::new(source),
        })?;
    ran.new_objects += read as u64;
    ran.new_records += stats.counts.records;
    ran.days_committed += 1;
    ran.unread.extend(stats.unread.iter().cloned());
    let problems = stats.skipped.len() as u64 + stats.skipped_not_listed;
    log.event(
        "day",
        serde_json::json!({
            "day": day,
            "new_objects": read,
            "records": stats.counts.records,
            "unread": stats.unread.len(),
            "problems": problems,
        }),
        &|| {
            format!(
                "day {day}: {read} new objects, {} records, {} unread, {problems} problems",
                stats.counts.records,
                stats.unread.len(),
            )
        },
    );
    Ok(())
}

/// The day of a partials stream being ingested: its new objects' rows and counters.
struct StreamDay {
    day: String,
    known: HashMap<String, Option<String>>,
    rows: Vec<ObjectRow>,
    stats: crate::stats::InputStats,
    read: bool,
}

/// Ingests a partials stream (`iamtrim run --partials`: a backfill `spark/recommend.py` or
/// `iamtrim extract` computed) as [`ingest_new`] ingests a trail: each object's batch goes to the
/// join, days are committed as the stream's watermarks close them (and when the stream moves to
/// another day), and objects the store holds already are skipped, so a later run over the
/// trail continues where the stream ended. A new object of a day before the store's latest day
/// stops the ingest (`late_day`): the stream cannot rebuild the days after it.
pub fn ingest_partials(
    input: &mut dyn std::io::BufRead,
    name: &str,
    first_day: Option<&str>,
    store: &mut Store,
    aggregator: &mut Aggregator,
    log: &dyn Log,
) -> Result<Ran> {
    use crate::partials::wire::Line;
    let mut ran = Ran::default();
    let mut current: Option<StreamDay> = None;
    let mut ignored: BTreeMap<String, Vec<Problem>> = BTreeMap::new();
    let mut error: Option<StoreError> = None;
    let close = |current: &mut Option<StreamDay>,
                 ignored: &mut BTreeMap<String, Vec<Problem>>,
                 store: &mut Store,
                 aggregator: &mut Aggregator,
                 ran: &mut Ran|
     -> Result<()> {
        let Some(mut day) = current.take() else {
            return Ok(());
        };
        if !day.read {
            return Ok(());
        }
        day.stats.finish();
        let skipped = ignored.remove(&day.day).unwrap_or_default();
        commit(
            &day.day, day.rows, &day.stats, skipped, store, aggregator, log, ran,
        )
    };
    crate::partials::read_lines(input, name, &mut |line| {
        if error.is_some() || ran.late_day.is_some() {
            return;
        }
        let result = (|| -> Result<()> {
            let line = match line {
                Ok(line) => line,
                Err((location, reason)) => {
                    log.warn(&format!("warning: {location}: {reason}"));
                    ran.listing_failures.push(Problem { location, reason });
                    return Ok(());
                }
            };
            match line {
                Line::Batch(batch) => {
                    let day = day_of(&batch.location);
                    if day != UNDATED && first_day.is_some_and(|first| day.as_str() < first) {
                        return Ok(());
                    }
                    if current.as_ref().is_none_or(|c| c.day != day) {
                        close(&mut current, &mut ignored, store, aggregator, &mut ran)?;
                        let known = store
                            .objects(&day)?
                            .into_iter()
                            .map(|row| (row.location, row.etag))
                            .collect();
                        current = Some(StreamDay {
                            day: day.clone(),
                            known,
                            rows: Vec::new(),
                            stats: crate::stats::InputStats::default(),
                            read: false,
                        });
                    }
                    let this = current.as_mut().expect("set above");
                    if this.known.contains_key(&batch.location) {
                        ran.already_ingested += 1;
                        return Ok(());
                    }
                    let later_stored = day != UNDATED
                        && store
                            .manifest()
                            .days
                            .keys()
                            .any(|d| d != UNDATED && d.as_str() > day.as_str());
                    if later_stored {
                        ran.late_day = Some(day);
                        return Ok(());
                    }
                    let location = batch.location.clone();
                    this.read = true;
                    match batch.into_batch() {
                        Ok(batch) => {
                            batch.add_to(&mut this.stats);
                            if !batch.unread {
                                let hashed = batch.fingerprint.as_ref();
                                this.rows.push(ObjectRow {
                                    location,
                                    size: hashed.map(|h| h.size),
                                    etag: hashed.and_then(|h| h.etag.clone()),
                                    sha256: hashed.map(|h| h.sha256.clone()),
                                    content_sha256: hashed.and_then(|h| h.content_sha256.clone()),
                                });
                            }
                            aggregator.add(batch);
                        }
                        Err(reason) => {
                            this.stats.files += 1;
                            this.stats.unread.push(location.clone());
                            this.stats.add_listing(Listing::Failed {
                                location,
                                reason: format!("bad batch: {reason}"),
                            });
                        }
                    }
                }
                Line::Watermark(at) => {
                    let at: Timestamp = at.parse().map_err(|e| StoreError::Partials {
                        message: format!("{name}: not a watermark time ({e})"),
                    })?;
                    aggregator.advance(at);
                    close(&mut current, &mut ignored, store, aggregator, &mut ran)?;
                }
                Line::Ignored { location, reason } => ignored
                    .entry(day_of(&location))
                    .or_default()
                    .push(Problem { location, reason }),
                Line::Failed { location, reason } => {
                    log.warn(&format!("warning: {location}: {reason}"));
                    ran.listing_failures.push(Problem { location, reason });
                }
                Line::Note(note) => log.warn(&format!("note: {note}")),
                Line::Partition(_) => {
                    return Err(StoreError::Partials {
                        message: format!(
                            "{name}: a partition's join (extract --join-partition) cannot seed the \
                             store: it needs each object's batch (extract without it, or \
                             spark/recommend.py --partials-out)"
                        ),
                    });
                }
                Line::Object { location, .. } => {
                    let reason = crate::partials::NOT_EXTRACTED.to_owned();
                    log.warn(&format!("warning: {location}: {reason}"));
                    ran.unread.push(location);
                }
            }
            Ok(())
        })();
        if let Err(e) = result {
            error = Some(e);
        }
    });
    if let Some(e) = error {
        return Err(e);
    }
    if ran.late_day.is_none() {
        close(&mut current, &mut ignored, store, aggregator, &mut ran)?;
    }
    Ok(ran)
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::aggregate::JoinContext;
    use crate::source::memory::{FailingSource, MemorySource, role_call};

    struct Quiet;

    impl Log for Quiet {
        fn event(&self, _: &str, _: serde_json::Value, _: &dyn Fn() -> String) {}
        fn warn(&self, _: &str) {}
    }

    fn config() -> IngestConfig {
        IngestConfig {
            threads: 2,
            fetch_concurrency: 2,
            limits: crate::decode::DecodeLimits::default(),
            window: crate::window::TimeWindow::default(),
            clusters: crate::attribute::ClusterNames::default(),
            catalog: std::sync::Arc::new(crate::catalog::Catalog::embedded().unwrap()),
            hash_objects: true,
            network: false,
            budget: Default::default(),
        }
    }

    fn day(d: u32) -> String {
        format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/{d:02}/")
    }

    fn put(id: &str, d: u32) -> serde_json::Value {
        role_call(
            id,
            &format!("2026-11-{d:02}T06:10:00Z"),
            "exporter",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "exports", "key": format!("{id}.csv")}),
        )
    }

    fn source() -> MemorySource {
        MemorySource::new()
            .records(
                &format!("{}a.json.gz", day(1)),
                &[put("e1", 1), put("e2", 1)],
            )
            .watermark("2026-11-01T22:00:00Z")
            .records(&format!("{}b.json.gz", day(2)), &[put("e3", 2)])
            .watermark("2026-11-02T22:00:00Z")
    }

    fn run(source: &dyn LogSource, store: &mut Store, first_day: Option<&str>) -> Ran {
        let mut aggregator = Aggregator::new(JoinContext::default());
        aggregator.import_state(store.state().unwrap()).unwrap();
        ingest_new(
            source,
            &config(),
            first_day,
            true,
            store,
            &mut aggregator,
            &Quiet,
        )
        .unwrap()
    }

    fn stored(store: &Store, d: u32) -> Vec<String> {
        let day = format!("2026-11-{d:02}");
        let mut rows: Vec<String> = store
            .objects(&day)
            .unwrap()
            .into_iter()
            .map(|row| row.location)
            .collect();
        rows.sort();
        rows
    }

    #[test]
    fn each_day_is_one_commit_and_an_unread_object_is_read_by_the_next_run() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let b = format!("{}b.json.gz", day(2));
        let failing = FailingSource::new(source()).fail_fetch(&b, "connection reset");
        let ran = run(&failing, &mut store, None);
        // Day 2 is committed too (its join state), without the object that could not be read.
        assert_eq!(ran.days_committed, 2);
        assert_eq!(ran.new_objects, 1);
        assert_eq!(ran.new_records, 2);
        assert_eq!(ran.unread, std::slice::from_ref(&b));
        assert!(ran.incomplete());
        assert_eq!(stored(&store, 1), [format!("{}a.json.gz", day(1))]);
        assert!(
            stored(&store, 2).is_empty(),
            "an unread object is not marked ingested"
        );

        let ran = run(&source(), &mut store, None);
        assert_eq!(ran.already_ingested, 1);
        assert_eq!(ran.new_objects, 1);
        assert_eq!(ran.new_records, 1);
        assert!(!ran.incomplete());
        assert_eq!(stored(&store, 2), [b]);
        let (_, input) = store
            .read_days(&["2026-11-01".to_owned(), "2026-11-02".to_owned()])
            .unwrap();
        assert_eq!(input.counts.records, 3);
        assert_eq!(input.files, 2);
        assert!(
            !input.incomplete(),
            "the retried object left no problem behind"
        );
    }

    #[test]
    fn days_before_the_first_listed_are_not_read_nor_marked() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        let ran = run(&source(), &mut store, Some("2026-11-02"));
        assert_eq!(ran.new_objects, 1);
        assert!(stored(&store, 1).is_empty());
        // A wider `since` lists day 1, now before a stored day: a late day, left for the
        // caller's rebuild (day 1's sessions may be the ones day 2's calls used).
        let ran = run(&source(), &mut store, None);
        assert_eq!(ran.late_day.as_deref(), Some("2026-11-01"));
        assert_eq!(ran.new_objects, 0);
        assert!(stored(&store, 1).is_empty());
    }

    #[test]
    fn a_listing_failure_fails_the_run_after_committing_what_was_listed() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open(dir.path()).unwrap();
        // Entries: object, watermark (day 1 closes), object, then the failure.
        let failing = FailingSource::new(source()).fail_listing_after(3, "SlowDown");
        let mut aggregator = Aggregator::new(JoinContext::default());
        let err = ingest_new(
            &failing,
            &config(),
            None,
            true,
            &mut store,
            &mut aggregator,
            &Quiet,
        )
        .unwrap_err();
        assert_eq!(
            crate::errors::error_chain(&err),
            "cannot list the trail: listing: SlowDown"
        );
        // What was listed before the failure is read and committed (each object is marked
        // ingested on its own, so the rest of day 2 is read by the next run).
        assert_eq!(stored(&store, 1).len(), 1);
        assert_eq!(stored(&store, 2).len(), 1);
        let ran = run(&source(), &mut store, None);
        assert_eq!((ran.new_objects, ran.already_ingested), (0, 2));
    }
}
