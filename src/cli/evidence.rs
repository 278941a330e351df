use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::aws::AwsOptions;
use crate::settings::{ClusterArg, Options, time_label};
use crate::window::TimeArg;

/// `iamtrim evidence --out DIR --trail …` writes a pack; `iamtrim evidence verify DIR` checks one.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct EvidenceArgs {
    #[command(subcommand)]
    pub action: Option<EvidenceAction>,

    /// The folder to write the pack into (new or empty).
    #[arg(long, value_name = "DIR", required = true)]
    pub out: Option<PathBuf>,

    /// Also write the pack as one archive: DIR.tar.gz next to the folder.
    #[arg(long)]
    pub archive: bool,

    /// CloudTrail log files or folders, or one s3://bucket[/prefix] (as for `recommend`).
    #[arg(long, value_name = "PATH", required = true)]
    pub trail: Vec<PathBuf>,

    /// Only events at or after this time: RFC 3339, a date, or an age such as 90d.
    #[arg(long, value_name = "TIME")]
    pub since: Option<TimeArg>,

    /// Only events before this time.
    #[arg(long, value_name = "TIME")]
    pub until: Option<TimeArg>,

    /// Name an EKS cluster: NAME=OIDC_ISSUER or NAME=CLUSTER_ARN. Repeatable.
    #[arg(long, value_name = "NAME=ISSUER")]
    pub cluster: Vec<ClusterArg>,

    /// Pod Identity associations (see `recommend --help`).
    #[arg(long, value_name = "FILE")]
    pub pod_identity_associations: Option<PathBuf>,

    /// Roles, trust policies and current policies (see `recommend --help`).
    #[arg(long, value_name = "FILE")]
    pub iam_snapshot: Option<PathBuf>,

    /// Also compare each role with its current policies (from --policy, --iam-snapshot).
    #[arg(long)]
    pub diff: bool,

    /// The current policy (an IAM policy JSON) to diff every role against.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,

    /// Only workloads that used this role (name or ARN). Repeatable.
    #[arg(long, value_name = "NAME|ARN")]
    pub role: Vec<String>,

    /// Only this workload: its id, or NAMESPACE/SERVICE_ACCOUNT. Repeatable.
    #[arg(long, value_name = "ID|NS/SA")]
    pub workload: Vec<String>,

    /// CloudTrail's public keys for checking digest signatures, as
    /// `aws cloudtrail list-public-keys --start-time … --end-time …` prints them. Without it, an
    /// s3:// trail's keys are asked of cloudtrail:ListPublicKeys in each digest region.
    #[arg(long, value_name = "FILE")]
    pub digest_public_keys: Option<PathBuf>,

    /// AWS profile for s3:// trails.
    #[arg(long, value_name = "NAME")]
    pub profile: Option<String>,

    /// AWS region for s3:// trails.
    #[arg(long, value_name = "REGION")]
    pub region: Option<String>,

    /// Endpoint URL for S3 (an S3-compatible store, a VPC endpoint).
    #[arg(long, value_name = "URL")]
    pub endpoint_url: Option<String>,

    /// Address S3 buckets path-style.
    #[arg(long)]
    pub s3_path_style: bool,

    /// Use this IAM catalog file instead of the one in use.
    #[arg(long, value_name = "PATH")]
    pub catalog: Option<PathBuf>,

    /// Worker threads [default: number of cores].
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
}

impl EvidenceArgs {
    /// The settings these flags give.
    pub fn options(&self) -> Options {
        Options {
            trails: self.trail.clone(),
            since: self.since,
            until: self.until,
            since_label: time_label(self.since),
            until_label: time_label(self.until),
            clusters: self.cluster.clone(),
            pod_identity_associations: self.pod_identity_associations.clone(),
            iam_snapshot: self.iam_snapshot.clone(),
            aws: AwsOptions {
                profile: self.profile.clone(),
                region: self.region.clone(),
                endpoint_url: self.endpoint_url.clone(),
            },
            s3_path_style: self.s3_path_style,
            diff: self.diff,
            policy: self.policy.clone(),
            roles: self.role.clone(),
            workloads: self.workload.clone(),
            catalog: self.catalog.clone(),
            threads: self.threads,
            ..Options::default()
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum EvidenceAction {
    /// Re-check every hash of a pack and its manifest's consistency (0 intact, 1 not).
    Verify {
        /// The pack's folder.
        dir: PathBuf,
    },
}
