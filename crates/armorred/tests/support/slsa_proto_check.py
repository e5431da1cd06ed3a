#!/usr/bin/env python3
"""Check in-toto statements carrying SLSA provenance v1 against the official .proto files
(in-toto attestation's Statement, ResourceDescriptor and provenance v1), strictly: an unknown
field, a wrong type or a timestamp that is not RFC 3339 fails.

usage: slsa_proto_check.py PROTO_ROOT STATEMENT.json...   exit 0 if all pass, 1 otherwise.
PROTO_ROOT is in-toto-attestation/protos (it holds in_toto_attestation/...). Needs grpcio-tools."""
import importlib
import json
import atexit
import pathlib
import shutil
import sys
import tempfile

from grpc_tools import protoc
import grpc_tools
from google.protobuf import json_format

root = pathlib.Path(sys.argv[1]).resolve()
protos = [
    "in_toto_attestation/v1/resource_descriptor.proto",
    "in_toto_attestation/v1/statement.proto",
    "in_toto_attestation/predicates/provenance/v1/provenance.proto",
]
out = pathlib.Path(tempfile.mkdtemp(prefix="slsa-proto-"))
atexit.register(shutil.rmtree, out, ignore_errors=True)  # the generated modules go with the run
include = pathlib.Path(grpc_tools.__file__).parent / "_proto"
rc = protoc.main(["protoc", f"-I{root}", f"-I{include}", f"--python_out={out}", *protos])
if rc != 0:
    sys.exit(f"protoc failed ({rc})")
sys.path.insert(0, str(out))
statement_pb2 = importlib.import_module("in_toto_attestation.v1.statement_pb2")
provenance_pb2 = importlib.import_module("in_toto_attestation.predicates.provenance.v1.provenance_pb2")

bad = 0
for path in sys.argv[2:]:
    doc = json.loads(pathlib.Path(path).read_text())
    try:
        json_format.ParseDict(doc, statement_pb2.Statement(), ignore_unknown_fields=False)
        if doc.get("predicateType") != "https://slsa.dev/provenance/v1":
            raise ValueError(f"predicateType is {doc.get('predicateType')!r}")
        json_format.ParseDict(doc["predicate"], provenance_pb2.Provenance(), ignore_unknown_fields=False)
    except Exception as e:  # noqa: BLE001 - report every kind of failure
        print(f"{path}: {e}", file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
