//! Digest file signatures. CloudTrail signs every digest file with SHA256withRSA and keeps the
//! signature, hex-encoded, in the digest object's S3 metadata (`x-amz-meta-signature`, with
//! `x-amz-meta-signature-algorithm`). The signed string is the one the AWS CLI's
//! `cloudtrail validate-logs` rebuilds (awscli `Sha256RSADigestValidator`):
//!
//! ```text
//! digestEndTime \n digestS3Bucket/digestS3Object \n hex(SHA-256(uncompressed digest)) \n previousDigestSignature, or "null"
//! ```
//!
//! The public keys are PKCS #1 `RSAPublicKey` DER, found by the digest's
//! `digestPublicKeyFingerprint` among what `cloudtrail:ListPublicKeys` returns for the digests'
//! regions and time range, or in a saved copy of `aws cloudtrail list-public-keys` output.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use base64::Engine;
use jiff::Timestamp;
use serde::Deserialize;

use super::error::{EvidenceError, KeyListError};
use crate::aws::AwsOptions;
use crate::errors::FileError;
use crate::hash::sha256_hex;

/// The algorithm CloudTrail signs digests with (the only one the AWS CLI checks).
pub const ALGORITHM: &str = "SHA256withRSA";

/// CloudTrail's public keys by fingerprint, and where they came from.
#[derive(Debug, Default)]
pub struct PublicKeys {
    pub origin: String,
    keys: BTreeMap<String, Vec<u8>>,
    /// Regions whose keys could not be had, with why.
    pub failures: Vec<String>,
}

/// What `digest::keys_for` could get.
#[derive(Debug)]
pub enum Keys {
    /// No digest carries a signature (files on disk): nothing to check against.
    NotNeeded,
    Loaded(PublicKeys),
    /// Signatures are there, but the keys could not be had (why).
    Unavailable(String),
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyList {
    public_key_list: Vec<KeyEntry>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct KeyEntry {
    value: String,
    fingerprint: String,
}

impl PublicKeys {
    /// Parses the JSON `aws cloudtrail list-public-keys` prints (`PublicKeyList`, each key's
    /// `Value` in base64 and its `Fingerprint`).
    pub fn from_list_json(json: &[u8], origin: &str) -> Result<Self, KeyListError> {
        let list: KeyList = serde_json::from_slice(json).map_err(KeyListError::NotAKeyList)?;
        let mut keys = BTreeMap::new();
        for entry in list.public_key_list {
            let der = base64::engine::general_purpose::STANDARD
                .decode(entry.value.trim())
                .map_err(|source| KeyListError::NotBase64 {
                    fingerprint: entry.fingerprint.clone(),
                    source,
                })?;
            keys.insert(entry.fingerprint.to_ascii_lowercase(), der);
        }
        Ok(Self {
            origin: origin.to_owned(),
            keys,
            failures: Vec::new(),
        })
    }

    pub fn read(path: &Path) -> Result<Self, EvidenceError> {
        let bytes = std::fs::read(path).map_err(FileError::at("read", path))?;
        Self::from_list_json(&bytes, &path.display().to_string()).map_err(|source| {
            EvidenceError::PublicKeys {
                path: path.to_owned(),
                source,
            }
        })
    }

    pub fn get(&self, fingerprint: &str) -> Option<&[u8]> {
        self.keys
            .get(&fingerprint.to_ascii_lowercase())
            .map(Vec::as_slice)
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// The string CloudTrail signs for one digest file.
pub fn string_to_sign(
    digest_end_time: &str,
    bucket: &str,
    object: &str,
    content: &[u8],
    previous_signature: Option<&str>,
) -> String {
    format!(
        "{digest_end_time}\n{bucket}/{object}\n{}\n{}",
        sha256_hex(content),
        previous_signature.unwrap_or("null")
    )
}

/// Checks a hex-encoded SHA256withRSA (PKCS #1 v1.5) signature of `message` with a PKCS #1 DER
/// public key.
pub fn verify(public_key_der: &[u8], message: &[u8], signature_hex: &str) -> Result<(), String> {
    let signature =
        hex::decode(signature_hex.trim()).map_err(|e| format!("the signature is not hex: {e}"))?;
    ring::signature::UnparsedPublicKey::new(
        &ring::signature::RSA_PKCS1_2048_8192_SHA256,
        public_key_der,
    )
    .verify(message, &signature)
    .map_err(|_| "the signature does not match the digest file and the public key".to_owned())
}

/// The region of a digest file, from its key (`…/CloudTrail-Digest/<region>/YYYY/MM/DD/…`).
pub fn digest_region(location: &str) -> Option<&str> {
    let mut parts = location.split(['/', '\\']);
    parts.find(|p| *p == "CloudTrail-Digest")?;
    parts.next().filter(|r| !r.is_empty())
}

/// Asks `cloudtrail:ListPublicKeys` in each region for the keys valid between `start` and `end`;
/// a region that does not answer is recorded in `failures`. `AWS_ENDPOINT_URL_CLOUDTRAIL`
/// points it at a stand-in.
pub(super) fn fetch(
    aws: &AwsOptions,
    regions: &BTreeSet<String>,
    start: Option<Timestamp>,
    end: Option<Timestamp>,
) -> PublicKeys {
    let mut keys = PublicKeys {
        origin: format!(
            "cloudtrail:ListPublicKeys ({})",
            regions.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        ..PublicKeys::default()
    };
    let runtime = match crate::aws::runtime() {
        Ok(runtime) => runtime,
        Err(e) => {
            keys.failures
                .push(format!("cannot start the AWS client: {e}"));
            return keys;
        }
    };
    let to_smithy =
        |t: Timestamp| aws_sdk_cloudtrail::primitives::DateTime::from_secs(t.as_second());
    for region in regions {
        // The S3 endpoint (`--endpoint-url`) is not CloudTrail's.
        let options = AwsOptions {
            profile: aws.profile.clone(),
            region: Some(region.clone()),
            endpoint_url: None,
        };
        let config = match crate::aws::load_config(&options) {
            Ok(config) => config,
            Err(e) => {
                keys.failures
                    .push(format!("cannot start the AWS client: {e}"));
                return keys;
            }
        };
        let client = aws_sdk_cloudtrail::Client::new(&config);
        let mut token: Option<String> = None;
        loop {
            let output = runtime.block_on(
                client
                    .list_public_keys()
                    .set_start_time(start.map(to_smithy))
                    .set_end_time(end.map(to_smithy))
                    .set_next_token(token.take())
                    .send(),
            );
            let output = match output {
                Ok(output) => output,
                Err(e) => {
                    keys.failures.push(format!(
                        "cloudtrail:ListPublicKeys in {region}: {}",
                        crate::errors::error_chain(&e)
                    ));
                    break;
                }
            };
            for key in output.public_key_list() {
                if let (Some(fingerprint), Some(value)) = (key.fingerprint(), key.value()) {
                    keys.keys
                        .insert(fingerprint.to_ascii_lowercase(), value.as_ref().to_vec());
                }
            }
            match output.next_token() {
                Some(next) if !next.is_empty() => token = Some(next.to_owned()),
                _ => break,
            }
        }
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_string_is_the_aws_clis() {
        // As awscli's Sha256RSADigestValidator._create_string_to_sign builds it; the first
        // digest of a chain has no previous signature and signs "null".
        let s = string_to_sign(
            "2026-11-01T06:30:00Z",
            "shop-trail-logs",
            "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/01/d.json.gz",
            b"{}",
            None,
        );
        assert_eq!(
            s,
            "2026-11-01T06:30:00Z\nshop-trail-logs/AWSLogs/1/CloudTrail-Digest/us-east-1/2026/11/01/d.json.gz\n44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\nnull"
        );
        assert!(string_to_sign("t", "b", "k", b"", Some("ab12")).ends_with("\nab12"));
    }

    #[test]
    fn regions_come_from_digest_keys() {
        assert_eq!(
            digest_region("s3://b/AWSLogs/1/CloudTrail-Digest/eu-west-1/2026/11/01/x.json.gz"),
            Some("eu-west-1")
        );
        assert_eq!(
            digest_region("AWSLogs/1/CloudTrail/eu-west-1/x.json.gz"),
            None
        );
    }

    #[test]
    fn key_lists_as_the_cli_prints_them() {
        let json = br#"{"PublicKeyList": [{"Value": "AAEC", "ValidityStartTime": "2026-01-01T00:00:00+00:00",
            "ValidityEndTime": "2027-01-01T00:00:00+00:00", "Fingerprint": "AB12"}]}"#;
        let keys = PublicKeys::from_list_json(json, "keys.json").unwrap();
        assert_eq!(keys.get("ab12"), Some(&[0u8, 1, 2][..]));
        assert!(PublicKeys::from_list_json(b"{}", "x").is_err());
        assert!(
            verify(&[0, 1, 2], b"m", "zz")
                .unwrap_err()
                .contains("not hex")
        );
        assert!(verify(&[0, 1, 2], b"m", "00").is_err());
    }
}
