//! Command-line flags only: no I/O here. Flags are turned into settings by the commands.

pub mod recommend;

use std::path::PathBuf;

use clap::{Parser, Subcommand};

/// Least-privilege IAM policies from CloudTrail, per Kubernetes service account.
#[derive(Debug, Parser)]
#[command(name = "iamtrim", version, about, long_about = None)]
pub struct Cli {
    /// Print nothing on stderr but errors.
    #[arg(short, long, global = true)]
    pub quiet: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Recommend a least-privilege policy for every workload seen in a trail.
    Recommend(Box<recommend::RecommendArgs>),
    /// Show the IAM catalog in use: its source, version and counts.
    Catalog(CatalogArgs),
}

#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    /// A catalog file to inspect instead of the embedded one.
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}
