//! The EKS and IAM reads behind `--aws`, through the AWS SDK with the standard credential chain
//! (`--profile`, `--region`, `AWS_*` variables, `AWS_ENDPOINT_URL_EKS` / `_IAM` for stand-ins).
//!
//! The rest of iamtrim is synchronous; the process's tokio runtime (`crate::aws::runtime`) is
//! driven with `block_on`. Every failure becomes a warning line naming the call and its cause.

use aws_config::SdkConfig;
use serde_json::Value;

use super::policy_document;
use crate::attribute::PodIdentityAssociation;
use crate::aws::AwsOptions;
use crate::diff::RawPolicies;

/// A loaded SDK configuration and the runtime its clients run on.
pub struct Session {
    pub(super) runtime: &'static tokio::runtime::Runtime,
    pub(super) config: SdkConfig,
}

/// What the EKS API said.
#[derive(Debug, Default)]
pub struct EksContext {
    pub clusters: usize,
    /// (cluster name, OIDC issuer or cluster ARN) pairs.
    pub cluster_names: Vec<(String, String)>,
    pub associations: Vec<PodIdentityAssociation>,
    pub warnings: Vec<String>,
}

impl Session {
    pub fn new(options: &AwsOptions) -> std::io::Result<Self> {
        let runtime = crate::aws::runtime()?;
        let config = crate::aws::load_config(options)?;
        Ok(Self { runtime, config })
    }

    /// Cluster names with their OIDC issuers and ARNs, and every Pod Identity association of
    /// every cluster in the configured region.
    pub fn eks_context(&self) -> EksContext {
        let client = aws_sdk_eks::Client::new(&self.config);
        let mut out = EksContext::default();
        self.runtime.block_on(async {
            let mut names = Vec::new();
            let mut next: Option<String> = None;
            loop {
                match client
                    .list_clusters()
                    .set_next_token(next.take())
                    .send()
                    .await
                {
                    Ok(page) => {
                        names.extend(page.clusters().iter().cloned());
                        match page.next_token() {
                            Some(token) => next = Some(token.to_owned()),
                            None => break,
                        }
                    }
                    Err(err) => {
                        out.warnings.push(warning("eks:ListClusters", &err));
                        return;
                    }
                }
            }
            out.clusters = names.len();
            for name in names {
                match client.describe_cluster().name(&name).send().await {
                    Ok(described) => {
                        let cluster = described.cluster();
                        if let Some(issuer) = cluster
                            .and_then(|c| c.identity())
                            .and_then(|i| i.oidc())
                            .and_then(|o| o.issuer())
                        {
                            out.cluster_names.push((name.clone(), issuer.to_owned()));
                        }
                        if let Some(arn) = cluster.and_then(|c| c.arn()) {
                            out.cluster_names.push((name.clone(), arn.to_owned()));
                        }
                    }
                    Err(err) => {
                        out.warnings
                            .push(warning(&format!("eks:DescribeCluster {name}"), &err));
                    }
                }
                self.associations(&client, &name, &mut out).await;
            }
        });
        out
    }

    async fn associations(
        &self,
        client: &aws_sdk_eks::Client,
        cluster: &str,
        out: &mut EksContext,
    ) {
        let mut ids = Vec::new();
        let mut next: Option<String> = None;
        loop {
            let page = client
                .list_pod_identity_associations()
                .cluster_name(cluster)
                .set_next_token(next.take())
                .send()
                .await;
            match page {
                Ok(page) => {
                    ids.extend(
                        page.associations()
                            .iter()
                            .filter_map(|a| a.association_id().map(str::to_owned)),
                    );
                    match page.next_token() {
                        Some(token) => next = Some(token.to_owned()),
                        None => break,
                    }
                }
                Err(err) => {
                    out.warnings.push(warning(
                        &format!("eks:ListPodIdentityAssociations {cluster}"),
                        &err,
                    ));
                    return;
                }
            }
        }
        for id in ids {
            let described = client
                .describe_pod_identity_association()
                .cluster_name(cluster)
                .association_id(&id)
                .send()
                .await;
            match described {
                Ok(described) => {
                    let Some(a) = described.association() else {
                        continue;
                    };
                    if let (Some(namespace), Some(service_account), Some(role_arn)) =
                        (a.namespace(), a.service_account(), a.role_arn())
                    {
                        out.associations.push(PodIdentityAssociation {
                            cluster: a.cluster_name().unwrap_or(cluster).to_owned(),
                            namespace: namespace.to_owned(),
                            service_account: service_account.to_owned(),
                            role_arn: role_arn.to_owned(),
                            session_tags: a.disable_session_tags().map(|disabled| !disabled),
                        });
                    }
                }
                Err(err) => out.warnings.push(warning(
                    &format!("eks:DescribePodIdentityAssociation {cluster} {id}"),
                    &err,
                )),
            }
        }
    }

    /// The role's trust policy, from `iam:GetRole`.
    pub fn trust_document(&self, role_arn: &str) -> Result<Value, LookupFailure> {
        let client = aws_sdk_iam::Client::new(&self.config);
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn);
        let call = format!("iam:GetRole {name}");
        let output = self
            .runtime
            .block_on(client.get_role().role_name(name).send())
            .map_err(|err| LookupFailure {
                // No answer at all (no endpoint, no credentials, timeouts): asking about the
                // next role would fail the same way.
                service_unavailable: !matches!(err, aws_sdk_iam::error::SdkError::ServiceError(_)),
                message: warning(&call, &err),
            })?;
        output
            .role()
            .and_then(|r| r.assume_role_policy_document())
            .and_then(|doc| policy_document(&Value::String(doc.to_owned())))
            .ok_or_else(|| LookupFailure {
                service_unavailable: false,
                message: format!("{call}: the response has no readable trust policy"),
            })
    }
}

impl Session {
    /// A role's current policies from IAM: inline policies, attached managed policies at their
    /// default version, the permission boundary and the trust policy. Failures are listed in
    /// `problems`.
    pub fn role_policies(&self, role_arn: &str) -> RawPolicies {
        let client = aws_sdk_iam::Client::new(&self.config);
        let name = role_arn.rsplit('/').next().unwrap_or(role_arn).to_owned();
        let mut raw = RawPolicies {
            source: "IAM API".to_owned(),
            ..RawPolicies::default()
        };
        self.runtime.block_on(async {
            match client.get_role().role_name(&name).send().await {
                Ok(out) => {
                    let role = out.role();
                    raw.trust = role
                        .and_then(|r| r.assume_role_policy_document())
                        .and_then(|d| policy_document(&Value::String(d.to_owned())));
                    if let Some(arn) = role
                        .and_then(|r| r.permissions_boundary())
                        .and_then(|b| b.permissions_boundary_arn())
                    {
                        match managed_document(&client, arn).await {
                            Ok(doc) => raw.boundary = Some((arn.to_owned(), doc)),
                            Err(e) => raw.problems.push(e),
                        }
                    }
                }
                Err(err) => {
                    raw.problems
                        .push(warning(&format!("iam:GetRole {name}"), &err));
                    return;
                }
            }
            let mut marker: Option<String> = None;
            loop {
                let page = client
                    .list_role_policies()
                    .role_name(&name)
                    .set_marker(marker.take())
                    .send()
                    .await;
                let page = match page {
                    Ok(page) => page,
                    Err(err) => {
                        raw.problems
                            .push(warning(&format!("iam:ListRolePolicies {name}"), &err));
                        break;
                    }
                };
                for policy in page.policy_names() {
                    let call = format!("iam:GetRolePolicy {name} {policy}");
                    match client
                        .get_role_policy()
                        .role_name(&name)
                        .policy_name(policy)
                        .send()
                        .await
                    {
                        Ok(out) => {
                            match policy_document(&Value::String(out.policy_document().to_owned()))
                            {
                                Some(doc) => raw.identity.push((format!("inline:{policy}"), doc)),
                                None => raw.problems.push(format!("{call}: unreadable document")),
                            }
                        }
                        Err(err) => raw.problems.push(warning(&call, &err)),
                    }
                }
                match page.marker() {
                    Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
                    _ => break,
                }
            }
            let mut marker: Option<String> = None;
            loop {
                let page = client
                    .list_attached_role_policies()
                    .role_name(&name)
                    .set_marker(marker.take())
                    .send()
                    .await;
                let page = match page {
                    Ok(page) => page,
                    Err(err) => {
                        raw.problems.push(warning(
                            &format!("iam:ListAttachedRolePolicies {name}"),
                            &err,
                        ));
                        break;
                    }
                };
                for arn in page
                    .attached_policies()
                    .iter()
                    .filter_map(|p| p.policy_arn())
                {
                    match managed_document(&client, arn).await {
                        Ok(doc) => raw.identity.push((arn.to_owned(), doc)),
                        Err(e) => raw.problems.push(e),
                    }
                }
                match page.marker() {
                    Some(m) if page.is_truncated() => marker = Some(m.to_owned()),
                    _ => break,
                }
            }
        });
        raw
    }
}

/// A managed policy's default version document.
async fn managed_document(client: &aws_sdk_iam::Client, arn: &str) -> Result<Value, String> {
    let policy = client
        .get_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|err| warning(&format!("iam:GetPolicy {arn}"), &err))?;
    let version = policy
        .policy()
        .and_then(|p| p.default_version_id())
        .ok_or_else(|| format!("iam:GetPolicy {arn}: no default version"))?;
    let document = client
        .get_policy_version()
        .policy_arn(arn)
        .version_id(version)
        .send()
        .await
        .map_err(|err| warning(&format!("iam:GetPolicyVersion {arn} {version}"), &err))?;
    document
        .policy_version()
        .and_then(|v| v.document())
        .and_then(|d| policy_document(&Value::String(d.to_owned())))
        .ok_or_else(|| format!("iam:GetPolicyVersion {arn} {version}: unreadable document"))
}

/// A failed read: the warning to show, and whether the service answered at all.
#[derive(Debug)]
pub struct LookupFailure {
    pub message: String,
    pub service_unavailable: bool,
}

/// `call: error: cause: cause`, on one line, without the SDK's debug dump.
pub(super) fn warning(call: &str, err: &(dyn std::error::Error + 'static)) -> String {
    format!("{call}: {}", crate::errors::error_chain(err))
}
