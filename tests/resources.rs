//! #21, end to end: the documented (operation, request) → ARN cases of
//! fixtures/resource-cases.json, each made the call of its own IAM user in a trail, give
//! exactly their ARNs in that workload's usage through `iamtrim recommend`; a created
//! resource's wildcard is recorded as `create-on-type`.

use serde_json::Value;

use crate::util::{gzip, recommend, root, user_event, write};

/// The resources of `action` in a workload's usage, sorted.
fn usage_resources(workload: &Value, action: &str) -> Vec<String> {
    let mut out: Vec<String> = workload["usage"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|u| u["action"] == action)
        .map(|u| u["resource"].as_str().unwrap().to_owned())
        .collect();
    out.sort();
    out
}

#[test]
fn documented_requests_name_their_resources_end_to_end() {
    let cases: Vec<Value> = serde_json::from_slice(
        &std::fs::read(root().join("fixtures/resource-cases.json")).unwrap(),
    )
    .unwrap();
    let records: Vec<Value> = cases
        .iter()
        .enumerate()
        .map(|(i, case)| {
            let user = format!("case-{i:03}");
            let region = case["region"].as_str().unwrap();
            let account = case["account"].as_str().unwrap();
            let partition = match region {
                r if r.starts_with("cn-") => "aws-cn",
                r if r.starts_with("us-gov-") => "aws-us-gov",
                _ => "aws",
            };
            let mut event = user_event(
                &user,
                case["event_source"].as_str().unwrap(),
                case["event_name"].as_str().unwrap(),
                "2026-11-01T10:00:00Z",
            );
            event["awsRegion"] = region.into();
            event["recipientAccountId"] = account.into();
            event["userIdentity"]["accountId"] = account.into();
            event["userIdentity"]["arn"] =
                format!("arn:{partition}:iam::{account}:user/{user}").into();
            event["requestParameters"] = case["request_parameters"].clone();
            event["readOnly"] = false.into();
            event
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("trail/cases.json.gz"),
        &gzip(&serde_json::to_vec(&serde_json::json!({"Records": records})).unwrap()),
    );
    let r = recommend(&[&dir.path().join("trail")], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    let mut wrong = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let user = format!("user/case-{i:03}");
        let action = case["action"].as_str().unwrap();
        let workload = report["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"].as_str().unwrap().ends_with(&user))
            .unwrap_or_else(|| panic!("no workload for {user} ({action})"));
        let got = usage_resources(workload, action);
        let want: Vec<&str> = case["resources"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        if got != want {
            wrong.push(format!("{action}: got {got:?}, want {want:?}"));
        }
        // A created resource's wildcard is recorded as such, not as "not named".
        if case["creates"] == true {
            let rules: Vec<&str> = workload["generalizations"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["action"] == action && g["to"].as_str().unwrap().contains('*'))
                .map(|g| g["rule"].as_str().unwrap())
                .collect();
            if !rules.contains(&"create-on-type") {
                wrong.push(format!(
                    "{action}: the created resource is recorded as {rules:?}"
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
}

/// An event names an IAM role by name alone: without an IAM snapshot the name is granted at the
/// root and under any path (`iam-name-any-path`); with a snapshot that holds the role, its real
/// ARN (with its `/service-role/` path) replaces both.
#[test]
fn iam_names_resolve_to_their_paths_from_a_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let mut event = user_event(
        "ops",
        "iam.amazonaws.com",
        "GetRole",
        "2026-11-01T10:00:00Z",
    );
    event["requestParameters"] = serde_json::json!({"roleName": "app"});
    let mut detach = user_event(
        "ops",
        "iam.amazonaws.com",
        "DetachRolePolicy",
        "2026-11-01T10:01:00Z",
    );
    detach["requestParameters"] = serde_json::json!({"roleName": "app",
        "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"});
    write(
        &dir.path().join("trail/t.json.gz"),
        &gzip(&serde_json::to_vec(&serde_json::json!({"Records": [event, detach]})).unwrap()),
    );
    let resources = |report: &Value, action: &str| usage_resources(&report["workloads"][0], action);
    let trail = dir.path().join("trail");
    let bare = recommend(&[&trail], &[]).json();
    assert_eq!(
        resources(&bare, "iam:GetRole"),
        [
            "arn:aws:iam::111122223333:role/*/app",
            "arn:aws:iam::111122223333:role/app"
        ]
    );
    let rules: Vec<&str> = bare["workloads"][0]["generalizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"iam-name-any-path"), "{rules:?}");

    let snapshot = dir.path().join("iam.json");
    write(
        &snapshot,
        serde_json::to_string(&serde_json::json!({
            "RoleDetailList": [{
                "Arn": "arn:aws:iam::111122223333:role/service-role/app",
                "RoleName": "app", "Path": "/service-role/",
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": []},
                "RolePolicyList": [], "AttachedManagedPolicies": [], "InstanceProfileList": []
            }],
            "UserDetailList": [], "GroupDetailList": [], "Policies": []
        }))
        .unwrap()
        .as_bytes(),
    );
    let known = recommend(
        &[&trail],
        &["--iam-snapshot", &snapshot.display().to_string()],
    )
    .json();
    for action in ["iam:GetRole", "iam:DetachRolePolicy"] {
        assert_eq!(
            resources(&known, action),
            ["arn:aws:iam::111122223333:role/service-role/app"],
            "{action}"
        );
    }
    let usage = known["workloads"][0]["usage"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["action"] == "iam:GetRole")
        .unwrap();
    assert_eq!(usage["count"], 1, "the two rows of one call merge into one");
}

/// A create's response names what it created: the usage rows say which subnet and instances
/// were made, and the policy keeps the type's wildcard (`create-on-type`), since the next call
/// creates others.
#[test]
fn created_resources_are_named_from_the_response_and_granted_on_their_type() {
    let dir = tempfile::tempdir().unwrap();
    let mut subnet = user_event(
        "builder",
        "ec2.amazonaws.com",
        "CreateSubnet",
        "2026-11-01T10:00:00Z",
    );
    subnet["requestParameters"] = serde_json::json!({"vpcId": "vpc-06fe1a64761a0f720",
        "cidrBlock": "10.0.128.0/24", "availabilityZone": "us-east-1a"});
    subnet["responseElements"] = serde_json::json!({"requestId": "8dd15b1c",
        "subnet": {"subnetId": "subnet-01ed430875cff578d", "vpcId": "vpc-06fe1a64761a0f720",
            "state": "available", "cidrBlock": "10.0.128.0/24"}});
    let mut run = user_event(
        "builder",
        "ec2.amazonaws.com",
        "RunInstances",
        "2026-11-01T10:01:00Z",
    );
    run["requestParameters"] = serde_json::json!({"instanceType": "t3.micro",
        "instancesSet": {"items": [{"imageId": "ami-0aa1d83d0b0985c86", "minCount": 2, "maxCount": 2}]},
        "subnetId": "subnet-01ed430875cff578d"});
    run["responseElements"] = serde_json::json!({"reservationId": "r-1",
        "instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60001", "imageId": "ami-0aa1d83d0b0985c86"},
                                   {"instanceId": "i-0a1b2c3d4e5f60002", "imageId": "ami-0aa1d83d0b0985c86"}]}});
    write(
        &dir.path().join("trail/t.json.gz"),
        &gzip(&serde_json::to_vec(&serde_json::json!({"Records": [subnet, run]})).unwrap()),
    );
    let r = recommend(&[&dir.path().join("trail")], &[]);
    let report = r.json();
    let w = &report["workloads"][0];
    let rows = |action: &str| usage_resources(w, action);
    let a = "arn:aws:ec2:us-east-1:111122223333";
    assert_eq!(
        rows("ec2:CreateSubnet"),
        [
            format!("{a}:subnet/subnet-01ed430875cff578d"),
            format!("{a}:vpc/vpc-06fe1a64761a0f720")
        ]
    );
    let instances: Vec<String> = rows("ec2:RunInstances")
        .into_iter()
        .filter(|r| r.contains(":instance/"))
        .collect();
    assert_eq!(
        instances,
        [
            format!("{a}:instance/i-0a1b2c3d4e5f60001"),
            format!("{a}:instance/i-0a1b2c3d4e5f60002")
        ]
    );
    // The policy: the created types' wildcards, recorded with what was created.
    let granted: Vec<String> = w["policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["Resource"].as_array().unwrap().iter())
        .map(|r| r.as_str().unwrap().to_owned())
        .collect();
    assert!(granted.contains(&format!("{a}:subnet/*")), "{granted:?}");
    assert!(granted.contains(&format!("{a}:instance/*")), "{granted:?}");
    assert!(
        !granted.iter().any(|g| g.contains("i-0a1b2c3d4e5f6000")),
        "{granted:?}"
    );
    let created: Vec<&Value> = w["generalizations"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|g| g["rule"] == "create-on-type" && g["to"] == format!("{a}:instance/*"))
        .collect();
    assert_eq!(created.len(), 1, "{:?}", w["generalizations"]);
    assert_eq!(created[0]["from_count"], 2);
}
