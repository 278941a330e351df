#!/usr/bin/env bash
# spark/recommend.py in Spark's local mode against `iamtrim recommend` on the same files: the time
# of each, their ratio, and a check that both wrote the same recommendation (docs/SCALE.md).
#
#   benches/spark.sh                          # the 1M-record bench trail, 2 cores, 3 runs each
#   benches/spark.sh --records 200000 --runs 1 --cores 2 --partitions 8
#
# The trail comes from examples/gen_bench_trail.rs (10 delivery days for 1M records) and is cached
# in $IAMTRIM_BENCH_DIR (default ~/.cache/iamtrim-bench), as for benches/throughput.sh. Both runs
# use the same release binary and the same cores: `recommend --threads N` against Spark's
# `local[N]` with one iamtrim thread per task. Files are read once before measuring. Needs
# pyspark 3.5 and Java 17. Figures: docs/PERFORMANCE.md ("Spark").
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
bench_dir="${IAMTRIM_BENCH_DIR:-$HOME/.cache/iamtrim-bench}"
records=1000000
cores=2
runs=3
partitions=0
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --cores) cores=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --partitions) partitions=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

cargo build --quiet --release --locked --bin iamtrim --example gen_bench_trail
bin="$CARGO_TARGET_DIR/release/iamtrim"
gen="$CARGO_TARGET_DIR/release/examples/gen_bench_trail"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

trail="$bench_dir/trail-$records"
if [ ! -f "$trail/.complete" ]; then
  rm -rf "$trail"
  "$gen" --records "$records" --out "$trail" 2>&1 | sed 's/^/  /' >&2
  touch "$trail/.complete"
fi
find "$trail" -name '*.json.gz' -exec cat {} + > /dev/null
objects=$(find "$trail" -name '*.json.gz' | wc -l)

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
now() { date +%s.%N; }

extra=()
[ "$partitions" != 0 ] && extra=(--partitions "$partitions")
: > "$work/one"; : > "$work/spark"
for _ in $(seq "$runs"); do
  start=$(now)
  "$bin" recommend --trail "$trail" --threads "$cores" --quiet --format json > "$work/one.json"
  echo "$(now) - $start" | bc >> "$work/one"
  rm -rf "$work/out"
  start=$(now)
  python3 spark/recommend.py --trail "$trail" --out "$work/out" --iamtrim "$bin" \
    --master "local[$cores]" "${extra[@]}" 2> "$work/spark.err" || { cat "$work/spark.err" >&2; exit 1; }
  echo "$(now) - $start" | bc >> "$work/spark"
done
if cmp -s "$work/one.json" "$work/out/recommendation.json"; then same=identical; else same=DIFFERENT; fi

one=$(median < "$work/one")
spark=$(median < "$work/spark")
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
printf '%-9s %-7s %-5s %12s %10s %9s %15s %15s  %s\n' records objects cores recommend_s spark_s ratio one_s_per_1B spark_s_per_1B output
printf '%-9s %-7s %-5s %12.2f %10.2f %9.2f %15.0f %15.0f  %s\n' "$records" "$objects" "$cores" "$one" "$spark" \
  "$(echo "$spark / $one" | bc -l)" "$(echo "$one * 1000000000 / $records" | bc -l)" \
  "$(echo "$spark * 1000000000 / $records" | bc -l)" "$same"
[ "$same" = identical ]
