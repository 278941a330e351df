//! The batch job's settings (`iamtrim run`): the common settings plus the store, the report
//! window and the outputs.

use std::path::PathBuf;

use jiff::{Span, Timestamp};

use super::{Options, Settings, SettingsError};
use crate::window::{TimeArg, TimeWindow};

/// Days of usage a recommendation covers when `report.window_days` is not given.
pub const DEFAULT_WINDOW_DAYS: u32 = 90;

/// What only the batch job is told, as written.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub store: PathBuf,
    pub window_days: Option<u32>,
    pub output: RunOutput,
}

/// Where the batch job writes.
#[derive(Debug, Clone, Default)]
pub struct RunOutput {
    /// `recommendation.json`, `recommendation.txt` and `policies/`.
    pub dir: PathBuf,
    /// Also copied to this `s3://bucket/prefix`.
    pub s3: Option<String>,
    /// Also an evidence pack of the window.
    pub evidence: bool,
    pub evidence_public_keys: Option<PathBuf>,
}

/// The batch job's resolved settings.
#[derive(Debug, Clone)]
pub struct RunSettings {
    /// Their ingest window is open: the store keeps every record of every object it reads
    /// (#31); `listing` prunes which days are listed.
    pub common: Settings,
    pub store: PathBuf,
    /// The report's window: the store's latest this many days.
    pub window_days: u32,
    /// Days before `listing.start` (less a day's margin) are not listed.
    pub listing: TimeWindow,
    pub output: RunOutput,
}

impl RunSettings {
    /// `since` defaults to the report window plus a day before `now`.
    pub fn resolve(
        mut options: Options,
        run: RunOptions,
        now: Timestamp,
    ) -> Result<RunSettings, SettingsError> {
        let window_days = run.window_days.unwrap_or(DEFAULT_WINDOW_DAYS);
        if window_days == 0 {
            return Err(SettingsError::Zero {
                flag: "report.window_days",
            });
        }
        if options.since.is_none() {
            options.since = Some(TimeArg::Ago(
                Span::new().hours(24 * (i64::from(window_days) + 1)),
            ));
        }
        let mut common = Settings::resolve(options, now)?;
        // Objects are recorded with their hashes, for evidence packs (SHA-256 costs little
        // beside inflating).
        common.ingest.hash_objects = true;
        let listing = common.ingest.window;
        common.ingest.window = TimeWindow::default();
        Ok(RunSettings {
            common,
            store: run.store,
            window_days,
            listing,
            output: run.output,
        })
    }

    /// The first delivery day listed: a day's margin before `since`, as a day folder holds
    /// events up to a few hours older than its date.
    pub fn first_listed_day(&self) -> Option<String> {
        self.listing
            .start
            .and_then(|at| at.checked_sub(jiff::SignedDuration::from_hours(24)).ok())
            .map(|at| at.strftime("%Y-%m-%d").to_string())
    }
}
