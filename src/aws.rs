//! AWS access shared by every stage that calls AWS (S3 and LookupEvents sources, EKS and IAM
//! lookups, CloudTrail public keys, S3 uploads): the options a user gives, the SDK configuration
//! they load, and the process's one tokio runtime.
//!
//! The rest of iamtrim is synchronous: callers drive the runtime with `block_on`, from any
//! thread (worker threads fetch S3 objects concurrently through it).

use std::sync::OnceLock;

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// `--profile`, `--region` and `--endpoint-url`, the AWS CLI's own names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsOptions {
    pub profile: Option<String>,
    pub region: Option<String>,
    pub endpoint_url: Option<String>,
}

/// The process's tokio runtime, started on first use: two worker threads are enough for
/// iamtrim's concurrent fetches (the requests wait on the network, not on the CPU).
pub fn runtime() -> std::io::Result<&'static tokio::runtime::Runtime> {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(runtime) = RUNTIME.get() {
        return Ok(runtime);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("iamtrim-aws")
        .enable_all()
        .build()?;
    // Two threads racing here build two runtimes; one is kept, the other dropped unused.
    Ok(RUNTIME.get_or_init(|| runtime))
}

/// The SDK configuration for `options`: the standard credential chain and region resolution,
/// overridden by `--profile`, `--region` and `--endpoint-url`.
pub fn load_config(options: &AwsOptions) -> std::io::Result<SdkConfig> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(profile) = &options.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &options.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if let Some(url) = &options.endpoint_url {
        loader = loader.endpoint_url(url);
    }
    Ok(runtime()?.block_on(loader.load()))
}

/// An S3 client for `options`; path-style addressing when asked or when an endpoint is given
/// (S3-compatible stores and stand-ins rarely serve virtual-hosted buckets).
pub fn s3_client(options: &AwsOptions, path_style: bool) -> std::io::Result<aws_sdk_s3::Client> {
    let config = load_config(options)?;
    Ok(aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&config)
            .force_path_style(path_style || options.endpoint_url.is_some())
            .build(),
    ))
}

/// `s3://bucket/prefix` → (bucket, prefix).
pub fn parse_s3_uri(uri: &str) -> Option<(String, String)> {
    let rest = uri.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    (!bucket.is_empty()).then(|| (bucket.to_owned(), prefix.to_owned()))
}
