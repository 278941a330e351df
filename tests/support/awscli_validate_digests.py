"""Checks digest signatures with the AWS CLI's own validator (awscli's
Sha256RSADigestValidator, the code behind `aws cloudtrail validate-logs`), independently of
iamtrim.

usage: awscli_validate_digests.py TRAIL_DIR DIGEST_S3_METADATA_JSON PUBLIC_KEYS_JSON

Prints one line per digest file: `valid <key>` or `INVALID <key>: <reason>`; exits 1 if any is
invalid.
"""
import gzip
import json
import os
import sys

from awscli.customizations.cloudtrail.validation import (
    DigestError,
    Sha256RSADigestValidator,
)

trail, metadata_path, keys_path = sys.argv[1:4]
metadata = json.load(open(metadata_path))
keys = {k["Fingerprint"]: k for k in json.load(open(keys_path))["PublicKeyList"]}
validator = Sha256RSADigestValidator()
bad = 0
for key in sorted(metadata):
    inflated = gzip.open(os.path.join(trail, key)).read()
    data = json.loads(inflated)
    data["_signature"] = metadata[key]["signature"]
    data["_signature_algorithm"] = metadata[key]["signature-algorithm"]
    public_key = keys[data["digestPublicKeyFingerprint"]]["Value"]
    try:
        validator.validate(data["digestS3Bucket"], key, public_key, data, inflated)
        print(f"valid {key}")
    except DigestError as e:
        bad += 1
        print(f"INVALID {key}: {e}")
sys.exit(1 if bad else 0)
