"""Generates ``docs/operations.md`` from the operation catalog (a test keeps the file in sync).

Run ``python -m zoomlive.api.docs > docs/operations.md`` after changing the catalog.
"""

from __future__ import annotations

from zoomlive.api.catalog import OPERATIONS


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
        "Besides these, the emulator serves `POST /oauth/token` (Server-to-Server OAuth),",
        "`GET /openapi.json` (this table as OpenAPI 3) and its own control API under",
        "`/_emulator` (see `docs/control-api.md`).",
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    print(render_operations(), end="")
