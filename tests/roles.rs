//! A policy for every role (`roles[]`, `roles/<account>/<role>.json`): the unit IAM attaches.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{SAMPLE_CONTEXT, gzip, iamtrim, irsa_vending, recommend, sample_trail, write};

const A: &str = "111122223333";
const B: &str = "444455556666";
const OIDC: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";

fn identity(key: &str, account: &str, role: &str) -> Value {
    json!({"type": "AssumedRole", "principalId": format!("AROAEXAMPLE{role}:s"),
        "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/s"),
        "accountId": account, "accessKeyId": key,
        "sessionContext": {"attributes": {"creationDate": "2026-11-01T06:00:00Z", "mfaAuthenticated": "false"},
            "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}"),
            "principalId": format!("AROAEXAMPLE{role}"), "accountId": account, "userName": role}}})
}

/// `key`'s session (role `from` in `account`) assumes `to` (an ARN), getting `new_key`;
/// `recipient` is the account this copy was delivered to.
#[allow(clippy::too_many_arguments)]
fn assume(
    key: &str,
    account: &str,
    from: &str,
    to: &str,
    new_key: &str,
    time: &str,
    recipient: &str,
    shared: &str,
) -> Value {
    let to_account = to.split(':').nth(4).unwrap();
    let name = to.rsplit('/').next().unwrap();
    json!({
        "eventVersion": "1.08", "userIdentity": identity(key, account, from),
        "eventTime": time, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": {"roleArn": to, "roleSessionName": "etl"},
        "responseElements": {"credentials": {"accessKeyId": new_key, "sessionToken": "IQoJSYNTHETIC", "expiration": "later"},
            "assumedRoleUser": {"assumedRoleId": "AROAEXAMPLE:etl", "arn": format!("arn:aws:sts::{to_account}:assumed-role/{name}/etl")}},
        "requestID": format!("req-{shared}"), "eventID": format!("{shared}-{recipient}"), "readOnly": true,
        "resources": [{"accountId": to_account, "type": "AWS::IAM::Role", "ARN": to}],
        "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": recipient,
        "sharedEventID": shared, "eventCategory": "Management"
    })
}

fn put(key: &str, account: &str, role: &str, bucket: &str, object: &str, time: &str) -> Value {
    json!({
        "eventVersion": "1.09", "userIdentity": identity(key, account, role),
        "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": "PutObject",
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": {"bucketName": bucket, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com"), "key": object},
        "responseElements": null, "requestID": format!("req-{object}"), "eventID": format!("put-{object}"),
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": false, "recipientAccountId": account,
        "eventCategory": "Data",
        "resources": [{"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::{bucket}/{object}")},
            {"accountId": account, "type": "AWS::S3::Bucket", "ARN": format!("arn:aws:s3:::{bucket}")}]
    })
}

fn call(
    key: &str,
    account: &str,
    role: &str,
    source: &str,
    name: &str,
    request: Value,
    time: &str,
) -> Value {
    json!({
        "eventVersion": "1.09", "userIdentity": identity(key, account, role),
        "eventTime": time, "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": request, "responseElements": null, "requestID": format!("req-{name}-{time}"),
        "eventID": format!("{key}-{name}-{time}"), "readOnly": false, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": account, "eventCategory": "Management"
    })
}

/// One log file per account, as an organisation trail delivers them.
fn trail(dir: &Path, a: Vec<Value>, b: Vec<Value>) {
    for (account, records) in [(A, a), (B, b)] {
        let path = dir.join(format!(
            "AWSLogs/o-abc123/{account}/CloudTrail/us-east-1/2026/11/01/{account}_CloudTrail_us-east-1_20261101T0605Z_X.json.gz"
        ));
        write(
            &path,
            &gzip(json!({"Records": records}).to_string().as_bytes()),
        );
    }
}

fn statements(policy: &Value) -> Vec<(Vec<String>, Vec<String>)> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let list = |v: &Value| -> Vec<String> {
                v.as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_owned())
                    .collect()
            };
            (list(&s["Action"]), list(&s["Resource"]))
        })
        .collect()
}

/// Every (action, resource) a policy grants.
fn grants(policy: &Value) -> std::collections::BTreeSet<(String, String)> {
    statements(policy)
        .into_iter()
        .flat_map(|(actions, resources)| {
            actions
                .into_iter()
                .flat_map(move |a| resources.clone().into_iter().map(move |r| (a.clone(), r)))
        })
        .collect()
}

fn role<'a>(report: &'a Value, arn: &str) -> &'a Value {
    report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == arn)
        .unwrap_or_else(|| panic!("no role {arn} in {}", report["roles"]))
}

#[test]
fn a_cross_account_chain_gives_each_role_exactly_what_its_sessions_used() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let writer = format!("arn:aws:iam::{B}:role/data-writer");
    let shared = "6f1c2d3e-0000-4000-8000-00000000a55e";
    trail(
        &logs,
        vec![
            irsa_vending(
                "ASIAK1LOADER00000001",
                "etl",
                "loader",
                "etl-loader",
                "2026-11-01T06:00:00Z",
            ),
            assume(
                "ASIAK1LOADER00000001",
                A,
                "etl-loader",
                &writer,
                "ASIAK2WRITER00000002",
                "2026-11-01T06:00:10Z",
                A,
                shared,
            ),
        ],
        vec![
            // CloudTrail delivers the AssumeRole to the role's account too: one call, two copies.
            assume(
                "ASIAK1LOADER00000001",
                A,
                "etl-loader",
                &writer,
                "ASIAK2WRITER00000002",
                "2026-11-01T06:00:10Z",
                B,
                shared,
            ),
            put(
                "ASIAK2WRITER00000002",
                B,
                "data-writer",
                "b-landing",
                "etl/part-0.parquet",
                "2026-11-01T06:00:20Z",
            ),
            put(
                "ASIAK2WRITER00000002",
                B,
                "data-writer",
                "b-landing",
                "etl/part-1.parquet",
                "2026-11-01T06:00:21Z",
            ),
        ],
    );
    let out = dir.path().join("out");
    let run = recommend(&[&logs], &["--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["input"]["records"], 5);
    assert_eq!(report["input"]["shared_event_copies"], 1);
    assert_eq!(report["input"]["duplicate_events"], 0);

    let loader_role = format!("arn:aws:iam::{A}:role/etl-loader");
    let loader = role(&report, &loader_role);
    assert_eq!(
        statements(&loader["policy"]),
        [(vec!["sts:AssumeRole".to_owned()], vec![writer.clone()])]
    );
    assert_eq!(
        loader["workloads"],
        json!([{"id": format!("eks/{OIDC}/etl/loader"), "calls": 1, "share": 1.0}])
    );
    assert_eq!(loader["findings"], json!([]));
    let data = role(&report, &writer);
    assert_eq!(
        statements(&data["policy"]),
        [(
            vec!["s3:PutObject".to_owned()],
            vec![
                "arn:aws:s3:::b-landing/etl/part-0.parquet".to_owned(),
                "arn:aws:s3:::b-landing/etl/part-1.parquet".to_owned()
            ]
        )]
    );
    assert_eq!(data["account"], B);
    assert_eq!(data["findings"][0]["kind"], "chained-role");

    // The workload view keeps the total need, broken down by role; the AssumeRole counted once.
    let workload = &report["workloads"][0];
    assert_eq!(workload["id"], format!("eks/{OIDC}/etl/loader"));
    let assume_row = workload["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["action"] == "sts:AssumeRole")
        .unwrap();
    assert_eq!(assume_row["count"], 1);
    assert_eq!(workload["policy_by_role"][&loader_role], loader["policy"]);
    assert_eq!(workload["policy_by_role"][&writer], data["policy"]);

    // --out: each role's policy in its own file, beside the workload's total.
    let read = |rel: &str| -> Value {
        serde_json::from_str(&std::fs::read_to_string(out.join(rel)).unwrap()).unwrap()
    };
    assert_eq!(
        read(&format!("roles/{A}/etl-loader.json")),
        loader["policy"]
    );
    assert_eq!(read(&format!("roles/{B}/data-writer.json")), data["policy"]);
    assert_eq!(
        read(&format!("eks/{OIDC}/etl/loader.json")),
        workload["policy"]
    );
}

#[test]
fn a_chain_of_depth_two_in_one_account_splits_by_role() {
    let dir = tempfile::tempdir().unwrap();
    let logs = dir.path().join("logs");
    let hop = format!("arn:aws:iam::{A}:role/hop");
    let sink = format!("arn:aws:iam::{A}:role/sink");
    trail(
        &logs,
        vec![
            irsa_vending(
                "ASIAK1APP000000000001",
                "jobs",
                "runner",
                "runner",
                "2026-11-01T06:00:00Z",
            ),
            call(
                "ASIAK1APP000000000001",
                A,
                "runner",
                "sqs.amazonaws.com",
                "SendMessage",
                json!({"queueUrl": format!("https://sqs.us-east-1.amazonaws.com/{A}/jobs")}),
                "2026-11-01T06:00:05Z",
            ),
            assume(
                "ASIAK1APP000000000001",
                A,
                "runner",
                &hop,
                "ASIAK2HOP000000000002",
                "2026-11-01T06:00:10Z",
                A,
                "s-1",
            ),
            assume(
                "ASIAK2HOP000000000002",
                A,
                "hop",
                &sink,
                "ASIAK3SINK00000000003",
                "2026-11-01T06:00:20Z",
                A,
                "s-2",
            ),
            call(
                "ASIAK3SINK00000000003",
                A,
                "sink",
                "dynamodb.amazonaws.com",
                "PutItem",
                json!({"tableName": "results"}),
                "2026-11-01T06:00:30Z",
            ),
        ],
        vec![],
    );
    let run = recommend(&[&logs], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let runner = role(&report, &format!("arn:aws:iam::{A}:role/runner"));
    assert_eq!(
        statements(&runner["policy"]),
        [
            (
                vec!["sqs:SendMessage".to_owned()],
                vec![format!("arn:aws:sqs:us-east-1:{A}:jobs")]
            ),
            (vec!["sts:AssumeRole".to_owned()], vec![hop.clone()]),
        ]
    );
    assert_eq!(
        statements(&role(&report, &hop)["policy"]),
        [(vec!["sts:AssumeRole".to_owned()], vec![sink.clone()])]
    );
    assert_eq!(
        statements(&role(&report, &sink)["policy"]),
        [(
            vec!["dynamodb:PutItem".to_owned()],
            vec![format!("arn:aws:dynamodb:us-east-1:{A}:table/results")]
        )]
    );
    assert_eq!(role(&report, &sink)["findings"][0]["kind"], "chained-role");
    assert_eq!(report["workloads"].as_array().unwrap().len(), 1);
}

#[test]
fn a_shared_roles_policy_is_the_union_of_its_service_accounts_policies() {
    let run = recommend(&[&sample_trail()], &SAMPLE_CONTEXT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let shared = role(&report, &format!("arn:aws:iam::{A}:role/orders-shared"));
    assert_eq!(shared["findings"][0]["kind"], "shared-role");
    let mut union = std::collections::BTreeSet::new();
    for id in ["reporter", "worker"] {
        let w = crate::util::workload(&report, &format!("eks/{OIDC}/orders/{id}"));
        union.extend(grants(
            &w["policy_by_role"][&shared["role"].as_str().unwrap()],
        ));
        assert!(
            shared["workloads"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["id"] == w["id"])
        );
    }
    assert_eq!(grants(&shared["policy"]), union);
    let shares: f64 = shared["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["share"].as_f64().unwrap())
        .sum();
    assert!((shares - 1.0).abs() < 1e-3, "{shares}");
}

#[test]
fn the_text_view_lists_the_policy_to_attach_to_each_role() {
    let trail = sample_trail();
    let mut args = vec![
        "recommend",
        "--trail",
        trail.to_str().unwrap(),
        "--format",
        "text",
    ];
    args.extend(SAMPLE_CONTEXT);
    let run = iamtrim(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout.contains("Policies to attach, one per role"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .contains(&format!("   arn:aws:iam::{A}:role/reports-writer: "))
    );
    assert!(run.stdout.contains(
        "      chained-role: reached only by role chaining (from eks/shop-prod/batch/exporter)"
    ));
}

/// Every role policy of the sample trail allows, under an independent IAM evaluator, every call
/// the role's sessions made (as the diff lists them per role), and is exactly the union of what
/// its workloads needed from it (the same rules as the workload policies, so nothing wider).
#[test]
fn an_independent_evaluator_allows_every_call_of_each_role_under_its_policy() {
    let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let allow_all = dir.path().join("allow-all.json");
    write(
        &allow_all,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
            .to_string()
            .as_bytes(),
    );
    // Without the grants the trail cannot show, which the proposal otherwise keeps.
    let run = recommend(
        &[&sample_trail()],
        &[
            "--diff",
            "--policy",
            allow_all.to_str().unwrap(),
            "--drop-unobservable",
        ],
    );
    assert!(run.code <= 1, "{}", run.stderr);
    let report = run.json();
    let mut checked = 0;
    for diff in report["diffs"].as_array().unwrap() {
        let arn = diff["role"].as_str().unwrap();
        let entry = role(&report, arn);
        // The diff proposes exactly the role's policy.
        assert_eq!(diff["proposed_policy"], entry["policy"], "{arn}");
        let requests: Vec<(&str, &str)> = diff["used_and_granted"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| {
                (
                    u["action"].as_str().unwrap(),
                    u["resource"].as_str().unwrap(),
                )
            })
            .filter(|(_, resource)| !resource.contains('*'))
            .collect();
        let mut policies = vec![entry["policy"].clone()];
        policies.extend(entry["policy_parts"].as_array().unwrap().iter().cloned());
        for line in crate::implied::simulate(&modules, policies, &requests) {
            assert!(line.starts_with("Allowed "), "{arn}: {line}");
            checked += 1;
        }
        let mut union = std::collections::BTreeSet::new();
        for w in report["workloads"].as_array().unwrap() {
            if let Some(p) = w["policy_by_role"].get(arn) {
                union.extend(grants(p));
            }
        }
        let own = grants(&entry["policy"]);
        if entry["workloads"].as_array().unwrap().len() == 1 {
            assert_eq!(own, union, "{arn}");
        }
    }
    assert!(checked > 40, "{checked} requests checked");
}
