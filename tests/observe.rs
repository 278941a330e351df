//! Never recommend removing what the trail could not see: observability of each grant (#20).

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{gzip, recommend, write};

const A: &str = "111122223333";
const TRAIL_ARN: &str = "arn:aws:cloudtrail:us-east-1:111122223333:trail/main";
const QUEUE: &str = "arn:aws:sqs:us-east-1:111122223333:jobs";
const TABLE: &str = "arn:aws:dynamodb:us-east-1:111122223333:table/orders";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e";

fn session_call(name: &str, source: &str, request: Value, time: &str, data: bool) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEDATA:s",
            "arn": format!("arn:aws:sts::{A}:assumed-role/dataplane/s"), "accountId": A,
            "accessKeyId": "ASIADATAPLANE0000001",
            "sessionContext": {"attributes": {"creationDate": "2026-11-01T06:00:00Z", "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{A}:role/dataplane"),
                "principalId": "AROAEXAMPLEDATA", "accountId": A, "userName": "dataplane"}}},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": request, "responseElements": null, "requestID": format!("req-{name}-{time}"),
        "eventID": format!("{name}-{time}"), "readOnly": true, "eventType": "AwsApiCall",
        "managementEvent": !data, "recipientAccountId": A,
        "eventCategory": if data { "Data" } else { "Management" }
    })
}

fn files(dir: &Path, records: Vec<Value>, policy: Value, trail_config: Option<Value>) {
    write(
        &dir.join(format!("logs/AWSLogs/{A}/CloudTrail/us-east-1/2026/11/01/{A}_CloudTrail_us-east-1_20261101T0605Z_X.json.gz")),
        &gzip(json!({"Records": records}).to_string().as_bytes()),
    );
    write(&dir.join("policy.json"), policy.to_string().as_bytes());
    if let Some(config) = trail_config {
        write(&dir.join("trails.json"), config.to_string().as_bytes());
    }
}

fn trails(selectors: Value) -> Value {
    json!({
        "trailList": [{"Name": "main", "TrailARN": TRAIL_ARN, "HomeRegion": "us-east-1",
            "IsMultiRegionTrail": true, "IsOrganizationTrail": false, "S3BucketName": "trail-logs"}],
        "selectors": [selectors]
    })
}

fn diff(dir: &Path, extra: &[&str]) -> (i32, Value) {
    let logs = dir.join("logs");
    let policy = dir.join("policy.json");
    let mut args = vec!["--diff", "--policy", policy.to_str().unwrap()];
    let config = dir.join("trails.json");
    if config.exists() {
        args.extend(["--trail-config", config.to_str().unwrap()]);
    }
    args.extend(extra);
    let run = recommend(&[&logs], &args);
    assert!(run.code <= 2, "{}", run.stderr);
    (run.code, run.json())
}

fn unused(report: &Value) -> Vec<(String, bool, String)> {
    report["diffs"][0]["granted_unused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["action"].as_str().unwrap().to_owned(),
                g["observable"].as_bool().unwrap(),
                g["unobservable_because"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
            )
        })
        .collect()
}

fn data_plane_policy() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "Objects", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::data-bucket/*"},
        {"Sid": "Queue", "Effect": "Allow", "Action": ["sqs:SendMessage", "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:DeleteQueue"], "Resource": QUEUE},
        {"Sid": "Table", "Effect": "Allow", "Action": "dynamodb:PutItem", "Resource": TABLE}
    ]})
}

/// The resources of the statements of `policy` that grant `action`.
fn granted_resources(policy: &Value, action: &str) -> Vec<String> {
    statements_with(policy, action)
        .iter()
        .flat_map(|s| s["Resource"].as_array().unwrap().clone())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect()
}

fn statements_with(policy: &Value, action: &str) -> Vec<Value> {
    policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
        .cloned()
        .collect()
}

#[test]
fn a_management_only_trail_keeps_the_data_plane_grants_and_removes_an_unused_management_write() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        vec![session_call(
            "GetQueueAttributes",
            "sqs.amazonaws.com",
            json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/jobs", "attributeNames": ["All"]}),
            "2026-11-01T06:10:00Z",
            false,
        )],
        data_plane_policy(),
        Some(trails(json!({"TrailARN": TRAIL_ARN, "EventSelectors": [
            {"ReadWriteType": "All", "IncludeManagementEvents": true, "DataResources": [], "ExcludeManagementEventSources": []}]}))),
    );
    let (code, report) = diff(dir.path(), &[]);
    // sqs:DeleteQueue is a management write the trail records: unused, observable, removable.
    assert_eq!(code, 1, "drift from the one observable unused grant");
    let unused = unused(&report);
    let by = |a: &str| unused.iter().find(|(x, ..)| x == a).unwrap().clone();
    assert!(by("sqs:DeleteQueue").1);
    for action in [
        "s3:GetObject",
        "sqs:SendMessage",
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "dynamodb:PutItem",
    ] {
        let (_, observable, because) = by(action);
        assert!(!observable, "{action}");
        assert!(
            because.contains("data event, which it does not record"),
            "{action}: {because}"
        );
        assert!(because.starts_with("trail main: "), "{because}");
    }
    let proposed = &report["diffs"][0]["proposed_policy"];
    // Kept, with the current policy's resources, in NotObservable statements.
    let kept = statements_with(proposed, "s3:GetObject");
    assert_eq!(kept.len(), 1);
    assert!(
        kept[0]["Sid"]
            .as_str()
            .unwrap()
            .starts_with("NotObservable")
    );
    assert_eq!(kept[0]["Resource"], json!(["arn:aws:s3:::data-bucket/*"]));
    assert!(statements_with(proposed, "sqs:DeleteQueue").is_empty());
    assert_eq!(statements_with(proposed, "sqs:GetQueueAttributes").len(), 1);
    // An evaluator that is not iamtrim's own agrees: the proposal still allows the data plane.
    if let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") {
        let requests = [
            ("s3:GetObject", "arn:aws:s3:::data-bucket/reports/q4.csv"),
            ("sqs:SendMessage", QUEUE),
            ("sqs:ReceiveMessage", QUEUE),
            ("sqs:DeleteMessage", QUEUE),
            ("dynamodb:PutItem", TABLE),
            ("sqs:DeleteQueue", QUEUE),
        ];
        let results = crate::implied::simulate(&modules, vec![proposed.clone()], &requests);
        assert_eq!(results.len(), 6);
        for line in &results[..5] {
            assert!(line.starts_with("Allowed "), "{line}");
        }
        assert!(
            results[5].starts_with("ImplicitlyDenied "),
            "{}",
            results[5]
        );
    }
    // The run says what the trail does not record.
    let coverage = &report["input"]["coverage"];
    assert!(
        coverage["source"]
            .as_str()
            .unwrap()
            .starts_with("--trail-config")
    );
    assert!(
        coverage["not_recorded"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n == "data events of AWS::S3::Object (s3.amazonaws.com)"),
        "{coverage}"
    );

    // --drop-unobservable accepts the risk.
    let (_, dropped) = diff(dir.path(), &["--drop-unobservable"]);
    assert!(statements_with(&dropped["diffs"][0]["proposed_policy"], "s3:GetObject").is_empty());
}

#[test]
fn without_a_trail_configuration_missing_data_events_are_inferred_from_the_input() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        vec![
            session_call(
                "GetQueueAttributes",
                "sqs.amazonaws.com",
                json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/jobs"}),
                "2026-11-01T06:10:00Z",
                false,
            ),
            // The input holds S3 data events, so S3's are recorded; none from SQS or DynamoDB.
            session_call(
                "GetObject",
                "s3.amazonaws.com",
                json!({"bucketName": "data-bucket", "key": "reports/q4.csv"}),
                "2026-11-01T06:11:00Z",
                true,
            ),
        ],
        data_plane_policy(),
        None,
    );
    let (code, report) = diff(dir.path(), &[]);
    assert_eq!(code, 1);
    let unused = unused(&report);
    let (_, observable, because) = unused
        .iter()
        .find(|(a, ..)| a == "sqs:SendMessage")
        .unwrap();
    assert!(!observable);
    assert!(
        because.contains("the input has no data events from sqs.amazonaws.com"),
        "{because}"
    );
    assert!(unused.iter().all(|(a, ..)| a != "s3:GetObject"), "used");
    assert!(
        unused
            .iter()
            .find(|(a, ..)| a == "sqs:DeleteQueue")
            .unwrap()
            .1
    );
    assert_eq!(
        report["input"]["coverage"]["data_events"],
        json!({"s3.amazonaws.com": 1})
    );
}

#[test]
fn selectors_that_record_one_buckets_objects_keep_the_other_bucket() {
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        vec![session_call(
            "GetObject",
            "s3.amazonaws.com",
            json!({"bucketName": "logged", "key": "a.csv"}),
            "2026-11-01T06:11:00Z",
            true,
        )],
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::logged/*", "arn:aws:s3:::unlogged/*"]},
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": KEY},
            {"Effect": "Allow", "Action": ["ec2:DescribeInstances", "ec2:TerminateInstances"], "Resource": "*"}
        ]}),
        Some(trails(
            json!({"TrailARN": TRAIL_ARN, "AdvancedEventSelectors": [
            {"Name": "writes, no KMS", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Management"]},
                {"Field": "readOnly", "Equals": ["false"]},
                {"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]}]},
            {"Name": "one bucket", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::logged/"]}]}]}),
        )),
    );
    let (code, report) = diff(dir.path(), &[]);
    assert_eq!(code, 1);
    let proposed = &report["diffs"][0]["proposed_policy"];
    let resources = granted_resources(proposed, "s3:GetObject");
    // The logged bucket narrows to the object used; the unlogged one is kept whole.
    assert!(
        resources.iter().any(|r| r == "arn:aws:s3:::logged/a.csv"),
        "{resources:?}"
    );
    assert!(
        resources.iter().any(|r| r == "arn:aws:s3:::unlogged/*"),
        "{resources:?}"
    );
    assert!(
        !resources.iter().any(|r| r == "arn:aws:s3:::logged/*"),
        "{resources:?}"
    );
    let unused = unused(&report);
    let get = |a: &str| unused.iter().find(|(x, ..)| x == a).unwrap().clone();
    // Read events and KMS are not recorded; an unused write is.
    assert!(!get("ec2:DescribeInstances").1);
    assert!(!get("kms:Decrypt").1);
    assert!(get("ec2:TerminateInstances").1);
    assert!(!statements_with(proposed, "kms:Decrypt").is_empty());
    assert!(statements_with(proposed, "ec2:TerminateInstances").is_empty());
}

/// A credential scope moto routes by (it does not check signatures).
fn auth(service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// An IAM Query API call to moto.
fn iam(moto: &crate::util::Moto, params: &[(&str, &str)]) {
    let mut form = vec![("Version", "2010-05-08")];
    form.extend_from_slice(params);
    ureq::post(&moto.endpoint)
        .header("Authorization", &auth("iam"))
        .send_form(form)
        .unwrap();
}

/// A CloudTrail API call to moto (JSON protocol; moto routes by the credential scope and does
/// not check signatures).
fn cloudtrail(moto: &crate::util::Moto, operation: &str, body: Value) {
    ureq::post(&moto.endpoint)
        .header("Authorization", &auth("cloudtrail"))
        .header("Content-Type", "application/x-amz-json-1.1")
        .header(
            "X-Amz-Target",
            &format!("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.{operation}"),
        )
        .send(body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("cloudtrail:{operation}: {e}"));
}

#[test]
fn with_aws_the_trails_own_selectors_decide_through_the_cloudtrail_api() {
    let Some(moto) = crate::util::Moto::start_in(Some(A)) else {
        return;
    };
    // A management-events trail, as an account creates it, whose selectors also log the objects
    // of one bucket (advanced selectors), read by iamtrim with DescribeTrails and
    // GetEventSelectors through the SDK.
    ureq::put(&format!("{}/trail-logs", moto.endpoint))
        .header("Authorization", &auth("s3"))
        .send_empty()
        .unwrap();
    cloudtrail(
        &moto,
        "CreateTrail",
        json!({"Name": "main", "S3BucketName": "trail-logs", "IsMultiRegionTrail": true}),
    );
    cloudtrail(
        &moto,
        "PutEventSelectors",
        json!({"TrailName": "main", "AdvancedEventSelectors": [
            {"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]}]},
            {"Name": "logged bucket", "FieldSelectors": [
                {"Field": "eventCategory", "Equals": ["Data"]},
                {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
                {"Field": "resources.ARN", "StartsWith": ["arn:aws:s3:::logged/"]}]}
        ]}),
    );
    // The role and its current policy, in IAM.
    let policy = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": ["arn:aws:s3:::logged/*", "arn:aws:s3:::unlogged/*"]},
        {"Effect": "Allow", "Action": "sqs:DeleteQueue", "Resource": QUEUE}
    ]});
    iam(
        &moto,
        &[
            ("Action", "CreateRole"),
            ("RoleName", "dataplane"),
            (
                "AssumeRolePolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[]}"#,
            ),
        ],
    );
    iam(
        &moto,
        &[
            ("Action", "PutRolePolicy"),
            ("RoleName", "dataplane"),
            ("PolicyName", "app"),
            ("PolicyDocument", &policy.to_string()),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    files(
        dir.path(),
        vec![session_call(
            "GetObject",
            "s3.amazonaws.com",
            json!({"bucketName": "logged", "key": "a.csv"}),
            "2026-11-01T06:11:00Z",
            true,
        )],
        policy,
        None,
    );
    let logs = dir.path().join("logs");
    let run = crate::util::iamtrim_with_aws(
        &[
            "recommend",
            "--format",
            "json",
            "--trail",
            logs.to_str().unwrap(),
            "--diff",
            "--aws",
        ],
        &[("AWS_ENDPOINT_URL", &moto.endpoint)],
    );
    let report = run.json();
    let coverage = &report["input"]["coverage"];
    assert_eq!(
        run.code, 1,
        "drift: {}\n{coverage}\n{}",
        run.stderr, report["diffs"]
    );
    assert_eq!(
        coverage["source"],
        "--aws: cloudtrail:DescribeTrails and GetEventSelectors"
    );
    // What the API said is kept with the recommendation (and so in evidence packs).
    assert_eq!(coverage["trail_config"]["trailList"][0]["Name"], "main");
    assert_eq!(
        coverage["trail_config"]["selectors"][0]["AdvancedEventSelectors"][1]["Name"],
        "logged bucket"
    );
    // The logged bucket narrows to the object used; the unlogged one is kept whole.
    let resources = granted_resources(&report["diffs"][0]["proposed_policy"], "s3:GetObject");
    assert!(
        resources.iter().any(|r| r == "arn:aws:s3:::unlogged/*"),
        "{resources:?}"
    );
    assert!(
        !resources.iter().any(|r| r == "arn:aws:s3:::logged/*"),
        "{resources:?}"
    );
    let unused = unused(&report);
    // A management write the trail records: unused and removable.
    let (_, observable, _) = unused
        .iter()
        .find(|(a, ..)| a == "sqs:DeleteQueue")
        .unwrap();
    assert!(observable);
    assert!(statements_with(&report["diffs"][0]["proposed_policy"], "sqs:DeleteQueue").is_empty());
}

#[test]
fn without_a_configuration_each_bucket_with_no_data_events_counts_as_not_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let mut call = session_call(
        "GetObject",
        "s3.amazonaws.com",
        json!({"bucketName": "data-bucket", "key": "reports/q4.csv"}),
        "2026-11-01T06:11:00Z",
        true,
    );
    call["resources"] = json!([
        {"type": "AWS::S3::Object", "ARN": "arn:aws:s3:::data-bucket/reports/q4.csv"},
        {"accountId": A, "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::data-bucket"}
    ]);
    files(
        dir.path(),
        vec![call],
        json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject",
             "Resource": ["arn:aws:s3:::data-bucket/*", "arn:aws:s3:::archive-bucket/*"]}
        ]}),
        None,
    );
    let (_, report) = diff(dir.path(), &[]);
    let resources = granted_resources(&report["diffs"][0]["proposed_policy"], "s3:GetObject");
    assert!(
        resources
            .iter()
            .any(|r| r == "arn:aws:s3:::data-bucket/reports/q4.csv"),
        "{resources:?}"
    );
    assert!(
        resources
            .iter()
            .any(|r| r == "arn:aws:s3:::archive-bucket/*"),
        "{resources:?}"
    );
    assert!(
        !resources.iter().any(|r| r == "arn:aws:s3:::data-bucket/*"),
        "{resources:?}"
    );
}
