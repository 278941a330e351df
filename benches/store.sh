#!/usr/bin/env bash
# A recommendation from the usage store against one from the raw logs, on a 30-day trail.
#
#   benches/store.sh [--days 30] [--per-day 50000] [--runs 3]
#
# Builds a trail of DAYS CloudTrail days (examples/gen_bench_trail.rs: 200 workloads, ~1.6 KB
# records, 2,000 per object), then measures in the same run, each the median of RUNS:
#   raw:     iamtrim recommend --trail TRAIL         (inflate, parse, attribute, map every event)
#   ingest:  iamtrim run, first run                  (the same work, plus writing the store)
#   nightly: iamtrim run after one more day arrives  (ingests that day only, then recommends)
#   store:   iamtrim run with nothing new            (lists the trail, reads the store through
#                                                     queries/window-*.sql, recommends)
# and prints store/raw and nightly/raw as speedups. It also checks that the store's
# recommendation equals the raw one (workloads, attribution, input counts; the window differs by
# design: the store's is its days, the flags' is --since).
#
# Release build; the trail is cached in ~/.cache/iamtrim-bench.
set -euo pipefail
cd "$(dirname "$0")/.."
days=30 per_day=50000 runs=3
while [ $# -gt 0 ]; do
  case "$1" in
    --days) days=$2; shift 2 ;;
    --per-day) per_day=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
cargo build --quiet --release --locked --bin iamtrim --example gen_bench_trail --example inflate_only
bin="$CARGO_TARGET_DIR/release/iamtrim"
gen="$CARGO_TARGET_DIR/release/examples/gen_bench_trail"

cache="$HOME/.cache/iamtrim-bench"
full="$cache/store-trail-$days-$per_day"
records=$((days * per_day))
if [ ! -f "$full/.complete" ]; then
  rm -rf "$full"
  "$gen" --records $((records + per_day)) --per-day "$per_day" --out "$full"
  touch "$full/.complete"
fi
# The trail without its last day, and that day on its own for the nightly increment.
last_day=$(find "$full" -mindepth 7 -maxdepth 7 -type d | sort | tail -n 1)
mkdir -p "$cache"
work=$(mktemp -d "$cache/work.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/trail"
cp -al "$full/AWSLogs" "$work/trail/"
rel=${last_day#"$full"/}
rm -rf "${work:?}/trail/$rel"

config() { # config NAME
  cat > "$work/$1.toml" <<EOF
[store]
path = "$work/$1-store"
[source]
trails = ["$work/trail"]
since = "2026-01-01"
[report]
window_days = 400
[output]
dir = "$work/$1-out"
EOF
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # timed OUT_FILE CMD...: prints seconds
  local out=$1; shift
  /usr/bin/time -f '%e %M' -o "$work/time" "$@" > "$out" 2> "$work/stderr" || {
    local rc=$?
    [ $rc -le 2 ] || { cat "$work/stderr" >&2; exit 1; }
  }
  cut -d' ' -f1 "$work/time"
}

raw=() ingest=() nightly=() store=()
for i in $(seq "$runs"); do
  raw+=("$(timed "$work/raw.json" "$bin" recommend --trail "$work/trail" --since 2026-01-01 --format json)")
  rm -rf "$work/trail/$rel" "$work/b-store" "$work/b-out"
  config b
  ingest+=("$(timed /dev/null "$bin" run --config "$work/b.toml" -q)")
  store+=("$(timed /dev/null "$bin" run --config "$work/b.toml" -q)")
  mkdir -p "$(dirname "$work/trail/$rel")"
  cp -al "$last_day" "$work/trail/$rel"
  nightly+=("$(timed /dev/null "$bin" run --config "$work/b.toml" -q)")
  rm -rf "${work:?}/trail/$rel"
done
# The store's recommendation (before the extra day) equals the raw one.
rm -rf "$work/c-store" "$work/c-out"; config c
"$bin" run --config "$work/c.toml" -q || true
python3 - "$work/raw.json" "$work/c-out/recommendation.json" <<'EOF'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
for r in (a, b):
    r["window"] = None
    r["attribution"]["context"]["sources"] = None
bad = [k for k in a if a[k] != b.get(k)]
if bad:
    sys.exit(f"the store's recommendation differs from the raw one in {bad}")
print(f"same recommendation from both: {len(a['workloads'])} workloads, {a['input']['records']} records")
EOF

r=$(printf '%s\n' "${raw[@]}" | median)
g=$(printf '%s\n' "${ingest[@]}" | median)
n=$(printf '%s\n' "${nightly[@]}" | median)
s=$(printf '%s\n' "${store[@]}" | median)
store_mb=$(du -sm "$work/c-store" | cut -f1)
trail_mb=$(du -sm "$full" | cut -f1)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); $(date -u +%F)"
echo "trail: $days days x $per_day records ($records records, $trail_mb MB gzipped); store: $store_mb MB"
printf '%-46s %8s %10s\n' "step (median of $runs)" seconds "vs raw"
printf '%-46s %8s %10s\n' "raw: recommend from the logs" "$r" "1.0x"
printf '%-46s %8s %10s\n' "ingest: first run, logs -> store -> report" "$g" "$(awk -v a="$r" -v b="$g" 'BEGIN{printf "%.2fx", a/b}')"
printf '%-46s %8s %10s\n' "nightly: one new day -> store -> report" "$n" "$(awk -v a="$r" -v b="$n" 'BEGIN{printf "%.1fx", a/b}')"
printf '%-46s %8s %10s\n' "store: nothing new, report from the store" "$s" "$(awk -v a="$r" -v b="$s" 'BEGIN{printf "%.1fx", a/b}')"
