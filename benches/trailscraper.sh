#!/usr/bin/env bash
# iamtrim against trailscraper 0.10, the open-source peer, on the same files.
#
#   benches/trailscraper.sh                              # the 1M-record bench trail
#   benches/trailscraper.sh --records 100000 --timeout 1800
#
# trailscraper is installed from PyPI into a venv under $IAMTRIM_BENCH_DIR (default
# ~/.cache/iamtrim-bench). Its documented pipeline is measured: `trailscraper select --log-dir DIR`
# (reads every .json.gz under DIR) piped into `trailscraper generate`, each stage timed with its
# peak RSS; a stage that runs past --timeout seconds is stopped, and the ratio is then a lower
# bound. The trail is the one benches/throughput.sh uses (examples/gen_bench_trail.rs).
# trailscraper runs on one thread, so iamtrim is measured pinned to one core (taskset) and on
# every core. Prints seconds, records/s and peak RSS of each, and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
bench_dir="${IAMTRIM_BENCH_DIR:-$HOME/.cache/iamtrim-bench}"
records=1000000
timeout=1800
while [ $# -gt 0 ]; do
  case "$1" in
    --records) records=$2; shift 2 ;;
    --timeout) timeout=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done

venv="$bench_dir/trailscraper-venv"
if [ ! -x "$venv/bin/trailscraper" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet 'trailscraper==0.10.0'
fi
cargo build --quiet --release --locked --bin iamtrim --example gen_bench_trail --example inflate_only
bin="$CARGO_TARGET_DIR/release/iamtrim"
trail="$bench_dir/trail-$records"
if [ ! -f "$trail/.complete" ]; then
  rm -rf "$trail"
  "$CARGO_TARGET_DIR/release/examples/gen_bench_trail" --records "$records" --out "$trail" 2>&1 | sed 's/^/  /' >&2
  touch "$trail/.complete"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
find "$trail" -name '*.json.gz' -exec cat {} + > /dev/null

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%Y-%m-%d)"
echo "trail: $records records in $(find "$trail" -name '*.json.gz' | wc -l) files"

# $1: label; rest: command. Appends "label secs rss_kb status" to $work/results.
measure() {
  local label=$1; shift
  local status=ok
  /usr/bin/time -f '%e %M' -o "$work/t" timeout "$timeout" "$@" || status="stopped-after-${timeout}s"
  if [ "$status" != ok ] && ! grep -q '^[0-9]' "$work/t" 2>/dev/null; then
    echo "$timeout 0" > "$work/t"
  fi
  echo "$label $(tail -1 "$work/t") $status" >> "$work/results"
}

measure iamtrim-1-core sh -c "taskset -c 0 '$bin' recommend --trail '$trail' --threads 1 --quiet --format json > '$work/iamtrim.json'"
measure iamtrim-all-cores sh -c "'$bin' recommend --trail '$trail' --quiet --format json > '$work/iamtrim.json'"
measure trailscraper-select sh -c "'$venv/bin/trailscraper' select --log-dir '$trail' --from 2026-08-01 --to 2027-12-31 > '$work/selected.json'"
measure trailscraper-generate sh -c "'$venv/bin/trailscraper' generate < '$work/selected.json' > '$work/trailscraper-policy.json'"

python3 - "$records" "$work/results" "$work/trailscraper-policy.json" <<'EOF'
import json, os, sys
records = int(sys.argv[1])
rows = {}
for line in open(sys.argv[2]):
    label, secs, rss, status = line.split()
    rows[label] = (float(secs), int(rss), status)
print(f"{'run':<24} {'secs':>9} {'records/s':>12} {'peak_rss_kb':>12}  status")
for label, (secs, rss, status) in rows.items():
    print(f"{label:<24} {secs:9.1f} {records / secs:12,.0f} {rss:12,}  {status}")
ts_secs = rows["trailscraper-select"][0] + rows["trailscraper-generate"][0]
ts_rss = max(rows["trailscraper-select"][1], rows["trailscraper-generate"][1])
complete = all(rows[k][2] == "ok" for k in ("trailscraper-select", "trailscraper-generate"))
bound = "" if complete else ">= "
print(f"trailscraper end to end: {ts_secs:.1f} s, {records / ts_secs:,.0f} records/s, peak RSS {ts_rss:,} KB"
      + ("" if complete else " (stopped: a lower bound on its time)"))
for label in ("iamtrim-1-core", "iamtrim-all-cores"):
    secs, rss, _ = rows[label]
    print(f"ratio {label} / trailscraper: throughput {bound}{ts_secs / secs:.1f}x, peak RSS {rss / ts_rss:.3f}x")
path = sys.argv[3]
if complete and os.path.getsize(path) > 0:
    doc = json.load(open(path))
    arns = sum(len(s["Resource"]) if isinstance(s["Resource"], list) else 1 for s in doc["Statement"])
    print(f"trailscraper policy: {len(doc['Statement'])} statements, {arns} resources, {os.path.getsize(path):,} bytes")
EOF
