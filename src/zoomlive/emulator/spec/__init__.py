"""The spec tier: every operation of Zoom's Meetings and Users documents that no stateful rule
answers, answered from the documents as data (no code per operation).

``operations`` reads the documents (scopes, label, parameters, schemas, how operations pair on
one resource) and routes their paths; ``tier`` checks a call's ids, query and body against the
document and its ids against the store; ``values`` builds answers from response schemas;
``memory`` answers, and remembers writes in the store (``spec_resources``); ``schemas`` turns
OpenAPI 3.0 schemas into JSON Schema. An operation that gains a stateful rule (in the catalog
and ``rules.HANDLERS``) leaves this tier by itself.
"""

from __future__ import annotations

from zoomlive.emulator.spec.memory import handle
from zoomlive.emulator.spec.operations import SpecOp, SpecTable, stateful_ids, table
from zoomlive.emulator.spec.tier import SpecCall, parse

__all__ = ["SpecCall", "SpecOp", "SpecTable", "handle", "parse", "stateful_ids", "table"]
