//! `--trail s3://…`: the sample trail in a real S3-protocol server (moto) on loopback, read in
//! place through aws-sdk-s3, gives the same result as the local folder.

use serde_json::Value;

use crate::util::{Moto, Request, iamtrim_with_aws, recommend, sample_trail};

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

    // Account and region filters, the same for the bucket and the folder.
    let west = from_s3(&moto, "s3://trail", &["--trail-region", "us-west-2"]).json();
    let local_west = recommend(&[&sample_trail()], &["--trail-region", "us-west-2"]).json();
    assert_eq!(west["input"]["files"], 9);
    assert_eq!(result(&west), result(&local_west));
    let none = from_s3(
        &moto,
        "s3://org-trail/logs/",
        &["--trail-account", "999999999999"],
    )
    .json();
    assert_eq!(none["input"]["files"], 0);

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

/// A fault to inject on one request.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Answer with this status and S3 error code.
    Status(u16, &'static str),
    /// Close the connection without answering.
    Reset,
    /// Wait, then forward.
    Stall(std::time::Duration),
}

/// An HTTP proxy in front of `upstream` that injects, per request whose path contains a key of
/// `plan`, the next fault queued for it (then forwards normally). Returns its URL.
type Plan = std::sync::Arc<std::sync::Mutex<std::collections::HashMap<&'static str, Vec<Fault>>>>;

fn fault_proxy(
    upstream: String,
    plan: std::collections::HashMap<&'static str, Vec<Fault>>,
) -> (String, Plan) {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::{Arc, Mutex};
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let plan = Arc::new(Mutex::new(plan));
    let handle = Arc::clone(&plan);
    let upstream = upstream.trim_start_matches("http://").to_owned();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            let plan = Arc::clone(&plan);
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let Some(request) = Request::read(&client) else {
                    return;
                };
                let path = request.target().to_owned();
                let fault = {
                    let mut plan = plan.lock().unwrap();
                    plan.iter_mut()
                        .find(|(k, _)| path.contains(*k))
                        .and_then(|(_, faults)| (!faults.is_empty()).then(|| faults.remove(0)))
                };
                match fault {
                    Some(Fault::Reset) => {
                        let _ = client.shutdown(std::net::Shutdown::Both);
                        return;
                    }
                    Some(Fault::Status(status, code)) => {
                        let xml = format!(
                            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message></Error>"
                        );
                        let _ = write!(
                            client,
                            "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{xml}",
                            xml.len()
                        );
                        return;
                    }
                    Some(Fault::Stall(wait)) => std::thread::sleep(wait),
                    None => {}
                }
                let mut server = TcpStream::connect(&upstream).unwrap();
                let head = format!(
                    "{}{}Connection: close\r\n\r\n",
                    request.line,
                    request.headers.concat()
                );
                server.write_all(head.as_bytes()).unwrap();
                server.write_all(&request.body).unwrap();
                let mut response = Vec::new();
                let _ = server.read_to_end(&mut response);
                let _ = client.write_all(&response);
            });
        }
    });
    (url, handle)
}

#[test]
fn throttling_errors_resets_and_stalls_lose_nothing_and_count_nothing_twice() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("trail");
    moto.upload_dir("trail", "", &sample_trail());
    let local = recommend(&[&sample_trail()], &[]).json();
    use std::time::Duration;
    let plan = std::collections::HashMap::from([
        // Retried by the SDK and then read once.
        ("20261101T0600Z", vec![Fault::Status(503, "SlowDown")]),
        (
            "20261101T0605Z",
            vec![
                Fault::Status(500, "InternalError"),
                Fault::Status(503, "ServiceUnavailable"),
            ],
        ),
        ("20261101T0610Z", vec![Fault::Reset]),
        (
            "20261101T0615Z",
            vec![Fault::Stall(Duration::from_millis(1500))],
        ),
        // Fails every attempt: reported, the run goes on.
        (
            "us-west-2_20261101T0700Z",
            vec![Fault::Status(500, "InternalError"); 10],
        ),
    ]);
    let (proxy, left) = fault_proxy(moto.endpoint.clone(), plan);
    let run = iamtrim_with_aws(
        &[
            "recommend",
            "--trail",
            "s3://trail",
            "--format",
            "json",
            "--endpoint-url",
            &proxy,
        ],
        &[],
    );
    assert_eq!(run.code, 2, "one object could not be read: {}", run.stderr);
    // Every planned fault was served (the failing object used at least the SDK's attempts).
    let left = left.lock().unwrap();
    for key in [
        "20261101T0600Z",
        "20261101T0605Z",
        "20261101T0610Z",
        "20261101T0615Z",
    ] {
        assert!(
            left[key].is_empty(),
            "fault for {key} not injected: {:?}",
            left[key]
        );
    }
    assert!(left["us-west-2_20261101T0700Z"].len() < 10);
    drop(left);
    let report = run.json();
    let skipped = report["input"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{skipped:?}");
    let location = skipped[0]["location"].as_str().unwrap();
    assert!(location.starts_with("s3://trail/AWSLogs/111122223333/CloudTrail/us-west-2/2026/11/01/111122223333_CloudTrail_us-west-2_20261101T0700Z_"), "{location}");
    assert!(
        skipped[0]["reason"]
            .as_str()
            .unwrap()
            .contains("InternalError"),
        "{skipped:?}"
    );
    // Every other object read exactly once: records are the local run's minus the lost file's,
    // and nothing was counted twice.
    assert_eq!(report["input"]["files"], 21);
    assert_eq!(report["input"]["duplicate_events"], 0);
    let lost_file = walkdir::WalkDir::new(sample_trail())
        .into_iter()
        .filter_map(Result::ok)
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .contains("us-west-2_20261101T0700Z")
        })
        .unwrap();
    let mut json = String::new();
    std::io::Read::read_to_string(
        &mut flate2::read::GzDecoder::new(std::fs::File::open(lost_file.path()).unwrap()),
        &mut json,
    )
    .unwrap();
    let lost: Value = serde_json::from_str(&json).unwrap();
    let lost = lost["Records"].as_array().unwrap().len() as u64;
    assert_eq!(report["input"]["records"], 126 - lost);
    let local_files = local["input"]["files"].clone();
    assert_eq!(report["input"]["files"], local_files);
    let usage = |r: &Value, id: &str| {
        r["workloads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|w| w["id"] == id)
            .map(|w| w["usage"].clone())
    };
    // A workload whose calls are all in us-east-1 is untouched by the lost us-west-2 file.
    let id = "eks/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C/payments/api";
    assert_eq!(usage(&report, id), usage(&local, id));
}

/// A loopback server speaking CloudTrail's LookupEvents (awsJson1.1), in two pages, recording
/// when each request came.
fn lookup_events_stub(
    records: Vec<Value>,
) -> (
    String,
    std::sync::Arc<std::sync::Mutex<Vec<std::time::Instant>>>,
) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let calls = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&calls);
    let half = records.len() / 2;
    let pages: Vec<Vec<Value>> = vec![records[..half].to_vec(), records[half..].to_vec()];
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some(request) = Request::read(&stream) else {
                continue;
            };
            seen.lock().unwrap().push(std::time::Instant::now());
            let target = request.header("X-Amz-Target").unwrap_or_default();
            assert!(target.ends_with(".LookupEvents"), "{target}");
            let second = String::from_utf8_lossy(&request.body).contains("NextToken");
            let events: Vec<Value> = pages[usize::from(second)]
                .iter()
                .map(|r| serde_json::json!({"EventId": r["eventID"], "CloudTrailEvent": r.to_string()}))
                .collect();
            let mut answer = serde_json::json!({"Events": events});
            if !second {
                answer["NextToken"] = serde_json::json!("page-2");
            }
            let text = answer.to_string();
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{text}",
                text.len()
            );
        }
    });
    (url, calls)
}

#[test]
fn lookup_events_pages_through_the_api_and_says_what_it_cannot_see() {
    // Every record of the sample, served by the API in two pages.
    let mut records = Vec::new();
    for entry in walkdir::WalkDir::new(sample_trail().join("AWSLogs/111122223333/CloudTrail"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
    {
        let mut json = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(entry.path()).unwrap()),
            &mut json,
        )
        .unwrap();
        let file: Value = serde_json::from_str(&json).unwrap();
        records.extend(file["Records"].as_array().unwrap().iter().cloned());
    }
    let (url, calls) = lookup_events_stub(records);
    let run = iamtrim_with_aws(
        &[
            "recommend",
            "--trail",
            "cloudtrail:lookup",
            "--format",
            "json",
            "--endpoint-url",
            &url,
        ],
        &[],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let report = run.json();
    let local = recommend(&[&sample_trail()], &[]).json();
    assert_eq!(report["workloads"], local["workloads"]);
    assert_eq!(report["input"]["records"], 126);
    assert_eq!(report["input"]["files"], 2, "two pages");
    assert!(
        report["input"]["source_notes"][0]
            .as_str()
            .unwrap()
            .starts_with(
                "CloudTrail LookupEvents returns management events of the last 90 days only"
            )
    );
    assert!(
        run.stderr.contains("note: CloudTrail LookupEvents"),
        "{}",
        run.stderr
    );
    // At most 2 requests per second.
    let calls = calls.lock().unwrap();
    assert_eq!(calls.len(), 2);
    assert!(calls[1] - calls[0] >= std::time::Duration::from_millis(450));
}

#[test]
fn access_denied_on_the_bucket_names_the_missing_permission() {
    let Some(moto) = Moto::start() else { return };
    moto.create_bucket("trail");
    let plan = std::collections::HashMap::from([(
        "list-type=2",
        vec![Fault::Status(403, "AccessDenied"); 10],
    )]);
    let (proxy, _) = fault_proxy(moto.endpoint.clone(), plan);
    let run = iamtrim_with_aws(
        &[
            "recommend",
            "--trail",
            "s3://trail/AWSLogs/",
            "--endpoint-url",
            &proxy,
        ],
        &[],
    );
    assert_eq!(run.code, 2);
    assert_eq!(run.stderr.lines().count(), 2, "{}", run.stderr);
    assert!(
        run.stderr.starts_with(
            "error: cannot read the trail\n  Caused by: s3://trail/AWSLogs/: cannot list: "
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .trim_end()
            .ends_with("(iamtrim needs s3:ListBucket on the bucket)"),
        "{}",
        run.stderr
    );
}
