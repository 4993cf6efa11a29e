"""Zoom's rate limits: per account and label, by plan, per second and per day, with Zoom's
headers and bodies; counters in process or shared through a real Redis by two workers."""

from __future__ import annotations

import concurrent.futures
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from starlette.testclient import TestClient

from tests.conftest import Api, Server, get_token
from zoomlive.emulator.ratelimit import DAILY_MESSAGE, PER_SECOND_MESSAGE


def limited(make_client: Callable[..., TestClient], **settings: Any) -> Api:
    api = Api(make_client(rate_limits=settings.pop("rate_limits", "zoom"), **settings), "inprocess")
    assert api.control("POST", "/clock", json={"freeze": True}).status_code == 200
    return api


def test_per_second_limit_by_plan_with_zooms_headers(
    make_client: Callable[..., TestClient],
) -> None:
    api = limited(make_client)  # the demo account is on Business: Light is 80 a second
    answers = [api.get("/v2/users/me") for _ in range(85)]
    ok = [r for r in answers if r.status_code == 200]
    refused = [r for r in answers if r.status_code == 429]
    assert (len(ok), len(refused)) == (80, 5)
    first = ok[0].headers
    assert first["x-ratelimit-category"] == "Light"
    assert first["x-ratelimit-type"] == "QPS"
    assert first["x-ratelimit-limit"] == "80"
    assert [r.headers["x-ratelimit-remaining"] for r in ok[-2:]] == ["1", "0"]
    body = refused[0].json()
    assert body == {"code": 429, "message": PER_SECOND_MESSAGE}
    # The end of the current one-second window on the emulator's (frozen) clock.
    frozen = datetime.fromisoformat(api.control("GET", "/clock").json()["now"])
    assert int(refused[0].headers["x-ratelimit-reset"]) == int(frozen.timestamp()) + 1
    # The next second is a new window.
    api.control("POST", "/clock", json={"advance_seconds": 1})
    assert api.get("/v2/users/me").status_code == 200


def test_labels_are_counted_apart(make_client: Callable[..., TestClient]) -> None:
    api = limited(make_client)
    for _ in range(60):  # Medium (listing webinars) is 60 a second on Business
        assert api.get("/v2/users/me/webinars").status_code == 200
    listed = api.get("/v2/users/me/webinars")
    assert listed.status_code == 429 and listed.headers["x-ratelimit-category"] == "Medium"
    light = api.get("/v2/users/me")
    assert light.status_code == 200 and light.headers["x-ratelimit-remaining"] == "79"


def test_plan_sets_the_numbers_and_errors_carry_headers(
    make_client: Callable[..., TestClient],
) -> None:
    api = limited(make_client)
    api.control("PATCH", "/accounts/demo-account", json={"plan": "pro"})
    missing = api.get("/v2/webinars/12345678901")
    assert missing.status_code == 404
    assert missing.headers["x-ratelimit-limit"] == "30"  # Pro: Light 30 a second
    api.control("PATCH", "/accounts/demo-account", json={"plan": "free"})
    free = api.get("/v2/users/me")
    assert free.headers["x-ratelimit-type"] == "Daily-limit"
    assert free.headers["x-ratelimit-limit"] == "6000"
    for _ in range(3):
        api.get("/v2/users/me")
    assert api.get("/v2/users/me").status_code == 429  # free: Light 4 a second
    # Unauthenticated answers belong to no account: no rate-limit headers.
    assert "x-ratelimit-limit" not in api.client.get("/v2/users/me").headers


def test_daily_limit_resets_at_the_controlled_midnight(
    make_client: Callable[..., TestClient], tmp_path: Path
) -> None:
    custom = tmp_path / "limits.json"
    custom.write_text(json.dumps({"business": {"Light": {"rate": 1000, "daily": 10}}}))
    api = limited(make_client, rate_limits=str(custom))
    for _ in range(10):
        assert api.get("/v2/users/me").status_code == 200
    refused = api.get("/v2/users/me")
    assert refused.status_code == 429
    assert refused.json() == {"code": 429, "message": DAILY_MESSAGE}
    assert refused.headers["x-ratelimit-type"] == "Daily-limit"
    retry = refused.headers["retry-after"]
    assert retry.endswith("T00:00:00Z")
    now = api.control("GET", "/clock").json()["now"]
    midnight = retry.replace("Z", "+00:00")
    from datetime import datetime

    wait = (datetime.fromisoformat(midnight) - datetime.fromisoformat(now)).total_seconds()
    assert 0 < wait <= 86400
    api.control("POST", "/clock", json={"advance_seconds": wait - 1})
    api.token = get_token(api.client)
    assert api.get("/v2/users/me").status_code == 429  # one second before midnight
    api.control("POST", "/clock", json={"advance_seconds": 1})
    again = api.get("/v2/users/me")
    assert again.status_code == 200 and again.headers["x-ratelimit-remaining"] == "9"


def test_rate_limited_requests_change_nothing(make_client: Callable[..., TestClient]) -> None:
    api = limited(make_client)
    for _ in range(80):
        api.get("/v2/users/me")
    before = api.state()
    refused = api.post("/v2/users/me/webinars", json={"topic": "not now"})
    assert refused.status_code == 429
    assert api.state() == before


def test_two_workers_share_the_limit_through_redis(
    tmp_path: Path, redis_url: str, pg_url: str
) -> None:
    custom = tmp_path / "limits.json"
    custom.write_text(json.dumps({"business": {"Light": {"rate": 10000, "daily": 50}}}))
    srv = Server(
        pg_url,
        "--workers",
        "2",
        "--rate-limits",
        str(custom),
        "--redis-url",
        redis_url,
    ).start(timeout=40)
    try:
        with httpx.Client(base_url=srv.url) as http:
            token = get_token(http)

        def one(_: int) -> tuple[int, int]:
            # A new connection each time, so the kernel spreads them over both workers.
            with httpx.Client(base_url=srv.url, timeout=30) as fresh:
                code = fresh.get("/v2/users/me", headers={"Authorization": f"Bearer {token}"})
                pid = fresh.get("/_emulator/health").json()["pid"]
                return code.status_code, pid

        with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(one, range(80)))
    finally:
        srv.stop()
    codes = [code for code, _ in results]
    assert len({pid for _, pid in results}) == 2, "both workers should have answered"
    assert set(codes) == {200, 429}
    assert 45 <= codes.count(200) <= 55  # within 10% of the shared limit of 50


def test_refusals_are_counted_for_the_control_api(make_client: Callable[..., TestClient]) -> None:
    api = limited(make_client)
    for _ in range(83):
        api.get("/v2/users/me")
    data = api.control("GET", "/ratelimits").json()
    assert data["refused"] == {"demo-account:Light": 3}
    [light] = [row for row in data["usage"] if row["label"] == "Light"]
    assert (light["limit"], light["used_this_window"]) == (80, 83)
