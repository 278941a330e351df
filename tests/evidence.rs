//! Evidence packs end to end: reproducible bytes, `evidence verify`, the documented format, the
//! HTML page in headless Chromium, CloudTrail digest checks, and nothing secret in a pack.

use std::path::{Path, PathBuf};
use std::process::Command;

use iamtrim::evidence::model::{Manifest, WorkloadEvidence};
use serde_json::Value;

use crate::util::{gzip, iamtrim, root, sample_trail, tree, write};

fn pack(trail: &Path, out: &Path, extra: &[&str]) -> crate::util::Run {
    let trail = trail.display().to_string();
    let out = out.display().to_string();
    let mut args = vec![
        "evidence",
        "--out",
        &out,
        "--trail",
        &trail,
        "--iam-snapshot",
        "fixtures/sample-context/iam.json",
        "--pod-identity-associations",
        "fixtures/sample-context/pod-identity-associations.json",
    ];
    args.extend_from_slice(extra);
    iamtrim(&args)
}

/// A copy of the sample trail in `dir/trail`, to tamper with.
fn copy_of_sample_trail(dir: &Path) -> PathBuf {
    let trail = dir.join("trail");
    for (path, bytes) in tree(&sample_trail()) {
        write(&trail.join(path), &bytes);
    }
    trail
}

fn verify(dir: &Path) -> crate::util::Run {
    iamtrim(&["evidence", "verify", &dir.display().to_string()])
}

#[test]
fn two_packs_from_the_same_input_are_byte_identical_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a/pack"), dir.path().join("b/pack"));
    for out in [&a, &b] {
        let r = pack(
            &sample_trail(),
            out,
            &["--diff", "--role", "payments-api", "--archive"],
        );
        assert_eq!(r.code, 1, "drift on payments-api: {}", r.stderr);
        assert!(
            r.stderr.contains("log file integrity: verified"),
            "{}",
            r.stderr
        );
    }
    let pack_a = tree(&a);
    assert!(
        pack_a.len() >= 8,
        "{:?}",
        pack_a.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    assert_eq!(pack_a, tree(&b));
    assert_eq!(
        std::fs::read(dir.path().join("a/pack.tar.gz")).unwrap(),
        std::fs::read(dir.path().join("b/pack.tar.gz")).unwrap(),
        "the archives differ"
    );
    let r = verify(&a);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("intact"), "{}", r.stdout);

    // Every permission is traced: counts, first and last seen, eventIDs from the trail.
    let evidence: WorkloadEvidence = serde_json::from_slice(
        &std::fs::read(
            a.join("workloads/eks/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C/payments/api/evidence.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let decrypt = evidence
        .permissions
        .iter()
        .find(|p| p.action == "kms:Decrypt")
        .unwrap();
    assert_eq!(decrypt.calls, 6);
    assert_eq!(decrypt.sample_event_ids.len(), 2);
    let trail_text: String = tree(&sample_trail())
        .into_iter()
        .filter(|(p, _)| p.ends_with(".json.gz") && !p.contains("Digest"))
        .map(|(_, bytes)| {
            let mut text = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut text)
                .unwrap();
            text
        })
        .collect();
    for id in &decrypt.sample_event_ids {
        assert!(
            trail_text.contains(id.as_str()),
            "{id} is not an eventID of the trail"
        );
    }
    assert_eq!(
        evidence.diffs,
        ["roles/111122223333/payments-api/diff.json"]
    );
    assert!(
        a.join("roles/111122223333/payments-api/current-policies.json")
            .is_file()
    );
}

#[test]
fn verify_detects_a_changed_byte_in_any_file() {
    let dir = tempfile::tempdir().unwrap();
    let original = dir.path().join("pack");
    assert_eq!(pack(&sample_trail(), &original, &[]).code, 0);
    let all = tree(&original);
    for (path, bytes) in &all {
        let copy = dir.path().join("copy");
        let _ = std::fs::remove_dir_all(&copy);
        for (p, b) in &all {
            write(&copy.join(p), b);
        }
        let mut changed = bytes.clone();
        let at = changed.len() / 2;
        changed[at] ^= 0x01;
        std::fs::write(copy.join(path), &changed).unwrap();
        let r = verify(&copy);
        assert_eq!(
            r.code, 1,
            "a changed byte in {path} went unnoticed: {}",
            r.stdout
        );
        assert!(r.stdout.contains(path.as_str()), "{path}: {}", r.stdout);
        assert!(r.stdout.contains("NOT intact"), "{}", r.stdout);
    }
    // A file added to the pack, and one removed.
    let copy = dir.path().join("copy");
    std::fs::write(copy.join("extra.txt"), b"x").unwrap();
    assert!(
        verify(&copy)
            .stdout
            .contains("extra.txt: not listed in SHA256SUMS")
    );
    let r = verify(Path::new("/nonexistent/pack"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .starts_with("error: /nonexistent/pack: no such folder"),
        "{}",
        r.stderr
    );
}

/// The keys of every object in `value`, as `a.b.c` paths without array indexes.
fn keys(value: &Value, prefix: &str, out: &mut std::collections::BTreeSet<String>) {
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                out.insert(k.clone());
                keys(v, &format!("{prefix}{k}."), out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| keys(v, prefix, out)),
        _ => {}
    }
}

#[test]
fn a_pack_is_strictly_the_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pack");
    assert_eq!(pack(&sample_trail(), &out, &[]).code, 0);
    let doc = std::fs::read_to_string(root().join("docs/EVIDENCE.md")).unwrap();
    let manifest_text = std::fs::read(out.join("manifest.json")).unwrap();
    let manifest: Manifest = serde_json::from_slice(&manifest_text).unwrap();
    assert_eq!(manifest.format, "iamtrim.evidence/v1");
    assert!(doc.contains("iamtrim.evidence/v1"));
    let mut documented = std::collections::BTreeSet::new();
    keys(
        &serde_json::from_slice(&manifest_text).unwrap(),
        "",
        &mut documented,
    );
    for w in &manifest.workloads {
        let path = out.join(&w.directory).join("evidence.json");
        let text = std::fs::read(&path).unwrap();
        let _: WorkloadEvidence =
            serde_json::from_slice(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        keys(&serde_json::from_slice(&text).unwrap(), "", &mut documented);
    }
    // Every field a pack has is documented (named in backquotes), so the document cannot fall
    // behind the format.
    for key in documented {
        if key.contains('/') || key.contains('.') || key.starts_with("eks-") || key.contains(':') {
            continue; // map keys that are data: file paths, evidence kinds, reasons
        }
        let is_data = manifest.files.contains_key(&key)
            || manifest.attribution.by_evidence.contains_key(&key)
            || manifest.input.not_workload_activity.contains_key(&key);
        assert!(
            is_data || doc.contains(&format!("`{key}`")),
            "docs/EVIDENCE.md does not document `{key}`"
        );
    }
    // The document's example manifest is a valid manifest too.
    let example = doc
        .split("```json\n")
        .nth(1)
        .and_then(|rest| rest.split("\n```").next())
        .unwrap();
    let _: Manifest = serde_json::from_str(example).expect("the example in docs/EVIDENCE.md");
}

#[test]
fn digest_files_catch_a_log_file_changed_after_delivery() {
    let dir = tempfile::tempdir().unwrap();
    let trail = copy_of_sample_trail(dir.path());
    // Rewrite one log file with one event less: what someone covering their tracks would do.
    let victim = tree(&trail)
        .into_iter()
        .find(|(p, _)| p.contains("/CloudTrail/us-east-1/") && p.ends_with(".json.gz"))
        .unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&victim.1[..]), &mut text)
        .unwrap();
    let mut records: Value = serde_json::from_str(&text).unwrap();
    records["Records"].as_array_mut().unwrap().pop();
    write(
        &trail.join(&victim.0),
        &gzip(records.to_string().as_bytes()),
    );

    let out = dir.path().join("pack");
    let r = pack(&trail, &out, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("log file integrity: failed"),
        "{}",
        r.stderr
    );
    let manifest: Manifest =
        serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest.integrity.status, "failed");
    assert_eq!(manifest.integrity.log_files_mismatched.len(), 1);
    assert!(
        manifest.integrity.log_files_mismatched[0].ends_with(victim.0.rsplit('/').next().unwrap())
    );
    assert_eq!(manifest.integrity.log_files_verified, 20);
    assert!(manifest.integrity.signatures.starts_with("not checked"));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(
        html.contains("id=\"integrity\">failed<"),
        "the report shows the failure"
    );
}

#[test]
fn a_planted_session_token_never_reaches_the_pack() {
    let dir = tempfile::tempdir().unwrap();
    let trail = copy_of_sample_trail(dir.path());
    let token = "IQoJb3JpZ2luX2VjEPLANTEDSESSIONTOKENxyz0123456789";
    let secret = "wJalrXUtnFEMI/PLANTED/bPxRfiCYEXAMPLEKEY";
    let key = "ASIAPLANTEDKEY000001";
    let record = serde_json::json!({
        "eventVersion": "1.08",
        "eventTime": "2026-11-01T06:58:00Z",
        "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole",
        "awsRegion": "us-east-1",
        "eventID": "0b1f5c3e-5a7d-4e2b-9c1d-2e3f4a5b6c7d",
        "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
                         "accountId": "111122223333", "accessKeyId": "AKIAPLANTEDUSERKEY01",
                         "userName": "alice"},
        "requestParameters": {"roleArn": "arn:aws:iam::111122223333:role/reports-writer",
                              "roleSessionName": "alice", "sessionToken": token,
                              "policy": format!("{{\"secret\": \"{secret}\"}}")},
        "responseElements": {"credentials": {"accessKeyId": key, "sessionToken": token,
                             "secretAccessKey": secret, "expiration": "Nov 1, 2026, 7:58:00 PM"}},
        "errorMessage": format!("token {token} rejected")
    });
    write(
        &trail.join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/111122223333_CloudTrail_us-east-1_20261101T0658Z_PLANTED00000000.json.gz"),
        &gzip(serde_json::json!({"Records": [record]}).to_string().as_bytes()),
    );
    let out = dir.path().join("pack");
    let r = pack(&trail, &out, &["--archive"]);
    assert!(r.code <= 1, "{}", r.stderr);
    let mut everything: Vec<(String, Vec<u8>)> = tree(&out);
    let archive = std::fs::read(dir.path().join("pack.tar.gz")).unwrap();
    let mut tar = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&archive[..]), &mut tar).unwrap();
    everything.push(("pack.tar.gz (decompressed)".into(), tar));
    for (path, bytes) in everything {
        let text = String::from_utf8_lossy(&bytes);
        for planted in [token, secret, key, "AKIAPLANTEDUSERKEY01"] {
            assert!(
                !text.contains(planted),
                "{path} holds a planted secret: {planted}"
            );
        }
    }
    // The call itself is evidence, without its payload.
    let alice =
        std::fs::read_to_string(out.join("workloads/users/111122223333/alice/evidence.json"))
            .or_else(|_| {
                let found = tree(&out)
                    .into_iter()
                    .find(|(p, _)| p.contains("alice") && p.ends_with("evidence.json"))
                    .unwrap();
                Ok::<_, std::io::Error>(String::from_utf8(found.1).unwrap())
            })
            .unwrap();
    assert!(alice.contains("sts:AssumeRole"), "{alice}");
    assert!(
        alice.contains("0b1f5c3e-5a7d-4e2b-9c1d-2e3f4a5b6c7d"),
        "{alice}"
    );
}

/// The chromium binary, or `None` (the test is then skipped with a notice, unless
/// IAMTRIM_REQUIRE_TOOLS is set, as in CI, where that is a failure).
fn chromium() -> Option<PathBuf> {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
        if let Ok(out) = Command::new("which").arg(name).output()
            && out.status.success()
        {
            return Some(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()));
        }
    }
    assert!(
        std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
        "chromium is required (IAMTRIM_REQUIRE_TOOLS): apt-get install chromium"
    );
    eprintln!("NOTICE: chromium not available; skipping (apt-get install chromium)");
    None
}

fn headless(chromium: &Path, profile: &Path) -> Command {
    let mut command = Command::new(chromium);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

#[test]
fn the_html_report_renders_in_headless_chromium() {
    let Some(chromium) = chromium() else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pack");
    let r = pack(&sample_trail(), &out, &["--diff", "--role", "payments-api"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    // Self-contained: nothing to fetch.
    for external in ["src=\"http", "href=\"http", "<script", "@import", "url("] {
        assert!(!html.contains(external), "report.html refers to {external}");
    }
    let page = format!("file://{}", out.join("report.html").display());
    let dom = headless(&chromium, &dir.path().join("profile-dom"))
        .args(["--dump-dom", &page])
        .output()
        .unwrap();
    assert!(
        dom.status.success(),
        "{}",
        String::from_utf8_lossy(&dom.stderr)
    );
    let dom = String::from_utf8_lossy(&dom.stdout);
    // The browser parsed the page whole: the summary table's rows, both charts, the diff.
    assert_eq!(
        dom.matches("<tr><td><a href=\"#w-").count(),
        1,
        "one workload with --role"
    );
    assert!(dom.contains("eks/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C/payments/api"));
    assert_eq!(dom.matches("<svg").count(), 2, "two charts");
    assert!(dom.contains("id=\"diffs\""));
    assert!(dom.contains("</body></html>"));
    let png = dir.path().join("report.png");
    let shot = headless(&chromium, &dir.path().join("profile-shot"))
        .arg(format!("--screenshot={}", png.display()))
        .arg("--window-size=1280,1600")
        .arg(&page)
        .output()
        .unwrap();
    assert!(
        shot.status.success(),
        "{}",
        String::from_utf8_lossy(&shot.stderr)
    );
    let image = std::fs::read(&png).unwrap();
    assert_eq!(&image[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
    // A blank page compresses to almost nothing; the rendered report does not.
    assert!(
        image.len() > 40_000,
        "the screenshot is {} bytes: blank?",
        image.len()
    );
    if let Ok(keep) = std::env::var("IAMTRIM_KEEP_SCREENSHOT") {
        std::fs::copy(&png, keep).unwrap();
    }
}

const PUBLIC_KEYS: &str = "fixtures/sample-context/cloudtrail-public-keys.json";

fn s3_pack(
    moto: &crate::util::Moto,
    bucket: &str,
    out: &Path,
    extra: &[&str],
    env: &[(&str, &str)],
) -> crate::util::Run {
    let out = out.display().to_string();
    let trail = format!("s3://{bucket}/AWSLogs/");
    let mut args = vec![
        "evidence",
        "--out",
        &out,
        "--trail",
        &trail,
        "--endpoint-url",
        &moto.endpoint,
    ];
    args.extend_from_slice(extra);
    crate::util::iamtrim_with_aws(&args, env)
}

/// `s3_pack` of `shop-trail-logs` with the sample's public keys, expecting `code` and the
/// integrity `status`.
fn keyed_s3_pack(moto: &crate::util::Moto, out: &Path, code: i32, status: &str) -> Manifest {
    let keys = ["--digest-public-keys", PUBLIC_KEYS];
    let r = s3_pack(moto, "shop-trail-logs", out, &keys, &[]);
    assert_eq!(r.code, code, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("log file integrity: {status}")),
        "{}",
        r.stderr
    );
    manifest(out)
}

fn manifest(out: &Path) -> Manifest {
    serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap()
}

/// The AWS CLI's own digest validator (`aws cloudtrail validate-logs`) on a trail folder: an
/// independent check of the signatures iamtrim checks. `None` when awscli is not installed.
fn aws_cli_validates(trail: &Path) -> Option<(bool, String)> {
    if !crate::util::python_tool(
        "awscli.customizations.cloudtrail.validation",
        "awscli==1.45.11",
    ) {
        return None;
    }
    let output = Command::new("python3")
        .arg(root().join("tests/support/awscli_validate_digests.py"))
        .arg(trail)
        .arg(root().join("fixtures/sample-context/digest-s3-metadata.json"))
        .arg(root().join(PUBLIC_KEYS))
        .output()
        .unwrap();
    Some((
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr),
    ))
}

/// A trail read in place from S3 (moto on loopback), as CloudTrail delivers it: the digest files
/// are listed too, the logs check out against them, and every digest's signature checks out
/// with CloudTrail's public key, as the AWS CLI's own validator also finds.
#[test]
fn an_s3_trail_is_checked_against_its_signed_digest_files() {
    if let Some((ok, said)) = aws_cli_validates(&sample_trail()) {
        assert!(ok, "the AWS CLI rejects the sample's signatures: {said}");
        assert_eq!(said.matches("valid AWSLogs/").count(), 5, "{said}");
    }
    let Some(moto) = crate::util::Moto::start() else {
        return;
    };
    moto.deliver_trail(&sample_trail());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pack");
    let manifest = keyed_s3_pack(&moto, &out, 0, "verified");
    let integrity = &manifest.integrity;
    assert_eq!(integrity.status, "verified", "{integrity:?}");
    assert_eq!(integrity.digest_files.len(), 5);
    assert!(
        integrity
            .digest_files
            .iter()
            .all(|d| d.signature == "valid"),
        "{integrity:?}"
    );
    assert_eq!(
        integrity.signatures,
        format!(
            "5 of 5 digest signatures valid, 0 invalid, 0 not checked; public keys from {PUBLIC_KEYS}"
        )
    );
    assert_eq!(
        integrity
            .digest_files
            .iter()
            .filter(|d| d.chain == "linked")
            .count(),
        3,
        "two chains (us-east-1, us-west-2) of 3 and 2 digests"
    );
    assert_eq!(integrity.log_files_verified, 21);
    assert!(
        manifest
            .inputs
            .iter()
            .all(|i| i.location.starts_with("s3://shop-trail-logs/")
                && i.etag.as_deref().is_some_and(|e| !e.is_empty()))
    );
    assert_eq!(verify(&out).code, 0);

    // The trail copied to another bucket without its metadata: no signatures at all, which
    // CloudTrail never delivers, and not where CloudTrail wrote it.
    moto.create_bucket("copy");
    for (key, bytes) in tree(&sample_trail()) {
        moto.put_object("copy", &key, &bytes);
    }
    let out = dir.path().join("copy-pack");
    let keys = ["--digest-public-keys", PUBLIC_KEYS];
    let r = s3_pack(&moto, "copy", &out, &keys, &[]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let integrity = self::manifest(&out).integrity;
    assert_eq!(integrity.status, "failed");
    assert!(
        integrity
            .digest_files
            .iter()
            .all(|d| d.signature.starts_with("missing: ")),
        "{integrity:?}"
    );
}

/// Someone changes a log file and rewrites its digest to match: the hashes agree, the chain
/// holds (it is the last digest of its region), and only the signature gives it away.
#[test]
fn a_digest_rewritten_to_cover_a_changed_log_fails_its_signature() {
    let dir = tempfile::tempdir().unwrap();
    let trail = copy_of_sample_trail(dir.path());
    let all = tree(&trail);
    let (digest_key, digest_gz) = all
        .iter()
        .find(|(p, _)| {
            p.contains("CloudTrail-Digest/us-west-2/") && p.ends_with("T080000Z.json.gz")
        })
        .unwrap()
        .clone();
    let mut digest: Value =
        serde_json::from_reader(flate2::read::GzDecoder::new(&digest_gz[..])).unwrap();
    let victim = digest["logFiles"][0]["s3Object"]
        .as_str()
        .unwrap()
        .to_owned();
    let log_gz = &all.iter().find(|(p, _)| *p == victim).unwrap().1;
    let mut records: Value =
        serde_json::from_reader(flate2::read::GzDecoder::new(&log_gz[..])).unwrap();
    records["Records"].as_array_mut().unwrap().pop();
    let forged_log = records.to_string();
    write(&trail.join(&victim), &gzip(forged_log.as_bytes()));
    digest["logFiles"][0]["hashValue"] =
        Value::String(iamtrim::hash::sha256_hex(forged_log.as_bytes()));
    write(
        &trail.join(&digest_key),
        &gzip(digest.to_string().as_bytes()),
    );

    if let Some((ok, said)) = aws_cli_validates(&trail) {
        assert!(!ok, "the AWS CLI accepts a forged digest: {said}");
        assert!(said.contains(&format!("INVALID {digest_key}")), "{said}");
        assert_eq!(
            said.matches("\nvalid AWSLogs/").count() + usize::from(said.starts_with("valid")),
            4,
            "{said}"
        );
    }
    let Some(moto) = crate::util::Moto::start() else {
        return;
    };
    moto.deliver_trail(&trail);
    let out = dir.path().join("pack");
    let integrity = keyed_s3_pack(&moto, &out, 1, "failed").integrity;
    assert_eq!(integrity.status, "failed");
    assert!(
        integrity.log_files_mismatched.is_empty(),
        "the forged hash matches"
    );
    let forged: Vec<_> = integrity
        .digest_files
        .iter()
        .filter(|d| d.signature != "valid")
        .collect();
    assert_eq!(forged.len(), 1, "{integrity:?}");
    assert_eq!(
        forged[0].location,
        format!("s3://shop-trail-logs/{digest_key}")
    );
    assert_eq!(
        forged[0].signature,
        "invalid: the signature does not match the digest file and the public key"
    );
    assert!(
        integrity
            .signatures
            .starts_with("4 of 5 digest signatures valid, 1 invalid"),
        "{}",
        integrity.signatures
    );
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    assert!(
        report.contains("invalid: the signature does not match"),
        "the report says which digest failed"
    );
}

type Calls = std::sync::Arc<std::sync::Mutex<Vec<(String, String)>>>;

/// A loopback server speaking CloudTrail's ListPublicKeys (awsJson1.1), which moto does not
/// implement: it serves the sample's key, or refuses `refuse_region`; it records each request's
/// region (from the signing scope) and body.
fn list_public_keys_stub(refuse_region: &'static str) -> (String, Calls) {
    use std::io::Write;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen: Calls = Default::default();
    let calls = std::sync::Arc::clone(&seen);
    let keys: Value =
        serde_json::from_slice(&std::fs::read(root().join(PUBLIC_KEYS)).unwrap()).unwrap();
    let key = &keys["PublicKeyList"][0];
    let answer = serde_json::json!({"PublicKeyList": [{
        "Value": key["Value"], "Fingerprint": key["Fingerprint"],
        "ValidityStartTime": 1_790_812_800, "ValidityEndTime": 1_798_761_600,
    }]})
    .to_string();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let Some(request) = crate::util::Request::read(&stream) else {
                continue;
            };
            let target = request.header("X-Amz-Target").unwrap_or_default();
            assert!(target.ends_with(".ListPublicKeys"), "{target}");
            let region = request
                .header("Authorization")
                .and_then(|a| a.split('/').nth(2))
                .unwrap_or_default()
                .to_owned();
            let body = String::from_utf8_lossy(&request.body).into_owned();
            calls.lock().unwrap().push((region.clone(), body));
            let (status, body) = if refuse_region == "*" || region == refuse_region {
                (
                    "400 Bad Request",
                    r#"{"__type":"AccessDeniedException","message":"not authorized to perform: cloudtrail:ListPublicKeys"}"#.to_owned(),
                )
            } else {
                ("200 OK", answer.clone())
            };
            let _ = write!(
                stream,
                "HTTP/1.1 {status}\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    (url, seen)
}

/// Without a key file, the keys come from cloudtrail:ListPublicKeys in each digest region, for
/// the time the digests cover; a region that refuses is said, and when no region answers the
/// signatures are left unchecked with the reason.
#[test]
fn public_keys_come_from_cloudtrail_list_public_keys() {
    let Some(moto) = crate::util::Moto::start() else {
        return;
    };
    moto.deliver_trail(&sample_trail());
    let dir = tempfile::tempdir().unwrap();

    let (url, calls) = list_public_keys_stub("none");
    let out = dir.path().join("pack");
    let endpoint = [("AWS_ENDPOINT_URL_CLOUDTRAIL", url.as_str())];
    let r = s3_pack(&moto, "shop-trail-logs", &out, &[], &endpoint);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let integrity = manifest(&out).integrity;
    assert_eq!(integrity.status, "verified", "{integrity:?}");
    assert_eq!(
        integrity.signatures,
        "5 of 5 digest signatures valid, 0 invalid, 0 not checked; public keys from cloudtrail:ListPublicKeys (us-east-1, us-west-2)"
    );
    let calls = calls.lock().unwrap().clone();
    let regions: Vec<&str> = calls.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(regions, ["us-east-1", "us-west-2"]);
    // From the earliest digest start (2026-11-01T05:30Z) to the latest end (08:00Z).
    let body: Value = serde_json::from_str(&calls[0].1).unwrap();
    assert_eq!(body["StartTime"], 1_793_511_000, "{body}");
    assert_eq!(body["EndTime"], 1_793_520_000, "{body}");

    // Every region refuses: the signatures are unchecked, and the manifest says why.
    let (url, _) = list_public_keys_stub("*");
    let endpoint = [("AWS_ENDPOINT_URL_CLOUDTRAIL", url.as_str())];
    let out = dir.path().join("refused");
    let r = s3_pack(&moto, "shop-trail-logs", &out, &[], &endpoint);
    assert_eq!(
        r.code, 0,
        "unchecked signatures are not a finding: {}",
        r.stderr
    );
    let integrity = manifest(&out).integrity;
    assert_eq!(integrity.status, "partial", "{integrity:?}");
    assert!(
        integrity.digest_files.iter().all(|d| d
            .signature
            .starts_with("not-checked: cloudtrail:ListPublicKeys in us-east-1: ")),
        "{integrity:?}"
    );
    assert!(
        integrity.signatures.contains("AccessDenied"),
        "{}",
        integrity.signatures
    );
}

/// A public key file that is not `aws cloudtrail list-public-keys` output stops the run before
/// anything is read, with the reason.
#[test]
fn a_bad_public_key_file_is_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("pack");
    let r = pack(
        &sample_trail(),
        &out,
        &["--digest-public-keys", "fixtures/sample-context/iam.json"],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .starts_with("error: fixtures/sample-context/iam.json holds no CloudTrail public keys"),
        "{}",
        r.stderr
    );
    assert!(!out.exists());
}
