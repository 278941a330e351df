//! The run-wide aggregator and the session join.
//!
//! A session's calls can arrive before the event that vended its credentials (another file, another
//! region, a file read later by another thread). Calls of a session whose access key is not yet
//! bound wait in `pending`, keyed by access key and already aggregated; when the binding arrives
//! they move to the workload. What is still pending when the input ends is role-level activity.
//! The result is the same whatever order files are read in.

use std::collections::{BTreeSet, HashMap, HashSet};

use super::{CallKey, FileBatch, Usage};
use crate::attribute::{Caller, ServiceAccount, Vending, VendingKind, arn_account};

/// How a service account's sessions were tied to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Mechanism {
    Irsa,
    PodIdentity,
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
    pub roles: BTreeSet<String>,
    pub calls: HashMap<CallKey, Usage>,
    /// Sessions of a service-account role whose vending event was not in the input.
    pub unattributed_sessions: u64,
    pub account: Option<String>,
}

enum Binding {
    ServiceAccount(ServiceAccount<'static>),
    Chained { parent: Box<str> },
}

#[derive(Default)]
struct PendingSession {
    role_arn: String,
    calls: HashMap<CallKey, Usage>,
}

/// Merges file batches; owns the session join.
#[derive(Default)]
pub struct Aggregator {
    workloads: HashMap<WorkloadKey, Workload>,
    bindings: HashMap<Box<str>, Binding>,
    children: HashMap<Box<str>, Vec<Box<str>>>,
    pending: HashMap<Box<str>, PendingSession>,
    service_account_roles: HashSet<String>,
}

/// Chains longer than this are treated as unresolved (guards against cycles in hostile input).
const MAX_CHAIN: usize = 16;

impl Aggregator {
    /// Vendings first, so a file holding both a vending and the session's calls resolves at once.
    pub fn add(&mut self, batch: FileBatch) {
        for vending in batch.vendings {
            self.bind(vending);
        }
        for (caller, key, usage) in batch.calls {
            self.call(caller, key, &usage);
        }
    }

    fn call(&mut self, caller: Caller<'static>, key: CallKey, usage: &Usage) {
        let (workload, role) = match caller {
            Caller::Session {
                access_key,
                role_arn,
            } => match self.resolve(&access_key) {
                Some(sa) => (WorkloadKey::ServiceAccount(sa), Some(role_arn.into_owned())),
                None => {
                    let pending = self
                        .pending
                        .entry(Box::from(access_key.as_ref()))
                        .or_default();
                    if pending.role_arn.is_empty() {
                        pending.role_arn = role_arn.into_owned();
                    }
                    merge(&mut pending.calls, key, usage);
                    return;
                }
            },
            Caller::Role { role_arn } => {
                let role = role_arn.into_owned();
                (WorkloadKey::Role(role.clone()), Some(role))
            }
            Caller::User { arn } => (WorkloadKey::User(arn.into_owned()), None),
            Caller::ServiceAccount(sa) => {
                let entry = self.workload(WorkloadKey::ServiceAccount(sa.clone()));
                entry.mechanisms.insert(Mechanism::Irsa);
                (WorkloadKey::ServiceAccount(sa), None)
            }
        };
        let entry = self.workload(workload);
        if let Some(role) = role {
            entry.roles.insert(role);
        }
        merge(&mut entry.calls, key, usage);
    }

    fn bind(&mut self, vending: Vending<'static>) {
        let key: Box<str> = Box::from(vending.access_key.as_ref());
        let role = vending.role_arn.into_owned();
        match vending.kind {
            // A re-delivered vending event: the first binding stands.
            VendingKind::Irsa(_) | VendingKind::PodIdentity(_)
                if self.bindings.contains_key(&key) => {}
            VendingKind::Irsa(sa) => self.bind_service_account(key, sa, role, Mechanism::Irsa),
            VendingKind::PodIdentity(sa) => {
                self.bind_service_account(key, sa, role, Mechanism::PodIdentity)
            }
            // As above, a re-delivered vending event changes nothing.
            VendingKind::Chained { .. } if self.bindings.contains_key(&key) => {}
            VendingKind::Chained { parent_access_key } => {
                let parent: Box<str> = Box::from(parent_access_key.as_ref());
                self.children
                    .entry(parent.clone())
                    .or_default()
                    .push(key.clone());
                self.bindings
                    .insert(key.clone(), Binding::Chained { parent });
                self.drain(&key, 0);
            }
        }
    }

    fn bind_service_account(
        &mut self,
        key: Box<str>,
        sa: ServiceAccount<'static>,
        role: String,
        mechanism: Mechanism,
    ) {
        self.service_account_roles.insert(role.clone());
        let entry = self.workload(WorkloadKey::ServiceAccount(sa.clone()));
        entry.mechanisms.insert(mechanism);
        entry.roles.insert(role);
        self.bindings
            .insert(key.clone(), Binding::ServiceAccount(sa));
        self.drain(&key, 0);
    }

    /// Moves the pending calls of `key` and of sessions chained from it to their workload.
    fn drain(&mut self, key: &str, depth: usize) {
        if depth > MAX_CHAIN {
            return;
        }
        let Some(sa) = self.resolve(key) else { return };
        if let Some(pending) = self.pending.remove(key) {
            let entry = self.workload(WorkloadKey::ServiceAccount(sa));
            entry.roles.insert(pending.role_arn);
            for (call, usage) in pending.calls {
                merge(&mut entry.calls, call, &usage);
            }
        }
        for child in self.children.get(key).cloned().unwrap_or_default() {
            self.drain(&child, depth + 1);
        }
    }

    fn resolve(&self, key: &str) -> Option<ServiceAccount<'static>> {
        let mut key = key;
        for _ in 0..MAX_CHAIN {
            match self.bindings.get(key)? {
                Binding::ServiceAccount(sa) => return Some(sa.clone()),
                Binding::Chained { parent } => key = parent,
            }
        }
        None
    }

    /// The first session of a chain that no binding explains, and its role.
    fn chain_root_role(&self, key: &str) -> Option<String> {
        let mut key = key;
        for _ in 0..MAX_CHAIN {
            match self.bindings.get(key) {
                Some(Binding::Chained { parent }) => key = parent,
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

    /// Ends the join: sessions never bound become role-level activity (of the chain's first role),
    /// flagged when the role is otherwise used by service accounts.
    pub fn finish(mut self) -> Vec<(WorkloadKey, Workload)> {
        let mut keys: Vec<Box<str>> = self.pending.keys().cloned().collect();
        keys.sort();
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
            let role = root_role.unwrap_or_else(|| pending.role_arn.clone());
            let unattributed = self.service_account_roles.contains(&role);
            let entry = self.workload(WorkloadKey::Role(role.clone()));
            entry.roles.insert(role);
            entry.roles.insert(pending.role_arn);
            if unattributed {
                entry.unattributed_sessions += 1;
            }
            for (call, usage) in pending.calls {
                merge(&mut entry.calls, call, &usage);
            }
        }
        let mut out: Vec<(WorkloadKey, Workload)> = self.workloads.into_iter().collect();
        for (key, workload) in &mut out {
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
        let caller = Caller::Session {
            access_key: Cow::Owned(key.into()),
            role_arn: Cow::Owned(role.into()),
        };
        let call = CallKey {
            action: Arc::from(action),
            resource: "*".into(),
            outcome: Outcome::Allowed,
        };
        FileBatch {
            calls: vec![(caller, call, Usage::once(Timestamp::UNIX_EPOCH))],
            ..FileBatch::default()
        }
    }

    fn vend_batch(key: &str, role: &str, kind: VendingKind<'static>) -> FileBatch {
        let vending = Vending {
            access_key: Cow::Owned(key.into()),
            role_arn: Cow::Owned(role.into()),
            kind,
        };
        FileBatch {
            vendings: vec![vending],
            ..FileBatch::default()
        }
    }

    fn summary(agg: Aggregator) -> Vec<(String, Vec<String>, u64)> {
        agg.finish()
            .into_iter()
            .map(|(k, w)| {
                let mut actions: Vec<String> =
                    w.calls.keys().map(|c| c.action.to_string()).collect();
                actions.sort();
                (k.id(), actions, w.unattributed_sessions)
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
                1,
            ),
            (
                "eks/c/ns/api".to_owned(),
                vec!["s3:GetObject".to_owned(), "sqs:SendMessage".to_owned()],
                0,
            ),
        ];
        assert_eq!(summary(forward), expected);
        assert_eq!(summary(backward), expected);
    }
}
