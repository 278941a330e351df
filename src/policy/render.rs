//! Policy documents as infrastructure code: Terraform's `aws_iam_policy_document` data source and
//! a CloudFormation `AWS::IAM::ManagedPolicy`. Strings are written as JSON strings, which are valid
//! HCL and YAML string literals, so no value (an ARN with `$`, `*`, `?` or quotes) is mis-read.

use std::fmt::Write as _;

use super::PolicyDocument;

/// Policy file formats (`--policy-format`, `output.policy_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyFormat {
    #[default]
    Json,
    Terraform,
    #[value(name = "cloudformation")]
    CloudFormation,
}

impl PolicyFormat {
    pub fn extension(self) -> &'static str {
        match self {
            Self::Json => "json",
            Self::Terraform => "tf",
            Self::CloudFormation => "yaml",
        }
    }

    /// The document in this format; `name` names the Terraform data source or the CloudFormation
    /// resource (made a valid identifier here).
    pub fn render(self, name: &str, policy: &PolicyDocument) -> String {
        match self {
            Self::Json => policy.to_pretty_json(),
            Self::Terraform => terraform(name, policy),
            Self::CloudFormation => cloudformation(&[(name, policy)]),
        }
    }
}

/// A JSON string literal, which YAML reads as the same string.
fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_default()
}

/// An HCL string literal: Terraform interpolates `${` and `%{` even in quoted strings.
pub fn hcl_quoted(text: &str) -> String {
    hcl_escape_template(&quoted(text))
}

/// Text for a Terraform string or heredoc, with its `${` and `%{` escaped.
pub fn hcl_escape_template(text: &str) -> String {
    text.replace("${", "$${").replace("%{", "%%{")
}

fn hcl_list(items: &[String]) -> String {
    let inner: Vec<String> = items.iter().map(|i| hcl_quoted(i)).collect();
    format!("[{}]", inner.join(", "))
}

/// `data "aws_iam_policy_document" "<name>" { statement { ... } }`.
pub fn terraform(name: &str, policy: &PolicyDocument) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "data \"aws_iam_policy_document\" \"{}\" {{",
        snake_identifier(name)
    );
    let _ = writeln!(out, "  version = {}", hcl_quoted(policy.version));
    for statement in &policy.statements {
        let _ = writeln!(out, "\n  statement {{");
        let _ = writeln!(out, "    sid       = {}", hcl_quoted(&statement.sid));
        let _ = writeln!(
            out,
            "    effect    = {}",
            hcl_quoted(statement.effect.as_str())
        );
        let _ = writeln!(out, "    actions   = {}", hcl_list(&statement.actions));
        let _ = writeln!(out, "    resources = {}", hcl_list(&statement.resources));
        for (test, keys) in statement.condition.iter().flatten() {
            for (variable, values) in keys {
                let _ = writeln!(out, "\n    condition {{");
                let _ = writeln!(out, "      test     = {}", hcl_quoted(test));
                let _ = writeln!(out, "      variable = {}", hcl_quoted(variable));
                let _ = writeln!(out, "      values   = {}", hcl_list(values));
                let _ = writeln!(out, "    }}");
            }
        }
        let _ = writeln!(out, "  }}");
    }
    let _ = writeln!(out, "}}");
    out
}

/// A CloudFormation template with one `AWS::IAM::ManagedPolicy` per (name, policy).
pub fn cloudformation(policies: &[(&str, &PolicyDocument)]) -> String {
    let mut out = String::from("AWSTemplateFormatVersion: \"2010-09-09\"\nResources:\n");
    for (name, policy) in policies {
        let _ = writeln!(out, "  {}:", camel_identifier(name));
        let _ = writeln!(out, "    Type: AWS::IAM::ManagedPolicy");
        let _ = writeln!(out, "    Properties:");
        let _ = writeln!(
            out,
            "      Description: {}",
            quoted(&format!("iamtrim: {name}"))
        );
        let _ = writeln!(out, "      PolicyDocument:");
        let _ = writeln!(out, "        Version: {}", quoted(policy.version));
        let _ = writeln!(out, "        Statement:");
        for statement in &policy.statements {
            let _ = writeln!(out, "          - Sid: {}", quoted(&statement.sid));
            let _ = writeln!(out, "            Effect: {}", statement.effect.as_str());
            let _ = writeln!(out, "            Action:");
            for action in &statement.actions {
                let _ = writeln!(out, "              - {}", quoted(action));
            }
            let _ = writeln!(out, "            Resource:");
            for resource in &statement.resources {
                let _ = writeln!(out, "              - {}", quoted(resource));
            }
            if let Some(condition) = &statement.condition {
                let _ = writeln!(out, "            Condition:");
                for (test, keys) in condition {
                    let _ = writeln!(out, "              {}:", quoted(test));
                    for (variable, values) in keys {
                        let _ = writeln!(out, "                {}:", quoted(variable));
                        for value in values {
                            let _ = writeln!(out, "                  - {}", quoted(value));
                        }
                    }
                }
            }
        }
    }
    out
}

/// A name as a Terraform identifier: its alphanumeric words joined with `_`.
pub fn snake_identifier(name: &str) -> String {
    leading_letter(words(name).collect::<Vec<_>>().join("_"))
}

/// A name as a CloudFormation logical id or an IAM Sid: its alphanumeric words in CamelCase.
pub fn camel_identifier(name: &str) -> String {
    leading_letter(
        words(name)
            .map(|w| {
                let mut chars = w.chars();
                chars
                    .next()
                    .map(|c| c.to_ascii_uppercase())
                    .into_iter()
                    .chain(chars)
                    .collect::<String>()
            })
            .collect(),
    )
}

fn words(name: &str) -> impl Iterator<Item = &str> {
    name.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
}

fn leading_letter(text: String) -> String {
    match text.chars().next() {
        Some(c) if c.is_ascii_alphabetic() => text,
        _ => format!("p{text}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{Effect, POLICY_VERSION, Statement};

    fn policy() -> PolicyDocument {
        PolicyDocument {
            statements: vec![Statement {
                actions: vec!["s3:GetObject".into()],
                condition: None,
                effect: Effect::Allow,
                resources: vec!["arn:aws:s3:::b/${x}/*".into()],
                sid: "S3".into(),
            }],
            version: POLICY_VERSION,
        }
    }

    #[test]
    fn terraform_and_cloudformation() {
        assert_eq!(
            terraform("eks/shop-prod/checkout/frontend", &policy()),
            "data \"aws_iam_policy_document\" \"eks_shop_prod_checkout_frontend\" {\n  version = \"2012-10-17\"\n\n  statement {\n    sid       = \"S3\"\n    effect    = \"Allow\"\n    actions   = [\"s3:GetObject\"]\n    resources = [\"arn:aws:s3:::b/$${x}/*\"]\n  }\n}\n"
        );
        let yaml = cloudformation(&[("eks/shop-prod/checkout/frontend", &policy())]);
        assert!(
            yaml.contains("  EksShopProdCheckoutFrontend:\n    Type: AWS::IAM::ManagedPolicy\n")
        );
        assert!(yaml.contains("              - \"arn:aws:s3:::b/${x}/*\"\n"));
        assert_eq!(
            snake_identifier("arn:aws:iam::1:role/x"),
            "arn_aws_iam_1_role_x"
        );
        assert_eq!(camel_identifier("1abc"), "p1abc");
        assert_eq!(camel_identifier("eks-auth"), "EksAuth");
    }
}
