"""The part of JSON Schema (2020-12) that docs/report.schema.json uses, checked with the stdlib.

``jsonschema`` is not a dependency, and report.json's schema needs only these keywords: ``type``
(one or a list), ``enum``, ``minimum``/``maximum``, ``properties``, ``required``,
``patternProperties``, ``additionalProperties`` (false or a schema), ``items``, ``minItems``/
``maxItems`` and ``$ref`` into ``#/$defs``. Any other keyword in the schema is an error here, so the
schema cannot grow a rule this check would silently ignore.
"""

from __future__ import annotations

import re
from typing import Any

KNOWN = {
    "$schema",
    "$id",
    "$defs",
    "$ref",
    "title",
    "description",
    "type",
    "enum",
    "minimum",
    "maximum",
    "properties",
    "required",
    "patternProperties",
    "additionalProperties",
    "items",
    "minItems",
    "maxItems",
}

TYPES: dict[str, Any] = {
    "object": dict,
    "array": list,
    "string": str,
    "boolean": bool,
    "null": type(None),
}


def _is(value: object, name: str) -> bool:
    """JSON types: a bool is not a number, an integer is a number."""
    if name == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if name == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, TYPES[name])


def errors(value: Any, schema: dict[str, Any], root: dict[str, Any] | None = None, path: str = "$") -> list[str]:
    """Every place where ``value`` breaks ``schema``, as ``path: what`` lines (empty when valid)."""
    root = schema if root is None else root
    unknown = set(schema) - KNOWN
    if unknown:
        raise ValueError(f"{path}: schema keywords this check does not implement: {sorted(unknown)}")
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return errors(value, root["$defs"][name], root, path)
    found: list[str] = []
    if "type" in schema:
        names = schema["type"] if isinstance(schema["type"], list) else [schema["type"]]
        if not any(_is(value, n) for n in names):
            return [f"{path}: expected {' or '.join(names)}, got {type(value).__name__} {value!r:.60}"]
    if "enum" in schema and value not in schema["enum"]:
        found.append(f"{path}: {value!r} is not one of {schema['enum']}")
    if _is(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            found.append(f"{path}: {value} is below the minimum {schema['minimum']}")
        if "maximum" in schema and value > schema["maximum"]:
            found.append(f"{path}: {value} is above the maximum {schema['maximum']}")
    if isinstance(value, dict):
        found += _object_errors(value, schema, root, path)
    if isinstance(value, list):
        found += _array_errors(value, schema, root, path)
    return found


def _object_errors(value: dict[str, Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    found = [f"{path}: missing required field '{key}'" for key in schema.get("required", []) if key not in value]
    properties = schema.get("properties", {})
    patterns = schema.get("patternProperties", {})
    for key, item in value.items():
        where = f"{path}.{key}"
        matched = [p for p in patterns if re.search(p, key)]
        if key in properties:
            found += errors(item, properties[key], root, where)
        for pattern in matched:
            found += errors(item, patterns[pattern], root, where)
        if key in properties or matched:
            continue
        extra = schema.get("additionalProperties", True)
        if extra is False:
            found.append(f"{path}: field '{key}' is not in the schema")
        elif isinstance(extra, dict):
            found += errors(item, extra, root, where)
    return found


def _array_errors(value: list[Any], schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    found: list[str] = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        found.append(f"{path}: {len(value)} items, fewer than {schema['minItems']}")
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        found.append(f"{path}: {len(value)} items, more than {schema['maxItems']}")
    if "items" in schema:
        for index, item in enumerate(value):
            found += errors(item, schema["items"], root, f"{path}[{index}]")
    return found
