"""An exchange checked against Zoom's own documents (``zoomlive.api.zoomdoc``), both ways: the
request (path ids, query, body) against the operation's parameters and request schema, the
answer against its documented statuses and the success schema. What breaks the document is a
list of short lines (``request: settings.display_name: Invalid field.``); the recorder puts them
in a response header and the log, and keeps them in the cassette.

Answers are read as Zoom's documents can be met (as the spec tier's tests read them): ``oneOf``
as ``anyOf`` (the variants overlap), and a date-time written as "an object of format date-time"
as a string.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from zoomlive.api import zoomdoc
from zoomlive.emulator.spec.schemas import field_errors, fits, fold

OAUTH_PATH = "/oauth/token"


@dataclass(frozen=True)
class DocOp:
    doc: zoomdoc.DocOperation
    names: tuple[str, ...]
    params: tuple[tuple[str, str, bool, dict[str, Any]], ...]
    """(name, where, required, schema)."""
    body_schema: dict[str, Any] | None
    responses: dict[str, dict[str, Any] | None]
    """Documented status -> its JSON schema (folded, as meant), ``None`` without one."""


def as_meant(schema: Any) -> Any:
    """Zoom's answer schemas as they can be met. Two constructs of the documents no answer can
    satisfy: ``oneOf`` of overlapping variants (user settings: one variant has no property, so
    every object is valid under two), read as ``anyOf``; and a date-time string that is "an
    object with format date-time, or the empty string", read as a string."""
    if isinstance(schema, list):
        return [as_meant(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {("anyOf" if k == "oneOf" else k): as_meant(v) for k, v in schema.items()}
    if out.get("type") == "object" and out.get("format") == "date-time":
        out["type"] = "string"
    return out


def _build(op: zoomdoc.DocOperation) -> DocOp:
    spec = op.spec
    params = tuple(
        (p["name"], p["in"], bool(p.get("required")), fold(p.get("schema", {})))
        for p in spec.get("parameters", ())
        if p.get("in") in ("path", "query")
    )
    body = spec.get("requestBody", {}).get("content", {}).get("application/json", {})
    responses: dict[str, dict[str, Any] | None] = {}
    for status, answer in spec.get("responses", {}).items():
        schema = answer.get("content", {}).get("application/json", {}).get("schema")
        responses[str(status)] = as_meant(fold(schema)) if schema else None
    return DocOp(
        doc=op,
        names=tuple(re.findall(r"\{([^}]+)\}", op.path)),
        params=params,
        body_schema=fold(body["schema"]) if "schema" in body else None,
        responses=responses,
    )


@functools.cache
def _table() -> dict[str, list[tuple[re.Pattern[str], DocOp]]]:
    """Method -> (path pattern, operation), literal paths before those with parameters."""
    table: dict[str, list[tuple[re.Pattern[str], DocOp]]] = {}
    for op in zoomdoc.operations():
        pattern = re.sub(r"\\\{[^}]+\\\}", "([^/]+)", re.escape(op.path))
        table.setdefault(op.method, []).append((re.compile(f"/v2{pattern}/?"), _build(op)))
    for rows in table.values():
        rows.sort(key=lambda row: row[0].pattern.count("([^/]+)"))
    return table


def find(method: str, path: str) -> tuple[DocOp, dict[str, str]] | None:
    """The document operation of ``method path`` (``/v2/...``) and its path values."""
    for pattern, op in _table().get(method.upper(), ()):
        match = pattern.fullmatch(path)
        if match:
            return op, dict(zip(op.names, match.groups(), strict=False))
    return None


def _typed(text: str, schema: dict[str, Any]) -> Any:
    kind = schema.get("type", "string")
    if kind == "integer":
        return int(text) if text.lstrip("-").isdigit() else text
    if kind == "number":
        try:
            return float(text)
        except ValueError:
            return text
    if kind == "boolean":
        return {"true": True, "false": False}.get(text, text)
    if kind == "array":
        return [_typed(v, schema.get("items", {})) for v in text.split(",")]
    return text


def check(
    method: str,
    path: str,
    query: str,
    content_type: str | None,
    body: bytes,
    status: int,
    answer: bytes,
) -> list[str]:
    """What in this exchange breaks Zoom's document, one short line each."""
    if path.rstrip("/") == OAUTH_PATH:
        return _check_oauth(status, answer)
    found = find(method, path)
    if found is None:
        return [f"request: {method} {path} is not in Zoom's documents"]
    op, values = found
    out: list[str] = []
    given = dict(parse_qsl(query, keep_blank_values=True))
    for name, where, required, schema in op.params:
        if where == "path":
            value = _typed(values.get(name, ""), schema)
            if name not in ("meetingId", "webinarId") and not fits(value, schema):
                out.append(f"request: path {name}: Invalid field.")
        elif name in given:
            if not fits(_typed(given[name], schema), schema):
                out.append(f"request: query {name}: Invalid field.")
        elif required:
            out.append(f"request: query {name}: required")
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if op.body_schema is not None and body.strip() and media in ("application/json", ""):
        try:
            data = json.loads(body)
        except ValueError:
            out.append("request: body is not JSON")
        else:
            out += [f"request: {e.field}: {e.message}" for e in field_errors(data, op.body_schema)]
    out += _check_answer(op, status, answer)
    return out


def _check_answer(op: DocOp, status: int, answer: bytes) -> list[str]:
    if str(status) not in op.responses:
        documented = ", ".join(sorted(op.responses)) or "none"
        return [f"response: status {status} is not documented ({documented})"]
    schema = op.responses[str(status)]
    if status >= 400:
        return _error_body(answer)
    if schema is None:
        return [] if not answer.strip() else ["response: a body where the document has none"]
    try:
        data = json.loads(answer)
    except ValueError:
        return ["response: body is not JSON"]
    return [f"response: {e.field}: {e.message}" for e in field_errors(data, schema)]


def _error_body(answer: bytes) -> list[str]:
    try:
        data = json.loads(answer)
    except ValueError:
        return ["response: an error without Zoom's JSON body"]
    if not (isinstance(data, dict) and isinstance(data.get("code"), int) and "message" in data):
        return ["response: an error body without Zoom's code and message"]
    return []


def _check_oauth(status: int, answer: bytes) -> list[str]:
    try:
        data = json.loads(answer)
    except ValueError:
        return ["response: token answer is not JSON"]
    if status == 200:
        need = ("access_token", "token_type", "expires_in", "scope")
        missing = [k for k in need if not isinstance(data, dict) or k not in data]
        return [f"response: {k}: required" for k in missing]
    return _error_body(answer)
