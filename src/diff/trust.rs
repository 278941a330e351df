//! Trust-policy analysis: who can assume a role, and what a reviewer should tighten.

use std::collections::BTreeSet;

use serde::Serialize;
use serde_json::Value;

use crate::policy::string_list;

use crate::attribute::service_account_subject;

/// One web-identity (IRSA) statement of a trust policy.
#[derive(Debug, Clone, Serialize)]
pub struct WebIdentityTrust {
    pub provider: String,
    /// `sub` values as written (`system:serviceaccount:<ns>:<sa>`, or patterns).
    pub subjects: Vec<String>,
    pub audiences: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TrustReport {
    pub web_identity: Vec<WebIdentityTrust>,
    /// `pods.eks.amazonaws.com` may assume the role (Pod Identity).
    pub pod_identity: bool,
    /// Service accounts with a Pod Identity association to the role (`<cluster>/<ns>/<sa>`).
    pub pod_identity_associations: Vec<String>,
    /// Other principals (roles, accounts, services).
    pub other_principals: Vec<String>,
    /// Service accounts seen using the role in the trail (`<ns>/<sa>`).
    pub observed_service_accounts: Vec<String>,
    pub findings: Vec<String>,
}

/// Analyses `document`; `observed` are the `<ns>/<sa>` seen using the role, `associations` its
/// Pod Identity associations (`<cluster>/<ns>/<sa>`).
pub fn analyse(
    document: &Value,
    observed: &BTreeSet<String>,
    associations: Vec<String>,
) -> TrustReport {
    let mut report = TrustReport {
        pod_identity_associations: associations,
        observed_service_accounts: observed.iter().cloned().collect(),
        ..TrustReport::default()
    };
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => Vec::new(),
    };
    for statement in statements
        .iter()
        .filter(|s| s.get("Effect").and_then(Value::as_str) == Some("Allow"))
    {
        let principal = statement.get("Principal");
        for provider in string_list(principal.and_then(|p| p.get("Federated"))) {
            let issuer = provider
                .split_once("oidc-provider/")
                .map_or(provider.as_str(), |x| x.1)
                .to_owned();
            let mut trust = WebIdentityTrust {
                provider: provider.clone(),
                subjects: Vec::new(),
                audiences: Vec::new(),
            };
            for conditions in statement
                .get("Condition")
                .and_then(Value::as_object)
                .into_iter()
                .flat_map(|ops| ops.values())
            {
                trust.subjects.extend(string_list(
                    conditions.get(format!("{issuer}:sub").as_str()),
                ));
                trust.audiences.extend(string_list(
                    conditions.get(format!("{issuer}:aud").as_str()),
                ));
            }
            if provider.contains("oidc.eks.") {
                if trust.subjects.is_empty() {
                    report.findings.push(format!(
                        "no `sub` condition for {issuer}: every service account of the cluster can assume the role"
                    ));
                }
                for subject in trust.subjects.iter().filter(|s| s.contains(['*', '?'])) {
                    report.findings.push(format!(
                        "wildcard subject {subject}: every matching service account can assume the role"
                    ));
                }
                if trust.audiences.is_empty() {
                    report.findings.push(format!(
                        "no `aud` condition for {issuer} (expected sts.amazonaws.com)"
                    ));
                }
            }
            report.web_identity.push(trust);
        }
        for service in string_list(principal.and_then(|p| p.get("Service"))) {
            if service == "pods.eks.amazonaws.com" {
                report.pod_identity = true;
            } else {
                report.other_principals.push(service);
            }
        }
        report
            .other_principals
            .extend(string_list(principal.and_then(|p| p.get("AWS"))));
        if principal.and_then(Value::as_str) == Some("*") {
            report.other_principals.push("*".to_owned());
            report
                .findings
                .push("Principal \"*\": anyone can try to assume the role".to_owned());
        }
    }
    let admitted: BTreeSet<String> = report
        .web_identity
        .iter()
        .flat_map(|w| &w.subjects)
        .filter(|s| !s.contains(['*', '?']))
        .filter_map(|s| service_account_subject(s))
        .map(|(ns, sa)| format!("{ns}/{sa}"))
        .chain(
            report
                .pod_identity_associations
                .iter()
                .filter_map(|a| a.split_once('/').map(|(_, ns_sa)| ns_sa.to_owned())),
        )
        .collect();
    for unused in admitted.difference(observed) {
        report.findings.push(format!(
            "service account {unused} can assume the role but was not seen using it"
        ));
    }
    if observed.len() > 1 {
        report.findings.push(format!(
            "shared by {} service accounts ({}): give each its own role",
            observed.len(),
            report.observed_service_accounts.join(", ")
        ));
    }
    report
}
