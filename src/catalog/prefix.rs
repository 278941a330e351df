//! eventSource host → IAM service prefix.
//!
//! For most services the IAM prefix is the eventSource host without `.amazonaws.com`; this table
//! lists the hosts where it is not.

/// eventSource host → IAM service prefix, where the two differ.
const PREFIX_EXCEPTIONS: &[(&str, &str)] = &[
    ("monitoring", "cloudwatch"),
    ("email", "ses"),
    ("streams.dynamodb", "dynamodb"),
    ("tagging", "tag"),
    ("servicecatalog-appregistry", "servicecatalog"),
    ("api.ecr", "ecr"),
    ("runtime.sagemaker", "sagemaker"),
    ("bedrock-runtime", "bedrock"),
    ("data.iot", "iot"),
    ("api.pricing", "pricing"),
    ("es", "es"),
];

/// The IAM service prefix for an eventSource such as `s3.amazonaws.com`, or None when the host is
/// not an AWS API endpoint name.
pub fn service_prefix(event_source: &str) -> Option<&str> {
    let host = event_source
        .strip_suffix(".amazonaws.com")
        .or_else(|| event_source.strip_suffix(".api.aws"))?;
    if host.is_empty() {
        return None;
    }
    Some(
        PREFIX_EXCEPTIONS
            .iter()
            .find(|(source, _)| *source == host)
            .map_or(host, |(_, prefix)| prefix),
    )
}

#[cfg(test)]
mod tests {
    use super::service_prefix;

    #[test]
    fn prefixes() {
        assert_eq!(service_prefix("s3.amazonaws.com"), Some("s3"));
        assert_eq!(
            service_prefix("monitoring.amazonaws.com"),
            Some("cloudwatch")
        );
        assert_eq!(service_prefix("eks-auth.amazonaws.com"), Some("eks-auth"));
        assert_eq!(service_prefix("example.com"), None);
    }
}
