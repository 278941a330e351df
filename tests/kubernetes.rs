//! The Kubernetes side (#25): split plans for shared roles (JSON and Terraform), the cluster's
//! view from a saved inventory, and `fix` pointers from findings to the proposals.

use serde_json::{Value, json};

use crate::util::{gzip, iamtrim, irsa_vending, sample_trail, workload, write};

const IRSA_CLUSTER: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";
const ISSUER: &str = "oidc.eks.us-east-1.amazonaws.com/id/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";
const SHARED: &str = "arn:aws:iam::111122223333:role/orders-shared";

fn sample(extra: &[&str]) -> (i32, Value) {
    let trail = sample_trail().display().to_string();
    let mut args = vec![
        "recommend",
        "--trail",
        trail.as_str(),
        "--format",
        "json",
        "--iam-snapshot",
        "fixtures/sample-context/iam.json",
        "--pod-identity-associations",
        "fixtures/sample-context/pod-identity-associations.json",
    ];
    args.extend(extra);
    let run = iamtrim(&args);
    assert!(run.code < 2, "{}", run.stderr);
    (run.code, run.json())
}

/// An `AssumeRoleWithWebIdentity` of `<ns>:<sa>`'s token from the sample's IRSA cluster, as
/// `iam_simulate_trust.mjs` takes it.
fn web_identity(ns_sa: &str) -> Value {
    json!({"principal": format!("arn:aws:iam::111122223333:oidc-provider/{ISSUER}"),
        "action": "sts:AssumeRoleWithWebIdentity", "context": {
        format!("{ISSUER}:sub"): format!("system:serviceaccount:{ns_sa}"),
        format!("{ISSUER}:aud"): "sts.amazonaws.com"}})
}

/// The block `resource "<kind>" "<name>"` of a parsed Terraform file.
fn resource<'b>(body: &'b hcl::Body, kind: &str, name: &str) -> &'b hcl::Block {
    body.blocks()
        .find(|b| {
            b.identifier() == "resource"
                && b.labels().len() == 2
                && b.labels()[0].as_str() == kind
                && b.labels()[1].as_str() == name
        })
        .unwrap_or_else(|| panic!("no resource {kind} {name}"))
}

fn shared_role(report: &Value) -> &Value {
    report["shared_roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["role"] == SHARED)
        .expect("orders-shared is shared")
}

#[test]
fn a_shared_role_gets_one_role_per_service_account() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().display().to_string();
    let (_, report) = sample(&["--out", &out]);
    let shared = shared_role(&report);
    let split = shared["split"].as_array().unwrap();
    let ids: Vec<&str> = split
        .iter()
        .map(|s| s["service_account"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            format!("eks/{IRSA_CLUSTER}/orders/reporter"),
            format!("eks/{IRSA_CLUSTER}/orders/worker")
        ]
    );
    for entry in split {
        let id = entry["service_account"].as_str().unwrap();
        let sa = id.rsplit('/').next().unwrap();
        assert_eq!(entry["role_name"], format!("orders-shared-{sa}"));
        assert_eq!(
            entry["role_arn"],
            format!("arn:aws:iam::111122223333:role/orders-shared-{sa}")
        );
        // Its permission policy is exactly what the service account needs from the role.
        assert_eq!(
            entry["policy"],
            workload(&report, id)["policy_by_role"][SHARED],
            "{id}"
        );
        // Its trust policy admits only it, through the cluster's provider.
        assert_eq!(
            entry["trust_policy"],
            json!({"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow",
                "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{ISSUER}")},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {
                    format!("{ISSUER}:aud"): "sts.amazonaws.com",
                    format!("{ISSUER}:sub"): format!("system:serviceaccount:orders:{sa}"),
                }}
            }]})
        );
        assert_eq!(
            entry["cluster_change"]["patch"],
            json!({"metadata": {"annotations": {"eks.amazonaws.com/role-arn": entry["role_arn"]}}})
        );
        assert_eq!(entry["missing"], json!([]));
    }
    // The workloads' shared-role findings point at their entry of the plan.
    let i = report["shared_roles"]
        .as_array()
        .unwrap()
        .iter()
        .position(|s| s["role"] == SHARED)
        .unwrap();
    let worker = workload(&report, &format!("eks/{IRSA_CLUSTER}/orders/worker"));
    let finding = worker["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "shared-role")
        .unwrap();
    assert_eq!(finding["fix"], format!("/shared_roles/{i}/split/1"));
    assert_eq!(
        report.pointer(finding["fix"].as_str().unwrap()).unwrap()["service_account"],
        worker["id"]
    );

    // The same plan as files: each new role's policy and trust policy, and Terraform that
    // parses, whose roles, trust policies, policies and annotations are the plan's.
    let folder = dir.path().join("split/111122223333/orders-shared");
    for entry in split {
        let name = entry["role_name"].as_str().unwrap();
        let read = |file: String| -> Value {
            serde_json::from_slice(&std::fs::read(folder.join(file)).unwrap()).unwrap()
        };
        assert_eq!(read(format!("{name}.json")), entry["policy"]);
        assert_eq!(read(format!("{name}.trust.json")), entry["trust_policy"]);
    }
    let tf = std::fs::read_to_string(dir.path().join("split/111122223333/orders-shared.split.tf"))
        .unwrap();
    let body: hcl::Body = hcl::from_str(&tf).unwrap_or_else(|e| panic!("{e}\n{tf}"));
    let blocks: Vec<&hcl::Block> = body.blocks().collect();
    let block = |kind: &str, name: &str| {
        blocks
            .iter()
            .find(|b| {
                b.identifier() == kind && b.labels().len() == 2 && b.labels()[1].as_str() == name
            })
            .unwrap_or_else(|| panic!("no {kind} {name} in\n{tf}"))
    };
    let attribute = |block: &hcl::Block, key: &str| -> hcl::Expression {
        block
            .body()
            .attributes()
            .find(|a| a.key() == key)
            .unwrap_or_else(|| panic!("no {key}"))
            .expr()
            .clone()
    };
    // An independent evaluator (@cloud-copilot/iam-simulate) admits each new role's service
    // account and not the other.
    if let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") {
        for entry in split {
            let input = json!({"role": entry["role_arn"], "trust": entry["trust_policy"],
                "requests": [web_identity("orders:reporter"), web_identity("orders:worker")]});
            let results: Vec<String> =
                crate::util::verdicts("iam_simulate_trust.mjs", &modules, &input);
            let own = entry["role_name"] == "orders-shared-reporter";
            let expected = if own {
                ["Allowed", "ImplicitlyDenied"]
            } else {
                ["ImplicitlyDenied", "Allowed"]
            };
            assert_eq!(results, expected, "{}", entry["role_name"]);
        }
    }
    for entry in split {
        let name = entry["role_name"].as_str().unwrap();
        let id = name.replace('-', "_");
        let role = block("resource", &id);
        assert_eq!(role.labels()[0].as_str(), "aws_iam_role");
        assert_eq!(attribute(role, "name"), hcl::Expression::from(name));
        let hcl::Expression::TemplateExpr(trust) = attribute(role, "assume_role_policy") else {
            panic!("assume_role_policy is not a heredoc");
        };
        let trust: Value = serde_json::from_str(&trust.to_string()).unwrap();
        assert_eq!(trust, entry["trust_policy"]);
        // The permission policy: a policy document data source with the entry's statements,
        // attached inline to the new role.
        let data = block("data", &id);
        let statements: Vec<&hcl::Block> = data
            .body()
            .blocks()
            .filter(|b| b.identifier() == "statement")
            .collect();
        assert_eq!(
            statements.len(),
            entry["policy"]["Statement"].as_array().unwrap().len()
        );
        let attached = resource(&body, "aws_iam_role_policy", &id);
        assert_eq!(
            attribute(attached, "policy").to_string(),
            format!("data.aws_iam_policy_document.{id}.json")
        );
        let annotation = resource(&body, "kubernetes_annotations", &id);
        assert!(
            attribute(annotation, "annotations")
                .to_string()
                .contains(&format!("aws_iam_role.{id}.arn")),
            "{tf}"
        );
    }
}

#[test]
fn an_inventory_names_owners_and_finds_unused_annotations() {
    let inventory = format!("{IRSA_CLUSTER}=fixtures/k8s/shop-prod-irsa.json");
    let (_, report) = sample(&["--k8s-inventory", &inventory]);
    let owners =
        |sa: &str| workload(&report, &format!("eks/{IRSA_CLUSTER}/{sa}"))["owners"].clone();
    assert_eq!(owners("orders/worker"), json!(["Deployment/worker"]));
    assert_eq!(owners("orders/reporter"), json!(["CronJob/reporter"]));
    assert_eq!(owners("search/indexer"), json!(["StatefulSet/indexer"]));
    // The role whose trust policy admits `analytics:*`: its sessions, vended before the trail,
    // go to the only service account annotated with it.
    let jobs = workload(&report, &format!("eks/{IRSA_CLUSTER}/analytics/jobs"));
    assert_eq!(
        jobs["evidence"]["service-account-annotation"]["sessions"],
        json!(1)
    );
    assert_eq!(
        jobs["roles"],
        json!(["arn:aws:iam::111122223333:role/analytics-jobs"])
    );
    assert_eq!(owners("analytics/jobs"), json!(["CronJob/nightly"]));
    let kube = &report["kubernetes"];
    assert_eq!(
        kube["inventories"],
        json!([{"source": inventory, "cluster": IRSA_CLUSTER, "service_accounts": 12,
            "annotated": 7, "pods": 8}])
    );
    let kinds: Vec<(&str, &Value)> = kube["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), &f["subjects"]))
        .collect();
    assert!(
        kinds.contains(&(
            "unused-role-annotation",
            &json!([
                "legacy/importer",
                "arn:aws:iam::111122223333:role/legacy-importer"
            ])
        )),
        "{kinds:?}"
    );
    assert!(
        !kinds
            .iter()
            .any(|(k, s)| *k == "unused-role-annotation" && s[0] != "legacy/importer"),
        "{kinds:?}"
    );
    // legacy/default: pods of a Deployment running as their namespace's default service
    // account made AWS calls.
    let default = workload(&report, &format!("eks/{IRSA_CLUSTER}/legacy/default"));
    assert_eq!(default["owners"], json!(["Deployment/legacy-app"]));
    assert!(
        kinds.contains(&(
            "default-service-account",
            &json!([format!("eks/{IRSA_CLUSTER}/legacy/default")])
        )),
        "{kinds:?}"
    );
    // With the inventory given, the trust policy of legacy-importer is not known (not in the
    // snapshot): no claim about it.
    assert!(!kinds.iter().any(|(k, _)| *k == "annotation-not-admitted"));
}

/// Pods running as `default` with AWS access, found from the trail and named with the inventory;
/// a service account whose annotation is gone, and one annotated with a role its trust policy
/// does not admit.
#[test]
fn default_service_accounts_and_drifted_annotations() {
    let dir = tempfile::tempdir().unwrap();
    let call = |key: &str, role: &str, name: &str| {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROASHOP:1700000000000000001",
                "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/1700000000000000001"),
                "accountId": "111122223333", "accessKeyId": key,
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": format!("arn:aws:iam::111122223333:role/{role}"), "userName": role},
                    "webIdFederationData": {}}},
            "eventTime": "2026-11-01T06:05:00Z", "eventSource": "sqs.amazonaws.com",
            "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17",
            "userAgent": "aws-sdk-go-v2/1.30.3",
            "requestParameters": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/jobs"},
            "responseElements": null, "requestID": format!("r-{key}"), "eventID": format!("e-{key}"),
            "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management"
        })
    };
    let records = vec![
        irsa_vending(
            "ASIADEFAULT00000001",
            "shop",
            "default",
            "shop-app",
            "2026-11-01T06:00:00Z",
        ),
        call("ASIADEFAULT00000001", "shop-app", "SendMessage"),
        irsa_vending(
            "ASIAMAILER000000001",
            "shop",
            "mailer",
            "shop-mailer",
            "2026-11-01T06:00:00Z",
        ),
        call("ASIAMAILER000000001", "shop-mailer", "ReceiveMessage"),
    ];
    let trail = dir.path().join("trail/t.json.gz");
    write(
        &trail,
        &gzip(json!({"Records": records}).to_string().as_bytes()),
    );
    let inventory = dir.path().join("inventory.json");
    let provider = format!("arn:aws:iam::111122223333:oidc-provider/{ISSUER}");
    write(
        &inventory,
        json!({"apiVersion": "v1", "kind": "List", "items": [
            {"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": "default",
                "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/shop-app"}}},
            {"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": "mailer"}},
            {"kind": "ServiceAccount", "metadata": {"namespace": "shop", "name": "cart",
                "annotations": {"eks.amazonaws.com/role-arn": "arn:aws:iam::111122223333:role/shop-mailer"}}},
            {"kind": "Pod", "metadata": {"namespace": "shop", "name": "legacy-app-7f8d9c6b5-abcde",
                "labels": {"pod-template-hash": "7f8d9c6b5"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "legacy-app-7f8d9c6b5", "controller": true}]},
                "spec": {"serviceAccountName": "default"}},
            {"kind": "Pod", "metadata": {"namespace": "shop", "name": "cart-0",
                "ownerReferences": [{"kind": "StatefulSet", "name": "cart", "controller": true}]},
                "spec": {"serviceAccountName": "cart"}}
        ]})
        .to_string()
        .as_bytes(),
    );
    let role = |name: &str, subject: &str| {
        json!({"Arn": format!("arn:aws:iam::111122223333:role/{name}"), "RoleName": name, "Path": "/",
            "RolePolicyList": [], "AttachedManagedPolicies": [], "InstanceProfileList": [],
            "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": {"Federated": provider},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringEquals": {format!("{ISSUER}:sub"): subject}}}]}})
    };
    let snapshot = dir.path().join("iam.json");
    write(
        &snapshot,
        json!({"RoleDetailList": [
                role("shop-app", "system:serviceaccount:shop:default"),
                role("shop-mailer", "system:serviceaccount:shop:mailer")],
            "UserDetailList": [], "GroupDetailList": [], "Policies": []})
        .to_string()
        .as_bytes(),
    );
    let run = iamtrim(&[
        "recommend",
        "--trail",
        &dir.path().join("trail").display().to_string(),
        "--format",
        "json",
        "--iam-snapshot",
        &snapshot.display().to_string(),
        "--k8s-inventory",
        &inventory.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let default = workload(&report, &format!("eks/{IRSA_CLUSTER}/shop/default"));
    assert_eq!(default["owners"], json!(["Deployment/legacy-app"]));
    let finding = |w: &Value, kind: &str| {
        w["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["kind"] == kind)
            .cloned()
            .unwrap_or_else(|| panic!("no {kind} in {}", w["findings"]))
    };
    let message = finding(default, "default-service-account")["message"].clone();
    assert!(
        message
            .as_str()
            .unwrap()
            .contains("default service account of namespace shop (pods of Deployment/legacy-app)"),
        "{message}"
    );
    let mailer = workload(&report, &format!("eks/{IRSA_CLUSTER}/shop/mailer"));
    assert!(
        finding(mailer, "service-account-not-annotated")["message"]
            .as_str()
            .unwrap()
            .starts_with("service account shop/mailer assumed arn:aws:iam::111122223333:role/shop-mailer in the window but has no eks.amazonaws.com/role-arn annotation")
    );
    let all: Vec<(&str, &Value)> = report["kubernetes"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["kind"].as_str().unwrap(), &f["subjects"]))
        .collect();
    // shop/cart is annotated with shop-mailer, which admits only shop/mailer.
    assert!(
        all.contains(&(
            "annotation-not-admitted",
            &json!(["shop/cart", "arn:aws:iam::111122223333:role/shop-mailer"])
        )),
        "{all:?}"
    );
    assert!(all.contains(&(
        "unused-role-annotation",
        &json!(["shop/cart", "arn:aws:iam::111122223333:role/shop-mailer"])
    )));
    // The text view shows them under the workload.
    let text = iamtrim(&[
        "recommend",
        "--trail",
        &dir.path().join("trail").display().to_string(),
        "--format",
        "text",
        "--k8s-inventory",
        &inventory.display().to_string(),
    ]);
    assert!(
        text.stdout.contains("! default-service-account: pods running as the default service account of namespace shop"),
        "{}",
        text.stdout
    );
}

#[test]
fn a_bad_inventory_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inv.json");
    write(&path, br#"{"kind": "ServiceAccount"}"#);
    let trail = sample_trail().display().to_string();
    let run = iamtrim(&[
        "recommend",
        "--trail",
        &trail,
        "--k8s-inventory",
        &path.display().to_string(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(&format!(
            "error: cannot read the Kubernetes inventory\n  Caused by: {} is not a Kubernetes list (expected the output of `kubectl get serviceaccounts,pods -A -o json`)",
            path.display()
        )),
        "{}",
        run.stderr
    );
}

/// A Pod Identity vending of `ns/sa` into `role` (session tags on), as CloudTrail records it.
fn pod_identity_vending(key: &str, ns: &str, sa: &str, role: &str) -> Value {
    let session = format!("eks-shop-prod-{sa}-0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9");
    let tag = |k: &str, v: &str| json!({"key": k, "value": v});
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AWSService", "invokedBy": "pods.eks.amazonaws.com"},
        "eventTime": "2026-11-01T06:00:00Z", "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
        "awsRegion": "us-east-1", "sourceIPAddress": "pods.eks.amazonaws.com", "userAgent": "pods.eks.amazonaws.com",
        "requestParameters": {"roleArn": format!("arn:aws:iam::111122223333:role/{role}"),
            "roleSessionName": session, "durationSeconds": 21600,
            "tags": [tag("eks-cluster-arn", "arn:aws:eks:us-east-1:111122223333:cluster/shop-prod"),
                tag("eks-cluster-name", "shop-prod"), tag("kubernetes-namespace", ns),
                tag("kubernetes-service-account", sa), tag("kubernetes-pod-name", &format!("{sa}-0")),
                tag("kubernetes-pod-uid", "5d0c0d4e-7f7a-4c43-9c55-1a2b3c4d5e6f")],
            "transitiveTagKeys": ["eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace",
                "kubernetes-service-account", "kubernetes-pod-name", "kubernetes-pod-uid"]},
        "responseElements": {"credentials": {"accessKeyId": key, "sessionToken": "IQoJSYNTHETIC", "expiration": "later"},
            "assumedRoleUser": {"assumedRoleId": format!("AROASHARED:{session}"),
                "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/{session}")},
            "packedPolicySize": 56},
        "requestID": format!("r-{key}"), "eventID": format!("vend-{key}"), "readOnly": true,
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

fn session_call(key: &str, role: &str, source: &str, name: &str, request: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROASHARED:s",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/s"),
            "accountId": "111122223333", "accessKeyId": key,
            "sessionContext": {"sessionIssuer": {"type": "Role",
                "arn": format!("arn:aws:iam::111122223333:role/{role}"), "userName": role}}},
        "eventTime": "2026-11-01T06:05:00Z", "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": request, "responseElements": null, "requestID": format!("r-{key}-{name}"),
        "eventID": format!("e-{key}-{name}"), "readOnly": false, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": "111122223333", "eventCategory": "Management"
    })
}

/// A Pod Identity role shared by two service accounts, one of which chains into another role:
/// each gets a role whose trust policy an independent evaluator (@cloud-copilot/iam-simulate)
/// admits for it and for no other service account, the chained role is named, and the Terraform
/// moves it with an `aws_eks_pod_identity_association`.
#[test]
fn a_shared_pod_identity_role_splits_by_association() {
    let dir = tempfile::tempdir().unwrap();
    let assume = json!({"roleArn": "arn:aws:iam::111122223333:role/reports-writer",
        "roleSessionName": "exporter"});
    let mut chain = session_call(
        "ASIAPODEXP000000001",
        "shop-shared",
        "sts.amazonaws.com",
        "AssumeRole",
        assume,
    );
    chain["responseElements"] = json!({"credentials": {"accessKeyId": "ASIACHAINED00000001",
        "sessionToken": "IQoJSYNTHETIC", "expiration": "later"},
        "assumedRoleUser": {"assumedRoleId": "AROACHAINED:exporter",
            "arn": "arn:aws:sts::111122223333:assumed-role/reports-writer/exporter"}});
    let records = vec![
        pod_identity_vending("ASIAPODAPI000000001", "shop", "api", "shop-shared"),
        session_call(
            "ASIAPODAPI000000001",
            "shop-shared",
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/orders"}),
        ),
        pod_identity_vending("ASIAPODEXP000000001", "batch", "exporter", "shop-shared"),
        chain,
        session_call(
            "ASIACHAINED00000001",
            "reports-writer",
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "shop-reports", "key": "daily/1.csv"}),
        ),
    ];
    write(
        &dir.path().join("trail/t.json.gz"),
        &gzip(json!({"Records": records}).to_string().as_bytes()),
    );
    let out = dir.path().join("out");
    let run = iamtrim(&[
        "recommend",
        "--trail",
        &dir.path().join("trail").display().to_string(),
        "--format",
        "json",
        "--out",
        &out.display().to_string(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let shared = &report["shared_roles"][0];
    assert_eq!(shared["role"], "arn:aws:iam::111122223333:role/shop-shared");
    let split = shared["split"].as_array().unwrap();
    let names: Vec<&str> = split
        .iter()
        .map(|s| s["role_name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["shop-shared-exporter", "shop-shared-api"]);
    let exporter = &split[0];
    assert_eq!(exporter["mechanism"], "pod-identity");
    assert_eq!(
        exporter["policy"]["Statement"][0]["Action"],
        json!(["sts:AssumeRole"])
    );
    assert_eq!(
        exporter["chained_roles"],
        json!(["arn:aws:iam::111122223333:role/reports-writer"])
    );
    assert!(shared["apply"][1]
        .as_str()
        .unwrap()
        .starts_with("admit each new role in the trust policy of the roles its service account chains into (arn:aws:iam::111122223333:role/reports-writer)"));
    assert_eq!(split[1]["chained_roles"], json!([]));
    assert_eq!(
        split[1]["cluster_change"]["kind"],
        "pod-identity-association"
    );
    assert!(split[1]["cluster_change"].get("patch").is_none());

    let tf = std::fs::read_to_string(out.join("split/111122223333/shop-shared.split.tf")).unwrap();
    let body: hcl::Body = hcl::from_str(&tf).unwrap_or_else(|e| panic!("{e}\n{tf}"));
    let association = resource(&body, "aws_eks_pod_identity_association", "shop_shared_api");
    let value = |key: &str| {
        association
            .body()
            .attributes()
            .find(|a| a.key() == key)
            .unwrap()
            .expr()
            .to_string()
    };
    assert_eq!(value("cluster_name"), "\"shop-prod\"");
    assert_eq!(value("namespace"), "\"shop\"");
    assert_eq!(value("service_account"), "\"api\"");
    assert_eq!(value("role_arn"), "aws_iam_role.shop_shared_api.arn");

    let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let tags = |ns: &str, sa: &str| {
        json!({"aws:RequestTag/eks-cluster-name": "shop-prod",
            "aws:RequestTag/kubernetes-namespace": ns,
            "aws:RequestTag/kubernetes-service-account": sa})
    };
    let requests: Vec<Value> = [tags("shop", "api"), tags("batch", "exporter")]
        .into_iter()
        .map(|context| json!({"principal": "pods.eks.amazonaws.com", "action": "sts:AssumeRole", "context": context}))
        .collect();
    let input = json!({
        "role": split[1]["role_arn"],
        "trust": split[1]["trust_policy"],
        "requests": requests,
    });
    let lines: Vec<String> = crate::util::verdicts("iam_simulate_trust.mjs", &modules, &input);
    assert_eq!(lines, ["Allowed", "ImplicitlyDenied"]);
}

/// `--kube-context`: the same inventory read live through kube-rs, from a local server that
/// speaks the Kubernetes list API (pages with `continue`, bearer-token auth, a 403 on jobs the
/// way RBAC answers), with a kubeconfig like the one `aws eks update-kubeconfig` writes.
#[test]
fn the_cluster_is_read_live_through_a_kubeconfig_context() {
    use std::io::Write as _;
    let fixture: Value = serde_json::from_slice(
        &std::fs::read(crate::util::root().join("fixtures/k8s/shop-prod-irsa.json")).unwrap(),
    )
    .unwrap();
    let of_kind = |kind: &str| -> Vec<Value> {
        fixture["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["kind"] == kind)
            .map(|i| {
                // List answers carry no kind on their items.
                let mut item = i.clone();
                item.as_object_mut().unwrap().remove("kind");
                item
            })
            .collect()
    };
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let log = seen.clone();
    let (accounts, pods, replicasets) = (
        of_kind("ServiceAccount"),
        of_kind("Pod"),
        of_kind("ReplicaSet"),
    );
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some(request) = crate::util::Request::read(&stream) else {
                continue;
            };
            let target = request.target().to_owned();
            let authorized = request.header("authorization") == Some("Bearer k8s-test-token");
            log.lock().unwrap().push(target.clone());
            let list = |kind: &str, items: &[Value], next: Option<&str>| {
                json!({"kind": kind, "apiVersion": "v1",
                    "metadata": {"resourceVersion": "7", "continue": next.unwrap_or("")},
                    "items": items})
            };
            let (status, body) = match target.split('?').next().unwrap() {
                _ if !authorized => ("401 Unauthorized", json!({"kind": "Status", "code": 401})),
                "/api/v1/serviceaccounts" => {
                    ("200 OK", list("ServiceAccountList", &accounts, None))
                }
                // Pods in two pages.
                "/api/v1/pods" if target.contains("continue=") => {
                    ("200 OK", list("PodList", &pods[3..], None))
                }
                "/api/v1/pods" => ("200 OK", list("PodList", &pods[..3], Some("page-2"))),
                "/apis/apps/v1/replicasets" => {
                    ("200 OK", list("ReplicaSetList", &replicasets, None))
                }
                "/apis/batch/v1/jobs" => (
                    "403 Forbidden",
                    json!({"kind": "Status", "apiVersion": "v1",
                    "status": "Failure", "reason": "Forbidden", "code": 403,
                    "message": "jobs.batch is forbidden: User \"iamtrim\" cannot list resource \"jobs\" in API group \"batch\" at the cluster scope"}),
                ),
                _ => ("404 Not Found", json!({"kind": "Status", "code": 404})),
            };
            let body = body.to_string();
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all((head + &body).as_bytes());
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let kubeconfig = dir.path().join("config");
    write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: shop-prod\n  cluster:\n    server: http://127.0.0.1:{port}\n\
             contexts:\n- name: arn:aws:eks:us-east-1:111122223333:cluster/shop-prod\n  context:\n    cluster: shop-prod\n    user: iamtrim\n\
             current-context: arn:aws:eks:us-east-1:111122223333:cluster/shop-prod\n\
             users:\n- name: iamtrim\n  user:\n    token: k8s-test-token\n"
        )
        .as_bytes(),
    );
    let trail = sample_trail().display().to_string();
    let context = format!("{IRSA_CLUSTER}=arn:aws:eks:us-east-1:111122223333:cluster/shop-prod");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args([
            "recommend",
            "--trail",
            &trail,
            "--format",
            "json",
            "--iam-snapshot",
            "fixtures/sample-context/iam.json",
            "--kube-context",
            &context,
        ])
        .current_dir(crate::util::root())
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir.path())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&run.stdout).unwrap();
    let owners =
        |sa: &str| workload(&report, &format!("eks/{IRSA_CLUSTER}/{sa}"))["owners"].clone();
    // Deployments from the ReplicaSets listed; jobs could not be listed (403), so the CronJob
    // behind a Job is not known and the Job is named instead.
    assert_eq!(owners("orders/worker"), json!(["Deployment/worker"]));
    assert_eq!(owners("orders/reporter"), json!(["Job/reporter-29412360"]));
    assert_eq!(owners("search/indexer"), json!(["StatefulSet/indexer"]));
    assert_eq!(
        report["kubernetes"]["inventories"],
        json!([{"source": format!("{IRSA_CLUSTER}=kube context arn:aws:eks:us-east-1:111122223333:cluster/shop-prod"),
            "cluster": IRSA_CLUSTER, "service_accounts": 12, "annotated": 7, "pods": 8}])
    );
    // The same findings as from the saved inventory.
    assert!(report["kubernetes"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .any(|f| f["kind"] == "unused-role-annotation" && f["subjects"][0] == "legacy/importer"));
    let jobs = workload(&report, &format!("eks/{IRSA_CLUSTER}/analytics/jobs"));
    assert_eq!(
        jobs["evidence"]["service-account-annotation"]["sessions"],
        json!(1)
    );
    // The 403 is a warning, not a failure.
    assert!(
        stderr.contains("warning: kube context \"arn:aws:eks:us-east-1:111122223333:cluster/shop-prod\": cannot list /apis/batch/v1/jobs"),
        "{stderr}"
    );
    let targets = seen.lock().unwrap().clone();
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("/api/v1/pods?") && t.contains("continue=page-2")),
        "{targets:?}"
    );
    // A context the kubeconfig does not have is a clear error.
    let missing = std::process::Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(["recommend", "--trail", &trail, "--kube-context", "staging"])
        .current_dir(crate::util::root())
        .env("KUBECONFIG", &kubeconfig)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains(
            "error: cannot read the cluster\n  Caused by: kubeconfig context \"staging\""
        ),
        "{stderr}"
    );
}

/// The sample's wildcard-`sub` role (`analytics-jobs` admits `system:serviceaccount:analytics:*`):
/// with the inventory its sessions are analytics/jobs', and the proposed trust policy admits
/// exactly that service account, which an independent evaluator confirms for it and refuses for
/// another service account of the namespace that the wildcard admitted.
#[test]
fn the_samples_wildcard_subject_becomes_the_annotated_service_account() {
    let inventory = format!("{IRSA_CLUSTER}=fixtures/k8s/shop-prod-irsa.json");
    let (_, report) = sample(&[
        "--k8s-inventory",
        &inventory,
        "--diff",
        "--role",
        "analytics-jobs",
    ]);
    let diff = crate::diff::role_diff(&report, "analytics-jobs");
    let proposal = &diff["proposed_trust_policy"];
    assert_eq!(
        proposal["policy"]["Statement"][0]["Condition"]["StringEquals"][format!("{ISSUER}:sub")],
        json!(["system:serviceaccount:analytics:jobs"])
    );
    assert_eq!(
        proposal["removed"],
        json!([format!(
            "{ISSUER}: system:serviceaccount:analytics:* (a pattern; the service accounts seen are listed instead)"
        )])
    );
    assert_eq!(diff["trust"]["fix"], "/diffs/0/proposed_trust_policy");
    let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let input = json!({"role": diff["role"], "trust": proposal["policy"],
        "requests": [web_identity("analytics:jobs"), web_identity("analytics:adhoc")]});
    let results: Vec<String> = crate::util::verdicts("iam_simulate_trust.mjs", &modules, &input);
    assert_eq!(results, ["Allowed", "ImplicitlyDenied"]);
}
