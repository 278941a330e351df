//! `--condition-network` (#25): a workload whose calls all came through VPC endpoints (or from
//! fixed public addresses) gets `aws:SourceVpce` (or `aws:SourceIp`) on its statements, which an
//! independent evaluator then enforces; any doubt leaves the policy without it, and says why.

use serde_json::{Value, json};

use crate::util::{gzip, iamtrim, irsa_vending, workload, write};

const CLUSTER: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/0f1e2d3c-4b5a-6978-8695-a4b3c2d1e0f9";

fn call(key: &str, role: &str, name: &str, request: Value, from: (&str, Option<&str>)) -> Value {
    let mut record = json!({
        "eventVersion": "1.10",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:1700000000000000001",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/1700000000000000001"),
            "accountId": "111122223333", "accessKeyId": key,
            "sessionContext": {"sessionIssuer": {"type": "Role",
                "arn": format!("arn:aws:iam::111122223333:role/{role}"), "userName": role},
                "webIdFederationData": {}}},
        "eventTime": "2026-11-01T06:05:00Z", "eventSource": "s3.amazonaws.com", "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": from.0, "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": request, "responseElements": null,
        "requestID": format!("r-{key}-{name}-{}", from.0), "eventID": format!("e-{key}-{name}-{}", from.0),
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": false,
        "recipientAccountId": "111122223333", "eventCategory": "Data"
    });
    if let Some(endpoint) = from.1 {
        record["vpcEndpointId"] = json!(endpoint);
        record["vpcEndpointAccountId"] = json!("111122223333");
    }
    record
}

fn put(bucket: &str) -> Value {
    json!({"bucketName": bucket, "key": "out/1.json", "x-amz-server-side-encryption": "aws:kms",
        "x-amz-server-side-encryption-aws-kms-key-id": KEY})
}

#[test]
fn calls_through_one_path_pin_the_policy_to_it() {
    let dir = tempfile::tempdir().unwrap();
    let at = "2026-11-01T06:00:00Z";
    let vpce = Some("vpce-0a1b2c3d4e5f60718");
    let records = vec![
        // Through an S3 gateway endpoint, from pod addresses.
        irsa_vending(
            "ASIAPRIVATE00000001",
            "shop",
            "exporter",
            "shop-exporter",
            at,
        ),
        call(
            "ASIAPRIVATE00000001",
            "shop-exporter",
            "PutObject",
            put("shop-exports"),
            ("10.0.4.17", vpce),
        ),
        call(
            "ASIAPRIVATE00000001",
            "shop-exporter",
            "GetObject",
            json!({"bucketName": "shop-exports", "key": "in/1.json"}),
            ("10.0.9.3", vpce),
        ),
        // Through a NAT gateway's public address.
        irsa_vending("ASIANATGW0000000001", "shop", "mailer", "shop-mailer", at),
        call(
            "ASIANATGW0000000001",
            "shop-mailer",
            "GetObject",
            json!({"bucketName": "shop-templates", "key": "a.html"}),
            ("203.0.113.10", None),
        ),
        // Both: no condition can hold for every call.
        irsa_vending("ASIAMIXED0000000001", "shop", "api", "shop-api", at),
        call(
            "ASIAMIXED0000000001",
            "shop-api",
            "GetObject",
            json!({"bucketName": "shop-assets", "key": "a.png"}),
            ("10.0.4.20", vpce),
        ),
        call(
            "ASIAMIXED0000000001",
            "shop-api",
            "GetObject",
            json!({"bucketName": "shop-assets", "key": "b.png"}),
            ("203.0.113.10", None),
        ),
    ];
    write(
        &dir.path().join("trail/t.json.gz"),
        &gzip(json!({"Records": records}).to_string().as_bytes()),
    );
    let trail = dir.path().join("trail").display().to_string();
    let run = iamtrim(&[
        "recommend",
        "--trail",
        &trail,
        "--format",
        "json",
        "--condition-network",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let exporter = workload(&report, &format!("eks/{CLUSTER}/shop/exporter"));
    let statements = exporter["policy"]["Statement"].as_array().unwrap();
    let condition_of = |action: &str| {
        statements
            .iter()
            .find(|s| s["Action"].as_array().unwrap().iter().any(|a| a == action))
            .unwrap_or_else(|| panic!("no {action} in {statements:?}"))
            .get("Condition")
            .cloned()
    };
    assert_eq!(
        condition_of("s3:PutObject"),
        Some(json!({"StringEquals": {"aws:SourceVpce": ["vpce-0a1b2c3d4e5f60718"]}})),
        "{}",
        exporter["findings"]
    );
    // S3 calls KMS for the object's key itself, from its own network: no condition there.
    assert_eq!(condition_of("kms:GenerateDataKey"), None);
    // The role's policy and the per-role one carry it too.
    let role = report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == "arn:aws:iam::111122223333:role/shop-exporter")
        .unwrap();
    assert_eq!(role["policy"], exporter["policy"]);
    assert_eq!(
        exporter["policy_by_role"]["arn:aws:iam::111122223333:role/shop-exporter"],
        exporter["policy"]
    );
    let mailer = workload(&report, &format!("eks/{CLUSTER}/shop/mailer"));
    assert_eq!(
        mailer["policy"]["Statement"][0]["Condition"],
        json!({"IpAddress": {"aws:SourceIp": ["203.0.113.10/32"]}})
    );
    let api = workload(&report, &format!("eks/{CLUSTER}/shop/api"));
    assert!(api["policy"]["Statement"][0].get("Condition").is_none());
    let finding = api["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "network-perimeter")
        .unwrap();
    assert_eq!(
        finding["message"],
        "no network condition: 1 call(s) came through VPC endpoints and 1 did not"
    );
    // Without the flag, nothing changes.
    let plain = iamtrim(&["recommend", "--trail", &trail, "--format", "json"]).json();
    assert!(
        workload(&plain, &format!("eks/{CLUSTER}/shop/exporter"))["policy"]["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .all(|s| s.get("Condition").is_none())
    );

    // A diff's proposed policy carries it as well.
    let current = dir.path().join("current.json");
    write(
        &current,
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
            .to_string()
            .as_bytes(),
    );
    let diff = iamtrim(&[
        "diff",
        "--trail",
        &trail,
        "--format",
        "json",
        "--condition-network",
        "--role",
        "shop-mailer",
        "--policy",
        &current.display().to_string(),
    ])
    .json();
    assert_eq!(
        diff["diffs"][0]["proposed_policy"]["Statement"][0]["Condition"],
        json!({"IpAddress": {"aws:SourceIp": ["203.0.113.10/32"]}}),
        "{}",
        diff["diffs"]
    );

    // An independent evaluator enforces it: the endpoint's calls are allowed, the same call from
    // elsewhere is not, and S3's own KMS call still is.
    let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let object = "arn:aws:s3:::shop-exports/out/1.json";
    let input = json!({
        "principal": "arn:aws:iam::111122223333:role/shop-exporter",
        "account": "111122223333",
        "policies": [exporter["policy"]],
        "requests": [
            {"action": "s3:PutObject", "resource": object, "context": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}},
            {"action": "s3:PutObject", "resource": object, "context": {"aws:SourceVpce": "vpce-0fffffffffffffff0"}},
            {"action": "s3:PutObject", "resource": object, "context": {"aws:SourceIp": "198.51.100.23"}},
            {"action": "kms:GenerateDataKey", "resource": KEY, "context": {"aws:ViaAWSService": "true"}},
        ],
    });
    let results: Vec<String> = crate::util::verdicts("iam_simulate.mjs", &modules, &input);
    assert_eq!(
        results,
        ["Allowed", "ImplicitlyDenied", "ImplicitlyDenied", "Allowed"]
    );
}
