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

pub fn role_diff<'a>(report: &'a Value, role: &str) -> &'a Value {
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

/// #25: each role's proposed trust policy admits exactly the service accounts seen, keeps what
/// is not EKS's, and says what it no longer admits and why; a Pod Identity association with
/// session tags disabled keeps its statement unscoped (a tag condition would deny it).
#[test]
fn trust_policies_are_proposed_for_what_was_seen() {
    let (_, report) = diff(&CONTEXT);
    let proposal = |role: &str| role_diff(&report, role)["proposed_trust_policy"].clone();
    let issuer = "oidc.eks.us-east-1.amazonaws.com/id/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";

    // IRSA with an exact subject that was seen: the same subject, StringEquals, and the audience.
    let payments = proposal("payments-api");
    assert_eq!(
        payments["policy"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Federated": format!("arn:aws:iam::111122223333:oidc-provider/{issuer}")},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{issuer}:aud"): "sts.amazonaws.com",
                format!("{issuer}:sub"): ["system:serviceaccount:payments:api"]
            }}
        }])
    );
    assert_eq!(payments["removed"], json!([]));

    // A Pod Identity role whose association passes session tags: scoped to its cluster,
    // namespace and service account.
    let checkout = proposal("checkout-frontend");
    assert_eq!(
        checkout["policy"]["Statement"][0]["Condition"],
        json!({"StringEquals": {
            "aws:RequestTag/eks-cluster-name": "shop-prod",
            "aws:RequestTag/kubernetes-namespace": "checkout",
            "aws:RequestTag/kubernetes-service-account": "frontend"
        }})
    );
    assert_eq!(
        checkout["policy"]["Statement"][0]["Action"],
        json!(["sts:AssumeRole", "sts:TagSession"])
    );

    // Session tags disabled on the association: unscoped, and why.
    let billing = proposal("billing-invoicer");
    assert!(billing["policy"]["Statement"][0].get("Condition").is_none());
    let kept = billing["kept"].to_string();
    assert!(
        kept.contains("session tags are disabled or not known for shop-prod/billing/invoicer"),
        "{kept}"
    );

    // A role others assume (Lambda): kept as it is, and listed.
    let lambda = proposal("invoice-pdf");
    assert_eq!(lambda["kept"], json!(["lambda.amazonaws.com"]));
    assert_eq!(
        lambda["policy"]["Statement"][0]["Principal"],
        json!({"Service": "lambda.amazonaws.com"})
    );

    // The wildcard-`sub` role whose sessions' vending the trail missed: unchanged, and why
    // (narrowing it could lock out the workload the trail cannot name).
    let analytics = proposal("analytics-jobs");
    let kept = analytics["kept"].to_string();
    assert!(
        kept.contains("sessions not tied to a service account"),
        "{kept}"
    );
}

/// #25: a wildcard-`sub` role (`system:serviceaccount:analytics:*`) used by two service accounts
/// gets a trust policy naming exactly those two (StringEquals), and the pattern is named as
/// removed.
#[test]
fn a_wildcard_subject_becomes_the_service_accounts_seen() {
    use crate::util::{gzip, irsa_vending};
    let dir = tempfile::tempdir().unwrap();
    let issuer = "oidc.eks.us-east-1.amazonaws.com/id/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";
    let provider = format!("arn:aws:iam::111122223333:oidc-provider/{issuer}");
    let mut records = Vec::new();
    for (i, sa) in ["etl", "report"].iter().enumerate() {
        let key = format!("ASIAANALYTICS{i:07}");
        records.push(irsa_vending(
            &key,
            "analytics",
            sa,
            "analytics-wide",
            "2026-11-01T06:00:00Z",
        ));
        records.push(json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "principalId": format!("AROAANALYTICS:{sa}"),
                "arn": format!("arn:aws:sts::111122223333:assumed-role/analytics-wide/{sa}"),
                "accountId": "111122223333", "accessKeyId": key,
                "sessionContext": {"sessionIssuer": {"type": "Role",
                    "arn": "arn:aws:iam::111122223333:role/analytics-wide", "userName": "analytics-wide"},
                    "webIdFederationData": {}}},
            "eventTime": "2026-11-01T06:05:00Z", "eventSource": "sqs.amazonaws.com",
            "eventName": "SendMessage", "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17",
            "userAgent": "aws-sdk-go-v2/1.30.3",
            "requestParameters": {"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/jobs"},
            "responseElements": null, "requestID": format!("r-{sa}"), "eventID": format!("e-{sa}"),
            "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": "111122223333", "eventCategory": "Management"
        }));
    }
    let trail = dir.path().join("trail");
    write(
        &trail.join("t.json.gz"),
        &gzip(json!({"Records": records}).to_string().as_bytes()),
    );
    let snapshot = dir.path().join("iam.json");
    write(
        &snapshot,
        json!({
            "RoleDetailList": [{
                "Arn": "arn:aws:iam::111122223333:role/analytics-wide", "RoleName": "analytics-wide",
                "Path": "/", "RolePolicyList": [], "AttachedManagedPolicies": [],
                "InstanceProfileList": [],
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": {"Federated": provider},
                    "Action": "sts:AssumeRoleWithWebIdentity",
                    "Condition": {"StringLike": {format!("{issuer}:sub"): "system:serviceaccount:analytics:*"}}
                }]}
            }],
            "UserDetailList": [], "GroupDetailList": [], "Policies": []
        })
        .to_string()
        .as_bytes(),
    );
    let out = dir.path().join("out");
    let run = iamtrim(&[
        "diff",
        "--trail",
        &trail.display().to_string(),
        "--format",
        "json",
        "--iam-snapshot",
        &snapshot.display().to_string(),
        "--out",
        &out.display().to_string(),
    ]);
    let report = run.json();
    let d = role_diff(&report, "analytics-wide");
    let proposal = &d["proposed_trust_policy"];
    assert_eq!(
        proposal["policy"]["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": {
                format!("{issuer}:aud"): "sts.amazonaws.com",
                format!("{issuer}:sub"): [
                    "system:serviceaccount:analytics:etl",
                    "system:serviceaccount:analytics:report"
                ]
            }}
        }])
    );
    assert_eq!(
        proposal["removed"],
        json!([format!(
            "{issuer}: system:serviceaccount:analytics:* (a pattern; the service accounts seen are listed instead)"
        )])
    );
    // The proposal is written beside the role's policy.
    let written: Value = serde_json::from_slice(
        &std::fs::read(out.join("roles/111122223333/analytics-wide.trust.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(written, proposal["policy"]);

    // An independent evaluator (@cloud-copilot/iam-simulate) admits each service account seen,
    // and no other one, nor a token minted for another audience.
    let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let request = |sa: &str, aud: &str| {
        json!({"principal": provider, "action": "sts:AssumeRoleWithWebIdentity", "context": {
            format!("{issuer}:sub"): format!("system:serviceaccount:{sa}"),
            format!("{issuer}:aud"): aud}})
    };
    let input = json!({
        "role": d["role"],
        "trust": proposal["policy"],
        "requests": [
            request("analytics:etl", "sts.amazonaws.com"),
            request("analytics:report", "sts.amazonaws.com"),
            request("analytics:adhoc", "sts.amazonaws.com"),
            request("payments:etl", "sts.amazonaws.com"),
            request("analytics:etl", "vault"),
        ],
    });
    let results: Vec<String> = crate::util::verdicts("iam_simulate_trust.mjs", &modules, &input);
    assert_eq!(
        results,
        [
            "Allowed",
            "Allowed",
            "ImplicitlyDenied",
            "ImplicitlyDenied",
            "ImplicitlyDenied"
        ]
    );
    // The current policy (`analytics:*`) admitted the unobserved one.
    let current = json!({"role": d["role"], "trust": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Federated": provider},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {format!("{issuer}:sub"): "system:serviceaccount:analytics:*"}}}]},
        "requests": [request("analytics:adhoc", "sts.amazonaws.com")]});
    let before = crate::util::run_node("iam_simulate_trust.mjs", &modules, &current);
    assert!(before[0].starts_with("Allowed "), "{before:?}");
}

/// #25, checked by an independent IAM evaluator (@cloud-copilot/iam-simulate): the proposed
/// Pod Identity trust policy lets EKS assume the role (and tag the session) for the service
/// account seen, and for no other service account, namespace or cluster.
#[test]
fn an_independent_evaluator_admits_only_the_service_account_seen() {
    let Some(modules) = crate::util::node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let (_, report) = diff(&CONTEXT);
    let d = role_diff(&report, "checkout-frontend");
    let tags = |cluster: &str, ns: &str, sa: &str| {
        json!({"aws:RequestTag/eks-cluster-name": cluster,
            "aws:RequestTag/kubernetes-namespace": ns,
            "aws:RequestTag/kubernetes-service-account": sa})
    };
    let mut requests = Vec::new();
    for action in ["sts:AssumeRole", "sts:TagSession"] {
        for context in [
            tags("shop-prod", "checkout", "frontend"),
            tags("shop-prod", "checkout", "default"),
            tags("shop-prod", "billing", "frontend"),
            tags("shop-staging", "checkout", "frontend"),
        ] {
            requests.push(json!({"principal": "pods.eks.amazonaws.com", "action": action, "context": context}));
        }
    }
    let input = json!({
        "role": d["role"],
        "trust": d["proposed_trust_policy"]["policy"],
        "requests": requests,
    });
    let lines: Vec<String> = crate::util::verdicts("iam_simulate_trust.mjs", &modules, &input);
    assert_eq!(
        lines,
        [
            "Allowed",
            "ImplicitlyDenied",
            "ImplicitlyDenied",
            "ImplicitlyDenied",
            "Allowed",
            "ImplicitlyDenied",
            "ImplicitlyDenied",
            "ImplicitlyDenied"
        ]
    );
}
