"""Requests a client would send, built from Zoom's document: for each operation, a body and
query its schema accepts: the required fields, and the fields the document gives an example for
(its example, where it fits the field's schema).

Used by the tests that drive clients written by others (Rivet) over every operation: those
clients take bodies from their caller, and a call without a valid body tests nothing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from zoomlive.api import zoomdoc

FORMATS = {
    "date-time": "2030-01-15T10:00:00Z",
    "date": "2030-01-15",
    "email": "rivet.user@example.com",
    "uri": "https://example.com/page",
    "url": "https://example.com/page",
}


@dataclass(frozen=True)
class DocRequest:
    operation_id: str
    method: str
    template: str
    pattern: str
    """A regular expression matching the operation's paths (each ``{param}`` one segment)."""
    body: Any
    query: dict[str, Any] | None


def _merge(schema: dict[str, Any]) -> dict[str, Any]:
    """``allOf`` folded into one object schema; ``oneOf``/``anyOf``: the first choice."""
    if "allOf" in schema:
        merged: dict[str, Any] = {"type": "object", "properties": {}, "required": []}
        for part in schema["allOf"]:
            part = _merge(part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    for key in ("oneOf", "anyOf"):
        if schema.get(key):
            return _merge(schema[key][0])
    return schema


def _fits(value: Any, schema: dict[str, Any]) -> bool:
    if "enum" in schema and value not in schema["enum"]:
        return False
    kind = schema.get("type")
    checks: dict[str, Any] = {
        "string": lambda v: (
            isinstance(v, str)
            and schema.get("minLength", 0) <= len(v) <= schema.get("maxLength", 10**9)
            and (not schema.get("pattern") or re.search(schema["pattern"], v) is not None)
        ),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind in checks and not checks[kind](value):
        return False
    if isinstance(value, int | float) and not isinstance(value, bool):
        if "minimum" in schema and value < schema["minimum"]:
            return False
        if "maximum" in schema and value > schema["maximum"]:
            return False
    return kind in checks


def instance(schema: dict[str, Any]) -> Any:
    """The smallest value ``schema`` accepts, preferring the document's example and default."""
    schema = _merge(schema)
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        out = {name: instance(props.get(name, {})) for name in schema.get("required", [])}
        for name, prop in props.items():  # and what the document's example fills in
            if name in out:
                continue
            if "example" in prop and _fits(prop["example"], prop):
                out[name] = prop["example"]
            elif prop.get("type") == "array":  # a list a caller sends has something in it
                out[name] = instance(prop)
        return out
    if kind == "array":
        count = max(schema.get("minItems", 0), 1)
        return [instance(schema.get("items", {})) for _ in range(count)]
    for candidate in (schema.get("example"), schema.get("default")):
        if candidate is not None and _fits(candidate, schema):
            return candidate
    if schema.get("enum"):
        return schema["enum"][0]
    if kind == "string":
        value = FORMATS.get(schema.get("format", ""), "rivet")
        return value.ljust(schema.get("minLength", 0), "x")
    if kind in ("integer", "number"):
        return max(schema.get("minimum", 1), 1)
    if kind == "boolean":
        return False
    return None


def doc_requests() -> list[DocRequest]:
    out: list[DocRequest] = []
    for op in zoomdoc.operations():
        body = None
        content = op.spec.get("requestBody", {}).get("content", {})
        if "application/json" in content:
            schema = _merge(content["application/json"].get("schema", {}))
            body = instance(schema)
            if isinstance(body, dict):  # and the choices a caller always makes (an action)
                for name, prop in schema.get("properties", {}).items():
                    if "enum" in prop and name not in body:
                        body[name] = instance(prop)
        elif "multipart/form-data" in content:
            body = instance(content["multipart/form-data"].get("schema", {}))
        query = {
            p["name"]: instance(p.get("schema", {}))
            for p in op.spec.get("parameters", [])
            if p.get("in") == "query" and p.get("required")
        }
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(op.path)) + "$"
        out.append(DocRequest(op.operation_id, op.method, op.path, pattern, body, query or None))
    return out
