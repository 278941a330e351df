//! Policies that can be attached, whatever the number of resources (#28): the multi-tenant
//! workload of EKS platform guides, one table, queue and secret per tenant.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{gzip, iamtrim, irsa_vending, recommend, workload, write};

const A: &str = "111122223333";
const KEY: &str = "ASIATENANTPLATFORM01";
const ID: &str = "eks/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C/platform/tenant-api";

/// A call by the `tenant-api` service account's IRSA session, as CloudTrail records it.
fn call(i: usize, source: &str, name: &str, request: Value, data: bool) -> Value {
    let time = format!(
        "2026-11-01T{:02}:{:02}:{:02}Z",
        6 + i / 3600,
        i / 60 % 60,
        i % 60
    );
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROATENANTPLATFORM:1700000000000000001",
            "arn": format!("arn:aws:sts::{A}:assumed-role/tenant-platform/1700000000000000001"),
            "accountId": A, "accessKeyId": KEY,
            "sessionContext": {"attributes": {"creationDate": "2026-11-01T05:59:00Z", "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{A}:role/tenant-platform"),
                "principalId": "AROATENANTPLATFORM", "accountId": A, "userName": "tenant-platform"},
                "webIdFederationData": {}}},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": request, "responseElements": null, "requestID": format!("req-{i}"),
        "eventID": format!("0b7c{i:08}-tenant"), "readOnly": name.starts_with("Get"),
        "eventType": "AwsApiCall", "managementEvent": !data, "recipientAccountId": A,
        "eventCategory": if data { "Data" } else { "Management" }
    })
}

fn trail(dir: &Path, records: Vec<Value>) -> std::path::PathBuf {
    let mut all = vec![irsa_vending(
        KEY,
        "platform",
        "tenant-api",
        "tenant-platform",
        "2026-11-01T05:59:00Z",
    )];
    all.extend(records);
    let logs = dir.join("logs");
    write(
        &logs.join(format!("AWSLogs/{A}/CloudTrail/us-east-1/2026/11/01/{A}_CloudTrail_us-east-1_20261101T0605Z_T.json.gz")),
        &gzip(json!({"Records": all}).to_string().as_bytes()),
    );
    logs
}

fn table(t: usize) -> String {
    format!("tenant-{t:05}-orders")
}

fn queue_url(name: &str) -> String {
    format!("https://sqs.us-east-1.amazonaws.com/{A}/{name}")
}

fn secret(t: usize) -> String {
    // Secrets Manager's random suffix: six characters.
    format!("arn:aws:secretsmanager:us-east-1:{A}:secret:tenants/t{t:05}/db-Ab{t:04}")
}

/// 3,000 tables, 400 queues and 150 secrets, one per tenant, used in a day.
fn multi_tenant() -> Vec<Value> {
    let mut records = Vec::new();
    for t in 0..3000 {
        records.push(call(
            records.len(),
            "dynamodb.amazonaws.com",
            "GetItem",
            json!({"tableName": table(t), "key": {"pk": {"S": "x"}}, "consistentRead": false}),
            true,
        ));
    }
    for t in 0..400 {
        records.push(call(
            records.len(),
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": queue_url(&format!("tenant-{t:05}-jobs")), "messageBody": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            true,
        ));
    }
    for t in 0..150 {
        records.push(call(
            records.len(),
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": secret(t)}),
            false,
        ));
    }
    records
}

fn resources(policy: &Value) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for statement in policy["Statement"].as_array().unwrap() {
        for action in statement["Action"].as_array().unwrap() {
            for resource in statement["Resource"].as_array().unwrap() {
                out.push((
                    action.as_str().unwrap().to_owned(),
                    resource.as_str().unwrap().to_owned(),
                ));
            }
        }
    }
    out.sort();
    out
}

fn rules(w: &Value) -> Vec<(String, String, u64)> {
    w["generalizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| {
            (
                g["rule"].as_str().unwrap().to_owned(),
                g["to"].as_str().unwrap().to_owned(),
                g["from_count"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_multi_tenant_role_gets_one_policy_of_name_patterns() {
    let dir = tempfile::tempdir().unwrap();
    let logs = trail(dir.path(), multi_tenant());
    let run = recommend(&[&logs], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let w = workload(&report, ID);
    assert_eq!(
        w["usage"].as_array().unwrap().len(),
        3550,
        "JSON keeps every usage row"
    );
    assert_eq!(w["policy_parts"], json!([]));
    assert_eq!(w["policy_size"]["documents"], 1);
    assert_eq!(w["policy_size"]["attachable"], true);
    assert!(w["policy_size"]["characters"].as_u64().unwrap() <= 6144);
    let policy = &w["policy"];
    assert_eq!(
        resources(policy),
        [
            (
                "dynamodb:GetItem".to_owned(),
                format!("arn:aws:dynamodb:us-east-1:{A}:table/tenant-*-orders")
            ),
            (
                "secretsmanager:GetSecretValue".to_owned(),
                format!("arn:aws:secretsmanager:us-east-1:{A}:secret:tenants/*/db-??????")
            ),
            (
                "sqs:SendMessage".to_owned(),
                format!("arn:aws:sqs:us-east-1:{A}:tenant-*-jobs")
            ),
        ]
    );
    let rules = rules(w);
    for (to, count) in [
        (
            format!("arn:aws:dynamodb:us-east-1:{A}:table/tenant-*-orders"),
            3000,
        ),
        (format!("arn:aws:sqs:us-east-1:{A}:tenant-*-jobs"), 400),
        (
            format!("arn:aws:secretsmanager:us-east-1:{A}:secret:tenants/*/db-??????"),
            150,
        ),
    ] {
        assert!(
            rules.contains(&("name-pattern".to_owned(), to.clone(), count)),
            "{to}: {rules:?}"
        );
    }
    let g = w["generalizations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["rule"] == "name-pattern" && g["from_count"] == 3000)
        .unwrap();
    assert_eq!(g["from"].as_array().unwrap().len(), 10, "a few examples");

    // The same role's policy in roles[] is the same document.
    let role = report["roles"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["role"] == format!("arn:aws:iam::{A}:role/tenant-platform"))
        .unwrap();
    assert_eq!(&role["policy"], policy);

    // An evaluator that is not iamtrim's own: every observed call allowed, other names denied.
    if let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") {
        let tables: Vec<String> = (0..3000)
            .step_by(7)
            .map(|t| format!("arn:aws:dynamodb:us-east-1:{A}:table/{}", table(t)))
            .collect();
        let queues: Vec<String> = (0..400)
            .map(|t| format!("arn:aws:sqs:us-east-1:{A}:tenant-{t:05}-jobs"))
            .collect();
        let secrets: Vec<String> = (0..150).map(secret).collect();
        let mut requests: Vec<(&str, &str)> = Vec::new();
        requests.extend(tables.iter().map(|t| ("dynamodb:GetItem", t.as_str())));
        requests.extend(queues.iter().map(|q| ("sqs:SendMessage", q.as_str())));
        requests.extend(
            secrets
                .iter()
                .map(|s| ("secretsmanager:GetSecretValue", s.as_str())),
        );
        let allowed = requests.len();
        let outside = [
            (
                "dynamodb:GetItem",
                format!("arn:aws:dynamodb:us-east-1:{A}:table/tenant-00042-invoices"),
            ),
            (
                "dynamodb:GetItem",
                format!("arn:aws:dynamodb:us-east-1:{A}:table/billing"),
            ),
            (
                "dynamodb:GetItem",
                format!("arn:aws:dynamodb:eu-west-1:{A}:table/tenant-00042-orders"),
            ),
            (
                "dynamodb:DeleteItem",
                format!("arn:aws:dynamodb:us-east-1:{A}:table/tenant-00042-orders"),
            ),
            (
                "sqs:SendMessage",
                format!("arn:aws:sqs:us-east-1:{A}:payments-jobs"),
            ),
            (
                "secretsmanager:GetSecretValue",
                format!("arn:aws:secretsmanager:us-east-1:{A}:secret:admin/db-Xy1234"),
            ),
        ];
        requests.extend(outside.iter().map(|(a, r)| (*a, r.as_str())));
        let results = crate::implied::simulate(&modules, vec![policy.clone()], &requests);
        assert_eq!(results.len(), requests.len());
        for (line, request) in results.iter().zip(&requests).take(allowed) {
            assert!(line.starts_with("Allowed "), "{request:?}: {line}");
        }
        for (line, request) in results.iter().zip(&requests).skip(allowed) {
            assert!(line.starts_with("ImplicitlyDenied "), "{request:?}: {line}");
        }
    }

    // The text view stays readable: a few resources per action, then a count.
    let run = iamtrim(&[
        "recommend",
        "--format",
        "text",
        "--trail",
        logs.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stdout
            .contains("dynamodb:GetItem on 2997 more resources (every one in the JSON output)"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.lines().count() < 120, "{}", run.stdout);
}

#[test]
fn few_tenants_stay_listed_until_generalize_over() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Value> = (0..5)
        .map(|t| {
            call(
                t,
                "dynamodb.amazonaws.com",
                "GetItem",
                json!({"tableName": table(t)}),
                true,
            )
        })
        .collect();
    let logs = trail(dir.path(), records);
    let report = recommend(&[&logs], &[]).json();
    let w = workload(&report, ID);
    assert_eq!(resources(&w["policy"]).len(), 5, "five tables fit: listed");
    let report = recommend(&[&logs], &["--generalize-over", "4"]).json();
    let w = workload(&report, ID);
    assert_eq!(
        resources(&w["policy"]),
        [(
            "dynamodb:GetItem".to_owned(),
            format!("arn:aws:dynamodb:us-east-1:{A}:table/tenant-*-orders")
        )]
    );
}

/// Queue names that share no token: no pattern can make them fit.
fn unrelated(i: usize) -> String {
    let words = [
        "amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "heron",
    ];
    let mut n = i;
    let mut name = String::new();
    for _ in 0..3 {
        name.push_str(words[n % 8]);
        n /= 8;
    }
    format!("{name}{i}")
}

#[test]
fn unrelated_names_take_the_types_wildcard_and_record_it() {
    let dir = tempfile::tempdir().unwrap();
    let records: Vec<Value> = (0..300)
        .map(|i| {
            call(
                i,
                "sqs.amazonaws.com",
                "SendMessage",
                json!({"queueUrl": queue_url(&unrelated(i))}),
                true,
            )
        })
        .collect();
    let logs = trail(dir.path(), records);
    let run = recommend(&[&logs], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let w = workload(&report, ID);
    assert_eq!(
        resources(&w["policy"]),
        [(
            "sqs:SendMessage".to_owned(),
            format!("arn:aws:sqs:us-east-1:{A}:*")
        )]
    );
    assert_eq!(
        rules(w),
        [(
            "resource-type-wildcard".to_owned(),
            format!("arn:aws:sqs:us-east-1:{A}:*"),
            300
        )]
    );
}

#[test]
fn past_the_quota_is_a_finding_not_an_input_error() {
    let dir = tempfile::tempdir().unwrap();
    // Objects in 400 buckets that share no token: S3 has no type wildcard (its ARNs name no
    // account), so only parts remain.
    let records: Vec<Value> = (0..400)
        .map(|i| {
            call(
                i,
                "s3.amazonaws.com",
                "GetObject",
                json!({"bucketName": unrelated(i), "key": "report.csv", "Host": "s3.amazonaws.com"}),
                true,
            )
        })
        .collect();
    let logs = trail(dir.path(), records);
    let run = recommend(&[&logs], &["--max-managed-policies", "1"]);
    assert_eq!(run.code, 1, "a finding: {}", run.stderr);
    let report = run.json();
    let w = workload(&report, ID);
    assert_eq!(w["policy_size"]["attachable"], false);
    assert_eq!(w["policy_size"]["max_documents"], 1);
    let documents = w["policy_size"]["documents"].as_u64().unwrap();
    assert!(documents >= 2);
    assert_eq!(
        w["policy_parts"].as_array().unwrap().len() as u64,
        documents
    );
    let finding = w["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["kind"] == "policy-not-attachable")
        .expect("finding");
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains(&format!("needs {documents} managed policies")),
        "{finding}"
    );
    // With IAM's default quota the same parts can be attached: exit 0.
    let run = recommend(&[&logs], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let w = workload(&report, ID);
    assert_eq!(w["policy_size"]["attachable"], true);
    assert!(
        w["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["kind"] == "policy-size")
    );
}
