//! The store's tables as Parquet, through polars: settled activity ⇄ `usage` and `workloads`
//! rows, ingested objects ⇄ `objects` rows. Rows are written in a stable order, so the same
//! activity gives the same bytes.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::*;

use super::error::{Result, StoreError};
use crate::aggregate::{
    Evidence, Mechanism, Settled, StoredCall, Tally, UnboundGroup, Workload, WorkloadKey,
    sorted_calls,
};
use crate::attribute::ServiceAccount;
use crate::errors::FileError;

/// `workloads.kind` / `usage.kind` of retired sessions no binding explained (`-node` for EC2
/// instance sessions): role-level until a recommendation asks the role's trust policy.
const UNBOUND: &str = "unbound";
const UNBOUND_NODE: &str = "unbound-node";

/// Who a row belongs to: (id, kind, cluster, namespace, service account).
pub type Who = (
    String,
    &'static str,
    Option<String>,
    Option<String>,
    Option<String>,
);

pub fn who(key: &WorkloadKey) -> Who {
    match key {
        WorkloadKey::ServiceAccount(sa) => (
            key.id(),
            "service-account",
            Some(sa.cluster.to_string()),
            Some(sa.namespace.to_string()),
            Some(sa.name.to_string()),
        ),
        WorkloadKey::Role(arn) => (arn.clone(), "role", None, None, None),
        WorkloadKey::User(arn) => (arn.clone(), "user", None, None, None),
    }
}

#[derive(Default)]
struct UsageColumns {
    workload: Vec<String>,
    kind: Vec<&'static str>,
    cluster: Vec<Option<String>>,
    namespace: Vec<Option<String>>,
    service_account: Vec<Option<String>>,
    role: Vec<Option<String>>,
    action: Vec<String>,
    resource: Vec<String>,
    error_code: Vec<Option<String>>,
    error_class: Vec<Option<String>>,
    implied_by: Vec<Option<String>>,
    count: Vec<u64>,
    first_seen: Vec<String>,
    last_seen: Vec<String>,
    regions: Vec<u64>,
    first_event_id: Vec<Option<String>>,
    last_event_id: Vec<Option<String>>,
}

impl UsageColumns {
    fn push(&mut self, who: &Who, role: Option<&str>, call: StoredCall) {
        self.workload.push(who.0.clone());
        self.kind.push(who.1);
        self.cluster.push(who.2.clone());
        self.namespace.push(who.3.clone());
        self.service_account.push(who.4.clone());
        self.role.push(role.map(str::to_owned));
        self.action.push(call.action);
        self.resource.push(call.resource);
        self.error_code.push(call.error_code);
        self.error_class.push(call.error_class);
        self.implied_by.push(call.implied_by);
        self.count.push(call.count);
        self.first_seen.push(call.first_seen);
        self.last_seen.push(call.last_seen);
        self.regions.push(call.regions);
        self.first_event_id.push(call.first_event_id);
        self.last_event_id.push(call.last_event_id);
    }

    fn frame(self, day: &str) -> PolarsResult<DataFrame> {
        let height = self.workload.len();
        DataFrame::new(
            height,
            vec![
                Column::new("day".into(), vec![day; height]),
                Column::new("workload".into(), self.workload),
                Column::new("kind".into(), self.kind),
                Column::new("eks_cluster".into(), self.cluster),
                Column::new("namespace".into(), self.namespace),
                Column::new("service_account".into(), self.service_account),
                Column::new("role".into(), self.role),
                Column::new("action".into(), self.action),
                Column::new("resource".into(), self.resource),
                Column::new("error_code".into(), self.error_code),
                Column::new("error_class".into(), self.error_class),
                Column::new("implied_by".into(), self.implied_by),
                Column::new("calls".into(), self.count),
                Column::new("first_seen".into(), self.first_seen),
                Column::new("last_seen".into(), self.last_seen),
                Column::new("regions".into(), self.regions),
                Column::new("first_event_id".into(), self.first_event_id),
                Column::new("last_event_id".into(), self.last_event_id),
            ],
        )
    }
}

#[derive(Default)]
struct WorkloadColumns {
    workload: Vec<String>,
    kind: Vec<&'static str>,
    cluster: Vec<Option<String>>,
    namespace: Vec<Option<String>>,
    service_account: Vec<Option<String>>,
    mechanisms: Vec<String>,
    roles: Vec<String>,
    vended_roles: Vec<String>,
    evidence: Vec<Option<&'static str>>,
    sessions: Vec<u64>,
    events: Vec<u64>,
}

impl WorkloadColumns {
    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        who: &Who,
        mechanisms: &BTreeSet<Mechanism>,
        roles: &BTreeSet<String>,
        vended_roles: &BTreeSet<String>,
        evidence: Option<Evidence>,
        tally: Tally,
    ) {
        self.workload.push(who.0.clone());
        self.kind.push(who.1);
        self.cluster.push(who.2.clone());
        self.namespace.push(who.3.clone());
        self.service_account.push(who.4.clone());
        self.mechanisms.push(
            mechanisms
                .iter()
                .map(|m| m.as_str())
                .collect::<Vec<_>>()
                .join(" "),
        );
        self.roles
            .push(roles.iter().cloned().collect::<Vec<_>>().join(" "));
        self.vended_roles
            .push(vended_roles.iter().cloned().collect::<Vec<_>>().join(" "));
        self.evidence.push(evidence.map(Evidence::as_str));
        self.sessions.push(tally.sessions);
        self.events.push(tally.events);
    }

    fn frame(self, day: &str) -> PolarsResult<DataFrame> {
        let height = self.workload.len();
        DataFrame::new(
            height,
            vec![
                Column::new("day".into(), vec![day; height]),
                Column::new("workload".into(), self.workload),
                Column::new("kind".into(), self.kind),
                Column::new("eks_cluster".into(), self.cluster),
                Column::new("namespace".into(), self.namespace),
                Column::new("service_account".into(), self.service_account),
                Column::new("mechanisms".into(), self.mechanisms),
                Column::new("roles".into(), self.roles),
                Column::new("vended_roles".into(), self.vended_roles),
                Column::new("evidence".into(), self.evidence),
                Column::new("sessions".into(), self.sessions),
                Column::new("events".into(), self.events),
            ],
        )
    }
}

/// One day's settled activity as the `usage` and `workloads` tables.
pub fn settled_frames(day: &str, settled: &Settled) -> PolarsResult<(DataFrame, DataFrame)> {
    let mut usage = UsageColumns::default();
    let mut workloads = WorkloadColumns::default();
    for (key, w) in &settled.workloads {
        let who = who(key);
        for (role, calls) in &w.calls_by_role {
            for (k, u) in sorted_calls(calls) {
                usage.push(&who, Some(role), StoredCall::from_call(k, u));
            }
        }
        for (k, u) in sorted_calls(&w.calls) {
            usage.push(&who, None, StoredCall::from_call(k, u));
        }
        if w.evidence.is_empty() {
            workloads.push(
                &who,
                &w.mechanisms,
                &w.roles,
                &w.vended_roles,
                None,
                Tally::default(),
            );
        }
        for (evidence, tally) in &w.evidence {
            workloads.push(
                &who,
                &w.mechanisms,
                &w.roles,
                &w.vended_roles,
                Some(*evidence),
                *tally,
            );
        }
    }
    for ((role, node), group) in &settled.unbound {
        let kind = if *node { UNBOUND_NODE } else { UNBOUND };
        let who: Who = (role.clone(), kind, None, None, None);
        for (k, u) in sorted_calls(&group.calls) {
            usage.push(&who, Some(role), StoredCall::from_call(k, u));
        }
        workloads.push(
            &who,
            &BTreeSet::new(),
            &group.roles,
            &BTreeSet::new(),
            None,
            Tally {
                sessions: group.sessions,
                events: group.events,
            },
        );
    }
    Ok((usage.frame(day)?, workloads.frame(day)?))
}

pub(super) fn strings<'a>(df: &'a DataFrame, name: &str) -> Result<&'a StringChunked> {
    df.column(name)
        .and_then(|c| c.str())
        .map_err(StoreError::table(format!("column {name}")))
}

fn numbers<'a>(df: &'a DataFrame, name: &str) -> Result<&'a UInt64Chunked> {
    df.column(name)
        .and_then(|c| c.u64())
        .map_err(StoreError::table(format!("column {name}")))
}

fn key_of(
    workload: &str,
    kind: &str,
    cluster: Option<&str>,
    namespace: Option<&str>,
    name: Option<&str>,
) -> Result<Option<WorkloadKey>> {
    Ok(Some(match kind {
        "service-account" => {
            let (Some(cluster), Some(namespace), Some(name)) = (cluster, namespace, name) else {
                return Err(StoreError::Row(format!(
                    "service-account row {workload} without cluster/namespace/name"
                )));
            };
            WorkloadKey::ServiceAccount(ServiceAccount {
                cluster: cluster.to_owned().into(),
                namespace: namespace.to_owned().into(),
                name: name.to_owned().into(),
            })
        }
        "role" => WorkloadKey::Role(workload.to_owned()),
        "user" => WorkloadKey::User(workload.to_owned()),
        UNBOUND | UNBOUND_NODE => return Ok(None),
        other => return Err(StoreError::Row(format!("unknown workload kind {other:?}"))),
    }))
}

fn words(text: Option<&str>) -> impl Iterator<Item = String> + '_ {
    text.unwrap_or_default()
        .split(' ')
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
}

/// Adds `usage` and `workloads` rows (any days) to `settled`.
pub fn add_frames(settled: &mut Settled, usage: &DataFrame, workloads: &DataFrame) -> Result<()> {
    let (id, kind, cluster, namespace, sa) = (
        strings(workloads, "workload")?,
        strings(workloads, "kind")?,
        strings(workloads, "eks_cluster")?,
        strings(workloads, "namespace")?,
        strings(workloads, "service_account")?,
    );
    let (mechanisms, roles, vended, evidence) = (
        strings(workloads, "mechanisms")?,
        strings(workloads, "roles")?,
        strings(workloads, "vended_roles")?,
        strings(workloads, "evidence")?,
    );
    let (sessions, events) = (
        numbers(workloads, "sessions")?,
        numbers(workloads, "events")?,
    );
    for i in 0..workloads.height() {
        let workload_id = id.get(i).unwrap_or_default();
        let kind_text = kind.get(i).unwrap_or_default();
        let tally = Tally {
            sessions: sessions.get(i).unwrap_or_default(),
            events: events.get(i).unwrap_or_default(),
        };
        match key_of(
            workload_id,
            kind_text,
            cluster.get(i),
            namespace.get(i),
            sa.get(i),
        )? {
            Some(key) => {
                let mut part = Workload::default();
                for m in words(mechanisms.get(i)) {
                    part.mechanisms.extend(Mechanism::parse(&m));
                }
                part.roles.extend(words(roles.get(i)));
                part.vended_roles.extend(words(vended.get(i)));
                if let Some(e) = evidence.get(i) {
                    let e = Evidence::parse(e).ok_or_else(|| {
                        StoreError::Row(format!("unknown evidence {e:?} for {workload_id}"))
                    })?;
                    part.evidence.insert(e, tally);
                }
                settled.workloads.entry(key).or_default().merge(part);
            }
            None => {
                let group = settled
                    .unbound
                    .entry((workload_id.to_owned(), kind_text == UNBOUND_NODE))
                    .or_default();
                group.sessions += tally.sessions;
                group.events += tally.events;
                group.roles.extend(words(roles.get(i)));
            }
        }
    }

    let (id, kind, cluster, namespace, sa, role) = (
        strings(usage, "workload")?,
        strings(usage, "kind")?,
        strings(usage, "eks_cluster")?,
        strings(usage, "namespace")?,
        strings(usage, "service_account")?,
        strings(usage, "role")?,
    );
    let (action, resource, error_code, error_class, implied_by, first, last) = (
        strings(usage, "action")?,
        strings(usage, "resource")?,
        strings(usage, "error_code")?,
        strings(usage, "error_class")?,
        strings(usage, "implied_by")?,
        strings(usage, "first_seen")?,
        strings(usage, "last_seen")?,
    );
    let (count, regions) = (numbers(usage, "calls")?, numbers(usage, "regions")?);
    let (first_id, last_id) = (
        strings(usage, "first_event_id")?,
        strings(usage, "last_event_id")?,
    );
    for i in 0..usage.height() {
        let call = StoredCall {
            action: action.get(i).unwrap_or_default().to_owned(),
            resource: resource.get(i).unwrap_or_default().to_owned(),
            error_code: error_code.get(i).map(str::to_owned),
            error_class: error_class.get(i).map(str::to_owned),
            implied_by: implied_by.get(i).map(str::to_owned),
            count: count.get(i).unwrap_or_default(),
            first_seen: first.get(i).unwrap_or_default().to_owned(),
            last_seen: last.get(i).unwrap_or_default().to_owned(),
            regions: regions.get(i).unwrap_or_default(),
            // The window query marks a missing sample with a sentinel that is not an ID.
            first_event_id: first_id.get(i).map(str::to_owned),
            last_event_id: last_id.get(i).map(str::to_owned),
        };
        let (call_key, call_usage) = call.into_call().map_err(StoreError::Row)?;
        let workload_id = id.get(i).unwrap_or_default();
        let kind_text = kind.get(i).unwrap_or_default();
        let calls = match key_of(
            workload_id,
            kind_text,
            cluster.get(i),
            namespace.get(i),
            sa.get(i),
        )? {
            Some(key) => {
                let w = settled.workloads.entry(key).or_default();
                match role.get(i) {
                    Some(role) => w.calls_by_role.entry(role.to_owned()).or_default(),
                    None => &mut w.calls,
                }
            }
            None => {
                let group: &mut UnboundGroup = settled
                    .unbound
                    .entry((workload_id.to_owned(), kind_text == UNBOUND_NODE))
                    .or_default();
                &mut group.calls
            }
        };
        calls
            .entry(call_key)
            .and_modify(|u| u.merge(&call_usage))
            .or_insert(call_usage);
    }
    Ok(())
}

/// One ingested object: its location, size, entity tag and hashes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct ObjectRow {
    pub location: String,
    pub size: Option<u64>,
    pub etag: Option<String>,
    /// SHA-256 of the object as stored, and of its decompressed content (what CloudTrail
    /// digest files hash): for evidence packs.
    pub sha256: Option<String>,
    pub content_sha256: Option<String>,
}

pub fn objects_frame(day: &str, rows: &[ObjectRow]) -> PolarsResult<DataFrame> {
    let height = rows.len();
    let text = |f: fn(&ObjectRow) -> Option<&str>| rows.iter().map(f).collect::<Vec<_>>();
    DataFrame::new(
        height,
        vec![
            Column::new("day".into(), vec![day; height]),
            Column::new(
                "location".into(),
                rows.iter().map(|r| r.location.as_str()).collect::<Vec<_>>(),
            ),
            Column::new(
                "size".into(),
                rows.iter().map(|r| r.size).collect::<Vec<_>>(),
            ),
            Column::new("etag".into(), text(|r| r.etag.as_deref())),
            Column::new("sha256".into(), text(|r| r.sha256.as_deref())),
            Column::new(
                "content_sha256".into(),
                text(|r| r.content_sha256.as_deref()),
            ),
        ],
    )
}

pub fn object_rows(df: &DataFrame) -> Result<Vec<ObjectRow>> {
    let (location, etag) = (strings(df, "location")?, strings(df, "etag")?);
    let (sha, content) = (strings(df, "sha256")?, strings(df, "content_sha256")?);
    let size = numbers(df, "size")?;
    Ok((0..df.height())
        .map(|i| ObjectRow {
            location: location.get(i).unwrap_or_default().to_owned(),
            size: size.get(i),
            etag: etag.get(i).map(str::to_owned),
            sha256: sha.get(i).map(str::to_owned),
            content_sha256: content.get(i).map(str::to_owned),
        })
        .collect())
}

pub fn read_parquet(path: &Path) -> Result<DataFrame> {
    let file = std::fs::File::open(path).map_err(FileError::at("open", path))?;
    ParquetReader::new(file)
        .finish()
        .map_err(StoreError::table(format!("cannot read {}", path.display())))
}

/// Writes `df` to `path` (the caller renames it into place).
pub fn write_parquet(path: &Path, df: &mut DataFrame) -> Result<()> {
    let mut file = std::fs::File::create(path).map_err(FileError::at("create", path))?;
    ParquetWriter::new(&mut file)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
        .map_err(StoreError::table(format!(
            "cannot write {}",
            path.display()
        )))?;
    file.sync_all().map_err(FileError::at("sync", path))?;
    Ok(())
}
