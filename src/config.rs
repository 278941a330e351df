//! `iamtrim.toml`, the batch job's configuration (`iamtrim run --config`). Unknown keys are
//! errors, so a misspelt setting never silently falls back to a default. Relative paths are
//! relative to the file's folder. docs/SCALE.md shows a complete file.

use std::path::{Path, PathBuf};

use anyhow::Context;
use serde::Deserialize;

use crate::aws::AwsOptions;
use crate::policy::render::PolicyFormat;
use crate::settings::ClusterArg;
use crate::settings::Options;
use crate::settings::run::{RunOptions, RunOutput};
use crate::synth::SizeLimit;
use crate::window::TimeArg;

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
    /// Decompressed bytes all workers hold at once (`--memory-budget`).
    pub memory_budget: Option<u64>,
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
    /// Kubernetes inventories, `[CLUSTER=]FILE` each (as `--k8s-inventory`).
    #[serde(default)]
    pub k8s_inventory: Vec<String>,
    /// Kubeconfig contexts to read the inventory from, `[CLUSTER=]CONTEXT` each (as
    /// `--kube-context`).
    #[serde(default)]
    pub kube_contexts: Vec<String>,
    /// What the trails record (as `--trail-config`).
    pub trail_config: Option<PathBuf>,
    #[serde(default)]
    pub aws: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSection {
    /// Days of usage a recommendation covers, ending with the store's latest day
    /// [default: 90].
    pub window_days: Option<u32>,
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub workloads: Vec<String>,
    /// Compare each reported role with its current policies (needs iam_snapshot, aws or policy).
    #[serde(default)]
    pub diff: bool,
    /// One policy file to diff every role against.
    pub policy: Option<PathBuf>,
    /// Let the diff's proposal drop grants the trail cannot show (as `--drop-unobservable`).
    #[serde(default)]
    pub drop_unobservable: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicySection {
    /// [default: 3]
    pub max_objects: Option<usize>,
    /// As `--generalize-over` [default: 10].
    pub generalize_over: Option<usize>,
    /// As `--max-managed-policies` [default: 10].
    pub max_managed_policies: Option<usize>,
    #[serde(default)]
    pub condition_requested_region: bool,
    /// `managed` or `inline` [default: managed].
    pub size_limit: Option<SizeLimit>,
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
    /// `json`, `terraform` or `cloudformation` [default: json].
    pub policy_format: Option<PolicyFormat>,
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
            &mut self.context.trail_config,
            &mut self.report.policy,
            &mut self.output.evidence_public_keys,
        ]
        .into_iter()
        .flatten()
        {
            join(p);
        }
        for inventory in &mut self.context.k8s_inventory {
            if let Ok(mut arg) = inventory.parse::<crate::k8s::InventoryArg>()
                && arg.path.is_relative()
            {
                arg.path = base.join(&arg.path);
                *inventory = match arg.cluster {
                    Some(cluster) => format!("{cluster}={}", arg.path.display()),
                    None => arg.path.display().to_string(),
                };
            }
        }
        for trail in &mut self.source.trails {
            if !crate::source::is_remote(trail) && Path::new(trail).is_relative() {
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
            self.report.window_days != Some(0),
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
            ("context.trail_config", &self.context.trail_config),
        ] {
            if let Some(path) = path {
                anyhow::ensure!(path.is_file(), "{name}: no such file {}", path.display());
            }
        }
        for context in &self.context.kube_contexts {
            context
                .parse::<crate::k8s::KubeContextArg>()
                .map_err(anyhow::Error::msg)
                .context("context.kube_contexts")?;
        }
        for inventory in &self.context.k8s_inventory {
            let arg = inventory
                .parse::<crate::k8s::InventoryArg>()
                .map_err(anyhow::Error::msg)
                .context("context.k8s_inventory")?;
            anyhow::ensure!(
                arg.path.is_file(),
                "context.k8s_inventory: no such file {}",
                arg.path.display()
            );
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
            .filter(|t| crate::source::is_remote(t))
            .count();
        anyhow::ensure!(
            remote == 0 || self.source.trails.len() == 1,
            "source.trails: give either local paths or one s3:// URI"
        );
        Ok(())
    }

    /// The settings this file gives, as [`Options`] for every command and [`RunOptions`] for
    /// the batch job alone; [`crate::settings::run::RunSettings::resolve`] fills the rest.
    pub fn options(&self) -> (Options, RunOptions) {
        let options = Options {
            trails: self.source.trails.iter().map(PathBuf::from).collect(),
            since: self.source.since.as_deref().and_then(|s| s.parse().ok()),
            since_label: self.source.since.clone(),
            accounts: self.source.accounts.clone(),
            regions: self.source.regions.clone(),
            clusters: self
                .clusters
                .iter()
                .map(|c| ClusterArg {
                    name: c.name.clone(),
                    issuer: c.issuer.clone(),
                })
                .collect(),
            pod_identity_associations: self.context.pod_identity_associations.clone(),
            iam_snapshot: self.context.iam_snapshot.clone(),
            k8s_inventories: self
                .context
                .k8s_inventory
                .iter()
                .filter_map(|i| i.parse().ok())
                .collect(),
            kube_contexts: self
                .context
                .kube_contexts
                .iter()
                .filter_map(|c| c.parse().ok())
                .collect(),
            trail_config: self.context.trail_config.clone(),
            drop_unobservable: self.report.drop_unobservable,
            aws_lookups: self.context.aws,
            aws: AwsOptions {
                profile: self.source.profile.clone(),
                region: self.source.region.clone(),
                endpoint_url: self.source.endpoint_url.clone(),
            },
            s3_path_style: self.source.s3_path_style,
            diff: self.report.diff,
            policy: self.report.policy.clone(),
            roles: self.report.roles.clone(),
            workloads: self.report.workloads.clone(),
            policy_format: self.output.policy_format,
            max_objects: self.policy.max_objects,
            generalize_over: self.policy.generalize_over,
            max_managed_policies: self.policy.max_managed_policies,
            condition_requested_region: self.policy.condition_requested_region,
            size_limit: self.policy.size_limit,
            fetch_concurrency: self.source.fetch_concurrency,
            threads: self.source.threads,
            memory_budget: self.source.memory_budget,
            ..Options::default()
        };
        let run = RunOptions {
            store: self.store.path.clone(),
            window_days: self.report.window_days,
            output: RunOutput {
                dir: self.output.dir.clone(),
                s3: self.output.s3.clone(),
                evidence: self.output.evidence,
                evidence_public_keys: self.output.evidence_public_keys.clone(),
            },
        };
        (options, run)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::run::RunSettings;

    fn load(text: &str) -> anyhow::Result<(tempfile::TempDir, Config)> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("logs")).unwrap();
        let path = dir.path().join("iamtrim.toml");
        std::fs::write(&path, text).unwrap();
        let config = Config::load(&path)?;
        Ok((dir, config))
    }

    const MINIMAL: &str = r#"
[store]
path = "store"
[source]
trails = ["logs"]
[output]
dir = "out"
"#;

    #[test]
    fn relative_paths_are_relative_to_the_file_and_defaults_come_from_the_settings_step() {
        let (dir, config) = load(MINIMAL).unwrap();
        let (options, run) = config.options();
        assert_eq!(options.trails, [dir.path().join("logs")]);
        assert_eq!(run.store, dir.path().join("store"));
        let now: jiff::Timestamp = "2026-11-22T12:00:00Z".parse().unwrap();
        let settings = RunSettings::resolve(options, run, now).unwrap();
        assert_eq!(settings.window_days, 90);
        // The listing starts 91 days back (the window plus a day); ingest keeps everything.
        assert_eq!(
            settings.listing.start.unwrap().to_string(),
            "2026-08-23T12:00:00Z"
        );
        assert_eq!(
            settings.common.ingest.window,
            crate::window::TimeWindow::default()
        );
        assert_eq!(settings.first_listed_day().as_deref(), Some("2026-08-22"));
        assert_eq!(settings.common.synth.rules.max_objects, 3);
        assert!(settings.common.ingest.hash_objects);
        assert_eq!(settings.output.dir, dir.path().join("out"));
    }

    #[test]
    fn every_policy_setting_reaches_the_resolved_settings() {
        let text = format!(
            "{MINIMAL}\n[policy]\nmax_objects = 7\nsize_limit = \"inline\"\ncondition_requested_region = true\n[report]\nwindow_days = 30\nroles = [\"app\"]\n"
        )
        .replace("[output]\ndir = \"out\"", "[output]\ndir = \"out\"\npolicy_format = \"cloudformation\"");
        let (_dir, config) = load(&text).unwrap();
        let (options, run) = config.options();
        let settings = RunSettings::resolve(options, run, jiff::Timestamp::now()).unwrap();
        let common = &settings.common;
        assert_eq!(common.synth.rules.max_objects, 7);
        assert_eq!(common.synth.size_limit, SizeLimit::Inline);
        assert!(common.synth.region_condition);
        assert_eq!(common.policy_format, PolicyFormat::CloudFormation);
        assert_eq!(common.filter.roles, ["app"]);
        assert_eq!(settings.window_days, 30);
    }

    #[test]
    fn misspelt_keys_and_bad_values_are_errors_naming_the_key() {
        let err = |text: &str| format!("{:#}", load(text).unwrap_err());
        let misspelt = MINIMAL.replace("[output]", "[output]\nevidnce = true");
        assert!(
            err(&misspelt).contains("unknown field `evidnce`"),
            "{}",
            err(&misspelt)
        );
        let zero = format!("{MINIMAL}\n[report]\nwindow_days = 0\n");
        assert!(err(&zero).ends_with("report.window_days must be at least 1"));
        let diff = format!("{MINIMAL}\n[report]\ndiff = true\n");
        assert!(err(&diff).contains("report.diff needs the current policies"));
        let lookup = MINIMAL.replace("trails = [\"logs\"]", "trails = [\"cloudtrail:lookup\"]");
        assert!(err(&lookup).contains("LookupEvents pages have no stable name"));
        let mixed = MINIMAL.replace("trails = [\"logs\"]", "trails = [\"logs\", \"s3://b/p\"]");
        assert!(err(&mixed).ends_with("source.trails: give either local paths or one s3:// URI"));
        let since = MINIMAL.replace("[source]", "[source]\nsince = \"yesterday\"");
        assert!(err(&since).contains("source.since"));
    }
}
