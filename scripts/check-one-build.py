#!/usr/bin/env python3
"""The README's two commands share one build (#26): after `cargo run --locked`, `cargo test
--locked` compiles only the project's own crates, its dev-dependencies (and what only they use),
and nothing the first command built already with other features or settings.

Compares cargo's unit graphs of the two commands (`--unit-graph`, read through RUSTC_BOOTSTRAP);
nothing is compiled. A dependency of `cargo run` that `cargo test` would build again, because a
dev-dependency turns on more of its features, is reported with those features: declare them on
the normal dependency (Cargo.toml) to align the two builds.
"""
import json
import os
import subprocess
import sys

ENV = dict(os.environ, RUSTC_BOOTSTRAP="1")


def graph(*command):
    out = subprocess.run(
        ["cargo", *command, "--locked", "-Z", "unstable-options", "--unit-graph"],
        env=ENV, check=True, capture_output=True, text=True,
    ).stdout
    return json.loads(out)["units"]


def key(unit):
    profile = {k: v for k, v in unit["profile"].items() if k != "name"}
    return (unit["pkg_id"], unit["target"]["name"], unit["mode"],
            json.dumps(profile, sort_keys=True), tuple(sorted(unit["features"])))


run = graph("build", "--bin", "iamtrim")
test = graph("test", "--no-run")
own = lambda unit: "iamtrim" in unit["pkg_id"].split("#")[0] or unit["pkg_id"].startswith("path+")
built = {key(u) for u in run}
by_target = {}
for u in run:
    by_target.setdefault((u["pkg_id"], u["target"]["name"], u["mode"]), []).append(u)

bad = []
new = 0
for u in test:
    if own(u) or key(u) in built:
        continue
    same = by_target.get((u["pkg_id"], u["target"]["name"], u["mode"]))
    if not same:
        new += 1  # only the tests need it: built once, by the second command
        continue
    extra = sorted(set(u["features"]) - set(same[0]["features"]))
    if extra:
        bad.append(f"{u['pkg_id'].split('#')[-1]}: the tests add features {extra}")
        continue
    # Same features, other profile settings: cargo does not keep a second copy of a crate the
    # first command built for proc-macros only (debuginfo 0) when the tests need it at run time;
    # it builds one with the tests' settings, and every proc-macro above it and every crate
    # derived with those is rebuilt (unicode-ident, through hcl-rs, did that: 95 crates).
    theirs = sorted({s["profile"]["debuginfo"] for s in same})
    bad.append(
        f"{u['pkg_id'].split('#')[-1]}: the tests build it with debuginfo "
        f"{u['profile']['debuginfo']}, the first command with {theirs}; set it in "
        f"[profile.dev.package.<name>]"
    )
for line in bad:
    print(f"error: {line}", file=sys.stderr)
print(f"one build: `cargo test` adds {new} units only tests need; {len(bad)} rebuilt with other features or settings")
sys.exit(1 if bad else 0)
