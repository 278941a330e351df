//! Local files and folders: each path is a log file, or a folder walked recursively (the S3 key
//! layout `AWSLogs/[o-org/]<account>/CloudTrail/<region>/YYYY/MM/DD/` or any other).
//!
//! A file named explicitly is read whatever its name; inside folders, names decide (see
//! [`super::classify_key`]). Walk order is sorted so listings are reproducible.

use std::path::{Path, PathBuf};

use super::{KeyKind, Listing, LogSource, ObjectRef, SourceError, classify_key};

pub struct LocalSource {
    roots: Vec<PathBuf>,
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
        Ok(Self { roots })
    }
}

impl LogSource for LocalSource {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        for root in &self.roots {
            if !root.is_dir() {
                each(Listing::Object(object_ref(root, None)));
                continue;
            }
            for entry in walkdir::WalkDir::new(root).sort_by_file_name() {
                match entry {
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
                        let location = err.path().map_or_else(
                            || root.display().to_string(),
                            |p| p.display().to_string(),
                        );
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
        Ok(())
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        std::fs::read(&object.location).map_err(|source| SourceError::Io {
            location: object.location.clone(),
            source,
        })
    }
}

fn object_ref(path: &Path, size: Option<u64>) -> ObjectRef {
    ObjectRef {
        location: path.display().to_string(),
        size,
    }
}
