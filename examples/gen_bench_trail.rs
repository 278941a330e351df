//! Generates large, realistic trails for the throughput benchmark (benches/throughput.sh).
//!
//!     cargo run --release --example gen_bench_trail -- --records 1000000 --out /tmp/trail-1m
//!
//! The trail is laid out as CloudTrail delivers it (`AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/`),
//! `--per-file` records per object (2,000 by default), `--per-day` records per day (100,000 by
//! default: a longer trail covers more days, as a longer window does, rather than packing more
//! events into each day). Records are about 1.5 KB of JSON with the field shapes of real events
//! (../shared/data/cloudtrail-real).
//!
//! Workloads (`--workloads`, 200 by default): 70% IRSA service accounts, 20% EKS Pod Identity,
//! 10% plain roles whose sessions were vended outside the trail. Every workload gets new
//! credentials each hour: the first records of each hour are the vendings, the rest are calls by
//! workloads picked at random, across S3, DynamoDB, SQS, KMS, Secrets Manager, SSM, STS, EC2 and
//! Logs, with about 2% denied calls. Each workload works on a fixed set of resources, so the
//! recommendation (and iamtrim's memory) is the same size whatever the number of records.
//!
//! `--mix eks` adds what a Kubernetes platform's trail also holds (the Spark tests use it): every
//! workload `w` with `w % 10 == 1` shares the IRSA role of `w - 1` (a shared role); with
//! `w % 10 == 2` it chains two roles deep (`AssumeRole` into `bench-chain1-w`, from that session
//! into `bench-chain2-w`, whose session makes its calls); and Pod Identity workloads with
//! `w % 20 == 18` have session tags disabled, tied to their service account by the associations
//! `--associations FILE` writes. Without it the trail is the same bytes as before it existed.
//!
//! Every record is a pure function of its index, so files are written in parallel and the output
//! is the same bytes for the same arguments.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const CLUSTER: &str = "bench-prod";
const OIDC_ID: &str = "7A1C9E0B5D3F4E2A8B6C1D0E9F8A7B6C";
/// 2026-09-01T00:00:00Z.
const START: i64 = 1_788_220_800;

struct Args {
    records: u64,
    per_file: u64,
    per_day: u64,
    workloads: u64,
    out: PathBuf,
    eks: bool,
    associations: Option<PathBuf>,
}

/// `--mix eks` (see the module's documentation): set once, before any file is written.
static EKS: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

fn eks() -> bool {
    EKS.load(std::sync::atomic::Ordering::Relaxed)
}

/// With `--mix eks`: whether `workload` reaches its role through two chained `AssumeRole`s.
fn chained(workload: u64) -> bool {
    eks() && workload % 10 == 2
}

/// With `--mix eks`: whether `workload`'s Pod Identity association has session tags disabled.
fn untagged(workload: u64) -> bool {
    eks() && workload % 20 == 18
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        records: 1_000_000,
        per_file: 2_000,
        per_day: 100_000,
        workloads: 200,
        out: PathBuf::new(),
        eks: false,
        associations: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--records" => args.records = number(&value()?)?,
            "--per-file" => args.per_file = number(&value()?)?,
            "--per-day" => args.per_day = number(&value()?)?,
            "--workloads" => args.workloads = number(&value()?)?,
            "--out" => args.out = PathBuf::from(value()?),
            "--associations" => args.associations = Some(PathBuf::from(value()?)),
            "--mix" => match value()?.as_str() {
                "bench" => args.eks = false,
                "eks" => args.eks = true,
                other => return Err(format!("--mix is bench or eks, not {other}")),
            },
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.out.as_os_str().is_empty() {
        return Err("--out DIR is required".into());
    }
    if args.per_file == 0
        || !args.per_day.is_multiple_of(args.per_file)
        || args.per_day < 24 * args.workloads * 2
    {
        return Err(
            "--per-day must be a multiple of --per-file and at least 48 records per workload"
                .into(),
        );
    }
    Ok(args)
}

fn number(text: &str) -> Result<u64, String> {
    text.replace('_', "")
        .parse()
        .map_err(|_| format!("not a number: {text}"))
}

/// SplitMix64: a record's randomness is a function of its index and a salt.
fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

fn hex(buf: &mut String, seed: u64, n: usize) {
    let mut x = mix(seed);
    for i in 0..n {
        if i % 16 == 15 {
            x = mix(x);
        }
        buf.push(char::from(
            b"0123456789abcdef"[(x >> ((i % 16) * 4)) as usize & 15],
        ));
    }
}

fn upper(buf: &mut String, seed: u64, n: usize) {
    let mut x = mix(seed ^ 0x5555);
    for i in 0..n {
        if i % 12 == 11 {
            x = mix(x);
        }
        buf.push(char::from(
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(x >> ((i % 12) * 5)) as usize & 31],
        ));
    }
}

fn uuid(buf: &mut String, seed: u64) {
    for (i, n) in [8, 4, 4, 4, 12].into_iter().enumerate() {
        if i > 0 {
            buf.push('-');
        }
        hex(buf, seed.wrapping_add(i as u64 * 7919), n);
    }
}

fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Irsa,
    PodIdentity,
    Role,
}

fn kind(workload: u64) -> Kind {
    match workload % 10 {
        0..=6 => Kind::Irsa,
        7 | 8 => Kind::PodIdentity,
        _ => Kind::Role,
    }
}

fn role(workload: u64) -> String {
    if eks() && workload % 10 == 1 {
        return format!("bench-app-{:03}", workload - 1);
    }
    format!("bench-app-{workload:03}")
}

/// The role a workload's calls are made with, and the credentials and session name of that
/// session in `hour`: its own, or (chained) the second role of its chain.
fn calling(workload: u64, hour: u64) -> (String, String, String) {
    if chained(workload) {
        let depth = 2;
        return (
            format!("bench-chain{depth}-{workload:03}"),
            chain_key(workload, hour, depth),
            format!("chain{depth}-{workload:03}-{hour}"),
        );
    }
    (
        role(workload),
        access_key(workload, hour),
        session_name(workload, hour),
    )
}

/// The credentials of a chained session (`depth` 1 or 2) of `workload` in `hour`.
fn chain_key(workload: u64, hour: u64, depth: u64) -> String {
    access_key(workload + 1_000_000 * depth, hour)
}

/// The credentials of `workload` in hour `hour` of the trail.
fn access_key(workload: u64, hour: u64) -> String {
    let mut key = String::from("ASIA");
    upper(&mut key, mix(workload << 32 | hour), 16);
    key
}

fn session_name(workload: u64, hour: u64) -> String {
    match kind(workload) {
        Kind::Irsa => format!(
            "{}",
            1_700_000_000_000_000_000u64 + mix(workload << 32 | hour) % 1_000_000_000
        ),
        Kind::PodIdentity => {
            let mut s = format!("eks-{CLUSTER}-web-{workload:03}-");
            uuid(&mut s, workload << 32 | hour);
            s
        }
        Kind::Role => format!("worker-{workload:03}-{hour}"),
    }
}

/// Writes one record, the `index`-th of the trail, at time `at`.
struct Writer<'a> {
    out: &'a mut String,
    seed: u64,
}

impl Writer<'_> {
    fn vending(&mut self, at: i64, workload: u64, hour: u64) {
        let role = role(workload);
        let key = access_key(workload, hour);
        let session = session_name(workload, hour);
        let time = iso(at);
        let out = &mut *self.out;
        if kind(workload) == Kind::Irsa {
            let provider = format!(
                "arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{REGION}.amazonaws.com/id/{OIDC_ID}"
            );
            let subject = format!("system:serviceaccount:ns-{workload:03}:sa-{workload:03}");
            write!(out, r#"{{"eventVersion":"1.08","userIdentity":{{"type":"WebIdentityUser","principalId":"{provider}:sts.amazonaws.com:{subject}","userName":"{subject}","identityProvider":"{provider}"}},"eventTime":"{time}","eventSource":"sts.amazonaws.com","eventName":"AssumeRoleWithWebIdentity","awsRegion":"{REGION}","sourceIPAddress":"10.0.4.17","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 api/sts#1.30.3","requestParameters":{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/{role}","roleSessionName":"{session}"}},"responseElements":{{"credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjEBENCH"#).unwrap();
            upper(out, self.seed ^ 1, 300);
            write!(out, r#"","expiration":"Sep 1, 2026, 7:00:00 PM"}},"subjectFromWebIdentityToken":"{subject}","assumedRoleUser":{{"assumedRoleId":"AROA"#).unwrap();
            upper(out, workload, 17);
            write!(out, r#":{session}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"}},"provider":"{provider}","audience":"sts.amazonaws.com"}},"requestID":""#).unwrap();
        } else {
            // Pod Identity vending (and, for plain roles, nothing: their vending is outside the
            // trail; the caller never asks for one).
            if untagged(workload) {
                write!(out, r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AWSService","invokedBy":"pods.eks.amazonaws.com"}},"eventTime":"{time}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"{REGION}","sourceIPAddress":"pods.eks.amazonaws.com","userAgent":"pods.eks.amazonaws.com","requestParameters":{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/{role}","roleSessionName":"{session}","durationSeconds":21600}},"responseElements":{{"credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjEBENCH"#).unwrap();
                upper(out, self.seed ^ 1, 300);
                write!(out, r#"","expiration":"Sep 1, 2026, 7:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROA"#).unwrap();
                upper(out, workload, 17);
                write!(out, r#":{session}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"}}}},"requestID":""#).unwrap();
                self.vending_tail(workload);
                return;
            }
            write!(out, r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AWSService","invokedBy":"pods.eks.amazonaws.com"}},"eventTime":"{time}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"{REGION}","sourceIPAddress":"pods.eks.amazonaws.com","userAgent":"pods.eks.amazonaws.com","requestParameters":{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/{role}","roleSessionName":"{session}","durationSeconds":21600,"tags":[{{"key":"eks-cluster-arn","value":"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}"}},{{"key":"eks-cluster-name","value":"{CLUSTER}"}},{{"key":"kubernetes-namespace","value":"ns-{workload:03}"}},{{"key":"kubernetes-service-account","value":"sa-{workload:03}"}},{{"key":"kubernetes-pod-name","value":"web-{workload:03}-7c9d8"}},{{"key":"kubernetes-pod-uid","value":""#).unwrap();
            uuid(out, self.seed ^ 2);
            write!(out, r#""}}],"transitiveTagKeys":["eks-cluster-arn","eks-cluster-name","kubernetes-namespace","kubernetes-service-account","kubernetes-pod-name","kubernetes-pod-uid"]}},"responseElements":{{"credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjEBENCH"#).unwrap();
            upper(out, self.seed ^ 1, 300);
            write!(out, r#"","expiration":"Sep 1, 2026, 7:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROA"#).unwrap();
            upper(out, workload, 17);
            write!(out, r#":{session}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"}},"packedPolicySize":56}},"requestID":""#).unwrap();
        }
        self.vending_tail(workload);
    }

    /// The end of a vending record: IDs and the role it vended.
    fn vending_tail(&mut self, workload: u64) {
        let role = role(workload);
        let out = &mut *self.out;
        uuid(out, self.seed ^ 3);
        out.push_str(r#"","eventID":""#);
        uuid(out, self.seed ^ 4);
        write!(out, r#"","readOnly":true,"resources":[{{"accountId":"{ACCOUNT}","type":"AWS::IAM::Role","ARN":"arn:aws:iam::{ACCOUNT}:role/{role}"}}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"sts.{REGION}.amazonaws.com"}}}}"#).unwrap();
    }

    /// `AssumeRole` from a session of `workload`'s chain (depth 0: its own session) into the next
    /// role of the chain (`depth + 1`).
    fn chain_vending(&mut self, at: i64, workload: u64, hour: u64, depth: u64) {
        let (from_role, from_key, from_session) = if depth == 0 {
            (
                role(workload),
                access_key(workload, hour),
                session_name(workload, hour),
            )
        } else {
            (
                format!("bench-chain{depth}-{workload:03}"),
                chain_key(workload, hour, depth),
                format!("chain{depth}-{workload:03}-{hour}"),
            )
        };
        let next = depth + 1;
        let role = format!("bench-chain{next}-{workload:03}");
        let key = chain_key(workload, hour, next);
        let session = format!("chain{next}-{workload:03}-{hour}");
        let time = iso(at);
        let out = &mut *self.out;
        write!(
            out,
            r#"{{"eventVersion":"1.08","userIdentity":{{"type":"AssumedRole","principalId":"AROA"#
        )
        .unwrap();
        upper(out, workload + depth, 17);
        write!(out, r#":{from_session}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{from_role}/{from_session}","accountId":"{ACCOUNT}","accessKeyId":"{from_key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA"#).unwrap();
        upper(out, workload + depth, 17);
        write!(out, r#"","arn":"arn:aws:iam::{ACCOUNT}:role/{from_role}","accountId":"{ACCOUNT}","userName":"{from_role}"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}},"eventTime":"{time}","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"{REGION}","sourceIPAddress":"10.0.4.17","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 api/sts#1.30.3","requestParameters":{{"roleArn":"arn:aws:iam::{ACCOUNT}:role/{role}","roleSessionName":"{session}"}},"responseElements":{{"credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjEBENCH"#, iso(START + hour as i64 * 3600)).unwrap();
        upper(out, self.seed ^ 1, 300);
        write!(out, r#"","expiration":"Sep 1, 2026, 7:00:00 PM"}},"assumedRoleUser":{{"assumedRoleId":"AROA"#).unwrap();
        upper(out, workload + next, 17);
        write!(out, r#":{session}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"}}}},"requestID":""#).unwrap();
        uuid(out, self.seed ^ 3);
        out.push_str(r#"","eventID":""#);
        uuid(out, self.seed ^ 4);
        write!(out, r#"","readOnly":true,"resources":[{{"accountId":"{ACCOUNT}","type":"AWS::IAM::Role","ARN":"arn:aws:iam::{ACCOUNT}:role/{role}"}}],"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"{ACCOUNT}","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"sts.{REGION}.amazonaws.com"}}}}"#).unwrap();
    }

    fn call(&mut self, at: i64, workload: u64, hour: u64) {
        let r = mix(self.seed ^ 5);
        let (role, key, session) = calling(workload, hour);
        let time = iso(at);
        // About 2% of calls are denied: a workload reaching for another team's secret or
        // parameter (a fixed pair per workload, so the distinct (workload, action, resource) set,
        // and with it iamtrim's memory, is the same for any trail length).
        let failed = (r >> 16).is_multiple_of(50);
        let (source, name, params, data) = if failed {
            denied_operation(workload, r)
        } else {
            operation(workload, r)
        };
        let out = &mut *self.out;
        write!(
            out,
            r#"{{"eventVersion":"1.09","userIdentity":{{"type":"AssumedRole","principalId":"AROA"#
        )
        .unwrap();
        upper(out, workload, 17);
        write!(out, r#":{session}","arn":"arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}","accountId":"{ACCOUNT}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"AROA"#).unwrap();
        upper(out, workload, 17);
        write!(out, r#"","arn":"arn:aws:iam::{ACCOUNT}:role/{role}","accountId":"{ACCOUNT}","userName":"{role}"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}"#, iso(START + hour as i64 * 3600)).unwrap();
        if kind(workload) == Kind::Irsa && !chained(workload) {
            write!(out, r#","webIdFederationData":{{"federatedProvider":"arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{REGION}.amazonaws.com/id/{OIDC_ID}","attributes":{{}}}}"#).unwrap();
        }
        write!(out, r#"}}}},"eventTime":"{time}","eventSource":"{source}","eventName":"{name}","awsRegion":"{REGION}","sourceIPAddress":"10.0.{}.{}","userAgent":"aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64 exec-env/k8s","#, r % 250, (r >> 8) % 250).unwrap();
        if failed {
            write!(out, r#""errorCode":"AccessDenied","errorMessage":"User: arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session} is not authorized to perform this action","#).unwrap();
        }
        write!(
            out,
            r#""requestParameters":{params},"responseElements":null,"#
        )
        .unwrap();
        if source == "s3.amazonaws.com" {
            out.push_str(r#""additionalEventData":{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":""#);
            hex(out, self.seed ^ 6, 60);
            out.push_str(r#"","bytesTransferredOut":0},"#);
        }
        out.push_str(r#""requestID":""#);
        uuid(out, self.seed ^ 3);
        out.push_str(r#"","eventID":""#);
        uuid(out, self.seed ^ 4);
        if source == "kms.amazonaws.com" {
            write!(out, r#"","resources":[{{"accountId":"{ACCOUNT}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{REGION}:{ACCOUNT}:key/"#).unwrap();
            uuid(out, workload);
            out.push_str(r#""}]"#);
        } else {
            out.push('"');
        }
        write!(out, r#","readOnly":{},"eventType":"AwsApiCall","managementEvent":{},"recipientAccountId":"{ACCOUNT}","eventCategory":"{}","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"{}.{REGION}.amazonaws.com"}}}}"#,
            name.starts_with("Get") || name.starts_with("Describe") || name.starts_with("Receive") || name == "Query",
            !data, if data { "Data" } else { "Management" }, source.trim_end_matches(".amazonaws.com")).unwrap();
    }
}

/// A call the workload is not allowed to make.
fn denied_operation(workload: u64, r: u64) -> (&'static str, &'static str, String, bool) {
    let other = (workload + 1) % 1000;
    if (r >> 40).is_multiple_of(2) {
        (
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            format!(
                r#"{{"secretId":"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench/{other:03}/db-XyZ123"}}"#
            ),
            false,
        )
    } else {
        (
            "ssm.amazonaws.com",
            "GetParameter",
            format!(r#"{{"name":"/bench/{other:03}/config","withDecryption":true}}"#),
            false,
        )
    }
}

/// What a workload calls: one of its own resources (a fixed set per workload).
fn operation(workload: u64, r: u64) -> (&'static str, &'static str, String, bool) {
    let pick = (r >> 24) % 100;
    let n = (r >> 32) % 40;
    let bucket = format!("bench-data-{workload:03}");
    let table = format!("bench-table-{workload:03}-{}", n % 2);
    match pick {
        0..=24 => (
            "s3.amazonaws.com",
            "GetObject",
            format!(r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{REGION}.amazonaws.com","key":"reports/2026/part-{n:05}.parquet"}}"#),
            true,
        ),
        25..=34 => (
            "s3.amazonaws.com",
            "PutObject",
            format!(r#"{{"bucketName":"{bucket}","Host":"{bucket}.s3.{REGION}.amazonaws.com","key":"uploads/{}/object-{n:04}.json","x-amz-server-side-encryption":"aws:kms"}}"#, n % 3),
            true,
        ),
        35..=49 => (
            "dynamodb.amazonaws.com",
            "GetItem",
            format!(r#"{{"tableName":"{table}","key":{{"pk":"HIDDEN_DUE_TO_SECURITY_REASONS"}},"consistentRead":false,"projectionExpression":"HIDDEN_DUE_TO_SECURITY_REASONS"}}"#),
            true,
        ),
        50..=57 => (
            "dynamodb.amazonaws.com",
            "Query",
            format!(r#"{{"tableName":"{table}","indexName":"by-customer","keyConditionExpression":"HIDDEN_DUE_TO_SECURITY_REASONS","limit":100}}"#),
            true,
        ),
        58..=64 => (
            "dynamodb.amazonaws.com",
            "PutItem",
            format!(r#"{{"tableName":"{table}","item":{{"pk":"HIDDEN_DUE_TO_SECURITY_REASONS","sk":"HIDDEN_DUE_TO_SECURITY_REASONS"}}}}"#),
            true,
        ),
        65..=74 => (
            "sqs.amazonaws.com",
            "ReceiveMessage",
            format!(r#"{{"queueUrl":"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/bench-queue-{workload:03}","maxNumberOfMessages":10,"waitTimeSeconds":20}}"#),
            true,
        ),
        75..=79 => (
            "sqs.amazonaws.com",
            "DeleteMessage",
            format!(r#"{{"queueUrl":"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/bench-queue-{workload:03}","receiptHandle":"HIDDEN_DUE_TO_SECURITY_REASONS"}}"#),
            true,
        ),
        80..=86 => (
            "kms.amazonaws.com",
            "Decrypt",
            format!(r#"{{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{{"aws:s3:arn":"arn:aws:s3:::{bucket}"}}}}"#),
            false,
        ),
        87..=90 => (
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            format!(r#"{{"secretId":"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:bench/{workload:03}/db-AbCdEf"}}"#),
            false,
        ),
        91..=94 => (
            "ssm.amazonaws.com",
            "GetParameter",
            format!(r#"{{"name":"/bench/{workload:03}/config","withDecryption":true}}"#),
            false,
        ),
        95..=96 => ("sts.amazonaws.com", "GetCallerIdentity", "null".to_owned(), false),
        97..=98 => (
            "ec2.amazonaws.com",
            "DescribeInstances",
            r#"{"instancesSet":{},"filterSet":{"items":[{"name":"tag:app","valueSet":{"items":[{"value":"bench"}]}}]}}"#.to_owned(),
            false,
        ),
        _ => (
            "logs.amazonaws.com",
            "PutLogEvents",
            format!(r#"{{"logGroupName":"/bench/{workload:03}","logStreamName":"app"}}"#),
            false,
        ),
    }
}

/// Writes file `index` (records `index * per_file ..`), returns its uncompressed size.
fn write_file(args: &Args, index: u64) -> std::io::Result<u64> {
    let first = index * args.per_file;
    let count = args.per_file.min(args.records - first);
    let per_hour = args.per_day / 24;
    let vendings = args.workloads;
    // With `--mix eks`, each chained workload's two `AssumeRole`s follow the hour's vendings.
    let chains: Vec<u64> = (0..args.workloads).filter(|w| chained(*w)).collect();
    let mut json = String::with_capacity((count as usize) * 1_700 + 64);
    json.push_str(r#"{"Records":["#);
    let mut first_time = 0;
    for n in 0..count {
        let i = first + n;
        let day = i / args.per_day;
        let in_day = i % args.per_day;
        let at = START + day as i64 * 86_400 + (in_day * 86_400 / args.per_day) as i64;
        if n == 0 {
            first_time = at;
        }
        let hour = day * 24 + (in_day / per_hour).min(23);
        let in_hour = in_day - (hour - day * 24) * per_hour;
        if n > 0 {
            json.push(',');
        }
        let mut writer = Writer {
            out: &mut json,
            seed: mix(i),
        };
        if in_hour < vendings {
            let workload = in_hour;
            if kind(workload) == Kind::Role {
                // Plain roles' vendings are not in the trail: another call instead.
                writer.call(at, mix(i ^ 99) % args.workloads, hour);
            } else {
                writer.vending(at, workload, hour);
            }
        } else if in_hour < vendings + 2 * chains.len() as u64 {
            let slot = in_hour - vendings;
            writer.chain_vending(at, chains[(slot / 2) as usize], hour, slot % 2);
        } else {
            writer.call(at, mix(i ^ 7) % args.workloads, hour);
        }
    }
    json.push_str("]}");
    let when = jiff::Timestamp::from_second(first_time).unwrap();
    let dir = args.out.join(format!(
        "AWSLogs/{ACCOUNT}/CloudTrail/{REGION}/{}",
        when.strftime("%Y/%m/%d")
    ));
    std::fs::create_dir_all(&dir)?;
    let name = format!(
        "{ACCOUNT}_CloudTrail_{REGION}_{}_{:016x}.json.gz",
        when.strftime("%Y%m%dT%H%MZ"),
        mix(index)
    );
    write_gz(&dir.join(name), json.as_bytes())?;
    Ok(json.len() as u64)
}

/// The Pod Identity associations of the trail's Pod Identity workloads (`aws eks
/// describe-pod-identity-association` output, one per association), with session tags disabled
/// where `--mix eks` sent none.
fn write_associations(workloads: u64, path: &Path) -> std::io::Result<()> {
    let mut out = String::from("[");
    for workload in (0..workloads).filter(|w| kind(*w) == Kind::PodIdentity) {
        if out.len() > 1 {
            out.push(',');
        }
        let role = role(workload);
        write!(out, r#"{{"association":{{"associationArn":"arn:aws:eks:{REGION}:{ACCOUNT}:podidentityassociation/{CLUSTER}/a-{workload:017}","associationId":"a-{workload:017}","clusterName":"{CLUSTER}","createdAt":"2026-01-15T09:00:00+00:00","disableSessionTags":{},"modifiedAt":"2026-01-15T09:00:00+00:00","namespace":"ns-{workload:03}","roleArn":"arn:aws:iam::{ACCOUNT}:role/{role}","serviceAccount":"sa-{workload:03}","tags":{{}}}}}}"#, untagged(workload)).unwrap();
    }
    out.push_str("]\n");
    std::fs::write(path, out)
}

fn write_gz(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let file = std::fs::File::create(path)?;
    let mut encoder = GzBuilder::new()
        .mtime(0)
        .write(file, Compression::default());
    encoder.write_all(data)?;
    encoder.finish()?.sync_all()
}

fn main() {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    match generate(&args) {
        Ok(bytes) => eprintln!(
            "wrote {} records in {} files to {} ({} MB of JSON, {} bytes per record)",
            args.records,
            args.records.div_ceil(args.per_file),
            args.out.display(),
            bytes / 1_000_000,
            bytes / args.records.max(1)
        ),
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    }
}

/// Writes a trail (the tests call this too); returns the bytes of JSON written.
pub fn generate_trail(
    records: u64,
    per_file: u64,
    per_day: u64,
    workloads: u64,
    out: &Path,
) -> Result<u64, String> {
    generate(&Args {
        records,
        per_file,
        per_day,
        workloads,
        out: out.to_owned(),
        eks: false,
        associations: None,
    })
}

/// Writes a `--mix eks` trail and its Pod Identity associations (the tests call this).
pub fn generate_eks_trail(
    records: u64,
    per_day: u64,
    workloads: u64,
    out: &Path,
    associations: &Path,
) -> Result<u64, String> {
    generate(&Args {
        records,
        per_file: per_day / 20,
        per_day,
        workloads,
        out: out.to_owned(),
        eks: true,
        associations: Some(associations.to_owned()),
    })
}

fn generate(args: &Args) -> Result<u64, String> {
    // `--mix` is process-wide: trails are generated one at a time (tests generate in parallel).
    static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    EKS.store(args.eks, std::sync::atomic::Ordering::Relaxed);
    if let Some(path) = &args.associations {
        write_associations(args.workloads, path).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    let files = args.records.div_ceil(args.per_file);
    let next = std::sync::atomic::AtomicU64::new(0);
    let bytes = std::sync::atomic::AtomicU64::new(0);
    let failed = std::sync::Mutex::new(None);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    std::thread::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    if index >= files {
                        return;
                    }
                    match write_file(args, index) {
                        Ok(size) => {
                            bytes.fetch_add(size, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(err) => {
                            if let Ok(mut failed) = failed.lock() {
                                *failed = Some(format!("writing file {index}: {err}"));
                            }
                            return;
                        }
                    }
                }
            });
        }
    });
    match failed.into_inner().ok().flatten() {
        Some(message) => Err(message),
        None => Ok(bytes.into_inner()),
    }
}
