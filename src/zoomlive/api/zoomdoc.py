"""Zoom's own API documents, kept in the package as data (``zoomlive/api/zoom/``).

The Meetings (184 operations) and Users (71) API documents and their webhook documents (105 and
21 events) are copies of Zoom's API Hub documents; ``zoom/SOURCES.md`` says where each copy comes
from and its date. They are the source of truth for what the emulator answers beyond its
stateful operations, for the fields each object carries and for webhook payloads. Loaded on
first use (about 60 ms each), never at import.
"""

from __future__ import annotations

import functools
import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

DocName = Literal["meetings", "users", "meetings_webhooks", "users_webhooks"]

FILES: dict[DocName, str] = {
    "meetings": "meetings_2026-05-11.json.gz",
    "users": "users_2026-03-10.json.gz",
    "meetings_webhooks": "meetings_webhooks_2026-05-05.json.gz",
    "users_webhooks": "users_webhooks_2026-03-10.json.gz",
}
"""Each document and the file it is kept in (the date is the copy's, see SOURCES.md)."""

API_DOCS: tuple[DocName, ...] = ("meetings", "users")
WEBHOOK_DOCS: tuple[DocName, ...] = ("meetings_webhooks", "users_webhooks")
METHODS = ("get", "post", "put", "patch", "delete")


@functools.cache
def document(name: DocName) -> dict[str, Any]:
    """One document, parsed (cached: treat it as read-only)."""
    data = resources.files("zoomlive.api").joinpath("zoom", FILES[name]).read_bytes()
    loaded: dict[str, Any] = json.loads(gzip.decompress(data))
    return loaded


@dataclass(frozen=True)
class DocOperation:
    """One operation of an API document, as Zoom documents it."""

    doc: DocName
    method: str
    """Upper case: ``GET``, ``POST``..."""
    path: str
    """Under ``/v2``, with ``{param}`` placeholders as in the document."""
    operation_id: str
    spec: dict[str, Any]
    """The operation's object in the document (parameters, requestBody, responses...)."""

    @property
    def classic_scopes(self) -> tuple[str, ...]:
        return tuple(self.spec.get("x-extensions", {}).get("x-macro-scopes", ()))

    @property
    def granular_scopes(self) -> tuple[str, ...]:
        return tuple(self.spec.get("x-extensions", {}).get("x-granular-scopes", ()))

    @property
    def label(self) -> str:
        """Zoom's rate-limit label as the description states it (``LIGHT``, ``MEDIUM``,
        ``HEAVY``, ``RESOURCE-INTENSIVE``), or ``""`` when it states none."""
        description: str = self.spec.get("description", "")
        marker = "Rate Limit Label"
        at = description.find(marker)
        if at < 0:
            return ""
        rest = description[at:].split("`", 2)
        return rest[1].strip().upper() if len(rest) > 2 else ""


def operations(*names: DocName) -> Iterator[DocOperation]:
    """Every operation of the given API documents (both by default), in document order."""
    for name in names or API_DOCS:
        for path, item in document(name)["paths"].items():
            for method in METHODS:
                spec = item.get(method)
                if spec is not None:
                    yield DocOperation(name, method.upper(), path, spec["operationId"], spec)


def webhook_events(*names: DocName) -> dict[str, dict[str, Any]]:
    """Every webhook event of the given webhook documents (both by default): the event name
    and its payload schema (the ``application/json`` schema of the event's ``post``)."""
    out: dict[str, dict[str, Any]] = {}
    for name in names or WEBHOOK_DOCS:
        for event, item in document(name)["webhooks"].items():
            body = item["post"]["requestBody"]["content"]["application/json"]
            out[event] = body["schema"]
    return out
