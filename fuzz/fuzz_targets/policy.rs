//! The policy parser, evaluator and linter on arbitrary JSON.
#![no_main]

use std::sync::OnceLock;

use iamtrim::catalog::Catalog;
use iamtrim::diff::{eval, lint};
use libfuzzer_sys::fuzz_target;

fn catalog() -> &'static Catalog {
    static CATALOG: OnceLock<Catalog> = OnceLock::new();
    CATALOG.get_or_init(|| Catalog::embedded().expect("embedded catalog"))
}

fuzz_target!(|data: &[u8]| {
    let Ok(document) = serde_json::from_slice::<serde_json::Value>(data) else {
        return;
    };
    let Ok(policy) = eval::parse_policy("fuzz", &document) else {
        return;
    };
    let policies = [policy];
    let _ = eval::evaluate(&policies, None, "s3:GetObject", "arn:aws:s3:::b/k");
    let _ = eval::evaluate(
        &policies,
        policies.first(),
        "kms:Decrypt",
        "arn:aws:kms:us-east-1:1:key/*",
    );
    let _ = lint::lint(&policies, catalog(), true);
    let _ = eval::granted_actions(&policies, catalog());
});
