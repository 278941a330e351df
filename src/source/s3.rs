//! `s3://bucket/prefix`: a trail bucket read in place through `aws-sdk-s3`, never downloaded
//! first.
//!
//! Listing follows the CloudTrail key layout with delimiter listings, so a bucket is never listed
//! whole: prefixes are descended until `…/CloudTrail/<region>/YYYY/MM/DD/` day prefixes (accounts
//! and organisation trails `AWSLogs/o-…/<account>/` alike); day prefixes outside the time window
//! (with a day's margin for sessions vended before it) are not listed at all; the days are then
//! listed oldest first across accounts and regions, with a watermark after each, as for local
//! folders. `CloudTrail-Digest/` prefixes are reported as ignored without being listed. Objects
//! outside the layout are listed as found.
//!
//! Fetches go through the SDK's standard retry (throttling, 5xx, timeouts); a body that breaks off
//! while streaming is fetched again. What still fails is reported per object by ingest.

use std::collections::BTreeMap;

use aws_sdk_s3::Client;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use super::{KeyKind, Listing, LogSource, ObjectRef, SourceError, classify_key};
use crate::aws::{AwsOptions, parse_s3_uri as parse_uri};
use crate::window::TimeWindow;

/// How many times a GetObject whose body breaks off is tried.
const BODY_ATTEMPTS: usize = 3;

/// One object of a listing page.
struct Listed {
    key: String,
    size: Option<u64>,
    /// Without the quotes S3 puts around it.
    etag: Option<String>,
}

pub struct S3Source {
    runtime: &'static tokio::runtime::Runtime,
    client: Client,
    bucket: String,
    prefix: String,
    window: TimeWindow,
    filter: super::LayoutFilter,
    /// List the digest files under `CloudTrail-Digest/` (for evidence packs) instead of
    /// reporting each such prefix once as ignored.
    digests: bool,
}

impl S3Source {
    pub fn new(
        uri: &str,
        options: &AwsOptions,
        path_style: bool,
        window: TimeWindow,
        filter: super::LayoutFilter,
    ) -> Result<Self, SourceError> {
        let (bucket, prefix) = parse_uri(uri).ok_or_else(|| SourceError::Remote {
            location: uri.to_owned(),
            message: "not an s3://bucket[/prefix] URI".to_owned(),
        })?;
        let io = |source| SourceError::Io {
            location: uri.to_owned(),
            source,
        };
        let runtime = crate::aws::runtime().map_err(io)?;
        let client = crate::aws::s3_client(options, path_style).map_err(io)?;
        Ok(Self {
            client,
            runtime,
            bucket,
            prefix,
            window,
            filter,
            digests: false,
        })
    }

    /// Also lists digest files (each reported as ignored, so evidence packs can check the
    /// logs against them), for the days of the window.
    pub fn with_digests(mut self, digests: bool) -> Self {
        self.digests = digests;
        self
    }

    fn location(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }

    /// One delimiter listing: objects and sub-prefixes directly under `prefix`.
    async fn list_level(
        &self,
        prefix: &str,
        delimiter: bool,
    ) -> Result<(Vec<Listed>, Vec<String>), SourceError> {
        let (mut objects, mut prefixes) = (Vec::new(), Vec::new());
        let mut token: Option<String> = None;
        loop {
            let mut request = self
                .client
                .list_objects_v2()
                .bucket(&self.bucket)
                .prefix(prefix)
                .set_continuation_token(token.take());
            if delimiter {
                request = request.delimiter("/");
            }
            let page = request.send().await.map_err(|err| SourceError::Remote {
                location: self.location(prefix),
                message: format!(
                    "cannot list: {}{}",
                    crate::errors::error_chain(&err),
                    if err.to_string().contains("AccessDenied")
                        || format!("{err:?}").contains("AccessDenied")
                    {
                        " (iamtrim needs s3:ListBucket on the bucket)"
                    } else {
                        ""
                    }
                ),
            })?;
            objects.extend(page.contents().iter().filter_map(|o| {
                o.key().map(|k| Listed {
                    key: k.to_owned(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()),
                    etag: o.e_tag().map(|e| e.trim_matches('"').to_owned()),
                })
            }));
            prefixes.extend(
                page.common_prefixes()
                    .iter()
                    .filter_map(|p| p.prefix().map(str::to_owned)),
            );
            match page.next_continuation_token() {
                Some(next) if page.is_truncated() == Some(true) => token = Some(next.to_owned()),
                _ => break,
            }
        }
        Ok((objects, prefixes))
    }

    fn emit(&self, listed: Listed, each: &mut dyn FnMut(Listing)) {
        let location = self.location(&listed.key);
        match classify_key(&listed.key) {
            KeyKind::Log => each(Listing::Object(ObjectRef {
                location,
                size: listed.size,
                etag: listed.etag,
            })),
            kind => each(Listing::Ignored {
                location,
                reason: kind.to_string(),
            }),
        }
    }

    /// Whether a day's folder can hold events of the window (a day's margin before the start:
    /// sessions vended the day before can still make calls in it).
    fn day_in_window(&self, day: Date) -> bool {
        let start = day
            .to_zoned(jiff::tz::TimeZone::UTC)
            .map(|z| z.timestamp())
            .unwrap_or(Timestamp::MIN);
        let after_start = self
            .window
            .start
            .is_none_or(|s| start + SignedDuration::from_hours(48) > s);
        let before_end = self.window.end.is_none_or(|e| start < e);
        after_start && before_end
    }

    /// Whether an object on a day at the window's edge can hold events of the window, by the
    /// delivery time in its name (with the day's margin before the start, an hour after the end).
    fn object_in_window(&self, key: &str) -> bool {
        let Some(delivered) = super::delivery_time(key) else {
            return true;
        };
        let after_start = self
            .window
            .start
            .is_none_or(|s| delivered + SignedDuration::from_hours(24) >= s);
        let before_end = self
            .window
            .end
            .is_none_or(|e| delivered < e + SignedDuration::from_hours(1));
        after_start && before_end
    }

    async fn list_all(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        let mut days: BTreeMap<Date, Vec<String>> = BTreeMap::new();
        let mut stack = vec![self.prefix.clone()];
        while let Some(prefix) = stack.pop() {
            let (objects, prefixes) = self.list_level(&prefix, true).await?;
            for listed in objects {
                self.emit(listed, each);
            }
            // Reverse so the stack pops them in key order.
            for sub in prefixes.into_iter().rev() {
                let parts: Vec<&str> = sub.split('/').collect();
                let digest_parts: Vec<&str> = parts
                    .iter()
                    .map(|p| {
                        if *p == "CloudTrail-Digest" {
                            "CloudTrail"
                        } else {
                            p
                        }
                    })
                    .collect();
                // Digest prefixes are filtered by account and region like log prefixes.
                if !self.filter.admits(&digest_parts) {
                    continue;
                }
                if let Some(day) = super::delivery_day(&parts) {
                    if self.day_in_window(day) {
                        days.entry(day).or_default().push(sub);
                    }
                } else if self.digests && parts.contains(&"CloudTrail-Digest") {
                    match super::delivery_day(&digest_parts) {
                        Some(day) if self.day_in_window(day) => {
                            let (objects, _) = self.list_level(&sub, false).await?;
                            for listed in objects {
                                self.emit(listed, each);
                            }
                        }
                        Some(_) => {}
                        None => stack.push(sub),
                    }
                } else if sub.ends_with("CloudTrail-Digest/") {
                    each(Listing::Ignored {
                        location: self.location(&sub),
                        reason: KeyKind::Digest.to_string(),
                    });
                } else {
                    stack.push(sub);
                }
            }
        }
        for (day, mut prefixes) in days {
            prefixes.sort();
            for prefix in prefixes {
                let (objects, _) = self.list_level(&prefix, false).await?;
                for listed in objects
                    .into_iter()
                    .filter(|o| self.object_in_window(&o.key))
                {
                    self.emit(listed, each);
                }
            }
            if let Some(watermark) = super::watermark_after(day) {
                each(Listing::Watermark(watermark));
            }
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, SourceError> {
        Ok(self.get_with_metadata(key).await?.0)
    }

    /// The body and the user metadata (`x-amz-meta-*` without the prefix) of one object.
    async fn get_with_metadata(
        &self,
        key: &str,
    ) -> Result<(Vec<u8>, BTreeMap<String, String>), SourceError> {
        let location = self.location(key);
        let mut last = String::new();
        for _ in 0..BODY_ATTEMPTS {
            let response = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(key)
                .send()
                .await
                .map_err(|err| {
                    let detail = format!("{err:?}");
                    SourceError::Remote {
                        location: location.clone(),
                        message: format!(
                            "cannot fetch: {}{}",
                            crate::errors::error_chain(&err),
                            if detail.contains("AccessDenied") {
                                " (iamtrim needs s3:GetObject, and kms:Decrypt for SSE-KMS objects)"
                            } else {
                                ""
                            }
                        ),
                    }
                })?;
            let metadata: BTreeMap<String, String> = response
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default();
            match response.body.collect().await {
                Ok(body) => return Ok((body.into_bytes().to_vec(), metadata)),
                // The connection broke off mid-body: fetch again.
                Err(err) => last = crate::errors::error_chain(&err),
            }
        }
        Err(SourceError::Remote {
            location,
            message: format!("the body broke off {BODY_ATTEMPTS} times: {last}"),
        })
    }
}

impl LogSource for S3Source {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        self.runtime.block_on(self.list_all(each))
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        let prefix = format!("s3://{}/", self.bucket);
        let key = object
            .location
            .strip_prefix(&prefix)
            .unwrap_or(&object.location);
        self.runtime.block_on(self.get(key))
    }

    fn fetch_with_metadata(
        &self,
        object: &ObjectRef,
    ) -> Result<(Vec<u8>, Option<super::Metadata>), SourceError> {
        let prefix = format!("s3://{}/", self.bucket);
        let key = object
            .location
            .strip_prefix(&prefix)
            .unwrap_or(&object.location);
        let (body, metadata) = self.runtime.block_on(self.get_with_metadata(key))?;
        Ok((body, Some(metadata)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_and_day_prefixes() {
        assert_eq!(
            parse_uri("s3://trail/AWSLogs/"),
            Some(("trail".into(), "AWSLogs/".into()))
        );
        assert_eq!(
            parse_uri("s3://trail"),
            Some(("trail".into(), String::new()))
        );
        assert_eq!(parse_uri("s3:///x"), None);
        let parts: Vec<&str> = "AWSLogs/o-abc/111/CloudTrail/eu-west-1/2026/11/01/"
            .split('/')
            .collect();
        assert_eq!(
            super::super::delivery_day(&parts),
            Some(Date::constant(2026, 11, 1))
        );
    }
}
