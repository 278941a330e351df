//! The CloudTrail record model: only the fields iamtrim reads, borrowed from the decoded buffer.
//!
//! Everything else in a record is skipped by serde without being built. `requestParameters` and
//! `responseElements` stay raw ([`Raw`]) and are only looked into by the few stages that need a
//! field from them (credential vending, resource extraction); that keeps the hot path cheap and means
//! secrets in those payloads (session tokens, secret values) are never copied anywhere: the stages
//! that read them pick out single, non-secret fields such as `accessKeyId`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// A JSON value kept as its text, borrowed from the buffer (`requestParameters`,
/// `responseElements`): located by the decoder, parsed only by the stages that need a field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Raw<'a>(&'a str);

impl<'a> Raw<'a> {
    /// `text` must be one JSON value (the decoder has checked it).
    pub(crate) fn new(text: &'a str) -> Self {
        Raw(text)
    }

    pub fn get(self) -> &'a str {
        self.0
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Raw<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <&'de RawValue>::deserialize(deserializer).map(|raw| Raw(raw.get()))
    }
}

/// One CloudTrail event, borrowed from the buffer of the object it came from.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow, default, deserialize_with = "text")]
    pub event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub event_time: Option<Cow<'a, str>>,
    /// Logstash/Elastic exports move `eventTime` here; used only when `eventTime` is absent.
    #[serde(borrow, default, deserialize_with = "text", rename = "@timestamp")]
    pub logstash_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub error_code: Option<Cow<'a, str>>,
    /// Read only to classify a failed call (`map::failure`); never copied into any output.
    #[serde(borrow, default, deserialize_with = "text")]
    pub error_message: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text", rename = "eventID")]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub event_type: Option<Cow<'a, str>>,
    /// The same for every account one action was delivered to (a cross-account `AssumeRole` is
    /// logged in the caller's and in the role's account, each copy with its own `eventID`).
    /// `Management`, `Data`, `Insight`, `NetworkActivity`.
    #[serde(borrow, default, deserialize_with = "text")]
    pub event_category: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text", rename = "sharedEventID")]
    pub shared_event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub recipient_account_id: Option<Cow<'a, str>>,
    /// Where the call came from: read only for `--condition-network`'s summary.
    #[serde(borrow, default, deserialize_with = "text", rename = "sourceIPAddress")]
    pub source_ip_address: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub vpc_endpoint_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default)]
    pub request_parameters: Option<Raw<'a>>,
    #[serde(borrow, default)]
    pub response_elements: Option<Raw<'a>>,
    #[serde(borrow, default)]
    pub resources: Option<Resources<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(borrow, default, deserialize_with = "text", rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub identity_provider: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(borrow, default)]
    pub session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(borrow, default, deserialize_with = "text", rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text")]
    pub arn: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
pub struct ResourceRef<'a> {
    #[serde(borrow, default, deserialize_with = "text", rename = "ARN")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "text", rename = "type")]
    pub kind: Option<Cow<'a, str>>,
}

/// A record's `resources`: the first two kept inline (nearly every record names at most two), so
/// building a record allocates nothing for them.
#[derive(Default)]
pub struct Resources<'a> {
    len: usize,
    inline: [ResourceRef<'a>; 2],
    more: Vec<ResourceRef<'a>>,
}

impl<'a> Resources<'a> {
    pub fn push(&mut self, resource: ResourceRef<'a>) {
        match self.inline.get_mut(self.len) {
            Some(slot) => *slot = resource,
            None => self.more.push(resource),
        }
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = &ResourceRef<'a>> {
        self.inline[..self.len.min(2)].iter().chain(&self.more)
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<'r, 'a> IntoIterator for &'r Resources<'a> {
    type Item = &'r ResourceRef<'a>;
    type IntoIter = std::iter::Chain<
        std::slice::Iter<'r, ResourceRef<'a>>,
        std::slice::Iter<'r, ResourceRef<'a>>,
    >;
    fn into_iter(self) -> Self::IntoIter {
        self.inline[..self.len.min(2)].iter().chain(&self.more)
    }
}

impl std::fmt::Debug for Resources<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Resources<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ResourcesVisitor<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for ResourcesVisitor<'a> {
            type Value = Resources<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<Self::Value, S::Error> {
                let mut resources = Resources::default();
                while let Some(resource) = seq.next_element::<ResourceRef<'a>>()? {
                    resources.push(resource);
                }
                Ok(resources)
            }
        }
        deserializer.deserialize_seq(ResourcesVisitor(std::marker::PhantomData))
    }
}

/// An optional string field, borrowed from the buffer when it has no escapes.
///
/// serde's `borrow` only borrows a `Cow<str>` field itself: an `Option<Cow<str>>` would be
/// deserialized through `String`, one allocation per field per record.
pub fn text<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Cow<'de, str>>, D::Error> {
    struct TextVisitor;
    impl<'de> serde::de::Visitor<'de> for TextVisitor {
        type Value = Option<Cow<'de, str>>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a string")
        }
        fn visit_none<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: serde::Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_str(self)
        }
        fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Borrowed(v)))
        }
        fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v.to_owned())))
        }
        fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
            Ok(Some(Cow::Owned(v)))
        }
    }
    deserializer.deserialize_option(TextVisitor)
}

impl Record<'_> {
    /// `eventTime`, or the Logstash `@timestamp` that replaces it in some exports.
    pub fn time_text(&self) -> Option<&str> {
        self.event_time
            .as_deref()
            .or(self.logstash_timestamp.as_deref())
    }

    /// The event's time: RFC 3339 as CloudTrail writes it, or as log pipelines and SIEM exports
    /// often write it back, `2025-01-20 16:52:14.000000000` (UTC, a space, up to nanoseconds).
    pub fn event_time(&self) -> Result<jiff::Timestamp, String> {
        self.event_time_as_written().map(|(at, _)| at)
    }

    /// [`Self::event_time`], and whether it was written in the exported form (not RFC 3339).
    pub fn event_time_as_written(&self) -> Result<(jiff::Timestamp, TimeForm), String> {
        let text = self.time_text().unwrap_or_default();
        read_event_time(text).ok_or_else(|| {
            format!(
                "eventTime {text:?} is neither an RFC 3339 time nor YYYY-MM-DD HH:MM:SS[.fraction]"
            )
        })
    }

    /// The field that makes a record unusable when absent, if any; used for the bad-record report.
    pub fn missing_required_field(&self) -> Option<&'static str> {
        if self.time_text().is_none() {
            Some("eventTime")
        } else if self.event_source.is_none() {
            Some("eventSource")
        } else if self.event_name.is_none() {
            Some("eventName")
        } else {
            None
        }
    }
}

/// How an `eventTime` was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeForm {
    Rfc3339,
    /// `YYYY-MM-DD HH:MM:SS[.fraction]`, read as UTC: as log pipelines and SIEM exports write it.
    Exported,
}

/// RFC 3339, else `YYYY-MM-DD HH:MM:SS[.fraction]` taken as UTC (a SIEM's spelling).
pub fn parse_event_time(text: &str) -> Option<jiff::Timestamp> {
    read_event_time(text).map(|(at, _)| at)
}

fn read_event_time(text: &str) -> Option<(jiff::Timestamp, TimeForm)> {
    if let Ok(at) = text.parse::<jiff::Timestamp>() {
        return Some((at, TimeForm::Rfc3339));
    }
    let bytes = text.as_bytes();
    let siem = bytes.len() >= 19
        && bytes[10] == b' '
        && !text.ends_with('Z')
        && text[..10].bytes().all(|b| b.is_ascii_digit() || b == b'-')
        && text[11..]
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b':' || b == b'.');
    if !siem {
        return None;
    }
    let at = format!("{}T{}Z", &text[..10], &text[11..]).parse().ok()?;
    Some((at, TimeForm::Exported))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_times_as_cloudtrail_and_as_siem_exports_write_them() {
        let t = |s: &str| parse_event_time(s).map(|t| t.to_string());
        assert_eq!(
            t("2025-01-20T16:52:14Z").as_deref(),
            Some("2025-01-20T16:52:14Z")
        );
        assert_eq!(
            t("2025-01-20 16:52:14.000000000").as_deref(),
            Some("2025-01-20T16:52:14Z")
        );
        assert_eq!(
            t("2025-01-20 16:52:14.5").as_deref(),
            Some("2025-01-20T16:52:14.5Z")
        );
        assert_eq!(
            t("2025-01-20 16:52:14").as_deref(),
            Some("2025-01-20T16:52:14Z")
        );
        assert_eq!(t("2025-01-20 16:52"), None);
        // An explicit offset is honoured (jiff reads RFC 3339 with a space too).
        assert_eq!(
            t("2025-01-20 16:52:14+02:00").as_deref(),
            Some("2025-01-20T14:52:14Z")
        );
        assert_eq!(t("yesterday"), None);
    }

    /// Fields without escapes borrow from the buffer: no allocation per field per record.
    #[test]
    fn plain_fields_borrow_from_the_buffer() {
        let json = r#"{"eventTime":"2026-01-01T00:00:00Z","eventSource":"s3.amazonaws.com",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/r/s",
            "sessionContext":{"sessionIssuer":{"arn":"arn:aws:iam::1:role/r"}}},
            "resources":[{"ARN":"arn:aws:s3:::b","type":"AWS::S3::Bucket"}],
            "eventName":"Get\u004fbject"}"#;
        let record: Record<'_> = serde_json::from_str(json).unwrap();
        assert!(matches!(record.event_time, Some(Cow::Borrowed(_))));
        assert!(matches!(
            record.event_source,
            Some(Cow::Borrowed("s3.amazonaws.com"))
        ));
        let identity = record.user_identity.as_ref().unwrap();
        assert!(matches!(identity.arn, Some(Cow::Borrowed(_))));
        let issuer = identity
            .session_context
            .as_ref()
            .unwrap()
            .session_issuer
            .as_ref();
        assert!(matches!(issuer.unwrap().arn, Some(Cow::Borrowed(_))));
        let resource = record.resources.as_ref().unwrap().iter().next().unwrap();
        assert!(matches!(resource.arn, Some(Cow::Borrowed(_))));
        // A field with an escape is unescaped into an owned string.
        assert!(matches!(&record.event_name, Some(Cow::Owned(name)) if name == "GetObject"));
    }
}
