//! What can go wrong writing, reading or archiving an evidence pack, with the file concerned.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    /// A file or folder could not be read, written or moved.
    #[error(transparent)]
    File(#[from] crate::errors::FileError),
    #[error("{} is not empty: an evidence pack goes into a new or empty folder", .0.display())]
    NotEmpty(PathBuf),
    #[error("{}: no such folder", .0.display())]
    NoFolder(PathBuf),
    #[error("{} has no SHA256SUMS: not an evidence pack", .0.display())]
    NotAPack(PathBuf),
    #[error("the pack folder has no name")]
    Unnamed,
    /// A file of the pack could not be encoded (never expected: the pack's types are JSON).
    #[error("cannot encode {path}")]
    Encode {
        path: String,
        #[source]
        source: serde_json::Error,
    },
    #[error("{} holds no CloudTrail public keys", path.display())]
    PublicKeys {
        path: PathBuf,
        #[source]
        source: KeyListError,
    },
}

/// A saved `aws cloudtrail list-public-keys` output that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyListError {
    #[error("not the output of `aws cloudtrail list-public-keys`")]
    NotAKeyList(#[source] serde_json::Error),
    #[error("the key with fingerprint {fingerprint} is not base64")]
    NotBase64 {
        fingerprint: String,
        #[source]
        source: base64::DecodeError,
    },
}

pub type Result<T, E = EvidenceError> = std::result::Result<T, E>;
