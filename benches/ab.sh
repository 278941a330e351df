#!/usr/bin/env bash
# Two iamtrim binaries on the same trail, run alternately (A B A B ...) so that the machine's
# drift hits both alike; prints each run, then the median seconds and peak RSS of each and the
# ratio B/A, and checks that both wrote the same bytes.
#
#   benches/ab.sh /tmp/iamtrim-before target/release/iamtrim            # 1M trail, 1 thread, 7 runs
#   benches/ab.sh A B --threads 2 --runs 5 --trail ~/.cache/iamtrim-bench/trail-10000000
set -euo pipefail
a=$1 b=$2; shift 2
threads=1 runs=7
trail="${IAMTRIM_BENCH_DIR:-$HOME/.cache/iamtrim-bench}/trail-1000000"
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --trail) trail=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -d "$trail" ] || { echo "no trail at $trail (benches/throughput.sh generates it)" >&2; exit 2; }
cores=$(seq -s, 0 $((threads - 1)))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$trail" -name '*.json.gz' -exec cat {} + > /dev/null
for i in $(seq "$runs"); do
  for side in a b; do
    bin=$a; [ $side = b ] && bin=$b
    /usr/bin/time -f '%e %M' -o "$work/t" taskset -c "$cores" "$bin" recommend --trail "$trail" \
      --threads "$threads" --quiet --format json > "$work/out-$side.json" || true
    echo "$side $(tail -1 "$work/t")" | tee -a "$work/runs"
  done
done
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ma=$(awk '$1=="a"{print $2}' "$work/runs" | median); mb=$(awk '$1=="b"{print $2}' "$work/runs" | median)
ra=$(awk '$1=="a"{print $3}' "$work/runs" | median); rb=$(awk '$1=="b"{print $3}' "$work/runs" | median)
echo "A: median ${ma} s, peak RSS ${ra} KB ($a)"
echo "B: median ${mb} s, peak RSS ${rb} KB ($b)"
awk -v a="$ma" -v b="$mb" 'BEGIN {printf "B/A time: %.3f (%+.1f%%)\n", b/a, (b/a-1)*100}'
if cmp -s "$work/out-a.json" "$work/out-b.json"; then echo "output: identical"; else echo "output: DIFFERENT"; fi
