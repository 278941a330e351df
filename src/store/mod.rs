//! The usage store: what the batch job (`iamtrim run`) keeps between runs, in a local folder.
//!
//! ```text
//! STORE/MANIFEST.json                          the committed generation: every live file below
//! STORE/usage/day=YYYY-MM-DD/part-G.parquet    aggregated calls (workload, role, action, resource, …)
//! STORE/workloads/day=YYYY-MM-DD/part-G.parquet  attribution evidence per workload
//! STORE/objects/day=YYYY-MM-DD/part-G.parquet  log objects ingested (location, size, ETag)
//! STORE/input/day=YYYY-MM-DD/part-G.json       input counters and problems of those objects
//! STORE/state/state-G.json                     the session join's live state
//! STORE/LOCK                                   held (flock) while a run uses the store
//! ```
//!
//! Days are CloudTrail delivery days; objects outside that layout go to `day=undated`. A run
//! commits one day at a time: it writes the day's new files under a new generation number, then
//! replaces `MANIFEST.json` atomically (temp file, fsync, rename, fsync of the folder). A run killed
//! at any point leaves the previous manifest in force; files no manifest names are removed when
//! the store is next opened. The format is described in docs/SCALE.md.

mod error;
pub mod ingest;
pub mod tables;

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::aggregate::{JoinState, Settled};
use crate::attribute::NotWorkload;
use crate::errors::FileError;
use crate::stats::{Counts, InputStats};
pub use crate::stats::{Problem, Unmapped};
use error::Result;
pub use error::StoreError;
pub use tables::ObjectRow;

pub const FORMAT: &str = "iamtrim.store/v1";
/// The partition of objects outside CloudTrail's dated layout.
pub const UNDATED: &str = "undated";
const MANIFEST: &str = "MANIFEST.json";
const TABLES: [&str; 5] = ["usage", "workloads", "objects", "input", "state"];

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    pub format: String,
    /// Increases with every commit; names the files written by it.
    pub generation: u64,
    /// The join state file, relative to the store.
    pub state: Option<String>,
    pub days: BTreeMap<String, DayFiles>,
}

/// One day partition's files (relative to the store) and sizes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayFiles {
    pub usage: String,
    pub workloads: String,
    pub objects: String,
    pub input: String,
    pub object_count: u64,
    pub usage_rows: u64,
}

/// A day's input counters, summed over every object ingested into it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DayInput {
    pub files: u64,
    pub records: u64,
    pub bad_records: u64,
    pub outside_window: u64,
    pub duplicates: u64,
    #[serde(default)]
    pub shared_copies: u64,
    #[serde(default)]
    pub exported_times: u64,
    #[serde(default)]
    pub data_events: BTreeMap<String, u64>,
    /// Days stored before buckets were counted have none: S3 is then judged per service.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub data_event_buckets: BTreeMap<String, u64>,
    pub no_permission: u64,
    pub mapped: u64,
    pub not_workload: BTreeMap<String, u64>,
    pub skipped: Vec<Problem>,
    pub skipped_not_listed: u64,
    pub ignored: Vec<Problem>,
    pub unmapped: Vec<Unmapped>,
}

impl DayInput {
    /// What a day's ingest read, without the objects that could not be fetched (they are not
    /// ingested: the next run tries them again) and without listing failures (a run's, not
    /// the data's).
    pub fn from_stats(stats: &InputStats, unread: &[String]) -> Self {
        let c = &stats.counts;
        Self {
            files: stats.files - unread.len() as u64,
            records: c.records,
            bad_records: c.bad_records,
            outside_window: c.outside_window,
            duplicates: c.duplicates,
            shared_copies: c.shared_copies,
            exported_times: c.exported_times,
            data_events: c.data_events.clone(),
            data_event_buckets: c.data_event_buckets.clone(),
            no_permission: c.no_permission,
            mapped: c.mapped,
            not_workload: c
                .not_workload
                .iter()
                .map(|(k, v)| (k.as_str().to_owned(), *v))
                .collect(),
            skipped: stats
                .skipped
                .iter()
                .filter(|p| !unread.contains(&p.location))
                .cloned()
                .collect(),
            skipped_not_listed: stats.skipped_not_listed,
            ignored: stats.ignored.clone(),
            unmapped: stats.unmapped_list(),
        }
    }

    /// The day's record counters.
    pub fn counts(&self) -> Counts {
        Counts {
            records: self.records,
            bad_records: self.bad_records,
            outside_window: self.outside_window,
            duplicates: self.duplicates,
            shared_copies: self.shared_copies,
            exported_times: self.exported_times,
            data_events: self.data_events.clone(),
            data_event_buckets: self.data_event_buckets.clone(),
            no_permission: self.no_permission,
            mapped: self.mapped,
            not_workload: self
                .not_workload
                .iter()
                .filter_map(|(k, v)| NotWorkload::parse(k).map(|reason| (reason, *v)))
                .collect(),
        }
    }

    /// Adds a later ingest of the same day.
    pub fn merge(&mut self, other: DayInput) {
        self.files += other.files;
        self.records += other.records;
        self.bad_records += other.bad_records;
        self.outside_window += other.outside_window;
        self.duplicates += other.duplicates;
        self.shared_copies += other.shared_copies;
        self.exported_times += other.exported_times;
        for (k, v) in other.data_events {
            *self.data_events.entry(k).or_default() += v;
        }
        for (k, v) in other.data_event_buckets {
            *self.data_event_buckets.entry(k).or_default() += v;
        }
        self.no_permission += other.no_permission;
        self.mapped += other.mapped;
        // By name: reasons this binary does not know are kept as stored.
        for (k, v) in other.not_workload {
            *self.not_workload.entry(k).or_default() += v;
        }
        self.skipped.extend(other.skipped);
        self.skipped_not_listed += other.skipped_not_listed;
        // The same digest file is listed again by every run that reads its day.
        self.ignored.extend(other.ignored);
        self.ignored.sort();
        self.ignored.dedup();
        let mut unmapped: BTreeMap<(String, String), u64> = BTreeMap::new();
        for u in self.unmapped.drain(..).chain(other.unmapped) {
            *unmapped.entry((u.event_source, u.event_name)).or_default() += u.count;
        }
        self.unmapped = unmapped
            .into_iter()
            .map(|((event_source, event_name), count)| Unmapped {
                event_source,
                event_name,
                count,
            })
            .collect();
    }

    /// Adds this day's counters and lists to a run's input stats (for the report).
    pub fn add_to(&self, stats: &mut InputStats) {
        stats.files += self.files;
        stats.counts += &self.counts();
        for (i, p) in self.skipped.iter().enumerate() {
            stats.skip_at(&p.location, i as u64, p.clone());
        }
        stats.skipped_not_listed += self.skipped_not_listed;
        stats.ignored.extend(self.ignored.iter().cloned());
        for u in &self.unmapped {
            stats.add_unmapped(&u.event_source, &u.event_name, u.count);
        }
    }
}

/// An open store, locked for this process.
pub struct Store {
    root: PathBuf,
    manifest: Manifest,
    _lock: File,
}

impl Store {
    /// Opens (creating if needed) the store at `root`, takes its lock, and removes files left by
    /// a run that did not commit them.
    pub fn open(root: &Path) -> Result<Store> {
        std::fs::create_dir_all(root).map_err(FileError::at("create the store folder", root))?;
        let lock_path = root.join("LOCK");
        let lock = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(FileError::at("open", &lock_path))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(StoreError::Locked {
                    path: root.to_owned(),
                });
            }
            Err(std::fs::TryLockError::Error(err)) => {
                return Err(FileError::at("lock", &lock_path)(err).into());
            }
        }
        let store = Store {
            root: root.to_owned(),
            manifest: read_manifest(root)?,
            _lock: lock,
        };
        store.collect_garbage()?;
        Ok(store)
    }

    /// Opens a store to read it (no lock: readers see the last committed manifest).
    pub fn read_only(root: &Path) -> Result<Manifest> {
        if !root.join(MANIFEST).is_file() {
            return Err(StoreError::NotAStore {
                path: root.to_owned(),
            });
        }
        read_manifest(root)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The join state the last commit left.
    pub fn state(&self) -> Result<JoinState> {
        match &self.manifest.state {
            None => Ok(JoinState::default()),
            Some(path) => read_json(&self.root.join(path), "a join state file"),
        }
    }

    /// The objects already ingested into `day`.
    pub fn objects(&self, day: &str) -> Result<Vec<ObjectRow>> {
        match self.manifest.days.get(day) {
            None => Ok(Vec::new()),
            Some(files) => {
                tables::object_rows(&tables::read_parquet(&self.root.join(&files.objects))?)
            }
        }
    }

    /// The records read into `days` (absent days count nothing).
    pub fn records_of<'d>(&self, days: impl IntoIterator<Item = &'d String>) -> Result<u64> {
        let mut records = 0;
        for day in days {
            if let Some(files) = self.manifest.days.get(day) {
                let mut input = InputStats::default();
                read_input(&self.root.join(&files.input))?.add_to(&mut input);
                records += input.counts.records;
            }
        }
        Ok(records)
    }

    /// Settled activity and input counters of `days`.
    pub fn read_days<'d>(
        &self,
        days: impl IntoIterator<Item = &'d String>,
    ) -> Result<(Settled, InputStats)> {
        read_days(&self.root, &self.manifest, days)
    }

    /// Adds a day's newly ingested objects and their activity, and the join state after them,
    /// in one atomic commit.
    pub fn commit_day(
        &mut self,
        day: &str,
        mut settled: Settled,
        mut objects: Vec<ObjectRow>,
        mut input: DayInput,
        state: &JoinState,
    ) -> Result<()> {
        let generation = self.manifest.generation + 1;
        let old = self.manifest.days.get(day).cloned();
        if let Some(old) = &old {
            let (before, _) = read_days(&self.root, &self.manifest, [&day.to_owned()])?;
            settled.merge(before);
            objects.extend(tables::object_rows(&tables::read_parquet(
                &self.root.join(&old.objects),
            )?)?);
            let mut merged = read_input(&self.root.join(&old.input))?;
            merged.merge(input);
            input = merged;
        }
        objects.sort();
        objects.dedup();
        let part = |table: &str, ext: &str| format!("{table}/day={day}/part-{generation:06}.{ext}");
        let files = DayFiles {
            usage: part("usage", "parquet"),
            workloads: part("workloads", "parquet"),
            objects: part("objects", "parquet"),
            input: part("input", "json"),
            object_count: objects.len() as u64,
            usage_rows: 0,
        };
        let (mut usage, mut workloads) =
            tables::settled_frames(day, &settled).map_err(StoreError::table("usage rows"))?;
        let mut objects_df =
            tables::objects_frame(day, &objects).map_err(StoreError::table("object rows"))?;
        let files = DayFiles {
            usage_rows: usage.height() as u64,
            ..files
        };
        for (rel, df) in [
            (&files.usage, &mut usage),
            (&files.workloads, &mut workloads),
            (&files.objects, &mut objects_df),
        ] {
            let path = self.prepare(rel)?;
            tables::write_parquet(&path, df)?;
        }
        write_synced(&self.prepare(&files.input)?, &to_json(&input))?;
        let state_file = format!("state/state-{generation:06}.json");
        write_synced(&self.prepare(&state_file)?, &to_json(state))?;

        let mut manifest = self.manifest.clone();
        manifest.generation = generation;
        let old_state = manifest.state.replace(state_file);
        manifest.days.insert(day.to_owned(), files);
        self.write_manifest(&manifest)?;
        self.manifest = manifest;
        // Committed: what the previous generation used for this day is garbage now.
        let stale = old
            .map(|o| vec![o.usage, o.workloads, o.objects, o.input])
            .unwrap_or_default()
            .into_iter()
            .chain(old_state);
        for rel in stale {
            let _ = std::fs::remove_file(self.root.join(rel));
        }
        Ok(())
    }

    fn prepare(&self, rel: &str) -> Result<PathBuf> {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(FileError::at("create", parent))?;
        }
        Ok(path)
    }

    fn write_manifest(&self, manifest: &Manifest) -> Result<()> {
        let target = self.root.join(MANIFEST);
        crate::atomic::write(&target, &to_json(manifest))
            .map_err(FileError::at("replace", &target))?;
        Ok(())
    }

    /// Removes files the manifest does not name: what a killed run wrote before committing.
    fn collect_garbage(&self) -> Result<()> {
        let mut live: std::collections::HashSet<PathBuf> = self
            .manifest
            .days
            .values()
            .flat_map(|d| [&d.usage, &d.workloads, &d.objects, &d.input])
            .map(|rel| self.root.join(rel))
            .collect();
        if let Some(state) = &self.manifest.state {
            live.insert(self.root.join(state));
        }
        let _ = std::fs::remove_file(self.root.join(format!("{MANIFEST}.tmp")));
        for table in TABLES {
            let dir = self.root.join(table);
            if !dir.exists() {
                continue;
            }
            for entry in walkdir::WalkDir::new(&dir) {
                let entry = entry.map_err(|e| FileError::at("list", &dir)(e.into()))?;
                if entry.file_type().is_file() && !live.contains(entry.path()) {
                    std::fs::remove_file(entry.path())
                        .map_err(FileError::at("remove", entry.path()))?;
                }
            }
        }
        Ok(())
    }
}

fn read_manifest(root: &Path) -> Result<Manifest> {
    let path = root.join(MANIFEST);
    if !path.exists() {
        return Ok(Manifest {
            format: FORMAT.to_owned(),
            ..Manifest::default()
        });
    }
    let manifest: Manifest = read_json(&path, "an iamtrim store manifest")?;
    if manifest.format != FORMAT {
        return Err(StoreError::Format {
            path,
            found: manifest.format,
            expected: FORMAT,
        });
    }
    Ok(manifest)
}

fn read_input(path: &Path) -> Result<DayInput> {
    read_json(path, "a day input file")
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path, what: &'static str) -> Result<T> {
    let text = std::fs::read(path).map_err(FileError::at("read", path))?;
    serde_json::from_slice(&text).map_err(|source| StoreError::Json {
        path: path.to_owned(),
        what,
        source,
    })
}

/// Pretty JSON with a final newline. The store's own types always serialize.
fn to_json(value: &impl Serialize) -> Vec<u8> {
    let mut text = serde_json::to_vec_pretty(value).unwrap_or_default();
    text.push(b'\n');
    text
}

/// The aggregation a recommendation reads the store through (queries/window-usage.sql).
pub const WINDOW_USAGE_SQL: &str = include_str!("../../queries/window-usage.sql");
/// Attribution evidence over the window (queries/window-workloads.sql).
pub const WINDOW_WORKLOADS_SQL: &str = include_str!("../../queries/window-workloads.sql");
/// Each role's last use of each action before the window (queries/role-history.sql).
pub const ROLE_HISTORY_SQL: &str = include_str!("../../queries/role-history.sql");

/// What the store knows beyond a window: (role, action) → last use in the days before it, and
/// role → the number of the window's days on which it made calls.
#[derive(Debug, Default)]
pub struct History {
    pub last_used_before: BTreeMap<(String, String), String>,
    pub days_seen: BTreeMap<String, u32>,
}

/// [`History`] for `window` (the days of [`window_days`]).
pub fn history(root: &Path, manifest: &Manifest, window: &[String]) -> Result<History> {
    let mut out = History::default();
    let first = window.iter().find(|d| d.as_str() != UNDATED);
    let before: Vec<&String> = manifest
        .days
        .keys()
        .filter(|d| d.as_str() != UNDATED && first.is_some_and(|f| d.as_str() < f.as_str()))
        .collect();
    let query = |days: &[&String], sql: &str| -> Result<polars::prelude::DataFrame> {
        sql_context(root, manifest, days)?
            .execute(sql)
            .and_then(|lazy| lazy.collect())
            .map_err(StoreError::table("queries/role-history.sql"))
    };
    if !before.is_empty() {
        let df = query(&before, ROLE_HISTORY_SQL)?;
        let (roles, actions, last) = (
            tables::strings(&df, "role")?,
            tables::strings(&df, "action")?,
            tables::strings(&df, "last_seen")?,
        );
        for i in 0..df.height() {
            if let (Some(role), Some(action), Some(last)) =
                (roles.get(i), actions.get(i), last.get(i))
            {
                out.last_used_before
                    .insert((role.to_owned(), action.to_owned()), last.to_owned());
            }
        }
    }
    for day in window
        .iter()
        .filter(|d| d.as_str() != UNDATED && manifest.days.contains_key(*d))
    {
        let df = query(
            &[day],
            "SELECT DISTINCT role FROM usage WHERE role IS NOT NULL ORDER BY role",
        )?;
        let roles = tables::strings(&df, "role")?;
        for role in (0..df.height()).filter_map(|i| roles.get(i)) {
            *out.days_seen.entry(role.to_owned()).or_default() += 1;
        }
    }
    Ok(out)
}

/// Settled activity and input counters of `days` (absent days contribute nothing), aggregated
/// by polars' SQL engine over those days' partitions.
pub fn read_days<'d>(
    root: &Path,
    manifest: &Manifest,
    days: impl IntoIterator<Item = &'d String>,
) -> Result<(Settled, InputStats)> {
    let days: Vec<&String> = days
        .into_iter()
        .filter(|d| manifest.days.contains_key(*d))
        .collect();
    let mut settled = Settled::default();
    let mut input = InputStats::default();
    if days.is_empty() {
        return Ok((settled, input));
    }
    let context = sql_context(root, manifest, &days)?;
    let run = |sql: &str, name: &str| -> Result<polars::prelude::DataFrame> {
        let mut context = context.clone();
        context
            .execute(sql)
            .and_then(|lazy| lazy.collect())
            .map_err(StoreError::table(name))
    };
    let usage = run(WINDOW_USAGE_SQL, "queries/window-usage.sql")?;
    let workloads = run(WINDOW_WORKLOADS_SQL, "queries/window-workloads.sql")?;
    tables::add_frames(&mut settled, &usage, &workloads)?;
    for day in days {
        read_input(&root.join(&manifest.days[day].input))?.add_to(&mut input);
    }
    input.finish();
    Ok((settled, input))
}

/// A SQL context with the tables `usage`, `workloads` and `objects` over the committed files of
/// `days` (every day when `None`), each scanned lazily.
pub fn sql_context(
    root: &Path,
    manifest: &Manifest,
    days: &[&String],
) -> Result<polars::sql::SQLContext> {
    use polars::prelude::*;
    let schema = StoreError::table("the store's table schemas");
    let (usage, workloads) = tables::settled_frames("", &Settled::default()).map_err(schema)?;
    let objects =
        tables::objects_frame("", &[]).map_err(StoreError::table("the store's table schemas"))?;
    let files = |pick: fn(&DayFiles) -> &String| -> Vec<PathBuf> {
        days.iter()
            .filter_map(|d| manifest.days.get(*d))
            .map(|d| root.join(pick(d)))
            .collect()
    };
    let context = polars::sql::SQLContext::new();
    for (name, empty, paths) in [
        ("usage", usage, files(|d| &d.usage)),
        ("workloads", workloads, files(|d| &d.workloads)),
        ("objects", objects, files(|d| &d.objects)),
    ] {
        let lazy = if paths.is_empty() {
            empty.lazy()
        } else {
            // The empty frame first, concatenated diagonally: a column added since a day was
            // written (`usage.error_class`) reads as null there, and the schema is always whole.
            let scans = std::iter::once(Ok(empty.lazy()))
                .chain(paths.iter().map(|p| {
                    LazyFrame::scan_parquet(
                        PlRefPath::new(p.display().to_string()),
                        ScanArgsParquet::default(),
                    )
                }))
                .collect::<PolarsResult<Vec<_>>>()
                .map_err(StoreError::table(format!("cannot scan the {name} table")))?;
            concat(
                scans,
                UnionArgs {
                    diagonal: true,
                    ..UnionArgs::default()
                },
            )
            .map_err(StoreError::table(format!("cannot scan the {name} table")))?
        };
        context.register(name, lazy);
    }
    Ok(context)
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let mut file = File::create(path).map_err(FileError::at("create", path))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(FileError::at("write", path))?;
    Ok(())
}

/// The report's window over the store's delivery days, as one definition for listing and
/// reports (#31): the last `days` days up to the store's latest dated day, but never a day
/// before the day of `bounds.start` (`source.since`, which also prunes what is listed) nor
/// after `bounds.end` (`source.until`). The window follows the data, not the clock, so the same
/// store with the same settings always gives the same recommendation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DayWindow {
    /// The store's days in the window, plus the undated partition (which every window includes).
    pub days: Vec<String>,
    /// The first and last day of the window (inclusive), when the store holds a dated day in it.
    pub range: Option<(String, String)>,
}

impl DayWindow {
    /// How many calendar days the window spans (0 when it is empty).
    pub fn span_days(&self) -> u32 {
        let Some((first, last)) = &self.range else {
            return 0;
        };
        match (
            first.parse::<jiff::civil::Date>(),
            last.parse::<jiff::civil::Date>(),
        ) {
            (Ok(first), Ok(last)) => last
                .since(first)
                .ok()
                .and_then(|span| u32::try_from(span.get_days() + 1).ok())
                .unwrap_or(0),
            _ => 0,
        }
    }
}

/// See [`DayWindow`].
pub fn window_days(
    manifest: &Manifest,
    days: u32,
    bounds: &crate::window::TimeWindow,
) -> DayWindow {
    let day_of = |at: jiff::Timestamp| at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string();
    let not_before = bounds.start.map(day_of);
    // `until` is exclusive: an `until` at midnight ends the window with the day before.
    let not_after = bounds
        .end
        .and_then(|end| end.checked_sub(jiff::SignedDuration::from_nanos(1)).ok())
        .map(day_of);
    let dated: Vec<&String> = manifest
        .days
        .keys()
        .filter(|d| d.as_str() != UNDATED)
        .filter(|d| not_after.as_deref().is_none_or(|last| d.as_str() <= last))
        .collect();
    let mut chosen = Vec::new();
    let mut range = None;
    if let Some(last) = dated.last()
        && let Ok(last_date) = last.parse::<jiff::civil::Date>()
    {
        let mut first = last_date
            .checked_sub(jiff::Span::new().days(i64::from(days.max(1)) - 1))
            .unwrap_or(last_date)
            .to_string();
        if let Some(since) = &not_before
            && *since > first
        {
            first.clone_from(since);
        }
        if first.as_str() <= last.as_str() {
            chosen.extend(
                dated
                    .iter()
                    .filter(|d| d.as_str() >= first.as_str())
                    .map(|d| (*d).clone()),
            );
            range = Some((first, (*last).clone()));
        }
    }
    if manifest.days.contains_key(UNDATED) {
        chosen.push(UNDATED.to_owned());
    }
    DayWindow {
        days: chosen,
        range,
    }
}
/// Where `--reingest` builds the new store: beside the old one.
pub fn reingest_path(store: &Path) -> std::path::PathBuf {
    let name = store
        .file_name()
        .map_or_else(|| "store".into(), |n| n.to_string_lossy().into_owned());
    store.with_file_name(format!("{name}.reingest"))
}

/// Replaces the store at `store` with the one rebuilt at `rebuild`: the old one is moved aside,
/// the new one renamed into place, then the old one removed. Both renames are within one folder.
pub fn swap_in(rebuild: &Path, store: &Path) -> Result<()> {
    let aside = reingest_path(store).with_extension("replaced");
    if aside.exists() {
        std::fs::remove_dir_all(&aside).map_err(FileError::at("clear", &aside))?;
    }
    std::fs::rename(store, &aside).map_err(FileError::at("move aside", store))?;
    std::fs::rename(rebuild, store).map_err(FileError::at("move into place", rebuild))?;
    std::fs::remove_dir_all(&aside).map_err(FileError::at("remove the replaced store", &aside))?;
    Ok(())
}

/// Midnight UTC of `day` plus `plus_days`.
pub fn midnight(day: &str, plus_days: i64) -> Option<jiff::Timestamp> {
    let date: jiff::civil::Date = day.parse().ok()?;
    let date = date.checked_add(jiff::Span::new().days(plus_days)).ok()?;
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}
