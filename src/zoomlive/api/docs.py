"""Generates ``docs/operations.md`` from the operation catalog, and ``docs/coverage.md`` (every
operation of Zoom's documents and the tier that answers it) from the catalog and the documents;
tests keep both files in sync.

Run ``python -m zoomlive.api.docs > docs/operations.md`` after changing the catalog, and
``python -m zoomlive.api.docs coverage > docs/coverage.md``.
"""

from __future__ import annotations

import re
import sys
from importlib import resources
from typing import Any

from zoomlive.api import zoomdoc
from zoomlive.api.catalog import BY_ID, OPERATIONS


def render_operations() -> str:
    lines = [
        "# Implemented Zoom operations",
        "",
        "Generated from the operation catalog (`src/zoomlive/api/catalog.py`) by",
        "`python -m zoomlive.api.docs > docs/operations.md`; a test fails when it is stale.",
        "Every operation takes a bearer token from `POST /oauth/token`; any one of the listed",
        "scopes grants it.",
        "",
        "| Method | Path | Zoom operationId | Success | Rate-limit label | Classic scopes "
        "| Granular scopes |",
        "|---|---|---|---|---|---|---|",
    ]
    for op in OPERATIONS:
        lines.append(
            f"| {op.method} | `{op.full_path}` | `{op.operation_id}` | {op.success_status} "
            f"| {op.label} | {', '.join(f'`{s}`' for s in op.classic_scopes)} "
            f"| {', '.join(f'`{s}`' for s in op.granular_scopes)} |"
        )
    lines += [
        "",
        "These are the stateful operations. Every other operation of Zoom's Meetings and Users",
        "documents is answered by the emulator's spec tier: see [coverage.md](coverage.md).",
        "",
        "Besides these, the emulator serves `POST /oauth/token` (Server-to-Server OAuth),",
        "`GET /openapi.json` (this table as OpenAPI 3) and its own control API under",
        "`/_emulator` (see `docs/control-api.md`).",
        "",
    ]
    return "\n".join(lines)


def _sources() -> dict[str, dict[str, str]]:
    """Each document's row of ``zoom/SOURCES.md``: repository, path and commit (with its date)."""
    text = resources.files("zoomlive.api").joinpath("zoom", "SOURCES.md").read_text()
    out: dict[str, dict[str, str]] = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 4 and cells[0].endswith(".json"):
            out[cells[0]] = {"repo": cells[1], "path": cells[2], "commit": cells[3]}
    return out


def coverage() -> dict[str, Any]:
    """Every operation of Zoom's Meetings and Users documents and its tier: ``stateful`` (a rule
    over the store, in the catalog, with the test that shows it) or ``spec`` (answered from the
    document by the emulator's spec tier); each document's date, source and count."""
    sources = _sources()
    documents = []
    for name in zoomdoc.API_DOCS:
        doc = zoomdoc.document(name)
        file = zoomdoc.FILES[name]
        found = re.search(r"\d{4}-\d{2}-\d{2}", file)
        source = sources.get(file.removesuffix(".gz"), {})
        documents.append(
            {
                "name": name,
                "title": doc["info"]["title"],
                "version": doc["info"]["version"],
                "date": found.group(0) if found else "",
                "file": f"src/zoomlive/api/zoom/{file}",
                "source": source,
                "operations": sum(1 for _ in zoomdoc.operations(name)),
            }
        )
    operations = []
    for doc_op in zoomdoc.operations():
        op = BY_ID.get(doc_op.operation_id)
        stateful = op is not None and (op.method, op.path) == (doc_op.method, doc_op.path)
        operations.append(
            {
                "document": doc_op.doc,
                "operation_id": doc_op.operation_id,
                "method": doc_op.method,
                "path": "/v2" + doc_op.path,
                "tags": list(doc_op.spec.get("tags", ())),
                "tier": "stateful" if stateful else "spec",
                "test": op.test if op is not None and stateful else "",
            }
        )
    tiers = [o["tier"] for o in operations]
    return {
        "documents": documents,
        "totals": {
            "operations": len(operations),
            "stateful": tiers.count("stateful"),
            "spec": tiers.count("spec"),
        },
        "operations": operations,
    }


def render_coverage() -> str:
    data = coverage()
    totals = data["totals"]
    lines = [
        "# Coverage of Zoom's API documents",
        "",
        "Generated from the operation catalog (`src/zoomlive/api/catalog.py`) and Zoom's documents",
        "(`src/zoomlive/api/zoom/`) by `python -m zoomlive.api.docs coverage > docs/coverage.md`;",
        "a test fails when it is stale. The emulator serves the same as JSON at",
        "`GET /_emulator/coverage`.",
        "",
        "Two tiers answer every operation: **stateful** (a rule over the store: state, state",
        "machine, events; each names the test that shows it) and **spec** (answered from the",
        "document: its scopes, rate-limit label and request validation, ids checked against the",
        "store, an answer built from the documented schema, writes remembered; see",
        '[fidelity.md](fidelity.md), "Spec tier"). No operation of these documents answers the',
        "generic 404.",
        "",
        "| Document | Version | Date | Source | Operations |",
        "|---|---|---|---|---|",
    ]
    for doc in data["documents"]:
        src = doc["source"]
        where = f"{src.get('repo', '')}, {src.get('path', '')}, commit {src.get('commit', '')}"
        lines.append(
            f"| {doc['title']} (`{doc['file']}`) | {doc['version']} | {doc['date']} | {where} "
            f"| {doc['operations']} |"
        )
    lines += [
        "",
        f"{totals['operations']} operations: {totals['stateful']} stateful, {totals['spec']} spec.",
        "",
    ]
    for doc in data["documents"]:
        lines += [
            f"## {doc['title']}",
            "",
            "| Method | Path | Zoom operationId | Tier | Test |",
            "|---|---|---|---|---|",
        ]
        for o in data["operations"]:
            if o["document"] == doc["name"]:
                test = f"`{o['test']}`" if o["test"] else ""
                lines.append(
                    f"| {o['method']} | `{o['path']}` | `{o['operation_id']}` | {o['tier']} "
                    f"| {test} |"
                )
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    if sys.argv[1:] == ["coverage"]:
        print(render_coverage(), end="")
    else:
        print(render_operations(), end="")
