#!/usr/bin/env python3
"""The OpenSSF Model Signing (OMS) key-based verification, re-implemented from the reference source.

The `model_signing` package (github.com/sigstore/model-transparency) is not installable here (no PyPI), so
this script performs its published verification steps with python3 and python3-cryptography alone, each
step citing the file and function of src/model_signing/ it follows. Usage mirrors the reference CLI
(`model_signing verify key`, _cli.py `_verify_private_key`):

    oms_verify.py --signature MODEL.sig --public_key KEY.pub [--ignore-paths P ...] MODEL_PATH

Exit 0 and "Verification succeeded", or exit 1 and "Verification failed with error: ..." (as _cli.py).
"""

import argparse
import base64
import hashlib
import json
import os
import pathlib
import sys

from cryptography import exceptions
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

# _signing/sign_sigstore_pb.py, _BUNDLE_MEDIA_TYPE.
BUNDLE_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json"
# _signing/signing.py, _IN_TOTO_JSON_PAYLOAD_TYPE, _IN_TOTO_STATEMENT_TYPE, _PREDICATE_TYPE.
IN_TOTO_JSON_PAYLOAD_TYPE = "application/vnd.in-toto+json"
IN_TOTO_STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://model_signing/signature/v1.0"
# hashing.py, Config.hash: the git paths ignored by default (--ignore-git-paths).
GIT_PATHS = [".git/", ".gitattributes", ".github/", ".gitignore"]


def load_public_key(path):
    """_signing/sign_ec_key.py, _load_public_key and _check_supported_ec_key: EC keys on P-256/384/521."""
    data = pathlib.Path(path).read_bytes()
    try:
        key = serialization.load_pem_public_key(data)
    except ValueError:
        key = serialization.load_der_public_key(data)
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise ValueError("Only elliptic curve public keys are supported")
    if key.curve.name not in ("secp256r1", "secp384r1", "secp521r1"):
        raise ValueError(f"Unsupported key for curve '{key.curve.name}'")
    return key


def ec_key_hash(key):
    """_signing/sign_ec_key.py, get_ec_key_hash."""
    return {256: hashes.SHA256(), 384: hashes.SHA384(), 521: hashes.SHA512()}[key.curve.key_size]


def pae(raw_payload):
    """_signing/sign_sigstore_pb.py, pae: DSSE v1 pre-authentication encoding over the in-toto type."""
    t = IN_TOTO_JSON_PAYLOAD_TYPE
    return b" ".join([f"DSSEv1 {len(t)} {t} {len(raw_payload)}".encode("utf-8"), raw_payload])


def verify_bundle(bundle, key):
    """_signing/sign_sigstore_pb.py, Verifier._verify_signed_content (media type), then
    _signing/sign_ec_key.py, Verifier._verify_bundle (key hint, ECDSA signature over the PAE)."""
    if bundle.get("mediaType") != BUNDLE_MEDIA_TYPE:
        raise ValueError(f"Invalid sigstore bundle, got media type {bundle.get('mediaType')} "
                         f"but expected {BUNDLE_MEDIA_TYPE}")
    pem = key.public_bytes(encoding=serialization.Encoding.PEM,
                           format=serialization.PublicFormat.SubjectPublicKeyInfo)
    hint = bundle["verificationMaterial"].get("publicKey", {}).get("hint")
    if hint and hint != hashlib.sha256(pem).digest().hex():
        raise ValueError("Key mismatch: The public key hash in the signature's verification material "
                         "does not match the provided public key.")
    envelope = bundle["dsseEnvelope"]
    # Bundle JSON carries bytes as base64 (protobuf JSON mapping, as sigstore_models reads them).
    payload = base64.b64decode(envelope["payload"], validate=True)
    signature = base64.b64decode(envelope["signatures"][0]["sig"], validate=True)
    try:
        key.verify(signature, pae(payload), ec.ECDSA(ec_key_hash(key)))
    except exceptions.InvalidSignature:
        raise ValueError("signature verification failed") from None
    return envelope["payloadType"], payload


def payload_to_manifest(payload_type, payload):
    """_signing/signing.py, Verifier.verify (payload and statement types) and dsse_payload_to_manifest:
    the predicate type, one subject, and the subject digest as SHA-256 over the resources' raw digests in
    the order listed. Returns (model name, {resource name: hex digest}, serialization arguments)."""
    if payload_type != IN_TOTO_JSON_PAYLOAD_TYPE:
        raise ValueError(f"Expected DSSE payload {IN_TOTO_JSON_PAYLOAD_TYPE}, but got {payload_type}")
    statement = json.loads(payload)
    if statement["_type"] != IN_TOTO_STATEMENT_TYPE:
        raise ValueError(f"Expected in-toto {IN_TOTO_STATEMENT_TYPE} payload, but got {statement['_type']}")
    if statement["predicateType"] != PREDICATE_TYPE:
        raise ValueError(f"Predicate type mismatch, expected {PREDICATE_TYPE}, got {statement['predicateType']}")
    subjects = statement["subject"]
    if len(subjects) != 1:
        raise ValueError(f"Expected only one subject, got {subjects}")
    expected_digest = subjects[0]["digest"]["sha256"]
    predicate = statement["predicate"]
    serialization_args = predicate["serialization"]
    # manifest.py, SerializationType.from_args: the reference knows "files" and "shards"; this script
    # re-implements "files", the serialization pot writes.
    if serialization_args["method"] != "files":
        raise ValueError(f"Unknown serialization type {serialization_args['method']}")
    hasher = hashlib.sha256()
    items = {}
    for resource in predicate["resources"]:
        if resource["algorithm"] != serialization_args["hash_type"]:
            raise ValueError(f"resource {resource['name']}: algorithm {resource['algorithm']}")
        digest = bytes.fromhex(resource["digest"])
        hasher.update(digest)
        # manifest.py, _FileSerialization.new_item / File: names are POSIX paths.
        items[str(pathlib.PurePosixPath(resource["name"]))] = digest.hex()
    obtained_digest = hasher.hexdigest()
    if obtained_digest != expected_digest:
        raise ValueError(f"Manifest is inconsistent. Root digest is {expected_digest}, "
                         f"but the included resources hash to {obtained_digest}")
    return subjects[0]["name"], items, serialization_args


def hash_model(model_path, ignore_paths, allow_symlinks):
    """hashing.py, Config.hash, and _serialization/file.py, Serializer.serialize and _compute_hash: every
    regular file under model_path (the path itself for a single-file model), minus ignored paths, named
    relative to model_path, each hashed whole with SHA-256 (_hashing/io.py, SimpleFileHasher)."""
    model_path = pathlib.Path(model_path)
    ignored = [pathlib.Path(p) for p in ignore_paths]
    ignored += [pathlib.Path(os.path.join(model_path, p)) for p in GIT_PATHS]
    items = {}
    for path in [model_path, *model_path.glob("**/*")]:  # _filesystem.py, walk_paths
        if any(path.is_relative_to(p) for p in ignored):  # serialization.py, should_ignore
            continue
        # _filesystem.py check_path_within_model and serialization.py check_file_or_directory.
        if not allow_symlinks and path.is_symlink():
            raise ValueError(f"Cannot use '{path}' because it is a symlink.")
        if not (path.is_file() or path.is_dir()):
            raise ValueError(f"Cannot use '{path}' as file or directory.")
        if path.is_file():
            h = hashlib.sha256()
            with open(path, "rb") as f:
                for chunk in iter(lambda: f.read(1 << 20), b""):
                    h.update(chunk)
            items[str(pathlib.PurePosixPath(path.relative_to(model_path)))] = h.hexdigest()
    if not items:
        raise ValueError("Model contains no regular files after applying exclusions")
    return items


def verify(model_path, signature_path, public_key_path, ignore_paths):
    """verifying.py, Config.verify: read the signature, verify it, hash the model with the signature's
    serialization (its ignore_paths added, relative to the model), and compare the manifests
    (manifest.py, Manifest.__eq__: the same resources with the same digests; the model name is not compared)."""
    key = load_public_key(public_key_path)
    bundle = json.loads(pathlib.Path(signature_path).read_text(encoding="utf-8"))
    payload_type, payload = verify_bundle(bundle, key)
    _, expected, args = payload_to_manifest(payload_type, payload)
    ignored = list(ignore_paths) + [signature_path]  # _cli.py: the signature itself is never hashed
    ignored += [os.path.join(model_path, p) for p in args.get("ignore_paths", [])]  # Config.add_ignored_paths
    actual = hash_model(model_path, ignored, args["allow_symlinks"])
    if actual != expected:
        differ = sorted(set(actual.items()) ^ set(expected.items()))
        raise ValueError(f"Signature mismatch: {differ[:4]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_path")
    parser.add_argument("--signature", required=True)
    parser.add_argument("--public_key", required=True)
    parser.add_argument("--ignore-paths", action="append", default=[])
    a = parser.parse_args()
    try:
        verify(a.model_path, a.signature, a.public_key, a.ignore_paths)
    except Exception as err:  # as _cli.py: any failure is a failed verification
        print(f"Verification failed with error: {err}", file=sys.stderr)
        sys.exit(1)
    print("Verification succeeded")


if __name__ == "__main__":
    main()
