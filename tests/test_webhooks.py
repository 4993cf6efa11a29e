"""Webhooks to a real receiver on 127.0.0.1 that checks Zoom's signature scheme with its own
implementation: URL validation, events, retries on Zoom's (scaled) schedule, and an outbox
that survives a restart."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Api, Server, get_token


class Receiver:
    """An event endpoint as an integration would write it (no zoomlive code)."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.events: list[dict[str, Any]] = []
        self.bad_signatures = 0
        self.fail_next = 0
        self.lock = threading.Lock()
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                stamp = self.headers.get("x-zm-request-timestamp", "")
                message = f"v0:{stamp}:".encode() + raw
                digest = hmac.new(owner.secret.encode(), message, hashlib.sha256).hexdigest()
                good = hmac.compare_digest(self.headers.get("x-zm-signature", ""), "v0=" + digest)
                body = json.loads(raw)
                with owner.lock:
                    if not good:
                        owner.bad_signatures += 1
                    owner.events.append(body)
                    failing = owner.fail_next > 0
                    owner.fail_next -= 1 if failing else 0
                if body["event"] == "endpoint.url_validation":
                    plain = body["payload"]["plainToken"]
                    token = hmac.new(owner.secret.encode(), plain.encode(), hashlib.sha256)
                    answer = json.dumps({"plainToken": plain, "encryptedToken": token.hexdigest()})
                    self._send(200, answer.encode())
                elif failing:
                    self._send(500, b"")
                else:
                    self._send(200, b"")

            def _send(self, code: int, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/zoom/events"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def named(self, event: str) -> list[dict[str, Any]]:
        with self.lock:
            return [e for e in self.events if e["event"] == event]

    def wait_for(self, event: str, count: int = 1, timeout: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.named(event)) < count:
            assert time.monotonic() < deadline, (
                f"no {event}; got {[e['event'] for e in self.events]}"
            )
            time.sleep(0.05)
        return self.named(event)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SECRET = "s3cret-token-for-tests"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    endpoint = Receiver(SECRET)
    yield endpoint
    endpoint.close()


def subscribe(api: Api, url: str, events: list[str] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"url": url, "secret_token": SECRET}
    if events is not None:
        body["events"] = events
    response = api.control("PUT", "/apps/demo-client-id/webhook", json=body)
    assert response.status_code == 200, response.text
    data: dict[str, Any] = response.json()
    return data


def test_url_validation_and_signed_events(
    make_client: Callable[..., TestClient], receiver: Receiver
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
    make_client: Callable[..., TestClient], receiver: Receiver
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
    make_client: Callable[..., TestClient], receiver: Receiver
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
    make_client: Callable[..., TestClient], receiver: Receiver
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
    make_client: Callable[..., TestClient], receiver: Receiver
) -> None:
    api = Api(make_client(), "inprocess")
    wrong = Receiver("another-secret-entirely")
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
    endpoint = Receiver(SECRET)
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
    back = Receiver(SECRET)
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
    make_client: Callable[..., TestClient], receiver: Receiver
) -> None:
    api = Api(make_client(webhook_time_scale=0.00001), "inprocess")  # 72 h -> 2.6 s
    assert subscribe(api, receiver.url)["validated"] is True
    receiver.wait_for("endpoint.url_validation", count=2, timeout=15)
