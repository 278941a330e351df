//! `iamtrim catalog update` against a local server speaking AWS's service-reference format.

use std::net::TcpListener;

use serde_json::{Value, json};

use crate::util::{actions, iamtrim, recommend, serve, user_event, workload, write};

#[test]
fn update_builds_a_catalog_from_the_service_reference() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let s3 = json!({
        "Name": "s3",
        "Actions": [
            {"Name": "GetObject", "Resources": [{"Name": "object"}], "Annotations": {"Properties": {"IsList": false, "IsPermissionManagement": false, "IsTaggingOnly": false, "IsWrite": false}}},
            {"Name": "PutBucketPolicy", "Resources": [{"Name": "bucket"}], "Annotations": {"Properties": {"IsPermissionManagement": true, "IsWrite": true}}},
            {"Name": "ListAllMyBuckets", "Annotations": {"Properties": {"IsList": true}}}
        ],
        "Resources": [{"Name": "object", "ARNFormats": ["arn:${Partition}:s3:::${BucketName}/${ObjectName}"]}],
        "ConditionKeys": [{"Name": "s3:prefix", "Types": ["String"]}],
        "Operations": [
            {"Name": "GetObjectAttributes",
             "AuthorizedActions": [{"Name": "GetObject", "Service": "s3"}],
             "SDK": [{"Name": "s3", "Method": "get_object_attributes", "Package": "Boto3"}]},
            {"Name": "ListBuckets", "SDK": [{"Name": "s3", "Method": "list_buckets", "Package": "Boto3"}]}
        ],
        "Version": "v1.4"
    });
    let list = json!([{"service": "s3", "url": format!("{base}/v1/s3/s3.json")}]);
    serve(
        listener,
        vec![
            ("/v1/service-list.json".into(), list),
            ("/v1/s3/s3.json".into(), s3),
        ],
        2,
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("catalog.json.gz");
    let out_arg = out.to_str().unwrap();
    let run = iamtrim(&[
        "catalog",
        "update",
        "--from",
        &format!("{base}/v1/service-list.json"),
        "--out",
        out_arg,
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert!(
        run.stderr.contains("wrote 1 services, 3 actions"),
        "{}",
        run.stderr
    );

    let info: Value =
        serde_json::from_str(&iamtrim(&["catalog", "--json", "--catalog", out_arg]).stdout)
            .unwrap();
    assert_eq!(
        (
            &info["services"],
            &info["actions"],
            &info["resource_types"],
            &info["condition_keys"]
        ),
        (&json!(1), &json!(3), &json!(1), &json!(1))
    );
    assert!(
        info["version"]
            .as_str()
            .unwrap()
            .starts_with("aws-service-reference ")
    );

    // Written to the cache folder, the refreshed catalog is the one in use from then on.
    let cache = dir.path().join("cache");
    std::fs::create_dir_all(cache.join("iamtrim")).unwrap();
    std::fs::copy(&out, cache.join("iamtrim/catalog.json.gz")).unwrap();
    let in_use = std::process::Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(["catalog", "--json"])
        .env("XDG_CACHE_HOME", &cache)
        .output()
        .unwrap();
    let in_use: Value = serde_json::from_slice(&in_use.stdout).unwrap();
    assert_eq!(
        in_use["origin"],
        cache.join("iamtrim/catalog.json.gz").display().to_string()
    );
    assert_eq!(in_use["actions"], 3);

    // The refreshed catalog drives the mapping: the s3 event maps, the sqs one is unmapped.
    let trail = dir.path().join("trail");
    let records = json!({"Records": [
        user_event("ann", "s3.amazonaws.com", "ListBuckets", "2026-11-01T10:00:00Z"),
        user_event("ann", "sqs.amazonaws.com", "SendMessage", "2026-11-01T10:00:00Z"),
        user_event("ann", "s3.amazonaws.com", "GetObjectAttributes", "2026-11-01T10:00:01Z"),
    ]});
    write(&trail.join("t.json"), records.to_string().as_bytes());
    let report = recommend(&[&trail], &["--catalog", out_arg]).json();
    assert_eq!(
        actions(
            workload(&report, "arn:aws:iam::111122223333:user/ann"),
            "usage"
        ),
        ["s3:GetObject", "s3:ListAllMyBuckets"]
    );
    // GetObjectAttributes is no action of that catalog: the service reference's
    // AuthorizedActions for the operation map it, and the coverage counts that rule.
    let coverage: Value = serde_json::from_str(
        &iamtrim(&["catalog", "coverage", "--json", "--catalog", out_arg]).stdout,
    )
    .unwrap();
    assert_eq!(coverage["services"]["s3"]["rules"]["authorized-actions"], 1);
    assert_eq!(
        report["unmapped"],
        json!([{"event_source": "sqs.amazonaws.com", "event_name": "SendMessage", "count": 1}])
    );
}

#[test]
fn update_failure_is_a_clear_error_and_leaves_no_file() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    serve(listener, Vec::new(), 1);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("catalog.json.gz");
    let url = format!("{base}/v1/service-list.json");
    let run = iamtrim(&[
        "catalog",
        "update",
        "--from",
        &url,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(&format!("error: cannot update the IAM catalog\n  Caused by: cannot fetch {url}\n  Caused by: http status: 404")),
        "{}",
        run.stderr
    );
    assert!(!out.exists());
}
