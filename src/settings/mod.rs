//! Raw settings → resolved settings, once per run.
//!
//! Flags (`cli`) and the batch job's TOML file (`config`) are only *sources* of settings: each
//! turns what the user wrote into [`Options`], where everything not given is `None`.
//! [`Settings::resolve`] fills the defaults (here, and nowhere else), checks the combination,
//! loads the IAM catalog and returns the domain types the pipeline stages take. No stage and no
//! command reads a clap struct or the TOML file.

mod cluster;
pub mod run;

use std::path::PathBuf;
use std::sync::Arc;

use jiff::Timestamp;

pub use cluster::ClusterArg;

use crate::attribute::ClusterNames;
use crate::aws::AwsOptions;
use crate::catalog::{Catalog, CatalogError};
use crate::decode::DecodeLimits;
use crate::ingest::IngestConfig;
use crate::policy::render::PolicyFormat;
use crate::report::WorkloadFilter;
use crate::source::{LayoutFilter, SourceSpec};
use crate::synth::{DEFAULT_MAX_MANAGED_POLICIES, Rules, SizeLimit, SynthConfig};
use crate::window::{TimeArg, TimeWindow};

/// Objects fetched at once from a network source when `--fetch-concurrency` is not given.
const REMOTE_FETCH_CONCURRENCY: usize = 32;

/// Everything a run can be told, as written: `None` or empty where nothing was said.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Local files and folders, one `s3://` URI, or `cloudtrail:lookup`.
    pub trails: Vec<PathBuf>,
    /// A partials stream (`iamtrim list`, `iamtrim extract`): a file, or `-` for stdin.
    pub partials: Option<PathBuf>,
    pub since: Option<TimeArg>,
    pub until: Option<TimeArg>,
    /// `since` and `until` as the evidence manifest records them (the user's words).
    pub since_label: Option<String>,
    pub until_label: Option<String>,
    pub accounts: Vec<String>,
    pub regions: Vec<String>,
    pub clusters: Vec<ClusterArg>,
    pub pod_identity_associations: Option<PathBuf>,
    pub iam_snapshot: Option<PathBuf>,
    /// `--k8s-inventory [CLUSTER=]FILE`, `context.k8s_inventory`.
    pub k8s_inventories: Vec<crate::k8s::InventoryArg>,
    /// `--kube-context [CLUSTER=]CONTEXT`, `context.kube_contexts`.
    pub kube_contexts: Vec<crate::k8s::KubeContextArg>,
    /// What the trails record (`--trail-config`, `context.trail_config`).
    pub trail_config: Option<PathBuf>,
    /// Let a diff's proposal drop grants the trail cannot show (`--drop-unobservable`).
    pub drop_unobservable: bool,
    /// Ask the EKS and IAM APIs for account facts (`--aws`, `context.aws`).
    pub aws_lookups: bool,
    pub aws: AwsOptions,
    pub s3_path_style: bool,
    pub diff: bool,
    pub policy: Option<PathBuf>,
    pub roles: Vec<String>,
    pub workloads: Vec<String>,
    pub policy_format: Option<PolicyFormat>,
    pub max_objects: Option<usize>,
    pub generalize_over: Option<usize>,
    pub max_managed_policies: Option<usize>,
    pub condition_requested_region: bool,
    pub condition_network: bool,
    pub size_limit: Option<SizeLimit>,
    pub catalog: Option<PathBuf>,
    pub fetch_concurrency: Option<usize>,
    pub threads: Option<usize>,
    pub max_object_bytes: Option<u64>,
    /// Decompressed bytes all workers hold at once.
    pub memory_budget: Option<u64>,
    pub max_record_bytes: Option<usize>,
}

/// What a run reads its API calls from.
#[derive(Debug, Clone)]
pub enum Input {
    /// CloudTrail log files, through a [`crate::source::LogSource`].
    Trail(SourceSpec),
    /// A partials stream (docs/SCALE.md): for `recommend`, extracted batches; for `extract`,
    /// the listing to read. `-` is stdin.
    Partials(PathBuf),
}

/// Where account facts come from besides the trail.
#[derive(Debug, Clone, Default)]
pub struct ContextSpec {
    pub pod_identity_associations: Option<PathBuf>,
    pub iam_snapshot: Option<PathBuf>,
    pub k8s_inventories: Vec<crate::k8s::InventoryArg>,
    pub kube_contexts: Vec<crate::k8s::KubeContextArg>,
    /// The trails' configuration: what they record (`observe`).
    pub trail_config: Option<PathBuf>,
    /// Ask the EKS and IAM APIs, with these options.
    pub aws: Option<AwsOptions>,
}

/// Settings that cannot be used, named by the flag (or key) that gave them.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("{flag}: {message}")]
    Time { flag: &'static str, message: String },
    #[error("--since ({start}) must be before --until ({end})")]
    EmptyWindow { start: Timestamp, end: Timestamp },
    #[error("a diff needs the current policies: give --policy FILE, --iam-snapshot FILE or --aws")]
    DiffWithoutPolicies,
    #[error("{flag} must be at least 1")]
    Zero { flag: &'static str },
    /// `--trail` names sources that cannot be read together.
    #[error("{0}")]
    Trails(String),
    #[error("cannot load the IAM catalog")]
    Catalog(#[source] CatalogError),
}

/// Settings resolved and checked: what every command and the pipeline take.
#[derive(Debug, Clone)]
pub struct Settings {
    pub input: Input,
    /// Threads, limits, the time window, cluster names and the catalog.
    pub ingest: IngestConfig,
    pub context: ContextSpec,
    pub aws: AwsOptions,
    pub s3_path_style: bool,
    pub synth: SynthConfig,
    pub filter: WorkloadFilter,
    /// Diff the reported roles against their current policies.
    pub diff: bool,
    /// One policy file as every role's current policy.
    pub policy: Option<PathBuf>,
    /// The diff's proposal drops grants the trail could not show instead of keeping them.
    pub drop_unobservable: bool,
    pub policy_format: PolicyFormat,
    /// What the evidence manifest records of how the run was configured.
    pub record: Recorded,
}

/// The settings as the user gave them, for the evidence manifest.
#[derive(Debug, Clone, Default)]
pub struct Recorded {
    pub trails: Vec<String>,
    pub since: Option<String>,
    pub until: Option<String>,
    pub clusters: Vec<String>,
}

impl Settings {
    /// Fills defaults, checks the combination and loads the catalog; `now` anchors ages such as
    /// `30d`.
    pub fn resolve(options: Options, now: Timestamp) -> Result<Settings, SettingsError> {
        let resolve = |arg: Option<TimeArg>, flag: &'static str| {
            arg.map(|a| a.resolve(now))
                .transpose()
                .map_err(|message| SettingsError::Time { flag, message })
        };
        let window = TimeWindow {
            start: resolve(options.since, "--since")?,
            end: resolve(options.until, "--until")?,
        };
        if let (Some(start), Some(end)) = (window.start, window.end)
            && start >= end
        {
            return Err(SettingsError::EmptyWindow { start, end });
        }
        if options.diff
            && options.policy.is_none()
            && options.iam_snapshot.is_none()
            && !options.aws_lookups
        {
            return Err(SettingsError::DiffWithoutPolicies);
        }
        let mut clusters = ClusterNames::default();
        for cluster in &options.clusters {
            clusters.add(&cluster.name, &cluster.issuer);
        }
        let threads = options.threads.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
        });
        if threads == 0 {
            return Err(SettingsError::Zero { flag: "--threads" });
        }
        let memory_budget = options
            .memory_budget
            .unwrap_or(crate::decode::budget::DEFAULT_BYTES);
        if memory_budget == 0 {
            return Err(SettingsError::Zero {
                flag: "--memory-budget",
            });
        }
        let input = match &options.partials {
            Some(partials) => Input::Partials(partials.clone()),
            None => Input::Trail(
                SourceSpec::new(
                    &options.trails,
                    LayoutFilter {
                        accounts: options.accounts.clone(),
                        regions: options.regions.clone(),
                    },
                    &options.aws,
                    options.s3_path_style,
                )
                .map_err(SettingsError::Trails)?,
            ),
        };
        // A listing for `extract` may name S3 objects: fetch as for a remote trail.
        let remote = match &input {
            Input::Trail(spec) => spec.is_remote(),
            Input::Partials(_) => true,
        };
        let fetch_concurrency = options.fetch_concurrency.unwrap_or(if remote {
            REMOTE_FETCH_CONCURRENCY
        } else {
            threads
        });
        if fetch_concurrency == 0 {
            return Err(SettingsError::Zero {
                flag: "--fetch-concurrency",
            });
        }
        let catalog =
            Catalog::resolve(options.catalog.as_deref()).map_err(SettingsError::Catalog)?;
        let limits = DecodeLimits::default();
        let synth = SynthConfig {
            rules: Rules {
                max_objects: options.max_objects.unwrap_or(Rules::default().max_objects),
                generalize_over: options
                    .generalize_over
                    .unwrap_or(Rules::default().generalize_over),
            },
            size_limit: options.size_limit.unwrap_or_default(),
            region_condition: options.condition_requested_region,
            network_condition: options.condition_network,
            max_managed_policies: options
                .max_managed_policies
                .unwrap_or(DEFAULT_MAX_MANAGED_POLICIES),
        };
        if synth.max_managed_policies == 0 {
            return Err(SettingsError::Zero {
                flag: "--max-managed-policies",
            });
        }
        Ok(Settings {
            input,
            ingest: IngestConfig {
                catalog: Arc::new(catalog),
                threads,
                fetch_concurrency,
                limits: DecodeLimits {
                    max_object_bytes: options.max_object_bytes.unwrap_or(limits.max_object_bytes),
                    max_record_bytes: options.max_record_bytes.unwrap_or(limits.max_record_bytes),
                },
                window,
                clusters,
                hash_objects: false,
                network: options.condition_network,
                budget: Arc::new(crate::decode::MemoryBudget::new(memory_budget)),
            },
            context: ContextSpec {
                pod_identity_associations: options.pod_identity_associations.clone(),
                iam_snapshot: options.iam_snapshot.clone(),
                k8s_inventories: options.k8s_inventories.clone(),
                kube_contexts: options.kube_contexts.clone(),
                trail_config: options.trail_config.clone(),
                aws: options.aws_lookups.then(|| options.aws.clone()),
            },
            aws: options.aws.clone(),
            s3_path_style: options.s3_path_style,
            synth,
            filter: WorkloadFilter {
                roles: options.roles.clone(),
                workloads: options.workloads.clone(),
            },
            diff: options.diff,
            policy: options.policy.clone(),
            drop_unobservable: options.drop_unobservable,
            policy_format: options.policy_format.unwrap_or_default(),
            record: Recorded {
                trails: options
                    .trails
                    .iter()
                    .map(|p| p.display().to_string())
                    .collect(),
                since: options.since_label.clone(),
                until: options.until_label.clone(),
                clusters: options
                    .clusters
                    .iter()
                    .map(|c| format!("{}={}", c.name, c.issuer))
                    .collect(),
            },
        })
    }

    /// The time window events are read in.
    pub fn window(&self) -> TimeWindow {
        self.ingest.window
    }

    /// The trail's source, when the input is a trail.
    pub fn source(&self) -> Option<&SourceSpec> {
        match &self.input {
            Input::Trail(spec) => Some(spec),
            Input::Partials(_) => None,
        }
    }
}

/// How `--since`/`--until` given as flags are recorded: a time as RFC 3339, an age as the span
/// before the run.
pub fn time_label(arg: Option<TimeArg>) -> Option<String> {
    arg.map(|t| match t {
        TimeArg::At(at) => at.to_string(),
        TimeArg::Ago(span) => format!("{span:#} before the run"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        "2026-11-22T12:00:00Z".parse().unwrap()
    }

    fn trail() -> Options {
        Options {
            trails: vec![PathBuf::from("fixtures/sample-trail")],
            ..Options::default()
        }
    }

    #[test]
    fn defaults_are_filled_in_one_place() {
        let s = Settings::resolve(trail(), now()).unwrap();
        assert_eq!(s.synth.rules.max_objects, 3);
        assert_eq!(s.synth.size_limit, SizeLimit::Managed);
        assert_eq!(s.ingest.limits.max_object_bytes, 1 << 30);
        assert_eq!(s.ingest.limits.max_record_bytes, 16 << 20);
        assert_eq!(s.ingest.fetch_concurrency, s.ingest.threads);
        assert_eq!(s.policy_format, PolicyFormat::Json);
        assert_eq!(s.window(), TimeWindow::default());
    }

    #[test]
    fn remote_trails_fetch_more_at_once() {
        let options = Options {
            trails: vec![PathBuf::from("s3://trail/AWSLogs/")],
            threads: Some(2),
            ..Options::default()
        };
        let s = Settings::resolve(options, now()).unwrap();
        assert_eq!(s.ingest.fetch_concurrency, 32);
        assert_eq!(s.ingest.threads, 2);
    }

    #[test]
    fn invalid_combinations_are_refused_with_the_flag_named() {
        let error = |options: Options| Settings::resolve(options, now()).unwrap_err().to_string();
        assert_eq!(
            error(Options {
                since: Some("2026-11-02".parse().unwrap()),
                until: Some("2026-11-01".parse().unwrap()),
                ..trail()
            }),
            "--since (2026-11-02T00:00:00Z) must be before --until (2026-11-01T00:00:00Z)"
        );
        assert_eq!(
            error(Options {
                diff: true,
                ..trail()
            }),
            "a diff needs the current policies: give --policy FILE, --iam-snapshot FILE or --aws"
        );
        assert_eq!(
            error(Options {
                threads: Some(0),
                ..trail()
            }),
            "--threads must be at least 1"
        );
        assert_eq!(
            error(Options {
                fetch_concurrency: Some(0),
                ..trail()
            }),
            "--fetch-concurrency must be at least 1"
        );
    }

    #[test]
    fn ages_resolve_against_now() {
        let s = Settings::resolve(
            Options {
                since: Some("30d".parse().unwrap()),
                ..trail()
            },
            now(),
        )
        .unwrap();
        assert_eq!(
            s.window().start.unwrap().to_string(),
            "2026-10-23T12:00:00Z"
        );
        assert_eq!(
            time_label(Some("2026-11-01".parse().unwrap())).as_deref(),
            Some("2026-11-01T00:00:00Z")
        );
    }
}
