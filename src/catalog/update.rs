//! `iamtrim catalog update`: rebuild the catalog from AWS's published service reference
//! (https://docs.aws.amazon.com/service-authorization/latest/reference/service-reference.html)
//! and write it, atomically, where iamtrim looks for a refreshed catalog.
//!
//! The service list (`[{"service","url"}]`) names one JSON file per service with its `Actions`
//! (`Name`, `Resources[].Name`, `Annotations.Properties.Is*` for the access level), `Resources`
//! (`Name`, `ARNFormats`) and `ConditionKeys` (`Name`). The result has the same format as the
//! embedded catalog, so everything downstream is unchanged.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::{Action, CatalogFile, Service};

pub const SERVICE_LIST_URL: &str =
    "https://servicereference.us-east-1.amazonaws.com/v1/service-list.json";

#[derive(Debug, thiserror::Error)]
pub enum UpdateError {
    #[error("cannot fetch {url}")]
    Fetch {
        url: String,
        #[source]
        source: Box<ureq::Error>,
    },
    #[error("{url} is not the service reference format")]
    Format {
        url: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("cannot write {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

#[derive(Deserialize)]
struct ServiceEntry {
    service: String,
    url: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ServiceReference {
    #[serde(default)]
    actions: Vec<ReferenceAction>,
    #[serde(default)]
    resources: Vec<ReferenceResource>,
    #[serde(default)]
    condition_keys: Vec<Named>,
    /// Operation → the actions that authorize it, for services that publish the mapping:
    /// https://docs.aws.amazon.com/service-authorization/latest/reference/service-reference.html
    #[serde(default)]
    operations: Vec<ReferenceOperation>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReferenceOperation {
    name: String,
    #[serde(default)]
    authorized_actions: Vec<AuthorizedAction>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AuthorizedAction {
    name: String,
    service: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReferenceAction {
    name: String,
    #[serde(default)]
    resources: Vec<Named>,
    #[serde(default)]
    annotations: Option<Annotations>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Annotations {
    #[serde(default)]
    properties: BTreeMap<String, bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ReferenceResource {
    name: String,
    #[serde(default, rename = "ARNFormats")]
    arn_formats: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Named {
    name: String,
}

/// Where a refreshed catalog lives: `$XDG_CACHE_HOME/iamtrim/catalog.json.gz`, else
/// `~/.cache/iamtrim/catalog.json.gz`.
pub fn default_cache_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?;
    Some(base.join("iamtrim").join("catalog.json.gz"))
}

fn get_json<T: for<'de> Deserialize<'de>>(
    agent: &ureq::Agent,
    url: &str,
) -> Result<T, UpdateError> {
    let fetch = |source: ureq::Error| UpdateError::Fetch {
        url: url.to_owned(),
        source: Box::new(source),
    };
    let body = agent
        .get(url)
        .call()
        .map_err(fetch)?
        .body_mut()
        .read_to_string()
        .map_err(fetch)?;
    serde_json::from_str(&body).map_err(|source| UpdateError::Format {
        url: url.to_owned(),
        source,
    })
}

/// Fetches every service and writes the catalog to `out`; returns (services, actions).
pub fn update(list_url: &str, out: &Path) -> Result<(usize, usize), UpdateError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(30)))
        .build()
        .into();
    let list: Vec<ServiceEntry> = get_json(&agent, list_url)?;
    let mut services = BTreeMap::new();
    for entry in list {
        let reference: ServiceReference = get_json(&agent, &entry.url)?;
        services.insert(entry.service.clone(), service(&entry.service, reference));
    }
    let counts = (
        services.len(),
        services.values().map(|s| s.actions.len()).sum(),
    );
    let now = jiff::Timestamp::now();
    let catalog = CatalogFile {
        source: format!("AWS service reference, {list_url}"),
        version: format!("aws-service-reference {}", now.strftime("%Y-%m-%d")),
        updated_at: now.to_string(),
        services,
    };
    let json = serde_json::to_vec(&catalog).map_err(|source| UpdateError::Format {
        url: list_url.to_owned(),
        source,
    })?;
    write_atomically(out, &json)?;
    Ok(counts)
}

fn service(prefix: &str, reference: ServiceReference) -> Service {
    let actions = reference
        .actions
        .into_iter()
        .map(|a| {
            let is = |key: &str| {
                a.annotations
                    .as_ref()
                    .is_some_and(|n| n.properties.get(key) == Some(&true))
            };
            let access = if is("IsPermissionManagement") {
                "Permissions management"
            } else if is("IsTaggingOnly") {
                "Tagging"
            } else if is("IsWrite") {
                "Write"
            } else if is("IsList") {
                "List"
            } else {
                "Read"
            };
            // The service reference does not say which resource types are required.
            let resources = a.resources.into_iter().map(|r| (r.name, false)).collect();
            (
                a.name,
                Action {
                    access: access.to_owned(),
                    resources,
                },
            )
        })
        .collect();
    let resource_types = reference
        .resources
        .into_iter()
        .filter_map(|r| Some((r.name, r.arn_formats.into_iter().next()?)))
        .collect();
    let mut condition_keys: Vec<String> = reference
        .condition_keys
        .into_iter()
        .map(|c| c.name)
        .collect();
    condition_keys.sort();
    let operations = reference
        .operations
        .into_iter()
        .filter(|o| !o.authorized_actions.is_empty())
        .map(|o| {
            let actions = o
                .authorized_actions
                .into_iter()
                .map(|a| format!("{}:{}", a.service, a.name))
                .collect();
            (o.name, actions)
        })
        .collect();
    Service {
        name: prefix.to_owned(),
        actions,
        resource_types,
        condition_keys,
        operations,
    }
}

/// Temp file in the same folder, then rename: a reader never sees half a catalog.
fn write_atomically(path: &Path, json: &[u8]) -> Result<(), UpdateError> {
    let error = |source| UpdateError::Write {
        path: path.display().to_string(),
        source,
    };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(error)?;
    }
    let mut gz = flate2::GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(json).map_err(error)?;
    let compressed = gz.finish().map_err(error)?;
    crate::atomic::write(path, &compressed).map_err(error)
}
