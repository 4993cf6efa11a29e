"""Request bodies: JSON (Zoom's docs), multipart/form-data and urlencoded (older Postman items,
curl ``--form`` and Chilkat send these, with object fields such as ``settings`` as JSON strings).

Every failure becomes Zoom's 400 code 300: ``Request Body should be a valid JSON object.`` when
the body cannot be read as an object, ``Validation Failed.`` with per-field ``errors`` otherwise.
"""

from __future__ import annotations

import json
import re
import typing
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError
from python_multipart.multipart import MultipartParser, parse_options_header

from zoomlive.api.errors import E, FieldError, validation_failed

M = TypeVar("M", bound=BaseModel)

INVALID_FIELD = "Invalid field."


def _field_errors(exc: ValidationError, prefix: str = "") -> list[FieldError]:
    out: list[FieldError] = []
    seen: set[str] = set()
    for err in exc.errors(include_url=False):
        # Literal/union errors add the member tried to the location; Zoom names the field only.
        loc = [
            str(p)
            for p in err["loc"]
            if not (isinstance(p, str) and p.startswith(("literal[", "function-")))
        ]
        name = ".".join(loc) or prefix or "body"
        if prefix and loc:
            name = f"{prefix}.{name}"
        if name not in seen:
            seen.add(name)
            out.append(FieldError(field=name, message=INVALID_FIELD))
    return out


def _nul_errors(value: Any, path: str = "") -> list[FieldError]:
    """Strings with NUL bytes are refused (no store keeps them faithfully)."""
    if isinstance(value, str):
        return [FieldError(field=path or "body", message=INVALID_FIELD)] if "\x00" in value else []
    if isinstance(value, Mapping):
        errs: list[FieldError] = []
        for key, item in value.items():
            errs += _nul_errors(item, f"{path}.{key}" if path else str(key))
        return errs
    if isinstance(value, list):
        errs = []
        for i, item in enumerate(value):
            errs += _nul_errors(item, f"{path}.{i}" if path else str(i))
        return errs
    return []


def _checked(model: M) -> M:
    errors = _nul_errors(model.model_dump())
    if errors:
        raise validation_failed(errors)
    return model


def parse_json(raw: bytes, model: type[M]) -> M:
    """Strict JSON: an object whose fields have the declared JSON types."""
    try:
        parsed = model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        kinds = {e["type"] for e in exc.errors()}
        top = [e for e in exc.errors() if not e["loc"]]
        if "json_invalid" in kinds or top:
            raise E.INVALID_JSON.error() from None
        raise validation_failed(_field_errors(exc)) from None
    if b"\\u0000" not in raw and b"\x00" not in raw:
        return parsed  # JSON can write a NUL only as \u0000 (a raw one is invalid anyway)
    return _checked(parsed)


def _object_fields(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """Fields whose type is an object, with their model (None for a plain ``dict``): in form
    bodies their value is a JSON string."""
    out: dict[str, type[BaseModel] | None] = {}
    for name, info in model.model_fields.items():
        ann = info.annotation
        args = typing.get_args(ann) or (ann,)
        for arg in args:
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out[name] = arg
            elif isinstance(arg, type) and issubclass(arg, dict):
                out.setdefault(name, None)
    return out


def _json_field(name: str, text: str, model: type[BaseModel] | None) -> Any:
    """A form field holding JSON, read by the same rule as a JSON body (strict types: a
    ``"yes"`` is no boolean in a form either)."""
    try:
        value = json.loads(text)
    except (ValueError, TypeError, RecursionError):
        raise validation_failed([FieldError(field=name, message=INVALID_FIELD)]) from None
    if value is None or model is None or not isinstance(value, dict):
        return value  # null means absent; a non-object is refused by the model below
    try:
        return model.model_validate_json(text, strict=True)
    except ValidationError as exc:
        raise validation_failed(_field_errors(exc, prefix=name)) from None


def parse_fields(fields: Mapping[str, str], model: type[M]) -> M:
    """Form fields (strings) into ``model``. A form has no types, so plain fields are read from
    their text (``duration=60``); object fields are JSON and follow the JSON rule."""
    data: dict[str, Any] = dict(fields)
    for name, sub in _object_fields(model).items():
        if name in data:
            data[name] = _json_field(name, data[name], sub)
    try:
        parsed = model.model_validate(data)
    except ValidationError as exc:
        raise validation_failed(_field_errors(exc)) from None
    return _checked(parsed)


def _looks_like_json(raw: bytes) -> bool:
    return raw.lstrip()[:1] in (b"{", b"[")


_BOUNDARY_LINE = re.compile(rb"\A(?:\r?\n)*--([^\r\n]{1,200})\r?\n")


def parse_multipart(content_type: str, raw: bytes) -> dict[str, str]:
    """Text fields of a multipart body. Without a ``boundary`` parameter (Postman drops it when a
    ``Content-Type: multipart/form-data`` header is set by hand) the body's first line gives it."""
    _, params = parse_options_header(content_type)
    boundary = params.get(b"boundary")
    if not boundary:
        match = _BOUNDARY_LINE.match(raw)
        if match is None:
            raise E.INVALID_JSON.error()
        boundary = match.group(1)
    fields: dict[str, str] = {}
    state: dict[str, Any] = {"headers": {}, "name": None, "data": bytearray(), "hname": b""}

    def on_part_begin() -> None:
        state["headers"], state["name"], state["data"] = {}, None, bytearray()

    def on_header_field(data: bytes, start: int, end: int) -> None:
        state["hname"] += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        key = state["hname"].lower()
        state["headers"][key] = state["headers"].get(key, b"") + data[start:end]

    def on_header_end() -> None:
        state["hname"] = b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        state["data"] += data[start:end]

    def on_part_end() -> None:
        disposition = state["headers"].get(b"content-disposition", b"")
        _, dparams = parse_options_header(disposition)
        name = dparams.get(b"name")
        if name is not None:
            key = name.decode("utf-8", "replace")
            fields.setdefault(key, bytes(state["data"]).decode("utf-8", "replace"))

    callbacks: Any = {
        "on_part_begin": on_part_begin,
        "on_header_field": on_header_field,
        "on_header_value": on_header_value,
        "on_header_end": on_header_end,
        "on_part_data": on_part_data,
        "on_part_end": on_part_end,
    }
    try:
        parser = MultipartParser(boundary, callbacks, max_size=len(raw) + 1)
        parser.write(raw)
        parser.finalize()
    except Exception:
        raise E.INVALID_JSON.error() from None
    return fields


def parse_urlencoded(raw: bytes) -> dict[str, str]:
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError:
        raise E.INVALID_JSON.error() from None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields


def parse_body(content_type: str | None, raw: bytes, model: type[M]) -> M:
    """Dispatch on the media type; anything that is not a form is read as JSON."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media == "multipart/form-data":
        return parse_fields(parse_multipart(content_type or "", raw), model)
    if media == "application/x-www-form-urlencoded" and not _looks_like_json(raw):
        return parse_fields(parse_urlencoded(raw), model)
    # A JSON text sent as a form (curl -d '{...}' says urlencoded) is read as the JSON it is,
    # like any other non-form body: reading it as a form would silently find no field at all.
    if not raw.strip():
        raise E.INVALID_JSON.error()
    return parse_json(raw, model)


def parse_query(params: Mapping[str, str], model: type[M]) -> M:
    try:
        return _checked(model.model_validate(dict(params)))
    except ValidationError as exc:
        raise validation_failed(_field_errors(exc)) from None
