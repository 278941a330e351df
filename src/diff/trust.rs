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
    /// With findings: where the proposal that resolves them is (`/diffs/<i>/proposed_trust_policy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
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
            let issuer = issuer_of(&provider).to_owned();
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

/// A trust policy that admits exactly the service accounts seen assuming the role (#25):
/// IRSA statements keep their provider with `:sub` = the observed service accounts they admit
/// (`StringEquals`, no patterns) and `:aud` = `sts.amazonaws.com`; the Pod Identity statement
/// becomes one statement per observed service account, scoped by the session tags EKS sets
/// (`kubernetes-namespace`, `kubernetes-service-account`, and `eks-cluster-name` when an
/// association names the cluster). Every other statement is kept as it is. `removed` names
/// what the proposal no longer admits, each with why.
#[derive(Debug, Clone, Serialize)]
pub struct TrustProposal {
    pub policy: Value,
    pub removed: Vec<String>,
    pub kept: Vec<String>,
}

/// The audience EKS service-account tokens are minted for.
const STS_AUDIENCE: &str = "sts.amazonaws.com";

pub fn propose(
    document: &Value,
    usage: &super::RoleUsage,
    associations: &[(String, Option<bool>)],
) -> Option<TrustProposal> {
    let observed = &usage.service_accounts;
    use serde_json::json;
    let statements = match document.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        Some(one) => vec![one.clone()],
        None => return None,
    };
    let subject = |ns_sa: &str| {
        ns_sa
            .split_once('/')
            .map(|(ns, sa)| format!("system:serviceaccount:{ns}:{sa}"))
            .unwrap_or_default()
    };
    let mut out = Vec::new();
    let mut removed = Vec::new();
    let mut kept = Vec::new();
    let mut irsa_admitted: BTreeSet<String> = BTreeSet::new();
    let mut pod_identity = false;
    for statement in &statements {
        let allow = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
        let principal = statement.get("Principal");
        let federated = string_list(principal.and_then(|p| p.get("Federated")));
        let services = string_list(principal.and_then(|p| p.get("Service")));
        let eks_providers: Vec<&str> = federated
            .iter()
            .map(String::as_str)
            .filter(|p| p.contains("oidc.eks."))
            .collect();
        if !allow
            || (eks_providers.is_empty() && !services.iter().any(|s| s == "pods.eks.amazonaws.com"))
        {
            kept.push(describe(statement));
            out.push(statement.clone());
            continue;
        }
        // Principals of the statement that are not EKS's stay in a statement of their own.
        let mut rest = statement.clone();
        let others_federated: Vec<&String> = federated
            .iter()
            .filter(|p| !p.contains("oidc.eks."))
            .collect();
        let others_service: Vec<&String> = services
            .iter()
            .filter(|s| *s != "pods.eks.amazonaws.com")
            .collect();
        let others_aws = string_list(principal.and_then(|p| p.get("AWS")));
        if !others_federated.is_empty() || !others_service.is_empty() || !others_aws.is_empty() {
            let mut p = serde_json::Map::new();
            if !others_federated.is_empty() {
                p.insert("Federated".into(), json!(others_federated));
            }
            if !others_service.is_empty() {
                p.insert("Service".into(), json!(others_service));
            }
            if !others_aws.is_empty() {
                p.insert("AWS".into(), json!(others_aws));
            }
            rest["Principal"] = Value::Object(p);
            kept.push(describe(&rest));
            out.push(rest);
        }
        if usage.other_sessions && !eks_providers.is_empty() {
            // Sessions whose service account is not known used the role: narrowing the
            // subjects could lock out the very workload whose vending the trail missed.
            kept.push(format!(
                "{}: unchanged, sessions not tied to a service account used the role (their \
                 AssumeRoleWithWebIdentity is outside the input)",
                eks_providers.join(", ")
            ));
            let mut unchanged = statement.clone();
            unchanged["Principal"] = json!({"Federated": eks_providers});
            out.push(unchanged);
            pod_identity |= services.iter().any(|s| s == "pods.eks.amazonaws.com");
            continue;
        }
        for provider in eks_providers {
            let issuer = issuer_of(provider);
            let patterns = sub_values(statement, issuer);
            let admitted: Vec<String> = observed
                .iter()
                .map(|sa| subject(sa))
                .filter(|s| {
                    patterns.is_empty()
                        || patterns
                            .iter()
                            .any(|p| crate::policy::arn::wildcard_match(p, s))
                })
                .collect();
            for pattern in &patterns {
                if !admitted.contains(pattern) {
                    removed.push(if pattern.contains(['*', '?']) {
                        format!("{issuer}: {pattern} (a pattern; the service accounts seen are listed instead)")
                    } else {
                        format!("{issuer}: {pattern} (not seen assuming the role in the window)")
                    });
                }
            }
            if patterns.is_empty() {
                removed.push(format!(
                    "{issuer}: every service account of the cluster (no `sub` condition)"
                ));
            }
            if admitted.is_empty() {
                continue;
            }
            irsa_admitted.extend(admitted.iter().cloned());
            out.push(json!({
                "Effect": "Allow",
                "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{issuer}:aud"): STS_AUDIENCE,
                    format!("{issuer}:sub"): admitted,
                }}
            }));
        }
        pod_identity |= services.iter().any(|s| s == "pods.eks.amazonaws.com");
    }
    if pod_identity {
        // Scoped by session tags only when every association of the role is known to pass them
        // and every service account seen is explained (by an IRSA statement or a tagged
        // association): a condition on tags EKS does not send, or on a service account whose
        // association is not known here, would deny the workload.
        let untagged: Vec<&str> = associations
            .iter()
            .filter(|(_, tags)| *tags != Some(true))
            .map(|(a, _)| a.as_str())
            .collect();
        let tagged: Vec<(&str, &str)> = associations
            .iter()
            .filter(|(_, tags)| *tags == Some(true))
            .filter_map(|(a, _)| a.split_once('/'))
            .collect();
        let unexplained: Vec<&str> = observed
            .iter()
            .map(String::as_str)
            .filter(|sa| !irsa_admitted.contains(&subject(sa)))
            .filter(|sa| !tagged.iter().any(|(_, ns_sa)| ns_sa == sa))
            .collect();
        if usage.other_sessions
            || tagged.is_empty()
            || !untagged.is_empty()
            || !unexplained.is_empty()
        {
            let why = if usage.other_sessions {
                "sessions not tied to a service account used the role".to_owned()
            } else if !untagged.is_empty() {
                format!(
                    "session tags are disabled or not known for {}",
                    untagged.join(", ")
                )
            } else if !unexplained.is_empty() {
                format!(
                    "no association with session tags is known for {}",
                    unexplained.join(", ")
                )
            } else {
                "no Pod Identity association is known (--pod-identity-associations or --aws)"
                    .to_owned()
            };
            kept.push(format!("pods.eks.amazonaws.com, not scoped: {why}"));
            out.push(json!({
                "Effect": "Allow",
                "Principal": {"Service": "pods.eks.amazonaws.com"},
                "Action": ["sts:AssumeRole", "sts:TagSession"]
            }));
        } else {
            for (cluster, ns_sa) in &tagged {
                let Some((ns, name)) = ns_sa.split_once('/') else {
                    continue;
                };
                if !observed.contains(*ns_sa) {
                    removed.push(format!(
                        "Pod Identity association {cluster}/{ns_sa} (not seen assuming the role in the window; delete the association too)"
                    ));
                    continue;
                }
                out.push(json!({
                    "Effect": "Allow",
                    "Principal": {"Service": "pods.eks.amazonaws.com"},
                    "Action": ["sts:AssumeRole", "sts:TagSession"],
                    "Condition": {"StringEquals": {
                        "aws:RequestTag/eks-cluster-name": cluster,
                        "aws:RequestTag/kubernetes-namespace": ns,
                        "aws:RequestTag/kubernetes-service-account": name,
                    }}
                }));
            }
        }
    }
    Some(TrustProposal {
        policy: json!({"Version": "2012-10-17", "Statement": out}),
        removed,
        kept,
    })
}

/// A statement kept as it is, in a few words: its principals.
fn describe(statement: &Value) -> String {
    let principal = statement.get("Principal");
    if principal.and_then(Value::as_str) == Some("*") {
        return "Principal \"*\"".to_owned();
    }
    let mut parts: Vec<String> = ["AWS", "Service", "Federated"]
        .iter()
        .flat_map(|k| string_list(principal.and_then(|p| p.get(*k))))
        .collect();
    if statement.get("Effect").and_then(Value::as_str) == Some("Deny") {
        parts.insert(0, "Deny".to_owned());
    }
    parts.join(", ")
}

/// The EKS OIDC providers through which `document` admits `subject` (exactly or by a pattern,
/// or with no `sub` condition).
pub fn admitting_providers(document: &Value, subject: &str) -> Vec<String> {
    let statements: Vec<&Value> = match document.get("Statement") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut out = BTreeSet::new();
    for statement in statements {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let federated = string_list(statement.get("Principal").and_then(|p| p.get("Federated")));
        for provider in federated.iter().filter(|p| p.contains("oidc.eks.")) {
            let subs = sub_values(statement, issuer_of(provider));
            if subs.is_empty()
                || subs
                    .iter()
                    .any(|p| crate::policy::arn::wildcard_match(p, subject))
            {
                out.insert(provider.clone());
            }
        }
    }
    out.into_iter().collect()
}

/// The issuer of an OIDC provider ARN (`oidc.eks.<region>.amazonaws.com/id/<ID>`).
pub fn issuer_of(provider: &str) -> &str {
    provider
        .split_once("oidc-provider/")
        .map_or(provider, |x| x.1)
}

/// The `<issuer>:sub` values a statement's conditions name, under any operator.
fn sub_values(statement: &Value, issuer: &str) -> Vec<String> {
    let key = format!("{issuer}:sub");
    statement
        .get("Condition")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|ops| ops.values())
        .flat_map(|c| string_list(c.get(key.as_str())))
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::diff::RoleUsage;

    fn usage(accounts: &[&str]) -> RoleUsage {
        RoleUsage {
            service_accounts: accounts.iter().map(|s| (*s).to_owned()).collect(),
            ..RoleUsage::default()
        }
    }

    const PODS: &str = "pods.eks.amazonaws.com";

    fn pod_identity() -> Value {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": PODS}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
    }

    #[test]
    fn pod_identity_is_scoped_only_when_every_association_passes_tags() {
        let associations = vec![
            ("prod/shop/api".to_owned(), Some(true)),
            ("prod/shop/old".to_owned(), Some(true)),
        ];
        let p = propose(&pod_identity(), &usage(&["shop/api"]), &associations).unwrap();
        assert_eq!(
            p.policy["Statement"],
            json!([{"Effect": "Allow", "Principal": {"Service": PODS},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {"aws:RequestTag/eks-cluster-name": "prod",
                    "aws:RequestTag/kubernetes-namespace": "shop",
                    "aws:RequestTag/kubernetes-service-account": "api"}}}])
        );
        assert_eq!(
            p.removed,
            [
                "Pod Identity association prod/shop/old (not seen assuming the role in the window; delete the association too)"
            ]
        );
        // One association whose tags are not known: no tag condition at all.
        let unknown = vec![("prod/shop/api".to_owned(), None)];
        let p = propose(&pod_identity(), &usage(&["shop/api"]), &unknown).unwrap();
        assert!(p.policy["Statement"][0].get("Condition").is_none());
        assert_eq!(
            p.kept,
            [
                "pods.eks.amazonaws.com, not scoped: session tags are disabled or not known for prod/shop/api"
            ]
        );
        // A service account seen without a known association (another cluster's, say).
        let p = propose(
            &pod_identity(),
            &usage(&["shop/api", "batch/job"]),
            &associations[..1],
        )
        .unwrap();
        assert!(p.policy["Statement"][0].get("Condition").is_none());
        assert!(p.kept[0].contains("batch/job"), "{:?}", p.kept);
    }

    #[test]
    fn irsa_subjects_not_seen_are_removed_and_other_principals_kept() {
        let issuer = "oidc.eks.eu-west-1.amazonaws.com/id/ABC";
        let document = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"Federated": format!("arn:aws:iam::1:oidc-provider/{issuer}")},
             "Action": "sts:AssumeRoleWithWebIdentity",
             "Condition": {"StringEquals": {format!("{issuer}:sub"): ["system:serviceaccount:a:x", "system:serviceaccount:a:y"]}}},
            {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::2:root"}, "Action": "sts:AssumeRole"}
        ]});
        let p = propose(&document, &usage(&["a/x"]), &[]).unwrap();
        assert_eq!(
            p.policy["Statement"][0]["Condition"]["StringEquals"][format!("{issuer}:sub")],
            json!(["system:serviceaccount:a:x"])
        );
        assert_eq!(
            p.removed,
            [format!(
                "{issuer}: system:serviceaccount:a:y (not seen assuming the role in the window)"
            )]
        );
        assert_eq!(p.kept, ["arn:aws:iam::2:root"]);
        assert_eq!(p.policy["Statement"][1], document["Statement"][1]);
    }
}
