"""Retries that cannot duplicate, against the emulator: in process (Starlette's ``TestClient``
for ``ZoomClient``, httpx's ``ASGITransport`` for ``AsyncZoomClient``) and over real HTTP (the
session's ``zoomlive serve``), every test for both clients.

The emulator's ``drop_after`` fault commits a request and then closes the connection without its
answer, the failure that made the SDK create a webinar twice: a create is not sent again
(``AmbiguousResultError``), an idempotent call is, and a live-stream start or stop sent again
finds the stream as asked and counts as done. The decision logic alone, on every failure kind,
is in ``test_sdk_transport.py``."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

import zoomlive
from tests.conftest import DEMO_WEBINAR, Server
from tests.support.sdk import Both
from zoomlive.emulator import Settings, create_app
from zoomlive.testing import Control

STREAM = {
    "stream_url": "rtmp://127.0.0.1:1935/live",
    "stream_key": "k",
    "page_url": "https://example.com/live",
}
FAST = {"retry_wait_scale": 0.05}  # backoff waits of a few tens of milliseconds


class Emulator:
    """One emulator, in process or ``zoomlive serve``, through its control API."""

    def __init__(self, where: str, url: str, http: httpx.Client, app: Any = None) -> None:
        self.where = where
        self.url = url
        self.http = http
        self.app = app

    def sdk(self, kind: str, **options: Any) -> Both:
        """A ``ZoomClient`` or ``AsyncZoomClient`` on this emulator (demo credentials)."""
        if self.where == "socket":
            return Both(kind, self.url, **options)
        if kind == "sync":
            return Both(kind, self.url, http_client=self.http, **options)
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app))
        both = Both(kind, self.url, http_client=http, **options)
        both.client._own_http = True  # closed with the client
        return both

    def control(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, "/_emulator" + path, **kwargs)
        assert response.status_code < 300, response.text
        return response.json() if response.content else None

    def fault(self, kind: str, operation: str, **fields: Any) -> None:
        self.control("POST", "/faults", json={"kind": kind, "operation": operation, **fields})

    def faulted(self) -> list[str]:
        """The operations faulted so far, in order."""
        return [entry["operation"] for entry in self.control("GET", "/faults")["log"]]

    def topics(self, plural: str = "webinars") -> list[str]:
        return [session["topic"] for session in self.control("GET", "/state")[plural]]

    def stream(self, session_id: int, kind: str = "webinar") -> dict[str, Any]:
        data: dict[str, Any] = self.control("GET", f"/{kind}s/{session_id}/livestream")
        return data

    def started_meeting(self) -> int:
        """A running meeting of the demo host with its live stream configured."""
        body = {"host": "host@example.com", "topic": "Town hall", "livestream": STREAM}
        meeting = self.control("POST", "/accounts/demo-account/meetings", json=body)
        self.control("POST", f"/meetings/{meeting['id']}/start")
        return int(meeting["id"])


def transitions(stream: dict[str, Any], to: str) -> int:
    """How many times the stream's event log shows it going to ``to``."""
    return sum(1 for event in stream["events"] if event["to"] == to)


@pytest.fixture(params=["inprocess", "socket"])
def emulator(request: pytest.FixtureRequest) -> Iterator[Emulator]:
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
        emu.control("DELETE", "/faults")


@pytest.fixture(params=["sync", "async"])
def sdk_kind(request: pytest.FixtureRequest) -> str:
    kind: str = request.param
    return kind


@pytest.fixture
def make(emulator: Emulator, sdk_kind: str) -> Iterator[Callable[..., Both]]:
    """``make(**options)``: an SDK client of the test's kind on the test's emulator."""
    made: list[Both] = []

    def new(**options: Any) -> Both:
        both = emulator.sdk(sdk_kind, **options)
        made.append(both)
        return both

    yield new
    for both in made:
        both.close()


# (a) a create whose answer was lost is not sent again ------------------------------------------


@pytest.mark.parametrize("plural", ["webinars", "meetings"])
def test_a_create_whose_answer_is_lost_is_raised_not_sent_again(
    emulator: Emulator, make: Callable[..., Both], plural: str
) -> None:
    operation = {"webinars": "webinarCreate", "meetings": "meetingCreate"}[plural]
    emulator.fault("drop_after", operation, count=1)
    sdk = make(**FAST)
    with pytest.raises(zoomlive.AmbiguousResultError) as caught:
        sdk.run(getattr(sdk.client, plural).create(topic="Q3 earnings"))
    assert emulator.topics(plural).count("Q3 earnings") == 1  # made once, not twice
    assert emulator.faulted() == [operation]
    err = caught.value
    assert isinstance(err, zoomlive.APIConnectionError)
    assert err.message.startswith(f"no answer to POST {emulator.url}/v2/users/me/{plural} (")
    assert "may have taken effect" in err.message
    assert err.hint == (
        f"the {plural[:-1]} may have been created all the same: look for it in "
        f"client.{plural}.list('me') before creating it again"
    )
    assert str(err) == f"{err.message} ({err.hint})"
    # The hint's check finds it.
    listed = sdk.collect(getattr(sdk.client, plural).list("me"))
    assert [item.topic for item in listed].count("Q3 earnings") == 1


# (b) a read, or an idempotent change, whose answer was lost is sent again ----------------------


def test_a_read_whose_answer_is_lost_is_sent_again(
    emulator: Emulator, make: Callable[..., Both]
) -> None:
    emulator.fault("drop_after", "webinar", count=1)
    sdk = make(**FAST)
    assert sdk.run(sdk.client.webinars.get(DEMO_WEBINAR)).id == DEMO_WEBINAR
    assert emulator.faulted() == ["webinar"]


def test_an_idempotent_change_whose_answer_is_lost_is_sent_again(
    emulator: Emulator, make: Callable[..., Both]
) -> None:
    emulator.fault("drop_after", "webinarLiveStreamUpdate", count=1)
    sdk = make(**FAST)
    live = sdk.client.webinars.livestream
    assert sdk.run(live.update(DEMO_WEBINAR, **{**STREAM, "stream_key": "sent-twice"})) is None
    assert sdk.run(live.get(DEMO_WEBINAR)).stream_key == "sent-twice"
    assert emulator.faulted() == ["webinarLiveStreamUpdate"]


def test_a_delete_sent_again_that_finds_it_gone_succeeded(
    emulator: Emulator, make: Callable[..., Both]
) -> None:
    sdk = make(**FAST)
    made = sdk.run(sdk.client.webinars.create(topic="to delete"))
    emulator.fault("drop_after", "webinarDelete", count=1)
    assert sdk.run(sdk.client.webinars.delete(made.id)) is None  # the resend's 3001: done
    assert "to delete" not in emulator.topics()
    assert emulator.faulted() == ["webinarDelete"]
    with pytest.raises(zoomlive.NotFoundError):  # without a lost answer, 3001 is an error
        sdk.run(sdk.client.webinars.delete(made.id))


# (c) a connection refused before sending is tried again, a create included -------------------


class LateListener:
    """A 127.0.0.1 port that refuses connections (bound, not listening) until :meth:`open`,
    then forwards each connection to ``target``."""

    def __init__(self, target: str) -> None:
        host, port = httpx.URL(target).host, httpx.URL(target).port
        assert port is not None
        self.target = (host, port)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.listening = False
        self.threads: list[threading.Thread] = []

    def open(self) -> None:
        if self.listening:
            return
        self.listening = True
        self.sock.listen()
        self._spawn(self._accept)

    def _spawn(self, target: Callable[..., None], *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        self.threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return  # closed
            upstream = socket.create_connection(self.target)
            self._spawn(self._pump, conn, upstream)
            self._spawn(self._pump, upstream, conn)

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()

    def close(self) -> None:
        self.sock.close()


def test_a_refused_connection_is_tried_again_even_for_a_create(
    server: Server, sdk_kind: str
) -> None:
    """Over real sockets only: in process there is no connection to refuse."""
    assert httpx.post(server.url + "/_emulator/reset", json={"demo": True}).status_code == 200
    late = LateListener(server.url)
    seen: list[str] = []

    def on_request(request: httpx.Request) -> None:
        if str(request.url).startswith(late.url):  # not the token request
            seen.append(f"{request.method} {request.url.path}")
            if len(seen) > 1:
                late.open()  # from the second try on, the port answers

    async def on_request_async(request: httpx.Request) -> None:
        on_request(request)

    http: Any = (
        httpx.AsyncClient(event_hooks={"request": [on_request_async]})
        if sdk_kind == "async"
        else httpx.Client(event_hooks={"request": [on_request]})
    )
    # Tokens from the emulator itself; the API through the port that refuses at first.
    sdk = Both(sdk_kind, server.url, base_url=late.url + "/v2", http_client=http, **FAST)
    sdk.client._own_http = True
    try:
        made = sdk.run(sdk.client.webinars.create(topic="after a refusal"))
        assert made.topic == "after a refusal"
    finally:
        sdk.close()
        late.close()
    assert seen == ["POST /v2/users/me/webinars"] * 2  # refused, then sent
    topics = [w["topic"] for w in httpx.get(server.url + "/_emulator/state").json()["webinars"]]
    assert topics.count("after a refusal") == 1


# (d) a 429 is tried again, waiting as told, a create included ----------------------------------


def test_a_429_is_tried_again_after_the_rate_limit_reset(
    emulator: Emulator, make: Callable[..., Both]
) -> None:
    # The emulator's clock runs 1.5 s ahead and stands still: the 429's X-RateLimit-Reset (the
    # end of its one-second window) is 1.5 to 2.5 s away, far more than a backoff would wait.
    emulator.control("POST", "/clock", json={"advance_seconds": 1.5})
    emulator.control("POST", "/clock", json={"freeze": True})
    emulator.fault("error", "webinarCreate", status=429, count=1)
    sdk = make()
    started = time.monotonic()
    made = sdk.run(sdk.client.webinars.create(topic="after a 429"))
    waited = time.monotonic() - started
    assert made.topic == "after a 429"
    assert emulator.topics().count("after a 429") == 1
    assert emulator.faulted() == ["webinarCreate"]
    assert 1.2 <= waited < 10, waited
    emulator.control("POST", "/clock", json={"freeze": False})


# (e) a live-stream start or stop sent again finds the stream as asked --------------------------


@pytest.mark.parametrize("form", [False, True])
def test_a_start_and_a_stop_whose_answers_are_lost_succeed_and_change_the_stream_once(
    emulator: Emulator, make: Callable[..., Both], form: bool
) -> None:
    sdk = make(**FAST)
    live = sdk.client.webinars.livestream
    emulator.fault("drop_after", "webinarLiveStreamStatusUpdate", count=1)
    assert sdk.run(live.start(DEMO_WEBINAR, display_name="Q3", form=form)) is None
    stream = emulator.stream(DEMO_WEBINAR)
    assert stream["state"] in ("starting", "live")
    assert transitions(stream, "starting") == 1
    assert stream["settings"]["display_name"] == "Q3"
    emulator.fault("drop_after", "webinarLiveStreamStatusUpdate", count=1)
    assert sdk.run(live.stop(DEMO_WEBINAR, form=form)) is None
    stream = emulator.stream(DEMO_WEBINAR)
    assert stream["state"] == "stopped"
    assert transitions(stream, "starting") == 1 and transitions(stream, "stopped") == 1
    assert emulator.faulted() == ["webinarLiveStreamStatusUpdate"] * 2


def test_a_meeting_start_whose_answer_is_lost_succeeds_despite_zooms_throttle(
    emulator: Emulator, make: Callable[..., Both]
) -> None:
    """Zoom refuses a meeting's live-stream start within 30 s of one it accepted (429): sent
    again after a lost answer, the start finds its own start throttled, and counts as done."""
    meeting = emulator.started_meeting()
    sdk = make(**FAST)
    live = sdk.client.meetings.livestream
    emulator.fault("drop_after", "meetingLiveStreamStatusUpdate", count=1)
    assert sdk.run(live.start(meeting, display_name="Town hall")) is None
    assert transitions(emulator.stream(meeting, "meeting"), "starting") == 1
    emulator.fault("drop_after", "meetingLiveStreamStatusUpdate", count=1)
    assert sdk.run(live.stop(meeting)) is None
    stream = emulator.stream(meeting, "meeting")
    assert stream["state"] == "stopped" and transitions(stream, "stopped") == 1
    # Without a lost answer the throttle is Zoom saying no, as before.
    with pytest.raises(zoomlive.RateLimitError) as caught:
        sdk.run(live.start(meeting))
    assert caught.value.message.startswith("Too many requests submitted to start the livestream")


# (f) a server error on a create is not tried again --------------------------------------------


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_on_a_create_is_raised_not_sent_again(
    emulator: Emulator, make: Callable[..., Both], status: int
) -> None:
    emulator.fault("error", "webinarCreate", status=status, count=2)
    sdk = make(**FAST)
    with pytest.raises(zoomlive.InternalServerError) as caught:
        sdk.run(sdk.client.webinars.create(topic="not made"))
    assert emulator.faulted() == ["webinarCreate"]  # one try; the rule's second firing is left
    assert caught.value.status_code == status
    assert caught.value.hint == (
        "not sent again; the webinar may have been created all the same: look for it in "
        "client.webinars.list('me') before creating it again"
    )
    # A read is sent again after the same error.
    emulator.control("DELETE", "/faults")
    emulator.fault("error", "webinar", status=status, count=1)
    assert sdk.run(sdk.client.webinars.get(DEMO_WEBINAR)).id == DEMO_WEBINAR


# the CLI ----------------------------------------------------------------------------------------


def test_the_cli_reports_a_lost_create_answer_in_one_line(server: Server) -> None:
    """Exit 4, not 3: a script that runs the command again on "unreachable" must not here."""
    control = Control(server.url)  # the testing kit's control client drives the fault
    try:
        control.reset()
        control.set_fault("drop_after", operation="webinarCreate", count=1)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ZOOM_")}
        done = subprocess.run(
            [sys.executable, "-m", "zoomlive", "webinar", "create", "--topic", "From the CLI"],
            capture_output=True,
            text=True,
            timeout=120,
            env={
                **env,
                "ZOOM_ACCOUNT_ID": "demo-account",
                "ZOOM_CLIENT_ID": "demo-client-id",
                "ZOOM_CLIENT_SECRET": "demo-client-secret",
                "ZOOM_API_BASE_URL": server.url + "/v2",
            },
        )
        assert done.returncode == 4, done.stderr
        assert done.stdout == ""
        assert done.stderr == (
            f"zoomlive: no answer to POST {server.url}/v2/users/me/webinars (Server disconnected "
            "without sending a response.): it was sent, so it may have taken effect, and it is "
            "not sent twice (the webinar may have been created all the same: look for it in "
            "`zoomlive webinar list --user me` before creating it again)\n"
        )
        topics = [w["topic"] for w in control.state()["webinars"]]
        assert topics.count("From the CLI") == 1
    finally:
        control.clear_faults()
        control.close()
