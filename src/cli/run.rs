use std::path::PathBuf;

use clap::{Args, ValueEnum};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The batch job's configuration (TOML; see docs/SCALE.md).
    #[arg(long, value_name = "FILE")]
    pub config: PathBuf,

    /// Only check the configuration and exit (status 0 when valid, 2 when not).
    #[arg(long)]
    pub check_config: bool,

    /// How progress and the summary are written to stderr: lines for a person, or one JSON
    /// object per line for a log pipeline.
    #[arg(long, value_enum, default_value = "text")]
    pub log_format: LogFormat,

    /// Re-read every day of the trail (from `source.since`) into a new store and replace the old
    /// one with it when the run succeeds: the repair for stores written by earlier versions. The
    /// old store stays as it was until then, and is kept locked.
    #[arg(long)]
    pub reingest: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct QueryArgs {
    /// A SQL file (polars SQL). Tables: usage, workloads, objects (docs/SCALE.md).
    #[arg(value_name = "FILE.sql")]
    pub file: PathBuf,

    /// The usage store to query.
    #[arg(
        long,
        value_name = "DIR",
        conflicts_with = "config",
        required_unless_present = "config"
    )]
    pub store: Option<PathBuf>,

    /// Query the store named by this batch configuration.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Output format.
    #[arg(long, value_enum, default_value = "csv")]
    pub format: QueryFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum QueryFormat {
    Csv,
    Table,
}

#[derive(Debug, Args)]
pub struct CallsArgs {
    /// CloudTrail log files or folders, or one s3://bucket[/prefix] (as for `recommend`).
    #[arg(long, required = true, value_name = "PATH")]
    pub trail: Vec<PathBuf>,

    /// Where to write the table: FILE.parquet or FILE.csv [default: CSV on stdout].
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Only events at or after this time: RFC 3339, a date, or an age such as 30d.
    #[arg(long, value_name = "TIME")]
    pub since: Option<crate::window::TimeArg>,

    /// Only events before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<crate::window::TimeArg>,

    /// Name an EKS cluster: NAME=OIDC_ISSUER or NAME=CLUSTER_ARN. Repeatable.
    #[arg(long, value_name = "NAME=ISSUER")]
    pub cluster: Vec<crate::settings::ClusterArg>,

    /// Pod Identity associations (see `recommend --help`).
    #[arg(long, value_name = "FILE")]
    pub pod_identity_associations: Option<PathBuf>,

    /// Roles and trust policies (see `recommend --help`).
    #[arg(long, value_name = "FILE")]
    pub iam_snapshot: Option<PathBuf>,

    /// Worker threads [default: number of cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl CallsArgs {
    /// The settings these flags give.
    pub fn options(&self) -> crate::settings::Options {
        crate::settings::Options {
            trails: self.trail.clone(),
            since: self.since,
            until: self.until,
            clusters: self.cluster.clone(),
            pod_identity_associations: self.pod_identity_associations.clone(),
            iam_snapshot: self.iam_snapshot.clone(),
            threads: self.threads,
            ..crate::settings::Options::default()
        }
    }
}
