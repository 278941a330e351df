//! Bad input never crashes the run and is never silently dropped: each bad file or record is
//! listed with its location and reason, the rest still counts, and the exit status is 2.

use std::path::Path;

use serde_json::{Value, json};

use crate::util::{gzip, iamtrim, recommend, user_event, workload_ids, write};

/// A folder with one good log file (bob's call) plus `bad` at `name`; returns the report and code.
fn with_bad_file(name: &str, bad: &[u8]) -> (i32, Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let good = json!({"Records": [user_event("bob", "s3.amazonaws.com", "ListBuckets", "2026-11-01T10:00:00Z")]});
    write(
        &dir.path().join("good.json.gz"),
        &gzip(good.to_string().as_bytes()),
    );
    write(&dir.path().join(name), bad);
    let run = recommend(&[dir.path()], &[]);
    let report = run.json();
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/bob"],
        "the good file still counts"
    );
    (run.code, report, run.stderr)
}

fn skipped(report: &Value) -> Vec<(String, String)> {
    report["input"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let location = s["location"].as_str().unwrap();
            let file = Path::new(location.split(": ").next().unwrap())
                .file_name()
                .unwrap()
                .to_string_lossy()
                .into_owned();
            let suffix = location
                .split_once(": ")
                .map(|(_, r)| format!(": {r}"))
                .unwrap_or_default();
            (file + &suffix, s["reason"].as_str().unwrap().to_owned())
        })
        .collect()
}

fn assert_skipped(name: &str, bad: &[u8], expected_reason: &str) {
    let (code, report, stderr) = with_bad_file(name, bad);
    assert_eq!(code, 2, "{name}: exit status");
    let list = skipped(&report);
    assert_eq!(list.len(), 1, "{name}: {list:?}");
    assert_eq!(list[0].0, name);
    assert!(
        list[0].1.starts_with(expected_reason),
        "{name}: reason {:?}",
        list[0].1
    );
    assert!(
        stderr.contains("warning: ") && stderr.contains(name),
        "{name}: {stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn corrupt_gzip() {
    let mut bytes = gzip(b"{\"Records\":[]}");
    let mid = bytes.len() / 2;
    bytes[mid..].iter_mut().for_each(|b| *b ^= 0x5a);
    assert_skipped(
        "corrupt.json.gz",
        &bytes,
        "corrupt or truncated gzip data: ",
    );
}

#[test]
fn truncated_gzip() {
    let records = json!({"Records": [user_event("eve", "s3.amazonaws.com", "GetObject", "2026-11-01T10:00:00Z")]});
    let bytes = gzip(records.to_string().as_bytes());
    assert_skipped(
        "truncated.json.gz",
        &bytes[..bytes.len() - 12],
        "corrupt or truncated gzip data",
    );
}

#[test]
fn invalid_json_keeps_the_records_read_before_the_error() {
    let text = format!(
        "{{\"Records\":[{},{{\"eventTime\":",
        user_event(
            "carol",
            "sqs.amazonaws.com",
            "SendMessage",
            "2026-11-01T10:00:00Z"
        )
    );
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("cut.json"), text.as_bytes());
    let run = recommend(&[dir.path()], &[]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/carol"]
    );
    let list = skipped(&report);
    assert_eq!(list[0].0, "cut.json");
    assert!(
        list[0].1.starts_with("invalid JSON: EOF while parsing"),
        "{:?}",
        list[0].1
    );
    assert!(
        list[0].1.ends_with("(after 1 records, which were kept)"),
        "{:?}",
        list[0].1
    );
}

#[test]
fn file_without_records() {
    assert_skipped(
        "other.json",
        br#"{"hello": "world"}"#,
        "JSON object without a \"Records\" array",
    );
}

#[test]
fn records_that_is_not_an_array() {
    assert_skipped(
        "weird.json",
        br#"{"Records": {"a": 1}}"#,
        "invalid JSON: invalid type: map, expected an array of CloudTrail records",
    );
}

#[test]
fn empty_files() {
    assert_skipped("empty.json", b"", "empty file");
    assert_skipped("empty.json.gz", &gzip(b""), "empty file");
}

#[test]
fn not_json_at_all() {
    assert_skipped(
        "binary.json",
        &[0x00, 0x01, 0x02],
        "not JSON (first byte 0x00)",
    );
}

#[test]
fn digest_content_named_like_a_log() {
    let digest = json!({"awsAccountId": "111122223333", "digestStartTime": "2026-11-01T00:00:00Z", "logFiles": []});
    assert_skipped(
        "digest.json.gz",
        &gzip(digest.to_string().as_bytes()),
        "CloudTrail digest file, not a log file",
    );
}

#[test]
fn decompression_bomb_is_reported_not_inflated() {
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("bomb.json.gz"),
        &gzip(&vec![b' '; 4 << 20]),
    );
    let run = recommend(&[dir.path()], &["--max-object-bytes", "1000000"]);
    assert_eq!(run.code, 2);
    assert_eq!(
        skipped(&run.json()),
        [(
            "bomb.json.gz".to_owned(),
            "decompressed size exceeds the limit of 1000000 bytes (possible decompression bomb)"
                .to_owned()
        )]
    );
}

#[test]
fn bad_records_are_listed_by_position_and_the_rest_counts() {
    let good = user_event(
        "dave",
        "ec2.amazonaws.com",
        "DescribeVpcs",
        "2026-11-01T10:00:00Z",
    );
    let mut no_time = good.clone();
    no_time.as_object_mut().unwrap().remove("eventTime");
    let mut bad_time = good.clone();
    bad_time["eventTime"] = json!("yesterday");
    let mut wrong_type = good.clone();
    wrong_type["eventSource"] = json!(42);
    let text = json!({"Records": [good, 7, no_time, bad_time, wrong_type]}).to_string();
    let dir = tempfile::tempdir().unwrap();
    write(&dir.path().join("mixed.json"), text.as_bytes());
    let run = recommend(&[dir.path()], &[]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(report["input"]["records"], 5);
    assert_eq!(report["input"]["bad_records"], 4);
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/dave"]
    );
    let list = skipped(&report);
    let reasons: Vec<(&str, &str)> = list.iter().map(|(l, r)| (l.as_str(), r.as_str())).collect();
    assert_eq!(
        reasons[0],
        (
            "mixed.json: record 1",
            "record is not a valid CloudTrail event: not a JSON object but a number"
        )
    );
    assert_eq!(
        reasons[1],
        ("mixed.json: record 2", "record has no eventTime")
    );
    assert_eq!(
        reasons[2].1,
        "eventTime \"yesterday\" is neither an RFC 3339 time nor YYYY-MM-DD HH:MM:SS[.fraction]"
    );
    assert!(
        reasons[2].0.starts_with("mixed.json: eventID e-dave-"),
        "{:?}",
        reasons[2]
    );
    assert_eq!(
        reasons[3],
        (
            "mixed.json: record 4",
            "record is not a valid CloudTrail event: invalid type: integer `42`, expected a string"
        )
    );
}

#[test]
fn concatenated_gzip_members_and_other_layouts_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let first = json!({"Records": [user_event("m1", "s3.amazonaws.com", "ListBuckets", "2026-11-01T10:00:00Z")]});
    let second = json!({"Records": [user_event("m2", "s3.amazonaws.com", "ListBuckets", "2026-11-01T10:00:00Z")]});
    let mut members = gzip(first.to_string().as_bytes());
    members.extend(gzip(second.to_string().as_bytes()));
    write(&dir.path().join("members.json.gz"), &members);
    let array = json!([user_event(
        "arr",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:00:00Z"
    )]);
    write(&dir.path().join("array.json"), array.to_string().as_bytes());
    let mut lines = user_event(
        "nd1",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:00:00Z",
    )
    .to_string();
    lines.push('\n');
    let mut logstash = user_event("nd2", "s3.amazonaws.com", "ListBuckets", "x");
    logstash.as_object_mut().unwrap().remove("eventTime");
    logstash["@timestamp"] = json!("2026-11-01T10:00:00.000Z");
    lines.push_str(&logstash.to_string());
    write(&dir.path().join("export.json"), lines.as_bytes());
    write(&dir.path().join("notes.txt"), b"not a log");
    let run = recommend(&[dir.path()], &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let users: Vec<String> = workload_ids(&report)
        .iter()
        .map(|id| id.rsplit('/').next().unwrap().to_owned())
        .collect();
    assert_eq!(users, ["arr", "m1", "m2", "nd1", "nd2"]);
    assert_eq!(
        report["input"]["ignored"][0]["reason"],
        "not a CloudTrail log file (expected .json or .json.gz)"
    );
}

#[test]
fn missing_path_is_a_one_line_error() {
    let run = iamtrim(&["recommend", "--trail", "no/such/folder"]);
    assert_eq!(run.code, 2);
    assert_eq!(run.stdout, "");
    assert_eq!(
        run.stderr,
        "error: cannot open the trail\n  Caused by: no/such/folder: no such file or folder\n"
    );
}

#[test]
fn bad_flags_are_usage_errors_not_panics() {
    let run = iamtrim(&[
        "recommend",
        "--trail",
        "fixtures/sample-trail",
        "--since",
        "yesterday",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("\"yesterday\" is not a time"),
        "{}",
        run.stderr
    );
    let run = iamtrim(&[
        "recommend",
        "--trail",
        "fixtures/sample-trail",
        "--since",
        "2026-11-02",
        "--until",
        "2026-11-01",
    ]);
    assert_eq!(run.code, 2);
    assert_eq!(
        run.stderr,
        "error: --since (2026-11-02T00:00:00Z) must be before --until (2026-11-01T00:00:00Z)\n"
    );
}

#[test]
fn many_bad_records_are_listed_up_to_the_cap_and_all_counted() {
    let good = user_event(
        "fay",
        "ec2.amazonaws.com",
        "DescribeVpcs",
        "2026-11-01T10:00:00Z",
    );
    let mut records: Vec<Value> = vec![good];
    records.extend((0..25).map(|n| json!(n)));
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("noisy.json"),
        json!({ "Records": records }).to_string().as_bytes(),
    );
    let run = recommend(&[dir.path()], &[]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(report["input"]["bad_records"], 25);
    assert_eq!(report["input"]["skipped"].as_array().unwrap().len(), 20);
    assert_eq!(report["input"]["skipped_not_listed"], 5);
    assert_eq!(skipped(&report)[19].0, "noisy.json: record 20");
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/fay"]
    );
}

#[test]
fn duplicate_events_are_counted_once_and_reported() {
    let single = recommend(&[&crate::util::sample_trail()], &[]);
    let dir = tempfile::tempdir().unwrap();
    // The same objects under two prefixes (two trails delivering to one bucket, or a copy).
    for prefix in ["trail-a", "trail-b"] {
        for entry in walkdir::WalkDir::new(crate::util::sample_trail())
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
        {
            let relative = entry
                .path()
                .strip_prefix(crate::util::sample_trail())
                .unwrap();
            write(
                &dir.path().join(prefix).join(relative),
                &std::fs::read(entry.path()).unwrap(),
            );
        }
    }
    // And one event delivered twice inside one file.
    let event = user_event(
        "erin",
        "sqs.amazonaws.com",
        "ListQueues",
        "2026-11-01T06:30:00Z",
    );
    write(
        &dir.path().join("redelivered.json"),
        json!({"Records": [event.clone(), event]})
            .to_string()
            .as_bytes(),
    );
    let run = recommend(&[dir.path()], &[]);
    assert_eq!(
        run.code, 0,
        "duplicates are normal, not an error: {}",
        run.stderr
    );
    let report = run.json();
    assert_eq!(report["input"]["records"], 2 * 126 + 2);
    assert_eq!(report["input"]["duplicate_events"], 126 + 1);
    assert!(
        run.stderr.contains(", 127 duplicate events in "),
        "{}",
        run.stderr
    );
    let erin = crate::util::workload(&report, "arn:aws:iam::111122223333:user/erin");
    assert_eq!(erin["usage"][0]["count"], 1);
    // Everything else is exactly the single-copy result.
    let mut workloads = report["workloads"].as_array().unwrap().clone();
    workloads.retain(|w| w["id"] != "arn:aws:iam::111122223333:user/erin");
    assert_eq!(json!(workloads), single.json()["workloads"]);
}

#[test]
fn invalid_utf8_and_a_huge_record() {
    // Invalid UTF-8 inside a string: the file's error names the position; nothing else is lost.
    let mut bytes = br#"{"Records": [{"eventVersion": "1.08", "eventSource": "s3.amazonaws.com", "eventName": ""#.to_vec();
    bytes.extend([0xff, 0xfe]);
    bytes.extend(br#""}]}"#);
    let (code, report, _) = with_bad_file("latin1.json", &bytes);
    assert_eq!(code, 2);
    let list = skipped(&report);
    assert_eq!(list[0].0, "latin1.json");
    assert!(
        list[0]
            .1
            .starts_with("invalid JSON: invalid unicode code point"),
        "{list:?}"
    );

    // One record bigger than --max-record-bytes: reported by position, the rest still counts.
    let mut huge = user_event(
        "huge",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:00:00Z",
    );
    huge["requestParameters"] = json!({"blob": "x".repeat(200_000)});
    let small = user_event(
        "small",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:00:00Z",
    );
    let dir = tempfile::tempdir().unwrap();
    write(
        &dir.path().join("huge.json"),
        json!({"Records": [huge, small]}).to_string().as_bytes(),
    );
    let run = recommend(&[dir.path()], &["--max-record-bytes", "100000"]);
    assert_eq!(run.code, 2);
    let report = run.json();
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/small"]
    );
    let list = skipped(&report);
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].0, "huge.json: record 0");
    assert_eq!(
        list[0].1,
        "record of 200637 bytes exceeds the limit of 100000 bytes (--max-record-bytes)"
    );
}

#[test]
fn odd_but_readable_input_is_read_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let day = dir
        .path()
        .join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01");
    // A file with no records: read, nothing to report.
    write(
        &day.join("111122223333_CloudTrail_us-east-1_20261101T1000Z_a.json.gz"),
        &gzip(br#"{"Records": []}"#),
    );
    // An eventVersion iamtrim has never seen: the fields it reads are the same.
    let mut future = user_event(
        "future",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:00:00Z",
    );
    future["eventVersion"] = json!("9.99");
    future["someNewField"] = json!({"nested": [1, 2, 3]});
    // A record outside the window: counted as such, not used.
    let old = user_event(
        "old",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-10-01T10:00:00Z",
    );
    write(
        &day.join("111122223333_CloudTrail_us-east-1_20261101T1005Z_b.json.gz"),
        &gzip(json!({"Records": [future, old]}).to_string().as_bytes()),
    );
    // Not a CloudTrail object, under AWSLogs/: listed as ignored.
    write(&day.join("README.txt"), b"uploaded by someone");
    let run = recommend(&[dir.path()], &["--since", "2026-11-01"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["input"]["files"], 2);
    assert_eq!(report["input"]["records"], 2);
    assert_eq!(report["input"]["outside_window"], 1);
    assert_eq!(
        workload_ids(&report),
        ["arn:aws:iam::111122223333:user/future"]
    );
    assert_eq!(report["input"]["ignored"].as_array().unwrap().len(), 1);
    assert!(
        report["input"]["ignored"][0]["location"]
            .as_str()
            .unwrap()
            .ends_with("README.txt")
    );
}

#[test]
fn wrongly_typed_identity_is_a_bad_record() {
    let mut event = user_event(
        "x",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:00:00Z",
    );
    event["userIdentity"] = json!("arn:aws:iam::111122223333:user/x");
    let (code, report, _) = with_bad_file(
        "typed.json",
        json!({"Records": [event]}).to_string().as_bytes(),
    );
    assert_eq!(code, 2);
    let list = skipped(&report);
    assert_eq!(list[0].0, "typed.json: record 0");
    assert!(
        list[0]
            .1
            .starts_with("record is not a valid CloudTrail event: invalid type: string"),
        "{list:?}"
    );
}

/// Every output format, with secrets planted where CloudTrail puts them and where hostile input
/// could: none of them appears anywhere.
#[test]
fn planted_secrets_never_reach_any_output() {
    const SECRETS: [&str; 5] = [
        "PLANTED-SESSION-TOKEN",
        "PLANTED-SECRET-ACCESS-KEY",
        "PLANTED-SECRET-STRING",
        "PLANTED-IN-A-BAD-RECORD",
        "PLANTED-IN-A-WRONG-TYPE",
    ];
    let dir = tempfile::tempdir().unwrap();
    let mut put = user_event(
        "ops",
        "secretsmanager.amazonaws.com",
        "PutSecretValue",
        "2026-11-01T10:00:00Z",
    );
    put["requestParameters"] = json!({"secretId": "prod/db", "secretString": SECRETS[2]});
    let mut assume = user_event(
        "ops",
        "sts.amazonaws.com",
        "AssumeRole",
        "2026-11-01T10:01:00Z",
    );
    assume["requestParameters"] =
        json!({"roleArn": "arn:aws:iam::111122223333:role/x", "roleSessionName": "s"});
    assume["responseElements"] = json!({"credentials": {"accessKeyId": "ASIAPLANTEDKEY000001",
        "sessionToken": SECRETS[0], "secretAccessKey": SECRETS[1], "expiration": "later"}});
    let mut typed = user_event(
        "ops",
        "s3.amazonaws.com",
        "ListBuckets",
        "2026-11-01T10:02:00Z",
    );
    typed["userIdentity"] = json!(SECRETS[4]);
    let records = json!({"Records": [put, assume, SECRETS[3], typed]});
    write(
        &dir.path().join("trail/planted.json"),
        records.to_string().as_bytes(),
    );
    let policy = dir.path().join("policy.json");
    write(
        &policy,
        br#"{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#,
    );
    let trail = dir.path().join("trail").display().to_string();
    let mut everything = String::new();
    for (i, format) in ["json", "text", "terraform", "cloudformation"]
        .iter()
        .enumerate()
    {
        let out = dir.path().join(format!("out{i}"));
        let policy_format = if *format == "text" {
            "json"
        } else if *format == "json" {
            "cloudformation"
        } else {
            format
        };
        let run = iamtrim(&[
            "recommend",
            "--trail",
            &trail,
            "--format",
            format,
            "--out",
            out.to_str().unwrap(),
            "--policy-format",
            policy_format,
            "--diff",
            "--policy",
            policy.to_str().unwrap(),
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        everything.push_str(&run.stdout);
        everything.push_str(&run.stderr);
        for entry in walkdir::WalkDir::new(&out)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
        {
            everything.push_str(&std::fs::read_to_string(entry.path()).unwrap());
        }
    }
    let diff = iamtrim(&[
        "diff",
        "--trail",
        &trail,
        "--policy",
        policy.to_str().unwrap(),
        "--format",
        "text",
    ]);
    everything.push_str(&diff.stdout);
    everything.push_str(&diff.stderr);
    assert!(
        everything.contains("secretsmanager:PutSecretValue"),
        "the run did see the calls"
    );
    for secret in SECRETS {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    assert!(
        !everything.contains("ASIAPLANTED"),
        "an access key id leaked"
    );
}

/// Records that went through a log pipeline or SIEM often come back with `eventTime` as
/// `2025-01-20 16:52:14.000000000` (UTC): read as that time, not reported as bad, and counted
/// in `input.exported_event_times`. A time in neither form is still a reported bad record.
#[test]
fn siem_style_event_times_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let records = json!({"Records": [
        user_event("alice", "s3.amazonaws.com", "ListBuckets", "2025-01-20 16:52:14.000000000"),
        user_event("alice", "sqs.amazonaws.com", "ListQueues", "2025-01-20 16:53:01.250000000"),
        user_event("alice", "sns.amazonaws.com", "ListTopics", "2025-01-20T16:54:00Z"),
        user_event("alice", "sts.amazonaws.com", "GetSessionToken", "20/01/2025 16:55:00"),
    ]});
    write(
        &dir.path().join("export.json"),
        records.to_string().as_bytes(),
    );
    let run = recommend(&[dir.path()], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    let report = run.json();
    assert_eq!(report["input"]["records"], 4);
    assert_eq!(report["input"]["exported_event_times"], 2);
    assert_eq!(report["input"]["bad_records"], 1);
    let skipped = report["input"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    assert!(
        skipped[0]["location"]
            .as_str()
            .unwrap()
            .contains("export.json"),
        "{skipped:?}"
    );
    assert_eq!(
        skipped[0]["reason"],
        "eventTime \"20/01/2025 16:55:00\" is neither an RFC 3339 time nor YYYY-MM-DD HH:MM:SS[.fraction]"
    );
    let usage = report["workloads"][0]["usage"].as_array().unwrap();
    let first_seen = |action: &str| {
        usage
            .iter()
            .find(|u| u["action"] == action)
            .map(|u| u["first_seen"].clone())
    };
    assert_eq!(usage.len(), 3, "{usage:?}");
    assert_eq!(
        first_seen("s3:ListAllMyBuckets"),
        Some(json!("2025-01-20T16:52:14Z"))
    );
    assert_eq!(
        first_seen("sqs:ListQueues"),
        Some(json!("2025-01-20T16:53:01.25Z"))
    );
    assert_eq!(
        first_seen("sns:ListTopics"),
        Some(json!("2025-01-20T16:54:00Z"))
    );
}

/// `--memory-budget` bounds the decompressed bytes all workers hold at once: objects that fit are
/// read one after another when two would not fit together, and a gzip bomb larger than the
/// budget is reported by name, as over the budget, while the rest is read.
#[test]
fn the_memory_budget_holds_across_workers_and_refuses_what_exceeds_it() {
    let dir = tempfile::tempdir().unwrap();
    // Six objects of about 600 KB decompressed each; the budget is 1 MB.
    for n in 0..6 {
        let records: Vec<Value> = (0..1_000)
            .map(|i| {
                user_event(
                    &format!("user{n}"),
                    "s3.amazonaws.com",
                    "ListBuckets",
                    &format!("2026-11-01T10:{:02}:{:02}Z", i / 60 % 60, i % 60),
                )
            })
            .collect();
        let text = json!({ "Records": records }).to_string();
        assert!((500_000..1_000_000).contains(&text.len()), "{}", text.len());
        write(
            &dir.path().join(format!("object-{n}.json.gz")),
            &gzip(text.as_bytes()),
        );
    }
    let bomb = format!("{{\"Records\":[{}]}}", " ".repeat(5_000_000));
    write(&dir.path().join("bomb.json.gz"), &gzip(bomb.as_bytes()));
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(["recommend", "--format", "json", "--threads", "2"])
        .args(["--memory-budget", "1000000", "--trail"])
        .arg(dir.path())
        .env("IAMTRIM_STATS", "1")
        .env("XDG_CACHE_HOME", "/nonexistent/iamtrim-test-cache")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    let report: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        skipped(&report),
        [(
            "bomb.json.gz".to_owned(),
            "decompressed size exceeds the memory budget of 1000000 bytes (--memory-budget)"
                .to_owned()
        )]
    );
    assert_eq!(report["input"]["records"], 6_000);
    assert_eq!(workload_ids(&report).len(), 6);
    let peak: u64 = stderr
        .split("memory_budget_peak=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no budget stats: {stderr}"));
    assert!((500_000..=1_000_000).contains(&peak), "peak {peak}");
}
