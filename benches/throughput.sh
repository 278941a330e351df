#!/usr/bin/env bash
# Throughput of `iamtrim recommend` against the physical floor: inflating the same files and
# throwing the output away (examples/inflate_only.rs, the same gzip wrapper iamtrim uses).
#
#   benches/throughput.sh                         # 1M and 10M records, 1 and 2 cores
#   benches/throughput.sh --records 1000000 --cores 1,2 --runs 3
#
# Trails come from examples/gen_bench_trail.rs (about 1.5 KB per record, 2,000 records per file,
# 100,000 records per day, 200 workloads: IRSA, Pod Identity and plain roles) and are cached in
# $IAMTRIM_BENCH_DIR (default ~/.cache/iamtrim-bench). Both programs are pinned to the same cores
# with taskset, so "1 core" means every thread of the process (lister, workers, aggregator)
# shares one core. Files are read once before measuring, so both runs read from the page cache.
# Each figure is the median of --runs runs. Columns:
#   rec/s and MB/s (of uncompressed JSON) for inflate-only and for iamtrim, their ratio, and the
#   peak RSS of iamtrim (and of inflate-only, for scale).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
bench_dir="${IAMTRIM_BENCH_DIR:-$HOME/.cache/iamtrim-bench}"
records_list=1000000,10000000
cores_list=1,2
runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records_list=$2; shift 2 ;;
    --cores) cores_list=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

cargo build --quiet --release --locked --bin iamtrim --example gen_bench_trail --example inflate_only
bin="$CARGO_TARGET_DIR/release/iamtrim"
gen="$CARGO_TARGET_DIR/release/examples/gen_bench_trail"
inflate="$CARGO_TARGET_DIR/release/examples/inflate_only"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
printf '%-9s %-5s %12s %9s %12s %9s %7s %11s %11s\n' records cores inflate_rec/s infl_MB/s iamtrim_rec/s iam_MB/s ratio iam_rss_kb infl_rss_kb
for records in ${records_list//,/ }; do
  trail="$bench_dir/trail-$records"
  if [ ! -f "$trail/.complete" ]; then
    rm -rf "$trail"
    "$gen" --records "$records" --out "$trail" 2>&1 | sed 's/^/  /' >&2
    touch "$trail/.complete"
  fi
  find "$trail" -name '*.json.gz' -exec cat {} + > /dev/null
  for cores in ${cores_list//,/ }; do
    cpus=$(seq -s, 0 $((cores - 1)))
    : > "$work/inflate" ; : > "$work/iamtrim"
    for _ in $(seq "$runs"); do
      /usr/bin/time -f '%M' -o "$work/t" taskset -c "$cpus" "$inflate" --threads "$cores" "$trail" > "$work/line"
      read -r json secs < <(sed 's/.*json_bytes=\([0-9]*\) secs=\([0-9.]*\)/\1 \2/' "$work/line")
      echo "$secs $(cat "$work/t")" >> "$work/inflate"
      /usr/bin/time -f '%e %M' -o "$work/t" taskset -c "$cpus" "$bin" recommend --trail "$trail" \
        --threads "$cores" --quiet --format json > "$work/out.json"
      cat "$work/t" >> "$work/iamtrim"
    done
    # The figures count only if iamtrim did the whole job: every record read, none bad, every
    # workload found.
    got=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); i=d['input']; print(i['records'], i['bad_records'], len(i['skipped']), len(d['workloads']))" "$work/out.json")
    if [ "$got" != "$records 0 0 200" ]; then
      echo "iamtrim read (records, bad, skipped files, workloads) = ($got), expected ($records 0 0 200)" >&2
      exit 1
    fi
    inflate_secs=$(cut -d' ' -f1 "$work/inflate" | median)
    inflate_rss=$(cut -d' ' -f2 "$work/inflate" | median)
    iam_secs=$(cut -d' ' -f1 "$work/iamtrim" | median)
    iam_rss=$(cut -d' ' -f2 "$work/iamtrim" | median)
    python3 - "$records" "$cores" "$json" "$inflate_secs" "$iam_secs" "$iam_rss" "$inflate_rss" <<'EOF'
import sys
records, cores, json_bytes = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
inflate, iam = float(sys.argv[4]), float(sys.argv[5])
print(f"{records:<9} {cores:<5} {records / inflate:12,.0f} {json_bytes / inflate / 1e6:9,.0f} "
      f"{records / iam:12,.0f} {json_bytes / iam / 1e6:9,.0f} {inflate / iam:7.2f} {sys.argv[6]:>11} {sys.argv[7]:>11}")
EOF
  done
done
