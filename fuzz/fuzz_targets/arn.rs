//! ARN templates and IAM wildcard matching on arbitrary text.
#![no_main]

use iamtrim::policy::arn::{ArnTemplate, partition_of_region, wildcard_match};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, arn) = text.split_once('\n').unwrap_or((text, text));
    let parsed = ArnTemplate::parse(template);
    let _ = parsed.matches(arn);
    let filled = parsed.fill(&|name| Some(std::borrow::Cow::Owned(name.to_owned())));
    let _ = parsed.matches(&filled.arn);
    let _ = wildcard_match(template, arn);
    let _ = partition_of_region(arn);
});
