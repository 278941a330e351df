//! Past one machine (#24): the trail split into partials that any number of machines compute,
//! and joined by one. `iamtrim list` writes a trail's listing as a stream of lines, `iamtrim
//! extract` reads any slice of those lines and writes each object's pre-aggregated batch (the
//! same per-object work as `recommend`: decode, dedup, attribute, map, resources), and
//! `recommend --partials` replays the batches, in stream order, into the session join and the
//! rest of the pipeline. `list | extract | recommend --partials` is `recommend`, byte for byte;
//! `spark/recommend.py` runs the extracts on Spark executors.

pub mod wire;

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::sync::Mutex;

use jiff::Timestamp;

use crate::aggregate::FileBatch;
use crate::aws::AwsOptions;
use crate::ingest::BatchSink;
use crate::source::s3::S3Source;
use crate::source::{LayoutFilter, Listing, LogSource, ObjectRef, SourceError};
use crate::stats::InputStats;
use crate::window::TimeWindow;
use wire::{Batch, Line, SessionNamer};

/// The environment variable holding the secret that keys session names (the same for every
/// extract of one run; `spark/recommend.py` draws one per run).
pub const KEY_VARIABLE: &str = "IAMTRIM_PARTIALS_KEY";

/// Where a bad line of a stream is reported.
fn line_location(name: &str, number: u64) -> String {
    format!("{name}:{number}")
}

/// Reads stream lines; a line that cannot be read or parsed is an `Err` with its location
/// (`NAME:LINE`) and reason.
pub fn read_lines(
    input: &mut dyn BufRead,
    name: &str,
    each: &mut dyn FnMut(Result<Line, (String, String)>),
) {
    let mut number = 0;
    let mut text = String::new();
    loop {
        text.clear();
        number += 1;
        match input.read_line(&mut text) {
            Ok(0) => return,
            Ok(_) if text.trim().is_empty() => continue,
            Ok(_) => each(serde_json::from_str::<Line>(text.trim_end()).map_err(|e| {
                (
                    line_location(name, number),
                    format!(
                        "not an iamtrim.partials/v1 line: {}",
                        crate::decode::strip_position(&e)
                    ),
                )
            })),
            Err(e) => {
                each(Err((
                    line_location(name, number),
                    format!("cannot read: {e}"),
                )));
                return;
            }
        }
    }
}

/// A listing read back from a stream (`iamtrim list`'s output, or a slice of it), whose objects
/// are fetched where they are: files on disk, or S3 (one client per bucket).
pub struct ListedSource {
    input: Mutex<Box<dyn BufRead + Send>>,
    name: String,
    aws: AwsOptions,
    path_style: bool,
    window: TimeWindow,
    buckets: Mutex<BTreeMap<String, std::sync::Arc<S3Source>>>,
}

impl ListedSource {
    pub fn new(
        input: Box<dyn BufRead + Send>,
        name: &str,
        aws: &AwsOptions,
        path_style: bool,
        window: TimeWindow,
    ) -> ListedSource {
        ListedSource {
            input: Mutex::new(input),
            name: name.to_owned(),
            aws: aws.clone(),
            path_style,
            window,
            buckets: Mutex::new(BTreeMap::new()),
        }
    }

    fn bucket(&self, location: &str) -> Result<std::sync::Arc<S3Source>, SourceError> {
        let bucket = location
            .strip_prefix("s3://")
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(source) = buckets.get(bucket) {
            return Ok(std::sync::Arc::clone(source));
        }
        let source = std::sync::Arc::new(S3Source::new(
            &format!("s3://{bucket}"),
            &self.aws,
            self.path_style,
            self.window,
            LayoutFilter::default(),
        )?);
        buckets.insert(bucket.to_owned(), std::sync::Arc::clone(&source));
        Ok(source)
    }
}

impl LogSource for ListedSource {
    fn list(&self, each: &mut dyn FnMut(Listing)) -> Result<(), SourceError> {
        let mut input = self
            .input
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        read_lines(&mut *input, &self.name, &mut |line| {
            let listing = line.and_then(|line| {
                let at = match &line {
                    Line::Batch(batch) => batch.location.clone(),
                    _ => self.name.clone(),
                };
                match line.into_listing() {
                    Ok(Some(listing)) => Ok(listing),
                    Ok(None) => Err((at, "already extracted, not a listing line".to_owned())),
                    Err(reason) => Err((self.name.clone(), reason)),
                }
            });
            each(listing.unwrap_or_else(|(location, reason)| Listing::Failed { location, reason }));
        });
        Ok(())
    }

    fn fetch(&self, object: &ObjectRef) -> Result<Vec<u8>, SourceError> {
        if object.location.starts_with("s3://") {
            self.bucket(&object.location)?.fetch(object)
        } else {
            std::fs::read(&object.location).map_err(|source| SourceError::Io {
                location: object.location.clone(),
                source,
            })
        }
    }
}

/// Writes what ingest hands over as stream lines: each object's batch, and the listing's other
/// lines in their place. The first write error is kept (the stream is then incomplete).
pub struct StreamWriter<W: Write> {
    out: W,
    namer: SessionNamer,
    pub error: Option<std::io::Error>,
}

impl<W: Write> StreamWriter<W> {
    pub fn new(out: W, namer: SessionNamer) -> Self {
        StreamWriter {
            out,
            namer,
            error: None,
        }
    }

    fn line(&mut self, line: &Line) {
        if self.error.is_some() {
            return;
        }
        let result = serde_json::to_writer(&mut self.out, line)
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        if let Err(e) = result {
            self.error = Some(e);
        }
    }

    /// Replaces the access keys a batch holds by their session names (as its line would hold
    /// them), so a join over renamed batches never sees a key.
    fn rename(&self, batch: &mut FileBatch) {
        use crate::attribute::{Caller, VendingKind};
        for vending in &mut batch.vendings {
            vending.access_key = self.namer.name(&vending.access_key).into();
            if let VendingKind::Chained { parent_access_key } = &mut vending.kind {
                *parent_access_key = self.namer.name(parent_access_key).into();
            }
        }
        for (caller, _) in &mut batch.activity {
            if let Caller::Session { access_key, .. } = caller {
                *access_key = self.namer.name(access_key).into();
            }
        }
    }

    /// Flushes; the first error of the whole stream, if any.
    pub fn finish(mut self) -> Result<(), std::io::Error> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.out.flush()
    }
}

impl<W: Write> BatchSink for StreamWriter<W> {
    fn batch(&mut self, batch: FileBatch) {
        let line = Line::Batch(Box::new(Batch::from_batch(&batch, &self.namer)));
        self.line(&line);
    }

    fn watermark(&mut self, at: Timestamp) {
        self.line(&Line::Watermark(at.to_string()));
    }

    /// Listing entries, watermarks included, in their place among the batches.
    fn listing(&mut self, listing: &Listing) {
        self.line(&Line::from_listing(listing));
    }

    fn ordered(&self) -> bool {
        true
    }
}

/// `extract --join-partition`: the session join runs here, over the whole listing slice. Each
/// object's line carries only its counters and problems; the join's result (workload-level
/// activity, the sessions deferred at each watermark, the live state) is one `partition` line
/// at the end, which `recommend --partials` completes in listing order
/// (`Aggregator::absorb_partition`). The driver then reads workload-level rows instead of every
/// session's calls.
pub struct JoinedWriter<W: Write> {
    pub writer: StreamWriter<W>,
    join: crate::aggregate::Aggregator,
}

impl<W: Write> JoinedWriter<W> {
    pub fn new(writer: StreamWriter<W>, context: crate::aggregate::JoinContext) -> Self {
        JoinedWriter {
            writer,
            join: crate::aggregate::Aggregator::for_partition(context),
        }
    }

    /// Writes the partition line and flushes.
    pub fn finish(mut self) -> Result<(), std::io::Error> {
        let partition = wire::WirePartition::from_join(self.join.take_partition());
        self.writer.line(&Line::Partition(Box::new(partition)));
        self.writer.finish()
    }
}

impl<W: Write> BatchSink for JoinedWriter<W> {
    fn batch(&mut self, mut batch: FileBatch) {
        // The join's keys are then hashes of session names keyed with the run's secret.
        self.writer.rename(&mut batch);
        let vendings = std::mem::take(&mut batch.vendings);
        let activity = std::mem::take(&mut batch.activity);
        self.writer.batch(batch);
        self.join.add(FileBatch {
            vendings,
            activity,
            ..FileBatch::default()
        });
    }

    fn watermark(&mut self, at: Timestamp) {
        self.join.advance(at);
    }

    /// Watermarks are applied to the join (the driver applies them with its deferred sessions),
    /// other entries written in their place.
    fn listing(&mut self, listing: &Listing) {
        match listing {
            Listing::Watermark(at) => self.join.advance(*at),
            other => self.writer.listing(other),
        }
    }

    fn ordered(&self) -> bool {
        true
    }
}

/// Writes `source`'s listing as stream lines (`iamtrim list`); the number of objects.
pub fn write_listing(source: &dyn LogSource, out: &mut dyn Write) -> anyhow::Result<u64> {
    let mut objects = 0;
    let mut error = None;
    source.list(&mut |listing| {
        if error.is_some() {
            return;
        }
        if matches!(listing, Listing::Object(_)) {
            objects += 1;
        }
        let result = serde_json::to_writer(&mut *out, &Line::from_listing(&listing))
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n"));
        error = result.err();
    })?;
    if let Some(e) = error {
        return Err(e.into());
    }
    out.flush()?;
    Ok(objects)
}

/// Why a listed object has no batch in a stream.
pub const NOT_EXTRACTED: &str = "listed but not extracted (run `iamtrim extract` on the listing)";

/// Replays a stream of extracted batches into `sink` (the session join), as ingest would have
/// handed them over: batches and listing lines in order, watermarks where they stand. An object
/// line (listed, never extracted) and a line that does not parse are reported as unread. Object
/// hashes are kept only with `hash_objects` (as ingest keeps them only when asked).
pub fn replay(
    input: &mut dyn BufRead,
    name: &str,
    sink: &mut dyn BatchSink,
    hash_objects: bool,
) -> InputStats {
    let mut stats = InputStats::default();
    let failed = |stats: &mut InputStats, location: String, reason: String| {
        stats.add_listing(Listing::Failed { location, reason });
    };
    read_lines(input, name, &mut |line| match line {
        Err((location, reason)) => failed(&mut stats, location, reason),
        Ok(Line::Batch(batch)) => {
            let location = batch.location.clone();
            match batch.into_batch() {
                Ok(mut batch) => {
                    if !hash_objects {
                        batch.fingerprint = None;
                    }
                    batch.add_to(&mut stats);
                    sink.batch(batch);
                }
                Err(reason) => failed(&mut stats, location, format!("bad batch: {reason}")),
            }
        }
        Ok(Line::Object { location, .. }) => failed(&mut stats, location, NOT_EXTRACTED.to_owned()),
        Ok(Line::Partition(partition)) => {
            if let Err(reason) = partition.into_join().and_then(|join| sink.partition(join)) {
                failed(
                    &mut stats,
                    name.to_owned(),
                    format!("bad partition: {reason}"),
                );
            }
        }
        Ok(line) => match line.into_listing() {
            Ok(Some(Listing::Watermark(at))) => sink.watermark(at),
            Ok(Some(listing)) => {
                sink.listing(&listing);
                stats.add_listing(listing);
            }
            Ok(None) => {}
            Err(reason) => failed(&mut stats, name.to_owned(), reason),
        },
    });
    stats.finish();
    stats
}

/// Opens a stream: a file, or stdin for `-`; and the name its lines are reported under.
pub fn open(path: &std::path::Path) -> anyhow::Result<(Box<dyn BufRead + Send>, String)> {
    use anyhow::Context;
    if path.as_os_str() == "-" {
        return Ok((
            Box::new(std::io::BufReader::new(std::io::stdin())),
            "<stdin>".to_owned(),
        ));
    }
    let file = std::fs::File::open(path)
        .map_err(crate::errors::FileError::at("open", path))
        .context("cannot read the partials stream")?;
    Ok((
        Box::new(std::io::BufReader::new(file)),
        path.display().to_string(),
    ))
}
