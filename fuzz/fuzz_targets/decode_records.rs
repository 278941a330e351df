//! The record decoder on arbitrary bytes: gzip or not, any container, any record, then the
//! per-record stages that read untrusted fields (caller, credential vending, resources). The
//! structural scanner (each kernel this CPU runs) must read exactly what serde_json alone reads:
//! the same records, the same bad-record reports, the same end.
#![no_main]

use iamtrim::attribute::{ClusterNames, classify, vending};
use iamtrim::decode::scan::Kernel;
use iamtrim::decode::{DecodeLimits, Item, for_each_record, for_each_record_with, inflate_if_gzip};
use iamtrim::map::EventResources;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = DecodeLimits {
        max_object_bytes: 1 << 20,
        max_record_bytes: 64 << 10,
    };
    let Ok(json) = inflate_if_gzip(data.to_vec(), limits) else {
        return;
    };
    let seen = |kernel: Option<Kernel>| {
        let mut out = Vec::new();
        let end = for_each_record_with(&json, limits, kernel, &mut |item| {
            out.push(match item {
                Item::Record(record) => format!("{record:?}"),
                Item::Bad { index, reason } => format!("bad #{index}: {reason}"),
            });
        });
        out.push(match end {
            Ok(layout) => format!("{layout:?}"),
            Err(err) => format!("{err:?}"),
        });
        out
    };
    let reference = seen(None);
    for kernel in Kernel::available() {
        assert_eq!(seen(Some(kernel)), reference, "{}", kernel.name());
    }
    let clusters = ClusterNames::default();
    let _ = for_each_record(&json, limits, &mut |item| {
        if let Item::Record(record) = item {
            let caller = classify(record, &clusters);
            let _ = vending(
                record,
                jiff::Timestamp::UNIX_EPOCH,
                caller.as_ref().ok(),
                &clusters,
            );
            let _ = record.time_text().map(str::parse::<jiff::Timestamp>);
            let _ = EventResources::new(record);
        }
    });
});
