#!/usr/bin/env bash
# Throughput of `recommend --trail s3://…` against a local S3 server (moto) behind a proxy that
# adds a fixed latency to every request (like a real region's first-byte time), at several
# --fetch-concurrency values, measured in the same run. Throughput should rise with concurrency
# until the 2 workers' CPU or the server is the limit.
#
#   benches/s3-latency.sh [DAYS] [LATENCY_MS]     # defaults: 20 days (400 objects), 50 ms
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/iamtrim-target}"
days=${1:-20}
latency=${2:-50}
cargo build --quiet --bin iamtrim --example gen_sample_trail
bin="$CARGO_TARGET_DIR/debug/iamtrim"
work=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port=$(free_port); proxy_port=$(free_port)
python3 -m moto.server -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 & moto=$!
python3 benches/latency_proxy.py "$proxy_port" "http://127.0.0.1:$moto_port" "$latency" & proxy=$!
trap 'kill $moto $proxy 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 50); do curl -s "http://127.0.0.1:$moto_port" >/dev/null && break; sleep 0.1; done
"$CARGO_TARGET_DIR/debug/examples/gen_sample_trail" --copies "$days" --out "$work/trail" 2>/dev/null
auth='AWS4-HMAC-SHA256 Credential=x/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0'
curl -s -X PUT "http://127.0.0.1:$moto_port/bench" -H "Authorization: $auth" >/dev/null
(cd "$work/trail" && find . -type f | sed 's|^\./||' | while read -r key; do
  curl -s -X PUT "http://127.0.0.1:$moto_port/bench/$key" -H "Authorization: $auth" \
    -H 'Content-Type: application/octet-stream' --data-binary @"$key" >/dev/null
done)
objects=$(find "$work/trail" -name '*.json.gz' -path '*CloudTrail/*' | wc -l)
echo "objects: $objects, latency per request: ${latency} ms"
printf '%-12s %8s %10s %8s\n' concurrency secs objects/s ratio
base=""
for c in 1 4 16 32; do
  start=$(date +%s.%N)
  AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    "$bin" recommend --trail s3://bench --endpoint-url "http://127.0.0.1:$proxy_port" \
    --fetch-concurrency "$c" --format json -q > "$work/out.json"
  secs=$(python3 -c "import time; print(f'{time.time() - $start:.2f}')")
  rate=$(python3 -c "print(f'{$objects / $secs:.1f}')")
  base=${base:-$rate}
  ratio=$(python3 -c "print(f'{$rate / $base:.2f}')")
  printf '%-12s %8s %10s %8s\n' "$c" "$secs" "$rate" "$ratio"
done
