//! #21, end to end: the documented (operation, request) → ARN cases of
//! fixtures/resource-cases.json, each made the call of its own IAM user in a trail, give
//! exactly their ARNs in that workload's usage through `iamtrim recommend`; a created
//! resource's wildcard is recorded as `create-on-type`.

use serde_json::Value;

use crate::util::{gzip, recommend, root, user_event, write};

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
        let mut got: Vec<&str> = workload["usage"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["action"] == action)
            .map(|u| u["resource"].as_str().unwrap())
            .collect();
        got.sort_unstable();
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
    let resources = |report: &Value, action: &str| -> Vec<String> {
        let mut out: Vec<String> = report["workloads"][0]["usage"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|u| u["action"] == action)
            .map(|u| u["resource"].as_str().unwrap().to_owned())
            .collect();
        out.sort();
        out
    };
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
