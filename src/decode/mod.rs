//! Decode: bytes of one log object → CloudTrail records, handed one at a time to a callback.
//!
//! Accepted layouts (all seen in real exports, see ../shared/data/cloudtrail-real/SOURCES.md):
//! the S3 delivery format `{"Records":[...]}`, a top-level JSON array of events, and NDJSON (one
//! event per line, extra keys such as Logstash's `@timestamp` ignored); each optionally gzipped.
//!
//! Records are never collected: the container is walked with a serde visitor and each element is
//! first taken as a `&RawValue` (a skip-scan), then deserialized into the borrowed [`Record`]. The
//! two steps let one malformed record be reported by index while the rest of the file still counts.

mod gzip;
mod lazy;
pub mod record;
pub mod scan;

use std::fmt;

use serde::de::{
    self, DeserializeSeed, Deserializer as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::value::RawValue;

pub mod budget;

pub use budget::{MemoryBudget, Reservation};
pub use gzip::is_gzip;
pub use record::Record;

/// Limits that keep one hostile object from exhausting memory.
#[derive(Debug, Clone, Copy)]
pub struct DecodeLimits {
    /// Largest decompressed object accepted, in bytes.
    pub max_object_bytes: u64,
    /// Largest single record accepted, in bytes of JSON.
    pub max_record_bytes: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        // CloudTrail objects are a few MB and records rarely exceed 100 KB; these caps leave
        // two orders of magnitude of headroom.
        Self {
            max_object_bytes: 1 << 30,
            max_record_bytes: 16 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    #[error("corrupt or truncated gzip data")]
    Gzip {
        #[source]
        source: std::io::Error,
    },
    #[error(
        "decompressed size exceeds {} of {limit} bytes ({})",
        if *budget { "the memory budget" } else { "the limit" },
        if *budget { "--memory-budget" } else { "possible decompression bomb" }
    )]
    TooLarge {
        limit: u64,
        /// The memory budget, smaller than `--max-object-bytes`, is the limit.
        budget: bool,
    },
    #[error("empty file")]
    Empty,
    #[error("not JSON (first byte {0:#04x})")]
    NotJson(u8),
    #[error("invalid JSON")]
    Json {
        #[source]
        source: serde_json::Error,
    },
    #[error("CloudTrail digest file, not a log file")]
    Digest,
    #[error("JSON object without a \"Records\" array")]
    NoRecords,
}

/// Why one record could not be used; reported with its index in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BadRecord {
    Malformed(String),
    MissingField(&'static str),
    TooLarge { size: usize, limit: usize },
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(reason) => {
                write!(f, "record is not a valid CloudTrail event: {reason}")
            }
            Self::MissingField(field) => write!(f, "record has no {field}"),
            Self::TooLarge { size, limit } => write!(
                f,
                "record of {size} bytes exceeds the limit of {limit} bytes (--max-record-bytes)"
            ),
        }
    }
}

/// Which layout a file turned out to have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    RecordsWrapper,
    Array,
    JsonLines,
}

/// What the callback receives for each element of the container.
pub enum Item<'a, 'r> {
    Record(&'r Record<'a>),
    Bad { index: usize, reason: BadRecord },
}

/// Inflates when gzipped, otherwise returns the bytes as they are.
pub fn inflate_if_gzip(bytes: Vec<u8>, limits: DecodeLimits) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    inflate_if_gzip_into(bytes, limits, &mut out)?;
    Ok(out)
}

/// [`inflate_if_gzip`] into `out`, reusing its allocation when the bytes are gzipped (see
/// [`gzip::inflate_into`]); bytes that are not gzipped become `out`.
pub fn inflate_if_gzip_into(
    bytes: Vec<u8>,
    limits: DecodeLimits,
    out: &mut Vec<u8>,
) -> Result<(), DecodeError> {
    if is_gzip(&bytes) {
        gzip::inflate_into(&bytes, limits.max_object_bytes, out)
    } else if bytes.len() as u64 > limits.max_object_bytes {
        Err(DecodeError::TooLarge {
            limit: limits.max_object_bytes,
            budget: false,
        })
    } else {
        *out = bytes;
        Ok(())
    }
}

/// [`inflate_if_gzip_into`] within `budget`: the object's decompressed size is reserved before
/// it is inflated and held until the returned reservation is dropped (when the object is
/// parsed). See [`budget`] for how the size is known first.
pub fn inflate_within<'b>(
    bytes: Vec<u8>,
    limits: DecodeLimits,
    budget: &'b MemoryBudget,
    out: &mut Vec<u8>,
) -> Result<Reservation<'b>, DecodeError> {
    let by_budget = budget.total() < limits.max_object_bytes;
    let cap = limits.max_object_bytes.min(budget.total());
    let too_large = |err| match err {
        DecodeError::TooLarge { limit, .. } => DecodeError::TooLarge {
            limit,
            budget: by_budget,
        },
        other => other,
    };
    if !is_gzip(&bytes) {
        if bytes.len() as u64 > cap {
            return Err(too_large(DecodeError::TooLarge {
                limit: cap,
                budget: by_budget,
            }));
        }
        let reservation = budget.reserve(bytes.len() as u64);
        *out = bytes;
        return Ok(reservation);
    }
    let hint = gzip::size_hint(&bytes);
    let size = if hint == 0 || hint > cap {
        gzip::inflated_size(&bytes, cap).map_err(too_large)?
    } else {
        hint
    };
    let reservation = budget.reserve(size);
    match gzip::inflate_into(&bytes, size, out) {
        Err(DecodeError::TooLarge { .. }) => {
            // The trailer was wrong (several members, or a lie): measure, then reserve that.
            drop(reservation);
            out.clear();
            out.shrink_to(KEEP_AFTER_MISS);
            let size = gzip::inflated_size(&bytes, cap).map_err(too_large)?;
            let reservation = budget.reserve(size);
            gzip::inflate_into(&bytes, size, out).map_err(too_large)?;
            Ok(reservation)
        }
        Err(other) => Err(other),
        Ok(()) => Ok(reservation),
    }
}

/// What a worker's buffer keeps after an object whose trailer understated its size.
const KEEP_AFTER_MISS: usize = 16 << 20;

/// Walks every record of a decompressed object. On a container-level error the records already
/// handed to `each` stay handed: the caller reports the file as partly read.
///
/// A `{"Records":[...]}` object in valid UTF-8 is first walked by the structural scanner
/// ([`scan`], [`lazy`]), which builds each record without serde. Where that walk stops (anything
/// it does not read exactly as serde_json would, bad input included), the passes below take over
/// from the first element it did not hand over.
///
/// Two passes at most. The fast pass deserializes each record straight from the container (one
/// scan of the bytes). It is taken only when no record can exceed `max_record_bytes` (the whole
/// object is smaller), because it cannot measure records. At the first error it stops, and the
/// careful pass takes over from the record it stopped at: each element is first skipped as raw
/// JSON, so one malformed record is reported by index while the rest of the file still counts.
pub fn for_each_record<'a>(
    json: &'a [u8],
    limits: DecodeLimits,
    each: &mut dyn FnMut(Item<'a, '_>),
) -> Result<Layout, DecodeError> {
    for_each_record_with(json, limits, scan::Kernel::selected(), each)
}

/// [`for_each_record`] with the scanner's kernel given, or without the scanner (`None`: serde_json
/// alone, the reference the tests and the fuzz target compare the scanner with).
#[doc(hidden)]
pub fn for_each_record_with<'a>(
    json: &'a [u8],
    limits: DecodeLimits,
    kernel: Option<scan::Kernel>,
    each: &mut dyn FnMut(Item<'a, '_>),
) -> Result<Layout, DecodeError> {
    let start = json
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .ok_or(DecodeError::Empty)?;
    // serde_json checks every string it borrows is UTF-8 unless told the whole input is: one
    // check of the object is much cheaper than one per string. Invalid UTF-8 is not dropped
    // here: the object is then read as bytes, and serde_json reports it where it occurs.
    let text = std::str::from_utf8(json).ok(); // deliberate: invalid UTF-8 is read as bytes
    let walk = |sink: &mut Sink<'_, 'a>| match text {
        Some(text) => walk(json, start, sink, &|| serde_json::de::StrRead::new(text)),
        None => walk(json, start, sink, &|| serde_json::de::SliceRead::new(json)),
    };
    let mut delivered = 0;
    let mut careful = json.len() > limits.max_record_bytes;
    // The structural scanner and lazy record walk (`scan`, `lazy`), for the S3 delivery wrapper.
    if let (Some(text), Some(kernel)) = (text, kernel)
        && json[start] == b'{'
    {
        let mut sink = Sink {
            each: &mut *each,
            limits,
            index: 0,
            skip_below: 0,
            fast: true,
        };
        match lazy::walk(text, &mut sink, kernel) {
            lazy::Outcome::Done => return Ok(Layout::RecordsWrapper),
            lazy::Outcome::Stopped {
                delivered: n,
                past_fast_pass,
            } => {
                delivered = n;
                careful |= past_fast_pass;
            }
        }
    }
    if !careful {
        let mut sink = Sink {
            each: &mut *each,
            limits,
            index: 0,
            skip_below: delivered,
            fast: true,
        };
        let fast = walk(&mut sink);
        if fast.is_ok() {
            return fast;
        }
        delivered = sink.index;
    }
    let mut sink = Sink {
        each,
        limits,
        index: 0,
        skip_below: delivered,
        fast: false,
    };
    walk(&mut sink)
}

/// Walks the container with deserializers over `read()` (the same bytes, as `str` or slice).
fn walk<'a, R: serde_json::de::Read<'a>>(
    json: &'a [u8],
    start: usize,
    sink: &mut Sink<'_, 'a>,
    read: &dyn Fn() -> R,
) -> Result<Layout, DecodeError> {
    match json[start] {
        b'[' => {
            let mut de = serde_json::Deserializer::new(read());
            de.deserialize_seq(RecordsVisitor { sink: &mut *sink })
                .map_err(json_error)?;
            de.end().map_err(json_error)?;
            Ok(Layout::Array)
        }
        b'{' => walk_objects(sink, read),
        other => Err(DecodeError::NotJson(other)),
    }
}

fn json_error(source: serde_json::Error) -> DecodeError {
    DecodeError::Json { source }
}

struct Sink<'e, 'a> {
    each: &'e mut dyn FnMut(Item<'a, '_>),
    limits: DecodeLimits,
    /// Elements of the container seen so far.
    index: usize,
    /// Elements below this index were handed over by an earlier pass: skipped, not repeated.
    skip_below: usize,
    /// Deserialize records straight from the container (the fast pass).
    fast: bool,
}

impl<'a> Sink<'_, 'a> {
    /// A record deserialized by the fast pass.
    fn record(&mut self, record: &Record<'a>) {
        let index = self.index;
        self.index += 1;
        match record.missing_required_field() {
            None => (self.each)(Item::Record(record)),
            Some(field) => (self.each)(Item::Bad {
                index,
                reason: BadRecord::MissingField(field),
            }),
        }
    }

    /// One element of the container, as raw JSON (the careful pass).
    fn element(&mut self, raw: &'a RawValue) {
        let index = self.index;
        self.index += 1;
        if index < self.skip_below {
            return;
        }
        let text = raw.get();
        if text.len() > self.limits.max_record_bytes {
            (self.each)(Item::Bad {
                index,
                reason: BadRecord::TooLarge {
                    size: text.len(),
                    limit: self.limits.max_record_bytes,
                },
            });
            return;
        }
        if !text.starts_with('{') {
            let reason = BadRecord::Malformed(format!("not a JSON object but {}", json_kind(text)));
            (self.each)(Item::Bad { index, reason });
            return;
        }
        match serde_json::from_str::<Record<'a>>(text) {
            Ok(record) => match record.missing_required_field() {
                None => (self.each)(Item::Record(&record)),
                Some(field) => (self.each)(Item::Bad {
                    index,
                    reason: BadRecord::MissingField(field),
                }),
            },
            Err(err) => {
                let reason = BadRecord::Malformed(strip_position(&err));
                (self.each)(Item::Bad { index, reason });
            }
        }
    }
}

/// At most `max` bytes of `text`, cut at a character boundary, for messages.
/// What kind of JSON value `text` is, without repeating it: a record's text can hold secrets.
fn json_kind(text: &str) -> &'static str {
    match text.as_bytes().first() {
        Some(b'"') => "a string",
        Some(b'[') => "an array",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// serde_json's messages end in "at line 1 column N" relative to the record; the record index is
/// the useful location, so the position is dropped. A value quoted in the message (`invalid type:
/// string "…"`) is dropped too: it comes from the record and could be a secret.
pub fn strip_position(err: &serde_json::Error) -> String {
    let text = err.to_string();
    let text = match text.find(" at line ") {
        Some(cut) => &text[..cut],
        None => text.as_str(),
    };
    match (text.find('"'), text.rfind('"')) {
        (Some(open), Some(close)) if close > open => {
            format!("{}…{}", &text[..open], &text[close + 1..])
        }
        _ => text.to_owned(),
    }
}

/// A file starting with `{`: either the S3 delivery wrapper (one object with `Records`), a digest
/// file, a single event, or NDJSON (several objects).
fn walk_objects<'a, R: serde_json::de::Read<'a>>(
    sink: &mut Sink<'_, 'a>,
    read: &dyn Fn() -> R,
) -> Result<Layout, DecodeError> {
    let mut de = serde_json::Deserializer::new(read());
    let shape = de
        .deserialize_map(ObjectVisitor { sink: &mut *sink })
        .map_err(json_error)?;
    if shape == ObjectShape::Wrapper {
        // `end` only peeks, so several wrappers back to back are walked one after another.
        while de.end().is_err() {
            let next = de
                .deserialize_map(ObjectVisitor { sink: &mut *sink })
                .map_err(json_error)?;
            if next != ObjectShape::Wrapper {
                return Err(DecodeError::NoRecords);
            }
        }
        return Ok(Layout::RecordsWrapper);
    }
    if de.end().is_ok() {
        return match shape {
            ObjectShape::Digest => Err(DecodeError::Digest),
            ObjectShape::Event => {
                let mut de = serde_json::Deserializer::new(read());
                let raw =
                    <&RawValue as serde::Deserialize>::deserialize(&mut de).map_err(json_error)?;
                sink.element(raw);
                Ok(Layout::JsonLines)
            }
            ObjectShape::Wrapper | ObjectShape::Other => Err(DecodeError::NoRecords),
        };
    }
    // NDJSON: every value is one event.
    for raw in serde_json::Deserializer::new(read()).into_iter::<&RawValue>() {
        sink.element(raw.map_err(json_error)?);
    }
    Ok(Layout::JsonLines)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectShape {
    Wrapper,
    Digest,
    Event,
    Other,
}

struct ObjectVisitor<'s, 'e, 'a> {
    sink: &'s mut Sink<'e, 'a>,
}

impl<'de: 'a, 'a> Visitor<'de> for ObjectVisitor<'_, '_, 'a> {
    type Value = ObjectShape;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a CloudTrail log object")
    }

    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<ObjectShape, M::Error> {
        let mut shape = ObjectShape::Other;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match key.as_ref() {
                "Records" => {
                    map.next_value_seed(RecordsSeed {
                        sink: &mut *self.sink,
                    })?;
                    shape = ObjectShape::Wrapper;
                }
                "logFiles" | "digestStartTime" | "previousDigestSignature"
                    if shape == ObjectShape::Other =>
                {
                    map.next_value::<IgnoredAny>()?;
                    shape = ObjectShape::Digest;
                }
                "eventName" | "eventSource" | "eventTime" if shape == ObjectShape::Other => {
                    map.next_value::<IgnoredAny>()?;
                    shape = ObjectShape::Event;
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(shape)
    }
}

struct RecordsSeed<'s, 'e, 'a> {
    sink: &'s mut Sink<'e, 'a>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for RecordsSeed<'_, '_, 'a> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(RecordsVisitor { sink: self.sink })
    }
}

struct RecordsVisitor<'s, 'e, 'a> {
    sink: &'s mut Sink<'e, 'a>,
}

impl<'de: 'a, 'a> Visitor<'de> for RecordsVisitor<'_, '_, 'a> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of CloudTrail records")
    }

    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        if self.sink.fast {
            // Elements the scanner handed over already.
            while self.sink.index < self.sink.skip_below {
                if seq.next_element::<IgnoredAny>()?.is_none() {
                    return Ok(());
                }
                self.sink.index += 1;
            }
            while seq
                .next_element_seed(FastRecord {
                    sink: &mut *self.sink,
                })?
                .is_some()
            {}
        } else {
            while let Some(raw) = seq.next_element::<&'de RawValue>()? {
                self.sink.element(raw);
            }
        }
        Ok(())
    }
}

/// Deserializes one record in place and hands it to the sink (the fast pass).
struct FastRecord<'s, 'e, 'a> {
    sink: &'s mut Sink<'e, 'a>,
}

impl<'de: 'a, 'a> DeserializeSeed<'de> for FastRecord<'_, '_, 'a> {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        let record = <Record<'de> as serde::Deserialize>::deserialize(deserializer)?;
        self.sink.record(&record);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gz(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    /// Within a budget: an object is inflated whole whether its trailer gives its size or
    /// understates it (several members); a trailer that lies is corrupt gzip, found without
    /// reserving what it claims; an object larger than the budget is refused as over the
    /// budget, without being inflated into memory.
    #[test]
    fn objects_are_inflated_within_the_budget_and_larger_ones_refused() {
        let budget = MemoryBudget::new(1_000_000);
        let limits = DecodeLimits::default();
        let data: Vec<u8> = (0..600_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let mut members = gz(&data[..1_000]);
        members.extend(gz(&data[1_000..]));
        let mut lying = gz(&data);
        let end = lying.len() - 4;
        lying[end..].copy_from_slice(&10u32.to_le_bytes());
        let mut boasting = gz(&data);
        boasting[end..].copy_from_slice(&u32::MAX.to_le_bytes());
        for (name, object) in [("exact", gz(&data)), ("members", members)] {
            let held = inflate_within(object, limits, &budget, &mut out).unwrap();
            assert!(out == data, "{name}");
            drop(held);
        }
        for object in [lying, boasting] {
            let err = inflate_within(object, limits, &budget, &mut out).unwrap_err();
            assert!(matches!(err, DecodeError::Gzip { .. }), "{err}");
        }
        assert!(budget.peak() <= 600_001, "{}", budget.peak());
        let bomb = gz(&vec![b' '; 3_000_000]);
        let mut out = Vec::new();
        let err = inflate_within(bomb, limits, &budget, &mut out).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decompressed size exceeds the memory budget of 1000000 bytes (--memory-budget)"
        );
        assert!(out.capacity() < 1_000_000, "{}", out.capacity());
        let plain = vec![b'{'; 1_000_001];
        let err = inflate_within(plain, limits, &budget, &mut out).unwrap_err();
        assert!(matches!(err, DecodeError::TooLarge { budget: true, .. }));
        // Under a budget larger than --max-object-bytes, the limit is that flag's.
        let small = DecodeLimits {
            max_object_bytes: 1_000,
            ..limits
        };
        let err = inflate_within(gz(&data), small, &budget, &mut out).unwrap_err();
        assert_eq!(
            err.to_string(),
            "decompressed size exceeds the limit of 1000 bytes (possible decompression bomb)"
        );
    }

    fn names(json: &str) -> (Result<Layout, String>, Vec<String>) {
        let mut seen = Vec::new();
        let layout = for_each_record(json.as_bytes(), DecodeLimits::default(), &mut |item| {
            seen.push(match item {
                Item::Record(r) => r.event_name.as_deref().unwrap_or("?").to_owned(),
                Item::Bad { index, reason } => format!("bad#{index}: {reason}"),
            });
        });
        (layout.map_err(|e| e.to_string()), seen)
    }

    const EVENT: &str = r#"{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}"#;

    #[test]
    fn reads_the_s3_delivery_wrapper() {
        let (layout, seen) = names(&format!(r#"{{"Records":[{EVENT},{EVENT}]}}"#));
        assert_eq!(layout, Ok(Layout::RecordsWrapper));
        assert_eq!(seen, ["GetObject", "GetObject"]);
    }

    #[test]
    fn reads_arrays_and_json_lines() {
        assert_eq!(
            names(&format!("[{EVENT}]")),
            (Ok(Layout::Array), vec!["GetObject".into()])
        );
        let lines = format!("{EVENT}\n{EVENT}\n");
        assert_eq!(names(&lines).1.len(), 2);
        assert_eq!(names(&lines).0, Ok(Layout::JsonLines));
    }

    #[test]
    fn a_bad_record_is_reported_and_the_rest_still_counts() {
        let json = format!(r#"{{"Records":[{EVENT}, 7, {{"eventName":"X"}}, {EVENT}]}}"#);
        let (layout, seen) = names(&json);
        assert_eq!(layout, Ok(Layout::RecordsWrapper));
        assert_eq!(seen[0], "GetObject");
        assert!(
            seen[1].starts_with("bad#1: record is not a valid CloudTrail event"),
            "{}",
            seen[1]
        );
        assert_eq!(seen[2], "bad#2: record has no eventTime");
        assert_eq!(seen[3], "GetObject");
    }

    #[test]
    fn the_fast_and_careful_passes_agree() {
        let json = format!(
            r#"{{"Records":[{EVENT},{{"eventName":"X"}},{EVENT}, {{"eventTime":5}}, {EVENT}]}}"#
        );
        let run = |limits: DecodeLimits| {
            let mut seen = Vec::new();
            for_each_record(json.as_bytes(), limits, &mut |item| {
                seen.push(match item {
                    Item::Record(r) => r.event_name.as_deref().unwrap_or("?").to_owned(),
                    Item::Bad { index, reason } => format!("bad#{index}: {reason}"),
                });
            })
            .unwrap();
            seen
        };
        let fast_then_careful = run(DecodeLimits::default());
        // An object larger than the record limit is read by the careful pass alone.
        let careful = run(DecodeLimits {
            max_record_bytes: json.len() - 1,
            ..DecodeLimits::default()
        });
        assert_eq!(fast_then_careful, careful);
        assert_eq!(fast_then_careful.len(), 5);
        assert_eq!(fast_then_careful[1], "bad#1: record has no eventTime");
        assert!(fast_then_careful[3].starts_with("bad#3: record is not a valid"));
    }

    #[test]
    fn invalid_utf8_is_a_file_error_after_the_records_before_it() {
        let mut json = format!(r#"{{"Records":[{EVENT},"#).into_bytes();
        json.extend_from_slice(b"{\"eventName\":\"\xff\"}");
        json.extend_from_slice(format!(",{EVENT}]}}").as_bytes());
        let mut seen = Vec::new();
        let result = for_each_record(&json, DecodeLimits::default(), &mut |item| {
            seen.push(matches!(item, Item::Record(_)));
        });
        assert!(
            matches!(result, Err(DecodeError::Json { .. })),
            "{result:?}"
        );
        assert_eq!(seen, [true]);
    }

    #[test]
    fn container_errors() {
        assert_eq!(names("  ").0, Err("empty file".into()));
        assert_eq!(
            names(r#"{"foo": 1}"#).0,
            Err("JSON object without a \"Records\" array".into())
        );
        assert_eq!(
            names(r#"{"digestStartTime":"x","logFiles":[]}"#).0,
            Err("CloudTrail digest file, not a log file".into())
        );
        assert_eq!(names(r#"{"Records":[{"#).0, Err("invalid JSON".into()));
        assert_eq!(names("hello").0, Err("not JSON (first byte 0x68)".into()));
    }
}
