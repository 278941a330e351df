//! Command-line flags only: no I/O here. Flags are turned into settings by the commands.

pub mod evidence;
pub mod recommend;
pub mod run;

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
    /// Compare roles' current policies with what the trail shows they used (recommend --diff).
    Diff(Box<recommend::RecommendArgs>),
    /// The scheduled batch job: ingest new log objects into the usage store, then recommend
    /// from the store over the configured window.
    #[cfg(feature = "store")]
    Run(run::RunArgs),
    /// Run a SQL query (a file from queries/, or your own) against the usage store.
    #[cfg(feature = "store")]
    Query(run::QueryArgs),
    /// Print the log objects a trail holds for the window, as `iamtrim.partials/v1` lines (the
    /// same listing and layout pruning as `recommend`): the input of `iamtrim extract`. Takes
    /// `recommend`'s flags; those about output and account context are not used.
    List(Box<recommend::RecommendArgs>),
    /// Read the objects of a listing (`--partials FILE`, `-` for stdin, a slice of `iamtrim
    /// list`'s lines) and write each one's pre-aggregated batch as `iamtrim.partials/v1` lines to
    /// stdout (or `--out FILE`), for `recommend --partials`. Takes `recommend`'s flags (give it
    /// the same --since, --until, --cluster, --condition-network); those about output and account
    /// context are not used.
    Extract(Box<recommend::RecommendArgs>),
    /// Write a compliance evidence pack (every permission traced to CloudTrail, hashed and
    /// reproducible), or check one with `evidence verify DIR`.
    Evidence(Box<evidence::EvidenceArgs>),
    /// Show the IAM catalog in use: its source, version and counts.
    Catalog(CatalogArgs),
    /// Print a shell completion script: `iamtrim completions bash > /etc/bash_completion.d/iamtrim`.
    Completions {
        /// The shell to complete for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `iamtrim man > iamtrim.1; man ./iamtrim.1`, or a
    /// subcommand's, with all its flags: `iamtrim man recommend > iamtrim-recommend.1`.
    Man {
        /// A subcommand (`recommend`, `run`, ...); none for iamtrim(1).
        subcommand: Option<String>,
    },
}

#[derive(Debug, clap::Args)]
pub struct CatalogArgs {
    #[command(subcommand)]
    pub action: Option<CatalogAction>,

    /// A catalog file to inspect instead of the one in use (refreshed cache, else embedded).
    #[arg(long, value_name = "PATH", global = true)]
    pub catalog: Option<PathBuf>,

    /// Print JSON instead of text.
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CatalogAction {
    /// Refresh the catalog from AWS's published service reference (needs network access).
    Update {
        /// The service list to read.
        #[arg(long, value_name = "URL", default_value = crate::catalog::update::SERVICE_LIST_URL)]
        from: String,
        /// Where to write it [default: ~/.cache/iamtrim/catalog.json.gz, used when present].
        #[arg(long, value_name = "PATH")]
        out: Option<PathBuf>,
    },
    /// How every operation of every AWS API maps to IAM actions: per service, the operations
    /// each rule resolves and those left unmapped (offline; docs/MAPPING.md).
    Coverage {
        /// List every unmapped operation by name.
        #[arg(long)]
        unmapped: bool,
    },
}
