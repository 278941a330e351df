//! Shared test context: run the binary, build trails in temp folders.

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};

use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};

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
    iamtrim_env(args, &[])
}

/// [`iamtrim`] with more environment variables.
pub fn iamtrim_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let output: Output = Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(args)
        .envs(env.iter().copied())
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

/// Every file under `dir`: relative path and bytes, sorted by path.
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap_or_else(|e| panic!("{}: {e}", dir.display())))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path())
                .unwrap_or_else(|err| panic!("{}: {err}", e.path().display()));
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                bytes,
            )
        })
        .collect();
    out.sort();
    out
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

/// One HTTP/1.1 request read off a test server's connection.
pub struct Request {
    /// `GET /path?query HTTP/1.1`
    pub line: String,
    /// Header lines as sent (with their CRLF), `Connection` dropped.
    pub headers: Vec<String>,
    pub body: Vec<u8>,
}

impl Request {
    /// Reads a request (line, headers, `Content-Length` body); None when the client closed.
    pub fn read(stream: &std::net::TcpStream) -> Option<Request> {
        let mut reader = BufReader::new(stream.try_clone().ok()?);
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header).ok()? == 0 || header == "\r\n" {
                break;
            }
            let lower = header.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if !lower.starts_with("connection:") {
                headers.push(header);
            }
        }
        let mut body = vec![0; length];
        std::io::Read::read_exact(&mut reader, &mut body).ok()?;
        Some(Request {
            line,
            headers,
            body,
        })
    }

    /// The request target (path and query).
    pub fn target(&self) -> &str {
        self.line.split_whitespace().nth(1).unwrap_or("/")
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|h| {
            let (key, value) = h.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// Answers up to `requests` HTTP GETs on `listener` from `routes` (path without query → JSON
/// body), 404 otherwise, on a background thread.
pub fn serve(listener: TcpListener, routes: Vec<(String, Value)>, requests: usize) {
    std::thread::spawn(move || {
        for stream in listener.incoming().take(requests) {
            let Ok(mut stream) = stream else { return };
            let Some(request) = Request::read(&stream) else {
                continue;
            };
            let target = request.target();
            let path = target.split('?').next().unwrap_or(target);
            let (status, body) = match routes.iter().find(|(p, _)| p == path) {
                Some((_, body)) => ("200 OK", body.to_string()),
                None => ("404 Not Found", "{}".to_owned()),
            };
            let head = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            stream.write_all((head + &body).as_bytes()).unwrap();
        }
    });
}

/// A `moto_server` on a free loopback port, stopped on drop: the AWS-protocol stand-in for IAM.
pub struct Moto {
    child: Child,
    pub endpoint: String,
}

impl Moto {
    /// Starts moto (`python3 -m moto.server`). Without moto installed the test is skipped with
    /// a notice, unless `IAMTRIM_REQUIRE_TOOLS` is set (CI), where that is a failure.
    pub fn start() -> Option<Moto> {
        Self::start_in(None)
    }

    /// As [`Moto::start`], with every request in `account` (moto's default is 123456789012).
    pub fn start_in(account: Option<&str>) -> Option<Moto> {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let unavailable = |why: String| {
            if std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_some() {
                panic!("moto_server is required (IAMTRIM_REQUIRE_TOOLS): {why}");
            }
            eprintln!(
                "NOTICE: moto_server not available ({why}); skipping (pip install 'moto[server]')"
            );
            None
        };
        let child = Command::new("python3")
            .args([
                "-m",
                "moto.server",
                "-H",
                "127.0.0.1",
                "-p",
                &port.to_string(),
            ])
            .envs(account.map(|a| ("MOTO_ACCOUNT_ID", a)))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let child = match child {
            Ok(child) => child,
            Err(err) => return unavailable(err.to_string()),
        };
        let mut moto = Moto {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(moto);
            }
            if let Ok(Some(status)) = moto.child.try_wait() {
                return unavailable(format!("python3 -m moto.server exited with {status}"));
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!("moto_server did not start on port {port}");
    }

    /// An IAM Query API call (moto routes by the credential scope; it does not check signatures).
    pub fn iam(&self, params: &[(&str, &str)]) -> String {
        let mut form = vec![("Version", "2010-05-08")];
        form.extend_from_slice(params);
        ureq::post(&self.endpoint)
            .header(
                "Authorization",
                "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/iam/aws4_request, SignedHeaders=host, Signature=0",
            )
            .send_form(form)
            .unwrap()
            .body_mut()
            .read_to_string()
            .unwrap()
    }
}

impl Moto {
    const S3_AUTH: &str = "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

    pub fn create_bucket(&self, bucket: &str) {
        ureq::put(&format!("{}/{bucket}", self.endpoint))
            .header("Authorization", Self::S3_AUTH)
            .send_empty()
            .unwrap();
    }

    pub fn put_object(&self, bucket: &str, key: &str, body: &[u8]) {
        ureq::put(&format!("{}/{bucket}/{key}", self.endpoint))
            .header("Authorization", Self::S3_AUTH)
            .send(body)
            .unwrap();
    }

    /// Puts an object with user metadata (`x-amz-meta-<name>: <value>`), as CloudTrail puts
    /// each digest file with its signature.
    pub fn put_object_with_metadata(
        &self,
        bucket: &str,
        key: &str,
        body: &[u8],
        metadata: &[(&str, &str)],
    ) {
        let mut request = ureq::put(&format!("{}/{bucket}/{key}", self.endpoint))
            .header("Authorization", Self::S3_AUTH)
            .header("Content-Type", "application/octet-stream");
        for (name, value) in metadata {
            request = request.header(format!("x-amz-meta-{name}"), *value);
        }
        request.send(body).unwrap();
    }

    /// A trail folder (the sample's layout) in bucket `shop-trail-logs`, as CloudTrail delivers
    /// it: each digest object carries its signature in its S3 metadata
    /// (fixtures/sample-context/digest-s3-metadata.json).
    pub fn deliver_trail(&self, trail: &Path) {
        let metadata: Value = serde_json::from_slice(
            &std::fs::read(root().join("fixtures/sample-context/digest-s3-metadata.json")).unwrap(),
        )
        .unwrap();
        self.create_bucket("shop-trail-logs");
        for (key, path) in files_under(trail) {
            let bytes = std::fs::read(path).unwrap();
            match metadata.get(&key) {
                Some(m) => self.put_object_with_metadata(
                    "shop-trail-logs",
                    &key,
                    &bytes,
                    &[
                        ("signature", m["signature"].as_str().unwrap()),
                        (
                            "signature-algorithm",
                            m["signature-algorithm"].as_str().unwrap(),
                        ),
                    ],
                ),
                None => self.put_object("shop-trail-logs", &key, &bytes),
            }
        }
    }

    /// An object's bytes, or `None` when there is no such object.
    pub fn get_object(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        let response = ureq::get(&format!("{}/{bucket}/{key}", self.endpoint))
            .header("Authorization", Self::S3_AUTH)
            .config()
            .http_status_as_error(false)
            .build()
            .call()
            .unwrap();
        if response.status() == 404 {
            return None;
        }
        assert_eq!(response.status(), 200, "GET {bucket}/{key}");
        Some(response.into_body().read_to_vec().unwrap())
    }

    /// Uploads every file under `dir` to `bucket` under `prefix`, keys as relative paths.
    pub fn upload_dir(&self, bucket: &str, prefix: &str, dir: &Path) {
        for (key, path) in files_under(dir) {
            ureq::put(&format!("{}/{bucket}/{prefix}{key}", self.endpoint))
                .header("Authorization", Self::S3_AUTH)
                .header("Content-Type", "application/octet-stream")
                .send(&std::fs::read(path).unwrap()[..])
                .unwrap();
        }
    }
}

/// Every file under `dir`: (its path relative to `dir` with `/`, its path).
fn files_under(dir: &Path) -> Vec<(String, PathBuf)> {
    walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let key = e.path().strip_prefix(dir).unwrap().display().to_string();
            (key, e.into_path())
        })
        .collect()
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `iamtrim` with AWS settings pointing at local stand-ins and nothing from this machine's AWS
/// configuration.
pub fn iamtrim_with_aws(args: &[&str], endpoints: &[(&str, &str)]) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iamtrim"));
    command
        .args(args)
        .current_dir(root())
        .env("XDG_CACHE_HOME", "/nonexistent/iamtrim-test-cache")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_CONFIG_FILE", "/nonexistent/aws-config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        )
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_ENDPOINT_URL");
    for (name, value) in endpoints {
        command.env(name, value);
    }
    let output = command.output().expect("run iamtrim");
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

/// Whether a Python module is importable; without it the calling test is skipped with a notice,
/// unless `IAMTRIM_REQUIRE_TOOLS` is set (CI), where that is a failure.
pub fn python_tool(module: &str, install: &str) -> bool {
    let ok = Command::new("python3")
        .args(["-c", &format!("import {module}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(
            std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
            "python module {module} is required (IAMTRIM_REQUIRE_TOOLS): pip install '{install}'"
        );
        eprintln!(
            "NOTICE: python module {module} not available; skipping (pip install '{install}')"
        );
    }
    ok
}

/// Where `.ci/run` installs the Node packages the tests use (`IAMTRIM_NODE_MODULES`, else
/// `~/.cache/iamtrim-node/node_modules`), if `package` is there and `node` runs; without them
/// the calling test is skipped with a notice, unless `IAMTRIM_REQUIRE_TOOLS` is set.
pub fn node_tool(package: &str) -> Option<PathBuf> {
    let modules = std::env::var_os("IAMTRIM_NODE_MODULES")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .map(|h| PathBuf::from(h).join(".cache/iamtrim-node/node_modules"))
        })?;
    let node = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if node && modules.join(package).join("package.json").is_file() {
        return Some(modules);
    }
    assert!(
        std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
        "node package {package} is required (IAMTRIM_REQUIRE_TOOLS): npm install --prefix {} {package}",
        modules.parent().unwrap_or(&modules).display()
    );
    eprintln!(
        "NOTICE: node package {package} not in {}; skipping",
        modules.display()
    );
    None
}

/// An IRSA credential vending (AssumeRoleWithWebIdentity) of `ns/sa` into `role` of account
/// 111122223333, giving access key `key`, as CloudTrail records it.
pub fn irsa_vending(key: &str, ns: &str, sa: &str, role: &str, time: &str) -> Value {
    let provider = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";
    let subject = format!("system:serviceaccount:{ns}:{sa}");
    json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "WebIdentityUser", "principalId": format!("{provider}:sts.amazonaws.com:{subject}"),
            "userName": subject, "identityProvider": provider},
        "eventTime": time, "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithWebIdentity",
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": {"roleArn": format!("arn:aws:iam::111122223333:role/{role}"), "roleSessionName": "1700000000000000001"},
        "responseElements": {"credentials": {"accessKeyId": key, "sessionToken": "IQoJSYNTHETIC", "expiration": "later"},
            "subjectFromWebIdentityToken": subject, "provider": provider, "audience": "sts.amazonaws.com"},
        "requestID": "r", "eventID": format!("vend-{key}"), "readOnly": true, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": "111122223333", "eventCategory": "Management"
    })
}

/// Runs `node tests/support/<script>` with `input` on stdin and the node packages in `modules`;
/// its stdout lines (a failing script fails the test with its stderr).
pub fn run_node(script: &str, modules: &Path, input: &Value) -> Vec<String> {
    let mut child = Command::new("node")
        .arg(root().join("tests/support").join(script))
        .env("IAMTRIM_NODE_MODULES", modules)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// The verdicts of an iam-simulate script (`run_node`): the first word of each line
/// (`Allowed`, `ImplicitlyDenied` ...), one per request.
pub fn verdicts(script: &str, modules: &Path, input: &Value) -> Vec<String> {
    run_node(script, modules, input)
        .iter()
        .map(|line| {
            line.split_once(' ')
                .map_or(line.as_str(), |(v, _)| v)
                .to_owned()
        })
        .collect()
}
