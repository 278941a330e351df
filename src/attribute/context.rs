//! What the trail alone cannot say about a session, learned from the account: the role's Pod
//! Identity associations (for sessions whose association has session tags disabled) and the role's
//! trust policy (for sessions whose credential vending is not in the input).
//!
//! Both come from `lookup` (EKS/IAM APIs or snapshot files); this module only answers questions
//! with them, so the join stays testable without AWS.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;

use super::{ClusterNames, ServiceAccount, service_account_subject};

/// One EKS Pod Identity association: pods of this service account get this role.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct PodIdentityAssociation {
    pub cluster: String,
    pub namespace: String,
    pub service_account: String,
    pub role_arn: String,
    /// Whether EKS passes the `kubernetes-*` session tags (`disableSessionTags` false): Some
    /// when the association's description was read, None when not known.
    pub session_tags: Option<bool>,
}

/// The associations known for the run.
#[derive(Debug, Clone, Default)]
pub struct Associations {
    list: Vec<PodIdentityAssociation>,
}

impl Associations {
    pub fn new(mut list: Vec<PodIdentityAssociation>) -> Self {
        list.sort();
        list.dedup();
        Self { list }
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// The service account a role serves in a cluster, if exactly one association says so. With
    /// no cluster, the role must have exactly one association anywhere.
    pub fn service_account(
        &self,
        cluster: Option<&str>,
        role_arn: &str,
    ) -> Option<ServiceAccount<'static>> {
        let mut matching = self
            .list
            .iter()
            .filter(|a| same_role(&a.role_arn, role_arn) && cluster.is_none_or(|c| a.cluster == c));
        let first = matching.next()?;
        if matching.next().is_some() {
            return None;
        }
        Some(ServiceAccount {
            cluster: Cow::Owned(first.cluster.clone()),
            namespace: Cow::Owned(first.namespace.clone()),
            name: Cow::Owned(first.service_account.clone()),
        })
    }

    /// The cluster a Pod Identity session name (`eks-<cluster>-<pod>-<uuid>`, cut to 64
    /// characters) starts with, among the clusters known from associations and `names`. The
    /// longest known name wins, since cluster names may contain dashes.
    pub fn cluster_in_session_name<'s>(
        &'s self,
        session_name: &str,
        names: &'s ClusterNames,
    ) -> Option<&'s str> {
        let rest = session_name.strip_prefix("eks-")?;
        self.list
            .iter()
            .map(|a| a.cluster.as_str())
            .chain(names.names())
            .filter(|cluster| {
                rest.strip_prefix(cluster)
                    .is_some_and(|after| after.is_empty() || after.starts_with('-'))
            })
            .max_by_key(|cluster| cluster.len())
    }
}

/// What a role's trust policy says about which service accounts can assume it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustAnswer {
    /// Exactly one service account (IRSA `sub` condition with one exact value).
    One(ServiceAccount<'static>),
    /// Several, or a pattern: `subjects` as written in the policy.
    Several(Vec<String>),
    /// Several, but exactly one of them is annotated with the role on its cluster
    /// (`--k8s-inventory`): sessions whose vending is not in the input are that service
    /// account's.
    Annotated(ServiceAccount<'static>),
    /// No web-identity statement for an EKS OIDC provider.
    NoServiceAccount,
}

/// Trust answers by role, filled for the roles whose sessions the trail could not attribute.
#[derive(Debug, Clone, Default)]
pub struct TrustIndex {
    by_role: HashMap<String, TrustAnswer>,
}

impl TrustIndex {
    pub fn insert(&mut self, role_arn: &str, answer: TrustAnswer) {
        self.by_role.insert(role_key(role_arn), answer);
    }

    pub fn get(&self, role_arn: &str) -> Option<&TrustAnswer> {
        self.by_role.get(&role_key(role_arn))
    }

    pub fn is_empty(&self) -> bool {
        self.by_role.is_empty()
    }
}

/// Reads a trust policy document. Only `Allow` statements for `sts:AssumeRoleWithWebIdentity`
/// from an `oidc.eks.` provider count; each exact `<issuer>:sub` value names one service account,
/// and a pattern or a missing `sub` condition means any number of them.
pub fn trust_answer(document: &Value, clusters: &ClusterNames) -> TrustAnswer {
    let mut exact: BTreeSet<ServiceAccount<'static>> = BTreeSet::new();
    let mut open: Vec<String> = Vec::new();
    for statement in one_or_many(document.get("Statement")) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow")
            || !one_or_many(statement.get("Action")).any(|a| {
                a.as_str()
                    .is_some_and(|a| a.eq_ignore_ascii_case("sts:AssumeRoleWithWebIdentity"))
            })
        {
            continue;
        }
        let providers: Vec<&str> = one_or_many(statement.pointer("/Principal/Federated"))
            .filter_map(Value::as_str)
            .filter(|p| p.contains("oidc.eks."))
            .collect();
        for provider in providers {
            let issuer = provider
                .split_once("oidc-provider/")
                .map_or(provider, |x| x.1);
            let sub_key = format!("{issuer}:sub");
            let mut found = false;
            for (operator, conditions) in statement
                .get("Condition")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                let Some(values) = conditions.get(&sub_key) else {
                    continue;
                };
                found = true;
                let pattern_ok = operator.starts_with("StringLike");
                for value in one_or_many(Some(values)).filter_map(Value::as_str) {
                    let is_pattern = pattern_ok && value.contains(['*', '?']);
                    match service_account_subject(value) {
                        Some((ns, sa)) if !is_pattern => {
                            exact.insert(ServiceAccount {
                                cluster: Cow::Owned(clusters.for_provider(provider).into_owned()),
                                namespace: Cow::Owned(ns.to_owned()),
                                name: Cow::Owned(sa.to_owned()),
                            });
                        }
                        _ => open.push(value.to_owned()),
                    }
                }
            }
            if !found {
                open.push(format!("any subject of {issuer}"));
            }
        }
    }
    if open.is_empty() && exact.len() <= 1 {
        return match exact.pop_first() {
            Some(one) => TrustAnswer::One(one),
            None => TrustAnswer::NoServiceAccount,
        };
    }
    let mut subjects: Vec<String> = exact
        .iter()
        .map(|sa| format!("system:serviceaccount:{}:{}", sa.namespace, sa.name))
        .collect();
    subjects.extend(open);
    TrustAnswer::Several(subjects)
}

fn one_or_many(value: Option<&Value>) -> Box<dyn Iterator<Item = &Value> + '_> {
    match value {
        Some(Value::Array(items)) => Box::new(items.iter()),
        Some(other) => Box::new(std::iter::once(other)),
        None => Box::new(std::iter::empty()),
    }
}

/// Roles compare by account and name: a session names its role without the role's path.
pub fn role_key(role_arn: &str) -> String {
    let account = super::arn_account(role_arn).unwrap_or_default();
    let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
    format!("{account}/{name}")
}

fn same_role(a: &str, b: &str) -> bool {
    role_key(a) == role_key(b)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const PROVIDER: &str =
        "arn:aws:iam::111122223333:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/ABC123";

    fn trust(condition: Value) -> Value {
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": PROVIDER},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": condition,
        }]})
    }

    #[test]
    fn trust_policy_with_one_subject_names_the_service_account() {
        let mut names = ClusterNames::default();
        names.add("prod", PROVIDER);
        let doc = trust(json!({"StringEquals": {
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:sub": "system:serviceaccount:shop:api",
            "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:aud": "sts.amazonaws.com",
        }}));
        let TrustAnswer::One(sa) = trust_answer(&doc, &names) else {
            panic!("expected one service account");
        };
        assert_eq!(
            (&*sa.cluster, &*sa.namespace, &*sa.name),
            ("prod", "shop", "api")
        );
    }

    #[test]
    fn patterns_lists_and_other_principals_are_not_one() {
        let names = ClusterNames::default();
        let key = "oidc.eks.eu-west-1.amazonaws.com/id/ABC123:sub";
        let pattern = trust(json!({"StringLike": {key: "system:serviceaccount:shop:*"}}));
        assert_eq!(
            trust_answer(&pattern, &names),
            TrustAnswer::Several(vec!["system:serviceaccount:shop:*".into()])
        );
        let two = trust(json!({"StringEquals": {key: [
            "system:serviceaccount:a:x", "system:serviceaccount:b:y"]}}));
        assert!(matches!(trust_answer(&two, &names), TrustAnswer::Several(s) if s.len() == 2));
        let unconditioned = trust(json!({}));
        assert!(matches!(
            trust_answer(&unconditioned, &names),
            TrustAnswer::Several(_)
        ));
        let lambda = json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole",
            "Principal": {"Service": "lambda.amazonaws.com"}}});
        assert_eq!(trust_answer(&lambda, &names), TrustAnswer::NoServiceAccount);
    }

    #[test]
    fn associations_answer_only_when_unique() {
        let assoc = |cluster: &str, ns: &str, sa: &str, role: &str| PodIdentityAssociation {
            cluster: cluster.into(),
            namespace: ns.into(),
            service_account: sa.into(),
            role_arn: format!("arn:aws:iam::1:role/{role}"),
            session_tags: None,
        };
        let all = Associations::new(vec![
            assoc("shop-prod", "billing", "invoicer", "invoicer"),
            assoc("shop-prod", "a", "x", "shared"),
            assoc("shop-prod", "b", "y", "shared"),
            assoc("shop-dev", "billing", "invoicer", "invoicer"),
        ]);
        let role = "arn:aws:iam::1:role/invoicer";
        let sa = all.service_account(Some("shop-prod"), role).unwrap();
        assert_eq!((&*sa.cluster, &*sa.name), ("shop-prod", "invoicer"));
        assert_eq!(all.service_account(None, role), None);
        assert_eq!(
            all.service_account(Some("shop-prod"), "arn:aws:iam::1:role/shared"),
            None
        );
        let names = ClusterNames::default();
        assert_eq!(
            all.cluster_in_session_name("eks-shop-prod-invoicer-5f6-0d3c", &names),
            Some("shop-prod")
        );
        assert_eq!(
            all.cluster_in_session_name("eks-shop-production-x", &names),
            None
        );
    }
}
