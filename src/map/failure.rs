//! Failed calls, in three classes: what an `errorCode` says about the permission.
//!
//! Most error codes are decided *after* IAM allowed the call (`NoSuchKey`,
//! `ConditionalCheckFailedException`, `ThrottlingException`, 5xx ...): the call used its
//! permission, and a policy without it would turn the next such call into AccessDenied. Only
//! authorization failures say the permission was missing, and authentication failures (bad or
//! expired credentials) say nothing about permissions at all, because no policy was evaluated.
//!
//! The table (`data/error-classes.tsv`) lists the authorization and authentication codes, each
//! with the AWS page it comes from, and the few service-specific codes that look like denials
//! but are not IAM's; every other code is [`FailureClass::AfterAuthorization`].
//! When in doubt the table leaves a code out: an extra grant is explained by its evidence, a
//! missing one breaks the workload. An `errorMessage` that says IAM refused the call (the
//! documented "... is not authorized to perform ..." forms) makes any code an authorization
//! failure, because services wrap denials in their own codes (`ValidationException`,
//! `Client.InvalidParameterValue` ...).

use std::collections::HashMap;
use std::sync::LazyLock;

/// What a failed call says about its permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FailureClass {
    /// IAM allowed the call; the service failed it afterwards. The permission was used.
    AfterAuthorization,
    /// A policy refused the call: never a grant, listed as denied.
    Authorization,
    /// The credentials were rejected before any policy was evaluated: neither granted nor
    /// denied, counted and reported.
    Authentication,
}

impl FailureClass {
    /// The name used in the usage store and the evidence pack.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureClass::AfterAuthorization => "failed",
            FailureClass::Authorization => "denied",
            FailureClass::Authentication => "unauthenticated",
        }
    }

    pub fn parse(name: &str) -> Option<FailureClass> {
        match name {
            "failed" => Some(FailureClass::AfterAuthorization),
            "denied" => Some(FailureClass::Authorization),
            "unauthenticated" => Some(FailureClass::Authentication),
            _ => None,
        }
    }
}

/// The documented table: error code → class.
const TABLE: &str = include_str!("data/error-classes.tsv");

/// Phrases of the messages AWS returns when a policy refused a call:
/// https://docs.aws.amazon.com/IAM/latest/UserGuide/troubleshoot_access-denied.html
/// (e.g. "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:GetObject on
/// resource: ... because no identity-based policy allows the s3:GetObject action").
const AUTHORIZATION_MESSAGES: &[&str] = &[
    "not authorized to perform",
    "with an explicit deny",
    "because no identity-based policy allows",
    "because no resource-based policy allows",
    "because no session policy allows",
    "because no permissions boundary allows",
    "because no service control policy allows",
    "because no resource control policy allows",
    "because no vpc endpoint policy allows",
    // EC2's UnauthorizedOperation carries one.
    "encoded authorization failure message",
];

/// One row of the documented table.
pub struct ClassRow {
    /// `*` or the eventSource the row applies to.
    pub scope: &'static str,
    /// The code, or a pattern with `*` at either end.
    pub code: &'static str,
    pub class: FailureClass,
    pub documentation: &'static str,
}

impl ClassRow {
    fn matches(&self, code: &str) -> bool {
        let pattern = self.code;
        match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
            (Some(rest), _) if rest.ends_with('*') => code.contains(&rest[..rest.len() - 1]),
            (Some(suffix), _) => code.ends_with(suffix),
            (None, Some(prefix)) => code.starts_with(prefix),
            (None, None) => code == pattern,
        }
    }

    fn is_pattern(&self) -> bool {
        self.code.starts_with('*') || self.code.ends_with('*')
    }
}

/// The table indexed for the per-event lookup: exact codes by scope, then the few patterns.
struct Index {
    exact: HashMap<&'static str, HashMap<&'static str, FailureClass>>,
    patterns: Vec<ClassRow>,
}

static INDEX: LazyLock<Index> = LazyLock::new(|| {
    let mut index = Index {
        exact: HashMap::new(),
        patterns: Vec::new(),
    };
    for row in rows() {
        if row.is_pattern() {
            index.patterns.push(row);
        } else {
            index
                .exact
                .entry(row.scope)
                .or_default()
                .insert(row.code, row.class);
        }
    }
    index
});

/// The table's rows, in file order.
pub fn rows() -> impl Iterator<Item = ClassRow> {
    super::table::rows(TABLE).map(|[scope, code, class, documentation, ..]| ClassRow {
        scope,
        code,
        class: match class {
            "authorization" => FailureClass::Authorization,
            "authentication" => FailureClass::Authentication,
            _ => FailureClass::AfterAuthorization,
        },
        documentation,
    })
}

/// The class of a call to `source` that failed with `code` (and `message`, when the record has
/// one).
pub fn classify(source: &str, code: &str, message: Option<&str>) -> FailureClass {
    let bare = code
        .strip_prefix("Client.")
        .or_else(|| code.strip_prefix("Server."))
        .unwrap_or(code);
    // The event source's own rows first, then everyone's; exact codes before patterns. Two
    // hash lookups per scope for the usual code; the patterns are a handful.
    let index = &*INDEX;
    let by_code = [source, "*"]
        .into_iter()
        .find_map(|scope| {
            let exact = index.exact.get(scope);
            exact
                .and_then(|codes| codes.get(code).or_else(|| codes.get(bare)))
                .copied()
                .or_else(|| {
                    index
                        .patterns
                        .iter()
                        .find(|row| row.scope == scope && (row.matches(code) || row.matches(bare)))
                        .map(|row| row.class)
                })
        })
        .unwrap_or(FailureClass::AfterAuthorization);
    if by_code == FailureClass::Authentication {
        return by_code;
    }
    if message.is_some_and(says_authorization) {
        return FailureClass::Authorization;
    }
    by_code
}

fn says_authorization(message: &str) -> bool {
    // Messages are short; lowercase only the ones that may match.
    let lower = message.to_ascii_lowercase();
    AUTHORIZATION_MESSAGES.iter().any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_row_is_documented_and_classed() {
        let mut seen = std::collections::HashSet::new();
        for row in rows() {
            assert!(
                row.documentation
                    .starts_with("https://docs.aws.amazon.com/"),
                "{} has no documentation",
                row.code
            );
            // A row that grants must be scoped: `*` rows only take grants away.
            assert!(
                row.class != FailureClass::AfterAuthorization || row.scope != "*",
                "{}",
                row.code
            );
            assert!(
                seen.insert((row.scope, row.code)),
                "{} is listed twice",
                row.code
            );
        }
        assert!(seen.len() >= 20);
    }

    #[test]
    fn classes() {
        use FailureClass::*;
        for (code, class) in [
            ("AccessDenied", Authorization),
            ("AccessDeniedException", Authorization),
            ("Client.UnauthorizedOperation", Authorization),
            ("AuthorizationError", Authorization),
            ("ExpiredToken", Authentication),
            ("InvalidClientTokenId", Authentication),
            ("Client.AuthFailure", Authentication),
            ("SignatureDoesNotMatch", Authentication),
            ("NoSuchKey", AfterAuthorization),
            ("ConditionalCheckFailedException", AfterAuthorization),
            ("ThrottlingException", AfterAuthorization),
            ("Client.VcpuLimitExceeded", AfterAuthorization),
            ("Server.InternalError", AfterAuthorization),
            ("NoSuchBucketPolicy", AfterAuthorization),
            ("QueueAlreadyExists", AfterAuthorization),
            ("NotAuthorizedException", Authorization),
            ("KMS.AccessDeniedException", Authorization),
            ("VpceAccessDenied", Authorization),
            ("KMSInvalidSignatureException", AfterAuthorization),
            ("Client.DryRunOperation", AfterAuthorization),
            ("Client.OptInRequired", AfterAuthorization),
        ] {
            assert_eq!(classify("ec2.amazonaws.com", code, None), class, "{code}");
        }
    }

    #[test]
    fn a_service_row_wins_over_everyone_s() {
        // Cognito's user-pool sign-in failure is not IAM's.
        assert_eq!(
            classify(
                "cognito-idp.amazonaws.com",
                "NotAuthorizedException",
                Some("Incorrect username or password.")
            ),
            FailureClass::AfterAuthorization
        );
        assert_eq!(
            classify("lambda.amazonaws.com", "KMSAccessDeniedException", None),
            FailureClass::AfterAuthorization
        );
        assert_eq!(
            classify("sqs.amazonaws.com", "KMS.AccessDeniedException", None),
            FailureClass::Authorization
        );
    }

    #[test]
    fn a_denial_message_makes_any_code_a_denial() {
        let message = "User: arn:aws:sts::111122223333:assumed-role/app/s is not authorized to \
                       perform: iam:PassRole on resource: arn:aws:iam::111122223333:role/x";
        assert_eq!(
            classify("lambda.amazonaws.com", "ValidationException", Some(message)),
            FailureClass::Authorization
        );
        assert_eq!(
            classify(
                "ec2.amazonaws.com",
                "Client.InvalidParameterValue",
                Some("Value (x) for parameter iamInstanceProfile.name is invalid")
            ),
            FailureClass::AfterAuthorization
        );
        // Credentials rejected stay so, whatever the message.
        assert_eq!(
            classify(
                "s3.amazonaws.com",
                "ExpiredToken",
                Some("not authorized to perform")
            ),
            FailureClass::Authentication
        );
    }
}
