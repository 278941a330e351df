//! Past one machine (#24): `iamtrim list`, `iamtrim extract`, `recommend --partials`, and
//! spark/recommend.py (PySpark in local mode), against `iamtrim recommend` on the same objects.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::gen_bench_trail::generate_eks_trail;
use crate::util::{Moto, SAMPLE_CONTEXT, iamtrim, root, sample_trail, tree};

fn text(path: &Path) -> String {
    path.display().to_string()
}

/// `iamtrim ARGS` with `stdin` piped in and extra environment.
fn piped(args: &[&str], stdin: &[u8], env: &[(&str, &str)]) -> (i32, Vec<u8>, String) {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamtrim"))
        .args(args)
        .current_dir(root())
        .env("XDG_CACHE_HOME", "/nonexistent/iamtrim-test-cache")
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        output.status.code().unwrap_or(-1),
        output.stdout,
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn one_machine(trail: &str, context: &[&str]) -> String {
    let mut args = vec!["recommend", "--format", "json", "--trail", trail];
    args.extend_from_slice(context);
    let r = iamtrim(&args);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    r.stdout
}

/// The listing of a trail, as lines.
fn listing(trail: &str) -> Vec<String> {
    let r = iamtrim(&["list", "--trail", trail]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout.lines().map(str::to_owned).collect()
}

/// The listing cut into `parts` slices, each extracted by its own process (as Spark executors
/// would), then joined: the recommendation, exit code and stderr.
fn extracted_in_parts(lines: &[String], parts: usize, context: &[&str]) -> (i32, String, String) {
    let size = lines.len().div_ceil(parts);
    extracted(lines.chunks(size).collect(), context, false)
}

/// The listing cut as spark/recommend.py cuts it: after watermarks (whole delivery days, so
/// copies of an event delivered the same day meet in one extract); without watermarks, whole.
fn extracted_by_days(lines: &[String], context: &[&str], join: bool) -> (i32, String, String) {
    let mut slices = Vec::new();
    let mut start = 0;
    for (i, line) in lines.iter().enumerate() {
        if line.starts_with("{\"watermark\"") {
            slices.push(&lines[start..=i]);
            start = i + 1;
        }
    }
    slices.push(&lines[start..]);
    extracted(slices, context, join)
}

/// Each slice extracted by its own process, joined within the slice with `join`
/// (`--join-partition`), then the whole stream read by `recommend --partials`.
fn extracted(slices: Vec<&[String]>, context: &[&str], join: bool) -> (i32, String, String) {
    let mut stream = Vec::new();
    for slice in slices {
        let listing = format!("{}\n", slice.join("\n"));
        let mut args = vec!["extract", "--partials", "-", "--threads", "1"];
        if join {
            args.push("--join-partition");
            args.extend_from_slice(context);
        }
        let (code, out, err) = piped(
            &args,
            listing.as_bytes(),
            &[("IAMTRIM_PARTIALS_KEY", "a per-run secret")],
        );
        assert_eq!(code, 0, "{err}");
        stream.extend(out);
    }
    let mut args = vec!["recommend", "--partials", "-", "--format", "json"];
    args.extend_from_slice(context);
    let (code, out, err) = piped(&args, &stream, &[]);
    (code, String::from_utf8(out).unwrap(), err)
}

#[test]
fn list_extract_in_parts_and_join_gives_the_recommendation_of_one_machine() {
    let trail = text(&sample_trail());
    let expected = one_machine(&trail, &SAMPLE_CONTEXT);
    let lines = listing(&trail);
    // 21 log objects, 5 digest files (ignored, passed through) and the day's watermark.
    let count = |kind: &str| {
        lines
            .iter()
            .filter(|l| l.starts_with(&format!("{{\"{kind}\"")))
            .count()
    };
    assert_eq!(
        (count("object"), count("ignored"), count("watermark")),
        (21, 5, 1)
    );
    // The sample trail holds no copy of an event in two objects, so any cut gives the same
    // counts; the join meets vendings and calls from different extracts.
    for parts in [1, 3, 7] {
        let (code, got, err) = extracted_in_parts(&lines, parts, &SAMPLE_CONTEXT);
        assert_eq!(code, 0, "{err}");
        assert!(got == expected, "{parts} parts: the recommendation differs");
        assert!(
            err.contains("21 files, 126 records, 14 workloads, 0 skipped, 5 ignored"),
            "{err}"
        );
    }
}

/// Joined per delivery day (`--join-partition`), each day's extract hands on workload-level
/// activity and the sessions it cannot settle; the joined stream gives the one-machine
/// recommendation for chains two roles deep, untagged Pod Identity, shared roles and roles
/// vended outside the trail, and is smaller than the per-object stream.
#[test]
fn partitions_joined_per_day_give_the_recommendation_of_one_machine() {
    let dir = tempfile::tempdir().unwrap();
    let (trail, associations) = eks_trail(dir.path());
    let trail = text(&trail);
    let associations = text(&associations);
    let context = ["--pod-identity-associations", associations.as_str()];
    let expected = one_machine(&trail, &context);
    let lines = listing(&trail);
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("{\"watermark\""))
            .count(),
        3
    );
    let (code, got, err) = extracted_by_days(&lines, &context, true);
    assert_eq!(code, 0, "{err}");
    assert!(got == expected, "the recommendation differs");
    let (_, sample, _) = extracted_by_days(&listing(&text(&sample_trail())), &SAMPLE_CONTEXT, true);
    assert!(sample == one_machine(&text(&sample_trail()), &SAMPLE_CONTEXT));
    // What the driver reads: one partition line a day, and object lines without sessions.
    let day = format!(
        "{}\n",
        lines[..=lines
            .iter()
            .position(|l| l.starts_with("{\"watermark\""))
            .unwrap()]
            .join("\n")
    );
    let size = |join: bool| {
        let mut args = vec!["extract", "--partials", "-"];
        if join {
            args.push("--join-partition");
        }
        args.extend_from_slice(&context);
        let (code, out, err) = piped(&args, day.as_bytes(), &[]);
        assert_eq!(code, 0, "{err}");
        let text = String::from_utf8(out).unwrap();
        if join {
            assert_eq!(
                text.lines()
                    .filter(|l| l.starts_with("{\"partition\""))
                    .count(),
                1
            );
            assert!(
                !text.contains("\"activity\""),
                "object lines carry no sessions"
            );
        }
        text.len()
    };
    let (joined, per_object) = (size(true), size(false));
    assert!(
        joined * 2 < per_object,
        "{joined} bytes joined, {per_object} per object"
    );
}

/// Three days of an EKS trail (IRSA and Pod Identity, chains two roles deep, roles vended
/// outside the trail): every run gives the same bytes, whatever the thread count and
/// whichever worker finishes first. Objects read ahead of a day's slowest one reach the join
/// only after that day's watermark. A build (2026-12-03) whose workers merged objects across a
/// watermark gave 17 different recommendations in 30 runs of this trail (chained sessions left
/// at role level, with `sts:AssumeRole` as their only grant).
#[test]
fn a_trail_of_several_days_gives_the_same_bytes_on_every_run() {
    let dir = tempfile::tempdir().unwrap();
    let (trail, associations) = eks_trail(dir.path());
    let (trail, associations) = (text(&trail), text(&associations));
    let run = |threads: &str| {
        let r = iamtrim(&[
            "recommend",
            "--format",
            "json",
            "--trail",
            &trail,
            "--pod-identity-associations",
            &associations,
            "--threads",
            threads,
        ]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stdout
    };
    let first = run("1");
    for threads in ["2", "4", "2", "4", "3", "2"] {
        assert!(
            run(threads) == first,
            "{threads} threads: the recommendation differs"
        );
    }
}

#[test]
fn partials_hold_no_access_key_and_session_names_depend_on_the_run_secret() {
    let trail = text(&sample_trail());
    let listing = format!("{}\n", listing(&trail).join("\n"));
    let extract = |key: &str| {
        let (code, out, err) = piped(
            &["extract", "--partials", "-"],
            listing.as_bytes(),
            &[("IAMTRIM_PARTIALS_KEY", key)],
        );
        assert_eq!(code, 0, "{err}");
        String::from_utf8(out).unwrap()
    };
    let (one, other) = (extract("first run"), extract("second run"));
    // The sample trail's IRSA session key; no access key id of any form is written.
    assert!(!one.contains("ASIA"), "an access key in the partials");
    assert!(!one.contains("AKIA"), "an access key in the partials");
    let sessions = |s: &str| -> Vec<String> {
        s.split("\"session\":\"")
            .skip(1)
            .map(|rest| rest[..33].to_owned())
            .collect()
    };
    let (a, b) = (sessions(&one), sessions(&other));
    assert!(a.len() >= 10, "{a:?}");
    assert!(a.iter().all(|s| s.starts_with('s')));
    assert!(
        a.iter().all(|s| !b.contains(s)),
        "names do not depend on the secret"
    );
    // Deterministic: the same secret gives the same bytes.
    assert_eq!(one, extract("first run"));
    // A partition's join holds keyed hashes too: no access key, and other keys for another run.
    let joined = |key: &str| {
        let (code, out, err) = piped(
            &["extract", "--partials", "-", "--join-partition"],
            listing.as_bytes(),
            &[("IAMTRIM_PARTIALS_KEY", key)],
        );
        assert_eq!(code, 0, "{err}");
        String::from_utf8(out).unwrap()
    };
    let (a, b) = (joined("first run"), joined("second run"));
    assert!(
        !a.contains("ASIA") && !a.contains("AKIA"),
        "an access key in the partition"
    );
    let keys = |s: &str| -> Vec<String> {
        s.split("\"key\":\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_owned())
            .collect()
    };
    assert!(!keys(&a).is_empty());
    assert!(keys(&a).iter().all(|k| !keys(&b).contains(k)));
    assert_eq!(a, joined("first run"));
}

#[test]
fn a_listed_object_never_extracted_and_a_bad_line_are_reported_not_dropped() {
    let trail = text(&sample_trail());
    let lines = listing(&trail);
    let first_object = lines
        .iter()
        .position(|l| l.starts_with("{\"object\""))
        .unwrap();
    let location = serde_json::from_str::<serde_json::Value>(&lines[first_object]).unwrap()
        ["object"]["location"]
        .as_str()
        .unwrap()
        .to_owned();
    // Everything but the first object extracted; that one passed through as listed.
    let rest: Vec<String> = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != first_object)
        .map(|(_, l)| l.clone())
        .collect();
    let (code, extracted, err) = piped(
        &["extract", "--partials", "-"],
        format!("{}\n", rest.join("\n")).as_bytes(),
        &[],
    );
    assert_eq!(code, 0, "{err}");
    let mut stream = format!("{}\n", lines[first_object]).into_bytes();
    stream.extend(extracted);
    stream.extend(b"{\"batch\": 7}\n");
    let (code, out, err) = piped(
        &["recommend", "--partials", "-", "--format", "json"],
        &stream,
        &[],
    );
    assert_eq!(code, 2, "{err}");
    let report: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let skipped = report["input"]["skipped"].as_array().unwrap();
    let reason_of = |at: &str| {
        skipped
            .iter()
            .find(|p| p["location"] == at)
            .map(|p| p["reason"].as_str().unwrap().to_owned())
    };
    assert_eq!(
        reason_of(&location).as_deref(),
        Some("listed but not extracted (run `iamtrim extract` on the listing)")
    );
    let bad = reason_of("<stdin>:1").or_else(|| {
        skipped
            .iter()
            .find(|p| p["location"].as_str().unwrap().starts_with("<stdin>:"))
            .map(|p| p["reason"].as_str().unwrap().to_owned())
    });
    assert!(
        bad.is_some_and(|r| r.starts_with("not an iamtrim.partials/v1 line")),
        "{skipped:?}"
    );
    assert_eq!(report["input"]["files"], 20);
    assert!(err.contains("20 files"), "{err}");
}

#[test]
fn every_real_dataset_splits_and_joins_to_the_same_recommendation() {
    let dir = root().join("../shared/data/cloudtrail-real");
    if !dir.is_dir() {
        assert!(
            std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
            "{} is absent and IAMTRIM_REQUIRE_TOOLS is set",
            dir.display()
        );
        eprintln!("NOTICE: {} is absent; skipping", dir.display());
        return;
    }
    let mut datasets: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    datasets.sort();
    assert!(datasets.len() >= 5, "{datasets:?}");
    for dataset in datasets {
        let trail = text(&dataset);
        let expected = one_machine(&trail, &[]);
        for join in [false, true] {
            let (code, got, err) = extracted_by_days(&listing(&trail), &[], join);
            assert!(code == 0 || code == 1, "{trail}: {err}");
            assert!(
                got == expected,
                "{trail} (join {join}): the recommendation differs"
            );
        }
    }
}

/// `python3 spark/recommend.py ARGS` (PySpark in local mode); its exit code.
fn spark_job(args: &[&str], env: &[(&str, &str)]) -> i32 {
    let output = Command::new("python3")
        .arg(root().join("spark/recommend.py"))
        .args(args)
        .current_dir(root())
        .env("XDG_CACHE_HOME", "/nonexistent/iamtrim-test-cache")
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .unwrap();
    if !matches!(output.status.code(), Some(0..=2)) {
        panic!(
            "spark/recommend.py: {:?}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
    output.status.code().unwrap()
}

fn spark_available() -> bool {
    crate::util::python_tool("pyspark", "pyspark==3.5.3")
}

/// The first line where two texts differ, with its neighbours, for a failure message.
fn first_difference(a: &[u8], b: &[u8]) -> String {
    let (a, b) = (String::from_utf8_lossy(a), String::from_utf8_lossy(b));
    let (a, b): (Vec<&str>, Vec<&str>) = (a.lines().collect(), b.lines().collect());
    let at = a
        .iter()
        .zip(&b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    let around = |lines: &[&str]| lines[at.saturating_sub(3)..(at + 3).min(lines.len())].join("\n");
    format!(
        "line {}:\n--- one machine\n{}\n--- spark\n{}",
        at + 1,
        around(&a),
        around(&b)
    )
}

/// A generated three-day trail (20 objects a day) with IRSA, Pod Identity with and without
/// session tags (the latter tied by associations), chains two roles deep and shared roles; and
/// its associations file.
fn eks_trail(dir: &Path) -> (PathBuf, PathBuf) {
    let trail = dir.join("eks-trail");
    let associations = dir.join("associations.json");
    generate_eks_trail(3 * 4_000, 4_000, 40, &trail, &associations).unwrap();
    (trail, associations)
}

#[test]
fn spark_job_writes_the_recommendation_and_policies_of_one_machine() {
    if !spark_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (generated, associations) = eks_trail(dir.path());
    let associations = text(&associations);
    let cases: [(&str, String, Vec<&str>); 2] = [
        ("sample", text(&sample_trail()), SAMPLE_CONTEXT.to_vec()),
        (
            "generated",
            text(&generated),
            vec!["--pod-identity-associations", &associations],
        ),
    ];
    for (name, trail, context) in &cases {
        let ours = dir.path().join(format!("{name}-one"));
        let mut args = vec!["recommend", "--format", "json", "--trail", trail, "--out"];
        let ours_text = text(&ours);
        args.push(&ours_text);
        args.extend_from_slice(context);
        let r = iamtrim(&args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        std::fs::write(ours.join("recommendation.json"), &r.stdout).unwrap();
        let report = r.json();
        if *name == "generated" {
            let evidence: Vec<String> = report["workloads"]
                .as_array()
                .unwrap()
                .iter()
                .flat_map(|w| w["evidence"].as_object().unwrap().keys().cloned())
                .collect();
            for kind in [
                "irsa-web-identity",
                "pod-identity-session-tags",
                "pod-identity-association",
                "role-chain",
            ] {
                assert!(evidence.iter().any(|e| e == kind), "no {kind}");
            }
            assert!(!report["shared_roles"].as_array().unwrap().is_empty());
            let chained = crate::util::workload(
                &report,
                "eks/7A1C9E0B5D3F4E2A8B6C1D0E9F8A7B6C/ns-002/sa-002",
            );
            assert!(
                chained["roles"]
                    .to_string()
                    .contains("role/bench-chain2-002"),
                "{}",
                chained["roles"]
            );
        }
        let spark = dir.path().join(format!("{name}-spark"));
        let mut args = vec![
            "--trail",
            trail,
            "--out",
            spark.to_str().unwrap(),
            "--iamtrim",
            env!("CARGO_BIN_EXE_iamtrim"),
            "--partitions",
            "3",
        ];
        args.extend_from_slice(context);
        assert_eq!(spark_job(&args, &[]), 0, "{name}");
        let (ours, theirs) = (tree(&ours), tree(&spark));
        assert_eq!(
            ours.iter().map(|f| &f.0).collect::<Vec<_>>(),
            theirs.iter().map(|f| &f.0).collect::<Vec<_>>(),
            "{name}: the files written"
        );
        for ((path, a), (_, b)) in ours.iter().zip(&theirs) {
            assert!(
                a == b,
                "{name}: {path} differs:\n{}",
                first_difference(a, b)
            );
        }
    }
}

#[test]
fn spark_job_reports_a_failed_executor_batch_as_unread_objects() {
    if !spark_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (trail, _) = eks_trail(dir.path());
    // The executors' binary fails on the partition holding the second day (a partition is a run
    // of whole days); the job still answers, names each object of that day, and exits 2.
    let wrapper = dir.path().join("iamtrim-flaky");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$2\" = extract ] && grep -q _20260902T \"$4\"; then\n  echo 'killed: out of memory' >&2\n  exit 137\nfi\nexec {} \"$@\"\n",
            env!("CARGO_BIN_EXE_iamtrim")
        ),
    )
    .unwrap();
    std::fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = dir.path().join("out");
    let code = spark_job(
        &[
            "--trail",
            &text(&trail),
            "--out",
            out.to_str().unwrap(),
            "--iamtrim",
            wrapper.to_str().unwrap(),
            "--partitions",
            "3",
        ],
        &[],
    );
    assert_eq!(code, 2);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("recommendation.json")).unwrap()).unwrap();
    let skipped = report["input"]["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 20, "{skipped:?}");
    for problem in skipped {
        let location = problem["location"].as_str().unwrap();
        assert!(location.contains("/2026/09/02/"), "{location}");
        let reason = problem["reason"].as_str().unwrap();
        assert!(
            reason.starts_with("iamtrim extract failed on executor ")
                && reason.ends_with("(exit status 137): killed: out of memory"),
            "{reason}"
        );
    }
    // The other two days were read.
    assert_eq!(report["input"]["files"], 40);
    assert_eq!(report["input"]["records"], 8_000);
}

#[test]
fn spark_job_reads_an_s3_trail_in_place() {
    if !spark_available() {
        return;
    }
    let Some(moto) = Moto::start() else { return };
    moto.deliver_trail(&sample_trail());
    let dir = tempfile::tempdir().unwrap();
    let aws = [
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_CONFIG_FILE", "/nonexistent/aws-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/aws-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    let out = dir.path().join("out");
    let code = spark_job(
        &[
            "--trail",
            "s3://shop-trail-logs",
            "--out",
            out.to_str().unwrap(),
            "--iamtrim",
            env!("CARGO_BIN_EXE_iamtrim"),
            "--endpoint-url",
            &moto.endpoint,
            SAMPLE_CONTEXT[0],
            SAMPLE_CONTEXT[1],
            SAMPLE_CONTEXT[2],
            SAMPLE_CONTEXT[3],
        ],
        &aws,
    );
    assert_eq!(code, 0);
    let one = crate::util::iamtrim_with_aws(
        &[
            "recommend",
            "--format",
            "json",
            "--trail",
            "s3://shop-trail-logs",
            "--endpoint-url",
            &moto.endpoint,
            SAMPLE_CONTEXT[0],
            SAMPLE_CONTEXT[1],
            SAMPLE_CONTEXT[2],
            SAMPLE_CONTEXT[3],
        ],
        &[],
    );
    assert_eq!(one.code, 0, "{}", one.stderr);
    let spark = std::fs::read_to_string(out.join("recommendation.json")).unwrap();
    assert!(spark == one.stdout, "the recommendation differs");
    assert_eq!(one.json()["input"]["files"], 21);
}

/// A backfill on Spark seeds the usage store (`run --partials`); the next run without it reads
/// only the days the backfill did not: the store then answers as if `run` had read every day,
/// evidence pack (object hashes from the executors) included.
#[test]
fn spark_backfill_seeds_the_usage_store_and_the_nightly_run_continues_from_the_trail() {
    if !spark_available() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    // The backfill saw the first two days; by the next night the trail has a third (the
    // generator writes the same first two days for a longer trail).
    let trail = dir.path().join("eks-trail");
    let associations = dir.path().join("associations.json");
    generate_eks_trail(2 * 4_000, 4_000, 40, &trail, &associations).unwrap();
    let stream = dir.path().join("backfill.partials");
    let associations = text(&associations);
    let code = spark_job(
        &[
            "--trail",
            &text(&trail),
            "--out",
            &text(&dir.path().join("spark-out")),
            "--iamtrim",
            env!("CARGO_BIN_EXE_iamtrim"),
            "--partials-out",
            &text(&stream),
            "--pod-identity-associations",
            &associations,
        ],
        &[],
    );
    assert_eq!(code, 0);
    let config = |name: &str| {
        let path = dir.path().join(format!("{name}.toml"));
        std::fs::write(
            &path,
            format!(
                "[store]\npath = \"{name}-store\"\n\n[source]\ntrails = [\"{}\"]\nsince = \"2026-08-01\"\n\n[context]\npod_identity_associations = \"{associations}\"\n\n[output]\ndir = \"{name}-out\"\nevidence = true\n",
                trail.display()
            ),
        )
        .unwrap();
        text(&path)
    };
    let (seeded, plain) = (config("seeded"), config("plain"));
    generate_eks_trail(
        3 * 4_000,
        4_000,
        40,
        &trail,
        dir.path().join("a.json").as_path(),
    )
    .unwrap();
    let run = |args: &[&str]| {
        let r = iamtrim(args);
        assert_eq!(r.code, 0, "{}", r.stderr);
        r.stderr
    };
    let log = run(&["run", "--config", &seeded, "--partials", &text(&stream)]);
    assert!(
        log.contains("day 2026-09-01: 20 new objects, 4000 records"),
        "{log}"
    );
    assert!(log.contains("day 2026-09-02: 20 new objects"), "{log}");
    assert!(!log.contains("2026-09-03"), "{log}");
    let log = run(&["run", "--config", &seeded]);
    assert!(log.contains("day 2026-09-03: 20 new objects"), "{log}");
    assert!(
        !log.contains("day 2026-09-01"),
        "days the backfill stored are not read again: {log}"
    );
    // The same stream again adds nothing.
    let log = run(&["run", "--config", &seeded, "--partials", &text(&stream)]);
    assert!(
        log.contains("0 new objects (0 records) in 0 days, 40 already in the store"),
        "{log}"
    );
    run(&["run", "--config", &plain]);
    let report = |name: &str| {
        std::fs::read(dir.path().join(format!("{name}-out/recommendation.json"))).unwrap()
    };
    assert!(
        report("seeded") == report("plain"),
        "the seeded store's recommendation differs from the store that read the trail"
    );
    // The seeding run's own pack (its window ended on the second day) stays beside the last.
    let seeded: Vec<(String, Vec<u8>)> = tree(&dir.path().join("seeded-out"))
        .into_iter()
        .filter(|f| !f.0.starts_with("evidence-2026-08-01-2026-09-02"))
        .collect();
    let plain = tree(&dir.path().join("plain-out"));
    let names = |t: &[(String, Vec<u8>)]| t.iter().map(|f| f.0.clone()).collect::<Vec<_>>();
    assert_eq!(names(&seeded), names(&plain));
    let differ: Vec<&String> = seeded
        .iter()
        .zip(&plain)
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| &a.0)
        .collect();
    assert!(differ.is_empty(), "outputs differ: {differ:?}");
}
