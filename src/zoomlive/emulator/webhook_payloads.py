"""Webhook bodies as Zoom sends them: every field Zoom's webhook documents list for the event,
filled from the stored object, and the bytes as ``JSON.stringify`` writes them.

**Payloads** (:func:`payload_for`): the event's documented schema (``zoomdoc.webhook_events()``)
is walked, and each documented property is taken from the record (the object as the API shows
it: a mapping, or a stored record), converted to the documented type (Zoom types a meeting's id
as a string in ``meeting.started`` and as a number in ``meeting.live_streaming_started``). A
property the record lacks gets its value from :data:`DEFAULTS`, else a neutral one of its type;
the properties of :data:`CONDITIONAL` appear only when the record has them (Zoom sends them only
for recurring sessions). Update events carry only what changed (with the id) in ``object`` and
the old values in ``old_object``. A new event type needs no code here: its document is the data.

**Bytes** (:func:`js_json`): Zoom's Node sample and Rivet's receiver verify the signature over
``JSON.stringify(JSON.parse(body))``, others over the raw body. The emulator writes its bodies
exactly as ``JSON.stringify`` would (compact, raw UTF-8, JavaScript's string escapes, number
forms and key order), so both verify: the re-serialized text is the text that was signed.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from zoomlive.api import zoomdoc
from zoomlive.api.wire import zoom_time

# JSON.stringify -----------------------------------------------------------------------------

_SHORT = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
_ESCAPED = re.compile('[\x00-\x1f"\\\\\ud800-\udfff]')
_PAIR = re.compile("[\ud800-\udbff][\udc00-\udfff]")
_INDEX_KEY = re.compile("0|[1-9][0-9]*")
_MAX_INDEX = 2**32 - 2  # the largest array index: JavaScript orders such keys first


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    return _SHORT.get(char) or f"\\u{ord(char):04x}"


def _join_pair(match: re.Match[str]) -> str:
    pair = match.group()
    high, low = pair[0], pair[1]
    return chr(0x10000 + ((ord(high) - 0xD800) << 10) + (ord(low) - 0xDC00))


def _js_string(text: str) -> str:
    # A Python string may hold surrogates: JavaScript reads an adjacent high and low one as one
    # character (written raw) and escapes a lone one (well-formed JSON.stringify, ES2019).
    if _PAIR.search(text):
        text = _PAIR.sub(_join_pair, text)
    return '"' + _ESCAPED.sub(_escape, text) + '"'


def _js_number(value: float) -> str:
    """ECMAScript's Number::toString: the shortest digits that round-trip (Python's ``repr``
    finds the same ones), positioned as JavaScript does (``1``, not ``1.0``; ``1e+21``,
    ``1e-7``, ``0.000001``); NaN and the infinities are ``null`` in JSON."""
    if not math.isfinite(value):
        return "null"
    if value == 0:
        return "0"  # -0 too
    sign = "-" if value < 0 else ""
    _, digit_tuple, exponent = Decimal(repr(abs(value))).normalize().as_tuple()
    digits = "".join(map(str, digit_tuple))
    k = len(digits)
    n = int(exponent) + k  # value = 0.digits x 10**n
    if k <= n <= 21:
        text = digits + "0" * (n - k)
    elif 0 < n <= 21:
        text = digits[:n] + "." + digits[n:]
    elif -6 < n <= 0:
        text = "0." + "0" * -n + digits
    else:
        e = n - 1
        mantissa = digits if k == 1 else digits[0] + "." + digits[1:]
        text = f"{mantissa}e{'+' if e >= 0 else '-'}{abs(e)}"
    return sign + text


def _index(key: str) -> int | None:
    if _INDEX_KEY.fullmatch(key):
        number = int(key)
        if number <= _MAX_INDEX:
            return number
    return None


def _js_keys(value: Mapping[Any, Any]) -> list[tuple[str, Any]]:
    """Keys as JavaScript keeps an object's (what ``JSON.parse`` then ``JSON.stringify``
    gives): array-index keys first, ascending, then the others in insertion order."""
    items = [(str(k), v) for k, v in value.items()]
    indexed = [(_index(k), k, v) for k, v in items]
    if all(i is None for i, _, _ in indexed):
        return items
    first = sorted((i, k, v) for i, k, v in indexed if i is not None)
    return [(k, v) for _, k, v in first] + [(k, v) for i, k, v in indexed if i is None]


def js_json(value: Any) -> str:
    """``value`` as ``JSON.stringify(value)`` writes it: no spaces, raw UTF-8 text (encode with
    UTF-8 to send), only ``"``, ``\\`` and control characters escaped. Integers are written
    as given: past 2**53 a JavaScript reader would round them (Zoom's ids stay below)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _js_number(value)
    if isinstance(value, str):
        return _js_string(value)
    if isinstance(value, Mapping):
        inner = ",".join(f"{_js_string(k)}:{js_json(v)}" for k, v in _js_keys(value))
        return "{" + inner + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(js_json(v) for v in value) + "]"
    raise TypeError(f"not JSON: {type(value).__name__}")


def js_json_bytes(value: Any) -> bytes:
    """:func:`js_json`, encoded as sent (UTF-8)."""
    return js_json(value).encode("utf-8")


# Zoom's schemas -----------------------------------------------------------------------------


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a ``$ref`` (Zoom's webhook documents point at ``#/paths/<event>/...``, meaning
    their ``webhooks`` section)."""
    seen = 0
    while "$ref" in schema and seen < 8:
        parts = [p.replace("~1", "/").replace("~0", "~") for p in schema["$ref"][2:].split("/")]
        if parts and parts[0] == "paths":
            parts[0] = "webhooks"
        for name in zoomdoc.WEBHOOK_DOCS:
            node: Any = zoomdoc.document(name)
            for part in parts:
                node = node.get(part) if isinstance(node, dict) else None
                if node is None:
                    break
            if isinstance(node, dict):
                schema = node
                break
        else:
            return {}
        seen += 1
    return schema


def resolved(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with its ``$ref`` followed, and an array item's ``anyOf``/``oneOf`` read as
    its first object form (how Zoom's documents write a list of objects)."""
    schema = _resolve(schema)
    for key in ("anyOf", "oneOf"):
        if key in schema and "type" not in schema:
            forms = [_resolve(f) for f in schema[key]]
            objects = [f for f in forms if f.get("type") == "object"]
            return (objects or forms or [{}])[0]
    return schema


@functools.cache
def payload_schema(event: str) -> dict[str, Any]:
    """The documented schema of ``payload`` for ``event`` (KeyError for an undocumented one)."""
    schema = zoomdoc.webhook_events()[event]
    return resolved(schema["properties"]["payload"])


def documented_events() -> frozenset[str]:
    return frozenset(zoomdoc.webhook_events())


# what Zoom's documents leave to the sender ---------------------------------------------------

CONDITIONAL: dict[str, str] = {
    "occurrences": "only for recurring sessions with fixed times (webinar type 9, meeting 8)",
    "recurrence": "only for recurring sessions with fixed times (webinar type 9, meeting 8)",
    "pmi": "only for a meeting held in its host's Personal Meeting ID (settings.use_pmi)",
    "user.updated.operation": "only for a password change or a sign-out from all devices",
}
"""Documented properties sent only when the record has them, with Zoom's condition (by
property name, or ``event.property`` for a payload field of one event)."""

DEFAULTS: dict[str, Any] = {
    "operation": "single",  # one session, not all occurrences of a recurring one
    "scope": "single",
    "creation_source": "open_api",  # the emulator's sessions are made through the API
    "use_pmi": False,
    "alternative_hosts": "",
    "password": "",
    "agenda": "",
    "practice_session": False,
    "service": "Custom_Live_Streaming_Service",
    "resolution": "720p",  # a stream without one streams at Zoom's default
}
"""Values for documented properties a record does not carry, by property name."""

ELSEWHERE: dict[str, tuple[str, ...]] = {
    "practice_session": ("settings", "practice_session"),
}
"""Documented properties a record keeps under another path (looked up before the defaults)."""

UPDATE_KEEP = ("id", "uuid", "host_id")
"""What an update's ``object`` names besides the changed fields (``old_object``: ``id``)."""


def _neutral(schema: dict[str, Any], when: str) -> Any:
    """A value of the documented type for a field nobody gave (a time: the event's)."""
    enum = schema.get("enum")
    if enum:
        return enum[0]
    kind = schema.get("type")
    if kind == "string" and schema.get("format") == "date-time":
        return when
    if kind == "boolean":
        return False
    if kind in ("integer", "number"):
        return 0
    if kind == "array":
        return []
    if kind == "object":
        return _fill(schema, {}, when)
    return ""


def _typed(schema: dict[str, Any], value: Any, when: str) -> Any:
    """``value`` as the document types the property (an id may be a number in one event and a
    string in another)."""
    if isinstance(value, datetime):
        value = zoom_time(value)
    kind = schema.get("type")
    if kind == "string" and isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    if kind == "integer" and isinstance(value, str) and value.lstrip("-").isdigit():
        return int(value)
    if isinstance(value, Mapping) and (kind == "object" or "properties" in schema):
        return _fill(schema, value, when)
    if kind == "array" and isinstance(value, list | tuple):
        items = resolved(schema.get("items", {}))
        return [_typed(items, v, when) for v in value]
    return value


def _elsewhere(source: Mapping[str, Any], name: str) -> Any:
    value: Any = source
    for part in ELSEWHERE.get(name, ()):
        value = value.get(part) if isinstance(value, Mapping) else None
    return None if value is source else value


def _fill(schema: dict[str, Any], source: Mapping[str, Any], when: str) -> Any:
    properties: dict[str, Any] = schema.get("properties") or {}
    if not properties:
        return dict(source)  # a free-form object: as given
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        sub = resolved(sub)
        value = source.get(name)
        if value is None:
            value = _elsewhere(source, name)
        if value is None:
            if name in CONDITIONAL:
                continue
            value = DEFAULTS[name] if name in DEFAULTS else _neutral(sub, when)
        out[name] = _typed(sub, value, when)
    return out


def _diff(new: Any, old: Any) -> tuple[Any, Any] | None:
    """The parts of two values that differ (dicts compared key by key), or None."""
    if isinstance(new, dict) and isinstance(old, dict):
        changed_new: dict[str, Any] = {}
        changed_old: dict[str, Any] = {}
        for key in [*new, *(k for k in old if k not in new)]:
            part = _diff(new.get(key), old.get(key))
            if part is not None:
                if key in new:
                    changed_new[key] = part[0]
                if key in old:
                    changed_old[key] = part[1]
        return (changed_new, changed_old) if changed_new or changed_old else None
    return None if new == old else (new, old)


def _source(record: Mapping[str, Any] | Any) -> dict[str, Any]:
    """A mapping as given; a stored record (a dataclass) as its fields, times as Zoom's."""
    if isinstance(record, Mapping):
        return dict(record)
    if dataclasses.is_dataclass(record) and not isinstance(record, type):
        fields = {f.name: getattr(record, f.name) for f in dataclasses.fields(record)}
        return {k: zoom_time(v) if isinstance(v, datetime) else v for k, v in fields.items()}
    raise TypeError(f"not a record: {type(record).__name__}")


def payload_for(
    event: str,
    record: Mapping[str, Any] | Any,
    old: Mapping[str, Any] | Any | None = None,
    *,
    account_id: str = "",
    operator: tuple[str, str] | None = None,
    now: datetime | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``payload`` of ``event`` as Zoom documents it, from ``record`` (the object as the
    API shows it, or a stored record) and, for an update, ``old`` (the same before it).

    ``operator`` is (email, user id) of who acted; ``now`` fills ``time_stamp``; ``extra``
    gives payload-level values (e.g. ``scope``) and wins over the defaults."""
    schema = payload_schema(event)
    properties: dict[str, Any] = schema.get("properties") or {}
    obj_schema = resolved(properties.get("object", {}))
    when = zoom_time(now) or ""
    new = _typed(obj_schema, _source(record), when)
    given: dict[str, Any] = {"account_id": account_id, **(extra or {})}
    if operator is not None:
        given["operator"], given["operator_id"] = operator
    if now is not None:
        given.setdefault("time_stamp", int(now.timestamp() * 1000))
    if old is not None and "old_object" in properties:
        before = _typed(obj_schema, _source(old), when)
        changed = _diff(new, before) or ({}, {})
        obj_names = obj_schema.get("properties") or {}
        kept = {k: new[k] for k in UPDATE_KEEP if k in new and k in obj_names}
        # and what the document requires of each, changed or not (a renamed recording's type)
        kept.update({k: new[k] for k in obj_schema.get("required", ()) if k in new})
        old_schema = resolved(properties["old_object"])
        was = {"id": before.get("id")} if "id" in (old_schema.get("properties") or {}) else {}
        was.update({k: before[k] for k in old_schema.get("required", ()) if k in before})
        given["object"] = {**kept, **changed[0]}
        given["old_object"] = {**was, **changed[1]}
    else:
        given["object"] = new
    out: dict[str, Any] = {}
    for name, sub in properties.items():
        if name in given:
            out[name] = given[name]
        elif name in ("object", "old_object"):
            continue
        elif name in ("operator", "operator_id", "time_stamp"):
            continue  # nobody to name, or no time given: left out rather than invented
        elif f"{event}.{name}" in CONDITIONAL:
            continue
        elif name in DEFAULTS and DEFAULTS[name] in resolved(sub).get("enum", [DEFAULTS[name]]):
            out[name] = DEFAULTS[name]
        elif name not in CONDITIONAL:
            out[name] = _neutral(resolved(sub), when)
    return out


def event_body(event: str, now: datetime, payload: Mapping[str, Any]) -> str:
    """The whole body, as text (send it UTF-8 encoded): ``{"event", "event_ts", "payload"}``
    written as ``JSON.stringify`` writes it."""
    return js_json({"event": event, "event_ts": int(now.timestamp() * 1000), "payload": payload})
