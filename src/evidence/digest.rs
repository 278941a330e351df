//! CloudTrail log file integrity: the digest files CloudTrail writes when log file validation is
//! on. Each lists log files with the SHA-256 of their uncompressed content, and names the
//! previous digest of its region with the SHA-256 of that digest's uncompressed content, which
//! makes a chain. Digest signatures (RSA over the digest, kept in the digest object's S3
//! metadata, checked with the public key from `cloudtrail:ListPublicKeys`) need the S3 object
//! metadata, which a copy on disk does not have; the manifest says so.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use super::model::{DigestCheck, Integrity};
use crate::aggregate::{ObjectFingerprint, sha256_hex};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestFile {
    #[serde(default)]
    digest_end_time: Option<String>,
    #[serde(default)]
    previous_digest_s3_object: Option<String>,
    #[serde(default)]
    previous_digest_hash_value: Option<String>,
    #[serde(default)]
    log_files: Vec<LogFile>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogFile {
    s3_object: String,
    hash_value: String,
    #[serde(default)]
    hash_algorithm: Option<String>,
}

/// A digest file read from the trail: its location and uncompressed content, or why it could
/// not be read.
pub struct Digest {
    pub location: String,
    pub content: Result<Vec<u8>, String>,
}

/// Reads the digest files among a trail's ignored entries (as the source listed them), each
/// decompressed, or with the reason it could not be read.
pub fn read_listed(
    source: &dyn crate::source::LogSource,
    ignored: &[crate::aggregate::FileProblem],
) -> Vec<Digest> {
    use crate::source::{KeyKind, ObjectRef, classify_key};
    ignored
        .iter()
        .filter(|i| {
            classify_key(&i.location) == KeyKind::Digest && i.location.ends_with(".json.gz")
        })
        .map(|i| {
            let object = ObjectRef {
                location: i.location.clone(),
                size: None,
                etag: None,
            };
            let content = source
                .fetch(&object)
                .map_err(|e| crate::ingest::error_chain(&e))
                .and_then(|bytes| {
                    crate::decode::inflate_if_gzip(bytes, crate::decode::DecodeLimits::default())
                        .map_err(|e| crate::ingest::error_chain(&e))
                });
            Digest {
                location: i.location.clone(),
                content,
            }
        })
        .collect()
}

/// Whether `location` (a path or URI) is the object `key` (an S3 key in a digest).
fn is_key(location: &str, key: &str) -> bool {
    let location = location.replace('\\', "/");
    location == key || location.ends_with(&format!("/{key}"))
}

pub fn check(inputs: &[ObjectFingerprint], digests: &[Digest]) -> Integrity {
    let signatures = "not checked: a digest's signature is kept in its S3 object metadata \
                      (x-amz-meta-signature) and needs the public key from \
                      cloudtrail:ListPublicKeys; files read from disk carry neither"
        .to_owned();
    if digests.is_empty() {
        return Integrity {
            status: "no-digest-files".to_owned(),
            digest_files: Vec::new(),
            log_files_verified: 0,
            log_files_mismatched: Vec::new(),
            log_files_not_covered: inputs.iter().map(|i| i.location.clone()).collect(),
            log_files_missing: Vec::new(),
            signatures,
        };
    }
    // Every digest's own hash, to check the chain.
    let hashes: Vec<(String, Option<String>)> = digests
        .iter()
        .map(|d| {
            (
                d.location.clone(),
                d.content.as_ref().ok().map(|c| sha256_hex(c)),
            )
        })
        .collect();
    let mut checks = Vec::new();
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    let mut failed = false;
    for digest in digests {
        let parsed = digest.content.as_ref().map_err(Clone::clone).and_then(|c| {
            serde_json::from_slice::<DigestFile>(c)
                .map_err(|e| format!("not a CloudTrail digest file: {e}"))
        });
        let file = match parsed {
            Ok(file) => file,
            Err(reason) => {
                failed = true;
                checks.push(DigestCheck {
                    location: digest.location.clone(),
                    digest_end_time: None,
                    log_files: 0,
                    chain: format!("unreadable: {reason}"),
                });
                continue;
            }
        };
        let chain = match (
            &file.previous_digest_s3_object,
            &file.previous_digest_hash_value,
        ) {
            (None, _) => "first".to_owned(),
            (Some(previous), expected) => {
                match hashes
                    .iter()
                    .find(|(location, _)| is_key(location, previous))
                {
                    None => "previous-missing".to_owned(),
                    Some((_, actual)) if actual.is_some() && actual == expected => {
                        "linked".to_owned()
                    }
                    Some(_) => {
                        failed = true;
                        "previous-mismatch".to_owned()
                    }
                }
            }
        };
        for log in &file.log_files {
            if log.hash_algorithm.as_deref().is_none_or(|a| a == "SHA-256") {
                listed.insert(log.s3_object.clone(), log.hash_value.to_ascii_lowercase());
            }
        }
        checks.push(DigestCheck {
            location: digest.location.clone(),
            digest_end_time: file.digest_end_time,
            log_files: file.log_files.len() as u64,
            chain,
        });
    }
    let mut verified = 0;
    let mut mismatched = Vec::new();
    let mut not_covered = Vec::new();
    let mut found: BTreeSet<&str> = BTreeSet::new();
    for input in inputs {
        match listed.iter().find(|(key, _)| is_key(&input.location, key)) {
            None => not_covered.push(input.location.clone()),
            Some((key, hash)) => {
                found.insert(key);
                if input.content_sha256.as_deref() == Some(hash.as_str()) {
                    verified += 1;
                } else {
                    mismatched.push(input.location.clone());
                }
            }
        }
    }
    let missing: Vec<String> = listed
        .keys()
        .filter(|k| !found.contains(k.as_str()))
        .cloned()
        .collect();
    let status = if failed || !mismatched.is_empty() {
        "failed"
    } else if !not_covered.is_empty() || !missing.is_empty() {
        "partial"
    } else {
        "verified"
    };
    Integrity {
        status: status.to_owned(),
        digest_files: checks,
        log_files_verified: verified,
        log_files_mismatched: mismatched,
        log_files_not_covered: not_covered,
        log_files_missing: missing,
        signatures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(location: &str, content: &[u8]) -> ObjectFingerprint {
        ObjectFingerprint {
            location: location.to_owned(),
            size: 1,
            etag: None,
            sha256: String::new(),
            content_sha256: Some(sha256_hex(content)),
        }
    }

    #[test]
    fn digests_confirm_inputs_and_chain() {
        let first = serde_json::json!({"digestEndTime": "t1", "logFiles": [
            {"s3Object": "AWSLogs/1/CloudTrail/r/2026/11/01/a.json.gz", "hashValue": sha256_hex(b"a"), "hashAlgorithm": "SHA-256"}
        ]})
        .to_string();
        let second = serde_json::json!({"digestEndTime": "t2",
            "previousDigestS3Object": "AWSLogs/1/CloudTrail-Digest/r/2026/11/01/d1.json.gz",
            "previousDigestHashValue": sha256_hex(first.as_bytes()),
            "logFiles": [
            {"s3Object": "AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz", "hashValue": sha256_hex(b"b")}
        ]})
        .to_string();
        let digests = vec![
            Digest {
                location: "/t/AWSLogs/1/CloudTrail-Digest/r/2026/11/01/d1.json.gz".into(),
                content: Ok(first.into_bytes()),
            },
            Digest {
                location: "/t/AWSLogs/1/CloudTrail-Digest/r/2026/11/01/d2.json.gz".into(),
                content: Ok(second.into_bytes()),
            },
        ];
        let good = [
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/a.json.gz", b"a"),
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz", b"b"),
        ];
        let integrity = check(&good, &digests);
        assert_eq!(integrity.status, "verified");
        assert_eq!(integrity.log_files_verified, 2);
        assert_eq!(integrity.digest_files[0].chain, "first");
        assert_eq!(integrity.digest_files[1].chain, "linked");

        // A log file changed after delivery.
        let tampered = [
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/a.json.gz", b"a"),
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz", b"B"),
        ];
        let integrity = check(&tampered, &digests);
        assert_eq!(integrity.status, "failed");
        assert_eq!(
            integrity.log_files_mismatched,
            ["/t/AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz"]
        );

        // The first digest changed: the chain breaks.
        let mut broken = digests;
        broken[0].content = Ok(b"{\"logFiles\": []}".to_vec());
        let integrity = check(&good, &broken);
        assert_eq!(integrity.status, "failed");
        assert_eq!(integrity.digest_files[1].chain, "previous-mismatch");
    }
}
