"""Fault injection through the control API: latency, Zoom's 500/503/429, dropped connections; per
operation or for all; always, a seeded fraction, or the next N. Every kind is observed by a real
httpx client over a socket (uvicorn in a thread), and in process through Starlette's TestClient.
"""

from __future__ import annotations

import concurrent.futures
import logging
import random
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import anyio
import httpx
import pytest
import uvicorn
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Api, get_token
from tests.support.helpers import free_port
from zoomlive import Settings, create_app
from zoomlive.emulator import faults as faults_module
from zoomlive.emulator.faults import (
    LOG_SIZE,
    ConnectionDropped,
    FaultInjector,
    FaultMiddleware,
    FaultRule,
)
from zoomlive.emulator.gateway import Gateway
from zoomlive.emulator.ratelimit import PER_SECOND_MESSAGE

WEBINAR = f"/v2/webinars/{DEMO_WEBINAR}"


# wiring --------------------------------------------------------------------------------------


def faulty_app() -> Gateway:
    """The emulator as ``create_app`` builds it: the fault middleware is always in, on the
    Starlette side (OAuth) and around the gateway's /v2 path."""
    app = create_app(Settings(db=":memory:", media="fake", rate_limits="off", seed=1))
    assert any(m.cls is FaultMiddleware for m in app.app.user_middleware)
    assert isinstance(app._faulted, FaultMiddleware)
    return app


def enable(app: Gateway) -> None:
    """After startup the control API finds the injector at ``env.faults``."""
    assert isinstance(app.state.env.faults, FaultInjector)


class ThreadServer:
    """The emulator (with faults) under uvicorn in a thread, on a real 127.0.0.1 socket."""

    def __init__(self) -> None:
        self.app = faulty_app()
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            log_config=None,  # uvicorn's records reach the root logger (and caplog)
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> ThreadServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.02)
        enable(self.app)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)


@pytest.fixture(scope="module")
def served() -> Iterator[ThreadServer]:
    srv = ThreadServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def real(served: ThreadServer) -> Iterator[Api]:
    """A real httpx client on a fresh demo emulator with no faults."""
    with httpx.Client(base_url=served.url, timeout=10) as http:
        assert http.delete("/_emulator/faults").status_code == 204
        assert http.post("/_emulator/reset", json={"demo": True}).status_code == 200
        yield Api(http, "socket")
        assert http.delete("/_emulator/faults").status_code == 204


@pytest.fixture
def inproc() -> Iterator[Api]:
    app = faulty_app()
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        enable(app)
        yield Api(client, "inprocess")


class Delays:
    """Stands in for ``anyio`` in the fault middleware and records every delay it applies
    (still waiting it out): a test sees the latency a request got, instead of timing it."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(anyio, name)

    async def sleep(self, seconds: float) -> None:
        self.seconds.append(seconds)
        await anyio.sleep(seconds)

    def take(self) -> list[float]:
        """The delays so far, forgotten."""
        taken, self.seconds = self.seconds, []
        return taken


@pytest.fixture
def delays(monkeypatch: pytest.MonkeyPatch) -> Delays:
    spy = Delays()
    monkeypatch.setattr(faults_module, "anyio", spy)
    return spy


def add(api: Api, **rule: Any) -> dict[str, Any]:
    response = api.control("POST", "/faults", json=rule)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def faults(api: Api) -> dict[str, Any]:
    response = api.control("GET", "/faults")
    assert response.status_code == 200
    data: dict[str, Any] = response.json()
    return data


# the control API -----------------------------------------------------------------------------


def test_rules_are_created_listed_and_deleted(inproc: Api) -> None:
    made = add(inproc, kind="error", status=503, operation="webinar", count=2)
    assert made == {
        "id": "fault-1",
        "kind": "error",
        "operation": "webinar",
        "latency_ms": None,
        "status": 503,
        "probability": 1.0,
        "count": 2,
        "seed": None,
        "applied": 0,
        "remaining": 2,
    }
    mine = add(inproc, id="slow-token", kind="latency", latency_ms=10, operation="oauthToken")
    assert mine["id"] == "slow-token"
    assert [r["id"] for r in faults(inproc)["rules"]] == ["fault-1", "slow-token"]
    assert inproc.control("DELETE", "/faults/fault-1").status_code == 204
    assert [r["id"] for r in faults(inproc)["rules"]] == ["slow-token"]
    assert inproc.control("DELETE", "/faults/fault-1").status_code == 404
    assert inproc.control("DELETE", "/faults").status_code == 204
    assert faults(inproc) == {"rules": [], "log": []}


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "explode"}, "kind"),
        ({"kind": "error"}, "status"),
        ({"kind": "error", "status": 404}, "status"),
        ({"kind": "error", "status": 500, "latency_ms": 5}, "latency_ms"),
        ({"kind": "latency"}, "latency_ms"),
        ({"kind": "latency", "latency_ms": 60_001}, "latency_ms"),
        ({"kind": "latency", "latency_ms": -1}, "latency_ms"),
        ({"kind": "drop", "status": 503}, "status"),
        ({"kind": "drop_after", "latency_ms": 5}, "latency_ms"),
        ({"kind": "drop", "operation": "noSuchOperation"}, "operation"),
        ({"kind": "drop", "probability": 1.5}, "probability"),
        ({"kind": "drop", "count": 0}, "count"),
        ({"kind": "drop", "id": "bad id!"}, "id"),
        ({"kind": "drop", "path": "/v2/users/me"}, "path"),
    ],
)
def test_bad_rules_are_refused_zoom_style(inproc: Api, rule: dict[str, Any], field: str) -> None:
    response = inproc.control("POST", "/faults", json=rule)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 300 and body["message"] == "Validation Failed."
    assert field in [e["field"] for e in body["errors"]]
    assert faults(inproc)["rules"] == []


def test_duplicate_ids_conflict(inproc: Api) -> None:
    add(inproc, id="x", kind="drop")
    response = inproc.control("POST", "/faults", json={"id": "x", "kind": "drop"})
    assert response.status_code == 409 and response.json()["code"] == 409
    not_json = inproc.control(
        "POST", "/faults", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert not_json.status_code == 400 and not_json.json()["code"] == 300


# each fault kind, seen by a real client -------------------------------------------------------


def test_latency_delays_the_request_then_it_runs_normally(real: Api, delays: Delays) -> None:
    add(real, kind="latency", latency_ms=300, operation="user")
    response = real.get("/v2/users/me")
    assert delays.take() == [0.3]
    assert response.status_code == 200 and response.json()["email"] == "host@example.com"

    add(real, kind="latency", latency_ms=300, operation="webinarCreate")
    made = real.post("/v2/users/me/webinars", json={"topic": "slow but made"})
    assert delays.take() == [0.3] and made.status_code == 201
    assert "slow but made" in [w["topic"] for w in real.state()["webinars"]]

    log = faults(real)["log"]
    assert [(e["kind"], e["operation"], e["latency_ms"]) for e in log] == [
        ("latency", "user", 300),
        ("latency", "webinarCreate", 300),
    ]
    assert log[0]["method"] == "GET" and log[0]["path"] == "/v2/users/me"


def test_a_client_that_times_out_still_had_its_request_handled(
    real: Api, caplog: pytest.LogCaptureFixture
) -> None:
    """As with a slow Zoom: the client gives up, the server finishes (a retry would duplicate)."""
    add(real, kind="latency", latency_ms=600, operation="webinarCreate", count=1)
    with pytest.raises(httpx.ReadTimeout):
        real.post("/v2/users/me/webinars", json={"topic": "made after all"}, timeout=0.2)
    deadline = time.monotonic() + 10
    while "made after all" not in [w["topic"] for w in real.state()["webinars"]]:
        assert time.monotonic() < deadline, "the delayed request was not handled"
        time.sleep(0.05)
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], [r.getMessage() for r in problems]


def test_latency_and_an_error_make_a_slow_error(real: Api, delays: Delays) -> None:
    add(real, kind="latency", latency_ms=200, operation="webinar")
    add(real, kind="error", status=503, operation="webinar")
    response = real.get(WEBINAR)
    assert delays.take() == [0.2] and response.status_code == 503


@pytest.mark.parametrize(
    ("status", "message"),
    [(500, "Internal server error."), (503, "Service Unavailable.")],
)
def test_server_errors_are_zoom_shaped(real: Api, status: int, message: str) -> None:
    add(real, kind="error", status=status, operation="webinar")
    response = real.get(WEBINAR)
    assert response.status_code == status
    assert response.json() == {"code": status, "message": message}
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    assert response.headers["x-zm-trackingid"].startswith("v=2.0;")
    entry = faults(real)["log"][-1]
    assert (entry["kind"], entry["status"], entry["operation"]) == ("error", status, "webinar")


def test_429_carries_zooms_per_second_body_and_headers(real: Api) -> None:
    clock = real.control("POST", "/clock", json={"freeze": True})  # the fixture's reset thaws it
    frozen = datetime.fromisoformat(clock.json()["now"])
    add(real, kind="error", status=429, operation="webinar")
    add(real, kind="error", status=429, operation="webinars")
    response = real.get(WEBINAR)
    assert response.status_code == 429
    assert response.json() == {"code": 429, "message": PER_SECOND_MESSAGE}
    headers = response.headers
    assert headers["x-ratelimit-category"] == "Light"
    assert headers["x-ratelimit-type"] == "QPS"
    assert headers["x-ratelimit-limit"] == "80"  # Business, Zoom's figure for Light
    assert headers["x-ratelimit-remaining"] == "0"
    # The end of the emulator clock's current one-second window (Light's window).
    assert int(headers["x-ratelimit-reset"]) == int(frozen.timestamp()) + 1
    assert headers["x-zm-trackingid"]
    medium = real.get("/v2/users/me/webinars")
    assert medium.status_code == 429
    assert medium.headers["x-ratelimit-category"] == "Medium"
    assert medium.headers["x-ratelimit-limit"] == "60"


def raw_exchange(url: str, request: bytes) -> bytes:
    """Send one raw HTTP request; everything the server sends before closing."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(request)
        received = b""
        while chunk := sock.recv(65536):
            received += chunk
        return received


def test_drop_closes_the_connection_without_a_byte(
    real: Api, served: ThreadServer, caplog: pytest.LogCaptureFixture
) -> None:
    add(real, kind="drop", operation="user")
    with pytest.raises(httpx.TransportError) as caught:
        real.get("/v2/users/me")
    assert not isinstance(caught.value, httpx.TimeoutException)
    raw = b"GET /v2/users/me HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    assert raw_exchange(served.url, raw) == b""
    requests = pytest.importorskip("requests")  # another client library, same story
    with pytest.raises(requests.ConnectionError):
        requests.get(served.url + "/v2/users/me", headers=real.auth, timeout=5)
    # The server is fine, and other operations are untouched.
    assert real.get(WEBINAR).status_code == 200
    assert [e["kind"] for e in faults(real)["log"]] == ["drop", "drop", "drop"]
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], [r.getMessage() for r in problems]


def test_drop_after_makes_the_change_then_closes_without_the_answer(
    real: Api, served: ThreadServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A network that loses the answer to a request that succeeded: the change is committed,
    the client gets no byte of the answer (a retry would duplicate)."""
    add(real, kind="drop_after", operation="webinarCreate", count=1)
    with pytest.raises(httpx.TransportError) as caught:
        real.post("/v2/users/me/webinars", json={"topic": "made, answer lost"})
    assert not isinstance(caught.value, httpx.TimeoutException)
    topics = [w["topic"] for w in real.state()["webinars"]]
    assert topics.count("made, answer lost") == 1
    add(real, kind="drop_after", operation="webinarLiveStreamUpdate", count=1)
    body = b'{"stream_url": "rtmp://127.0.0.1/live", "stream_key": "lost", "page_url": "https://x"}'
    raw = (
        f"PATCH {WEBINAR}/livestream HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
        f"Authorization: Bearer {real.token}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    assert raw_exchange(served.url, raw + body) == b""
    assert real.get(f"{WEBINAR}/livestream").json()["stream_key"] == "lost"
    assert [(e["kind"], e["operation"]) for e in faults(real)["log"]] == [
        ("drop_after", "webinarCreate"),
        ("drop_after", "webinarLiveStreamUpdate"),
    ]
    problems = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert problems == [], [r.getMessage() for r in problems]


def test_a_rule_targets_one_operation_only(real: Api) -> None:
    made = real.post("/v2/users/me/webinars", json={"topic": "t"})
    assert made.status_code == 201
    webinar = f"/v2/webinars/{made.json()['id']}"
    add(real, kind="error", status=503, operation="webinar")
    assert real.get(webinar).status_code == 503
    assert real.get(WEBINAR).status_code == 503
    assert real.get("/v2/users/me").status_code == 200
    assert real.get(f"{webinar}/livestream").status_code == 200  # same prefix, other operation
    assert real.patch(webinar, json={"topic": "renamed"}).status_code == 204  # same path
    assert real.get("/v2/meetings/1234567890").status_code == 404
    assert [e["operation"] for e in faults(real)["log"]] == ["webinar", "webinar"]


def test_a_rule_for_all_spares_the_control_api(real: Api) -> None:
    add(real, kind="drop")
    for call in (
        lambda: real.get("/v2/users/me"),
        lambda: real.get("/v2/no/such/path"),
        lambda: get_token(real.client),
    ):
        with pytest.raises(httpx.TransportError):
            call()
    assert real.control("GET", "/health").status_code == 200
    assert real.control("GET", "/state").status_code == 200
    assert real.client.get("/openapi.json").status_code == 200
    assert real.control("DELETE", "/faults").status_code == 204
    assert real.get("/v2/users/me").status_code == 200


def test_the_token_endpoint_can_be_faulted_alone(real: Api) -> None:
    add(real, kind="error", status=503, operation="oauthToken")
    refused = real.client.post(
        "/oauth/token",
        params={"grant_type": "account_credentials", "account_id": "demo-account"},
    )
    assert refused.status_code == 503 and refused.json()["code"] == 503
    assert real.get("/v2/users/me").status_code == 200  # tokens already issued still work


def outcomes(api: Api, n: int) -> list[bool]:
    """For n calls: was each one faulted (503)?"""
    answers = [api.get("/v2/users/me").status_code for _ in range(n)]
    assert set(answers) <= {200, 503}
    return [a == 503 for a in answers]


def test_probability_faults_a_seeded_fraction(real: Api) -> None:
    add(real, kind="error", status=503, operation="user", probability=0.5, seed=7)
    first = outcomes(real, 40)
    assert 0 < sum(first) < 40
    draws = random.Random(7)
    assert first == [draws.random() < 0.5 for _ in range(40)]
    assert faults(real)["rules"][0]["applied"] == sum(first)
    # The same rule again gives the same sequence.
    assert real.control("DELETE", "/faults").status_code == 204
    add(real, kind="error", status=503, operation="user", probability=0.5, seed=7)
    assert outcomes(real, 40) == first


def test_next_n_requests_then_normal(real: Api) -> None:
    made = add(real, kind="error", status=500, operation="user", count=3)
    answers = [real.get("/v2/users/me").status_code for _ in range(6)]
    assert answers == [500, 500, 500, 200, 200, 200]
    listed = faults(real)
    assert listed["rules"] == []  # expired
    assert [e["fault_id"] for e in listed["log"]] == [made["id"]] * 3


def test_next_n_is_exact_under_concurrent_requests(real: Api) -> None:
    add(real, kind="error", status=503, operation="user", count=5)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: real.get("/v2/users/me").status_code, range(24)))
    assert sorted(answers) == [200] * 19 + [503] * 5


def test_next_n_with_a_probability_counts_faulted_requests(real: Api) -> None:
    add(real, kind="error", status=503, operation="user", probability=0.5, count=4, seed=3)
    assert sum(outcomes(real, 40)) == 4
    assert faults(real)["rules"] == []


def test_faulted_requests_change_no_state(real: Api) -> None:
    before = real.state()
    create = ("/v2/users/me/webinars", {"topic": "must not exist"})
    add(real, kind="error", status=500, operation="webinarCreate", count=1)
    add(real, kind="error", status=503, operation="webinarCreate", count=1)
    add(real, kind="error", status=429, operation="webinarCreate", count=1)
    add(real, kind="drop", operation="webinarCreate", count=1)
    add(real, kind="error", status=503, operation="webinarDelete", count=1)
    add(real, kind="drop", operation="webinarLiveStreamUpdate", count=1)
    statuses = [real.post(create[0], json=create[1]).status_code for _ in range(3)]
    assert statuses == [500, 503, 429]
    with pytest.raises(httpx.TransportError):
        real.post(create[0], json=create[1])
    assert real.delete(WEBINAR).status_code == 503
    with pytest.raises(httpx.TransportError):
        real.patch(f"{WEBINAR}/livestream", json={"stream_url": "rtmp://127.0.0.1/x"})
    assert real.state() == before
    assert faults(real)["rules"] == []  # all spent: the next create goes through
    assert real.post(create[0], json=create[1]).status_code == 201
    assert real.state() != before


# in process (Starlette's TestClient) ---------------------------------------------------------


def test_every_kind_in_process(inproc: Api, delays: Delays) -> None:
    add(inproc, kind="latency", latency_ms=200, operation="user", count=1)
    assert inproc.get("/v2/users/me").status_code == 200
    assert delays.take() == [0.2]
    add(inproc, kind="error", status=429, operation="user", count=1)
    limited = inproc.get("/v2/users/me")
    assert limited.status_code == 429 and limited.json()["message"] == PER_SECOND_MESSAGE
    assert limited.headers["x-ratelimit-remaining"] == "0"
    add(inproc, kind="drop", operation="user", count=1)
    with pytest.raises(httpx.RemoteProtocolError) as caught:  # as httpx raises over a socket
        inproc.get("/v2/users/me")
    assert isinstance(caught.value, ConnectionDropped)
    assert inproc.get("/v2/users/me").status_code == 200
    add(inproc, kind="drop_after", operation="webinarCreate", count=1)
    with pytest.raises(httpx.RemoteProtocolError) as caught:
        inproc.post("/v2/users/me/webinars", json={"topic": "made in process"})
    assert isinstance(caught.value, ConnectionDropped)
    assert [w["topic"] for w in inproc.state()["webinars"]].count("made in process") == 1


# the injector --------------------------------------------------------------------------------


def test_the_log_keeps_the_last_200() -> None:
    injector = FaultInjector(seed=1)
    injector.add(FaultRule(kind="latency", latency_ms=0))
    for i in range(LOG_SIZE + 50):
        injector.decide("GET", f"/v2/users/u{i}")
    log = injector.log()
    assert len(log) == LOG_SIZE == 200
    assert log[0]["path"] == "/v2/users/u50" and log[-1]["path"] == "/v2/users/u249"
    assert set(log[0]) >= {"at", "fault_id", "kind", "method", "path"}


def test_the_emulator_seed_makes_draws_reproducible() -> None:
    def run(injector: FaultInjector) -> list[bool]:
        injector.add(FaultRule(kind="drop", probability=0.3))
        return [injector.decide("GET", "/v2/users/me") is not None for _ in range(50)]

    first = run(FaultInjector(seed=5))
    assert 0 < sum(first) < 50
    assert run(FaultInjector(seed=5)) == first
    again = FaultInjector(seed=5)
    run(again)
    again.clear()  # clearing restarts the seeded sequence
    assert run(again) == first


def test_only_zooms_surface_is_faulted() -> None:
    injector = FaultInjector()
    injector.add(FaultRule(kind="drop"))
    for path in ("/_emulator/state", "/_emulator/faults", "/openapi.json", "/v2x", "/"):
        assert injector.decide("GET", path) is None
    for method, path in (("GET", "/v2"), ("POST", "/oauth/token"), ("HEAD", "/v2/users/me")):
        assert injector.decide(method, path) is not None
    targeted = FaultInjector()
    targeted.add(FaultRule(kind="drop", operation="webinarLiveStreamStatusUpdate"))
    assert targeted.decide("PATCH", f"{WEBINAR}/livestream/status") is not None
    assert targeted.decide("PATCH", f"{WEBINAR}/livestream") is None
    assert targeted.decide("PUT", f"{WEBINAR}/livestream/status") is None
    assert targeted.decide("PATCH", f"{WEBINAR}/livestream/status/extra") is None


# ``zoomlive serve`` --------------------------------------------------------------------------


@pytest.mark.socket
def test_zoomlive_serve_injects_faults(live: Api) -> None:
    try:
        add(live, kind="error", status=503, operation="user", count=1)
        add(live, kind="drop", operation="user", count=1)
        assert live.get("/v2/users/me").status_code == 503
        with pytest.raises(httpx.TransportError):
            live.get("/v2/users/me")
        assert live.get("/v2/users/me").status_code == 200
    finally:
        assert live.control("DELETE", "/faults").status_code == 204
