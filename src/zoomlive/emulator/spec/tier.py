"""The spec tier's request side: a call's ids, query and body checked against the document,
and the ids that name a meeting, webinar or user checked against the store.

Zoom's 400 code 300 for what breaks the document (``Validation Failed.`` with its ``errors``;
``Request Body should be a valid JSON object.`` for a body that is no JSON object), 404 code
3001 for a meeting or webinar the account does not have, 404 code 1001 for such a user.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from zoomlive.api.errors import E, FieldError, ZoomError, by_words, validation_failed
from zoomlive.api.sessions import KINDS, SessionKind
from zoomlive.emulator.bodies import parse_multipart, parse_urlencoded
from zoomlive.emulator.rules.auth import ANONYMOUS
from zoomlive.emulator.rules.common import Call, find_user, parse_session_id
from zoomlive.emulator.rules.sessions import RULES
from zoomlive.emulator.spec.operations import Param, SpecOp
from zoomlive.emulator.spec.schemas import field_errors, fits
from zoomlive.emulator.store import Session, Tx, User

SESSION_PARAMS: dict[str, SessionKind] = {
    "meetingId": "meeting",
    "meetingUUID": "meeting",
    "webinarId": "webinar",
}
"""Path parameters that name a stored meeting or webinar."""
USER_PARAMS = frozenset({"userId"})
MAX_PAGE_SIZE = 300


@dataclass
class SpecCall(Call):
    """A spec-tier call: its parameters and body as the document reads them."""

    spec: SpecOp | None = None
    params: dict[str, Any] = field(default_factory=dict)
    """The query's parameters the document names, typed."""
    data: Any = None
    """The body (a JSON object, or a form's fields), ``None`` without one."""


@dataclass
class Named:
    """What the path names in the store, once found: its ids resolved."""

    values: dict[str, str]
    """The path's parameters, with a user's id for ``me`` or an email, a session's id for
    its UUID."""
    session: Session | None = None
    kind: SessionKind | None = None
    host: User | None = None
    user: User | None = None
    last: str | None = None
    """The path's last parameter."""
    base_url: str = ""


def parse(
    spec: SpecOp,
    values: list[str],
    query_string: bytes,
    content_type: str | None,
    raw: bytes,
    base_url: str,
) -> SpecCall | ZoomError:
    """The path's ids, the query and the body against the document (or the 400 to answer
    once the token, scopes and rate limit pass)."""
    path = dict(zip(spec.path_names, values, strict=False))
    call = SpecCall(principal=ANONYMOUS, path=path, base_url=base_url, spec=spec)
    try:
        errors: list[FieldError] = []
        for param in spec.params:
            if param.where == "path":
                errors += _path_errors(param, path.get(param.name, ""))
        if errors:
            raise validation_failed(errors)
        call.params = _query(spec.params, query_string)
        if spec.body_schema is not None:
            call.data = _body(spec, content_type, raw)
    except ZoomError as err:
        return err
    return call


def _path_errors(param: Param, value: str) -> list[FieldError]:
    if "\x00" in value:
        return [FieldError(field=param.name, message="Invalid field.")]
    kind = SESSION_PARAMS.get(param.name)
    if kind is not None:
        allow_uuid = param.schema.get("type") != "integer" or param.name.endswith("UUID")
        parse_session_id(value, KINDS[kind], allow_uuid=allow_uuid)  # 300 in Zoom's words
        return []
    typed = _typed(value, param.schema)
    if typed is _BAD or not fits(typed, param.schema):
        return [FieldError(field=param.name, message="Invalid field.")]
    return []


_BAD = object()


def _typed(text: str, schema: dict[str, Any]) -> Any:
    """A query or path value (text) as the schema's type."""
    kind = schema.get("type", "string")
    try:
        if kind == "integer":
            return int(text) if text.lstrip("-").isdigit() else _BAD
        if kind == "number":
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False}.get(text, _BAD)
        if kind == "array":
            return [_typed(v, schema.get("items", {})) for v in text.split(",")]
    except ValueError:
        return _BAD
    return text


def _query(params: tuple[Param, ...], query_string: bytes) -> dict[str, Any]:
    given = dict(parse_qsl(query_string.decode("latin-1"), keep_blank_values=True))
    out: dict[str, Any] = {}
    errors: list[FieldError] = []
    for param in params:
        if param.where != "query":
            continue
        if param.name not in given:
            if param.required:
                errors.append(FieldError(field=param.name, message="Invalid field."))
            continue
        text = given[param.name]
        value = _typed(text, param.schema)
        if param.name == "page_size" and isinstance(value, int) and value > MAX_PAGE_SIZE:
            value = MAX_PAGE_SIZE  # as the stateful lists do: above Zoom's maximum, the maximum
        if value is _BAD or "\x00" in text or not fits(value, param.schema):
            errors.append(FieldError(field=param.name, message="Invalid field."))
            continue
        out[param.name] = value
    if errors:
        raise validation_failed(errors)
    return out


def _body(spec: SpecOp, content_type: str | None, raw: bytes) -> Any:
    schema = spec.body_schema or {}
    media = (content_type or "").split(";", 1)[0].strip().lower()
    data: Any
    if media == "multipart/form-data" or (
        media == "application/x-www-form-urlencoded" and raw.lstrip()[:1] not in (b"{", b"[")
    ):
        fields = (
            parse_multipart(content_type or "", raw)
            if media == "multipart/form-data"
            else parse_urlencoded(raw)
        )
        data = _form_values(fields, schema)
    elif spec.body_media != "application/json":
        raise E.INVALID_JSON.error()
    elif not raw.strip():
        if spec.body_required or spec.op.method in ("POST", "PATCH", "PUT"):
            raise E.INVALID_JSON.error()  # as bodies.py answers an empty body
        return {}
    else:
        try:
            data = json.loads(raw)
            json.dumps(data, ensure_ascii=False).encode()  # no lone surrogates: storable text
        except (ValueError, RecursionError, UnicodeError):
            raise E.INVALID_JSON.error() from None
        if schema.get("type", "object") == "object" and not isinstance(data, dict):
            raise E.INVALID_JSON.error()
    errors = field_errors(data, schema) + _nul_errors(data)
    if errors:
        raise validation_failed(errors)
    return data


def _form_values(fields: dict[str, str], schema: dict[str, Any]) -> dict[str, Any]:
    """A form's fields: text where the document says string (a file's content too), JSON for
    the other types (``settings={...}``, ``duration=60``), as bodies.py reads forms."""
    props = schema.get("properties", {})
    out: dict[str, Any] = {}
    for name, text in fields.items():
        kind = props.get(name, {}).get("type", "string")
        if kind == "string":
            out[name] = text
            continue
        try:
            out[name] = json.loads(text)
        except (ValueError, RecursionError):
            out[name] = text  # refused by the schema below
    return out


def _nul_errors(value: Any, path: str = "") -> list[FieldError]:
    """Strings with NUL characters are refused, as bodies.py does (no store keeps them)."""
    if isinstance(value, str):
        return (
            [FieldError(field=path or "body", message="Invalid field.")] if "\x00" in value else []
        )
    if not isinstance(value, (dict, list)):
        return []
    items: Any = value.items() if isinstance(value, dict) else enumerate(value)
    out: list[FieldError] = []
    for key, item in items:
        out += _nul_errors(item, f"{path}.{key}" if path else str(key))
    return out


def resolve(tx: Tx, call: SpecCall) -> Named:
    """The meeting, webinar or user each id of the path names, in the caller's account: Zoom's
    404 code 3001 or 1001 for one it does not have."""
    spec = call.spec
    assert spec is not None
    named = Named(values=dict(call.path), base_url=call.base_url)
    account = call.principal.account_id
    for name in spec.path_names:
        value = call.path[name]
        named.last = name
        kind = SESSION_PARAMS.get(name)
        if kind is not None:
            sid, suuid = parse_session_id(value, KINDS[kind], allow_uuid=True)
            found = (
                tx.get_session(kind, sid)
                if sid is not None
                else tx.get_session_by_uuid(kind, suuid or "")
            )
            if found is None or found.account_id != account:
                raise by_words(404, 3001, RULES[kind].not_found).error(id=value)
            named.session, named.kind = found, kind
            named.host = tx.get_user(found.host_id)
            named.values[name] = str(found.id)
        elif name in USER_PARAMS:
            user = find_user(tx, call.principal, value)
            if user is None:
                raise E.USER_NOT_FOUND.error(id=value)
            named.user = user
            named.values[name] = user.id
    return named
