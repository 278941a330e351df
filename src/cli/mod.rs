//! Command-line flags only: no I/O here. Flags are turned into settings by the commands.

pub mod recommend;

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
    Recommend(recommend::RecommendArgs),
}
