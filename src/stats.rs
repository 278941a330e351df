//! The input side of a run, in one vocabulary from a file's batch to the report, the store and
//! the evidence pack: [`Counts`] (summed with `+=`), [`Problem`] (where and why), [`Unmapped`]
//! (calls no IAM action is known for), and [`InputStats`], a run's totals and lists.
//!
//! Outputs write them under their documented names: `report::Input` in the recommendation and
//! the evidence manifest, `store::DayInput` in the usage store's day files (a format of its own,
//! read back by later versions).

use std::collections::BTreeMap;
use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

use crate::attribute::NotWorkload;
use crate::source::Listing;

/// Record counters: per file while it is read, then summed per day, per run and per window.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Counts {
    pub records: u64,
    pub bad_records: u64,
    pub outside_window: u64,
    /// Records whose `eventID` was already counted (redelivered or copied events).
    pub duplicates: u64,
    /// Records whose `sharedEventID` was already counted: the same action delivered to another
    /// account (read, but the call counts once).
    pub shared_copies: u64,
    /// Records whose `eventTime` was written as exports write it (`YYYY-MM-DD HH:MM:SS`, UTC).
    #[serde(default)]
    pub exported_times: u64,
    pub no_permission: u64,
    /// Workload API calls mapped to catalog actions.
    pub mapped: u64,
    pub not_workload: BTreeMap<NotWorkload, u64>,
    /// Data events (`eventCategory` Data) by eventSource: what the trail records of them.
    pub data_events: BTreeMap<String, u64>,
    /// S3 data events by bucket: which buckets' objects the trail records.
    pub data_event_buckets: BTreeMap<String, u64>,
}

impl AddAssign<&Counts> for Counts {
    fn add_assign(&mut self, other: &Counts) {
        self.records += other.records;
        self.bad_records += other.bad_records;
        self.outside_window += other.outside_window;
        self.duplicates += other.duplicates;
        self.shared_copies += other.shared_copies;
        self.exported_times += other.exported_times;
        self.no_permission += other.no_permission;
        self.mapped += other.mapped;
        for (reason, n) in &other.not_workload {
            *self.not_workload.entry(*reason).or_default() += n;
        }
        for (source, n) in &other.data_events {
            *self.data_events.entry(source.clone()).or_default() += n;
        }
        for (bucket, n) in &other.data_event_buckets {
            *self.data_event_buckets.entry(bucket.clone()).or_default() += n;
        }
    }
}

/// A problem with one file, record or listing: where, and why, in words a person understands.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Problem {
    pub location: String,
    pub reason: String,
}

impl Problem {
    pub fn new(location: impl Into<String>, reason: impl Into<String>) -> Self {
        Self {
            location: location.into(),
            reason: reason.into(),
        }
    }
}

/// Calls of one API operation no IAM action is known for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Unmapped {
    pub event_source: String,
    pub event_name: String,
    pub count: u64,
}

/// A run's input: counters summed from every file and listing entry, and what could not be
/// read; written into the output so a reader knows how complete the result is.
#[derive(Debug, Default, Clone)]
pub struct InputStats {
    pub files: u64,
    pub counts: Counts,
    /// Files or records that could not be read: the result is incomplete. In a stable order
    /// after [`InputStats::finish`]: by file, then in the order found in it.
    pub skipped: Vec<Problem>,
    /// The file of each of `skipped` and its position among the file's problems: the sort key
    /// (so "record 2" comes before "record 10", and the order does not depend on threads).
    skipped_order: Vec<(String, u64)>,
    /// Problems beyond the per-file listing cap, counted only.
    pub skipped_not_listed: u64,
    /// Objects deliberately not read (digests, non-log files): listed, not an error.
    pub ignored: Vec<Problem>,
    pub unmapped: BTreeMap<(String, String), u64>,
    /// What the source could not see.
    pub source_notes: Vec<String>,
    /// Objects that could not be fetched (listed in `skipped` too).
    pub unread: Vec<String>,
    /// Every object read, with its hashes, when ingest hashed them (evidence packs).
    pub objects: Vec<crate::hash::ObjectFingerprint>,
}

impl InputStats {
    /// Adds `problems` of `file`, in the order they were found there.
    pub fn skip(&mut self, file: &str, problems: impl IntoIterator<Item = Problem>) {
        for (ordinal, problem) in problems.into_iter().enumerate() {
            self.skipped_order.push((file.to_owned(), ordinal as u64));
            self.skipped.push(problem);
        }
    }

    /// Adds one problem at a given position among its file's problems.
    pub fn skip_at(&mut self, file: &str, ordinal: u64, problem: Problem) {
        self.skipped_order.push((file.to_owned(), ordinal));
        self.skipped.push(problem);
    }

    pub fn add_unmapped(&mut self, event_source: &str, event_name: &str, count: u64) {
        *self
            .unmapped
            .entry((event_source.to_owned(), event_name.to_owned()))
            .or_default() += count;
    }

    /// The unmapped calls, by event source and name.
    pub fn unmapped_list(&self) -> Vec<Unmapped> {
        self.unmapped
            .iter()
            .map(|((event_source, event_name), count)| Unmapped {
                event_source: event_source.clone(),
                event_name: event_name.clone(),
                count: *count,
            })
            .collect()
    }

    pub fn add_listing(&mut self, listing: Listing) {
        match listing {
            Listing::Object(_) | Listing::Watermark(_) => {}
            Listing::Note(note) => self.source_notes.push(note),
            Listing::Ignored { location, reason } => {
                self.ignored.push(Problem { location, reason })
            }
            Listing::Failed { location, reason } => {
                let file = location.clone();
                self.skip(&file, [Problem { location, reason }]);
            }
        }
    }

    /// Sorts the lists so output does not depend on which thread finished first.
    pub fn finish(&mut self) {
        let mut skipped: Vec<((String, u64), Problem)> = std::mem::take(&mut self.skipped_order)
            .into_iter()
            .zip(std::mem::take(&mut self.skipped))
            .collect();
        skipped.sort();
        (self.skipped_order, self.skipped) = skipped.into_iter().unzip();
        self.ignored.sort();
        self.unread.sort();
        self.objects.sort();
    }

    /// True when some input could not be read: the run's result is incomplete (exit status 2).
    pub fn incomplete(&self) -> bool {
        !self.skipped.is_empty() || self.skipped_not_listed > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_add_up() {
        let mut total = Counts::default();
        let file = Counts {
            records: 3,
            mapped: 2,
            not_workload: [(NotWorkload::AwsService, 1)].into(),
            ..Counts::default()
        };
        total += &file;
        total += &file;
        assert_eq!(total.records, 6);
        assert_eq!(total.mapped, 4);
        assert_eq!(total.not_workload[&NotWorkload::AwsService], 2);
    }

    #[test]
    fn problems_sort_by_file_then_the_order_found() {
        let mut input = InputStats::default();
        let record = |n: u32| Problem::new(format!("b.json.gz record {n}"), "not JSON");
        input.skip("b.json.gz", [record(2), record(10)]);
        input.skip("a.json.gz", [Problem::new("a.json.gz", "truncated")]);
        input.finish();
        let locations: Vec<&str> = input.skipped.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            ["a.json.gz", "b.json.gz record 2", "b.json.gz record 10"]
        );
        assert!(input.incomplete());
    }
}
