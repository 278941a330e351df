//! Hashes that name bytes: SHA-256 in lowercase hex, and the fingerprint of one input object.

/// What identifies one input object's bytes: for the evidence manifest, and to check log files
/// against CloudTrail digest files (which hash the uncompressed content).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectFingerprint {
    pub location: String,
    pub size: u64,
    pub etag: Option<String>,
    /// SHA-256 of the object as stored (compressed), lowercase hex.
    pub sha256: String,
    /// SHA-256 of its content after decompression, when it could be decompressed.
    pub content_sha256: Option<String>,
}

/// Lowercase hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    use std::fmt::Write;
    let digest = sha2::Sha256::digest(bytes);
    let mut out = String::with_capacity(64);
    for byte in digest {
        let _ = write!(out, "{byte:02x}");
    }
    out
}
