#!/usr/bin/env python3
"""Validate JSON documents against a JSON schema whose $refs point at sibling files
(CycloneDX 1.6 needs spdx.schema.json and jsf-0.82.schema.json beside it).

usage: validate_schema.py SCHEMA DOC...   exit 0 if all valid, 1 if one is invalid."""
import json
import pathlib
import sys

import jsonschema
from referencing import Registry, Resource

schema_path = pathlib.Path(sys.argv[1]).resolve()
schema = json.loads(schema_path.read_text())
resources = []
for sib in schema_path.parent.glob("*.json"):
    try:
        doc = json.loads(sib.read_text())
    except Exception:
        continue
    res = Resource.from_contents(doc, default_specification=jsonschema.Draft7Validator.META_SCHEMA and __import__("referencing.jsonschema").jsonschema.DRAFT7)
    resources.append((sib.name, res))
    if isinstance(doc, dict) and "$id" in doc:
        resources.append((doc["$id"], res))
registry = Registry().with_resources(resources)
cls = jsonschema.validators.validator_for(schema)
validator = cls(schema, registry=registry)
bad = 0
for path in sys.argv[2:]:
    errors = sorted(validator.iter_errors(json.loads(pathlib.Path(path).read_text())), key=lambda e: list(e.path))
    for e in errors[:5]:
        print(f"{path}: {'/'.join(map(str, e.path))}: {e.message[:300]}")
    bad += bool(errors)
sys.exit(1 if bad else 0)
