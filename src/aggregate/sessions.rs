//! The run-wide aggregator and the session join.
//!
//! A session's calls can arrive before the event that vended its credentials (another file, another
//! region, a file read later by another thread). Calls of a session whose access key is not yet
//! bound wait in `pending`, keyed by access key and already aggregated; when the binding arrives
//! they move to the workload. What is still pending when the input ends is role-level activity.
//! The result is the same whatever order files are read in.

mod carry;

use std::collections::{BTreeMap, BTreeSet};

use foldhash::{HashMap, HashSet};
use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};

use super::{Activity, CallKey, FileBatch, Usage};
use crate::attribute::{
    Associations, Caller, ClusterNames, ServiceAccount, TrustAnswer, TrustIndex, Vending,
    VendingKind, arn_account, is_instance_session, is_pod_identity_session,
};

/// How a service account's sessions were tied to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Irsa,
    PodIdentity,
}

/// What an attribution rests on. Every event of a workload is counted under one of these.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Evidence {
    /// IRSA: the session's `AssumeRoleWithWebIdentity` (subject = the service account).
    IrsaWebIdentity,
    /// The service account's own `AssumeRoleWithWebIdentity` calls (made with its token).
    IrsaToken,
    /// Pod Identity: `AssumeRole` by `pods.eks.amazonaws.com` with `kubernetes-*` session tags.
    PodIdentityTags,
    /// Pod Identity without session tags: the role's only association in that cluster.
    PodIdentityAssociation,
    /// No vending event in the input: the role's trust policy admits exactly one service account.
    TrustPolicy,
    /// No vending event in the input; the role's trust policy admits several service accounts,
    /// of which exactly one is annotated with the role on its cluster (`--k8s-inventory`).
    ServiceAccountAnnotation,
    /// `AssumeRole` called by a session of the workload (role chaining).
    RoleChain,
    /// An assumed-role session of a role no service account was seen to use.
    RoleSession,
    /// An EC2 instance-profile session (`i-…`): a node role.
    NodeSession,
    /// An IAM user, root or federated user.
    IamUser,
    /// A session of a role that service accounts use, whose vending event is not in the input,
    /// and whose trust policy does not name one service account (or was not available).
    VendingNotInInput,
    /// A Pod Identity session without session tags and without a unique association.
    PodIdentityUntagged,
}

/// Which coverage bucket an evidence kind puts events in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Coverage {
    ServiceAccount,
    Role,
    User,
    Unattributed,
}

impl Evidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::IrsaWebIdentity => "irsa-web-identity",
            Self::IrsaToken => "irsa-token",
            Self::PodIdentityTags => "pod-identity-session-tags",
            Self::PodIdentityAssociation => "pod-identity-association",
            Self::TrustPolicy => "trust-policy",
            Self::ServiceAccountAnnotation => "service-account-annotation",
            Self::RoleChain => "role-chain",
            Self::RoleSession => "role-session",
            Self::NodeSession => "node-session",
            Self::IamUser => "iam-user",
            Self::VendingNotInInput => "vending-not-in-input",
            Self::PodIdentityUntagged => "pod-identity-untagged",
        }
    }

    pub fn coverage(self) -> Coverage {
        match self {
            Self::IrsaWebIdentity
            | Self::IrsaToken
            | Self::PodIdentityTags
            | Self::PodIdentityAssociation
            | Self::TrustPolicy
            | Self::ServiceAccountAnnotation
            | Self::RoleChain => Coverage::ServiceAccount,
            Self::RoleSession | Self::NodeSession => Coverage::Role,
            Self::IamUser => Coverage::User,
            Self::VendingNotInInput | Self::PodIdentityUntagged => Coverage::Unattributed,
        }
    }
}

/// Sessions and events attributed on one kind of evidence. Sessions are counted where a session
/// is known (vended, or seen by access key); events always.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub sessions: u64,
    pub events: u64,
}

/// The identity a policy is recommended for.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkloadKey {
    ServiceAccount(ServiceAccount<'static>),
    Role(String),
    User(String),
}

impl WorkloadKey {
    /// `eks/<cluster>/<namespace>/<service-account>`, or the role or user ARN.
    pub fn id(&self) -> String {
        match self {
            Self::ServiceAccount(sa) => format!("eks/{}/{}/{}", sa.cluster, sa.namespace, sa.name),
            Self::Role(arn) | Self::User(arn) => arn.clone(),
        }
    }
}

/// Everything known about one workload at the end of the run.
#[derive(Debug, Default)]
pub struct Workload {
    pub mechanisms: BTreeSet<Mechanism>,
    /// Every role whose sessions made this workload's calls, chained roles included.
    pub roles: BTreeSet<String>,
    /// Roles vended to this service account directly (IRSA, Pod Identity, trust policy).
    pub vended_roles: BTreeSet<String>,
    pub calls: HashMap<CallKey, Usage>,
    /// The same calls by the role whose session made them (what `diff` compares with each role's
    /// current policies). Calls made without a role (users, the service account's own token)
    /// are only in `calls`.
    pub calls_by_role: BTreeMap<String, HashMap<CallKey, Usage>>,
    pub evidence: BTreeMap<Evidence, Tally>,
    /// After [`Aggregator::finish`]: the calls made without a role (IAM users, a service
    /// account's own token), which `calls` includes.
    pub roleless: HashMap<CallKey, Usage>,
    /// For a role workload with unattributed sessions: what its trust policy said, if read.
    pub trust: Option<TrustAnswer>,
    pub account: Option<String>,
    /// Where its calls came from (`--condition-network`).
    pub network: super::network::Network,
}

impl Workload {
    fn tally(&mut self, evidence: Evidence) -> &mut Tally {
        self.evidence.entry(evidence).or_default()
    }

    /// Adds `activity`'s calls to the role's map (or, for calls made without a role, straight
    /// to `calls`). `calls` gets the role maps' union once, in [`Aggregator::finish`]: merging
    /// every call twice while reading doubled the aggregator's work.
    fn absorb(&mut self, evidence: Evidence, activity: Activity, role: Option<&str>) {
        self.tally(evidence).events += activity.events;
        self.network.merge(&activity.network);
        let calls = match role {
            // Looked up before inserting: most batches add to a role already there, and the
            // entry API would copy the role's ARN for each.
            Some(role) => {
                if !self.calls_by_role.contains_key(role) {
                    self.calls_by_role
                        .insert(role.to_owned(), HashMap::default());
                }
                self.calls_by_role.get_mut(role).expect("inserted above")
            }
            None => &mut self.calls,
        };
        for (key, usage) in activity.calls {
            merge(calls, key, &usage);
        }
    }

    /// Folds the per-role maps into `calls`.
    fn fold_roles(&mut self) {
        self.roleless = self.calls.clone();
        for calls in self.calls_by_role.values() {
            for (key, usage) in calls {
                if let Some(u) = self.calls.get_mut(key) {
                    u.merge(usage);
                } else {
                    self.calls.insert(key.clone(), *usage);
                }
            }
        }
    }
}

/// Account facts the join uses besides the trail (see `attribute::context`).
#[derive(Debug, Clone, Default)]
pub struct JoinContext {
    pub associations: Associations,
    pub clusters: ClusterNames,
}

#[derive(Clone)]
enum Binding {
    ServiceAccount {
        sa: Arc<ServiceAccount<'static>>,
        evidence: Evidence,
    },
    /// A Pod Identity session no association explains: role level.
    Untagged,
    Chained {
        parent: Box<str>,
    },
}

/// Where a bound session's activity goes.
enum Resolution {
    ServiceAccount(Arc<ServiceAccount<'static>>, Evidence),
    Untagged,
}

struct PendingSession {
    role_arn: String,
    session_name: String,
    activity: Activity,
}

/// Sessions no binding explained, retired from `pending`, per (first role of the chain, node
/// session?). What becomes of them is decided per role at the end (trust policy), so nothing is
/// lost by merging them.
#[derive(Default)]
struct UnboundRole {
    sessions: u64,
    roles: BTreeSet<String>,
    activity: Activity,
}

/// The longest a vended session can make calls: 12 hours (the longest role session), plus an
/// hour for clock skew. A binding older than that, once the watermark passes it, is forgotten.
const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(13);

/// Live-state sizes, for the memory benchmark (`IAMTRIM_STATS=1`).
#[derive(Debug, Default, Clone, Copy)]
pub struct JoinStats {
    pub peak_pending: usize,
    pub peak_bindings: usize,
    pub retired_bindings: u64,
    pub retired_pending: u64,
}

/// Merges file batches; owns the session join.
#[derive(Default)]
pub struct Aggregator {
    context: JoinContext,
    workloads: HashMap<WorkloadKey, Workload>,
    /// Access key (or Pod Identity session key) → binding, with the vending time.
    bindings: HashMap<Box<str>, (Binding, Timestamp)>,
    children: HashMap<Box<str>, Vec<Box<str>>>,
    pending: HashMap<Box<str>, PendingSession>,
    unbound: HashMap<(String, bool), UnboundRole>,
    service_account_roles: HashSet<String>,
    stats: JoinStats,
    /// Joining one partition of a trail (`iamtrim extract --join`): sessions still unbound at a
    /// watermark are handed on (their vending may be in an earlier partition), not retired.
    deferred: Option<Vec<carry::Deferred>>,
}

/// Chains longer than this are treated as unresolved (guards against cycles in hostile input).
const MAX_CHAIN: usize = 16;

pub use carry::{
    Deferred, JoinState, PartitionJoin, Settled, StoredBinding, StoredCall, StoredSession,
    StoredTarget, UnboundGroup, sorted_calls, timestamp,
};

/// The join key of an access key: 128 bits of its SHA-256, so the live join state the usage store
/// carries between runs never holds an access key id in the clear.
fn join_key(access_key: &str) -> Box<str> {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(access_key.as_bytes());
    let mut key = String::with_capacity(33);
    key.push('k');
    for byte in &digest[..16] {
        let _ = write!(key, "{byte:02x}");
    }
    key.into_boxed_str()
}

/// The join key of a Pod Identity session by name, for calls that carry no access key.
fn session_key(role_arn: &str, session_name: &str) -> Box<str> {
    let account = arn_account(role_arn).unwrap_or_default();
    let role = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("session:{account}/{role}/{session_name}").into_boxed_str()
}

impl Aggregator {
    pub fn new(context: JoinContext) -> Self {
        Self {
            context,
            ..Self::default()
        }
    }

    /// Vendings first, so a file holding both a vending and the session's calls resolves at once.
    pub fn add(&mut self, batch: FileBatch) {
        for vending in batch.vendings {
            self.bind(vending);
        }
        for (caller, activity) in batch.activity {
            self.route(caller, activity);
        }
        self.stats.peak_pending = self.stats.peak_pending.max(self.pending.len());
        self.stats.peak_bindings = self.stats.peak_bindings.max(self.bindings.len());
    }

    pub fn stats(&self) -> JoinStats {
        self.stats
    }

    /// Every event before `watermark` has been merged. A pending session first seen before it
    /// will never be bound (its vending event came before its first call) and is retired to its
    /// role; a binding vended more than a session lifetime before it can serve no later call and
    /// is forgotten. Memory then follows the sessions alive around the watermark.
    pub fn advance(&mut self, watermark: Timestamp) {
        let mut expired: Vec<Box<str>> = self
            .pending
            .iter()
            .filter(|(_, p)| p.activity.first_seen.is_some_and(|f| f < watermark))
            .map(|(k, _)| k.clone())
            .collect();
        expired.sort();
        match self.deferred.take() {
            Some(mut deferred) => {
                let sessions = expired
                    .into_iter()
                    .filter_map(|key| {
                        let session = self.pending.remove(&key)?;
                        Some(carry::stored_session(&key, &session))
                    })
                    .collect();
                deferred.push(carry::Deferred {
                    at: watermark.to_string(),
                    sessions,
                });
                self.deferred = Some(deferred);
            }
            None => self.retire(expired),
        }
        let before = self.bindings.len();
        // A partition's join keeps the chain links it could not settle whatever their age: the
        // driver needs them to settle the sessions deferred through them.
        let unsettled: HashSet<Box<str>> = if self.deferred.is_some() {
            self.bindings
                .iter()
                .filter(|(key, (binding, _))| {
                    matches!(binding, Binding::Chained { .. }) && self.resolve(key).is_none()
                })
                .map(|(key, _)| key.clone())
                .collect()
        } else {
            HashSet::default()
        };
        self.bindings
            .retain(|key, (_, at)| *at + SESSION_LIFETIME >= watermark || unsettled.contains(key));
        self.stats.retired_bindings += (before - self.bindings.len()) as u64;
        let bindings = &self.bindings;
        self.children
            .retain(|parent, _| bindings.contains_key(parent));
    }

    /// Moves pending sessions to their role's unbound activity. Chain roots are found first, as
    /// retiring a root forgets its role.
    fn retire(&mut self, keys: Vec<Box<str>>) {
        let roots: Vec<(Box<str>, Option<String>)> = keys
            .into_iter()
            .map(|k| {
                let root = self.chain_root_role(&k);
                (k, root)
            })
            .collect();
        for (key, root_role) in roots {
            let Some(pending) = self.pending.remove(&key) else {
                continue;
            };
            self.stats.retired_pending += 1;
            let role = root_role.unwrap_or_else(|| pending.role_arn.clone());
            let node = is_instance_session(&pending.session_name);
            let unbound = self.unbound.entry((role.clone(), node)).or_default();
            unbound.sessions += 1;
            unbound.roles.insert(role);
            unbound.roles.insert(pending.role_arn);
            unbound.activity.merge(pending.activity);
        }
    }

    fn route(&mut self, caller: Caller<'static>, activity: Activity) {
        match caller {
            Caller::User { arn } => {
                self.workload(WorkloadKey::User(arn.into_owned())).absorb(
                    Evidence::IamUser,
                    activity,
                    None,
                );
            }
            Caller::ServiceAccount(sa) => {
                let entry = self.workload(WorkloadKey::ServiceAccount(sa));
                entry.mechanisms.insert(Mechanism::Irsa);
                entry.absorb(Evidence::IrsaToken, activity, None);
            }
            Caller::Session {
                access_key,
                role_arn,
                session_name,
            } => self.session_activity(
                join_key(&access_key),
                role_arn.into_owned(),
                session_name.into_owned(),
                activity,
            ),
            Caller::Role {
                role_arn,
                session_name,
            } if is_pod_identity_session(&session_name) => {
                let key = session_key(&role_arn, &session_name);
                self.session_activity(
                    key,
                    role_arn.into_owned(),
                    session_name.into_owned(),
                    activity,
                );
            }
            Caller::Role {
                role_arn,
                session_name,
            } => {
                let evidence = if is_instance_session(&session_name) {
                    Evidence::NodeSession
                } else {
                    Evidence::RoleSession
                };
                let role = role_arn.into_owned();
                let entry = self.workload(WorkloadKey::Role(role.clone()));
                entry.absorb(evidence, activity, Some(&role));
                entry.roles.insert(role);
            }
        }
    }

    /// A session's activity goes to its workload if the session is bound, else waits.
    pub(super) fn session_activity(
        &mut self,
        key: Box<str>,
        role_arn: String,
        session_name: String,
        activity: Activity,
    ) {
        if let Some(resolution) = self.resolve(&key) {
            self.apply(resolution, role_arn, activity);
            return;
        }
        match self.pending.get_mut(&key) {
            Some(pending) => pending.activity.merge(activity),
            None => {
                self.pending.insert(
                    key,
                    PendingSession {
                        role_arn,
                        session_name,
                        activity,
                    },
                );
            }
        }
    }

    fn apply(&mut self, resolution: Resolution, role_arn: String, activity: Activity) {
        match resolution {
            Resolution::ServiceAccount(sa, evidence) => {
                let entry = self.workload(WorkloadKey::ServiceAccount((*sa).clone()));
                entry.absorb(evidence, activity, Some(&role_arn));
                entry.roles.insert(role_arn);
            }
            Resolution::Untagged => {
                let entry = self.workload(WorkloadKey::Role(role_arn.clone()));
                entry.absorb(Evidence::PodIdentityUntagged, activity, Some(&role_arn));
                entry.roles.insert(role_arn);
            }
        }
    }

    fn bind(&mut self, vending: Vending<'static>) {
        let key = join_key(&vending.access_key);
        let at = vending.at;
        if self.bindings.contains_key(&key) {
            // A re-delivered vending event: the first binding stands.
            return;
        }
        let role = vending.role_arn.into_owned();
        let by_name = vending
            .session_name
            .as_deref()
            .filter(|name| is_pod_identity_session(name))
            .map(|name| session_key(&role, name));
        match vending.kind {
            VendingKind::Irsa(sa) => {
                let binding = self.service_account_binding(sa, &role, Evidence::IrsaWebIdentity);
                self.insert_binding(key, None, binding, at);
            }
            VendingKind::PodIdentity(sa) => {
                let binding = self.service_account_binding(sa, &role, Evidence::PodIdentityTags);
                self.insert_binding(key, by_name, binding, at);
            }
            VendingKind::PodIdentityUntagged { cluster } => {
                let context = &self.context;
                let cluster = cluster.map(|c| c.into_owned()).or_else(|| {
                    let name = vending.session_name.as_deref()?;
                    context
                        .associations
                        .cluster_in_session_name(name, &context.clusters)
                        .map(str::to_owned)
                });
                let binding = match context
                    .associations
                    .service_account(cluster.as_deref(), &role)
                {
                    Some(sa) => {
                        self.service_account_binding(sa, &role, Evidence::PodIdentityAssociation)
                    }
                    None => {
                        let entry = self.workload(WorkloadKey::Role(role.clone()));
                        entry.roles.insert(role);
                        entry.tally(Evidence::PodIdentityUntagged).sessions += 1;
                        Binding::Untagged
                    }
                };
                self.insert_binding(key, by_name, binding, at);
            }
            VendingKind::Chained { parent_access_key } => {
                let parent = join_key(&parent_access_key);
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .push(key.clone());
                self.bindings
                    .insert(key.clone(), (Binding::Chained { parent }, at));
                self.now_resolvable(&key, 0);
            }
        }
    }

    /// Records a directly vended service-account session and returns its binding.
    fn service_account_binding(
        &mut self,
        sa: ServiceAccount<'static>,
        role: &str,
        evidence: Evidence,
    ) -> Binding {
        self.service_account_roles.insert(role.to_owned());
        let mechanism = if evidence == Evidence::IrsaWebIdentity {
            Mechanism::Irsa
        } else {
            Mechanism::PodIdentity
        };
        let entry = self.workload(WorkloadKey::ServiceAccount(sa.clone()));
        entry.mechanisms.insert(mechanism);
        entry.roles.insert(role.to_owned());
        entry.vended_roles.insert(role.to_owned());
        entry.tally(evidence).sessions += 1;
        Binding::ServiceAccount {
            sa: Arc::new(sa),
            evidence,
        }
    }

    fn insert_binding(
        &mut self,
        key: Box<str>,
        by_name: Option<Box<str>>,
        binding: Binding,
        at: Timestamp,
    ) {
        if let Some(name_key) = by_name {
            self.bindings
                .insert(name_key.clone(), (binding.clone(), at));
            self.drain(&name_key);
        }
        self.bindings.insert(key.clone(), (binding, at));
        self.now_resolvable(&key, 0);
    }

    /// `key` may have just become resolvable: count a chained session when it joins a service
    /// account, move its pending activity, and do the same for sessions chained from it.
    pub(super) fn now_resolvable(&mut self, key: &str, depth: usize) {
        if depth > MAX_CHAIN {
            return;
        }
        let Some(resolution) = self.resolve(key) else {
            return;
        };
        if let (Some((Binding::Chained { .. }, _)), Resolution::ServiceAccount(sa, _)) =
            (self.bindings.get(key), &resolution)
        {
            let sa = (**sa).clone();
            self.workload(WorkloadKey::ServiceAccount(sa))
                .tally(Evidence::RoleChain)
                .sessions += 1;
        }
        self.drain(key);
        for child in self.children.get(key).cloned().unwrap_or_default() {
            self.now_resolvable(&child, depth + 1);
        }
    }

    pub(super) fn drain(&mut self, key: &str) {
        let Some(resolution) = self.resolve(key) else {
            return;
        };
        if let Some(pending) = self.pending.remove(key) {
            self.apply(resolution, pending.role_arn, pending.activity);
        }
    }

    fn resolve(&self, key: &str) -> Option<Resolution> {
        let mut key = key;
        let mut chained = false;
        for _ in 0..MAX_CHAIN {
            match &self.bindings.get(key)?.0 {
                Binding::ServiceAccount { sa, evidence } => {
                    let evidence = if chained {
                        Evidence::RoleChain
                    } else {
                        *evidence
                    };
                    return Some(Resolution::ServiceAccount(Arc::clone(sa), evidence));
                }
                Binding::Untagged => return Some(Resolution::Untagged),
                Binding::Chained { parent } => {
                    key = parent;
                    chained = true;
                }
            }
        }
        None
    }

    /// The first session of a chain that no binding explains, and its role.
    fn chain_root_role(&self, key: &str) -> Option<String> {
        let mut key = key;
        for _ in 0..MAX_CHAIN {
            match self.bindings.get(key) {
                Some((Binding::Chained { parent }, _)) => key = parent,
                _ => break,
            }
        }
        self.pending
            .get(key)
            .map(|p| p.role_arn.clone())
            .filter(|r| !r.is_empty())
    }

    fn workload(&mut self, key: WorkloadKey) -> &mut Workload {
        self.workloads.entry(key).or_default()
    }

    /// Roles with sessions the trail did not attribute (the first role of each chain): the roles
    /// whose trust policies can still tell which service account they belong to.
    pub fn unattributed_roles(&self) -> BTreeSet<String> {
        self.pending
            .iter()
            .map(|(key, p)| {
                self.chain_root_role(key)
                    .unwrap_or_else(|| p.role_arn.clone())
            })
            .chain(self.unbound.keys().map(|(role, _)| role.clone()))
            .collect()
    }

    /// Ends the join. Sessions never bound belong to the service account their role's trust
    /// policy names, if exactly one; else they are role-level activity (of the chain's first
    /// role), flagged as unattributed when service accounts use that role.
    pub fn finish(mut self, trust: &TrustIndex) -> Vec<(WorkloadKey, Workload)> {
        let mut keys: Vec<Box<str>> = self.pending.keys().cloned().collect();
        keys.sort();
        self.retire(keys);
        let mut unbound: Vec<((String, bool), UnboundRole)> = self.unbound.drain().collect();
        unbound.sort_by(|a, b| a.0.cmp(&b.0));
        for ((role, node), group) in unbound {
            let answer = trust.get(&role);
            if let Some(TrustAnswer::One(sa) | TrustAnswer::Annotated(sa)) = answer {
                let evidence = if matches!(answer, Some(TrustAnswer::One(_))) {
                    Evidence::TrustPolicy
                } else {
                    Evidence::ServiceAccountAnnotation
                };
                let entry = self.workload(WorkloadKey::ServiceAccount(sa.clone()));
                entry.mechanisms.insert(Mechanism::Irsa);
                entry.absorb(evidence, group.activity, Some(&role));
                entry.vended_roles.insert(role);
                entry.roles.extend(group.roles);
                entry.tally(evidence).sessions += group.sessions;
                continue;
            }
            let evidence = if self.service_account_roles.contains(&role)
                || matches!(answer, Some(TrustAnswer::Several(_)))
            {
                Evidence::VendingNotInInput
            } else if node {
                Evidence::NodeSession
            } else {
                Evidence::RoleSession
            };
            let entry = self.workload(WorkloadKey::Role(role.clone()));
            if let Some(answer) = answer {
                entry.trust = Some(answer.clone());
            }
            entry.absorb(evidence, group.activity, Some(&role));
            entry.roles.extend(group.roles);
            entry.tally(evidence).sessions += group.sessions;
        }
        let mut out: Vec<(WorkloadKey, Workload)> = self.workloads.into_iter().collect();
        for (key, workload) in &mut out {
            workload.fold_roles();
            workload.account = match key {
                WorkloadKey::Role(arn) | WorkloadKey::User(arn) => {
                    arn_account(arn).map(str::to_owned)
                }
                WorkloadKey::ServiceAccount(_) => workload
                    .roles
                    .iter()
                    .find_map(|r| arn_account(r))
                    .map(str::to_owned),
            };
        }
        out.sort_by_key(|(key, _)| key.id());
        out
    }
}

fn merge(calls: &mut HashMap<CallKey, Usage>, key: CallKey, usage: &Usage) {
    calls
        .entry(key)
        .and_modify(|u| u.merge(usage))
        .or_insert(*usage);
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use jiff::Timestamp;

    use std::borrow::Cow;

    use super::*;
    use crate::aggregate::Outcome;

    fn sa(name: &str) -> ServiceAccount<'static> {
        ServiceAccount {
            cluster: "c".into(),
            namespace: "ns".into(),
            name: Cow::Owned(name.to_owned()),
        }
    }

    fn call_batch(key: &str, role: &str, action: &str) -> FileBatch {
        call_batch_at(key, role, action, Timestamp::UNIX_EPOCH)
    }

    fn call_batch_at(key: &str, role: &str, action: &str, at: Timestamp) -> FileBatch {
        let caller = Caller::Session {
            access_key: Cow::Owned(key.into()),
            role_arn: Cow::Owned(role.into()),
            session_name: Cow::Borrowed("botocore-session-1"),
        };
        let call = CallKey {
            action: Arc::from(action),
            resource: "*".into(),
            implied_by: None,
            outcome: Outcome::Allowed,
        };
        let activity = Activity {
            events: 1,
            first_seen: Some(at),
            calls: HashMap::from_iter([(call, Usage::once(at))]),
            network: Default::default(),
        };
        FileBatch {
            activity: vec![(caller, activity)],
            ..FileBatch::default()
        }
    }

    fn vend_batch(key: &str, role: &str, kind: VendingKind<'static>) -> FileBatch {
        vend_batch_at(key, role, kind, Timestamp::UNIX_EPOCH)
    }

    fn vend_batch_at(
        key: &str,
        role: &str,
        kind: VendingKind<'static>,
        at: Timestamp,
    ) -> FileBatch {
        let vending = Vending {
            access_key: Cow::Owned(key.into()),
            role_arn: Cow::Owned(role.into()),
            session_name: Some(Cow::Borrowed("eks-c-pod-0d3c")),
            at,
            kind,
        };
        FileBatch {
            vendings: vec![vending],
            ..FileBatch::default()
        }
    }

    /// (workload, actions, evidence kinds with their session and event counts)
    type Summary = Vec<(String, Vec<String>, Vec<(&'static str, u64, u64)>)>;

    fn summary(agg: Aggregator, trust: &TrustIndex) -> Summary {
        agg.finish(trust)
            .into_iter()
            .map(|(k, w)| {
                let mut actions: Vec<String> =
                    w.calls.keys().map(|c| c.action.to_string()).collect();
                actions.sort();
                let evidence = w
                    .evidence
                    .iter()
                    .map(|(e, t)| (e.as_str(), t.sessions, t.events))
                    .collect();
                (k.id(), actions, evidence)
            })
            .collect()
    }

    #[test]
    fn join_does_not_depend_on_order() {
        let batches = || {
            vec![
                call_batch("ASIA1", "arn:aws:iam::1:role/app", "s3:GetObject"),
                call_batch("ASIA2", "arn:aws:iam::1:role/other", "sqs:SendMessage"),
                vend_batch(
                    "ASIA2",
                    "arn:aws:iam::1:role/other",
                    VendingKind::Chained {
                        parent_access_key: "ASIA1".into(),
                    },
                ),
                vend_batch(
                    "ASIA1",
                    "arn:aws:iam::1:role/app",
                    VendingKind::Irsa(sa("api")),
                ),
                call_batch("ASIA9", "arn:aws:iam::1:role/app", "s3:PutObject"),
            ]
        };
        let mut forward = Aggregator::default();
        batches().into_iter().for_each(|b| forward.add(b));
        let mut backward = Aggregator::default();
        batches().into_iter().rev().for_each(|b| backward.add(b));
        let expected = vec![
            (
                "arn:aws:iam::1:role/app".to_owned(),
                vec!["s3:PutObject".to_owned()],
                vec![("vending-not-in-input", 1, 1)],
            ),
            (
                "eks/c/ns/api".to_owned(),
                vec!["s3:GetObject".to_owned(), "sqs:SendMessage".to_owned()],
                vec![("irsa-web-identity", 1, 1), ("role-chain", 1, 1)],
            ),
        ];
        let trust = TrustIndex::default();
        assert_eq!(summary(forward, &trust), expected);
        assert_eq!(summary(backward, &trust), expected);
    }

    #[test]
    fn trust_policy_and_associations_resolve_what_the_trail_cannot() {
        let role = "arn:aws:iam::1:role/app";
        let untagged = "arn:aws:iam::1:role/untagged";
        let context = JoinContext {
            associations: Associations::new(vec![crate::attribute::PodIdentityAssociation {
                cluster: "c".into(),
                namespace: "ns".into(),
                service_account: "worker".into(),
                role_arn: untagged.into(),
                session_tags: Some(false),
            }]),
            clusters: ClusterNames::default(),
        };
        let mut agg = Aggregator::new(context);
        agg.add(call_batch("ASIA9", role, "s3:PutObject"));
        agg.add(call_batch("ASIA7", untagged, "sqs:ReceiveMessage"));
        agg.add(vend_batch(
            "ASIA7",
            untagged,
            VendingKind::PodIdentityUntagged { cluster: None },
        ));
        assert_eq!(
            agg.unattributed_roles().into_iter().collect::<Vec<_>>(),
            vec![role.to_owned()]
        );
        let mut trust = TrustIndex::default();
        trust.insert(role, TrustAnswer::One(sa("api")));
        assert_eq!(
            summary(agg, &trust),
            vec![
                (
                    "eks/c/ns/api".to_owned(),
                    vec!["s3:PutObject".to_owned()],
                    vec![("trust-policy", 1, 1)],
                ),
                (
                    "eks/c/ns/worker".to_owned(),
                    vec!["sqs:ReceiveMessage".to_owned()],
                    vec![("pod-identity-association", 1, 1)],
                ),
            ]
        );
    }

    #[test]
    fn watermarks_retire_dead_sessions_without_changing_the_result() {
        let hour = |h: i64| Timestamp::from_second(h * 3600).unwrap();
        let role = "arn:aws:iam::1:role/app";
        // Day one: a bound session and an unbound one. Day two: a new bound session.
        let day_one = [
            vend_batch_at("ASIA1", role, VendingKind::Irsa(sa("api")), hour(1)),
            call_batch_at("ASIA1", role, "s3:GetObject", hour(2)),
            call_batch_at("ASIA8", role, "s3:DeleteObject", hour(3)),
        ];
        let day_two = [
            vend_batch_at("ASIA2", role, VendingKind::Irsa(sa("api")), hour(25)),
            call_batch_at("ASIA2", role, "s3:PutObject", hour(26)),
        ];
        let run = |watermark: bool| {
            let mut agg = Aggregator::default();
            day_one.iter().for_each(|b| agg.add(clone_batch(b)));
            if watermark {
                agg.advance(hour(12));
                // ASIA8 is retired; ASIA1's binding is still within its lifetime.
                assert_eq!((agg.pending.len(), agg.bindings.len()), (0, 1));
            }
            day_two.iter().for_each(|b| agg.add(clone_batch(b)));
            if watermark {
                agg.advance(hour(30));
                // ASIA1 (vended at 01:00) is past its lifetime; ASIA2 is not.
                assert_eq!(agg.bindings.len(), 1);
            }
            summary(agg, &TrustIndex::default())
        };
        assert_eq!(run(true), run(false));
        assert_eq!(
            run(true),
            vec![
                (
                    role.to_owned(),
                    vec!["s3:DeleteObject".to_owned()],
                    vec![("vending-not-in-input", 1, 1)]
                ),
                (
                    "eks/c/ns/api".to_owned(),
                    vec!["s3:GetObject".to_owned(), "s3:PutObject".to_owned()],
                    vec![("irsa-web-identity", 2, 2)]
                ),
            ]
        );
    }

    /// Joined per partition (`extract --join-partition`) and completed in order, a trail gives
    /// the same workloads and tallies as one join: a chain two roles deep whose links are in
    /// three partitions (counted once), a session whose calls continue past its partition, a
    /// session no vending explains (retired at the same watermarks), and one deferred twice.
    #[test]
    fn partitions_joined_and_completed_in_order_equal_one_join() {
        let hour = |h: i64| Timestamp::from_second(h * 3600).unwrap();
        let (app, hop, reports) = (
            "arn:aws:iam::1:role/app",
            "arn:aws:iam::1:role/hop",
            "arn:aws:iam::1:role/reports",
        );
        let chained = |parent: &str| VendingKind::Chained {
            parent_access_key: parent.to_owned().into(),
        };
        // Three partitions (days), each ending at its watermark.
        let days: Vec<(Vec<FileBatch>, Timestamp)> = vec![
            (
                vec![
                    vend_batch_at("ASIA1", app, VendingKind::Irsa(sa("api")), hour(20)),
                    call_batch_at("ASIA1", app, "s3:GetObject", hour(21)),
                    vend_batch_at("ASIA2", hop, chained("ASIA1"), hour(23)),
                    call_batch_at("ASIA8", app, "s3:DeleteObject", hour(2)),
                ],
                hour(22),
            ),
            (
                vec![
                    vend_batch_at("ASIA3", reports, chained("ASIA2"), hour(24)),
                    call_batch_at("ASIA3", reports, "s3:PutObject", hour(25)),
                    call_batch_at("ASIA1", app, "sqs:SendMessage", hour(26)),
                    call_batch_at("ASIA9", app, "kms:Decrypt", hour(27)),
                ],
                hour(46),
            ),
            (
                vec![
                    call_batch_at("ASIA9", app, "kms:Encrypt", hour(50)),
                    // Past its binding's lifetime: role-level, on one machine as here.
                    call_batch_at("ASIA3", reports, "s3:ListBucket", hour(48)),
                ],
                hour(70),
            ),
        ];
        let one = {
            let mut agg = Aggregator::default();
            for (batches, watermark) in &days {
                batches.iter().for_each(|b| agg.add(clone_batch(b)));
                agg.advance(*watermark);
            }
            summary(agg, &TrustIndex::default())
        };
        let mut driver = Aggregator::default();
        for (batches, watermark) in &days {
            let mut partition = Aggregator::for_partition(JoinContext::default());
            batches.iter().for_each(|b| partition.add(clone_batch(b)));
            partition.advance(*watermark);
            driver.absorb_partition(partition.take_partition()).unwrap();
        }
        assert_eq!(summary(driver, &TrustIndex::default()), one);
        let api = one.iter().find(|w| w.0 == "eks/c/ns/api").unwrap();
        assert_eq!(
            api.1,
            ["s3:GetObject", "s3:PutObject", "sqs:SendMessage"],
            "the chain reaches the service account across three partitions"
        );
        assert_eq!(
            api.2,
            [("irsa-web-identity", 1, 2), ("role-chain", 2, 1)],
            "each chained session counted once"
        );
        let unbound = one.iter().find(|w| w.0 == app).unwrap();
        assert_eq!(
            unbound.2,
            [("vending-not-in-input", 3, 3)],
            "retired as one machine does"
        );
    }

    fn clone_batch(batch: &FileBatch) -> FileBatch {
        FileBatch {
            activity: batch
                .activity
                .iter()
                .map(|(caller, a)| {
                    (
                        caller.clone(),
                        Activity {
                            events: a.events,
                            first_seen: a.first_seen,
                            calls: a.calls.clone(),
                            network: a.network.clone(),
                        },
                    )
                })
                .collect(),
            vendings: batch.vendings.clone(),
            ..FileBatch::default()
        }
    }
}
