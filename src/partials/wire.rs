//! The partials stream, `iamtrim.partials/v1`: one JSON object per line. `iamtrim list` writes
//! what a trail's listing found (objects, ignored and unlistable entries, notes, watermarks);
//! `iamtrim extract` reads those lines, replaces each object by its pre-aggregated batch and
//! passes the rest through; `recommend --partials` joins the batches. Access keys never appear:
//! a session is named by a (keyed) hash of its access key.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::aggregate::network::Network;
use crate::aggregate::{Activity, CallKey, EventId, FileBatch, Outcome, Usage};
use crate::attribute::{Caller, ServiceAccount, Vending, VendingKind};
use crate::map::failure::FailureClass;
use crate::source::{Listing, ObjectRef};
use crate::stats::{Counts, Problem};

/// One line of the stream.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Line {
    /// An object to read (from `list`); `extract` replaces it by its batch.
    Object {
        location: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        size: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        etag: Option<String>,
    },
    Ignored {
        location: String,
        reason: String,
    },
    /// Could not be listed or read: makes the result incomplete.
    Failed {
        location: String,
        reason: String,
    },
    Note(String),
    /// Every object that can hold an event before `at` came earlier in the stream.
    Watermark(String),
    /// One object, read: what it held, pre-aggregated.
    Batch(Box<Batch>),
    /// The session join over a whole listing slice (`extract --join-partition`), after its
    /// objects' batches (which then carry only their counters and problems).
    Partition(Box<WirePartition>),
}

impl Line {
    pub fn from_listing(listing: &Listing) -> Line {
        match listing {
            Listing::Object(object) => Line::Object {
                location: object.location.clone(),
                size: object.size,
                etag: object.etag.clone(),
            },
            Listing::Ignored { location, reason } => Line::Ignored {
                location: location.clone(),
                reason: reason.clone(),
            },
            Listing::Failed { location, reason } => Line::Failed {
                location: location.clone(),
                reason: reason.clone(),
            },
            Listing::Note(note) => Line::Note(note.clone()),
            Listing::Watermark(at) => Line::Watermark(at.to_string()),
        }
    }

    /// The listing entry this line is, or None for a batch. A watermark that does not parse is
    /// an `Err` with the reason.
    pub fn into_listing(self) -> Result<Option<Listing>, String> {
        Ok(Some(match self {
            Line::Object {
                location,
                size,
                etag,
            } => Listing::Object(ObjectRef {
                location,
                size,
                etag,
            }),
            Line::Ignored { location, reason } => Listing::Ignored { location, reason },
            Line::Failed { location, reason } => Listing::Failed { location, reason },
            Line::Note(note) => Listing::Note(note),
            Line::Watermark(at) => Listing::Watermark(time(&at)?),
            Line::Batch(_) | Line::Partition(_) => return Ok(None),
        }))
    }
}

fn time(text: &str) -> Result<Timestamp, String> {
    text.parse()
        .map_err(|e| format!("not a timestamp ({e}): {}", cut(text)))
}

fn cut(text: &str) -> String {
    text.chars().take(40).collect()
}

/// A [`FileBatch`] on the wire. Calls and callers are sorted, so the same object gives the
/// same line.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batch {
    pub location: String,
    pub counts: Counts,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unmapped: Vec<(String, String, u64)>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub problems_not_listed: u64,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub unread: bool,
    /// Size and SHA-256 of the object as stored and decompressed (what the usage store records
    /// of each object it ingests).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fingerprint: Option<crate::hash::ObjectFingerprint>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub vendings: Vec<WireVending>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub activity: Vec<WireActivity>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireServiceAccount {
    pub cluster: String,
    pub namespace: String,
    pub name: String,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireVending {
    /// The session: a hash of its access key.
    pub session: String,
    pub role_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_name: Option<String>,
    pub at: String,
    pub kind: WireVendingKind,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WireVendingKind {
    Irsa(WireServiceAccount),
    PodIdentity(WireServiceAccount),
    PodIdentityUntagged {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cluster: Option<String>,
    },
    /// `AssumeRole` called by the session `parent` (a hash of its access key).
    Chained {
        parent: String,
    },
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WireCaller {
    Session {
        session: String,
        role_arn: String,
        session_name: String,
    },
    Role {
        role_arn: String,
        session_name: String,
    },
    User {
        arn: String,
    },
    ServiceAccount(WireServiceAccount),
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireActivity {
    pub caller: WireCaller,
    pub events: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
    pub calls: Vec<WireCall>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireCall {
    pub action: String,
    pub resource: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub implied_by: Option<String>,
    /// `failed`, `denied` or `unauthenticated` (`FailureClass::as_str`; absent: allowed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_class: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
    pub regions: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_event: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_event: Option<String>,
}

/// Names a session by its access key without holding the key: HMAC-SHA256 with the run's
/// secret (`IAMTRIM_PARTIALS_KEY`, the same for every extract of one run), else SHA-256.
pub struct SessionNamer {
    key: Option<ring::hmac::Key>,
}

impl SessionNamer {
    pub fn new(secret: Option<&[u8]>) -> SessionNamer {
        SessionNamer {
            key: secret.map(|s| ring::hmac::Key::new(ring::hmac::HMAC_SHA256, s)),
        }
    }

    pub fn name(&self, access_key: &str) -> String {
        let digest: Vec<u8> = match &self.key {
            Some(key) => ring::hmac::sign(key, access_key.as_bytes())
                .as_ref()
                .to_vec(),
            None => {
                use sha2::Digest;
                sha2::Sha256::digest(access_key.as_bytes()).to_vec()
            }
        };
        format!("s{}", hex::encode(&digest[..16]))
    }
}

fn sa_out(sa: &ServiceAccount<'_>) -> WireServiceAccount {
    WireServiceAccount {
        cluster: sa.cluster.to_string(),
        namespace: sa.namespace.to_string(),
        name: sa.name.to_string(),
    }
}

fn sa_in(sa: WireServiceAccount) -> ServiceAccount<'static> {
    ServiceAccount {
        cluster: sa.cluster.into(),
        namespace: sa.namespace.into(),
        name: sa.name.into(),
    }
}

impl Batch {
    /// The wire form of `batch`, with access keys replaced by `namer`'s session names.
    pub fn from_batch(batch: &FileBatch, namer: &SessionNamer) -> Batch {
        let mut unmapped: Vec<(String, String, u64)> = batch
            .unmapped
            .iter()
            .map(|((s, n), c)| (s.clone(), n.clone(), *c))
            .collect();
        unmapped.sort();
        let mut vendings: Vec<WireVending> = batch
            .vendings
            .iter()
            .map(|v| WireVending {
                session: namer.name(&v.access_key),
                role_arn: v.role_arn.to_string(),
                session_name: v.session_name.as_deref().map(str::to_owned),
                at: v.at.to_string(),
                kind: match &v.kind {
                    VendingKind::Irsa(sa) => WireVendingKind::Irsa(sa_out(sa)),
                    VendingKind::PodIdentity(sa) => WireVendingKind::PodIdentity(sa_out(sa)),
                    VendingKind::PodIdentityUntagged { cluster } => {
                        WireVendingKind::PodIdentityUntagged {
                            cluster: cluster.as_deref().map(str::to_owned),
                        }
                    }
                    VendingKind::Chained { parent_access_key } => WireVendingKind::Chained {
                        parent: namer.name(parent_access_key),
                    },
                },
            })
            .collect();
        vendings.sort_by(|a, b| (&a.session, &a.at).cmp(&(&b.session, &b.at)));
        let mut activity: Vec<(String, WireActivity)> = batch
            .activity
            .iter()
            .map(|(caller, activity)| {
                let caller = caller_out(caller, namer);
                let order = serde_json::to_string(&caller).unwrap_or_default();
                (order, activity_out(caller, activity))
            })
            .collect();
        activity.sort_by(|a, b| a.0.cmp(&b.0));
        Batch {
            location: batch.location.clone(),
            counts: batch.counts.clone(),
            unmapped,
            problems: batch.problems.clone(),
            problems_not_listed: batch.problems_not_listed,
            unread: batch.unread,
            fingerprint: batch.fingerprint.clone(),
            vendings,
            activity: activity.into_iter().map(|(_, a)| a).collect(),
        }
    }

    /// The batch again (session names stand where access keys were: they join the same way).
    pub fn into_batch(self) -> Result<FileBatch, String> {
        let vendings = self
            .vendings
            .into_iter()
            .map(|v| {
                Ok(Vending {
                    access_key: v.session.into(),
                    role_arn: v.role_arn.into(),
                    session_name: v.session_name.map(Into::into),
                    at: time(&v.at)?,
                    kind: match v.kind {
                        WireVendingKind::Irsa(sa) => VendingKind::Irsa(sa_in(sa)),
                        WireVendingKind::PodIdentity(sa) => VendingKind::PodIdentity(sa_in(sa)),
                        WireVendingKind::PodIdentityUntagged { cluster } => {
                            VendingKind::PodIdentityUntagged {
                                cluster: cluster.map(Into::into),
                            }
                        }
                        WireVendingKind::Chained { parent } => VendingKind::Chained {
                            parent_access_key: parent.into(),
                        },
                    },
                })
            })
            .collect::<Result<_, String>>()?;
        let activity = self
            .activity
            .into_iter()
            .map(activity_in)
            .collect::<Result<_, String>>()?;
        Ok(FileBatch {
            location: self.location,
            activity,
            vendings,
            counts: self.counts,
            unmapped: self
                .unmapped
                .into_iter()
                .map(|(s, n, c)| ((s, n), c))
                .collect(),
            problems: self.problems,
            problems_not_listed: self.problems_not_listed,
            unread: self.unread,
            fingerprint: self.fingerprint,
        })
    }
}

fn caller_out(caller: &Caller<'_>, namer: &SessionNamer) -> WireCaller {
    match caller {
        Caller::Session {
            access_key,
            role_arn,
            session_name,
        } => WireCaller::Session {
            session: namer.name(access_key),
            role_arn: role_arn.to_string(),
            session_name: session_name.to_string(),
        },
        Caller::Role {
            role_arn,
            session_name,
        } => WireCaller::Role {
            role_arn: role_arn.to_string(),
            session_name: session_name.to_string(),
        },
        Caller::User { arn } => WireCaller::User {
            arn: arn.to_string(),
        },
        Caller::ServiceAccount(sa) => WireCaller::ServiceAccount(sa_out(sa)),
    }
}

fn activity_out(caller: WireCaller, activity: &Activity) -> WireActivity {
    let mut calls: Vec<(&CallKey, &Usage)> = activity.calls.iter().collect();
    calls.sort_by(|a, b| a.0.cmp(b.0));
    let network = &activity.network;
    WireActivity {
        caller,
        events: activity.events,
        first_seen: activity.first_seen.map(|t| t.to_string()),
        network: network_out(network),
        calls: calls
            .into_iter()
            .map(|(key, usage)| WireCall {
                action: key.action.to_string(),
                resource: key.resource.to_string(),
                implied_by: key.implied_by.as_deref().map(str::to_owned),
                error_class: key.outcome.class().map(|c| c.as_str().to_owned()),
                error_code: key.outcome.error_code().map(str::to_owned),
                count: usage.count,
                first_seen: usage.first_seen.to_string(),
                last_seen: usage.last_seen.to_string(),
                regions: usage.regions,
                first_event: usage.first_event.map(|e| e.to_string()),
                last_event: usage.last_event.map(|e| e.to_string()),
            })
            .collect(),
    }
}

fn activity_in(wire: WireActivity) -> Result<(Caller<'static>, Activity), String> {
    let caller = match wire.caller {
        WireCaller::Session {
            session,
            role_arn,
            session_name,
        } => Caller::Session {
            access_key: session.into(),
            role_arn: role_arn.into(),
            session_name: session_name.into(),
        },
        WireCaller::Role {
            role_arn,
            session_name,
        } => Caller::Role {
            role_arn: role_arn.into(),
            session_name: session_name.into(),
        },
        WireCaller::User { arn } => Caller::User { arn: arn.into() },
        WireCaller::ServiceAccount(sa) => Caller::ServiceAccount(sa_in(sa)),
    };
    let mut activity = Activity {
        events: wire.events,
        first_seen: wire.first_seen.as_deref().map(time).transpose()?,
        ..Activity::default()
    };
    activity.network = wire.network.unwrap_or_default();
    for call in wire.calls {
        let failure = match (&call.error_class, &call.error_code) {
            (None, None) => None,
            (Some(class), Some(code)) => Some((
                FailureClass::parse(class)
                    .ok_or_else(|| format!("unknown error class {:?}", cut(class)))?,
                code.as_str(),
            )),
            _ => return Err("error_class and error_code come together".to_owned()),
        };
        let event = |id: &Option<String>| -> Result<Option<EventId>, String> {
            id.as_deref()
                .map(|id| EventId::parse(id).ok_or_else(|| format!("not an eventID: {}", cut(id))))
                .transpose()
        };
        let key = CallKey {
            action: call.action.into(),
            resource: call.resource.into(),
            implied_by: call.implied_by.map(Into::into),
            outcome: Outcome::new(failure),
        };
        let usage = Usage {
            count: call.count,
            first_seen: time(&call.first_seen)?,
            last_seen: time(&call.last_seen)?,
            regions: call.regions,
            first_event: event(&call.first_event)?,
            last_event: event(&call.last_event)?,
        };
        activity
            .calls
            .entry(key)
            .and_modify(|u| u.merge(&usage))
            .or_insert(usage);
    }
    Ok((caller, activity))
}

/// A partition's join on the wire: workload-level activity, deferred sessions, live state.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WirePartition {
    pub workloads: Vec<WireWorkload>,
    pub deferred: Vec<crate::aggregate::Deferred>,
    pub state: crate::aggregate::JoinState,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum WireKey {
    ServiceAccount(WireServiceAccount),
    Role(String),
    User(String),
}

/// A workload's activity so far, as the join holds it before it finishes.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WireWorkload {
    pub key: WireKey,
    pub mechanisms: Vec<String>,
    pub roles: Vec<String>,
    pub vended_roles: Vec<String>,
    /// Calls made without a role (users, a service account's own token).
    pub calls: Vec<crate::aggregate::StoredCall>,
    pub calls_by_role: BTreeMap<String, Vec<crate::aggregate::StoredCall>>,
    /// Evidence kind → (sessions, events).
    pub evidence: BTreeMap<String, (u64, u64)>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<Network>,
}

fn network_out(network: &Network) -> Option<Network> {
    (*network != Network::default()).then(|| network.clone())
}

fn stored_calls(calls: &foldhash::HashMap<CallKey, Usage>) -> Vec<crate::aggregate::StoredCall> {
    crate::aggregate::sorted_calls(calls)
        .into_iter()
        .map(|(k, u)| crate::aggregate::StoredCall::from_call(k, u))
        .collect()
}

fn calls_in(
    calls: Vec<crate::aggregate::StoredCall>,
) -> Result<foldhash::HashMap<CallKey, Usage>, String> {
    let mut out = foldhash::HashMap::default();
    for call in calls {
        let (key, usage) = call.into_call()?;
        out.insert(key, usage);
    }
    Ok(out)
}

impl WirePartition {
    pub fn from_join(join: crate::aggregate::PartitionJoin) -> WirePartition {
        use crate::aggregate::WorkloadKey;
        let mut workloads: Vec<WireWorkload> = join
            .settled
            .workloads
            .into_iter()
            .map(|(key, w)| WireWorkload {
                key: match key {
                    WorkloadKey::ServiceAccount(sa) => WireKey::ServiceAccount(sa_out(&sa)),
                    WorkloadKey::Role(arn) => WireKey::Role(arn),
                    WorkloadKey::User(arn) => WireKey::User(arn),
                },
                mechanisms: w.mechanisms.iter().map(|m| m.as_str().to_owned()).collect(),
                roles: w.roles.into_iter().collect(),
                vended_roles: w.vended_roles.into_iter().collect(),
                calls: stored_calls(&w.calls),
                calls_by_role: w
                    .calls_by_role
                    .iter()
                    .map(|(role, calls)| (role.clone(), stored_calls(calls)))
                    .collect(),
                evidence: w
                    .evidence
                    .iter()
                    .map(|(e, t)| (e.as_str().to_owned(), (t.sessions, t.events)))
                    .collect(),
                network: network_out(&w.network),
            })
            .collect();
        workloads.sort_by_cached_key(|w| serde_json::to_string(&w.key).unwrap_or_default());
        WirePartition {
            workloads,
            deferred: join.deferred,
            state: join.state,
        }
    }

    pub fn into_join(self) -> Result<crate::aggregate::PartitionJoin, String> {
        use crate::aggregate::{Evidence, Mechanism, Tally, Workload, WorkloadKey};
        let mut settled = crate::aggregate::Settled::default();
        for w in self.workloads {
            let key = match w.key {
                WireKey::ServiceAccount(sa) => WorkloadKey::ServiceAccount(sa_in(sa)),
                WireKey::Role(arn) => WorkloadKey::Role(arn),
                WireKey::User(arn) => WorkloadKey::User(arn),
            };
            let mut workload = Workload {
                roles: w.roles.into_iter().collect(),
                vended_roles: w.vended_roles.into_iter().collect(),
                calls: calls_in(w.calls)?,
                network: w.network.unwrap_or_default(),
                ..Workload::default()
            };
            for m in w.mechanisms {
                workload.mechanisms.insert(
                    Mechanism::parse(&m)
                        .ok_or_else(|| format!("unknown mechanism {:?}", cut(&m)))?,
                );
            }
            for (role, calls) in w.calls_by_role {
                workload.calls_by_role.insert(role, calls_in(calls)?);
            }
            for (evidence, (sessions, events)) in w.evidence {
                let evidence = Evidence::parse(&evidence)
                    .ok_or_else(|| format!("unknown evidence {:?}", cut(&evidence)))?;
                workload
                    .evidence
                    .insert(evidence, Tally { sessions, events });
            }
            settled.workloads.insert(key, workload);
        }
        Ok(crate::aggregate::PartitionJoin {
            settled,
            deferred: self.deferred,
            state: self.state,
        })
    }
}
