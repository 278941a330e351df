//! `recommend --aws`: cluster names and Pod Identity associations from the EKS API, trust policies
//! from IAM, through the real AWS SDK. IAM is `moto_server`; EKS is a loopback server speaking the
//! EKS REST protocol (moto has no Pod Identity associations).

use std::net::TcpListener;

use serde_json::json;

use crate::util::{Moto, iamtrim_with_aws, sample_trail, serve, workload, workload_ids};

const OIDC_ID: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";

fn eks_stub() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let cluster_arn = "arn:aws:eks:us-east-1:111122223333:cluster/shop-prod";
    let association = json!({
        "clusterName": "shop-prod", "namespace": "billing", "serviceAccount": "invoicer",
        "associationArn": "arn:aws:eks:us-east-1:111122223333:podidentityassociation/shop-prod/a-0billinginvoicer",
        "associationId": "a-0billinginvoicer"
    });
    let mut described = association.clone();
    described["roleArn"] = json!("arn:aws:iam::111122223333:role/billing-invoicer");
    serve(
        listener,
        vec![
            ("/clusters".into(), json!({"clusters": ["shop-prod"]})),
            (
                "/clusters/shop-prod".into(),
                json!({"cluster": {"name": "shop-prod", "arn": cluster_arn, "status": "ACTIVE",
                    "identity": {"oidc": {"issuer": format!("https://oidc.eks.us-east-1.amazonaws.com/id/{OIDC_ID}")}}}}),
            ),
            (
                "/clusters/shop-prod/pod-identity-associations".into(),
                json!({"associations": [association]}),
            ),
            (
                "/clusters/shop-prod/pod-identity-associations/a-0billinginvoicer".into(),
                json!({"association": described}),
            ),
        ],
        100,
    );
    base
}

fn irsa_trust(subject: &str, operator: &str) -> String {
    let issuer = format!("oidc.eks.us-east-1.amazonaws.com/id/{OIDC_ID}");
    json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{issuer}")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {operator: {format!("{issuer}:sub"): subject}}
    }]})
    .to_string()
}

#[test]
fn eks_and_iam_apis_name_clusters_and_attribute_what_the_trail_cannot() {
    let Some(moto) = Moto::start() else { return };
    moto.iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "search-indexer"),
        (
            "AssumeRolePolicyDocument",
            &irsa_trust("system:serviceaccount:search:indexer", "StringEquals"),
        ),
    ]);
    moto.iam(&[
        ("Action", "CreateRole"),
        ("RoleName", "analytics-jobs"),
        (
            "AssumeRolePolicyDocument",
            &irsa_trust("system:serviceaccount:analytics:*", "StringLike"),
        ),
    ]);
    let eks = eks_stub();
    let trail = sample_trail().display().to_string();
    let run = iamtrim_with_aws(
        &["recommend", "--trail", &trail, "--format", "json", "--aws"],
        &[
            ("AWS_ENDPOINT_URL_IAM", &moto.endpoint),
            ("AWS_ENDPOINT_URL_EKS", &eks),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();

    // The EKS API named the IRSA cluster: IRSA and Pod Identity workloads share one cluster name.
    let ids = workload_ids(&report);
    assert!(
        ids.contains(&"eks/shop-prod/payments/api".to_owned()),
        "{ids:?}"
    );
    assert!(ids.contains(&"eks/shop-prod/checkout/frontend".to_owned()));
    // The association from the EKS API ties the untagged Pod Identity session.
    let invoicer = workload(&report, "eks/shop-prod/billing/invoicer");
    assert_eq!(
        invoicer["evidence"]["pod-identity-association"]["sessions"],
        1
    );
    // The trust policy read through iam:GetRole names search/indexer.
    let indexer = workload(&report, "eks/shop-prod/search/indexer");
    assert_eq!(indexer["evidence"]["trust-policy"]["events"], 3);
    let analytics = workload(&report, "arn:aws:iam::111122223333:role/analytics-jobs");
    assert!(analytics["evidence"]["vending-not-in-input"].is_object());

    let context = &report["attribution"]["context"];
    assert_eq!(
        context["sources"],
        json!(["EKS API (1 clusters, 1 associations)"])
    );
    // Roles moto does not have are warnings with the service's own error, not failures.
    let warnings: Vec<&str> = context["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert!(
        warnings
            .iter()
            .any(|w| w.starts_with("iam:GetRole invoice-pdf: ") && w.contains("NoSuchEntity")),
        "{warnings:?}"
    );
    assert!(
        run.stderr.contains("warning: iam:GetRole invoice-pdf: "),
        "{}",
        run.stderr
    );
    assert_eq!(context["trust_policies"], 2);
    assert_eq!(context["cluster_names"], 1);
    assert_eq!(context["pod_identity_associations"], 1);
}

#[test]
fn unreachable_aws_is_a_warning_not_a_failure() {
    // Nothing listens on this port: every call fails fast, the trail alone still gives a result.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dead = format!("http://127.0.0.1:{port}");
    let trail = sample_trail().display().to_string();
    let run = iamtrim_with_aws(
        &["recommend", "--trail", &trail, "--format", "json", "--aws"],
        &[("AWS_ENDPOINT_URL", &dead)],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let warnings = report["attribution"]["context"]["warnings"]
        .as_array()
        .unwrap();
    assert!(
        warnings[0]
            .as_str()
            .unwrap()
            .starts_with("eks:ListClusters: dispatch failure"),
        "{warnings:?}"
    );
    assert!(
        workload_ids(&report).contains(&format!("eks/{OIDC_ID}/payments/api")),
        "the trail alone still attributes"
    );
}
