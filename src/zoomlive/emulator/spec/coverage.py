"""What this emulator answers of Zoom's documents (``GET /_emulator/coverage``): the published
table (``zoomlive.api.docs.coverage``, docs/coverage.md), with each operation's tier as the
running emulator routes it: ``stateful`` (a catalog operation with a rule), ``spec`` (the spec
tier), or ``none`` (a gap; a test keeps there being none)."""

from __future__ import annotations

from typing import Any

from zoomlive.api.docs import coverage as published
from zoomlive.emulator.rules import HANDLERS
from zoomlive.emulator.spec.operations import stateful_ids, table


def coverage() -> dict[str, Any]:
    data = published()
    stateful = stateful_ids(HANDLERS)
    spec = table(stateful).by_id
    for op in data["operations"]:
        key = op["operation_id"]
        op["tier"] = "stateful" if key in stateful else "spec" if key in spec else "none"
    tiers = [op["tier"] for op in data["operations"]]
    data["totals"] = {
        "operations": len(tiers),
        **{tier: tiers.count(tier) for tier in ("stateful", "spec", "none")},
    }
    return data
