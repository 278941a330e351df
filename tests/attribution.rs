//! Attribution in depth on the sample trail: evidence, coverage, account context, findings, and
//! independence from file order.

use serde_json::{Value, json};

use crate::util::{SAMPLE_CONTEXT, irsa_vending, recommend, sample_trail, workload, workload_ids};

const IRSA_CLUSTER: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";

fn with_context() -> Value {
    let run = recommend(&[&sample_trail()], &SAMPLE_CONTEXT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

fn evidence_kinds(w: &Value) -> Vec<&str> {
    w["evidence"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

#[test]
fn every_workload_event_is_counted_once_in_coverage() {
    let report = with_context();
    let events = &report["attribution"]["events"];
    assert_eq!(
        events,
        &json!({"service_account": 86, "role": 31, "user": 4, "unattributed": 1})
    );
    let input = &report["input"];
    let not_workload: u64 = input["not_workload_activity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    let attributed: u64 = ["service_account", "role", "user", "unattributed"]
        .iter()
        .map(|k| events[k].as_u64().unwrap())
        .sum();
    assert_eq!(
        attributed + not_workload + input["outside_window"].as_u64().unwrap(),
        input["records"].as_u64().unwrap()
    );
    // The per-evidence totals add up to the same events.
    let by_evidence: u64 = report["attribution"]["by_evidence"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["events"].as_u64().unwrap())
        .sum();
    assert_eq!(by_evidence, attributed);
    assert_eq!(
        report["attribution"]["by_evidence"]["trust-policy"],
        json!({"sessions": 1, "events": 3})
    );
    assert_eq!(
        report["attribution"]["context"]["sources"],
        json!([
            "Pod Identity associations fixtures/sample-context/pod-identity-associations.json (3 associations)",
            "IAM snapshot fixtures/sample-context/iam.json (9 roles)"
        ])
    );
}

#[test]
fn without_account_context_sessions_stay_at_role_level_and_say_why() {
    let report = recommend(&[&sample_trail()], &[]).json();
    let ids = workload_ids(&report);
    assert!(!ids.iter().any(|id| id.ends_with("/billing/invoicer")));
    assert!(!ids.iter().any(|id| id.ends_with("/search/indexer")));

    // Pod Identity with session tags disabled: role level, flagged, nothing dropped.
    let invoicer = workload(&report, "arn:aws:iam::111122223333:role/billing-invoicer");
    assert_eq!(evidence_kinds(invoicer), ["pod-identity-untagged"]);
    assert_eq!(invoicer["unattributed_sessions"], 1);
    assert_eq!(invoicer["findings"][0]["kind"], "unattributed-sessions");
    assert!(
        invoicer["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("without session tags and no unique association")
    );
    assert_eq!(
        invoicer["usage"][0]["action"], "s3:PutObject",
        "the calls are kept at role level"
    );

    // A session vended before the trail starts, of a role never seen vended: plain role level.
    let indexer = workload(&report, "arn:aws:iam::111122223333:role/search-indexer");
    assert_eq!(evidence_kinds(indexer), ["role-session"]);
    assert_eq!(report["attribution"]["events"]["unattributed"], 2);
}

#[test]
fn trust_policy_names_the_service_account_when_the_vending_is_not_in_the_trail() {
    let report = recommend(
        &[&sample_trail()],
        &["--iam-snapshot", "fixtures/sample-context/iam.json"],
    )
    .json();
    let indexer = workload(&report, &format!("eks/{IRSA_CLUSTER}/search/indexer"));
    assert_eq!(evidence_kinds(indexer), ["trust-policy"]);
    assert_eq!(indexer["kind"], "irsa");
    assert_eq!(
        indexer["roles"],
        json!(["arn:aws:iam::111122223333:role/search-indexer"])
    );

    // A trust policy admitting a whole namespace cannot name one service account. Its document
    // is URL-encoded in the snapshot, as IAM's API returns it.
    let analytics = workload(&report, "arn:aws:iam::111122223333:role/analytics-jobs");
    assert_eq!(evidence_kinds(analytics), ["vending-not-in-input"]);
    assert_eq!(
        analytics["findings"],
        json!([{
            "kind": "unattributed-sessions",
            "message": "1 session(s) stay at role level: their credential vending is not in the input and its trust policy admits several service accounts (system:serviceaccount:analytics:*)",
            "subjects": []
        }])
    );
}

#[test]
fn pod_identity_associations_attribute_sessions_without_session_tags() {
    let report = recommend(
        &[&sample_trail()],
        &[
            "--pod-identity-associations",
            "fixtures/sample-context/pod-identity-associations.json",
        ],
    )
    .json();
    let invoicer = workload(&report, "eks/shop-prod/billing/invoicer");
    assert_eq!(evidence_kinds(invoicer), ["pod-identity-association"]);
    assert_eq!(invoicer["kind"], "pod-identity");
    assert_eq!(invoicer["findings"], json!([]));
}

#[test]
fn a_shared_role_is_reported_with_each_service_accounts_own_policy() {
    let report = with_context();
    let worker = format!("eks/{IRSA_CLUSTER}/orders/worker");
    let reporter = format!("eks/{IRSA_CLUSTER}/orders/reporter");
    let shared = report["shared_roles"].as_array().unwrap();
    assert_eq!(shared.len(), 1);
    assert_eq!(
        shared[0]["role"],
        "arn:aws:iam::111122223333:role/orders-shared"
    );
    assert_eq!(shared[0]["service_accounts"], json!([reporter, worker]));
    assert_eq!(
        shared[0]["recommendation"],
        "split arn:aws:iam::111122223333:role/orders-shared into one role per service account; the policy recommended for each of the 2 service accounts is its own"
    );
    let finding = &workload(&report, &worker)["findings"][0];
    assert_eq!(finding["kind"], "shared-role");
    assert_eq!(finding["subjects"], json!([reporter]));
}

#[test]
fn node_role_application_calls_are_flagged() {
    let report = with_context();
    let node = workload(&report, "arn:aws:iam::111122223333:role/shop-prod-node");
    assert_eq!(node["kind"], "node-role");
    assert_eq!(evidence_kinds(node), ["node-session"]);
    let finding = &node["findings"][0];
    assert_eq!(finding["kind"], "node-role-application-calls");
    assert_eq!(finding["subjects"], json!(["s3:GetObject"]));
}

#[test]
fn a_record_without_access_key_joins_its_pod_identity_session_by_name() {
    let report = with_context();
    let frontend = workload(&report, "eks/shop-prod/checkout/frontend");
    let by_path: Vec<&Value> = frontend["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["action"] == "ssm:GetParametersByPath")
        .collect();
    assert_eq!(by_path.len(), 1);
    assert_eq!(by_path[0]["count"], 1);
}

#[test]
fn the_join_does_not_depend_on_file_order() {
    let mut files: Vec<String> =
        walkdir::WalkDir::new(sample_trail().join("AWSLogs/111122223333/CloudTrail"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.path().display().to_string())
            .collect();
    files.sort();
    let run_in = |files: &[String]| {
        let paths: Vec<&std::path::Path> = files.iter().map(std::path::Path::new).collect();
        let mut args = vec!["--threads", "1"];
        args.extend(SAMPLE_CONTEXT);
        let report = recommend(&paths, &args).json();
        (report["workloads"].clone(), report["attribution"].clone())
    };
    let forward = run_in(&files);
    files.reverse();
    let backward = run_in(&files);
    // Interleave: odd positions first.
    let shuffled: Vec<String> = files
        .iter()
        .skip(1)
        .step_by(2)
        .chain(files.iter().step_by(2))
        .cloned()
        .collect();
    let interleaved = run_in(&shuffled);
    assert_eq!(forward, backward);
    assert_eq!(forward, interleaved);
    assert_eq!(forward.0.as_array().unwrap().len(), 14);
}

#[test]
fn unreadable_account_context_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("iam.json");
    std::fs::write(&bad, "<html>").unwrap();
    let run = recommend(
        &[&sample_trail()],
        &["--iam-snapshot", bad.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(&format!(
            "error: cannot read the IAM snapshot\n  Caused by: {} is not JSON\n",
            bad.display()
        )),
        "{}",
        run.stderr
    );

    let listed = dir.path().join("associations.json");
    std::fs::write(
        &listed,
        r#"{"associations": [{"clusterName": "shop-prod", "namespace": "billing", "serviceAccount": "invoicer", "associationId": "a-1"}]}"#,
    )
    .unwrap();
    let run = recommend(
        &[&sample_trail()],
        &["--pod-identity-associations", listed.to_str().unwrap()],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("association 0 has no roleArn (list-pod-identity-associations does not return it; export describe-pod-identity-association for each)"),
        "{}",
        run.stderr
    );
}

fn session_call(key: &str, role: &str, source: &str, name: &str, time: &str) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:s",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/botocore-session-1"),
            "accountId": "111122223333", "accessKeyId": key,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::111122223333:role/{role}"),
                "accountId": "111122223333", "userName": role}}},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "requestParameters": null, "responseElements": null, "eventID": format!("{key}-{name}-{time}"),
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
    })
}

#[test]
fn day_by_day_reading_retires_sessions_and_gives_the_same_result() {
    use crate::util::{gzip, iamtrim, write};
    let dir = tempfile::tempdir().unwrap();
    let dated = dir.path().join("dated");
    let flat = dir.path().join("flat");
    let days: [(&str, Vec<Value>); 3] = [
        (
            "01",
            vec![
                irsa_vending("ASIADAY1", "shop", "api", "api", "2026-11-01T06:00:00Z"),
                session_call(
                    "ASIADAY1",
                    "api",
                    "sqs.amazonaws.com",
                    "SendMessage",
                    "2026-11-01T06:05:00Z",
                ),
                session_call(
                    "ASIAUNBOUND1",
                    "api",
                    "sqs.amazonaws.com",
                    "PurgeQueue",
                    "2026-11-01T07:00:00Z",
                ),
            ],
        ),
        (
            "02",
            vec![
                irsa_vending("ASIADAY2", "shop", "api", "api", "2026-11-02T06:00:00Z"),
                session_call(
                    "ASIADAY2",
                    "api",
                    "sqs.amazonaws.com",
                    "ReceiveMessage",
                    "2026-11-02T06:05:00Z",
                ),
            ],
        ),
        // The vending of the day-3 session is in a file of its own region, read after the call's.
        (
            "03",
            vec![session_call(
                "ASIADAY3",
                "api",
                "sqs.amazonaws.com",
                "DeleteMessage",
                "2026-11-03T06:05:00Z",
            )],
        ),
    ];
    for (day, records) in &days {
        let body = gzip(json!({"Records": records}).to_string().as_bytes());
        let name = format!("111122223333_CloudTrail_us-east-1_202611{day}T0610Z_a.json.gz");
        write(
            &dated.join(format!(
                "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/{day}/{name}"
            )),
            &body,
        );
        write(&flat.join(&name), &body);
    }
    let vending = gzip(json!({"Records": [irsa_vending("ASIADAY3", "shop", "api", "api", "2026-11-03T06:00:00Z")]}).to_string().as_bytes());
    let name = "111122223333_CloudTrail_us-west-2_20261103T0605Z_b.json.gz";
    write(
        &dated.join(format!(
            "AWSLogs/111122223333/CloudTrail/us-west-2/2026/11/03/{name}"
        )),
        &vending,
    );
    write(&flat.join(name), &vending);

    let run = |path: &std::path::Path| {
        let run = iamtrim(&[
            "recommend",
            "--trail",
            path.to_str().unwrap(),
            "--format",
            "json",
        ]);
        assert_eq!(run.code, 0, "{}", run.stderr);
        let report = run.json();
        (report["workloads"].clone(), report["attribution"].clone())
    };
    let by_day = run(&dated);
    assert_eq!(by_day, run(&flat));
    // Read day by day, the join forgot day 1's and day 2's sessions before the end. (Peaks
    // depend on when a watermark overtakes a worker, so only the retirements are exact.)
    let stats = crate::util::iamtrim_with_aws(
        &[
            "recommend",
            "--trail",
            dated.to_str().unwrap(),
            "--format",
            "json",
        ],
        &[("IAMTRIM_STATS", "1")],
    );
    assert!(
        stats
            .stderr
            .contains(" retired_pending=1 retired_bindings=3\n"),
        "{}",
        stats.stderr
    );
    let api = workload_ids(&json!({"workloads": by_day.0}));
    assert_eq!(
        api,
        [
            "arn:aws:iam::111122223333:role/api".to_owned(),
            format!("eks/{IRSA_CLUSTER}/shop/api"),
        ]
    );
    assert_eq!(
        by_day.1["by_evidence"]["irsa-web-identity"],
        json!({"sessions": 3, "events": 3})
    );
    assert_eq!(
        by_day.1["by_evidence"]["vending-not-in-input"],
        json!({"sessions": 1, "events": 1})
    );
}
