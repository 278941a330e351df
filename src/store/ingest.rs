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
        .map_err(|source| StoreError::Commit {
            day: day.to_owned(),
            source: Box::new(source),
        })?;
    ran.new_objects += new.len() as u64 - stats.unread.len() as u64;
    ran.new_records += stats.counts.records;
    ran.days_committed += 1;
    ran.unread.extend(stats.unread.iter().cloned());
    log.event(
        "day",
        serde_json::json!({
            "day": day,
            "new_objects": new.len() - stats.unread.len(),
            "records": stats.counts.records,
            "unread": stats.unread.len(),
            "problems": stats.skipped.len() as u64 + stats.skipped_not_listed,
        }),
        &|| {
            format!(
                "day {day}: {} new objects, {} records, {} unread, {} problems",
                new.len() - stats.unread.len(),
                stats.counts.records,
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
