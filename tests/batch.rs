//! Batch mode end to end: `iamtrim run --config` with its usage store, incremental runs, crash
//! safety under SIGKILL, and `iamtrim query`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::gen_bench_trail::generate_trail;
use crate::util::{Run, gzip, iamtrim, recommend, root, sample_trail, tree, user_event, write};

/// A config in `dir` with its store in `dir/store` and output in `dir/out`.
fn config(dir: &Path, trail: &Path, extra: &str) -> PathBuf {
    let path = dir.join("iamtrim.toml");
    let text = format!(
        r#"# written by tests/batch.rs
[store]
path = "store"

[source]
trails = ["{}"]
since = "2026-01-01"

[output]
dir = "out"
{extra}
"#,
        trail.display()
    );
    std::fs::write(&path, text).unwrap();
    path
}

const SAMPLE_CONTEXT: &str = r#"
[context]
iam_snapshot = "CONTEXT/iam.json"
pod_identity_associations = "CONTEXT/pod-identity-associations.json"
"#;

fn sample_context() -> String {
    SAMPLE_CONTEXT.replace(
        "CONTEXT",
        &root().join("fixtures/sample-context").display().to_string(),
    )
}

fn run(config: &Path, extra: &[&str]) -> Run {
    let config = config.display().to_string();
    let mut args = vec!["run", "--config", &config];
    args.extend_from_slice(extra);
    iamtrim(&args)
}

fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A trail of `days` CloudTrail days (2,000 records a day, 10 objects a day, 20 workloads:
/// IRSA, Pod Identity, and roles vended outside the trail), from the benchmark generator.
fn multi_day_trail(dir: &Path, days: u64) -> PathBuf {
    let trail = dir.join("trail");
    generate_trail(days * 2_000, 200, 2_000, 20, &trail).unwrap();
    trail
}

fn query(store: &Path, file: &str) -> String {
    let file = root().join("queries").join(file);
    let r = iamtrim(&[
        "query",
        &file.display().to_string(),
        "--store",
        &store.display().to_string(),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

#[test]
fn a_second_run_ingests_nothing_and_writes_the_same_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &sample_trail(), &sample_context());
    let first = run(&config, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first
            .stderr
            .contains("iamtrim run: 21 new objects (126 records) in 1 days"),
        "{}",
        first.stderr
    );
    let out = dir.path().join("out");
    let outputs = tree(&out);
    let manifest = read(&dir.path().join("store/MANIFEST.json"));

    let second = run(&config, &[]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second
            .stderr
            .contains("iamtrim run: 0 new objects (0 records) in 0 days, 21 already in the store"),
        "{}",
        second.stderr
    );
    assert_eq!(tree(&out), outputs, "the second run changed the outputs");
    assert_eq!(
        read(&dir.path().join("store/MANIFEST.json")),
        manifest,
        "the second run committed something"
    );

    // The store's recommendation is the one `recommend` makes from the raw logs (the window is
    // the store's days rather than the flags').
    let mut from_store: Value =
        serde_json::from_slice(&read(&out.join("recommendation.json"))).unwrap();
    let mut direct = recommend(&[&sample_trail()], &crate::util::SAMPLE_CONTEXT).json();
    assert_eq!(
        from_store["window"],
        serde_json::json!({"start": "2026-08-04T00:00:00Z", "end": "2026-11-02T00:00:00Z"})
    );
    // The context files are named as given: absolute from the config, relative on the flags.
    for report in [&mut from_store, &mut direct] {
        report["window"] = Value::Null;
        report["attribution"]["context"]["sources"] = Value::Null;
    }
    assert_same_reports(&from_store, &direct);
    assert!(out.join("recommendation.txt").is_file());
    assert!(
        out.join("policies/eks/shop-prod/checkout/frontend.json")
            .is_file()
    );
}

#[test]
fn runs_day_by_day_equal_one_run_and_one_recommend() {
    let dir = tempfile::tempdir().unwrap();
    let trail = multi_day_trail(dir.path(), 6);

    // One run over the whole trail.
    let whole = dir.path().join("whole");
    std::fs::create_dir_all(&whole).unwrap();
    let whole_config = config(&whole, &trail, "");
    let r = run(&whole_config, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("60 new objects (12000 records) in 6 days"),
        "{}",
        r.stderr
    );

    // The same days arriving over three nights: two days at a time.
    let nightly = dir.path().join("nightly");
    let growing = nightly.join("trail");
    std::fs::create_dir_all(&nightly).unwrap();
    let nightly_config = config(&nightly, &growing, "");
    let days_dir = trail.join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/09");
    for night in 0..3 {
        for day in [night * 2 + 1, night * 2 + 2] {
            let from = days_dir.join(format!("{day:02}"));
            let to = growing.join(format!(
                "AWSLogs/111122223333/CloudTrail/us-east-1/2026/09/{day:02}"
            ));
            std::fs::create_dir_all(&to).unwrap();
            for file in std::fs::read_dir(&from).unwrap() {
                let file = file.unwrap();
                std::fs::copy(file.path(), to.join(file.file_name())).unwrap();
            }
        }
        let r = run(&nightly_config, &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        assert!(
            r.stderr.contains(&format!(
                "20 new objects (4000 records) in 2 days, {} already in the store",
                night * 20
            )),
            "{}",
            r.stderr
        );
    }
    assert_eq!(
        read(&nightly.join("out/recommendation.json")),
        read(&whole.join("out/recommendation.json"))
    );
    assert_eq!(
        query(&nightly.join("store"), "window-usage.sql"),
        query(&whole.join("store"), "window-usage.sql")
    );

    // And both are what `recommend` says from the raw logs: sessions vended late on one day
    // and used the next were joined across runs through the carried join state.
    let mut from_store: Value =
        serde_json::from_slice(&read(&whole.join("out/recommendation.json"))).unwrap();
    let mut direct = recommend(&[&trail], &[]).json();
    from_store["window"] = Value::Null;
    direct["window"] = Value::Null;
    assert_same_reports(&from_store, &direct);
    assert_eq!(direct["workloads"].as_array().unwrap().len(), 20);
}

/// Equal reports, compared key by key so a failure names the key rather than printing both.
fn assert_same_reports(a: &Value, b: &Value) {
    let (a, b) = (a.as_object().unwrap(), b.as_object().unwrap());
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (key, value) in a {
        if key == "workloads" {
            let (wa, wb) = (value.as_array().unwrap(), b[key].as_array().unwrap());
            assert_eq!(wa.len(), wb.len());
            for (x, y) in wa.iter().zip(wb) {
                assert!(x == y, "workload {} differs:\n{x}\n{y}", x["id"]);
            }
        } else {
            assert!(*value == b[key], "{key} differs:\n{value}\n{}", b[key]);
        }
    }
}

/// The store's manifest generation (0 before the first commit).
fn generation(store: &Path) -> u64 {
    std::fs::read(store.join("MANIFEST.json"))
        .ok()
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|m| m["generation"].as_u64())
        .unwrap_or(0)
}

#[test]
fn a_run_killed_with_sigkill_then_resumed_equals_an_uninterrupted_run() {
    let dir = tempfile::tempdir().unwrap();
    let trail = multi_day_trail(dir.path(), 8);
    let clean = dir.path().join("clean");
    let killed = dir.path().join("killed");
    std::fs::create_dir_all(&clean).unwrap();
    std::fs::create_dir_all(&killed).unwrap();
    let clean_config = config(&clean, &trail, "");
    let killed_config = config(&killed, &trail, "");
    let r = run(&clean_config, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // SIGKILL within 2 ms of the 1st, 3rd and 5th commits, when the run is reading the next
    // day or writing its files, each time resuming from the store; then let it finish.
    let store = killed.join("store");
    let mut kills_mid_run = 0;
    for kill_at in [1, 3, 5] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_iamtrim"))
            .args([
                "run",
                "--config",
                &killed_config.display().to_string(),
                "-q",
            ])
            .current_dir(root())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            if generation(&store) >= kill_at || Instant::now() > deadline {
                break;
            }
            if child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        // SIGKILL (Child::kill): no chance to clean up.
        let _ = child.kill();
        let status = child.wait().unwrap();
        if !status.success() && generation(&store) < 8 {
            kills_mid_run += 1;
        }
    }
    assert!(kills_mid_run >= 2, "the run was not killed mid-way");
    let r = run(&killed_config, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    assert_eq!(
        read(&killed.join("out/recommendation.json")),
        read(&clean.join("out/recommendation.json"))
    );
    assert_eq!(tree(&killed.join("out")), tree(&clean.join("out")));
    for q in [
        "window-usage.sql",
        "window-workloads.sql",
        "objects-by-day.sql",
    ] {
        assert_eq!(query(&store, q), query(&clean.join("store"), q), "{q}");
    }
    // Every object counted once: 80 objects, as in the clean store.
    let objects = query(&store, "objects-by-day.sql");
    let total: u64 = objects
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse::<u64>().unwrap())
        .sum();
    assert_eq!(total, 80, "{objects}");
    // No file left behind by the killed runs: the manifest names every data file.
    let manifest: Value = serde_json::from_slice(&read(&store.join("MANIFEST.json"))).unwrap();
    let mut named: Vec<String> = manifest["days"]
        .as_object()
        .unwrap()
        .values()
        .flat_map(|d| {
            ["usage", "workloads", "objects", "input"].map(|t| d[t].as_str().unwrap().to_owned())
        })
        .chain([manifest["state"].as_str().unwrap().to_owned()])
        .collect();
    named.sort();
    let mut present: Vec<String> = tree(&store)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p != "LOCK" && p != "MANIFEST.json")
        .collect();
    present.sort();
    assert_eq!(present, named);
}

#[test]
fn queries_answer_from_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &sample_trail(), &sample_context());
    assert_eq!(run(&config, &[]).code, 0);
    let usage = query(&dir.path().join("store"), "usage-by-workload.sql");
    let mut lines = usage.lines();
    assert_eq!(
        lines.next(),
        Some(
            "workload,kind,actions,permissions,calls,denied_calls,unauthenticated_calls,\
             first_seen,last_seen"
        )
    );
    let frontend = usage
        .lines()
        .find(|l| l.starts_with("eks/shop-prod/checkout/frontend,"))
        .unwrap_or_else(|| panic!("{usage}"));
    assert!(frontend.contains(",service-account,"), "{frontend}");
    let denied = query(&dir.path().join("store"), "denied-calls.sql");
    assert!(
        denied.lines().count() > 1,
        "the sample trail has denied calls:\n{denied}"
    );
    assert!(
        denied
            .lines()
            .skip(1)
            .all(|l| !l.split(',').nth(4).unwrap_or("").is_empty()),
        "{denied}"
    );
    // Every failed call of a fresh store carries its class.
    assert!(
        denied.lines().skip(1).all(|l| matches!(
            l.split(',').nth(5),
            Some("denied" | "failed" | "unauthenticated")
        )),
        "{denied}"
    );
    // --config finds the same store.
    let via_config = iamtrim(&[
        "query",
        &root()
            .join("queries/usage-by-workload.sql")
            .display()
            .to_string(),
        "--config",
        &config.display().to_string(),
    ]);
    assert_eq!(via_config.stdout, usage);
    // A query that is not SQL is a clear error.
    let bad = dir.path().join("bad.sql");
    std::fs::write(&bad, "SELEKT 1").unwrap();
    let r = iamtrim(&[
        "query",
        &bad.display().to_string(),
        "--store",
        &dir.path().join("store").display().to_string(),
    ]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.starts_with("error: query "), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
}

#[test]
fn configuration_errors_are_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let misspelt = config(dir.path(), &sample_trail(), "[report]\nwindow_dayz = 30\n");
    let r = run(&misspelt, &[]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("is not valid"), "{}", r.stderr);
    assert!(
        r.stderr.contains("unknown field `window_dayz`"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.path().join("store").exists(),
        "nothing may run on a bad config"
    );

    let good = config_with_window(dir.path(), 30);
    let r = run(&good, &["--check-config"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("valid"), "{}", r.stdout);
    assert!(r.stdout.contains("window 30 days"), "{}", r.stdout);
    assert!(
        !dir.path().join("store").exists(),
        "--check-config only checks"
    );

    let missing = config(
        dir.path(),
        &sample_trail(),
        "[context]\niam_snapshot = \"nope.json\"\n",
    );
    let r = run(&missing, &["--check-config"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("context.iam_snapshot: no such file"),
        "{}",
        r.stderr
    );
}

#[test]
fn the_batch_job_refuses_the_lookup_events_api() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), Path::new("cloudtrail:lookup"), "");
    let r = run(&config, &["--check-config"]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("LookupEvents pages have no stable name"),
        "{}",
        r.stderr
    );
}

fn config_with_window(dir: &Path, days: u32) -> PathBuf {
    config(
        dir,
        &sample_trail(),
        &format!("[report]\nwindow_days = {days}\n"),
    )
}

#[test]
fn json_logs_and_exit_status_for_a_scheduler() {
    let dir = tempfile::tempdir().unwrap();
    // A trail with one corrupt object besides the sample's: the result is incomplete (2), every
    // night while that day is in the window, and the object is not read again.
    let trail = dir.path().join("trail");
    for (path, bytes) in tree(&sample_trail()) {
        crate::util::write(&trail.join(path), &bytes);
    }
    let broken = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/111122223333_CloudTrail_us-east-1_20261101T0655Z_BROKEN.json.gz";
    crate::util::write(&trail.join(broken), b"\x1f\x8b\x08\x00 not gzip");
    let config = config(dir.path(), &trail, &sample_context());
    for night in 0..2 {
        let r = run(&config, &["--log-format", "json"]);
        assert_eq!(r.code, 2, "{}", r.stderr);
        let lines: Vec<Value> = r
            .stderr
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
            .collect();
        let summary = lines.last().unwrap();
        assert_eq!(summary["event"], "summary");
        assert_eq!(summary["exit_status"], 2);
        assert_eq!(summary["input_skipped"], 1);
        assert_eq!(summary["new_objects"], if night == 0 { 22 } else { 0 });
        assert_eq!(summary["workloads"], 14);
        if night == 0 {
            assert!(
                lines.iter().any(|l| l["level"] == "warn"
                    && l["message"].as_str().unwrap().contains("BROKEN.json.gz")),
                "{}",
                r.stderr
            );
        }
    }
    let report: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    let skipped = report["input"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0]["location"]
            .as_str()
            .unwrap()
            .ends_with("BROKEN.json.gz")
    );
}

#[test]
fn a_second_run_on_the_same_store_waits_for_none() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &sample_trail(), "");
    let store = dir.path().join("store");
    std::fs::create_dir_all(&store).unwrap();
    let lock = std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(store.join("LOCK"))
        .unwrap();
    lock.lock().unwrap();
    let r = run(&config, &[]);
    assert_eq!(r.code, 2);
    assert!(
        r.stderr.contains("is in use by another iamtrim run"),
        "{}",
        r.stderr
    );
    drop(lock);
    assert_eq!(run(&config, &[]).code, 0);
}

/// The configurations in docs/ are valid: the example file, and the one in the CronJob manifest.
#[test]
fn the_documented_configurations_are_valid() {
    let example = root().join("docs/iamtrim.example.toml");
    let r = run(&example, &["--check-config"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("window 90 days"), "{}", r.stdout);

    let manifest =
        String::from_utf8(read(&root().join("docs/kubernetes/iamtrim-cronjob.yaml"))).unwrap();
    let embedded: String = manifest
        .lines()
        .skip_while(|l| !l.trim_start().starts_with("iamtrim.toml: |"))
        .skip(1)
        .take_while(|l| l.is_empty() || l.starts_with("    "))
        .map(|l| format!("{}\n", l.get(4..).unwrap_or("")))
        .collect();
    assert!(embedded.contains("[store]"), "{embedded}");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamtrim.toml");
    std::fs::write(&path, embedded).unwrap();
    let r = run(&path, &["--check-config"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The job's container runs exactly this command.
    assert!(manifest.contains(
        r#"args: ["run", "--config", "/etc/iamtrim/iamtrim.toml", "--log-format", "json"]"#
    ));

    let policy: Value = serde_json::from_slice(&read(
        &root().join("docs/kubernetes/iamtrim-batch-policy.json"),
    ))
    .unwrap();
    let actions: Vec<String> = policy["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Array(a) => a.iter().map(|a| a.as_str().unwrap().to_owned()).collect(),
            _ => vec![],
        })
        .collect();
    for needed in [
        "s3:ListBucket",
        "s3:GetObject",
        "kms:Decrypt",
        "iam:GetRole",
        "eks:ListPodIdentityAssociations",
        "cloudtrail:ListPublicKeys",
    ] {
        assert!(
            actions.iter().any(|a| a == needed),
            "{needed} missing from the job's policy"
        );
    }
    assert!(
        actions.iter().all(|a| !a.contains('*')),
        "no wildcard actions: {actions:?}"
    );
}

/// The batch job with its trail in S3 and its outputs copied to S3 (moto on loopback): the same
/// recommendation, ETags recorded, nothing read twice, stale policies removed.
#[test]
fn the_batch_job_reads_a_bucket_and_publishes_to_a_prefix() {
    let Some(moto) = crate::util::Moto::start() else {
        return;
    };
    moto.create_bucket("org-trail");
    moto.create_bucket("iamtrim-out");
    moto.upload_dir("org-trail", "", &sample_trail());
    moto.put_object(
        "iamtrim-out",
        "nightly/policies/eks/gone/old/workload.json",
        b"{}",
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamtrim.toml");
    std::fs::write(
        &path,
        format!(
            r#"[store]
path = "store"

[source]
trails = ["s3://org-trail/AWSLogs/"]
since = "2026-01-01"
region = "us-east-1"
endpoint_url = "{}"
{}
[output]
dir = "out"
s3 = "s3://iamtrim-out/nightly"
"#,
            moto.endpoint,
            sample_context()
        ),
    )
    .unwrap();
    let config = path.display().to_string();
    for night in 0..2 {
        let r = crate::util::iamtrim_with_aws(&["run", "--config", &config], &[]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        let expected = if night == 0 {
            "21 new objects (126 records) in 1 days, 0 already"
        } else {
            "0 new objects (0 records) in 0 days, 21 already"
        };
        assert!(r.stderr.contains(expected), "{}", r.stderr);
    }
    let local = read(&dir.path().join("out/recommendation.json"));
    assert_eq!(
        moto.get_object("iamtrim-out", "nightly/recommendation.json"),
        Some(local.clone())
    );
    assert!(
        moto.get_object(
            "iamtrim-out",
            "nightly/policies/eks/shop-prod/checkout/frontend.json"
        )
        .is_some()
    );
    assert_eq!(
        moto.get_object("iamtrim-out", "nightly/policies/eks/gone/old/workload.json"),
        None,
        "a policy of a workload no longer reported stays behind"
    );
    // The same recommendation as from the folder, and every object's ETag in the store.
    let mut from_bucket: Value = serde_json::from_slice(&local).unwrap();
    let mut from_folder = recommend(&[&sample_trail()], &crate::util::SAMPLE_CONTEXT).json();
    for report in [&mut from_bucket, &mut from_folder] {
        report["window"] = Value::Null;
        report["attribution"]["context"]["sources"] = Value::Null;
        report["input"]["ignored"] = Value::Null;
    }
    assert_same_reports(&from_bucket, &from_folder);
    let sql = dir.path().join("etags.sql");
    std::fs::write(
        &sql,
        "SELECT COUNT(*) AS objects, COUNT(etag) AS with_etag FROM objects WHERE location LIKE 's3://org-trail/AWSLogs/%'",
    )
    .unwrap();
    let r = iamtrim(&[
        "query",
        &sql.display().to_string(),
        "--store",
        &dir.path().join("store").display().to_string(),
    ]);
    assert_eq!(r.stdout, "objects,with_etag\n21,21\n", "{}", r.stderr);
}

/// The batch job's evidence pack for a trail in S3 as CloudTrail delivers it: the digests of the
/// window's days are listed and read with their S3 metadata, and their signatures check out with
/// the public keys saved from `aws cloudtrail list-public-keys` (`output.evidence_public_keys`).
#[test]
fn the_batch_jobs_evidence_pack_checks_digest_signatures_in_s3() {
    let Some(moto) = crate::util::Moto::start() else {
        return;
    };
    moto.deliver_trail(&sample_trail());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("iamtrim.toml");
    std::fs::write(
        &path,
        format!(
            r#"[store]
path = "store"

[source]
trails = ["s3://shop-trail-logs/AWSLogs/"]
since = "2026-01-01"
region = "us-east-1"
endpoint_url = "{}"
{}
[output]
dir = "out"
evidence = true
evidence_public_keys = "{}"
"#,
            moto.endpoint,
            sample_context(),
            root()
                .join("fixtures/sample-context/cloudtrail-public-keys.json")
                .display()
        ),
    )
    .unwrap();
    let r = crate::util::iamtrim_with_aws(&["run", "--config", &path.display().to_string()], &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let packs: Vec<PathBuf> = std::fs::read_dir(dir.path().join("out"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.is_dir()
                && p.file_name()
                    .unwrap()
                    .to_string_lossy()
                    .starts_with("evidence-")
        })
        .collect();
    assert_eq!(packs.len(), 1, "{packs:?}");
    let manifest: iamtrim::evidence::model::Manifest =
        serde_json::from_slice(&read(&packs[0].join("manifest.json"))).unwrap();
    let integrity = manifest.integrity;
    assert_eq!(integrity.status, "verified", "{integrity:?}");
    assert_eq!(integrity.log_files_verified, 21);
    assert!(
        integrity
            .signatures
            .starts_with("5 of 5 digest signatures valid, 0 invalid"),
        "{}",
        integrity.signatures
    );
}

/// `report.diff` against the IAM snapshot: the store's usage diffed with current policies, exit
/// status 1 for drift, the diff in both reports.
#[test]
fn the_batch_job_diffs_against_current_policies() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &sample_trail(),
        &format!(
            "{}\n[report]\ndiff = true\nroles = [\"payments-api\"]\n",
            sample_context()
        ),
    );
    let r = run(&config, &["--log-format", "json"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    let summary: Value = serde_json::from_str(r.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["drift"], true);
    let report: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    let diffs = report["diffs"].as_array().unwrap();
    assert_eq!(diffs.len(), 1);
    assert_eq!(
        diffs[0]["role"],
        "arn:aws:iam::111122223333:role/payments-api"
    );
    let direct = iamtrim(&[
        "diff",
        "--trail",
        "fixtures/sample-trail",
        "--iam-snapshot",
        "fixtures/sample-context/iam.json",
        "--pod-identity-associations",
        "fixtures/sample-context/pod-identity-associations.json",
        "--role",
        "payments-api",
        "--format",
        "json",
    ]);
    assert_eq!(direct.code, 1);
    // The snapshot is named as given: absolute from the config, relative on the flags.
    let mut ours = report["diffs"].clone();
    let mut theirs = direct.json()["diffs"].clone();
    ours[0]["source"] = Value::Null;
    theirs[0]["source"] = Value::Null;
    // Only the store knows the days before and within the window.
    assert_eq!(
        ours[0]
            .as_object_mut()
            .unwrap()
            .remove("days_seen")
            .unwrap(),
        json!({"days": 1, "window_days": 90})
    );
    assert!(
        ours == theirs,
        "the store's diff differs from `iamtrim diff`"
    );
    let text = String::from_utf8(read(&dir.path().join("out/recommendation.txt"))).unwrap();
    assert!(text.contains("payments-api"), "{text}");
}

/// `output.evidence`: each scheduled run writes the window's evidence pack from the store, the
/// same bytes when nothing changed, verified against the trail's digest files.
#[test]
fn each_run_writes_an_evidence_pack_of_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &sample_trail(),
        &format!(
            "{}\n[report]\ndiff = true\nroles = [\"payments-api\"]\n",
            sample_context()
        ),
    );
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("dir = \"out\"", "dir = \"out\"\nevidence = true"),
    )
    .unwrap();
    let pack = dir.path().join("out/evidence-2026-08-04-2026-11-01");
    let mut packs = Vec::new();
    for _ in 0..2 {
        let r = run(&config, &[]);
        assert_eq!(r.code, 1, "drift on payments-api: {}", r.stderr);
        assert!(
            r.stderr.contains("log file integrity: verified"),
            "{}",
            r.stderr
        );
        packs.push((tree(&pack), read(&pack.with_extension("tar.gz"))));
    }
    assert_eq!(
        packs[0], packs[1],
        "a run with nothing new changed the pack"
    );
    let r = iamtrim(&["evidence", "verify", &pack.display().to_string()]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    let manifest: Value = serde_json::from_slice(&read(&pack.join("manifest.json"))).unwrap();
    let inputs = manifest["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 21);
    assert!(
        inputs
            .iter()
            .all(|i| i["content_sha256"].as_str().is_some_and(|h| h.len() == 64))
    );
    assert_eq!(manifest["integrity"]["log_files_verified"], 21);
    assert_eq!(manifest["configuration"]["diff"], true);
}

/// #31: the store never loses what it ingested. A day before `source.since` is not listed (so
/// not marked ingested): the run says its window is empty and exits 2, and a wider `since`
/// reads the day later. A `since` inside the day keeps every record of the day's objects.
/// Either way the store's recommendation is `recommend` over the same window of raw logs.
#[test]
fn since_prunes_listing_and_never_drops_ingested_records() {
    let dir = tempfile::tempdir().unwrap();
    let write_config = |since: &str| {
        let path = config(dir.path(), &sample_trail(), &sample_context());
        let text = std::fs::read_to_string(&path)
            .unwrap()
            .replace("since = \"2026-01-01\"", &format!("since = \"{since}\""));
        std::fs::write(&path, text).unwrap();
        path
    };
    // `since` after the trail's only day: nothing listed, nothing marked, and the run says so.
    let r = run(&write_config("2026-11-15"), &[]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("warning: the window holds no usage: the store holds no day"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("0 new objects (0 records)"),
        "{}",
        r.stderr
    );

    // A `since` in the middle of the day: the day is listed, and every record of its objects
    // is kept, those before `since` too.
    let r = run(&write_config("2026-11-01T06:30:00Z"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("21 new objects (126 records)"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr
            .contains("(0 records in 0 days outside the window)"),
        "{}",
        r.stderr
    );
    let mut from_store: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    let facts = root().join("fixtures/sample-context");
    let context: Vec<String> = vec![
        "--iam-snapshot".into(),
        facts.join("iam.json").display().to_string(),
        "--pod-identity-associations".into(),
        facts
            .join("pod-identity-associations.json")
            .display()
            .to_string(),
    ];
    let context: Vec<&str> = context.iter().map(String::as_str).collect();
    let mut direct = recommend(&[&sample_trail()], &context).json();
    from_store["window"] = Value::Null;
    direct["window"] = Value::Null;
    assert_same_reports(&from_store, &direct);

    // Widening `since` afterwards reads nothing again and changes nothing.
    let r = run(&write_config("2026-10-01"), &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("0 new objects (0 records)"),
        "{}",
        r.stderr
    );
    let mut again: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    again["window"] = Value::Null;
    assert_same_reports(&again, &direct);
}

/// #31, one window: `source.since` bounds the report's window as it bounds what is listed. A
/// store that holds older days (from a wider `since` before) reports only the days from
/// `since`'s day on, counts the rest as outside the window, and says so when none is left.
#[test]
fn since_bounds_the_report_window_as_it_bounds_listing() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    generate_trail(4 * 300, 100, 300, 8, &trail).unwrap();
    let days: Vec<String> = day_folders(&trail).iter().map(|d| day_name(d)).collect();
    assert_eq!(days.len(), 4, "{days:?}");
    let summary = |since: &str, window: u32| {
        let path = config_since(dir.path(), &trail, since, window);
        let r = run(&path, &["--log-format", "json"]);
        let last: Value = serde_json::from_str(r.stderr.lines().last().unwrap()).unwrap();
        (r, last)
    };
    let (r, all) = summary("2026-01-01", 90);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // 90 days back from the store's latest day (2026-09-04).
    assert_eq!(all["window_first_day"], "2026-06-07");
    assert_eq!(all["window_last_day"], days[3].as_str());
    assert_eq!(all["records_outside_window"], 0);

    // `since` on the third day: the first two stay in the store, outside the window.
    let (r, later) = summary(&format!("{}T06:00:00Z", days[2]), 90);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(later["window_first_day"], days[2].as_str());
    assert_eq!(later["window_last_day"], days[3].as_str());
    assert_eq!(later["days_outside_window"], 2);
    assert_eq!(later["records_outside_window"], 600);
    assert_eq!(later["new_records"], 0);

    // `window_days` narrower than `since` allows: the later bound wins.
    let (r, short) = summary("2026-01-01", 1);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(short["window_first_day"], days[3].as_str());
    assert_eq!(short["records_outside_window"], 900);

    // `since` after every stored day: an empty window, said and exit 2; the store keeps all.
    let (r, none) = summary("2026-12-31", 90);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("the store's 4 days all lie before `source.since`, where the window starts"),
        "{}",
        r.stderr
    );
    assert_eq!(none["records_outside_window"], 1200);
}

/// A config in `dir` for `trail` with `source.since` and `report.window_days`.
fn config_since(dir: &Path, trail: &Path, since: &str, window: u32) -> PathBuf {
    let path = config(dir, trail, &format!("[report]\nwindow_days = {window}\n"));
    let text = std::fs::read_to_string(&path)
        .unwrap()
        .replace("since = \"2026-01-01\"", &format!("since = \"{since}\""));
    std::fs::write(&path, text).unwrap();
    path
}

/// `YYYY-MM-DD` of a day folder (`…/YYYY/MM/DD`).
fn day_name(day: &Path) -> String {
    let parts: Vec<String> = day
        .components()
        .rev()
        .take(3)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("{}-{}-{}", parts[2], parts[1], parts[0])
}

/// The day folders of a generated trail, oldest first.
fn day_folders(trail: &Path) -> Vec<PathBuf> {
    let mut days: Vec<PathBuf> = walkdir::WalkDir::new(trail)
        .min_depth(1)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_dir() && e.depth() >= 7)
        .map(|e| e.path().to_owned())
        .collect();
    days.sort();
    days
}

/// #31, the conformance property: for generated sequences of runs over a growing trail (days
/// arriving a few at a time, one day maybe delivered after all later ones, an object delivered
/// twice, `source.since` and `report.window_days` changed between runs, runs killed mid-way),
/// once the whole trail is in and a run covers it, the store's recommendation equals
/// `recommend` on the raw logs.
#[test]
fn run_sequences_conform_to_recommend_on_the_raw_logs() {
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestRunner};
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    // 4 days of 300 records in 3 objects each, 8 workloads.
    generate_trail(4 * 300, 100, 300, 8, &trail).unwrap();
    let days = day_folders(&trail);
    assert_eq!(days.len(), 4, "{days:?}");
    let mut direct = recommend(&[&trail], &[]).json();
    direct["window"] = Value::Null;
    let relative: Vec<PathBuf> = days
        .iter()
        .map(|d| d.strip_prefix(&trail).unwrap().to_owned())
        .collect();
    // A step: how many days are in after it, `since` (0: before the trail, 1: the second day,
    // 2: inside the last day in), `window_days` (90 or 2), whether an object arrives twice, and
    // whether the run is killed (SIGKILL) as soon as it commits a day.
    let step = (
        1usize..=4,
        0u8..3,
        prop::bool::ANY,
        prop::bool::ANY,
        prop::bool::weighted(0.3),
    );
    let mut runner = TestRunner::new(Config {
        cases: 8,
        failure_persistence: None,
        ..Config::default()
    });
    let longest = std::cell::Cell::new(0);
    let late_cases = std::cell::Cell::new(0);
    let kills = std::cell::Cell::new(0);
    runner
        .run(
            &(
                prop::collection::vec(step, 1..=4),
                prop::option::of(0usize..3),
            ),
            |(plan, late)| {
                let case = tempfile::tempdir().unwrap();
                let growing = case.path().join("trail");
                let mut visible = 0;
                let mut copied = std::collections::BTreeSet::new();
                let write_config =
                    |since: &str, window: u32| config_since(case.path(), &growing, since, window);
                for (i, (arrived, since, short_window, twice, kill)) in plan.iter().enumerate() {
                    // Days arrive in order, a few at a time; the `late` one only at the end.
                    while visible < (*arrived).min(days.len()) {
                        if late == Some(visible) {
                            visible += 1;
                            continue;
                        }
                        copied.insert(visible);
                        let to = growing.join(&relative[visible]);
                        std::fs::create_dir_all(&to).unwrap();
                        let mut files: Vec<_> = std::fs::read_dir(&days[visible])
                            .unwrap()
                            .map(|f| f.unwrap().path())
                            .collect();
                        files.sort();
                        for file in &files {
                            std::fs::copy(file, to.join(file.file_name().unwrap())).unwrap();
                        }
                        if *twice {
                            // The same object delivered twice, under a second name.
                            let name = files[0].file_name().unwrap().to_string_lossy().into_owned();
                            std::fs::copy(&files[0], to.join(format!("again-{name}"))).unwrap();
                        }
                        visible += 1;
                    }
                    let Some(&newest) = copied.last() else {
                        continue;
                    };
                    let since = match since {
                        0 => "2026-01-01".to_owned(),
                        1 => day_name(&days[1]),
                        _ => format!("{}T06:00:00Z", day_name(&days[newest])),
                    };
                    let config = write_config(&since, if *short_window { 2 } else { 90 });
                    if *kill {
                        if killed_mid_run(&config, &case.path().join("store")) {
                            kills.set(kills.get() + 1);
                        }
                        continue;
                    }
                    let r = run(&config, &[]);
                    prop_assert!(r.code == 0 || r.code == 2, "step {i}: {}", r.stderr);
                }
                // The rest of the trail arrives (the late day last), and a run covers all of it.
                for (i, (day, rel)) in days.iter().zip(&relative).enumerate() {
                    if copied.contains(&i) {
                        continue;
                    }
                    let to = growing.join(rel);
                    std::fs::create_dir_all(&to).unwrap();
                    for file in std::fs::read_dir(day).unwrap() {
                        let file = file.unwrap().path();
                        std::fs::copy(&file, to.join(file.file_name().unwrap())).unwrap();
                    }
                }
                let r = run(&write_config("2026-01-01", 90), &[]);
                prop_assert_eq!(r.code, 0, "{}", r.stderr);
                let mut from_store: Value =
                    serde_json::from_slice(&read(&case.path().join("out/recommendation.json")))
                        .unwrap();
                from_store["window"] = Value::Null;
                // The duplicate deliveries are counted once, by both.
                from_store["input"] = Value::Null;
                let mut expected = direct.clone();
                expected["input"] = Value::Null;
                prop_assert_eq!(&from_store["workloads"], &expected["workloads"]);
                prop_assert_eq!(&from_store["unmapped"], &expected["unmapped"]);
                longest.set(longest.get().max(plan.len() + 1));
                late_cases.set(late_cases.get() + usize::from(late.is_some()));
                Ok(())
            },
        )
        .unwrap();
    eprintln!(
        "conformance: 8 generated run sequences, the longest {} runs, {} with a day delivered \
         late, {} runs killed mid-way",
        longest.get(),
        late_cases.get(),
        kills.get()
    );
}

/// Starts `iamtrim run` and SIGKILLs it as soon as it has committed one more day to `store`
/// (or at once, when it ends first). True when it was killed before it finished.
fn killed_mid_run(config: &Path, store: &Path) -> bool {
    let before = generation(store);
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(["run", "--config", &config.display().to_string(), "-q"])
        .current_dir(root())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while generation(store) == before && Instant::now() < deadline {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    let _ = child.kill();
    !child.wait().unwrap().success()
}

/// #31, the repair: `--reingest` re-reads the whole trail into a new store and swaps it in when
/// the run succeeds; a rebuild that fails leaves the old store untouched.
#[test]
fn reingest_rebuilds_the_store_and_swaps_it_in_only_on_success() {
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &sample_trail(), &sample_context());
    let first = run(&config, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let outputs = read(&dir.path().join("out/recommendation.json"));

    let rebuilt = run(&config, &["--reingest"]);
    assert_eq!(rebuilt.code, 0, "{}", rebuilt.stderr);
    assert!(
        rebuilt
            .stderr
            .contains("21 new objects (126 records) in 1 days, 0 already"),
        "{}",
        rebuilt.stderr
    );
    assert!(
        rebuilt.stderr.contains("reingested: "),
        "{}",
        rebuilt.stderr
    );
    assert_eq!(read(&dir.path().join("out/recommendation.json")), outputs);
    let mut left: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    left.sort();
    assert_eq!(left, ["iamtrim.toml", "out", "store"]);
    // The rebuilt store answers the next run: nothing new.
    let next = run(&config, &[]);
    assert!(
        next.stderr
            .contains("0 new objects (0 records) in 0 days, 21 already"),
        "{}",
        next.stderr
    );

    // A rebuild that cannot read its trail fails, and the store it would have replaced stays.
    let manifest = read(&dir.path().join("store/MANIFEST.json"));
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace(&sample_trail().display().to_string(), "/nonexistent/trail"),
    )
    .unwrap();
    let failed = run(&config, &["--reingest"]);
    assert_eq!(failed.code, 2, "{}", failed.stderr);
    assert_eq!(read(&dir.path().join("store/MANIFEST.json")), manifest);

    // Nor is a rebuild that read nothing: `since` after every day of the trail.
    std::fs::write(
        &config,
        text.replace("since = \"2026-01-01\"", "since = \"2026-11-15\""),
    )
    .unwrap();
    let empty = run(&config, &["--reingest"]);
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(empty.stderr.contains("not reingested"), "{}", empty.stderr);
    assert_eq!(read(&dir.path().join("store/MANIFEST.json")), manifest);
}

/// Rare use is not non-use (#20): with the store, a grant last used before the window is kept in
/// the proposal with that `last_seen`, and the diff says on how many of the window's days the
/// role was seen.
#[test]
fn a_grant_used_before_the_window_is_kept_with_its_last_use() {
    let dir = tempfile::tempdir().unwrap();
    let a = "111122223333";
    let call = |name: &str, time: &str| {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {"type": "AssumedRole", "principalId": "AROAMONTHLY:s",
                "arn": format!("arn:aws:sts::{a}:assumed-role/monthly-report/s"), "accountId": a,
                "accessKeyId": "ASIAMONTHLYREPORT001",
                "sessionContext": {"attributes": {"creationDate": time, "mfaAuthenticated": "false"},
                    "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{a}:role/monthly-report"),
                    "principalId": "AROAMONTHLY", "accountId": a, "userName": "monthly-report"}}},
            "eventTime": time, "eventSource": "sqs.amazonaws.com", "eventName": name,
            "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
            "requestParameters": {"queueUrl": format!("https://sqs.us-east-1.amazonaws.com/{a}/reports")},
            "responseElements": null, "requestID": format!("req-{time}"), "eventID": format!("{name}-{time}"),
            "readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
            "recipientAccountId": a, "eventCategory": "Management"
        })
    };
    let trail = dir.path().join("trail");
    for (day, name) in [
        ("2026/10/01", "GetQueueAttributes"),
        ("2026/11/01", "ListQueueTags"),
    ] {
        let time = format!("{}T06:10:00Z", day.replace('/', "-"));
        crate::util::write(
            &trail.join(format!(
                "AWSLogs/{a}/CloudTrail/us-east-1/{day}/{a}_CloudTrail_us-east-1_{}T0610Z_M.json.gz",
                day.replace('/', "")
            )),
            &crate::util::gzip(json!({"Records": [call(name, &time)]}).to_string().as_bytes()),
        );
    }
    let queue = format!("arn:aws:sqs:us-east-1:{a}:reports");
    std::fs::write(
        dir.path().join("policy.json"),
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": ["sqs:GetQueueAttributes", "sqs:ListQueueTags", "sqs:DeleteQueue"],
            "Resource": queue}]})
        .to_string(),
    )
    .unwrap();
    let config = config(
        dir.path(),
        &trail,
        "[report]\nwindow_days = 7\ndiff = true\npolicy = \"policy.json\"\n",
    );
    let r = run(&config, &[]);
    // sqs:DeleteQueue is unused and the trail would show it: drift.
    assert_eq!(r.code, 1, "{}", r.stderr);
    let report: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    let diff = &report["diffs"][0];
    assert_eq!(diff["days_seen"], json!({"days": 1, "window_days": 7}));
    let unused = diff["granted_unused"].as_array().unwrap();
    let by = |a: &str| unused.iter().find(|g| g["action"] == a).unwrap();
    let monthly = by("sqs:GetQueueAttributes");
    assert_eq!(monthly["observable"], false);
    assert_eq!(monthly["last_seen"], "2026-10-01T06:10:00Z");
    assert!(
        monthly["unobservable_because"]
            .as_str()
            .unwrap()
            .starts_with(
                "last used 2026-10-01T06:10:00Z, before the window that starts 2026-10-26"
            ),
        "{monthly}"
    );
    assert_eq!(by("sqs:DeleteQueue")["observable"], true);
    let kept: Vec<&Value> = diff["proposed_policy"]["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| {
            s["Action"]
                .as_array()
                .unwrap()
                .contains(&json!("sqs:GetQueueAttributes"))
        })
        .collect();
    assert_eq!(kept.len(), 1, "kept in the proposal");
    assert_eq!(kept[0]["Resource"], json!([queue]));
    let text = String::from_utf8(read(&dir.path().join("out/recommendation.txt"))).unwrap();
    assert!(text.contains("seen on 1 of the window's 7 days"), "{text}");
}

/// #31, late deliveries: a day delivered after a later day was stored holds the vending of a
/// session the later day's calls used. The run sees it arrive late, rebuilds the store from its
/// first day, and ends with what `recommend` gives on the raw logs.
#[test]
fn a_day_delivered_after_a_later_day_rebuilds_the_store_and_conforms() {
    let dir = tempfile::tempdir().unwrap();
    let a = "111122223333";
    let key = "ASIALATEDELIVERY0001";
    let call = json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROALATE:1700000000000000001",
            "arn": format!("arn:aws:sts::{a}:assumed-role/report-builder/1700000000000000001"),
            "accountId": a, "accessKeyId": key,
            "sessionContext": {"attributes": {"creationDate": "2026-11-01T23:50:00Z", "mfaAuthenticated": "false"},
                "sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{a}:role/report-builder"),
                "principalId": "AROALATE", "accountId": a, "userName": "report-builder"},
                "webIdFederationData": {}}},
        "eventTime": "2026-11-02T00:10:00Z", "eventSource": "sqs.amazonaws.com", "eventName": "ListQueueTags",
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
        "requestParameters": {"queueUrl": format!("https://sqs.us-east-1.amazonaws.com/{a}/reports")},
        "responseElements": null, "requestID": "req-late", "eventID": "late-call-1",
        "readOnly": true, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": a, "eventCategory": "Management"
    });
    let vending = crate::util::irsa_vending(
        key,
        "reports",
        "builder",
        "report-builder",
        "2026-11-01T23:50:00Z",
    );
    let trail = dir.path().join("trail");
    let put = |day: &str, record: &Value| {
        crate::util::write(
            &trail.join(format!(
                "AWSLogs/{a}/CloudTrail/us-east-1/{day}/{a}_CloudTrail_us-east-1_{}T0000Z_L.json.gz",
                day.replace('/', "")
            )),
            &crate::util::gzip(json!({"Records": [record]}).to_string().as_bytes()),
        );
    };
    // The later day first: its call is role-level, the vending not seen yet.
    put("2026/11/02", &call);
    let config = config(dir.path(), &trail, "");
    let r = run(&config, &["--log-format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let first: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    assert_eq!(
        first["workloads"][0]["id"],
        format!("arn:aws:iam::{a}:role/report-builder")
    );
    // The earlier day arrives late.
    put("2026/11/01", &vending);
    let r = run(&config, &["--log-format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("note: day 2026-11-01 has objects delivered after later days were stored; rebuilding the store from 2025-12-31"),
        "{}",
        r.stderr
    );
    let summary: Value = serde_json::from_str(r.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["rebuilt_for_late_day"], "2026-11-01");
    let mut from_store: Value =
        serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
    assert_eq!(
        from_store["workloads"][0]["id"],
        "eks/5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C/reports/builder"
    );
    let mut direct = recommend(&[&trail], &[]).json();
    from_store["window"] = Value::Null;
    direct["window"] = Value::Null;
    assert_eq!(from_store["workloads"], direct["workloads"]);
    // The store holds both days, and a run after that reads nothing new.
    let r = run(&config, &["--log-format", "json"]);
    let summary: Value = serde_json::from_str(r.stderr.lines().last().unwrap()).unwrap();
    assert_eq!(summary["new_objects"], 0, "{}", r.stderr);
    assert_eq!(summary["store_days"], 2);
    assert_eq!(summary["rebuilt_for_late_day"], Value::Null);
}

/// Times in the exported form (`YYYY-MM-DD HH:MM:SS[.fraction]`, as SIEM exports write them) are
/// counted in the store's day counters: the first run reports them, and so does a second run
/// that reads nothing new and answers from the store.
#[test]
fn exported_event_times_are_counted_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let trail = dir.path().join("trail");
    let records = json!({"Records": [
        user_event("alice", "s3.amazonaws.com", "ListBuckets", "2026-11-01 16:52:14.000000000"),
        user_event("alice", "sqs.amazonaws.com", "ListQueues", "2026-11-01 16:53:01"),
        user_event("alice", "sns.amazonaws.com", "ListTopics", "2026-11-01T16:54:00Z"),
    ]});
    write(
        &trail.join(
            "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/\
             111122223333_CloudTrail_us-east-1_20261101T1655Z_export.json.gz",
        ),
        &gzip(records.to_string().as_bytes()),
    );
    let config = config(dir.path(), &trail, "");
    for pass in ["first", "second"] {
        let r = run(&config, &[]);
        assert_eq!(r.code, 0, "{pass} run: {}", r.stderr);
        let read_now = match pass {
            "first" => "1 new objects (3 records)",
            _ => "0 new objects (0 records) in 0 days, 1 already in the store",
        };
        assert!(r.stderr.contains(read_now), "{pass} run: {}", r.stderr);
        let report: Value =
            serde_json::from_slice(&read(&dir.path().join("out/recommendation.json"))).unwrap();
        assert_eq!(report["input"]["records"], 3, "{pass} run");
        assert_eq!(report["input"]["exported_event_times"], 2, "{pass} run");
        assert_eq!(report["input"]["bad_records"], 0, "{pass} run");
        let usage = report["workloads"][0]["usage"].as_array().unwrap();
        let first_seen: Vec<(&str, &str)> = usage
            .iter()
            .map(|u| {
                (
                    u["action"].as_str().unwrap(),
                    u["first_seen"].as_str().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            first_seen,
            [
                ("s3:ListAllMyBuckets", "2026-11-01T16:52:14Z"),
                ("sns:ListTopics", "2026-11-01T16:54:00Z"),
                ("sqs:ListQueues", "2026-11-01T16:53:01Z")
            ],
            "{pass} run"
        );
    }
}
