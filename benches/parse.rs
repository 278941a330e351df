//! Micro-benchmarks of the two per-record stages after inflate: the record parser and the mapper.
//!
//!     cargo bench --bench parse
//!
//! Input: the records of the bundled sample trail (real CloudTrail field shapes, every kind of
//! event iamtrim handles), repeated into one 2,000-record `{"Records":[...]}` object, the size of a
//! busy CloudTrail delivery. The end-to-end figures are benches/throughput.sh's.

use std::path::Path;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use iamtrim::catalog::Catalog;
use iamtrim::decode::{self, DecodeLimits, Item};
use iamtrim::map::{EventResources, Mapper, Mapping};

/// A 2,000-record delivery object built from the sample trail.
fn sample_object() -> Vec<u8> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/sample-trail");
    let mut records: Vec<Box<serde_json::value::RawValue>> = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("sample trail");
        if !entry.path().to_string_lossy().ends_with(".json.gz") {
            continue;
        }
        let bytes = std::fs::read(entry.path()).expect("read sample");
        let Ok(json) = decode::inflate_if_gzip(bytes, DecodeLimits::default()) else {
            continue;
        };
        #[derive(serde::Deserialize)]
        struct Wrapper {
            #[serde(rename = "Records")]
            records: Vec<Box<serde_json::value::RawValue>>,
        }
        // The sample trail also holds digest files and deliberately broken objects.
        if let Ok(wrapper) = serde_json::from_slice::<Wrapper>(&json) {
            records.extend(wrapper.records);
        }
    }
    let mut out = String::from(r#"{"Records":["#);
    for (i, record) in records.iter().cycle().take(2_000).enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(record.get());
    }
    out.push_str("]}");
    out.into_bytes()
}

fn parser(c: &mut Criterion) {
    let object = sample_object();
    let mut group = c.benchmark_group("parse");
    group.throughput(Throughput::Bytes(object.len() as u64));
    group.bench_function("for_each_record", |b| {
        b.iter(|| {
            let mut n = 0usize;
            decode::for_each_record(&object, DecodeLimits::default(), &mut |item| {
                if let Item::Record(record) = item {
                    n += record.event_name.as_deref().map_or(0, str::len);
                }
            })
            .expect("parse");
            n
        });
    });
    group.finish();
}

fn mapper(c: &mut Criterion) {
    let object = sample_object();
    #[derive(serde::Deserialize)]
    struct Wrapper<'a> {
        #[serde(borrow, rename = "Records")]
        records: Vec<iamtrim::decode::Record<'a>>,
    }
    let records = serde_json::from_slice::<Wrapper<'_>>(&object)
        .expect("sample object")
        .records;
    let catalog = Arc::new(Catalog::embedded().expect("catalog"));
    let mut group = c.benchmark_group("map");
    group.throughput(Throughput::Elements(records.len() as u64));
    group.bench_function("actions_and_resources", |b| {
        let mut mapper = Mapper::new(Arc::clone(&catalog));
        b.iter(|| {
            let mut arns = 0usize;
            for record in &records {
                let (Some(source), Some(name)) = (&record.event_source, &record.event_name) else {
                    continue;
                };
                let mapping = mapper.map(source, name);
                if let Mapping::Actions(actions, ..) = &*mapping {
                    let event = EventResources::new(record);
                    for action in actions {
                        let types = mapper.resource_types(action);
                        let service = action.split(':').next().unwrap_or_default();
                        arns += event.resolve(service, &types).len();
                    }
                }
            }
            arns
        });
    });
    group.finish();
}

criterion_group!(benches, parser, mapper);
criterion_main!(benches);
