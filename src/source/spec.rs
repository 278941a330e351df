//! What `--trail` (or `source.trails`) names, checked, and the [`LogSource`] it builds.

use std::path::PathBuf;

use super::local::LocalSource;
use super::lookup_events::{self, LookupEventsSource};
use super::s3::S3Source;
use super::{LayoutFilter, LogSource, SourceError};
use crate::aws::AwsOptions;
use crate::window::TimeWindow;

/// A trail, as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SourceSpec {
    /// Local files and folders (walked recursively).
    Local {
        paths: Vec<PathBuf>,
        layout: LayoutFilter,
    },
    /// One `s3://bucket[/prefix]`, read in place.
    S3 {
        uri: String,
        aws: AwsOptions,
        path_style: bool,
        layout: LayoutFilter,
    },
    /// `cloudtrail:lookup`: the LookupEvents API.
    LookupEvents { aws: AwsOptions },
}

/// Whether a trail location is read over the network (`s3://…` or `cloudtrail:lookup`).
pub fn is_remote(location: &str) -> bool {
    location.starts_with("s3://") || location == lookup_events::URI
}

impl SourceSpec {
    /// Checks that `trails` name one kind of source: local paths, one `s3://` URI, or
    /// `cloudtrail:lookup` alone.
    pub fn new(
        trails: &[PathBuf],
        layout: LayoutFilter,
        aws: &AwsOptions,
        path_style: bool,
    ) -> Result<Self, String> {
        let text = |p: &PathBuf| p.to_str().map(str::to_owned);
        if trails
            .iter()
            .any(|p| p.to_str() == Some(lookup_events::URI))
        {
            if trails.len() != 1 {
                return Err(
                    "--trail cloudtrail:lookup cannot be combined with other trails".into(),
                );
            }
            return Ok(Self::LookupEvents { aws: aws.clone() });
        }
        let uris: Vec<String> = trails
            .iter()
            .filter_map(text)
            .filter(|p| p.starts_with("s3://"))
            .collect();
        match uris.as_slice() {
            [] => Ok(Self::Local {
                paths: trails.to_vec(),
                layout,
            }),
            [uri] if trails.len() == 1 => Ok(Self::S3 {
                uri: uri.clone(),
                aws: aws.clone(),
                path_style,
                layout,
            }),
            _ => Err("give either local paths or one s3:// URI as --trail".into()),
        }
    }

    /// Whether objects come over the network (fetches are latency-bound).
    pub fn is_remote(&self) -> bool {
        !matches!(self, Self::Local { .. })
    }

    /// Opens the source for events in `window`; `digests` also lists CloudTrail digest files
    /// (as ignored objects) for evidence packs.
    pub fn build(
        &self,
        window: TimeWindow,
        digests: bool,
    ) -> Result<Box<dyn LogSource>, SourceError> {
        Ok(match self {
            Self::Local { paths, layout } => {
                Box::new(LocalSource::new(paths.clone())?.with_filter(layout.clone()))
            }
            Self::S3 {
                uri,
                aws,
                path_style,
                layout,
            } => Box::new(
                S3Source::new(uri, aws, *path_style, window, layout.clone())?.with_digests(digests),
            ),
            Self::LookupEvents { aws } => Box::new(LookupEventsSource::new(aws, window)?),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(trails: &[&str]) -> Result<SourceSpec, String> {
        let trails: Vec<PathBuf> = trails.iter().map(PathBuf::from).collect();
        SourceSpec::new(
            &trails,
            LayoutFilter::default(),
            &AwsOptions::default(),
            false,
        )
    }

    #[test]
    fn one_kind_of_source() {
        assert!(matches!(spec(&["a", "b"]), Ok(SourceSpec::Local { .. })));
        assert!(matches!(
            spec(&["s3://t/AWSLogs/"]),
            Ok(SourceSpec::S3 { .. })
        ));
        assert!(matches!(
            spec(&["cloudtrail:lookup"]),
            Ok(SourceSpec::LookupEvents { .. })
        ));
        assert_eq!(
            spec(&["a", "s3://t"]).unwrap_err(),
            "give either local paths or one s3:// URI as --trail"
        );
        assert_eq!(
            spec(&["s3://t", "s3://u"]).unwrap_err(),
            "give either local paths or one s3:// URI as --trail"
        );
        assert_eq!(
            spec(&["cloudtrail:lookup", "a"]).unwrap_err(),
            "--trail cloudtrail:lookup cannot be combined with other trails"
        );
        assert!(spec(&["s3://t"]).unwrap().is_remote());
        assert!(!spec(&["a"]).unwrap().is_remote());
    }
}
