"""Zoom-shaped faults: any error of Zoom's table (by name, or by status and code) with its
message filled from the request, sequences per operation ("fail twice, then succeed"), OAuth's
error bodies, webhook delivery faults (delay, duplicate, reorder, drop an attempt), the control
client's calls, the SDK recovering or raising its typed error, and a sequence's steps counted
once across two emulators on one PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from starlette.testclient import TestClient

import zoomlive
from tests.conftest import DEMO_WEBINAR, Api, Server, get_token
from tests.emulator.test_dashboard import CHROMIUM, CHROMIUM_ARGS
from tests.support.engines import EngineMissing
from tests.support.helpers import SECRET, WebhookReceiver
from tests.support.sdk import Both
from zoomlive.api.errors import E, lookup
from zoomlive.testing import Control

WEBINAR = f"/v2/webinars/{DEMO_WEBINAR}"
FAST: dict[str, Any] = {"retry_wait_scale": 0.01}


@pytest.fixture
def inproc(client: TestClient) -> Api:
    return Api(client, "inprocess")


def add(api: Api, **rule: Any) -> dict[str, Any]:
    response = api.control("POST", "/faults", json=rule)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def rules(api: Api) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.control("GET", "/faults").json()["rules"]
    return listed


# any error of the table ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "path", "status", "code", "message"),
    [
        (
            {"error": "TOKEN_EXPIRED", "operation": "user"},
            "/v2/users/me",
            401,
            124,
            "Access token is expired.",
        ),
        (
            {"error": "webinar_not_found", "operation": "webinar"},
            WEBINAR,
            404,
            3001,
            f"Webinar does not exist: {DEMO_WEBINAR}.",
        ),
        (  # by status and code: the table's error about the operation's object
            {"status": 404, "code": 3001, "operation": "meeting"},
            "/v2/meetings/85746065432",
            404,
            3001,
            "Meeting does not exist: 85746065432.",
        ),
        (
            {"status": 400, "code": 3000, "operation": "webinarLiveStreamStatusUpdate"},
            f"{WEBINAR}/livestream/status",
            400,
            3000,
            E.WEBINAR_STREAM_NOT_CONFIGURED.template,
        ),
        (  # the template's fields given by the rule
            {"error": "WEBINAR_DAILY_CAP", "values": {"cap": 50}, "operation": "webinar"},
            WEBINAR,
            429,
            429,
            "A maximum of (50) webinars can be created and updated for a single user in one day.",
        ),
        (
            {"error": "MISSING_SCOPES", "operation": "webinar"},
            WEBINAR,
            400,
            4711,
            "Invalid access token, does not contain scopes:[webinar:read:webinar].",
        ),
    ],
)
def test_a_fault_answers_any_error_of_zooms_table(
    inproc: Api, rule: dict[str, Any], path: str, status: int, code: int, message: str
) -> None:
    add(inproc, kind="error", count=1, **rule)
    method = "PATCH" if path.endswith("/status") else "GET"
    faulted = inproc.request(method, path, json={"action": "start"} if method == "PATCH" else None)
    assert faulted.status_code == status
    assert faulted.json() == {"code": code, "message": message}
    assert faulted.headers["x-zm-trackingid"].startswith("v=2.0;clid=emulator;rid=WEB_")
    entry = inproc.control("GET", "/faults").json()["log"][-1]
    assert (entry["status"], entry["code"]) == (status, code)


def test_the_daily_limit_carries_zooms_daily_headers(inproc: Api) -> None:
    frozen = inproc.control("POST", "/clock", json={"freeze": True}).json()["now"]
    add(inproc, kind="error", error="RATE_LIMIT_DAILY", operation="webinars", count=1)
    limited = inproc.get("/v2/users/me/webinars")
    assert limited.status_code == 429
    assert limited.json()["message"] == E.RATE_LIMIT_DAILY.template
    headers = limited.headers
    assert headers["x-ratelimit-type"] == "Daily-limit"
    assert headers["x-ratelimit-category"] == "Medium"
    assert headers["x-ratelimit-limit"] == "2000" and headers["x-ratelimit-remaining"] == "0"
    tomorrow = (datetime.fromisoformat(frozen) + timedelta(days=1)).date()
    assert headers["retry-after"] == f"{tomorrow.isoformat()}T00:00:00Z"  # Zoom's ISO form
    assert inproc.get("/v2/users/me/webinars").status_code == 200


def test_the_token_endpoint_answers_zooms_oauth_errors(inproc: Api) -> None:
    add(inproc, kind="error", error="OAUTH_INVALID_CLIENT", operation="oauthToken", count=1)
    token_url = "/oauth/token?grant_type=account_credentials&account_id=demo-account"
    refused = inproc.client.post(token_url, auth=("demo-client-id", "demo-client-secret"))
    assert refused.status_code == 401
    assert refused.json() == {
        "code": 4702,
        "message": "Invalid client.",
        "reason": "Invalid client.",
        "error": "invalid_client",
    }
    add(inproc, kind="sequence", operation="oauthToken", steps=["RATE_LIMIT_PER_SECOND"])
    limited = inproc.client.post(token_url, auth=("demo-client-id", "demo-client-secret"))
    assert limited.status_code == 429 and limited.headers["x-ratelimit-type"] == "QPS"
    granted = inproc.client.post(token_url, auth=("demo-client-id", "demo-client-secret"))
    assert granted.status_code == 200 and granted.json()["access_token"]


# sequences ----------------------------------------------------------------------------------


def test_fail_twice_then_succeed(inproc: Api) -> None:
    made = add(inproc, kind="sequence", operation="user", steps=[{"status": 503, "times": 2}])
    assert made["remaining"] == 2 and made["position"] == 0
    answers = [inproc.get("/v2/users/me").status_code for _ in range(4)]
    assert answers == [503, 503, 200, 200]
    assert rules(inproc) == []  # no then: the rule ends with its steps
    assert inproc.get(WEBINAR).status_code == 200  # other operations untouched


def test_succeed_then_fail_forever(inproc: Api) -> None:
    add(
        inproc,
        id="flaky-later",
        kind="sequence",
        operation="user",
        steps=["pass", {"kind": "latency", "latency_ms": 1}],
        then={"error": "INTERNAL_ERROR"},
    )
    answers = [inproc.get("/v2/users/me").status_code for _ in range(5)]
    assert answers == [200, 200, 500, 500, 500]
    [rule] = rules(inproc)
    assert (rule["id"], rule["position"], rule["remaining"], rule["applied"]) == (
        "flaky-later",
        5,
        None,
        5,
    )
    steps = [e.get("step") for e in inproc.control("GET", "/faults").json()["log"]]
    assert steps == [2, "then", "then", "then"]  # the "pass" step is not a fault


def test_a_sequence_of_every_kind_of_step(inproc: Api) -> None:
    add(
        inproc,
        kind="sequence",
        operation="webinarCreate",
        steps=[
            {"error": "VALIDATION_FAILED", "values": {}},
            "TOKEN_EXPIRED",
            {"kind": "drop"},
            {"kind": "drop_after"},
        ],
    )
    create = ("/v2/users/me/webinars", {"topic": "through a sequence"})
    first = inproc.post(create[0], json=create[1])
    assert first.json() == {"code": 300, "message": "Validation Failed."}
    assert inproc.post(create[0], json=create[1]).json()["code"] == 124
    with pytest.raises(httpx.RemoteProtocolError):
        inproc.post(create[0], json=create[1])
    with pytest.raises(httpx.RemoteProtocolError):
        inproc.post(create[0], json=create[1])
    assert inproc.post(create[0], json=create[1]).status_code == 201
    topics = [w["topic"] for w in inproc.state()["webinars"]]
    assert topics.count("through a sequence") == 2  # drop_after's and the last one


@pytest.mark.parametrize(
    ("rule", "field"),
    [
        ({"kind": "error", "error": "NO_SUCH_ERROR"}, "error"),
        ({"kind": "error", "status": 404, "code": 99999}, "code"),
        ({"kind": "error", "code": 3001}, "status"),
        ({"kind": "error", "error": "TOKEN_EXPIRED", "status": 401}, "error"),
        ({"kind": "error", "error": "WEBINAR_NOT_FOUND", "values": {"nope": 1}}, "values"),
        ({"kind": "drop", "error": "TOKEN_EXPIRED"}, "error"),
        ({"kind": "sequence"}, "steps"),
        ({"kind": "sequence", "steps": []}, "steps"),
        ({"kind": "sequence", "steps": "TOKEN_EXPIRED"}, "steps"),
        ({"kind": "sequence", "steps": ["NO_SUCH_ERROR"]}, "steps.0.error"),
        ({"kind": "sequence", "steps": [{"kind": "explode"}]}, "steps.0.kind"),
        ({"kind": "sequence", "steps": [{"status": 503, "times": 0}]}, "steps.0.times"),
        ({"kind": "sequence", "steps": ["pass"], "count": 2}, "count"),
        ({"kind": "sequence", "steps": ["pass"], "probability": 0.5}, "probability"),
        ({"kind": "sequence", "steps": [{"kind": "webhook_drop"}, {"status": 503}]}, "steps"),
        (
            {"kind": "sequence", "steps": ["pass"], "then": {"status": 503, "times": 2}},
            "then.times",
        ),
        ({"kind": "error", "status": 503, "steps": ["pass"]}, "steps"),
        ({"kind": "webhook_drop", "operation": "user"}, "operation"),
        ({"kind": "webhook_drop", "event": "no.such_event"}, "event"),
        ({"kind": "webhook_delay"}, "latency_ms"),
        ({"kind": "error", "status": 503, "event": "webinar.created"}, "event"),
    ],
)
def test_bad_rules_get_a_clear_400_and_change_nothing(
    inproc: Api, rule: dict[str, Any], field: str
) -> None:
    add(inproc, id="kept", kind="latency", latency_ms=0)
    response = inproc.control("POST", "/faults", json=rule)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["code"] == 300 and body["message"] == "Validation Failed."
    fields = [e["field"] for e in body["errors"]]
    assert any(f == field or f.startswith(field + ".") for f in fields), fields
    assert [r["id"] for r in rules(inproc)] == ["kept"]


def test_the_error_table_is_listed_for_rule_makers(inproc: Api) -> None:
    listed = inproc.control("GET", "/faults/errors").json()
    by_name = {e["name"]: e for e in listed["errors"]}
    assert by_name["TOKEN_EXPIRED"] == {
        "name": "TOKEN_EXPIRED",
        "status": 401,
        "code": 124,
        "message": "Access token is expired.",
        "fields": [],
    }
    assert by_name["WEBINAR_NOT_FOUND"]["fields"] == ["id"]
    assert [e["name"] for e in listed["errors"] if (e["status"], e["code"]) == (404, 3001)] == [
        s.name for s in lookup(404, 3001)
    ]
    assert "webinarLiveStreamStatusUpdate" in listed["operations"]
    assert "oauthToken" in listed["operations"]
    assert "webinar.created" in listed["events"]


# webhook deliveries --------------------------------------------------------------------------


@pytest.fixture
def hooked(make_client: Callable[..., TestClient]) -> Iterator[tuple[Api, WebhookReceiver]]:
    api = Api(make_client(webhook_time_scale=0.0005), "inprocess")  # +5 min -> 0.15 s
    with closing(WebhookReceiver(SECRET)) as receiver:
        body = {"url": receiver.url, "secret_token": SECRET}
        answer = api.control("PUT", "/apps/demo-client-id/webhook", json=body)
        assert answer.json()["validated"] is True
        yield api, receiver


def deliveries(api: Api, event: str) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = api.control("GET", "/webhooks/deliveries").json()
    return [d for d in listed if d["event"] == event]


def create_webinar(api: Api, topic: str) -> int:
    made = api.post("/v2/users/me/webinars", json={"topic": topic})
    assert made.status_code == 201
    return int(made.json()["id"])


def test_a_dropped_attempt_counts_as_failed_and_is_retried(
    hooked: tuple[Api, WebhookReceiver],
) -> None:
    api, receiver = hooked
    add(api, kind="webhook_drop", event="webinar.created", count=1)
    create_webinar(api, "dropped once")
    [got] = receiver.wait_for("webinar.created")  # the retry, 5 scaled minutes later
    assert got["payload"]["object"]["topic"] == "dropped once"
    [delivery] = deliveries(api, "webinar.created")
    first, second = delivery["attempts"]
    assert first["status_code"] is None and first["error"].startswith("dropped by fault rule")
    assert second["status_code"] == 200 and delivery["status"] == "delivered"


def test_a_duplicated_delivery_arrives_twice(hooked: tuple[Api, WebhookReceiver]) -> None:
    api, receiver = hooked
    add(api, kind="webhook_duplicate", event="webinar.created", count=1)
    create_webinar(api, "twice")
    one, two = receiver.wait_for("webinar.created", count=2)
    assert one == two and receiver.bad_signatures == 0
    [delivery] = deliveries(api, "webinar.created")
    assert len(delivery["attempts"]) == 1 and delivery["status"] == "delivered"


def test_a_reordered_delivery_arrives_after_the_next(hooked: tuple[Api, WebhookReceiver]) -> None:
    api, receiver = hooked
    add(api, kind="webhook_reorder", event="webinar.created", count=1)
    webinar_id = create_webinar(api, "held")
    receiver.wait_for("endpoint.url_validation")
    assert api.patch(f"/v2/webinars/{webinar_id}", json={"topic": "moved"}).status_code == 204
    receiver.wait_for("webinar.created")
    order = [e["event"] for e in receiver.events if e["event"].startswith("webinar.")]
    assert order == ["webinar.updated", "webinar.created"]


def test_a_delayed_delivery_waits(hooked: tuple[Api, WebhookReceiver]) -> None:
    api, receiver = hooked
    add(api, kind="webhook_delay", latency_ms=300, event="webinar.created", count=1)
    create_webinar(api, "late")
    receiver.wait_for("webinar.created")
    [delivery] = deliveries(api, "webinar.created")
    assert delivery["attempts"][0]["duration_ms"] >= 300
    [entry] = api.control("GET", "/faults").json()["log"]
    assert (entry["kind"], entry["event"], entry["latency_ms"]) == (
        "webhook_delay",
        "webinar.created",
        300,
    )


# the control client and the SDK, over a socket -----------------------------------------------


@pytest.fixture
def control(server: Server) -> Iterator[Control]:
    ctl = Control(server.url)
    ctl.reset()
    yield ctl
    ctl.clear_faults()
    ctl.close()


@pytest.fixture(params=["sync", "async"])
def sdk(request: pytest.FixtureRequest, server: Server) -> Callable[[], Both]:
    """``sdk()``: a ``ZoomClient`` or ``AsyncZoomClient`` on the session's ``zoomlive serve``
    (demo credentials, short backoff waits), closed after the test."""
    made: list[Both] = []

    def new() -> Both:
        made.append(Both(request.param, server.url, **FAST))
        return made[-1]

    def close() -> None:
        for both in made:
            both.close()

    request.addfinalizer(close)
    return new


def test_the_control_client_makes_every_kind(control: Control) -> None:
    one = control.fault("webinar", error="TOKEN_EXPIRED", times=2)
    two = control.fault("meeting", status=404, code=3001)
    three = control.fault_sequence("user", [{"status": 503, "times": 2}], then="pass")
    four = control.webhook_fault("drop", event="webinar.created", times=1)
    five = control.webhook_fault("delay", delay_ms=50)
    listed = {r["id"]: r for r in control.faults()}
    assert list(listed) == [one, two, three, four, five]
    assert listed[one]["error"] == "TOKEN_EXPIRED" and listed[one]["remaining"] == 2
    assert listed[three]["steps"] == [{"status": 503, "times": 2}]
    assert (listed[four]["kind"], listed[five]["latency_ms"]) == ("webhook_drop", 50)
    control.remove_fault(two)
    assert [r["id"] for r in control.faults()] == [one, three, four, five]
    with pytest.raises(zoomlive.testing.ControlError):
        control.fault("webinar", error="NOT_AN_ERROR")


def test_the_sdk_recovers_from_fail_twice_then_succeed(
    server: Server, control: Control, sdk: Callable[[], Both]
) -> None:
    control.fault_sequence("webinar", [{"status": 503, "times": 2}])
    control.fault_sequence("user", ["RATE_LIMIT_PER_SECOND", "RATE_LIMIT_PER_SECOND"])
    both = sdk()
    assert both.run(both.client.webinars.get(DEMO_WEBINAR)).id == DEMO_WEBINAR
    assert both.run(both.client.users.get("me")).email == "host@example.com"
    assert control.faults() == []  # both sequences ran out: three tries each
    log = httpx.get(server.url + "/_emulator/faults").json()["log"]
    assert [(e["operation"], e["status"]) for e in log] == [("webinar", 503)] * 2 + [
        ("user", 429)
    ] * 2


def test_the_sdk_raises_its_typed_error_for_an_expired_token(
    control: Control, sdk: Callable[[], Both]
) -> None:
    control.fault("webinar", error="TOKEN_EXPIRED", times=2)
    both = sdk()
    with pytest.raises(zoomlive.AuthenticationError) as caught:
        both.run(both.client.webinars.get(DEMO_WEBINAR))  # renews its token once, then gives up
    assert (caught.value.status_code, caught.value.code) == (401, 124)
    assert caught.value.message == "Access token is expired."
    control.fault("webinar", error="TOKEN_EXPIRED", times=1)
    again = sdk()  # one expired answer: a new token, and the call goes through
    assert again.run(again.client.webinars.get(DEMO_WEBINAR)).id == DEMO_WEBINAR


# the dashboard's faults panel, in headless Chromium --------------------------------------------


def test_the_dashboard_adds_and_removes_a_zoom_error(server: Server, control: Control) -> None:
    if not Path(CHROMIUM).exists():
        raise EngineMissing("Chromium at /usr/bin/chromium (Debian: chromium)")
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.goto(server.url + "/")
        expect(page.locator("#zfault-error option[value=TOKEN_EXPIRED]")).to_have_count(1)
        expect(page.locator("#zfault-empty")).to_be_visible()
        page.select_option("#zfault-operation", "user")
        page.select_option("#zfault-error", "TOKEN_EXPIRED")
        page.fill("#zfault-times", "1")
        page.click("#zfault-add")
        expect(page.locator("#message")).to_have_text(re.compile("added: TOKEN_EXPIRED"))
        [rule] = control.faults()
        assert (rule["error"], rule["operation"], rule["count"]) == ("TOKEN_EXPIRED", "user", 1)
        item = page.locator(f"#zfault-{rule['id']}")
        expect(item).to_contain_text("TOKEN_EXPIRED on user (applied 0, 1 left)")

        with httpx.Client(base_url=server.url) as http:  # the rule answers as Zoom would
            expired = http.get(
                "/v2/users/me", headers={"Authorization": f"Bearer {get_token(http)}"}
            )
        assert expired.status_code == 401 and expired.json()["code"] == 124
        page.click("#zfault-refresh")
        expect(item).to_have_count(0)  # spent

        page.select_option("#zfault-operation", "meeting")
        page.select_option("#zfault-error", "MEETING_NOT_FOUND")
        page.fill("#zfault-times", "")
        page.click("#zfault-add")
        expect(page.locator("#message")).to_have_text(re.compile("added: MEETING_NOT_FOUND"))
        [kept] = control.faults()
        assert (kept["error"], kept["operation"], kept["count"]) == (
            "MEETING_NOT_FOUND",
            "meeting",
            None,
        )
        page.click(f"#zfault-remove-{kept['id']}")
        expect(page.locator("#message")).to_have_text(f"fault {kept['id']} removed")
        assert control.faults() == []
        browser.close()
    assert errors == []


def test_zooms_validation_code_answers_validation_failed_on_any_operation(inproc: Api) -> None:
    add(inproc, kind="error", status=400, code=300, operation="webinar", count=1)
    webinars = inproc.get("/v2/users/me/webinars").json()["webinars"]
    faulted = inproc.get(f"/v2/webinars/{webinars[0]['id']}") if webinars else None
    assert faulted is not None
    assert faulted.status_code == 400
    assert faulted.json() == {"code": 300, "message": "Validation Failed."}
