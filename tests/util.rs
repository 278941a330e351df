//! Shared test context: run the binary, build trails in temp folders.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::{Compression, GzBuilder};
use serde_json::Value;

pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn sample_trail() -> PathBuf {
    root().join("fixtures/sample-trail")
}

/// The account facts bundled with the sample trail, as `recommend` arguments.
pub const SAMPLE_CONTEXT: [&str; 4] = [
    "--iam-snapshot",
    "fixtures/sample-context/iam.json",
    "--pod-identity-associations",
    "fixtures/sample-context/pod-identity-associations.json",
];

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

pub fn iamtrim(args: &[&str]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(args)
        .current_dir(root())
        // A catalog refreshed on this machine must not change what the tests see.
        .env("XDG_CACHE_HOME", "/nonexistent/iamtrim-test-cache")
        .output()
        .expect("run iamtrim");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// `recommend --format json` on the given paths plus extra arguments.
pub fn recommend(paths: &[&Path], extra: &[&str]) -> Run {
    let mut args = vec!["recommend".to_owned(), "--format".into(), "json".into()];
    for p in paths {
        args.push("--trail".into());
        args.push(p.display().to_string());
    }
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    iamtrim(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(Vec::new(), Compression::default());
    gz.write_all(data).unwrap();
    gz.finish().unwrap()
}

/// One valid CloudTrail record: an IAM user's call.
pub fn user_event(user: &str, source: &str, name: &str, time: &str) -> Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::111122223333:user/{user}"),
            "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLE", "userName": user},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0", "requestParameters": null,
        "responseElements": null, "requestID": "r-1", "eventID": format!("e-{user}-{name}-{time}"),
        "readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "111122223333", "eventCategory": "Management"
    })
}

pub fn write(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

/// The ids of the reported workloads.
pub fn workload_ids(report: &Value) -> Vec<String> {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The sorted set of actions in a workload's usage (or denied) list.
pub fn actions(workload: &Value, list: &str) -> Vec<String> {
    let mut a: Vec<String> = workload[list]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["action"].as_str().unwrap().to_owned())
        .collect();
    a.sort();
    a.dedup();
    a
}

pub fn workload<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["workloads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["id"] == id)
        .unwrap_or_else(|| panic!("no workload {id} in {:?}", workload_ids(report)))
}
