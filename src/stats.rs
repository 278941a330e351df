//! Counters for the input side of a run, summed from every file and listing entry; written into
//! the output so a reader knows how complete the result is.

use std::collections::BTreeMap;

use crate::aggregate::{FileBatch, FileProblem};
use crate::attribute::NotWorkload;
use crate::source::Listing;

#[derive(Debug, Default, Clone)]
pub struct InputStats {
    pub files: u64,
    pub records: u64,
    pub bad_records: u64,
    pub outside_window: u64,
    pub duplicates: u64,
    pub no_permission: u64,
    pub mapped: u64,
    pub not_workload: BTreeMap<NotWorkload, u64>,
    /// Files or records that could not be read: the result is incomplete.
    pub skipped: Vec<FileProblem>,
    /// Problems beyond the per-file listing cap, counted only.
    pub skipped_not_listed: u64,
    /// Objects deliberately not read (digests, non-log files): listed, not an error.
    pub ignored: Vec<FileProblem>,
    pub unmapped: BTreeMap<(String, String), u64>,
    /// What the source could not see.
    pub source_notes: Vec<String>,
    /// Objects that could not be fetched (listed in `skipped` too).
    pub unread: Vec<String>,
    /// Every object read, with its hashes, when ingest hashed them (evidence packs).
    pub objects: Vec<crate::hash::ObjectFingerprint>,
}

impl InputStats {
    pub fn add_file(&mut self, batch: &FileBatch) {
        self.files += 1;
        if batch.unread {
            self.unread.push(batch.location.clone());
        }
        if let Some(fingerprint) = &batch.fingerprint {
            self.objects.push(fingerprint.clone());
        }
        let c = &batch.counts;
        self.records += c.records;
        self.bad_records += c.bad_records;
        self.outside_window += c.outside_window;
        self.duplicates += c.duplicates;
        self.no_permission += c.no_permission;
        self.mapped += c.mapped;
        for (reason, n) in &c.not_workload {
            *self.not_workload.entry(*reason).or_default() += n;
        }
        self.skipped.extend(batch.problems.iter().cloned());
        self.skipped_not_listed += batch.problems_not_listed;
        for (pair, n) in &batch.unmapped {
            *self.unmapped.entry(pair.clone()).or_default() += n;
        }
    }

    pub fn add_listing(&mut self, listing: Listing) {
        match listing {
            Listing::Object(_) | Listing::Watermark(_) => {}
            Listing::Note(note) => self.source_notes.push(note),
            Listing::Ignored { location, reason } => {
                self.ignored
                    .push(FileProblem::new(&location.clone(), 0, location, reason))
            }
            Listing::Failed { location, reason } => {
                self.skipped
                    .push(FileProblem::new(&location.clone(), 0, location, reason))
            }
        }
    }

    /// Sorts the lists so output does not depend on which thread finished first.
    pub fn finish(&mut self) {
        self.skipped.sort();
        self.ignored.sort();
        self.unread.sort();
        self.objects.sort();
    }

    /// True when some input could not be read: the run's result is incomplete (exit status 2).
    pub fn incomplete(&self) -> bool {
        !self.skipped.is_empty() || self.skipped_not_listed > 0
    }
}
