//! Test doubles for [`LogSource`]: objects held in memory, and a wrapper that makes any source
//! fail where a test says (as mountpoint-s3's `mock_client` and `failure_client` do), so ingest,
//! watermarks, store commits and partial failures are tested in process, without S3 or a proxy.

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use super::{Listing, LogSource, ObjectRef, SourceError};

/// Log objects in memory, listed in the order they were added, with watermarks where placed.
#[derive(Default)]
pub struct MemorySource {
    entries: Vec<Entry>,
}

enum Entry {
    Object(ObjectRef, Vec<u8>),
    Watermark(jiff::Timestamp),
}

impl MemorySource {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a gzipped `{"Records":[…]}` object at `location` (a CloudTrail key such as
    /// `AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/x.json.gz`).
    pub fn records(self, location: &str, records: &[serde_json::Value]) -> Self {
        let json = serde_json::json!({ "Records": records }).to_string();
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(json.as_bytes()).expect("writes to memory");
        let body = gz.finish().expect("writes to memory");
        self.raw(location, body)
    }

    /// Adds an object with exactly these bytes.
    pub fn raw(mut self, location: &str, body: Vec<u8>) -> Self {
        let object = ObjectRef {
            location: location.to_owned(),
            size: Some(body.len() as u64),
            etag: Some(format!("\"{}\"", &crate::hash::sha256_hex(&body)[..32])),
        };
        self.entries.push(Entry::Object(object, body));
        self
    }

    /// Lists a watermark here: every event before `at` is in the objects added so far.
    pub fn watermark(mut self, at: &str) -> Self {
        self.entries
            .push(Entry::Watermark(at.parse().expect("an RFC 3339 time")));
        self
    }
}

impl LogSource for MemorySource {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        for entry in &self.entries {
            match entry {
                Entry::Object(object, _) => each(Listing::Object(object.clone())),
                Entry::Watermark(at) => each(Listing::Watermark(*at)),
            }
        }
        Ok(())
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        self.entries
            .iter()
            .find_map(|e| match e {
                Entry::Object(o, body) if o.location == object.location => Some(body.clone()),
                _ => None,
            })
            .ok_or_else(|| SourceError::NotFound {
                location: object.location.clone(),
            })
    }
}

/// Any source, failing where told: fetches of chosen objects (every time, or only the first
/// `times` tries), and the listing after a number of entries; and slow where told.
pub struct FailingSource<S> {
    inner: S,
    /// Location → (reason, failures left; `None` for always).
    fetches: Mutex<BTreeMap<String, (String, Option<u32>)>>,
    listing_after: Option<(usize, String)>,
    /// Location → how long its fetch takes (a slow GET).
    slow: BTreeMap<String, std::time::Duration>,
}

impl<S: LogSource> FailingSource<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            fetches: Mutex::new(BTreeMap::new()),
            listing_after: None,
            slow: BTreeMap::new(),
        }
    }

    /// Fetching `location` takes `delay` (an object that finishes after those listed later).
    pub fn slow_fetch(mut self, location: &str, delay: std::time::Duration) -> Self {
        self.slow.insert(location.to_owned(), delay);
        self
    }

    /// Every fetch of `location` fails with `reason`.
    pub fn fail_fetch(self, location: &str, reason: &str) -> Self {
        self.fetches
            .lock()
            .expect("not poisoned")
            .insert(location.to_owned(), (reason.to_owned(), None));
        self
    }

    /// The first `times` fetches of `location` fail; later ones succeed.
    pub fn fail_fetch_times(self, location: &str, reason: &str, times: u32) -> Self {
        self.fetches
            .lock()
            .expect("not poisoned")
            .insert(location.to_owned(), (reason.to_owned(), Some(times)));
        self
    }

    /// The listing fails after `entries` entries.
    pub fn fail_listing_after(mut self, entries: usize, reason: &str) -> Self {
        self.listing_after = Some((entries, reason.to_owned()));
        self
    }
}

impl<S: LogSource> LogSource for FailingSource<S> {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        let Some((limit, reason)) = &self.listing_after else {
            return self.inner.list(each);
        };
        let mut seen = 0;
        let mut stopped = false;
        self.inner.list(&mut |listing| {
            if seen < *limit {
                each(listing);
            } else {
                stopped = true;
            }
            seen += 1;
        })?;
        if stopped {
            return Err(SourceError::Remote {
                location: "listing".to_owned(),
                message: reason.clone(),
            });
        }
        Ok(())
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        let mut fetches = self.fetches.lock().expect("not poisoned");
        if let Some((reason, left)) = fetches.get_mut(&object.location) {
            let fail = match left {
                None => true,
                Some(0) => false,
                Some(n) => {
                    *n -= 1;
                    true
                }
            };
            if fail {
                return Err(SourceError::Remote {
                    location: object.location.clone(),
                    message: reason.clone(),
                });
            }
        }
        drop(fetches);
        if let Some(delay) = self.slow.get(&object.location) {
            std::thread::sleep(*delay);
        }
        self.inner.fetch(object)
    }
}

/// A CloudTrail record of `role`'s session (account 111122223333) calling `source`/`name`, in
/// the shape CloudTrail writes (copied from the sample trail).
pub fn role_call(
    event_id: &str,
    time: &str,
    role: &str,
    source: &str,
    name: &str,
    request: serde_json::Value,
) -> serde_json::Value {
    serde_json::json!({
        "awsRegion": "us-east-1",
        "eventCategory": "Management",
        "eventID": event_id,
        "eventName": name,
        "eventSource": source,
        "eventTime": time,
        "eventType": "AwsApiCall",
        "eventVersion": "1.09",
        "managementEvent": true,
        "readOnly": false,
        "recipientAccountId": "111122223333",
        "requestID": format!("req-{event_id}"),
        "requestParameters": request,
        "responseElements": null,
        "sourceIPAddress": "10.0.175.155",
        "userAgent": "aws-sdk-go-v2/1.30.3",
        "userIdentity": {
            "accessKeyId": "ASIAJMISJHM2SK6WR75Y",
            "accountId": "111122223333",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/session-1"),
            "principalId": "AROAJ4O5XML4M2R64K23B:session-1",
            "sessionContext": {
                "attributes": {"creationDate": "2026-11-01T06:00:00Z", "mfaAuthenticated": "false"},
                "sessionIssuer": {
                    "accountId": "111122223333",
                    "arn": format!("arn:aws:iam::111122223333:role/{role}"),
                    "principalId": "AROAK4LXJ2GVKOVAR4YFC",
                    "type": "Role",
                    "userName": role
                }
            },
            "type": "AssumedRole"
        }
    })
}
