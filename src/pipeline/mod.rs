//! The pipeline as a library: resolved [`Settings`] in, a recommendation (with diffs when asked)
//! out. `recommend`, `diff`, `calls`, `evidence` and `run` all compose these functions; the
//! commands only choose, print and write.
//!
//! ```text
//! Settings ─► SourceSpec::build ─► ingest ─► Aggregator::finish ─► report::build ─► diff_roles
//!              (or partials)        (+ lookups: clusters, associations, trust, policies)
//! ```

pub mod evidence;
mod iam_paths;
#[cfg(feature = "store")]
pub mod run;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use anyhow::Context;

use crate::aggregate::{Aggregator, JoinContext, Workload, WorkloadKey};
use crate::attribute::ClusterNames;
use crate::catalog::Catalog;
use crate::diff::{RawPolicies, RoleDiff, RoleUsage};
use crate::ingest::{Reporter, ingest};
use crate::lookup::Lookups;
use crate::observe::Observability;
use crate::report::{self, Recommendation};
use crate::settings::{ContextSpec, Input, Settings};
use crate::source::LogSource;
use crate::stats::InputStats;
use crate::synth::SynthConfig;

/// What a recommendation was computed from and with: the recommendation (with diffs when
/// asked), the input counters, and what was read to make them.
pub struct Computed {
    pub recommendation: Recommendation,
    pub input: InputStats,
    pub lookups: Lookups,
    pub policy_file: Option<RawPolicies>,
    pub catalog: Arc<Catalog>,
    /// The trail (absent for partials), to read more of it (digest files).
    pub source: Option<Box<dyn LogSource>>,
    /// A role could not be diffed (its current policies could not be read).
    pub diff_problems: bool,
}

impl Computed {
    /// Whether the run has a finding that sets exit status 1 (see [`finding`]).
    pub fn finding(&self) -> bool {
        finding(&self.recommendation)
    }
}

/// Whether the run has a finding that sets exit status 1: drift, or a recommendation that
/// cannot be attached within IAM's limits.
pub fn finding(recommendation: &Recommendation) -> bool {
    drift(recommendation)
        || recommendation
            .workloads
            .iter()
            .any(|w| !w.policy_size.attachable)
        || recommendation
            .roles
            .iter()
            .any(|r| !r.policy_size.attachable)
}

/// Whether any diffed role's policies differ from what it used.
pub fn drift(recommendation: &Recommendation) -> bool {
    recommendation
        .diffs
        .as_ref()
        .is_some_and(|d| d.iter().any(|d| d.drift))
}

/// Reads the trail (or partials stream) of `settings` and recommends, diffing when
/// `settings.diff`; `hash_objects` records every object's hashes (evidence packs, which also
/// list the trail's digest files).
pub fn recommend(
    settings: &Settings,
    progress: &dyn Reporter,
    hash_objects: bool,
) -> anyhow::Result<Computed> {
    let policy_file = settings
        .policy
        .as_deref()
        .map(RawPolicies::from_policy_file)
        .transpose()
        .context("cannot read the current policy")?;
    let mut config = settings.ingest.clone();
    config.hash_objects = hash_objects;
    let mut lookups = lookups(&settings.context, config.clusters.clone())?;
    config.clusters = lookups.clusters.clone();
    let mut source = None;
    let (finished, input) = match &settings.input {
        Input::Trail(spec) => {
            let opened = spec
                .build(config.window, hash_objects)
                .context("cannot open the trail")?;
            let source = source.insert(opened);
            join_workloads(&config, &mut lookups, |aggregator| {
                ingest(&**source, &config, aggregator, progress).context("cannot read the trail")
            })?
        }
        Input::Partials(path) => {
            let (mut input, name) = crate::partials::open(path)?;
            join_workloads(&config, &mut lookups, |aggregator| {
                Ok(crate::partials::replay(
                    &mut *input,
                    &name,
                    aggregator,
                    hash_objects,
                ))
            })?
        }
    };
    let role_usage = if settings.diff {
        role_usage(&finished)
    } else {
        BTreeMap::new()
    };
    let mut recommendation = report::build(
        finished,
        &input,
        config.window,
        &settings.filter,
        lookups.summary.clone(),
        settings.synth,
        lookups.cluster_facts(),
    );
    cluster_side(&lookups, &mut recommendation);
    let observe = observability(settings, &input, &mut lookups, &mut recommendation)?;
    let mut diff_problems = false;
    if settings.diff {
        let diffs = diff_roles(
            &recommendation,
            &settings.filter.roles,
            &role_usage,
            &DiffContext {
                lookups: &lookups,
                policy_file: policy_file.as_ref(),
                catalog: &config.catalog,
                synth: settings.synth,
                observe: &observe,
                drop_unobservable: settings.drop_unobservable,
                history: None,
            },
        );
        diff_problems = diffs.iter().any(|d| !d.problems.is_empty());
        recommendation.diffs = Some(diffs);
    }
    report::link_fixes(&mut recommendation);
    Ok(Computed {
        recommendation,
        input,
        lookups,
        policy_file,
        catalog: config.catalog,
        source,
        diff_problems,
    })
}

/// Reads every object of `source` and joins sessions to workloads: the finished workloads, in
/// id order, and the input counters.
pub fn ingest_workloads(
    source: &dyn LogSource,
    config: &crate::ingest::IngestConfig,
    lookups: &mut Lookups,
    progress: &dyn Reporter,
) -> anyhow::Result<(Vec<(WorkloadKey, Workload)>, InputStats)> {
    join_workloads(config, lookups, |aggregator| {
        ingest(source, config, aggregator, progress).context("cannot read the trail")
    })
}

/// The session join over what `read` hands the aggregator (a trail's objects, or a partials
/// stream's batches), finished with the account facts: workloads in id order, input counters.
fn join_workloads(
    config: &crate::ingest::IngestConfig,
    lookups: &mut Lookups,
    read: impl FnOnce(&mut Aggregator) -> anyhow::Result<InputStats>,
) -> anyhow::Result<(Vec<(WorkloadKey, Workload)>, InputStats)> {
    let mut aggregator = Aggregator::new(JoinContext {
        associations: lookups.associations(),
        clusters: config.clusters.clone(),
    });
    let input = read(&mut aggregator)?;
    let trust = lookups.trust(&aggregator.unattributed_roles());
    if std::env::var_os("IAMTRIM_STATS").is_some() {
        // For benches/memory.sh: the join's live state, which must follow live sessions.
        let s = aggregator.stats();
        eprintln!(
            "stats: peak_pending_sessions={} peak_bindings={} retired_pending={} retired_bindings={}",
            s.peak_pending, s.peak_bindings, s.retired_pending, s.retired_bindings
        );
        // For benches/memory-budget.sh and tests: the most decompressed bytes held at once.
        eprintln!(
            "stats: memory_budget={} memory_budget_peak={}",
            config.budget.total(),
            config.budget.peak()
        );
    }
    let mut finished = aggregator.finish(&trust);
    iam_paths::resolve(&mut finished, &lookups.iam_entities());
    Ok((finished, input))
}

/// The account facts one extract needs (`iamtrim extract`): cluster names, and for a partition's
/// join (`--join-partition`) the Pod Identity associations; nothing else is read on executors.
pub fn partition_context(settings: &Settings) -> anyhow::Result<JoinContext> {
    let context = ContextSpec {
        pod_identity_associations: settings.context.pod_identity_associations.clone(),
        aws: settings.context.aws.clone(),
        ..ContextSpec::default()
    };
    let lookups = lookups(&context, settings.ingest.clusters.clone())?;
    Ok(JoinContext {
        associations: lookups.associations(),
        clusters: lookups.clusters.clone(),
    })
}

/// Account facts from snapshot files and, with `--aws`, the EKS and IAM APIs.
pub fn lookups(context: &ContextSpec, clusters: ClusterNames) -> anyhow::Result<Lookups> {
    let mut lookups = Lookups::new(clusters);
    if let Some(path) = &context.pod_identity_associations {
        lookups
            .add_associations_file(path)
            .context("cannot read the Pod Identity associations")?;
    }
    if let Some(path) = &context.iam_snapshot {
        lookups
            .add_iam_snapshot(path)
            .context("cannot read the IAM snapshot")?;
    }
    for inventory in &context.k8s_inventories {
        lookups
            .add_k8s_inventory(inventory)
            .context("cannot read the Kubernetes inventory")?;
    }
    for kube in &context.kube_contexts {
        lookups
            .add_kube_context(kube)
            .context("cannot read the cluster")?;
    }
    if let Some(options) = &context.aws {
        lookups.add_aws(options);
    }
    Ok(lookups)
}

/// What each role's sessions did, across the workloads that used it.
pub fn role_usage(finished: &[(WorkloadKey, Workload)]) -> BTreeMap<String, RoleUsage> {
    let mut out: BTreeMap<String, RoleUsage> = BTreeMap::new();
    for (key, workload) in finished {
        for (role, calls) in &workload.calls_by_role {
            let usage = out.entry(role.clone()).or_default();
            if workload
                .evidence
                .contains_key(&crate::aggregate::Evidence::NodeSession)
            {
                // A node role is used from every node of its group, each from its own
                // address: never pinned (the diff's proposal gets no network condition).
                usage
                    .network
                    .merge(&crate::aggregate::network::Network::unknown());
            } else {
                usage.network.merge(&workload.network);
            }
            for (call, stats) in calls {
                usage
                    .calls
                    .entry(call.clone())
                    .and_modify(|u| u.merge(stats))
                    .or_insert(*stats);
            }
            if let WorkloadKey::ServiceAccount(sa) = key {
                usage
                    .service_accounts
                    .insert(format!("{}/{}", sa.namespace, sa.name));
            } else {
                usage.other_sessions = true;
            }
        }
    }
    out
}

/// What a diff compares usage with, besides the usage.
pub struct DiffContext<'a> {
    pub lookups: &'a Lookups,
    /// `--policy`: one current policy for every role.
    pub policy_file: Option<&'a RawPolicies>,
    pub catalog: &'a Catalog,
    pub synth: SynthConfig,
    /// What the trail could have shown.
    pub observe: &'a Observability,
    pub drop_unobservable: bool,
    /// With the usage store: what it knows of each role beyond the window.
    pub history: Option<&'a BTreeMap<String, crate::diff::RoleHistory>>,
}

/// What the trail records, from `--trail-config`, the CloudTrail API (`--aws`) or the input, and
/// its summary in the recommendation's `input.coverage`.
/// What needs the roles' current trust policies on the cluster side: the trust policy of each
/// split role whose service account gets it through IRSA (the shared role's names the cluster's
/// OIDC provider), and the annotations whose role does not admit their service account.
pub fn cluster_side(lookups: &Lookups, recommendation: &mut Recommendation) {
    for shared in &mut recommendation.shared_roles {
        if !shared.split.iter().any(|s| s.mechanism == "irsa") {
            continue;
        }
        match lookups.trust_document(&shared.role) {
            Ok(Some(document)) => {
                report::split::add_trust(shared, &document, &lookups.clusters);
            }
            Ok(None) => {}
            Err(warning) => recommendation.attribution.context.warnings.push(warning),
        }
    }
    if !lookups.inventory.is_empty() {
        // Each role asked once; after IAM fails to answer, not asked again.
        let warnings = std::cell::RefCell::new(Vec::new());
        let read: std::cell::RefCell<BTreeMap<String, Option<serde_json::Value>>> =
            std::cell::RefCell::default();
        let view = recommendation
            .kubernetes
            .get_or_insert_with(Default::default);
        report::kubernetes::check_annotations(view, &lookups.inventory, |role| {
            if let Some(known) = read.borrow().get(role) {
                return known.clone();
            }
            let document = if warnings.borrow().is_empty() {
                lookups.trust_document(role).unwrap_or_else(|warning| {
                    warnings.borrow_mut().push(warning);
                    None
                })
            } else {
                None
            };
            read.borrow_mut().insert(role.to_owned(), document.clone());
            document
        });
        recommendation
            .attribution
            .context
            .warnings
            .extend(warnings.into_inner());
    }
}

pub fn observability(
    settings: &Settings,
    input: &InputStats,
    lookups: &mut Lookups,
    recommendation: &mut Recommendation,
) -> anyhow::Result<Observability> {
    let warned = lookups.summary.warnings.len();
    let fetched = match settings.context.trail_config {
        Some(_) => None,
        None => lookups.trail_config().and_then(|value| {
            let origin = "--aws: cloudtrail:DescribeTrails and GetEventSelectors".to_owned();
            match crate::observe::TrailConfig::from_value(value, origin) {
                Ok(config) => Some(config),
                Err(err) => {
                    lookups.summary.warnings.push(format!(
                        "cloudtrail:GetEventSelectors: the answer could not be read ({err}); \
                         what the trail records is inferred from the input"
                    ));
                    None
                }
            }
        }),
    };
    let observe = Observability::load(
        settings.context.trail_config.as_deref(),
        fetched,
        &input.counts.data_events,
        &input.counts.data_event_buckets,
    )?;
    recommendation
        .attribution
        .context
        .warnings
        .extend(lookups.summary.warnings[warned..].iter().cloned());
    recommendation.input.coverage = Some(observe.coverage(&input.counts.data_events));
    Ok(observe)
}

/// Diffs every role of the reported workloads (only those named by `--role`, if given).
pub fn diff_roles(
    recommendation: &Recommendation,
    wanted: &[String],
    usage: &BTreeMap<String, RoleUsage>,
    context: &DiffContext<'_>,
) -> Vec<RoleDiff> {
    let DiffContext {
        lookups,
        policy_file,
        catalog,
        synth,
        observe,
        drop_unobservable,
        history,
    } = *context;
    let roles: BTreeSet<&String> = recommendation
        .workloads
        .iter()
        .flat_map(|w| &w.roles)
        .filter(|arn| {
            wanted.is_empty()
                || wanted
                    .iter()
                    .any(|w| *arn == w || report::role_name(arn) == Some(w.as_str()))
        })
        .collect();
    let empty = RoleUsage::default();
    roles
        .into_iter()
        .map(|role| {
            let raw =
                current_policies_of(role, policy_file, lookups).unwrap_or_else(|| RawPolicies {
                    source: "none".to_owned(),
                    problems: vec![format!(
                        "no current policies found for {role} (not in the IAM snapshot, no --aws)"
                    )],
                    ..RawPolicies::default()
                });
            crate::diff::diff_role(
                role,
                &raw,
                usage.get(role).unwrap_or(&empty),
                lookups.associations_of(role),
                catalog,
                synth,
                observe,
                drop_unobservable,
                history.and_then(|h| h.get(role.as_str())),
            )
        })
        .collect()
}

/// A role's current policies: the `--policy` file when given, else from the lookups.
fn current_policies_of(
    role: &str,
    policy_file: Option<&RawPolicies>,
    lookups: &Lookups,
) -> Option<RawPolicies> {
    policy_file
        .cloned()
        .or_else(|| lookups.current_policies(role))
}

/// The current policies of every diffed role, for the evidence pack.
pub fn current_policies(
    recommendation: &Recommendation,
    policy_file: Option<&RawPolicies>,
    lookups: &Lookups,
) -> BTreeMap<String, RawPolicies> {
    recommendation
        .diffs
        .iter()
        .flatten()
        .filter_map(|d| {
            current_policies_of(&d.role, policy_file, lookups).map(|raw| (d.role.clone(), raw))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ingest::Silent;
    use crate::source::memory::{MemorySource, role_call};

    const DAY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/";

    fn trail() -> MemorySource {
        let get = |id: &str, key: &str| {
            let mut record = role_call(
                id,
                "2026-11-01T06:10:00Z",
                "reports",
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": "reports-data", "key": key}),
            );
            // An S3 data event: the trail records them, so an unused s3:DeleteObject shows.
            record["eventCategory"] = json!("Data");
            record
        };
        MemorySource::new().records(
            &format!("{DAY}a.json.gz"),
            &[get("e1", "2026/q3.csv"), get("e2", "2026/q4.csv")],
        )
    }

    fn settings() -> Settings {
        Settings::resolve(
            crate::settings::Options {
                trails: vec!["unused".into()],
                diff: true,
                policy: Some("unused.json".into()),
                ..crate::settings::Options::default()
            },
            "2026-11-22T12:00:00Z".parse().unwrap(),
        )
        .unwrap()
    }

    /// Trail in memory → workloads → report → diff, all in process.
    fn computed(current: serde_json::Value) -> (Recommendation, InputStats, Lookups) {
        let settings = settings();
        let mut config = settings.ingest.clone();
        config.hash_objects = true;
        let mut lookups = Lookups::new(ClusterNames::default());
        let (finished, input) = ingest_workloads(&trail(), &config, &mut lookups, &Silent).unwrap();
        let usage = role_usage(&finished);
        let mut recommendation = report::build(
            finished,
            &input,
            config.window,
            &settings.filter,
            lookups.summary.clone(),
            settings.synth,
            lookups.cluster_facts(),
        );
        let policy = RawPolicies {
            source: "test".into(),
            identity: vec![("current".into(), current)],
            ..RawPolicies::default()
        };
        let observe = observability(&settings, &input, &mut lookups, &mut recommendation).unwrap();
        recommendation.diffs = Some(diff_roles(
            &recommendation,
            &[],
            &usage,
            &DiffContext {
                lookups: &lookups,
                policy_file: Some(&policy),
                catalog: &config.catalog,
                synth: settings.synth,
                observe: &observe,
                drop_unobservable: settings.drop_unobservable,
                history: None,
            },
        ));
        (recommendation, input, lookups)
    }

    #[test]
    fn a_trail_in_memory_becomes_a_scoped_policy_and_a_diff() {
        let (recommendation, input, _) = computed(json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", "s3:DeleteObject"], "Resource": "arn:aws:s3:::reports-data/*"}]
        }));
        assert_eq!(input.counts.records, 2);
        let workload = &recommendation.workloads[0];
        assert_eq!(workload.id, "arn:aws:iam::111122223333:role/reports");
        let policy = serde_json::to_value(workload.policy.as_ref().unwrap()).unwrap();
        assert_eq!(policy["Statement"][0]["Action"], json!(["s3:GetObject"]));
        assert_eq!(
            policy["Statement"][0]["Resource"],
            json!([
                "arn:aws:s3:::reports-data/2026/q3.csv",
                "arn:aws:s3:::reports-data/2026/q4.csv"
            ])
        );
        let diff = &recommendation.diffs.as_ref().unwrap()[0];
        assert!(diff.drift);
        let unused: Vec<&str> = diff
            .granted_unused
            .iter()
            .map(|g| g.action.as_str())
            .collect();
        assert_eq!(unused, ["s3:DeleteObject"]);
        assert!(drift(&recommendation));
    }

    #[test]
    fn an_evidence_pack_written_in_process_verifies() {
        let (recommendation, input, lookups) = computed(json!({
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
        }));
        assert!(!drift(&recommendation));
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("pack");
        let mut settings = settings();
        settings.policy = None;
        let catalog = Catalog::embedded().unwrap();
        let manifest = evidence::write(
            &out,
            &settings,
            evidence::Pack {
                recommendation: &recommendation,
                input: &input,
                source: Some(&trail()),
                catalog: &catalog,
                lookups: &lookups,
                policy_file: None,
                public_keys: None,
            },
        )
        .unwrap();
        assert_eq!(manifest.inputs.len(), 1);
        assert_eq!(manifest.inputs[0].location, format!("{DAY}a.json.gz"));
        assert_eq!(manifest.configuration.max_objects, 3);
        assert_eq!(crate::evidence::verify(&out).unwrap(), Vec::<String>::new());
        std::fs::write(out.join("recommendation.json"), "{}").unwrap();
        assert!(!crate::evidence::verify(&out).unwrap().is_empty());
    }
}
