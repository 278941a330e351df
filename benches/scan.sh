#!/usr/bin/env bash
# The record decoder alone, on one core (examples/scan_speed.rs): MB/s of JSON for inflate,
# serde_json's skip, the structural scanner per kernel, its lazy record walk and serde_json's
# records, on the first objects of the 1M-record bench trail (benches/throughput.sh makes it).
#
#   benches/scan.sh [--objects 100] [--rounds 5]
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
trail="${IAMTRIM_BENCH_DIR:-$HOME/.cache/iamtrim-bench}/trail-1000000"
[ -d "$trail" ] || { echo "no trail at $trail (benches/throughput.sh generates it)" >&2; exit 2; }
cargo build --quiet --release --locked --example scan_speed
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
taskset -c 0 "$CARGO_TARGET_DIR/release/examples/scan_speed" "$@" "$trail"
