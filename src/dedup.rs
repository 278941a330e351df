//! Duplicate events: CloudTrail delivers at least once, trails overlap, and the same object can be
//! copied under two prefixes. An event is counted once per `eventID` (with its account); later
//! copies are counted as duplicates and reported.
//!
//! Workers on several threads check the same set, so it is sharded behind mutexes; the first copy
//! processed wins (copies are identical, so which one does not matter). Each entry is a 128-bit
//! hash of the account and the ID, kept under the hour of the event's `eventTime`: copies of an
//! event carry the same `eventTime`, so only that hour's set is looked in. The sets being looked in
//! are small (a trail's events of one hour, over 16 shards) and stay in cache, where one set of
//! every remembered ID missed the cache on nearly every event. Memory follows the events of the
//! dedup horizon: hours older than a day before the watermark are dropped whole when the source's
//! watermark advances (copies of an event are delivered within the same day's folders); without
//! watermarks (flat folders, single files) every ID of the run is kept.

use foldhash::{HashMap, HashMapExt, HashSet};
use std::hash::{BuildHasher, Hasher};
use std::sync::Mutex;

use jiff::{SignedDuration, Timestamp};

const SHARDS: usize = 16;

/// How long before the watermark an event ID is still remembered.
const HORIZON: SignedDuration = SignedDuration::from_hours(26);

const HOUR: i64 = 3600;

/// One shard: event keys by the hour of their `eventTime` (seconds since the epoch / 3600).
type Hours = HashMap<i64, HashSet<u128>>;

pub struct SeenEvents {
    shards: Vec<Mutex<Hours>>,
    /// Two independently seeded hashers: the key is both halves.
    hashers: [foldhash::quality::RandomState; 2],
}

impl Default for SeenEvents {
    fn default() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::new(HashMap::new())).collect(),
            hashers: Default::default(),
        }
    }
}

impl SeenEvents {
    /// Records the event; false if it was seen before (a duplicate).
    pub fn first_time(&self, account: &str, event_id: &str, at: Timestamp) -> bool {
        let key = self.key(account, event_id);
        let shard = (key as usize) % SHARDS;
        let Ok(mut seen) = self.shards[shard].lock() else {
            // A worker panicked holding the lock; counting the event is the safe side.
            return true;
        };
        let hour = at.as_second().div_euclid(HOUR);
        seen.entry(hour).or_default().insert(key)
    }

    /// Forgets the hours that ended before the horizon before `watermark`.
    pub fn expire(&self, watermark: Timestamp) {
        let oldest = (watermark - HORIZON).as_second();
        for shard in &self.shards {
            if let Ok(mut seen) = shard.lock() {
                seen.retain(|hour, _| (hour + 1) * HOUR > oldest);
            }
        }
    }

    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().map_or(0, |s| s.values().map(HashSet::len).sum()))
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn key(&self, account: &str, event_id: &str) -> u128 {
        let half = |hasher: &foldhash::quality::RandomState, salt: u8| {
            let mut h = hasher.build_hasher();
            h.write_u8(salt);
            h.write(account.as_bytes());
            h.write_u8(0xff);
            h.write(event_id.as_bytes());
            h.finish()
        };
        (u128::from(half(&self.hashers[0], 1)) << 64) | u128::from(half(&self.hashers[1], 2))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn once_per_id_and_forgotten_past_the_horizon() {
        let seen = SeenEvents::default();
        let t = |h: i64| Timestamp::from_second(h * 3600).unwrap();
        assert!(seen.first_time("1", "e-1", t(1)));
        assert!(!seen.first_time("1", "e-1", t(1)));
        assert!(seen.first_time("2", "e-1", t(1)), "another account");
        assert!(seen.first_time("1", "e-2", t(30)));
        seen.expire(t(28));
        assert_eq!(seen.len(), 1);
        assert!(!seen.first_time("1", "e-2", t(30)));
    }
}
