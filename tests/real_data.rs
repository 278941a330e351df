//! The real CloudTrail samples in ../shared/data/cloudtrail-real (skipped with a notice when the
//! folder is absent, as on a user's fresh clone; a failure instead with `IAMTRIM_REQUIRE_TOOLS`,
//! as in CI).

use std::path::PathBuf;

use crate::util::{actions, iamtrim_env, recommend, root, workload};

fn real_data() -> Option<PathBuf> {
    let dir = root().join("../shared/data/cloudtrail-real");
    if dir.is_dir() {
        Some(dir)
    } else {
        assert!(
            std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
            "{} is absent and IAMTRIM_REQUIRE_TOOLS is set",
            dir.display()
        );
        eprintln!(
            "NOTICE: {} is absent; skipping the real-data test",
            dir.display()
        );
        None
    }
}

#[test]
fn every_real_record_is_read_and_eks_identities_are_attributed() {
    let Some(dir) = real_data() else { return };
    let run = recommend(&[&dir], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    // 3,349 records in four layouts (wrapper, array, NDJSON with @timestamp, gzip org-trail keys).
    assert_eq!(report["input"]["records"], 3349);
    assert_eq!(report["input"]["bad_records"], 0);
    assert_eq!(report["input"]["skipped"], serde_json::json!([]));

    // Pod Identity: AssumeRole by pods.eks.amazonaws.com with session tags.
    let sa1 = workload(&report, "eks/eksworkshop-eksctl/ns-a/sa1");
    assert_eq!(sa1["kind"], "pod-identity");
    // Two vended sessions (one from an account the authors redacted to ACCOUNT_ID) on
    // session-tag evidence; the trail has none of their calls.
    assert_eq!(
        sa1["evidence"],
        serde_json::json!({"pod-identity-session-tags": {"sessions": 2, "events": 0}})
    );
    assert_eq!(
        sa1["roles"][0],
        "arn:aws:iam::823571991546:role/eks-pod-s3-read-access-role"
    );
    let lattice = workload(&report, "eks/eksworkshop-eksctl/app1/default");
    assert_eq!(
        lattice["roles"],
        serde_json::json!(["arn:aws:iam::823571991546:role/aws-sigv4-client"])
    );

    // IRSA: the only real AssumeRoleWithWebIdentity failed; it is the service account's denied call.
    let argo = workload(
        &report,
        "eks/A8242F25BFBB8F98F5321B2AE63C8B5C/argo/awf-aws-executor-plugin",
    );
    assert_eq!(argo["kind"], "irsa");
    assert_eq!(
        argo["evidence"],
        serde_json::json!({"irsa-token": {"sessions": 0, "events": 1}})
    );
    assert_eq!(actions(argo, "denied"), ["sts:AssumeRoleWithWebIdentity"]);
    assert!(argo["policy"].is_null());

    // The node role's AssumeRoleForPodIdentity is its own (role-level) workload's call.
    let node = workload(
        &report,
        "arn:aws:iam::ACCOUNT_ID:role/platform-eks-node-group-20231128085853957000000011",
    );
    assert_eq!(
        actions(node, "usage"),
        ["eks-auth:AssumeRoleForPodIdentity"]
    );
    assert_eq!(node["kind"], "node-role");
    assert_eq!(node["findings"], serde_json::json!([]));
    // Every workload event is in one coverage bucket.
    let events = &report["attribution"]["events"];
    let attributed: u64 = ["service_account", "role", "user", "unattributed"]
        .iter()
        .map(|k| events[k].as_u64().unwrap())
        .sum();
    let not_workload: u64 = report["input"]["not_workload_activity"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    // trailscraper's fixtures hold the same two events in three files (.json.gz, .json and a
    // smoke-test file): counted once each, the 4 other copies reported as duplicates.
    assert_eq!(report["input"]["duplicate_events"], 4);
    assert_eq!(attributed + not_workload + 4, 3349);

    // Lambda's versioned event names map to the IAM action.
    let text = report.to_string();
    assert!(text.contains("\"lambda:GetFunction\""));
    assert!(!text.contains("20150331"));
    // Successful CreateFunction (with `role`) and RunInstances (with `iamInstanceProfile`) need
    // iam:PassRole too.
    let bert = workload(&report, "arn:aws:iam::123837392027:user/bert-jan");
    let used = actions(bert, "usage");
    for needed in ["iam:PassRole", "lambda:CreateFunction", "ec2:RunInstances"] {
        assert!(
            used.iter().any(|a| a == needed),
            "{needed} missing from {used:?}"
        );
    }
    // Every action is a catalog action; the one pair with no public IAM action is listed, not invented.
    assert_eq!(
        report["unmapped"],
        serde_json::json!([{"event_source": "s3.amazonaws.com", "event_name": "GetStorageLensDashboardDataInternal", "count": 4}])
    );
    // #29: only authorization failures are denied. Throttling, not-found and limit errors came
    // after IAM allowed the call: those calls are granted, with their error codes.
    let mut denied_codes = std::collections::BTreeSet::new();
    let mut failed_codes = std::collections::BTreeSet::new();
    for w in report["workloads"].as_array().unwrap() {
        for d in w["denied"].as_array().unwrap() {
            denied_codes.extend(
                d["error_codes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned()),
            );
        }
        for u in w["usage"].as_array().unwrap() {
            failed_codes.extend(
                u["error_codes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| c.as_str().unwrap().to_owned()),
            );
        }
        assert_eq!(w["unauthenticated"], serde_json::json!([]), "{}", w["id"]);
    }
    assert_eq!(
        denied_codes.into_iter().collect::<Vec<_>>(),
        ["AccessDenied", "Client.UnauthorizedOperation"]
    );
    for code in [
        "ThrottlingException",
        "NoSuchBucketPolicy",
        "Client.VcpuLimitExceeded",
        "Client.InvalidRouteTableID.NotFound",
    ] {
        assert!(
            failed_codes.contains(code),
            "{code} not granted: {failed_codes:?}"
        );
    }
    // iam:PassRole names the passed role's ARN (or, for an instance profile, whose role the
    // event does not show, the roles of its account), and says which member implied it.
    let passes: Vec<(&str, &str)> = bert["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["action"] == "iam:PassRole")
        .map(|u| {
            (
                u["resource"].as_str().unwrap(),
                u["implied_by"][0].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        passes,
        [
            (
                "arn:aws:iam::123837392027:role/*",
                "ec2:RunInstances iamInstanceProfile"
            ),
            (
                "arn:aws:iam::123837392027:role/stratus-red-team-backdoor-f-lambda",
                "lambda:CreateFunction role"
            ),
            (
                "arn:aws:iam::123837392027:role/stratus-red-team-olc-lambda-xhfgzaowxc",
                "lambda:CreateFunction role"
            ),
        ]
    );
    // No vended session token from the real events leaks.
    assert!(!text.contains("IQoJb3JpZ2luX2Vj"));
}

/// Same input, same bytes, whatever the thread count: on the real samples, where requests that
/// look alike (two `CreateVpc` with the same CIDR) made different resources.
#[test]
fn the_real_samples_give_the_same_bytes_on_one_thread_or_two() {
    let Some(dir) = real_data() else { return };
    let one = recommend(&[&dir], &["--threads", "1"]);
    let two = recommend(&[&dir], &["--threads", "2"]);
    assert_eq!(one.code, 0, "{}", one.stderr);
    assert!(
        one.stdout == two.stdout,
        "the outputs differ between 1 and 2 threads"
    );
    // The two CreateVpc calls with the same request are told apart by their responses.
    let report = one.json();
    let vpcs: Vec<&str> = report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["generalizations"].as_array().unwrap())
        .filter(|g| g["rule"] == "create-on-type" && g["action"] == "ec2:CreateVpc")
        .flat_map(|g| g["from"].as_array().unwrap())
        .filter_map(|v| v.as_str())
        .filter(|v| !v.ends_with('*'))
        .collect();
    assert!(
        vpcs.contains(&"arn:aws:ec2:us-east-1:123837392027:vpc/vpc-07b33857c7ad1c027")
            && vpcs.contains(&"arn:aws:ec2:us-east-1:123837392027:vpc/vpc-098ff30ff74b36f73"),
        "{vpcs:?}"
    );
}

/// The structural scanner with each kernel, and serde_json alone (`IAMTRIM_SCANNER=off`), give
/// the same bytes on the sample trail (its broken objects included) and on the real samples;
/// `IAMTRIM_STATS` names the kernel used, which on this machine is the fastest one it has.
#[test]
fn every_scanner_kernel_gives_the_same_bytes_as_serde_json() {
    let sample = root().join("fixtures/sample-trail");
    let mut trails = vec![sample];
    trails.extend(real_data());
    for trail in &trails {
        let trail = trail.display().to_string();
        let run = |scanner: &str| {
            let args = ["recommend", "--trail", &trail, "--format", "json"];
            iamtrim_env(
                &args,
                &[("IAMTRIM_SCANNER", scanner), ("IAMTRIM_STATS", "1")],
            )
        };
        let reference = run("off");
        assert!(
            reference.stderr.contains("scanner: off"),
            "{}",
            reference.stderr
        );
        for kernel in ["scalar", "sse2", "avx2", "auto"] {
            let fast = run(kernel);
            assert_eq!(fast.code, reference.code, "{kernel}: {}", fast.stderr);
            assert!(
                fast.stdout == reference.stdout,
                "{kernel} differs on {trail}"
            );
            #[cfg(target_arch = "x86_64")]
            if kernel == "auto" && std::arch::is_x86_feature_detected!("avx2") {
                assert!(fast.stderr.contains("scanner: avx2"), "{}", fast.stderr);
            }
        }
    }
}
