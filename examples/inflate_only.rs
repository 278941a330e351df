//! The throughput baseline: inflate every `.json.gz` under a folder and discard the output, on
//! `--threads` threads, with the same gzip wrapper iamtrim uses. Nothing iamtrim does per object
//! can be faster than this; benches/throughput.sh divides iamtrim's throughput by it.
//!
//!     cargo run --release --example inflate_only -- --threads 2 DIR
//!
//! Prints one line: `files=N compressed_bytes=N json_bytes=N secs=S`.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use iamtrim::decode::{DecodeLimits, inflate_if_gzip_into};

fn main() {
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut dir = None;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--threads" {
            threads = args
                .next()
                .and_then(|n| n.parse().ok())
                .expect("--threads N");
        } else {
            dir = Some(PathBuf::from(arg));
        }
    }
    let dir = dir.expect("usage: inflate_only [--threads N] DIR");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(&dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().to_string_lossy().ends_with(".json.gz"))
        .map(|e| e.into_path())
        .collect();
    files.sort();
    let started = Instant::now();
    let queue = Mutex::new(files.iter());
    let compressed = AtomicU64::new(0);
    let json = AtomicU64::new(0);
    std::thread::scope(|scope| {
        for _ in 0..threads.max(1) {
            scope.spawn(|| {
                // One buffer per thread, reused from object to object, as iamtrim's workers do.
                let mut out = Vec::new();
                loop {
                    let Some(path) = queue.lock().unwrap().next() else {
                        return;
                    };
                    let bytes = std::fs::read(path).expect("read");
                    compressed.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    inflate_if_gzip_into(bytes, DecodeLimits::default(), &mut out)
                        .expect("inflate");
                    json.fetch_add(out.len() as u64, Ordering::Relaxed);
                    std::hint::black_box(&out);
                }
            });
        }
    });
    println!(
        "files={} compressed_bytes={} json_bytes={} secs={:.3}",
        files.len(),
        compressed.into_inner(),
        json.into_inner(),
        started.elapsed().as_secs_f64()
    );
}
