#!/usr/bin/env bash
# Peak RSS of `iamtrim recommend` as the trail grows: 1x, 10x and 100x the sample trail (the same
# workloads over more days: new sessions, keys and event IDs each day). Memory should stay flat,
# because it grows with distinct (workload, action, resource) and live sessions, not with events.
#
#   benches/memory.sh            # dev build; pass --release for release figures
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
profile=debug
[ "${1:-}" = "--release" ] && profile=release
cargo build --quiet ${1:-} --bin iamtrim --example gen_sample_trail
bin="$CARGO_TARGET_DIR/$profile/iamtrim"
gen="$CARGO_TARGET_DIR/$profile/examples/gen_sample_trail"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '%-6s %8s %9s %7s %12s %10s\n' scale files records secs peak_rss_kb workloads
for copies in 1 10 100; do
  "$gen" --copies "$copies" --out "$work/t$copies" 2>/dev/null
  files=$(find "$work/t$copies" -name '*.json.gz' -path '*CloudTrail/*' | wc -l)
  /usr/bin/time -f '%e %M' -o "$work/time" "$bin" recommend --trail "$work/t$copies" --format json -q > "$work/out.json"
  read -r secs rss < "$work/time"
  records=$(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['input']['records'], len(d['workloads']))" "$work/out.json")
  printf '%-6s %8s %9s %7s %12s %10s\n' "${copies}x" "$files" ${records% *} "$secs" "$rss" ${records#* }
  rm -rf "$work/t$copies"
done
