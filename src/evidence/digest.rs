//! CloudTrail log file integrity: the digest files CloudTrail writes when log file validation is
//! on. Each lists log files with the SHA-256 of their uncompressed content, and names the
//! previous digest of its region with the SHA-256 of that digest's uncompressed content, which
//! makes a chain. Each digest is signed (RSA, the signature kept in the digest object's S3
//! metadata; [`super::signature`]): read from S3, the signatures are checked with CloudTrail's
//! public keys; a copy on disk has no metadata, and the manifest says so.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Deserialize;

use super::model::{DigestCheck, Integrity};
use super::signature::{self, Keys};
use crate::aws::AwsOptions;
use crate::hash::{ObjectFingerprint, sha256_hex};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DigestFile {
    #[serde(default)]
    digest_end_time: Option<String>,
    #[serde(default)]
    digest_s3_bucket: Option<String>,
    #[serde(default)]
    digest_s3_object: Option<String>,
    #[serde(default)]
    digest_public_key_fingerprint: Option<String>,
    #[serde(default)]
    previous_digest_signature: Option<String>,
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
/// not be read, and its object metadata when the source keeps any (S3: the signature).
pub struct Digest {
    pub location: String,
    pub content: Result<Vec<u8>, String>,
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Reads the digest files among a trail's ignored entries (as the source listed them), each
/// decompressed, or with the reason it could not be read.
pub fn read_listed(
    source: &dyn crate::source::LogSource,
    ignored: &[crate::stats::Problem],
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
            let (content, metadata) = match source.fetch_with_metadata(&object) {
                Ok((bytes, metadata)) => (
                    crate::decode::inflate_if_gzip(bytes, crate::decode::DecodeLimits::default())
                        .map_err(|e| crate::errors::error_chain(&e)),
                    metadata,
                ),
                Err(e) => (Err(crate::errors::error_chain(&e)), None),
            };
            Digest {
                location: i.location.clone(),
                content,
                metadata,
            }
        })
        .collect()
}

/// Whether `location` (a path or URI) is the object `key` (an S3 key in a digest).
fn is_key(location: &str, key: &str) -> bool {
    let location = location.replace('\\', "/");
    location == key || location.ends_with(&format!("/{key}"))
}

/// How one digest's signature came out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Valid,
    Invalid,
    /// Signed, but not checkable here (no key, unknown algorithm).
    Unchecked,
    /// Read without its object metadata (a copy on disk).
    OnDisk,
}

/// Whether `location` is where the digest says CloudTrail wrote it.
fn written_at(location: &str, bucket: &str, object: &str) -> bool {
    if location.starts_with("s3://") {
        location == format!("s3://{bucket}/{object}")
    } else {
        is_key(location, object)
    }
}

/// Checks one digest's signature (from its object metadata) with CloudTrail's public key.
fn signature_of(
    digest: &Digest,
    file: &DigestFile,
    content: &[u8],
    keys: &Keys,
) -> (Verdict, String) {
    let Some(metadata) = &digest.metadata else {
        return (
            Verdict::OnDisk,
            "not-available: read from disk, without the S3 object metadata that holds it".into(),
        );
    };
    let Some(sig) = metadata.get("signature") else {
        return (
            Verdict::Invalid,
            "missing: the S3 object has no x-amz-meta-signature; CloudTrail signs every digest"
                .into(),
        );
    };
    let algorithm = metadata
        .get("signature-algorithm")
        .map_or("", String::as_str);
    if algorithm != signature::ALGORITHM {
        return (
            Verdict::Unchecked,
            format!("not-checked: unsupported signature algorithm {algorithm:?}"),
        );
    }
    let (Some(bucket), Some(object), Some(end)) = (
        &file.digest_s3_bucket,
        &file.digest_s3_object,
        &file.digest_end_time,
    ) else {
        return (
            Verdict::Invalid,
            "invalid: the digest does not name its bucket, key and end time".into(),
        );
    };
    if !written_at(&digest.location, bucket, object) {
        return (
            Verdict::Invalid,
            format!("invalid: moved; CloudTrail wrote it as s3://{bucket}/{object}"),
        );
    }
    let fingerprint = file.digest_public_key_fingerprint.as_deref().unwrap_or("");
    let key = match keys {
        Keys::Loaded(loaded) => match loaded.get(fingerprint) {
            Some(key) => key,
            None => {
                return (
                    Verdict::Unchecked,
                    format!(
                        "not-checked: no public key with fingerprint {fingerprint:?} in {}{}",
                        loaded.origin,
                        if loaded.failures.is_empty() {
                            String::new()
                        } else {
                            format!(" ({})", loaded.failures.join("; "))
                        }
                    ),
                );
            }
        },
        Keys::Unavailable(why) => return (Verdict::Unchecked, format!("not-checked: {why}")),
        Keys::NotNeeded => return (Verdict::Unchecked, "not-checked: no public keys".into()),
    };
    let message = signature::string_to_sign(
        end,
        bucket,
        object,
        content,
        file.previous_digest_signature.as_deref(),
    );
    match signature::verify(key, message.as_bytes(), sig) {
        Ok(()) => (Verdict::Valid, "valid".into()),
        Err(why) => (Verdict::Invalid, format!("invalid: {why}")),
    }
}

/// Checks the inputs against the digests (hashes and chain) and the digests' signatures against
/// `keys`.
pub fn check(inputs: &[ObjectFingerprint], digests: &[Digest], keys: &Keys) -> Integrity {
    if digests.is_empty() {
        return Integrity {
            status: "no-digest-files".to_owned(),
            digest_files: Vec::new(),
            log_files_verified: 0,
            log_files_mismatched: Vec::new(),
            log_files_not_covered: inputs.iter().map(|i| i.location.clone()).collect(),
            log_files_missing: Vec::new(),
            signatures: "not checked: the trail has no digest files".to_owned(),
        };
    }
    // Every digest's own hash and signature, to check the chain.
    let links: Vec<(String, Option<String>, Option<&String>)> = digests
        .iter()
        .map(|d| {
            (
                d.location.clone(),
                d.content.as_ref().ok().map(|c| sha256_hex(c)),
                d.metadata.as_ref().and_then(|m| m.get("signature")),
            )
        })
        .collect();
    let mut checks = Vec::new();
    let mut listed: BTreeMap<String, String> = BTreeMap::new();
    let mut failed = false;
    let mut verdicts = Vec::new();
    for digest in digests {
        let parsed = digest.content.as_ref().map_err(Clone::clone).and_then(|c| {
            serde_json::from_slice::<DigestFile>(c)
                .map_err(|e| format!("not a CloudTrail digest file: {e}"))
                .map(|file| (file, c))
        });
        let (file, content) = match parsed {
            Ok(parsed) => parsed,
            Err(reason) => {
                failed = true;
                verdicts.push(Verdict::Unchecked);
                checks.push(DigestCheck {
                    location: digest.location.clone(),
                    digest_end_time: None,
                    log_files: 0,
                    chain: format!("unreadable: {reason}"),
                    signature: "not-checked: unreadable".to_owned(),
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
                match links
                    .iter()
                    .find(|(location, _, _)| is_key(location, previous))
                {
                    None => "previous-missing".to_owned(),
                    Some((_, actual, _)) if actual.is_none() || actual != expected => {
                        failed = true;
                        "previous-mismatch".to_owned()
                    }
                    // The previous digest's signature is signed into this one.
                    Some((_, _, Some(signature)))
                        if file.previous_digest_signature.as_ref() != Some(*signature) =>
                    {
                        failed = true;
                        "previous-signature-mismatch".to_owned()
                    }
                    Some(_) => "linked".to_owned(),
                }
            }
        };
        let (verdict, signature) = signature_of(digest, &file, content, keys);
        verdicts.push(verdict);
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
            signature,
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
    let count = |v: Verdict| verdicts.iter().filter(|x| **x == v).count();
    let (valid, invalid, unchecked, on_disk) = (
        count(Verdict::Valid),
        count(Verdict::Invalid),
        count(Verdict::Unchecked),
        count(Verdict::OnDisk),
    );
    let signatures = if on_disk == verdicts.len() {
        "not checked: the digest files were read from disk; a digest's signature is kept in its \
         S3 object metadata (x-amz-meta-signature), which a copy on disk does not have; read \
         the trail from S3 to check them"
            .to_owned()
    } else {
        let keys = match keys {
            Keys::Loaded(loaded) => format!("public keys from {}", loaded.origin),
            Keys::Unavailable(why) => format!("no public keys: {why}"),
            Keys::NotNeeded => "no public keys".to_owned(),
        };
        let mut summary = format!(
            "{valid} of {} digest signatures valid, {invalid} invalid, {unchecked} not checked",
            verdicts.len()
        );
        if on_disk > 0 {
            summary.push_str(&format!(", {on_disk} read without metadata"));
        }
        format!("{summary}; {keys}")
    };
    let status = if failed || invalid > 0 || !mismatched.is_empty() {
        "failed"
    } else if !not_covered.is_empty() || !missing.is_empty() || unchecked > 0 {
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

/// The public keys to check `digests` with: `file` when given (a saved
/// `aws cloudtrail list-public-keys` output, read before the run so a bad one stops it early),
/// else from `cloudtrail:ListPublicKeys` in each region the signed digests come from, for the
/// time they cover; keys the API does not give are reported as unavailable with the reason.
pub fn keys_for(digests: &[Digest], file: Option<signature::PublicKeys>, aws: &AwsOptions) -> Keys {
    let signed: Vec<&Digest> = digests
        .iter()
        .filter(|d| {
            d.metadata
                .as_ref()
                .is_some_and(|m| m.contains_key("signature"))
        })
        .collect();
    if let Some(file) = file {
        return Keys::Loaded(file);
    }
    if signed.is_empty() {
        return Keys::NotNeeded;
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Times {
        digest_start_time: Option<String>,
        digest_end_time: Option<String>,
    }
    let mut regions = BTreeSet::new();
    let mut start: Option<Timestamp> = None;
    let mut end: Option<Timestamp> = None;
    for digest in &signed {
        if let Some(region) = signature::digest_region(&digest.location) {
            regions.insert(region.to_owned());
        }
        let Some(times) = digest
            .content
            .as_ref()
            .ok()
            .and_then(|c| serde_json::from_slice::<Times>(c).ok())
        else {
            continue;
        };
        let parse = |t: &Option<String>| t.as_deref().and_then(|t| t.parse::<Timestamp>().ok());
        if let Some(t) = parse(&times.digest_start_time).or(parse(&times.digest_end_time)) {
            start = Some(start.map_or(t, |s| s.min(t)));
        }
        if let Some(t) = parse(&times.digest_end_time) {
            end = Some(end.map_or(t, |e| e.max(t)));
        }
    }
    let keys = signature::fetch(aws, &regions, start, end);
    if keys.is_empty() && !keys.failures.is_empty() {
        Keys::Unavailable(keys.failures.join("; "))
    } else {
        Keys::Loaded(keys)
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
                metadata: None,
            },
            Digest {
                location: "/t/AWSLogs/1/CloudTrail-Digest/r/2026/11/01/d2.json.gz".into(),
                content: Ok(second.into_bytes()),
                metadata: None,
            },
        ];
        let good = [
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/a.json.gz", b"a"),
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz", b"b"),
        ];
        let integrity = check(&good, &digests, &Keys::NotNeeded);
        assert_eq!(integrity.status, "verified");
        assert_eq!(integrity.log_files_verified, 2);
        assert_eq!(integrity.digest_files[0].chain, "first");
        assert_eq!(integrity.digest_files[1].chain, "linked");

        // A log file changed after delivery.
        let tampered = [
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/a.json.gz", b"a"),
            input("/t/AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz", b"B"),
        ];
        let integrity = check(&tampered, &digests, &Keys::NotNeeded);
        assert_eq!(integrity.status, "failed");
        assert_eq!(
            integrity.log_files_mismatched,
            ["/t/AWSLogs/1/CloudTrail/r/2026/11/01/b.json.gz"]
        );

        // The first digest changed: the chain breaks.
        let mut broken = digests;
        broken[0].content = Ok(b"{\"logFiles\": []}".to_vec());
        let integrity = check(&good, &broken, &Keys::NotNeeded);
        assert_eq!(integrity.status, "failed");
        assert_eq!(integrity.digest_files[1].chain, "previous-mismatch");
    }
}
