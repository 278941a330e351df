//! Resource-scoped policies through the CLI: exact ARNs, recorded generalisations, size limits,
//! Terraform and CloudFormation output, and an independent linter (Parliament).

use std::process::{Command, Stdio};

use serde_json::{Value, json};

use crate::util::{SAMPLE_CONTEXT, gzip, python_tool, recommend, sample_trail, workload, write};

const IRSA_CLUSTER: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";

fn sample() -> Value {
    let run = recommend(&[&sample_trail()], &SAMPLE_CONTEXT);
    assert_eq!(run.code, 0, "{}", run.stderr);
    run.json()
}

#[test]
fn policies_name_the_real_resources() {
    let report = sample();
    let api = workload(&report, &format!("eks/{IRSA_CLUSTER}/payments/api"));
    assert_eq!(
        api["policy"],
        json!({"Version": "2012-10-17", "Statement": [
            {"Sid": "Dynamodb", "Effect": "Allow", "Action": ["dynamodb:GetItem", "dynamodb:PutItem"],
             "Resource": ["arn:aws:dynamodb:us-east-1:111122223333:table/payments"]},
            {"Sid": "Kms", "Effect": "Allow", "Action": ["kms:Decrypt"],
             "Resource": ["arn:aws:kms:us-east-1:111122223333:key/7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b"]},
            {"Sid": "S3", "Effect": "Allow", "Action": ["s3:GetObject"],
             "Resource": ["arn:aws:s3:::shop-payments-data/invoices/2026/11/*"]},
            {"Sid": "S32", "Effect": "Allow", "Action": ["s3:PutObject"],
             "Resource": ["arn:aws:s3:::shop-payments-data/receipts/r-1.json"]}
        ]})
    );
    // Six invoices read: above the threshold of 3, so their folder, recorded with the reason.
    assert_eq!(
        api["generalizations"],
        json!([{"rule": "s3-object-prefix", "action": "s3:GetObject", "from_count": 6,
            "from": (0..6).map(|i| format!("arn:aws:s3:::shop-payments-data/invoices/2026/11/{i}.pdf")).collect::<Vec<_>>(),
            "to": "arn:aws:s3:::shop-payments-data/invoices/2026/11/*"}])
    );
    assert_eq!(
        api["policy_size"],
        json!({"characters": 584, "limit": 6144, "limit_kind": "managed",
            "documents": 1, "max_documents": 10, "attachable": true})
    );

    // A secret by name, its random suffix as a pattern; SSM by path; KMS without a named key.
    let frontend = workload(&report, "eks/shop-prod/checkout/frontend");
    let statements: Vec<(&str, Vec<&str>)> = frontend["policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["Sid"].as_str().unwrap(),
                s["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|r| r.as_str().unwrap())
                    .collect(),
            )
        })
        .collect();
    assert_eq!(
        statements,
        [
            ("Kms", vec!["arn:aws:kms:us-east-1:111122223333:key/*"]),
            (
                "Secretsmanager",
                vec![
                    "arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/checkout/stripe-??????"
                ]
            ),
            (
                "Ssm",
                vec!["arn:aws:ssm:us-east-1:111122223333:parameter/checkout"]
            ),
            (
                "Ssm2",
                vec!["arn:aws:ssm:us-east-1:111122223333:parameter/checkout/feature-flags"]
            ),
        ]
    );
    let rules: Vec<&str> = frontend["generalizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        ["resource-not-named-in-event", "secret-random-suffix"]
    );

    // Only actions without resource-level support get "*".
    let node = workload(&report, "arn:aws:iam::111122223333:role/shop-prod-node");
    let star: Vec<&str> = node["policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| s["Resource"] == json!(["*"]))
        .flat_map(|s| s["Action"].as_array().unwrap())
        .map(|a| a.as_str().unwrap())
        .collect();
    assert_eq!(star, ["ec2:DescribeInstances", "ecr:GetAuthorizationToken"]);
}

#[test]
fn the_object_threshold_is_tunable() {
    let run = recommend(
        &[&sample_trail()],
        &["--max-objects", "10", "--workload", "payments/api"],
    );
    let report = run.json();
    let api = workload(&report, &format!("eks/{IRSA_CLUSTER}/payments/api"));
    assert_eq!(api["generalizations"], json!([]));
    let s3 = &api["policy"]["Statement"][2];
    assert_eq!(s3["Resource"].as_array().unwrap().len(), 6);
}

/// The identity-policy files under `dir` (not trust policies, not Terraform).
fn identity_policies(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.ends_with(".json") && !name.ends_with(".trust.json")
        })
        .collect()
}

/// Runs Parliament (an identity-policy linter) on every identity-policy file under `dir` and
/// asserts it reports nothing.
fn parliament_finds_nothing(dir: &std::path::Path) {
    let lint_dir = tempfile::tempdir().unwrap();
    for (i, path) in identity_policies(dir).iter().enumerate() {
        std::fs::copy(path, lint_dir.path().join(format!("{i}.json"))).unwrap();
    }
    let lint = Command::new("python3")
        .args([
            "-m",
            "parliament.cli",
            "--directory",
            lint_dir.path().to_str().unwrap(),
            "--json",
        ])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    // Parliament 1.6.4 splits an ARN at every ':', so a Bedrock model ID with a version
    // (`anthropic.claude-3-haiku-20240307-v1:0`, the form AWS gives them) matches none of its
    // formats: that one finding is Parliament's, not the policy's.
    let raw = String::from_utf8_lossy(&lint.stdout);
    let findings: String = raw
        .lines()
        .filter(|line| {
            let finding: serde_json::Value = serde_json::from_str(line).unwrap_or_default();
            !(finding["issue"] == "RESOURCE_MISMATCH"
                && finding["detail"]
                    .as_array()
                    .is_some_and(|d| d.iter().all(|x| x["action"] == "bedrock:InvokeModel")))
        })
        .collect::<Vec<_>>()
        .join("\n");
    // Parliament exits 1 when it reports anything, the known finding included.
    let ran = lint.status.success() || (lint.status.code() == Some(1) && !raw.trim().is_empty());
    assert!(
        ran && findings.trim().is_empty(),
        "parliament findings:\n{findings}\n{}",
        String::from_utf8_lossy(&lint.stderr)
    );
}

#[test]
fn sample_policies_pass_the_parliament_linter() {
    if !python_tool("parliament", "parliament==1.6.4") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("policies");
    let mut args = vec!["--out", out.to_str().unwrap()];
    args.extend(SAMPLE_CONTEXT);
    assert_eq!(recommend(&[&sample_trail()], &args).code, 0);
    let files = identity_policies(&out).len();
    // 9 service accounts, 1 user, 13 roles (role workloads' files are their roles'), and the 2
    // roles the shared role's split plan creates.
    assert_eq!(files, 25);
    parliament_finds_nothing(&out);
}

#[test]
fn terraform_and_cloudformation_render_the_same_policies() {
    let report = sample();
    let with_policy: Vec<&Value> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|w| !w["policy"].is_null())
        .collect();

    let trail = sample_trail().display().to_string();
    let code = |format: &str| {
        let mut args = vec!["recommend", "--trail", &trail, "--format", format];
        args.extend(SAMPLE_CONTEXT);
        crate::util::iamtrim(&args)
    };
    let tf = code("terraform");
    assert_eq!(tf.code, 0, "{}", tf.stderr);
    let body: hcl::Body = hcl::from_str(&tf.stdout).expect("valid HCL");
    let data: Vec<&hcl::Block> = body.blocks().collect();
    assert_eq!(data.len(), with_policy.len());
    assert!(
        tf.stdout
            .contains("data \"aws_iam_policy_document\" \"eks_shop_prod_checkout_frontend\" {")
    );
    assert!(tf.stdout.contains(
        "    resources = [\"arn:aws:secretsmanager:us-east-1:111122223333:secret:prod/checkout/stripe-??????\"]"
    ));

    let cfn = code("cloudformation");
    assert_eq!(cfn.code, 0, "{}", cfn.stderr);
    if python_tool("yaml", "PyYAML") {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("template.yaml");
        std::fs::write(&path, &cfn.stdout).unwrap();
        let parsed = Command::new("python3")
            .args([
                "-c",
                "import json,sys,yaml; print(json.dumps(yaml.safe_load(open(sys.argv[1]))))",
                path.to_str().unwrap(),
            ])
            .output()
            .unwrap();
        assert!(
            parsed.status.success(),
            "{}",
            String::from_utf8_lossy(&parsed.stderr)
        );
        let template: Value = serde_json::from_slice(&parsed.stdout).unwrap();
        let resources = template["Resources"].as_object().unwrap();
        assert_eq!(resources.len(), with_policy.len());
        let frontend = &resources["EksShopProdCheckoutFrontend"];
        assert_eq!(frontend["Type"], "AWS::IAM::ManagedPolicy");
        let want = &workload(&report, "eks/shop-prod/checkout/frontend")["policy"];
        assert_eq!(&frontend["Properties"]["PolicyDocument"], want);
    }

    // --out writes the same as files, deterministically.
    let dir = tempfile::tempdir().unwrap();
    for threads in ["1", "2"] {
        let out = dir.path().join(threads);
        let mut args = vec![
            "--out",
            out.to_str().unwrap(),
            "--policy-format",
            "terraform",
            "--threads",
            threads,
        ];
        args.extend(SAMPLE_CONTEXT);
        assert_eq!(recommend(&[&sample_trail()], &args).code, 0);
    }
    let read = |t: &str| {
        std::fs::read(
            dir.path()
                .join(t)
                .join("eks/shop-prod/checkout/frontend.tf"),
        )
        .unwrap()
    };
    assert_eq!(read("1"), read("2"));
}

#[test]
fn an_oversized_policy_is_generalised_then_split_to_fit() {
    let dir = tempfile::tempdir().unwrap();
    // Bucket names that share no token: no name pattern covers two of them (tenant-numbered
    // names would become one pattern; tests/attachable.rs).
    let bucket = |i: usize| {
        let words = [
            "amber", "birch", "cobalt", "dune", "ember", "fjord", "garnet", "heron",
        ];
        format!(
            "{}{}{}{i}",
            words[i % 8],
            words[i / 8 % 8],
            words[i / 64 % 8]
        )
    };
    let records: Vec<Value> = (0..400)
        .map(|i| {
            let mut event = crate::util::user_event(
                "etl",
                "s3.amazonaws.com",
                "GetObject",
                "2026-11-01T06:00:00Z",
            );
            event["requestParameters"] =
                json!({"bucketName": bucket(i), "key": format!("{i}/data.csv")});
            event["eventID"] = json!(format!("e-{i}"));
            event
        })
        .collect();
    write(
        &dir.path().join("trail/big.json.gz"),
        &gzip(json!({"Records": records}).to_string().as_bytes()),
    );
    let out = dir.path().join("policies");
    let run = recommend(
        &[&dir.path().join("trail")],
        &["--out", out.to_str().unwrap()],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let etl = workload(&report, "arn:aws:iam::111122223333:user/etl");
    assert!(etl["policy_size"]["characters"].as_u64().unwrap() > 6144);
    let parts = etl["policy_parts"].as_array().unwrap();
    assert!(parts.len() >= 2, "{}", parts.len());
    for part in parts {
        assert!(part.to_string().len() <= 6144);
    }
    assert_eq!(etl["findings"][0]["kind"], "policy-size");
    assert!(
        etl["generalizations"].as_array().unwrap().iter().any(
            |g| g["rule"] == "size-limit" && g["to"] == format!("arn:aws:s3:::{}/*", bucket(0))
        )
    );
    for i in 1..=parts.len() {
        assert!(
            out.join(format!("users/111122223333/etl.part-{i}.json"))
                .is_file()
        );
    }
    // With the inline limit (10,240 characters for all of a role's inline policies together)
    // fewer parts are needed, but more than one cannot be attached: a finding, exit 1.
    let run = recommend(&[&dir.path().join("trail")], &["--size-limit", "inline"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let inline = run.json();
    let etl = workload(&inline, "arn:aws:iam::111122223333:user/etl");
    let inline_parts = etl["policy_parts"].as_array().unwrap().len();
    assert!(inline_parts < parts.len());
    assert_eq!(etl["policy_size"]["attachable"], false);
    assert_eq!(etl["findings"][0]["kind"], "policy-not-attachable");
}

#[test]
fn requested_region_conditions_when_asked() {
    let run = recommend(
        &[&sample_trail()],
        &[
            "--condition-requested-region",
            "--workload",
            "orders/worker",
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let worker = workload(&report, &format!("eks/{IRSA_CLUSTER}/orders/worker"));
    let region = |s: &Value| s["Condition"]["StringEquals"]["aws:RequestedRegion"].clone();
    let statements = worker["policy"]["Statement"].as_array().unwrap();
    assert_eq!(statements[0]["Action"], json!(["sqs:SendMessage"]));
    assert_eq!(region(&statements[0]), json!(["us-east-1"]));
    assert_eq!(region(&statements[1]), json!(["us-west-2"]));
    assert_eq!(worker["usage"][0]["regions"], json!(["us-west-2"]));
    // Off by default.
    let plain = recommend(&[&sample_trail()], &["--workload", "orders/worker"]).json();
    let plain = workload(&plain, &format!("eks/{IRSA_CLUSTER}/orders/worker"));
    assert!(plain["policy"]["Statement"][0].get("Condition").is_none());

    // The same conditions in Terraform and CloudFormation, and Parliament accepts them.
    let trail = sample_trail().display().to_string();
    let tf = crate::util::iamtrim(&[
        "recommend",
        "--trail",
        &trail,
        "--format",
        "terraform",
        "--condition-requested-region",
        "--workload",
        "orders/worker",
    ]);
    let _: hcl::Body = hcl::from_str(&tf.stdout).expect("valid HCL");
    assert!(tf.stdout.contains(
        "    condition {\n      test     = \"StringEquals\"\n      variable = \"aws:RequestedRegion\"\n      values   = [\"us-west-2\"]\n    }\n"
    ), "{}", tf.stdout);
    if python_tool("parliament", "parliament==1.6.4") {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("policies");
        let mut args = vec![
            "--out",
            out.to_str().unwrap(),
            "--condition-requested-region",
        ];
        args.extend(SAMPLE_CONTEXT);
        assert_eq!(recommend(&[&sample_trail()], &args).code, 0);
        parliament_finds_nothing(&out);
    }
}
