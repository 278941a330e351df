//! The record decoder alone, on one core, against its floors: inflate, serde_json's skip of the
//! whole object, the structural scanner alone (each kernel this CPU runs), the scanner's lazy
//! record walk, and serde_json building the same records (the path before the scanner).
//!
//!     cargo run --release --example scan_speed -- [--objects N] [--rounds N] DIR
//!
//! The first N `.json.gz` objects under DIR are inflated into memory once (timed: the inflate
//! row); every other row reads those bytes, already checked as UTF-8, `--rounds` times, and
//! reports the best round in MB/s of JSON. benches/scan.sh runs it on the bench trail.

use std::path::PathBuf;
use std::time::Instant;

use iamtrim::decode::scan::{Kernel, Structurals};
use iamtrim::decode::{DecodeLimits, Item, for_each_record_with, inflate_if_gzip};

fn main() {
    let mut objects = 100usize;
    let mut rounds = 5usize;
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--objects" => objects = args.next().and_then(|n| n.parse().ok()).expect("N"),
            "--rounds" => rounds = args.next().and_then(|n| n.parse().ok()).expect("N"),
            _ => dir = Some(PathBuf::from(arg)),
        }
    }
    let dir = dir.expect("usage: scan_speed [--objects N] [--rounds N] DIR");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().to_string_lossy().ends_with(".json.gz"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    files.truncate(objects);
    let compressed: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).expect("read"))
        .collect();

    let mut inflate_best = f64::MAX;
    let mut texts = Vec::new();
    for _ in 0..rounds {
        let started = Instant::now();
        texts = compressed
            .iter()
            .map(|gz| inflate_if_gzip(gz.clone(), DecodeLimits::default()).expect("gzip"))
            .collect();
        inflate_best = inflate_best.min(started.elapsed().as_secs_f64());
    }
    let bytes: usize = texts.iter().map(Vec::len).sum();
    let texts: Vec<&str> = texts
        .iter()
        .map(|t| std::str::from_utf8(t).expect("UTF-8"))
        .collect();
    let mb = bytes as f64 / 1e6;
    println!(
        "{} objects, {:.1} MB of JSON, best of {rounds} rounds, one core",
        texts.len(),
        mb
    );
    println!("| reading | MB/s | vs inflate |");
    println!("|---|---|---|");
    let inflate = mb / inflate_best;
    let row = |name: &str, secs: f64| {
        println!("| {name} | {:.0} | {:.2} |", mb / secs, mb / secs / inflate);
    };
    row(
        "inflate (flate2 on zlib-rs, with the buffer copy)",
        inflate_best,
    );

    let best = |f: &mut dyn FnMut() -> usize| {
        let mut best = f64::MAX;
        let mut check = 0;
        for _ in 0..rounds {
            let started = Instant::now();
            check = std::hint::black_box(f());
            best = best.min(started.elapsed().as_secs_f64());
        }
        (best, check)
    };
    let (secs, _) = best(&mut || {
        texts
            .iter()
            .map(|t| std::str::from_utf8(t.as_bytes()).map_or(0, str::len))
            .sum()
    });
    row("UTF-8 check (std)", secs);
    let (secs, _) = best(&mut || {
        for text in &texts {
            let _: serde::de::IgnoredAny = serde_json::from_str(text).expect("json");
        }
        0
    });
    row("serde_json: skip the whole object (IgnoredAny)", secs);
    for kernel in Kernel::available() {
        let (secs, _) = best(&mut || {
            let mut n = 0;
            for text in &texts {
                n += Structurals::new(text.as_bytes(), kernel).count();
            }
            n
        });
        row(
            &format!("scanner: every position ({})", kernel.name()),
            secs,
        );
    }
    let mut counts = Vec::new();
    let texts = &texts;
    let records = |kernel: Option<Kernel>| {
        move || {
            let mut n = 0usize;
            for text in texts {
                for_each_record_with(
                    text.as_bytes(),
                    DecodeLimits::default(),
                    kernel,
                    &mut |item| {
                        if let Item::Record(record) = item {
                            n += record.event_name.as_deref().map_or(0, str::len);
                        }
                    },
                )
                .expect("records");
            }
            n
        }
    };
    for kernel in Kernel::available() {
        let (secs, n) = best(&mut records(Some(kernel)));
        counts.push(n);
        row(&format!("scanner: records ({})", kernel.name()), secs);
    }
    let (secs, n) = best(&mut records(None));
    counts.push(n);
    row("serde_json: records (the path before the scanner)", secs);
    assert!(counts.windows(2).all(|w| w[0] == w[1]), "paths disagree");
}
