"""The fast views (``rules.views.view``) write exactly what the wire models would dump."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from zoomlive.api import wire as w
from zoomlive.emulator.rules.sessions import list_item, session_fields
from zoomlive.emulator.rules.views import view
from zoomlive.emulator.store import Session, User

NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
HOST = User("h1", "a1", "h@example.com", "Ada", "L", 2, "UTC", NOW)
text = st.text(st.characters(blacklist_categories=["Cs"]), max_size=30)


def dumped(model: type[BaseModel], values: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = model.model_construct(**values).model_dump(mode="json", exclude_none=True)
    return out


@settings(max_examples=80, deadline=None)
@given(
    kind=st.sampled_from(["webinar", "meeting"]),
    topic=text,
    agenda=text,
    start=st.none() | st.just(NOW),
    settings_doc=st.dictionaries(st.sampled_from(["host_video", "audio", "x"]), st.booleans()),
    host=st.none() | st.just(HOST),
    status=st.sampled_from(["waiting", "started", "ended"]),
)
def test_session_views_match_the_models(
    kind: str,
    topic: str,
    agenda: str,
    start: datetime | None,
    settings_doc: dict[str, Any],
    host: User | None,
    status: str,
) -> None:
    session = Session(
        7, "uuid7", "a1", "h1", topic, 5, start, 60, "UTC", agenda, "pw", settings_doc,
        status, NOW, NOW, kind=kind,  # type: ignore[arg-type]
    )  # fmt: skip
    fields = session_fields(session, host, "http://127.0.0.1:8080")
    model: type[BaseModel] = w.Webinar if kind == "webinar" else w.Meeting
    extra = {"is_simulive": False} if kind == "webinar" else {"status": status}
    assert view(model, {**fields, **extra}) == dumped(model, {**fields, **extra})
    item: type[BaseModel] = w.WebinarListItem if kind == "webinar" else w.MeetingListItem
    narrowed = {k: v for k, v in fields.items() if k in item.model_fields}
    assert list_item(item, session, "http://127.0.0.1:8080") == dumped(item, narrowed)


@pytest.mark.parametrize("model", [w.WebinarList, w.MeetingList, w.LiveStreamDetails, w.UserInfo])
def test_defaults_and_extras_match(model: type[BaseModel]) -> None:
    required = {n: "x" for n, f in model.model_fields.items() if f.is_required()}
    values = {**required, "page_size": 30, "total_records": 0, "zoom_extra": "kept"}
    values = {k: v for k, v in values.items() if k in model.model_fields or k == "zoom_extra"}
    assert view(model, values) == dumped(model, values)
