//! #30: everything IAM evaluates for one call. The sample trail's calls that imply permissions
//! beyond their own action (a tagged role chain, an SSE-KMS write to another account's key, a copy
//! across buckets, a role passed to ECS and SageMaker, a Data API secret) are granted exactly, and
//! an independent IAM evaluator (@cloud-copilot/iam-simulate) allows every request IAM checks.

use serde_json::{Value, json};

use crate::util::{SAMPLE_CONTEXT, node_tool, recommend, sample_trail, workload};

const ACCOUNT: &str = "111122223333";

/// (action, resource, implied_by) of a workload's usage rows.
fn usage(w: &Value) -> Vec<(String, String, Vec<String>)> {
    w["usage"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| {
            (
                u["action"].as_str().unwrap().to_owned(),
                u["resource"].as_str().unwrap().to_owned(),
                u["implied_by"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|o| o.as_str().unwrap().to_owned())
                    .collect(),
            )
        })
        .collect()
}

/// Every request IAM checks for these calls, as (action, resource, implied_by).
fn expected() -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
)> {
    vec![
        // Pod Identity exporter chaining into reports-writer with session tags.
        (
            "eks/shop-prod/batch/exporter",
            "sts:AssumeRole",
            "arn:aws:iam::111122223333:role/reports-writer",
            None,
        ),
        (
            "eks/shop-prod/batch/exporter",
            "sts:TagSession",
            "arn:aws:iam::111122223333:role/reports-writer",
            Some("sts:AssumeRole tags"),
        ),
        // SSE-KMS writes with the data account's key.
        (
            "eks/shop-prod/batch/exporter",
            "s3:PutObject",
            "arn:aws:s3:::shop-exports/2026/11/01/part-0.parquet",
            None,
        ),
        (
            "eks/shop-prod/batch/exporter",
            "kms:GenerateDataKey",
            "arn:aws:kms:us-east-1:444455556666:key/7f3c2a91-5b6e-4d2f-9c1a-0e8b4d6f2a17",
            Some("s3:PutObject x-amz-server-side-encryption-aws-kms-key-id"),
        ),
        // A copy across buckets reads the source and writes the destination.
        (
            "eks/shop-prod/batch/exporter",
            "s3:GetObject",
            "arn:aws:s3:::shop-exports/2026/11/01/part-0.parquet",
            Some("s3:CopyObject x-amz-copy-source"),
        ),
        (
            "eks/shop-prod/batch/exporter",
            "s3:PutObject",
            "arn:aws:s3:::shop-archive/exports/2026/11/01/part-0.parquet",
            None,
        ),
        // Roles handed to ECS and SageMaker, found from the API models' input shapes.
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "iam:PassRole",
            "arn:aws:iam::111122223333:role/ledger-task",
            Some("ecs:RunTask overrides.taskRoleArn"),
        ),
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "iam:PassRole",
            "arn:aws:iam::111122223333:role/ledger-training",
            Some("sagemaker:CreateTrainingJob roleArn"),
        ),
        // The RDS Data API reads the secret it is given.
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "rds-data:ExecuteStatement",
            "arn:aws:rds:us-east-1:111122223333:cluster:ledger",
            None,
        ),
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "secretsmanager:GetSecretValue",
            "arn:aws:secretsmanager:us-east-1:111122223333:secret:ledger/reader-Xy12Ab",
            Some("rds-data:ExecuteStatement secretArn"),
        ),
        // Operations whose permission has another name.
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "sqs:SendMessage",
            "arn:aws:sqs:us-east-1:111122223333:ledger-events",
            None,
        ),
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "bedrock:InvokeModel",
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-haiku-20240307-v1:0",
            None,
        ),
        (
            "arn:aws:iam::111122223333:role/ledger-writer",
            "s3:PutBucketCORS",
            "arn:aws:s3:::shop-ledger",
            None,
        ),
    ]
}

#[test]
fn implied_permissions_are_granted_on_the_resources_that_imply_them() {
    let sample = sample_trail();
    let run = recommend(&[&sample], &SAMPLE_CONTEXT);
    let report = run.json();
    for (id, action, resource, implied_by) in expected() {
        let rows = usage(workload(&report, id));
        let row = rows
            .iter()
            .find(|(a, r, _)| a == action && r == resource)
            .unwrap_or_else(|| panic!("{id}: no {action} on {resource} in {rows:#?}"));
        let want: Vec<String> = implied_by.iter().map(|s| (*s).to_owned()).collect();
        assert_eq!(row.2, want, "{id} {action} {resource}");
    }
    // The copy's read is on the source, never on the destination.
    let exporter = usage(workload(&report, "eks/shop-prod/batch/exporter"));
    assert!(
        !exporter
            .iter()
            .any(|(a, r, _)| a == "s3:GetObject" && r.contains("shop-archive")),
        "{exporter:#?}"
    );
    // Two members implying one permission (tags, transitiveTagKeys) count the call once.
    let tag = workload(&report, "eks/shop-prod/batch/exporter")["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["action"] == "sts:TagSession")
        .unwrap()
        .clone();
    assert_eq!(tag["count"], 1);
    // The text view says why.
    let text = crate::util::iamtrim(
        &[
            &[
                "recommend",
                "--trail",
                sample.to_str().unwrap(),
                "--format",
                "text",
            ][..],
            &SAMPLE_CONTEXT[..],
        ]
        .concat(),
    );
    assert!(
        text.stdout
            .contains("(implied by s3:CopyObject x-amz-copy-source)"),
        "{}",
        text.stdout
    );
}

/// An independent evaluator allows every request IAM checks for these calls under the
/// recommended policy, and denies them under the policy without the implied permissions.
/// Each request's result under `policies`, from @cloud-copilot/iam-simulate: `<result> <action>
/// <resource>` lines.
pub(crate) fn simulate(
    modules: &std::path::Path,
    policies: Vec<Value>,
    requests: &[(&str, &str)],
) -> Vec<String> {
    let input = json!({
        "principal": format!("arn:aws:iam::{ACCOUNT}:role/under-test"),
        "account": ACCOUNT,
        "policies": policies,
        "requests": requests.iter().map(|(a, r)| json!({"action": a, "resource": r})).collect::<Vec<_>>(),
    });
    crate::util::run_node("iam_simulate.mjs", modules, &input)
}

#[test]
fn an_independent_evaluator_allows_every_request_iam_checks() {
    let Some(modules) = node_tool("@cloud-copilot/iam-simulate") else {
        return;
    };
    let report = recommend(&[&sample_trail()], &SAMPLE_CONTEXT).json();
    let simulate =
        |policies: Vec<Value>, requests: &[(&str, &str)]| simulate(&modules, policies, requests);
    let mut checked = 0;
    for id in [
        "eks/shop-prod/batch/exporter",
        "arn:aws:iam::111122223333:role/ledger-writer",
    ] {
        let w = workload(&report, id);
        let requests: Vec<(&str, &str)> = expected()
            .into_iter()
            .filter(|(who, ..)| *who == id)
            .map(|(_, a, r, _)| (a, r))
            .collect();
        let mut policies = vec![w["policy"].clone()];
        policies.extend(w["policy_parts"].as_array().unwrap().iter().cloned());
        for line in simulate(policies.clone(), &requests) {
            assert!(line.starts_with("Allowed "), "{id}: {line}");
            checked += 1;
        }
        // Without its implied permissions the same policy fails exactly those requests: the
        // evaluator is not simply allowing everything.
        let without: Vec<Value> = policies
            .iter()
            .map(|p| {
                let mut p = p.clone();
                for statement in p["Statement"].as_array_mut().unwrap() {
                    let actions = statement["Action"].as_array_mut().unwrap();
                    actions.retain(|a| {
                        ![
                            "sts:TagSession",
                            "kms:GenerateDataKey",
                            "iam:PassRole",
                            "secretsmanager:GetSecretValue",
                            "s3:GetObject",
                        ]
                        .contains(&a.as_str().unwrap())
                    });
                }
                p["Statement"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|s| !s["Action"].as_array().unwrap().is_empty());
                p
            })
            .collect();
        let implied: Vec<(&str, &str)> = expected()
            .into_iter()
            .filter(|(who, _, _, by)| *who == id && by.is_some())
            .map(|(_, a, r, _)| (a, r))
            .collect();
        for line in simulate(without, &implied) {
            assert!(line.starts_with("ImplicitlyDenied "), "{id}: {line}");
        }
    }
    assert_eq!(checked, expected().len());
}

/// A tagged, ACL'd, Object-Locked write, an AssumeRole with a source identity, and a copy whose
/// source the event does not name.
#[test]
fn request_headers_and_members_imply_their_permissions() {
    use crate::util::{gzip, user_event, write};
    let dir = tempfile::tempdir().unwrap();
    let mut put = user_event(
        "ci",
        "s3.amazonaws.com",
        "PutObject",
        "2026-11-20T08:00:00Z",
    );
    put["requestParameters"] = json!({"bucketName": "builds", "key": "app/1.4.2.tgz",
        "x-amz-tagging": "release=1.4.2", "x-amz-acl": "bucket-owner-full-control",
        "x-amz-object-lock-mode": "GOVERNANCE", "x-amz-object-lock-retain-until-date": "2027-01-01T00:00:00Z"});
    let mut assume = user_event(
        "ci",
        "sts.amazonaws.com",
        "AssumeRole",
        "2026-11-20T08:01:00Z",
    );
    assume["requestParameters"] = json!({"roleArn": "arn:aws:iam::111122223333:role/deployer",
        "roleSessionName": "ci", "sourceIdentity": "ci-bot"});
    let mut copy = user_event(
        "ci",
        "s3.amazonaws.com",
        "CopyObject",
        "2026-11-20T08:02:00Z",
    );
    copy["requestParameters"] = json!({"bucketName": "builds", "key": "app/latest.tgz"});
    write(
        &dir.path().join("trail.json.gz"),
        &gzip(
            json!({"Records": [put, assume, copy]})
                .to_string()
                .as_bytes(),
        ),
    );
    let report = recommend(&[dir.path()], &[]).json();
    let rows = usage(workload(&report, "arn:aws:iam::111122223333:user/ci"));
    let got: Vec<(&str, &str, Vec<&str>)> = rows
        .iter()
        .map(|(a, r, by)| {
            (
                a.as_str(),
                r.as_str(),
                by.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    let object = "arn:aws:s3:::builds/app/1.4.2.tgz";
    assert_eq!(
        got,
        [
            (
                "s3:GetObject",
                "arn:aws:s3:::*",
                vec!["s3:CopyObject without x-amz-copy-source"]
            ),
            ("s3:PutObject", "arn:aws:s3:::builds/app/1.4.2.tgz", vec![]),
            ("s3:PutObject", "arn:aws:s3:::builds/app/latest.tgz", vec![]),
            ("s3:PutObjectAcl", object, vec!["s3:PutObject x-amz-acl"]),
            (
                "s3:PutObjectRetention",
                object,
                vec!["s3:PutObject x-amz-object-lock-mode"]
            ),
            (
                "s3:PutObjectTagging",
                object,
                vec!["s3:PutObject x-amz-tagging"]
            ),
            (
                "sts:AssumeRole",
                "arn:aws:iam::111122223333:role/deployer",
                vec![]
            ),
            (
                "sts:SetSourceIdentity",
                "arn:aws:iam::111122223333:role/deployer",
                vec!["sts:AssumeRole sourceIdentity"]
            ),
        ]
    );
    // The independent evaluator allows each of these requests under the recommended policy.
    if let Some(modules) = node_tool("@cloud-copilot/iam-simulate") {
        let w = workload(&report, "arn:aws:iam::111122223333:user/ci");
        let requests: Vec<(&str, &str)> = got.iter().map(|(a, r, _)| (*a, *r)).collect();
        let lines = simulate(&modules, vec![w["policy"].clone()], &requests);
        assert_eq!(lines.len(), requests.len());
        for line in lines {
            assert!(line.starts_with("Allowed "), "{line}");
        }
    }
}
