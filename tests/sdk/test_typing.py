"""The SDK's answers are typed: mypy, run on a user's program, knows that
``client.webinars.get(1)`` is a ``Webinar`` and ``async_client.webinars.get(1)`` a coroutine of
one; and each call, made against the emulator, returns an instance of the type mypy was told.

One table, :data:`CALLS`, drives both checks: every SDK call once, with the model its answer is
(``None`` where Zoom answers 204), in an order the emulator accepts."""

from __future__ import annotations

import re
import subprocess
import sys
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

import zoomlive
from tests.conftest import DEMO_WEBINAR, Server
from tests.support.sdk import Both
from zoomlive import _resources
from zoomlive.api import registrants as r
from zoomlive.api import users as u
from zoomlive.api import wire as w
from zoomlive.api.catalog import BY_ID


@dataclass(frozen=True)
class Call:
    expr: str
    """An SDK call on ``client``, with ``webinar_id``, ``meeting_id``, ``registrant_id``,
    ``panelist_id`` and ``user_id`` (made by the calls before) and ``live_id`` (the demo webinar,
    started) in scope."""
    answer: type[BaseModel] | type[dict[str, Any]] | None
    """The model of its answer; for ``iterates``, of each item."""
    iterates: bool = False


STREAM = 'stream_url="rtmp://127.0.0.1:1935/live", stream_key="k", page_url="https://x.test/p"'
CALLS = [
    Call("client.users.get()", w.UserInfo),
    Call('client.webinars.create(topic="Typed", settings={"approval_type": 1})', w.Webinar),
    Call("client.webinars.get(webinar_id)", w.Webinar),
    Call('client.webinars.update(webinar_id, agenda="A")', None),
    Call("client.webinars.page(page_size=1)", w.WebinarList),
    Call("client.webinars.list(page_size=1)", w.WebinarListItem, iterates=True),
    Call("client.iter_webinars()", w.WebinarListItem, iterates=True),
    Call(f"client.webinars.livestream.update(live_id, {STREAM})", None),
    Call("client.webinars.livestream.get(live_id)", w.LiveStreamDetails),
    Call('client.webinars.livestream.start(live_id, display_name="T")', None),
    Call("client.webinars.livestream.stop(live_id)", None),
    Call("client.webinars.livestream.join_token(live_id)", u.JoinTokenAnswer),
    Call('client.meetings.create(topic="Typed", settings={"approval_type": 1})', w.Meeting),
    Call("client.meetings.get(meeting_id)", w.Meeting),
    Call('client.meetings.update(meeting_id, agenda="A")', None),
    Call("client.meetings.page()", w.MeetingList),
    Call("client.meetings.list()", w.MeetingListItem, iterates=True),
    Call("client.iter_meetings()", w.MeetingListItem, iterates=True),
    Call(f"client.meetings.livestream.update(meeting_id, {STREAM})", None),
    Call("client.meetings.livestream.get(meeting_id)", w.LiveStreamDetails),
    Call("client.meetings.livestream.join_token(meeting_id)", u.JoinTokenAnswer),
    *(
        Call(f"client.{plural}.registrants.{expr}", answer, iterates=expr.startswith("list("))
        for plural, sid in (("webinars", "webinar_id"), ("meetings", "meeting_id"))
        for expr, answer in (
            (f'create({sid}, email="a@example.org", first_name="A")', r.RegistrantCreated),
            (
                f'batch({sid}, [{{"email": "b@example.org", "first_name": "B"}}])',
                r.BatchRegistrants,
            ),
            (f'page({sid}, status="pending")', r.RegistrantList),
            (f"get({sid}, registrant_id)", r.Registrant),
            (f"approve({sid}, registrant_id)", None),
            (f'deny({sid}, "b@example.org")', None),
            (f"cancel({sid}, registrant_id)", None),
            (f'update_status({sid}, "approve", [registrant_id])', None),
            (f"list({sid})", r.Registrant),
            (f'update_questions({sid}, questions=[{{"field_name": "org"}}])', None),
            (f"questions({sid})", r.RegistrationQuestions),
            (f"delete({sid}, registrant_id)", None),
        )
    ),
    Call(
        'client.webinars.panelists.add(webinar_id, [{"name": "P", "email": "p@example.org"}])',
        r.PanelistsAdded,
    ),
    Call("client.webinars.panelists.list(webinar_id)", r.PanelistList),
    Call("client.webinars.panelists.delete(webinar_id, panelist_id)", None),
    Call("client.webinars.panelists.delete_all(webinar_id)", None),
    Call('client.users.create("typed@example.org", action="custCreate")', u.UserCreated),
    Call("client.users.page()", u.UserList),
    Call("client.users.list()", dict, iterates=True),
    Call('client.users.update(user_id, dept="Live")', None),
    Call("client.users.settings(user_id)", u.UserSettings),
    Call('client.users.update_settings(user_id, {"in_meeting": {"chat": False}})', None),
    Call('client.users.token(type="zak")', u.UserToken),
    Call('client.users.delete(user_id, action="delete")', None),
    Call("client.meetings.end(meeting_id)", None),
    Call("client.meetings.delete(meeting_id)", None),
    Call("client.webinars.end(live_id)", None),
    Call("client.webinars.delete(webinar_id)", None),
]
NOT_RUN = [  # typed like the rest, but the emulator's state above does not allow them
    Call('client.meetings.livestream.start(meeting_id, layout="gallery_view")', None),
    Call('client.meetings.livestream.mode(meeting_id, layout="gallery_view")', None),
    Call("client.meetings.livestream.stop(meeting_id)", None),
]


def name(model: type[BaseModel] | type[dict[str, Any]] | None) -> str:
    if model is dict:
        return "dict[str, Any]"
    return "None" if model is None else f"{model.__module__}.{model.__qualname__}"


def expected(call: Call, kind: str) -> str:
    """What mypy reveals for ``call`` on a ``kind`` client."""
    if call.iterates:
        return f"typing.{'Async' if kind == 'async' else ''}Iterator[{name(call.answer)}]"
    if kind == "async":
        return f"typing.Coroutine[Any, Any, {name(call.answer)}]"
    return name(call.answer)


PROGRAM = """\
from typing import reveal_type

from zoomlive import AsyncZoomClient, ZoomClient


def sync_calls(
    client: ZoomClient,
    webinar_id: int,
    meeting_id: int,
    live_id: int,
    registrant_id: str,
    panelist_id: str,
    user_id: str,
) -> None:
{sync}


async def async_calls(
    client: AsyncZoomClient,
    webinar_id: int,
    meeting_id: int,
    live_id: int,
    registrant_id: str,
    panelist_id: str,
    user_id: str,
) -> None:
{async_}
"""


def run_mypy(tmp_path: Path, program: str) -> list[str]:
    (tmp_path / "user.py").write_text(program)
    # Errors inside zoomlive are not the user's (as for an installed package): silenced.
    config = "[mypy]\nstrict = True\n[mypy-zoomlive.*]\nfollow_imports = silent\n"
    (tmp_path / "mypy.ini").write_text(config)
    # The package under test (a checkout or an install), found as a user's mypy finds it.
    package_root = Path(zoomlive.__file__).resolve().parents[1]
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "user.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        env={"MYPYPATH": str(package_root), "PATH": str(Path(sys.executable).parent)},
    )
    assert result.returncode in (0, 1), result.stdout + result.stderr  # 2: mypy itself failed
    return result.stdout.splitlines()


def test_mypy_knows_each_answers_model(tmp_path: Path) -> None:
    everything = CALLS + NOT_RUN
    sync = [f"    reveal_type({c.expr})" for c in everything]
    async_ = [f"    _ = reveal_type({c.expr})" for c in everything]  # not awaited: a coroutine
    async_ += [f"    reveal_type(await {c.expr})" for c in everything if not c.iterates]
    out = run_mypy(tmp_path, PROGRAM.format(sync="\n".join(sync), async_="\n".join(async_)))
    revealed = [m.group(1) for line in out if (m := re.search(r'Revealed type is "(.*)"', line))]
    assert revealed == [
        *(expected(c, "sync") for c in everything),
        *(expected(c, "async") for c in everything),
        *(expected(c, "sync") for c in everything if not c.iterates),
    ], "\n".join(out)
    assert not [line for line in out if ": error:" in line]
    assert "zoomlive.api.wire.Webinar" in revealed and "zoomlive.api.wire.Meeting" in revealed


MISUSES = {
    "client.webinars.get(1).no_such_field": '"Webinar" has no attribute "no_such_field"',
    "client.meetings.get(1).no_such_field": '"Meeting" has no attribute "no_such_field"',
    "client.users.get().no_such_field": '"UserInfo" has no attribute "no_such_field"',
    "client.webinars.livestream.get(1).stream_keys": '"LiveStreamDetails" has no attribute',
    "client.webinars.page().meetings": '"WebinarList" has no attribute "meetings"',
    "meeting: Meeting = client.webinars.get(1)": 'expression has type "Webinar"',
    "client.webinars.delete(1).id": '"None" has no attribute "id"',
    "client.webinars.get(1, 2)": "Too many arguments",
    "client.webinars.livestream.stop(1, forms=True)": 'Unexpected keyword argument "forms"',
    "aclient.webinars.get(1).topic": '"Coroutine[Any, Any, Webinar]" has no attribute "topic"',
    "(await aclient.webinars.get(1)).no_such_field": '"Webinar" has no attribute',
    "[m.no_such_field async for m in aclient.meetings.list()]": '"MeetingListItem" has no',
    "client.meetings.panelists": 'has no attribute "panelists"',
    "client.webinars.registrants.get(1, 'r').no_such_field": '"Registrant" has no attribute',
    "(await aclient.users.token()).expire_in": '"UserToken" has no attribute "expire_in"',
}


def test_misuse_is_a_mypy_error(tmp_path: Path) -> None:
    lines = "\n".join(f"    {misuse}" for misuse in MISUSES)
    program = (
        "from zoomlive import AsyncZoomClient, ZoomClient\n"
        "from zoomlive.api.wire import Meeting\n\n\n"
        "async def misuse(client: ZoomClient, aclient: AsyncZoomClient) -> None:\n"
        f"{lines}\n"
    )
    out = run_mypy(tmp_path, program)
    errors = {
        int(m.group(1)): line for line in out if (m := re.match(r"user\.py:(\d+): error", line))
    }
    for line_no, (misuse, message) in enumerate(MISUSES.items(), start=6):
        assert message in errors.get(line_no, ""), (misuse, out)


def test_each_builders_type_is_the_catalogs_model() -> None:
    """The type a call is declared with (``PreparedCall[Webinar]``) is the model the client
    validates its answer with (the catalog's ``response_model``)."""
    hints = typing.get_type_hints(_resources)
    checked = 0
    for const in ("WEBINARS", "MEETINGS"):
        calls = getattr(_resources, const)
        bound = dict(
            zip(_resources.SessionCalls.__parameters__, typing.get_args(hints[const]), strict=True)
        )
        built = {
            "create": calls.create("me", {"topic": "T"}),
            "get": calls.get(1),
            "update": calls.update(1, {"agenda": "A"}),
            "delete": calls.delete(1),
            "end": calls.end(1),
            "page": calls.page("me", type="scheduled", page_size=1, next_page_token=None),
        }
        live = calls.livestream
        built_live = {
            "get": live.get(1),
            "update": live.update(1, stream_url="rtmp://x/l", stream_key="k", page_url="https://x"),
            "start": live.start(1),
            "stop": live.stop(1),
        }
        regs = calls.registrants
        built_regs = {
            "create": regs.create(1, {"email": "a@example.org", "first_name": "A"}),
            "batch": regs.batch(1, [{"email": "a@example.org", "first_name": "A"}]),
            "page": regs.page(1, status="approved", page_size=1, next_page_token=None),
            "get": regs.get(1, "r"),
            "update_status": regs.update_status(1, "approve", ["r"]),
            "delete": regs.delete(1, "r"),
            "questions": regs.questions(1),
            "update_questions": regs.update_questions(1, questions=[]),
        }
        built_live["join_token"] = live.join_token(1)
        for owner, made in (
            (_resources.SessionCalls, built),
            (_resources.LiveStreamCalls, built_live),
            (_resources.RegistrantCalls, built_regs),
        ):
            for method, call in made.items():
                [declared] = typing.get_args(
                    typing.get_type_hints(getattr(owner, method))["return"]
                )
                declared = bound.get(declared, declared)
                model = BY_ID[call.operation_id].response_model
                assert declared is (model or type(None)), (const, method)
                checked += 1
    users, panelists = _resources.USERS, _resources.PANELISTS
    others = {
        (_resources.UserCalls, "get"): users.get("me"),
        (_resources.UserCalls, "page"): users.page(
            status="active", page_size=1, next_page_token=None
        ),
        (_resources.UserCalls, "create"): users.create("create", {"email": "a@example.org"}),
        (_resources.UserCalls, "update"): users.update("me", {}),
        (_resources.UserCalls, "delete"): users.delete("u", {}),
        (_resources.UserCalls, "settings"): users.settings("me"),
        (_resources.UserCalls, "update_settings"): users.update_settings("me", {}),
        (_resources.UserCalls, "token"): users.token("me", "zak", None),
        (_resources.PanelistCalls, "list"): panelists.list(1),
        (_resources.PanelistCalls, "add"): panelists.add(1, [{"name": "P", "email": "p@x.org"}]),
        (_resources.PanelistCalls, "delete"): panelists.delete(1, "p"),
        (_resources.PanelistCalls, "delete_all"): panelists.delete_all(1),
    }
    for (owner, method), call in others.items():
        [declared] = typing.get_args(typing.get_type_hints(getattr(owner, method))["return"])
        assert declared is (BY_ID[call.operation_id].response_model or type(None)), method
        checked += 1
    assert BY_ID[users.get("me").operation_id].response_model is w.UserInfo
    assert checked == 2 * (6 + 5 + 8) + 12


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest, server: Server) -> Iterator[Both]:
    assert httpx.post(server.url + "/_emulator/reset", json={"demo": True}).status_code == 200
    both = Both(request.param, server.url)
    yield both
    both.close()


def test_each_call_returns_its_typed_model(sdk: Both) -> None:
    scope: dict[str, Any] = {"client": sdk.client, "live_id": DEMO_WEBINAR}
    for call in CALLS:
        value = eval(call.expr, {}, scope)  # the very expression mypy typed above
        if call.iterates:
            items = sdk.collect(value)
            assert items and all(type(item) is call.answer for item in items), call.expr
            continue
        answer = sdk.run(value)
        if call.answer is None:
            assert answer is None, call.expr
        else:
            assert type(answer) is call.answer, call.expr
        if call.expr.startswith("client.webinars.create"):
            scope["webinar_id"] = answer.id
        if call.expr.startswith("client.meetings.create"):
            scope["meeting_id"] = answer.id
        if ".registrants.create" in call.expr:
            scope["registrant_id"] = answer.registrant_id
        if call.expr.startswith("client.webinars.panelists.list"):
            scope["panelist_id"] = answer.panelists[0].id
        if call.expr.startswith("client.users.create"):
            scope["user_id"] = answer.id


def test_the_package_says_it_is_typed() -> None:
    """PEP 561: without ``py.typed`` an installed zoomlive is ``Any`` to a user's mypy (hatch puts
    every file of the package in the wheel)."""
    assert (Path(zoomlive.__file__).parent / "py.typed").is_file()
