#!/usr/bin/env python3
"""validate_results.py SCHEMA.json FILE.json... - checks saved results files
against their documented JSON Schema (docs/schemas/, draft 2020-12, with the
common fields' schema resolved from the same folder). Needs python3-jsonschema.
Prints one line per file; exits 1 if any is invalid."""
import json
import os
import sys

try:
    import jsonschema
except ImportError:
    print("validate_results.py: needs python3-jsonschema (make deps installs it)", file=sys.stderr)
    sys.exit(2)


def make_validator(schema, folder):
    """A 2020-12 validator that finds the other schemas of `folder` by their $id
    (with `referencing` on jsonschema >= 4.18, a RefResolver store before, as on Debian 12)."""
    docs = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".schema.json"):
            with open(os.path.join(folder, name)) as f:
                docs.append(json.load(f))
    try:
        from referencing import Registry, Resource
    except ImportError:
        store = {d["$id"]: d for d in docs}
        resolver = jsonschema.RefResolver.from_schema(schema, store=store)
        return jsonschema.Draft202012Validator(schema, resolver=resolver)
    registry = Registry().with_resources((d["$id"], Resource.from_contents(d)) for d in docs)
    return jsonschema.Draft202012Validator(schema, registry=registry)


def main():
    schema_path = sys.argv[1]
    with open(schema_path) as f:
        schema = json.load(f)
    validator = make_validator(schema, os.path.dirname(os.path.abspath(schema_path)))
    bad = 0
    for path in sys.argv[2:]:
        with open(path) as f:
            doc = json.load(f)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.path))
        if errors:
            bad = 1
            print("%s: INVALID: %s at %s" % (path, errors[0].message, "/".join(map(str, errors[0].path))))
        else:
            print("%s: valid" % path)
    sys.exit(bad)


if __name__ == "__main__":
    main()
