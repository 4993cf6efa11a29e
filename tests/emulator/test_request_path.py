"""The direct /v2 path and the store's promises: every acknowledged change survives ``kill -9``
under load (on SQLite and on PostgreSQL), a bad token takes no lock, and an idle emulator writes
nothing."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.testclient import TestClient

from tests.conftest import DEMO_WEBINAR, Server, get_token
from zoomlive.emulator import Settings, create_app
from zoomlive.emulator.store import Store

WRITERS = 6


def seed_webinars(url: str, count: int) -> list[int]:
    """Webinars with a configured live stream, made through the control API."""
    made = []
    for n in range(count):
        answer = httpx.post(
            f"{url}/_emulator/accounts/demo-account/webinars",
            json={
                "host": "host@example.com",
                "topic": f"durable {n}",
                "livestream": {
                    "stream_url": "rtmp://127.0.0.1:1935/live",
                    "stream_key": "k0",
                    "page_url": "http://127.0.0.1/watch",
                },
            },
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    return made


def hammer(
    url: str, token: str, webinar: int, acked: dict[int, int], stop: threading.Event
) -> None:
    """Configure ``webinar``'s stream with keys k1, k2, ... one after the other, noting the
    last one acknowledged (204); connection errors end the run (the server was killed)."""
    n = acked.get(webinar, 0)
    with httpx.Client(base_url=url, timeout=10) as http:
        while not stop.is_set():
            n += 1
            try:
                answer = http.patch(
                    f"/v2/webinars/{webinar}/livestream",
                    json={
                        "stream_url": "rtmp://127.0.0.1:1935/live",
                        "stream_key": f"k{n}",
                        "page_url": "http://127.0.0.1/watch",
                    },
                    headers={"Authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError:
                return
            assert answer.status_code == 204, answer.text
            acked[webinar] = n


@pytest.mark.socket
@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_every_acknowledged_change_survives_kill_9_under_load(
    tmp_path: Path, backend: str, request: pytest.FixtureRequest
) -> None:
    """Concurrent writers, the server killed mid-load three times, restarted on the same store
    each time: every key a writer was told was stored (204) is there, or a later one (a write
    that was committed but whose answer the kill cut off)."""
    db: Path | str = tmp_path / "durable.db"
    if backend == "postgres":
        db = request.getfixturevalue("pg_url")
    srv = Server(db).start()
    webinars = seed_webinars(srv.url, WRITERS)
    acked: dict[int, int] = {}
    try:
        for cycle in range(3):
            with httpx.Client(base_url=srv.url) as http:
                token = get_token(http)
            stop = threading.Event()
            writers = [
                threading.Thread(target=hammer, args=(srv.url, token, w, acked, stop))
                for w in webinars
            ]
            for t in writers:
                t.start()
            deadline = time.monotonic() + 30
            while sum(acked.values()) < (cycle + 1) * 200 and time.monotonic() < deadline:
                time.sleep(0.01)  # load until a few hundred more changes were acknowledged
            srv.stop("kill")
            stop.set()
            for t in writers:
                t.join(10)
            srv = Server(db).start()
            with httpx.Client(base_url=srv.url) as http:
                state = {
                    s["id"]: int(s["stream_key"][1:])
                    for s in http.get("/_emulator/livestreams").json()
                    if s["id"] in webinars
                }
            lost = {w: (state.get(w), n) for w, n in acked.items() if state.get(w, 0) < n}
            assert lost == {}, f"cycle {cycle}: acknowledged keys missing after kill -9: {lost}"
            for w in webinars:  # carry on from what is stored
                acked[w] = max(acked.get(w, 0), state.get(w, 0))
        assert sum(acked.values()) >= 600
    finally:
        srv.stop()


@pytest.fixture
def app_client() -> Iterator[TestClient]:
    settings = Settings(db=":memory:", media="fake", rate_limits="off", seed=3)
    with TestClient(create_app(settings), base_url="http://127.0.0.1:8080") as client:
        yield client


def test_a_bad_token_is_answered_while_a_transaction_holds_the_store(
    app_client: TestClient,
) -> None:
    """Authentication reads the token without the store's lock: a 401 never waits for it,
    while a call with a good token waits its turn."""
    store: Any = app_client.app.state.env.store  # type: ignore[attr-defined]
    assert isinstance(store, Store) and not store.shared
    token = get_token(app_client)
    holding, release = threading.Event(), threading.Event()

    def hold() -> None:
        with store.write():
            holding.set()
            release.wait(30)

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(10)
    results: dict[str, int] = {}

    def good_call() -> None:
        answer = app_client.get(
            f"/v2/webinars/{DEMO_WEBINAR}", headers={"Authorization": f"Bearer {token}"}
        )
        results["good"] = answer.status_code

    waiting = threading.Thread(target=good_call)
    try:
        bad = app_client.get(
            f"/v2/webinars/{DEMO_WEBINAR}", headers={"Authorization": "Bearer not-a-token"}
        )
        assert bad.status_code == 401 and bad.json()["code"] == 124
        waiting.start()
        waiting.join(0.5)
        assert "good" not in results  # the good one waits for the lock...
    finally:
        release.set()
        holder.join(10)
    waiting.join(10)
    assert results == {"good": 200}  # ...and is answered once it is free


def test_an_idle_emulator_writes_nothing(app_client: TestClient, tmp_path: Path) -> None:
    """With nothing happening, no transaction reaches the journal: the webhook dispatcher
    sleeps until something is due, and the rest waits for calls."""
    store: Any = app_client.app.state.env.store  # type: ignore[attr-defined]
    token = get_token(app_client)
    auth = {"Authorization": f"Bearer {token}"}
    assert app_client.get(f"/v2/webinars/{DEMO_WEBINAR}", headers=auth).status_code == 200
    time.sleep(0.3)  # whatever the start-up wrote is behind us
    before = store.journal.commits
    time.sleep(2.5)
    assert store.journal.commits == before
    # And a change is written at once (the count moves when something happens).
    change = {"action": "stop", "settings": {"display_name": "moved"}}
    assert (
        app_client.patch(
            f"/v2/webinars/{DEMO_WEBINAR}/livestream/status", json=change, headers=auth
        ).status_code
        == 204
    )
    assert store.journal.commits > before
