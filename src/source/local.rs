//! Local files and folders: each path is a log file, or a folder walked recursively (the S3 key
//! layout `AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/` or any other).
//!
//! A file named explicitly is read whatever its name; inside folders, names decide (see
//! [`super::classify_key`]). Walk order is sorted so listings are reproducible.
//!
//! CloudTrail delivery folders (`…/CloudTrail/<region>/YYYY/MM/DD/`) are read day by day across
//! all regions and accounts, oldest day first, with a [`Listing::Watermark`] after each day: the
//! session join can then retire sessions as the trail moves on. Other files are listed first, in
//! walk order. Only the day folders are remembered (one path per region and day), never files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use super::{KeyKind, Listing, LogSource, ObjectRef, SourceError, classify_key};

pub struct LocalSource {
    roots: Vec<PathBuf>,
    filter: super::LayoutFilter,
}

impl LocalSource {
    /// Checks every root up front: a missing path or an unreadable folder is an error before any
    /// work starts, not a skipped entry.
    pub fn new(roots: Vec<PathBuf>) -> Result<Self, SourceError> {
        for root in &roots {
            let location = root.display().to_string();
            let meta = std::fs::metadata(root).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => SourceError::NotFound {
                    location: location.clone(),
                },
                _ => SourceError::Io {
                    location: location.clone(),
                    source,
                },
            })?;
            if meta.is_dir() {
                std::fs::read_dir(root).map_err(|source| SourceError::Io { location, source })?;
            }
        }
        Ok(Self {
            roots,
            filter: super::LayoutFilter::default(),
        })
    }

    /// Reads only the accounts and regions `filter` admits.
    pub fn with_filter(mut self, filter: super::LayoutFilter) -> Self {
        self.filter = filter;
        self
    }
}

impl LogSource for LocalSource {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        let mut days: BTreeMap<Date, Vec<PathBuf>> = BTreeMap::new();
        for root in &self.roots {
            if !root.is_dir() {
                each(Listing::Object(object_ref(root, None)));
                continue;
            }
            if let Some(day) = delivery_day(root) {
                days.entry(day).or_default().push(root.clone());
                continue;
            }
            let filter = &self.filter;
            walk(root, filter, each, &mut |day, path| {
                days.entry(day).or_default().push(path.to_owned());
            });
        }
        for (day, folders) in days {
            for folder in folders {
                walk(&folder, &self.filter, each, &mut |_, _| {});
            }
            if let Some(watermark) = super::watermark_after(day) {
                each(Listing::Watermark(watermark));
            }
        }
        Ok(())
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        std::fs::read(&object.location).map_err(|source| SourceError::Io {
            location: object.location.clone(),
            source,
        })
    }
}

/// Lists the files under `root`; CloudTrail day folders below it go to `day_folder` instead of
/// being entered.
fn walk(
    root: &Path,
    filter: &super::LayoutFilter,
    each: &mut dyn FnMut(Listing),
    day_folder: &mut dyn FnMut(Date, &Path),
) {
    let mut walker = walkdir::WalkDir::new(root).sort_by_file_name().into_iter();
    while let Some(entry) = walker.next() {
        match entry {
            Ok(entry) if entry.file_type().is_dir() => {
                let parts: Vec<&str> = entry
                    .path()
                    .components()
                    .map(|c| c.as_os_str().to_str().unwrap_or(""))
                    .collect();
                if !filter.admits(&parts) {
                    walker.skip_current_dir();
                    continue;
                }
                if entry.depth() > 0
                    && let Some(day) = delivery_day(entry.path())
                {
                    day_folder(day, entry.path());
                    walker.skip_current_dir();
                }
            }
            Ok(entry) if entry.file_type().is_file() => {
                let path = entry.path();
                let location = path.display().to_string();
                match classify_key(&location) {
                    KeyKind::Log => {
                        let size = entry.metadata().ok().map(|m| m.len());
                        each(Listing::Object(object_ref(path, size)));
                    }
                    kind => each(Listing::Ignored {
                        location,
                        reason: kind.to_string(),
                    }),
                }
            }
            Ok(_) => {}
            Err(err) => {
                let location = err
                    .path()
                    .map_or_else(|| root.display().to_string(), |p| p.display().to_string());
                let reason = err
                    .io_error()
                    .map_or_else(|| err.to_string(), std::string::ToString::to_string);
                each(Listing::Failed {
                    location,
                    reason: format!("cannot list: {reason}"),
                });
            }
        }
    }
}

/// The day of a CloudTrail delivery folder `…/CloudTrail/<region>/YYYY/MM/DD`.
fn delivery_day(path: &Path) -> Option<Date> {
    let parts: Vec<&str> = path
        .components()
        .map(|c| c.as_os_str().to_str().unwrap_or(""))
        .collect();
    super::delivery_day(&parts)
}

fn object_ref(path: &Path, size: Option<u64>) -> ObjectRef {
    ObjectRef {
        location: path.display().to_string(),
        size,
        etag: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_days_only_in_the_cloudtrail_layout() {
        let day = |p: &str| delivery_day(Path::new(p));
        assert_eq!(
            day("t/AWSLogs/1/CloudTrail/us-east-1/2026/11/01"),
            Some(Date::constant(2026, 11, 1))
        );
        assert_eq!(day("exports/2026/11/01"), None);
        assert_eq!(
            day("t/AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/01"),
            None
        );
        assert_eq!(day("t/AWSLogs/1/CloudTrail/us-east-1/2026/13/01"), None);
    }

    #[test]
    fn days_are_listed_across_regions_oldest_first_with_watermarks() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("AWSLogs/111122223333/CloudTrail");
        for (region, day) in [
            ("eu-west-1", "02"),
            ("us-east-1", "01"),
            ("us-east-1", "02"),
        ] {
            let folder = base.join(format!("{region}/2026/11/{day}"));
            std::fs::create_dir_all(&folder).unwrap();
            std::fs::write(folder.join(format!("{region}-{day}.json.gz")), b"x").unwrap();
        }
        std::fs::write(dir.path().join("export.json"), b"[]").unwrap();
        let source = LocalSource::new(vec![dir.path().to_owned()]).unwrap();
        let mut seen = Vec::new();
        source
            .list(&mut |listing| {
                seen.push(match listing {
                    Listing::Object(o) => o.location.rsplit('/').next().unwrap().to_owned(),
                    Listing::Watermark(t) => format!("watermark {t}"),
                    other => format!("{other:?}"),
                });
            })
            .unwrap();
        assert_eq!(
            seen,
            [
                "export.json",
                "us-east-1-01.json.gz",
                "watermark 2026-11-01T22:00:00Z",
                "eu-west-1-02.json.gz",
                "us-east-1-02.json.gz",
                "watermark 2026-11-02T22:00:00Z",
            ]
        );
    }
}
