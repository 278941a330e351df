//! ARNs: the catalog's ARN formats as templates (fill them from an event, or recognise an ARN as
//! one of them), partitions, and IAM's wildcard matching.

use std::borrow::Cow;

/// A resource type's ARN format, e.g. `arn:${Partition}:s3:::${BucketName}/${ObjectName}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArnTemplate {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// A template filled from an event: the ARN (with `*` for what the event did not say) and how
/// many of the service's own variables were known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filled {
    pub arn: String,
    pub known: usize,
    pub unknown: usize,
}

/// Variables every event gives: they do not make a template "known".
const CONTEXT_VARIABLES: [&str; 3] = ["Partition", "Region", "Account"];

impl ArnTemplate {
    pub fn parse(template: &str) -> Self {
        let mut parts = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_owned()));
            }
            let Some(end) = rest[start..].find('}') else {
                break;
            };
            parts.push(Part::Variable(rest[start + 2..start + end].to_owned()));
            rest = &rest[start + end + 1..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_owned()));
        }
        Self { parts }
    }

    /// The variable names, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// The literal text just before variable `name` (`:role/` before `${RoleNameWithPath}`).
    pub fn literal_before(&self, name: &str) -> Option<&str> {
        self.parts.windows(2).find_map(|pair| match pair {
            [Part::Literal(text), Part::Variable(v)] if v == name => Some(text.as_str()),
            _ => None,
        })
    }

    /// Fills the template; a variable `value` does not know becomes `*`.
    pub fn fill<'v>(&self, value: &dyn Fn(&str) -> Option<Cow<'v, str>>) -> Filled {
        let mut arn = String::with_capacity(96);
        let (mut known, mut unknown) = (0, 0);
        for part in &self.parts {
            match part {
                Part::Literal(text) => arn.push_str(text),
                Part::Variable(name) => {
                    let context = CONTEXT_VARIABLES.contains(&name.as_str());
                    match value(name) {
                        Some(v) if !v.is_empty() => {
                            arn.push_str(&v);
                            known += usize::from(!context);
                        }
                        _ => {
                            arn.push('*');
                            unknown += 1;
                        }
                    }
                }
            }
        }
        Filled {
            arn,
            known,
            unknown,
        }
    }

    /// Whether `arn` has this template's shape; the number of literal characters matched, so the
    /// most specific of several matching templates can be chosen.
    pub fn matches(&self, arn: &str) -> Option<usize> {
        let mut rest = arn;
        let mut literal = 0;
        let mut parts = self.parts.iter().peekable();
        while let Some(part) = parts.next() {
            match part {
                Part::Literal(text) => {
                    rest = rest.strip_prefix(text.as_str())?;
                    literal += text.len();
                }
                Part::Variable(_) => match parts.peek() {
                    Some(Part::Literal(next)) => {
                        let at = rest.find(next.as_str())?;
                        if at == 0 || rest[..at].contains(':') && !next.starts_with(':') {
                            return None;
                        }
                        rest = &rest[at..];
                    }
                    Some(Part::Variable(_)) => return None,
                    None => {
                        if rest.is_empty() {
                            return None;
                        }
                        rest = "";
                    }
                },
            }
        }
        rest.is_empty().then_some(literal)
    }
}

/// The partition of a region: `cn-*` is `aws-cn`, `us-gov-*` is `aws-us-gov`, else `aws`.
pub fn partition_of_region(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// IAM's wildcard match: `*` any run of characters, `?` any one character.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let (p, t) = (pattern.as_bytes(), text.as_bytes());
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == b'?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    while pi < p.len() && p[pi] == b'*' {
        pi += 1;
    }
    pi == p.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_fill_and_match() {
        let object = ArnTemplate::parse("arn:${Partition}:s3:::${BucketName}/${ObjectName}");
        let filled = object.fill(&|v| match v {
            "Partition" => Some("aws-cn".into()),
            "BucketName" => Some("b".into()),
            _ => None,
        });
        assert_eq!(
            filled,
            Filled {
                arn: "arn:aws-cn:s3:::b/*".into(),
                known: 1,
                unknown: 1
            }
        );
        assert!(object.matches("arn:aws:s3:::b/k/e/y.txt").is_some());
        assert_eq!(object.matches("arn:aws:s3:::bucket-only"), None);

        let table =
            ArnTemplate::parse("arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}");
        let index = ArnTemplate::parse(
            "arn:${Partition}:dynamodb:${Region}:${Account}:table/${TableName}/index/${IndexName}",
        );
        let arn = "arn:aws:dynamodb:eu-west-1:111122223333:table/orders/index/by-day";
        assert!(index.matches(arn).unwrap() > table.matches(arn).unwrap());
        assert_eq!(
            table.matches("arn:aws:sqs:eu-west-1:111122223333:q"),
            None,
            "another service"
        );
    }

    #[test]
    fn wildcards_and_partitions() {
        assert!(wildcard_match(
            "arn:aws:s3:::b/daily/*",
            "arn:aws:s3:::b/daily/0.csv"
        ));
        assert!(wildcard_match(
            "arn:aws:secretsmanager:*:1:secret:db-??????",
            "arn:aws:secretsmanager:eu-west-1:1:secret:db-AbC123"
        ));
        assert!(!wildcard_match(
            "arn:aws:s3:::b/daily/*",
            "arn:aws:s3:::b/weekly/0.csv"
        ));
        assert!(wildcard_match("*", "anything"));
        assert!(!wildcard_match("a?c", "ac"));
        assert_eq!(partition_of_region("cn-north-1"), "aws-cn");
        assert_eq!(partition_of_region("us-gov-west-1"), "aws-us-gov");
        assert_eq!(partition_of_region("eu-west-1"), "aws");
    }
}
