//! The call table: API calls per (workload, role, eventSource, eventName, errorCode) with their
//! count and first and last time seen, as `iamtrim calls` writes it and as Athena and Spark
//! compute it from queries/ (docs/SCALE.md); and the workloads `recommend --calls-table` reads
//! back from one.

use polars::prelude::*;

use super::error::{Result, StoreError};
use crate::aggregate::{Outcome as CallOutcome, WorkloadKey};
use crate::ingest::CALL_SEPARATOR;
use crate::store::tables::{Who, who};

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

pub fn frame(finished: &[(WorkloadKey, crate::aggregate::Workload)]) -> Result<DataFrame> {
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
                let error = call.outcome.error_code().map(str::to_owned);
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
    DataFrame::new(
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
    )
    .map_err(StoreError::table("the call table"))
}

/// Workloads from a call table (`recommend --calls-table`): iamtrim's own, or one computed by
/// Athena or Spark from queries/. The table names no resources, so every action is granted on
/// `*`: the recommendation is action-level, and says so in `input.source_notes`.
pub fn workloads_from_table(
    path: &std::path::Path,
    catalog: std::sync::Arc<crate::catalog::Catalog>,
) -> Result<(
    Vec<(WorkloadKey, crate::aggregate::Workload)>,
    crate::stats::InputStats,
)> {
    use std::collections::BTreeMap;

    use crate::aggregate::{CallKey, Usage, Workload, timestamp};
    use crate::attribute::ServiceAccount;
    use crate::map::{Mapper, Mapping};

    let df = read_table(path)?;
    let column = |name: &str| {
        df.column(name)
            .map_err(|_| StoreError::Row(format!("{} has no column {name}", path.display())))
    };
    let text = |name: &str| -> Result<StringChunked> {
        let what = || format!("{}: column {name}", path.display());
        Ok(column(name)?
            .cast(&DataType::String)
            .map_err(StoreError::table(what()))?
            .str()
            .map_err(StoreError::table(what()))?
            .clone())
    };
    let (workload, kind, cluster, namespace, sa, role) = (
        text("workload")?,
        text("kind")?,
        text("eks_cluster")?,
        text("namespace")?,
        text("service_account")?,
        text("role")?,
    );
    let (source, name, error, first, last) = (
        text("event_source")?,
        text("event_name")?,
        text("error_code")?,
        text("first_seen")?,
        text("last_seen")?,
    );
    let what = || format!("{}: column calls", path.display());
    let calls = column("calls")?
        .cast(&DataType::UInt64)
        .map_err(StoreError::table(what()))?;
    let calls = calls.u64().map_err(StoreError::table(what()))?;

    let mut mapper = Mapper::new(catalog);
    let mut workloads: BTreeMap<WorkloadKey, Workload> = BTreeMap::new();
    let mut input = crate::stats::InputStats::default();
    input.files = 1;
    let nonempty = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
    for i in 0..df.height() {
        let row = i + 2; // as a person counts CSV lines, header first
        let bad = |what: &str| StoreError::Row(format!("{}: row {row}: {what}", path.display()));
        let id = nonempty(workload.get(i)).ok_or_else(|| bad("no workload"))?;
        let key = match kind.get(i).unwrap_or_default() {
            "service-account" => WorkloadKey::ServiceAccount(ServiceAccount {
                cluster: nonempty(cluster.get(i))
                    .ok_or_else(|| bad("no eks_cluster"))?
                    .into(),
                namespace: nonempty(namespace.get(i))
                    .ok_or_else(|| bad("no namespace"))?
                    .into(),
                name: nonempty(sa.get(i))
                    .ok_or_else(|| bad("no service_account"))?
                    .into(),
            }),
            "role" => WorkloadKey::Role(id),
            "user" => WorkloadKey::User(id),
            other => return Err(bad(&format!("unknown kind {other:?}"))),
        };
        let (Some(event_source), Some(event_name)) =
            (nonempty(source.get(i)), nonempty(name.get(i)))
        else {
            return Err(bad("no event_source or event_name"));
        };
        let count = calls.get(i).ok_or_else(|| bad("no calls"))?;
        let usage = Usage {
            count,
            first_seen: timestamp(first.get(i).unwrap_or_default()).map_err(|e| bad(&e))?,
            last_seen: timestamp(last.get(i).unwrap_or_default()).map_err(|e| bad(&e))?,
            regions: 0,
            first_event: None,
            last_event: None,
        };
        input.counts.records += count;
        let entry = workloads.entry(key).or_default();
        let role = nonempty(role.get(i));
        if let Some(role) = &role {
            entry.roles.insert(role.clone());
        }
        let actions = match &*mapper.map(&event_source, &event_name) {
            Mapping::Actions(actions, ..) => {
                input.counts.mapped += count;
                actions.clone()
            }
            Mapping::NoPermission => {
                input.counts.no_permission += count;
                Vec::new()
            }
            Mapping::Unmapped => {
                input.add_unmapped(&event_source, &event_name, count);
                Vec::new()
            }
        };
        for action in actions {
            let key = CallKey {
                action,
                resource: "*".into(),
                implied_by: None,
                // The call table keeps the code only (Spark and Athena compute the same
                // table): its class comes from the code's row of the table.
                outcome: CallOutcome::stored(
                    nonempty(error.get(i)).as_deref(),
                    None,
                    &event_source,
                ),
            };
            let mut maps = vec![&mut entry.calls];
            match &role {
                Some(role) => maps.push(entry.calls_by_role.entry(role.clone()).or_default()),
                None => maps.push(&mut entry.roleless),
            }
            for map in maps {
                map.entry(key.clone())
                    .and_modify(|u| u.merge(&usage))
                    .or_insert(usage);
            }
        }
    }
    for (key, workload) in &mut workloads {
        workload.account = match key {
            WorkloadKey::Role(arn) | WorkloadKey::User(arn) => {
                crate::attribute::arn_account(arn).map(str::to_owned)
            }
            WorkloadKey::ServiceAccount(_) => workload
                .roles
                .iter()
                .find_map(|r| crate::attribute::arn_account(r))
                .map(str::to_owned),
        };
    }
    input.source_notes.push(format!(
        "read from the call table {}: it names no resources, so every permission is granted on \"*\" (action level), and it has no request members, so permissions a request implies (iam:PassRole, KMS keys, copy sources, session tags) are missing; recommend from the logs or the usage store for complete, resource-level policies",
        path.display()
    ));
    // In the order `Aggregator::finish` gives: by workload id.
    let mut workloads: Vec<_> = workloads.into_iter().collect();
    workloads.sort_by_key(|(key, _)| key.id());
    Ok((workloads, input))
}

fn read_table(path: &std::path::Path) -> Result<DataFrame> {
    if path.extension().is_some_and(|e| e == "parquet") {
        return crate::store::tables::read_parquet(path);
    }
    CsvReadOptions::default()
        .with_has_header(true)
        .with_infer_schema_length(None)
        .try_into_reader_with_file_path(Some(path.to_owned()))
        .and_then(|reader| reader.finish())
        .map_err(StoreError::table(format!(
            "cannot read the call table {}",
            path.display()
        )))
}
