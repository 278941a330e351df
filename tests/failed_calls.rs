//! #29: a call that failed after authorization used its permission; only authorization failures
//! are denied, and authentication failures are neither.

use serde_json::{Value, json};

use crate::util::{actions, gzip, iamtrim, recommend, workload, write};

const ROLE: &str = "arn:aws:iam::111122223333:role/ledger-writer";

/// One call of the `ledger-writer` role's session, failed with `code` (and `message`).
fn call(
    n: u32,
    source: &str,
    name: &str,
    request: Value,
    code: Option<&str>,
    message: Option<&str>,
) -> Value {
    let mut event = json!({
        "eventVersion": "1.10",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLEID:ledger-1",
            "arn": "arn:aws:sts::111122223333:assumed-role/ledger-writer/ledger-1",
            "accountId": "111122223333", "accessKeyId": "ASIAFAILEDCALLS1",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLEID",
                "arn": ROLE, "accountId": "111122223333", "userName": "ledger-writer"},
                "attributes": {"creationDate": "2026-11-20T07:00:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": format!("2026-11-20T08:{n:02}:00Z"), "eventSource": source, "eventName": name,
        "awsRegion": "eu-west-1", "sourceIPAddress": "10.0.3.4", "userAgent": "aws-sdk-java/2.25.0",
        "requestParameters": request, "responseElements": null,
        "requestID": format!("req-{n}"), "eventID": format!("0000{n:04}-1c2d-4e5f-8a9b-0c1d2e3f4a5b"),
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "111122223333", "eventCategory": "Management"
    });
    if let Some(code) = code {
        event["errorCode"] = code.into();
    }
    if let Some(message) = message {
        event["errorMessage"] = message.into();
    }
    event
}

fn trail(dir: &std::path::Path) -> std::path::PathBuf {
    let object = json!({"bucketName": "ledger-archive", "key": "2026/11/20/batch.json"});
    let table = json!({"tableName": "ledger-entries"});
    let secret = json!({"secretId": "arn:aws:secretsmanager:eu-west-1:111122223333:secret:ledger/db-AbCdEf"});
    let records = vec![
        // Failed after authorization: used their permission.
        call(
            1,
            "s3.amazonaws.com",
            "GetObject",
            object.clone(),
            Some("NoSuchKey"),
            Some("The specified key does not exist."),
        ),
        call(
            2,
            "dynamodb.amazonaws.com",
            "PutItem",
            table.clone(),
            Some("ConditionalCheckFailedException"),
            Some("The conditional request failed"),
        ),
        call(
            3,
            "dynamodb.amazonaws.com",
            "PutItem",
            table.clone(),
            None,
            None,
        ),
        call(
            4,
            "kms.amazonaws.com",
            "Decrypt",
            json!({"keyId": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}),
            Some("ThrottlingException"),
            Some("Rate exceeded"),
        ),
        call(
            5,
            "sqs.amazonaws.com",
            "CreateQueue",
            json!({"queueName": "ledger-events"}),
            Some("QueueAlreadyExists"),
            None,
        ),
        call(
            6,
            "ec2.amazonaws.com",
            "DescribeInstances",
            json!({}),
            Some("Server.InternalError"),
            None,
        ),
        // Denied by authorization: never granted.
        call(
            7,
            "s3.amazonaws.com",
            "PutObject",
            object.clone(),
            Some("AccessDenied"),
            Some("Access Denied"),
        ),
        call(
            8,
            "sns.amazonaws.com",
            "Publish",
            json!({"topicArn": "arn:aws:sns:eu-west-1:111122223333:ledger-alerts"}),
            Some("AuthorizationError"),
            None,
        ),
        call(
            9,
            "ec2.amazonaws.com",
            "TerminateInstances",
            json!({"instancesSet": {"items": [{"instanceId": "i-0abc"}]}}),
            Some("Client.UnauthorizedOperation"),
            Some("You are not authorized to perform this operation."),
        ),
        // A service's own code, with IAM's denial in the message.
        call(
            10,
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": "ledger-hook"}),
            Some("ValidationException"),
            Some(
                "User: arn:aws:sts::111122223333:assumed-role/ledger-writer/ledger-1 is not authorized to perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/hook",
            ),
        ),
        // Not authenticated: neither granted nor denied.
        call(
            11,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            secret.clone(),
            Some("ExpiredTokenException"),
            Some("The security token included in the request is expired"),
        ),
        call(
            12,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            secret,
            Some("ExpiredTokenException"),
            Some("The security token included in the request is expired"),
        ),
    ];
    let path = dir.join("AWSLogs/111122223333/CloudTrail/eu-west-1/2026/11/20/111122223333_CloudTrail_eu-west-1_20261120T0815Z_failed.json.gz");
    write(
        &path,
        &gzip(json!({ "Records": records }).to_string().as_bytes()),
    );
    dir.join("AWSLogs")
}

fn rows<'a>(w: &'a Value, list: &str, action: &str) -> Vec<&'a Value> {
    w[list]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == action)
        .collect()
}

#[test]
fn failed_calls_are_granted_denied_or_neither_by_class() {
    let dir = tempfile::tempdir().unwrap();
    let trail = trail(dir.path());
    let run = recommend(&[&trail], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let w = workload(&report, ROLE);

    // Granted: exact actions on exact resources, with the error codes that say why.
    assert_eq!(
        actions(w, "usage"),
        [
            "dynamodb:PutItem",
            "ec2:DescribeInstances",
            "kms:Decrypt",
            "s3:GetObject",
            "sqs:CreateQueue"
        ]
    );
    let get = rows(w, "usage", "s3:GetObject");
    assert_eq!(get.len(), 1);
    assert_eq!(
        get[0]["resource"],
        "arn:aws:s3:::ledger-archive/2026/11/20/batch.json"
    );
    assert_eq!(get[0]["failed_calls"], 1);
    assert_eq!(get[0]["error_codes"], json!(["NoSuchKey"]));
    // One successful and one failed PutItem: one row of two calls, one of them failed.
    let put = rows(w, "usage", "dynamodb:PutItem");
    assert_eq!(put.len(), 1);
    assert_eq!(
        put[0]["resource"],
        "arn:aws:dynamodb:eu-west-1:111122223333:table/ledger-entries"
    );
    assert_eq!(
        (put[0]["count"].as_u64(), put[0]["failed_calls"].as_u64()),
        (Some(2), Some(1))
    );
    assert_eq!(
        put[0]["error_codes"],
        json!(["ConditionalCheckFailedException"])
    );
    assert_eq!(
        rows(w, "usage", "sqs:CreateQueue")[0]["resource"],
        "arn:aws:sqs:eu-west-1:111122223333:ledger-events"
    );
    let policy = w["policy"].to_string();
    for granted in [
        "s3:GetObject",
        "dynamodb:PutItem",
        "kms:Decrypt",
        "sqs:CreateQueue",
    ] {
        assert!(policy.contains(granted), "{granted} missing from {policy}");
    }

    // Denied: listed, never in the policy.
    assert_eq!(
        actions(w, "denied"),
        [
            "ec2:TerminateInstances",
            "lambda:CreateFunction",
            "s3:PutObject",
            "sns:Publish"
        ]
    );
    for denied in [
        "s3:PutObject",
        "sns:Publish",
        "ec2:TerminateInstances",
        "lambda:CreateFunction",
    ] {
        assert!(!policy.contains(denied), "{denied} in {policy}");
    }
    assert_eq!(
        rows(w, "denied", "lambda:CreateFunction")[0]["error_codes"],
        json!(["ValidationException"])
    );

    // Not authenticated: neither in the policy nor denied, but reported with a finding.
    assert_eq!(
        actions(w, "unauthenticated"),
        ["secretsmanager:GetSecretValue"]
    );
    assert_eq!(
        rows(w, "unauthenticated", "secretsmanager:GetSecretValue")[0]["count"],
        2
    );
    assert!(!policy.contains("secretsmanager"), "{policy}");
    let finding = w["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "unauthenticated-calls")
        .unwrap_or_else(|| panic!("{}", w["findings"]));
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .starts_with("2 calls were rejected before authorization (ExpiredTokenException)")
    );

    // The text view says which permissions were seen only in failed calls.
    let text = iamtrim(&[
        "recommend",
        "--trail",
        trail.to_str().unwrap(),
        "--format",
        "text",
    ]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("s3:GetObject on "))
        .unwrap_or_else(|| panic!("{}", text.stdout));
    assert!(
        line.ends_with("(only failed calls, after authorization: NoSuchKey)"),
        "{line}"
    );
    let line = text
        .stdout
        .lines()
        .find(|l| l.contains("dynamodb:PutItem on "))
        .unwrap();
    assert!(
        line.ends_with("(1 failed after authorization: ConditionalCheckFailedException)"),
        "{line}"
    );
    assert!(
        text.stdout
            .contains("credentials rejected before authorization (neither granted nor denied):")
    );
}

/// The diff counts a call that failed after authorization as a use of its grant.
#[test]
fn the_diff_does_not_call_a_grant_used_by_failed_calls_unused() {
    let dir = tempfile::tempdir().unwrap();
    let trail = trail(dir.path());
    let policy = dir.path().join("current.json");
    write(
        &policy,
        br#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Ledger", "Effect": "Allow", "Action": ["s3:GetObject", "dynamodb:PutItem", "kms:Decrypt", "sqs:CreateQueue", "ec2:DescribeInstances", "secretsmanager:GetSecretValue"], "Resource": "*"}]}"#,
    );
    let run = iamtrim(&[
        "diff",
        "--trail",
        trail.to_str().unwrap(),
        "--policy",
        policy.to_str().unwrap(),
        "--role",
        "ledger-writer",
        "--format",
        "json",
    ]);
    let report = run.json();
    let d = &report["diffs"][0];
    let unused: Vec<&str> = d["granted_unused"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["action"].as_str().unwrap())
        .collect();
    // Only the grant whose calls never reached authorization is unused.
    assert_eq!(unused, ["secretsmanager:GetSecretValue"], "{d}");
    let used: Vec<&str> = d["used_and_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["action"].as_str().unwrap())
        .collect();
    assert!(used.contains(&"s3:GetObject"), "{used:?}");
    let denied: Vec<&str> = d["denied_events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["action"].as_str().unwrap())
        .collect();
    assert!(!denied.contains(&"s3:GetObject"), "{denied:?}");
    assert!(denied.contains(&"s3:PutObject"), "{denied:?}");
    let proposed = d["proposed_policy"].to_string();
    assert!(
        proposed.contains("s3:GetObject") && !proposed.contains("s3:PutObject"),
        "{proposed}"
    );
}
