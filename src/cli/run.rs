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

    /// Ingest a partials stream (from `iamtrim extract` or spark/recommend.py --partials-out;
    /// `-` for stdin) instead of listing the trail: a backfill computed past one machine seeds
    /// the store, and the next run without it continues from the trail (docs/SCALE.md).
    #[arg(long, value_name = "FILE")]
    pub partials: Option<PathBuf>,
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
