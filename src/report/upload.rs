//! Copies a run's output folder to an S3 prefix (`output.s3` of the batch job), so the people and
//! pipelines that consume recommendations need no access to the job's volume.

use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

use crate::aws::AwsOptions;
use crate::errors::error_chain;

/// Why the outputs could not be copied, with the object and the permission it needs.
#[derive(Debug, thiserror::Error)]
pub enum UploadError {
    #[error("{0} is not an s3://bucket[/prefix] URI")]
    Uri(String),
    #[error("cannot start the AWS client")]
    Client(#[source] std::io::Error),
    #[error("cannot read {path}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// An S3 request failed: what it was, what it needs, and S3's answer.
    #[error("cannot {what}: {cause}")]
    S3 { what: String, cause: String },
}

/// Uploads every file under `dir` to `uri` (`s3://bucket/prefix`), keys as relative paths, then
/// removes the objects under `<prefix>policies/` that this run did not write (policies of
/// workloads that left the window). Returns the number of objects written.
pub fn upload_dir(
    dir: &Path,
    uri: &str,
    options: &AwsOptions,
    path_style: bool,
) -> Result<usize, UploadError> {
    let (bucket, prefix) =
        crate::aws::parse_s3_uri(uri).ok_or_else(|| UploadError::Uri(uri.to_owned()))?;
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix
    } else {
        format!("{prefix}/")
    };
    let runtime = crate::aws::runtime().map_err(UploadError::Client)?;
    let client: Client = crate::aws::s3_client(options, path_style).map_err(UploadError::Client)?;
    let mut files: Vec<_> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_entry(|e| !e.file_name().to_string_lossy().starts_with('.'))
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let mut written = std::collections::BTreeSet::new();
    runtime.block_on(async {
        for path in &files {
            let relative = path.strip_prefix(dir).unwrap_or(path);
            let key = format!(
                "{prefix}{}",
                relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/")
            );
            let body = std::fs::read(path).map_err(|source| UploadError::Read {
                path: path.display().to_string(),
                source,
            })?;
            let content_type = if key.ends_with(".json") {
                "application/json"
            } else {
                "text/plain; charset=utf-8"
            };
            client
                .put_object()
                .bucket(&bucket)
                .key(&key)
                .content_type(content_type)
                .body(ByteStream::from(body))
                .send()
                .await
                .map_err(|e| UploadError::S3 {
                    what: format!("write s3://{bucket}/{key} (iamtrim needs s3:PutObject there)"),
                    cause: error_chain(&e),
                })?;
            written.insert(key);
        }
        let policies = format!("{prefix}policies/");
        let mut token = None;
        let mut stale = Vec::new();
        loop {
            let page = client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix(&policies)
                .set_continuation_token(token.take())
                .send()
                .await
                .map_err(|e| UploadError::S3 {
                    what: format!("list s3://{bucket}/{policies} (iamtrim needs s3:ListBucket)"),
                    cause: error_chain(&e),
                })?;
            stale.extend(
                page.contents()
                    .iter()
                    .filter_map(|o| o.key())
                    .filter(|k| !written.contains(*k))
                    .map(str::to_owned),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        for key in stale {
            client
                .delete_object()
                .bucket(&bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| UploadError::S3 {
                    what: format!(
                        "remove the stale s3://{bucket}/{key} (iamtrim needs s3:DeleteObject there)"
                    ),
                    cause: error_chain(&e),
                })?;
        }
        Ok::<(), UploadError>(())
    })?;
    Ok(written.len())
}
