//! Attribute: which workload made a call.
//!
//! A record names its caller (`userIdentity`), but for EKS workloads the caller is an assumed-role
//! session whose link to a Kubernetes service account lives in a *different* event: the one that
//! vended its credentials (IRSA `AssumeRoleWithWebIdentity`, Pod Identity `AssumeRole` by
//! `pods.eks.amazonaws.com`, or an `AssumeRole` made by another workload session when roles are
//! chained). Both sides carry the session's access key ID, which is the join key.
//!
//! This module only reads single records: [`classify`] says who the caller is and whether the
//! record vends credentials. The join itself, which must not depend on file order, lives in
//! `aggregate::sessions`. Rules are stated in docs/ATTRIBUTION.md.

pub mod context;
pub mod vending;

use std::borrow::Cow;

use crate::decode::Record;
pub use context::{Associations, PodIdentityAssociation, TrustAnswer, TrustIndex};
pub use vending::{Vending, VendingKind, vending};

/// Who made a call, as far as the record itself says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller<'a> {
    /// An assumed-role session; which workload it belongs to is decided by the join.
    Session {
        access_key: Cow<'a, str>,
        role_arn: Cow<'a, str>,
        /// The session name from `userIdentity.arn` (`assumed-role/<role>/<session>`).
        session_name: Cow<'a, str>,
    },
    /// An assumed-role session without an access key in the record: joined by session name when
    /// that name is unique (Pod Identity), else role level.
    Role {
        role_arn: Cow<'a, str>,
        session_name: Cow<'a, str>,
    },
    /// An IAM user, the root user or a federated user.
    User { arn: Cow<'a, str> },
    /// A Kubernetes service account calling STS with its projected token (IRSA).
    ServiceAccount(ServiceAccount<'a>),
}

/// Hashes only what tells callers apart in practice: a session's access key (unique per
/// session) rather than its role ARN and session name too, which every event would otherwise
/// hash again. Equal callers still hash equal.
impl std::hash::Hash for Caller<'_> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        std::mem::discriminant(self).hash(state);
        match self {
            Caller::Session { access_key, .. } => access_key.hash(state),
            Caller::Role {
                role_arn,
                session_name,
            } => {
                role_arn.hash(state);
                session_name.hash(state);
            }
            Caller::User { arn } => arn.hash(state),
            Caller::ServiceAccount(sa) => sa.hash(state),
        }
    }
}

/// A Kubernetes service account in a cluster.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceAccount<'a> {
    pub cluster: Cow<'a, str>,
    pub namespace: Cow<'a, str>,
    pub name: Cow<'a, str>,
}

impl ServiceAccount<'_> {
    pub fn into_owned(self) -> ServiceAccount<'static> {
        ServiceAccount {
            cluster: Cow::Owned(self.cluster.into_owned()),
            namespace: Cow::Owned(self.namespace.into_owned()),
            name: Cow::Owned(self.name.into_owned()),
        }
    }
}

/// Why a record is not workload activity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum NotWorkload {
    /// Made by an AWS service itself (`userIdentity.type` AWSService, or no identity at all).
    AwsService,
    /// Not an API call (`AwsServiceEvent`, console sign-in, ...): needs no permission.
    NotApiCall,
    /// The identity block is there but names no principal iamtrim can key on.
    UnknownIdentity,
}

/// By its words ([`NotWorkload::as_str`]), as a map key in the partials stream.
impl serde::Serialize for NotWorkload {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for NotWorkload {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        NotWorkload::parse(&text)
            .ok_or_else(|| serde::de::Error::custom("unknown not-workload reason"))
    }
}

impl NotWorkload {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::AwsService => "made by an AWS service",
            Self::NotApiCall => "not an API call",
            Self::UnknownIdentity => "caller identity missing or unrecognised",
        }
    }

    pub fn parse(text: &str) -> Option<NotWorkload> {
        [Self::AwsService, Self::NotApiCall, Self::UnknownIdentity]
            .into_iter()
            .find(|r| r.as_str() == text)
    }
}

/// The names clusters are reported under. IRSA events name a cluster only by its OIDC provider, Pod
/// Identity events by the `eks-cluster-name` / `eks-cluster-arn` tags; the user (`--cluster
/// NAME=ISSUER_OR_ARN`) or the EKS API (issuer of each cluster) can name either.
#[derive(Debug, Clone, Default)]
pub struct ClusterNames {
    by_issuer_id: Vec<(String, String)>,
    by_cluster_arn: Vec<(String, String)>,
}

impl ClusterNames {
    /// `key` may be an EKS cluster ARN, or an OIDC provider ARN, issuer URL, host path or just the
    /// issuer id.
    pub fn add(&mut self, name: &str, key: &str) {
        if key.starts_with("arn:") && key.contains(":eks:") && key.contains(":cluster/") {
            self.by_cluster_arn.push((key.to_owned(), name.to_owned()));
        } else {
            self.by_issuer_id
                .push((oidc_id(key).to_owned(), name.to_owned()));
        }
    }

    pub fn is_empty(&self) -> bool {
        self.by_issuer_id.is_empty() && self.by_cluster_arn.is_empty()
    }

    /// Every cluster name given, for matching Pod Identity session names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_issuer_id
            .iter()
            .chain(&self.by_cluster_arn)
            .map(|(_, name)| name.as_str())
    }

    /// The cluster label for an OIDC provider: the user's name for it, else the issuer id (the
    /// last path segment of `oidc.eks.<region>.amazonaws.com/id/<ID>`), which the EKS console
    /// shows as part of the cluster's "OpenID Connect provider URL".
    pub fn for_provider<'a>(&self, provider: &'a str) -> Cow<'a, str> {
        let id = oidc_id(provider);
        match self
            .by_issuer_id
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(id))
        {
            Some((_, name)) => Cow::Owned(name.clone()),
            None => Cow::Borrowed(id),
        }
    }

    /// The cluster label for a Pod Identity session: the name given for its cluster ARN, else
    /// the `eks-cluster-name` tag, else the name in the ARN.
    pub fn for_eks_cluster<'a>(
        &self,
        name: Option<Cow<'a, str>>,
        arn: Option<&str>,
    ) -> Option<Cow<'a, str>> {
        if let Some(arn) = arn
            && let Some((_, given)) = self.by_cluster_arn.iter().find(|(known, _)| known == arn)
        {
            return Some(Cow::Owned(given.clone()));
        }
        name.or_else(|| {
            arn.and_then(|a| a.rsplit_once(":cluster/"))
                .map(|(_, n)| Cow::Owned(n.to_owned()))
        })
    }
}

fn oidc_id(issuer: &str) -> &str {
    issuer
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(issuer)
}

/// Parses `system:serviceaccount:<namespace>:<name>`.
pub fn service_account_subject(subject: &str) -> Option<(&str, &str)> {
    let rest = subject.strip_prefix("system:serviceaccount:")?;
    let (namespace, name) = rest.split_once(':')?;
    (!namespace.is_empty() && !name.is_empty()).then_some((namespace, name))
}

/// Who made this call, or why it is not workload activity.
pub fn classify<'a>(
    record: &Record<'a>,
    clusters: &ClusterNames,
) -> Result<Caller<'a>, NotWorkload> {
    if matches!(
        record.event_type.as_deref(),
        Some("AwsServiceEvent" | "AwsConsoleSignIn")
    ) {
        return Err(NotWorkload::NotApiCall);
    }
    let Some(identity) = &record.user_identity else {
        return Err(NotWorkload::AwsService);
    };
    match identity.kind.as_deref() {
        Some("AWSService") | None => Err(NotWorkload::AwsService),
        Some("AssumedRole") => {
            let issuer = identity
                .session_context
                .as_ref()
                .and_then(|c| c.session_issuer.as_ref());
            let role_arn = issuer
                .and_then(|i| i.arn.clone())
                .or_else(|| {
                    identity
                        .arn
                        .as_deref()
                        .and_then(role_from_assumed_role_arn)
                        .map(Cow::Owned)
                })
                .ok_or(NotWorkload::UnknownIdentity)?;
            // Borrowed from the buffer when the ARN is (it has no escapes): no copy per record.
            let session_name = match &identity.arn {
                Some(Cow::Borrowed(arn)) => session_name_of(arn).map(Cow::Borrowed),
                Some(Cow::Owned(arn)) => session_name_of(arn).map(|n| Cow::Owned(n.to_owned())),
                None => None,
            }
            .unwrap_or(Cow::Borrowed(""));
            match &identity.access_key_id {
                Some(key) if !key.is_empty() => Ok(Caller::Session {
                    access_key: key.clone(),
                    role_arn,
                    session_name,
                }),
                _ => Ok(Caller::Role {
                    role_arn,
                    session_name,
                }),
            }
        }
        Some("WebIdentityUser") => {
            let subject = identity.user_name.as_deref().unwrap_or_default();
            let provider = identity.identity_provider.as_deref().unwrap_or_default();
            match service_account_subject(subject) {
                Some((namespace, name)) if !provider.is_empty() => {
                    Ok(Caller::ServiceAccount(ServiceAccount {
                        cluster: Cow::Owned(clusters.for_provider(provider).into_owned()),
                        namespace: Cow::Owned(namespace.to_owned()),
                        name: Cow::Owned(name.to_owned()),
                    }))
                }
                _ => Err(NotWorkload::UnknownIdentity),
            }
        }
        Some(_) => match &identity.arn {
            Some(arn) if !arn.is_empty() => Ok(Caller::User { arn: arn.clone() }),
            _ => Err(NotWorkload::UnknownIdentity),
        },
    }
}

/// `arn:aws:sts::123:assumed-role/Name/session` → `arn:aws:iam::123:role/Name` (without the role's
/// path, which only the session issuer carries).
pub fn role_from_assumed_role_arn(arn: &str) -> Option<String> {
    let mut parts = arn.splitn(6, ':');
    let (_, partition, _, _, account, resource) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    Some(format!("arn:{partition}:iam::{account}:role/{role}"))
}

/// `arn:aws:sts::123:assumed-role/Name/session` → `session`.
pub fn session_name_of(assumed_role_arn: &str) -> Option<&str> {
    // The first ":assumed-role/", found colon by colon: a substring search per record cost
    // about 3% of a run.
    let mut rest = assumed_role_arn;
    while let Some(colon) = rest.find(':') {
        if let Some(resource) = rest[colon..].strip_prefix(":assumed-role/") {
            return resource.split_once('/').map(|(_, session)| session);
        }
        rest = &rest[colon + 1..];
    }
    None
}

/// An EC2 instance-profile session is named after the instance: `i-` and 8 or 17 hex digits.
pub fn is_instance_session(session_name: &str) -> bool {
    session_name
        .strip_prefix("i-")
        .is_some_and(|id| matches!(id.len(), 8 | 17) && id.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A Pod Identity session is named `eks-<cluster>-<pod>-<uuid>` (cut to 64 characters), which
/// makes the name unique enough to join on.
pub fn is_pod_identity_session(session_name: &str) -> bool {
    session_name.starts_with("eks-") && session_name.len() > 4
}

/// The account ID field of an ARN.
pub fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assumed_role_arn_to_role_arn() {
        assert_eq!(
            role_from_assumed_role_arn("arn:aws-cn:sts::123456789012:assumed-role/app/i-0abc")
                .as_deref(),
            Some("arn:aws-cn:iam::123456789012:role/app")
        );
        assert_eq!(role_from_assumed_role_arn("arn:aws:iam::1:user/bob"), None);
    }

    #[test]
    fn session_names() {
        let arn = "arn:aws:sts::1:assumed-role/node/i-064d652934ecf0bfc";
        assert_eq!(session_name_of(arn), Some("i-064d652934ecf0bfc"));
        assert_eq!(
            session_name_of("arn:aws-us-gov:sts::1:assumed-role/app/s:with/slash"),
            Some("s:with/slash")
        );
        assert_eq!(
            session_name_of("arn:aws:sts::1:assumed-role/no-session"),
            None
        );
        assert_eq!(session_name_of("arn:aws:iam::1:role/assumed-role/x"), None);
        assert!(is_instance_session("i-064d652934ecf0bfc"));
        assert!(is_instance_session("i-0a1b2c3d"));
        assert!(!is_instance_session("i-am-a-ci-job"));
        assert!(!is_instance_session("botocore-session-1700000000"));
        assert!(is_pod_identity_session(
            "eks-shop-prod-api-7d9f-b81f0fef-97e9-47da-97a2-948c5bbcd1b3"
        ));
    }

    #[test]
    fn subjects_and_clusters() {
        assert_eq!(
            service_account_subject("system:serviceaccount:argo:exec"),
            Some(("argo", "exec"))
        );
        assert_eq!(
            service_account_subject("repo:org/x:ref:refs/heads/main"),
            None
        );
        let provider = "arn:aws:iam::1:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/A8242F25";
        let mut names = ClusterNames::default();
        assert_eq!(names.for_provider(provider), "A8242F25");
        names.add(
            "prod",
            "https://oidc.eks.us-west-2.amazonaws.com/id/a8242f25",
        );
        assert_eq!(names.for_provider(provider), "prod");
    }
}
