//! `--trail cloudtrail:lookup`: the CloudTrail `LookupEvents` API, for a quick look without a trail
//! bucket. It sees management events of the last 90 days only (no data events: S3 objects,
//! Lambda invocations, DynamoDB items, ...), answers 2 requests per second, and pages 50 events at
//! a time.
//!
//! Listing pages through the API (at most 2 calls per second; throttling is retried by the SDK)
//! and offers each page as one object; `fetch` hands over the page, built as a `{"Records": [...]}`
//! document from the events' `CloudTrailEvent` JSON, so the rest of the pipeline reads it like a
//! log file. A page is held only until a worker takes it, and the bounded object queue stops
//! listing while the workers are busy, so memory stays bounded.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use aws_sdk_cloudtrail::Client;
use aws_sdk_cloudtrail::primitives::DateTime;
use jiff::{SignedDuration, Timestamp};

use super::{Listing, LogSource, ObjectRef, SourceError};
use crate::aws::AwsOptions;
use crate::window::TimeWindow;

pub const URI: &str = "cloudtrail:lookup";

/// What this source cannot see, said in the output.
pub const LIMITS: &str = "CloudTrail LookupEvents returns management events of the last 90 days \
                          only: data events (S3 objects, Lambda invocations, DynamoDB items, ...) \
                          are not seen, so policies miss the permissions they need";

/// LookupEvents allows 2 requests per second per account and region.
const MIN_INTERVAL: Duration = Duration::from_millis(500);

pub struct LookupEventsSource {
    runtime: &'static tokio::runtime::Runtime,
    client: Client,
    window: TimeWindow,
    pages: Mutex<HashMap<String, Vec<u8>>>,
}

impl LookupEventsSource {
    pub fn new(options: &AwsOptions, window: TimeWindow) -> Result<Self, SourceError> {
        let io = |source| SourceError::Io {
            location: URI.to_owned(),
            source,
        };
        let runtime = crate::aws::runtime().map_err(io)?;
        let config = crate::aws::load_config(options).map_err(io)?;
        Ok(Self {
            client: Client::new(&config),
            runtime,
            window,
            pages: Mutex::new(HashMap::new()),
        })
    }

    async fn list_pages(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        let now = Timestamp::now();
        let oldest = now - SignedDuration::from_hours(24 * 90);
        // From 13 hours before the window (the longest session): a session vended then can still
        // call inside it, and its vending event is what ties it to its service account.
        let start = self
            .window
            .start
            .map_or(oldest, |s| (s - SignedDuration::from_hours(13)).max(oldest));
        let end = self.window.end.unwrap_or(now);
        let mut token: Option<String> = None;
        let mut page = 0u64;
        let mut last_call: Option<Instant> = None;
        loop {
            if let Some(last) = last_call {
                tokio::time::sleep(MIN_INTERVAL.saturating_sub(last.elapsed())).await;
            }
            let output = self
                .client
                .lookup_events()
                .start_time(DateTime::from_secs(start.as_second()))
                .end_time(DateTime::from_secs(end.as_second()))
                .max_results(50)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|err| SourceError::Remote {
                    location: URI.to_owned(),
                    message: format!(
                        "cannot look up events: {} (iamtrim needs cloudtrail:LookupEvents)",
                        crate::errors::error_chain(&err)
                    ),
                })?;
            // Timed from the answer, not the request: the service then sees requests at least
            // MIN_INTERVAL apart however long the first one took to reach it.
            last_call = Some(Instant::now());
            let events: Vec<&str> = output
                .events()
                .iter()
                .filter_map(|e| e.cloud_trail_event())
                .collect();
            if !events.is_empty() {
                let location = format!("{URI}/page-{page}");
                let body = format!("{{\"Records\":[{}]}}", events.join(","));
                if let Ok(mut pages) = self.pages.lock() {
                    pages.insert(location.clone(), body.into_bytes());
                }
                each(Listing::Object(ObjectRef {
                    location,
                    size: None,
                    etag: None,
                }));
                page += 1;
            }
            match output.next_token() {
                Some(next) => token = Some(next.to_owned()),
                None => break,
            }
        }
        Ok(())
    }
}

impl LogSource for LookupEventsSource {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        each(Listing::Note(LIMITS.to_owned()));
        self.runtime.block_on(self.list_pages(each))
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        self.pages
            .lock()
            .ok()
            .and_then(|mut pages| pages.remove(&object.location))
            .ok_or_else(|| SourceError::Remote {
                location: object.location.clone(),
                message: "page no longer held".to_owned(),
            })
    }
}
