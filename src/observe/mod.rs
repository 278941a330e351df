//! What the trail could have shown: for a granted (action, resource), whether a call using it
//! would have been recorded, and if not, why. A grant the trail could not show is never proposed
//! for removal without saying so (docs/SYNTHESIS.md, "What the trail cannot see").
//!
//! The facts come from data, not branches: `data/data-events.tsv` (which actions CloudTrail logs
//! as data events of which resource type, from AWS's documentation), the operations index (which
//! actions a call of their own records, and under which eventSource), the IAM catalog (access
//! levels, for read-only filters), and the trails' configuration (`--trail-config`, `trail.rs`),
//! or, without one, what the input itself shows.

mod trail;

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::LazyLock;

use serde::Serialize;

pub use trail::{TrailConfig, TrailConfigError};

use crate::catalog::Catalog;
use crate::catalog::operations::Operations;
use crate::map::{Mapping, resolve_operation};

/// One row of `data/data-events.tsv`.
#[derive(Debug)]
pub struct DataEventType {
    pub resource_type: &'static str,
    pub event_source: &'static str,
    pub actions: BTreeSet<&'static str>,
}

static DATA_EVENTS: LazyLock<Vec<DataEventType>> = LazyLock::new(|| {
    include_str!("data/data-events.tsv")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|line| {
            let mut f = line.split('\t');
            let resource_type = f.next()?;
            let event_source = f.next()?;
            let _prefix = f.next()?;
            let actions = f.next()?.split(' ').filter(|a| !a.is_empty()).collect();
            Some(DataEventType {
                resource_type,
                event_source,
                actions,
            })
        })
        .collect()
});

/// The data event type an action is logged as, if it is a data event.
pub fn data_event_type(action: &str) -> Option<&'static DataEventType> {
    DATA_EVENTS.iter().find(|t| t.actions.contains(action))
}

/// Every data event type of the table.
pub fn data_event_types() -> &'static [DataEventType] {
    &DATA_EVENTS
}

/// How a call using an action appears in CloudTrail, as far as the data says.
#[derive(Debug, Clone)]
pub struct EventShape {
    /// `None` for a management event.
    pub data_type: Option<&'static DataEventType>,
    /// The eventSource hosts its calls carry.
    pub sources: BTreeSet<String>,
    /// The eventNames of the calls that need it.
    pub names: BTreeSet<String>,
    /// CloudTrail's `readOnly`, when the action's access level says it reliably.
    pub read_only: Option<bool>,
}

/// For each catalog action that a call of its own records: the eventSources and eventNames.
type Recorded = BTreeMap<String, (BTreeSet<String>, BTreeSet<String>)>;

fn recorded_actions(catalog: &Catalog) -> Recorded {
    let mut out: Recorded = BTreeMap::new();
    for api in &Operations::embedded().apis {
        let Some(prefix) = api.prefix.as_deref() else {
            continue;
        };
        for operation in &api.operations {
            if api.unsigned.contains(operation) {
                continue;
            }
            if let (Mapping::Actions(actions, ..), _) =
                resolve_operation(catalog, prefix, Some(api), operation)
            {
                for action in actions {
                    let entry = out.entry(action.to_string()).or_default();
                    entry.0.extend(api.event_sources.iter().cloned());
                    entry.1.insert(operation.clone());
                }
            }
        }
    }
    out
}

/// What the trail records: its configuration, or what the input shows.
pub enum Recording {
    /// `--trail-config`: the trails and their selectors.
    Configured(TrailConfig),
    /// No configuration: management events are taken as recorded, and a data event type as
    /// recorded only when the input holds data events from its eventSource.
    Inferred {
        data_events: BTreeMap<String, u64>,
        /// S3 data events by bucket (empty when not counted, e.g. old store days).
        buckets: BTreeMap<String, u64>,
    },
}

/// Answers whether a grant could have been seen.
pub struct Observability {
    pub recording: Recording,
    /// Resolved on the first question (every operation of the index, once).
    recorded: std::sync::OnceLock<Recorded>,
}

/// The run-level summary of what the trail does not record (`input.coverage`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coverage {
    /// Where the recording facts come from: a `--trail-config` file, or the input.
    pub source: String,
    /// What is not recorded, one sentence each.
    pub not_recorded: Vec<String>,
    /// Data events in the input, by eventSource.
    pub data_events: BTreeMap<String, u64>,
    /// The trail configuration the answers rest on, as read (`--trail-config` or `--aws`);
    /// null when inferred. Evidence packs keep it with the recommendation.
    #[serde(default)]
    pub trail_config: serde_json::Value,
}

impl Observability {
    pub fn new(recording: Recording) -> Self {
        Self {
            recording,
            recorded: std::sync::OnceLock::new(),
        }
    }

    /// From a `--trail-config` file, else from the CloudTrail API (`fetched`, with `--aws`),
    /// else inferred from the input's data events.
    pub fn load(
        trail_config: Option<&Path>,
        fetched: Option<TrailConfig>,
        data_events: &BTreeMap<String, u64>,
        buckets: &BTreeMap<String, u64>,
    ) -> Result<Self, TrailConfigError> {
        let recording = match (trail_config, fetched) {
            (Some(path), _) => Recording::Configured(TrailConfig::read(path)?),
            (None, Some(config)) => Recording::Configured(config),
            (None, None) => Recording::Inferred {
                data_events: data_events.clone(),
                buckets: buckets.clone(),
            },
        };
        Ok(Self::new(recording))
    }

    /// How a call using `action` appears in CloudTrail; `None` when no call of its own records
    /// it (a permission checked inside other calls, such as `iam:PassRole`).
    pub fn shape(&self, action: &str, catalog: &Catalog) -> Option<EventShape> {
        let data_type = data_event_type(action);
        let recorded = self.recorded.get_or_init(|| recorded_actions(catalog));
        let (sources, names) = match (recorded.get(action), data_type) {
            (Some((sources, names)), _) => (sources.clone(), names.clone()),
            (None, Some(t)) => (
                [t.event_source.to_owned()].into(),
                [action.split_once(':').map_or(action, |(_, n)| n).to_owned()].into(),
            ),
            (None, None) => return None,
        };
        let access = action
            .split_once(':')
            .and_then(|(prefix, name)| catalog.services.get(prefix)?.actions.get(name))
            .map(|a| a.access.as_str());
        // KMS's cryptographic operations are CloudTrail read events whatever their IAM access
        // level; elsewhere Read and List are read events and the rest are writes.
        let read_only = if action.starts_with("kms:") {
            None
        } else {
            match access {
                Some("Read" | "List") => Some(true),
                Some("Write" | "Tagging" | "Permissions management") => Some(false),
                _ => None,
            }
        };
        Some(EventShape {
            data_type,
            sources,
            names,
            read_only,
        })
    }

    /// `Ok` when a call using `action` on `resource` (a pattern, maybe with wildcards) by a
    /// principal of `account` would have been recorded; else why not, in one sentence.
    pub fn check(
        &self,
        action: &str,
        resource: &str,
        account: Option<&str>,
        catalog: &Catalog,
    ) -> Result<(), String> {
        let Some(shape) = self.shape(action, catalog) else {
            return Err(format!(
                "CloudTrail never records {action} as a call of its own: it is a permission \
                 checked inside other calls, which iamtrim infers only where it knows them"
            ));
        };
        match &self.recording {
            Recording::Inferred {
                data_events,
                buckets,
            } => match shape.data_type {
                Some(t) if !data_events.contains_key(t.event_source) => Err(format!(
                    "{action} is logged as a {} data event, and the input has no data events \
                     from {}: the trail does not seem to record them (give --trail-config to \
                     say what it records)",
                    t.resource_type, t.event_source
                )),
                Some(t) if t.resource_type == "AWS::S3::Object" && !buckets.is_empty() => {
                    // Trails often log the objects of some buckets only: judge each bucket.
                    let bucket = resource
                        .split_once(":s3:::")
                        .map(|(_, rest)| rest.split('/').next().unwrap_or(rest))
                        .unwrap_or("*");
                    if !bucket.contains(['*', '?']) && buckets.contains_key(bucket) {
                        Ok(())
                    } else {
                        Err(format!(
                            "{action} is logged as an S3 object data event, and the input has \
                             none for {}: the trail does not seem to record them there (give \
                             --trail-config to say what it records)",
                            if bucket.contains(['*', '?']) {
                                format!("every bucket {resource} covers")
                            } else {
                                format!("bucket {bucket}")
                            }
                        ))
                    }
                }
                _ => Ok(()),
            },
            Recording::Configured(config) => config.records(&shape, action, resource, account),
        }
    }

    /// What is not recorded, for `input.coverage`.
    pub fn coverage(&self, data_events: &BTreeMap<String, u64>) -> Coverage {
        let trail_config = match &self.recording {
            Recording::Configured(config) => config.raw.clone(),
            Recording::Inferred { .. } => serde_json::Value::Null,
        };
        let (source, not_recorded) = match &self.recording {
            Recording::Inferred { data_events, .. } => {
                let mut missing = BTreeSet::new();
                for t in data_event_types() {
                    if !data_events.contains_key(t.event_source) {
                        missing.insert(t.event_source);
                    }
                }
                let not_recorded = missing
                    .into_iter()
                    .map(|source| {
                        let types: Vec<&str> = data_event_types()
                            .iter()
                            .filter(|t| t.event_source == source)
                            .map(|t| t.resource_type)
                            .collect();
                        format!(
                            "data events from {source} ({}): none in the input",
                            types.join(", ")
                        )
                    })
                    .collect();
                (
                    "inferred from the input (no --trail-config): management events taken as \
                     recorded, data events only where the input has some"
                        .to_owned(),
                    not_recorded,
                )
            }
            Recording::Configured(config) => (config.origin.clone(), config.not_recorded()),
        };
        Coverage {
            source,
            not_recorded,
            data_events: data_events.clone(),
            trail_config,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> &'static Catalog {
        static CATALOG: LazyLock<Catalog> = LazyLock::new(|| Catalog::embedded().unwrap());
        &CATALOG
    }

    #[test]
    fn the_table_names_the_common_data_events() {
        assert_eq!(
            data_event_type("s3:GetObject").unwrap().resource_type,
            "AWS::S3::Object"
        );
        assert_eq!(
            data_event_type("dynamodb:PutItem").unwrap().resource_type,
            "AWS::DynamoDB::Table"
        );
        assert_eq!(
            data_event_type("sqs:SendMessage").unwrap().resource_type,
            "AWS::SQS::Queue"
        );
        assert!(data_event_type("sqs:DeleteQueue").is_none());
        for t in data_event_types() {
            for action in &t.actions {
                let (prefix, name) = action.split_once(':').unwrap();
                assert!(
                    catalog().services[prefix].actions.contains_key(name),
                    "{action} of {} is not in the catalog",
                    t.resource_type
                );
            }
        }
    }

    #[test]
    fn without_a_configuration_data_events_count_only_where_the_input_has_some() {
        let seen = BTreeMap::from([("s3.amazonaws.com".to_owned(), 3)]);
        let o = Observability::load(None, None, &seen, &BTreeMap::new()).unwrap();
        let bucket = "arn:aws:s3:::data/*";
        assert_eq!(o.check("s3:GetObject", bucket, None, catalog()), Ok(()));
        let queue = "arn:aws:sqs:us-east-1:111122223333:jobs";
        let why = o
            .check("sqs:SendMessage", queue, None, catalog())
            .unwrap_err();
        assert!(why.contains("AWS::SQS::Queue data event"), "{why}");
        assert_eq!(o.check("sqs:DeleteQueue", queue, None, catalog()), Ok(()));
        let why = o
            .check(
                "iam:PassRole",
                "arn:aws:iam::111122223333:role/x",
                None,
                catalog(),
            )
            .unwrap_err();
        assert!(why.contains("never records iam:PassRole"), "{why}");
        let coverage = o.coverage(&seen);
        assert!(
            coverage
                .not_recorded
                .iter()
                .any(|n| n.starts_with("data events from sqs.amazonaws.com"))
        );
    }
}
