"""Answers built from a response schema: realistic and deterministic.

The same operation and path give the same answer (the generator is seeded from both). A
field's ``example`` is used where it satisfies the field's schema (Zoom's examples are real
values), then its ``default``, then its first ``enum`` member; otherwise a value of the field's
type and format within its bounds. Arrays get one item; every documented property is present.
"""

from __future__ import annotations

import hashlib
import random
import string
from datetime import UTC, datetime, timedelta
from typing import Any

from zoomlive.emulator.spec.schemas import Schema, fits, fold

MAX_DEPTH = 12
_EPOCH = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def seeded(*parts: object) -> random.Random:
    """A generator seeded from ``parts`` (stable across runs and processes)."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def generate(schema: Schema, rng: random.Random, name: str = "", depth: int = 0) -> Any:
    """A value for the (folded) schema."""
    if "oneOf" in schema or "anyOf" in schema:
        bare = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
        if "type" in bare and "example" in bare and _scalar_fits(bare["example"], bare):
            # Zoom's own example where its variants contradict the type they sit on (a
            # date-time string that is "an object, or the empty string"): what Zoom sends
            return bare["example"]
        return _choose(schema, rng, name, depth)
    for key in ("example", "default"):
        if key in schema and _scalar_fits(schema[key], schema):
            return schema[key]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type") or ("object" if "properties" in schema else "string")
    if kind == "object":
        if depth >= MAX_DEPTH:
            return {}
        props: dict[str, Any] = schema.get("properties", {})
        return {key: generate(sub, rng, key, depth + 1) for key, sub in props.items()}
    if kind == "array":
        items = schema.get("items", {})
        if depth >= MAX_DEPTH:
            return []
        count = max(1, int(schema.get("minItems", 1)))
        if "maxItems" in schema:
            count = min(count, int(schema["maxItems"]))
        return [generate(items, rng, name, depth + 1) for _ in range(count)]
    if kind == "integer":
        return _number(schema, rng, integer=True)
    if kind == "number":
        return float(_number(schema, rng, integer=False))
    if kind == "boolean":
        return rng.random() < 0.5
    return _string(schema, rng, name)


def _choose(schema: Schema, rng: random.Random, name: str, depth: int) -> Any:
    """The first option whose value satisfies the whole ``oneOf``/``anyOf``."""
    options = schema.get("oneOf") or schema.get("anyOf") or []
    first: Any = None
    for i, option in enumerate(options):
        value = generate(fold(option), rng, name, depth)
        if i == 0:
            first = value
        if fits(value, schema, strict=True):
            return value
    return first


def _scalar_fits(value: Any, schema: Schema) -> bool:
    """A cheap check of an example against its field's schema (types, enums, bounds)."""
    kind = schema.get("type")
    if value is None:
        return False
    if isinstance(value, (dict, list)):
        return fits(value, schema)
    checks = {
        "string": lambda v: isinstance(v, str),
        "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
        "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
        "boolean": lambda v: isinstance(v, bool),
    }
    if kind in checks and not checks[kind](value):
        return False
    if kind in ("object", "array"):
        return False
    return fits(value, schema)


def _number(schema: Schema, rng: random.Random, *, integer: bool) -> int:
    low = schema.get("minimum", 1)
    high = schema.get("maximum", max(low, 100) if low < 100 else low + 100)
    low, high = int(low), int(high)
    if schema.get("exclusiveMinimum") is True:
        low += 1
    if schema.get("exclusiveMaximum") is True:
        high -= 1
    return rng.randint(low, max(low, high))


_WORDS = ("alpha", "bravo", "delta", "echo", "kilo", "lima", "oscar", "sierra", "tango")


def _string(schema: Schema, rng: random.Random, name: str) -> str:
    fmt = schema.get("format", "")
    if fmt == "date-time":
        at = _EPOCH + timedelta(minutes=rng.randrange(0, 60 * 24 * 60))
        return at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if fmt == "date":
        return (_EPOCH + timedelta(days=rng.randrange(0, 60))).strftime("%Y-%m-%d")
    if fmt == "email" or name.endswith("email"):
        return f"{rng.choice(_WORDS)}.{rng.randrange(100, 999)}@example.com"
    if fmt in ("uri", "url") or name.endswith("url"):
        return f"https://example.com/{rng.choice(_WORDS)}/{rng.randrange(10**6, 10**7)}"
    low = int(schema.get("minLength", 0))
    high = int(schema.get("maxLength", 64))
    if name.endswith("id") or name == "uuid":
        text = "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(22))
    else:
        text = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)}"
    text = text[:high]
    if len(text) < low:
        text += "x" * (low - len(text))
    return text
