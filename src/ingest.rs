//! Ingest: runs source → decode → attribute → map → per-file aggregation on a pool of worker
//! threads and feeds the single [`Aggregator`].
//!
//! One thread lists the source into a bounded queue; `fetch_concurrency` fetchers download whole
//! objects (many for a network source, whose GETs are latency-bound); `threads` workers inflate and
//! parse them (objects are a few MB, so per-object parallelism scales with cores); finished file
//! batches go through a bounded channel to the caller's thread, which merges them. Bounded queues
//! keep memory independent of the number of objects.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::sync::{Arc, Mutex};

use jiff::Timestamp;

use crate::aggregate::{Aggregator, EventId, FileAggregate, FileBatch, ProblemLog};
use crate::attribute::{self, ClusterNames};
use crate::catalog::Catalog;
use crate::decode::{self, DecodeLimits, Item, Record};
use crate::dedup::SeenEvents;
use crate::errors::error_chain;
use crate::map::failure::{self, FailureClass};
use crate::map::{Mapper, Mapping};
use crate::source::{Listing, LogSource, ObjectRef, SourceError};
use crate::stats::InputStats;
use crate::window::TimeWindow;

/// What ingest needs besides the source.
#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub threads: usize,
    /// Objects fetched at once (network sources are latency-bound; local files need no more
    /// than the workers). At most this many fetched bodies, plus the workers' own, are in memory.
    pub fetch_concurrency: usize,
    pub limits: DecodeLimits,
    pub window: TimeWindow,
    pub clusters: ClusterNames,
    pub catalog: Arc<Catalog>,
    /// Hash every object (as stored and decompressed) into `InputStats::objects`.
    pub hash_objects: bool,
    /// Record where each call came from (`--condition-network`); off, nothing is read or kept.
    pub network: bool,
    /// Decompressed objects held at once by all workers (`--memory-budget`).
    pub budget: Arc<decode::MemoryBudget>,
}

enum Message {
    /// A read object and its position in the listing.
    Batch(u64, Box<FileBatch>),
    /// A listing entry after the first `listed` objects.
    Listed(u64, Listing),
    /// The first `listed` objects hold every event before `at`.
    Watermark { listed: u64, at: Timestamp },
}

/// Which objects are done, so a watermark is applied only once every object listed before it has
/// been merged (workers finish out of order). Memory: the objects in flight.
#[derive(Default)]
struct Progress {
    /// Objects `0..done_below` are all merged.
    done_below: u64,
    done_above: std::collections::BTreeSet<u64>,
    watermarks: std::collections::VecDeque<(u64, Timestamp)>,
}

impl Progress {
    fn done(&mut self, seq: u64) {
        self.done_above.insert(seq);
        while self.done_above.remove(&self.done_below) {
            self.done_below += 1;
        }
    }

    /// Whether object `seq` was listed after a watermark not applied yet: the join must not see
    /// its activity before that watermark, or what the watermark retires and forgets would
    /// depend on which worker finished first (a session with no vending in the trail counted
    /// once or twice, a late call still bound to a forgotten binding).
    fn gated(&self, seq: u64) -> bool {
        self.watermarks
            .front()
            .is_some_and(|&(listed, _)| seq >= listed)
    }

    /// The next watermark whose objects are all merged.
    fn ready(&mut self) -> Option<Timestamp> {
        match self.watermarks.front() {
            Some(&(listed, at)) if listed <= self.done_below => {
                self.watermarks.pop_front();
                Some(at)
            }
            _ => None,
        }
    }
}

/// Bounds what the aggregating thread holds back: an object is fetched only if it is at most
/// `ahead` objects past what the sink can take now. For the session join, that is past the last
/// watermark listed before it, until that watermark is applied; for an ordered sink, past the
/// next object it waits for. The objects the sink waits for never wait, so ingest always moves
/// on.
struct ReadAhead {
    frontier: Mutex<Frontier>,
    changed: std::sync::Condvar,
    ahead: u64,
    /// Fetches that had to wait (`IAMTRIM_STATS=1`).
    waited: std::sync::atomic::AtomicU64,
}

/// What the sink can take (`u64::MAX` where it does not bind, and for both once ingest stops,
/// so no fetcher waits forever).
#[derive(Clone, Copy)]
struct Frontier {
    /// Watermarks applied.
    watermarks: u64,
    /// For an ordered sink: objects handed over, in listing order.
    released: u64,
}

impl ReadAhead {
    fn new(ahead: u64, ordered: bool) -> Self {
        let frontier = match ordered {
            false => Frontier {
                watermarks: 0,
                released: u64::MAX,
            },
            true => Frontier {
                watermarks: u64::MAX,
                released: 0,
            },
        };
        Self {
            frontier: Mutex::new(frontier),
            changed: std::sync::Condvar::new(),
            ahead,
            waited: Default::default(),
        }
    }

    /// Waits until object `seq`, listed after `epoch` watermarks the last of which came after
    /// `start` objects, may be fetched.
    fn wait(&self, seq: u64, epoch: u64, start: u64) {
        let may = |f: &Frontier| {
            (seq < start + self.ahead || f.watermarks >= epoch)
                && seq < f.released.saturating_add(self.ahead)
        };
        let mut frontier = self.frontier.lock().unwrap_or_else(|e| e.into_inner());
        if may(&frontier) {
            return;
        }
        self.waited
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        while !may(&frontier) {
            frontier = self
                .changed
                .wait(frontier)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    fn moved(&self, to: impl FnOnce(&mut Frontier)) {
        let mut frontier = self.frontier.lock().unwrap_or_else(|e| e.into_inner());
        to(&mut frontier);
        self.changed.notify_all();
    }
}

/// Lets every fetcher go when ingest stops, however it stops (a panic included).
struct OpenOnDrop<'a>(&'a ReadAhead);

impl Drop for OpenOnDrop<'_> {
    fn drop(&mut self) {
        self.0.moved(|f| {
            *f = Frontier {
                watermarks: u64::MAX,
                released: u64::MAX,
            }
        });
    }
}

/// For an ordered sink: batches that finished before an earlier one, and listing entries
/// (watermarks included) waiting for the objects listed before them. Memory: at most the
/// read-ahead's objects past the next one.
#[derive(Default)]
struct InOrder {
    next: u64,
    batches: std::collections::BTreeMap<u64, Box<FileBatch>>,
    listings: std::collections::VecDeque<(u64, Listing)>,
}

impl InOrder {
    /// Hands over, in listing order, everything whose predecessors have all been handed over.
    fn release(&mut self, sink: &mut dyn BatchSink, stats: &mut InputStats) {
        loop {
            while self
                .listings
                .front()
                .is_some_and(|(listed, _)| *listed <= self.next)
            {
                let (_, listing) = self.listings.pop_front().expect("checked");
                sink.listing(&listing);
                stats.add_listing(listing);
            }
            match self.batches.remove(&self.next) {
                Some(batch) => {
                    sink.batch(*batch);
                    self.next += 1;
                }
                None => return,
            }
        }
    }
}

/// Told of progress as objects are listed and read; the CLI renders it (a bar on a terminal,
/// nothing otherwise). Called from several threads.
pub trait Reporter: Sync {
    fn listed(&self) {}
    fn read(&self, _bytes: u64) {}
    fn finished(&self) {}
}

/// Reports nothing.
pub struct Silent;

impl Reporter for Silent {}

/// Where ingest hands what it read, in listing order as far as watermarks go: the session join
/// ([`Aggregator`]) or, for `iamtrim extract`, the partials stream.
pub trait BatchSink {
    fn batch(&mut self, batch: FileBatch);
    /// Every object listed before this point has been handed over.
    fn watermark(&mut self, at: Timestamp);
    /// A listing entry other than an object or watermark (ignored, unlistable, a note); for an
    /// ordered sink, watermarks too, in their place.
    fn listing(&mut self, _listing: &Listing) {}
    /// Whether batches and listing entries must arrive in listing order (the same bytes for the
    /// same listing, whatever thread finishes first), not as objects finish.
    fn ordered(&self) -> bool {
        false
    }
    /// A partition's join (`extract --join-partition`), for the join to complete.
    fn partition(&mut self, _join: crate::aggregate::PartitionJoin) -> Result<(), String> {
        Err("a partition's join cannot be read here".to_owned())
    }
}

impl BatchSink for Aggregator {
    fn partition(&mut self, join: crate::aggregate::PartitionJoin) -> Result<(), String> {
        self.absorb_partition(join)
    }

    fn batch(&mut self, batch: FileBatch) {
        self.add(batch);
    }

    fn watermark(&mut self, at: Timestamp) {
        self.advance(at);
    }
}

/// Reads every object of `source` into `aggregator`; returns what was read and skipped.
pub fn ingest(
    source: &dyn LogSource,
    config: &IngestConfig,
    aggregator: &mut dyn BatchSink,
    reporter: &dyn Reporter,
) -> Result<InputStats, SourceError> {
    let threads = config.threads.max(1);
    let fetchers = config.fetch_concurrency.max(1);
    let (object_tx, object_rx) = sync_channel::<Listed>(fetchers * 2);
    let (fetched_tx, fetched_rx) = sync_channel::<Fetched>(threads);
    let (message_tx, message_rx) = sync_channel::<Message>(threads * 2);
    let object_rx = Arc::new(Mutex::new(object_rx));
    let fetched_rx = Arc::new(Mutex::new(fetched_rx));
    let mut stats = InputStats::default();
    let seen = SeenEvents::default();
    // Objects fetched past what the sink can take: enough that the workers rarely wait for a
    // slow object, few enough that the batches held back stay a small, fixed number.
    let ahead = ReadAhead::new(2 * (threads + fetchers) as u64, aggregator.ordered());

    std::thread::scope(|scope| {
        let lister_tx = message_tx.clone();
        let lister = scope.spawn(move || list(source, &object_tx, &lister_tx, reporter));
        for _ in 0..fetchers {
            let rx = Arc::clone(&object_rx);
            let tx = fetched_tx.clone();
            let ahead = &ahead;
            scope.spawn(move || fetch(source, &rx, &tx, ahead, reporter));
        }
        drop(fetched_tx);
        for _ in 0..threads {
            let rx = Arc::clone(&fetched_rx);
            let tx = message_tx.clone();
            let seen = &seen;
            scope.spawn(move || work(config, seen, &rx, &tx));
        }
        drop(message_tx);
        let _open = OpenOnDrop(&ahead);
        let mut progress = Progress::default();
        let mut applied = 0;
        let mut order = InOrder::default();
        // Unordered: batches of objects listed after a watermark not applied yet. Memory: at
        // most `ahead` objects' batches past each pending watermark.
        let mut held: std::collections::BTreeMap<u64, Box<FileBatch>> = Default::default();
        let ordered = aggregator.ordered();
        for message in message_rx {
            match message {
                Message::Batch(seq, batch) => {
                    batch.add_to(&mut stats);
                    if ordered {
                        order.batches.insert(seq, batch);
                        progress.done(seq);
                    } else if progress.gated(seq) {
                        held.insert(seq, batch);
                    } else {
                        aggregator.batch(*batch);
                        progress.done(seq);
                    }
                }
                Message::Listed(listed, listing) if ordered => {
                    order.listings.push_back((listed, listing));
                }
                Message::Listed(_, listing) => {
                    aggregator.listing(&listing);
                    stats.add_listing(listing);
                }
                Message::Watermark { listed, at } => {
                    progress.watermarks.push_back((listed, at));
                    if ordered {
                        order.listings.push_back((listed, Listing::Watermark(at)));
                    }
                }
            }
            if ordered {
                order.release(aggregator, &mut stats);
                ahead.moved(|f| f.released = order.next);
            }
            loop {
                while let Some(at) = progress.ready() {
                    if !ordered {
                        aggregator.watermark(at);
                    }
                    seen.expire(at);
                    applied += 1;
                    if !ordered {
                        ahead.moved(|f| f.watermarks = applied);
                    }
                }
                // Held batches the watermarks just applied let through, in listing order.
                let open: Vec<u64> = held
                    .keys()
                    .copied()
                    .take_while(|&seq| !progress.gated(seq))
                    .collect();
                if open.is_empty() {
                    break;
                }
                for seq in open {
                    let batch = held.remove(&seq).expect("listed above");
                    aggregator.batch(*batch);
                    progress.done(seq);
                }
            }
        }
        // Every watermark waits only for objects, and every object is read, so none is held
        // here; should one be, it is merged rather than lost.
        for (_, batch) in std::mem::take(&mut held) {
            aggregator.batch(*batch);
        }
        // Entries listed after the last object.
        order.release(aggregator, &mut stats);
        for (_, listing) in order.listings.drain(..) {
            aggregator.listing(&listing);
            stats.add_listing(listing);
        }
        lister
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    if std::env::var_os("IAMTRIM_STATS").is_some() {
        let waited = ahead.waited.load(std::sync::atomic::Ordering::Relaxed);
        eprintln!("stats: fetches_held_back={waited}");
    }
    reporter.finished();
    stats.finish();
    Ok(stats)
}

fn list(
    source: &dyn LogSource,
    objects: &SyncSender<Listed>,
    messages: &SyncSender<Message>,
    reporter: &dyn Reporter,
) -> Result<(), SourceError> {
    let (mut listed, mut epoch, mut start) = (0, 0, 0);
    source.list(&mut |listing| match listing {
        // A send fails only when every receiver is gone, i.e. the run is already ending.
        Listing::Object(object) => {
            reporter.listed();
            drop(objects.send(Listed {
                seq: listed,
                epoch,
                start,
                object,
            }));
            listed += 1;
        }
        Listing::Watermark(at) => {
            (epoch, start) = (epoch + 1, listed);
            drop(messages.send(Message::Watermark { listed, at }));
        }
        other => drop(messages.send(Message::Listed(listed, other))),
    })
}

/// A listed object: its position in the listing, the number of watermarks listed before it, and
/// the position of the last of them.
struct Listed {
    seq: u64,
    epoch: u64,
    start: u64,
    object: ObjectRef,
}

/// An object's position in the listing, its location, and its body or why it has none.
type Fetched = (u64, ObjectRef, Result<Vec<u8>, SourceError>);

/// Fetches objects (I/O-bound; many of these threads for a network source).
fn fetch(
    source: &dyn LogSource,
    objects: &Mutex<Receiver<Listed>>,
    fetched: &SyncSender<Fetched>,
    ahead: &ReadAhead,
    reporter: &dyn Reporter,
) {
    loop {
        let next = objects.lock().map_or(None, |rx| rx.recv().ok());
        let Some(Listed {
            seq,
            epoch,
            start,
            object,
        }) = next
        else {
            return;
        };
        ahead.wait(seq, epoch, start);
        let body = source.fetch(&object);
        reporter.read(body.as_ref().map_or(0, |b| b.len() as u64));
        if fetched.send((seq, object, body)).is_err() {
            return;
        }
    }
}

/// Inflates and parses fetched objects (CPU-bound; one thread per core).
fn work(
    config: &IngestConfig,
    seen: &SeenEvents,
    fetched: &Mutex<Receiver<Fetched>>,
    messages: &SyncSender<Message>,
) {
    let mut mapper = Mapper::new(Arc::clone(&config.catalog));
    // The inflated JSON of the object being read, its allocation reused from object to object.
    let mut json = Vec::new();
    loop {
        let next = fetched.lock().map_or(None, |rx| rx.recv().ok());
        let Some((seq, object, body)) = next else {
            if std::env::var_os("IAMTRIM_STATS").is_some() {
                let m = &mapper.expansions;
                eprintln!(
                    "iamtrim stats: worker request memo: {} hits, {} misses; scanner: {}",
                    m.hits,
                    m.misses,
                    decode::scan::Kernel::selected().map_or("off", |k| k.name())
                );
            }
            return;
        };
        let batch = read_object(config, seen, &mut mapper, &object, body, &mut json);
        // One oversized object must not keep its buffer for the rest of the run.
        if json.capacity() > KEEP_BUFFER_BYTES {
            json = Vec::new();
        }
        if messages.send(Message::Batch(seq, Box::new(batch))).is_err() {
            return;
        }
    }
}

/// A worker keeps its JSON buffer between objects up to this size (CloudTrail objects are a
/// few MB): outside the memory budget, part of the fixed memory per worker.
const KEEP_BUFFER_BYTES: usize = 16 << 20;

/// Inflates (into `json`) and parses one fetched object. Never fails: problems are part of the
/// batch.
pub fn read_object(
    config: &IngestConfig,
    seen: &SeenEvents,
    mapper: &mut Mapper,
    object: &ObjectRef,
    body: Result<Vec<u8>, SourceError>,
    json: &mut Vec<u8>,
) -> FileBatch {
    let mut fingerprint = None;
    let body = body.inspect(|bytes| {
        if config.hash_objects {
            fingerprint = Some(crate::hash::ObjectFingerprint {
                location: object.location.clone(),
                size: bytes.len() as u64,
                etag: object.etag.clone(),
                sha256: crate::hash::sha256_hex(bytes),
                content_sha256: None,
            });
        }
    });
    let mut batch = parse_object(config, seen, mapper, object, body, json, &mut fingerprint);
    batch.fingerprint = fingerprint;
    batch
}

fn parse_object(
    config: &IngestConfig,
    seen: &SeenEvents,
    mapper: &mut Mapper,
    object: &ObjectRef,
    body: Result<Vec<u8>, SourceError>,
    json: &mut Vec<u8>,
    fingerprint: &mut Option<crate::hash::ObjectFingerprint>,
) -> FileBatch {
    let location = object.location.clone();
    let failed = |reason: String| {
        let mut problems = ProblemLog::default();
        problems.push(location.clone(), reason);
        FileAggregate::default().into_batch(location.clone(), problems)
    };
    let bytes = match body {
        Ok(bytes) => bytes,
        Err(err) => {
            let mut batch = failed(error_chain(&err));
            batch.unread = true;
            return batch;
        }
    };
    if bytes.is_empty() {
        return failed("empty file".to_owned());
    }
    // Held until the object is parsed: the budget counts what every worker holds inflated.
    let _reserved = match decode::inflate_within(bytes, config.limits, &config.budget, json) {
        Ok(reservation) => reservation,
        Err(err) => return failed(error_chain(&err)),
    };
    let json: &[u8] = json;
    if let Some(fingerprint) = fingerprint {
        fingerprint.content_sha256 = Some(crate::hash::sha256_hex(json));
    }

    let mut file = FileAggregate::default();
    let mut problems = ProblemLog::default();
    let result = decode::for_each_record(json, config.limits, &mut |item| {
        file.counts.records += 1;
        let bad = match item {
            Item::Record(record) => process(record, config, seen, mapper, &mut file)
                .err()
                .map(|reason| (record_location(&location, record), reason)),
            Item::Bad { index, reason } => {
                Some((format!("{location}: record {index}"), reason.to_string()))
            }
        };
        if let Some((at, reason)) = bad {
            file.counts.bad_records += 1;
            problems.push(at, reason);
        }
    });
    if let Err(err) = result {
        let read = file.counts.records;
        let reason = if read == 0 {
            error_chain(&err)
        } else {
            format!(
                "{} (after {read} records, which were kept)",
                error_chain(&err)
            )
        };
        problems.push(location.clone(), reason);
    }
    file.into_batch(location, problems)
}

fn record_location(file: &str, record: &Record<'_>) -> String {
    match &record.event_id {
        Some(id) => format!("{file}: eventID {id}"),
        None => file.to_owned(),
    }
}

/// The namespace of `sharedEventID`s in [`SeenEvents`] (beside accounts for `eventID`s).
const SHARED_EVENT: &str = "sharedEventID";

/// Attributes and maps one record into the file's aggregate. An `Err` is a bad record.
fn process<'a>(
    record: &Record<'a>,
    config: &IngestConfig,
    seen: &SeenEvents,
    mapper: &mut Mapper,
    file: &mut FileAggregate<'a>,
) -> Result<(), String> {
    let (at, form) = record.event_time_as_written()?;
    if form == decode::record::TimeForm::Exported {
        file.counts.exported_times += 1;
    }
    if let Some(id) = record.event_id.as_deref() {
        let account = record.recipient_account_id.as_deref().unwrap_or_default();
        if !seen.first_time(account, id, at) {
            file.counts.duplicates += 1;
            return Ok(());
        }
    }
    // Which services' data events the trail records (`observe`, without --trail-config).
    if record.event_category.as_deref() == Some("Data")
        && let Some(source) = record.event_source.as_deref()
    {
        match file.counts.data_events.get_mut(source) {
            Some(n) => *n += 1,
            None => {
                file.counts.data_events.insert(source.to_owned(), 1);
            }
        }
        if source == "s3.amazonaws.com"
            && let Some(bucket) = data_event_bucket(record)
        {
            // Per record: allocate only for a bucket not seen yet in this file.
            match file.counts.data_event_buckets.get_mut(bucket.as_ref()) {
                Some(n) => *n += 1,
                None => {
                    file.counts
                        .data_event_buckets
                        .insert(bucket.into_owned(), 1);
                }
            }
        }
    }
    // One action delivered to several accounts: every copy is read, the call counts once.
    if let Some(shared) = record.shared_event_id.as_deref()
        && !seen.first_time(SHARED_EVENT, shared, at)
    {
        file.counts.shared_copies += 1;
        return Ok(());
    }
    let caller = attribute::classify(record, &config.clusters);
    // Vending events count whatever the window: a session vended before the window starts can
    // still make calls inside it.
    if let Some(vending) = attribute::vending(record, at, caller.as_ref().ok(), &config.clusters) {
        file.vending(vending);
    }
    if !config.window.contains(at) {
        file.counts.outside_window += 1;
        return Ok(());
    }
    let caller = match caller {
        Ok(caller) => caller,
        Err(reason) => {
            *file.counts.not_workload.entry(reason).or_default() += 1;
            return Ok(());
        }
    };
    let (Some(source), Some(name)) = (&record.event_source, &record.event_name) else {
        return Err("record has no eventSource or eventName".to_owned());
    };
    let origin = (
        record.vpc_endpoint_id.as_deref(),
        record.source_ip_address.as_deref(),
    );
    let failure = record.error_code.as_ref().map(|code| {
        let class = failure::classify(source, code, record.error_message.as_deref());
        (class, code.clone())
    });
    // Every workload event counts for attribution coverage, whatever it maps to.
    if matches!(failure, None | Some((FailureClass::AfterAuthorization, _)))
        && is_credential_exchange(source, name, &caller)
    {
        // An AssumeRoleWithWebIdentity that was not refused is authorised by the role's trust
        // policy, not by any permission policy of the workload: it is attribution evidence, not
        // usage.
        file.counts.no_permission += 1;
        file.event(caller, at, None);
        return Ok(());
    }
    let region = crate::policy::regions::bit(record.aws_region.as_deref().unwrap_or_default());
    let event_id = record.event_id.as_deref().and_then(EventId::parse);
    let mapping = mapper.map(source, name);
    let calls = match &*mapping {
        Mapping::Actions(actions, conditionals, implied) => {
            file.counts.mapped += 1;
            Some(mapper.expand(record, actions, conditionals, implied))
        }
        Mapping::NoPermission => {
            file.counts.no_permission += 1;
            None
        }
        Mapping::Unmapped => {
            file.unmapped(source.clone(), name.clone());
            None
        }
    };
    // Where the call came from counts only for calls a permission policy decides.
    let activity = file.event(
        caller,
        at,
        calls.as_ref().filter(|_| config.network).map(|_| origin),
    );
    if let Some(calls) = calls {
        activity.request(&calls, failure, at, region, event_id);
    }
    Ok(())
}

fn is_credential_exchange(source: &str, name: &str, caller: &attribute::Caller<'_>) -> bool {
    source == "sts.amazonaws.com"
        && name == "AssumeRoleWithWebIdentity"
        && matches!(caller, attribute::Caller::ServiceAccount(_))
}

/// The bucket an S3 data event names: its `AWS::S3::Bucket` resource (borrowed), else
/// `bucketName`.
fn data_event_bucket<'r>(record: &'r Record<'_>) -> Option<std::borrow::Cow<'r, str>> {
    let from_resources = record.resources.as_ref().and_then(|resources| {
        resources
            .iter()
            .find(|r| r.kind.as_deref() == Some("AWS::S3::Bucket"))
            .and_then(|r| r.arn.as_deref()?.strip_prefix("arn:")?.split_once(":s3:::"))
            .map(|(_, bucket)| std::borrow::Cow::Borrowed(bucket))
    });
    from_resources.or_else(|| {
        #[derive(serde::Deserialize)]
        struct Request {
            #[serde(rename = "bucketName")]
            bucket_name: Option<String>,
        }
        let raw = record.request_parameters?;
        serde_json::from_str::<Request>(raw.get())
            .ok()?
            .bucket_name
            .map(std::borrow::Cow::Owned)
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::aggregate::{JoinContext, WorkloadKey};
    use crate::source::memory::{FailingSource, MemorySource, role_call};

    pub(crate) const DAY: &str = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/01/";

    pub(crate) fn config() -> IngestConfig {
        IngestConfig {
            threads: 2,
            fetch_concurrency: 2,
            limits: DecodeLimits::default(),
            window: TimeWindow::default(),
            clusters: ClusterNames::default(),
            catalog: Arc::new(Catalog::embedded().unwrap()),
            hash_objects: false,
            network: false,
            budget: Default::default(),
        }
    }

    /// On a memo hit, reading an event allocates nothing: the allocations of a file grow with
    /// its distinct callers and requests, not with its events. Measured as the difference
    /// between a file of N events and one of 2N events of the same requests, after a first file
    /// filled the worker's request memo. The S3 data events carry a `resources` array, as
    /// CloudTrail writes them.
    #[test]
    fn a_memo_hit_allocates_nothing_per_event() {
        let config = config();
        let seen = SeenEvents::default();
        let mut mapper = Mapper::new(Arc::clone(&config.catalog));
        let mut json = Vec::new();
        let object = |prefix: &str, n: usize| {
            let records: Vec<serde_json::Value> = (0..n)
                .map(|i| {
                    let id = format!("{prefix}-{i:08}-0000-4000-8000-000000000000");
                    let time = format!("2026-11-01T06:{:02}:{:02}Z", i / 60 % 60, i % 60);
                    if i % 2 == 0 {
                        send(&id)
                    } else {
                        let key = format!("reports/{}.csv", i % 7);
                        let mut call = role_call(
                            &id,
                            &time,
                            "orders",
                            "s3.amazonaws.com",
                            "GetObject",
                            json!({"bucketName": "orders-reports", "key": key}),
                        );
                        call["eventCategory"] = json!("Data");
                        call["resources"] = json!([
                            {"type": "AWS::S3::Object", "ARN": format!("arn:aws:s3:::orders-reports/{key}")},
                            {"accountId": "111122223333", "type": "AWS::S3::Bucket", "ARN": "arn:aws:s3:::orders-reports"}
                        ]);
                        call
                    }
                })
                .collect();
            serde_json::to_vec(&json!({ "Records": records })).unwrap()
        };
        let mut read = |prefix: &str, n: usize| {
            let bytes = object(prefix, n);
            let at = ObjectRef {
                location: format!("{DAY}{prefix}.json"),
                size: None,
                etag: None,
            };
            let before = crate::alloc_count::allocations();
            let batch = read_object(&config, &seen, &mut mapper, &at, Ok(bytes), &mut json);
            let allocations = crate::alloc_count::allocations() - before;
            assert_eq!(batch.counts.records, n as u64);
            assert!(batch.problems.is_empty(), "{:?}", batch.problems);
            allocations
        };
        read("aaaaaaaa", 1_000);
        let single = read("bbbbbbbb", 1_000);
        let double = read("cccccccc", 2_000);
        let per_event = double.saturating_sub(single) as f64 / 1_000.0;
        eprintln!("allocations: {single} for 1,000 events, {double} for 2,000");
        assert!(
            per_event < 0.02,
            "{per_event} allocations per event ({single} for 1,000 events, {double} for 2,000)"
        );
    }

    fn send(id: &str) -> serde_json::Value {
        role_call(
            id,
            "2026-11-01T06:10:00Z",
            "orders",
            "sqs.amazonaws.com",
            "SendMessage",
            json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/orders"}),
        )
    }

    fn actions(aggregator: Aggregator) -> Vec<(String, String, u64)> {
        let finished = aggregator.finish(&Default::default());
        let mut out = Vec::new();
        for (key, workload) in finished {
            assert_eq!(
                key,
                WorkloadKey::Role("arn:aws:iam::111122223333:role/orders".into())
            );
            for (call, usage) in &workload.calls {
                out.push((
                    call.action.to_string(),
                    call.resource.to_string(),
                    usage.count,
                ));
            }
        }
        out.sort();
        out
    }

    #[test]
    fn a_failed_fetch_is_unread_counted_and_makes_the_result_incomplete() {
        let a = format!("{DAY}a.json.gz");
        let b = format!("{DAY}b.json.gz");
        let source = FailingSource::new(
            MemorySource::new()
                .records(&a, &[send("e1"), send("e2")])
                .records(&b, &[send("e3")]),
        )
        .fail_fetch(&b, "connection reset by peer");
        let mut aggregator = Aggregator::new(JoinContext::default());
        let input = ingest(&source, &config(), &mut aggregator, &Silent).unwrap();
        assert_eq!(input.files, 2);
        assert_eq!(input.counts.records, 2);
        assert_eq!(input.unread, std::slice::from_ref(&b));
        assert_eq!(input.skipped.len(), 1);
        assert_eq!(input.skipped[0].location, b);
        assert!(
            input.skipped[0].reason.contains("connection reset by peer"),
            "{}",
            input.skipped[0].reason
        );
        assert!(input.incomplete());
        assert_eq!(
            actions(aggregator),
            [(
                "sqs:SendMessage".to_owned(),
                "arn:aws:sqs:us-east-1:111122223333:orders".to_owned(),
                2
            )]
        );
    }

    #[test]
    fn bad_records_are_counted_and_located_and_the_rest_is_read() {
        let a = format!("{DAY}a.json.gz");
        let source =
            MemorySource::new().records(&a, &[send("e1"), json!("not a record"), send("e2")]);
        let mut aggregator = Aggregator::new(JoinContext::default());
        let input = ingest(&source, &config(), &mut aggregator, &Silent).unwrap();
        assert_eq!(input.counts.records, 3);
        assert_eq!(input.counts.bad_records, 1);
        assert_eq!(input.skipped.len(), 1);
        assert!(input.skipped[0].location.starts_with(&a));
        assert!(input.unread.is_empty());
        assert_eq!(actions(aggregator)[0].2, 2);
    }

    /// What reaches a sink, in order: object names and watermarks.
    #[derive(Default)]
    struct Recording(Vec<String>);

    impl BatchSink for Recording {
        fn batch(&mut self, batch: FileBatch) {
            let name = batch.location.rsplit('/').next().unwrap_or_default();
            self.0.push(name.to_owned());
        }
        fn watermark(&mut self, at: Timestamp) {
            self.0.push(format!("watermark {at}"));
        }
    }

    /// The last object of a day is slow to fetch, so the next day's object is read first (two
    /// workers), or one worker reads both in a row: either way the join sees the next day's
    /// calls only after the day's watermark. Otherwise a session no vending in the trail
    /// explains, calling on both days, was retired once or twice depending on which worker
    /// finished first (the same trail, two recommendations).
    #[test]
    fn objects_listed_after_a_watermark_reach_the_join_after_it() {
        let today = format!("{DAY}a.json.gz");
        let tomorrow = "AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/b.json.gz";
        let call = |id: &str, time: &str| {
            role_call(
                id,
                time,
                "orders",
                "sqs.amazonaws.com",
                "SendMessage",
                json!({"queueUrl": "https://sqs.us-east-1.amazonaws.com/111122223333/orders"}),
            )
        };
        for (threads, slow) in [(2, 300), (1, 0)] {
            let source = || {
                FailingSource::new(
                    MemorySource::new()
                        .records(&today, &[call("e1", "2026-11-01T06:10:00Z")])
                        .watermark("2026-11-01T22:00:00Z")
                        .records(tomorrow, &[call("e2", "2026-11-02T06:10:00Z")]),
                )
                .slow_fetch(&today, std::time::Duration::from_millis(slow))
            };
            let config = IngestConfig {
                threads,
                ..config()
            };
            let mut sink = Recording::default();
            ingest(&source(), &config, &mut sink, &Silent).unwrap();
            assert_eq!(
                sink.0,
                ["a.json.gz", "watermark 2026-11-01T22:00:00Z", "b.json.gz"],
                "{threads} threads"
            );
            // The session (no vending in the trail) retired at the watermark, then at the end.
            let mut aggregator = Aggregator::new(JoinContext::default());
            ingest(&source(), &config, &mut aggregator, &Silent).unwrap();
            let finished = aggregator.finish(&Default::default());
            let tallies: Vec<(u64, u64)> = finished
                .iter()
                .flat_map(|(_, w)| w.evidence.values().map(|t| (t.sessions, t.events)))
                .collect();
            assert_eq!(tallies, [(2, 2)], "{threads} threads");
        }
    }

    /// While a day's last object is slow, the objects of the next day are fetched only a fixed
    /// number ahead (twice the workers and fetchers), so what the join holds back behind the
    /// watermark, or an ordered sink behind the slow object, stays bounded; everything is still
    /// read, in the same result.
    #[test]
    fn objects_are_fetched_only_a_bounded_number_past_a_pending_watermark() {
        struct Watched {
            inner: MemorySource,
            slow: String,
            /// Fetches started, and how many had started when the slow one returned.
            started: std::sync::atomic::AtomicU64,
            when_slow_returned: std::sync::atomic::AtomicU64,
        }
        impl LogSource for Watched {
            fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
                self.inner.list(each)
            }
            fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
                use std::sync::atomic::Ordering::SeqCst;
                self.started.fetch_add(1, SeqCst);
                if object.location == self.slow {
                    std::thread::sleep(std::time::Duration::from_millis(500));
                    self.when_slow_returned
                        .store(self.started.load(SeqCst), SeqCst);
                }
                self.inner.fetch(object)
            }
        }
        /// An ordered sink (as `iamtrim extract`'s), holding back every object that finished
        /// before an earlier one.
        struct Ordered<'a>(&'a mut Aggregator);
        impl BatchSink for Ordered<'_> {
            fn batch(&mut self, batch: FileBatch) {
                self.0.add(batch);
            }
            fn watermark(&mut self, _at: Timestamp) {}
            fn ordered(&self) -> bool {
                true
            }
        }
        let today = format!("{DAY}a.json.gz");
        let source = || {
            let mut inner = MemorySource::new()
                .records(&today, &[send("e0")])
                .watermark("2026-11-01T22:00:00Z");
            for n in 1..=60 {
                let key =
                    format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/11/02/{n}.json.gz");
                inner = inner.records(&key, &[send(&format!("e{n}"))]);
            }
            Watched {
                inner,
                slow: today.clone(),
                started: Default::default(),
                when_slow_returned: Default::default(),
            }
        };
        let config = IngestConfig {
            threads: 2,
            fetch_concurrency: 4,
            ..config()
        };
        for ordered in [false, true] {
            let source = source();
            let mut aggregator = Aggregator::new(JoinContext::default());
            let input = if ordered {
                ingest(&source, &config, &mut Ordered(&mut aggregator), &Silent)
            } else {
                ingest(&source, &config, &mut aggregator, &Silent)
            }
            .unwrap();
            assert_eq!(input.counts.records, 61);
            assert_eq!(actions(aggregator)[0].2, 61);
            // The slow object, 12 objects ahead (2 × (2 workers + 4 fetchers)) and the
            // fetchers that took one more object and wait.
            let started = source
                .when_slow_returned
                .load(std::sync::atomic::Ordering::SeqCst);
            assert!(
                started <= 1 + 12 + 4,
                "ordered {ordered}: {started} fetches started"
            );
        }
    }

    #[test]
    fn a_redelivered_event_counts_once_and_a_listing_failure_is_reported() {
        let a = format!("{DAY}a.json.gz");
        let b = format!("{DAY}b.json.gz");
        let source = FailingSource::new(
            MemorySource::new()
                .records(&a, &[send("e1")])
                .records(&b, &[send("e1")])
                .watermark("2026-11-01T22:00:00Z"),
        );
        let mut aggregator = Aggregator::new(JoinContext::default());
        let input = ingest(&source, &config(), &mut aggregator, &Silent).unwrap();
        assert_eq!(input.counts.duplicates, 1);
        assert_eq!(actions(aggregator)[0].2, 1);

        let failing = FailingSource::new(MemorySource::new().records(&a, &[send("e1")]))
            .fail_listing_after(0, "AccessDenied");
        let mut aggregator = Aggregator::new(JoinContext::default());
        let err = ingest(&failing, &config(), &mut aggregator, &Silent).unwrap_err();
        assert_eq!(err.to_string(), "listing: AccessDenied");
    }
}
