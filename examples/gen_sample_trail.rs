//! Generates the bundled sample trail and its ground truth.
//!
//!     cargo run --example gen_sample_trail                  # writes fixtures/sample-trail/ + truth
//!     cargo run --example gen_sample_trail -- --copies 10 --out /tmp/trail10
//!
//! One EKS cluster (`shop-prod`, account 111122223333) in two regions over one day: IRSA and Pod
//! Identity workloads, a role shared by two service accounts, role chaining, a node role, a human
//! user, a Lambda role, AWS-service noise, data events and denied calls. Records copy the field
//! shapes of the real events in ../shared/data/cloudtrail-real. `--copies N` repeats the day N
//! times (new sessions, keys and event IDs each day) for memory benchmarks; the ground truth is only
//! written for the default single copy. Output is deterministic (fixed seed, gzip mtime 0).

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::{Compression, GzBuilder};
use serde_json::{Value, json};

const ACCOUNT: &str = "111122223333";
/// The data account whose KMS key encrypts the exports.
const DATA_ACCOUNT: &str = "444455556666";
const CLUSTER: &str = "shop-prod";
const OIDC_ID: &str = "5E1C9A0B7D3F4E2A8B6C1D0E9F8A7B6C";
/// A second cluster (staging) whose service accounts have the same names as production's.
const OIDC_ID_STAGING: &str = "0B7D3F4E2A8B6C1D0E9F8A7B6C5E1C9A";
const PRIMARY: &str = "us-east-1";
const SECONDARY: &str = "us-west-2";

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn hex(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"0123456789abcdef"[(self.next() % 16) as usize]))
            .collect()
    }
    fn upper(&mut self, n: usize) -> String {
        (0..n)
            .map(|_| char::from(b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"[(self.next() % 32) as usize]))
            .collect()
    }
    fn uuid(&mut self) -> String {
        format!(
            "{}-{}-{}-{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(4),
            self.hex(4),
            self.hex(12)
        )
    }
}

/// Who a call is made as.
#[derive(Clone)]
enum As {
    Session {
        role: String,
        session: String,
        key: String,
    },
    User(String),
    Service(String),
}

struct Event {
    time: i64,
    region: &'static str,
    record: Value,
    /// Put the event into the file delivered this many minutes later than its time bucket.
    delivery_delay: i64,
}

struct Gen {
    rng: Rng,
    events: Vec<Event>,
    truth: BTreeMap<String, Truth>,
    day: i64,
    /// The S3 user metadata CloudTrail puts on each digest object (its signature), by key.
    digest_metadata: BTreeMap<String, Value>,
}

/// The stand-in for CloudTrail's signing key (a test key, not a secret: see
/// fixtures/digest-signing/README.md).
const SIGNING_KEY: &[u8] = include_bytes!("../fixtures/digest-signing/test-key.pk8");
/// Its fingerprint as `cloudtrail:ListPublicKeys` would give it.
const KEY_FINGERPRINT: &str = "8d2b0b4a1e5f6c7d8e9f0a1b2c3d4e5f";

fn signing_key() -> ring::signature::RsaKeyPair {
    ring::signature::RsaKeyPair::from_pkcs8(SIGNING_KEY)
        .expect("fixtures/digest-signing/test-key.pk8")
}

#[derive(Default, serde::Serialize)]
struct Truth {
    kind: String,
    roles: Vec<String>,
    actions: std::collections::BTreeSet<String>,
    denied: std::collections::BTreeSet<String>,
    /// The evidence kinds iamtrim reports for the workload (with the bundled sample context).
    evidence: std::collections::BTreeSet<String>,
}

fn role_arn(role: &str) -> String {
    format!("arn:aws:iam::{ACCOUNT}:role/{role}")
}

fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .unwrap()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

impl Gen {
    fn base(&self) -> i64 {
        // 2026-11-01T06:00:00Z plus one day per copy.
        1_793_512_800 + self.day * 86_400
    }

    fn identity(&mut self, who: &As) -> Value {
        match who {
            As::Session { role, session, key } => json!({
                "type": "AssumedRole",
                "principalId": format!("AROA{}:{session}", self.rng.upper(17)),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}"),
                "accountId": ACCOUNT,
                "accessKeyId": key,
                "sessionContext": {
                    "sessionIssuer": {"type": "Role", "principalId": format!("AROA{}", self.rng.upper(17)),
                        "arn": role_arn(role), "accountId": ACCOUNT, "userName": role},
                    "attributes": {"creationDate": iso(self.base()), "mfaAuthenticated": "false"}
                }
            }),
            As::User(name) => json!({
                "type": "IAMUser", "principalId": format!("AIDA{}", self.rng.upper(17)),
                "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "accountId": ACCOUNT,
                "accessKeyId": format!("AKIA{}", self.rng.upper(16)), "userName": name
            }),
            As::Service(service) => json!({"type": "AWSService", "invokedBy": service}),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn call(
        &mut self,
        at: i64,
        region: &'static str,
        who: &As,
        source: &str,
        name: &str,
        params: Value,
        error: Option<&str>,
        data: bool,
    ) {
        let identity = self.identity(who);
        let mut record = json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": iso(at),
            "eventSource": source,
            "eventName": name,
            "awsRegion": region,
            "sourceIPAddress": if matches!(who, As::Service(_)) { Value::from(source) } else { Value::from(format!("10.0.{}.{}", self.rng.next() % 250, self.rng.next() % 250)) },
            "userAgent": "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5 md/GOOS#linux md/GOARCH#amd64",
            "requestParameters": params,
            "responseElements": Value::Null,
            "requestID": self.rng.uuid(),
            "eventID": self.rng.uuid(),
            "readOnly": name.starts_with("Get") || name.starts_with("List") || name.starts_with("Describe") || name.starts_with("Head"),
            "eventType": "AwsApiCall",
            "managementEvent": !data,
            "recipientAccountId": ACCOUNT,
            "eventCategory": if data { "Data" } else { "Management" },
            "tlsDetails": {"tlsVersion": "TLSv1.3", "cipherSuite": "TLS_AES_128_GCM_SHA256",
                "clientProvidedHostHeader": format!("{}.{region}.amazonaws.com", source.trim_end_matches(".amazonaws.com"))}
        });
        if let Some(code) = error {
            record["errorCode"] = Value::from(code);
            // Denials carry IAM's wording; other failures the service's own.
            record["errorMessage"] = Value::from(match code {
                "NoSuchKey" => "The specified key does not exist.".to_owned(),
                "ConditionalCheckFailedException" => "The conditional request failed".to_owned(),
                "ThrottlingException" => "Rate exceeded".to_owned(),
                "ExpiredTokenException" => {
                    "The security token included in the request is expired".to_owned()
                }
                _ => format!("User is not authorized to perform {name}"),
            });
        }
        self.events.push(Event {
            time: at,
            region,
            record,
            delivery_delay: 0,
        });
    }

    fn truth(&mut self, id: &str, kind: &str, role: Option<&str>) -> &mut Truth {
        let t = self.truth.entry(id.to_owned()).or_default();
        t.kind = kind.to_owned();
        if let Some(role) = role
            && !t.roles.contains(&role_arn(role))
        {
            t.roles.push(role_arn(role));
            t.roles.sort();
        }
        t
    }

    /// `responseElements.credentials` of a vending event. Every synthetic session token carries
    /// the marker `SYNTHETIC`, which the tests grep every output for.
    fn credentials(&mut self, key: &str) -> Value {
        json!({"accessKeyId": key, "sessionToken": format!("IQoJb3JpZ2luX2VjSYNTHETIC{}", self.rng.upper(40)), "expiration": "Nov 1, 2026, 7:00:00 PM"})
    }

    fn assumed_role_user(&mut self, role: &str, session: &str) -> Value {
        json!({"assumedRoleId": format!("AROA{}:{session}", self.rng.upper(17)), "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/{session}")})
    }

    fn new_key(&mut self) -> String {
        format!("ASIA{}", self.rng.upper(16))
    }

    /// IRSA: AssumeRoleWithWebIdentity, then the session.
    #[allow(clippy::too_many_arguments)]
    fn irsa(
        &mut self,
        at: i64,
        region: &'static str,
        oidc_id: &str,
        ns: &str,
        sa: &str,
        role: &str,
        delay: i64,
    ) -> As {
        let key = self.new_key();
        let session = format!(
            "{}",
            1_700_000_000_000_000_000u64 + self.rng.next() % 1_000_000_000
        );
        let provider = format!(
            "arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{PRIMARY}.amazonaws.com/id/{oidc_id}"
        );
        let subject = format!("system:serviceaccount:{ns}:{sa}");
        let record = json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "WebIdentityUser",
                "principalId": format!("{provider}:sts.amazonaws.com:{subject}"),
                "userName": subject, "identityProvider": provider},
            "eventTime": iso(at), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRoleWithWebIdentity",
            "awsRegion": region, "sourceIPAddress": "10.0.4.17", "userAgent": "aws-sdk-go-v2/1.30.3",
            "requestParameters": {"roleArn": role_arn(role), "roleSessionName": session},
            "responseElements": {
                "credentials": self.credentials(&key),
                "subjectFromWebIdentityToken": subject,
                "assumedRoleUser": self.assumed_role_user(role, &session),
                "provider": provider, "audience": "sts.amazonaws.com"
            },
            "requestID": self.rng.uuid(), "eventID": self.rng.uuid(), "readOnly": true,
            "resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn(role)}],
            "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCOUNT, "eventCategory": "Management"
        });
        self.events.push(Event {
            time: at,
            region,
            record,
            delivery_delay: delay,
        });
        As::Session {
            role: role.to_owned(),
            session,
            key,
        }
    }

    /// Pod Identity: AssumeRole by pods.eks.amazonaws.com with session tags (unless the
    /// association disables them), then the session.
    fn pod_identity(
        &mut self,
        at: i64,
        (ns, sa): (&str, &str),
        pod: &str,
        role: &str,
        with_tags: bool,
    ) -> As {
        let key = self.new_key();
        let session = format!(
            "eks-{}-{}-{}",
            &CLUSTER[..CLUSTER.len().min(10)],
            &pod[..pod.len().min(10)],
            self.rng.uuid()
        );
        let mut tags: Vec<Value> = [
            (
                "eks-cluster-arn",
                format!("arn:aws:eks:{PRIMARY}:{ACCOUNT}:cluster/{CLUSTER}"),
            ),
            ("eks-cluster-name", CLUSTER.to_owned()),
            ("kubernetes-namespace", ns.to_owned()),
            ("kubernetes-service-account", sa.to_owned()),
            ("kubernetes-pod-name", pod.to_owned()),
            ("kubernetes-pod-uid", self.rng.uuid()),
        ]
        .into_iter()
        .map(|(k, v)| json!({"key": k, "value": v}))
        .collect();
        let mut transitive = json!([
            "eks-cluster-arn",
            "eks-cluster-name",
            "kubernetes-namespace",
            "kubernetes-service-account",
            "kubernetes-pod-name",
            "kubernetes-pod-uid"
        ]);
        if !with_tags {
            tags.clear();
            transitive = json!([]);
        }
        let record = json!({
            "eventVersion": "1.08",
            "userIdentity": {"type": "AWSService", "invokedBy": "pods.eks.amazonaws.com"},
            "eventTime": iso(at), "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole",
            "awsRegion": PRIMARY, "sourceIPAddress": "pods.eks.amazonaws.com", "userAgent": "pods.eks.amazonaws.com",
            "requestParameters": {"roleArn": role_arn(role), "roleSessionName": session, "durationSeconds": 21600,
                "tags": tags, "transitiveTagKeys": transitive},
            "responseElements": {
                "credentials": self.credentials(&key),
                "assumedRoleUser": self.assumed_role_user(role, &session),
                "packedPolicySize": 56
            },
            "requestID": self.rng.uuid(), "eventID": self.rng.uuid(), "readOnly": true,
            "resources": [{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn(role)}],
            "eventType": "AwsApiCall", "managementEvent": true, "recipientAccountId": ACCOUNT,
            "sharedEventID": self.rng.uuid(), "eventCategory": "Management"
        });
        self.events.push(Event {
            time: at,
            region: PRIMARY,
            record,
            delivery_delay: 0,
        });
        As::Session {
            role: role.to_owned(),
            session,
            key,
        }
    }

    /// Drops `accessKeyId` from the last event's identity, as some records of a session lack it.
    fn without_access_key(&mut self) {
        let record = &mut self.events.last_mut().unwrap().record;
        if let Some(identity) = record["userIdentity"].as_object_mut() {
            identity.remove("accessKeyId");
        }
    }

    /// Chaining: `parent` calls sts:AssumeRole into `role`.
    /// `parent` assumes `role`, passing `tags` as session tags (transitive) when there are any.
    fn chain(&mut self, at: i64, parent: &As, role: &str, tags: &[(&str, &str)]) -> As {
        let key = self.new_key();
        let session = format!("exporter-{}", self.rng.hex(8));
        let mut request = json!({"roleArn": role_arn(role), "roleSessionName": session});
        if !tags.is_empty() {
            request["tags"] = tags
                .iter()
                .map(|(k, v)| json!({"key": k, "value": v}))
                .collect();
            request["transitiveTagKeys"] = tags.iter().map(|(k, _)| json!(k)).collect();
        }
        self.call(
            at,
            PRIMARY,
            parent,
            "sts.amazonaws.com",
            "AssumeRole",
            request,
            None,
            false,
        );
        let response = json!({
            "credentials": self.credentials(&key),
            "assumedRoleUser": self.assumed_role_user(role, &session)
        });
        let record = &mut self.events.last_mut().unwrap().record;
        record["responseElements"] = response;
        record["resources"] =
            json!([{"accountId": ACCOUNT, "type": "AWS::IAM::Role", "ARN": role_arn(role)}]);
        As::Session {
            role: role.to_owned(),
            session,
            key,
        }
    }
}

fn s3_object(bucket: &str, key: &str) -> Value {
    json!({"bucketName": bucket, "Host": format!("{bucket}.s3.us-east-1.amazonaws.com"), "key": key})
}

fn day(g: &mut Gen) {
    let t0 = g.base();
    let sa = |ns: &str, name: &str, pi: bool| {
        format!("eks/{}/{ns}/{name}", if pi { CLUSTER } else { OIDC_ID })
    };
    let evidence = |t: &mut Truth, kinds: &[&str]| {
        t.evidence.extend(kinds.iter().map(|k| (*k).to_owned()));
    };

    // payments/api: IRSA, S3 data events, DynamoDB, KMS, a denied DeleteItem.
    let api = g.irsa(
        t0 + 60,
        PRIMARY,
        OIDC_ID,
        "payments",
        "api",
        "payments-api",
        0,
    );
    for i in 0..6 {
        let t = t0 + 120 + i * 600;
        g.call(
            t,
            PRIMARY,
            &api,
            "s3.amazonaws.com",
            "GetObject",
            s3_object("shop-payments-data", &format!("invoices/2026/11/{i}.pdf")),
            None,
            true,
        );
        g.call(
            t + 5,
            PRIMARY,
            &api,
            "dynamodb.amazonaws.com",
            "GetItem",
            json!({"tableName": "payments", "key": {"id": {"S": "redacted"}}}),
            None,
            false,
        );
        g.call(
            t + 9,
            PRIMARY,
            &api,
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            None,
            false,
        );
        // As CloudTrail logs KMS calls: the key in `resources`, not in the request.
        g.events.last_mut().unwrap().record["resources"] = json!([{"accountId": ACCOUNT,
            "type": "AWS::KMS::Key",
            "ARN": format!("arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/7f3c2a10-4b5d-4e6f-8a9b-0c1d2e3f4a5b")}]);
    }
    g.call(
        t0 + 400,
        PRIMARY,
        &api,
        "s3.amazonaws.com",
        "PutObject",
        s3_object("shop-payments-data", "receipts/r-1.json"),
        None,
        true,
    );
    g.call(
        t0 + 410,
        PRIMARY,
        &api,
        "dynamodb.amazonaws.com",
        "PutItem",
        json!({"tableName": "payments"}),
        None,
        false,
    );
    g.call(
        t0 + 420,
        PRIMARY,
        &api,
        "dynamodb.amazonaws.com",
        "DeleteItem",
        json!({"tableName": "payments"}),
        Some("AccessDenied"),
        false,
    );
    g.call(
        t0 + 430,
        PRIMARY,
        &api,
        "sts.amazonaws.com",
        "GetCallerIdentity",
        json!(null),
        None,
        false,
    );
    let t = g.truth(&sa("payments", "api", false), "irsa", Some("payments-api"));
    t.actions.extend(
        [
            "s3:GetObject",
            "s3:PutObject",
            "dynamodb:GetItem",
            "dynamodb:PutItem",
            "kms:Decrypt",
        ]
        .map(String::from),
    );
    t.denied.insert("dynamodb:DeleteItem".into());
    evidence(t, &["irsa-web-identity", "irsa-token"]);

    // The staging cluster has a payments/api too, with its own role: a different workload.
    let staging_api = g.irsa(
        t0 + 70,
        PRIMARY,
        OIDC_ID_STAGING,
        "payments",
        "api",
        "payments-api-staging",
        0,
    );
    g.call(
        t0 + 135,
        PRIMARY,
        &staging_api,
        "s3.amazonaws.com",
        "GetObject",
        s3_object("shop-staging-data", "invoices/2026/11/0.pdf"),
        None,
        true,
    );
    let t = g.truth(
        &format!("eks/{OIDC_ID_STAGING}/payments/api"),
        "irsa",
        Some("payments-api-staging"),
    );
    t.actions.insert("s3:GetObject".into());
    evidence(t, &["irsa-web-identity", "irsa-token"]);

    // orders/worker and orders/reporter share the role orders-shared. The worker gets its
    // credentials from the us-west-2 regional STS endpoint and works on SQS there, and sends
    // shipments to a queue in us-east-1.
    let worker = g.irsa(
        t0 + 90,
        SECONDARY,
        OIDC_ID,
        "orders",
        "worker",
        "orders-shared",
        0,
    );
    for i in 0..8 {
        let t = t0 + 200 + i * 300;
        let queue =
            json!({"queueUrl": format!("https://sqs.{SECONDARY}.amazonaws.com/{ACCOUNT}/orders")});
        g.call(
            t,
            SECONDARY,
            &worker,
            "sqs.amazonaws.com",
            "ReceiveMessage",
            queue.clone(),
            None,
            false,
        );
        g.call(
            t + 2,
            SECONDARY,
            &worker,
            "sqs.amazonaws.com",
            "DeleteMessage",
            queue,
            None,
            false,
        );
    }
    g.call(
        t0 + 900,
        PRIMARY,
        &worker,
        "sqs.amazonaws.com",
        "SendMessage",
        json!({"queueUrl": format!("https://sqs.{PRIMARY}.amazonaws.com/{ACCOUNT}/shipments")}),
        None,
        false,
    );
    let t = g.truth(
        &sa("orders", "worker", false),
        "irsa",
        Some("orders-shared"),
    );
    t.actions
        .extend(["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:SendMessage"].map(String::from));
    evidence(t, &["irsa-web-identity", "irsa-token"]);

    // The reporter's vending event arrives in a file delivered 15 minutes after its first call's.
    let reporter = g.irsa(
        t0 + 1000,
        PRIMARY,
        OIDC_ID,
        "orders",
        "reporter",
        "orders-shared",
        15,
    );
    for i in 0..4 {
        let t = t0 + 1010 + i * 900;
        g.call(
            t,
            PRIMARY,
            &reporter,
            "s3.amazonaws.com",
            "ListObjectsV2",
            json!({"bucketName": "shop-reports", "list-type": "2", "prefix": "daily/"}),
            None,
            true,
        );
        g.call(
            t + 3,
            PRIMARY,
            &reporter,
            "s3.amazonaws.com",
            "GetObject",
            s3_object("shop-reports", &format!("daily/{i}.csv")),
            None,
            true,
        );
        g.call(
            t + 6,
            PRIMARY,
            &reporter,
            "monitoring.amazonaws.com",
            "PutMetricData",
            json!({"namespace": "Shop/Reports"}),
            None,
            false,
        );
    }
    let t = g.truth(
        &sa("orders", "reporter", false),
        "irsa",
        Some("orders-shared"),
    );
    t.actions
        .extend(["s3:ListBucket", "s3:GetObject", "cloudwatch:PutMetricData"].map(String::from));
    evidence(t, &["irsa-web-identity", "irsa-token"]);

    // checkout/frontend: Pod Identity; secrets, parameters, KMS; a denied PutSecretValue.
    let frontend = g.pod_identity(
        t0 + 30,
        ("checkout", "frontend"),
        "frontend-7c9d8-x2x4q",
        "checkout-frontend",
        true,
    );
    for i in 0..5 {
        let t = t0 + 40 + i * 700;
        g.call(
            t,
            PRIMARY,
            &frontend,
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": "prod/checkout/stripe"}),
            None,
            false,
        );
        g.call(
            t + 1,
            PRIMARY,
            &frontend,
            "ssm.amazonaws.com",
            "GetParameter",
            json!({"name": "/checkout/feature-flags", "withDecryption": true}),
            None,
            false,
        );
        g.call(
            t + 2,
            PRIMARY,
            &frontend,
            "kms.amazonaws.com",
            "Decrypt",
            json!({"encryptionAlgorithm": "SYMMETRIC_DEFAULT"}),
            None,
            false,
        );
    }
    // A record of the session without an access key: joined by the session name.
    g.call(
        t0 + 2990,
        PRIMARY,
        &frontend,
        "ssm.amazonaws.com",
        "GetParametersByPath",
        json!({"path": "/checkout/", "recursive": true}),
        None,
        false,
    );
    g.without_access_key();
    g.call(
        t0 + 3000,
        PRIMARY,
        &frontend,
        "secretsmanager.amazonaws.com",
        "PutSecretValue",
        json!({"secretId": "prod/checkout/stripe"}),
        Some("AccessDeniedException"),
        false,
    );
    let t = g.truth(
        &sa("checkout", "frontend", true),
        "pod-identity",
        Some("checkout-frontend"),
    );
    t.actions.extend(
        [
            "secretsmanager:GetSecretValue",
            "ssm:GetParameter",
            "ssm:GetParametersByPath",
            "kms:Decrypt",
        ]
        .map(String::from),
    );
    t.denied.insert("secretsmanager:PutSecretValue".into());
    evidence(t, &["pod-identity-session-tags"]);

    // billing/invoicer: Pod Identity with session tags disabled on its association; only the
    // association (bundled sample context) says which service account the role serves.
    let invoicer = g.pod_identity(
        t0 + 2000,
        ("billing", "invoicer"),
        "invoicer-5f6b9-qq7zt",
        "billing-invoicer",
        false,
    );
    for i in 0..2 {
        g.call(
            t0 + 2010 + i * 30,
            PRIMARY,
            &invoicer,
            "s3.amazonaws.com",
            "PutObject",
            s3_object("shop-invoices", &format!("2026/11/01/{i}.pdf")),
            None,
            true,
        );
    }
    let t = g.truth(
        &sa("billing", "invoicer", true),
        "pod-identity",
        Some("billing-invoicer"),
    );
    t.actions.insert("s3:PutObject".into());
    evidence(t, &["pod-identity-association"]);

    // search/indexer: its session was vended the day before (not in the trail); the role's trust
    // policy admits only this service account.
    let indexer = As::Session {
        role: "search-indexer".into(),
        session: "botocore-session-1793400000".into(),
        key: g.new_key(),
    };
    for i in 0..3 {
        g.call(
            t0 + 300 + i * 900,
            PRIMARY,
            &indexer,
            "dynamodb.amazonaws.com",
            "Query",
            json!({"tableName": "products", "indexName": "by-category"}),
            None,
            false,
        );
    }
    let t = g.truth(
        &sa("search", "indexer", false),
        "irsa",
        Some("search-indexer"),
    );
    t.actions.insert("dynamodb:Query".into());
    evidence(t, &["trust-policy"]);

    // analytics-jobs: a session whose vending is not in the trail, of a role whose trust policy
    // admits every service account of a namespace: it stays at role level, flagged.
    let analytics = As::Session {
        role: "analytics-jobs".into(),
        session: "botocore-session-1793400100".into(),
        key: g.new_key(),
    };
    g.call(
        t0 + 2700,
        PRIMARY,
        &analytics,
        "athena.amazonaws.com",
        "StartQueryExecution",
        json!({"queryString": "SELECT 1", "workGroup": "primary"}),
        None,
        false,
    );
    let t = g.truth(&role_arn("analytics-jobs"), "role", Some("analytics-jobs"));
    t.actions.insert("athena:StartQueryExecution".into());
    evidence(t, &["vending-not-in-input"]);

    // batch/exporter: Pod Identity, chains into reports-writer to write the exports.
    let exporter = g.pod_identity(
        t0 + 1800,
        ("batch", "exporter"),
        "exporter-28391-kx8",
        "exporter",
        true,
    );
    g.call(
        t0 + 1805,
        PRIMARY,
        &exporter,
        "s3.amazonaws.com",
        "HeadBucket",
        json!({"bucketName": "shop-exports"}),
        None,
        true,
    );
    // A tagged chain (sts:TagSession on reports-writer), writes encrypted with a key of the
    // data account (kms:GenerateDataKey on that key, whose own events go to that account's
    // trail), and a copy into the archive bucket (s3:GetObject on the source object).
    let writer = g.chain(
        t0 + 1810,
        &exporter,
        "reports-writer",
        &[("team", "batch"), ("cost-center", "cc-1042")],
    );
    for i in 0..3 {
        let mut object = s3_object("shop-exports", &format!("2026/11/01/part-{i}.parquet"));
        object["x-amz-server-side-encryption"] = json!("aws:kms");
        object["x-amz-server-side-encryption-aws-kms-key-id"] = json!(format!(
            "arn:aws:kms:{PRIMARY}:{DATA_ACCOUNT}:key/7f3c2a91-5b6e-4d2f-9c1a-0e8b4d6f2a17"
        ));
        g.call(
            t0 + 1820 + i * 60,
            PRIMARY,
            &writer,
            "s3.amazonaws.com",
            "PutObject",
            object,
            None,
            true,
        );
    }
    let mut copy = s3_object("shop-archive", "exports/2026/11/01/part-0.parquet");
    copy["x-amz-copy-source"] = json!("shop-exports/2026/11/01/part-0.parquet");
    g.call(
        t0 + 2010,
        PRIMARY,
        &writer,
        "s3.amazonaws.com",
        "CopyObject",
        copy,
        None,
        true,
    );
    let t = g.truth(
        &sa("batch", "exporter", true),
        "pod-identity",
        Some("exporter"),
    );
    t.actions.extend(
        [
            "s3:ListBucket",
            "sts:AssumeRole",
            "sts:TagSession",
            "s3:PutObject",
            "kms:GenerateDataKey",
            "s3:GetObject",
        ]
        .map(String::from),
    );
    evidence(t, &["pod-identity-session-tags", "role-chain"]);
    g.truth(
        &sa("batch", "exporter", true),
        "pod-identity",
        Some("reports-writer"),
    );

    // The node role: instance-profile session named after the instance.
    let node = As::Session {
        role: "shop-prod-node".into(),
        session: "i-0a1b2c3d4e5f60718".into(),
        key: g.new_key(),
    };
    for i in 0..4 {
        let t = t0 + 15 + i * 1200;
        g.call(
            t,
            PRIMARY,
            &node,
            "ec2.amazonaws.com",
            "DescribeInstances",
            json!({"instancesSet": {"items": [{"instanceId": "i-0a1b2c3d4e5f60718"}]}}),
            None,
            false,
        );
        g.call(
            t + 1,
            PRIMARY,
            &node,
            "ecr.amazonaws.com",
            "GetAuthorizationToken",
            json!({"registryIds": [ACCOUNT]}),
            None,
            false,
        );
        g.call(
            t + 2,
            PRIMARY,
            &node,
            "ecr.amazonaws.com",
            "BatchGetImage",
            json!({"repositoryName": "shop/frontend"}),
            None,
            false,
        );
        g.call(
            t + 3,
            PRIMARY,
            &node,
            "eks-auth.amazonaws.com",
            "AssumeRoleForPodIdentity",
            json!({"clusterName": CLUSTER, "token": "HIDDEN_DUE_TO_SECURITY_REASONS"}),
            None,
            false,
        );
    }
    // A pod without IRSA or Pod Identity falls back to the node's credentials through IMDS.
    g.call(
        t0 + 2200,
        PRIMARY,
        &node,
        "s3.amazonaws.com",
        "GetObject",
        s3_object("shop-reports", "daily/0.csv"),
        None,
        true,
    );
    let t = g.truth(
        &role_arn("shop-prod-node"),
        "node-role",
        Some("shop-prod-node"),
    );
    t.actions.extend(
        [
            "ec2:DescribeInstances",
            "ecr:GetAuthorizationToken",
            "ecr:BatchGetImage",
            "eks-auth:AssumeRoleForPodIdentity",
            "s3:GetObject",
        ]
        .map(String::from),
    );
    evidence(t, &["node-session"]);

    // A Lambda function's role, outside EKS.
    let lambda = As::Session {
        role: "invoice-pdf".into(),
        session: "invoice-pdf".into(),
        key: g.new_key(),
    };
    g.call(
        t0 + 2500,
        PRIMARY,
        &lambda,
        "s3.amazonaws.com",
        "GetObject",
        s3_object("shop-payments-data", "invoices/2026/11/1.pdf"),
        None,
        true,
    );
    g.call(
        t0 + 2501,
        PRIMARY,
        &lambda,
        "lambda.amazonaws.com",
        "Invoke",
        json!({"functionName": format!("arn:aws:lambda:{PRIMARY}:{ACCOUNT}:function:render-pdf")}),
        None,
        true,
    );
    let t = g.truth(&role_arn("invoice-pdf"), "role", Some("invoice-pdf"));
    t.actions
        .extend(["s3:GetObject", "lambda:InvokeFunction"].map(String::from));
    evidence(t, &["role-session"]);

    // ledger-writer: a role whose calls fail in every class (#29), and calls whose permission
    // is not the action of the same name or is implied by the request (#19, #30).
    let ledger = As::Session {
        role: "ledger-writer".into(),
        session: "ledger-1".into(),
        key: g.new_key(),
    };
    let ledger_calls: [(&str, &str, Value, Option<&str>); 12] = [
        // Failed after authorization: granted.
        (
            "s3.amazonaws.com",
            "GetObject",
            s3_object("shop-ledger", "2026/11/01/batch.json"),
            Some("NoSuchKey"),
        ),
        (
            "dynamodb.amazonaws.com",
            "PutItem",
            json!({"tableName": "ledger-entries"}),
            Some("ConditionalCheckFailedException"),
        ),
        (
            "kms.amazonaws.com",
            "Decrypt",
            json!({"keyId": format!("arn:aws:kms:{PRIMARY}:{ACCOUNT}:key/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e")}),
            Some("ThrottlingException"),
        ),
        // Credentials rejected: neither granted nor denied.
        (
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": "ledger/db"}),
            Some("ExpiredTokenException"),
        ),
        // Operations whose permission has another name.
        (
            "sqs.amazonaws.com",
            "SendMessageBatch",
            json!({"queueUrl": format!("https://sqs.{PRIMARY}.amazonaws.com/{ACCOUNT}/ledger-events")}),
            None,
        ),
        (
            "bedrock.amazonaws.com",
            "Converse",
            json!({"modelId": "anthropic.claude-3-haiku-20240307-v1:0"}),
            None,
        ),
        (
            "s3.amazonaws.com",
            "DeleteBucketCors",
            json!({"bucketName": "shop-ledger"}),
            None,
        ),
        (
            "amazonmq.amazonaws.com",
            "DescribeBroker",
            json!({"brokerId": "b-1234abcd-56ef-78ab-90cd-ef1234567890"}),
            None,
        ),
        // Permissions implied by the request: a role passed to a service, a Data API secret.
        (
            "ecs.amazonaws.com",
            "RunTask",
            json!({"cluster": "ledger", "taskDefinition": "ledger-reconcile:7", "overrides": {"taskRoleArn": role_arn("ledger-task")}}),
            None,
        ),
        (
            "sagemaker.amazonaws.com",
            "CreateTrainingJob",
            json!({"trainingJobName": "ledger-anomalies", "roleArn": role_arn("ledger-training")}),
            None,
        ),
        (
            "rds-data.amazonaws.com",
            "ExecuteStatement",
            json!({"resourceArn": format!("arn:aws:rds:{PRIMARY}:{ACCOUNT}:cluster:ledger"), "secretArn": format!("arn:aws:secretsmanager:{PRIMARY}:{ACCOUNT}:secret:ledger/reader-Xy12Ab"), "sql": "select 1"}),
            None,
        ),
        ("sts.amazonaws.com", "GetCallerIdentity", json!(null), None),
    ];
    for (i, (source, name, params, error)) in ledger_calls.into_iter().enumerate() {
        g.call(
            t0 + 2600 + i as i64 * 30,
            PRIMARY,
            &ledger,
            source,
            name,
            params,
            error,
            false,
        );
    }
    let t = g.truth(&role_arn("ledger-writer"), "role", Some("ledger-writer"));
    t.actions.extend(
        [
            "s3:GetObject",
            "dynamodb:PutItem",
            "kms:Decrypt",
            "sqs:SendMessage",
            "bedrock:InvokeModel",
            "s3:PutBucketCORS",
            "mq:DescribeBroker",
            "ecs:RunTask",
            "iam:PassRole",
            "sagemaker:CreateTrainingJob",
            "rds-data:ExecuteStatement",
            "secretsmanager:GetSecretValue",
        ]
        .map(String::from),
    );
    evidence(t, &["role-session"]);

    // A human user, in both regions.
    let alice = As::User("alice".into());
    g.call(
        t0 + 3600,
        PRIMARY,
        &alice,
        "iam.amazonaws.com",
        "ListRoles",
        json!(null),
        None,
        false,
    );
    g.call(
        t0 + 3610,
        PRIMARY,
        &alice,
        "eks.amazonaws.com",
        "DescribeCluster",
        json!({"name": CLUSTER}),
        None,
        false,
    );
    g.call(
        t0 + 3620,
        SECONDARY,
        &alice,
        "s3.amazonaws.com",
        "ListBuckets",
        json!(null),
        None,
        false,
    );
    g.call(
        t0 + 3630,
        SECONDARY,
        &alice,
        "iam.amazonaws.com",
        "DeleteRole",
        json!({"roleName": "orders-shared"}),
        Some("AccessDenied"),
        false,
    );
    let t = g.truth(&format!("arn:aws:iam::{ACCOUNT}:user/alice"), "user", None);
    t.actions.extend(
        [
            "iam:ListRoles",
            "eks:DescribeCluster",
            "s3:ListAllMyBuckets",
        ]
        .map(String::from),
    );
    t.denied.insert("iam:DeleteRole".into());
    evidence(t, &["iam-user"]);

    // AWS services acting on their own: not workload activity.
    let trail = As::Service("cloudtrail.amazonaws.com".into());
    g.call(
        t0 + 5,
        PRIMARY,
        &trail,
        "s3.amazonaws.com",
        "GetBucketAcl",
        json!({"bucketName": "shop-trail"}),
        None,
        false,
    );

    // legacy/default: pods running as their namespace's default service account, which was
    // annotated with a role (what EKS security guides warn against; the Kubernetes inventory in
    // fixtures/k8s names the Deployment behind them).
    let legacy = g.irsa(
        t0 + 1500,
        PRIMARY,
        OIDC_ID,
        "legacy",
        "default",
        "legacy-app",
        0,
    );
    g.call(
        t0 + 1510,
        PRIMARY,
        &legacy,
        "s3.amazonaws.com",
        "GetObject",
        s3_object("shop-legacy-imports", "feeds/catalog.csv"),
        None,
        true,
    );
    let t = g.truth(&sa("legacy", "default", false), "irsa", Some("legacy-app"));
    t.actions.insert("s3:GetObject".into());
    evidence(t, &["irsa-web-identity", "irsa-token"]);
}

fn write_trail(g: &mut Gen, out: &Path) -> std::io::Result<usize> {
    // Files: one per (region, 5-minute delivery bucket), named like CloudTrail's.
    let mut files: BTreeMap<(&str, i64), Vec<Value>> = BTreeMap::new();
    g.events.sort_by_key(|e| e.time);
    for e in g.events.drain(..) {
        let bucket = (e.time + e.delivery_delay * 60) / 300 * 300;
        files.entry((e.region, bucket)).or_default().push(e.record);
    }
    let count = files.len();
    // (region, digest end) → the log files it covers: (key, SHA-256 of the uncompressed JSON).
    let mut digested: BTreeMap<(&str, i64), Vec<(String, String)>> = BTreeMap::new();
    for ((region, bucket), records) in files {
        let stamp = jiff::Timestamp::from_second(bucket).unwrap();
        let folder = format!(
            "AWSLogs/{ACCOUNT}/CloudTrail/{region}/{}",
            stamp.strftime("%Y/%m/%d")
        );
        let dir = out.join(&folder);
        std::fs::create_dir_all(&dir)?;
        let name = format!(
            "{ACCOUNT}_CloudTrail_{region}_{}_{}.json.gz",
            stamp.strftime("%Y%m%dT%H%MZ"),
            g.rng.upper(16)
        );
        let content = gzip_json(&dir.join(&name), &json!({ "Records": records }))?;
        // CloudTrail digests what was delivered in the half hour (here: hour) before each digest.
        let half_hour = 1800;
        let digest_end = if region == PRIMARY {
            (bucket / half_hour + 1) * half_hour
        } else {
            (bucket / 3600 + 1) * 3600
        };
        digested.entry((region, digest_end)).or_default().push((
            format!("{folder}/{name}"),
            iamtrim::hash::sha256_hex(&content),
        ));
    }
    // Digest files, as CloudTrail writes them when log file validation is on: each lists its
    // log files with the SHA-256 of their uncompressed content, and names the previous digest
    // of its region with the SHA-256 of that digest's uncompressed content (the chain). The
    // signatures live in the digest objects' S3 metadata, which a copy on disk does not have.
    // CloudTrail signs each digest (SHA256withRSA over its end time, location, hash and the
    // previous digest's signature) and puts the signature in the object's S3 metadata.
    let key = signing_key();
    let mut previous: BTreeMap<&str, (String, String, String)> = BTreeMap::new();
    for ((region, end), mut logs) in digested {
        logs.sort();
        let end_time = jiff::Timestamp::from_second(end).unwrap();
        let start_time = jiff::Timestamp::from_second(end - 3600).unwrap();
        let folder = format!(
            "AWSLogs/{ACCOUNT}/CloudTrail-Digest/{region}/{}",
            end_time.strftime("%Y/%m/%d")
        );
        let name = format!(
            "{ACCOUNT}_CloudTrail-Digest_{region}_shop-trail_{PRIMARY}_{}.json.gz",
            end_time.strftime("%Y%m%dT%H%M%SZ")
        );
        let log_files: Vec<Value> = logs
            .iter()
            .map(|(key, hash)| {
                json!({"s3Bucket": "shop-trail-logs", "s3Object": key, "hashValue": hash,
                       "hashAlgorithm": "SHA-256"})
            })
            .collect();
        let (previous_object, previous_hash, previous_signature) = match previous.get(region) {
            Some((object, hash, signature)) => (json!(object), json!(hash), json!(signature)),
            None => (Value::Null, Value::Null, Value::Null),
        };
        let digest = json!({
            "awsAccountId": ACCOUNT,
            "digestStartTime": start_time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "digestEndTime": end_time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "digestS3Bucket": "shop-trail-logs",
            "digestS3Object": format!("{folder}/{name}"),
            "digestPublicKeyFingerprint": KEY_FINGERPRINT,
            "digestSignatureAlgorithm": "SHA256withRSA",
            "previousDigestS3Bucket": if previous_object.is_null() { Value::Null } else { json!("shop-trail-logs") },
            "previousDigestS3Object": previous_object,
            "previousDigestHashValue": previous_hash,
            "previousDigestHashAlgorithm": if previous_hash.is_null() { Value::Null } else { json!("SHA-256") },
            "previousDigestSignature": previous_signature,
            "logFiles": log_files,
        });
        let dir = out.join(&folder);
        std::fs::create_dir_all(&dir)?;
        let content = gzip_json(&dir.join(&name), &digest)?;
        let object = format!("{folder}/{name}");
        let signed = iamtrim::evidence::signature::string_to_sign(
            &end_time.strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
            "shop-trail-logs",
            &object,
            &content,
            previous_signature.as_str(),
        );
        let mut signature = vec![0; key.public().modulus_len()];
        key.sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &ring::rand::SystemRandom::new(),
            signed.as_bytes(),
            &mut signature,
        )
        .expect("signing");
        let signature = hex::encode(signature);
        g.digest_metadata.insert(
            object.clone(),
            json!({"signature": signature, "signature-algorithm": "SHA256withRSA"}),
        );
        previous.insert(
            region,
            (object, iamtrim::hash::sha256_hex(&content), signature),
        );
    }
    Ok(count)
}

/// The account facts that go with the sample trail, as a user would export them:
/// `aws iam get-account-authorization-details` and `aws eks describe-pod-identity-association`.
fn write_context(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let provider = |id: &str| {
        format!("arn:aws:iam::{ACCOUNT}:oidc-provider/oidc.eks.{PRIMARY}.amazonaws.com/id/{id}")
    };
    let irsa_trust = |id: &str, operator: &str, subjects: Value| {
        let issuer = format!("oidc.eks.{PRIMARY}.amazonaws.com/id/{id}");
        json!({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider(id)},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {operator: {
                format!("{issuer}:sub"): subjects,
                format!("{issuer}:aud"): "sts.amazonaws.com"
            }}
        }]})
    };
    let service_trust = |service: &str| {
        json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"Service": service}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]})
    };
    let role = |name: &str, trust: Value| {
        json!({"Path": "/", "RoleName": name, "RoleId": format!("AROA{}", name.len()),
            "Arn": role_arn(name), "CreateDate": "2026-01-15T09:00:00+00:00",
            "AssumeRolePolicyDocument": trust, "InstanceProfileList": [],
            "RolePolicyList": [], "AttachedManagedPolicies": [], "Tags": []})
    };
    // IAM's API returns trust policies URL-encoded; the CLI decodes them. One of each.
    let encoded = |doc: Value| {
        Value::from(
            serde_json::to_string(&doc)
                .unwrap()
                .bytes()
                .map(|b| match b {
                    b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => {
                        char::from(b).to_string()
                    }
                    _ => format!("%{b:02X}"),
                })
                .collect::<String>(),
        )
    };
    let roles = vec![
        role(
            "analytics-jobs",
            encoded(irsa_trust(
                OIDC_ID,
                "StringLike",
                json!("system:serviceaccount:analytics:*"),
            )),
        ),
        role("billing-invoicer", service_trust("pods.eks.amazonaws.com")),
        role("checkout-frontend", service_trust("pods.eks.amazonaws.com")),
        role("invoice-pdf", service_trust("lambda.amazonaws.com")),
        role(
            "orders-shared",
            irsa_trust(
                OIDC_ID,
                "StringEquals",
                json!([
                    "system:serviceaccount:orders:worker",
                    "system:serviceaccount:orders:reporter"
                ]),
            ),
        ),
        role(
            "payments-api",
            irsa_trust(
                OIDC_ID,
                "StringEquals",
                json!("system:serviceaccount:payments:api"),
            ),
        ),
        role(
            "payments-api-staging",
            irsa_trust(
                OIDC_ID_STAGING,
                "StringEquals",
                json!("system:serviceaccount:payments:api"),
            ),
        ),
        role(
            "search-indexer",
            irsa_trust(
                OIDC_ID,
                "StringEquals",
                json!("system:serviceaccount:search:indexer"),
            ),
        ),
        role(
            "legacy-app",
            irsa_trust(
                OIDC_ID,
                "StringEquals",
                json!("system:serviceaccount:legacy:default"),
            ),
        ),
    ];
    // Current permissions of three roles, for `iamtrim diff`: wildcards, an explicit Deny,
    // Resource "*", NotAction with a permission boundary, and a condition. (IAM itself rejects
    // malformed ARNs, so those are only tested in policy files.)
    let doc = |statements: Value| json!({"Version": "2012-10-17", "Statement": statements});
    let managed = json!({
        "shop-s3-readwrite": doc(json!([
            {"Sid": "ObjectsReadWrite", "Effect": "Allow",
             "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
             "Resource": "arn:aws:s3:::shop-payments-data/*"},
            {"Sid": "List", "Effect": "Allow", "Action": "s3:ListBucket",
             "Resource": "arn:aws:s3:::shop-payments-data"}])),
        "shop-observability": doc(json!([
            {"Sid": "Metrics", "Effect": "Allow",
             "Action": ["cloudwatch:PutMetricData", "logs:CreateLogStream", "logs:PutLogEvents"],
             "Resource": "*"}])),
        "orders-boundary": doc(json!([
            {"Sid": "Boundary", "Effect": "Allow",
             "Action": ["sqs:*", "s3:Get*", "s3:List*", "cloudwatch:PutMetricData"], "Resource": "*"}])),
    });
    let current = json!({
        "payments-api": {"inline": {"app": doc(json!([
            {"Sid": "Tables", "Effect": "Allow", "Action": "dynamodb:*",
             "Resource": format!("arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/payments")},
            {"Sid": "Keys", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
            {"Sid": "PassAny", "Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
            {"Sid": "NoReceipts", "Effect": "Deny", "Action": "s3:PutObject",
             "Resource": "arn:aws:s3:::shop-payments-data/receipts/*"}]))},
         "attached": ["shop-s3-readwrite", "shop-observability"]},
        "orders-shared": {"inline": {"everything-but-iam": doc(json!([
            {"Sid": "Broad", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}]))},
         "attached": [], "boundary": "orders-boundary"},
        "search-indexer": {"inline": {"query": doc(json!([
            {"Sid": "FromVpc", "Effect": "Allow", "Action": "dynamodb:Query",
             "Resource": format!("arn:aws:dynamodb:{PRIMARY}:{ACCOUNT}:table/products/index/*"),
             "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f"}}}]))},
         "attached": []},
    });
    let policy_arn = |name: &str| format!("arn:aws:iam::{ACCOUNT}:policy/{name}");
    let roles: Vec<Value> = roles
        .into_iter()
        .map(|mut role| {
            let name = role["RoleName"].as_str().unwrap().to_owned();
            if let Some(c) = current.get(&name) {
                role["RolePolicyList"] = c["inline"]
                    .as_object()
                    .unwrap()
                    .iter()
                    .map(|(n, d)| json!({"PolicyName": n, "PolicyDocument": d}))
                    .collect();
                role["AttachedManagedPolicies"] = c["attached"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|n| json!({"PolicyName": n, "PolicyArn": policy_arn(n.as_str().unwrap())}))
                    .collect();
                if let Some(b) = c["boundary"].as_str() {
                    role["PermissionsBoundary"] = json!({"PermissionsBoundaryType": "Policy",
                        "PermissionsBoundaryArn": policy_arn(b)});
                }
            }
            role
        })
        .collect();
    let policies: Vec<Value> = managed
        .as_object()
        .unwrap()
        .iter()
        .map(|(name, document)| {
            json!({"PolicyName": name, "PolicyId": format!("ANPA{}", name.len()), "Arn": policy_arn(name),
                "Path": "/", "DefaultVersionId": "v1", "AttachmentCount": 1, "IsAttachable": true,
                "PolicyVersionList": [{"Document": document, "VersionId": "v1", "IsDefaultVersion": true,
                    "CreateDate": "2026-01-15T09:00:00+00:00"}]})
        })
        .collect();
    std::fs::write(
        dir.join("current-policies.json"),
        serde_json::to_string_pretty(&json!({
            "about": "The current policies in iam.json, as the moto test creates them through the IAM API.",
            "managed": managed, "roles": current}))?
            + "\n",
    )?;
    let iam = json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies});
    std::fs::write(
        dir.join("iam.json"),
        serde_json::to_string_pretty(&iam)? + "\n",
    )?;
    let association = |ns: &str, sa: &str, role: &str, id: &str| {
        json!({"association": {
            "clusterName": CLUSTER, "namespace": ns, "serviceAccount": sa, "roleArn": role_arn(role),
            "associationArn": format!("arn:aws:eks:{PRIMARY}:{ACCOUNT}:podidentityassociation/{CLUSTER}/{id}"),
            "associationId": id, "tags": {}, "createdAt": "2026-01-15T09:00:00+00:00",
            "modifiedAt": "2026-01-15T09:00:00+00:00", "disableSessionTags": ns == "billing"
        }})
    };
    let associations = json!([
        association(
            "billing",
            "invoicer",
            "billing-invoicer",
            "a-0billinginvoicer"
        ),
        association(
            "checkout",
            "frontend",
            "checkout-frontend",
            "a-0checkoutfrontend"
        ),
        association("batch", "exporter", "exporter", "a-0batchexporter"),
    ]);
    std::fs::write(
        dir.join("pod-identity-associations.json"),
        serde_json::to_string_pretty(&associations)? + "\n",
    )
}

/// Writes `value` gzipped; returns the uncompressed bytes.
/// What a user would save from their account to check the digests' signatures:
/// `aws cloudtrail list-public-keys` output, and (for tests that upload the trail to an
/// S3-protocol server) each digest object's S3 metadata as CloudTrail sets it.
fn write_digest_keys(dir: &Path, metadata: &BTreeMap<String, Value>) -> std::io::Result<()> {
    use base64::Engine;
    use ring::signature::KeyPair;
    let public = base64::engine::general_purpose::STANDARD.encode(signing_key().public_key());
    let keys = json!({"PublicKeyList": [{
        "Value": public,
        "ValidityStartTime": "2026-10-01T00:00:00+00:00",
        "ValidityEndTime": "2027-01-01T00:00:00+00:00",
        "Fingerprint": KEY_FINGERPRINT,
    }]});
    let mut text = serde_json::to_string_pretty(&keys)?;
    text.push('\n');
    std::fs::write(dir.join("cloudtrail-public-keys.json"), text)?;
    let mut text = serde_json::to_string_pretty(metadata)?;
    text.push('\n');
    std::fs::write(dir.join("digest-s3-metadata.json"), text)
}

fn gzip_json(path: &Path, value: &Value) -> std::io::Result<Vec<u8>> {
    let file = std::fs::File::create(path)?;
    let mut gz = GzBuilder::new()
        .mtime(0)
        .write(file, Compression::default());
    let content = serde_json::to_vec(value)?;
    gz.write_all(&content)?;
    gz.finish()?.flush()?;
    Ok(content)
}

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let mut out = PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/sample-trail"
    ));
    let mut copies = 1i64;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--out" => out = PathBuf::from(args.next().expect("--out DIR")),
            "--copies" => {
                copies = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--copies N")
            }
            other => {
                panic!("unknown argument {other}; usage: gen_sample_trail [--out DIR] [--copies N]")
            }
        }
    }
    if out.exists() {
        std::fs::remove_dir_all(&out)?;
    }
    let mut g = Gen {
        rng: Rng(0x1a2b_3c4d_5e6f_7788),
        events: Vec::new(),
        truth: BTreeMap::new(),
        day: 0,
        digest_metadata: BTreeMap::new(),
    };
    let mut files = 0;
    let mut records = 0;
    for d in 0..copies {
        g.day = d;
        day(&mut g);
        records += g.events.len();
        files += write_trail(&mut g, &out)?;
    }
    if copies == 1 {
        let truth_path = out.with_extension("truth.json");
        let mut text = serde_json::to_string_pretty(&json!({
            "about": "What each workload in fixtures/sample-trail did: successful actions (the policy), denied actions, and the evidence its attribution rests on. Workload ids as iamtrim reports them without --cluster, with the account facts in fixtures/sample-context (--iam-snapshot, --pod-identity-associations).",
            "workloads": g.truth,
        }))?;
        text.push('\n');
        std::fs::write(truth_path, text)?;
        let context = out.with_file_name("sample-context");
        write_context(&context)?;
        write_digest_keys(&context, &g.digest_metadata)?;
    }
    eprintln!(
        "wrote {records} records in {files} log files to {}",
        out.display()
    );
    Ok(())
}
