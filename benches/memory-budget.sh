#!/usr/bin/env bash
# Peak RSS of `iamtrim recommend` with and without a memory budget, on inputs that used to take
# the run's memory with them (#23): a gzip bomb just over --max-object-bytes, and a folder of
# large objects (each decompresses to --big bytes of valid CloudTrail JSON: a few records and a
# run of whitespace, so parsing is cheap and the figure is about holding the object).
#
#   benches/memory-budget.sh                       # dev build; --release for release figures
#   benches/memory-budget.sh --release --big 1073741824 --objects 4
#
# For each input, 1 and 2 threads: peak RSS unbudgeted (--memory-budget of 1 TiB) and with the
# budget (--budget, default half of 2 objects), the most the budget held at once
# (IAMTRIM_STATS), and RSS above the budget: the fixed part docs/PERFORMANCE.md quotes. A small
# trail (the sample) gives the fixed part alone.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
profile=debug
build=()
big=$((256 << 20))
objects=4
budget=""
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release; build=(--release); shift ;;
    --big) big=$2; shift 2 ;;
    --objects) objects=$2; shift 2 ;;
    --budget) budget=$2; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
budget=${budget:-$big}
cargo build --quiet --locked "${build[@]}" --bin iamtrim
bin="$CARGO_TARGET_DIR/$profile/iamtrim"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A CloudTrail object of exactly $2 bytes decompressed, gzipped into $1 (fast: whitespace).
python3 - "$work" "$big" "$objects" <<'PY'
import gzip, json, os, sys
work, size, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
event = {"eventVersion": "1.08", "userIdentity": {"type": "IAMUser", "arn":
         "arn:aws:iam::111122223333:user/big", "accountId": "111122223333"},
         "eventTime": "2026-11-01T10:00:00Z", "eventSource": "s3.amazonaws.com",
         "eventName": "ListBuckets", "awsRegion": "us-east-1", "eventID": "",
         "eventType": "AwsApiCall", "recipientAccountId": "111122223333"}
def write(path, size, n):
    e = dict(event, eventID="%08x-0000-4000-8000-000000000000" % n)
    head = '{"Records":[' + json.dumps(e) + ','
    tail = json.dumps(dict(e, eventName="ListTables", eventSource="dynamodb.amazonaws.com")) + ']}'
    pad = size - len(head) - len(tail)
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(head.encode())
        chunk = b" " * (1 << 20)
        while pad > 0:
            f.write(chunk[:min(pad, len(chunk))]); pad -= min(pad, len(chunk))
        f.write(tail.encode())
os.makedirs(f"{work}/large"); os.makedirs(f"{work}/bomb")
for n in range(count):
    write(f"{work}/large/object-{n}.json.gz", size, n)
# The bomb: one byte more than --max-object-bytes below.
write(f"{work}/bomb/bomb.json.gz", size + 1, 99)
PY

echo "machine: $(nproc) cores; $(date -u +%Y-%m-%d); objects of $big bytes decompressed; budget $budget bytes"
printf '%-7s %-7s %-10s %12s %14s %16s %8s\n' input threads budget peak_rss_kb budget_peak_b rss_over_budget_kb skipped
run() { # input dir, threads, budget label, budget bytes, max object bytes
  /usr/bin/time -f '%M' -o "$work/t" env IAMTRIM_STATS=1 "$bin" recommend --trail "$1" \
    --threads "$2" --memory-budget "$4" --max-object-bytes "$5" --format json \
    > "$work/out.json" 2> "$work/err" || true
  rss=$(tail -n 1 "$work/t")
  peak=$(sed -n 's/.*memory_budget_peak=\([0-9]*\).*/\1/p' "$work/err")
  skipped=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["input"]["skipped"]))' "$work/out.json")
  over=$(( rss - ${4/1099511627776/0} / 1024 ))
  [ "$4" = 1099511627776 ] && over="-"
  [ "$(basename "$1")" = sample-trail ] && over="(base)"
  [ "$(basename "$1")" = bomb ] && over="-"
  printf '%-7s %-7s %-10s %12s %14s %16s %8s\n' "$(basename "$1")" "$2" "$3" "$rss" "${peak:-?}" "$over" "$skipped"
}
for threads in 1 2; do
  run fixtures/sample-trail "$threads" budget "$budget" "$big"
  for input in large bomb; do
    run "$work/$input" "$threads" none 1099511627776 "$big"
    run "$work/$input" "$threads" budget "$budget" "$big"
  done
done
