#!/usr/bin/env bash
# Memory of `iamtrim recommend` as the trail grows: 1, 10, 100 and 300 days of the sample trail
# (the same 12 workloads every day, with new sessions, keys and event IDs each day).
#
# Two layouts of the same files, measured in the same run:
#   dated: CloudTrail's AWSLogs/<acct>/CloudTrail/<region>/YYYY/MM/DD/ folders, read day by day
#          with watermarks, so the session join retires sessions that can no longer be used;
#   flat:  every file in one folder (the baseline): no time order is known, so every session
#          stays in the join until the end.
# Columns: peak RSS, and the join's peak live state (pending sessions + bindings, IAMTRIM_STATS).
# Memory should stay flat for the dated layout: it grows with distinct (workload, action,
# resource) and live sessions, not with events, files or days.
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
printf '%-5s %-6s %6s %8s %6s %11s %13s %13s %9s\n' days layout files records secs peak_rss_kb peak_pending peak_bindings workloads
for days in 1 10 100 300; do
  "$gen" --copies "$days" --out "$work/dated" 2>/dev/null
  mkdir -p "$work/flat"
  find "$work/dated" -name '*.json.gz' -path '*CloudTrail/*' -exec cp {} "$work/flat/" \;
  files=$(find "$work/flat" -name '*.json.gz' | wc -l)
  for layout in dated flat; do
    IAMTRIM_STATS=1 /usr/bin/time -f '%e %M' -o "$work/time" "$bin" recommend --trail "$work/$layout" \
      --iam-snapshot fixtures/sample-context/iam.json \
      --pod-identity-associations fixtures/sample-context/pod-identity-associations.json \
      --format json > "$work/out.json" 2> "$work/err"
    read -r secs rss < "$work/time"
    pending=$(sed -n 's/.*peak_pending_sessions=\([0-9]*\).*/\1/p' "$work/err")
    bindings=$(sed -n 's/.*peak_bindings=\([0-9]*\).*/\1/p' "$work/err")
    read -r records workloads < <(python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(d['input']['records'], len(d['workloads']))" "$work/out.json")
    printf '%-5s %-6s %6s %8s %6s %11s %13s %13s %9s\n' "$days" "$layout" "$files" "$records" "$secs" "$rss" "$pending" "$bindings" "$workloads"
  done
  rm -rf "$work/dated" "$work/flat"
done
