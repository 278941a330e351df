//! The CloudTrail record model: only the fields iamtrim reads, borrowed from the decoded buffer.
//!
//! Everything else in a record is skipped by serde without being built. `requestParameters` and
//! `responseElements` stay raw (`&RawValue`) and are only looked into by the few stages that need a
//! field from them (credential vending, resource extraction); that keeps the hot path cheap and means
//! secrets in those payloads (session tokens, secret values) are never copied anywhere: the stages
//! that read them pick out single, non-secret fields such as `accessKeyId`.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::value::RawValue;

/// One CloudTrail event, borrowed from the buffer of the object it came from.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Record<'a> {
    #[serde(borrow, default)]
    pub event_version: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_time: Option<Cow<'a, str>>,
    /// Logstash/Elastic exports move `eventTime` here; used only when `eventTime` is absent.
    #[serde(borrow, default, rename = "@timestamp")]
    pub logstash_timestamp: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_source: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub aws_region: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub error_code: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "eventID")]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub recipient_account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_identity: Option<UserIdentity<'a>>,
    #[serde(borrow, default)]
    pub request_parameters: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub response_elements: Option<&'a RawValue>,
    #[serde(borrow, default)]
    pub resources: Option<Vec<ResourceRef<'a>>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity<'a> {
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub account_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub access_key_id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub user_name: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub invoked_by: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub identity_provider: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub session_context: Option<SessionContext<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionContext<'a> {
    #[serde(borrow, default)]
    pub session_issuer: Option<SessionIssuer<'a>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionIssuer<'a> {
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    pub arn: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
pub struct ResourceRef<'a> {
    #[serde(borrow, default, rename = "ARN")]
    pub arn: Option<Cow<'a, str>>,
    #[serde(borrow, default, rename = "type")]
    pub kind: Option<Cow<'a, str>>,
}

impl Record<'_> {
    /// `eventTime`, or the Logstash `@timestamp` that replaces it in some exports.
    pub fn time_text(&self) -> Option<&str> {
        self.event_time
            .as_deref()
            .or(self.logstash_timestamp.as_deref())
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
