//! What can go wrong with the usage store, each with the file or row it concerns.

use std::path::PathBuf;

use crate::source::SourceError;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A partials stream (`run --partials`) holds something that cannot be ingested.
    #[error("{message}")]
    Partials { message: String },
    /// A file or folder could not be read, written or moved.
    #[error(transparent)]
    File(#[from] crate::errors::FileError),
    /// A JSON file of the store is not what it should be.
    #[error("{} is not {what}", path.display())]
    Json {
        path: PathBuf,
        what: &'static str,
        #[source]
        source: serde_json::Error,
    },
    #[error("the store {} is in use by another iamtrim run (its LOCK is held)", path.display())]
    Locked { path: PathBuf },
    #[error("{} is not a usage store (no MANIFEST.json); `iamtrim run` creates one", path.display())]
    NotAStore { path: PathBuf },
    #[error("{} has format {found:?}; this iamtrim reads {expected:?}", path.display())]
    Format {
        path: PathBuf,
        found: String,
        expected: &'static str,
    },
    /// A Parquet table, a column of one, or a SQL query over them.
    #[error("{what}")]
    Table {
        what: String,
        #[source]
        source: polars::error::PolarsError,
    },
    /// A row that cannot be turned back into activity.
    #[error("{0}")]
    Row(String),
    /// A day's objects could not be read through the trail's source.
    #[error("cannot read day {day}")]
    ReadDay {
        day: String,
        #[source]
        source: SourceError,
    },
    /// The trail could not be listed.
    #[error("cannot list the trail")]
    List {
        #[source]
        source: SourceError,
    },
    /// A day could not be committed.
    #[error("cannot commit day {day} to the usage store")]
    Commit {
        day: String,
        #[source]
        source: Box<StoreError>,
    },
}

impl StoreError {
    pub(crate) fn table(
        what: impl Into<String>,
    ) -> impl FnOnce(polars::error::PolarsError) -> Self {
        let what = what.into();
        move |source| Self::Table { what, source }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
