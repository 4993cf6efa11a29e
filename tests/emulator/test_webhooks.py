"""Webhooks to a real receiver on 127.0.0.1 that checks Zoom's signature scheme with its own
implementation: URL validation, events, retries on Zoom's (scaled) schedule, and an outbox
that survives a restart."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import select
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Api, Server, get_token
from tests.support.helpers import SECRET, WebhookReceiver
from zoomlive import Settings, create_app
from zoomlive.emulator.store import open_store


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    endpoint = WebhookReceiver(SECRET)
    yield endpoint
    endpoint.close()


def subscribe(
    api: Api, url: str, events: list[str] | None = None, client_id: str = "demo-client-id"
) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "secret_token": SECRET}
    if events is not None:
        body["events"] = events
    response = api.control("PUT", f"/apps/{client_id}/webhook", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_url_validation_and_signed_events(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(webhook_time_scale=0.001), "inprocess")
    answer = subscribe(api, receiver.url)
    assert answer["validated"] is True and answer["validation_error"] is None
    assert receiver.named("endpoint.url_validation")
    made = api.post("/v2/users/me/webinars", json={"topic": "Hooked"})
    assert made.status_code == 201
    [created] = receiver.wait_for("webinar.created")
    assert created["payload"]["account_id"] == "demo-account"
    assert created["payload"]["object"]["id"] == made.json()["id"]
    assert created["payload"]["object"]["topic"] == "Hooked"
    assert created["payload"]["operator"] == "host@example.com"
    assert isinstance(created["event_ts"], int)
    wid = made.json()["id"]
    api.patch(f"/v2/webinars/{wid}", json={"topic": "Renamed"})
    [updated] = receiver.wait_for("webinar.updated")
    assert updated["payload"]["object"]["topic"] == "Renamed"
    api.control("POST", f"/webinars/{wid}/start")
    receiver.wait_for("webinar.started")
    api.put(f"/v2/webinars/{wid}/status", json={"action": "end"})
    receiver.wait_for("webinar.ended")
    assert receiver.bad_signatures == 0


def test_meeting_streaming_events_and_none_for_webinar_streams(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(webhook_time_scale=0.001), "inprocess")
    subscribe(api, receiver.url)
    status = f"/v2/webinars/{DEMO_WEBINAR}/livestream/status"
    assert api.patch(status, json={"action": "start"}).status_code == 204
    made = api.control(
        "POST",
        "/accounts/demo-account/meetings",
        json={
            "host": "host@example.com",
            "status": "started",
            "livestream": {
                "stream_url": "rtmp://127.0.0.1:1935/live",
                "stream_key": "k",
                "page_url": "https://example.com/p",
            },
        },
    )
    mid = made.json()["id"]
    path = f"/v2/meetings/{mid}/livestream/status"
    assert api.patch(path, json={"action": "start"}).status_code == 204
    [started] = receiver.wait_for("meeting.live_streaming_started")
    live = started["payload"]["object"]["live_streaming"]
    assert live["service"] == "Custom_Live_Streaming_Service"
    assert live["custom_live_streaming_settings"]["stream_key"] == "k"
    assert api.patch(path, json={"action": "stop"}).status_code == 204
    receiver.wait_for("meeting.live_streaming_stopped")
    time.sleep(0.5)
    assert not [e for e in receiver.events if e["event"].startswith("webinar.live")]


def test_failed_deliveries_are_retried_on_zooms_schedule(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(webhook_time_scale=0.001), "inprocess")  # +5 min -> 0.3 s
    subscribe(api, receiver.url, ["webinar.created"])
    receiver.fail_next = 2
    api.post("/v2/users/me/webinars", json={"topic": "Retried"})
    receiver.wait_for("webinar.created", count=3, timeout=15)
    deadline = time.monotonic() + 5
    while True:
        [log] = api.control("GET", "/webhooks/deliveries").json()
        if log["status"] == "delivered" or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert log["status"] == "delivered"
    assert [a["status_code"] for a in log["attempts"]] == [500, 500, 200]
    last = log["attempts"][-1]
    message = f"v0:{last['x-zm-request-timestamp']}:{log['body']}".encode()
    expected = hmac.new(SECRET.encode(), message, hashlib.sha256).hexdigest()
    assert last["x-zm-signature"] == "v0=" + expected


def test_deliveries_give_up_after_three_retries(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(webhook_time_scale=0.0005), "inprocess")
    subscribe(api, receiver.url, ["webinar.created"])
    receiver.fail_next = 10
    api.post("/v2/users/me/webinars", json={"topic": "Lost"})
    deadline = time.monotonic() + 15
    while True:
        [log] = api.control("GET", "/webhooks/deliveries").json()
        if log["status"] == "failed" or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert log["status"] == "failed" and len(log["attempts"]) == 4


def test_an_endpoint_that_fails_validation_gets_no_events(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(), "inprocess")
    wrong = WebhookReceiver("another-secret-entirely")
    try:
        answer = subscribe(api, wrong.url)
        assert answer["validated"] is False and "encryptedToken" in answer["validation_error"]
        api.post("/v2/users/me/webinars", json={"topic": "Unheard"})
        time.sleep(0.5)
        assert [e["event"] for e in wrong.events] == ["endpoint.url_validation"]
    finally:
        wrong.close()


def test_pending_deliveries_survive_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "hooks.db"
    endpoint = WebhookReceiver(SECRET)
    srv = Server(db, "--webhook-time-scale", "0.001").start()
    try:
        with httpx.Client(base_url=srv.url) as http:
            body = {"url": endpoint.url, "secret_token": SECRET, "events": ["webinar.created"]}
            assert http.put("/_emulator/apps/demo-client-id/webhook", json=body).json()["validated"]
            endpoint.close()  # the endpoint goes away: deliveries fail and wait for a retry
            headers = {"Authorization": f"Bearer {get_token(http)}"}
            made = http.post("/v2/users/me/webinars", json={"topic": "Kept"}, headers=headers)
            assert made.status_code == 201
            time.sleep(0.3)
    finally:
        srv.stop("kill")
    # The same port, back up, while the emulator is down.
    port = int(endpoint.url.split(":")[2].split("/")[0])
    back = WebhookReceiver(SECRET)
    back.server.server_close()
    back.server = ThreadingHTTPServer(("127.0.0.1", port), back.server.RequestHandlerClass)
    back.thread = threading.Thread(target=back.server.serve_forever, daemon=True)
    back.thread.start()
    again = Server(db, "--webhook-time-scale", "0.001").start()
    try:
        [event] = back.wait_for("webinar.created", timeout=20)
        assert event["payload"]["object"]["topic"] == "Kept"
        assert back.bad_signatures == 0
    finally:
        again.stop()
        back.close()


def test_endpoints_are_validated_again_every_72_scaled_hours(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    api = Api(make_client(webhook_time_scale=0.00001), "inprocess")  # 72 h -> 2.6 s
    assert subscribe(api, receiver.url)["validated"] is True
    receiver.wait_for("endpoint.url_validation", count=2, timeout=15)


# Slow endpoints: the 3 s deadline, independent endpoints, and no worker thread held ----------


class SlowEndpoint:
    """A raw-socket endpoint on 127.0.0.1 that answers too slowly (no HTTP library in between).

    ``drip``: status line, headers and most of a good answer at once, then its last 10 bytes
    one a second. ``hold``: nothing until ``release()``, then a good answer. With
    ``events_only``, URL validations are answered at once and only events are slow. ``open``
    counts the requests being answered slowly whose caller has not hung up."""

    DRIPPED = 10

    def __init__(self, mode: str, *, events_only: bool = False) -> None:
        self.mode = mode
        self.events_only = events_only
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/zoom/events"
        self.stopping = threading.Event()
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.open = 0
        self.hung_up = 0
        self.events: list[dict[str, Any]] = []
        self.threads: list[threading.Thread] = []
        self.acceptor = threading.Thread(target=self._accept, daemon=True)
        self.acceptor.start()

    def __enter__(self) -> SlowEndpoint:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def release(self) -> None:
        self.released.set()

    def close(self) -> None:
        self.stopping.set()
        self.acceptor.join(10)
        self.listener.close()
        with self.lock:
            threads = list(self.threads)
        for thread in threads:
            thread.join(10)
        assert not self.acceptor.is_alive() and not any(t.is_alive() for t in threads)

    def wait_open(self, count: int, timeout: float = 15) -> None:
        self._wait(lambda: self.open >= count, timeout, f"{count} requests open")

    def wait_hung_up(self, count: int, timeout: float = 15) -> None:
        self._wait(lambda: self.hung_up >= count, timeout, f"{count} hung up")

    def _wait(self, done: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            assert time.monotonic() < deadline, f"not {what}: {self.open} open, {self.hung_up} gone"
            time.sleep(0.02)

    def _accept(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(conn,), daemon=True)
            with self.lock:
                self.threads.append(thread)
            thread.start()

    def _serve(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            try:
                body = json.loads(self._read(conn))
            except (OSError, ValueError):
                return
            validation = body["event"] == "endpoint.url_validation"
            answer = b'{"received":true}'
            if validation:
                plain = body["payload"]["plainToken"]
                token = hmac.new(SECRET.encode(), plain.encode(), hashlib.sha256).hexdigest()
                answer = json.dumps({"plainToken": plain, "encryptedToken": token}).encode()
            with self.lock:
                self.events.append(body)
            if validation and self.events_only:
                self._send(conn, answer)
                return
            with self.lock:
                self.open += 1
            try:
                if self.mode == "drip":
                    self._drip(conn, answer)
                else:
                    self._hold(conn, answer)
            finally:
                with self.lock:
                    self.open -= 1

    @staticmethod
    def _read(conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise OSError("closed before the request ended")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                raise OSError("closed before the request ended")
            body += chunk
        return body

    @staticmethod
    def _head(answer: bytes) -> bytes:
        return (
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n"
            + f"content-length: {len(answer)}\r\n\r\n".encode()
        )

    def _send(self, conn: socket.socket, answer: bytes) -> None:
        with contextlib.suppress(OSError):
            conn.sendall(self._head(answer) + answer)

    def _drip(self, conn: socket.socket, answer: bytes) -> None:
        try:
            conn.sendall(self._head(answer) + answer[: -self.DRIPPED])
            for i in range(len(answer) - self.DRIPPED, len(answer)):
                if self.stopping.wait(1):
                    return
                conn.sendall(answer[i : i + 1])
        except OSError:
            with self.lock:
                self.hung_up += 1

    def _hold(self, conn: socket.socket, answer: bytes) -> None:
        while not self.released.wait(0.02):
            if self.stopping.is_set():
                return
            readable, _, _ = select.select([conn], [], [], 0)
            if readable:  # the caller sends nothing more: readable means it hung up
                with self.lock:
                    self.hung_up += 1
                return
        self._send(conn, answer)


def dispatcher(client: TestClient) -> Any:
    app: Any = client.app
    return app.state.env.webhooks


def wait_for_attempt(api: Api, timeout: float = 20) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        [log] = api.control("GET", "/webhooks/deliveries").json()
        if log["attempts"]:
            return dict(log)
        assert time.monotonic() < deadline, "no attempt recorded"
        time.sleep(0.05)


def test_url_validation_must_be_answered_whole_within_3_s(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    api = Api(client, "inprocess")
    with SlowEndpoint("drip") as slow:  # a right answer, but its end comes a byte a second
        answer = subscribe(api, slow.url)
    assert answer["validated"] is False
    assert answer["validation_error"] == "no answer within 3 s"
    with dispatcher(client).store.read() as tx:
        row = tx.get_subscription("demo-client-id")
    assert row is not None
    assert row.validated_at is None and row.validation_error == "no answer within 3 s"


def test_a_delivery_answered_too_slowly_fails_and_is_retried_on_schedule(
    make_client: Callable[..., TestClient],
) -> None:
    api = Api(make_client(), "inprocess")  # time scale 1: the retry is 5 minutes away
    with SlowEndpoint("drip", events_only=True) as slow:
        assert subscribe(api, slow.url, ["webinar.created"])["validated"] is True
        assert api.post("/v2/users/me/webinars", json={"topic": "Dripped"}).status_code == 201
        log = wait_for_attempt(api)
    assert log["status"] == "pending" and log["delivered_at"] is None
    [attempt] = log["attempts"]
    assert attempt["status_code"] is None and attempt["error"] == "no answer within 3 s"
    retry_in = datetime.fromisoformat(log["next_attempt_at"]) - datetime.fromisoformat(
        attempt["at"]
    )
    assert retry_in.total_seconds() >= 300


def test_a_slow_endpoint_does_not_hold_up_another_accounts_events(
    make_client: Callable[..., TestClient], receiver: WebhookReceiver
) -> None:
    client = make_client()
    dispatcher(client).deadline = 30.0  # A's request stays open until the endpoint closes
    api = Api(client, "inprocess")
    other = {
        "id": "account-b",
        "users": [{"email": "b-host@example.com"}],
        "apps": [{"client_id": "b-client-id", "client_secret": "b-client-secret"}],
    }
    assert api.control("POST", "/accounts", json=other).status_code == 201
    with SlowEndpoint("hold", events_only=True) as slow:
        assert subscribe(api, slow.url, ["webinar.created"])["validated"] is True
        assert subscribe(api, receiver.url, ["webinar.created"], "b-client-id")["validated"]
        assert api.post("/v2/users/me/webinars", json={"topic": "For A"}).status_code == 201
        slow.wait_open(1)  # A's event is being delivered, and held
        basic = "Basic " + base64.b64encode(b"b-client-id:b-client-secret").decode()
        headers = {"Authorization": f"Bearer {get_token(client, basic, 'account-b')}"}
        made = client.post("/v2/users/me/webinars", json={"topic": "For B"}, headers=headers)
        assert made.status_code == 201
        [event] = receiver.wait_for("webinar.created")
        assert event["payload"]["account_id"] == "account-b"
        # B's event arrived while A's attempt is still under way: nothing recorded for it yet.
        assert slow.open == 1 and slow.hung_up == 0
        logs = api.control("GET", "/webhooks/deliveries").json()
        [for_a] = [log for log in logs if log["client_id"] == "demo-client-id"]
        assert for_a["status"] == "pending" and for_a["attempts"] == []


def test_validations_waiting_on_a_slow_endpoint_leave_oauth_answering(
    make_client: Callable[..., TestClient],
) -> None:
    client = make_client()
    dispatcher(client).deadline = 30.0  # the validations stay open until the endpoint answers
    apps = [{"client_id": f"hook-app-{i}", "client_secret": "hook-app-secret"} for i in range(45)]
    made = client.post("/_emulator/accounts", json={"id": "many-hooks", "apps": apps})
    assert made.status_code == 201
    answers: list[httpx.Response] = []

    with SlowEndpoint("hold") as slow:

        def put(client_id: str) -> None:
            body = {"url": slow.url, "secret_token": SECRET}
            answers.append(client.put(f"/_emulator/apps/{client_id}/webhook", json=body))

        threads = [
            threading.Thread(target=put, args=(app["client_id"],), daemon=True) for app in apps
        ]
        try:
            for thread in threads:
                thread.start()
            slow.wait_open(45)  # 45 validations in flight at once, more than the thread pool
            assert get_token(client)
            assert slow.open == 45 and not answers  # none of them has been answered yet
        finally:
            slow.release()
            for thread in threads:
                thread.join(15)
    assert not any(thread.is_alive() for thread in threads)
    assert len(answers) == 45
    assert all(a.status_code == 200 and a.json()["validated"] is True for a in answers)


def test_shutdown_cancels_a_delivery_in_flight_and_leaves_it_pending(tmp_path: Path) -> None:
    db = tmp_path / "shutdown.db"
    settings = Settings(db=str(db), seed=1, media="fake", rate_limits="off")
    with SlowEndpoint("hold", events_only=True) as slow:
        with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
            dispatcher(client).deadline = 30.0
            api = Api(client, "inprocess")
            assert subscribe(api, slow.url, ["webinar.created"])["validated"] is True
            assert api.post("/v2/users/me/webinars", json={"topic": "Cut"}).status_code == 201
            slow.wait_open(1)
        # The app has shut down: the held request was abandoned, not answered.
        slow.wait_hung_up(1)
    store = open_store(str(db))  # what is on disk
    try:
        with store.read() as tx:
            [(row, attempts)] = tx.list_deliveries()
    finally:
        store.close()
    assert row.status == "pending" and row.attempts == 0 and attempts == []
