//! eventSource host → IAM service prefix.
//!
//! Derived from the operations index (`operations.rs`): each API's eventSource hosts and its IAM
//! prefix, from botocore's models checked against the IAM catalog. The table below holds only the
//! hosts the index does not know, each with the page that names it.

use super::operations::Operations;

/// eventSource host → IAM service prefix, for hosts no API model names.
const PREFIX_EXCEPTIONS: &[(&str, &str, &str)] = &[
    // AWS IoT's data plane logs as data.iot (its model's endpoint is data-ats.iot):
    // https://docs.aws.amazon.com/iot/latest/developerguide/iot-using-cloudtrail.html
    (
        "data.iot",
        "iot",
        "https://docs.aws.amazon.com/iot/latest/developerguide/iot-using-cloudtrail.html",
    ),
];

/// The IAM service prefix for an eventSource such as `s3.amazonaws.com`, or None when the host is
/// not an AWS API endpoint name.
pub fn service_prefix(event_source: &str) -> Option<&str> {
    if let Some(prefix) = Operations::embedded()
        .at(event_source)
        .find_map(|api| api.prefix.as_deref())
    {
        return Some(prefix);
    }
    let host = event_source
        .strip_suffix(".amazonaws.com")
        .or_else(|| event_source.strip_suffix(".api.aws"))?;
    if host.is_empty() {
        return None;
    }
    Some(
        PREFIX_EXCEPTIONS
            .iter()
            .find(|(source, ..)| *source == host)
            .map_or(host, |(_, prefix, _)| prefix),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        assert_eq!(service_prefix("s3.amazonaws.com"), Some("s3"));
        assert_eq!(
            service_prefix("monitoring.amazonaws.com"),
            Some("cloudwatch")
        );
        assert_eq!(service_prefix("eks-auth.amazonaws.com"), Some("eks-auth"));
        assert_eq!(service_prefix("amazonmq.amazonaws.com"), Some("mq"));
        assert_eq!(service_prefix("email.amazonaws.com"), Some("ses"));
        assert_eq!(service_prefix("ses.amazonaws.com"), Some("ses"));
        assert_eq!(service_prefix("ecr.amazonaws.com"), Some("ecr"));
        assert_eq!(service_prefix("tagging.amazonaws.com"), Some("tag"));
        assert_eq!(
            service_prefix("bedrock-runtime.amazonaws.com"),
            Some("bedrock")
        );
        assert_eq!(service_prefix("data.iot.amazonaws.com"), Some("iot"));
        assert_eq!(service_prefix("example.com"), None);
    }

    /// An exception the index already answers is dead weight, and would hide a disagreement.
    #[test]
    fn every_exception_is_a_host_the_index_does_not_know() {
        for (host, prefix, doc) in PREFIX_EXCEPTIONS {
            let source = format!("{host}.amazonaws.com");
            assert!(
                Operations::embedded().at(&source).next().is_none(),
                "{source} is in the index"
            );
            assert!(doc.starts_with("https://docs.aws.amazon.com/"), "{prefix}");
        }
    }
}
