"""The SDK's own logic against ``httpx.MockTransport``, every test for ``ZoomClient`` and
``AsyncZoomClient``: the method and path of each call (the catalog's), retries of 429, 5xx and
connection errors (never of a create that may have taken effect), token renewal, and pacing
under the plan's rate limits.

Nothing here waits: the ``clock`` fixture fakes ``time.monotonic``, ``time.sleep`` and
``asyncio.sleep``, so a test reads the waits the client asked for instead of timing it."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

import zoomlive
from tests.support.sdk import Both, Handler
from zoomlive.api import wire as w

REAL_SLEEP = time.sleep
REAL_ASYNC_SLEEP = asyncio.sleep

Answer = httpx.Response | type[httpx.TransportError]


def token_answer(token: str = "t1", ttl: int = 3599) -> httpx.Response:
    return httpx.Response(
        200, json={"access_token": token, "token_type": "bearer", "expires_in": ttl, "scope": ""}
    )


def user_answer() -> httpx.Response:
    return httpx.Response(200, json={"id": "u", "email": "e@x.test"})


def error(
    status: int, code: int | None = None, headers: dict[str, str] | None = None
) -> httpx.Response:
    """Zoom's error body: ``{"code", "message"}``."""
    body = {"code": code or status, "message": f"error {status}"}
    return httpx.Response(status, json=body, headers=headers)


class FakeZoom:
    """Zoom behind a MockTransport: hands out tokens ``t1``, ``t2``..., records every API
    request, and answers them from a script (a response, or a transport error to raise), then
    with ``default()``."""

    def __init__(
        self, *script: Answer, default: Callable[[], httpx.Response] = user_answer
    ) -> None:
        self.script = list(script)
        self.default = default
        self.tokens = 0
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            self.tokens += 1
            return token_answer(f"t{self.tokens}")
        self.requests.append(request)
        answer = self.script.pop(0) if self.script else self.default()
        if isinstance(answer, type):
            raise answer("refused", request=request)
        return answer

    @property
    def calls(self) -> list[tuple[str, str]]:
        """``(method, path with query)`` of each API request."""
        return [(r.method, r.url.raw_path.decode()) for r in self.requests]

    @property
    def bearers(self) -> list[str]:
        return [r.headers["authorization"] for r in self.requests]


class Clock:
    """A fake monotonic clock: sleeping records the wait and moves the clock on. Only the
    test's own thread sleeps on it: another thread still running (an emulator an earlier test
    module serves in a thread) sleeps for real and is not counted."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []
        self.thread = threading.get_ident()

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        if threading.get_ident() != self.thread:
            REAL_SLEEP(seconds)
            return
        self.waits.append(seconds)
        self.now += seconds

    async def async_sleep(self, seconds: float) -> None:
        if threading.get_ident() != self.thread:
            await REAL_ASYNC_SLEEP(seconds)
            return
        self.sleep(seconds)
        await REAL_ASYNC_SLEEP(0)  # still a point where other tasks run


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(time, "monotonic", fake.monotonic)
    monkeypatch.setattr(time, "sleep", fake.sleep)
    monkeypatch.setattr(asyncio, "sleep", fake.async_sleep)
    return fake


class Maker:
    """``make(handler, **options)``: a client of ``kind`` on a MockTransport."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.made: list[Both] = []

    def __call__(self, handler: Handler, **options: Any) -> Both:
        both = Both.mocked(self.kind, handler, **options)
        self.made.append(both)
        return both


@pytest.fixture(params=["sync", "async"])
def make(request: pytest.FixtureRequest) -> Iterator[Maker]:
    """Clients on a MockTransport, sync and async (the test runs for both); closed after the
    test."""
    maker = Maker(request.param)
    yield maker
    for both in maker.made:
        both.close()


# Requests: the catalog's method and path ---------------------------------------------------


@pytest.mark.parametrize("plural", ["webinars", "meetings"])
def test_each_call_sends_the_catalogs_method_and_path(make: Maker, plural: str) -> None:
    zoom = FakeZoom(default=lambda: httpx.Response(204))
    sdk = make(zoom)
    sessions = getattr(sdk.client, plural)
    ls = sessions.livestream
    stream = {"stream_url": "rtmp://x/live", "stream_key": "k", "page_url": "https://x/p"}
    sdk.run(sessions.create(topic="T"))
    sdk.run(sessions.page())
    sdk.run(sessions.page("u@x.test", type="live", page_size=2, next_page_token="n"))
    sdk.run(sessions.get(7))
    sdk.run(sessions.update("7", agenda="A"))
    sdk.run(sessions.delete(7))
    sdk.run(sessions.end(7))
    sdk.run(ls.get(7))
    sdk.run(ls.update(7, **stream))
    sdk.run(ls.start(7, display_name="D"))
    sdk.run(ls.stop(7, form=True))
    sdk.run(sdk.client.users.get())
    sdk.run(sdk.client.users.get("u@x.test"))
    assert zoom.calls == [
        ("POST", f"/v2/users/me/{plural}"),
        ("GET", f"/v2/users/me/{plural}?type=scheduled&page_size=300"),
        ("GET", f"/v2/users/u@x.test/{plural}?type=live&page_size=2&next_page_token=n"),
        ("GET", f"/v2/{plural}/7"),
        ("PATCH", f"/v2/{plural}/7"),
        ("DELETE", f"/v2/{plural}/7"),
        ("PUT", f"/v2/{plural}/7/status"),
        ("GET", f"/v2/{plural}/7/livestream"),
        ("PATCH", f"/v2/{plural}/7/livestream"),
        ("PATCH", f"/v2/{plural}/7/livestream/status"),
        ("PATCH", f"/v2/{plural}/7/livestream/status"),
        ("GET", "/v2/users/me"),
        ("GET", "/v2/users/u@x.test"),
    ]
    bodies = [r.content for r in zoom.requests]
    assert bodies[0] == b'{"topic":"T"}' and bodies[4] == b'{"agenda":"A"}'
    assert bodies[6] == b'{"action":"end"}'
    assert bodies[9] == b'{"action":"start","settings":{"display_name":"D"}}'
    assert zoom.requests[10].headers["content-type"].startswith("multipart/form-data")
    assert b'name="action"\r\n\r\nstop' in bodies[10]
    with pytest.raises(ValueError, match="not an id"):
        sdk.run(sessions.get("7/livestream"))


def test_meeting_mode_and_its_body(make: Maker) -> None:
    zoom = FakeZoom(default=lambda: httpx.Response(204))
    sdk = make(zoom)
    assert sdk.run(sdk.client.meetings.livestream.mode(5, layout="gallery_view")) is None
    assert zoom.calls == [("PATCH", "/v2/meetings/5/livestream/status")]
    assert zoom.requests[0].content == b'{"action":"mode","settings":{"layout":"gallery_view"}}'
    with pytest.raises(ValueError, match="meeting live streams only"):
        sdk.run(sdk.client.webinars.livestream.mode(5, layout="gallery_view"))


def test_answers_come_back_as_models(make: Maker) -> None:
    details = {"stream_url": "rtmp://x/live", "stream_key": "k", "page_url": "https://x/p"}
    zoom = FakeZoom(httpx.Response(200, json=details), user_answer())
    sdk = make(zoom)
    got = sdk.run(sdk.client.webinars.livestream.get(7))
    assert isinstance(got, w.LiveStreamDetails) and got.stream_key == "k"
    assert sdk.run(sdk.client.users.get()).email == "e@x.test"


@pytest.mark.parametrize("plural", ["webinars", "meetings"])
def test_list_walks_every_page(make: Maker, plural: str) -> None:
    def page(ids: list[int], token: str) -> httpx.Response:
        items = [{"id": i, "uuid": f"u{i}", "host_id": "h"} for i in ids]
        body = {"page_size": 2, "total_records": 3, "next_page_token": token, plural: items}
        return httpx.Response(200, json=body)

    zoom = FakeZoom(page([1, 2], "next"), page([3], ""))
    sdk = make(zoom)
    listed = sdk.collect(getattr(sdk.client, plural).list(page_size=2))
    assert [item.id for item in listed] == [1, 2, 3]
    assert zoom.calls[1] == (
        "GET",
        f"/v2/users/me/{plural}?type=scheduled&page_size=2&next_page_token=next",
    )


# Retries -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("headers", "low", "high"),
    [
        ({"Retry-After": "2"}, 2.0, 2.0),
        ({"X-RateLimit-Reset": "RESET"}, 28.0, 30.0),  # a unix time, 30 s from now
        ({"Retry-After": "SOON"}, 28.0, 30.0),  # Zoom's ISO date-time, 30 s from now
    ],
)
def test_429_waits_as_told_then_succeeds(
    make: Maker, clock: Clock, headers: dict[str, str], low: float, high: float
) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=30)
    values = {"RESET": str(int(soon.timestamp())), "SOON": soon.isoformat()}
    headers = {name: values.get(value, value) for name, value in headers.items()}
    zoom = FakeZoom(error(429, headers=headers))
    sdk = make(zoom)
    assert sdk.run(sdk.client.users.get()).email == "e@x.test"
    assert len(zoom.requests) == 2 and zoom.tokens == 1
    assert len(clock.waits) == 1 and low <= clock.waits[0] <= high


def test_5xx_is_retried_with_backoff_then_succeeds(make: Maker, clock: Clock) -> None:
    zoom = FakeZoom(error(500), error(502), error(503))
    sdk = make(zoom)
    assert sdk.run(sdk.client.users.get()).email == "e@x.test"
    assert len(zoom.requests) == 4 and zoom.tokens == 1
    # Exponential backoff with +-25% jitter: 0.5 s, 1 s, 2 s.
    assert len(clock.waits) == 3
    for wait, base in zip(clock.waits, [0.5, 1.0, 2.0], strict=True):
        assert 0.75 * base <= wait <= 1.25 * base


def test_retry_wait_scale_shortens_every_wait(make: Maker, clock: Clock) -> None:
    sdk = make(FakeZoom(error(503), error(429, headers={"Retry-After": "4"})), retry_wait_scale=0.5)
    sdk.run(sdk.client.users.get())
    assert 0.75 * 0.25 <= clock.waits[0] <= 1.25 * 0.25 and clock.waits[1] == 2.0


@pytest.mark.parametrize(
    ("status", "raised"),
    [
        (500, zoomlive.InternalServerError),
        (503, zoomlive.InternalServerError),
        (429, zoomlive.RateLimitError),
    ],
)
def test_gives_up_after_max_retries(
    make: Maker, clock: Clock, status: int, raised: type[Exception]
) -> None:
    zoom = FakeZoom(default=lambda: error(status))
    sdk = make(zoom, max_retries=2)
    with pytest.raises(raised) as caught:
        sdk.run(sdk.client.users.get())
    assert isinstance(caught.value, zoomlive.ZoomAPIError)
    assert caught.value.status_code == status
    assert len(zoom.requests) == 3 and len(clock.waits) == 2


def test_a_400_is_never_retried(make: Maker, clock: Clock) -> None:
    invalid = httpx.Response(
        400,
        json={
            "code": 300,
            "message": "Validation Failed.",
            "errors": [{"field": "a", "message": "Invalid field."}],
        },
    )
    zoom = FakeZoom(invalid)
    sdk = make(zoom)
    with pytest.raises(zoomlive.BadRequestError) as caught:
        sdk.run(sdk.client.webinars.livestream.stop(1))
    assert caught.value.errors[0].field == "a"
    assert len(zoom.requests) == 1 and clock.waits == []


def test_a_daily_limit_is_raised_not_waited_for(make: Maker, clock: Clock) -> None:
    zoom = FakeZoom(error(429, headers={"Retry-After": "2099-01-01T00:00:00Z"}))
    sdk = make(zoom)
    with pytest.raises(zoomlive.RateLimitError):
        sdk.run(sdk.client.users.get())
    assert len(zoom.requests) == 1 and clock.waits == []


def test_connection_errors_are_retried_then_succeed(make: Maker, clock: Clock) -> None:
    zoom = FakeZoom(httpx.ConnectError, httpx.ReadTimeout)
    sdk = make(zoom)
    assert sdk.run(sdk.client.users.get()).email == "e@x.test"
    assert len(zoom.requests) == 3 and len(clock.waits) == 2


@pytest.mark.parametrize(
    ("failure", "raised"),
    [
        (httpx.ConnectError, zoomlive.APIConnectionError),
        (httpx.ReadTimeout, zoomlive.APITimeoutError),
    ],
)
def test_connection_errors_give_up_after_max_retries(
    make: Maker,
    clock: Clock,
    failure: type[httpx.TransportError],
    raised: type[Exception],
) -> None:
    zoom = FakeZoom(failure, failure, failure)
    sdk = make(zoom, max_retries=2)
    with pytest.raises(raised) as caught:
        sdk.run(sdk.client.users.get())
    assert type(caught.value) is raised  # "never arrived": not a ZoomAPIError
    assert str(caught.value).endswith("/v2/users/me: refused")
    assert len(zoom.requests) == 3 and len(clock.waits) == 2


# What is sent again: never a create that may have taken effect -----------------------------

SENT_THEN_LOST = [
    httpx.ReadTimeout,
    httpx.WriteTimeout,
    httpx.ReadError,
    httpx.WriteError,
    httpx.RemoteProtocolError,
]
NEVER_SENT = [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout]


def created() -> httpx.Response:
    return httpx.Response(201, json={"id": 9, "uuid": "u9", "host_id": "h", "topic": "T"})


@pytest.mark.parametrize("failure", SENT_THEN_LOST)
@pytest.mark.parametrize("plural", ["webinars", "meetings"])
def test_a_create_whose_answer_is_lost_is_raised_not_sent_again(
    make: Maker, clock: Clock, failure: type[httpx.TransportError], plural: str
) -> None:
    zoom = FakeZoom(failure, default=created)
    sdk = make(zoom)
    with pytest.raises(zoomlive.AmbiguousResultError) as caught:
        sdk.run(getattr(sdk.client, plural).create("u@x.test", topic="T"))
    assert len(zoom.requests) == 1 and clock.waits == []
    err = caught.value
    timed_out = " in time" if issubclass(failure, httpx.TimeoutException) else ""
    assert err.message == (
        f"no answer{timed_out} to POST http://zoom.test/v2/users/u@x.test/{plural} (refused): "
        "it was sent, so it may have taken effect, and it is not sent twice"
    )
    assert err.hint == (
        f"the {plural[:-1]} may have been created all the same: look for it in "
        f"client.{plural}.list('u@x.test') before creating it again"
    )
    assert isinstance(err.__cause__, failure) and err.request is zoom.requests[0]


@pytest.mark.parametrize("failure", NEVER_SENT)
def test_a_create_that_never_left_is_sent_again(
    make: Maker, clock: Clock, failure: type[httpx.TransportError]
) -> None:
    zoom = FakeZoom(failure, failure, default=created)
    sdk = make(zoom)
    assert sdk.run(sdk.client.webinars.create(topic="T")).id == 9
    assert len(zoom.requests) == 3 and len(clock.waits) == 2


def test_a_create_is_sent_again_after_a_429(make: Maker, clock: Clock) -> None:
    zoom = FakeZoom(error(429, headers={"Retry-After": "1"}), default=created)
    sdk = make(zoom)
    assert sdk.run(sdk.client.webinars.create(topic="T")).id == 9
    assert len(zoom.requests) == 2 and clock.waits == [1.0]


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_a_server_error_on_a_create_is_raised_not_sent_again(
    make: Maker, clock: Clock, status: int
) -> None:
    zoom = FakeZoom(error(status, headers={"Retry-After": "1"}), default=created)
    sdk = make(zoom)
    with pytest.raises(zoomlive.InternalServerError) as caught:
        sdk.run(sdk.client.meetings.create(topic="T"))
    assert len(zoom.requests) == 1 and clock.waits == []
    assert caught.value.hint == (
        "not sent again; the meeting may have been created all the same: look for it in "
        "client.meetings.list('me') before creating it again"
    )


def idempotent_calls(sdk: Both) -> list[Callable[[], Any]]:
    """Every call but the creates: each is sent again after a lost answer."""
    w, m = sdk.client.webinars, sdk.client.meetings
    stream = {"stream_url": "rtmp://x/live", "stream_key": "k", "page_url": "https://x/p"}
    return [
        lambda: sdk.client.users.get(),
        lambda: w.page(),
        lambda: w.get(7),
        lambda: w.update(7, agenda="A"),
        lambda: w.delete(7),
        lambda: w.end(7),
        lambda: w.livestream.get(7),
        lambda: w.livestream.update(7, **stream),
        lambda: w.livestream.start(7, display_name="D"),
        lambda: w.livestream.stop(7, form=True),
        lambda: m.livestream.mode(7, layout="gallery_view"),
        lambda: m.end(7),
    ]


@pytest.mark.parametrize("failure", [httpx.RemoteProtocolError, httpx.ReadTimeout])
def test_every_other_call_is_sent_again_after_a_lost_answer(
    make: Maker, clock: Clock, failure: type[httpx.TransportError]
) -> None:
    for index in range(len(idempotent_calls(make(FakeZoom())))):
        zoom = FakeZoom(failure, error(503), default=lambda: httpx.Response(204))
        sdk = make(zoom)
        assert sdk.run(idempotent_calls(sdk)[index]()) is None
        assert len(zoom.requests) == 3
        assert len({r.url for r in zoom.requests}) == 1


def test_the_catalog_marks_exactly_the_creates_as_not_idempotent() -> None:
    from zoomlive.api.catalog import OPERATIONS

    not_idempotent = {op.operation_id for op in OPERATIONS if not op.idempotent}
    assert {"webinarCreate", "meetingCreate", "webinarRegistrantCreate"} <= not_idempotent
    # each POST makes another object (a webinar, a registrant, an invite link...); nothing else
    assert not_idempotent == {op.operation_id for op in OPERATIONS if op.method == "POST"}


@pytest.mark.parametrize("plural", ["webinars", "meetings"])
def test_a_delete_sent_again_that_finds_it_gone_succeeded(
    make: Maker, clock: Clock, plural: str
) -> None:
    gone = error(404, 3001)
    zoom = FakeZoom(httpx.RemoteProtocolError, gone, gone)
    sdk = make(zoom)
    assert sdk.run(getattr(sdk.client, plural).delete(7)) is None
    assert len(zoom.requests) == 2
    # A 3001 to a first try is Zoom's word: no such webinar.
    with pytest.raises(zoomlive.NotFoundError):
        sdk.run(getattr(sdk.client, plural).delete(7))
    # After a 5xx, too, the resend's 3001 means the first try deleted it.
    zoom.script = [error(500), gone]
    assert sdk.run(getattr(sdk.client, plural).delete(7)) is None


def throttled() -> httpx.Response:
    """Zoom's answer to a meeting's live-stream start within 30 s of the last one."""
    message = (
        "Too many requests submitted to start the livestream of this meeting: 7. "
        "If the livestream has not already started, retry making a new request after 30 seconds."
    )
    return httpx.Response(429, json={"code": 429, "message": message})


def test_a_meeting_start_sent_again_that_is_throttled_succeeded(make: Maker, clock: Clock) -> None:
    """Zoom throttles a start within 30 s of one it accepted: after a lost answer, ours."""
    zoom = FakeZoom(httpx.ReadTimeout, throttled())
    sdk = make(zoom)
    assert sdk.run(sdk.client.meetings.livestream.start(7)) is None
    assert len(zoom.requests) == 2 and len(clock.waits) == 1
    # Without a lost answer, the throttle is a 429 like any other: waited on, then raised.
    zoom.script = [throttled() for _ in range(4)]
    with pytest.raises(zoomlive.RateLimitError):
        sdk.run(sdk.client.meetings.livestream.start(7))
    # After a lost answer, a per-second 429 is still only waited on.
    zoom.script = [httpx.ReadTimeout, error(429, headers={"Retry-After": "1"})]
    assert sdk.run(sdk.client.meetings.livestream.start(7)) is None
    assert len(zoom.requests) == 2 + 4 + 3


# Tokens ------------------------------------------------------------------------------------


def test_an_expired_token_is_renewed_once(make: Maker, clock: Clock) -> None:
    zoom = FakeZoom(error(401, 124))
    sdk = make(zoom)
    assert sdk.run(sdk.client.users.get()).email == "e@x.test"
    assert zoom.tokens == 2  # the first token, and one renewal
    assert zoom.bearers == ["Bearer t1", "Bearer t2"]
    assert clock.waits == []


def test_a_token_refused_after_renewal_is_raised(make: Maker) -> None:
    zoom = FakeZoom(default=lambda: error(401, 124))
    sdk = make(zoom)
    with pytest.raises(zoomlive.AuthenticationError) as caught:
        sdk.run(sdk.client.users.get())
    assert caught.value.code == 124
    assert zoom.tokens == 2 and zoom.bearers == ["Bearer t1", "Bearer t2"]


def test_a_static_token_is_used_as_is_and_never_renewed(make: Maker) -> None:
    zoom = FakeZoom(user_answer(), error(401, 124))
    sdk = make(zoom, token="static-token")
    sdk.run(sdk.client.users.get())
    with pytest.raises(zoomlive.AuthenticationError):
        sdk.run(sdk.client.users.get())
    assert zoom.tokens == 0 and zoom.bearers == ["Bearer static-token"] * 2


def test_one_token_fetch_for_many_concurrent_calls(make: Maker) -> None:
    # The token answer is slow, so every call is waiting for it; real sleeps, no clock.
    zoom = FakeZoom()

    def slow(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            REAL_SLEEP(0.05)
        return zoom(request)

    async def slow_async(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            await REAL_ASYNC_SLEEP(0.05)
        return zoom(request)

    sdk = make(slow_async if make.kind == "async" else slow)
    users = sdk.client.users
    assert len(sdk.run_all([users.get] * 16)) == 16
    assert zoom.tokens == 1 and len(zoom.requests) == 16


# Pacing ------------------------------------------------------------------------------------

LIGHT_FREE = 1 / (4 * 0.97)  # the free plan's Light limit, 4/s, paced just under
MEDIUM_FREE = 1 / (2 * 0.97)  # Medium, 2/s (listing)


def test_the_free_plan_paces_each_label_under_its_limit(make: Maker, clock: Clock) -> None:
    zoom = FakeZoom(default=lambda: httpx.Response(204))
    sdk = make(zoom, plan="free")
    for _ in range(5):
        sdk.run(sdk.client.users.get())
    assert clock.waits == pytest.approx([LIGHT_FREE] * 4)
    for _ in range(3):
        sdk.run(sdk.client.webinars.page())
    assert clock.waits[4:] == pytest.approx([MEDIUM_FREE] * 2)
    assert len(zoom.requests) == 8


def test_the_pace_is_learned_from_rate_limit_headers(make: Maker, clock: Clock) -> None:
    limit = {"X-RateLimit-Category": "Light", "X-RateLimit-Type": "QPS", "X-RateLimit-Limit": "10"}
    zoom = FakeZoom(default=lambda: httpx.Response(204, headers=limit))
    sdk = make(zoom)  # no plan: no pacing until Zoom says its limit
    for _ in range(4):
        sdk.run(sdk.client.users.get())
    assert sdk.client.pacer.rates["Light"] == 10
    assert clock.waits == pytest.approx([1 / (10 * 0.97)] * 2)


def test_pacing_can_be_turned_off(make: Maker, clock: Clock) -> None:
    sdk = make(FakeZoom(), plan="free", pace=False)
    for _ in range(5):
        sdk.run(sdk.client.users.get())
    assert sdk.client.pacer is None and clock.waits == []
