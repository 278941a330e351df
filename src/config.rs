//! `iamtrim.toml`, the batch job's configuration (`iamtrim run --config`). Unknown keys are
//! errors, so a misspelt setting never silently falls back to a default. Relative paths are
//! relative to the file's folder. docs/SCALE.md shows a complete file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::cli::recommend::{PolicyFormatArg, RecommendArgs, SizeLimitArg};
use crate::settings::{ClusterArg, TimeArg};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub store: StoreSection,
    pub source: SourceSection,
    #[serde(default)]
    pub clusters: Vec<ClusterSection>,
    #[serde(default)]
    pub context: ContextSection,
    #[serde(default)]
    pub report: ReportSection,
    #[serde(default)]
    pub policy: PolicySection,
    pub output: OutputSection,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// The usage store's folder.
    pub path: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSection {
    /// Local folders or files, or one `s3://bucket/prefix`.
    pub trails: Vec<String>,
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub regions: Vec<String>,
    /// Ingest nothing older than this (RFC 3339, a date, or an age such as 120d)
    /// [default: the report window plus a day].
    pub since: Option<String>,
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
    #[serde(default)]
    pub s3_path_style: bool,
    pub fetch_concurrency: Option<usize>,
    pub threads: Option<usize>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    pub name: String,
    /// OIDC issuer URL, provider ARN or id (IRSA), or the cluster ARN (Pod Identity).
    pub issuer: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ContextSection {
    pub iam_snapshot: Option<PathBuf>,
    pub pod_identity_associations: Option<PathBuf>,
    #[serde(default)]
    pub aws: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Days of usage a recommendation covers, ending with the store's latest day.
    #[serde(default = "default_window")]
    pub window_days: u32,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub workloads: Vec<String>,
    /// Compare each reported role with its current policies (needs iam_snapshot, aws or policy).
    #[serde(default)]
    pub diff: bool,
    /// One policy file to diff every role against.
    pub policy: Option<PathBuf>,
}

impl Default for ReportSection {
    fn default() -> Self {
        Self {
            window_days: default_window(),
            roles: Vec::new(),
            workloads: Vec::new(),
            diff: false,
            policy: None,
        }
    }
}

fn default_window() -> u32 {
    90
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    #[serde(default = "default_max_objects")]
    pub max_objects: usize,
    #[serde(default)]
    pub condition_requested_region: bool,
    #[serde(default)]
    pub size_limit: SizeLimit,
}

impl Default for PolicySection {
    fn default() -> Self {
        Self {
            max_objects: default_max_objects(),
            condition_requested_region: false,
            size_limit: SizeLimit::Managed,
        }
    }
}

fn default_max_objects() -> usize {
    3
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SizeLimit {
    #[default]
    Managed,
    Inline,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSection {
    /// Where `recommendation.json`, `recommendation.txt` and `policies/` are written.
    pub dir: PathBuf,
    /// Also copy them to this `s3://bucket/prefix` (with the [source] AWS settings).
    pub s3: Option<String>,
    /// Also write an evidence pack for the window (docs/EVIDENCE.md):
    /// `evidence-<first day>-<last day>/` and its `.tar.gz`.
    #[serde(default)]
    pub evidence: bool,
    /// CloudTrail's public keys for the evidence pack's digest signature checks, as
    /// `aws cloudtrail list-public-keys` prints them; without it they are asked of
    /// cloudtrail:ListPublicKeys.
    pub evidence_public_keys: Option<PathBuf>,
    #[serde(default)]
    pub policy_format: PolicyFormat,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyFormat {
    #[default]
    Json,
    Terraform,
    Cloudformation,
}

impl Config {
    /// Reads, parses and checks a configuration file.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let mut config: Config =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.resolve_paths(base);
        config
            .check()
            .with_context(|| format!("{} is not valid", path.display()))?;
        Ok(config)
    }

    fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        join(&mut self.store.path);
        join(&mut self.output.dir);
        for p in [
            &mut self.context.iam_snapshot,
            &mut self.context.pod_identity_associations,
            &mut self.report.policy,
            &mut self.output.evidence_public_keys,
        ]
        .into_iter()
        .flatten()
        {
            join(p);
        }
        for trail in &mut self.source.trails {
            let is_uri = trail.starts_with("s3://") || trail == crate::source::lookup_events::URI;
            if !is_uri && Path::new(trail).is_relative() {
                *trail = base.join(&*trail).display().to_string();
            }
        }
    }

    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.source.trails.is_empty(), "source.trails is empty");
        if let Some(keys) = &self.output.evidence_public_keys {
            crate::evidence::signature::PublicKeys::read(keys)
                .context("output.evidence_public_keys")?;
        }
        anyhow::ensure!(
            !self
                .source
                .trails
                .iter()
                .any(|t| t == crate::source::lookup_events::URI),
            "source.trails: the batch job reads log files (s3:// or folders); LookupEvents pages have no stable name to remember them by"
        );
        anyhow::ensure!(
            self.report.window_days >= 1,
            "report.window_days must be at least 1"
        );
        if let Some(since) = &self.source.since {
            since
                .parse::<TimeArg>()
                .map_err(anyhow::Error::msg)
                .context("source.since")?;
        }
        for c in &self.clusters {
            format!("{}={}", c.name, c.issuer)
                .parse::<ClusterArg>()
                .map_err(anyhow::Error::msg)
                .context("clusters")?;
        }
        for (name, path) in [
            ("context.iam_snapshot", &self.context.iam_snapshot),
            (
                "context.pod_identity_associations",
                &self.context.pod_identity_associations,
            ),
            ("report.policy", &self.report.policy),
        ] {
            if let Some(path) = path {
                anyhow::ensure!(path.is_file(), "{name}: no such file {}", path.display());
            }
        }
        if self.report.diff {
            anyhow::ensure!(
                self.report.policy.is_some()
                    || self.context.iam_snapshot.is_some()
                    || self.context.aws,
                "report.diff needs the current policies: set report.policy, context.iam_snapshot or context.aws"
            );
        }
        if let Some(uri) = &self.output.s3 {
            anyhow::ensure!(
                crate::aws::parse_s3_uri(uri).is_some(),
                "output.s3: {uri:?} is not an s3://bucket[/prefix] URI"
            );
        }
        let remote = self
            .source
            .trails
            .iter()
            .filter(|t| t.starts_with("s3://") || *t == crate::source::lookup_events::URI)
            .count();
        anyhow::ensure!(
            remote == 0 || self.source.trails.len() == 1,
            "source.trails: give either local paths or one s3:// URI"
        );
        Ok(())
    }

    /// The window ingest reads: `source.since`, else the report window plus a day.
    pub fn since(&self) -> TimeArg {
        self.source
            .since
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(TimeArg::Ago(
                jiff::Span::new().hours(24 * (i64::from(self.report.window_days) + 1)),
            ))
    }

    /// The same settings as `iamtrim recommend` flags, so the batch job runs the same pipeline.
    pub fn recommend_args(&self) -> RecommendArgs {
        RecommendArgs {
            since: Some(self.since()),
            trail_account: self.source.accounts.clone(),
            trail_region: self.source.regions.clone(),
            cluster: self
                .clusters
                .iter()
                .map(|c| ClusterArg {
                    name: c.name.clone(),
                    issuer: c.issuer.clone(),
                })
                .collect(),
            pod_identity_associations: self.context.pod_identity_associations.clone(),
            iam_snapshot: self.context.iam_snapshot.clone(),
            aws: self.context.aws,
            profile: self.source.profile.clone(),
            region: self.source.region.clone(),
            endpoint_url: self.source.endpoint_url.clone(),
            s3_path_style: self.source.s3_path_style,
            diff: self.report.diff,
            policy: self.report.policy.clone(),
            role: self.report.roles.clone(),
            workload: self.report.workloads.clone(),
            policy_format: match self.output.policy_format {
                PolicyFormat::Json => PolicyFormatArg::Json,
                PolicyFormat::Terraform => PolicyFormatArg::Terraform,
                PolicyFormat::Cloudformation => PolicyFormatArg::CloudFormation,
            },
            max_objects: self.policy.max_objects,
            condition_requested_region: self.policy.condition_requested_region,
            size_limit: match self.policy.size_limit {
                SizeLimit::Managed => SizeLimitArg::Managed,
                SizeLimit::Inline => SizeLimitArg::Inline,
            },
            fetch_concurrency: self.source.fetch_concurrency,
            threads: self.source.threads,
            ..RecommendArgs::for_trails(self.source.trails.iter().map(PathBuf::from).collect())
        }
    }
}
