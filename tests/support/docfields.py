"""Walks a response schema of Zoom's documents against a real answer: which documented fields
the answer has, and which of its values break the field's type or enum.

A field counts as present when the answer has its key. Objects and arrays of objects are walked
recursively (an array's items through every item the answer has; the item fields of an array
the answer has but leaves empty are not counted; those of a missing array count as absent).
``oneOf``/``anyOf`` variants are read as one object with all their properties, as Zoom's
answers mix them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from zoomlive.api import zoomdoc
from zoomlive.emulator.spec.schemas import fold

_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "integer": (int,),
    "number": (int, float),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
}


@dataclass
class Walk:
    documented: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)
    wrong: list[str] = field(default_factory=list)

    @property
    def missing(self) -> list[str]:
        return sorted(self.documented - self.present)

    @property
    def share(self) -> float:
        return len(self.present) / len(self.documented) if self.documented else 1.0


def response_schema(
    operation_id: str, doc: zoomdoc.DocName = "meetings", variant: int | None = None
) -> dict[str, Any]:
    """The success answer's schema of an operation, folded (``variant``: only that one of its
    ``oneOf`` answers, e.g. the user settings without an ``option``)."""
    for op in zoomdoc.operations(doc):
        if op.operation_id == operation_id:
            for status, resp in op.spec.get("responses", {}).items():
                if str(status).startswith("2"):
                    content = resp.get("content", {}).get("application/json", {})
                    if "schema" in content:
                        schema = content["schema"]
                        if variant is not None:
                            schema = schema["oneOf"][variant]
                        return _flat(fold(schema))
    raise KeyError(operation_id)


def _flat(schema: Any) -> Any:
    """``oneOf``/``anyOf`` variants joined into one schema (properties of them all)."""
    if not isinstance(schema, dict):
        return schema
    variants = schema.get("oneOf") or schema.get("anyOf")
    if variants:
        out = {k: v for k, v in schema.items() if k not in ("oneOf", "anyOf")}
        props = dict(out.get("properties", {}))
        for variant in variants:
            variant = _flat(fold(variant))
            for name, sub in variant.get("properties", {}).items():
                props.setdefault(name, sub)
            for key in ("type", "enum", "items"):
                if key in variant:
                    out.setdefault(key, variant[key])
        if props:
            out["properties"] = props
            out.setdefault("type", "object")
        return out
    return schema


def _kind_of(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type")
    if kind is None and "properties" in schema:
        return "object"
    return kind if isinstance(kind, str) else None


def _check(value: Any, schema: dict[str, Any], path: str, walk: Walk) -> None:
    kind = _kind_of(schema)
    if value is None:
        return
    if kind in _TYPES:
        ok = isinstance(value, _TYPES[kind])
        if kind in ("integer", "number") and isinstance(value, bool):
            ok = False
        if not ok:
            walk.wrong.append(f"{path}: {value!r} is not {kind}")
            return
    if "enum" in schema and value not in schema["enum"]:
        walk.wrong.append(f"{path}: {value!r} not in {schema['enum']}")


def walk(answer: Any, schema: dict[str, Any], path: str = "", into: Walk | None = None) -> Walk:
    """Every documented field of ``schema`` under ``path``, present or not, and every type or
    enum break of the answer's values."""
    out = into if into is not None else Walk()
    schema = _flat(schema)
    kind = _kind_of(schema)
    if kind == "object":
        for name, sub in schema.get("properties", {}).items():
            sub = _flat(fold(sub))
            key = f"{path}.{name}" if path else name
            out.documented.add(key)
            if isinstance(answer, dict) and name in answer:
                out.present.add(key)
                _check(answer[name], sub, key, out)
                walk(answer[name], sub, key, out)
            else:
                walk(None, sub, key, out)
    elif kind == "array":
        items = _flat(fold(schema.get("items", {})))
        if _kind_of(items) == "object":
            if isinstance(answer, list) and not answer:
                return out  # no item to have fields (e.g. no tracking fields defined)
            values = answer if isinstance(answer, list) else [None]
            for item in values:
                if item is not None:
                    _check(item, items, f"{path}[]", out)
                walk(item, items, f"{path}[]", out)
    return out
