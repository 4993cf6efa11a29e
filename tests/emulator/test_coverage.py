"""Coverage of Zoom's documents: every operation is answered by a tier (the stateful rules or
the spec tier), every stateful operation names a test that exists, docs/coverage.md is what
the catalog and the documents say, and ``GET /_emulator/coverage`` serves the same."""

from __future__ import annotations

import ast
from pathlib import Path

from starlette.testclient import TestClient

from zoomlive.api import catalog, zoomdoc
from zoomlive.api.docs import coverage, render_coverage
from zoomlive.emulator.rules import HANDLERS
from zoomlive.emulator.spec import stateful_ids, table

ROOT = Path(__file__).resolve().parents[2]


def test_coverage_md_is_current() -> None:
    assert (ROOT / "docs" / "coverage.md").read_text() == render_coverage(), (
        "docs/coverage.md is stale: python -m zoomlive.api.docs coverage > docs/coverage.md"
    )


def test_every_document_operation_has_a_tier() -> None:
    """A document operation neither tier answers fails here: the stateful tier is the catalog
    operations with a rule, the spec tier every other one the documents have."""
    stateful = stateful_ids(HANDLERS)
    spec = table(stateful).by_id
    unanswered = [
        f"{o.method} {o.path} ({o.operation_id})"
        for o in zoomdoc.operations()
        if o.operation_id not in stateful and o.operation_id not in spec
    ]
    assert not unanswered, unanswered
    assert not stateful & set(spec), "an operation in both tiers"
    without_rule = [op.operation_id for op in catalog.OPERATIONS if op.operation_id not in HANDLERS]
    assert not without_rule, without_rule


def _test_functions(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
        and node.name.startswith("test_")
    }


def test_every_stateful_operation_names_a_test_that_exists() -> None:
    missing = []
    for op in catalog.OPERATIONS:
        file, _, name = op.test.partition("::")
        path = ROOT / file
        if not name or not path.is_file() or name not in _test_functions(path):
            missing.append(f"{op.operation_id}: {op.test!r}")
    assert not missing, (
        "each catalog operation names the test that shows it (Operation.test, "
        f"'tests/...py::test_name'): {missing}"
    )


def test_coverage_counts_and_sources() -> None:
    data = coverage()
    docs = {d["name"]: d for d in data["documents"]}
    assert docs["meetings"]["operations"] == 184 and docs["meetings"]["date"] == "2026-05-11"
    assert docs["users"]["operations"] == 71 and docs["users"]["date"] == "2026-03-10"
    assert "kazuma-ddci/stella-crm" in docs["meetings"]["source"]["repo"]
    assert "herooftimeandspace/zoompy" in docs["users"]["source"]["repo"]
    totals = data["totals"]
    assert totals["operations"] == 255 == totals["stateful"] + totals["spec"]
    stateful = [o for o in data["operations"] if o["tier"] == "stateful"]
    assert stateful and all(o["test"] for o in stateful)
    assert {o["operation_id"] for o in stateful} == stateful_ids(HANDLERS)


def test_the_control_api_serves_the_coverage(client: TestClient) -> None:
    response = client.get("/_emulator/coverage")
    assert response.status_code == 200
    served = response.json()
    assert served["totals"]["none"] == 0
    assert served["totals"]["operations"] == 255
    published = coverage()
    assert served["documents"] == published["documents"]
    assert [(o["operation_id"], o["tier"]) for o in served["operations"]] == [
        (o["operation_id"], o["tier"]) for o in published["operations"]
    ]
