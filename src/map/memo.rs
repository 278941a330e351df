//! What an event's request comes to — the actions it needs (after the conditional rules) and the
//! resources of each — memoised per worker by everything that decides it, so that a request made
//! again (the same workload reading the same table, queue or key) is mapped and its ARNs built
//! once, not once per event.
//!
//! The key is a 128-bit hash (XXH3-128, seeded per process) of the fields the mapping reads,
//! laid end to end with their lengths: `eventSource`, `eventName`, `awsRegion`,
//! `recipientAccountId`, the caller's account and ARN partition, `requestParameters` as written,
//! `responseElements` for a call that may create (its response names what it made), and the
//! ARNs of `resources`. The memo holds at most [`CAPACITY`] requests and
//! starts over when full, so its memory is bounded whatever the trail.

use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt};

use crate::decode::Record;

/// (action, resource, implied_by) of one request: `implied_by` names the call and request
/// member a permission is implied by ([`super::implied`]), None for the call's own actions.
pub type Call = (Arc<str>, Arc<str>, Option<Arc<str>>);

/// The calls of one request.
pub type Calls = Arc<[Call]>;

/// Requests remembered per worker before the memo starts over.
pub const CAPACITY: usize = 16_384;

pub struct Expansions {
    seed: u64,
    /// The fields of the request being keyed, end to end (reused from event to event).
    fields: Vec<u8>,
    map: HashMap<u128, Calls>,
    pub hits: u64,
    pub misses: u64,
}

/// The field buffer is kept between events up to this size (a request is a few hundred bytes).
const KEEP_FIELDS_BYTES: usize = 64 << 10;

impl Default for Expansions {
    fn default() -> Self {
        Self {
            seed: std::collections::hash_map::RandomState::new().hash_one(0u8),
            fields: Vec::with_capacity(1024),
            map: HashMap::with_capacity(1024),
            hits: 0,
            misses: 0,
        }
    }
}

/// ARNs kept once per worker, so equal ARNs share one `Arc`. Bounded like the memo: it starts
/// over when it holds [`INTERNED`] ARNs (the aggregator keeps those it uses).
#[derive(Default)]
pub struct Interner {
    arns: foldhash::HashSet<Arc<str>>,
}

/// ARNs remembered per worker before the interner starts over.
pub const INTERNED: usize = 32_768;

impl Interner {
    /// The one `Arc` of `arn`.
    pub fn get(&mut self, arn: &str) -> Arc<str> {
        if let Some(known) = self.arns.get(arn) {
            return Arc::clone(known);
        }
        if self.arns.len() >= INTERNED {
            self.arns.clear();
        }
        let arn: Arc<str> = Arc::from(arn);
        self.arns.insert(Arc::clone(&arn));
        arn
    }
}

/// Whether an operation's name says it may create a resource whose identifier AWS assigns (the
/// verbs `scripts/update-operations.py` reads `creates` from).
pub fn may_create(operation: &str) -> bool {
    const VERBS: [&str; 9] = [
        "Create", "Run", "Allocate", "Register", "Import", "Copy", "Request", "Purchase", "Submit",
    ];
    VERBS.iter().any(|verb| operation.starts_with(verb))
}

impl Expansions {
    /// The calls of `record`'s request: remembered, or computed by `expand` and remembered.
    pub fn get_or_insert_with(
        &mut self,
        record: &Record<'_>,
        expand: impl FnOnce() -> Vec<Call>,
    ) -> Calls {
        let key = self.key(record);
        if let Some(calls) = self.map.get(&key) {
            self.hits += 1;
            return Arc::clone(calls);
        }
        self.misses += 1;
        if self.map.len() >= CAPACITY {
            self.map.clear();
        }
        let calls: Calls = expand().into();
        self.map.insert(key, Arc::clone(&calls));
        calls
    }

    fn key(&mut self, record: &Record<'_>) -> u128 {
        let fields = &mut self.fields;
        fields.clear();
        let mut field = |text: Option<&str>| match text {
            None => fields.push(0),
            Some(text) => {
                fields.push(1);
                fields.extend_from_slice(&(text.len() as u64).to_le_bytes());
                fields.extend_from_slice(text.as_bytes());
            }
        };
        let identity = record.user_identity.as_ref();
        field(record.event_source.as_deref());
        field(record.event_name.as_deref());
        field(record.aws_region.as_deref());
        field(record.recipient_account_id.as_deref());
        field(identity.and_then(|i| i.account_id.as_deref()));
        field(
            identity
                .and_then(|i| i.arn.as_deref())
                .and_then(|arn| arn.split(':').nth(1)),
        );
        field(record.request_parameters.map(|p| p.get()));
        // A create's response names what it made (`resources::created_by_response`): two
        // identical requests create two resources.
        if record.event_name.as_deref().is_some_and(may_create) {
            field(record.response_elements.map(|p| p.get()));
        }
        for resource in record.resources.iter().flatten() {
            field(resource.arn.as_deref());
        }
        let key = xxhash_rust::xxh3::xxh3_128_with_seed(&self.fields, self.seed);
        if self.fields.capacity() > KEEP_FIELDS_BYTES {
            self.fields = Vec::new();
        }
        key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(json: &str) -> Record<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn creates_with_different_responses_are_different_requests() {
        let mut memo = Expansions::default();
        let vpc = |id: &str| {
            format!(
                r#"{{"eventSource":"ec2.amazonaws.com","eventName":"CreateVpc","awsRegion":"us-east-1",
                "requestParameters":{{"cidrBlock":"10.0.0.0/16"}},"responseElements":{{"vpc":{{"vpcId":"{id}"}}}}}}"#
            )
        };
        let mut expanded = 0;
        for json in [vpc("vpc-1"), vpc("vpc-2"), vpc("vpc-1")] {
            memo.get_or_insert_with(&record(&json), || {
                expanded += 1;
                Vec::new()
            });
        }
        assert_eq!(expanded, 2);
    }

    #[test]
    fn the_same_request_is_expanded_once() {
        let mut memo = Expansions::default();
        let a = r#"{"eventSource":"sqs.amazonaws.com","eventName":"SendMessage","awsRegion":"us-east-1",
            "requestParameters":{"queueUrl":"https://sqs.us-east-1.amazonaws.com/1/q"}}"#;
        let other_region = a.replace("\"us-east-1\",", "\"eu-west-1\",");
        let other_queue = a.replace("/1/q", "/1/r");
        let mut expanded = 0;
        for json in [a, a, &other_region, &other_queue, a] {
            memo.get_or_insert_with(&record(json), || {
                expanded += 1;
                Vec::new()
            });
        }
        assert_eq!(expanded, 3);
        assert_eq!((memo.hits, memo.misses), (2, 3));
    }

    #[test]
    fn field_boundaries_count() {
        let mut memo = Expansions::default();
        let a = record(r#"{"eventSource":"ab","eventName":"c"}"#);
        let b = record(r#"{"eventSource":"a","eventName":"bc"}"#);
        assert_ne!(memo.key(&a), memo.key(&b));
    }
}
