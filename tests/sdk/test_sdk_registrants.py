"""Registrants, panelists and live-streaming join tokens through the SDK, sync and async, against
the emulator in process and ``zoomlive serve`` over a socket: what an operator does before a
live-streamed webinar (register people, approve them, add panelists, hand a streaming app its
token), and Zoom's refusals raised as the SDK's typed errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import zoomlive
from tests.conftest import Server
from tests.sdk.test_sdk_retries import Emulator
from tests.support.sdk import Both
from zoomlive.api import registrants as r
from zoomlive.api import users as u
from zoomlive.emulator import Settings, create_app

UNKNOWN = 12345678901


def open_emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    """The emulator in process, or ``zoomlive serve`` (reset to the demo seed), by the param."""
    if request.param == "inprocess":
        app = create_app(Settings(db=":memory:", seed=1, media="fake", rate_limits="off"))
        with TestClient(app, base_url="http://127.0.0.1:8080") as client:
            yield Emulator("inprocess", "http://127.0.0.1:8080", client, app)
        return
    server: Server = request.getfixturevalue("server")
    with httpx.Client(base_url=server.url, timeout=30) as http:
        emu = Emulator("socket", server.url, http)
        emu.control("POST", "/reset", json={"demo": True})
        yield emu


@pytest.fixture(params=["inprocess", "socket"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
    yield from open_emulator(request)


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest, emulator: Emulator) -> Iterator[Both]:
    both = emulator.sdk(request.param)
    yield both
    both.close()


def session(sdk: Both, kind: str, approval_type: int = 1) -> int:
    sessions = getattr(sdk.client, f"{kind}s")
    made = sdk.run(
        sessions.create(topic=f"Launch {kind}", settings={"approval_type": approval_type})
    )
    sid: int = made.id
    return sid


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_register_approve_and_list(sdk: Both, kind: str) -> None:
    sid = session(sdk, kind)
    regs = getattr(sdk.client, f"{kind}s").registrants
    made = sdk.run(regs.create(sid, email="ana@example.org", first_name="Ana", org="Acme"))
    assert isinstance(made, r.RegistrantCreated) and made.id == sid and made.join_url
    batch = [{"email": f"p{i}@example.org", "first_name": f"P{i}"} for i in range(3)]
    added = sdk.run(regs.batch(sid, batch))
    assert isinstance(added, r.BatchRegistrants) and len(added.registrants) == 3
    pending = sdk.collect(regs.list(sid, status="pending"))
    assert sorted(p.email for p in pending) == [
        "ana@example.org",
        "p0@example.org",
        "p1@example.org",
        "p2@example.org",
    ]
    assert sdk.collect(regs.list(sid)) == []  # the default filter is Zoom's: approved

    assert sdk.run(regs.approve(sid, made.registrant_id, "p0@example.org")) is None
    approved = sdk.collect(regs.list(sid, status="approved"))
    assert sorted(p.email for p in approved) == ["ana@example.org", "p0@example.org"]
    assert all(p.status == "approved" for p in approved)
    ana = sdk.run(regs.get(sid, made.registrant_id))
    assert (ana.first_name, ana.org, ana.status) == ("Ana", "Acme", "approved")

    sdk.run(regs.deny(sid, "p1@example.org"))
    sdk.run(regs.cancel(sid, made.registrant_id))
    denied = sorted(p.email for p in sdk.collect(regs.list(sid, status="denied")))
    assert denied == ["ana@example.org", "p1@example.org"]
    sdk.run(regs.update_status(sid, "approve", [{"email": "p2@example.org"}]))
    page = sdk.run(regs.page(sid, page_size=1))
    assert isinstance(page, r.RegistrantList) and page.total_records == 2
    assert len(page.registrants) == 1 and page.next_page_token
    paged = sdk.collect(regs.list(sid, page_size=1))
    assert sorted(p.email for p in paged) == ["p0@example.org", "p2@example.org"]

    sdk.run(regs.delete(sid, made.registrant_id))
    with pytest.raises(zoomlive.BadRequestError) as caught:
        sdk.run(regs.get(sid, made.registrant_id))
    assert caught.value.code == 3079


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_registration_questions(sdk: Both, kind: str) -> None:
    sid = session(sdk, kind)
    regs = getattr(sdk.client, f"{kind}s").registrants
    custom = {"title": "Team", "type": "short", "required": True}
    assert (
        sdk.run(
            regs.update_questions(
                sid,
                questions=[{"field_name": "org", "required": True}],
                custom_questions=[custom],
            )
        )
        is None
    )
    got = sdk.run(regs.questions(sid))
    assert isinstance(got, r.RegistrationQuestions)
    assert {"field_name": "org", "required": True} in got.questions
    assert [q["title"] for q in got.custom_questions] == ["Team"]


def test_panelists_added_listed_and_removed(sdk: Both) -> None:
    wid = session(sdk, "webinar", approval_type=2)
    panel = sdk.client.webinars.panelists
    people = [
        {"name": "Chair", "email": "chair@example.org"},
        {"name": "Guest", "email": "guest@example.org"},
    ]
    added = sdk.run(panel.add(wid, people))
    assert isinstance(added, r.PanelistsAdded) and added.id == str(wid)
    listed = sdk.run(panel.list(wid))
    assert listed.total_records == 2
    by_email = {p.email: p for p in listed.panelists}
    assert by_email["chair@example.org"].name == "Chair"
    sdk.run(panel.delete(wid, by_email["chair@example.org"].id))
    assert [p.email for p in sdk.run(panel.list(wid)).panelists] == ["guest@example.org"]
    sdk.run(panel.delete_all(wid))
    assert sdk.run(panel.list(wid)).total_records == 0


@pytest.mark.parametrize("kind", ["webinar", "meeting"])
def test_live_streaming_join_token(sdk: Both, kind: str) -> None:
    sid = session(sdk, kind)
    live = getattr(sdk.client, f"{kind}s").livestream
    token = sdk.run(live.join_token(sid))
    assert isinstance(token, u.JoinTokenAnswer)
    assert token.token and token.expire_in == 120
    assert sdk.run(live.join_token(sid)).token != token.token
    with pytest.raises(zoomlive.NotFoundError) as caught:
        sdk.run(live.join_token(UNKNOWN))
    assert caught.value.code == 3001


def test_zoom_errors_are_typed(sdk: Both) -> None:
    regs = sdk.client.webinars.registrants
    with pytest.raises(zoomlive.NotFoundError) as caught:
        sdk.run(regs.page(UNKNOWN))
    assert (caught.value.status_code, caught.value.code) == (404, 3001)
    assert "Webinar does not exist" in str(caught.value)
    with pytest.raises(zoomlive.NotFoundError) as caught:
        sdk.run(sdk.client.webinars.panelists.list(UNKNOWN))
    assert caught.value.code == 3001
    with pytest.raises(zoomlive.NotFoundError):
        sdk.run(sdk.client.meetings.registrants.create(UNKNOWN, email="a@b.org", first_name="A"))


def test_bad_arguments_raise_before_sending(sdk: Both) -> None:
    """The request models check bodies on the caller's side: nothing is sent."""
    regs = sdk.client.webinars.registrants
    bad: list[Any] = [
        lambda: regs.create(1, email="not-an-email", first_name="A"),
        lambda: regs.update_status(1, "promote", ["x"]),
        lambda: regs.approve(1, *[f"id{i}" for i in range(31)]),
        lambda: sdk.client.webinars.panelists.add(1, [{"email": "a@b.org"}]),
        lambda: sdk.client.webinars.panelists.add(1, []),
        lambda: regs.get(1, "a/b"),
    ]
    for call in bad:
        with pytest.raises(ValueError):
            call()
