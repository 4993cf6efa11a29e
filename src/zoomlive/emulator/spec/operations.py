"""The spec tier's operations: every operation of Zoom's Meetings and Users documents that no
stateful rule answers, as data read from the documents, and the route table that finds them.

Each becomes a :class:`SpecOp`: the catalog-shaped :class:`~zoomlive.api.catalog.Operation` the
gateway's checks read (scopes from ``x-macro-scopes`` and ``x-granular-scopes``, the rate-limit
label from the description, Light when it states none), its parameters, request and success
schemas, and how it pairs with the other operations on the same resource (``memory.py``).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

from zoomlive.api import catalog, zoomdoc
from zoomlive.emulator.spec.schemas import Schema, fold

LABELS: dict[str, catalog.Label] = {
    "LIGHT": "Light",
    "MEDIUM": "Medium",
    "HEAVY": "Heavy",
    "RESOURCE-INTENSIVE": "Resource-intensive",
}
_ERROR_CODE = re.compile(r"\*\*Error Code:\*\*\s*`(\d+)`\s*(?:<br>)?\s*(.*?)\s*<br>", re.DOTALL)


@dataclass(frozen=True)
class Param:
    name: str
    where: str
    """``path`` or ``query``."""
    required: bool
    schema: Schema


@dataclass
class SpecOp:
    """One document operation answered by the spec tier."""

    doc: zoomdoc.DocOperation
    op: catalog.Operation
    params: tuple[Param, ...]
    path_names: tuple[str, ...]
    """The path's parameters, in order."""
    body_schema: Schema | None
    body_required: bool
    body_media: str
    """``application/json`` or ``multipart/form-data``."""
    success: int
    answer_schema: Schema | None
    not_found: tuple[int, str] | None
    """Zoom's code and message template for the resource, from the 404 description."""
    template: str
    pairs: Pairs = field(default_factory=lambda: Pairs())

    @property
    def operation_id(self) -> str:
        return self.op.operation_id


@dataclass
class Pairs:
    """What the document says about the resource an operation names (see memory.py)."""

    read: SpecOp | None = None
    """The GET of the same path."""
    item: str | None = None
    """The item template under this path (``.../polls/{pollId}``): this path is a collection."""
    item_param: Param | None = None
    list_field: str | None = None
    """The array of the collection's GET answer that lists its items."""
    item_name: str = "id"
    """The item's id as a field (``pollId`` -> ``poll_id``)."""
    creatable: bool = False
    """The collection has a POST: its GET lists exactly the items created."""


def _success(spec: dict[str, Any]) -> tuple[int, Schema | None]:
    codes = sorted(int(c) for c in spec.get("responses", {}) if c.isdigit() and c[0] == "2")
    status = codes[0] if codes else 200
    response = spec["responses"].get(str(status), {})
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return status, (fold(schema) if schema else None)


def _not_found(spec: dict[str, Any]) -> tuple[int, str] | None:
    """The first 404 code of the description that is about the resource itself (not about the
    meeting, webinar or user the path names, nor an invalid id)."""
    text = spec.get("responses", {}).get("404", {}).get("description", "")
    for code, message in _ERROR_CODE.findall(text):
        if int(code) not in (300, 1001, 1120, 3001, 124) and message:
            return int(code), " ".join(message.split())
    return None


def _build(doc_op: zoomdoc.DocOperation) -> SpecOp:
    spec = doc_op.spec
    params = tuple(
        Param(p["name"], p["in"], bool(p.get("required")), fold(p.get("schema", {})))
        for p in spec.get("parameters", ())
        if p.get("in") in ("path", "query")
    )
    body = spec.get("requestBody")
    body_schema: Schema | None = None
    media = "application/json"
    if body is not None:
        content = body.get("content", {})
        media = "application/json" if "application/json" in content else next(iter(content), media)
        body_schema = fold(content.get(media, {}).get("schema", {"type": "object"}))
    status, answer = _success(spec)
    op = catalog.Operation(
        operation_id=doc_op.operation_id,
        method=doc_op.method,
        path=doc_op.path,
        label=LABELS.get(doc_op.label, "Light"),
        classic_scopes=tuple(s.strip() for s in doc_op.classic_scopes),  # Zoom: " division:..."
        granular_scopes=tuple(s.strip() for s in doc_op.granular_scopes),
        summary=str(spec.get("summary", "")),
        success_status=status,
        idempotent=doc_op.method != "POST",
        tags=tuple(spec.get("tags", ())),
    )
    return SpecOp(
        doc=doc_op,
        op=op,
        params=params,
        path_names=tuple(re.findall(r"\{([^}]+)\}", doc_op.path)),
        body_schema=body_schema,
        body_required=bool(body and body.get("required")),
        body_media=media,
        success=status,
        answer_schema=answer,
        not_found=_not_found(spec),
        template=_shape(doc_op.path),
    )


def _shape(path: str) -> str:
    """The path with every parameter written ``{}``: two operations on one resource share it
    even when the documents name the parameter differently."""
    return re.sub(r"\{[^}]+\}", "{}", path)


def _pair(ops: list[SpecOp]) -> None:
    """Pairs each operation with the others on its resource, by path: the GET of the same
    path reads what a write there wrote; a path with operations one parameter below it is a
    collection of those items."""
    by_shape: dict[tuple[str, str], SpecOp] = {(o.template, o.op.method): o for o in ops}
    shapes = {o.template for o in ops}
    for o in ops:
        o.pairs.read = by_shape.get((o.template, "GET"))
        item = o.template + "/{}"
        if item in shapes:
            o.pairs.item = item
            child = next(c for c in ops if c.template == item)
            name = child.path_names[-1]
            o.pairs.item_param = next(p for p in child.params if p.name == name)
            o.pairs.item_name = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
            o.pairs.creatable = (o.template, "POST") in by_shape
            reader = o.pairs.read
            if reader is not None and reader.answer_schema is not None:
                o.pairs.list_field = _list_field(reader.answer_schema)


def _list_field(schema: Schema) -> str | None:
    """The answer's array of objects (a collection's items)."""
    for name, sub in schema.get("properties", {}).items():
        if sub.get("type") == "array" and sub.get("items", {}).get("type", "object") == "object":
            return str(name)
    return None


@dataclass
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    param: _Node | None = None
    ops: dict[str, SpecOp] = field(default_factory=dict)


class SpecRoutes:
    """The spec tier's paths as a tree of segments. Literal segments win over parameters, with
    backtracking (``/users/me/token`` is ``/users/{userId}/token``, not ``/users/me/zak``)."""

    def __init__(self, ops: list[SpecOp]) -> None:
        self.root = _Node()
        for o in ops:
            node = self.root
            for segment in o.op.full_path.strip("/").split("/"):
                if segment.startswith("{"):
                    node.param = node.param or _Node()
                    node = node.param
                else:
                    node = node.literal.setdefault(segment, _Node())
            node.ops[o.op.method] = o

    def match(self, path: str) -> tuple[dict[str, SpecOp], list[str]] | None:
        """The operations at ``path`` (by method) and the parameters' values in order."""
        segments = path[1:].split("/")
        found = self._walk(self.root, segments, 0, [])
        return found

    def _walk(
        self, node: _Node, segments: list[str], i: int, values: list[str]
    ) -> tuple[dict[str, SpecOp], list[str]] | None:
        if i == len(segments):
            return (node.ops, values) if node.ops else None
        segment = segments[i]
        child = node.literal.get(segment)
        if child is not None:
            found = self._walk(child, segments, i + 1, values)
            if found is not None:
                return found
        if node.param is not None and segment and len(segment) <= 1024:
            return self._walk(node.param, segments, i + 1, [*values, segment])
        return None


@dataclass
class SpecTable:
    ops: list[SpecOp]
    by_id: dict[str, SpecOp]
    routes: SpecRoutes
    shadows: frozenset[str]
    """Literal segments of the documents that the catalog's routes would take for a parameter
    (``/users/summary`` for ``/users/{userId}``): a path with one of them goes here first."""


@functools.cache
def table(stateful: frozenset[str]) -> SpecTable:
    """The spec tier for the documents, without the operations in ``stateful``."""
    ops = [_build(o) for o in zoomdoc.operations() if o.operation_id not in stateful]
    _pair(ops)  # a write pairs only with spec-tier reads: a stateful GET reads its own store
    literals: set[str] = set()
    for o in ops:
        literals.update(s for s in o.doc.path.strip("/").split("/") if not s.startswith("{"))
    return SpecTable(ops, {o.operation_id: o for o in ops}, SpecRoutes(ops), frozenset(literals))


def stateful_ids(handlers: Collection[str]) -> frozenset[str]:
    """The operations the stateful tier answers: the catalog's, with a rule."""
    return frozenset(op.operation_id for op in catalog.OPERATIONS if op.operation_id in handlers)
