#!/usr/bin/env bash
# Fails when fixtures/sample-trail (with its truth and sample-context) differs from what
# examples/gen_sample_trail writes.
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cargo run --quiet --locked --example gen_sample_trail -- --out "$tmp/sample-trail" 2>/dev/null
if diff -r "$tmp/sample-trail" fixtures/sample-trail >/dev/null \
  && diff "$tmp/sample-trail.truth.json" fixtures/sample-trail.truth.json >/dev/null \
  && diff -r "$tmp/sample-context" fixtures/sample-context >/dev/null; then
  echo "fixtures: sample trail is up to date"
else
  echo "fixtures: fixtures/sample-trail is stale; run: cargo run --example gen_sample_trail" >&2
  exit 1
fi
