"""Zoom's API documents kept in the package: complete, and the same as the copies they came from."""

from __future__ import annotations

import gzip
import json
from collections import Counter
from pathlib import Path

import pytest

from zoomlive.api import zoomdoc

SHARED = Path(__file__).resolve().parents[3] / "shared" / "reference" / "zoom"


def test_the_documents_hold_every_operation_and_event() -> None:
    per_doc = Counter(op.doc for op in zoomdoc.operations())
    assert per_doc == {"meetings": 184, "users": 71}
    ids = [op.operation_id for op in zoomdoc.operations()]
    assert len(ids) == len(set(ids)), "operationIds are unique across both documents"
    assert len(zoomdoc.webhook_events("meetings_webhooks")) == 105
    assert len(zoomdoc.webhook_events("users_webhooks")) == 21
    registrants = next(
        op for op in zoomdoc.operations("meetings") if op.operation_id == "webinarRegistrants"
    )
    assert (registrants.method, registrants.path, registrants.label) == (
        "GET",
        "/webinars/{webinarId}/registrants",
        "MEDIUM",
    )
    assert "webinar:read:list_registrants" in registrants.granular_scopes


@pytest.mark.parametrize("name", sorted(zoomdoc.FILES))
def test_each_document_is_the_copy_sources_md_names(name: zoomdoc.DocName) -> None:
    original = SHARED / zoomdoc.FILES[name].removesuffix(".gz")
    if not original.exists():
        pytest.skip("../shared/reference/zoom is not beside this clone")
    kept = Path(zoomdoc.__file__).parent / "zoom" / zoomdoc.FILES[name]
    assert json.loads(gzip.decompress(kept.read_bytes())) == json.loads(original.read_bytes())
