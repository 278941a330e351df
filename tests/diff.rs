//! `iamtrim diff`: current policies (from an IAM snapshot, a policy file, and IAM itself through
//! the real SDK against moto) against what the sample trail shows each role used.

use serde_json::{Value, json};

use crate::util::{Moto, iamtrim, iamtrim_with_aws, root, sample_trail, write};

const CONTEXT: [&str; 4] = [
    "--iam-snapshot",
    "fixtures/sample-context/iam.json",
    "--pod-identity-associations",
    "fixtures/sample-context/pod-identity-associations.json",
];

fn diff(extra: &[&str]) -> (i32, Value) {
    let trail = sample_trail().display().to_string();
    let mut args = vec!["diff", "--trail", trail.as_str(), "--format", "json"];
    args.extend(extra);
    let run = iamtrim(&args);
    (run.code, run.json())
}

fn role_diff<'a>(report: &'a Value, role: &str) -> &'a Value {
    report["diffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["role"] == format!("arn:aws:iam::111122223333:role/{role}"))
        .unwrap_or_else(|| panic!("no diff for {role}"))
}

/// (kind, sid) of each lint finding of a diff.
fn lint_kinds(d: &Value) -> Vec<(&str, &str)> {
    d["lint"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["kind"].as_str().unwrap(), l["sid"].as_str().unwrap()))
        .collect()
}

fn actions(list: &Value) -> Vec<&str> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|v| v["action"].as_str().unwrap())
        .collect()
}

#[test]
fn wildcards_deny_and_attached_policies_against_the_trail() {
    let (code, report) = diff(&[&CONTEXT[..], &["--role", "payments-api"]].concat());
    assert_eq!(code, 1, "drift is a finding");
    let d = role_diff(&report, "payments-api");
    assert_eq!(d["drift"], true);
    // An inline policy and two attached managed policies.
    assert_eq!(
        d["policies"],
        json!([
            "inline:app",
            "arn:aws:iam::111122223333:policy/shop-s3-readwrite",
            "arn:aws:iam::111122223333:policy/shop-observability"
        ])
    );
    // The explicit Deny wins over the attached policy's Allow.
    assert_eq!(
        d["used_not_granted"],
        json!([{"action": "s3:PutObject",
            "resource": "arn:aws:s3:::shop-payments-data/receipts/r-1.json", "count": 1,
            "decision": "explicit-deny", "policy": "inline:app", "sid": "NoReceipts",
            "condition_keys": []}])
    );
    // `dynamodb:*` on the table and the attached policy's object wildcard cover the rest.
    let allowed: Vec<(&str, &str)> = d["used_and_granted"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["action"].as_str().unwrap(), c["sid"].as_str().unwrap()))
        .collect();
    assert!(allowed.contains(&("dynamodb:GetItem", "Tables")));
    assert!(allowed.contains(&("s3:GetObject", "ObjectsReadWrite")));
    assert_eq!(actions(&d["denied_events"]), ["dynamodb:DeleteItem"]);
    // Removable grants, with the dangerous ones flagged.
    let unused = d["granted_unused"].as_array().unwrap();
    let find = |a: &str| unused.iter().find(|g| g["action"] == a);
    assert_eq!(find("iam:PassRole").unwrap()["flag"], "write");
    assert_eq!(find("s3:DeleteObject").unwrap()["flag"], "write");
    assert_eq!(find("dynamodb:DescribeTable").unwrap()["access"], "Read");
    // The second attached policy's unused grants are removable too.
    assert_eq!(find("logs:PutLogEvents").unwrap()["flag"], "write");
    assert!(find("cloudwatch:PutMetricData").is_some());
    assert!(find("dynamodb:GetItem").is_none() && find("kms:Decrypt").is_none());
    // The wildcard statement served two actions.
    assert_eq!(
        d["narrowable"],
        json!([{"policy": "inline:app", "sid": "Tables", "patterns": ["dynamodb:*"],
            "not_action": false, "grants": 80, "used_actions": ["dynamodb:GetItem", "dynamodb:PutItem"]}])
    );
    let lint = lint_kinds(d);
    assert_eq!(
        lint,
        [
            // logs:PutLogEvents and CreateLogStream take log-stream ARNs.
            ("resource-star", "Metrics"),
            ("resource-star", "Keys"),
            ("resource-star", "PassAny")
        ]
    );
    // The proposed replacement is the recommendation for the role's own usage.
    let workload = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| {
            w["id"].as_str().unwrap().ends_with("/payments/api")
                && w["roles"][0].as_str().unwrap().ends_with("/payments-api")
        })
        .unwrap();
    // Plus what the trail could not have shown (kept, not proposed for removal): iam:PassRole is
    // a permission checked inside other calls, never a call of its own.
    let (kept, proposed): (Vec<Value>, Vec<Value>) = d["proposed_policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .cloned()
        .partition(|s| s["Sid"].as_str().unwrap().starts_with("NotObservable"));
    assert_eq!(json!(proposed), workload["policy"]["Statement"]);
    assert_eq!(find("iam:PassRole").unwrap()["observable"], false);
    assert!(
        find("iam:PassRole").unwrap()["unobservable_because"]
            .as_str()
            .unwrap()
            .contains("never records iam:PassRole as a call of its own")
    );
    assert!(kept.iter().any(|s| {
        s["Action"]
            .as_array()
            .unwrap()
            .contains(&json!("iam:PassRole"))
    }));
    assert_eq!(find("s3:DeleteObject").unwrap()["observable"], true);
    assert!(d["trust"]["findings"].as_array().unwrap().is_empty());
}

#[test]
fn not_action_under_a_permission_boundary() {
    let (_, report) = diff(&[&CONTEXT[..], &["--role", "orders-shared"]].concat());
    let d = role_diff(&report, "orders-shared");
    assert_eq!(
        d["boundary"],
        "arn:aws:iam::111122223333:policy/orders-boundary"
    );
    assert!(d["used_not_granted"].as_array().unwrap().is_empty());
    assert_eq!(d["used_and_granted"].as_array().unwrap().len(), 9);
    let unused = actions(&d["granted_unused"]);
    // Granted by NotAction but outside the boundary: not effective, so not listed.
    assert!(unused.contains(&"sqs:PurgeQueue"));
    assert!(
        !unused
            .iter()
            .any(|a| a.starts_with("ec2:") || a.starts_with("iam:"))
    );
    assert!(
        !unused.contains(&"s3:PutObject"),
        "the boundary allows only Get/List on S3"
    );
    assert_eq!(d["narrowable"][0]["not_action"], true);
    assert_eq!(
        d["trust"]["findings"],
        json!([
            "shared by 2 service accounts (orders/reporter, orders/worker): give each its own role"
        ])
    );
}

#[test]
fn a_condition_that_cannot_be_evaluated_is_reported_not_guessed() {
    let (code, report) = diff(&[&CONTEXT[..], &["--role", "search-indexer"]].concat());
    assert_eq!(
        code, 0,
        "no drift: the conditional grant covers the only action used"
    );
    let d = role_diff(&report, "search-indexer");
    assert_eq!(
        d["undecided"],
        json!([{"action": "dynamodb:Query",
            "resource": "arn:aws:dynamodb:us-east-1:111122223333:table/products/index/by-category",
            "count": 3, "decision": "conditional", "policy": "inline:query", "sid": null,
            "condition_keys": ["aws:SourceVpce"]}])
    );
    assert_eq!(d["drift"], false);
}

#[test]
fn a_policy_file_and_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let policy = dir.path().join("current.json");
    write(
        &policy,
        br#"{"Version": "2012-10-17", "Statement": [
            {"Sid": "Queues", "Effect": "Allow", "Action": "sqs:*", "Resource": "*"},
            {"Sid": "Typos", "Effect": "Allow", "Action": ["s3:GetObjekt", "iam:CreateUser"], "Resource": "arn:aws:s3::bucket/*"}]}"#,
    );
    let (code, report) = diff(&[
        "--policy",
        policy.to_str().unwrap(),
        "--role",
        "orders-shared",
    ]);
    assert_eq!(code, 1);
    let d = role_diff(&report, "orders-shared");
    assert_eq!(d["source"], format!("policy file {}", policy.display()));
    let lint = lint_kinds(d);
    assert_eq!(
        lint,
        [
            ("resource-star", "Queues"),
            ("malformed-arn", "Typos"),
            ("unknown-action", "Typos")
        ]
    );
    assert!(actions(&d["granted_unused"]).contains(&"iam:CreateUser"));
    let missing = actions(&d["used_not_granted"]);
    assert_eq!(
        missing,
        [
            "cloudwatch:PutMetricData",
            "s3:GetObject",
            "s3:GetObject",
            "s3:GetObject",
            "s3:GetObject",
            "s3:ListBucket"
        ]
    );

    let trail = sample_trail().display().to_string();
    let run = iamtrim(&["diff", "--trail", &trail]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: a diff needs the current policies: give --policy FILE, --iam-snapshot FILE or --aws\n"
    );
    // A role the snapshot does not have: reported, and the result is incomplete.
    let (code, report) = diff(&[&CONTEXT[..], &["--role", "reports-writer"]].concat());
    assert_eq!(code, 2);
    assert_eq!(
        role_diff(&report, "reports-writer")["problems"],
        json!([
            "no current policies found for arn:aws:iam::111122223333:role/reports-writer (not in the IAM snapshot, no --aws)"
        ])
    );
}

#[test]
fn live_iam_through_the_sdk_gives_the_same_diff_as_the_snapshot() {
    let Some(moto) = Moto::start() else { return };
    let current: Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("fixtures/sample-context/current-policies.json"))
            .unwrap(),
    )
    .unwrap();
    let mut arns = std::collections::BTreeMap::new();
    for (name, document) in current["managed"].as_object().unwrap() {
        let response = moto.iam(&[
            ("Action", "CreatePolicy"),
            ("PolicyName", name),
            ("PolicyDocument", &document.to_string()),
        ]);
        let arn = response
            .split("<Arn>")
            .nth(1)
            .and_then(|r| r.split("</Arn>").next())
            .unwrap()
            .to_owned();
        arns.insert(name.clone(), arn);
    }
    for (role, policies) in current["roles"].as_object().unwrap() {
        moto.iam(&[
            ("Action", "CreateRole"),
            ("RoleName", role),
            (
                "AssumeRolePolicyDocument",
                r#"{"Version":"2012-10-17","Statement":[]}"#,
            ),
        ]);
        for (name, document) in policies["inline"].as_object().unwrap() {
            moto.iam(&[
                ("Action", "PutRolePolicy"),
                ("RoleName", role),
                ("PolicyName", name),
                ("PolicyDocument", &document.to_string()),
            ]);
        }
        for name in policies["attached"].as_array().unwrap() {
            moto.iam(&[
                ("Action", "AttachRolePolicy"),
                ("RoleName", role),
                ("PolicyArn", &arns[name.as_str().unwrap()]),
            ]);
        }
        if let Some(boundary) = policies["boundary"].as_str() {
            moto.iam(&[
                ("Action", "PutRolePermissionsBoundary"),
                ("RoleName", role),
                ("PermissionsBoundary", &arns[boundary]),
            ]);
        }
    }
    let trail = sample_trail().display().to_string();
    let roles = [
        "--role",
        "payments-api",
        "--role",
        "orders-shared",
        "--role",
        "search-indexer",
    ];
    let mut args = vec![
        "diff",
        "--trail",
        trail.as_str(),
        "--format",
        "json",
        "--aws",
        "--endpoint-url",
        &moto.endpoint,
    ];
    args.extend(roles);
    // --endpoint-url sends EKS to moto too, which lacks Pod Identity: a warning, not a failure.
    let live = iamtrim_with_aws(&args, &[]);
    assert_eq!(live.code, 1, "{}", live.stderr);
    let live = live.json();
    let (_, offline) = diff(&[&CONTEXT[..], &roles].concat());
    for role in ["payments-api", "orders-shared", "search-indexer"] {
        let (a, b) = (role_diff(&live, role), role_diff(&offline, role));
        assert_eq!(a["source"], "IAM API");
        assert_eq!(a["problems"], json!([]), "{role}");
        for field in [
            "used_not_granted",
            "undecided",
            "granted_unused",
            "denied_events",
            "proposed_policy",
            "drift",
        ] {
            // Policy names differ by account (moto's is 123456789012); decisions must not.
            let strip = |v: &Value| v.to_string().replace("123456789012", "111122223333");
            assert_eq!(strip(&a[field]), strip(&b[field]), "{role} {field}");
        }
        assert_eq!(
            a["boundary"].is_null(),
            b["boundary"].is_null(),
            "{role} boundary"
        );
        assert_eq!(
            a["lint"].as_array().unwrap().len(),
            b["lint"].as_array().unwrap().len(),
            "{role} lint"
        );
    }
}

#[test]
fn trust_policies_are_analysed() {
    let (_, report) = diff(&[&CONTEXT[..], &["--role", "analytics-jobs"]].concat());
    let d = role_diff(&report, "analytics-jobs");
    assert_eq!(
        d["trust"]["findings"],
        json!([
            "wildcard subject system:serviceaccount:analytics:*: every matching service account can assume the role"
        ])
    );
    assert_eq!(
        d["trust"]["web_identity"][0]["audiences"],
        json!(["sts.amazonaws.com"])
    );
    // No policy grants the Athena call it made: it would fail now.
    assert_eq!(
        actions(&d["used_not_granted"]),
        ["athena:StartQueryExecution"]
    );
}

#[test]
fn recommend_with_diff_adds_the_diffs_and_the_exit_status() {
    let trail = sample_trail().display().to_string();
    let mut args = vec![
        "recommend",
        "--trail",
        trail.as_str(),
        "--format",
        "json",
        "--diff",
    ];
    args.extend(CONTEXT);
    args.extend(["--role", "payments-api"]);
    let run = iamtrim(&args);
    assert_eq!(run.code, 1);
    let report = run.json();
    assert_eq!(report["diffs"].as_array().unwrap().len(), 1);
    assert!(!report["workloads"].as_array().unwrap().is_empty());
    // Without --diff there is no `diffs` field and no drift status.
    let plain = iamtrim(&["recommend", "--trail", &trail, "--format", "json"]);
    assert_eq!(plain.code, 0);
    assert!(plain.json().get("diffs").is_none());
}
