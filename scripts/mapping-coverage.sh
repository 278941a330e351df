#!/usr/bin/env bash
# Share of workload API calls that iamtrim maps to IAM catalog actions, and the pairs it cannot map.
#
#   scripts/mapping-coverage.sh [TRAIL_DIR]     # default: ../shared/data/cloudtrail-real
set -euo pipefail
cd "$(dirname "$0")/.."
trail="${1:-../shared/data/cloudtrail-real}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
cargo build --quiet --bin iamtrim
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$CARGO_TARGET_DIR/debug/iamtrim" recommend --trail "$trail" --format json -q > "$out" || true
python3 - "$out" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
i = d["input"]
mapped, free = i["mapped_events"], i["no_permission_needed"]
unmapped = sum(u["count"] for u in d["unmapped"])
total = mapped + free + unmapped
print(f"records {i['records']}, workload API calls {total}, not workload activity {sum(i['not_workload_activity'].values())}")
print(f"mapped to catalog actions: {mapped}  needing no permission: {free}  unmapped: {unmapped}")
print(f"coverage: {100.0 * (mapped + free) / max(total, 1):.2f}%")
for u in d["unmapped"]:
    print(f"  unmapped: {u['event_source']} {u['event_name']} x{u['count']}")
PY
