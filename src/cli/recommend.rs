use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::aws::AwsOptions;
use crate::policy::render::PolicyFormat;
use crate::settings::{ClusterArg, Options, time_label};
use crate::synth::SizeLimit;
use crate::window::TimeArg;

#[derive(Debug, Args)]
pub struct RecommendArgs {
    /// CloudTrail log file, folder walked recursively (e.g. a copy of AWSLogs/), an
    /// s3://bucket[/prefix] read in place, or cloudtrail:lookup (the LookupEvents API: management
    /// events of the last 90 days). Repeatable (local paths).
    #[arg(
        long,
        required_unless_present = "partials",
        conflicts_with = "partials",
        value_name = "PATH",
        help_heading = "Input"
    )]
    pub trail: Vec<PathBuf>,

    /// Read a partials stream instead of a trail (`-` for stdin): for `recommend`, the batches
    /// `iamtrim extract` wrote (on any number of machines, e.g. spark/recommend.py); for
    /// `extract`, the listing `iamtrim list` wrote. docs/SCALE.md.
    #[arg(long, value_name = "FILE", help_heading = "Input")]
    pub partials: Option<PathBuf>,

    /// For `iamtrim extract`: join the sessions of the whole listing slice and write
    /// workload-level activity plus the sessions it cannot settle (their vending may be in an
    /// earlier slice), instead of every object's sessions: far less for `recommend --partials`
    /// to read (spark/recommend.py uses it). Such a stream cannot seed a usage store.
    #[arg(long, help_heading = "Input")]
    pub join_partition: bool,

    /// Only events at or after this time: RFC 3339, a date, or an age such as 30d.
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub since: Option<TimeArg>,

    /// Only events before this time: RFC 3339, a date, or an age such as 1d.
    #[arg(long, value_name = "TIME", help_heading = "Input")]
    pub until: Option<TimeArg>,

    /// Read only this account's logs of a CloudTrail layout (organisation trails too). Repeatable.
    #[arg(long, value_name = "ACCOUNT_ID", help_heading = "Input")]
    pub trail_account: Vec<String>,

    /// Read only this region's logs of a CloudTrail layout. Repeatable.
    #[arg(long, value_name = "REGION", help_heading = "Input")]
    pub trail_region: Vec<String>,

    /// Name an EKS cluster: NAME=OIDC_ISSUER (IRSA; issuer URL, provider ARN or id) or
    /// NAME=CLUSTER_ARN (Pod Identity). Repeatable.
    #[arg(long, value_name = "NAME=ISSUER", help_heading = "Input")]
    pub cluster: Vec<ClusterArg>,

    /// Pod Identity associations (JSON from `aws eks describe-pod-identity-association`): ties
    /// sessions whose association has session tags disabled to their service account.
    #[arg(long, value_name = "FILE", help_heading = "Account context")]
    pub pod_identity_associations: Option<PathBuf>,

    /// The cluster's ServiceAccounts and Pods (JSON from `kubectl get serviceaccounts,pods -A -o
    /// json`, with replicasets and jobs for owner chains), optionally named by cluster: names
    /// each service account's Deployment/CronJob owners, finds unused or drifted role
    /// annotations and pods running as `default` with AWS calls. Repeatable, one per cluster.
    #[arg(long, value_name = "[CLUSTER=]FILE", help_heading = "Account context")]
    pub k8s_inventory: Vec<crate::k8s::InventoryArg>,

    /// The same read live from a cluster, through a kubeconfig context (its credentials and
    /// exec plugins such as `aws eks get-token`; KUBECONFIG or ~/.kube/config): lists
    /// serviceaccounts, pods, replicasets and jobs of every namespace (read-only). Repeatable.
    #[arg(
        long,
        value_name = "[CLUSTER=]CONTEXT",
        help_heading = "Account context"
    )]
    pub kube_context: Vec<crate::k8s::KubeContextArg>,

    /// Roles and trust policies (JSON from `aws iam get-account-authorization-details`): ties
    /// sessions whose credential vending is not in the trail to the one service account a role's
    /// trust policy admits.
    #[arg(long, value_name = "FILE", help_heading = "Account context")]
    pub iam_snapshot: Option<PathBuf>,

    /// What the trails record: the JSON of `aws cloudtrail describe-trails` as "trailList", with
    /// each trail's `aws cloudtrail get-event-selectors` in "selectors" (docs/OUTPUT.md). Without
    /// it, data events are taken as recorded only for services the input has data events from.
    #[arg(long, value_name = "FILE", help_heading = "Account context")]
    pub trail_config: Option<PathBuf>,

    /// Also ask AWS: cluster names and Pod Identity associations from the EKS API, trust policies
    /// from IAM (standard credential chain; failures are warnings).
    #[arg(long, help_heading = "Account context")]
    pub aws: bool,

    /// AWS profile for --aws and s3:// trails.
    #[arg(long, value_name = "NAME", help_heading = "Account context")]
    pub profile: Option<String>,

    /// AWS region for --aws (the EKS API is regional) and s3:// trails.
    #[arg(long, value_name = "REGION", help_heading = "Account context")]
    pub region: Option<String>,

    /// Endpoint URL for every AWS call (--aws, s3:// trails): an S3-compatible store, a stand-in
    /// such as moto, or a VPC endpoint. Implies path-style S3 addressing.
    #[arg(long, value_name = "URL", help_heading = "Account context")]
    pub endpoint_url: Option<String>,

    /// Address S3 buckets path-style (some S3-compatible stores need it).
    #[arg(long, help_heading = "Account context")]
    pub s3_path_style: bool,

    /// Also compare each reported role with its current policies (from --policy, --iam-snapshot or
    /// --aws): exit status 1 when anything granted is unused or anything used is not granted.
    #[arg(long, help_heading = "Diff")]
    pub diff: bool,

    /// Let the diff's proposed policy drop grants the trail could not have shown (data events not
    /// recorded, permission-only actions ...). By default they are kept, in statements whose Sid
    /// starts with NotObservable, so applying a proposal never removes what the trail cannot see.
    #[arg(long, help_heading = "Diff")]
    pub drop_unobservable: bool,

    /// The current policy (an IAM policy JSON) to diff the reported roles against.
    #[arg(long, value_name = "FILE", help_heading = "Diff")]
    pub policy: Option<PathBuf>,

    /// Report only workloads that used this role (name or ARN). Repeatable.
    #[arg(long, value_name = "NAME|ARN", help_heading = "Filter")]
    pub role: Vec<String>,

    /// Report only this workload: its id, or NAMESPACE/SERVICE_ACCOUNT. Repeatable.
    #[arg(long, value_name = "ID|NS/SA", help_heading = "Filter")]
    pub workload: Vec<String>,

    /// Output format [default: text on a terminal, json otherwise]. `terraform` and
    /// `cloudformation` print only the policies, as code.
    #[arg(long, value_enum, help_heading = "Output")]
    pub format: Option<Format>,

    /// Also write one policy file per workload into this folder.
    #[arg(long, value_name = "DIR", help_heading = "Output")]
    pub out: Option<PathBuf>,

    /// Format of the files written by --out [default: json].
    #[arg(long, value_enum, help_heading = "Output")]
    pub policy_format: Option<PolicyFormat>,

    /// Distinct object keys of one action in one bucket kept exact; more are generalised to
    /// their folders (never wider than the bucket) [default: 3].
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub max_objects: Option<usize>,

    /// Resources of one type and account used by the same actions kept as listed; more become
    /// name patterns (`table/tenant-*-orders`) even when the policy fits [default: 10].
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub generalize_over: Option<usize>,

    /// Managed policies IAM lets the role attach (its default quota is 10, at most 20); a
    /// recommendation that needs more is reported as not attachable [default: 10].
    #[arg(long, value_name = "N", help_heading = "Policy")]
    pub max_managed_policies: Option<usize>,

    /// Add an `aws:RequestedRegion` condition to each statement, naming the regions its actions
    /// were used in (off by default: a new region then needs a policy change).
    #[arg(long, help_heading = "Policy")]
    pub condition_requested_region: bool,

    /// Add an `aws:SourceVpce` (or `aws:SourceIp`) condition to a workload's statements when
    /// every call it made in the window came through those VPC endpoints (or from those
    /// addresses), so its credentials fail outside that network. Off by default: a new endpoint,
    /// NAT gateway or network path then needs a policy change. Actions a request implies are
    /// left without it (AWS services exercise them from their own network).
    #[arg(long, help_heading = "Policy")]
    pub condition_network: bool,

    /// The IAM size limit policies must fit: a managed policy (6,144 characters) or a role's
    /// inline policies (10,240) [default: managed].
    #[arg(long, value_enum, help_heading = "Policy")]
    pub size_limit: Option<SizeLimit>,

    /// Use this IAM catalog file instead of the one in use (see `iamtrim catalog`).
    #[arg(long, value_name = "PATH", help_heading = "Input")]
    pub catalog: Option<PathBuf>,

    /// Objects downloaded at once from S3 [default: 32; the worker count for local files].
    #[arg(long, value_name = "N", help_heading = "Performance")]
    pub fetch_concurrency: Option<usize>,

    /// Worker threads [default: number of cores].
    #[arg(long, value_name = "N", help_heading = "Performance")]
    pub threads: Option<usize>,

    /// Largest decompressed log object accepted, in bytes (larger ones are reported, not read)
    /// [default: 1073741824, 1 GiB].
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    pub max_object_bytes: Option<u64>,

    /// Decompressed log objects held in memory at once by all workers together, in bytes: the
    /// run's memory is this plus a fixed part (docs/PERFORMANCE.md), whatever the thread count.
    /// An object larger than it is reported, not read [default: 2147483648, 2 GiB].
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    pub memory_budget: Option<u64>,

    /// Largest single record accepted, in bytes [default: 16777216, 16 MiB].
    #[arg(long, value_name = "BYTES", help_heading = "Limits")]
    pub max_record_bytes: Option<usize>,
}

impl RecommendArgs {
    /// The settings these flags give; `diff` for `iamtrim diff`, which always diffs.
    pub fn options(&self, diff: bool) -> Options {
        Options {
            trails: self.trail.clone(),
            partials: self.partials.clone(),
            since: self.since,
            until: self.until,
            since_label: time_label(self.since),
            until_label: time_label(self.until),
            accounts: self.trail_account.clone(),
            regions: self.trail_region.clone(),
            clusters: self.cluster.clone(),
            pod_identity_associations: self.pod_identity_associations.clone(),
            iam_snapshot: self.iam_snapshot.clone(),
            k8s_inventories: self.k8s_inventory.clone(),
            kube_contexts: self.kube_context.clone(),
            trail_config: self.trail_config.clone(),
            drop_unobservable: self.drop_unobservable,
            aws_lookups: self.aws,
            aws: AwsOptions {
                profile: self.profile.clone(),
                region: self.region.clone(),
                endpoint_url: self.endpoint_url.clone(),
            },
            s3_path_style: self.s3_path_style,
            diff: diff || self.diff,
            policy: self.policy.clone(),
            roles: self.role.clone(),
            workloads: self.workload.clone(),
            policy_format: self.policy_format,
            max_objects: self.max_objects,
            generalize_over: self.generalize_over,
            max_managed_policies: self.max_managed_policies,
            condition_requested_region: self.condition_requested_region,
            condition_network: self.condition_network,
            size_limit: self.size_limit,
            catalog: self.catalog.clone(),
            fetch_concurrency: self.fetch_concurrency,
            threads: self.threads,
            max_object_bytes: self.max_object_bytes,
            memory_budget: self.memory_budget,
            max_record_bytes: self.max_record_bytes,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Json,
    Text,
    Terraform,
    #[value(name = "cloudformation")]
    CloudFormation,
}
