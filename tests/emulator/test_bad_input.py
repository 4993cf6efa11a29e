"""A few hundred malformed requests over a real socket: each gets Zoom's error body with a 4xx
status (never a 500 or a stack trace) and none changes the state."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Iterator
from typing import Any

import httpx

from tests.conftest import Api

ODD_STRINGS = [
    "",
    " ",
    "\u202e\u0000",
    "🎥" * 300,
    "\ud7ff\ue000",
    "x" * 5000,
    "null",
    "' OR 1=1 --",
    "<script>",
    "%00",
    "../../etc/passwd",
    "١٢٣",
    "ꙮ" * 70,
    "\t\n",
    "NaN",
    "-0",
]
ODD_VALUES: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**63,
    -(2**63) - 1,
    1.5,
    1e308,
    [],
    {},
    [1, [2, [3]]],
    {"a": {"b": {"c": None}}},
    *ODD_STRINGS,
]
IDS = [
    "abc",
    "-5",
    "0",
    "9223372036854775808",
    "99999999999999999999999",
    "1e5",
    "%20",
    "%00",
    "🎥",
    "12345678901",
]
FIELDS = [
    "topic",
    "type",
    "start_time",
    "duration",
    "timezone",
    "password",
    "agenda",
    "settings",
    "action",
]


def malformed_requests(rng: random.Random) -> Iterator[tuple[str, str, dict[str, Any]]]:
    # Bodies that are not JSON objects.
    for raw in [
        b"{",
        b"}",
        b"[]",
        b"null",
        b"1",
        b'"s"',
        b"\xff\xfe",
        b"{'a': 1}",
        b'{"a": 1,}',
        b'{"topic": "\\ud800"}',
        b"{" * 5000,
        b"[" * 100000,
    ]:
        for method, path in [
            ("POST", "/v2/users/me/webinars"),
            ("PATCH", "/v2/webinars/68423085"),
            ("PUT", "/v2/webinars/68423085/status"),
        ]:
            yield method, path, {"content": raw, "headers": {"Content-Type": "application/json"}}
    # Wrong types and values in every field.
    for _ in range(160):
        body = {rng.choice(FIELDS): rng.choice(ODD_VALUES) for _ in range(rng.randint(1, 3))}
        body.setdefault("type", rng.choice([4, "5", 5.5, None, "x"]))
        yield "POST", "/v2/users/me/webinars", {"json": body}
    for value in ODD_VALUES:
        yield "PUT", "/v2/webinars/68423085/status", {"json": {"action": value}}
        yield "PATCH", "/v2/webinars/68423085", {"json": {"duration": value}}
    # Ids out of range or of the wrong shape, on every webinar path.
    for wid in IDS:
        yield "GET", f"/v2/webinars/{wid}", {}
        yield "DELETE", f"/v2/webinars/{wid}", {}
        yield "PATCH", f"/v2/webinars/{wid}", {"json": {"topic": "x"}}
        yield "PUT", f"/v2/webinars/{wid}/status", {"json": {"action": "end"}}
        yield "GET", f"/v2/users/{wid}/webinars", {}
        yield "POST", f"/v2/users/{wid}/webinars", {"json": {}}
    # Query strings.
    for params in (
        {"page_size": "-1"},
        {"page_size": "1e3"},
        {"type": "all"},
        {"next_page_token": "%%%"},
        {"page_number": "0"},
        {"page_size": "9" * 40},
    ):
        yield "GET", "/v2/users/me/webinars", {"params": params}
    # Times beyond what can be stored, forged page tokens, NUL in a path.
    for when in ("0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "1969-12-31T00:00:00Z"):
        yield "POST", "/v2/users/me/webinars", {"json": {"start_time": when}}
        yield "POST", "/v2/users/me/meetings", {"json": {"start_time": when}}
    huge = base64.urlsafe_b64encode(json.dumps({"o": 10**30}).encode()).decode()
    yield "GET", "/v2/users/me/webinars", {"params": {"next_page_token": huge}}
    yield "GET", "/v2/users/a%00b", {}
    yield "GET", "/v2/webinars/68423085%00", {}
    yield (
        "PATCH",
        "/v2/webinars/68423085/livestream/status",
        {
            "content": b"action=stop&settings=" + b"[" * 100000,
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
    )
    # Form bodies of every kind.
    yield (
        "PUT",
        "/v2/webinars/68423085/status",
        {"content": b"--xx\r\nbroken", "headers": {"Content-Type": "multipart/form-data"}},
    )
    yield (
        "PUT",
        "/v2/webinars/68423085/status",
        {
            "content": b"action=%ZZ&",
            "headers": {"Content-Type": "application/x-www-form-urlencoded"},
        },
    )
    yield "POST", "/v2/users/me/webinars", {"data": {"settings": 'start{"host_video":true}'}}


def forged_auth() -> Iterator[dict[str, str]]:
    yield {}
    yield {"Authorization": "Bearer"}
    yield {"Authorization": "Bearer forged.jwt.token"}
    yield {"Authorization": "Basic ZGVtby1jbGllbnQtaWQ6ZGVtby1jbGllbnQtc2VjcmV0"}
    yield {"Authorization": "Bearer " + "A" * 10000}
    yield {"Authorization": "Token abc"}
    yield {"Authorization": "Basic éééé".encode("latin-1")}  # type: ignore[dict-item]


def check_zoom_error(response: httpx.Response) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    body = response.json()
    assert isinstance(body["code"], int) and isinstance(body["message"], str)
    assert "Traceback" not in response.text
    assert response.headers["x-zm-trackingid"]


def test_malformed_requests_get_zoom_errors_and_change_nothing(live: Api) -> None:
    before = live.state()
    count = 0
    failures = []
    for method, path, kwargs in malformed_requests(random.Random(20261126)):
        headers = {**live.auth, **kwargs.pop("headers", {})}
        response = live.client.request(method, path, headers=headers, **kwargs)
        try:
            check_zoom_error(response)
        except (AssertionError, ValueError, KeyError):
            failures.append(
                (method, path, str(kwargs)[:200], response.status_code, response.text[:200])
            )
        count += 1
    assert failures == []
    for headers in forged_auth():
        for method, path in [
            ("GET", "/v2/webinars/68423085"),
            ("POST", "/v2/users/me/webinars"),
            ("DELETE", "/v2/webinars/68423085"),
        ]:
            response = live.client.request(method, path, headers=headers, json={})
            check_zoom_error(response)
            assert response.json()["code"] == 124
            count += 1
    assert count >= 300
    assert live.state() == before


def test_odd_but_valid_unicode_is_stored_exactly(live: Api) -> None:
    topic = 'Q3 ‘Earnings’ 🎥 — Ünïcödé 中文 עברית \\ : "'
    response = live.post(
        "/v2/users/me/webinars",
        content=json.dumps({"topic": topic}),
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 201
    assert live.get(f"/v2/webinars/{response.json()['id']}").json()["topic"] == topic
