#!/usr/bin/env python3
"""Validates FHIR JSON that snpd emits with an independent implementation.

Usage: tests/fhir/validate.py [FILE ...]     (no FILE, or "-": standard input)

Each input is one JSON resource (a Bundle, a CapabilityStatement, an OperationOutcome...).
It is checked with the PyPI package `fhir.resources` (its R4B models accept what the R4
resources snpd emits contain; unknown elements are errors), then, for a Bundle, with the
rules of SPEC section 7.2 that a model cannot see: every relative reference resolves to an
entry of the Bundle or to a contained resource, every fullUrl is <base>/<Type>/<id>,
total counts the "match" entries, every resource carries meta.profile.

Exit status: 0 all valid, 1 some invalid (errors on stderr), 2 fhir.resources missing.
"""
import json
import sys

try:
    from fhir.resources.R4B import get_fhir_model_class
except ImportError:  # pragma: no cover
    print("fhir.resources is not installed: pip install 'fhir.resources>=8'", file=sys.stderr)
    sys.exit(2)


def references(node, path=""):
    """Yields (path, reference string) for every Reference.reference inside node."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "reference" and isinstance(value, str):
                yield path, value
            else:
                yield from references(value, f"{path}.{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from references(value, f"{path}[{i}]")


def check_bundle(bundle):
    errors = []
    entries = bundle.get("entry", [])
    full_urls = {}
    for i, entry in enumerate(entries):
        res = entry.get("resource", {})
        url = entry.get("fullUrl", "")
        rtype, rid = res.get("resourceType"), res.get("id")
        if not url.endswith(f"/{rtype}/{rid}"):
            errors.append(f"entry[{i}].fullUrl {url!r} is not <base>/{rtype}/{rid}")
        full_urls[f"{rtype}/{rid}"] = url
        if not res.get("meta", {}).get("profile"):
            errors.append(f"entry[{i}] {rtype}/{rid} has no meta.profile")
        for c in res.get("contained", []):
            if not c.get("meta", {}).get("profile"):
                errors.append(f"entry[{i}] {rtype}/{rid} contained {c.get('id')} has no meta.profile")
    matches = sum(1 for e in entries if e.get("search", {}).get("mode") == "match")
    if bundle.get("total") != matches:
        errors.append(f"total {bundle.get('total')} but {matches} match entries")
    for i, entry in enumerate(entries):
        res = entry.get("resource", {})
        contained_ids = {c.get("id") for c in res.get("contained", [])}
        for path, ref in references(res):
            if ref.startswith("#"):
                if ref[1:] not in contained_ids:
                    errors.append(f"entry[{i}]{path}: {ref} is not a contained resource")
            elif ref not in full_urls:
                errors.append(f"entry[{i}]{path}: {ref} does not resolve inside the Bundle")
    return errors


def validate(text, name):
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        return [f"{name}: not JSON: {e}"]
    rtype = data.get("resourceType") if isinstance(data, dict) else None
    if not rtype:
        return [f"{name}: no resourceType"]
    try:
        model = get_fhir_model_class(rtype)
        model.model_validate(data) if hasattr(model, "model_validate") else model.parse_obj(data)
    except Exception as e:  # pydantic's ValidationError, KeyError for an unknown type
        return [f"{name}: {rtype}: {e}"]
    if rtype == "Bundle":
        return [f"{name}: {err}" for err in check_bundle(data)]
    return []


def main(argv):
    names = argv[1:] or ["-"]
    errors = []
    for name in names:
        text = sys.stdin.read() if name == "-" else open(name, encoding="utf-8").read()
        errs = validate(text, "stdin" if name == "-" else name)
        errors += errs
        if not errs:
            print(f"{'stdin' if name == '-' else name}: valid")
    for e in errors:
        print(e, file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
