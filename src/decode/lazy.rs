//! Stage 2 of the fast record decoder: records built straight from the structural positions of
//! [`super::scan`], without serde.
//!
//! The walk reads the S3 delivery wrapper `{"Records":[...]}` and, for each record, exactly the
//! fields of [`Record`]: strings are borrowed from the text (unescaped only when the scanner saw
//! an escape in them), `requestParameters` and `responseElements` are located and kept as text,
//! everything else is skipped. Skipping still checks the grammar: every value's structure, every
//! scalar (`true`, `false`, `null`, numbers), and the scanner has checked every string.
//!
//! The walk never decides what serde_json would reject. At anything it does not handle exactly as
//! serde_json does (an escaped key, a field of an unexpected type, a duplicated field, deep
//! nesting, invalid JSON, another layout), it stops before handing that record over, and the
//! caller gives the rest of the object to the serde path, which reports what is wrong as it
//! always has. So a record handed over here is the record serde_json would have built, and the
//! reports of bad input are serde_json's. `tests` and the fuzz target compare the two paths.

use std::borrow::Cow;

use super::record::{
    Raw, Record, ResourceRef, Resources, SessionContext, SessionIssuer, UserIdentity,
};
use super::scan::{Kernel, Structurals};
use super::{BadRecord, Item, Sink, json_kind};

/// The fast path stopped here; serde_json takes over.
#[derive(Debug)]
pub(super) struct Stop;

/// How far the fast path got through an object.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Every record was handed over and the object ended cleanly.
    Done,
    /// The elements before this index were handed over (records or bad elements).
    /// `past_fast_pass`: serde_json's fast pass would have given up before this point (at an
    /// element that is not an object), so its careful pass takes over, as it would have.
    Stopped {
        delivered: usize,
        past_fast_pass: bool,
    },
}

/// Deeper than this, serde_json's recursion limit (128) could apply: left to it.
const MAX_DEPTH: u32 = 100;

/// Walks a `{"Records":[...]}` object, handing each element to `sink`.
pub(super) fn walk<'a>(text: &'a str, sink: &mut Sink<'_, 'a>, kernel: Kernel) -> Outcome {
    let mut walker = Walker {
        text,
        bytes: text.as_bytes(),
        scan: Structurals::new(text.as_bytes(), kernel),
    };
    let mut past_fast_pass = false;
    match walker.records(sink, &mut past_fast_pass) {
        Ok(()) => Outcome::Done,
        Err(Stop) => Outcome::Stopped {
            delivered: sink.index,
            past_fast_pass,
        },
    }
}

/// A member name as its length and its first and last 8 bytes (zero-padded): compared as three
/// integers instead of with `memcmp`, which matching each name against each field cost. Equal
/// for equal names; for names of at most 16 bytes, also different for different names. The
/// longer field names are checked in full after this matches.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Name(usize, u64, u64);

impl Name {
    const fn of(text: &str) -> Name {
        let bytes = text.as_bytes();
        let len = bytes.len();
        let mut first = 0u64;
        let mut i = 0;
        while i < 8 && i < len {
            first |= (bytes[i] as u64) << (8 * i);
            i += 1;
        }
        if len < 8 {
            return Name(len, first, first);
        }
        let mut last = 0u64;
        let mut j = 0;
        while j < 8 {
            last |= (bytes[len - 8 + j] as u64) << (8 * j);
            j += 1;
        }
        Name(len, first, last)
    }

    #[inline]
    fn read(text: &str) -> Name {
        let bytes = text.as_bytes();
        let len = bytes.len();
        if len >= 8 {
            let word =
                |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap_or_default());
            return Name(len, word(0), word(len - 8));
        }
        let mut padded = [0u8; 8];
        padded[..len].copy_from_slice(bytes);
        let word = u64::from_le_bytes(padded);
        Name(len, word, word)
    }
}

mod names {
    use super::Name;

    pub const EVENT_VERSION: Name = Name::of("eventVersion");
    pub const EVENT_TIME: Name = Name::of("eventTime");
    pub const TIMESTAMP: Name = Name::of("@timestamp");
    pub const EVENT_SOURCE: Name = Name::of("eventSource");
    pub const EVENT_NAME: Name = Name::of("eventName");
    pub const AWS_REGION: Name = Name::of("awsRegion");
    pub const ERROR_CODE: Name = Name::of("errorCode");
    pub const ERROR_MESSAGE: Name = Name::of("errorMessage");
    pub const EVENT_ID: Name = Name::of("eventID");
    pub const EVENT_TYPE: Name = Name::of("eventType");
    pub const EVENT_CATEGORY: Name = Name::of("eventCategory");
    pub const SHARED_EVENT_ID: Name = Name::of("sharedEventID");
    /// 18 bytes: checked in full too.
    pub const RECIPIENT_ACCOUNT_ID: Name = Name::of("recipientAccountId");
    pub const SOURCE_IP_ADDRESS: Name = Name::of("sourceIPAddress");
    pub const VPC_ENDPOINT_ID: Name = Name::of("vpcEndpointId");
    pub const USER_IDENTITY: Name = Name::of("userIdentity");
    /// 17 bytes: checked in full too.
    pub const REQUEST_PARAMETERS: Name = Name::of("requestParameters");
    pub const RESPONSE_ELEMENTS: Name = Name::of("responseElements");
    pub const RESOURCES: Name = Name::of("resources");
    pub const TYPE: Name = Name::of("type");
    pub const ARN: Name = Name::of("arn");
    pub const ACCOUNT_ID: Name = Name::of("accountId");
    pub const ACCESS_KEY_ID: Name = Name::of("accessKeyId");
    pub const USER_NAME: Name = Name::of("userName");
    pub const INVOKED_BY: Name = Name::of("invokedBy");
    pub const IDENTITY_PROVIDER: Name = Name::of("identityProvider");
    pub const SESSION_CONTEXT: Name = Name::of("sessionContext");
    pub const SESSION_ISSUER: Name = Name::of("sessionIssuer");
    pub const RESOURCE_ARN: Name = Name::of("ARN");
}

struct Walker<'a> {
    text: &'a str,
    bytes: &'a [u8],
    scan: Structurals<'a>,
}

/// Fields of one object: each name is matched once; a name seen twice stops the walk.
#[derive(Default)]
struct Seen(u32);

impl Seen {
    fn first(&mut self, field: u32) -> Result<(), Stop> {
        let bit = 1 << field;
        if self.0 & bit != 0 {
            return Err(Stop);
        }
        self.0 |= bit;
        Ok(())
    }
}

impl<'a> Walker<'a> {
    #[inline]
    fn next(&mut self) -> Result<usize, Stop> {
        self.scan.next().ok_or(Stop)
    }

    #[inline]
    fn expect(&mut self, byte: u8) -> Result<usize, Stop> {
        let at = self.next()?;
        if self.bytes[at] == byte {
            Ok(at)
        } else {
            Err(Stop)
        }
    }

    fn records(&mut self, sink: &mut Sink<'_, 'a>, past_fast_pass: &mut bool) -> Result<(), Stop> {
        self.expect(b'{')?;
        let open = self.expect(b'"')?;
        let key = self.name(open)?;
        if key != "Records" {
            return Err(Stop);
        }
        self.expect(b':')?;
        self.expect(b'[')?;
        let mut at = self.next()?;
        if self.bytes[at] != b']' {
            loop {
                self.element(at, sink, past_fast_pass)?;
                let separator = self.next()?;
                match self.bytes[separator] {
                    b',' => at = self.next()?,
                    b']' => break,
                    _ => return Err(Stop),
                }
            }
        }
        self.expect(b'}')?;
        // Nothing after the wrapper but whitespace (several wrappers are the serde path's).
        match self.scan.next() {
            None if self.scan.valid() => Ok(()),
            _ => Err(Stop),
        }
    }

    /// One element of the records array, handed to the sink as serde_json's passes would. An
    /// array is left to them: their fast pass reads it as a record's fields in order.
    fn element(
        &mut self,
        at: usize,
        sink: &mut Sink<'_, 'a>,
        past_fast_pass: &mut bool,
    ) -> Result<(), Stop> {
        let (record, end) = match self.bytes[at] {
            b'{' => {
                let (record, end) = self.record(at)?;
                (Some(record), end)
            }
            b'[' => return Err(Stop),
            _ => {
                *past_fast_pass = true;
                (None, self.skip(at, 0)?)
            }
        };
        let limit = sink.limits.max_record_bytes;
        let reason = if end - at > limit {
            BadRecord::TooLarge {
                size: end - at,
                limit,
            }
        } else if let Some(record) = record {
            sink.record(&record);
            return Ok(());
        } else {
            BadRecord::Malformed(format!(
                "not a JSON object but {}",
                json_kind(&self.text[at..end])
            ))
        };
        let index = sink.index;
        sink.index += 1;
        (sink.each)(Item::Bad { index, reason });
        Ok(())
    }

    /// A member name whose opening quote was the last position handed out, borrowed, or `Stop`
    /// when it holds an escape (serde_json would unescape it before matching it).
    #[inline]
    fn name(&mut self, open: usize) -> Result<&'a str, Stop> {
        let before = self.scan.escapes_before(open);
        let close = self.next()?;
        if self.scan.escapes_before(close) != before {
            return Err(Stop);
        }
        Ok(&self.text[open + 1..close])
    }

    /// The string whose opening quote was the last position handed out, unescaped when it holds
    /// an escape (by serde_json, so an invalid escape is its error).
    #[inline]
    fn string(&mut self, open: usize) -> Result<Cow<'a, str>, Stop> {
        let before = self.scan.escapes_before(open);
        let close = self.next()?;
        if self.scan.escapes_before(close) == before {
            return Ok(Cow::Borrowed(&self.text[open + 1..close]));
        }
        serde_json::from_str::<String>(&self.text[open..=close])
            .map(Cow::Owned)
            .map_err(|_| Stop)
    }

    /// A text field: a string, or `null` for none.
    #[inline]
    fn text_field(&mut self, at: usize) -> Result<Option<Cow<'a, str>>, Stop> {
        match self.bytes[at] {
            b'"' => self.string(at).map(Some),
            b'n' if self.scalar(at)? == at + 4 => Ok(None),
            _ => Err(Stop),
        }
    }

    /// Whether the value at `at` is `null` (checked; it is then fully read).
    #[inline]
    fn null(&mut self, at: usize) -> Result<bool, Stop> {
        if self.bytes[at] != b'n' {
            return Ok(false);
        }
        if self.scalar(at)? == at + 4 {
            Ok(true)
        } else {
            Err(Stop)
        }
    }

    /// The members of the object opened at `open`: `field` is given each name (unescaped names
    /// only) and the position of its value, which it must read whole. Returns the end of the
    /// object.
    #[inline]
    fn object(
        &mut self,
        open: usize,
        mut field: impl FnMut(&mut Self, &'a str, usize) -> Result<(), Stop>,
    ) -> Result<usize, Stop> {
        let mut at = self.next()?;
        if self.bytes[at] == b'}' {
            return Ok(at + 1);
        }
        debug_assert_eq!(self.bytes[open], b'{');
        loop {
            if self.bytes[at] != b'"' {
                return Err(Stop);
            }
            let name = self.name(at)?;
            self.expect(b':')?;
            let value = self.next()?;
            field(self, name, value)?;
            let separator = self.next()?;
            match self.bytes[separator] {
                b',' => at = self.next()?,
                b'}' => return Ok(separator + 1),
                _ => return Err(Stop),
            }
        }
    }

    fn record(&mut self, open: usize) -> Result<(Record<'a>, usize), Stop> {
        let mut record = Record::default();
        let mut seen = Seen::default();
        let end = self.object(open, |w, name, at| {
            let (index, slot) = match Name::read(name) {
                names::EVENT_VERSION => (0, &mut record.event_version),
                names::EVENT_TIME => (1, &mut record.event_time),
                names::TIMESTAMP => (2, &mut record.logstash_timestamp),
                names::EVENT_SOURCE => (3, &mut record.event_source),
                names::EVENT_NAME => (4, &mut record.event_name),
                names::AWS_REGION => (5, &mut record.aws_region),
                names::ERROR_CODE => (6, &mut record.error_code),
                names::ERROR_MESSAGE => (7, &mut record.error_message),
                names::EVENT_ID => (8, &mut record.event_id),
                names::EVENT_TYPE => (9, &mut record.event_type),
                names::EVENT_CATEGORY => (10, &mut record.event_category),
                names::SHARED_EVENT_ID => (11, &mut record.shared_event_id),
                names::RECIPIENT_ACCOUNT_ID if name == "recipientAccountId" => {
                    (12, &mut record.recipient_account_id)
                }
                names::SOURCE_IP_ADDRESS => (13, &mut record.source_ip_address),
                names::VPC_ENDPOINT_ID => (14, &mut record.vpc_endpoint_id),
                names::USER_IDENTITY => {
                    seen.first(15)?;
                    if !w.null(at)? {
                        record.user_identity = Some(w.identity(at)?);
                    }
                    return Ok(());
                }
                names::REQUEST_PARAMETERS if name == "requestParameters" => {
                    seen.first(16)?;
                    record.request_parameters = w.raw(at)?;
                    return Ok(());
                }
                names::RESPONSE_ELEMENTS => {
                    seen.first(17)?;
                    record.response_elements = w.raw(at)?;
                    return Ok(());
                }
                names::RESOURCES => {
                    seen.first(18)?;
                    if !w.null(at)? {
                        record.resources = Some(w.resources(at)?);
                    }
                    return Ok(());
                }
                _ => {
                    w.skip(at, 1)?;
                    return Ok(());
                }
            };
            seen.first(index)?;
            *slot = w.text_field(at)?;
            Ok(())
        })?;
        Ok((record, end))
    }

    /// `requestParameters` or `responseElements`: located, kept as text; `null` is none.
    fn raw(&mut self, at: usize) -> Result<Option<Raw<'a>>, Stop> {
        if self.null(at)? {
            return Ok(None);
        }
        let end = self.skip(at, 1)?;
        Ok(Some(Raw::new(&self.text[at..end])))
    }

    fn identity(&mut self, open: usize) -> Result<UserIdentity<'a>, Stop> {
        if self.bytes[open] != b'{' {
            return Err(Stop);
        }
        let mut identity = UserIdentity::default();
        let mut seen = Seen::default();
        self.object(open, |w, name, at| {
            let (index, slot) = match Name::read(name) {
                names::TYPE => (0, &mut identity.kind),
                names::ARN => (1, &mut identity.arn),
                names::ACCOUNT_ID => (2, &mut identity.account_id),
                names::ACCESS_KEY_ID => (3, &mut identity.access_key_id),
                names::USER_NAME => (4, &mut identity.user_name),
                names::INVOKED_BY => (5, &mut identity.invoked_by),
                names::IDENTITY_PROVIDER => (6, &mut identity.identity_provider),
                names::SESSION_CONTEXT => {
                    seen.first(7)?;
                    if !w.null(at)? {
                        identity.session_context = Some(w.session_context(at)?);
                    }
                    return Ok(());
                }
                _ => {
                    w.skip(at, 2)?;
                    return Ok(());
                }
            };
            seen.first(index)?;
            *slot = w.text_field(at)?;
            Ok(())
        })?;
        Ok(identity)
    }

    fn session_context(&mut self, open: usize) -> Result<SessionContext<'a>, Stop> {
        if self.bytes[open] != b'{' {
            return Err(Stop);
        }
        let mut context = SessionContext::default();
        let mut seen = Seen::default();
        self.object(open, |w, name, at| {
            if Name::read(name) != names::SESSION_ISSUER {
                w.skip(at, 3)?;
                return Ok(());
            }
            seen.first(0)?;
            if w.null(at)? {
                return Ok(());
            }
            if w.bytes[at] != b'{' {
                return Err(Stop);
            }
            let mut issuer = SessionIssuer::default();
            let mut seen = Seen::default();
            w.object(at, |w, name, at| {
                let (index, slot) = match Name::read(name) {
                    names::TYPE => (0, &mut issuer.kind),
                    names::ARN => (1, &mut issuer.arn),
                    _ => {
                        w.skip(at, 4)?;
                        return Ok(());
                    }
                };
                seen.first(index)?;
                *slot = w.text_field(at)?;
                Ok(())
            })?;
            context.session_issuer = Some(issuer);
            Ok(())
        })?;
        Ok(context)
    }

    fn resources(&mut self, open: usize) -> Result<Resources<'a>, Stop> {
        if self.bytes[open] != b'[' {
            return Err(Stop);
        }
        let mut resources = Resources::default();
        let mut at = self.next()?;
        if self.bytes[at] == b']' {
            return Ok(resources);
        }
        loop {
            if self.bytes[at] != b'{' {
                return Err(Stop);
            }
            let mut resource = ResourceRef::default();
            let mut seen = Seen::default();
            self.object(at, |w, name, at| {
                let (index, slot) = match Name::read(name) {
                    names::RESOURCE_ARN => (0, &mut resource.arn),
                    names::TYPE => (1, &mut resource.kind),
                    _ => {
                        w.skip(at, 3)?;
                        return Ok(());
                    }
                };
                seen.first(index)?;
                *slot = w.text_field(at)?;
                Ok(())
            })?;
            resources.push(resource);
            let separator = self.next()?;
            match self.bytes[separator] {
                b',' => at = self.next()?,
                b']' => return Ok(resources),
                _ => return Err(Stop),
            }
        }
    }

    /// Reads the value at `at` whole, checking its grammar; returns its end.
    fn skip(&mut self, at: usize, depth: u32) -> Result<usize, Stop> {
        match self.bytes[at] {
            b'"' => {
                let close = self.next()?;
                Ok(close + 1)
            }
            b'{' => {
                if depth >= MAX_DEPTH {
                    return Err(Stop);
                }
                let mut member = self.next()?;
                if self.bytes[member] == b'}' {
                    return Ok(member + 1);
                }
                loop {
                    if self.bytes[member] != b'"' {
                        return Err(Stop);
                    }
                    self.next()?; // the name's closing quote
                    self.expect(b':')?;
                    let value = self.next()?;
                    self.skip(value, depth + 1)?;
                    let separator = self.next()?;
                    match self.bytes[separator] {
                        b',' => member = self.next()?,
                        b'}' => return Ok(separator + 1),
                        _ => return Err(Stop),
                    }
                }
            }
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(Stop);
                }
                let mut item = self.next()?;
                if self.bytes[item] == b']' {
                    return Ok(item + 1);
                }
                loop {
                    self.skip(item, depth + 1)?;
                    let separator = self.next()?;
                    match self.bytes[separator] {
                        b',' => item = self.next()?,
                        b']' => return Ok(separator + 1),
                        _ => return Err(Stop),
                    }
                }
            }
            b'}' | b']' | b':' | b',' => Err(Stop),
            _ => self.scalar(at),
        }
    }

    /// The scalar starting at `at` (`true`, `false`, `null` or a number, and nothing else up to
    /// the next whitespace, quote or structural character); returns its end.
    fn scalar(&self, at: usize) -> Result<usize, Stop> {
        let rest = &self.bytes[at..];
        let len = rest
            .iter()
            .position(|b| {
                matches!(
                    b,
                    b'"' | b'{' | b'}' | b'[' | b']' | b':' | b',' | b' ' | b'\t' | b'\n' | b'\r'
                )
            })
            .unwrap_or(rest.len());
        let token = &rest[..len];
        if matches!(token, b"true" | b"false" | b"null") || is_number(token) {
            Ok(at + len)
        } else {
            Err(Stop)
        }
    }
}

/// JSON's number grammar: `-? (0 | [1-9][0-9]*) (. [0-9]+)? ([eE] [+-]? [0-9]+)?`.
fn is_number(token: &[u8]) -> bool {
    let mut i = 0;
    let digits = |i: &mut usize| {
        let start = *i;
        while token.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i > start
    };
    if token.get(i) == Some(&b'-') {
        i += 1;
    }
    match token.get(i) {
        Some(b'0') => i += 1,
        Some(b'1'..=b'9') => {
            digits(&mut i);
        }
        _ => return false,
    }
    if token.get(i) == Some(&b'.') {
        i += 1;
        if !digits(&mut i) {
            return false;
        }
    }
    if matches!(token.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(token.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if !digits(&mut i) {
            return false;
        }
    }
    i == token.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Field names compared as integers: each reads as its constant, no two collide, and a
    /// name that differs only in the middle is not taken for a long field name.
    #[test]
    fn names_compare_as_integers() {
        use super::names::*;
        let all = [
            ("eventVersion", EVENT_VERSION),
            ("eventTime", EVENT_TIME),
            ("@timestamp", TIMESTAMP),
            ("eventSource", EVENT_SOURCE),
            ("eventName", EVENT_NAME),
            ("awsRegion", AWS_REGION),
            ("errorCode", ERROR_CODE),
            ("errorMessage", ERROR_MESSAGE),
            ("eventID", EVENT_ID),
            ("eventType", EVENT_TYPE),
            ("eventCategory", EVENT_CATEGORY),
            ("sharedEventID", SHARED_EVENT_ID),
            ("recipientAccountId", RECIPIENT_ACCOUNT_ID),
            ("sourceIPAddress", SOURCE_IP_ADDRESS),
            ("vpcEndpointId", VPC_ENDPOINT_ID),
            ("userIdentity", USER_IDENTITY),
            ("requestParameters", REQUEST_PARAMETERS),
            ("responseElements", RESPONSE_ELEMENTS),
            ("resources", RESOURCES),
            ("type", TYPE),
            ("arn", ARN),
            ("accountId", ACCOUNT_ID),
            ("accessKeyId", ACCESS_KEY_ID),
            ("userName", USER_NAME),
            ("invokedBy", INVOKED_BY),
            ("identityProvider", IDENTITY_PROVIDER),
            ("sessionContext", SESSION_CONTEXT),
            ("sessionIssuer", SESSION_ISSUER),
            ("ARN", RESOURCE_ARN),
        ];
        for (i, (text, name)) in all.iter().enumerate() {
            assert!(Name::read(text) == *name, "{text}");
            for (other, _) in &all[i + 1..] {
                assert!(Name::read(other) != *name, "{text} ~ {other}");
            }
        }
        assert!(Name::read("eventTim") != EVENT_TIME && Name::read("") != TYPE);
        assert!(Name::read("requestPXrameters") == REQUEST_PARAMETERS);
        let json = r#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s","eventName":"n","requestPXrameters":{"a":1}}]}"#;
        agreement::assert_agree(json.as_bytes(), super::super::DecodeLimits::default());
    }

    #[test]
    fn numbers_by_json_grammar() {
        for ok in ["0", "-0", "12", "-1.5", "1e9", "1E+2", "2.5e-3", "10"] {
            assert!(is_number(ok.as_bytes()), "{ok}");
        }
        for bad in [
            "", "-", "01", "1.", ".5", "1e", "1e+", "+1", "0x1", "1.2.3", "--1",
        ] {
            assert!(!is_number(bad.as_bytes()), "{bad}");
        }
    }
}

/// The scanner's walk against serde_json alone: the same items, in the same order, with the same
/// reports, on generated records (valid, odd and broken) and on every real file at hand.
#[cfg(test)]
mod agreement {
    use proptest::prelude::*;

    use super::super::scan::Kernel;
    use super::super::{DecodeLimits, Item, for_each_record_with};

    /// Everything a caller sees: each item (a record's every field, or a bad element's index and
    /// reason) and how the object ended.
    fn seen(json: &[u8], limits: DecodeLimits, kernel: Option<Kernel>) -> Vec<String> {
        let mut out = Vec::new();
        let end = for_each_record_with(json, limits, kernel, &mut |item| {
            out.push(match item {
                Item::Record(record) => format!("{record:?}"),
                Item::Bad { index, reason } => format!("bad #{index}: {reason}"),
            });
        });
        out.push(match end {
            Ok(layout) => format!("{layout:?}"),
            Err(err) => format!("{err:?} / {err}"),
        });
        out
    }

    /// How far the scanner's walk alone gets through `json`.
    fn outcome(json: &[u8], limits: DecodeLimits) -> super::Outcome {
        let text = std::str::from_utf8(json).unwrap();
        let mut each = |_: Item<'_, '_>| {};
        let mut sink = super::Sink {
            each: &mut each,
            limits,
            index: 0,
            skip_below: 0,
            fast: true,
        };
        super::walk(text, &mut sink, Kernel::detected())
    }

    pub(crate) fn assert_agree(json: &[u8], limits: DecodeLimits) {
        let reference = seen(json, limits, None);
        for kernel in Kernel::available() {
            let fast = seen(json, limits, Some(kernel));
            assert_eq!(
                fast,
                reference,
                "{} on {:?}",
                kernel.name(),
                String::from_utf8_lossy(json)
            );
        }
    }

    const RECORD: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::111122223333:assumed-role/app/s","accountId":"111122223333","accessKeyId":"ASIAEXAMPLE","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::111122223333:role/app","accountId":"111122223333","userName":"app"},"webIdFederationData":{},"attributes":{"creationDate":"2024-01-01T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-01-01T00:00:01Z","eventSource":"s3.amazonaws.com","eventName":"GetObject","awsRegion":"us-east-1","sourceIPAddress":"10.0.0.1","userAgent":"aws-sdk-go/1.44","requestParameters":{"bucketName":"b","key":"k\"q","Host":"b.s3.amazonaws.com"},"responseElements":null,"additionalEventData":{"bytesTransferredIn":0,"x-amz-id-2":"abc","ratio":1.5e-3},"requestID":"R","eventID":"e1","readOnly":true,"resources":[{"type":"AWS::S3::Object","ARN":"arn:aws:s3:::b/k"},{"accountId":"111122223333","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::b"}],"eventType":"AwsApiCall","managementEvent":false,"recipientAccountId":"111122223333","vpcEndpointId":"vpce-1","eventCategory":"Data","tlsDetails":{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256"}}"#;

    #[test]
    fn records_as_cloudtrail_writes_them() {
        let json = format!(r#"{{"Records":[{RECORD},{RECORD}]}}"#);
        assert_agree(json.as_bytes(), DecodeLimits::default());
        // Found by the fast path, not handed on: every record of a clean object.
        let mut records = 0;
        let end = for_each_record_with(
            json.as_bytes(),
            DecodeLimits::default(),
            Some(Kernel::detected()),
            &mut |item| records += usize::from(matches!(item, Item::Record(_))),
        );
        assert_eq!(
            (records, end.ok()),
            (2, Some(super::super::Layout::RecordsWrapper))
        );
        assert_eq!(
            outcome(json.as_bytes(), DecodeLimits::default()),
            super::Outcome::Done
        );
        // Where the walk stops, and so where serde_json takes over.
        let stops = [
            (
                r#"{"Records":[7,{"eventName":"a"},{"eventName":5}]}"#,
                2,
                true,
            ),
            (r#"{"Records":[{"eventName":"a"},{"x":01}]}"#, 1, false),
            (r#"{"Records":[{"eventName":"a"}]} x"#, 1, false),
            (r#"{"Records":[{"eventName":"a"},[]]}"#, 1, false),
            (r#"{"other":1,"Records":[]}"#, 0, false),
        ];
        for (json, delivered, past_fast_pass) in stops {
            assert_eq!(
                outcome(json.as_bytes(), DecodeLimits::default()),
                super::Outcome::Stopped {
                    delivered,
                    past_fast_pass
                },
                "{json}"
            );
        }
    }

    #[test]
    fn odd_and_bad_elements_are_reported_as_serde_json_reports_them() {
        let cases = [
            r#"{"Records":[]}"#,
            r#" {"Records" : [ ] } "#,
            r#"{"Records":[7,"x",null,[1],{}]}"#,
            r#"{"Records":[[]33333233]le"}}]}"#,
            r#"{"Records":[[],{"eventName":"a"},["t"],5,[]]}"#,
            r#"{"Records":[{"eventName":"a"},[null,"2024-01-01T00:00:00Z"],7,[]]}"#,
            r#"{"Records":[{"eventTime":5,"eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"eventTime":"t","eventTime":"t","eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"event\u0054ime":"2024-01-01T00:00:00Z","eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"eventTime":"2024-01-01T00:00:00Z","eventSource":"s\u00e9\ud83d\ude00","eventName":"n\ud800"}]}"#,
            r#"{"Records":[{"eventTime":null,"@timestamp":"2024-01-01T00:00:00Z","eventSource":"s","eventName":"n","userIdentity":null,"resources":null,"requestParameters":null,"responseElements":"text"}]}"#,
            r#"{"Records":[{"userIdentity":["AssumedRole"],"eventTime":"t","eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"userIdentity":{"sessionContext":{"sessionIssuer":5}},"eventTime":"t","eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"resources":[{"ARN":"a"},7],"eventTime":"t","eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"x":tru,"eventTime":"t","eventSource":"s","eventName":"n"}]}"#,
            r#"{"Records":[{"x":[1,],"eventTime":"t"}]}"#,
            r#"{"Records":[{"x":{"a" 1}}]}"#,
            r#"{"Records":[{"x":01}]}"#,
            r#"{"Records":[{"x":"a	b"}]}"#,
            r#"{"Records":[{"x":"\q"}]}"#,
            r#"{"Records":[{"eventName":"a"}] , "other": 1}"#,
            r#"{"Records":[{"eventName":"a"}]}{"Records":[{"eventName":"b"}]}"#,
            r#"{"Records":[{"eventName":"a"}]} x"#,
            r#"{"Records":[{"eventName":"a"}"#,
            r#"{"other":1,"Records":[{"eventName":"a"}]}"#,
            r#"{"eventName":"a","eventTime":"t","eventSource":"s"}"#,
            r#"{"Records":[{"eventName":"a"},{"eventName":"b"}}]}"#,
        ];
        for case in cases {
            assert_agree(case.as_bytes(), DecodeLimits::default());
        }
        let deep = format!(
            r#"{{"Records":[{{"x":{}1{}}}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        assert_agree(deep.as_bytes(), DecodeLimits::default());
        // Elements over --max-record-bytes, valid or not, objects or not.
        let limits = DecodeLimits {
            max_record_bytes: 60,
            ..DecodeLimits::default()
        };
        let big = format!(
            r#"{{"Records":[{RECORD},"{}",{{"eventTime":5}},7]}}"#,
            "y".repeat(80)
        );
        assert_agree(big.as_bytes(), limits);
    }

    #[test]
    fn real_trails_read_alike() {
        let shared = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
        if !shared.is_dir() {
            assert!(
                std::env::var_os("IAMTRIM_REQUIRE_TOOLS").is_none(),
                "{} is missing",
                shared.display()
            );
            eprintln!(
                "notice: {} is absent; reading fixtures only",
                shared.display()
            );
        }
        let mut files = Vec::new();
        for root in [
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/data/cloudtrail-real"),
        ] {
            files.extend(
                walkdir::WalkDir::new(root)
                    .into_iter()
                    .filter_map(Result::ok)
                    .filter(|e| e.file_type().is_file())
                    .map(|e| e.into_path())
                    .filter(|p| {
                        let name = p.to_string_lossy();
                        name.ends_with(".json") || name.ends_with(".json.gz")
                    }),
            );
        }
        assert!(files.len() > 20, "{} files", files.len());
        let mut walked = 0;
        for path in &files {
            let bytes = std::fs::read(path).unwrap();
            let Ok(json) = super::super::inflate_if_gzip(bytes, DecodeLimits::default()) else {
                continue;
            };
            assert_agree(&json, DecodeLimits::default());
            if std::str::from_utf8(&json).is_ok()
                && outcome(&json, DecodeLimits::default()) == super::Outcome::Done
            {
                walked += 1;
            }
        }
        // Most of them are S3 deliveries, read by the scanner to the end.
        assert!(
            walked * 2 > files.len(),
            "{walked} of {} walked",
            files.len()
        );
    }

    /// A JSON value from CloudTrail's shapes and a few odd ones, as text.
    fn value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("-1.5e3".to_owned()),
            Just("0".to_owned()),
            Just(r#""2024-01-01T00:00:00Z""#.to_owned()),
            Just(r#""s3.amazonaws.com""#.to_owned()),
            Just(r#""esc\"aped\\ \u00e9 \n""#.to_owned()),
            Just(r#""arn:aws:iam::111122223333:role/app""#.to_owned()),
            "[a-z]{0,12}".prop_map(|s| format!("\"{s}\"")),
        ];
        leaf.prop_recursive(4, 40, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4)
                    .prop_map(|items| format!("[{}]", items.join(","))),
                proptest::collection::vec((key(), inner), 0..6).prop_map(|members| {
                    let members: Vec<String> = members
                        .iter()
                        .map(|(k, v)| format!("\"{k}\":{v}"))
                        .collect();
                    format!("{{{}}}", members.join(","))
                }),
            ]
        })
    }

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("eventTime"),
            Just("eventSource"),
            Just("eventName"),
            Just("eventID"),
            Just("errorCode"),
            Just("userIdentity"),
            Just("sessionContext"),
            Just("sessionIssuer"),
            Just("type"),
            Just("arn"),
            Just("accessKeyId"),
            Just("requestParameters"),
            Just("responseElements"),
            Just("resources"),
            Just("ARN"),
            Just("userAgent"),
            Just("@timestamp"),
        ]
        .prop_map(str::to_owned)
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]
        /// Elements of any kind: objects, arrays (which serde_json's fast pass reads as a
        /// record's fields in order), scalars.
        #[test]
        fn generated_elements_read_alike(elements in proptest::collection::vec(value(), 0..5)) {
            let json = format!(r#"{{"Records":[{}]}}"#, elements.join(","));
            assert_agree(json.as_bytes(), DecodeLimits::default());
        }

        /// Records of generated members, then the same text with a byte changed or cut short.
        #[test]
        fn generated_records_read_alike(
            records in proptest::collection::vec(
                proptest::collection::vec((key(), value()), 0..8), 0..4),
            at in any::<prop::sample::Index>(),
            byte in prop_oneof![
                Just(b'"'), Just(b'\\'), Just(b'{'), Just(b'}'), Just(b','), Just(b':'),
                Just(b' '), Just(b'x'), Just(0x01u8), Just(b'1')],
            cut in any::<bool>(),
        ) {
            let records: Vec<String> = records
                .iter()
                .map(|members| {
                    let members: Vec<String> =
                        members.iter().map(|(k, v)| format!("\"{k}\":{v}")).collect();
                    format!("{{{}}}", members.join(","))
                })
                .collect();
            let json = format!(r#"{{"Records":[{}]}}"#, records.join(","));
            assert_agree(json.as_bytes(), DecodeLimits::default());
            let mut broken = json.into_bytes();
            let i = at.index(broken.len());
            if cut {
                broken.truncate(i);
            } else {
                broken[i] = byte;
            }
            assert_agree(&broken, DecodeLimits::default());
        }
    }
}
