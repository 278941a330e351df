//! Sources of log objects: a narrow trait (list, fetch) so that every stage after this one runs the
//! same whether objects come from a local folder, S3 or a test double.
//!
//! Listing is streamed through a callback, never collected, so a source with millions of objects
//! costs no memory per object. Objects that are not log files (digests, stray files) are reported by
//! the source as [`Listing::Ignored`] so they are counted and shown, never silently dropped.

pub mod local;
pub mod lookup_events;
#[cfg(test)]
pub mod memory;
pub mod s3;
mod spec;

pub use spec::{SourceSpec, is_remote};

use std::fmt;

/// An object's user metadata (S3's `x-amz-meta-*`, names without the prefix).
pub type Metadata = std::collections::BTreeMap<String, String>;

/// One log object a source can fetch.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRef {
    /// Where the object is, as a user would type it: a path or an `s3://` URI.
    pub location: String,
    pub size: Option<u64>,
    /// The store's entity tag (S3's ETag), when the source has one: recorded by the usage store
    /// with each ingested object.
    pub etag: Option<String>,
}

/// What listing found.
#[derive(Debug)]
pub enum Listing {
    Object(ObjectRef),
    /// Present but deliberately not read (digest files, non-log files): listed in the output,
    /// does not make the result incomplete.
    Ignored {
        location: String,
        reason: String,
    },
    /// Could not be listed (e.g. an unreadable sub-folder): makes the result incomplete.
    Failed {
        location: String,
        reason: String,
    },
    /// Every object that can hold an event earlier than this time has been listed before this
    /// entry. Sources that know their layout's time partitioning say so (CloudTrail's
    /// `<region>/YYYY/MM/DD/` delivery folders); it lets the session join forget sessions that can
    /// no longer be used, so memory follows live sessions instead of all sessions ever seen.
    Watermark(jiff::Timestamp),
    /// What the source cannot see (shown in the output, not an error).
    Note(String),
}

/// How late CloudTrail may deliver an event into a later day's folder. CloudTrail delivers
/// within about 15 minutes; two hours leaves room for stragglers.
const DELIVERY_SLACK: jiff::SignedDuration = jiff::SignedDuration::from_hours(2);

/// The day of a CloudTrail delivery folder or key prefix `…/CloudTrail/<region>/YYYY/MM/DD`
/// (`parts` are its path components, in order; a trailing empty one is ignored).
pub fn delivery_day(parts: &[&str]) -> Option<jiff::civil::Date> {
    let parts = match parts.last() {
        Some(&"") => &parts[..parts.len() - 1],
        _ => parts,
    };
    let [.., trail, _region, year, month, day] = parts else {
        return None;
    };
    if *trail != "CloudTrail" || year.len() != 4 || month.len() != 2 || day.len() != 2 {
        return None;
    }
    jiff::civil::Date::new(year.parse().ok()?, month.parse().ok()?, day.parse().ok()?).ok()
}

/// Which accounts and regions of a CloudTrail layout to read (`--trail-account`,
/// `--trail-region`); empty means all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayoutFilter {
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
}

impl LayoutFilter {
    /// Whether a folder or key prefix (its path components) can hold wanted logs: its account
    /// (the component after `AWSLogs/` or `AWSLogs/o-…/`) and its region (after `CloudTrail/`).
    pub fn admits(&self, parts: &[&str]) -> bool {
        let after = |name: &str| {
            parts
                .iter()
                .position(|p| *p == name)
                .and_then(|i| parts.get(i + 1))
                .copied()
                .filter(|p| !p.is_empty())
        };
        let account = after("AWSLogs").and_then(|a| {
            if a.starts_with("o-") {
                after(a)
            } else {
                Some(a)
            }
        });
        let region = after("CloudTrail");
        let ok = |wanted: &[String], got: Option<&str>| {
            wanted.is_empty() || got.is_none_or(|g| wanted.iter().any(|w| w == g))
        };
        ok(&self.accounts, account) && ok(&self.regions, region)
    }
}

/// The delivery time in a CloudTrail log file name
/// (`<account>_CloudTrail_<region>_<YYYYMMDDTHHMMZ>_<id>.json.gz`).
pub fn delivery_time(key: &str) -> Option<jiff::Timestamp> {
    let name = key.rsplit('/').next()?;
    let stamp = name
        .split('_')
        .find(|part| part.len() == 14 && part.as_bytes()[8] == b'T' && part.ends_with('Z'))?;
    let civil = jiff::civil::DateTime::strptime("%Y%m%dT%H%MZ", stamp).ok()?;
    civil
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

/// The watermark after every folder of `day` has been listed: events before the next midnight,
/// less the delivery slack, are all in folders listed so far.
pub fn watermark_after(day: jiff::civil::Date) -> Option<jiff::Timestamp> {
    let next = day
        .tomorrow()
        .ok()?
        .to_zoned(jiff::tz::TimeZone::UTC)
        .ok()?;
    Some(next.timestamp() - DELIVERY_SLACK)
}

/// The delivery day a watermark from [`watermark_after`] closes.
pub fn watermark_day(watermark: jiff::Timestamp) -> Option<jiff::civil::Date> {
    let next = (watermark + DELIVERY_SLACK)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    next.yesterday().ok()
}

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{location}: no such file or folder")]
    NotFound { location: String },
    #[error("cannot read {location}")]
    Io {
        location: String,
        #[source]
        source: std::io::Error,
    },
    /// A remote store's refusal or failure, with what the user can do about it.
    #[error("{location}: {message}")]
    Remote { location: String, message: String },
}

/// A place log objects come from.
pub trait LogSource: Send + Sync {
    /// Streams every object (and every ignored or unlistable entry, and watermarks) to `each`.
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError>;
    /// The whole (still compressed) body of one object.
    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError>;
    /// The body with the object's user metadata (S3's `x-amz-meta-*`, without the prefix), for
    /// sources that keep any: CloudTrail signs each digest file in its metadata. Files on disk
    /// have none.
    fn fetch_with_metadata(
        &self,
        object: &ObjectRef,
    ) -> Result<(Vec<u8>, Option<Metadata>), SourceError> {
        Ok((self.fetch(object)?, None))
    }
}

/// What a key or file name says about an object found while walking a trail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyKind {
    Log,
    Digest,
    NotLog,
}

impl fmt::Display for KeyKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Log => "CloudTrail log file",
            Self::Digest => "CloudTrail digest file (integrity manifest, not a log)",
            Self::NotLog => "not a CloudTrail log file (expected .json or .json.gz)",
        })
    }
}

/// Classifies a key by name: CloudTrail writes digests under `CloudTrail-Digest/` with
/// `_CloudTrail-Digest_` in the name, and logs as `.json.gz`; exports are often plain `.json`.
pub fn classify_key(key: &str) -> KeyKind {
    let name = key.rsplit('/').next().unwrap_or(key);
    if key.contains("CloudTrail-Digest") {
        KeyKind::Digest
    } else if name.ends_with(".json.gz")
        || name.ends_with(".json")
        || name.ends_with(".jsonl")
        || name.ends_with(".jsonl.gz")
    {
        KeyKind::Log
    } else {
        KeyKind::NotLog
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_filters_and_delivery_times() {
        let filter = LayoutFilter {
            accounts: vec!["111".into()],
            regions: vec!["eu-west-1".into()],
        };
        let parts = |p: &str| p.split('/').map(str::to_owned).collect::<Vec<_>>();
        let admits = |p: &str| {
            let owned = parts(p);
            let refs: Vec<&str> = owned.iter().map(String::as_str).collect();
            filter.admits(&refs)
        };
        assert!(admits("AWSLogs/111/CloudTrail/eu-west-1/2026/11/01/"));
        assert!(admits("AWSLogs/o-abc/111/CloudTrail/"));
        assert!(!admits("AWSLogs/222/"));
        assert!(!admits("AWSLogs/o-abc/111/CloudTrail/us-east-1/"));
        assert!(admits("AWSLogs/"), "not decided yet");
        assert_eq!(
            delivery_time("x/111_CloudTrail_eu-west-1_20261101T0605Z_abc.json.gz")
                .map(|t| t.to_string()),
            Some("2026-11-01T06:05:00Z".to_owned())
        );
        assert_eq!(delivery_time("export.json"), None);
    }

    #[test]
    fn classifies_trail_keys() {
        let log = "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/02/111122223333_CloudTrail_us-east-1_20240102T0005Z_abc.json.gz";
        let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2024/01/02/111122223333_CloudTrail-Digest_us-east-1_trail_us-east-1_20240102T010000Z.json.gz";
        assert_eq!(classify_key(log), KeyKind::Log);
        assert_eq!(classify_key(digest), KeyKind::Digest);
        assert_eq!(
            classify_key("AWSLogs/111122223333/CloudTrail/README.txt"),
            KeyKind::NotLog
        );
        assert_eq!(classify_key("export.json"), KeyKind::Log);
    }
}
