"""Zoom's OpenAPI 3.0 schemas as JSON Schema, and what the spec tier checks with them.

OpenAPI 3.0 is JSON Schema (draft 4 in its ways: boolean ``exclusiveMinimum``) plus words of
its own: ``nullable`` becomes a ``null`` in ``type`` (and in ``enum``), ``example`` and the other
annotations go. ``allOf`` parts are folded into one object schema (Zoom writes an object as the
``allOf`` of its parts), which the generator and the merge walk as one. ``oneOf`` is read as
``anyOf``: Zoom's variants are plain objects that overlap, and Zoom takes a body that is any one
of them. Formats are not
checked, as Zoom does not refuse a request for one (a ``date-time`` without its ``Z`` passes).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import jsonschema_rs

from zoomlive.api.errors import FieldError

_DROPPED = frozenset(
    {"example", "examples", "xml", "externalDocs", "discriminator", "deprecated", "nullable"}
)
_ANNOTATIONS = frozenset({"description", "title", "x-extensions", "readOnly", "writeOnly"})

Schema = dict[str, Any]


def fold(schema: Any) -> Any:
    """``allOf`` of object parts folded into one object (properties and ``required`` joined);
    recursively. Other keywords stay as they are."""
    if isinstance(schema, list):
        return [fold(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: Schema = {key: fold(value) for key, value in schema.items() if key != "allOf"}
    for part in schema.get("allOf", ()):
        part = fold(part)
        if not isinstance(part, dict):
            continue
        for key, value in part.items():
            if key == "properties":
                props = out.setdefault("properties", {})
                for name, sub in value.items():
                    props[name] = _join(props[name], sub) if name in props else sub
            elif key == "required":
                out["required"] = sorted({*out.get("required", ()), *value})
            else:
                out.setdefault(key, value)
    return out


def _join(a: Any, b: Any) -> Any:
    """Two parts' schemas of one property: objects joined, else the first."""
    if isinstance(a, dict) and isinstance(b, dict) and "properties" in a and "properties" in b:
        return fold({"allOf": [a, b]})
    return a


def to_json_schema(schema: Any, *, strict: bool = False) -> Any:
    """An OpenAPI 3.0 schema (folded or not) as a draft-4 JSON Schema (``strict``: ``oneOf``
    kept as it is written)."""
    if isinstance(schema, list):
        return [to_json_schema(item, strict=strict) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out: Schema = {}
    for key, value in schema.items():
        if key in _DROPPED or key in _ANNOTATIONS or key == "format":
            continue
        if key == "properties":
            out[key] = {name: to_json_schema(sub, strict=strict) for name, sub in value.items()}
        elif key == "oneOf" and not strict:  # Zoom's variants overlap (plain objects)
            out["anyOf"] = to_json_schema(value)
        else:
            out[key] = to_json_schema(value, strict=strict)
    if schema.get("nullable"):
        kind = out.get("type")
        if isinstance(kind, str):
            out["type"] = [kind, "null"]
        if "enum" in out and None not in out["enum"]:
            out["enum"] = [*out["enum"], None]
    if isinstance(out.get("exclusiveMinimum"), (int, float)) and not isinstance(
        out.get("exclusiveMinimum"), bool
    ):
        out["minimum"], out["exclusiveMinimum"] = out["exclusiveMinimum"], True
    if isinstance(out.get("exclusiveMaximum"), (int, float)) and not isinstance(
        out.get("exclusiveMaximum"), bool
    ):
        out["maximum"], out["exclusiveMaximum"] = out["exclusiveMaximum"], True
    return out


@functools.lru_cache(maxsize=4096)
def _validator(text: str) -> Any:
    return jsonschema_rs.Draft4Validator(json.loads(text))


def validator(schema: Schema, *, strict: bool = False) -> Any:
    """A compiled validator of an OpenAPI schema (cached by its text)."""
    return _validator(json.dumps(to_json_schema(schema, strict=strict), sort_keys=True))


def fits(value: Any, schema: Schema, *, strict: bool = False) -> bool:
    """Does ``value`` satisfy the OpenAPI schema?"""
    return bool(validator(schema, strict=strict).is_valid(value))


def field_errors(value: Any, schema: Schema, prefix: str = "") -> list[FieldError]:
    """Zoom's per-field errors for what breaks the schema: the dotted path of the field (the
    missing one's own name for a required field), each once, ``Invalid field.``."""
    out: list[FieldError] = []
    seen: set[str] = set()
    for err in validator(schema).iter_errors(value):
        path = [str(p) for p in err.instance_path]
        if type(err.kind).__name__ == "Required":
            path.append(str(err.kind.property))
        name = ".".join(path)
        name = f"{prefix}.{name}" if prefix and name else (name or prefix or "body")
        if name not in seen:
            seen.add(name)
            out.append(FieldError(field=name, message="Invalid field."))
    return out
