//! Credential-vending events: the records that tie a new access key to a workload.
//!
//! Only `accessKeyId`, role ARN, subject, provider and session tags are read from the payloads;
//! `sessionToken` and `secretAccessKey` have no field in these structs, so serde skips them and
//! they are never copied out of the decoder's buffer.

use std::borrow::Cow;

use jiff::Timestamp;
use serde::Deserialize;

use super::{Caller, ClusterNames, ServiceAccount, service_account_subject};
use crate::decode::Record;

/// A vended session: `access_key` belongs to `kind`'s workload from now on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vending<'a> {
    pub access_key: Cow<'a, str>,
    pub role_arn: Cow<'a, str>,
    /// `roleSessionName` of the request (IRSA and Pod Identity sessions are named by the SDK or
    /// EKS); calls name it as the last part of `userIdentity.arn`.
    pub session_name: Option<Cow<'a, str>>,
    pub at: Timestamp,
    pub kind: VendingKind<'a>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VendingKind<'a> {
    Irsa(ServiceAccount<'a>),
    PodIdentity(ServiceAccount<'a>),
    /// Pod Identity with session tags disabled on the association: the service account must come
    /// from the role's associations. `cluster` is known when some `eks-cluster-*` tag was sent.
    PodIdentityUntagged {
        cluster: Option<Cow<'a, str>>,
    },
    /// `AssumeRole` called by another session: the new session belongs to the parent's workload.
    Chained {
        parent_access_key: Cow<'a, str>,
    },
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssumeParameters<'a> {
    #[serde(borrow, default, deserialize_with = "crate::decode::record::text")]
    role_arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::decode::record::text")]
    role_session_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    tags: Vec<Tag<'a>>,
}

#[derive(Deserialize)]
struct Tag<'a> {
    #[serde(borrow)]
    key: Cow<'a, str>,
    #[serde(borrow)]
    value: Cow<'a, str>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VendResponse<'a> {
    #[serde(borrow, default)]
    credentials: Option<Credentials<'a>>,
    #[serde(borrow, default, deserialize_with = "crate::decode::record::text")]
    subject_from_web_identity_token: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "crate::decode::record::text")]
    provider: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Credentials<'a> {
    #[serde(borrow)]
    access_key_id: Cow<'a, str>,
}

/// The binding a successful vending event creates, if this record is one.
pub fn vending<'a>(
    record: &Record<'a>,
    at: Timestamp,
    caller: Option<&Caller<'a>>,
    clusters: &ClusterNames,
) -> Option<Vending<'a>> {
    if record.error_code.is_some() || record.event_source.as_deref() != Some("sts.amazonaws.com") {
        return None;
    }
    let name = record.event_name.as_deref()?;
    if name != "AssumeRole" && name != "AssumeRoleWithWebIdentity" {
        return None;
    }
    let response: VendResponse<'a> = serde_json::from_str(record.response_elements?.get()).ok()?;
    let access_key = response.credentials?.access_key_id;
    let parameters: AssumeParameters<'a> =
        serde_json::from_str(record.request_parameters?.get()).ok()?;
    let role_arn = parameters.role_arn?;
    let identity = record.user_identity.as_ref()?;

    let kind = if name == "AssumeRoleWithWebIdentity" {
        let subject = response
            .subject_from_web_identity_token
            .or_else(|| identity.user_name.clone())?;
        let provider = response
            .provider
            .or_else(|| identity.identity_provider.clone())?;
        let (namespace, sa) = service_account_subject(&subject)?;
        VendingKind::Irsa(ServiceAccount {
            cluster: Cow::Owned(clusters.for_provider(&provider).into_owned()),
            namespace: Cow::Owned(namespace.to_owned()),
            name: Cow::Owned(sa.to_owned()),
        })
    } else if identity.invoked_by.as_deref() == Some("pods.eks.amazonaws.com") {
        let tag = |key: &str| {
            parameters
                .tags
                .iter()
                .find(|t| t.key == key)
                .map(|t| t.value.clone())
        };
        let cluster =
            clusters.for_eks_cluster(tag("eks-cluster-name"), tag("eks-cluster-arn").as_deref());
        match (
            cluster,
            tag("kubernetes-namespace"),
            tag("kubernetes-service-account"),
        ) {
            (Some(cluster), Some(namespace), Some(name)) => {
                VendingKind::PodIdentity(ServiceAccount {
                    cluster,
                    namespace,
                    name,
                })
            }
            (cluster, _, _) => VendingKind::PodIdentityUntagged { cluster },
        }
    } else if let Some(Caller::Session {
        access_key: parent, ..
    }) = caller
    {
        VendingKind::Chained {
            parent_access_key: parent.clone(),
        }
    } else {
        return None;
    };
    Some(Vending {
        access_key,
        role_arn,
        session_name: parameters.role_session_name,
        at,
        kind,
    })
}
