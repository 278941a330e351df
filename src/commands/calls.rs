//! `iamtrim calls`: the call table, iamtrim's attribution at the granularity SQL engines can
//! compute from the standard CloudTrail table: one row per (workload, role, eventSource,
//! eventName, errorCode) with the number of calls and first and last time seen. The same table
//! comes out of queries/spark/calls.sql and queries/athena/calls.sql (docs/SCALE.md); a test
//! checks the Spark one equals this one.

use std::io::Write;

use anyhow::Context;
use polars::prelude::*;

use crate::aggregate::{Aggregator, JoinContext, Outcome as CallOutcome, WorkloadKey};
use crate::cli::recommend::{PolicyFormatArg, RecommendArgs, SizeLimitArg};
use crate::cli::run::CallsArgs;
use crate::commands::{progress, recommend};
use crate::exit::Outcome;
use crate::ingest::{CALL_SEPARATOR, ingest};
use crate::store::tables::{Who, who};

pub fn run(args: &CallsArgs, quiet: bool) -> anyhow::Result<Outcome> {
    let rec = recommend_args(args);
    let mut config = recommend::settings(&rec)?;
    config.calls_table = true;
    let source = recommend::open_source(&rec, config.window).context("cannot open the trail")?;
    let mut lookups = recommend::lookups(&rec, config.clusters.clone())?;
    config.clusters = lookups.clusters.clone();
    let mut aggregator = Aggregator::new(JoinContext {
        associations: lookups.associations(),
        clusters: config.clusters.clone(),
    });
    let progress = progress::for_stderr(quiet);
    let input =
        ingest(&*source, &config, &mut aggregator, &*progress).context("cannot read the trail")?;
    let trust = lookups.trust(&aggregator.unattributed_roles());
    let finished = aggregator.finish(&trust);
    let mut df = frame(&finished)?;
    match &args.out {
        Some(path) if path.extension().is_some_and(|e| e == "parquet") => {
            crate::store::tables::write_parquet(path, &mut df)?;
        }
        Some(path) => {
            let mut file = std::fs::File::create(path)
                .with_context(|| format!("cannot create {}", path.display()))?;
            CsvWriter::new(&mut file)
                .finish(&mut df)
                .map_err(anyhow::Error::new)
                .with_context(|| format!("cannot write {}", path.display()))?;
        }
        None => {
            let mut stdout = std::io::stdout().lock();
            CsvWriter::new(&mut stdout)
                .finish(&mut df)
                .map_err(anyhow::Error::new)
                .context("cannot write to stdout")?;
            stdout.flush().context("cannot write to stdout")?;
        }
    }
    if !quiet {
        eprintln!(
            "iamtrim calls: {} files, {} records, {} rows, {} skipped",
            input.files,
            input.records,
            df.height(),
            input.skipped.len() as u64 + input.skipped_not_listed
        );
        for skipped in input.skipped.iter().take(20) {
            eprintln!("warning: {}: {}", skipped.location, skipped.reason);
        }
    }
    Ok(if input.incomplete() {
        Outcome::Incomplete
    } else {
        Outcome::Clean
    })
}

/// One row per (workload, role, call, outcome), sorted.
type Row = (
    Who,
    Option<String>,
    String,
    String,
    Option<String>,
    u64,
    String,
    String,
);

fn frame(finished: &[(WorkloadKey, crate::aggregate::Workload)]) -> anyhow::Result<DataFrame> {
    let mut rows: Vec<Row> = Vec::new();
    for (key, workload) in finished {
        let who = who(key);
        let by_role = workload
            .calls_by_role
            .iter()
            .map(|(role, calls)| (Some(role.clone()), calls))
            .chain(std::iter::once((None, &workload.roleless)));
        for (role, calls) in by_role {
            for (call, usage) in calls {
                let (source, name) = call
                    .action
                    .split_once(CALL_SEPARATOR)
                    .unwrap_or((&call.action, ""));
                let error = match &call.outcome {
                    CallOutcome::Allowed => None,
                    CallOutcome::Denied(code) => Some(code.to_string()),
                };
                rows.push((
                    who.clone(),
                    role.clone(),
                    source.to_owned(),
                    name.to_owned(),
                    error,
                    usage.count,
                    usage.first_seen.to_string(),
                    usage.last_seen.to_string(),
                ));
            }
        }
    }
    rows.sort();
    let height = rows.len();
    let text = |f: &dyn Fn(&Row) -> String| rows.iter().map(f).collect::<Vec<_>>();
    let optional = |f: &dyn Fn(&Row) -> Option<String>| rows.iter().map(f).collect::<Vec<_>>();
    Ok(DataFrame::new(
        height,
        vec![
            Column::new("workload".into(), text(&|r| r.0.0.clone())),
            Column::new("kind".into(), text(&|r| r.0.1.to_owned())),
            Column::new("eks_cluster".into(), optional(&|r| r.0.2.clone())),
            Column::new("namespace".into(), optional(&|r| r.0.3.clone())),
            Column::new("service_account".into(), optional(&|r| r.0.4.clone())),
            Column::new("role".into(), optional(&|r| r.1.clone())),
            Column::new("event_source".into(), text(&|r| r.2.clone())),
            Column::new("event_name".into(), text(&|r| r.3.clone())),
            Column::new("error_code".into(), optional(&|r| r.4.clone())),
            Column::new(
                "calls".into(),
                rows.iter().map(|r| r.5).collect::<Vec<u64>>(),
            ),
            Column::new("first_seen".into(), text(&|r| r.6.clone())),
            Column::new("last_seen".into(), text(&|r| r.7.clone())),
        ],
    )?)
}

fn recommend_args(args: &CallsArgs) -> RecommendArgs {
    RecommendArgs {
        trail: args.trail.clone(),
        since: args.since,
        until: args.until,
        trail_account: Vec::new(),
        trail_region: Vec::new(),
        cluster: args.cluster.clone(),
        pod_identity_associations: args.pod_identity_associations.clone(),
        iam_snapshot: args.iam_snapshot.clone(),
        aws: false,
        profile: None,
        region: None,
        endpoint_url: None,
        s3_path_style: false,
        diff: false,
        policy: None,
        role: Vec::new(),
        workload: Vec::new(),
        format: None,
        out: None,
        policy_format: PolicyFormatArg::Json,
        max_objects: 3,
        condition_requested_region: false,
        size_limit: SizeLimitArg::Managed,
        catalog: None,
        fetch_concurrency: None,
        threads: args.threads,
        max_object_bytes: 1 << 30,
        max_record_bytes: 16 << 20,
    }
}
