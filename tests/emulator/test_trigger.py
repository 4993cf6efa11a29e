"""Any webhook on demand (``POST /_emulator/webhooks/trigger``, ``zoomlive trigger``,
``Control.trigger``): every event of Zoom's webhook documents, with every documented field,
built from the stored object named; delivered for real to endpoints on 127.0.0.1, signed over
the raw bytes, through the outbox (retries, the delivery log); bad input refused with nothing
changed."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from tests.conftest import Api, Server
from tests.emulator.test_webhook_payloads import Walk, walk_event
from tests.support.webhook_events import TOPIC, RawReceiver, subscribe
from zoomlive.api import zoomdoc
from zoomlive.cli import app as cli_app
from zoomlive.testing import ZoomEmulator, sign_webhook

SECRET = "trigger-secret-token"
DEMO_WEBINAR = 68423085
DEMO_HOST = "DemoHostUserId00000001"
MEETING = {
    "host": "host@example.com",
    "topic": TOPIC,
    "livestream": {
        "stream_url": "rtmp://127.0.0.1:1935/live",
        "stream_key": "clé",
        "page_url": "https://example.com/page",
    },
}


@pytest.fixture
def emulator(make_client: Callable[..., TestClient]) -> Api:
    return Api(make_client(webhook_time_scale=0.001), "inprocess")


@pytest.fixture
def receiver() -> Iterator[RawReceiver]:
    endpoint = RawReceiver(SECRET)
    yield endpoint
    endpoint.close()


def fire(api: Api, **body: Any) -> dict[str, Any]:
    answer = api.control("POST", "/webhooks/trigger", json=body)
    assert answer.status_code == 202, answer.text
    data: dict[str, Any] = answer.json()
    return data


def meeting_id(api: Api) -> int:
    made = api.control("POST", "/accounts/demo-account/meetings", json=MEETING)
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def ids_for(row: dict[str, Any], meeting: int) -> dict[str, Any]:
    """The stored object each kind of event is about, in the demo account."""
    first = row["ids"][0] if row["ids"] else None
    value = {"meeting_id": meeting, "webinar_id": DEMO_WEBINAR, "user_id": DEMO_HOST}
    return {first: value[first]} if first else {}


def test_the_event_list_is_every_event_of_zooms_documents(emulator: Api) -> None:
    rows = emulator.control("GET", "/webhooks/events").json()
    assert [r["event"] for r in rows] == sorted(zoomdoc.webhook_events())
    assert len(rows) >= 120
    by_name = {r["event"]: r for r in rows}
    assert by_name["meeting.started"]["ids"] == ["meeting_id"]
    assert by_name["recording.completed"]["ids"] == ["meeting_id", "webinar_id"]
    assert by_name["webinar.ended"]["needs"] == "webinar"
    assert by_name["user.signed_in"]["ids"] == ["user_id"]
    assert by_name["group.created"]["needs"] == "account"
    assert by_name["group.created"]["document"] == "users"
    assert all(r["description"] for r in rows)
    assert "meeting host starts a meeting" in by_name["meeting.started"]["description"]


def test_every_event_carries_every_documented_field_named_or_made_up(
    emulator: Api, receiver: RawReceiver
) -> None:
    subscribe(emulator, receiver.url, SECRET, ["meeting.started"])
    meeting = meeting_id(emulator)
    rows = emulator.control("GET", "/webhooks/events").json()
    found = Walk()
    named: dict[str, dict[str, Any]] = {}
    made: dict[str, dict[str, Any]] = {}
    for row in rows:
        for ids in (ids_for(row, meeting), {}):
            answer = fire(emulator, event=row["event"], **ids)
            body = walk_event(found, answer["body"].encode())
            assert body["event"] == row["event"]
            assert body["payload"]["account_id"] == "demo-account"
            if ids:
                named[row["event"]] = body["payload"]
            else:
                made[row["event"]] = body["payload"]
    print(f"\ntriggered fields: {found.present}/{found.documented} over {2 * len(rows)} events")
    assert found.missing == [], found.missing
    assert found.wrong == [], "\n".join(found.wrong)
    assert found.undocumented == [], found.undocumented
    # the stored object's id and topic where the event documents them
    started = named["meeting.started"]["object"]
    assert (started["id"], started["topic"]) == (str(meeting), TOPIC)
    assert started["host_email"] == "host@example.com"
    assert named["meeting.participant_joined"]["object"]["id"] == str(meeting)
    assert named["meeting.participant_joined"]["object"]["participant"]["user_name"]
    streaming = named["meeting.live_streaming_started"]["object"]["live_streaming"]
    assert streaming["custom_live_streaming_settings"]["stream_key"] == "clé"
    summary = named["meeting.summary_completed"]["object"]
    assert (summary["meeting_id"], summary["meeting_topic"]) == (meeting, TOPIC)
    assert named["webinar.ended"]["object"]["id"] == str(DEMO_WEBINAR)
    assert named["webinar.ended"]["object"]["topic"] == "Demo webinar"
    assert named["recording.completed"]["object"]["id"] == meeting
    assert named["user.signed_in"]["object"]["email"] == "host@example.com"
    assert named["user.signed_in"]["object"]["id"] == DEMO_HOST
    # nothing named: a made-up object, hosted by the account's owner
    invented = made["meeting.started"]["object"]
    assert invented["topic"] == "Made-up meeting" and invented["id"] != str(meeting)
    assert invented["host_email"] == "host@example.com" and invented["host_id"] == DEMO_HOST
    assert made["user.created"]["object"]["email"].endswith("@example.com")
    # an update names one change, with its old value
    updated = named["meeting.updated"]
    assert updated["object"]["topic"] == TOPIC and updated["object"]["id"] == meeting
    assert updated["old_object"] == {"id": meeting, "topic": f"{TOPIC} (before)"}
    settings = named["user.settings_updated"]
    assert settings["object"]["id"] == DEMO_HOST and settings["object"]["settings"]
    assert settings["old_object"]["settings"] != settings["object"]["settings"]


def test_triggered_events_arrive_signed_at_a_real_endpoint(
    emulator: Api, receiver: RawReceiver
) -> None:
    subscribe(emulator, receiver.url, SECRET, ["meeting.started"])  # events: not a filter
    meeting = meeting_id(emulator)
    sample = {
        "meeting.participant_joined": {"meeting_id": meeting},
        "webinar.sharing_started": {"webinar_id": DEMO_WEBINAR},
        "user.signed_in": {"user_id": "host@example.com"},
        "recording.completed": {"webinar_id": str(DEMO_WEBINAR)},
        "group.created": {},
        "meeting.summary_completed": {},
    }
    answers = {event: fire(emulator, event=event, **ids) for event, ids in sample.items()}
    got = receiver.wait_for(set(sample))
    for event, (headers, raw) in got.items():
        answer = answers[event]
        assert raw == answer["body"].encode()  # the bytes queued are the bytes sent
        assert [d["url"] for d in answer["deliveries"]] == [receiver.url]
        stamp = headers["x-zm-request-timestamp"]
        digest = hmac.new(SECRET.encode(), f"v0:{stamp}:".encode() + raw, hashlib.sha256)
        assert headers["x-zm-signature"] == "v0=" + digest.hexdigest()
        assert sign_webhook(raw, SECRET, timestamp=int(stamp)).headers == {
            k: headers[k] for k in ("content-type", "user-agent", *STAMPED)
        }
    recording = json.loads(got["recording.completed"][1])["payload"]["object"]
    assert recording["id"] == DEMO_WEBINAR and recording["topic"] == "Demo webinar"
    log = {d["id"]: d for d in emulator.control("GET", "/webhooks/deliveries").json()}
    for answer in answers.values():
        [queued] = answer["deliveries"]
        shown = log[queued["id"]]
        assert shown["event"] == answer["event"] and shown["body"] == answer["body"]
        deadline = time.monotonic() + 10
        while shown["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.05)
            shown = {d["id"]: d for d in emulator.control("GET", "/webhooks/deliveries").json()}[
                queued["id"]
            ]
        assert shown["status"] == "delivered" and shown["attempts"][0]["status_code"] == 200


STAMPED = ("x-zm-request-timestamp", "x-zm-signature")


class FlakyEndpoint:
    """Answers 500 to the first ``failures`` requests, then 200; keeps what it got."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.got: list[tuple[dict[str, str], bytes]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("content-length", "0")))
                owner.got.append(({k.lower(): v for k, v in self.headers.items()}, raw))
                self.send_response(500 if len(owner.got) <= owner.failures else 200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_url_gets_the_event_instead_with_zooms_retries_when_it_fails(
    emulator: Api, receiver: RawReceiver
) -> None:
    subscribe(emulator, receiver.url, SECRET)
    flaky = FlakyEndpoint(failures=2)
    try:
        answer = fire(emulator, event="webinar.participant_joined", url=flaky.url)
        [queued] = answer["deliveries"]
        assert (queued["url"], queued["client_id"]) == (flaky.url, "demo-client-id")
        deadline = time.monotonic() + 15
        shown: dict[str, Any] = {}
        while time.monotonic() < deadline:
            log = emulator.control("GET", "/webhooks/deliveries").json()
            shown = next(d for d in log if d["id"] == queued["id"])
            if shown["status"] == "delivered":
                break
            time.sleep(0.05)
        assert [a["status_code"] for a in shown["attempts"]] == [500, 500, 200]
        assert shown["status"] == "delivered" and shown["url"] == flaky.url
        assert len(flaky.got) == 3
        # every attempt signed afresh, over the same bytes, with the app's secret token
        for (headers, raw), attempt in zip(flaky.got, shown["attempts"], strict=True):
            assert raw == answer["body"].encode()
            assert headers["x-zm-signature"] == attempt["x-zm-signature"]
            signed = sign_webhook(raw, SECRET, timestamp=int(headers["x-zm-request-timestamp"]))
            assert signed.headers["x-zm-signature"] == headers["x-zm-signature"]
        # the subscription's own endpoint got nothing of it
        assert all(b"webinar.participant_joined" not in raw for _, raw in receiver.events())
    finally:
        flaky.close()


def deliveries(api: Api) -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = api.control("GET", "/webhooks/deliveries").json()
    return data


BAD = [
    (b"{", 400, 300, "Request Body should be a valid JSON object."),
    (b"[]", 400, 300, "Validation Failed."),
    (b'{"meeting_id": 1}', 400, 300, "Validation Failed."),
    (b'{"event": "meeting.started", "color": "red"}', 400, 300, "Validation Failed."),
    (b'{"event": 12}', 400, 300, "Validation Failed."),
    (b'{"event": "meeting.started", "meeting_id": 1.5}', 400, 300, "Validation Failed."),
    (b'{"event": "meeting.started", "url": "ftp://x.example"}', 400, 300, "Validation Failed."),
    (b'{"event": "meeting.exploded"}', 400, 300, "Unknown event: meeting.exploded."),
    (b'{"event": "meeting.started", "meeting_id": "abc"}', 400, 300, "Invalid meetingId."),
    (b'{"event": "meeting.started", "meeting_id": 999999999}', 404, 3001, "999999999"),
    (b'{"event": "webinar.started", "webinar_id": 12345678}', 404, 3001, "12345678"),
    (b'{"event": "user.signed_in", "user_id": "nobody@example.com"}', 404, 404, "nobody@"),
    (b'{"event": "meeting.started", "user_id": "me"}', 400, 300, "takes meeting_id, not user_id"),
    (b'{"event": "group.created", "user_id": "me"}', 400, 300, "no id (it is about the account)"),
    (
        b'{"event": "recording.completed", "meeting_id": 1, "webinar_id": 2}',
        400,
        300,
        "Name one object at most",
    ),
    (b'{"event": "group.created", "account_id": "nope"}', 404, 404, "Account nope"),
    (b'{"event": "group.created", "client_id": "nope"}', 404, 404, "App nope"),
]


def test_bad_input_is_refused_and_changes_nothing(emulator: Api, receiver: RawReceiver) -> None:
    subscribe(emulator, receiver.url, SECRET)
    before, log = emulator.state(), deliveries(emulator)
    for raw, status, code, words in BAD:
        answer = emulator.control(
            "POST", "/webhooks/trigger", content=raw, headers={"content-type": "application/json"}
        )
        assert (answer.status_code, answer.json()["code"]) == (status, code), (raw, answer.text)
        assert words in answer.json()["message"], (raw, answer.text)
        assert emulator.state() == before and deliveries(emulator) == log, raw
    # the same body, good, is queued: the refusals above were about what they changed
    fire(emulator, event="meeting.started")
    assert len(deliveries(emulator)) == len(log) + 1


def test_no_subscription_is_a_clear_refusal_and_the_admin_key_guards_it(
    make_client: Callable[..., TestClient],
) -> None:
    api = Api(make_client(webhook_time_scale=0.001, admin_key="k" * 16), "inprocess")
    key = {"X-Admin-Key": "k" * 16}
    refused = api.control("POST", "/webhooks/trigger", json={"event": "meeting.started"})
    assert (refused.status_code, refused.json()["code"]) == (401, 401)
    answer = api.control(
        "POST", "/webhooks/trigger", json={"event": "meeting.started"}, headers=key
    )
    assert (answer.status_code, answer.json()["code"]) == (409, 409)
    assert answer.json()["message"].startswith(
        "Account demo-account has no webhook subscription whose URL passed validation"
    )
    with_url = api.control(
        "POST",
        "/webhooks/trigger",
        json={"event": "meeting.started", "url": "http://127.0.0.1:9/x"},
        headers=key,
    )
    assert with_url.status_code == 409
    assert api.control("GET", "/webhooks/deliveries", headers=key).json() == []


def test_the_testing_kit_triggers_and_waits_for_the_delivery(
    zoom_emulator: ZoomEmulator, receiver: RawReceiver
) -> None:
    control = zoom_emulator.control
    control.set_webhook("demo-client-id", receiver.url, secret_token=SECRET)
    made = control.trigger("webinar.participant_left", webinar_id=DEMO_WEBINAR, wait=10)
    assert made.body["payload"]["object"]["id"] == str(DEMO_WEBINAR)
    [delivery] = made.deliveries
    assert delivery.id == made.delivery_ids[0] and delivery.status == "delivered"
    assert delivery.raw_body == made.raw_body
    [(headers, raw)] = receiver.wait_for({"webinar.participant_left"}).values()
    assert raw == made.raw_body
    signed = sign_webhook(raw, SECRET, timestamp=int(headers["x-zm-request-timestamp"]))
    assert signed.headers["x-zm-signature"] == headers["x-zm-signature"]
    assert {e["event"] for e in control.webhook_events()} == set(zoomdoc.webhook_events())


def test_the_cli_triggers_against_a_running_emulator(server: Server, receiver: RawReceiver) -> None:
    base = server.url
    assert httpx.post(base + "/_emulator/reset", json={"demo": True}).status_code == 200
    body = {"url": receiver.url, "secret_token": SECRET}
    assert httpx.put(base + "/_emulator/apps/demo-client-id/webhook", json=body).json()["validated"]
    runner = CliRunner()
    done = runner.invoke(
        cli_app, ["trigger", "webinar.ended", "--webinar", str(DEMO_WEBINAR), "--emulator", base]
    )
    assert done.exit_code == 0, done.output
    assert "webinar.ended: delivery " in done.output and receiver.url in done.output
    [(_, raw)] = receiver.wait_for({"webinar.ended"}).values()
    assert json.loads(raw)["payload"]["object"]["id"] == str(DEMO_WEBINAR)  # a string here
    as_json = runner.invoke(cli_app, ["trigger", "user.signed_in", "--json", "--emulator", base])
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output)["event"] == "user.signed_in"
    bad = runner.invoke(cli_app, ["trigger", "meeting.exploded", "--emulator", base])
    assert bad.exit_code == 1 and "Unknown event: meeting.exploded" in bad.output
    two = runner.invoke(cli_app, ["trigger", "meeting.started", "--meeting", "1", "--user", "x"])
    assert two.exit_code == 2
    listed = runner.invoke(cli_app, ["trigger", "--list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0
    assert "recording.completed" in listed.output and "--meeting or --webinar" in listed.output
    assert f"{len(zoomdoc.webhook_events())} webhook events" in listed.output
