//! `--cluster NAME=ISSUER` and `[[clusters]]`.

use std::str::FromStr;

/// `NAME=ISSUER` for `--cluster`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterArg {
    pub name: String,
    pub issuer: String,
}

impl FromStr for ClusterArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        match text.split_once('=') {
            Some((name, issuer))
                if !name.is_empty() && !issuer.is_empty() && !name.contains('/') =>
            {
                Ok(Self {
                    name: name.to_owned(),
                    issuer: issuer.to_owned(),
                })
            }
            _ => Err(format!(
                "{text:?}: expected NAME=OIDC_ISSUER (e.g. prod=https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE)"
            )),
        }
    }
}
