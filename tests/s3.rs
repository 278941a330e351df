//! `--trail s3://…`: the sample trail in a real S3-protocol server (moto) on loopback, read in
//! place through aws-sdk-s3, gives the same result as the local folder.

use serde_json::Value;

use crate::util::{Moto, iamtrim_with_aws, recommend, sample_trail};

fn from_s3(moto: &Moto, uri: &str, extra: &[&str]) -> crate::util::Run {
    let mut args = vec![
        "recommend",
        "--trail",
        uri,
        "--format",
        "json",
        "--endpoint-url",
        &moto.endpoint,
    ];
    args.extend(extra);
    iamtrim_with_aws(&args, &[])
}

/// What must not depend on where the trail is read from.
fn result(report: &Value) -> Value {
    serde_json::json!({
        "workloads": report["workloads"],
        "attribution": report["attribution"],
        "window": report["window"],
        "records": report["input"]["records"],
        "files": report["input"]["files"],
        "unmapped": report["unmapped"],
    })
}

#[test]
fn a_bucket_in_the_standard_and_the_organisation_layout_reads_like_the_folder() {
    let Some(moto) = Moto::start() else { return };
    let local = recommend(&[&sample_trail()], &[]);
    assert_eq!(local.code, 0);
    let local = result(&local.json());

    moto.create_bucket("trail");
    moto.upload_dir("trail", "", &sample_trail());
    let run = from_s3(&moto, "s3://trail", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(result(&report), local);
    assert_eq!(
        report["input"]["ignored"],
        serde_json::json!([{"location": "s3://trail/AWSLogs/111122223333/CloudTrail-Digest/",
            "reason": "CloudTrail digest file (integrity manifest, not a log)"}])
    );

    // An organisation trail: AWSLogs/o-<org>/<account>/CloudTrail/…, under a prefix.
    moto.create_bucket("org-trail");
    let account_dir = sample_trail().join("AWSLogs");
    moto.upload_dir("org-trail", "logs/AWSLogs/o-a1b2c3d4e5/", &account_dir);
    let run = from_s3(&moto, "s3://org-trail/logs/", &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(result(&run.json()), local);

    // Day prefixes outside the window are not even listed.
    let run = from_s3(&moto, "s3://trail", &["--since", "2027-01-01"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.json()["input"]["files"], 0);
}

#[test]
fn a_missing_bucket_is_one_clear_error() {
    let Some(moto) = Moto::start() else { return };
    let run = from_s3(&moto, "s3://no-such-bucket/AWSLogs/", &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.starts_with(
            "error: cannot read the trail\n  Caused by: s3://no-such-bucket/AWSLogs/: cannot list: "
        ),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("NoSuchBucket"), "{}", run.stderr);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
}
